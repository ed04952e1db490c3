"""``validate_responses``: everything wrong with a response table, reported at once.

The caller's frames are never modified. Problems are grouped by kind, with counts, the number of
respondents each kind affects and the first few of each kind naming file, row (the file's line
number; the header is line 1), column and value.

Every check works on whole columns (numpy and pandas group operations); where a value has to
be looked at in Python (a level label, a number written as text), each *distinct* text is looked
at once and the answer spread to its rows by integer codes, so a 200 MB export (a few hundred
distinct texts in millions of cells) is checked in seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from winback.errors import ResponseError, did_you_mean, list_valid
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

SPECIAL_ALTS = ("none", "status_quo")
ROW_COLUMN = "_row"
#: problems spelled out per kind (the rest are counted)
SHOWN = 5


class ProblemReport:
    """Problems found in one source, collected so that one error can list them all.

    ``add`` records a problem of a kind (the message is shown; an empty message only counts),
    ``add_rows`` one per offending row (the first few spelled out), and ``raise_if_any`` raises a
    :class:`~winback.errors.ResponseError` with every problem, grouped by kind with counts and,
    where known, the number of respondents each kind affects. The response readers
    (:mod:`surveys.formats`) and :func:`validate_responses` share it.

    Examples
    --------
    >>> rep = ProblemReport("responses.csv")
    >>> rep.add("unknown level", "line 3, column 'plan': 'Platinum'", respondents=["r1"])
    >>> bool(rep), rep.counts
    (True, {'unknown level': 1})
    >>> rep.raise_if_any()  # doctest: +SKIP
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str]] = []  # shown problems
        self.counts: dict[str, int] = {}
        self.affected: dict[str, set[Hashable]] = {}  # kind -> respondents

    def add(self, kind: str, msg: str, respondents: Iterable[Hashable] = ()) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if msg:
            self.items.append((kind, msg))
        self._affect(kind, respondents)

    def add_many(
        self, kind: str, n: int, messages: Iterable[str], respondents: Iterable[Hashable] = ()
    ) -> None:
        """Count ``n`` problems of a kind; ``messages`` are the first few, spelled out."""
        if n <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + n
        self.items.extend((kind, m) for m in messages)
        self._affect(kind, respondents)

    def _affect(self, kind: str, respondents: Iterable[Hashable]) -> None:
        ids = self.affected.setdefault(kind, set())
        ids.update(respondents)

    def add_rows(
        self,
        kind: str,
        rows: pd.DataFrame,
        fmt: Callable[..., str],
        limit: int = SHOWN,
        id_column: str | None = None,
    ) -> None:
        """Count one problem per offending row; only the first ``limit`` are spelled out.

        With ``id_column``, the rows shown are the first of each of the first ``limit``
        respondents (a respondent with many such rows is shown once, with how many more).
        """
        if len(rows) == 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)
        if id_column is None or id_column not in rows.columns:
            for _, r in rows.head(limit).iterrows():
                self.items.append((kind, fmt(r)))
            return
        ids = rows[id_column]
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        self._affect(kind, (u for u in uniques if not pd.isna(u)))
        per = np.bincount(codes[codes >= 0], minlength=len(uniques))
        first = pd.Series(np.arange(len(codes))).groupby(codes, sort=False).first()
        shown = 0
        for code, pos in first.items():
            if shown >= limit:
                break
            msg = fmt(rows.iloc[pos])
            more = int(per[code]) - 1 if code >= 0 else 0
            if more:
                msg += (
                    f" (+{more} more row{'s' if more > 1 else ''} of respondent {uniques[code]!r})"
                )
            self.items.append((kind, msg))
            shown += 1

    def __bool__(self) -> bool:
        return bool(self.counts)

    def raise_if_any(self) -> None:
        if self.counts:
            per_kind = {k: len(v) for k, v in self.affected.items() if v}
            every: set[Hashable] = set().union(*self.affected.values()) if self.affected else set()
            raise ResponseError(
                self.items,
                counts=self.counts,
                source=self.source,
                respondents=per_kind,
                n_affected=len(every) or None,
            )


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def _is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


# --------------------------------------------------------------------------------------------
# Columns as codes: each distinct value looked at once
# --------------------------------------------------------------------------------------------


class _Codes:
    """A column as integer codes into its distinct values (``-1``: missing)."""

    def __init__(self, s: pd.Series) -> None:
        if isinstance(s.dtype, pd.CategoricalDtype):
            self.codes = np.asarray(s.cat.codes, dtype=np.int64)
            self.uniques = np.asarray(s.cat.categories, dtype=object)
        else:
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            self.codes = np.asarray(codes, dtype=np.int64)
            self.uniques = np.asarray(uniques, dtype=object)

    def map(self, fn: Callable[[Any], Any], dtype: Any) -> np.ndarray:
        """``fn`` of every cell (``None`` for a missing one), computed once per distinct value."""
        table = np.array([fn(u) for u in self.uniques] + [fn(None)], dtype=dtype)
        return table[self.codes]  # code -1 picks the last entry: fn(None)

    def text(self) -> np.ndarray:
        """Every cell as text (``None`` when missing), for building output columns."""
        return self.map(lambda u: None if _missing(u) else str(u), object)


