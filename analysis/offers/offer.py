"""Searching one offer: :func:`optimize_offer` and its result :class:`OfferSearch`.

Exhaustive over every allowed candidate (or the heuristic above ``exhaustive_limit``, graded by
an upper bound), the listed candidates re-scored with the market's rule and figured at every
posterior draw (band, probability of beating the current offer, of being the best listed), and
optionally the best offer per segment of respondents.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.offers.assembly import display_level, own_product, resolve_search
from analysis.offers.evaluate import _Evaluator
from analysis.offers.heuristic import _heuristic
from analysis.offers.objectives import OBJECTIVES, simulation_objective
from analysis.offers.space import _empty_message, _Space, make_space, space_levels
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    posterior_band,
    respondent_weights,
    simulate,
)
from winback.errors import WinbackError
from winback.settings import BAND, resolve_band
from winback.study import Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["OfferSearch", "optimize_offer"]


@dataclass
class OfferSearch:
    """Result of :func:`optimize_offer`.

    Attributes
    ----------
    offers : DataFrame
        ``rank``, one column per attribute, ``share, lower, upper`` (our share per lost customer
        and its band), ``revenue, profit`` (per lost customer; profit NaN without costs),
        ``prob_beats_current`` (posterior probability that the objective beats the current
        offer's) and ``prob_best`` (probability of being the best of the offers listed).
    exhaustive : bool
        Every candidate was evaluated; otherwise the heuristic's answer is graded by ``bound``.
    n_candidates : int
        Candidates evaluated (exhaustive) or in the space (heuristic).
    bound, gap : float
        An upper bound on the objective and the relative gap of the best offer to it (0 when
        exhaustive).
    current : dict
        The current offer's objective (mean, lower, upper) and share.
    segments : DataFrame or None
        With ``segment=``: the best offer per segment (see :func:`optimize_offer`).
    """

    objective: str
    product: str
    offers: pd.DataFrame
    exhaustive: bool
    n_candidates: int
    bound: float
    gap: float
    current: dict[str, float]
    rule: str
    n_draws: int
    n_respondents: int
    seconds: float
    segments: pd.DataFrame | None = None
    study: Study | None = field(default=None, repr=False)

    def best(self, name: str | None = None) -> Product:
        """The rank-1 offer as a :class:`Product` (own, named like the product it replaces)."""
        if self.study is None or self.offers.empty:
            raise WinbackError("No offer to return.")
        row = self.offers.iloc[0]
        return Product(
            name or self.product, {a: row[a] for a in self.study.attribute_names}, own=True
        )

    def __repr__(self) -> str:
        how = (
            f"exhaustive over {self.n_candidates:,} candidates"
            if self.exhaustive
            else f"heuristic over {self.n_candidates:,} candidates, bound {self.bound:.4g}, "
            f"gap {self.gap:.2%}"
        )
        lines = [
            f"OfferSearch: {self.objective} per lost customer, replacing '{self.product}' "
            f"({how}; {self.rule}; {self.n_draws} draws x {self.n_respondents} respondents; "
            f"{self.seconds:.2f} s)",
            f"  current offer: {self.objective} {self.current['mean']:.4g} "
            f"[{self.current['lower']:.4g}, {self.current['upper']:.4g}], share "
            f"{self.current['share']:.1%}",
        ]
        attrs = [c for c in self.offers.columns if c not in _RESULT_COLS]
        for row in self.offers.head(10).itertuples(index=False):
            d = row._asdict()
            levels = ", ".join(f"{a}={format_level(d[a])}" for a in attrs)
            lines.append(
                f"  {d['rank']:>2}. {levels} | share {d['share']:.1%} [{d['lower']:.1%}, "
                f"{d['upper']:.1%}] revenue {d['revenue']:.3g} profit {d['profit']:.3g} "
                f"P(beats current) {d['prob_beats_current']:.2f} P(best) {d['prob_best']:.2f}"
            )
        if self.segments is not None:
            lines.append(f"  segments: {len(self.segments)} (see .segments)")
        lines.append("  next: result.offers, result.best() into a Market, simulate(...)")
        return "\n".join(lines)


_RESULT_COLS = (
    "rank",
    "share",
    "lower",
    "upper",
    "revenue",
    "profit",
    "prob_beats_current",
    "prob_best",
)


def optimize_offer(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    product: str | None = None,
    objective: str | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    required: Mapping[str, Any] | None = None,
    excluded: Mapping[str, Any] | None = None,
    prices: Sequence[float] | None = None,
    price_floor: float | None = None,
    price_ceiling: float | None = None,
    min_share: float | None = None,
    top: int = 10,
    exhaustive_limit: int = 2_000_000,
    respect_prohibitions: bool = True,
    segment: str | None = None,
    band: float = BAND,
    interval: float | None = None,
    starts: int = 8,
    random_seed: int = 1,
) -> OfferSearch:
    """Search the offer (levels and price) that best wins lost customers back.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
        All posterior draws are used (``PartWorthDraws.point()`` for point estimates).
    market : Market, dict or path to ``market.toml``
        Competitors, our other products and the none option are held fixed.
    product : str, optional
        The own product the offer replaces (default: the only own product). Its current form is
        the baseline of ``prob_beats_current``.
    objective : {"share", "revenue", "profit"}, optional
        Default: profit when the study has ``[costs]``, revenue otherwise
        (:func:`winback.settings.default_objective`).
        Per lost customer; profit needs the study's ``[costs]``.
    weights : str or array, optional
        A respondent column (customer value) or one weight per respondent.
    required : mapping, optional
        Attribute -> level, or list of allowed levels (for the price attribute: prices).
    excluded : mapping, optional
        Attribute -> levels (or prices) not allowed.
    prices : sequence of float, optional
        Candidate prices (default: the tested price levels); any value inside the tested range
        (outside it with ``extrapolate = true`` in the market).
    price_floor, price_ceiling : float, optional
    min_share : float, optional
        Our minimum share (posterior mean) for a candidate to count.
    top : int
        Offers listed (``prob_best`` is over these).
    exhaustive_limit : int
        Above this many candidates the heuristic is used.
    respect_prohibitions : bool
        Skip level combinations the study prohibits (prohibitions naming the price attribute
        match tested prices exactly).
    segment : str, optional
        A respondent column (reason for leaving, value tier): also the best offer per segment in
        ``.segments``: ``segment, n_respondents``, the levels, ``share, lower, upper``,
        ``margin`` (expected profit per lost customer of the segment with that offer; revenue
        when the study has no costs) with ``margin_lower, margin_upper``, ``current_share``,
        ``gain_lower, gain_upper`` (band of the share gain over the current offer) and
        ``worth_winning``: margin > 0 and the share gain's band lies above zero.
    band : float
        Width of the posterior bands.
    interval : float, optional
        Former name of ``band`` (deprecated).
    starts : int
        Starts of the heuristic (the current offer and random ones).
    random_seed : int
        Seeds the heuristic's starts and randomized first choice.

    Returns
    -------
    OfferSearch

    Examples
    --------
    >>> from analysis.offers import optimize_offer
    >>> res = optimize_offer(model, "market.toml", objective="profit",
    ...                      required={"speed": ["300 Mbps", "1 Gbps"]}, price_floor=40)
    ... # doctest: +SKIP
    >>> res.offers[["rank", "speed", "price", "profit", "prob_beats_current"]]  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="optimize_offer")
    t0 = time.perf_counter()
    draws, mk, objective = resolve_search(source, market, objective)
    study = draws.study
    replaced = own_product(mk, product)
    if top < 1:
        raise WinbackError(f"top must be at least 1, got {top}.")
    w = respondent_weights(draws, weights)
    space = make_space(
        study,
        required=required,
        excluded=excluded,
        prices=prices,
        price_floor=price_floor,
        price_ceiling=price_ceiling,
        respect_prohibitions=respect_prohibitions,
        extrapolate=mk.extrapolate,
    )
    result = _search(
        draws,
        mk,
        replaced,
        space,
        w,
        objective,
        min_share,
        top,
        exhaustive_limit,
        band,
        starts,
        random_seed,
    )
    if segment is not None:
        result.segments = _segments(
            draws,
            mk,
            replaced,
            space,
            weights,
            segment,
            objective,
            min_share,
            exhaustive_limit,
            band,
            starts,
            random_seed,
        )
    result.seconds = time.perf_counter() - t0
    return result


