"""Helpers shared by the results modules: draws, intervals, the level map.

The individual draws flattened over chains and cut into memory-sized chunks, the posterior
interval (equal-tailed or HDI) of a set of draws, every level of every attribute as a linear map
of the parameters, attribute ranges, the wrapping of per-draw values as a named
``xarray.DataArray`` and the index of given respondents among a fit's. Nothing here is public:
:mod:`analysis.results` shows the tables built on them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from winback.errors import ParameterError, WinbackError, list_valid
from winback.settings import check_band
from winback.study import Study, format_level
from winback.study.labels import LABEL

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel

Interval = Literal["eti", "hdi"]

#: values per chunk of draws x observations x alternatives kept in memory at once
_CHUNK_VALUES = 4_000_000


def _flat_beta(model: HBModel) -> np.ndarray:
    """Individual draws as (sample, respondent, parameter), chains concatenated."""
    b = model.beta_draws()
    return b.reshape(-1, b.shape[2], b.shape[3])


def _chunks(n_samples: int, per_sample: int) -> Iterator[slice]:
    step = max(1, _CHUNK_VALUES // max(1, per_sample))
    for start in range(0, n_samples, step):
        yield slice(start, min(n_samples, start + step))


def _band_args(
    band: float,
    band_kind: str,
    hdi_prob: float | None,
    interval: str | None,
    where: str,
) -> tuple[float, Interval]:
    """The band probability and kind of a call, taking the former names ``hdi_prob`` (the
    probability) and ``interval`` (the kind) with a ``DeprecationWarning``."""
    for old, new in (("hdi_prob", "band"), ("interval", "band_kind")):
        if (hdi_prob if old == "hdi_prob" else interval) is not None:
            warnings.warn(
                f"{where}: '{old}' is now called '{new}'; the old name will go in a later version.",
                DeprecationWarning,
                stacklevel=3,
            )
    if hdi_prob is not None:
        band = hdi_prob
    if interval is not None:
        band_kind = interval
    band = check_band(band)
    if band_kind not in ("eti", "hdi"):
        raise ParameterError(f"band_kind must be 'eti' or 'hdi', got {band_kind!r}.")
    return band, band_kind  # type: ignore[return-value]


def _interval(samples: np.ndarray, band: float, kind: Interval) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds over the first axis (the draws); NaN draws are skipped."""
    import arviz as az

    x = np.moveaxis(np.asarray(samples, dtype=float), 0, -1)
    if kind == "hdi":
        bounds = np.asarray(az.hdi(x, prob=band, skipna=True))
    else:
        bounds = np.asarray(az.eti(x, prob=band, skipna=True))
    return bounds[..., 0], bounds[..., 1]


@dataclass(frozen=True)
class _Levels:
    """Every level of every attribute (and the constants) as a linear map of the parameters.

    ``matrix`` (n_levels, n_parameters): the utility of level ``l`` is ``matrix[l] @ beta``, as
    in :func:`analysis.partworth_table` (reference level 0, linear: slope x value). The
    constants follow the attribute levels: a labelled design's labels (attribute ``label``,
    the reference label 0), then ``none`` and ``status_quo``.
    """

    attribute: tuple[str, ...]
    level: tuple[str, ...]
    matrix: np.ndarray
    n_attribute_levels: int  # the first rows are attribute levels, then the constants

    @property
    def keys(self) -> list[str]:
        return [f"{a}[{lv}]" for a, lv in zip(self.attribute, self.level, strict=True)]


def _codes(study: Study, name: str) -> np.ndarray:
    """(n_levels, n_codes) an attribute's codes in an interaction (see conjoint.encoding)."""
    a = study.attribute(name)
    if a.coding == "linear":
        x = np.asarray(a.levels, dtype=float)
        return (x - x[0]).reshape(-1, 1)
    return np.vstack([np.zeros((1, a.n_levels - 1)), np.eye(a.n_levels - 1)])


def _level_map(study: Study, names: list[str], *, average_interactions: bool = True) -> _Levels:
    """The level map; with ``[[interactions]]`` a level's utility is averaged over the levels
    of each attribute it interacts with (each tested level equally), unless
    ``average_interactions`` is false (then: at their reference levels, the main effects)."""
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
    if average_interactions and study.interactions:
        by_name = {a.name: a for a in study.attributes}
        first: dict[str, int] = {}
        for pos, an in enumerate(attrs):
            first.setdefault(an, pos)
        for inter in study.interactions:
            cols = [names.index(c) for c in inter.column_names(by_name)]
            ca, cb = (_codes(study, n) for n in inter.attributes)
            for own, mine, other in ((0, ca, cb), (1, cb, ca)):
                avg = other.mean(axis=0)
                for i in range(len(mine)):
                    pair = (mine[i], avg) if own == 0 else (avg, mine[i])
                    rows[first[inter.attributes[own]] + i][cols] += np.kron(*pair)
    n_attr = len(rows)
    for i, lab in enumerate(study.labels):  # a labelled design's constants; reference 0
        row = np.zeros(k)
        if i:
            row[names.index(f"{LABEL}[{lab}]")] = 1.0
        attrs.append(LABEL)
        levels.append(lab)
        rows.append(row)
    for const in ("none", "status_quo"):
        if const in names:
            row = np.zeros(k)
            row[names.index(const)] = 1.0
            attrs.append(const)
            levels.append(const)
            rows.append(row)
    return _Levels(tuple(attrs), tuple(levels), np.array(rows).reshape(-1, k), n_attr)


def importance_names(study: Study) -> list[str]:
    """What importances are given for: the attributes, then ``label`` in a labelled design.

    The labels (brands) count as one more attribute whose levels are the labels, as
    Sawtooth reports brand in a labelled study: its range is the largest difference between
    two labels' constants (the reference label's is 0).
    """
    return [*study.attribute_names, *([LABEL] if study.labels else [])]


def _ranges(beta: np.ndarray, study: Study, names: list[str]) -> np.ndarray:
    """Range (max - min level utility) of each attribute, then of the labels in a labelled
    design (see :func:`importance_names`): (..., K) -> (..., n_importances)."""
    out = np.empty((*beta.shape[:-1], len(importance_names(study))))
    if study.labels:
        cols = [names.index(f"{LABEL}[{lab}]") for lab in study.label_constants]
        sub = beta[..., cols]
        out[..., -1] = np.maximum(sub.max(axis=-1), 0.0) - np.minimum(sub.min(axis=-1), 0.0)
    lv = _level_map(study, names) if study.interactions else None
    involved = {n for i in study.interactions for n in i.attributes}
    for j, a in enumerate(study.attributes):
        if lv is not None and a.name in involved:
            # the range of the level utilities averaged over the interacting attributes' levels
            rows = lv.matrix[[i for i, x in enumerate(lv.attribute) if x == a.name]]
            u = np.einsum("...k,lk->...l", beta, rows)
            out[..., j] = u.max(axis=-1) - u.min(axis=-1)
        elif a.coding == "linear":
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
