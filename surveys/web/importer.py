"""Reading the web survey's database into winback's canonical layout (``format="db"``).

``read_responses("survey.db", study, format="db")`` (or a ``postgresql://`` URL) gives the same
:class:`~surveys.ChoiceDataset` as the equivalent ``responses.csv`` + ``respondents.csv``:

- completed interviews: every task with what was shown (version, levels, ``task_position``,
  ``alt_position``), the choice, ``would_buy`` (dual-response none) and ``seconds``; their
  questionnaire answers with ``duration_seconds`` (first visit to last page);
- screened-out respondents: their answers, no choice rows (recorded as excluded with the usual
  reason, "no choice tasks ...");
- respondents who started but did not finish: their answers so far, no choice rows, excluded
  with the reason :data:`UNFINISHED_REASON`;
- invites never opened are not respondents and are left out.

A survey that asks the MaxDiff (a study with ``[maxdiff]``) has its answers read by
:func:`survey_maxdiff` (``maxdiff.csv``'s long layout, completed interviews) and
:func:`read_db_maxdiff` (what ``winback import --format db`` adds to the import).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from surveys.dataset import EXCLUDE_REASON
from surveys.web import schema
from surveys.web.survey import Survey, open_survey
from winback.errors import WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign
    from conjoint.maxdiff import MaxDiffDesign

#: the columns of ``maxdiff.csv`` (the long layout of docs/maxdiff.md)
MAXDIFF_COLUMNS = ["respondent_id", "version", "set", "position", "item", "best", "worst"]

UNFINISHED_REASON = "did not finish the web survey"
OPTIONS = ("questionnaire",)


def read(
    path: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read a web-survey database into canonical text frames (the ``db`` format's reader).

    Parameters
    ----------
    path : str or Path
        The SQLite file, or a database URL (``postgresql://user@host/dbname``).
    study : Study
        The survey's study (checked against the database).
    design : ChoiceDesign, optional
        When given, it must be the design the survey showed.
    respondents : None
        Not used: the questionnaire answers are in the database.
    questionnaire : Questionnaire, optional
        The questionnaire fielded (default: the study's).

    Returns
    -------
    (choices, respondents, sources)
        Canonical text frames and ``{database: SHA-256 of the content read}``.

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("survey.db", study, format="db")  # doctest: +SKIP
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise WinbackError(
            f"format='db': unknown option(s) {list_valid(unknown)}. Valid: {list_valid(OPTIONS)}."
        )
    if respondents is not None:
        raise WinbackError(
            "format='db' takes the respondents' answers from the database; respondents= is not "
            "used."
        )
    if not schema.is_url(path) and not Path(path).exists():
        raise WinbackError(f"file not found: {path}")
    survey = open_survey(path, study, design=design, questionnaire=options.get("questionnaire"))
    try:
        choices, people = survey_frames(survey)
    finally:
        survey.close()
    if choices.empty:
        raise WinbackError(
            f"{_source_name(path)}: no completed interview with choice tasks yet "
            f"({len(people)} respondent(s) started). See `winback field status`."
        )
    digest = hashlib.sha256(
        choices.to_csv(index=False).encode() + people.to_csv(index=False).encode()
    ).hexdigest()
    return choices, people, {_source_name(path): digest}


def _source_name(path: str | Path) -> str:
    text = str(path)
    return schema.safe_url(text) if schema.is_url(text) else text


def survey_frames(survey: Survey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical choices and respondents frames (all text) of a survey.

    Examples
    --------
    >>> choices, people = survey_frames(survey)  # doctest: +SKIP
    """
    with survey.engine.begin() as conn:
        invites = [
            dict(r)
            for r in conn.execute(
                sa.select(schema.invites)
                .where(schema.invites.c.started_at.is_not(None))
                .order_by(schema.invites.c.id)
            ).mappings()
        ]
        pages: dict[int, dict[str, str]] = {}
        for inv_id, text in conn.execute(
            sa.select(schema.page_answers.c.invite_id, schema.page_answers.c.answers).order_by(
                schema.page_answers.c.id
            )
        ):
            pages.setdefault(inv_id, {}).update(json.loads(text))
        tasks: dict[int, list[Mapping[str, Any]]] = {}
        for r in conn.execute(
            sa.select(schema.task_answers).order_by(
                schema.task_answers.c.invite_id, schema.task_answers.c.task
            )
        ).mappings():
            tasks.setdefault(r["invite_id"], []).append(dict(r))
    people = _people(survey, invites, pages)
    rows: list[dict[str, str]] = []
    for inv in invites:
        if inv["outcome"] == "complete":
            rows.extend(_choice_rows(survey, inv, tasks.get(inv["id"], [])))
    return _choices_frame(survey, rows), people


