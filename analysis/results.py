"""Results of a fitted HB-MNL as tidy tables: part-worths, importances, WTP, fit and validation.

Every function takes an :class:`analysis.HBModel` and returns a tidy ``DataFrame`` (the view for
people and Excel); the ``*_draws`` functions return the posterior draws behind a table as a named
``xarray.DataArray`` (the view for rigour). Posterior summaries are the posterior **mean** and a
**94% equal-tailed interval** (the 3% and 97% quantiles of the draws) unless ``hdi_prob`` or
``interval="hdi"`` say otherwise. Nothing here changes the model.

Sawtooth Software's names are used where they exist: RLH (root likelihood), percent certainty,
zero-centred diffs, attribute importances.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from analysis.data import ChoiceArrays, prepare_choice_data
from conjoint.encoding import make_encoding
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, list_valid
from winback.study import Study, format_level

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel

log = logging.getLogger("winback")

Interval = Literal["eti", "hdi"]

#: values per chunk of draws x observations x alternatives kept in memory at once
_CHUNK_VALUES = 4_000_000


# --------------------------------------------------------------------------------------------
# Helpers: draws, intervals, the level map
# --------------------------------------------------------------------------------------------


def _flat_beta(model: HBModel) -> np.ndarray:
    """Individual draws as (sample, respondent, parameter), chains concatenated."""
    b = model.beta_draws()
    return b.reshape(-1, b.shape[2], b.shape[3])


def _chunks(n_samples: int, per_sample: int) -> Iterator[slice]:
    step = max(1, _CHUNK_VALUES // max(1, per_sample))
    for start in range(0, n_samples, step):
        yield slice(start, min(n_samples, start + step))


def _check_prob(hdi_prob: float, interval: str) -> None:
    if not 0.0 < hdi_prob < 1.0:
        raise WinbackError(f"hdi_prob must be between 0 and 1 (exclusive), got {hdi_prob!r}.")
    if interval not in ("eti", "hdi"):
        raise WinbackError(f"interval must be 'eti' or 'hdi', got {interval!r}.")


def _interval(
    samples: np.ndarray, hdi_prob: float, interval: Interval
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds over the first axis (the draws); NaN draws are skipped."""
    import arviz as az

    x = np.moveaxis(np.asarray(samples, dtype=float), 0, -1)
    if interval == "hdi":
        bounds = np.asarray(az.hdi(x, prob=hdi_prob, skipna=True))
    else:
        bounds = np.asarray(az.eti(x, prob=hdi_prob, skipna=True))
    return bounds[..., 0], bounds[..., 1]


@dataclass(frozen=True)
class _Levels:
    """Every level of every attribute (and the constants) as a linear map of the parameters.

    ``matrix`` (n_levels, n_parameters): the utility of level ``l`` is ``matrix[l] @ beta``, as
    in :func:`analysis.partworth_table` (reference level 0, linear: slope x value).
    """

    attribute: tuple[str, ...]
    level: tuple[str, ...]
    matrix: np.ndarray
    n_attribute_levels: int  # the first rows are attribute levels, then the constants

    @property
    def keys(self) -> list[str]:
        return [f"{a}[{lv}]" for a, lv in zip(self.attribute, self.level, strict=True)]


def _level_map(study: Study, names: list[str]) -> _Levels:
    k = len(names)
    attrs: list[str] = []
    levels: list[str] = []
    rows: list[np.ndarray] = []
    for a in study.attributes:
        for i, v in enumerate(a.levels):
            row = np.zeros(k)
            if a.coding == "linear":
                row[names.index(a.name)] = float(v)
            elif i > 0:
                row[names.index(f"{a.name}[{format_level(v)}]")] = 1.0
            attrs.append(a.name)
            levels.append(format_level(v))
            rows.append(row)
    n_attr = len(rows)
    for const in ("none", "status_quo"):
        if const in names:
            row = np.zeros(k)
            row[names.index(const)] = 1.0
            attrs.append(const)
            levels.append(const)
            rows.append(row)
    return _Levels(tuple(attrs), tuple(levels), np.array(rows).reshape(-1, k), n_attr)