def _missing(u: Any) -> bool:
    return u is None or u is pd.NA or (isinstance(u, float) and math.isnan(u))


def _blank_value(v: object) -> bool:
    return _missing(v) or str(v).strip() == ""


_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _number(u: Any) -> float:
    """A cell's number (surrounding spaces allowed); NaN when it is not a finite number."""
    if _missing(u) or isinstance(u, bool | np.bool_):
        return math.nan
    if isinstance(u, int | float | np.integer | np.floating):
        x = float(u)
    else:
        text = str(u)
        if not _NUMBER.fullmatch(text):
            return math.nan
        x = float(text)
    return x if math.isfinite(x) else math.nan


def _whole(u: Any) -> float:
    """A cell's whole number, NaN if it is not one (``3``, ``3.0`` and `` 3`` are 3)."""
    x = _number(u)
    return x if (x == x and x == round(x) and abs(x) < 2**31) else math.nan


def _as_int(s: pd.Series) -> pd.Series:
    """Whole numbers of a column (NaN elsewhere); each distinct text parsed once."""
    return pd.Series(_Codes(s).map(_whole, float), index=s.index)


#: codes for levels that are not levels
_UNKNOWN, _BLANK, _PADDED = -1, -2, -3


def _level_code(attr: Attribute) -> Callable[[Any], int]:
    """Level index of a cell: exact label (or value), else -1 unknown, -2 blank, -3 padded."""
    labels = {label: i for i, label in enumerate(attr.level_labels())}
    if not attr.numeric:
        labels.update({str(v): i for i, v in enumerate(attr.levels)})

    def code(u: Any) -> int:
        if _missing(u):
            return _BLANK
        if attr.numeric and isinstance(u, int | float | np.integer | np.floating):
            return attr.index_of(float(u))
        text = str(u)
        if text in labels:
            return labels[text]
        if not text.strip():
            return _BLANK
        if attr.numeric:
            if text == text.strip() and _NUMBER.fullmatch(text):
                return attr.index_of(float(text))
            if text != text.strip() and attr.index_of(text.strip()) >= 0:
                return _PADDED
            return _UNKNOWN
        return _PADDED if text.strip() in labels else _UNKNOWN

    return code


def _padded_note(value: object) -> str:
    text = str(value)
    where = []
    if text != text.lstrip():
        where.append(f"starts with {text[: len(text) - len(text.lstrip())]!r}")
    if text != text.rstrip():
        where.append(f"ends with {text[len(text.rstrip()) :]!r}")
    return " and ".join(where)


