"""Diagnostics of a MaxDiff design, as Sawtooth's MaxDiff designer reports them: one-way
(item) frequencies, two-way (pair) frequencies, positional frequencies, and how often an item
appears in two consecutive sets; whether the design is a balanced incomplete block design."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from conjoint.maxdiff import MaxDiffDesign


@dataclass(frozen=True)
class MaxDiffDiagnostics:
    """How balanced a MaxDiff design is.

    Attributes
    ----------
    items : DataFrame
        One row per item: ``item``, ``shown`` (over all versions), ``shown_min`` and
        ``shown_max`` (per version, i.e. per respondent).
    pairs : DataFrame
        Pair frequencies, item x item, over all versions (diagonal: 0).
    positions : DataFrame
        Positional frequencies, item x position (1..per_set), over all versions.
    pair_min, pair_max, pair_mean, pair_sd : float
        Of the pair frequencies over the whole design (each unordered pair once).
    version_pair_min, version_pair_max : int
        The smallest and largest pair frequency within any one version (what one respondent
        sees).
    position_max_deviation : float
        The largest difference between an item's count in a position and its count divided by
        ``per_set`` (0 when positions are perfectly balanced).
    consecutive : int
        Times an item appears in two consecutive sets of a version, over all versions.
    bibd_possible : bool
        Whether the necessary conditions for a BIBD hold in one version: ``r = b k / v`` and
        ``lambda = r (k - 1) / (v - 1)`` whole numbers and ``b >= v`` (Fisher's inequality).
    is_bibd : bool
        Whether every version is one: each item shown ``r`` times and each pair together
        ``lambda`` times.
    """

    design: MaxDiffDesign = field(repr=False)
    items: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    positions: pd.DataFrame = field(repr=False)
    pair_min: float
    pair_max: float
    pair_mean: float
    pair_sd: float
    version_pair_min: int
    version_pair_max: int
    position_max_deviation: float
    consecutive: int
    bibd_possible: bool
    is_bibd: bool

    def summary(self) -> pd.DataFrame:
        """The figures as a two-column table (``measure, value``) for a report."""
        d = self.design
        rows = [
            ("items", d.n_items),
            ("items per set", d.per_set),
            ("sets per respondent", d.n_sets),
            ("versions", d.versions),
            ("times each item is shown per respondent", d.n_sets * d.per_set / d.n_items),
            ("item frequency per version, min", int(self.items["shown_min"].min())),
            ("item frequency per version, max", int(self.items["shown_max"].max())),
            ("pair frequency, min", self.pair_min),
            ("pair frequency, max", self.pair_max),
            ("pair frequency, mean", self.pair_mean),
            ("pair frequency, sd", self.pair_sd),
            ("pair frequency within a version, min", self.version_pair_min),
            ("pair frequency within a version, max", self.version_pair_max),
            ("position frequency, largest deviation", self.position_max_deviation),
            ("items in consecutive sets", self.consecutive),
            ("a BIBD is possible", self.bibd_possible),
            ("is a BIBD", self.is_bibd),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"])

    def report(self) -> str:
        """The diagnostics as text."""
        d = self.design
        one = self.items
        lines = [
            f"MaxDiff design: {d.n_items} items, {d.per_set} per set, {d.n_sets} sets, "
            f"{d.versions} version(s)",
            f"  one-way: each item shown {int(one['shown_min'].min())}-"
            f"{int(one['shown_max'].max())} times per version; over all versions "
            f"{int(one['shown'].min())}-{int(one['shown'].max())}",
            f"  two-way: pairs together {self.pair_min:g}-{self.pair_max:g} times (mean "
            f"{self.pair_mean:.2f}, sd {self.pair_sd:.2f}); within a version "
            f"{self.version_pair_min}-{self.version_pair_max}",
            f"  positions: largest deviation from balance {self.position_max_deviation:.2f}",
            f"  consecutive sets sharing an item: {self.consecutive}",
        ]
        if self.is_bibd:
            lines.append("  every version is a balanced incomplete block design")
        elif self.bibd_possible:
            lines.append("  a BIBD exists for these numbers but was not reached")
        else:
            lines.append("  no BIBD exists for these numbers; the design is as near as found")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def bibd_parameters(v: int, k: int, b: int) -> tuple[float, float, bool]:
    """``(r, lambda, possible)`` of a block design with ``v`` items in ``b`` sets of ``k``:
    ``r = b k / v`` showings per item, ``lambda = r (k - 1) / (v - 1)`` per pair, and whether
    the necessary conditions of a BIBD hold (both whole, ``b >= v``).

    Examples
    --------
    >>> bibd_parameters(7, 3, 7)
    (3.0, 1.0, True)
    """
    r = b * k / v
    lam = r * (k - 1) / (v - 1)
    possible = r.is_integer() and math.isclose(lam, round(lam)) and b >= v
    return r, lam, bool(possible)


def inspect_maxdiff_design(design: MaxDiffDesign) -> MaxDiffDiagnostics:
    """One-way, two-way and positional balance of a MaxDiff design.

    Parameters
    ----------
    design : MaxDiffDesign

    Returns
    -------
    MaxDiffDiagnostics

    Examples
    --------
    >>> from conjoint.maxdiff import make_maxdiff_design
    >>> diag = inspect_maxdiff_design(make_maxdiff_design(7, per_set=3, n_sets=7, versions=1))
    >>> diag.is_bibd, diag.pair_min, diag.pair_max
    (True, 1.0, 1.0)
    """
    v, k, b = design.n_items, design.per_set, design.n_sets
    sets = design.sets
    labels = list(design.items)
    shown_v = np.stack([np.bincount(s.ravel(), minlength=v) for s in sets])  # (versions, v)
    pairs_v = np.zeros((design.versions, v, v), dtype=np.int64)
    consecutive = 0
    for ver, version_sets in enumerate(sets):
        for s, row in enumerate(version_sets):
            pairs_v[ver][np.ix_(row, row)] += 1
            if s:
                consecutive += len(set(row.tolist()) & set(version_sets[s - 1].tolist()))
        np.fill_diagonal(pairs_v[ver], 0)
    pairs = pairs_v.sum(axis=0)
    iu = np.triu_indices(v, 1)
    upper = pairs[iu].astype(float)
    within = pairs_v[:, iu[0], iu[1]]
    pos = np.zeros((v, k), dtype=np.int64)
    for p in range(k):
        pos[:, p] = np.bincount(sets[:, :, p].ravel(), minlength=v)
    expected = pos.sum(axis=1, keepdims=True) / k
    r, lam, possible = bibd_parameters(v, k, b)
    is_bibd = bool(possible and (shown_v == round(r)).all() and (within == round(lam)).all())
    return MaxDiffDiagnostics(
        design=design,
        items=pd.DataFrame(
            {
                "item": labels,
                "shown": shown_v.sum(axis=0),
                "shown_min": shown_v.min(axis=0),
                "shown_max": shown_v.max(axis=0),
            }
        ),
        pairs=pd.DataFrame(pairs, index=labels, columns=labels),
        positions=pd.DataFrame(pos, index=labels, columns=list(range(1, k + 1))),
        pair_min=float(upper.min()),
        pair_max=float(upper.max()),
        pair_mean=float(upper.mean()),
        pair_sd=float(upper.std()),
        version_pair_min=int(within.min()),
        version_pair_max=int(within.max()),
        position_max_deviation=float(np.abs(pos - expected).max()),
        consecutive=int(consecutive),
        bibd_possible=possible,
        is_bibd=is_bibd,
    )
