"""``validate_responses``: everything wrong with a response table, reported at once.

The caller's frames are never modified. Problems are grouped by kind, with counts and the first
few of each kind naming file, row (the file's line number; the header is line 1), column and value.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from winback.errors import ResponseError, did_you_mean, list_valid
from winback.study import Study, format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

SPECIAL_ALTS = ("none", "status_quo")
ROW_COLUMN = "_row"


class ProblemReport:
    """Problems found in one source, collected so that one error can list them all.

    ``add`` records a problem of a kind (the message is shown; an empty message only counts),
    ``add_rows`` one per offending row (the first few spelled out), and ``raise_if_any`` raises a
    :class:`~winback.errors.ResponseError` with every problem, grouped by kind with counts. The
    response readers (:mod:`surveys.formats`) and :func:`validate_responses` share it.

    Examples
    --------
    >>> rep = ProblemReport("responses.csv")
    >>> rep.add("unknown level", "line 3, column 'plan': 'Platinum'")
    >>> bool(rep), rep.counts
    (True, {'unknown level': 1})
    >>> rep.raise_if_any()  # doctest: +SKIP
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str]] = []  # shown problems
        self.counts: dict[str, int] = {}

    def add(self, kind: str, msg: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if msg:
            self.items.append((kind, msg))

    def add_rows(self, kind: str, rows: pd.DataFrame, fmt, limit: int = 5) -> None:
        """Count one problem per offending row; only the first ``limit`` are spelled out."""
        if len(rows) == 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)
        for _, r in rows.head(limit).iterrows():
            self.items.append((kind, fmt(r)))

    def __bool__(self) -> bool:
        return bool(self.counts)

    def raise_if_any(self) -> None:
        if self.counts:
            raise ResponseError(self.items, counts=self.counts, source=self.source)


#: the former private name, kept for code that still imports it
_Report = ProblemReport


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def _is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def _as_int(s: pd.Series) -> pd.Series:
    num = pd.to_numeric(s.astype("string").str.strip(), errors="coerce")
    ok = num.notna() & (num == num.round())
    return num.where(ok)