def _people(
    survey: Survey, invites: list[dict[str, Any]], pages: Mapping[int, Mapping[str, str]]
) -> pd.DataFrame:
    q = survey.questionnaire
    columns = q.columns()
    reason_cols = [c for c in columns if c.startswith("reason_") and c != "reason_other_text"]
    fill_main = "main_reason" in columns and "reason" in q and q.question("reason").type == "multi"
    records = []
    for inv in invites:
        answers = pages.get(inv["id"], {})
        rec = {c: answers.get(c, "") for c in columns[1:]}
        rec = {"respondent_id": inv["respondent_id"], **rec}
        if fill_main and not rec.get("main_reason"):
            # main_reason is asked only with two or more reasons; with one, it is that one
            ticked = [c for c in reason_cols if rec.get(c) == "1"]
            if len(ticked) == 1:
                rec["main_reason"] = ticked[0][len("reason_") :]
        for c in ("customer_value", "wave"):
            rec[c] = inv.get(c) or ""
        done = inv["completed_at"]
        rec["duration_seconds"] = str(round(done - inv["started_at"])) if done is not None else ""
        rec[EXCLUDE_REASON] = UNFINISHED_REASON if done is None else ""
        records.append(rec)
    out_cols = [*columns]
    for c in ("customer_value", "wave"):
        if any(r[c] for r in records):
            out_cols.append(c)
    out_cols.append("duration_seconds")
    if any(r[EXCLUDE_REASON] for r in records):
        out_cols.append(EXCLUDE_REASON)
    return (
        pd.DataFrame(
            records,
            columns=[*columns, "customer_value", "wave", "duration_seconds", EXCLUDE_REASON],
        )
        .reindex(columns=out_cols)
        .astype(str)
    )


def _choice_rows(
    survey: Survey, inv: Mapping[str, Any], answered: list[Mapping[str, Any]]
) -> list[dict[str, str]]:
    study = survey.study
    holdout = survey.holdout_tasks
    rows = []
    for t in answered:
        shown = json.loads(t["shown"])
        order = {"status_quo": 10_000, "none": 10_001}
        shown.sort(key=lambda a: order.get(a["alt"], 0) or int(a["alt"]))
        for a in shown:
            row = {
                "respondent_id": inv["respondent_id"],
                "version": str(t["version"]),
                "task": str(t["task"]),
                "alt": a["alt"],
                **{name: a["levels"].get(name, "") for name in study.attribute_names},
                "chosen": "1" if a["alt"] == t["chosen"] else "0",
            }
            if study.dual_response_none:
                row["would_buy"] = (
                    str(t["would_buy"])
                    if a["alt"] == t["chosen"] and t["would_buy"] is not None
                    else ""
                )
            row["holdout"] = "1" if int(t["task"]) in holdout else "0"
            row["task_position"] = str(t["task_position"])
            pos = a.get("alt_position")
            row["alt_position"] = "" if pos is None else str(pos)
            row["seconds"] = "" if t["seconds"] is None else f"{t['seconds']:.1f}"
            rows.append(row)
    return rows


def _choices_frame(survey: Survey, rows: list[dict[str, str]]) -> pd.DataFrame:
    study = survey.study
    cols = ["respondent_id", "version", "task", "alt", *study.attribute_names, "chosen"]
    if study.dual_response_none:
        cols.append("would_buy")
    cols += ["holdout", "task_position", "alt_position", "seconds"]
    return pd.DataFrame(rows, columns=cols).astype(str)


def survey_maxdiff(survey: Survey) -> pd.DataFrame | None:
    """The MaxDiff answers of the completed interviews in ``maxdiff.csv``'s long layout
    (``respondent_id, version, set, position, item, best, worst``, one row per reason shown;
    all text), or None when the survey asks no MaxDiff.

    Like the choice tasks, only completed interviews count: a respondent who stopped part-way
    is excluded from the import and has no MaxDiff rows.

    Examples
    --------
    >>> frame = survey_maxdiff(survey)  # doctest: +SKIP
    """
    if survey.maxdiff is None:
        return None
    md, inv = schema.maxdiff_answers, schema.invites
    with survey.engine.begin() as conn:
        rows = conn.execute(
            sa.select(
                inv.c.respondent_id,
                md.c.version,
                md.c.maxdiff_set,
                md.c.shown,
                md.c.best,
                md.c.worst,
            )
            .join(inv, inv.c.id == md.c.invite_id)
            .where(inv.c.outcome == "complete")
            .order_by(inv.c.id, md.c.maxdiff_set)
        ).all()
    out = []
    for rid, version, set_number, shown, best, worst in rows:
        for position, item in enumerate(json.loads(shown), start=1):
            out.append(
                [
                    rid,
                    str(version),
                    str(set_number),
                    str(position),
                    item,
                    "1" if item == best else "0",
                    "1" if item == worst else "0",
                ]
            )
    return pd.DataFrame(out, columns=MAXDIFF_COLUMNS).astype(str)


def read_db_maxdiff(
    path: str | Path, study: Study
) -> tuple[pd.DataFrame, MaxDiffDesign, str] | None:
    """The MaxDiff answers stored in a web survey's database, the design it showed and a name
    for that design (for the import's report); None when it asks no MaxDiff or nobody who
    completed the interview answered it.

    Examples
    --------
    >>> answers, design, source = read_db_maxdiff("survey.db", study)  # doctest: +SKIP
    """
    survey = open_survey(path, study)
    try:
        frame = survey_maxdiff(survey)
        design = survey.maxdiff
    finally:
        survey.close()
    if frame is None or frame.empty or design is None:
        return None
    return frame, design, f"the MaxDiff design stored in {_source_name(path)}"
