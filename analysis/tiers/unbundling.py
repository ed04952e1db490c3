"""Unbundling: which components of a bundle to sell separately as add-ons, and at what prices.

For every set of stripped components the bundle becomes a menu (an entry offer and entry + any
subset of add-ons); every stripped set x entry price x add-on prices on the grids is evaluated at
point estimates, as is keeping the bundle, and the winner is simulated at every draw for bands
and the add-ons' take rates.
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

from analysis.offers.assembly import (
    display_level,
    level_index,
    resolve_search,
    rest_utilities,
    value_utilities,
)
from analysis.offers.objectives import other_own_numerators, unit_cost
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    posterior_band,
    respondent_weights,
    simulate,
)
from analysis.tiers.menus import (
    _check_features,
    _figures,
    _grid,
    _others_total,
    _price_attribute,
    _profile_row,
    _summary,
    _with,
    feature_order,
)
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, resolve_band
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["Unbundling", "unbundle"]


@dataclass
class Unbundling:
    """Result of :func:`unbundle`.

    Attributes
    ----------
    table : DataFrame
        ``offer`` ("bundle (current)", "entry", "entry + tv", ...), one column per attribute,
        ``price, share, lower, upper, revenue, profit`` per lost customer.
    summary : DataFrame
        ``measure, value, lower, upper``: the bundle's share and the menu's; like for like, all
        our own products' share before and after (named); the menu's takers from none, from
        competitors and from our own products; the net gain (all own products after minus
        before: from none plus from competitors); and the objective before, after and its
        change.
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
    objective: str | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    max_addons_menu: int = 3,
    band: float = BAND,
    interval: float | None = None,
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
    objective : {"profit", "revenue", "share"}, optional
        Default: profit when the study has ``[costs]``, revenue otherwise
        (:func:`winback.settings.default_objective`).
    weights : str or array, optional
    max_addons_menu : int
        At most this many components stripped at once (the menu has 2^n items).
    band : float
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
    band = resolve_band(band, interval, where="unbundle")
    t0 = time.perf_counter()
    draws, mk, objective = resolve_search(source, market, objective)
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
    current = simulate(draws, mk, weights=w, band=band, random_seed=random_seed)
    bundle_cost = unit_cost(study, prod.levels) if study.costs else float("nan")
    rows = []
    figs, _ = _figures(current, [bundle], [bundle_price], [bundle_cost], band)
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
    sim = simulate(draws, menu, weights=w, band=band, random_seed=random_seed)
    addons_rows: list[dict[str, Any]] = []
    cur_tot = _others_total(current, study, [], mk.extrapolate)
    new_tot = _others_total(sim, study, [], mk.extrapolate)
    if strip:
        costs = [unit_cost(study, p.levels) if study.costs else float("nan") for p in products]
        figs, tot = _figures(
            sim, [p.name for p in products], [p.levels[pa.name] for p in products], costs, band
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
            lo, hi = posterior_band(rate, band)
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
    # like for like: every own product before (the bundle and the others) against every own
    # product after (the menu and the others), and where the menu's takers come from
    own_before = ", ".join(p.name for p in mk.products if p.own)
    own_after = ", ".join(p.name for p in menu.products if p.own)
    cur_none = current.share_draws[:, -1] if mk.none else np.zeros(len(bundle_share))
    new_none = sim.share_draws[:, -1] if menu.none else np.zeros(len(bundle_share))
    from_none = cur_none - new_none
    net = new_tot["share"] - cur_tot["share"]
    from_comp = net - from_none
    from_own = menu_share - net
    summ = [
        _summary("share, bundle alone (current)", bundle_share, band),
        _summary("share, entry menu", menu_share, band),
        _summary(f"own products' share, current ({own_before})", cur_tot["share"], band),
        _summary(f"own products' share, with the menu ({own_after})", new_tot["share"], band),
        _summary("menu takers from none", from_none, band),
        _summary("menu takers from competitors", from_comp, band),
        _summary("menu takers from our own products", from_own, band),
        _summary(
            "net gain: lost customers brought back, net of what the menu takes from our own "
            "products",
            net,
            band,
        ),
        _summary(f"our {objective}, current", cur_tot[objective], band),
        _summary(f"our {objective}, with the menu", new_tot[objective], band),
        _summary(f"our {objective}, change", new_tot[objective] - cur_tot[objective], band),
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
