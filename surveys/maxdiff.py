"""MaxDiff answers: winback's table of best-worst answers, read and validated into a
:class:`MaxDiffAnswers`, the hand-off to :mod:`analysis.maxdiff`.

Two layouts are read (docs/maxdiff.md):

- **long** (canonical, what winback writes): one row per item shown, ``respondent_id,
  version, set, position, item, best, worst`` with ``best`` and ``worst`` 1 on one row of each
  set and 0 elsewhere;
- **sets** (compact, one row per set answered): ``respondent_id, version, set, best, worst``
  with the labels of the items chosen; the items shown come from the design.

Every problem is reported at once (a :class:`~winback.errors.ResponseError` grouped by kind,
each naming the line or row, the respondent, the set and the value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from conjoint.maxdiff import MaxDiffDesign
from conjoint.maxdiff_simulate import ANSWER_COLUMNS
from surveys._csv import read_csv_text
from surveys.validation import ROW_COLUMN
from winback.errors import ResponseError, WinbackError, did_you_mean, list_valid

SET_COLUMNS = ("respondent_id", "version", "set", "best", "worst")


@dataclass(frozen=True)
class MaxDiffAnswers:
    """Validated MaxDiff answers.

    Attributes
    ----------
    items : tuple of str
        The items, in order; the first is the reference of the estimation.
    answers : DataFrame
        ``respondent_id, version, set, position, item, best, worst``: one row per item shown,
        sorted by respondent (in order of first appearance), set and position; ``best`` and
        ``worst`` 0/1 with exactly one of each per set, on different rows.
    source : str or None
        The file read, when read from one.
    """

    items: tuple[str, ...]
    answers: pd.DataFrame = field(repr=False)
    source: str | None = None

    @property
    def respondent_ids(self) -> tuple[str, ...]:
        return tuple(pd.unique(self.answers["respondent_id"]))

    @property
    def n_respondents(self) -> int:
        return len(self.respondent_ids)

    @property
    def per_set(self) -> int:
        return int(self.answers.groupby(["respondent_id", "set"], sort=False).size().iloc[0])

    @property
    def n_answers(self) -> int:
        """Sets answered, over all respondents."""
        return int(self.answers["best"].sum())

    def __repr__(self) -> str:
        return (
            f"MaxDiffAnswers: {self.n_respondents} respondents, {self.n_answers} sets answered, "
            f"{len(self.items)} items, {self.per_set} per set\n"
            f"  reference item (utility 0): {self.items[0]!r}\n"
            "  next: analysis.maxdiff_counts(answers), analysis.fit_maxdiff(answers)"
        )


def read_maxdiff_answers(
    source: str | Path | pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    design: MaxDiffDesign | None = None,
) -> MaxDiffAnswers:
    """Read and validate MaxDiff answers, long or per-set layout (told apart by the columns).

    Parameters
    ----------
    source : path or DataFrame
        A CSV file (UTF-8; read exactly, as responses are) or a frame.
    items : sequence of str, optional
        The items in order (the first is the reference). Default: the design's, else the items
        of the answers in order of first appearance.
    design : MaxDiffDesign, optional
        When given, every set must show the items the design puts in it (same version, set and
        position) and every respondent must answer every set of their version. Needed for the
        per-set layout.

    Returns
    -------
    MaxDiffAnswers

    Raises
    ------
    ResponseError
        Every problem at once: missing columns, flags other than 0/1, unknown items (with a
        "did you mean"), sets without a best or worst answer or with two, best and worst the
        same item, a best or worst not among the items shown, an item twice in a set, sets of
        different sizes, a respondent in two versions, sets that differ from the design,
        missing sets.

    Examples
    --------
    >>> from conjoint.maxdiff import make_maxdiff_design
    >>> from conjoint.maxdiff_simulate import maxdiff_utilities, simulate_maxdiff
    >>> d = make_maxdiff_design(6, per_set=3, n_sets=4, versions=2)
    >>> frame = simulate_maxdiff(d, maxdiff_utilities(d.items, [0] * 6, n_respondents=5))
    >>> read_maxdiff_answers(frame, design=d).n_answers
    20
    """
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), None
        frame[ROW_COLUMN] = np.arange(1, len(frame) + 1)
        unit = "row"
    else:
        name = str(source)
        frame = read_csv_text(source)
        unit = "line"
    frame.columns = [str(c) for c in frame.columns]
    if items is None and design is not None:
        items = design.items
    labels = tuple(str(i) for i in items) if items is not None else None
    if design is not None and labels is not None and labels != design.items:
        raise WinbackError(
            f"items {list_valid(labels)} differ from the design's {list_valid(design.items)}."
        )
    cols = set(frame.columns)
    if {"position", "item"} <= cols or not ({"best", "worst"} <= cols and "item" not in cols):
        layout = "long"
        need: tuple[str, ...] = ANSWER_COLUMNS
    else:
        layout = "sets"
        need = SET_COLUMNS
    missing = [c for c in need if c not in cols and not (c == "version" and _one_version(design))]
    if missing:
        raise ResponseError(
            [
                (
                    "missing columns",
                    f"no column(s) {list_valid(missing)}; the {layout} layout needs "
                    f"{list_valid(need)} (docs/maxdiff.md)",
                )
            ],
            source=name,
        )
    if "version" not in cols:
        frame["version"] = 1
    problems: list[tuple[str, str]] = []
    where = frame[ROW_COLUMN].to_numpy()
    for c in ("version", "set") + (("position", "best", "worst") if layout == "long" else ()):
        frame[c] = _whole_numbers(frame[c], c, where, unit, problems, flag=c in ("best", "worst"))
    ids = frame["respondent_id"]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    for i in np.flatnonzero(empty.to_numpy()):
        problems.append(("missing respondent_id", f"{unit} {where[i]}: no respondent_id"))
    frame["respondent_id"] = ids.astype(str)
    if problems:
        raise ResponseError(problems, source=name)
    if layout == "sets":
        if design is None:
            raise WinbackError(
                "the per-set layout (best and worst as item labels) needs the design, which "
                "says what each set showed: read_maxdiff_answers(source, design=design)."
            )
        frame = _expand_sets(frame, design, where, unit, problems)
        if problems:
            raise ResponseError(problems, source=name)
    frame["item"] = frame["item"].astype(str)
    if labels is None:
        labels = tuple(pd.unique(frame["item"]))
    _check_long(frame, labels, design, unit, problems)
    if problems:
        raise ResponseError(problems, source=name)
    order = {r: i for i, r in enumerate(pd.unique(frame["respondent_id"]))}
    frame["_order"] = frame["respondent_id"].map(order)
    frame = frame.sort_values(["_order", "set", "position"], kind="stable")
    out = frame[list(ANSWER_COLUMNS)].reset_index(drop=True)
    for c in ("version", "set", "position", "best", "worst"):
        out[c] = out[c].astype(int)
    return MaxDiffAnswers(labels, out, name)


def _one_version(design: MaxDiffDesign | None) -> bool:
    return design is not None and design.versions == 1


def _whole_numbers(
    col: pd.Series,
    name: str,
    where: np.ndarray,
    unit: str,
    problems: list[tuple[str, str]],
    *,
    flag: bool,
) -> pd.Series:
    text = col.astype(str).str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() | ~np.isfinite(num) | (num % 1 != 0)
    bad |= (~num.isin([0, 1])) if flag else (num < 1)
    for i in np.flatnonzero(bad.to_numpy()):
        valid = "0 or 1" if flag else "a whole number from 1"
        problems.append(
            (f"bad '{name}'", f"{unit} {where[i]}: {name} {col.iloc[i]!r}; valid: {valid}")
        )
    return num.where(~bad, 0).astype(int)


def _expand_sets(
    frame: pd.DataFrame,
    design: MaxDiffDesign,
    where: np.ndarray,
    unit: str,
    problems: list[tuple[str, str]],
) -> pd.DataFrame:
    """The per-set layout as the long one, through the design."""
    items = design.items
    rows = []
    for i, rec in enumerate(frame.itertuples(index=False)):
        ver, st = int(rec.version), int(rec.set)
        at = f"{unit} {where[i]} (respondent {rec.respondent_id!r}, set {st})"
        if not (1 <= ver <= design.versions and 1 <= st <= design.n_sets):
            problems.append(
                (
                    "set not in the design",
                    f"{at}: version {ver} set {st}; the design has versions 1..{design.versions}"
                    f", sets 1..{design.n_sets}",
                )
            )
            continue
        shown = [items[j] for j in design.sets[ver - 1, st - 1]]
        picks = {}
        for what in ("best", "worst"):
            value = getattr(rec, what)
            text = "" if pd.isna(value) else str(value)
            if not text.strip():
                problems.append((f"missing {what}", f"{at}: no {what} answer"))
            elif text not in shown:
                hint = did_you_mean(text, shown) if text not in items else ""
                problems.append(
                    (
                        f"{what} not shown",
                        f"{at}: {what} {text!r} was not shown in version {ver} set {st}"
                        f".{hint} Shown: {list_valid(shown)}",
                    )
                )
            else:
                picks[what] = text
        if len(picks) == 2 and picks["best"] == picks["worst"]:
            problems.append(
                ("best is worst", f"{at}: best and worst are the same item {picks['best']!r}")
            )
        for p, label in enumerate(shown):
            rows.append(
                {
                    "respondent_id": rec.respondent_id,
                    "version": ver,
                    "set": st,
                    "position": p + 1,
                    "item": label,
                    "best": int(picks.get("best") == label),
                    "worst": int(picks.get("worst") == label),
                    ROW_COLUMN: where[i],
                }
            )
    return pd.DataFrame(rows, columns=[*ANSWER_COLUMNS, ROW_COLUMN])


def _check_long(
    frame: pd.DataFrame,
    labels: tuple[str, ...],
    design: MaxDiffDesign | None,
    unit: str,
    problems: list[tuple[str, str]],
) -> None:
    """Every check of the long layout, appending (kind, message) to ``problems``."""
    where = frame[ROW_COLUMN].to_numpy()
    unknown = ~frame["item"].isin(labels)
    for i in np.flatnonzero(unknown.to_numpy()):
        value = frame["item"].iloc[i]
        problems.append(
            (
                "unknown item",
                f"{unit} {where[i]}: item {value!r}.{did_you_mean(value, labels)} "
                f"Items: {list_valid(labels)}",
            )
        )
    versions = frame.groupby("respondent_id", sort=False)["version"].nunique()
    for rid in versions.index[versions > 1]:
        vs = sorted(frame.loc[frame["respondent_id"] == rid, "version"].unique())
        problems.append(
            ("two versions", f"respondent {rid!r} has rows of versions {list_valid(vs)}")
        )
    g = frame.groupby(["respondent_id", "set"], sort=False)
    first = g[ROW_COLUMN].transform("min")
    sizes = g.size()
    n_best, n_worst = g["best"].sum(), g["worst"].sum()
    both = frame["best"].eq(1) & frame["worst"].eq(1)
    per_set = int(sizes.mode().iloc[0]) if design is None else design.per_set
    line = first.groupby([frame["respondent_id"], frame["set"]], sort=False).first()
    odd = (sizes != per_set) | (n_best != 1) | (n_worst != 1)
    for key in sizes.index[odd.to_numpy()]:
        rid, st = key
        at = f"{unit} {line[key]} (respondent {rid!r}, set {st})"
        if sizes[key] != per_set:
            problems.append(
                ("set size", f"{at}: {sizes[key]} items shown; the sets show {per_set}")
            )
        for what, n in (("best", n_best[key]), ("worst", n_worst[key])):
            if n == 0:
                problems.append((f"missing {what}", f"{at}: no {what} answer (no row with 1)"))
            elif n > 1:
                problems.append((f"two {what}", f"{at}: {n} rows marked {what}; one is valid"))
    for i in np.flatnonzero(both.to_numpy()):
        problems.append(
            (
                "best is worst",
                f"{unit} {where[i]} (respondent {frame['respondent_id'].iloc[i]!r}, set "
                f"{frame['set'].iloc[i]}): item {frame['item'].iloc[i]!r} is both best and worst",
            )
        )
    dup = frame.duplicated(["respondent_id", "set", "item"])
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(
            (
                "item twice in a set",
                f"{unit} {where[i]} (respondent {frame['respondent_id'].iloc[i]!r}, set "
                f"{frame['set'].iloc[i]}): item {frame['item'].iloc[i]!r} shown twice",
            )
        )
    if design is not None and not problems:
        _check_design(frame, design, unit, problems)


def _check_design(
    frame: pd.DataFrame, design: MaxDiffDesign, unit: str, problems: list[tuple[str, str]]
) -> None:
    """The answers show what the design shows, and every respondent answered every set."""
    where = frame[ROW_COLUMN].to_numpy()
    ver, st, pos = (frame[c].to_numpy() for c in ("version", "set", "position"))
    inside = (ver <= design.versions) & (st <= design.n_sets) & (pos <= design.per_set)
    for i in np.flatnonzero(~inside):
        problems.append(
            (
                "not in the design",
                f"{unit} {where[i]}: version {ver[i]} set {st[i]} position {pos[i]}; the design "
                f"has {design.versions} version(s) of {design.n_sets} sets of {design.per_set}",
            )
        )
    if problems:
        return
    expected = np.asarray(design.items, dtype=object)[design.sets[ver - 1, st - 1, pos - 1]]
    differ = frame["item"].to_numpy() != expected
    for i in np.flatnonzero(differ):
        problems.append(
            (
                "differs from the design",
                f"{unit} {where[i]} (respondent {frame['respondent_id'].iloc[i]!r}): version "
                f"{ver[i]} set {st[i]} position {pos[i]} shows {frame['item'].iloc[i]!r}; the "
                f"design shows {expected[i]!r}",
            )
        )
    counts = frame.groupby("respondent_id", sort=False)["set"].nunique()
    short = set(counts.index[(counts < design.n_sets).to_numpy()])
    answered = frame[frame["respondent_id"].isin(short)].groupby("respondent_id", sort=False)
    for rid, sets in answered["set"].unique().items():
        lacking = sorted(set(range(1, design.n_sets + 1)) - {int(s) for s in sets})
        if lacking:
            problems.append(
                (
                    "missing sets",
                    f"respondent {rid!r}: no answers to set(s) {list_valid(lacking)} of "
                    f"{design.n_sets}",
                )
            )
