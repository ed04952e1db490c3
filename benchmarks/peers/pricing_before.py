"""The previous implementation of price curves, elasticities and WTP (winback before issue 16,
commit 4d8828f), kept as the reference for ``benchmarks/rfc_pricing.py``.

``analysis/pricing.py`` and the randomized-first-choice rule of ``analysis/simulator/rules.py``
as they were, unchanged but for the imports: every price point re-simulates the whole market
(``choice_probabilities``: NumPy's stream, ``rfc_draws`` arrays of every level's error per draw
and respondent), and the simulated WTP runs 50 bisection steps of a full softmax.
"""

# ruff: noqa

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.simulator import (
    NONE,
    Market,
    PartWorthDraws,
    Product,
    as_draws,
    encode_products,
    posterior_band,
    read_market,
    respondent_weights,
    utilities,
)
from analysis.simulator.rules import _logit
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, resolve_band
from winback.study import Attribute, Study, format_level

HBModel = Any

__all__ = ["choice_probabilities", "market_wtp", "price_curve", "price_elasticities"]


def _first_choice(u: np.ndarray) -> np.ndarray:
    top = u >= u.max(axis=-1, keepdims=True) - 1e-12
    return top / top.sum(axis=-1, keepdims=True)


def _rfc(
    draws: PartWorthDraws,
    x: np.ndarray,
    member: np.ndarray,
    market: Market,
    rng: np.random.Generator,
) -> np.ndarray:
    """Randomized first choice: mean over ``rfc_draws`` error draws of first-choice shares."""
    base = utilities(draws, x, none=market.none)
    s, r, j = base.shape
    n_levels = member.shape[1]
    out = np.zeros_like(base)
    # level errors (sd = attribute_variability) enter a product through its level weights;
    # none has no levels, so it only gets product error
    mem = np.concatenate([member, np.zeros((1, n_levels))]) if market.none else member
    for _ in range(market.rfc_draws):
        u = base.copy()
        if market.attribute_variability > 0:
            eps = rng.normal(0.0, market.attribute_variability, size=(s, r, n_levels))
            u += eps @ mem.T
        if market.product_variability > 0:
            u += rng.gumbel(0.0, market.product_variability, size=(s, r, j))
        out += _first_choice(u)
    return out / market.rfc_draws


def choice_probabilities(
    draws: PartWorthDraws, market: Market, *, random_seed: int = 1
) -> np.ndarray:
    """(sample, respondent, alternative) choice probabilities: products, then none."""
    x, member = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    if market.rule == "rfc":
        return _rfc(draws, x, member, market, np.random.default_rng(random_seed))
    u = utilities(draws, x, none=market.none)
    if market.rule == "first_choice":
        return _first_choice(u)
    return _logit(u, market.exponent)


def _market(draws: PartWorthDraws, market: Market | Mapping[str, Any] | str | Path) -> Market:
    if isinstance(market, Market):
        return market
    if isinstance(market, str | Path):
        return read_market(market, draws.study)
    return Market.from_dict(market, draws.study)


def _price_attr(study: Study) -> Attribute:
    if study.price_attribute is None:
        raise WinbackError(
            "The study names no price attribute ([study] price_attribute = ...): price curves, "
            "elasticities and willingness to pay need one."
        )
    attr = study.attribute(study.price_attribute)
    if not attr.numeric:
        raise WinbackError(f"The price attribute '{attr.name}' must have numeric levels.")
    return attr


def _set_price(market: Market, study: Study, name: str, price: float) -> Market:
    pa = _price_attr(study)
    prod = market.product(name)
    return market.with_product(replace(prod, levels={**dict(prod.levels), pa.name: float(price)}))


def _share_draws(draws: PartWorthDraws, market: Market, w: np.ndarray, seed: int) -> np.ndarray:
    probs = choice_probabilities(draws, market, random_seed=seed)
    return np.einsum("srj,r->sj", probs, w)