def validate_responses(
    choices: pd.DataFrame,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: pd.DataFrame | None = None,
    source: str = "responses",
    respondents_source: str = "respondents",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check a canonical long choice table (and optional respondents table) against a study.

    Parameters
    ----------
    choices : DataFrame
        ``respondent_id, version, task, alt``, one column per attribute, ``chosen``; optional
        ``would_buy`` (dual-response none), ``holdout``, ``task_position``, ``alt_position``,
        ``seconds``. A column ``_row`` (file line numbers) is used in messages when present.
    study : Study
    design : ChoiceDesign, optional
        When given, every task must show what the design's version shows.
    respondents : DataFrame, optional
        One row per respondent with ``respondent_id``.
    source, respondents_source : str
        Names used in messages (file paths).

    Returns
    -------
    (choices, respondents) : tuple of DataFrame
        Typed copies in canonical column order, ``holdout`` filled in.

    Raises
    ------
    ResponseError
        Listing every problem, grouped by kind with counts.

    Examples
    --------
    >>> clean, people = validate_responses(frame, study, design=design)  # doctest: +SKIP
    """
    rep = ProblemReport(source)
    df = choices.copy()
    if ROW_COLUMN not in df.columns:
        df[ROW_COLUMN] = np.arange(len(df)) + 2
    names = study.attribute_names
    required = ["respondent_id", "task", "alt", *names, "chosen"]
    optional = ["version", "would_buy", "holdout", "task_position", "alt_position", "seconds"]
    valid_cols = [*required, *optional, ROW_COLUMN]

    # -- header ---------------------------------------------------------------------------------
    renames: dict[str, str] = {}
    for c in df.columns:
        if c in valid_cols:
            continue
        hit = [v for v in valid_cols if _norm(v) == _norm(c)]
        if hit:
            rep.add(
                "header", f"column {c!r} looks like {hit[0]!r}: fix the spelling of the header."
            )
        elif str(c).startswith("\ufeff"):
            rep.add(
                "header", f"column {c!r} starts with a byte-order mark; save the file as UTF-8."
            )
        else:
            rep.add(
                "header",
                f"unknown column {c!r}.{did_you_mean(str(c), valid_cols[:-1])} "
                f"Valid columns: {list_valid(valid_cols[:-1])}.",
            )
    missing = [c for c in required if c not in df.columns]
    for c in missing:
        rep.add("header", f"missing column {c!r}. Required: {list_valid(required)}.")
    if missing or rep:
        rep.raise_if_any()
    del renames

    if df.empty:
        rep.add("empty", "no rows.")
        rep.raise_if_any()

    # repeated header rows (files concatenated with their headers)
    hdr = df["respondent_id"].astype("string").str.strip() == "respondent_id"
    if hdr.any():
        rep.add_rows(
            "repeated header", df[hdr], lambda r: f"row {r[ROW_COLUMN]} repeats the header"
        )
        df = df[~hdr]

    # -- ids and types --------------------------------------------------------------------------
    rid = df["respondent_id"].astype("string").str.strip()
    bad = _is_blank(df["respondent_id"])
    untyped = bad.copy()
    rep.add_rows(
        "missing respondent_id", df[bad], lambda r: f"row {r[ROW_COLUMN]}: empty respondent_id"
    )
    df["respondent_id"] = rid

    task = _as_int(df["task"])
    bad = task.isna() | (task < 1)
    untyped |= bad
    rep.add_rows(
        "bad task",
        df[bad],
        lambda r: f"row {r[ROW_COLUMN]}, column 'task': {r['task']!r} is not a whole number >= 1",
    )
    df["task"] = task

    if "version" in df.columns:
        ver = _as_int(df["version"])
        bad = ver.isna() | (ver < 1)
        untyped |= bad
        rep.add_rows(
            "bad version",
            df[bad],
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'version': {r['version']!r} is not a whole number >= 1"
            ),
        )
        df["version"] = ver
    else:
        if design is not None and design.n_versions > 1:
            rep.add(
                "header",
                f"missing column 'version': the design has {design.n_versions} versions, so each "
                "respondent's version is needed.",
            )
        df["version"] = 1

    chosen = _as_int(df["chosen"])
    bad = ~chosen.isin([0, 1])
    untyped |= bad
    rep.add_rows(
        "bad chosen",
        df[bad],
        lambda r: f"row {r[ROW_COLUMN]}, column 'chosen': {r['chosen']!r}; valid: 0, 1",
    )
    df["chosen"] = chosen

    n_alts = study.design.alternatives
    valid_alts = [str(j) for j in range(1, n_alts + 1)]
    if study.none_option:
        valid_alts.append("none")
    if study.status_quo is not None:
        valid_alts.append("status_quo")
    alt = df["alt"].astype("string").str.strip().str.lower()
    alt_num = _as_int(alt)
    alt = alt.where(alt_num.isna(), alt_num.astype("Int64").astype("string"))
    bad = ~alt.isin(valid_alts)
    untyped |= bad
    rep.add_rows(
        "bad alt",
        df[bad],
        lambda r: (
            f"row {r[ROW_COLUMN]}, column 'alt': {r['alt']!r}; valid: {list_valid(valid_alts)}"
            + (
                " (this study has no none option)"
                if str(r["alt"]).strip().lower() == "none" and not study.none_option
                else ""
            )
        ),
    )
    df["alt"] = alt
    special = alt.isin(SPECIAL_ALTS)

    # -- levels ---------------------------------------------------------------------------------
    for a in study.attributes:
        col = df[a.name]
        blank = _is_blank(col)
        idx = pd.Series(
            [a.index_of(v) if not b else -2 for v, b in zip(col, blank, strict=True)],
            index=df.index,
        )
        designed = ~special
        unknown = designed & (idx < 0)
        labels = a.level_labels()
        rep.add_rows(
            "unknown level",
            df[unknown],
            lambda r, a=a, labels=labels: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': "
                + ("empty" if _blank_value(r[a.name]) else f"unknown level {r[a.name]!r}")
                + f". Valid levels: {list_valid(labels)}"
            ),
        )
        none_filled = (df["alt"] == "none") & ~blank
        rep.add_rows(
            "none row with levels",
            df[none_filled],
            lambda r, a=a: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': the none alternative shows no "
                f"levels, got {r[a.name]!r}"
            ),
        )
        sq_bad = (df["alt"] == "status_quo") & ~blank & (idx < 0)
        rep.add_rows(
            "unknown level",
            df[sq_bad],
            lambda r, a=a, labels=labels: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': unknown level "
                f"{r[a.name]!r}. Valid levels: {list_valid(labels)}"
            ),
        )
        if a.numeric:
            values = np.asarray(a.levels, dtype=float)
            df[a.name] = pd.array([values[i] if i >= 0 else None for i in idx], dtype="Float64")
        else:
            df[a.name] = pd.array([a.levels[i] if i >= 0 else None for i in idx], dtype="string")

    # -- optional columns -----------------------------------------------------------------------
    if "would_buy" in df.columns:
        wb = _as_int(df["would_buy"])
        blank = _is_blank(df["would_buy"])
        if not study.dual_response_none:
            rep.add_rows(
                "would_buy without dual-response none",
                df[~blank],
                lambda r: (
                    f"row {r[ROW_COLUMN]}: would_buy = {r['would_buy']!r}, but the study has "
                    "no dual-response none (set dual_response_none = true)"
                ),
                limit=3,
            )
        else:
            on_chosen = df["chosen"] == 1
            bad = on_chosen & ~wb.isin([0, 1])
            rep.add_rows(
                "bad would_buy",
                df[bad],
                lambda r: (
                    f"row {r[ROW_COLUMN]}, column 'would_buy': {r['would_buy']!r} on the chosen "
                    "row; valid: 0, 1"
                ),
            )
            bad = ~on_chosen & ~blank
            rep.add_rows(
                "bad would_buy",
                df[bad],
                lambda r: (
                    f"row {r[ROW_COLUMN]}, column 'would_buy': {r['would_buy']!r} on a row not "
                    "chosen; leave it empty"
                ),
            )
        df["would_buy"] = pd.array(wb.where(df["chosen"] == 1), dtype="Int64")
    elif study.dual_response_none:
        rep.add("header", "missing column 'would_buy': the study has dual-response none.")
    for c in ("task_position", "alt_position"):
        if c in df.columns:
            v = _as_int(df[c])
            # a none or status-quo row may have no screen position of its own
            bad = (v.isna() & ~(special & _is_blank(df[c]))) | (v < 1)
            rep.add_rows(
                f"bad {c}",
                df[bad],
                lambda r, c=c: (
                    f"row {r[ROW_COLUMN]}, column '{c}': {r[c]!r} is not a whole number >= 1"
                ),
            )
            df[c] = pd.array(v, dtype="Int64")
    if "seconds" in df.columns:
        v = pd.to_numeric(df["seconds"], errors="coerce")
        bad = ~_is_blank(df["seconds"]) & (v.isna() | (v < 0))
        rep.add_rows(
            "bad seconds",
            df[bad],
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'seconds': {r['seconds']!r} is not a number >= 0"
            ),
        )
        df["seconds"] = pd.array(v, dtype="Float64")
    if "holdout" in df.columns:
        h = _as_int(df["holdout"])
        bad = ~h.isin([0, 1])
        rep.add_rows(
            "bad holdout",
            df[bad],
            lambda r: f"row {r[ROW_COLUMN]}, column 'holdout': {r['holdout']!r}; valid: 0, 1",
        )
        df["holdout"] = h
    # The structure checks need clean ids and types: respondents with a row that lacks them are
    # left out of those checks (their problems are already reported), everyone else is checked.
    skip = set(df.loc[untyped, "respondent_id"].dropna())
    df = df[~untyped & ~df["respondent_id"].isin(skip)].copy()
    if df.empty:
        rep.raise_if_any()

    df["task"] = df["task"].astype(int)
    df["version"] = df["version"].astype(int)
    df["chosen"] = df["chosen"].astype(int)

    # -- structure ------------------------------------------------------------------------------
    key = ["respondent_id", "task", "alt"]
    dup = df.duplicated(key, keep=False)
    if dup.any():
        per_resp = df[dup].groupby("respondent_id").size()
        full = df.groupby("respondent_id").size()
        whole = per_resp[per_resp == full.reindex(per_resp.index)]
        for r in whole.index:
            rep.add(
                "duplicated respondent", f"respondent {r!r} appears twice (every task repeated)"
            )
        rest = df[dup & ~df["respondent_id"].isin(whole.index)]
        rep.add_rows(
            "duplicated row",
            rest,
            lambda r: (
                f"row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} task {r['task']} alt "
                f"{r['alt']} appears more than once"
            ),
        )
        df = df[~df.duplicated(key, keep="first")]

    g = df.groupby(["respondent_id", "task"], sort=False)
    n_chosen = g["chosen"].sum()
    first_row = g[ROW_COLUMN].min()
    for (r, t), n in n_chosen[n_chosen != 1].items():
        kind = "no alternative chosen" if n == 0 else "several alternatives chosen"
        rep.add(
            kind,
            f"respondent {r!r} task {t} (from row {first_row[(r, t)]}): {n} rows with chosen = 1",
        )
    n_designed = df[~df["alt"].isin(SPECIAL_ALTS)].groupby(["respondent_id", "task"]).size()
    bad = n_designed[n_designed != n_alts]
    for (r, t), n in bad.items():
        rep.add(
            "wrong number of alternatives",
            f"respondent {r!r} task {t} (from row {first_row[(r, t)]}): {n} alternatives; the "
            f"study shows {n_alts}",
        )
    for special_alt, needed in (
        ("none", study.none_option),
        ("status_quo", study.status_quo is not None),
    ):
        if needed:
            has = df[df["alt"] == special_alt].groupby(["respondent_id", "task"]).size()
            lacking = n_chosen.index.difference(has.index)
            for r, t in list(lacking):
                rep.add(
                    f"missing {special_alt} row",
                    f"respondent {r!r} task {t} (from row {first_row[(r, t)]}): no '{special_alt}' row",
                )

    versions = df.groupby("respondent_id")["version"].nunique()
    for r in versions[versions > 1].index:
        rep.add("mixed versions", f"respondent {r!r} has rows of several versions")

    tasks = df.groupby("respondent_id", sort=False)["task"].agg(lambda s: tuple(sorted(set(s))))
    expected_t = max((len(t) for t in tasks), default=0)
    for r, ts in tasks.items():
        if ts != tuple(range(1, len(ts) + 1)):
            gaps = sorted(set(range(1, max(ts) + 1)) - set(ts))
            rep.add("task gaps", f"respondent {r!r}: tasks {list(ts)} skip {gaps}")
        elif len(ts) != expected_t:
            rep.add(
                "incomplete respondent",
                f"respondent {r!r} has {len(ts)} tasks, others {expected_t}; remove or complete "
                "partial interviews before import",
            )

    # -- design agreement -----------------------------------------------------------------------
    if design is not None:
        _check_design(df, study, design, rep)
    rep.raise_if_any()

    # -- holdouts ---------------------------------------------------------------------------------
    if "holdout" in df.columns:
        mixed = df.groupby(["respondent_id", "task"])["holdout"].nunique()
        for r, t in mixed[mixed > 1].index:
            rep.add("bad holdout", f"respondent {r!r} task {t}: holdout differs between rows")
        df["holdout"] = df["holdout"].astype(int)
    else:
        df["holdout"] = _infer_holdouts(df, study, design)
    rep.raise_if_any()

    # -- respondents ------------------------------------------------------------------------------
    people = _check_respondents(df, respondents, respondents_source, rep)
    rep.raise_if_any()

    # -- canonical order --------------------------------------------------------------------------
    order = {r: i for i, r in enumerate(pd.unique(df["respondent_id"]))}
    alt_rank = df["alt"].map(
        lambda a: int(a) if a.isdigit() else (10_000 if a == "status_quo" else 10_001)
    )
    df = (
        df.assign(_o=df["respondent_id"].map(order), _a=alt_rank)
        .sort_values(["_o", "task", "_a"], kind="stable")
        .drop(columns=["_o", "_a", ROW_COLUMN])
        .reset_index(drop=True)
    )
    cols = ["respondent_id", "version", "task", "alt", *names, "chosen", "holdout"]
    cols += [
        c for c in ("would_buy", "task_position", "alt_position", "seconds") if c in df.columns
    ]
    df = df[cols]
    df["respondent_id"] = df["respondent_id"].astype("string")
    df["alt"] = df["alt"].astype("string")
    return df, people


def _blank_value(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or str(v).strip() == ""


def _check_design(df: pd.DataFrame, study: Study, design: ChoiceDesign, rep: ProblemReport) -> None:
    n_tasks = df.groupby("respondent_id", sort=False)["task"].nunique()
    for r, n in n_tasks[n_tasks < design.n_tasks].items():
        rep.add(
            "incomplete respondent",
            f"respondent {r!r} answered {n} tasks; the design has {design.n_tasks} per version "
            "(remove or complete partial interviews before import)",
        )
    designed = df[~df["alt"].isin(SPECIAL_ALTS)]
    v = designed["version"].to_numpy() - 1
    t = designed["task"].to_numpy() - 1
    j = designed["alt"].astype(int).to_numpy() - 1
    out_v = v >= design.n_versions
    out_t = t >= design.n_tasks
    out_j = j >= design.n_alternatives
    for mask, what, n in (
        (out_v, "version", design.n_versions),
        (out_t, "task", design.n_tasks),
        (out_j, "alt", design.n_alternatives),
    ):
        rows = designed[mask]
        rep.add_rows(
            "not in the design",
            rows,
            lambda r, what=what, n=n: (
                f"row {r[ROW_COLUMN]}: {what} {r[what]} is not in the design (it has {n})"
            ),
        )
    ok = ~(out_v | out_t | out_j)
    if not ok.any():
        return
    expected = design.levels[v[ok], t[ok], j[ok]]  # (n, A)
    sub = designed[ok]
    for a, attr in enumerate(study.attributes):
        shown = np.array([-1 if pd.isna(x) else attr.index_of(x) for x in sub[attr.name]])
        diff = (shown != expected[:, a]) & (shown >= 0)  # unknown levels are reported already
        rows = sub[diff].assign(_exp=[format_level(attr.levels[e]) for e in expected[diff, a]])
        rep.add_rows(
            "disagrees with the design",
            rows,
            lambda r, attr=attr: (
                f"row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} version "
                f"{r['version']} task {r['task']} alt {r['alt']} shows {attr.name} = "
                f"{format_level(r[attr.name])}, the design has {r['_exp']}"
            ),
        )


def _infer_holdouts(df: pd.DataFrame, study: Study, design: ChoiceDesign | None) -> pd.Series:
    if design is not None:
        h = design.holdout.astype(int)
        t = df["task"].to_numpy() - 1
        return pd.Series(np.where(t < len(h), h[np.minimum(t, len(h) - 1)], 0), index=df.index)
    if not study.holdouts:
        return pd.Series(0, index=df.index)
    holdout_sets = [frozenset(h.alternatives) for h in study.holdouts]
    designed = df[~df["alt"].isin(SPECIAL_ALTS)]
    idx = np.column_stack([[a.index_of(x) for x in designed[a.name]] for a in study.attributes])
    profiles = pd.Series([tuple(int(i) for i in row) for row in idx], index=designed.index)
    sets = profiles.groupby([designed["respondent_id"], designed["task"]]).agg(frozenset)
    is_h = sets.map(lambda s: int(s in holdout_sets))
    keyed = pd.MultiIndex.from_frame(df[["respondent_id", "task"]])
    return pd.Series(is_h.reindex(keyed).fillna(0).astype(int).to_numpy(), index=df.index)


def _check_respondents(
    df: pd.DataFrame, respondents: pd.DataFrame | None, source: str, rep: ProblemReport
) -> pd.DataFrame:
    ids = pd.unique(df["respondent_id"])
    if respondents is None:
        return pd.DataFrame({"respondent_id": pd.array(ids, dtype="string")})
    people = respondents.copy()
    if ROW_COLUMN not in people.columns:
        people[ROW_COLUMN] = np.arange(len(people)) + 2
    if "respondent_id" not in people.columns:
        near = [c for c in people.columns if _norm(c) == "respondent_id"]
        hint = f" (found {near[0]!r}: fix the header)" if near else ""
        rep.add("header", f"{source}: missing column 'respondent_id'{hint}.")
        return people
    people["respondent_id"] = people["respondent_id"].astype("string").str.strip()
    # an empty cell is an unanswered question: missing, not the empty text
    for c in people.columns:
        if c != ROW_COLUMN and (
            people[c].dtype == object or pd.api.types.is_string_dtype(people[c])
        ):
            blank = people[c].isna() | (people[c].astype("string").str.strip() == "")
            if blank.any():
                people[c] = people[c].astype(object).where(~blank, None)
    # answers that are all numbers become numbers (whatever the source: CSV text or a frame)
    for c in people.columns:
        if c in (ROW_COLUMN, "respondent_id") or pd.api.types.is_numeric_dtype(people[c]):
            continue
        vals = people[c].dropna()
        if len(vals) == 0:
            continue
        num = pd.to_numeric(vals.astype("string").str.strip(), errors="coerce")
        if num.notna().all():
            whole = bool((num == num.round()).all())
            full = pd.to_numeric(people[c].astype("string").str.strip(), errors="coerce")
            people[c] = full.astype("Int64") if whole else full.astype("Float64")
    dup = people.duplicated("respondent_id", keep=False)
    rep.add_rows(
        "duplicated respondent",
        people[dup],
        lambda r: (
            f"{source} row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} is listed more than once"
        ),
    )
    known = set(people["respondent_id"])
    unknown = [r for r in ids if r not in known]
    for i, r in enumerate(unknown):
        if i < 5:
            first = int(df.loc[df["respondent_id"] == r, ROW_COLUMN].min())
            rep.add("unknown respondent", f"row {first}: respondent {r!r} is not in {source}")
        else:
            rep.add("unknown respondent", "")
    return people.drop(columns=[ROW_COLUMN]).reset_index(drop=True)