# --------------------------------------------------------------------------------------------
# validate_responses
# --------------------------------------------------------------------------------------------


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
        Text cells may be plain text or categorical (as :func:`surveys.read_responses` reads
        them).
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
        Listing every problem, grouped by kind with counts and respondents affected. Problems
        that are independent of each other are all found in one pass: a bad header column does
        not hide bad values, bad values in some respondents do not hide structural problems of
        the others, and the respondents file is checked too. Respondent ids and level labels
        are compared exactly: a leading space or apostrophe is part of an id, and a level
        written with spaces around it is reported, never trimmed.

    Examples
    --------
    >>> clean, people = validate_responses(frame, study, design=design)  # doctest: +SKIP
    """
    rep = ProblemReport(source)
    df = choices.copy(deep=False)
    if ROW_COLUMN not in df.columns:
        df[ROW_COLUMN] = np.arange(len(df)) + 2
    names = study.attribute_names
    required = ["respondent_id", "task", "alt", *names, "chosen"]
    optional = ["version", "would_buy", "holdout", "task_position", "alt_position", "seconds"]
    valid_cols = [*required, *optional, ROW_COLUMN]

    # -- header: reported, and the checks that need a missing column are left out ---------------
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
    if "respondent_id" in missing:
        rep.raise_if_any()  # nothing can be told about anyone without their ids

    if df.empty:
        rep.add("empty", "no rows.")
        rep.raise_if_any()
    df = df.reset_index(drop=True)
    n = len(df)
    rows = df[ROW_COLUMN]

    # -- respondent ids: kept exactly as written ------------------------------------------------
    rid = _Codes(df["respondent_id"])
    rid_text = np.array(
        [None if _missing(u) else str(u) for u in rid.uniques] + [None], dtype=object
    )
    hdr = rid.map(lambda u: not _missing(u) and str(u).strip() == "respondent_id", bool)
    if hdr.any():
        rep.add_rows(
            "repeated header", df[hdr], lambda r: f"row {r[ROW_COLUMN]} repeats the header"
        )
    live = ~hdr  # rows that are data
    blank_id = rid.map(_blank_value, bool) & live
    rep.add_rows(
        "missing respondent_id",
        df[blank_id],
        lambda r: (
            f"row {r[ROW_COLUMN]}: empty respondent_id"
            if _missing(r["respondent_id"]) or str(r["respondent_id"]) == ""
            else f"row {r[ROW_COLUMN]}: respondent_id {r['respondent_id']!r} is only white space"
        ),
    )
    untyped = blank_id.copy()
    ids = pd.Series(rid_text[rid.codes], index=df.index, dtype=object)
    df["respondent_id"] = ids  # text (categorical input: its categories' text)

    def report(kind: str, mask: np.ndarray, fmt: Callable[..., str]) -> None:
        mask = mask & live
        if mask.any():
            rep.add_rows(kind, df[mask], fmt, id_column="respondent_id")

    # -- numbers --------------------------------------------------------------------------------
    def whole(col: str) -> np.ndarray:
        return _Codes(df[col]).map(_whole, float)

    if "task" in df.columns:
        task = whole("task")
        bad = ~(task >= 1)
        untyped |= bad
        report(
            "bad task",
            bad,
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'task': {r['task']!r} is not a whole number >= 1"
            ),
        )
    else:
        task = np.full(n, np.nan)
        untyped[:] = True
    if "version" in df.columns:
        version = whole("version")
        bad = ~(version >= 1)
        untyped |= bad
        report(
            "bad version",
            bad,
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'version': {r['version']!r} is not a whole number >= 1"
            ),
        )
    else:
        if design is not None and design.n_versions > 1:
            rep.add(
                "header",
                f"missing column 'version': the design has {design.n_versions} versions, so each "
                "respondent's version is needed.",
            )
        version = np.ones(n)
    if "chosen" in df.columns:
        chosen = whole("chosen")
        bad = ~np.isin(chosen, [0.0, 1.0])
        untyped |= bad
        report(
            "bad chosen",
            bad,
            lambda r: f"row {r[ROW_COLUMN]}, column 'chosen': {r['chosen']!r}; valid: 0, 1",
        )
    else:
        chosen = np.zeros(n)
        untyped[:] = True

    # alternatives as codes 0..J-1 (designed), J (status quo), J+1 (none); -1 not valid
    n_alts = study.design.alternatives
    valid_alts = [str(j) for j in range(1, n_alts + 1)]
    if study.none_option:
        valid_alts.append("none")
    if study.status_quo is not None:
        valid_alts.append("status_quo")
    alt_names = [*(str(j) for j in range(1, n_alts + 1)), "status_quo", "none"]
    sq_code, none_code = n_alts, n_alts + 1

    def alt_code(u: Any) -> int:
        if _missing(u):
            return -1
        text = str(u).strip().lower()
        x = _whole(text)
        key = str(int(x)) if x == x else text
        return alt_names.index(key) if key in valid_alts else -1

    if "alt" in df.columns:
        alt = _Codes(df["alt"]).map(alt_code, np.int64)
        bad = alt < 0
        untyped |= bad
        report(
            "bad alt",
            bad,
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'alt': {r['alt']!r}; valid: {list_valid(valid_alts)}"
                + (
                    " (this study has no none option)"
                    if str(r["alt"]).strip().lower() == "none" and not study.none_option
                    else ""
                )
            ),
        )
    else:
        alt = np.full(n, -1, dtype=np.int64)
        untyped[:] = True
    special = alt >= n_alts
    is_none = alt == none_code
    is_sq = alt == sq_code

    # -- levels ---------------------------------------------------------------------------------
    level_idx: dict[str, np.ndarray] = {}
    semicolon = "decimal comma" if df.attrs.get("separator") == ";" else ""
    for a in study.attributes:
        if a.name not in df.columns:
            continue
        idx = _Codes(df[a.name]).map(_level_code(a), np.int64)
        level_idx[a.name] = idx
        labels = a.level_labels()
        padded = idx == _PADDED
        report(
            "level with white space",
            padded,
            lambda r, a=a: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': {r[a.name]!r} "
                f"{_padded_note(r[a.name])}; the level is {str(r[a.name]).strip()!r} (white "
                "space is not trimmed: remove it in the file)"
            ),
        )
        unknown = ~special & (idx < 0) & ~padded
        report(
            "unknown level",
            unknown,
            lambda r, a=a, labels=labels: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': "
                + ("empty" if _blank_value(r[a.name]) else f"unknown level {r[a.name]!r}")
                + f". Valid levels: {list_valid(labels)}"
                + (
                    " (a decimal comma? the file is semicolon-separated, as saved by Excel in "
                    "many European locales; numbers need a decimal point)"
                    if semicolon and a.numeric and "," in str(r[a.name])
                    else ""
                )
            ),
        )
        none_filled = is_none & (idx != _BLANK)
        report(
            "none row with levels",
            none_filled,
            lambda r, a=a: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': the none alternative shows no "
                f"levels, got {r[a.name]!r}"
            ),
        )
        sq_bad = is_sq & (idx == _UNKNOWN)
        report(
            "unknown level",
            sq_bad,
            lambda r, a=a, labels=labels: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': unknown level "
                f"{r[a.name]!r}. Valid levels: {list_valid(labels)}"
            ),
        )
        if study.status_quo is not None and study.status_quo.per_respondent:
            # each respondent saw their own plan: its profile must be in the file, or the
            # model would read one constant for profiles that differ between respondents
            report(
                "status quo without its levels",
                is_sq & (idx == _BLANK),
                lambda r, a=a: (
                    f"row {r[ROW_COLUMN]}, column '{a.name}': empty; this study shows each "
                    "respondent their own previous plan ([status_quo] plans), so the status-quo "
                    "row must hold the level that respondent saw (a Qualtrics export: the "
                    f"CBC_SQ_{a.name} field set by the survey flow)"
                ),
            )
        # rows with unusable levels keep their own problems; their respondents' structure is
        # still checked (levels play no part in it)

    # -- optional columns -----------------------------------------------------------------------
    out_optional: dict[str, Any] = {}
    if "would_buy" in df.columns:
        wcodes = _Codes(df["would_buy"])
        wb = wcodes.map(_whole, float)
        blank = wcodes.map(_blank_value, bool)
        if not study.dual_response_none:
            rep.add_rows(
                "would_buy without dual-response none",
                df[~blank & live],
                lambda r: (
                    f"row {r[ROW_COLUMN]}: would_buy = {r['would_buy']!r}, but the study has "
                    "no dual-response none (set dual_response_none = true)"
                ),
                limit=3,
                id_column="respondent_id",
            )
        else:
            on_chosen = chosen == 1
            report(
                "bad would_buy",
                on_chosen & ~np.isin(wb, [0.0, 1.0]),
                lambda r: (
                    f"row {r[ROW_COLUMN]}, column 'would_buy': {r['would_buy']!r} on the chosen "
                    "row; valid: 0, 1"
                ),
            )
            report(
                "bad would_buy",
                ~on_chosen & ~blank,
                lambda r: (
                    f"row {r[ROW_COLUMN]}, column 'would_buy': {r['would_buy']!r} on a row not "
                    "chosen; leave it empty"
                ),
            )
        out_optional["would_buy"] = pd.array(np.where(chosen == 1, wb, np.nan), dtype="Float64")
    elif study.dual_response_none:
        rep.add("header", "missing column 'would_buy': the study has dual-response none.")
    for c in ("task_position", "alt_position"):
        if c in df.columns:
            pcodes = _Codes(df[c])
            v = pcodes.map(_whole, float)
            blank = pcodes.map(_blank_value, bool)
            # a none or status-quo row may have no screen position of its own
            bad = (np.isnan(v) & ~(special & blank)) | (v < 1)
            report(
                f"bad {c}",
                bad,
                lambda r, c=c: (
                    f"row {r[ROW_COLUMN]}, column '{c}': {r[c]!r} is not a whole number >= 1"
                ),
            )
            out_optional[c] = pd.array(v, dtype="Float64")
    if "seconds" in df.columns:
        scodes = _Codes(df["seconds"])
        v = scodes.map(_number, float)
        bad = ~scodes.map(_blank_value, bool) & ~(v >= 0)
        report(
            "bad seconds",
            bad,
            lambda r: (
                f"row {r[ROW_COLUMN]}, column 'seconds': {r['seconds']!r} is not a number >= 0"
            ),
        )
        out_optional["seconds"] = pd.array(v, dtype="Float64")
    holdout = None
    if "holdout" in df.columns:
        holdout = whole("holdout")
        report(
            "bad holdout",
            ~np.isin(holdout, [0.0, 1.0]),
            lambda r: f"row {r[ROW_COLUMN]}, column 'holdout': {r['holdout']!r}; valid: 0, 1",
        )

    # -- structure ------------------------------------------------------------------------------
    # The structure checks need clean ids and types: respondents with a row that lacks them are
    # left out of those checks (their problems are already reported), everyone else is checked.
    bad_people = np.unique(rid.codes[untyped & live])
    ok = live & ~untyped & ~np.isin(rid.codes, bad_people)
    pos = np.flatnonzero(ok)
    st = _Structure(
        rep,
        study,
        rows=rows.to_numpy()[pos],
        rid=rid.codes[pos],
        rid_text=rid_text,
        task=task[pos].astype(np.int64),
        version=version[pos].astype(np.int64),
        alt=alt[pos],
        chosen=chosen[pos].astype(np.int64),
        holdout=None if holdout is None else holdout[pos],
    )
    keep = st.check()
    if design is not None:
        _check_design(df, pos[keep], study, design, level_idx, alt, task, version, rep)
    if st.holdout is not None:
        st.check_holdouts()

    # -- respondents ------------------------------------------------------------------------------
    people = _check_respondents(df, live, respondents, study, respondents_source, rep)
    rep.raise_if_any()

    # -- the clean table, in canonical order ------------------------------------------------------
    pos = pos[keep]
    order = np.lexsort((alt[pos], task[pos], st.appearance[keep]))
    pos = pos[order]
    out: dict[str, Any] = {
        "respondent_id": _string_array(rid_text[:-1], rid.codes[pos]),
        "version": version[pos].astype(np.int64),
        "task": task[pos].astype(np.int64),
        "alt": _string_array(np.array(alt_names, dtype=object), alt[pos]),
    }
    for a in study.attributes:
        idx = level_idx[a.name][pos]
        if a.numeric:
            values = np.append(np.asarray(a.levels, dtype=float), np.nan)
            out[a.name] = pd.array(values[np.where(idx >= 0, idx, -1)], dtype="Float64")
        else:
            out[a.name] = _string_array(np.array(a.levels, dtype=object), idx)
    out["chosen"] = chosen[pos].astype(np.int64)
    if holdout is not None:
        out["holdout"] = holdout[pos].astype(np.int64)
    for c in ("would_buy", "task_position", "alt_position", "seconds"):
        if c in out_optional:
            col = out_optional[c][pos]
            out[c] = col if c == "seconds" else col.astype("Int64")
    clean = pd.DataFrame(out)
    if holdout is None:
        clean.insert(
            len(names) + 5, "holdout", _infer_holdouts(clean, study, design, level_idx, pos)
        )
    return clean, people


class _Structure:
    """The checks on whole tasks and respondents, on integer arrays (rows in file order)."""

    def __init__(
        self,
        rep: ProblemReport,
        study: Study,
        *,
        rows: np.ndarray,
        rid: np.ndarray,
        rid_text: np.ndarray,
        task: np.ndarray,
        version: np.ndarray,
        alt: np.ndarray,
        chosen: np.ndarray,
        holdout: np.ndarray | None,
    ) -> None:
        self.rep, self.study = rep, study
        self.rows, self.task, self.version, self.alt, self.chosen = rows, task, version, alt, chosen
        self.holdout = holdout
        # respondents numbered in order of appearance
        codes, uniq = pd.factorize(rid)
        self.r = np.asarray(codes, dtype=np.int64)
        self.names = rid_text[np.asarray(uniq, dtype=np.int64)] if len(uniq) else rid_text[:0]
        self.appearance = self.r

    def _name(self, r: int) -> str:
        return repr(self.names[r])

    def check(self) -> np.ndarray:
        """Run the structure checks; the rows to keep (first copy of duplicated rows)."""
        rep, study = self.rep, self.study
        n_alts = study.design.alternatives
        r, task, alt = self.r, self.task, self.alt
        keep = np.ones(len(r), dtype=bool)
        self._keep = keep
        if not len(r):
            self.holdout = None
            return keep
        n_r = int(r.max()) + 1
        t_code, t_uniq = pd.factorize(task)
        n_t = len(t_uniq)
        key = (r * n_t + t_code) * (n_alts + 2) + alt
        dup = pd.Series(key).duplicated(keep=False).to_numpy()
        if dup.any():
            per_resp = np.bincount(r[dup], minlength=n_r)
            full = np.bincount(r, minlength=n_r)
            whole = np.flatnonzero((per_resp == full) & (per_resp > 0))
            rep.add_many(
                "duplicated respondent",
                len(whole),
                [
                    f"respondent {self._name(w)} appears twice (every task repeated)"
                    for w in whole[:SHOWN]
                ],
                self.names[whole],
            )
            rest = dup & ~np.isin(r, whole)
            rp = np.flatnonzero(rest)
            first_per = pd.unique(r[rp])[:SHOWN]
            msgs = []
            for w in first_per:
                mine = rp[r[rp] == w]
                i, k = mine[0], len(mine) - 1
                msgs.append(
                    f"row {self.rows[i]}: respondent {self._name(w)} task {task[i]} alt "
                    f"{_alt_name(alt[i], n_alts)} appears more than once"
                    + (
                        f" (+{k} more row{'s' if k > 1 else ''} of respondent {self._name(w)})"
                        if k
                        else ""
                    )
                )
            rep.add_many("duplicated row", len(rp), msgs, self.names[np.unique(r[rp])])
            keep = ~pd.Series(key).duplicated(keep="first").to_numpy()
        r, task, alt, chosen = r[keep], task[keep], alt[keep], self.chosen[keep]
        version, rows = self.version[keep], self.rows[keep]
        t_code = np.asarray(t_code)[keep]

        # tasks: (respondent, task) groups in order of first appearance
        g, g_first = pd.factorize(r * n_t + t_code)
        g = np.asarray(g, dtype=np.int64)
        n_g = len(g_first)
        first_pos = np.full(n_g, len(g), dtype=np.int64)
        np.minimum.at(first_pos, g, np.arange(len(g)))
        g_r, g_t = r[first_pos], task[first_pos]
        g_row = np.full(n_g, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(g_row, g, rows.astype(np.int64))

        def task_problem(kind: str, bad: np.ndarray, what: Callable[..., str]) -> None:
            where = np.flatnonzero(bad)
            rep.add_many(
                kind,
                len(where),
                [
                    f"respondent {self._name(g_r[k])} task {g_t[k]} (from row {g_row[k]}): {what(k)}"
                    for k in where[:SHOWN]
                ],
                self.names[np.unique(g_r[where])],
            )

        n_chosen = np.bincount(g, weights=chosen, minlength=n_g).astype(np.int64)
        task_problem("no alternative chosen", n_chosen == 0, lambda k: "0 rows with chosen = 1")
        task_problem(
            "several alternatives chosen",
            n_chosen > 1,
            lambda k: f"{n_chosen[k]} rows with chosen = 1",
        )
        designed = alt < n_alts
        n_designed = np.bincount(g[designed], minlength=n_g)
        task_problem(
            "wrong number of alternatives",
            (n_designed != n_alts) & (n_designed > 0),
            lambda k: f"{n_designed[k]} alternatives; the study shows {n_alts}",
        )
        for special_alt, code, needed in (
            ("none", n_alts + 1, study.none_option),
            ("status_quo", n_alts, study.status_quo is not None),
        ):
            if needed:
                has = np.bincount(g[alt == code], minlength=n_g)
                task_problem(
                    f"missing {special_alt} row", has == 0, lambda k, s=special_alt: f"no '{s}' row"
                )

        # respondents: one version, tasks 1..T without gaps, as many tasks as the others
        n_r = int(r.max()) + 1
        n_versions = _distinct_per(r, version, n_r)
        mixed = np.flatnonzero(n_versions > 1)
        rep.add_many(
            "mixed versions",
            len(mixed),
            [f"respondent {self._name(w)} has rows of several versions" for w in mixed[:SHOWN]],
            self.names[mixed],
        )
        n_tasks = np.bincount(g_r, minlength=n_r)
        t_max = np.zeros(n_r, dtype=np.int64)
        np.maximum.at(t_max, g_r, g_t)
        t_min = np.full(n_r, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(t_min, g_r, g_t)
        present = n_tasks > 0
        gaps = present & ((t_min != 1) | (t_max != n_tasks))
        where = np.flatnonzero(gaps)
        msgs = []
        for w in where[:SHOWN]:
            ts = sorted(set(g_t[g_r == w].tolist()))
            skipped = sorted(set(range(1, max(ts) + 1)) - set(ts))
            msgs.append(f"respondent {self._name(w)}: tasks {ts} skip {skipped}")
        rep.add_many("task gaps", len(where), msgs, self.names[where])
        expected_t = int(n_tasks.max()) if n_r else 0
        short = np.flatnonzero(present & ~gaps & (n_tasks != expected_t))
        rep.add_many(
            "incomplete respondent",
            len(short),
            [
                f"respondent {self._name(w)} has {n_tasks[w]} tasks, others {expected_t}; remove "
                "or complete partial interviews before import"
                for w in short[:SHOWN]
            ],
            self.names[short],
        )
        self.appearance = self.r
        self._g, self._keep = g, keep
        self._g_r, self._g_t, self._n_g = g_r, g_t, n_g
        return keep

    def check_holdouts(self) -> None:
        assert self.holdout is not None
        h = self.holdout[self._keep]
        valid = np.isin(h, [0.0, 1.0])
        g = self._g[valid]
        n_values = _distinct_per(g, h[valid].astype(np.int64), self._n_g)
        where = np.flatnonzero(n_values > 1)
        self.rep.add_many(
            "bad holdout",
            len(where),
            [
                f"respondent {self._name(self._g_r[k])} task {self._g_t[k]}: holdout differs "
                "between rows"
                for k in where[:SHOWN]
            ],
            self.names[np.unique(self._g_r[where])],
        )


def _distinct_per(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``value`` in each group (hashing, no sort)."""
    if not len(group):
        return np.zeros(n_groups, dtype=np.int64)
    v_code, v_uniq = pd.factorize(value)
    pairs = pd.unique(group.astype(np.int64) * len(v_uniq) + v_code)
    return np.bincount(pairs // len(v_uniq), minlength=n_groups)


def _string_array(texts: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``texts[codes]`` as a pandas string array (negative codes: missing), built by Arrow."""
    try:
        import pyarrow as pa
    except ImportError:  # pandas without pyarrow: its own string arrays
        table = np.array([*texts.tolist(), None], dtype=object)
        return pd.array(table[np.where(codes >= 0, codes, -1)], dtype="string")
    codes = np.asarray(codes)
    mask = codes < 0
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask),
        pa.array(list(texts), type=pa.large_string()),
    )
    return pd.array(dictionary.cast(pa.large_string()), dtype="string")


def _alt_name(code: int, n_alts: int) -> str:
    if code < n_alts:
        return str(code + 1)
    return "status_quo" if code == n_alts else "none"


def _check_design(
    df: pd.DataFrame,
    pos: np.ndarray,
    study: Study,
    design: ChoiceDesign,
    level_idx: dict[str, np.ndarray],
    alt: np.ndarray,
    task: np.ndarray,
    version: np.ndarray,
    rep: ProblemReport,
) -> None:
    """Rows ``pos`` (typed, structure checked) against what the design shows."""
    n_alts = study.design.alternatives
    if not len(pos):
        return
    rid_codes, uniq = pd.factorize(df["respondent_id"].to_numpy()[pos])
    tasks_of = pd.Series(task[pos]).groupby(rid_codes, sort=False).nunique()
    short = tasks_of[tasks_of < design.n_tasks]
    rep.add_many(
        "incomplete respondent",
        len(short),
        [
            f"respondent {uniq[r]!r} answered {k} tasks; the design has {design.n_tasks} per "
            "version (remove or complete partial interviews before import)"
            for r, k in list(short.items())[:SHOWN]
        ],
        uniq[short.index.to_numpy()],
    )
    d = pos[alt[pos] < n_alts]
    v = version[d].astype(np.int64) - 1
    t = task[d].astype(np.int64) - 1
    j = alt[d]
    out_v = v >= design.n_versions
    out_t = t >= design.n_tasks
    out_j = j >= design.n_alternatives
    for mask, what, n, col in (
        (out_v, "version", design.n_versions, "version"),
        (out_t, "task", design.n_tasks, "task"),
        (out_j, "alt", design.n_alternatives, "alt"),
    ):
        rep.add_rows(
            "not in the design",
            df.iloc[d[mask]],
            lambda r, what=what, n=n, col=col: (
                f"row {r[ROW_COLUMN]}: {what} {r[col]} is not in the design (it has {n})"
            ),
            id_column="respondent_id",
        )
    ok = ~(out_v | out_t | out_j)
    if not ok.any():
        return
    expected = design.levels[v[ok], t[ok], j[ok]]  # (n, A)
    d_ok = d[ok]
    for a, attr in enumerate(study.attributes):
        if attr.name not in level_idx:
            continue
        shown = level_idx[attr.name][d_ok]
        diff = (shown != expected[:, a]) & (shown >= 0)  # unknown levels are reported already
        if not diff.any():
            continue
        labels = np.array([format_level(x) for x in attr.levels], dtype=object)
        rows = df.iloc[d_ok[diff]].assign(
            _exp=labels[expected[diff, a]], _shown=labels[shown[diff]]
        )
        rep.add_rows(
            "disagrees with the design",
            rows,
            lambda r, attr=attr: (
                f"row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} version "
                f"{r['version']} task {r['task']} alt {r['alt']} shows {attr.name} = "
                f"{r['_shown']}, the design has {r['_exp']}"
            ),
            id_column="respondent_id",
        )


def _infer_holdouts(
    clean: pd.DataFrame,
    study: Study,
    design: ChoiceDesign | None,
    level_idx: dict[str, np.ndarray],
    pos: np.ndarray,
) -> np.ndarray:
    t = clean["task"].to_numpy() - 1
    if design is not None:
        marks = design.holdout.astype(np.int64)
        return np.where(t < len(marks), marks[np.minimum(t, len(marks) - 1)], 0)
    if not study.holdouts:
        return np.zeros(len(clean), dtype=np.int64)
    # a task is a holdout when its designed profiles are exactly one holdout's set
    sizes = [a.n_levels for a in study.attributes]
    profile = np.zeros(len(clean), dtype=np.int64)
    for a in study.attributes:
        profile = profile * a.n_levels + np.maximum(level_idx[a.name][pos], 0)
    designed = ~clean["alt"].isin(SPECIAL_ALTS).to_numpy()
    g, _ = pd.factorize(pd.MultiIndex.from_frame(clean[["respondent_id", "task"]]))
    g = np.asarray(g, dtype=np.int64)
    n_g = int(g.max()) + 1 if len(g) else 0
    is_h = np.zeros(n_g, dtype=bool)
    for h in study.holdouts:
        codes = set()
        for levels in h.alternatives:  # level indices, one per attribute
            code = 0
            for i, size in zip(levels, sizes, strict=True):
                code = code * size + int(i)
            codes.add(code)
        inside = designed & np.isin(profile, list(codes))
        n_in = np.bincount(g[inside], minlength=n_g)
        n_designed = np.bincount(g[designed], minlength=n_g)
        distinct = _distinct_per(g[inside], profile[inside], n_g)
        is_h |= (n_in == n_designed) & (distinct == len(codes)) & (n_designed > 0)
    return is_h[g].astype(np.int64)


def _text_questions(study: Study) -> set[str]:
    """The respondents-file columns of the study's open (text) questions."""
    questionnaire = getattr(study, "questionnaire", None)
    if questionnaire is None:
        return set()
    return {q.id for q in questionnaire if q.type == "text"}


def _check_respondents(
    df: pd.DataFrame,
    live: np.ndarray,
    respondents: pd.DataFrame | None,
    study: Study,
    source: str,
    rep: ProblemReport,
) -> pd.DataFrame:
    ids = pd.unique(df.loc[live, "respondent_id"].dropna())
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
    people = people.reset_index(drop=True)
    # ids kept exactly as written: ' 17' and '17' are two respondents
    pid = people["respondent_id"]
    people["respondent_id"] = pd.array(
        [None if _missing(v) else str(v) for v in pid], dtype="string"
    )
    blank_pid = people["respondent_id"].isna() | (people["respondent_id"] == "")
    rep.add_rows(
        "missing respondent_id",
        people[blank_pid],
        lambda r: f"{source} row {r[ROW_COLUMN]}: empty respondent_id",
    )
    # an empty cell is an unanswered question: missing, not the empty text (other text, white
    # space included, is kept exactly as typed)
    for c in people.columns:
        if c in (ROW_COLUMN, "respondent_id"):
            continue
        if people[c].dtype == object or pd.api.types.is_string_dtype(people[c]):
            blank = people[c].isna() | (people[c].astype("string") == "")
            if blank.any():
                people[c] = people[c].astype(object).where(~blank, None)
    # answers that are all plain numbers become numbers (whatever the source: CSV text or a
    # frame); a column with any other text stays text, exactly as typed, and so does every
    # open (text) question: an answer "0" typed into a text box is the text "0"
    text = _text_questions(study)
    for c in people.columns:
        if (
            c in (ROW_COLUMN, "respondent_id")
            or c in text
            or str(c).endswith("_text")
            or pd.api.types.is_numeric_dtype(people[c])
        ):
            continue
        vals = people[c].dropna()
        if len(vals) == 0:
            continue
        codes = _Codes(vals)
        if not codes.map(_plain_number, bool).all():
            continue
        num = pd.Series(codes.map(_number, float), index=vals.index)
        if num.isna().any():  # inf, nan written as numbers: kept as text
            continue
        full = pd.Series(np.nan, index=people.index)
        full[vals.index] = num
        whole = bool((num == num.round()).all())
        people[c] = full.astype("Int64") if whole else full.astype("Float64")
    dup = people.duplicated("respondent_id", keep=False) & ~blank_pid
    rep.add_rows(
        "duplicated respondent",
        people[dup],
        lambda r: (
            f"{source} row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} is listed more than once"
        ),
    )
    known = pd.Index(people["respondent_id"].dropna().astype(object))
    unknown = pd.Index(ids).difference(known, sort=False)
    if len(unknown):
        by_stripped: dict[str, list[str]] = {}
        for k in known:
            by_stripped.setdefault(_loose(k), []).append(k)
        first_rows = (
            df.loc[live & df["respondent_id"].isin(unknown[:SHOWN]).to_numpy()]
            .groupby("respondent_id", sort=False)[ROW_COLUMN]
            .min()
        )
        msgs = []
        for r in unknown[:SHOWN]:
            near = [k for k in by_stripped.get(_loose(r), []) if k != r]
            why = ""
            if near:
                why = (
                    f"; {source} has {near[0]!r}, which differs only in white space or "
                    "apostrophes (ids are compared exactly: fix one of the files)"
                )
            msgs.append(f"row {int(first_rows[r])}: respondent {r!r} is not in {source}{why}")
        rep.add_many("unknown respondent", len(unknown), msgs, list(unknown))
    return people.drop(columns=[ROW_COLUMN]).reset_index(drop=True)


def _plain_number(u: Any) -> bool:
    """A number, or text that is exactly a number (no white space around it)."""
    if isinstance(u, str):
        return u == u.strip() and _NUMBER.fullmatch(u) is not None
    return isinstance(u, int | float | np.integer | np.floating) and not isinstance(u, bool)


def _loose(text: str) -> str:
    return str(text).strip().lstrip("'").strip()