def price_curve(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    product: str,
    prices: Sequence[float] | None = None,
    *,
    weights: str | Sequence[float] | np.ndarray | None = None,
    band: float = BAND,
    interval: float | None = None,
    random_seed: int = 1,
) -> pd.DataFrame:
    """Demand and revenue curves of ``product`` over its price, with bands.

    Parameters
    ----------
    prices : sequence of float, optional
        Default: 21 points across the tested price range. Prices outside it need
        ``extrapolate = true`` in the market.

    Returns
    -------
    DataFrame
        ``price, share, lower, upper, revenue, revenue_lower, revenue_upper`` (revenue per lost
        customer: share x price, banded per draw).

    Examples
    --------
    >>> price_curve(model, market, "FibreHome bundle", [45, 55, 65])  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="price_curve")
    draws = as_draws(source)
    m = _market(draws, market)
    pa = _price_attr(draws.study)
    m.product(product)
    if prices is None:
        vals = [float(v) for v in pa.levels]
        prices = list(np.linspace(min(vals), max(vals), 21))
    w = respondent_weights(draws, weights)
    rows = []
    for p in prices:
        mp = _set_price(m, draws.study, product, float(p))
        sd = _share_draws(draws, mp, w, random_seed)[:, mp.names.index(product)]
        rev = sd * float(p)
        lo, hi = posterior_band(sd, band)
        rlo, rhi = posterior_band(rev, band)
        rows.append(
            {
                "price": float(p),
                "share": float(sd.mean()),
                "lower": float(lo),
                "upper": float(hi),
                "revenue": float(rev.mean()),
                "revenue_lower": float(rlo),
                "revenue_upper": float(rhi),
            }
        )
    return pd.DataFrame(rows)


def price_elasticities(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    change: float = 0.01,
    weights: str | Sequence[float] | np.ndarray | None = None,
    band: float = BAND,
    interval: float | None = None,
    random_seed: int = 1,
) -> pd.DataFrame:
    """Own and cross price elasticities of the aggregate shares, with bands.

    For each product whose price changes (``price_of``) and each alternative whose share
    responds (``share_of``, none included): the arc elasticity
    ``(ln s(p(1+c)) - ln s(p(1-c))) / (ln(1+c) - ln(1-c))`` per posterior draw (one-sided at the
    edge of the tested range).

    Returns
    -------
    DataFrame
        ``price_of, share_of, elasticity, lower, upper``.

    Examples
    --------
    >>> price_elasticities(model, market)  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="price_elasticities")
    draws = as_draws(source)
    m = _market(draws, market)
    pa = _price_attr(draws.study)
    lo_p, hi_p = min(float(v) for v in pa.levels), max(float(v) for v in pa.levels)
    w = respondent_weights(draws, weights)
    alts = [*m.names, *([NONE] if m.none else [])]
    rows = []
    for prod in m.products:
        p0 = float(prod.levels[pa.name])
        up, down = p0 * (1 + change), p0 * (1 - change)
        if not m.extrapolate:
            up, down = min(up, hi_p), max(down, lo_p)
        if up <= down:
            raise WinbackError(
                f"Cannot vary the price of '{prod.name}' ({p0}) inside {lo_p}-{hi_p}."
            )
        s_up = _share_draws(draws, _set_price(m, draws.study, prod.name, up), w, random_seed)
        s_dn = _share_draws(draws, _set_price(m, draws.study, prod.name, down), w, random_seed)
        with np.errstate(divide="ignore", invalid="ignore"):
            el = (np.log(s_up) - np.log(s_dn)) / (np.log(up) - np.log(down))
        for j, a in enumerate(alts):
            lo, hi = posterior_band(el[:, j], band)
            rows.append(
                {
                    "price_of": prod.name,
                    "share_of": a,
                    "elasticity": float(np.mean(el[:, j])),
                    "lower": float(lo),
                    "upper": float(hi),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Willingness to pay, three ways
# --------------------------------------------------------------------------------------------


def _slope(
    draws: PartWorthDraws, x0: np.ndarray, pa: Attribute, prod: Product, study: Study
) -> np.ndarray:
    """(sample, respondent) utility per currency unit at the product's price (a linear price:
    its coefficient; part-worth price: the slope of the segment the price lies on)."""
    p0 = float(prod.levels[pa.name])
    vals = sorted(float(v) for v in pa.levels)
    # a small step inside the range, in the direction that stays inside it
    step = 0.01 * (vals[-1] - vals[0])
    other = p0 + step if p0 + step <= vals[-1] else p0 - step
    x1, _ = encode_products(study, [replace(prod, levels={**dict(prod.levels), pa.name: other})])
    du = draws.beta @ (x1[0] - x0)
    return du / (other - p0)


def market_wtp(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    product: str,
    *,
    changes: Mapping[str, Sequence[Any]] | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    band: float = BAND,
    interval: float | None = None,
) -> pd.DataFrame:
    """Willingness to pay for changing ``product``'s levels, three ways, with bands.

    For every change (an attribute of ``product`` moved from its current level to another,
    by default every other level of every non-price attribute):

    * ``ratio``: the utility difference divided by minus the price slope, per respondent and
      draw (the classic part-worth WTP; the respondents' median per draw, as ratios explode
      where a slope is near zero);
    * ``compensating_variation``: the change in the log-sum of the whole market (competitors
      and none included) divided by minus the price slope: what the change is worth to a
      respondent given the alternatives (mean over respondents);
    * ``simulated``: the price change that brings the changed offer's aggregate share back to
      the current offer's share (the logit share, solved per draw by bisection inside the tested
      price range; NaN with flag ``outside_range`` where the price would have to leave it).

    Flags: ``positive_slope_share`` (respondent-draws whose price slope is not negative: their
    ratios are not WTPs) and ``outside_range`` (share of draws where the simulated WTP would
    need extrapolation).

    Returns
    -------
    DataFrame
        ``attribute, from_level, to_level, method, wtp, lower, upper, positive_slope_share,
        outside_range``.

    Examples
    --------
    >>> market_wtp(model, market, "FibreHome bundle")  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="market_wtp")
    draws = as_draws(source)
    study = draws.study
    m = _market(draws, market)
    pa = _price_attr(study)
    prod = m.product(product)
    w = respondent_weights(draws, weights)
    x_all, _ = encode_products(study, m.products, extrapolate=m.extrapolate)
    j = m.names.index(product)
    x0 = x_all[j]
    slope = _slope(draws, x0, pa, prod, study)  # (S, R)
    pos = float(np.mean(slope >= 0))
    base_u = utilities(draws, x_all, none=m.none)
    e = m.exponent
    base_ls = _logsumexp(e * base_u) / e
    base_share = np.einsum("srj,r->s", _softmax(e * base_u)[..., j : j + 1], w)
    if changes is None:
        changes = {
            a.name: [v for v in a.levels if a.index_of(v) != a.index_of(prod.levels[a.name])]
            for a in study.attributes
            if a.name != pa.name
        }
    prices = sorted(float(v) for v in pa.levels)
    p0 = float(prod.levels[pa.name])
    rows = []
    for attr_name, levels in changes.items():
        attr = study.attribute(attr_name)
        if attr_name == pa.name:
            raise WinbackError("market_wtp: the price attribute cannot be one of the changes.")
        for level in levels:
            if attr.index_of(level) < 0 and not attr.numeric:
                raise WinbackError(
                    f"market_wtp: unknown level {level!r} for '{attr_name}'. Valid levels: "
                    f"{list_valid(attr.level_labels())}."
                )
            changed = replace(prod, levels={**dict(prod.levels), attr_name: level})
            x1, _ = encode_products(study, [changed], extrapolate=m.extrapolate)
            du = draws.beta @ (x1[0] - x0)  # (S, R)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = du / -slope
            ratio_s = np.nanmedian(np.where(np.isfinite(ratio), ratio, np.nan), axis=1)
            u1 = base_u.copy()
            u1[..., j] += du
            cv = (_logsumexp(e * u1) / e - base_ls) / -slope
            cv = np.where(np.isfinite(cv), cv, np.nan)
            cv_s = np.nanmean(cv, axis=1)
            sim, outside = _simulated_wtp(base_u, j, du, slope, w, e, base_share, p0, prices)
            label_from = (
                format_level(prod.levels[attr_name])
                if isinstance(prod.levels[attr_name], float)
                else str(prod.levels[attr_name])
            )
            label_to = format_level(level) if isinstance(level, float) else str(level)
            for method, vals in (
                ("ratio", ratio_s),
                ("compensating_variation", cv_s),
                ("simulated", sim),
            ):
                ok = vals[np.isfinite(vals)]
                lo, hi = posterior_band(ok, band) if ok.size else (np.nan, np.nan)
                rows.append(
                    {
                        "attribute": attr_name,
                        "from_level": label_from,
                        "to_level": label_to,
                        "method": method,
                        "wtp": float(ok.mean()) if ok.size else float("nan"),
                        "lower": float(lo),
                        "upper": float(hi),
                        "positive_slope_share": pos,
                        "outside_range": float(outside) if method == "simulated" else 0.0,
                    }
                )
    return pd.DataFrame(rows)


def _softmax(v: np.ndarray) -> np.ndarray:
    v = v - v.max(axis=-1, keepdims=True)
    ex = np.exp(v)
    return ex / ex.sum(axis=-1, keepdims=True)


def _logsumexp(v: np.ndarray) -> np.ndarray:
    mx = v.max(axis=-1, keepdims=True)
    return (mx + np.log(np.exp(v - mx).sum(axis=-1, keepdims=True)))[..., 0]


def _simulated_wtp(
    base_u: np.ndarray,
    j: int,
    du: np.ndarray,
    slope: np.ndarray,
    w: np.ndarray,
    e: float,
    target: np.ndarray,
    p0: float,
    prices: list[float],
) -> tuple[np.ndarray, float]:
    """Per draw, the price change d with share(changed offer at p0 + d) = share(current).

    The price enters linearly through the local slope (exact for a linear price; for a
    part-worth price, the slope of the segment the current price lies on).
    """
    lo_d, hi_d = prices[0] - p0, prices[-1] - p0

    def share(d: np.ndarray) -> np.ndarray:
        u = base_u.copy()
        u[..., j] += du + slope * d[:, None]
        return np.einsum("sr,r->s", _softmax(e * u)[..., j], w)

    n = base_u.shape[0]
    a = np.full(n, lo_d)
    b = np.full(n, hi_d)
    fa = share(a) - target
    fb = share(b) - target
    bracket = (fa >= 0) & (fb <= 0)
    for _ in range(50):
        mid = (a + b) / 2
        fm = share(mid) - target
        go_right = fm > 0
        a = np.where(go_right, mid, a)
        b = np.where(go_right, b, mid)
    d = np.where(bracket, (a + b) / 2, np.nan)
    return d, float(np.mean(~bracket))
