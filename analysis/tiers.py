"""Good / better / best tiers and unbundling: menus of our offers, searched exhaustively.

Both searches enumerate every menu on a grid at point estimates (the posterior mean part-worths),
so the answer is proven optimal over that grid; the chosen menu is then simulated at every
posterior draw for bands. Respondents choose among the menu, competitors and none (logit with
the market's exponent); objectives are per lost customer, as in :mod:`analysis.search`, and our
other products (those the menu does not replace) count in them.

Examples
--------
>>> from analysis.tiers import optimize_tiers, unbundle
>>> tiers = optimize_tiers(model, market, features=["tv", "mobile"], prices=range(35, 80, 5),
...                        replace="FibreHome bundle")  # doctest: +SKIP
>>> unbundle(model, market, bundle="FibreHome bundle", components=["tv", "mobile"])
... # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numba import njit, prange

from analysis.search import (
    display_level,
    get_attribute,
    level_index,
    other_own_numerators,
    own_product,
    resolve_search,
    rest_utilities,
    unit_cost,
    value_utilities,
)
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    Simulation,
    level_positions,
    posterior_band,
    respondent_weights,
    simulate,
    source_of_volume,
)
from conjoint.encoding import make_encoding
from winback.errors import WinbackError, list_valid
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["TierSearch", "Unbundling", "feature_order", "optimize_tiers", "unbundle"]


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


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def feature_order(attr: Attribute) -> list[int]:
    """Level indices of a feature from "not included" upwards: the attribute's preference order
    (``decreasing``: reversed), else as listed."""
    idx = list(range(attr.n_levels))
    return idx[::-1] if attr.preference == "decreasing" else idx


def _price_attribute(study: Study, what: str) -> Attribute:
    """The study's price attribute; ``what`` (the search) needs one."""
    if study.price_attribute is None:
        raise WinbackError(f"{what} needs a price attribute (price_attribute in [study]).")
    return study.attribute(study.price_attribute)


def _check_features(study: Study, features: Sequence[str], what: str) -> list[Attribute]:
    if isinstance(features, str) or not features:
        raise WinbackError(f"{what}: give a list of attribute names, got {features!r}.")
    attrs = [get_attribute(study, f, what) for f in features]
    if study.price_attribute in features:
        raise WinbackError(f"{what}: the price attribute '{study.price_attribute}' cannot be one.")
    if len(set(features)) != len(features):
        raise WinbackError(f"{what}: an attribute is named twice ({list_valid(features)}).")
    return attrs


def _base_levels(
    study: Study, market: Market, base: Mapping[str, Any] | None, replace: str | None
) -> dict[str, Any]:
    if base is None:
        try:
            prod = market.product(replace) if replace is not None else own_product(market, None)
        except WinbackError as e:
            raise WinbackError(f"{e} Or give base={{attribute: level}} for the tiers.") from None
        return dict(prod.levels)
    out = dict(base)
    for k, v in out.items():
        a = get_attribute(study, k, "base attribute")
        if a.index_of(v) < 0:
            level_positions(a, v)  # numeric values inside the range are fine
    return out


def _profile_row(study: Study, levels: Mapping[str, Any], skip: Sequence[str]) -> np.ndarray:
    enc = make_encoding(study)
    x = np.zeros(enc.n_parameters)
    for a_i, a in enumerate(study.attributes):
        if a.name in skip:
            continue
        for i, w in level_positions(a, levels[a.name]):
            x += w * enc.tables[a_i][i]
    return x


def _prohibited(study: Study, levels: Mapping[str, Any]) -> bool:
    for pr in study.prohibitions:
        hit = True
        for an, idx in pr.as_dict().items():
            v = levels.get(an)
            if v is None or study.attribute(an).index_of(v) not in idx:
                hit = False
                break
        if hit:
            return True
    return False


