"""The population distribution of the part-worths: means, standard deviations, correlations.

The hierarchical model's population mean (``mu``) and standard deviation (``sd``) of every
parameter with posterior intervals, and the population covariance or correlation matrix, per
draw or as a long table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from analysis.hb import constraint_plan
from analysis.results._common import Interval, _band_args, _interval
from winback.errors import WinbackError
from winback.settings import BAND

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel


def population(
    model: HBModel,
    *,
    band: float = BAND,
    band_kind: Interval = "eti",
    hdi_prob: float | None = None,
    interval: Interval | None = None,
) -> pd.DataFrame:
    """Population means and standard deviations of the part-worths, with intervals.

    ``mean``/``lower``/``upper`` summarise the population mean (``mu``), ``sd_*`` the
    population standard deviation (``sd``: how much respondents differ), both on the original
    scale. For a sign-constrained parameter (e.g. ``constraints="price"``) they are the mean and
    standard deviation over respondents of its part-worths, in each draw.

    Returns
    -------
    DataFrame
        ``parameter, mean, lower, upper, sd_mean, sd_lower, sd_upper``.

    Examples
    --------
    >>> population(model)  # doctest: +SKIP
    """
    band, band_kind = _band_args(band, band_kind, hdi_prob, interval, "population")
    post = model.idata_["posterior"]
    mu = post["mu"].to_numpy().reshape(-1, len(model.names))
    sd = post["sd"].to_numpy().reshape(-1, len(model.names))
    mlo, mhi = _interval(mu, band, band_kind)
    slo, shi = _interval(sd, band, band_kind)
    return pd.DataFrame(
        {
            "parameter": list(model.names),
            "mean": mu.mean(axis=0),
            "lower": mlo,
            "upper": mhi,
            "sd_mean": sd.mean(axis=0),
            "sd_lower": slo,
            "sd_upper": shi,
        }
    )


def population_covariance_draws(
    model: HBModel, kind: Literal["covariance", "correlation"] = "correlation"
) -> xr.DataArray:
    """Population covariance or correlation of the part-worths per draw.

    Dims (chain, draw, parameter, parameter_bis). With a diagonal covariance fit the
    correlations are 0. Rows and columns of a sign-constrained parameter are the covariances
    over respondents of its part-worths in each draw (the model's correlation refers to its
    log).

    Examples
    --------
    >>> corr = population_covariance_draws(model)  # doctest: +SKIP
    >>> corr.sel(parameter="price", parameter_bis="none").mean()  # doctest: +SKIP
    """
    import xarray as xr

    if kind not in ("covariance", "correlation"):
        raise WinbackError(f"kind must be 'covariance' or 'correlation', got {kind!r}.")
    post = model.idata_["posterior"]
    corr = post["corr"].to_numpy()  # (c, d, K, K)
    sd = post["sd"].to_numpy()  # (c, d, K)
    cov = corr * sd[..., :, None] * sd[..., None, :]
    names = list(model.names)
    constrained = [names.index(p) for p in model.settings.constraints if p in names]
    if constrained:
        beta = model.beta_draws()  # (c, d, N, K)
        centred = beta - beta.mean(axis=2, keepdims=True)
        emp = np.einsum("cdnk,cdnl->cdkl", centred, centred) / beta.shape[2]
        for j in constrained:
            cov[..., j, :] = emp[..., j, :]
            cov[..., :, j] = emp[..., :, j]
    if kind == "correlation":
        with np.errstate(divide="ignore", invalid="ignore"):
            values = cov / (sd[..., :, None] * sd[..., None, :])
    else:
        values = cov
    return xr.DataArray(
        values,
        dims=("chain", "draw", "parameter", "parameter_bis"),
        coords={
            "chain": post.coords["chain"].to_numpy(),
            "draw": post.coords["draw"].to_numpy(),
            "parameter": names,
            "parameter_bis": names,
        },
        name=kind,
    )


def population_covariance(
    model: HBModel,
    kind: Literal["covariance", "correlation"] = "correlation",
    *,
    band: float = BAND,
    band_kind: Interval = "eti",
    hdi_prob: float | None = None,
    interval: Interval | None = None,
) -> pd.DataFrame:
    """The population correlation (or covariance) matrix of the part-worths, as a long table.

    Returns
    -------
    DataFrame
        ``parameter, parameter_bis, mean, lower, upper``: one row per pair (both orders, the
        diagonal included).

    Examples
    --------
    >>> corr = population_covariance(model)  # doctest: +SKIP
    >>> corr.pivot(index="parameter", columns="parameter_bis", values="mean")  # doctest: +SKIP
    """
    band, band_kind = _band_args(band, band_kind, hdi_prob, interval, "population_covariance")
    da = population_covariance_draws(model, kind)
    k = len(model.names)
    v = da.to_numpy().reshape(-1, k, k)
    lo, hi = _interval(v, band, band_kind)
    names = np.asarray(model.names, dtype=object)
    return pd.DataFrame(
        {
            "parameter": np.repeat(names, k),
            "parameter_bis": np.tile(names, k),
            "mean": v.mean(axis=0).ravel(),
            "lower": lo.ravel(),
            "upper": hi.ravel(),
        }
    )


def covariate_effects(model: HBModel, *, band: float = BAND) -> pd.DataFrame:
    """How the population mean of each part-worth moves with each respondent covariate.

    The model's population mean is ``mu + Gamma w_i`` (``w_i`` the respondent's covariates,
    centred): ``effect`` is the change in the part-worth per unit of the covariate (per unit
    of a ``maxdiff_<item>`` utility, or from the reference to the value of an indicator
    ``column[value]``), with its band. A sign-constrained parameter's effect is on the log of
    its size (``kind`` ``"log size"``: its part-worth is multiplied by ``exp(effect)``).

    Returns
    -------
    DataFrame
        ``covariate, parameter, kind, effect, lower, upper``; empty without covariates.

    Examples
    --------
    >>> covariate_effects(model).query("covariate == 'maxdiff_price_rise'")  # doctest: +SKIP
    """
    names = list(model.names)
    cov = list(model.arrays_.covariate_names)
    cols = ["covariate", "parameter", "kind", "effect", "lower", "upper"]
    post = model.idata_["posterior"]
    if not cov or "gamma_scaled" not in post:
        return pd.DataFrame(columns=cols)
    g = post["gamma_scaled"].transpose("chain", "draw", "covariate", "parameter").to_numpy()
    g = g.reshape(-1, len(cov), len(names))
    scale = np.asarray(model.arrays_.column_scale(), dtype=float)
    constrained = np.zeros(len(names), dtype=bool)
    for idx, _ in constraint_plan(names, model.settings.constraints):
        constrained[idx] = True
    # a scaled column's part-worth is theta / scale; a constrained one's theta is a log size
    effect = np.where(constrained, g, g / scale)
    lo, hi = _interval(effect.reshape(len(effect), -1), band, "eti")
    return pd.DataFrame(
        {
            "covariate": np.repeat(cov, len(names)),
            "parameter": np.tile(names, len(cov)),
            "kind": np.tile(np.where(constrained, "log size", "part-worth"), len(cov)),
            "effect": effect.mean(axis=0).ravel(),
            "lower": lo,
            "upper": hi,
        }
    )
