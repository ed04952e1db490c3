"""Price sensitivity and willingness to pay from the market simulator.

* :func:`price_curve`: demand (share) and revenue per lost customer over a product's price, with
  bands, every other product held fixed.
* :func:`price_elasticities`: own and cross price elasticities (arc elasticities of the share
  over a small relative price change, per posterior draw).
* :func:`market_wtp`: willingness to pay for changing one level of an offer, three ways side by
  side, per respondent and draw: the ratio to the price slope, the compensating variation
  (log-sum, with competitors and none) and the simulation-based WTP (the price rise that brings
  the improved offer's share back to the current offer's share).

Examples
--------
>>> from analysis.pricing import price_curve
>>> price_curve(model, market, "FibreHome bundle")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    variant_share_draws,
)
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, resolve_band
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["market_wtp", "price_curve", "price_elasticities"]


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


def _priced(market: Market, study: Study, name: str, prices: Sequence[float]) -> list[Product]:
    """``name`` at each of ``prices`` (variants for :func:`variant_share_draws`)."""
    return [_set_price(market, study, name, float(p)).product(name) for p in prices]


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

    All prices are evaluated in one pass over the draws; under randomized first choice every
    price sees the same errors (the curve at the current price is the share :func:`simulate`
    gives with the same seed).

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
    j = m.names.index(product)
    shares = variant_share_draws(
        draws, m, _priced(m, draws.study, product, prices), w, random_seed=random_seed
    )[:, :, j]
    rows = []
    for p, sd in zip(prices, shares, strict=True):
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
    ends = []
    variants = []
    for prod in m.products:
        p0 = float(prod.levels[pa.name])
        up, down = p0 * (1 + change), p0 * (1 - change)
        if not m.extrapolate:
            up, down = min(up, hi_p), max(down, lo_p)
        if up <= down:
            raise WinbackError(
                f"Cannot vary the price of '{prod.name}' ({p0}) inside {lo_p}-{hi_p}."
            )
        ends.append((up, down))
        variants += _priced(m, draws.study, prod.name, [up, down])
    # every price change in one pass, all with the same rfc errors
    shares = variant_share_draws(draws, m, variants, w, random_seed=random_seed)
    rows = []
    for i, (prod, (up, down)) in enumerate(zip(m.products, ends, strict=True)):
        s_up, s_dn = shares[2 * i], shares[2 * i + 1]
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


def _utility_change(beta: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``beta @ dx`` (sample, respondent) over the few parameters a change touches."""
    nz = np.flatnonzero(dx)
    return beta[:, :, nz] @ dx[nz]


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
    du = _utility_change(draws.beta, x1[0] - x0)
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
      the current offer's share (the logit share with the market's exponent, whatever its rule;
      solved per draw inside the tested price range by Newton steps kept in a bisection
      bracket; NaN with flag ``outside_range`` where the price would have to leave it).

    ``wtp`` is the posterior median of the draws' values, ``lower``/``upper`` the band around
    it: a mean would not do, as one respondent-draw with a price slope near zero can carry a
    draw's compensating variation to thousands and the mean outside its own band.

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
    e = m.exponent
    # the offer's scaled utility and the log-sum of the rest of the market (S, R): its logit
    # share is sigmoid(u_j - rest), the market's log-sum logaddexp(u_j, rest)
    ue = e * utilities(draws, x_all, none=m.none)
    u_j = np.ascontiguousarray(ue[..., j])
    rest = _logsumexp(np.delete(ue, j, axis=-1))
    del ue
    base_ls = np.logaddexp(u_j, rest) / e
    with np.errstate(invalid="ignore"):
        base_share = _sigmoid(u_j - rest) @ w
    gain = np.ascontiguousarray(e * slope)
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
            du = _utility_change(draws.beta, x1[0] - x0)  # (S, R)
            s1, g1 = slope, gain
            if any({pa.name, attr_name} == set(i.attributes) for i in study.interactions):
                # the price slope depends on this attribute: the changed offer's own slope
                s1 = _slope(draws, x1[0], pa, changed, study)
                g1 = np.ascontiguousarray(e * s1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = du / -s1
            ratio_s = _finite_median(ratio)
            z = u_j + e * du
            with np.errstate(divide="ignore", invalid="ignore"):
                cv = (np.logaddexp(z, rest) / e - base_ls) / -s1
            cv = np.where(np.isfinite(cv), cv, np.nan)
            cv_s = np.nanmean(cv, axis=1)
            with np.errstate(invalid="ignore"):
                z -= rest
            sim, outside = _simulated_wtp(z, g1, w, base_share, p0, prices)
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
                        "wtp": float(np.median(ok)) if ok.size else float("nan"),
                        "lower": float(lo),
                        "upper": float(hi),
                        "positive_slope_share": pos,
                        "outside_range": float(outside) if method == "simulated" else 0.0,
                    }
                )
    return pd.DataFrame(rows)


def _finite_median(v: np.ndarray) -> np.ndarray:
    """Per row, the median of the finite values (NaN where there is none): ``np.nanmedian``
    with infinities left out, from one sort (nanmedian takes a masked-array path below 600
    columns, 20 times slower)."""
    v = np.sort(np.where(np.isfinite(v), v, np.nan), axis=1)  # NaN sort last
    n = np.isfinite(v).sum(axis=1)
    rows = np.arange(v.shape[0])
    lo = v[rows, np.maximum(n - 1, 0) // 2]
    hi = v[rows, np.maximum(n, 1) // 2]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def _logsumexp(v: np.ndarray) -> np.ndarray:
    """Log-sum-exp over the last axis (-inf for an empty axis)."""
    if v.shape[-1] == 0:
        return np.full(v.shape[:-1], -np.inf)
    mx = v.max(axis=-1, keepdims=True)
    return (mx + np.log(np.exp(v - mx).sum(axis=-1, keepdims=True)))[..., 0]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def _simulated_wtp(
    z: np.ndarray,
    gain: np.ndarray,
    w: np.ndarray,
    target: np.ndarray,
    p0: float,
    prices: list[float],
) -> tuple[np.ndarray, float]:
    """Per draw, the price change d with share(changed offer at p0 + d) = share(current).

    ``z`` (S, R): the changed offer's scaled utility at the current price minus the log-sum of
    the rest of the market; ``gain``: the exponent times the price slope (utility per currency
    unit). The price enters linearly through the local slope (exact for a linear price; for a
    part-worth price, the slope of the segment the current price lies on).
    """
    # lazy: numba (about 0.4 s to import) loads when a willingness to pay is simulated
    from analysis._wtp_kernels import solve_wtp
    from analysis.simulator._kernels import in_threads

    z = np.ascontiguousarray(z, dtype=float)
    w = np.ascontiguousarray(w, dtype=float)
    target = np.ascontiguousarray(target, dtype=float)
    lo_d, hi_d = float(prices[0] - p0), float(prices[-1] - p0)
    d = in_threads(
        z.shape[0], lambda a, b: solve_wtp(z[a:b], gain[a:b], w, target[a:b], lo_d, hi_d)
    )
    return d, float(np.mean(np.isnan(d)))