def _ranges(beta: np.ndarray, study: Study, names: list[str]) -> np.ndarray:
    """Range (max - min level utility) of each attribute: (..., K) -> (..., n_attributes)."""
    out = np.empty((*beta.shape[:-1], len(study.attributes)))
    for j, a in enumerate(study.attributes):
        if a.coding == "linear":
            values = np.asarray(a.levels, dtype=float)
            out[..., j] = np.abs(beta[..., names.index(a.name)]) * (values.max() - values.min())
        else:
            cols = [names.index(f"{a.name}[{format_level(v)}]") for v in a.levels[1:]]
            sub = beta[..., cols]
            # the reference level's utility is 0
            out[..., j] = np.maximum(sub.max(axis=-1), 0.0) - np.minimum(sub.min(axis=-1), 0.0)
    return out


def _to_dataarray(
    values: np.ndarray, model: HBModel, dims: tuple[str, ...], coords: dict[str, Any], name: str
) -> xr.DataArray:
    import xarray as xr

    post = model.idata_["posterior"]
    base = {
        "chain": post.coords["chain"].to_numpy(),
        "draw": post.coords["draw"].to_numpy(),
        "respondent": list(model.respondent_ids),
    }
    return xr.DataArray(values, dims=dims, coords={**base, **coords}, name=name)


# --------------------------------------------------------------------------------------------
# Part-worths
# --------------------------------------------------------------------------------------------


def individual_partworths(model: HBModel) -> pd.DataFrame:
    """Posterior mean part-worths of every respondent: ``respondent_id, attribute, level, utility``.

    The same table as :meth:`HBModel.partworths`: the reference level (first listed) is 0,
    a linear attribute's utility is slope x value at each tested value, the none alternative
    is attribute ``none`` (and a status quo ``status_quo``). Sawtooth calls these "raw"
    (not zero-centred) utilities.

    Examples
    --------
    >>> from analysis.results import individual_partworths
    >>> individual_partworths(model).head()  # doctest: +SKIP
    """
    return model.partworths()


def individual_draws(model: HBModel) -> xr.DataArray:
    """The individual part-worth draws ``beta`` (chain, draw, respondent, parameter).

    On the original scale of the design columns (dummy coding, linear attributes per unit).

    Examples
    --------
    >>> beta = individual_draws(model)  # doctest: +SKIP
    >>> beta.sel(parameter="price").mean(("chain", "draw"))  # doctest: +SKIP
    """
    out: xr.DataArray = model.idata_["posterior"]["beta"].copy()
    return out


