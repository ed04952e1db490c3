"""Good / better / best tiers: each tier more than the one below, searched exhaustively.

A higher tier has more of at least one feature and less of none (see
:func:`analysis.tiers.menus.feature_sequences` for what "more" means) at a strictly higher
price. Every such tier set x every price ladder on the grid is evaluated with one logit per
respondent and posterior draw (:mod:`analysis.tiers.evaluate`), so the answer is proven optimal
over the grid for the posterior mean objective at the draws searched; the winning menu is then
simulated at every posterior draw for bands, upgrade paths (where each tier's takers come from)
and cannibalisation of our other tiers and products.
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

from analysis.offers.assembly import display_level, resolve_search
from analysis.offers.objectives import simulation_objective, unit_cost
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    Simulation,
    respondent_weights,
    simulate,
    source_of_volume,
)
from analysis.tiers.evaluate import menu_values, thin_draws
from analysis.tiers.menus import (
    _base_levels,
    _check_features,
    _check_order,
    _figures,
    _grid,
    _others_total,
    _price_attribute,
    _profile_row,
    _prohibited,
    _summary,
    _with,
    feature_sequences,
    is_ordered,
)
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, resolve_band
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["TierSearch", "optimize_tiers"]

N_DRAWS = 100  # posterior draws the search evaluates every menu at, by default
N_RESCORE = 50  # logit-best menus re-scored with the market's rule when it is not the logit


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
        Like for like: all our own products' share, revenue and profit with the menu (the tiers
        and our other products) against all of them in the current market; ``measure, value,
        lower, upper, products`` (the own products each row counts, named).
    n_candidates : int
        Tier sets x price ladders evaluated.
    proven_optimal : bool
        Every candidate was evaluated with the market's rule (the logit); with another rule the
        ``N_RESCORE`` logit-best menus were re-scored with it.
    value : float
        The objective of the chosen menu (per lost customer, our other products included),
        averaged over the ``n_draws`` draws searched and the respondents.
    n_draws : int
        Posterior draws every menu was evaluated at (the figures use all of them).
    rule : str
        The rule the menus were ranked by.
    """

    objective: str
    tiers: pd.DataFrame
    upgrade_paths: pd.DataFrame
    cannibalisation: pd.DataFrame
    summary: pd.DataFrame
    n_candidates: int
    proven_optimal: bool
    value: float
    seconds: float
    n_draws: int
    rule: str
    market: Market = field(repr=False)

    def __repr__(self) -> str:
        how = (
            "proven optimal over the grid"
            if self.proven_optimal
            else f"the {N_RESCORE} logit-best re-scored with {self.rule}"
        )
        lines = [
            f"TierSearch: {len(self.tiers)} tiers maximising {self.objective} per lost customer; "
            f"{self.n_candidates:,} tier sets x price ladders searched at {self.n_draws} draws "
            f"per respondent, {how} ({self.seconds:.2f} s)"
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
    order: Mapping[str, Sequence[Any]] | None = None,
    n_draws: int | None = N_DRAWS,
    band: float = BAND,
    interval: float | None = None,
    random_seed: int = 1,
) -> TierSearch:
    """Search good / better / best tiers: each tier more than the one below, at a higher price.

    Tiers are tiers: a higher tier has a better level of at least one feature and a worse
    level of none, and a strictly higher price (at least ``min_gap`` higher). "Better" follows
    each feature's preference order (``increasing`` / ``decreasing`` in the study; a numeric
    attribute without one: the larger value); for a feature without an order its first level
    is "not included", and a higher tier may add the component (any other level) but never
    drops or swaps it (:func:`analysis.tiers.menus.feature_sequences`). So no two tiers are
    the same product at two prices, whatever the objective.

    Every such tier set x every price ladder on the grid is evaluated with one logit per
    respondent and posterior draw (``n_draws`` draws, evenly spaced), never at the posterior
    mean part-worths, whose logit rewards a near-duplicate tier; so the answer is proven
    optimal over the grid for the objective averaged over those draws. The winner's figures
    have bands from all draws.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
    market : Market, dict or path
        Competitors and none stay; the tiers are added (replacing ``replace``). With the rule
        ``first_choice`` or ``rfc`` the menus are ranked by the logit (the market's exponent)
        and the ``N_RESCORE`` (50) best re-scored with the market's rule.
    features : list of str
        The attributes that differ between tiers.
    prices : sequence of float, optional
        The price grid (default: the tested price levels).
    n_tiers : int
    names : sequence of str
        Tier names, from the lowest (as many as ``n_tiers``).
    min_gap : float
        Minimum price step between adjacent tiers (prices rise strictly even at 0: a tier with
        more at the same price would leave the one below without a reason to exist).
    objective : {"profit", "revenue", "share"}, optional
        Default: profit when the study has ``[costs]``, revenue otherwise
        (:func:`winback.settings.default_objective`).
    base : mapping, optional
        Levels of the attributes that are not features (default: the replaced or only own
        product's levels).
    weights : str or array, optional
    replace : str, optional
        An own product the tiers replace (None: the tiers are added to the market).
    order : mapping, optional
        Feature -> its levels from least to most, for a feature whose "more" is not its
        preference order: ``{"mobile": ["No mobile", "SIM 20 GB", "SIM Unlimited"]}`` lets a
        higher tier go from 20 GB to unlimited, which a feature without an order may not.
    n_draws : int or None
        Posterior draws every menu is evaluated at (evenly spaced; None: all). The search's
        time grows in proportion.
    band : float
    random_seed : int
        For the simulator's randomized first choice.

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
    orders = _check_order(study, features, order)
    if isinstance(n_tiers, bool) or not isinstance(n_tiers, int) or n_tiers < 1:
        raise WinbackError(f"n_tiers must be a positive whole number, got {n_tiers!r}.")
    if (
        isinstance(min_gap, bool)
        or not isinstance(min_gap, int | float)
        or not math.isfinite(min_gap)
        or min_gap < 0
    ):
        raise WinbackError(f"min_gap must be a number of at least 0, got {min_gap!r}.")
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
    search = thin_draws(draws, n_draws)
    w = respondent_weights(draws, weights)

    # feature sets: every combination of the features' levels
    sizes = [a.n_levels for a in fattrs]
    set_levels = []
    for combo in itertools.product(*[range(n) for n in sizes]):
        lv = dict(base_levels)
        for a, i in zip(fattrs, combo, strict=True):
            lv[a.name] = a.levels[i]
        set_levels.append(lv)
    nestings = _nestings(study, fattrs, n_tiers, set_levels, orders)
    ladders = np.asarray(
        [
            c
            for c in itertools.combinations(range(len(grid)), n_tiers)
            if all(grid[c[t + 1]] - grid[c[t]] >= min_gap - 1e-9 for t in range(n_tiers - 1))
        ],
        dtype=np.int64,
    ).reshape(-1, n_tiers)
    if nestings.shape[0] == 0 or ladders.shape[0] == 0:
        raise WinbackError(_nothing_left(fattrs, orders, n_tiers, nestings, ladders, grid, min_gap))

    rows = np.stack([_profile_row(study, lv, [pa.name]) for lv in set_levels])
    cost = np.array([unit_cost(study, lv) if study.costs else 0.0 for lv in set_levels])
    margin = {
        "share": np.ones((len(set_levels), len(grid))),
        "revenue": np.repeat(grid[None, :], len(set_levels), axis=0),
        "profit": grid[None, :] - cost[:, None],
    }[objective]
    exclude = [replace] if replace is not None else []
    vals = menu_values(
        search,
        mk,
        rows=rows,
        price_attr=pa,
        grid=grid,
        margin=margin,
        objective=objective,
        exclude=exclude,
        nestings=nestings,
        ladders=ladders,
        weights=w,
    )
    base_market = mk.without(replace) if replace is not None else mk

    def menu(n: int, lad: int) -> list[Product]:
        return [
            Product(
                names[t],
                {**set_levels[nestings[n, t]], pa.name: float(grid[ladders[lad, t]])},
                own=True,
            )
            for t in range(n_tiers)
        ]

    flat_best = int(np.argmax(vals))
    n_best, l_best = flat_best // vals.shape[1], flat_best % vals.shape[1]
    value = float(vals[n_best, l_best])
    if mk.rule != "logit":  # rank by the logit, choose among the best by the market's rule
        flat = np.argsort(-vals, axis=None, kind="stable")[:N_RESCORE]
        scored = []
        for n, lad in zip(*np.unravel_index(flat, vals.shape), strict=True):
            sim = simulate(search, _with(base_market, menu(n, lad)), weights=w,
                           random_seed=random_seed)  # fmt: skip
            v = float(simulation_objective(sim, study, mk.extrapolate)[objective].mean())
            scored.append((v, int(n), int(lad)))
        value, n_best, l_best = max(scored, key=lambda x: x[0])
    tiers = menu(n_best, l_best)
    full = _with(base_market, tiers)
    sim = simulate(draws, full, weights=w, band=band, random_seed=random_seed)
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
    # like for like: all own products after (the tiers and the others) against all before
    after = ", ".join(p.name for p in full.products if p.own)
    before = ", ".join(p.name for p in mk.products if p.own)
    for k in ("share", "revenue", "profit"):
        if k == "profit" and study.costs is None:
            continue
        menu_total = tot[k] + oth[k]
        summ.append({**_summary(f"our {k}, tier menu", menu_total, band), "products": after})
        summ.append({**_summary(f"our {k}, current market", cur[k], band), "products": before})
        summ.append(
            {
                **_summary(f"our {k}, change", menu_total - cur[k], band),
                "products": f"{after} against {before}",
            }
        )
    return TierSearch(
        objective=objective,
        tiers=pd.DataFrame(table),
        upgrade_paths=upgrade,
        cannibalisation=cannib,
        summary=pd.DataFrame(summ),
        n_candidates=int(nestings.shape[0] * ladders.shape[0]),
        proven_optimal=mk.rule == "logit",
        value=value,
        seconds=time.perf_counter() - t0,
        n_draws=search.n_samples,
        rule=mk.rule,
        market=full,
    )


def _nestings(
    study: Study,
    fattrs: Sequence[Attribute],
    n_tiers: int,
    set_levels: Sequence[Mapping[str, Any]],
    orders: Mapping[str, Sequence[int]],
) -> np.ndarray:
    """(N, n_tiers) feature-set indices of every tier set: each feature follows one of its
    :func:`feature_sequences`, each tier has more than the one below on some feature, and no
    tier is a prohibited combination."""
    seqs = [
        np.asarray(feature_sequences(a, n_tiers, orders.get(a.name)), dtype=np.int64)
        for a in fattrs
    ]
    pick = np.asarray(list(itertools.product(*[range(len(q)) for q in seqs])), dtype=np.int64)
    lev = np.stack([q[pick[:, i]] for i, q in enumerate(seqs)], axis=1)  # (C, A, T) levels
    keep = np.ones(lev.shape[0], dtype=bool)
    for t in range(n_tiers - 1):
        keep &= (lev[:, :, t + 1] != lev[:, :, t]).any(axis=1)
    sets = np.stack(
        [np.ravel_multi_index(tuple(lev[:, :, t].T), [a.n_levels for a in fattrs])
         for t in range(n_tiers)],
        axis=1,
    )  # fmt: skip
    banned = np.array([_prohibited(study, lv) for lv in set_levels])
    keep &= ~banned[sets].any(axis=1)
    return np.ascontiguousarray(sets[keep], dtype=np.int64).reshape(-1, n_tiers)


def _nothing_left(
    fattrs: Sequence[Attribute],
    orders: Mapping[str, Sequence[int]],
    n_tiers: int,
    nestings: np.ndarray,
    ladders: np.ndarray,
    grid: np.ndarray,
    min_gap: float,
) -> str:
    steps = sum(a.n_levels - 1 if is_ordered(a) or a.name in orders else 1 for a in fattrs)
    why = []
    if nestings.shape[0] == 0:
        why.append(
            f"no set of {n_tiers} tiers where each has more than the one below: the features "
            f"{list_valid([a.name for a in fattrs])} allow at most {steps + 1} tiers (an ordered "
            "feature one step per level, a feature without an order one step, from its first "
            "level to another), fewer where the study prohibits combinations"
        )
    if ladders.shape[0] == 0:
        why.append(
            f"no ladder of {n_tiers} rising prices from "
            f"{list_valid(format_level(float(p)) for p in grid)} with gaps >= {min_gap:g}"
        )
    return "No tier set is left: " + "; ".join(why) + "."


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