def _search(
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    w: np.ndarray,
    objective: str,
    min_share: float | None,
    top: int,
    exhaustive_limit: int,
    band: float,
    starts: int,
    random_seed: int,
) -> OfferSearch:
    study = draws.study
    ev = _Evaluator(draws, mk, replaced, space, w)
    exhaustive = space.n_candidates_max <= exhaustive_limit
    if exhaustive:
        combos = space.combos()
        obj = ev.objectives(combos, reduce=True)
        mask = space.feasible(combos)
        if min_share is not None:
            mask &= obj["share"][0] >= min_share
        if not mask.any():
            raise WinbackError(_empty_message(space, min_share))
        value = np.where(mask, obj[objective][0], -np.inf)
        n_candidates = int(space.feasible(combos).sum())
        n_screen = top if mk.rule == "logit" else max(5 * top, 50)
        flat = np.argsort(-value, axis=None, kind="stable")[:n_screen]
        flat = flat[np.isfinite(value.ravel()[flat])]
        gi, ki = np.unravel_index(flat, value.shape)
        cand = [(combos[g], int(k)) for g, k in zip(gi, ki, strict=True)]
        best_value = float(value.max())
        bound, gap = best_value, 0.0
    else:
        cand = _heuristic(ev, space, replaced, objective, min_share, top, starts, random_seed, mk)
        n_candidates = space.n_candidates_max
        best_value = float("nan")
        bound = float("nan")
    # per-draw figures of the listed candidates
    per_draw = _candidate_draws(ev, draws, mk, replaced, space, w, cand, random_seed)
    order = np.argsort(-per_draw[objective].mean(axis=0), kind="stable")[:top]
    per_draw = {k: v[:, order] for k, v in per_draw.items()}
    cand = [cand[i] for i in order]
    current = simulation_objective(
        simulate(draws, mk, weights=w, band=band, random_seed=random_seed),
        study,
        mk.extrapolate,
    )
    if not exhaustive:
        mask_prices = np.ones(len(space.prices), dtype=bool)
        bound = ev.bound(objective, mask_prices)
        best_value = float(per_draw[objective].mean(axis=0).max())
        gap = max(0.0, (bound - best_value) / abs(bound)) if bound != 0 else 0.0
    offers = _offer_table(space, cand, per_draw, current, objective, band)
    cur_lo, cur_hi = posterior_band(current[objective], band)
    return OfferSearch(
        objective=objective,
        product=replaced.name,
        offers=offers,
        exhaustive=exhaustive,
        n_candidates=n_candidates,
        bound=float(bound),
        gap=float(gap),
        current={
            "mean": float(current[objective].mean()),
            "lower": float(cur_lo),
            "upper": float(cur_hi),
            "share": float(current["share"].mean()),
        },
        rule=mk.rule,
        n_draws=draws.n_samples,
        n_respondents=draws.n_respondents,
        seconds=0.0,
        study=study,
    )


