"""Good / better / best tiers: nested features and a price ladder, searched exhaustively.

Every nested tier set x every price ladder on the grid is evaluated at point estimates in a
numba kernel, so the answer is proven optimal over the grid; the winning menu is then simulated
at every posterior draw for bands, upgrade paths (where each tier's takers come from) and
cannibalisation of our other tiers and products.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numba import njit, prange

from analysis.offers.assembly import display_level, resolve_search, rest_utilities, value_utilities
from analysis.offers.objectives import other_own_numerators, unit_cost
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    Simulation,
    respondent_weights,
    simulate,
    source_of_volume,
)
from analysis.tiers.menus import (
    _base_levels,
    _check_features,
    _figures,
    _grid,
    _others_total,
    _price_attribute,
    _profile_row,
    _prohibited,
    _summary,
    _with,
    feature_order,
)
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, resolve_band
from winback.study import format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["TierSearch", "optimize_tiers"]


@njit(parallel=True, cache=True, fastmath=True)
def _tier_kernel(ef, ep, margin, nestings, ladders, denom, num, weights):  # pragma: no cover
    """Objective of every (nesting, price ladder): sum_r w (num + sum_t e_t m_t) / (denom +
    sum_t e_t), e_t = ef[set_t, r] * ep[price_t, r]."""
    n_n, n_t = nestings.shape
    n_l = ladders.shape[0]
    n_r = ef.shape[1]
    out = np.empty((n_n, n_l))
    for n in prange(n_n):
        for lad in range(n_l):
            tot = 0.0
            for r in range(n_r):
                top = num[r]
                bot = denom[r]
                for t in range(n_t):
                    f = nestings[n, t]
                    k = ladders[lad, t]
                    e = ef[f, r] * ep[k, r]
                    top += e * margin[f, k]
                    bot += e
                tot += weights[r] * top / bot
            out[n, lad] = tot
    return out


@dataclass
class TierSearch:
    """Result of :func:`optimize_tiers`.

    Attributes
    ----------
    tiers : DataFrame
        ``tier``, one column per attribute, ``price``, ``share, lower, upper``, ``revenue``,
        ``profit`` (per lost customer, with ``revenue_lower`` ... ``profit_upper`` bands).
    upgrade_paths : DataFrame
        For each tier after the first: where its takers come from when it is added to the lower
        tiers (``tier, menu_before, source, kind, share_moved, lower, upper, fraction``).
    cannibalisation : DataFrame
        For each tier: the share it takes from our other tiers and products
        (``tier, source, share_moved, lower, upper, fraction``).
    summary : DataFrame
        The menu's total share, revenue and profit against the current market.
    """

    objective: str
    tiers: pd.DataFrame
    upgrade_paths: pd.DataFrame
    cannibalisation: pd.DataFrame
    summary: pd.DataFrame
    n_candidates: int
    proven_optimal: bool
    value: float  # the objective at point estimates
    seconds: float
    market: Market = field(repr=False)

    def __repr__(self) -> str:
        lines = [
            f"TierSearch: {len(self.tiers)} tiers maximising {self.objective} per lost customer; "
            f"{self.n_candidates:,} nested tier sets x price ladders searched, "
            f"{'proven optimal over the grid' if self.proven_optimal else 'not proven'} "
            f"({self.seconds:.2f} s)"
        ]
        for row in self.tiers.itertuples(index=False):
            d = row._asdict()
            lines.append(
                f"  {d['tier']:<8} price {d['price']:g}: share {d['share']:.1%} "
                f"[{d['lower']:.1%}, {d['upper']:.1%}], revenue {d['revenue']:.3g}, profit "
                f"{d['profit']:.3g}"
            )
        lines.append("  see .upgrade_paths, .cannibalisation, .summary")
        return "\n".join(lines)


def optimize_tiers(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    features: Sequence[str],
    prices: Sequence[float] | None = None,
    n_tiers: int = 3,
    names: Sequence[str] = ("Good", "Better", "Best"),
    min_gap: float = 0.0,
    objective: str | None = None,
    base: Mapping[str, Any] | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    replace: str | None = None,
    band: float = BAND,
    interval: float | None = None,
    random_seed: int = 1,
) -> TierSearch:
    """Search good / better / best tiers: nested features and a price ladder.

    Every feature's levels are ordered from "not included" (the attribute's preference order:
    as listed, reversed for ``decreasing``); a higher tier has at least the level of the tier
    below on every feature, and a price higher by at least ``min_gap`` (strictly higher). Every
    nested tier set x every price ladder on the grid is evaluated at point estimates (numba), so
    the answer is proven optimal over the grid; the winner's figures have bands from all draws.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
    market : Market, dict or path
        Competitors and none stay; the tiers are added (replacing ``replace``).
    features : list of str
        The attributes that differ between tiers.
    prices : sequence of float, optional
        The price grid (default: the tested price levels).
    n_tiers : int
    names : sequence of str
        Tier names, from the lowest (as many as ``n_tiers``).
    min_gap : float
        Minimum price step between adjacent tiers.
    objective : {"profit", "revenue", "share"}, optional
        Default: profit when the study has ``[costs]``, revenue otherwise
        (:func:`winback.settings.default_objective`).
    base : mapping, optional
        Levels of the attributes that are not features (default: the replaced or only own
        product's levels).
    weights : str or array, optional
    replace : str, optional
        An own product the tiers replace (None: the tiers are added to the market).
    band : float
    random_seed : int
        For the simulator's randomized first choice, when the market uses it for bands.

    Returns
    -------
    TierSearch

    Examples
    --------
    >>> res = optimize_tiers(model, market, features=["speed", "tv", "mobile"],
    ...                      prices=[35, 45, 55, 65, 75], min_gap=10,
    ...                      replace="FibreHome bundle")  # doctest: +SKIP
    >>> res.tiers  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="optimize_tiers")
    t0 = time.perf_counter()
    draws, mk, objective = resolve_search(source, market, objective)
    study = draws.study
    pa = _price_attribute(study, "Tier search")
    if replace is not None:
        mk.product(replace)
    fattrs = _check_features(study, features, "features")
    if not isinstance(n_tiers, int) or n_tiers < 1:
        raise WinbackError(f"n_tiers must be a positive whole number, got {n_tiers!r}.")
    names = list(names)
    if len(names) != n_tiers:
        raise WinbackError(f"names has {len(names)} entries for {n_tiers} tiers: {names}.")
    taken = [n for n in names if n in mk.names and n != replace]
    if taken:
        raise WinbackError(f"tier name(s) {list_valid(taken)} already used by market products.")
    grid = _grid(prices, pa, "prices", mk.extrapolate)
    base_levels = _base_levels(study, mk, base, replace)
    missing = [
        a.name
        for a in study.attributes
        if a.name not in base_levels and a.name not in features and a is not pa
    ]
    if missing:
        raise WinbackError(f"base has no level for {list_valid(missing)}.")
    w = respondent_weights(draws, weights)

    # feature sets (every combination of feature ranks) and their utilities and costs
    orders = [feature_order(a) for a in fattrs]
    ranks = list(itertools.product(*[range(len(o)) for o in orders]))
    set_levels = []
    for rk in ranks:
        lv = dict(base_levels)
        for a, o, r_ in zip(fattrs, orders, rk, strict=True):
            lv[a.name] = a.levels[o[r_]]
        set_levels.append(lv)
    index_of_rank = {rk: i for i, rk in enumerate(ranks)}
    banned = np.array([_prohibited(study, lv) for lv in set_levels])
    # nestings: per feature a non-decreasing sequence of ranks over the tiers
    per_feature = [
        list(itertools.combinations_with_replacement(range(len(o)), n_tiers)) for o in orders
    ]
    nest_list = []
    for seqs in itertools.product(*per_feature):
        sets = [index_of_rank[tuple(seq[t] for seq in seqs)] for t in range(n_tiers)]
        if not banned[sets].any():
            nest_list.append(sets)
    nestings = np.asarray(nest_list, dtype=np.int64).reshape(-1, n_tiers)
    ladders = np.asarray(
        [
            c
            for c in itertools.combinations(range(len(grid)), n_tiers)
            if all(grid[c[t + 1]] - grid[c[t]] >= min_gap - 1e-9 for t in range(n_tiers - 1))
        ],
        dtype=np.int64,
    ).reshape(-1, n_tiers)
    if nestings.shape[0] == 0 or ladders.shape[0] == 0:
        raise WinbackError(
            f"No tier set is left: {nestings.shape[0]} nested feature sets (after prohibitions), "
            f"{ladders.shape[0]} price ladders of {n_tiers} prices from "
            f"{list_valid(format_level(float(p)) for p in grid)} with gaps >= {min_gap:g}."
        )

    point = draws.point()
    beta = point.beta[0]  # (R, K)
    e = mk.exponent
    rows = np.stack([_profile_row(study, lv, [pa.name]) for lv in set_levels])
    uf = beta @ rows.T  # (R, F)
    up = value_utilities(point.beta, study, pa, grid, mk.extrapolate)[0]  # (R, K)
    exclude = [replace] if replace is not None else []
    u_rest, _, kept = rest_utilities(point.beta, point, mk, exclude)
    u_rest = u_rest[0]
    fmax, pmax = uf.max(axis=1), up.max(axis=1)
    shift = np.maximum(fmax + pmax, u_rest.max(axis=1, initial=-np.inf))
    ef = np.exp(e * (uf - fmax[:, None])).T
    ep = np.exp(e * (up - pmax[:, None] + (fmax + pmax - shift)[:, None])).T
    exp_rest = np.exp(np.minimum(e * (u_rest - shift[:, None]), 700.0))
    denom = exp_rest.sum(axis=1)
    others = other_own_numerators(study, kept, exp_rest[None, :, : len(kept)], mk.extrapolate)[:, 0]
    cost = np.array([unit_cost(study, lv) if study.costs else 0.0 for lv in set_levels])
    margin, num = {
        "share": (np.ones((len(ranks), len(grid))), others[0]),
        "revenue": (np.repeat(grid[None, :], len(ranks), axis=0), others[1]),
        "profit": (grid[None, :] - cost[:, None], others[1] - others[2]),
    }[objective]
    vals = _tier_kernel(
        np.ascontiguousarray(ef),
        np.ascontiguousarray(ep),
        np.ascontiguousarray(margin),
        nestings,
        ladders,
        denom,
        np.ascontiguousarray(num),
        w,
    )
    n_best, l_best = np.unravel_index(int(np.argmax(vals)), vals.shape)
    tiers = [
        Product(
            names[t],
            {**set_levels[nestings[n_best, t]], pa.name: float(grid[ladders[l_best, t]])},
            own=True,
        )
        for t in range(n_tiers)
    ]
    base_market = mk.without(replace) if replace is not None else mk
    menu = _with(base_market, tiers)
    sim = simulate(draws, menu, weights=w, band=band, random_seed=random_seed)
    costs = [unit_cost(study, p.levels) if study.costs else float("nan") for p in tiers]
    figs, tot = _figures(sim, names, [p.levels[pa.name] for p in tiers], costs, band)
    table = []
    for p, f in zip(tiers, figs, strict=True):
        row: dict[str, Any] = {"tier": p.name}
        for a in study.attributes:
            row[a.name] = display_level(a, p.levels[a.name])
        row["price"] = float(p.levels[pa.name])
        row.update(f)
        table.append(row)
    upgrade = _upgrade_paths(draws, base_market, tiers, w, band, random_seed)
    cannib = _cannibalisation(draws, base_market, tiers, sim, w, band, random_seed)
    current = simulate(draws, mk, weights=w, band=band, random_seed=random_seed)
    cur = _others_total(current, study, [], mk.extrapolate)
    oth = _others_total(sim, study, names, mk.extrapolate)
    summ = []
    for k in ("share", "revenue", "profit"):
        if k == "profit" and study.costs is None:
            continue
        menu_total = tot[k] + oth[k]
        summ.append(_summary(f"our {k}, tier menu", menu_total, band))
        summ.append(_summary(f"our {k}, current market", cur[k], band))
        summ.append(_summary(f"our {k}, change", menu_total - cur[k], band))
    return TierSearch(
        objective=objective,
        tiers=pd.DataFrame(table),
        upgrade_paths=upgrade,
        cannibalisation=cannib,
        summary=pd.DataFrame(summ),
        n_candidates=int(nestings.shape[0] * ladders.shape[0]),
        proven_optimal=True,
        value=float(vals[n_best, l_best]),
        seconds=time.perf_counter() - t0,
        market=menu,
    )


