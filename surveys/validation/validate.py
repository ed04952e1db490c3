"""``validate_responses``: the header, ids, numbers, alternatives, levels and optional columns
of a canonical long table checked column by column, then the structure, the design and the
respondents (:mod:`~surveys.validation.structure`, :mod:`~surveys.validation.respondents`),
every problem reported at once; the clean table is built in canonical order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from surveys.dataset import ChoiceCodes, text_table
from surveys.validation.cells import (
    _BLANK,
    _PADDED,
    _UNKNOWN,
    ROW_COLUMN,
    _blank_value,
    _Codes,
    _level_code,
    _missing,
    _norm,
    _number,
    _padded_note,
    _whole,
)
from surveys.validation.report import ProblemReport
from surveys.validation.respondents import _check_respondents
from surveys.validation.structure import (
    _appearance_codes,
    _check_design,
    _first_positions,
    _infer_holdouts,
    _Structure,
)
from winback.errors import did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign


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
    clean, people, codes = validate_coded(
        choices,
        study,
        design=design,
        respondents=respondents,
        source=source,
        respondents_source=respondents_source,
    )
    return text_table(clean, codes.text_columns), people


def validate_coded(
    choices: pd.DataFrame,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: pd.DataFrame | None = None,
    source: str = "responses",
    respondents_source: str = "respondents",
) -> tuple[pd.DataFrame, pd.DataFrame, ChoiceCodes]:
    """:func:`validate_responses`, and the clean table's text columns as codes; the clean
    table's text columns are categories of those codes (:func:`surveys.dataset.text_table`
    makes them text, as :func:`validate_responses` returns them)."""
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
    text_ids = all(type(u) is str for u in rid.uniques)
    if text_ids:  # as read from a file: text, each id once
        rid_text = np.array([*rid.uniques, None], dtype=object)
        stripped = [u.strip() for u in rid.uniques]
        hdr = np.array([t == "respondent_id" for t in stripped] + [False])[rid.codes]
        blank_id = np.array([not t for t in stripped] + [True])[rid.codes]
    else:
        rid_text = np.array(
            [None if _missing(u) else str(u) for u in rid.uniques] + [None], dtype=object
        )
        hdr = rid.map(lambda u: not _missing(u) and str(u).strip() == "respondent_id", bool)
        blank_id = rid.map(_blank_value, bool)
    if hdr.any():
        rep.add_rows(
            "repeated header", df[hdr], lambda r: f"row {r[ROW_COLUMN]} repeats the header"
        )
    live = ~hdr  # rows that are data
    blank_id &= live
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
    if not (text_ids and isinstance(df["respondent_id"].dtype, pd.CategoricalDtype)):
        # as text (a categorical of text, as read from a file, shows its text as it is)
        df["respondent_id"] = pd.Series(rid_text[rid.codes], index=df.index, dtype=object)

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
        alt = _Codes(df["alt"]).map_small(alt_code)
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
        alt = np.full(n, -1, dtype=np.int8)
        untyped[:] = True
    special = alt >= n_alts
    is_none = alt == none_code
    is_sq = alt == sq_code

    # -- levels ---------------------------------------------------------------------------------
    level_idx: dict[str, np.ndarray] = {}
    semicolon = "decimal comma" if df.attrs.get("separator") == ";" else ""
    # a labelled design's alternative j shows only the attributes that apply to its label
    applies = np.asarray(study.applies(), dtype=bool)
    designed = (alt >= 0) & ~special
    for ai, a in enumerate(study.attributes):
        if a.name not in df.columns:
            continue
        absent = np.zeros(n, dtype=bool)
        if a.applies_to:
            absent[designed] = ~applies[alt[designed], ai]
        idx = _Codes(df[a.name]).map_small(_level_code(a))
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
        report(
            "level of an absent attribute",
            absent & (idx != _BLANK),
            lambda r, a=a: (
                f"row {r[ROW_COLUMN]}, column '{a.name}': {r[a.name]!r} on alternative "
                f"{r['alt']} (label {study.label_of(int(r['alt']))!r}); '{a.name}' exists only "
                f"on {list_valid(a.applies_to)}: leave the cell empty"
            ),
        )
        unknown = ~special & ~absent & (idx < 0) & ~padded
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
    ok = live & ~untyped
    if len(bad_people):
        ok &= ~np.isin(rid.codes, bad_people)
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
        _check_design(
            df,
            pos[keep],
            study,
            design,
            level_idx,
            alt,
            task,
            version,
            rep,
            rid.codes,
            rid_text,
            tasks_each=st.tasks_each,
        )
    if st.holdout is not None and not st.sound:  # (the compiled pass checked them)
        st.check_holdouts()

    # -- respondents ------------------------------------------------------------------------------
    codes = rid.codes[live]
    codes = codes[codes >= 0]
    live_ids = rid_text[codes[_first_positions(_appearance_codes(codes)[0])]]
    people = _check_respondents(df, live, respondents, study, respondents_source, rep, ids=live_ids)
    rep.raise_if_any()

    # -- the clean table, in canonical order ------------------------------------------------------
    # (the structure's arrays of every row are let go first: a 200 MB export's are ~200 MB)
    appearance, sound, id_names = st.appearance, st.sound, st.names
    del st
    pos = pos[keep]
    appearance = appearance[keep]
    if not sound and not _in_order(appearance, task[pos], alt[pos]):  # as a file usually is
        order = np.lexsort((alt[pos], task[pos], appearance))
        pos, appearance = pos[order], appearance[order]
    every_row = len(pos) == n and _is_identity(pos)

    def kept(values: Any) -> Any:
        """``values[pos]``; the values themselves when ``pos`` is every row in order (a clean
        file)."""
        return values if every_row else values[pos]

    text_columns = ("respondent_id", "alt", *(a.name for a in study.attributes if not a.numeric))
    codes = ChoiceCodes(
        respondent=_small(appearance),  # respondents numbered as they appear, in that order
        respondent_ids=tuple(str(t) for t in id_names),
        alt=_small(kept(alt)),
        alt_labels=tuple(alt_names),
        levels={a: _small(np.maximum(kept(idx), -1)) for a, idx in level_idx.items()},
        text_columns=text_columns,
    )
    del appearance

    def categorical(values: np.ndarray, texts: Any) -> pd.Categorical:
        cats = pd.Index(np.asarray(list(texts), dtype=object), dtype=object)
        return pd.Categorical.from_codes(values, categories=cats)

    # the whole numbers: one block of int64 columns, filled in place (a frame made from
    # separate columns would copy them into one); the other columns join it without a copy
    ints = {"version": version, "task": task, "chosen": chosen}
    if holdout is not None:
        ints["holdout"] = holdout
    block = np.empty((len(ints), len(pos)), dtype=np.int64)
    for row, values in zip(block, ints.values(), strict=True):
        row[:] = kept(values)
    clean = pd.DataFrame(block.T, columns=list(ints), copy=False)

    def add(at: int, name: str, values: Any) -> None:
        clean.insert(at, name, pd.Series(values, index=clean.index, copy=False))

    # text columns as categories of the codes: made text by text_table when someone reads them
    add(0, "respondent_id", categorical(codes.respondent, id_names))
    add(3, "alt", categorical(codes.alt, alt_names))
    for i, a in enumerate(study.attributes):
        if a.numeric:
            idx = kept(level_idx[a.name])
            values = np.append(np.asarray(a.levels, dtype=float), np.nan)
            column = pd.array(values[np.where(idx >= 0, idx, -1)], dtype="Float64")
        else:
            column = categorical(codes.levels[a.name], a.levels)
        add(4 + i, a.name, column)
    for c in ("would_buy", "task_position", "alt_position", "seconds"):
        if c in out_optional:
            col = kept(out_optional[c])
            add(len(clean.columns), c, col if c == "seconds" else col.astype("Int64"))
    codes = dataclasses.replace(codes, table=clean)
    if holdout is None:
        clean.insert(
            len(names) + 5, "holdout", _infer_holdouts(clean, study, design, level_idx, pos)
        )
    return clean, people, codes


def _is_identity(pos: np.ndarray) -> bool:
    """Whether ``pos`` is 0, 1, 2, ..."""
    return bool(len(pos) == 0 or (np.diff(pos) == 1).all())


def _small(codes: np.ndarray) -> np.ndarray:
    """Codes in the smallest integer type that holds them (a 200 MB export's codes stay
    small)."""
    top = int(codes.max()) if len(codes) else 0
    for dtype in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(dtype).max:
            return codes.astype(dtype)
    return codes


def _in_order(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """Whether the rows are sorted by ``a``, then ``b``, then ``c`` already."""
    if len(a) < 2:
        return True
    da, db, dc = np.diff(a), np.diff(b), np.diff(c)
    return bool(((da > 0) | ((da == 0) & ((db > 0) | ((db == 0) & (dc >= 0))))).all())
