"""``read``: a Qualtrics response export into winback's canonical long layout (as text), with
the respondents' answers translated by the questionnaire fielded; choice answers are read as
numbers or as the recorded choice texts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from surveys._csv import file_sha256
from surveys.dataset import EXCLUDE_REASON
from surveys.formats._common import check_options, choice_columns
from surveys.formats.qualtrics.columns import (
    _LABELS,
    PERSONAL_COLUMNS,
    UNFINISHED_REASON,
    _alt_codes,
    _recodes,
)
from surveys.formats.qualtrics.layout import (
    _is_import_id_row,
    _is_label_row,
    _Layout,
    _layout,
    _records,
    _respondent_targets,
)
from surveys.questionnaire import RESPONDENT_COLUMNS
from surveys.validation import ROW_COLUMN, ProblemReport
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

log = logging.getLogger("winback")


OPTIONS = (
    "id_column",
    "keep_unfinished",
    "questionnaire",
    "choice_labels",
    "keep_columns",
    "ignore_columns",
)


_ALT_TEXT_RE = re.compile(
    r"(?:alternative|option|concept|offer|profile|choice)\s*#?\s*(\d+)", re.IGNORECASE
)
_TRUE = ("1", "true")
_FALSE = ("0", "false")


def _describe_codes(codes: Mapping[int, str]) -> str:
    parts = []
    for k, alt in codes.items():
        what = {"none": "None of these", "status_quo": "status quo"}.get(alt, f"Option {alt}")
        parts.append(f"{k} ({what})")
    return ", ".join(parts)


def _parse_choice(
    text: str, codes: Mapping[int, str], study: Study, labels: Mapping[str, object]
) -> str | None:
    """The alternative an answer names ("1".."J", "status_quo", "none"); None if not understood."""
    s = text.strip()
    key = s.casefold()
    for lab, target in labels.items():
        if str(lab).strip().casefold() == key:
            t = str(target).strip().lower()
            if t.isdigit():
                return codes.get(int(t))
            return t if t in codes.values() else None
    if re.fullmatch(r"\d+(\.0+)?", s):
        return codes.get(int(float(s)))
    for j, lab in enumerate(study.labels, start=1):  # a labelled task's choices: the names
        if study.label_display(lab).strip().casefold() == key:
            return str(j)
    if m := _ALT_TEXT_RE.fullmatch(s):
        j = int(m.group(1))
        return str(j) if 1 <= j <= study.design.alternatives else None
    hits = set()
    if key.startswith("none") and "none" in codes.values():
        hits.add("none")
    sq = study.status_quo
    if sq is not None and key == sq.label.strip().casefold():
        hits.add("status_quo")
    return hits.pop() if len(hits) == 1 else None


def _is_text_export(recs: Sequence[tuple[int, list[str]]], lay: _Layout) -> bool:
    """An export of choice texts rather than numbers (Finished True/False, 'Option 2')."""
    for _, cells in recs:
        if lay.finished is not None and lay.finished < len(cells):
            if cells[lay.finished].strip().lower() in ("true", "false"):
                return True
        for i in lay.tasks.values():
            if i < len(cells) and cells[i].strip() and not cells[i].strip().isdigit():
                return True
    return False


def _parse_dual(text: str) -> str | None:
    s = text.strip().casefold()
    if s in ("1", "1.0") or s.startswith("yes"):
        return "1"
    if s in ("2", "2.0") or s.startswith("no"):
        return "0"
    return None


def read(
    path: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read a Qualtrics response export into winback's canonical long layout (as text).

    Parameters
    ----------
    path : str or Path
        The CSV export (Data & Analysis > Export data > CSV; numeric values or choice text).
    study : Study
    design : ChoiceDesign, optional
        Not needed to read (the levels shown are in the file); validation uses it.
    respondents : None
        Not used: the export itself holds the respondents' answers (see ``keep_columns``).
    id_column : str, default "ResponseId"
        Column holding the respondent id (e.g. ``"ExternalReference"`` to key on your own ids).
        The legacy export's ``ResponseID`` is accepted for the default.
    keep_unfinished : bool, default False
        Also read the choices of respondents with ``Finished`` = 0/False.
    questionnaire : Questionnaire, optional
        The questionnaire fielded: translates Qualtrics choice numbers into winback's codes.
    choice_labels : mapping, optional
        Choice texts (or recode values) used in the survey -> alternative
        (``{"Plan A": 1, "Neither": "none", "9": "none"}``); checked before the usual ones.
    keep_columns : sequence of str
        Further columns to copy into the respondents frame.
    ignore_columns : sequence of str
        Columns starting with ``CBC_`` that are not choice-task columns.

    Returns
    -------
    (choices, respondents, sources)
        ``choices``: canonical long layout as text with ``_row`` (file line of the respondent);
        ``respondents``: one row per response, with ``_row``; ``sources``: {path: sha256}.

    Raises
    ------
    ResponseError
        Every problem of the file at once (header, repeated columns, unknown levels with line and
        column, answers that are not an alternative, ...).

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("export.csv", study, format="qualtrics",
    ...                       design=design)  # doctest: +SKIP
    """
    check_options(options, OPTIONS, "qualtrics")
    if respondents is not None:
        raise WinbackError(
            "format='qualtrics' takes the respondents' answers from the export itself; "
            "respondents= is not used (copy further columns with keep_columns=[...])."
        )
    path = Path(path)
    id_column = str(options.get("id_column", "ResponseId"))
    keep_unfinished = bool(options.get("keep_unfinished", False))
    questionnaire = options.get("questionnaire")
    choice_labels: Mapping[str, object] = dict(options.get("choice_labels") or {})
    keep_columns = [str(c) for c in options.get("keep_columns") or ()]
    ignore_columns = [str(c) for c in options.get("ignore_columns") or ()]
    for c in (*keep_columns, id_column):
        if c in PERSONAL_COLUMNS and c != id_column:
            raise WinbackError(f"keep_columns: {c!r} is personal data and is never copied.")

    rep = ProblemReport(str(path))
    recs = _records(path)
    names = recs[0][1]
    names = [n.strip("\ufeff") for n in names]
    targets = _respondent_targets(questionnaire)
    single, multi = _recodes(questionnaire)
    lay = _layout(
        names,
        study,
        rep,
        id_column=id_column,
        targets=targets,
        multi=multi,
        keep_columns=keep_columns,
        ignore_columns=ignore_columns,
    )
    rep.raise_if_any()
    assert lay.id is not None

    # header rows: names, [texts], [ImportId JSON]
    body = 1
    if body < len(recs) and _is_label_row(recs[body][1], names, lay.id):
        body += 1
    if body < len(recs) and _is_import_id_row(recs[body][1]):
        body += 1

    attrs = list(study.attributes)
    n_alts = study.design.alternatives
    applies = study.applies()
    codes = _alt_codes(study)
    n_tasks = max(lay.tasks)
    sq = study.status_quo
    rows: list[dict[str, object]] = []
    people: list[dict[str, object]] = []
    raw_people_cols = [c for c in lay.people if c not in multi]
    text_export = _is_text_export(recs[body:], lay)
    for line, cells in recs[body:]:
        if len(cells) != len(names):
            rep.add(
                "ragged row",
                f"line {line} has {len(cells)} cells, the header has {len(names)}",
            )
            continue
        rid = cells[lay.id]  # kept exactly as written: ' 17' and '17' are two ids
        if rid.strip() in (
            names[lay.id],
            _LABELS.get(names[lay.id], ""),
            "Response ID",
        ) or _is_import_id_row(cells):
            rep.add("repeated header", f"line {line} repeats a header row (files joined?)")
            continue
        if not rid.strip():
            rep.add(
                "missing respondent id",
                f"line {line}, column {names[lay.id]!r}: "
                + ("empty" if not rid else f"{rid!r} is only white space"),
            )
            continue
        finished = True
        if lay.finished is not None:
            f = cells[lay.finished].strip().lower()
            if f in _TRUE or f == "1.0":
                finished = True
            elif f in _FALSE or f == "0.0":
                finished = False
            else:
                rep.add(
                    "bad Finished",
                    f"line {line}, column 'Finished': {cells[lay.finished]!r}; valid: 1, 0, "
                    "True, False",
                )
                continue
        person: dict[str, object] = {"respondent_id": rid}
        for col in raw_people_cols:
            raw = cells[lay.people[col]]
            v = raw.strip() if col in single else raw  # typed answers are kept exactly
            if col in single and v:
                rc = single[col]
                numeric = re.fullmatch(r"\d+", v) is not None
                code = (rc.text if text_export or not numeric else rc.numeric).get(v.casefold())
                if code is None:
                    valid = list(rc.numeric) if not text_export else list(rc.out_text.values())
                    rep.add(
                        "bad answer",
                        f"line {line}, column {col!r}: {v!r} is not one of the question's "
                        f"choices; valid: {list_valid(valid)}",
                    )
                    code = v
                v = code
            person[col] = v
        if multi:
            by_q: dict[str, list[tuple[str, str]]] = {}
            for fcol, (qid, ccol, _) in multi.items():
                if fcol in lay.people:
                    by_q.setdefault(qid, []).append((ccol, cells[lay.people[fcol]].strip()))
            for items in by_q.values():
                answered = any(v for _, v in items)
                for ccol, v in items:
                    person[ccol] = "1" if v else ("0" if answered else "")
        if lay.duration is not None:
            person["duration_seconds"] = cells[lay.duration].strip()
        person[ROW_COLUMN] = line
        people.append(person)

        answers = {t: cells[i].strip() for t, i in lay.tasks.items()}
        duals = {t: cells[i].strip() for t, i in lay.dual.items()}
        if not (finished or keep_unfinished):
            person[EXCLUDE_REASON] = UNFINISHED_REASON
            continue
        if not any(answers.values()):
            continue  # recorded by make_dataset as having no choice tasks
        version = cells[lay.version].strip() if lay.version is not None else None
        for t in range(1, n_tasks + 1):
            ans = answers.get(t, "")
            chosen_alt = None
            if ans:
                chosen_alt = _parse_choice(ans, codes, study, choice_labels)
                if chosen_alt is None:
                    rep.add(
                        "bad answer",
                        f"line {line}, column 'CBC_T{t}': {ans!r} is not an alternative. "
                        f"Valid: {_describe_codes(codes)}, or the texts "
                        + (
                            ", ".join(repr(study.label_display(x)) for x in study.labels)
                            if study.labels
                            else f"'Option 1'..'Option {n_alts}'"
                        )
                        + (", 'None of these'" if study.none_option else "")
                        + "; name other wordings with choice_labels=",
                    )
            would = None
            if study.dual_response_none and ans:
                d = duals.get(t, "")
                would = _parse_dual(d) if d else ""
                if would is None:
                    rep.add(
                        "bad answer",
                        f"line {line}, column 'CBC_T{t}_DR': {d!r}; valid: 1 (yes, I would take "
                        "it), 2 (no), or texts starting Yes / No",
                    )
            for j in range(1, n_alts + 1):
                row = _base_row(rid, version, t, str(j), chosen_alt, would, line)
                for a_i, a in enumerate(attrs):
                    fcol = f"CBC_T{t}_A{j}_{a.name}"
                    pos = lay.fields.get((t, j, a.name))
                    v = cells[pos].strip() if pos is not None else ""
                    if applies[j - 1][a_i]:
                        _check_level(v, a, fcol, line, rep)
                    elif v:  # an alternative-specific attribute on another label's alternative
                        rep.add(
                            "level of an absent attribute",
                            f"line {line}, column {fcol!r}: {v!r} on alternative {j} (label "
                            f"{study.label_of(j)!r}); {a.name!r} exists only on "
                            f"{list_valid(a.applies_to)}: leave the embedded data empty",
                        )
                    row[a.name] = v
                rows.append(row)
            if sq is not None:
                row = _base_row(rid, version, t, "status_quo", chosen_alt, would, line)
                for a_i, a in enumerate(attrs):
                    if a.name in lay.sq:
                        v = cells[lay.sq[a.name]].strip()
                        if v:
                            _check_level(v, a, f"CBC_SQ_{a.name}", line, rep)
                    elif sq.levels is not None:
                        v = a.level_labels()[sq.levels[a_i]]
                    else:
                        v = ""
                    row[a.name] = v
                rows.append(row)
            if study.none_option:
                row = _base_row(rid, version, t, "none", chosen_alt, would, line)
                for a in attrs:
                    row[a.name] = ""
                rows.append(row)
    rep.raise_if_any()

    if questionnaire is None and any(c in lay.people for c in RESPONDENT_COLUMNS[1:]):
        log.warning(
            "%s: questionnaire answers are kept as exported (Qualtrics choice numbers); pass "
            "questionnaire= to translate them into winback's codes",
            path,
        )
    cols = choice_columns(study, version=lay.version is not None)
    choices = pd.DataFrame(rows, columns=cols)
    if lay.version is None and "version" in choices.columns:
        choices = choices.drop(columns="version")
    people_cols = ["respondent_id"]
    present = set().union(*(p.keys() for p in people)) if people else set()
    people_cols += [c for c in targets if c in present and c != "duration_seconds"]
    people_cols += [c for c in keep_columns if c not in people_cols]
    if lay.duration is not None and any(p.get("duration_seconds") for p in people):
        people_cols.append("duration_seconds")
    if EXCLUDE_REASON in present:
        people_cols.append(EXCLUDE_REASON)
    people_cols.append(ROW_COLUMN)
    frame = pd.DataFrame(people).reindex(columns=people_cols)
    return choices, frame, {str(path): file_sha256(path)}


def _base_row(
    rid: str,
    version: str | None,
    t: int,
    alt: str,
    chosen: str | None,
    would: str | None,
    line: int,
) -> dict[str, object]:
    row: dict[str, object] = {"respondent_id": rid, "task": str(t), "alt": alt}
    if version is not None:
        row["version"] = version
    row["chosen"] = "1" if chosen == alt else "0"
    if would is not None:
        row["would_buy"] = would if chosen == alt else ""
    row[ROW_COLUMN] = line
    return row


def _check_level(value: str, attr: Any, column: str, line: int, rep: ProblemReport) -> None:
    if not value:
        rep.add(
            "empty level",
            f"line {line}, column {column!r}: empty (the embedded data was not set). "
            f"Valid levels: {list_valid(attr.level_labels())}",
        )
    elif attr.index_of(value) < 0:
        labels = attr.level_labels()
        rep.add(
            "unknown level",
            f"line {line}, column {column!r}: unknown level {value!r} for attribute "
            f"{attr.name!r}.{did_you_mean(value, labels)} Valid levels: {list_valid(labels)}",
        )