def _grid(
    values: Sequence[float] | None, attr: Attribute, what: str, extrapolate: bool
) -> np.ndarray:
    vals = list(attr.levels) if values is None else list(values)
    out = []
    for v in vals:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(float(v)):
            raise WinbackError(f"{what} must be numbers, got {v!r}.")
        level_positions(attr, float(v), extrapolate=extrapolate)
        out.append(float(v))
    if not out:
        raise WinbackError(f"{what}: no price given.")
    return np.unique(np.asarray(out))


def _figures(
    sim: Simulation,
    names: Sequence[str],
    prices: Sequence[float],
    costs: Sequence[float],
    interval: float,
) -> tuple[list[dict[str, float]], dict[str, np.ndarray]]:
    """Share, revenue and profit (mean and band) of the named products; per-draw totals."""
    rows = []
    tot = {k: np.zeros(sim.share_draws.shape[0]) for k in ("share", "revenue", "profit")}
    for n, p, c in zip(names, prices, costs, strict=True):
        sh = sim.share_draws[:, sim.alternatives.index(n)]
        figs = {"share": sh, "revenue": sh * p, "profit": sh * (p - c)}
        row: dict[str, float] = {}
        for k, v in figs.items():
            lo, hi = posterior_band(v, interval)
            row[k] = float(v.mean())
            row[f"{k}_lower" if k != "share" else "lower"] = float(lo)
            row[f"{k}_upper" if k != "share" else "upper"] = float(hi)
            tot[k] = tot[k] + v
        rows.append(row)
    return rows, tot


def _others_total(
    sim: Simulation, study: Study, exclude: Sequence[str], extrapolate: bool
) -> dict[str, np.ndarray]:
    tot = {k: np.zeros(sim.share_draws.shape[0]) for k in ("share", "revenue", "profit")}
    for j, p in enumerate(sim.market.products):
        if not p.own or p.name in exclude:
            continue
        sh = sim.share_draws[:, j]
        price = float(p.levels[study.price_attribute]) if study.price_attribute else 0.0
        cost = unit_cost(study, p.levels, extrapolate) if study.costs else 0.0
        tot["share"] = tot["share"] + sh
        tot["revenue"] = tot["revenue"] + sh * price
        tot["profit"] = tot["profit"] + sh * (price - cost)
    return tot


def _summary(name: str, v: np.ndarray, interval: float) -> dict[str, Any]:
    lo, hi = posterior_band(v, interval)
    return {"measure": name, "value": float(v.mean()), "lower": float(lo), "upper": float(hi)}