def _upgrade_paths(
    draws: PartWorthDraws,
    base: Market,
    tiers: Sequence[Product],
    w: np.ndarray,
    band: float,
    seed: int,
) -> pd.DataFrame:
    out = []
    sims = [
        simulate(draws, _with(base, tiers[: t + 1]), weights=w, band=band, random_seed=seed)
        for t in range(len(tiers))
    ]
    for t in range(1, len(tiers)):
        sov = source_of_volume(sims[t - 1], sims[t], tiers[t].name)
        sov.insert(0, "tier", tiers[t].name)
        sov.insert(1, "menu_before", " + ".join(p.name for p in tiers[:t]))
        out.append(sov)
    cols = ["tier", "menu_before", "source", "kind", "share_moved", "lower", "upper", "fraction"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def _cannibalisation(
    draws: PartWorthDraws,
    base: Market,
    tiers: Sequence[Product],
    full: Simulation,
    w: np.ndarray,
    band: float,
    seed: int,
) -> pd.DataFrame:
    out = []
    for p in tiers:
        rest = [q for q in tiers if q.name != p.name]
        before = simulate(draws, _with(base, rest), weights=w, band=band, random_seed=seed)
        sov = source_of_volume(before, full, p.name)
        sov = sov[sov["kind"] == "own"].drop(columns="kind")
        sov.insert(0, "tier", p.name)
        out.append(sov)
    cols = ["tier", "source", "share_moved", "lower", "upper", "fraction"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)
