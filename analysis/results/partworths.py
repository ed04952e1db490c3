"""Part-worths and attribute importances of a fitted HB-MNL.

Each respondent's posterior mean part-worths, their draws, a sample of respondent draws (for the
quality flags' random-responder cutoff), every level's utility per draw, Sawtooth's zero-centred
diffs, and the attribute importances (range of an attribute's level utilities over the sum of
the ranges, per draw) with their posterior intervals.
"""

from __future__ import annotations

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
    _ranges,
    _to_dataarray,
    importance_names,
)
from winback.errors import WinbackError
from winback.settings import BAND
from winback.study.labels import LABEL

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel
    from winback.study import Study


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
        if lv.attribute[c] in ("status_quo", LABEL):
            continue  # a label constant is a difference between labels, as is
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
    return _to_dataarray(
        _importance_values(model.beta_draws(), study, model.names),
        model,
        ("chain", "draw", "respondent", "attribute"),
        {"attribute": importance_names(study)},
        "importance",
    )


def _importance_values(beta: np.ndarray, study: Study, names: list[str]) -> np.ndarray:
    """Importances (percent) of part-worth draws: (..., K) -> (..., n_importances)."""
    ranges = _ranges(beta, study, names)
    total = ranges.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 100.0 * ranges / total, np.nan)


def importances(
    model: HBModel,
    *,
    by_respondent: bool = False,
    band: float = BAND,
    band_kind: Interval = "eti",
    hdi_prob: float | None = None,
    interval: Interval | None = None,
) -> pd.DataFrame:
    """Attribute importances (percent): posterior mean and equal-tailed band (90% by default).

    Importance of an attribute for a respondent = its range (best minus worst level utility;
    for a linear attribute |slope| x (highest - lowest tested value)) / sum of all attributes'
    ranges x 100, computed per posterior draw (never from averaged part-worths). The
    population table averages the respondents' importances in each draw and summarises the
    draws of that average. In a labelled design the labels count as one more attribute,
    ``label`` (its range: the largest difference between two labels' constants), as Sawtooth
    reports brand.

    Sawtooth computes importances from the point estimates; per-draw ranges include posterior
    noise, so small attributes come out slightly larger here than there.

    Parameters
    ----------
    model : HBModel
    by_respondent : bool
        One row per respondent and attribute (interval over that respondent's draws).
    band : float
        Probability of the band (``winback.settings.BAND``, 0.9).
    band_kind : {"eti", "hdi"}
        Equal-tailed (default) or highest-density band.
    hdi_prob, interval
        Former names of ``band`` and ``band_kind`` (deprecated).

    Returns
    -------
    DataFrame
        ``attribute, mean, lower, upper`` (``respondent_id`` first with ``by_respondent``).

    Examples
    --------
    >>> importances(model)  # doctest: +SKIP
    """
    band, band_kind = _band_args(band, band_kind, hdi_prob, interval, "importances")
    study = model.study
    names = importance_names(study)
    if not by_respondent:
        # each draw's average over respondents, a block of draws at a time: the importances
        # of every draw and respondent at once are several arrays of beta's size (2,000
        # respondents x 4,000 draws x 9 attributes: 0.6 GB each; benchmarks/fit_memory.py)
        beta = _flat_beta(model)  # (S, N, K)
        avg = np.empty((beta.shape[0], len(names)))
        for block in _chunks(beta.shape[0], beta.shape[1] * beta.shape[2]):
            avg[block] = np.nanmean(_importance_values(beta[block], study, model.names), axis=1)
        lo, hi = _interval(avg, band, band_kind)
        return pd.DataFrame(
            {"attribute": names, "mean": avg.mean(axis=0), "lower": lo, "upper": hi}
        )
    imp = importance_draws(model).to_numpy()
    s = imp.reshape(-1, imp.shape[2], imp.shape[3])  # (S, N, A)
    lo, hi = _interval(s, band, band_kind)  # (N, A)
    n = s.shape[1]
    return pd.DataFrame(
        {
            "respondent_id": np.repeat(np.asarray(model.respondent_ids, dtype=object), len(names)),
            "attribute": np.tile(np.asarray(names, dtype=object), n),
            "mean": np.nanmean(s, axis=0).ravel(),
            "lower": lo.ravel(),
            "upper": hi.ravel(),
        }
    )