def _candidate_draws(
    ev: _Evaluator,
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    w: np.ndarray,
    cand: Sequence[tuple[np.ndarray, int]],
    random_seed: int,
) -> dict[str, np.ndarray]:
    """(S, n) share, revenue and profit of every candidate: the logit kernel, or the market's
    rule through ``simulate``."""
    if not cand:
        raise WinbackError("No candidate offer is left after the constraints.")
    if mk.rule != "logit":
        cols: dict[str, list[np.ndarray]] = {k: [] for k in OBJECTIVES}
        for combo, k in cand:
            prod = Product(
                replaced.name,
                space_levels(space, replaced, combo, k),
                own=True,
                status_quo=replaced.status_quo,
            )
            sim = simulate(draws, mk.with_product(prod), weights=w, random_seed=random_seed)
            o = simulation_objective(sim, draws.study, mk.extrapolate)
            for key in OBJECTIVES:
                cols[key].append(o[key])
        return {k: np.column_stack(v) for k, v in cols.items()}
    combos = np.stack([c for c, _ in cand])
    ks = np.array([k for _, k in cand])
    obj = ev.objectives(combos, reduce=False)
    idx = np.arange(len(cand))
    return {k: v[:, idx, ks] for k, v in obj.items()}


def _offer_table(
    space: _Space,
    cand: Sequence[tuple[np.ndarray, int]],
    per_draw: Mapping[str, np.ndarray],
    current: Mapping[str, np.ndarray],
    objective: str,
    band: float,
) -> pd.DataFrame:
    study = space.study
    obj = per_draw[objective]
    lo, hi = posterior_band(per_draw["share"], band)
    beats = (obj > current[objective][:, None]).mean(axis=0)
    winner = np.argmax(obj, axis=1)
    prob_best = np.bincount(winner, minlength=obj.shape[1]) / obj.shape[0]
    rows = []
    for i, (combo, k) in enumerate(cand):
        levels = space.levels(combo, space.prices[k])
        row: dict[str, Any] = {"rank": i + 1}
        for a in study.attributes:
            row[a.name] = display_level(a, levels[a.name]) if a.name in levels else np.nan
        row.update(
            share=float(per_draw["share"][:, i].mean()),
            lower=float(lo[i]),
            upper=float(hi[i]),
            revenue=float(per_draw["revenue"][:, i].mean()),
            profit=float(per_draw["profit"][:, i].mean()) if study.costs else float("nan"),
            prob_beats_current=float(beats[i]),
            prob_best=float(prob_best[i]),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _segments(
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    weights: str | Sequence[float] | np.ndarray | None,
    segment: str,
    objective: str,
    min_share: float | None,
    exhaustive_limit: int,
    band: float,
    starts: int,
    random_seed: int,
) -> pd.DataFrame:
    seg = draws.column(segment)
    study = draws.study
    margin_key = "profit" if study.costs is not None else "revenue"
    rows = []
    for value in pd.unique(seg.dropna()):
        mask = (seg == value).to_numpy()
        sub = draws.subset(mask)
        if isinstance(weights, str) or weights is None:
            ws = respondent_weights(sub, weights)
        else:
            ws = respondent_weights(sub, np.asarray(weights, dtype=float)[mask])
        res = _search(
            sub,
            mk,
            replaced,
            space,
            ws,
            objective,
            min_share,
            1,
            exhaustive_limit,
            band,
            starts,
            random_seed,
        )
        best = res.offers.iloc[0]
        ev = _Evaluator(sub, mk, replaced, space, ws)
        combo = np.array([a.index_of(best[a.name]) for a in space.attrs], dtype=np.int64)
        k = (
            int(np.flatnonzero(np.isclose(space.prices, best[space.price_attr.name]))[0])
            if space.price_attr
            else 0
        )
        pd_ = _candidate_draws(ev, sub, mk, replaced, space, ws, [(combo, k)], random_seed)
        cur = simulation_objective(
            simulate(sub, mk, weights=ws, random_seed=random_seed), study, mk.extrapolate
        )
        margin = pd_[margin_key][:, 0]
        m_lo, m_hi = posterior_band(margin, band)
        gain = pd_["share"][:, 0] - cur["share"]
        g_lo, g_hi = posterior_band(gain, band)
        row: dict[str, Any] = {"segment": str(value), "n_respondents": int(mask.sum())}
        for a in study.attributes:
            row[a.name] = best[a.name]
        row.update(
            share=float(best["share"]),
            lower=float(best["lower"]),
            upper=float(best["upper"]),
            margin=float(margin.mean()),
            margin_lower=float(m_lo),
            margin_upper=float(m_hi),
            current_share=float(cur["share"].mean()),
            gain_lower=float(g_lo),
            gain_upper=float(g_hi),
            prob_beats_current=float(best["prob_beats_current"]),
            worth_winning=bool(margin.mean() > 0 and g_lo > 0),
        )
        rows.append(row)
    return pd.DataFrame(rows)
