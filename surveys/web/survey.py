"""A fielded survey: the database, the study, its questionnaire and the design it shows.

:func:`open_survey` opens (or, the first time, creates) the survey database of a study;
:func:`make_invites` adds personal links. The design shown (and, with a ``[maxdiff]``, the
MaxDiff design) is stored in the database when the survey is created, so every respondent sees
the same design whatever happens to files later, and the study file is checked against it each
time the survey is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conjoint.design import ChoiceDesign, make_design
from conjoint.maxdiff import MaxDiffDesign
from conjoint.maxdiff_io import make_study_maxdiff_design
from surveys._csv import read_csv_text
from surveys.questionnaire import Questionnaire, default_questionnaire, status_quo_problems
from surveys.validation import ROW_COLUMN
from surveys.web import schema
from surveys.web.flow import Page, plan_pages
from surveys.web.maxdiff import DESIGN_KEY, design_from_json, design_to_json
from surveys.web.status import survey_status
from surveys.web.tokens import new_secret, new_token
from winback.errors import WinbackError, list_valid
from winback.study import Study

log = logging.getLogger("winback")

Levels = dict[str, str]


def study_fingerprint(study: Study) -> str:
    """What the stored answers depend on: name, attributes and levels, alternatives, none.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> len(study_fingerprint(make_study(SMALL_STUDY)))
    64
    """
    sq = study.status_quo
    key = {
        "name": study.name,
        "attributes": [[a.name, a.level_labels()] for a in study.attributes],
        "alternatives": study.design.alternatives,
        "none_option": study.none_option,
        "dual_response_none": study.dual_response_none,
        "status_quo": None if sq is None else [sq.label, list(sq.levels or ())],
    }
    if study.labels:  # generic surveys keep their fingerprint
        key["labels"] = list(study.labels)
        key["applies_to"] = [[a.name, list(a.applies_to)] for a in study.attributes]
    if sq is not None and sq.per_respondent:  # fixed-level surveys keep their fingerprint
        key["status_quo_plans"] = [[c, list(pr)] for c, pr in sq.plans]
        key["status_quo_price_from_paid"] = sq.price_from_paid
    return hashlib.sha256(schema.dumps(key).encode()).hexdigest()


@dataclass(frozen=True, repr=False)
class Survey:
    """An open survey database with what it shows.

    Attributes
    ----------
    engine : sqlalchemy Engine
    study : Study
    questionnaire : Questionnaire
    design_rows : tuple of dict
        The design shown (``design.csv`` rows as text: version, task, alt, attributes, holdout).
    form_secret : str
        Signs every form (CSRF protection); kept in the database, so it survives restarts.
    db : str
        The database as given (path or URL), for messages.
    seed : int
        The design's seed (each respondent's task and concept order are drawn from it).
    maxdiff : MaxDiffDesign, optional
        The MaxDiff design shown (a study with ``[maxdiff]``); None: no MaxDiff is asked.
    """

    engine: Engine
    study: Study
    questionnaire: Questionnaire
    design_rows: tuple[Mapping[str, str], ...]
    form_secret: str
    db: str
    seed: int = 0
    maxdiff: MaxDiffDesign | None = None
    _tasks: Mapping[tuple[int, int], tuple[Levels, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tasks: dict[tuple[int, int], list[Levels]] = {}
        for r in self.design_rows:
            key = (int(r["version"]), int(r["task"]))
            tasks.setdefault(key, []).append({a: r[a] for a in self.study.attribute_names})
        object.__setattr__(self, "_tasks", {k: tuple(v) for k, v in tasks.items()})

    def close(self) -> None:
        """Close the database connections (a later use opens new ones)."""
        self.engine.dispose()

    # -- the design --------------------------------------------------------------------------
    @property
    def n_versions(self) -> int:
        return max(v for v, _ in self._tasks)

    @property
    def n_tasks(self) -> int:
        return max(t for _, t in self._tasks)

    @property
    def holdout_tasks(self) -> frozenset[int]:
        return frozenset(int(r["task"]) for r in self.design_rows if r.get("holdout") == "1")

    def task_levels(self, version: int, task: int) -> tuple[Levels, ...]:
        """Levels of the designed alternatives 1..J of a task of a version."""
        return self._tasks[(version, task)]

    def status_quo_levels(self, answers: Mapping[str, str] | None = None) -> Levels:
        """The status-quo alternative's level labels for a respondent.

        A fixed status quo (``[status_quo] levels``) is the same for everyone. One filled per
        respondent (``[status_quo] plans``) is built from their ``previous_plan`` (and
        ``price_paid``) answers given earlier in the survey (``answers``), by
        :meth:`winback.study.StatusQuo.profile_for`.

        Raises
        ------
        WinbackError
            The study has no status quo, or the answers it needs are missing.
        """
        sq = self.study.status_quo
        if sq is None:
            raise WinbackError(f"study '{self.study.name}' has no status-quo alternative.")
        answers = answers or {}
        profile = sq.profile_for(answers.get("previous_plan"), answers.get("price_paid"))
        return {
            a.name: a.level_labels()[i] for a, i in zip(self.study.attributes, profile, strict=True)
        }

    @property
    def pages(self) -> tuple[Page, ...]:
        has_cbc = any(q.type == "conjoint" for q in self.questionnaire.questions)
        md_sets = self.maxdiff.n_sets if self.maxdiff is not None else 0
        return plan_pages(self.questionnaire, self.n_tasks if has_cbc else 0, md_sets)

    def __repr__(self) -> str:
        return repr(survey_status(self))


def _design_rows(design: ChoiceDesign) -> list[dict[str, str]]:
    frame = design.to_frame()
    rows = []
    for rec in frame.to_dict("records"):
        row = {k: str(int(rec[k])) for k in ("version", "task", "alt", "holdout")}
        for a in design.study.attributes:
            v = rec[a.name]
            # an alternative-specific attribute on another label's alternative: absent, empty
            absent = v is None or (isinstance(v, float) and v != v)
            row[a.name] = "" if absent else a.level_labels()[a.index_of(v)]
        rows.append(row)
    return rows


def open_survey(
    db: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    questionnaire: Questionnaire | None = None,
    create: bool = False,
    maxdiff_design: MaxDiffDesign | None = None,
) -> Survey:
    """Open the survey database of a study (creating it with ``create=True``).

    Parameters
    ----------
    db : str or Path
        A SQLite file path, or a database URL (``postgresql://user@host/dbname``).
    study : Study
        Must be the study the survey was created for (name, attributes, levels, alternatives,
        none option); otherwise the stored answers would be misread.
    design : ChoiceDesign, optional
        Creating: the design to show (default: ``conjoint.make_design(study)``). Opening: when
        given, it must be the stored design.
    questionnaire : Questionnaire, optional
        Default: the study's ``[questionnaire]``, else :func:`default_questionnaire`.
    create : bool
        Create the survey if the database holds none.
    maxdiff_design : MaxDiffDesign, optional
        Creating, for a study with ``[maxdiff]``: the MaxDiff design to show (default:
        ``conjoint.make_study_maxdiff_design(study)``, the design ``winback design`` writes).
        Opening: when given, it must be the stored one.

    Returns
    -------
    Survey

    Raises
    ------
    WinbackError
        No survey in the database (and not ``create``), another study's survey, a design
        other than the stored one, a study's ``[maxdiff]`` other than the survey's.

    Notes
    -----
    A database of an older schema is upgraded when opened (:func:`surveys.web.schema.upgrade`).
    A survey created before winback's web survey asked the MaxDiff keeps not asking it (its
    respondents may be past the reasons already): make a new survey to ask it.

    Examples
    --------
    >>> from surveys.web import open_survey
    >>> survey = open_survey("study/survey.db", study, create=True)  # doctest: +SKIP
    """
    engine = schema.make_engine(db)
    q = questionnaire or study.questionnaire or default_questionnaire(study)
    sq_problems = status_quo_problems(q, study)
    if sq_problems:
        raise WinbackError(
            "the questionnaire cannot fill the status quo:\n  " + "\n  ".join(sq_problems)
        )
    try:
        settings = schema.read_meta(engine)
        if settings.get("schema_version") != schema.SCHEMA_VERSION and schema.upgrade(engine):
            settings = schema.read_meta(engine)
    except sa.exc.OperationalError as exc:
        raise WinbackError(f"cannot open the survey database {db}: {exc.orig}") from None
    if not settings:
        if not create:
            raise WinbackError(
                f"{db} holds no winback survey. Create one with `winback field invite STUDY "
                "--count N --out invites.csv` (or open_survey(..., create=True))."
            )
        settings = _create(engine, study, design, maxdiff_design)
    _check(settings, study, design, db)
    md = _stored_maxdiff(settings, study, maxdiff_design, str(db))
    return Survey(
        engine=engine,
        study=study,
        questionnaire=q,
        design_rows=tuple(json.loads(settings["design"])),
        form_secret=settings["form_secret"],
        db=str(db),
        seed=int(settings.get("seed", "0")),
        maxdiff=md,
    )


def _stored_maxdiff(
    settings: Mapping[str, str], study: Study, given: MaxDiffDesign | None, db: str
) -> MaxDiffDesign | None:
    """The MaxDiff design the survey shows (None: none), checked against the study."""
    if DESIGN_KEY not in settings:
        if study.maxdiff is not None:
            log.warning(
                "%s: the survey was created without the MaxDiff of the study's [maxdiff], so "
                "it does not ask it; make a new survey (another --db) to ask it",
                db,
            )
        return None
    stored = design_from_json(settings[DESIGN_KEY], study, db)
    if given is not None and (
        given.items != stored.items or not np.array_equal(given.sets, stored.sets)
    ):
        raise WinbackError(
            f"{db}: the MaxDiff design given is not the one this survey shows; leave it out "
            "(the survey keeps its own copy) or use another --db for a new survey."
        )
    return stored


def _create(
    engine: Engine,
    study: Study,
    design: ChoiceDesign | None,
    maxdiff_design: MaxDiffDesign | None = None,
) -> dict[str, str]:
    if design is None:
        log.info("no design given: making the study's design (seed %s)", study.design.seed)
        design = make_design(study)
    if design.study.name != study.name:
        raise WinbackError(f"the design is for study '{design.study.name}', not '{study.name}'.")
    if maxdiff_design is not None and study.maxdiff is None:
        raise WinbackError(
            f"a MaxDiff design was given, but study '{study.name}' has no [maxdiff] table; add "
            "one (docs/study-file.md#maxdiff) or leave the MaxDiff design out."
        )
    schema.create_tables(engine)
    settings = {
        "schema_version": schema.SCHEMA_VERSION,
        "study_name": study.name,
        "study_fingerprint": study_fingerprint(study),
        "design": schema.dumps(_design_rows(design)),
        "seed": str(design.seed),
        "form_secret": new_secret(),
        "created_at": str(time.time()),
    }
    if study.maxdiff is not None:
        md = maxdiff_design if maxdiff_design is not None else make_study_maxdiff_design(study)
        settings[DESIGN_KEY] = design_to_json(md)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(schema.meta), [{"key": k, "value": v} for k, v in settings.items()]
            )
    except sa.exc.IntegrityError:  # created by another process at the same moment
        pass
    return schema.read_meta(engine)


def _check(
    settings: Mapping[str, str], study: Study, design: ChoiceDesign | None, db: str | Path
) -> None:
    if settings.get("schema_version") != schema.SCHEMA_VERSION:
        raise WinbackError(
            f"{db}: survey database schema {settings.get('schema_version')!r}; this winback "
            f"reads schema {schema.SCHEMA_VERSION!r}."
        )
    if settings.get("study_fingerprint") != study_fingerprint(study):
        raise WinbackError(
            f"{db} holds the survey of study '{settings.get('study_name')}', and the study file "
            f"given ('{study.name}') differs from it in its name, attributes, levels, "
            "alternatives or none option. Use the study file the survey was created with, or "
            "another --db for a new survey."
        )
    if design is not None and json.loads(settings["design"]) != _design_rows(design):
        raise WinbackError(
            f"{db}: the design given is not the design this survey shows; leave --design out "
            "(the survey keeps its own copy) or use another --db for a new survey."
        )


# --------------------------------------------------------------------------------------------
# Invites
# --------------------------------------------------------------------------------------------

#: customer-list columns stored with the invite (the rest stays in the invites file only)
STORED_COLUMNS = ("customer_value", "wave")


def _layout(survey: Survey, index: int) -> list[list[Any]]:
    """Task order (holdouts keep their place) and concept order of the index-th invite."""
    rng = np.random.default_rng([survey.seed, index])
    nt, nj = survey.n_tasks, survey.study.design.alternatives
    holdout = survey.holdout_tasks
    free = [t for t in range(1, nt + 1) if t not in holdout]
    shuffled = iter(rng.permutation(free).tolist())
    order = [t if t in holdout else next(shuffled) for t in range(1, nt + 1)]
    return [[int(t), [int(j) + 1 for j in rng.permutation(nj)]] for t in order]


def make_invites(
    survey: Survey,
    respondents: int | pd.DataFrame,
    *,
    base_url: str = "http://127.0.0.1:8000",
    id_column: str = "respondent_id",
    source: str = "customer list",
) -> pd.DataFrame:
    """Create personal links: one token per respondent, versions dealt in turn.

    Parameters
    ----------
    survey : Survey
    respondents : int or DataFrame
        A number of anonymous respondents (ids ``w00001``... continuing any earlier ones), or a
        customer list with an id column; its ``customer_value`` and ``wave`` columns are stored
        with the answers, other columns (e-mail, name) are only copied to the returned table.
    base_url : str
        Where the survey is served; links are ``{base_url}/s/{token}``.
    id_column : str
        The customer list's id column.
    source : str
        The customer list's name, for messages.

    Returns
    -------
    DataFrame
        ``respondent_id, version, token, url`` (and ``maxdiff_version`` when the survey asks
        a MaxDiff: its versions are dealt in turn too) and the customer list's other columns.

    Raises
    ------
    WinbackError
        Every problem of a customer list at once: a missing id column, empty or repeated ids,
        ids invited before (each with its row).

    Examples
    --------
    >>> invites = make_invites(survey, 200, base_url="https://survey.example.org")  # doctest: +SKIP
    >>> invites.columns.tolist()  # doctest: +SKIP
    ['respondent_id', 'version', 'token', 'url']
    """
    base = base_url.rstrip("/")
    with survey.engine.begin() as conn:
        n_before = conn.execute(sa.select(sa.func.count()).select_from(schema.invites)).scalar_one()
        taken = set(conn.execute(sa.select(schema.invites.c.respondent_id)).scalars())
        if isinstance(respondents, int):
            if respondents < 1:
                raise WinbackError(f"the number of invites must be at least 1, got {respondents}.")
            ids = [f"w{n_before + i + 1:05d}" for i in range(respondents)]
            extra = pd.DataFrame(index=range(len(ids)))
        else:
            ids, extra = _customer_ids(respondents, id_column, taken, source)
        now = time.time()
        rows = []
        for i, rid in enumerate(ids):
            index = n_before + i
            row: dict[str, Any] = {
                "token": new_token(),
                "respondent_id": rid,
                "version": index % survey.n_versions + 1,
                "layout": schema.dumps(_layout(survey, index)),
                "created_at": now,
            }
            if survey.maxdiff is not None:
                row["maxdiff_version"] = index % survey.maxdiff.versions + 1
            for c in STORED_COLUMNS:
                if c in extra.columns:
                    v = extra[c].iloc[i]
                    row[c] = None if pd.isna(v) or str(v).strip() == "" else str(v).strip()
            rows.append(row)
        if rows:
            try:
                conn.execute(sa.insert(schema.invites), rows)
            except sa.exc.IntegrityError:
                raise WinbackError(
                    "some respondent ids were invited at the same moment by another process; "
                    "run the command again."
                ) from None
    out = pd.DataFrame(
        {
            "respondent_id": ids,
            "version": [r["version"] for r in rows],
            "token": [r["token"] for r in rows],
            "url": [f"{base}/s/{r['token']}" for r in rows],
        }
    )
    if survey.maxdiff is not None:
        out["maxdiff_version"] = [r["maxdiff_version"] for r in rows]
    others = [c for c in extra.columns if c != id_column]
    for c in others:
        out[c] = extra[c].to_numpy()
    return out


def _customer_ids(
    frame: pd.DataFrame, id_column: str, taken: set[str], source: str
) -> tuple[list[str], pd.DataFrame]:
    if id_column not in frame.columns:
        raise WinbackError(
            f"{source}: no column '{id_column}'. Columns: {list_valid(frame.columns)}. Name the "
            "id column with --id-column."
        )
    frame = frame.reset_index(drop=True)
    ids = [str(v).strip() if not pd.isna(v) else "" for v in frame[id_column]]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        line = i + 2  # the header is line 1
        if not rid:
            problems.append(f"line {line}: empty {id_column}")
        elif len(rid) > 200:
            problems.append(f"line {line}: {id_column} longer than 200 characters")
        elif rid in seen:
            problems.append(f"line {line}: {id_column} {rid!r} repeats line {seen[rid]}")
        elif rid in taken:
            problems.append(f"line {line}: {id_column} {rid!r} was invited before")
        seen.setdefault(rid, line)
    if problems:
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WinbackError(
            f"{source}: {len(problems)} problem(s) with the customer ids:\n  "
            + "\n  ".join(shown)
            + more
        )
    if not ids:
        raise WinbackError(f"{source}: the customer list has no rows.")
    return ids, frame


def read_customer_list(path: str | Path) -> pd.DataFrame:
    """Read a customer list CSV as text (formula escapes removed), for :func:`make_invites`."""
    return read_csv_text(path).drop(columns=ROW_COLUMN)


def invite_rows(survey: Survey) -> Sequence[Mapping[str, Any]]:
    """Every invite (all columns), in the order created."""
    with survey.engine.begin() as conn:
        res = conn.execute(sa.select(schema.invites).order_by(schema.invites.c.id))
        return [dict(r._mapping) for r in res]
