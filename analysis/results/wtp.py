"""Willingness to pay for each level over its attribute's reference level.

Computed per respondent and posterior draw from a linear price attribute's slope (never as a
ratio of means): the draws themselves, the median across respondents per draw, and the table
of those medians' posterior mean and interval.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.results._common import (
    Interval,
    _band_args,
    _chunks,
    _flat_beta,
    _interval,
    _level_map,
    _to_dataarray,
)
from winback.errors import WinbackError, list_valid
from winback.settings import BAND

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel

log = logging.getLogger("winback")


def _price(model: HBModel) -> str:
    study = model.study
    pa = study.price_attribute
    if pa is None:
        raise WinbackError(
            "willingness to pay needs a price attribute: set [study] price_attribute (or name "
            f"an attribute 'price'), coded linear. Attributes: {list_valid(study.attribute_names)}."
        )
    if study.attribute(pa).coding != "linear":
        raise WinbackError(
            f"willingness to pay needs the price attribute '{pa}' coded linear (one slope); it "
            f"is part-worth coded. Set coding = \"linear\" for '{pa}' in the study file and refit."
        )
    return pa


def _wtp_levels(model: HBModel) -> tuple[list[str], list[str], list[str], np.ndarray]:
    """(attribute, level, reference, matrix): utility difference to the reference per level.

    With ``[[interactions]]`` the difference is taken at the reference level of every other
    attribute (the reference price included): the main effects.
    """
    study = model.study
    pa = _price(model)
    lv = _level_map(study, model.names, average_interactions=False)
    attrs, levels, refs, rows = [], [], [], []
    for a in study.attributes:
        if a.name == pa:
            continue
        idx = [i for i in range(lv.n_attribute_levels) if lv.attribute[i] == a.name]
        for i in idx[1:]:
            attrs.append(a.name)
            levels.append(lv.level[i])
            refs.append(lv.level[idx[0]])
            rows.append(lv.matrix[i] - lv.matrix[idx[0]])
    return attrs, levels, refs, np.array(rows).reshape(-1, len(model.names))


def _slope_rows(model: HBModel) -> np.ndarray | None:
    """(level, parameter) the price slope of each WTP level's product, or None when the price
    interacts with no attribute (one slope for every level).

    With a declared interaction ``price x a`` the slope of a product at level ``l`` of ``a``
    (the other attributes at their reference levels) is the price slope plus the interaction's
    coefficient for ``l`` (times ``l``'s value less the reference value, ``a`` linear).
    """
    study = model.study
    pa = _price(model)
    with_price = [i for i in study.interactions if pa in i.attributes]
    if not with_price:
        return None
    names = model.names
    by_name = {a.name: a for a in study.attributes}
    out = []
    for a in study.attributes:
        if a.name == pa:
            continue
        inter = next((i for i in with_price if a.name in i.attributes), None)
        x = np.asarray(a.levels, dtype=float) if a.coding == "linear" else None
        for li in range(1, a.n_levels):
            row = np.zeros(len(names))
            row[names.index(pa)] = 1.0
            if inter is not None:
                cols = [names.index(c) for c in inter.column_names(by_name)]
                if x is not None:
                    row[cols[0]] = x[li] - x[0]
                else:
                    row[cols[li - 1]] = 1.0
            out.append(row)
    return np.array(out).reshape(-1, len(names))


def wtp_draws(model: HBModel) -> xr.DataArray:
    """Willingness to pay per draw (chain, draw, respondent, level), in price units.

    ``-(utility of the level - utility of the reference level) / price slope``; NaN where the
    respondent's price slope in that draw is not negative (no meaningful WTP).

    Examples
    --------
    >>> w = wtp_draws(model)  # doctest: +SKIP
    >>> w.median("respondent").mean(("chain", "draw"))  # doctest: +SKIP
    """
    pa = _price(model)
    attrs, levels, refs, diff = _wtp_levels(model)
    beta = model.beta_draws()
    rows = _slope_rows(model)
    if rows is None:
        slope = beta[..., model.names.index(pa)][..., None]
    else:  # each level's own price slope (a declared price interaction)
        slope = np.einsum("cdnk,lk->cdnl", beta, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        wtp = -np.einsum("cdnk,lk->cdnl", beta, diff) / slope
    wtp = np.where(slope < 0, wtp, np.nan)
    return _to_dataarray(
        wtp,
        model,
        ("chain", "draw", "respondent", "level"),
        {
            "level": [f"{a}[{lv}]" for a, lv in zip(attrs, levels, strict=True)],
            "attribute": ("level", attrs),
            "label": ("level", levels),
            "reference": ("level", refs),
        },
        "wtp",
    )


def _wtp_medians(
    model: HBModel,
) -> tuple[list[str], list[str], list[str], np.ndarray, np.ndarray]:
    """(attribute, level, reference, medians (sample, level), slope >= 0 (sample, respondent)).

    Per posterior draw, the median WTP across the respondents whose price slope is negative
    in that draw (NaN where no respondent's is).
    """
    pa = _price(model)
    attrs, levels, refs, diff = _wtp_levels(model)
    beta = _flat_beta(model)  # (S, N, K)
    rows = _slope_rows(model)
    slope = (
        beta[..., model.names.index(pa)][..., None]  # (S, N, 1): one slope
        if rows is None
        else np.einsum("snk,lk->snl", beta, rows)  # (S, N, L): each level's own slope
    )
    bad3 = slope >= 0
    medians = np.empty((beta.shape[0], len(attrs)))
    for sl in _chunks(beta.shape[0], beta.shape[1] * max(1, len(attrs))):
        b, s = beta[sl], slope[sl]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = -np.einsum("snk,lk->snl", b, diff) / s
        w = np.where(bad3[sl], np.nan, w)
        all_bad = np.broadcast_to(bad3[sl], w.shape).all(axis=1)  # (s, L)
        safe = np.where(all_bad[:, None, :], 0.0, w)
        m = np.nanmedian(safe, axis=1)
        medians[sl] = np.where(all_bad, np.nan, m)
    # (S, N): with one slope per level, a respondent counts as excluded in the share of levels
    bad = bad3[..., 0] if rows is None else bad3.mean(axis=-1)
    if np.isnan(medians).all():
        raise WinbackError(
            f"no respondent has a negative price slope ('{pa}') in any draw: willingness to pay "
            "is not defined. Check the price coding, or fit with constraints='price'."
        )
    return attrs, levels, refs, medians, bad


def wtp_median_draws(model: HBModel) -> xr.DataArray:
    """The median willingness to pay across respondents, per draw (chain, draw, level).

    The draws behind :func:`willingness_to_pay`'s table (NaN in a draw where no respondent's
    price slope is negative), e.g. to contrast two survey waves.

    Examples
    --------
    >>> m = wtp_median_draws(model)  # doctest: +SKIP
    >>> m.sel(level="speed[1 Gbps]").quantile([0.05, 0.95])  # doctest: +SKIP
    """
    import xarray as xr

    attrs, levels, refs, medians, _ = _wtp_medians(model)
    post = model.idata_["posterior"]
    chain = post.coords["chain"].to_numpy()
    draw = post.coords["draw"].to_numpy()
    return xr.DataArray(
        medians.reshape(len(chain), len(draw), len(attrs)),
        dims=("chain", "draw", "level"),
        coords={
            "chain": chain,
            "draw": draw,
            "level": [f"{a}[{lv}]" for a, lv in zip(attrs, levels, strict=True)],
            "attribute": ("level", attrs),
            "label": ("level", levels),
            "reference": ("level", refs),
        },
        name="wtp_median",
    )


def willingness_to_pay(
    model: HBModel,
    *,
    band: float = BAND,
    band_kind: Interval = "eti",
    hdi_prob: float | None = None,
    interval: Interval | None = None,
) -> pd.DataFrame:
    """Willingness to pay for each level over its attribute's reference level.

    Computed per respondent and posterior draw as ``-(part-worth of the level - part-worth of
    the reference level) / price slope`` (never as a ratio of means), summarised as the median
    across respondents in each draw, then the posterior mean and equal-tailed band (90% by default) of
    that median across draws. Respondents whose price slope is not negative in a draw have no
    meaningful WTP: they are left out of that draw's median and counted
    (``share_slope_nonnegative``: the posterior mean share of such respondents; with
    ``constraints="price"`` it is 0). Needs a linear price attribute.

    Returns
    -------
    DataFrame
        ``attribute, level, reference, wtp, lower, upper, unit, share_slope_nonnegative,
        n_excluded`` (the mean number of respondents left out per draw).

    Raises
    ------
    WinbackError
        Without a linear price attribute.

    Examples
    --------
    >>> willingness_to_pay(model)  # doctest: +SKIP
    """
    band, band_kind = _band_args(band, band_kind, hdi_prob, interval, "willingness_to_pay")
    pa = _price(model)
    attrs, levels, refs, medians, bad = _wtp_medians(model)
    share = float(np.mean(bad))
    if share > 0:
        log.info(
            "willingness to pay: %.1f%% of respondent draws have a price slope >= 0 and are "
            "left out of the medians",
            100 * share,
        )
    lo, hi = _interval(medians, band, band_kind)
    pattr = model.study.attribute(pa)
    unit = pattr.unit or model.study.currency
    return pd.DataFrame(
        {
            "attribute": attrs,
            "level": levels,
            "reference": refs,
            "wtp": np.nanmean(medians, axis=0),
            "lower": lo,
            "upper": hi,
            "unit": unit,
            "share_slope_nonnegative": share,
            "n_excluded": float(bad.sum(axis=1).mean()),
        }
    )
