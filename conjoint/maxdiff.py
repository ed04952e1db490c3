"""MaxDiff (best-worst scaling) designs: which items each set shows, in which position.

A MaxDiff question shows ``per_set`` of the ``n_items`` items (reasons for leaving, say) and
asks for the most and the least important. A respondent answers ``n_sets`` such sets; a design
has ``versions`` versions (questionnaires), dealt to respondents in turn. A good design is a
balanced incomplete block design (BIBD) or as close to one as the numbers allow:

- **one-way balance**: every item is shown equally often within each version (exactly when
  ``n_sets * per_set`` is a multiple of ``n_items``, else the counts differ by one) and over the
  whole design;
- **two-way balance**: every pair of items appears together in a set as equally often as
  possible, within each version and over the whole design;
- **positional balance**: every item appears equally often in every position of the set;
- no item twice in a set, and (as Sawtooth's current designer does) the sets of a version
  ordered so that an item seldom appears in two consecutive sets.

These are the criteria of Sawtooth Software's MaxDiff designer, which reports one-way, two-way
and positional frequencies (Sawtooth Software, "Across-set item dispersion in Sawtooth
Software's new MaxDiff designer", and the SSI Web help "Designing the Study"); its rule for the
number of sets, each item shown at least about three times per respondent, ``3 * n_items /
per_set`` sets, is the default here.

The search: each version starts from an exactly one-way balanced layout (the items that get an
extra showing when the counts cannot be equal are those shown least so far), then swaps items
between sets, which keeps the one-way counts, to make the sum of squared pair counts (within the
version plus over the versions so far) as small as it can be. With the total number of pairs
fixed, that minimises the spread of the pair counts; a BIBD is its minimum, so when one exists
for the version's ``(v, k, b)`` the search stops on reaching it. Positions are then assigned set
by set to the positions each item has occupied least (an assignment problem).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from winback.errors import DesignError, ParameterError, list_valid

# the rules on sizes are the study file's too ([maxdiff]), so they live in the foundation
from winback.study.maxdiff import default_per_set, default_sets, maxdiff_size_problems


@dataclass(frozen=True)
class MaxDiffDesign:
    """A MaxDiff design.

    Attributes
    ----------
    items : tuple of str
        Item labels, in the order given; the first is the reference of the estimation (its
        utility is 0).
    sets : ndarray of int, shape (versions, n_sets, per_set)
        ``sets[v, s, p]`` is the index (into ``items``) of the item shown in position ``p``
        (from 0) of set ``s`` of version ``v``.
    random_seed : int
    """

    items: tuple[str, ...]
    sets: np.ndarray = field(repr=False)
    random_seed: int = 1

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def versions(self) -> int:
        return int(self.sets.shape[0])

    @property
    def n_sets(self) -> int:
        return int(self.sets.shape[1])

    @property
    def per_set(self) -> int:
        return int(self.sets.shape[2])

    def frame(self) -> pd.DataFrame:
        """The design as a long table, one row per item shown: ``version, set, position,
        item`` (versions, sets and positions from 1; ``item`` the label). This is the layout
        of a MaxDiff ``design.csv`` (:func:`maxdiff_design_from_frame` reads it back)."""
        v, s, p = np.indices(self.sets.shape)
        return pd.DataFrame(
            {
                "version": v.ravel() + 1,
                "set": s.ravel() + 1,
                "position": p.ravel() + 1,
                "item": np.asarray(self.items, dtype=object)[self.sets.ravel()],
            }
        )

    def __repr__(self) -> str:
        return (
            f"MaxDiffDesign: {self.n_items} items, {self.per_set} per set, {self.n_sets} sets "
            f"per respondent, {self.versions} version(s); each item shown "
            f"{self.n_sets * self.per_set / self.n_items:.2g} times per respondent\n"
            f"  reference item (utility 0): {self.items[0]!r}\n"
            "  next: conjoint.inspect_maxdiff_design(design)"
        )


def _check_items(items: int | Sequence[str]) -> tuple[str, ...]:
    if isinstance(items, bool):
        raise ParameterError(f"items must be a number of items or a list of labels; got {items!r}.")
    if isinstance(items, int | np.integer):
        n = int(items)
        if n < 3:
            raise ParameterError(
                f"a MaxDiff needs at least 3 items (2 per set and more than that in all); got {n}."
            )
        return tuple(f"item{i + 1}" for i in range(n))
    if isinstance(items, str):
        raise ParameterError(f"items must be a list of labels, not one text; got {items!r}.")
    labels = tuple(str(i) for i in items)
    if len(labels) < 3:
        raise ParameterError(
            f"a MaxDiff needs at least 3 items (2 per set and more than that in all); got "
            f"{len(labels)}: {list_valid(labels)}."
        )
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ParameterError(f"item labels must be unique; listed more than once: {twice}.")
    empty = [i + 1 for i, x in enumerate(labels) if not x.strip()]
    if empty:
        raise ParameterError(f"item labels must not be empty; empty at position(s) {empty}.")
    return labels


def _whole(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be a whole number; got {value!r}.")
    if int(value) < low:
        raise ParameterError(f"{name} must be at least {low}; got {value}.")
    return int(value)


def make_maxdiff_design(
    items: int | Sequence[str],
    *,
    per_set: int | None = None,
    n_sets: int | None = None,
    versions: int = 10,
    random_seed: int = 1,
    iterations: int | None = None,
) -> MaxDiffDesign:
    """A balanced incomplete block design for a MaxDiff of ``items``.

    Parameters
    ----------
    items : int or sequence of str
        The items (labels), or how many (labelled ``item1``, ``item2``, ...). The first is the
        reference of the estimation.
    per_set : int, optional
        Items shown per set, at least 2 and fewer than the items. Default: 4, or half the items
        when there are fewer than 8 (Sawtooth recommends 4 or 5, and no more than half the
        items).
    n_sets : int, optional
        Sets per respondent. Default: ``ceil(3 * n_items / per_set)``, each item shown about
        three times per respondent (Sawtooth's rule). At least ``ceil(n_items / per_set)``, so
        that every respondent sees every item.
    versions : int
        Versions (questionnaires), dealt to respondents in turn. Several versions balance the
        pairs and positions over the sample where one version alone cannot.
    random_seed : int
        Same seed, same design.
    iterations : int, optional
        Swaps tried per version: default 250,000 when a BIBD may exist for the numbers, else
        ``max(20,000, 20 * n_sets * per_set * n_items)``; the search stops earlier when the
        pair counts cannot be more even.

    Returns
    -------
    MaxDiffDesign

    Raises
    ------
    ParameterError
        ``per_set`` below 2 or not below the number of items, too few sets to show every item,
        fewer than 3 items, repeated or empty labels, counts that are not whole numbers.

    Examples
    --------
    >>> design = make_maxdiff_design(7, per_set=3, n_sets=7, versions=1)
    >>> inspect_maxdiff_design(design).is_bibd
    True
    """
    labels = _check_items(items)
    v = len(labels)
    k = _whole(default_per_set(v) if per_set is None else per_set, "per_set", 2)
    b = default_sets(v, k) if n_sets is None else _whole(n_sets, "n_sets", 1)
    problems = maxdiff_size_problems(v, k, b)
    if problems:
        raise ParameterError(problems[0])
    n_versions = _whole(versions, "versions", 1)
    seed = _whole(random_seed, "random_seed", 0)
    if iterations is None:
        # swaps are cheap (a few microseconds; most are refused at once); a slow cooling
        # finds the BIBDs that exist for the usual sizes (v = 7..21), so try harder for them
        r, lam = b * k / v, b * k * (k - 1) / (v * (v - 1))
        budget = 250_000 if r.is_integer() and lam.is_integer() and b >= v else 20 * b * k * v
        budget = max(budget, 20_000)
    else:
        budget = _whole(iterations, "iterations", 0)
    rng = np.random.default_rng(seed)
    shown_total = np.zeros(v, dtype=np.int64)
    pairs_total = np.zeros((v, v), dtype=np.int64)
    pos_total = np.zeros((v, k), dtype=np.int64)
    out = np.empty((n_versions, b, k), dtype=np.int64)
    for ver in range(n_versions):
        sets = _initial(v, k, b, shown_total, rng)
        sets = _improve(sets, v, pairs_total, budget, rng)
        sets = _order_sets(sets, rng)
        sets = _positions(sets, pos_total, v, rng)
        for row in sets:
            shown_total[row] += 1
            pairs_total[np.ix_(row, row)] += 1
            pos_total[row, np.arange(k)] += 1
        np.fill_diagonal(pairs_total, 0)
        out[ver] = sets
    return MaxDiffDesign(labels, out, seed)


def _initial(
    v: int, k: int, b: int, shown_total: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Sets with exact one-way balance: ``b * k`` showings dealt as evenly as possible (the
    extra showings to the items shown least so far), no item twice in a set."""
    base, extra = divmod(b * k, v)
    order = np.lexsort((rng.random(v), shown_total))  # least shown first, ties at random
    counts = np.full(v, base)
    counts[order[:extra]] += 1
    # items grouped, occurrence j into set j mod b: an item occurs at most ceil(b k / v) <= b
    # times, so its occurrences fall into distinct sets; every set gets exactly k
    perm = rng.permutation(v)
    occurrences = np.repeat(perm, counts[perm])
    sets = np.empty((b, k), dtype=np.int64)
    for j, item in enumerate(occurrences):
        sets[j % b, j // b] = item
    return sets


def _sum_squares_floor(total: int, cells: int) -> int:
    q, r = divmod(total, cells)
    return r * (q + 1) ** 2 + (cells - r) * q**2


def _improve(
    sets: np.ndarray, v: int, pairs_before: np.ndarray, budget: int, rng: np.random.Generator
) -> np.ndarray:
    """Swap items between sets (keeping the one-way counts) to even out the pair counts:
    minimise the sum of squared pair counts within the version plus over the design so far,
    by simulated annealing with a cooling temperature; stop at the floor.

    Swapping ``a`` of set S with ``c`` of set T (``c`` not in S, ``a`` not in T) moves the
    pairs of ``a`` with S's other items to ``c`` and those of ``c`` with T's other items to
    ``a``; items in both sets keep their pairs. Every changed pair changes by one, so the
    change of a sum of squares is ``sum(2 n + 1)`` over gained pairs and ``sum(1 - 2 n)``
    over lost ones. Plain lists: this loop is the design's running time.
    """
    b, k = sets.shape
    if b < 2:
        return sets.copy()
    rows = [[int(x) for x in row] for row in sets]
    within_a = np.zeros((v, v), dtype=np.int64)
    for row in sets:
        within_a[np.ix_(row, row)] += 1
    np.fill_diagonal(within_a, 0)
    overall_a = pairs_before + within_a
    n_pairs = v * (v - 1) // 2
    floor = _sum_squares_floor(b * k * (k - 1) // 2, n_pairs) + _sum_squares_floor(
        int(overall_a.sum()) // 2, n_pairs
    )
    iu = np.triu_indices(v, 1)
    cost = int((within_a[iu] ** 2).sum() + (overall_a[iu] ** 2).sum())
    # both counts in one table: the change of the summed squares needs their sum only
    both = (within_a + overall_a).tolist()
    member = [set(row) for row in rows]
    best, best_cost = [r.copy() for r in rows], cost
    if cost == floor:
        return sets.copy()
    t0 = 2.0
    chunk = 8192
    for it in range(budget):
        if it % chunk == 0:  # random numbers in chunks: most searches stop early
            n = min(chunk, budget - it)
            s_pick = rng.integers(0, b, size=(n, 2)).tolist()
            p_pick = rng.integers(0, k, size=(n, 2)).tolist()
            u = rng.random(n).tolist()
        s, t = s_pick[it % chunk]
        if s == t:
            continue
        ps, pt = p_pick[it % chunk]
        rs, rt = rows[s], rows[t]
        a, c = rs[ps], rt[pt]
        ms, mt = member[s], member[t]
        if c in ms or a in mt:
            continue
        ba, bc = both[a], both[c]
        change = 0
        for x in rs:
            if x != a and x not in mt:  # (a, x) lost, (c, x) gained, in both tables
                change += 2 * (bc[x] - ba[x]) + 4
        for y in rt:
            if y != c and y not in ms:  # (c, y) lost, (a, y) gained
                change += 2 * (ba[y] - bc[y]) + 4
        if change > 0:
            temp = t0 * (1.0 - it / budget)
            if temp <= 1e-9 or u[it % chunk] >= math.exp(-change / temp):
                continue
        for x in rs:
            if x != a and x not in mt:
                ba[x] -= 2
                both[x][a] -= 2
                bc[x] += 2
                both[x][c] += 2
        for y in rt:
            if y != c and y not in ms:
                bc[y] -= 2
                both[y][c] -= 2
                ba[y] += 2
                both[y][a] += 2
        rs[ps], rt[pt] = c, a
        ms.discard(a)
        ms.add(c)
        mt.discard(c)
        mt.add(a)
        cost += change
        if cost < best_cost:
            best, best_cost = [r.copy() for r in rows], cost
            if cost == floor:
                break
    return np.array(best, dtype=np.int64)


def _order_sets(sets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Order a version's sets so that consecutive sets share as few items as possible
    (greedy: each next set the one sharing fewest items with the one before, ties at random)."""
    b = sets.shape[0]
    left = list(rng.permutation(b))
    order = [left.pop(0)]
    while left:
        prev = set(sets[order[-1]].tolist())
        shared = [len(prev.intersection(sets[i].tolist())) for i in left]
        order.append(left.pop(int(np.argmin(shared))))
    return sets[order]


def _positions(
    sets: np.ndarray, pos_total: np.ndarray, v: int, rng: np.random.Generator, starts: int = 8
) -> np.ndarray:
    """Put each set's items in positions so that every item occupies every position as
    equally often as possible, within this version first and over the design so far second.

    Block coordinate descent on the sum of squared position counts: each set in turn is
    taken out and put back by an assignment problem (an item in a position where it already
    stands ``n`` times adds ``2 n + 1``), until a pass over the sets changes nothing; from
    ``starts`` random orders, keeping the best, and stopping once the version's counts are
    as even as its item counts allow.
    """
    b, k = sets.shape
    cols = np.arange(k)
    weight = float(2 * b * k + 1)  # the version's balance comes first
    shown = np.bincount(sets.ravel(), minlength=v)
    floor = sum(_sum_squares_floor(int(n), k) for n in shown)
    best, best_cost = sets, math.inf
    from scipy.optimize import linear_sum_assignment  # about 0.3 s: only for a design

    for _ in range(starts):
        out = np.array([rng.permutation(row) for row in sets])
        pos_version = np.zeros((v, k), dtype=np.int64)
        for row in out:
            pos_version[row, cols] += 1
        for _ in range(20):
            changed = False
            for s in rng.permutation(b):
                items = out[s].copy()
                pos_version[items, cols] -= 1
                n_version = pos_version[items]
                cost = (2 * n_version + 1) * weight + 2 * (pos_total[items] + n_version) + 1
                rows, assigned = linear_sum_assignment(cost)
                if cost[rows, assigned].sum() < cost[cols, cols].sum():
                    out[s, assigned] = items[rows]
                    changed = True
                pos_version[out[s], cols] += 1
            if not changed:
                break
        ss_version = int((pos_version**2).sum())
        total = pos_version + pos_total
        cost_all = ss_version * weight + int((total**2).sum())
        if cost_all < best_cost:
            best, best_cost = out, cost_all
        if ss_version == floor:
            break
    return best


def maxdiff_design_from_frame(
    frame: pd.DataFrame, items: Sequence[str] | None = None, *, random_seed: int = 1
) -> MaxDiffDesign:
    """A :class:`MaxDiffDesign` from its long table (``version, set, position, item``, as
    :meth:`MaxDiffDesign.frame` writes it).

    Parameters
    ----------
    frame : DataFrame
    items : sequence of str, optional
        The item labels in order (the first is the reference); default: in order of first
        appearance in ``frame``.

    Raises
    ------
    DesignError
        Missing columns, unknown items, holes in the versions, sets or positions, an item
        twice in a set: every problem at once.

    Examples
    --------
    >>> d = make_maxdiff_design(6, per_set=3, n_sets=4, versions=2)
    >>> back = maxdiff_design_from_frame(d.frame(), d.items)
    >>> bool((back.sets == d.sets).all())
    True
    """
    need = ["version", "set", "position", "item"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DesignError(
            f"MaxDiff design lacks column(s) {list_valid(missing)}; needed: {list_valid(need)}."
        )
    f = frame[need].copy()
    problems: list[str] = []
    for c in ("version", "set", "position"):
        num = pd.to_numeric(f[c], errors="coerce")
        bad = num.isna() | (num % 1 != 0) | (num < 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            problems.append(f"'{c}' must be whole numbers from 1; row {i + 1} has {f[c].iloc[i]!r}")
        else:
            f[c] = num.astype(int)
    if problems:
        raise DesignError("MaxDiff design: " + "; ".join(problems) + ".")
    f["item"] = f["item"].astype(str)
    labels = tuple(str(i) for i in items) if items is not None else tuple(pd.unique(f["item"]))
    unknown = sorted(set(f["item"]) - set(labels))
    if unknown:
        problems.append(f"unknown item(s) {list_valid(unknown)}; items: {list_valid(labels)}")
    n_v, n_s, n_p = int(f["version"].max()), int(f["set"].max()), int(f["position"].max())
    key = f[["version", "set", "position"]]
    if key.duplicated().any():
        i = int(np.flatnonzero(key.duplicated().to_numpy())[0])
        problems.append(f"row {i + 1}: version, set and position given twice")
    if len(f) != n_v * n_s * n_p:
        problems.append(
            f"{len(f)} rows, but versions 1..{n_v} x sets 1..{n_s} x positions 1..{n_p} make "
            f"{n_v * n_s * n_p}: every version has the same sets and positions, with no gaps"
        )
    if problems:
        raise DesignError("MaxDiff design: " + "; ".join(problems) + ".")
    index = {x: i for i, x in enumerate(labels)}
    sets = np.empty((n_v, n_s, n_p), dtype=np.int64)
    sets[f["version"] - 1, f["set"] - 1, f["position"] - 1] = f["item"].map(index).to_numpy()
    twice = [
        f"version {v + 1} set {s + 1}"
        for v in range(n_v)
        for s in range(n_s)
        if len(set(sets[v, s].tolist())) < n_p
    ]
    if twice:
        raise DesignError(
            f"MaxDiff design: an item appears twice in a set ({len(twice)} set(s), e.g. "
            f"{list_valid(twice[:5])})."
        )
    if n_p < 2 or n_p >= len(labels):
        raise DesignError(
            f"MaxDiff design: {n_p} items per set; it must be at least 2 and fewer than the "
            f"{len(labels)} items."
        )
    return MaxDiffDesign(labels, sets, random_seed)