def respondent_draws(model: HBModel, n: int = 2000, *, random_seed: int = 0) -> pd.DataFrame:
    """Part-worths of ``n`` respondents drawn from the fitted model's posterior.

    Each row is one posterior draw of one respondent, both picked at random (with
    replacement): together they follow the posterior predictive distribution of the sample's
    part-worths, heterogeneity and estimation uncertainty included, sign constraints
    respected. Made for ``surveys.flag_quality(part_worths=...)``, which simulates genuine
    respondents from them to calibrate its random-responder cutoff; fit with the flagged
    random responders excluded, or they will be simulated as genuine too.

    Parameters
    ----------
    model : HBModel
    n : int
        Number of rows (at least 1).
    random_seed : int

    Returns
    -------
    DataFrame
        One row per draw (``respondent_id`` and ``draw`` say which), one column per parameter.

    Examples
    --------
    >>> from analysis.results import respondent_draws
    >>> from surveys import flag_quality
    >>> data = flag_quality(data, part_worths=respondent_draws(model))  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise WinbackError(f"n must be a whole number of draws >= 1, got {n!r}.")
    beta = _flat_beta(model)  # (sample, respondent, parameter)
    rng = np.random.default_rng(random_seed)
    s = rng.integers(0, beta.shape[0], size=n)
    r = rng.integers(0, beta.shape[1], size=n)
    out = pd.DataFrame(beta[s, r], columns=list(model.names))
    ids = np.asarray(model.respondent_ids, dtype=object)
    out.insert(0, "draw", s)
    out.insert(0, "respondent_id", ids[r])
    return out.set_index(["respondent_id", "draw"])


def level_utility_draws(model: HBModel) -> xr.DataArray:
    """Utility of every level per draw (chain, draw, respondent, level).

    Coordinates ``level`` (``attribute[level]``), ``attribute`` and ``label``; the same
    convention as :func:`individual_partworths`.

    Examples
    --------
    >>> u = level_utility_draws(model)  # doctest: +SKIP
    >>> u.sel(level="speed[1 Gbps]").mean(("chain", "draw"))  # doctest: +SKIP
    """
    lv = _level_map(model.study, model.names)
    values = np.einsum("cdnk,lk->cdnl", model.beta_draws(), lv.matrix)
    return _to_dataarray(
        values,
        model,
        ("chain", "draw", "respondent", "level"),
        {
            "level": lv.keys,
            "attribute": ("level", list(lv.attribute)),
            "label": ("level", list(lv.level)),
        },
        "utility",
    )


def zero_centered_diffs(model: HBModel) -> pd.DataFrame:
    """Sawtooth's zero-centred diffs of every respondent's posterior mean part-worths.

    Per respondent: the part-worths of each attribute are centred to sum to zero, then all are
    scaled by one factor so that the ranges (best minus worst level) add up to 100 x the number
    of attributes, so that respondents with more or less consistent answers (larger or smaller
    utility scale) can be averaged and compared. A linear attribute is evaluated at its tested
    values. The none alternative (and a status quo) is put on the same scale: its utility
    relative to the centred attributes, times the same factor, so that the difference between
    any product and none is preserved.

    As Sawtooth's, they are computed from the point estimates (posterior mean part-worths).

    Returns
    -------
    DataFrame
        ``respondent_id, attribute, level, utility``.

    Examples
    --------
    >>> zc = zero_centered_diffs(model)  # doctest: +SKIP
    >>> zc.groupby(["attribute", "level"], sort=False)["utility"].mean()  # doctest: +SKIP
    """
    study = model.study
    lv = _level_map(study, model.names)
    beta = model.beta_mean().to_numpy()  # (N, K)
    util = beta @ lv.matrix.T  # (N, L)
    attr_idx = np.array(
        [study.attribute_names.index(a) for a in lv.attribute[: lv.n_attribute_levels]]
    )
    n_attr = len(study.attributes)
    centred = util.copy()
    means = np.zeros((util.shape[0], n_attr))
    ranges = np.zeros((util.shape[0], n_attr))
    for j in range(n_attr):
        cols = np.flatnonzero(attr_idx == j)
        means[:, j] = util[:, cols].mean(axis=1)
        ranges[:, j] = util[:, cols].max(axis=1) - util[:, cols].min(axis=1)
        centred[:, cols] = util[:, cols] - means[:, [j]]
    total = ranges.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total > 0, 100.0 * n_attr / total, np.nan)
    # constants: a product's utility is (sum of centred levels) + (sum of attribute means), so
    # none relative to the centred scale is none - sum of means; a status quo carries its levels
    # (fixed, or each respondent's own plan), so only its constant is kept
    for c in range(lv.n_attribute_levels, len(lv.attribute)):
        if lv.attribute[c] == "status_quo":
            continue
        centred[:, c] = util[:, c] - means.sum(axis=1)
    scaled = centred * factor[:, None]
    n = len(model.respondent_ids)
    out = pd.DataFrame(
        {
            "respondent_id": np.repeat(
                np.asarray(model.respondent_ids, dtype=object), len(lv.attribute)
            ),
            "attribute": np.tile(np.asarray(lv.attribute, dtype=object), n),
            "level": np.tile(np.asarray(lv.level, dtype=object), n),
            "utility": scaled.ravel(),
        }
    )
    return out


# --------------------------------------------------------------------------------------------
# Importances
# --------------------------------------------------------------------------------------------


def importance_draws(model: HBModel) -> xr.DataArray:
    """Attribute importances per draw (chain, draw, respondent, attribute), in percent.

    For each draw and respondent, an attribute's range (best minus worst level utility at the
    tested levels) divided by the sum of the ranges, x 100: they add up to 100.

    Examples
    --------
    >>> imp = importance_draws(model)  # doctest: +SKIP
    >>> imp.mean("respondent").quantile([0.03, 0.97], ("chain", "draw"))  # doctest: +SKIP
    """
    study = model.study
    ranges = _ranges(model.beta_draws(), study, model.names)
    total = ranges.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        imp = np.where(total > 0, 100.0 * ranges / total, np.nan)
    return _to_dataarray(
        imp,
        model,
        ("chain", "draw", "respondent", "attribute"),
        {"attribute": study.attribute_names},
        "importance",
    )


def importances(
    model: HBModel,
    *,
    by_respondent: bool = False,
    hdi_prob: float = 0.94,
    interval: Interval = "eti",
) -> pd.DataFrame:
    """Attribute importances (percent): posterior mean and 94% equal-tailed interval.

    Importance of an attribute for a respondent = its range (best minus worst level utility;
    for a linear attribute |slope| x (highest - lowest tested value)) / sum of all attributes'
    ranges x 100, computed per posterior draw (never from averaged part-worths). The
    population table averages the respondents' importances in each draw and summarises the
    draws of that average.

    Sawtooth computes importances from the point estimates; per-draw ranges include posterior
    noise, so small attributes come out slightly larger here than there.

    Parameters
    ----------
    model : HBModel
    by_respondent : bool
        One row per respondent and attribute (interval over that respondent's draws).
    hdi_prob : float
        Probability of the interval (0.94).
    interval : {"eti", "hdi"}
        Equal-tailed (default) or highest-density interval.

    Returns
    -------
    DataFrame
        ``attribute, mean, lower, upper`` (``respondent_id`` first with ``by_respondent``).

    Examples
    --------
    >>> importances(model)  # doctest: +SKIP
    """
    _check_prob(hdi_prob, interval)
    study = model.study
    imp = importance_draws(model).to_numpy()
    s = imp.reshape(-1, imp.shape[2], imp.shape[3])  # (S, N, A)
    names = study.attribute_names
    if by_respondent:
        lo, hi = _interval(s, hdi_prob, interval)  # (N, A)
        n = s.shape[1]
        return pd.DataFrame(
            {
                "respondent_id": np.repeat(
                    np.asarray(model.respondent_ids, dtype=object), len(names)
                ),
                "attribute": np.tile(np.asarray(names, dtype=object), n),
                "mean": np.nanmean(s, axis=0).ravel(),
                "lower": lo.ravel(),
                "upper": hi.ravel(),
            }
        )
    avg = np.nanmean(s, axis=1)  # (S, A)
    lo, hi = _interval(avg, hdi_prob, interval)
    return pd.DataFrame({"attribute": names, "mean": avg.mean(axis=0), "lower": lo, "upper": hi})


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------


def population(
    model: HBModel, *, hdi_prob: float = 0.94, interval: Interval = "eti"
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
    _check_prob(hdi_prob, interval)
    post = model.idata_["posterior"]
    mu = post["mu"].to_numpy().reshape(-1, len(model.names))
    sd = post["sd"].to_numpy().reshape(-1, len(model.names))
    mlo, mhi = _interval(mu, hdi_prob, interval)
    slo, shi = _interval(sd, hdi_prob, interval)
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
    hdi_prob: float = 0.94,
    interval: Interval = "eti",
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
    _check_prob(hdi_prob, interval)
    da = population_covariance_draws(model, kind)
    k = len(model.names)
    v = da.to_numpy().reshape(-1, k, k)
    lo, hi = _interval(v, hdi_prob, interval)
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


# --------------------------------------------------------------------------------------------
# Willingness to pay
# --------------------------------------------------------------------------------------------


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
    """(attribute, level, reference, matrix): utility difference to the reference per level."""
    study = model.study
    pa = _price(model)
    lv = _level_map(study, model.names)
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
    slope = beta[..., model.names.index(pa)]
    with np.errstate(divide="ignore", invalid="ignore"):
        wtp = -np.einsum("cdnk,lk->cdnl", beta, diff) / slope[..., None]
    wtp = np.where((slope < 0)[..., None], wtp, np.nan)
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
    slope = beta[..., model.names.index(pa)]  # (S, N)
    bad = slope >= 0
    medians = np.empty((beta.shape[0], len(attrs)))
    for sl in _chunks(beta.shape[0], beta.shape[1] * max(1, len(attrs))):
        b, s = beta[sl], slope[sl]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = -np.einsum("snk,lk->snl", b, diff) / s[..., None]
        w = np.where(bad[sl][..., None], np.nan, w)
        all_bad = bad[sl].all(axis=1)
        safe = np.where(all_bad[:, None, None], 0.0, w)
        m = np.nanmedian(safe, axis=1)
        medians[sl] = np.where(all_bad[:, None], np.nan, m)
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
    model: HBModel, *, hdi_prob: float = 0.94, interval: Interval = "eti"
) -> pd.DataFrame:
    """Willingness to pay for each level over its attribute's reference level.

    Computed per respondent and posterior draw as ``-(part-worth of the level - part-worth of
    the reference level) / price slope`` (never as a ratio of means), summarised as the median
    across respondents in each draw, then the posterior mean and 94% equal-tailed interval of
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
    _check_prob(hdi_prob, interval)
    pa = _price(model)
    attrs, levels, refs, medians, bad = _wtp_medians(model)
    share = float(bad.mean())
    if share > 0:
        log.info(
            "willingness to pay: %.1f%% of respondent draws have a price slope >= 0 and are "
            "left out of the medians",
            100 * share,
        )
    lo, hi = _interval(medians, hdi_prob, interval)
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


# --------------------------------------------------------------------------------------------
# Fit statistics and holdout validation
# --------------------------------------------------------------------------------------------


def _log_probs(arrays: ChoiceArrays, beta: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """Log probabilities (..., n_obs, n_alts); -inf for unavailable alternatives.

    ``beta`` is (..., n_respondents, K); ``resp`` the respondent index of each observation
    into its second-last axis.
    """
    b = beta[..., resp, :]  # (..., O, K)
    util = np.einsum("ojk,...ok->...oj", arrays.x, b)
    util = np.where(arrays.avail, util, -np.inf)
    out: np.ndarray = util - logsumexp(util, axis=-1, keepdims=True)
    return out


def _chosen_log_probs(
    arrays: ChoiceArrays, beta: np.ndarray, resp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(log probability of the chosen alternative, first choice hit) for (..., N, K) beta."""
    lp = _log_probs(arrays, beta, resp)
    obs = np.arange(arrays.n_obs)
    chosen = lp[..., obs, arrays.y]
    hit = lp.argmax(axis=-1) == arrays.y
    return chosen, hit


def fit_statistics(model: HBModel, *, summary: bool = False) -> pd.DataFrame:
    """In-sample fit of each respondent on the estimation tasks (Sawtooth's RLH, Pct. Cert.).

    - ``rlh``: root likelihood, the geometric mean probability of the chosen alternatives at
      the posterior mean part-worths (1 / number of alternatives for a random answerer, 1 for
      a perfectly predicted one); ``rlh_draws`` its posterior mean over draws, with
      ``rlh_lower``/``rlh_upper`` its 94% equal-tailed interval; ``rlh_chance`` the RLH of
      equal probabilities.
    - ``pct_cert``: percent certainty, ``1 - LL / LL0`` at the posterior mean (LL0: the
      log-likelihood of equal probabilities), 0 for chance and 1 for perfect prediction.
    - ``hit_rate``: share of tasks whose chosen alternative has the highest utility at the
      posterior mean part-worths.

    In-sample HB fit is optimistic (each respondent's part-worths are fitted to the same
    answers); holdout tasks give an honest check (:func:`holdout_validation`).

    Parameters
    ----------
    model : HBModel
    summary : bool
        One row per statistic over all respondents instead: ``statistic, value, description``.

    Returns
    -------
    DataFrame
        ``respondent_id, n_obs, rlh, rlh_draws, rlh_lower, rlh_upper, rlh_chance, pct_cert,
        hit_rate, log_lik, log_lik_null``.

    Examples
    --------
    >>> fit_statistics(model).rlh.describe()  # doctest: +SKIP
    >>> fit_statistics(model, summary=True)  # doctest: +SKIP
    """
    arrays = model.arrays_
    n = arrays.n_respondents
    resp = arrays.resp
    n_alt = arrays.avail.sum(axis=1)
    n_obs = np.bincount(resp, minlength=n).astype(float)
    ll0 = np.bincount(resp, weights=-np.log(n_alt), minlength=n)
    chosen, hit = _chosen_log_probs(arrays, model.beta_mean().to_numpy(), resp)
    ll = np.bincount(resp, weights=chosen, minlength=n)
    hits = np.bincount(resp, weights=hit.astype(float), minlength=n)
    beta = _flat_beta(model)
    rlh_s = np.empty((beta.shape[0], n))
    for sl in _chunks(beta.shape[0], arrays.x.shape[0] * arrays.x.shape[1] * 2):
        c, _ = _chosen_log_probs(arrays, beta[sl], resp)
        per = np.stack([np.bincount(resp, weights=row, minlength=n) for row in c])
        rlh_s[sl] = np.exp(per / n_obs)
    with np.errstate(divide="ignore", invalid="ignore"):
        rlh = np.exp(ll / n_obs)
        chance = np.exp(ll0 / n_obs)
        pct = 1.0 - ll / ll0
        hit_rate = hits / n_obs
    lo, hi = _interval(rlh_s, 0.94, "eti")
    table = pd.DataFrame(
        {
            "respondent_id": list(arrays.respondent_ids),
            "n_obs": n_obs.astype(int),
            "rlh": rlh,
            "rlh_draws": rlh_s.mean(axis=0),
            "rlh_lower": lo,
            "rlh_upper": hi,
            "rlh_chance": chance,
            "pct_cert": pct,
            "hit_rate": hit_rate,
            "log_lik": ll,
            "log_lik_null": ll0,
        }
    )
    if not summary:
        return table
    rows = [
        ("n_respondents", float(n), "respondents in the estimation"),
        ("n_obs", float(arrays.n_obs), "estimation observations (tasks, and dual follow-ups)"),
        ("rlh_mean", float(np.nanmean(rlh)), "mean RLH at the posterior mean part-worths"),
        ("rlh_median", float(np.nanmedian(rlh)), "median RLH at the posterior mean part-worths"),
        ("rlh_draws_mean", float(np.nanmean(rlh_s.mean(axis=0))), "mean posterior-mean RLH"),
        ("rlh_chance", float(np.nanmean(chance)), "mean RLH of equal probabilities"),
        ("pct_cert", float(1.0 - ll.sum() / ll0.sum()), "percent certainty, 1 - LL/LL0, pooled"),
        ("hit_rate", float(hits.sum() / n_obs.sum()), "in-sample first-choice hit rate"),
        ("hit_rate_chance", float(np.mean(1.0 / n_alt)), "hit rate of a random guess"),
        ("log_lik", float(ll.sum()), "log-likelihood at the posterior mean part-worths"),
        ("log_lik_null", float(ll0.sum()), "log-likelihood of equal probabilities"),
    ]
    return pd.DataFrame(rows, columns=["statistic", "value", "description"])


def _holdout_arrays(model: HBModel) -> ChoiceArrays | None:
    if not len(model.dataset_.holdout_choices()):
        return None
    return prepare_choice_data(model.dataset_, holdouts=True)


def _respondent_index(model: HBModel, ids: tuple[str, ...] | list[str]) -> np.ndarray:
    pos = {r: i for i, r in enumerate(model.respondent_ids)}
    unknown = [r for r in ids if r not in pos]
    if unknown:
        raise WinbackError(
            f"{len(unknown)} respondent(s) unknown to the fit: {list_valid(unknown[:10])}"
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + ". Predictions are for the fitted respondents only; refit with them included."
        )
    return np.array([pos[r] for r in ids], dtype=int)


def holdout_validation(
    model: HBModel,
    *,
    by_alternative: bool = False,
    hdi_prob: float = 0.94,
    interval: Interval = "eti",
) -> pd.DataFrame:
    """Out-of-sample check on the holdout tasks (fixed tasks kept out of estimation).

    Per holdout task (and kind: ``choice``, or ``dual`` for a dual-response follow-up):

    - ``hit_rate``: share of respondents whose chosen alternative has the highest utility at
      their posterior mean part-worths; ``hit_rate_draws`` the same averaged over draws;
      ``hit_rate_chance`` that of a random guess.
    - ``share_mae``: holdout share error, the mean absolute error over the task's alternatives
      between the predicted shares (average over respondents of the logit probabilities in
      each draw, then the posterior mean) and the observed choice shares.

    Parameters
    ----------
    model : HBModel
    by_alternative : bool
        One row per holdout alternative instead: ``task, holdout, kind, alt, observed_share,
        predicted_share, lower, upper, abs_error``.
    hdi_prob, interval
        Interval of the predicted shares.

    Returns
    -------
    DataFrame
        ``task, holdout, kind, n_respondents, n_alternatives, hit_rate, hit_rate_draws,
        hit_rate_chance, share_mae``. Empty (with ``attrs["note"]``) when the study has no
        holdout tasks.

    Examples
    --------
    >>> holdout_validation(model)  # doctest: +SKIP
    """
    _check_prob(hdi_prob, interval)
    cols_task = [
        "task",
        "holdout",
        "kind",
        "n_respondents",
        "n_alternatives",
        "hit_rate",
        "hit_rate_draws",
        "hit_rate_chance",
        "share_mae",
    ]
    cols_alt = [
        "task",
        "holdout",
        "kind",
        "alt",
        "observed_share",
        "predicted_share",
        "lower",
        "upper",
        "abs_error",
    ]
    arrays = _holdout_arrays(model)
    if arrays is None:
        out = pd.DataFrame(columns=cols_alt if by_alternative else cols_task)
        out.attrs["note"] = (
            "no holdout tasks among the included respondents: add [[holdouts]] to the study "
            "to validate predictions out of sample."
        )
        log.info("holdout validation: %s", out.attrs["note"])
        return out
    resp = _respondent_index(model, arrays.respondent_ids)[arrays.resp]
    point_lp = _log_probs(arrays, model.beta_mean().to_numpy(), resp)  # (O, J)
    point_hit = point_lp.argmax(axis=-1) == arrays.y
    beta = _flat_beta(model)
    n_s, n_o, n_j = beta.shape[0], arrays.n_obs, arrays.x.shape[1]
    obs = arrays.obs
    groups = [(key, grp.index.to_numpy()) for key, grp in obs.groupby(["task", "kind"], sort=True)]
    # per draw: each group's predicted shares and first-choice hits (not all probabilities)
    shares_all = np.empty((len(groups), n_s, n_j))
    draw_hits = np.zeros(len(groups))
    for sl in _chunks(n_s, n_o * (n_j + beta.shape[2]) * 2):
        p = np.exp(_log_probs(arrays, beta[sl], resp))  # (s, O, J)
        hit = p.argmax(axis=-1) == arrays.y  # (s, O)
        for g, (_, idx) in enumerate(groups):
            shares_all[g, sl] = p[:, idx].mean(axis=1)
            draw_hits[g] += hit[:, idx].sum()
    labels = _alt_labels(model, arrays)
    names = _holdout_names(model, arrays)
    task_rows, alt_rows = [], []
    for g, ((task, kind), idx) in enumerate(groups):
        avail = arrays.avail[idx].all(axis=0)
        shares = shares_all[g]  # (S, J)
        observed = np.bincount(arrays.y[idx], minlength=n_j) / len(idx)
        pred = shares.mean(axis=0)
        lo, hi = _interval(shares, hdi_prob, interval)
        err = np.abs(pred - observed)
        alts = labels.get((task, kind), [str(j + 1) for j in range(n_j)])
        for j in np.flatnonzero(avail):
            alt_rows.append(
                (
                    task,
                    names.get(task, ""),
                    kind,
                    alts[j],
                    observed[j],
                    pred[j],
                    lo[j],
                    hi[j],
                    err[j],
                )
            )
        task_rows.append(
            (
                task,
                names.get(task, ""),
                kind,
                len(idx),
                int(avail.sum()),
                float(point_hit[idx].mean()),
                float(draw_hits[g] / (n_s * len(idx))),
                float(np.mean(1.0 / arrays.avail[idx].sum(axis=1))),
                float(err[avail].mean()),
            )
        )
    if by_alternative:
        return pd.DataFrame(alt_rows, columns=cols_alt)
    return pd.DataFrame(task_rows, columns=cols_task)


def _alt_labels(model: HBModel, arrays: ChoiceArrays) -> dict[tuple[Any, str], list[str]]:
    """The ``alt`` labels of each holdout task's alternatives, in the order of the arrays."""
    ch = model.dataset_.holdout_choices()
    out: dict[tuple[Any, str], list[str]] = {}
    for task, grp in ch.groupby("task", sort=True):
        first = grp[grp["respondent_id"] == grp["respondent_id"].iloc[0]]
        out[(task, "choice")] = [str(a) for a in first["alt"]]
        out[(task, "dual")] = ["chosen", "none"]
    return out


def _holdout_names(model: HBModel, arrays: ChoiceArrays) -> dict[Any, str]:
    """Holdout names from the study, when the tasks match its [[holdouts]] (appended in order)."""
    tasks = sorted(pd.unique(arrays.obs["task"]))
    names = [h.name for h in model.study.holdouts]
    if len(tasks) != len(names):
        return {}
    return dict(zip(tasks, names, strict=True))


# --------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------


def _design_rows(study: Study, frame: pd.DataFrame, source: str) -> np.ndarray:
    """Model rows of a canonical long table (one row per alternative), as the estimation."""
    enc = make_encoding(study)
    rows = np.zeros((len(frame), enc.n_parameters))
    alt = frame["alt"].astype("string").fillna("").to_numpy(dtype=str)
    special = np.isin(alt, ["none", "status_quo"])
    problems: list[str] = []
    for a, attr in enumerate(study.attributes):
        col = frame[attr.name]
        idx = np.array([-1 if pd.isna(v) else attr.index_of(v) for v in col], dtype=int)
        bad = (idx < 0) & ~col.isna().to_numpy() | ((idx < 0) & ~special)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(
                f"Unknown or missing level {col.iloc[i]!r} for attribute '{attr.name}' "
                f"({int(bad.sum())} row(s), first: row {i + 1} of {source}). Valid levels: "
                f"{list_valid(attr.level_labels())}."
            )
        ok = idx >= 0
        rows[ok] += enc.tables[a][idx[ok]]
    if problems:
        raise WinbackError("\n".join(problems))
    if (alt == "none").any():
        if enc.none_index is None:
            raise WinbackError(f"{source} has 'none' rows but the study has no none option.")
        rows[alt == "none"] = 0.0
        rows[alt == "none", enc.none_index] = 1.0
    if (alt == "status_quo").any():
        if enc.sq_index is None:
            raise WinbackError(f"{source} has 'status_quo' rows but the study has no status quo.")
        rows[alt == "status_quo", enc.sq_index] = 1.0
    return rows


def predict(model: HBModel, data: pd.DataFrame | ChoiceDataset) -> pd.DataFrame:
    """Predicted choice probability of every alternative for the fitted respondents.

    Each alternative's probability is the posterior mean over draws of its logit probability
    among the alternatives of the same task (``respondent_id, task``) at that respondent's
    part-worths. With dual-response none, the table's rows (without the follow-up) are the
    choice set.

    Parameters
    ----------
    model : HBModel
    data : DataFrame or ChoiceDataset
        The canonical long table (``respondent_id, task, alt`` and one column per attribute,
        empty on the none row), e.g. new scenarios for fitted respondents; a ChoiceDataset
        gives its included respondents' choices, holdouts included.

    Returns
    -------
    DataFrame
        A copy of the table with a column ``probability`` (adding to 1 within each task).

    Raises
    ------
    WinbackError
        For respondents the model was not fitted to (named), unknown levels, missing columns.

    Examples
    --------
    >>> pred = predict(model, dataset)  # doctest: +SKIP
    >>> pred.groupby(["respondent_id", "task"])["probability"].sum()  # doctest: +SKIP
    """
    study = model.study
    if isinstance(data, ChoiceDataset):
        frame = data.included_choices(holdouts=True)
        source = "the dataset's choices"
    else:
        frame = data.copy()
        source = "the table"
    need = ["respondent_id", "task", "alt", *study.attribute_names]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise WinbackError(
            f"predict: {source} lacks column(s) {list_valid(missing)}; it needs {list_valid(need)}."
        )
    out = frame.reset_index(drop=True) if isinstance(data, ChoiceDataset) else frame
    if out.empty:
        return out.assign(probability=pd.Series(dtype=float))
    ids = out["respondent_id"].astype(str).to_numpy()
    known = set(model.respondent_ids)
    unknown = list(dict.fromkeys(r for r in ids if r not in known))
    if unknown:
        raise WinbackError(
            f"predict: {len(unknown)} respondent(s) unknown to the fit: "
            f"{list_valid(unknown[:10])}" + (" ..." if len(unknown) > 10 else "") + ". "
            "Only fitted respondents can be predicted (new respondents would need the "
            "population distribution)."
        )
    x = _design_rows(study, out, source)
    resp = _respondent_index(model, list(ids))
    group = pd.factorize(pd.MultiIndex.from_arrays([ids, out["task"].to_numpy()]))[0]
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    gidx = np.cumsum(np.r_[False, g_sorted[1:] != g_sorted[:-1]])
    xs, rs = x[order], resp[order]
    beta = _flat_beta(model)
    total = np.zeros(len(out))
    for sl in _chunks(beta.shape[0], len(out) * 2):
        util = np.einsum("rk,srk->sr", xs, beta[sl][:, rs, :])
        m = np.maximum.reduceat(util, starts, axis=1)
        e = np.exp(util - m[:, gidx])
        p = e / np.add.reduceat(e, starts, axis=1)[:, gidx]
        total += p.sum(axis=0)
    prob = np.empty(len(out))
    prob[order] = total / beta.shape[0]
    out = out.copy()
    out["probability"] = prob
    return out