# --------------------------------------------------------------------------------------------
# Good / better / best
# --------------------------------------------------------------------------------------------


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
    objective: str = "profit",
    base: Mapping[str, Any] | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    replace: str | None = None,
    interval: float = 0.9,
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
    objective : {"profit", "revenue", "share"}
    base : mapping, optional
        Levels of the attributes that are not features (default: the replaced or only own
        product's levels).
    weights : str or array, optional
    replace : str, optional
        An own product the tiers replace (None: the tiers are added to the market).
    interval : float
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
    t0 = time.perf_counter()
    draws, mk = resolve_search(source, market, objective)
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
    sim = simulate(draws, menu, weights=w, interval=interval, random_seed=random_seed)
    costs = [unit_cost(study, p.levels) if study.costs else float("nan") for p in tiers]
    figs, tot = _figures(sim, names, [p.levels[pa.name] for p in tiers], costs, interval)
    table = []
    for p, f in zip(tiers, figs, strict=True):
        row: dict[str, Any] = {"tier": p.name}
        for a in study.attributes:
            row[a.name] = display_level(a, p.levels[a.name])
        row["price"] = float(p.levels[pa.name])
        row.update(f)
        table.append(row)
    upgrade = _upgrade_paths(draws, base_market, tiers, w, interval, random_seed)
    cannib = _cannibalisation(draws, base_market, tiers, sim, w, interval, random_seed)
    current = simulate(draws, mk, weights=w, interval=interval, random_seed=random_seed)
    cur = _others_total(current, study, [], mk.extrapolate)
    oth = _others_total(sim, study, names, mk.extrapolate)
    summ = []
    for k in ("share", "revenue", "profit"):
        if k == "profit" and study.costs is None:
            continue
        menu_total = tot[k] + oth[k]
        summ.append(_summary(f"our {k}, tier menu", menu_total, interval))
        summ.append(_summary(f"our {k}, current market", cur[k], interval))
        summ.append(_summary(f"our {k}, change", menu_total - cur[k], interval))
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


def _with(market: Market, products: Sequence[Product]) -> Market:
    for p in products:
        market = market.with_product(p)
    return market


def _upgrade_paths(
    draws: PartWorthDraws,
    base: Market,
    tiers: Sequence[Product],
    w: np.ndarray,
    interval: float,
    seed: int,
) -> pd.DataFrame:
    out = []
    sims = [
        simulate(draws, _with(base, tiers[: t + 1]), weights=w, interval=interval, random_seed=seed)
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
    interval: float,
    seed: int,
) -> pd.DataFrame:
    out = []
    for p in tiers:
        rest = [q for q in tiers if q.name != p.name]
        before = simulate(draws, _with(base, rest), weights=w, interval=interval, random_seed=seed)
        sov = source_of_volume(before, full, p.name)
        sov = sov[sov["kind"] == "own"].drop(columns="kind")
        sov.insert(0, "tier", p.name)
        out.append(sov)
    cols = ["tier", "source", "share_moved", "lower", "upper", "fraction"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


# --------------------------------------------------------------------------------------------
# Unbundling
# --------------------------------------------------------------------------------------------


@dataclass
class Unbundling:
    """Result of :func:`unbundle`.

    Attributes
    ----------
    table : DataFrame
        ``offer`` ("bundle (current)", "entry", "entry + tv", ...), one column per attribute,
        ``price, share, lower, upper, revenue, profit`` per lost customer.
    summary : DataFrame
        ``measure, value, lower, upper``: our share with the bundle alone and with the menu, the
        lost customers the menu brings back beyond the bundle (difference), and the objective.
    addons : DataFrame
        ``component, level, price, take_rate, lower, upper``: of the menu's takers, the fraction
        who add each add-on.
    stripped : tuple of str
        The components sold separately (empty: keeping the bundle is best).
    """

    objective: str
    stripped: tuple[str, ...]
    entry_price: float
    addon_prices: dict[str, float]
    table: pd.DataFrame
    summary: pd.DataFrame
    addons: pd.DataFrame
    n_candidates: int
    value: float
    seconds: float
    market: Market = field(repr=False)

    def __repr__(self) -> str:
        if not self.stripped:
            head = "keep the bundle: no entry menu on the grid beats it"
        else:
            adds = ", ".join(f"{c} +{format_level(p)}" for c, p in self.addon_prices.items())
            head = (
                f"strip {', '.join(self.stripped)}: entry at {format_level(self.entry_price)}, "
                f"add-ons {adds}"
            )
        lines = [
            f"Unbundling ({self.objective} per lost customer; {self.n_candidates:,} menus "
            f"searched at point estimates, {self.seconds:.2f} s): {head}"
        ]
        for row in self.table.itertuples(index=False):
            d = row._asdict()
            lines.append(
                f"  {d['offer']:<28} price {d['price']:g}: share {d['share']:.1%} "
                f"[{d['lower']:.1%}, {d['upper']:.1%}], profit {d['profit']:.3g}"
            )
        for row in self.summary.itertuples(index=False):
            lines.append(f"  {row.measure}: {row.value:.4g} [{row.lower:.4g}, {row.upper:.4g}]")
        return "\n".join(lines)


def unbundle(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    bundle: str,
    components: Sequence[str],
    entry_prices: Sequence[float] | None = None,
    addon_prices: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    objective: str = "profit",
    weights: str | Sequence[float] | np.ndarray | None = None,
    max_addons_menu: int = 3,
    interval: float = 0.9,
    random_seed: int = 1,
) -> Unbundling:
    """Which components of the bundle to sell separately, and at what prices.

    For every set of stripped components (up to ``max_addons_menu`` of them) the bundle becomes
    a menu: the entry offer (the bundle with those components at their "not included" level, the
    first in preference order) at an entry price, and entry + any subset of the add-ons at the
    entry price plus the add-ons' prices. Respondents choose among the menu items, competitors
    and none (logit). Every stripped set x entry price x add-on prices on the grids is evaluated
    at point estimates, as is keeping the bundle as it is; menu items priced outside the tested
    range are skipped (unless the market extrapolates). The winner gets bands at all draws.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
    market : Market, dict or path
    bundle : str
        The product customers left (replaced by the menu).
    components : list of str
        Attributes that can be removed from the bundle and sold as add-ons.
    entry_prices : sequence of float, optional
        Default: the tested price levels.
    addon_prices : sequence or mapping component -> sequence, optional
        Default: multiples of half the smallest tested price step, up to half the tested
        range.
    objective : {"profit", "revenue", "share"}
    weights : str or array, optional
    max_addons_menu : int
        At most this many components stripped at once (the menu has 2^n items).
    interval : float
    random_seed : int

    Returns
    -------
    Unbundling

    Examples
    --------
    >>> res = unbundle(model, market, bundle="FibreHome bundle",
    ...                components=["tv", "mobile"])  # doctest: +SKIP
    >>> res.table  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    draws, mk = resolve_search(source, market, objective)
    study = draws.study
    pa = _price_attribute(study, "Unbundling")
    prod = mk.product(bundle)
    comps = _check_features(study, components, "components")
    none_level = {}
    for a in comps:
        i = level_index(a, prod.levels[a.name], f"bundle '{bundle}': ")
        first = feature_order(a)[0]
        if i == first:
            raise WinbackError(
                f"The bundle '{bundle}' has no {a.name} to strip: its level "
                f"'{format_level(a.levels[i])}' is already the 'not included' level."
            )
        none_level[a.name] = a.levels[first]
    if max_addons_menu < 1:
        raise WinbackError(f"max_addons_menu must be at least 1, got {max_addons_menu}.")
    entry = _grid(entry_prices, pa, "entry_prices", mk.extrapolate)
    addon = _addon_grids(pa, comps, addon_prices)
    w = respondent_weights(draws, weights)

    point = draws.point()
    beta = point.beta[0]
    u_rest, _, kept = rest_utilities(point.beta, point, mk, [bundle])
    u_rest = u_rest[0]
    lo_p, hi_p = float(min(pa.levels)), float(max(pa.levels))
    bundle_price = float(prod.levels[pa.name])
    # keeping the bundle: its objective at point estimates is the baseline candidate
    best: tuple[tuple[str, ...], float, dict[str, float]]
    best_val, best = (
        _menu_value(
            study,
            mk,
            beta,
            u_rest,
            kept,
            w,
            objective,
            [dict(prod.levels)],
            np.array([[bundle_price]]),
            pa,
        )[0],
        ((), bundle_price, {}),
    )
    n_cand = 1
    for size in range(1, min(max_addons_menu, len(comps)) + 1):
        for strip in itertools.combinations([a.name for a in comps], size):
            subsets = [s for k in range(size + 1) for s in itertools.combinations(strip, k)]
            items = []
            for sub in subsets:
                lv = dict(prod.levels)
                for c in strip:
                    if c not in sub:
                        lv[c] = none_level[c]
                items.append(lv)
            grids = [entry] + [addon[c] for c in strip]
            combos = np.array(list(itertools.product(*grids)))
            inc = np.array([[c in sub for c in strip] for sub in subsets], dtype=float)  # (I, n)
            item_prices = combos[:, :1] + combos[:, 1:] @ inc.T  # (n_combo, I)
            if not mk.extrapolate:
                ok = ((item_prices >= lo_p - 1e-9) & (item_prices <= hi_p + 1e-9)).all(axis=1)
                combos, item_prices = combos[ok], item_prices[ok]
            if combos.shape[0] == 0:
                continue
            n_cand += combos.shape[0]
            vals = _menu_value(study, mk, beta, u_rest, kept, w, objective, items, item_prices, pa)
            i = int(np.argmax(vals))
            if vals[i] > best_val + 1e-12:
                best_val = float(vals[i])
                best = (
                    strip,
                    float(combos[i, 0]),
                    dict(zip(strip, combos[i, 1:].tolist(), strict=True)),
                )
    strip, pe, adds = best
    # the winner at all draws
    current = simulate(draws, mk, weights=w, interval=interval, random_seed=random_seed)
    bundle_cost = unit_cost(study, prod.levels) if study.costs else float("nan")
    rows = []
    figs, _ = _figures(current, [bundle], [bundle_price], [bundle_cost], interval)
    rows.append(_unbundle_row(study, "bundle (current)", prod.levels, bundle_price, figs[0]))
    products: list[Product] = []
    if strip:
        for k in range(len(strip) + 1):
            for sub in itertools.combinations(strip, k):
                lv = dict(prod.levels)
                for c in strip:
                    if c not in sub:
                        lv[c] = none_level[c]
                price = pe + sum(adds[c] for c in sub)
                lv[pa.name] = price
                name = "entry" + "".join(f" + {c}" for c in sub)
                products.append(Product(name, lv, own=True))
        menu = _with(mk.without(bundle), products)
    else:
        menu = mk
    sim = simulate(draws, menu, weights=w, interval=interval, random_seed=random_seed)
    addons_rows: list[dict[str, Any]] = []
    cur_tot = _others_total(current, study, [], mk.extrapolate)
    new_tot = _others_total(sim, study, [], mk.extrapolate)
    if strip:
        costs = [unit_cost(study, p.levels) if study.costs else float("nan") for p in products]
        figs, tot = _figures(
            sim, [p.name for p in products], [p.levels[pa.name] for p in products], costs, interval
        )
        for p, f in zip(products, figs, strict=True):
            rows.append(_unbundle_row(study, p.name, p.levels, p.levels[pa.name], f))
        total = tot["share"]
        for c in strip:
            takers = sum(
                sim.share_draws[:, sim.alternatives.index(p.name)]
                for p in products
                if c in p.name.split(" + ")[1:]
            )
            rate = takers / np.where(total > 0, total, 1.0)
            lo, hi = posterior_band(rate, interval)
            addons_rows.append(
                {
                    "component": c,
                    "level": format_level(prod.levels[c]),
                    "price": adds[c],
                    "take_rate": float(rate.mean()),
                    "lower": float(lo),
                    "upper": float(hi),
                }
            )
        menu_share = total
    else:
        menu_share = current.share_draws[:, current.alternatives.index(bundle)]
    bundle_share = current.share_draws[:, current.alternatives.index(bundle)]
    summ = [
        _summary("share, bundle alone (current)", bundle_share, interval),
        _summary("share, entry menu", menu_share, interval),
        _summary(
            "lost customers brought back by the menu beyond the bundle",
            menu_share - bundle_share,
            interval,
        ),
        _summary(f"our {objective}, current", cur_tot[objective], interval),
        _summary(f"our {objective}, with the menu", new_tot[objective], interval),
        _summary(f"our {objective}, change", new_tot[objective] - cur_tot[objective], interval),
    ]
    return Unbundling(
        objective=objective,
        stripped=tuple(strip),
        entry_price=pe,
        addon_prices=adds,
        table=pd.DataFrame(rows),
        summary=pd.DataFrame(summ),
        addons=pd.DataFrame(
            addons_rows, columns=["component", "level", "price", "take_rate", "lower", "upper"]
        ),
        n_candidates=n_cand,
        value=best_val,
        seconds=time.perf_counter() - t0,
        market=menu,
    )


def _addon_grids(
    pa: Attribute,
    comps: Sequence[Attribute],
    addon_prices: Sequence[float] | Mapping[str, Sequence[float]] | None,
) -> dict[str, np.ndarray]:
    levels = np.sort(np.asarray(pa.levels, dtype=float))
    step = float(np.diff(levels).min())
    default = np.arange(step / 2, (levels[-1] - levels[0]) / 2 + 1e-9, step / 2)
    out = {}
    for a in comps:
        if addon_prices is None:
            g = default
        elif isinstance(addon_prices, Mapping):
            unknown = [k for k in addon_prices if k not in [c.name for c in comps]]
            if unknown:
                raise WinbackError(
                    f"addon_prices: unknown component(s) {list_valid(unknown)}; components: "
                    f"{list_valid([c.name for c in comps])}."
                )
            g = np.asarray(addon_prices.get(a.name, default), dtype=float)
        else:
            g = np.asarray(list(addon_prices), dtype=float)
        if g.size == 0 or not np.isfinite(g).all() or (g < 0).any():
            raise WinbackError(f"addon_prices for '{a.name}' must be non-negative numbers.")
        out[a.name] = np.unique(g)
    return out


def _menu_value(
    study: Study,
    mk: Market,
    beta: np.ndarray,
    u_rest: np.ndarray,
    kept: Sequence[Product],
    w: np.ndarray,
    objective: str,
    items: Sequence[Mapping[str, Any]],
    item_prices: np.ndarray,
    pa: Attribute,
) -> np.ndarray:
    """Objective (point estimates) of a menu of items at every row of item prices (n, I)."""
    e = mk.exponent
    rows = np.stack([_profile_row(study, lv, [pa.name]) for lv in items])
    uf = beta @ rows.T  # (R, I)
    uniq, inv = np.unique(item_prices, return_inverse=True)
    up = value_utilities(beta[None], study, pa, uniq, mk.extrapolate)[0]  # (R, U)
    cost = np.array([unit_cost(study, lv) if study.costs else 0.0 for lv in items])
    inv = inv.reshape(item_prices.shape)
    shift = np.maximum(uf.max(axis=1) + up.max(axis=1), u_rest.max(axis=1, initial=-np.inf))
    exp_rest = np.exp(np.minimum(e * (u_rest - shift[:, None]), 700.0))
    denom = exp_rest.sum(axis=1)
    others = other_own_numerators(study, kept, exp_rest[None, :, : len(kept)], mk.extrapolate)[:, 0]
    q = {"share": others[0], "revenue": others[1], "profit": others[1] - others[2]}[objective]
    n = item_prices.shape[0]
    out = np.empty(n)
    step = max(1, int(2e7 // max(1, item_prices.shape[1] * beta.shape[0])))
    for s in range(0, n, step):
        sl = slice(s, min(n, s + step))
        u = uf.T[None, :, :] + np.moveaxis(up[:, inv[sl]], 0, -1)  # (n, I, R)
        ex = np.exp(e * (u - shift[None, None, :]))
        price = item_prices[sl][..., None]
        m = {"share": 1.0, "revenue": price, "profit": price - cost[None, :, None]}[objective]
        top = (ex * m).sum(axis=1) + q[None, :]
        bot = ex.sum(axis=1) + denom[None, :]
        out[sl] = (top / bot) @ w
    return out


def _unbundle_row(
    study: Study, name: str, levels: Mapping[str, Any], price: float, figs: Mapping[str, float]
) -> dict[str, Any]:
    row: dict[str, Any] = {"offer": name}
    for a in study.attributes:
        row[a.name] = display_level(a, levels[a.name])
    row["price"] = float(price)
    for k in ("share", "lower", "upper", "revenue", "profit"):
        row[k] = figs[k]
    if study.costs is None:
        row["profit"] = float("nan")
    return row
