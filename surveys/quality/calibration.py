"""The random-responder cutoff, calibrated by simulation on this study's design.

Simulated genuine respondents (from given part-worths, the study's priors or the data's own
population, rescaled to fit the sample's RLH) and simulated random responders answer the same
tasks as the real ones and are estimated exactly as they are (:mod:`surveys.quality.fit`); the
cutoff is the conformal quantile of the genuine RLH at the false-flag rate, and the share of
random responders below it is the detection rate. ``_rlh`` gives every respondent's RLH, its
p-values against both simulated groups, the flag and the holdout hit rate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from conjoint.encoding import Encoding
from conjoint.priors import prior_draws
from surveys.dataset import ChoiceDataset
from surveys.quality.fit import EB_UPDATES, _modes, _population, _rlh_of, _situations
from surveys.quality.tasks import _Tasks
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

log = logging.getLogger("winback")


#: below this detection rate the flags warn that the design cannot tell random from genuine
MIN_DETECTION = 0.5
#: fewest respondents with choice tasks for RLH (the shrinkage is estimated across them)
MIN_RESPONDENTS_RLH = 2

#: largest share of random responders the mixture fit may give the sample
MAX_RANDOM_SHARE = 0.9
#: range and grid of the data population's scale factor (see ``_data_scale``), its
#: golden-section refinements and the number of simulated respondents each try uses
SCALE_RANGE = (0.5, 4.0)
SCALE_GRID = 12
SCALE_REFINE = 6
N_SCALE_FIT = 500
#: RLH values closer than this (relative) are equal: two respondents who gave the same answers
#: to the same tasks have the same RLH, whatever rounding separates their fits (the fits start
#: from different points and stop within 1e-7 of the mode), so a tie never turns on rounding
RLH_TIE = 1e-9


def _at_most(ordered: np.ndarray, v: np.ndarray | float) -> np.ndarray:
    """How many of the sorted RLH values ``ordered`` are ``v`` or lower (ties included)."""
    return np.searchsorted(ordered, v + RLH_TIE * np.abs(v), side="right")


def _below(ordered: np.ndarray, v: np.ndarray | float) -> np.ndarray:
    """How many of the sorted RLH values ``ordered`` are below ``v`` (ties excluded)."""
    return np.searchsorted(ordered, v - RLH_TIE * np.abs(v), side="left")


def _check_design(tasks: _Tasks, design: ChoiceDesign, dataset: ChoiceDataset) -> None:
    """The design must be the one the respondents answered (same attributes and shape)."""
    study = dataset.study
    if design.study.attribute_names != study.attribute_names:
        raise WinbackError(
            f"the design's attributes {list_valid(design.study.attribute_names)} are not the "
            f"dataset's {list_valid(study.attribute_names)}."
        )
    if tasks.n == 0:
        return
    t = tasks.x.shape[1]
    j = sum(a.isdigit() for a in tasks.alt)
    if (design.n_tasks, design.n_alternatives) != (t, j):
        raise WinbackError(
            f"the design has {design.n_tasks} tasks of {design.n_alternatives} alternatives; "
            f"the respondents answered {t} tasks of {j}: is it the design they saw?"
        )


def _templates(
    tasks: _Tasks, design: ChoiceDesign | None, dataset: ChoiceDataset, n: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Task rows and holdout masks of ``n`` simulated respondents."""
    if design is None:
        pick = np.arange(n) % tasks.n
        return tasks.x[pick], tasks.holdout[pick], "the tasks the respondents saw"
    study = dataset.study
    sq = study.status_quo
    if sq is not None and sq.levels is None:
        pick = np.arange(n) % tasks.n
        return (
            tasks.x[pick],
            tasks.holdout[pick],
            "the tasks the respondents saw (the status quo differs by respondent)",
        )
    enc = tasks.encoding
    per_version = []
    for v in range(design.n_versions):
        rows = [enc.encode(np.asarray(design.levels[v]))]
        t_, k = rows[0].shape[0], enc.n_parameters
        if "status_quo" in tasks.alt and enc.sq_index is not None:
            sq_row = np.zeros(k)
            sq_row[enc.sq_index] = 1.0
            if sq is not None and sq.levels is not None:
                sq_row += enc.encode(np.asarray(sq.levels))
            rows.append(np.broadcast_to(sq_row, (t_, 1, k)))
        if "none" in tasks.alt:
            rows.append(np.broadcast_to(enc.none_row(), (t_, 1, k)))
        per_version.append(np.concatenate(rows, axis=1))
    pick = np.arange(n) % design.n_versions
    x = np.stack(per_version)[pick]
    holdout = np.broadcast_to(np.asarray(design.holdout, dtype=bool), (n, design.n_tasks)).copy()
    return x, holdout, "the design's versions, dealt in turn"


@dataclass(frozen=True)
class _Genuine:
    """Where the simulated genuine respondents' part-worths come from: ``kind`` is
    "part_worths", "priors" or "data"; ``rows`` the given part-worths (canonical column
    order) for "part_worths"; ``label`` says it in words."""

    kind: str
    label: str
    rows: np.ndarray | None = None


def _genuine_source(
    genuine: str, part_worths: pd.DataFrame | None, study: Study, enc: Encoding
) -> _Genuine:
    """Resolve ``genuine`` ("auto" included) and check ``part_worths``; never overrides."""
    informative = study.priors.kind != "null"
    if part_worths is not None and genuine not in ("auto", "part_worths"):
        raise WinbackError(
            f'part_worths were given but genuine="{genuine}"; use genuine="part_worths" (or '
            '"auto") to simulate from them, or leave part_worths out.'
        )
    kind = genuine
    if genuine == "auto":
        kind = "part_worths" if part_worths is not None else "priors" if informative else "data"
    if kind == "part_worths":
        if part_worths is None:
            raise WinbackError(
                'genuine="part_worths" needs part_worths: a DataFrame of genuine respondents\' '
                "part-worths, e.g. analysis.respondent_draws(model) for a fitted model."
            )
        return _Genuine(kind, "given part-worths", _part_worth_rows(part_worths, enc))
    if kind == "priors":
        if not informative:
            raise WinbackError(
                'genuine="priors" but the study\'s [priors] are kind = "null" (every part-worth '
                "0, i.e. random answering); give [priors] mean and sd in the study file, or use "
                'genuine="data".'
            )
        return _Genuine(kind, f'the study\'s [priors] (kind = "{study.priors.kind}")')
    return _Genuine(kind, "estimated from the data")


def _part_worth_rows(part_worths: Any, enc: Encoding) -> np.ndarray:
    names = list(enc.names)
    if not isinstance(part_worths, pd.DataFrame):
        raise WinbackError(
            "part_worths must be a DataFrame with one row per genuine respondent (or posterior "
            f"draw) and one column per parameter ({list_valid(names)}), e.g. "
            f"analysis.respondent_draws(model); got {type(part_worths).__name__}."
        )
    cols = [str(c) for c in part_worths.columns]
    missing = [n for n in names if n not in cols]
    extra = [c for c in cols if c not in names]
    if missing or extra:
        hint = did_you_mean(extra[0], names) if extra else ""
        raise WinbackError(
            "part_worths columns must be the study's parameters: "
            + (f"missing {list_valid(missing)}; " if missing else "")
            + (f"unknown {list_valid(extra)};{hint} " if extra else "")
            + f"parameters: {list_valid(names)}."
        )
    if len(part_worths) == 0:
        raise WinbackError("part_worths has no rows; give at least one respondent's part-worths.")
    frame = part_worths.set_axis(cols, axis=1)[names]
    try:
        rows = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise WinbackError(f"part_worths must hold numbers: {err}.") from None
    bad = ~np.isfinite(rows)
    if bad.any():
        where = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise WinbackError(
            f"part_worths must be finite numbers; {int(bad.sum())} value(s) are NaN or infinite "
            f"(in {list_valid(where)})."
        )
    return rows


def _genuine_betas(source: _Genuine, study: Study, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, K) part-worths of simulated genuine respondents from given rows or the priors."""
    if source.kind == "part_worths":
        assert source.rows is not None
        return source.rows[rng.integers(0, len(source.rows), size=n)]
    seed = int(rng.integers(0, 2**31 - 1))
    return prior_draws(study, replace(study.priors, draws=n), seed=seed)


def _mixture_fit(
    sample: np.ndarray, genuine: np.ndarray, random: np.ndarray
) -> tuple[float, float]:
    """How well ``(1 - share) G + share R`` fits the sample's RLH distribution.

    ``sample``, ``genuine`` and ``random`` are sorted RLH values; G and R the empirical CDFs of
    the last two. The share of random responders is the least-squares fit of the CDFs at the
    sample points (clipped to [0, MAX_RANDOM_SHARE]); returns (mean squared CDF distance,
    share).
    """
    f = np.arange(1, len(sample) + 1) / len(sample)
    g = _at_most(genuine, sample) / len(genuine)
    d = _at_most(random, sample) / len(random) - g
    dd = float((d * d).sum())
    share = float(np.clip(((f - g) * d).sum() / dd, 0.0, MAX_RANDOM_SHARE)) if dd > 0 else 0.0
    return float(np.mean((f - g - share * d) ** 2)), share


def _data_scale(
    sample: np.ndarray,
    random: np.ndarray,
    x: np.ndarray,
    holdout: np.ndarray,
    tasks: _Tasks,
    centre: np.ndarray,
    prec: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """The scale of the data's population (centre and spread) whose simulated genuine
    respondents, mixed with random ones, best fit the sample's RLH distribution.

    The shrinkage's population is attenuated (a Laplace-approximate empirical Bayes with few
    tasks per respondent understates both the mean part-worths and their spread, by about a
    quarter and a third on the example study) and pulled towards zero by random responders in
    the sample; simulating from it as it stands would set the cutoff too low. One scale factor
    on the centre and spread, fitted with common random numbers (the same respondents and
    Gumbel draws at every scale), corrects both. Returns (scale, share of random responders).
    """
    n = len(x)
    z = rng.standard_normal((n, len(centre)))
    sd = np.sqrt(1.0 / prec)
    seed = int(rng.integers(0, 2**31 - 1))
    cache: dict[float, tuple[float, float]] = {}

    def fit(log_scale: float) -> float:
        if log_scale not in cache:
            betas = np.exp(log_scale) * (centre + z * sd)
            g = _simulated_rlh(x, holdout, betas, tasks, centre, prec, np.random.default_rng(seed))
            cache[log_scale] = _mixture_fit(sample, g, random)
        return cache[log_scale][0]

    grid = np.linspace(np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1]), SCALE_GRID)
    best = int(np.argmin([fit(v) for v in grid]))
    # golden-section search between the best grid point's neighbours
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    for _ in range(SCALE_REFINE):
        if fit(a) <= fit(b):
            hi, b = b, a
            a = hi - ratio * (hi - lo)
        else:
            lo, a = a, b
            b = lo + ratio * (hi - lo)
    log_scale = min(cache, key=lambda v: cache[v][0])
    if log_scale in (grid[0], grid[-1]):
        log.info(
            "flag_quality: the data's population scale is at the edge of its range (%.2f)",
            np.exp(log_scale),
        )
    return float(np.exp(log_scale)), cache[log_scale][1]


def _simulated_answers(
    x: np.ndarray, betas: np.ndarray | None, dual: bool, enc: Encoding, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """Choices (and dual-response would-buy answers) of simulated respondents on tasks ``x``.

    ``betas`` None: random answering (a uniform choice; with dual-response none, a coin for
    would-buy). Otherwise an MNL, as :func:`conjoint.simulate_choices`: a Gumbel draw per
    alternative, then, with dual-response none, "buy" with the logit probability of the chosen
    alternative against none.
    """
    n, t, j, _ = x.shape
    if betas is None:
        y = rng.integers(0, j, size=(n, t))
        return y, rng.integers(0, 2, size=(n, t)) if dual else None
    u = np.einsum("ntjk,nk->ntj", x, betas)
    y = np.argmax(u + rng.gumbel(size=u.shape), axis=2)
    if not dual:
        return y, None
    u_chosen = np.take_along_axis(u, y[..., None], axis=2)[..., 0]
    u_none = betas @ enc.none_row()
    with np.errstate(over="ignore"):
        p_buy = 1.0 / (1.0 + np.exp(-(u_chosen - u_none[:, None])))
    return y, (rng.random(p_buy.shape) < p_buy).astype(int)


def _simulated_rlh(
    x: np.ndarray,
    holdout: np.ndarray,
    betas: np.ndarray | None,
    tasks: _Tasks,
    centre: np.ndarray,
    prec: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """RLH of simulated respondents, estimated exactly as the real ones (same centre, spread,
    tasks); sorted, NaN (no estimation task) dropped."""
    y, buy = _simulated_answers(x, betas, tasks.buy is not None, tasks.encoding, rng)
    s = _situations(x, y, buy, holdout, tasks.encoding)
    b, _ = _modes(s, centre, prec, hessians=False)
    r = np.sort(_rlh_of(b, s))
    return r[~np.isnan(r)]


def _rlh(
    tasks: _Tasks,
    dataset: ChoiceDataset,
    design: ChoiceDesign | None,
    source: _Genuine,
    false_flag: float,
    n_genuine: int,
    n_random: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    idx = pd.Index(tasks.ids, dtype="string")
    out = pd.DataFrame(
        {
            "rlh": np.nan,
            "rlh_random_share": np.nan,
            "rlh_genuine_share": np.nan,
            "random_responder": pd.array([pd.NA] * tasks.n, dtype="boolean"),
            "holdout_hit_rate": np.nan,
        },
        index=idx,
    )
    info: dict[str, Any] = {
        "rlh_cutoff": None,
        "rlh_false_flag": false_flag,
        "rlh_genuine_source": source.label,
    }
    if tasks.n == 0 or not (~tasks.holdout).any():
        info["rlh_note"] = (
            "no respondent has choice tasks"
            if tasks.n == 0
            else "every task is a holdout task, so there is nothing to estimate from"
        )
        return out, info
    if tasks.n < MIN_RESPONDENTS_RLH:
        # the shrinkage's spread is estimated across respondents: one respondent has none
        info["rlh_note"] = (
            f"RLH needs at least {MIN_RESPONDENTS_RLH} respondents with choice tasks (the "
            f"shrinkage is estimated across respondents); there is {tasks.n}"
        )
        log.warning("flag_quality: random responders not checked: %s.", info["rlh_note"])
        return out, info
    s = _situations(tasks.x, tasks.y, tasks.buy, tasks.holdout, tasks.encoding)
    included = set(dataset.included_ids)
    pop = np.array([r in included for r in tasks.ids])
    if pop.sum() < MIN_RESPONDENTS_RLH:
        pop = np.ones(tasks.n, dtype=bool)
    centre, prec, b = _population(s, pop)
    rlh = _rlh_of(b, s)

    # independent streams: changing n_genuine leaves the random responders as they were
    rng_pw, rng_g, rng_r, rng_fit = np.random.default_rng(seed).spawn(4)
    x_r, h_r, what = _templates(tasks, design, dataset, n_random)
    rlh_r = _simulated_rlh(x_r, h_r, None, tasks, centre, prec, rng_r)
    sample = np.sort(rlh[pop & ~np.isnan(rlh)])
    scale = None
    if source.kind == "data":
        x_f, h_f, _ = _templates(tasks, design, dataset, min(n_genuine, N_SCALE_FIT))
        scale, _ = _data_scale(sample, rlh_r, x_f, h_f, tasks, centre, prec, rng_fit)
        z = rng_pw.standard_normal((n_genuine, len(centre)))
        betas = scale * (centre + z * np.sqrt(1.0 / prec))
        info["rlh_genuine_source"] = (
            f"estimated from the data: the shrinkage's population x {scale:.2f}, the scale "
            "that fits the sample's RLH"
        )
    else:
        betas = _genuine_betas(source, dataset.study, n_genuine, rng_pw)
    x_g, h_g, _ = _templates(tasks, design, dataset, n_genuine)
    rlh_g = _simulated_rlh(x_g, h_g, betas, tasks, centre, prec, rng_g)
    # with the data's population (fitted to the sample), how many of the sample answer like
    # the random ones (a least-squares mixture of the two RLH CDFs); other sources are not
    # fitted to the sample, so their misfit would pass for random responders
    fit_distance, random_share = _mixture_fit(sample, rlh_g, rlh_r)

    # the cutoff: the order statistic number m = floor(false_flag * (n + 1)) of the n simulated
    # genuine RLH values. A new respondent answering like them is exchangeable with them, so
    # falls below it with probability at most m / (n + 1) <= false_flag (the conformal
    # quantile; the plain floor(false_flag * n)-th would allow (m + 1) / (n + 1), 5.05% here)
    m = int(np.floor(false_flag * (len(rlh_g) + 1) + 1e-9))
    cutoff = float(rlh_g[m - 1])
    false_sim = float(_below(rlh_g, cutoff) / len(rlh_g))
    detection = float(_below(rlh_r, cutoff) / len(rlh_r))
    flagged = rlh < cutoff - RLH_TIE * abs(cutoff)  # NaN (no estimation task): not flagged
    out["rlh"] = rlh
    out["rlh_random_share"] = 1.0 - _below(rlh_r, rlh) / len(rlh_r)
    out["rlh_genuine_share"] = _at_most(rlh_g, rlh) / len(rlh_g)
    out["random_responder"] = pd.array(flagged, dtype="boolean")
    warning = None
    if detection < MIN_DETECTION:
        warning = (
            "this design cannot tell random answering from genuine answers: only "
            f"{detection:.0%} of simulated random responders would be caught (at "
            f"{false_flag:.0%} false flags); read rlh before excluding anyone, and field more "
            "tasks or less utility-balanced choice sets in the next wave"
        )

    # holdout tasks predicted by the respondent's own estimates (first choice; with
    # dual-response none, the would-buy answer too)
    if tasks.holdout.any():
        u = np.einsum("ntjk,nk->ntj", tasks.x, b)
        pred = u.argmax(axis=2)
        hit = pred == tasks.y
        if tasks.buy is not None:
            u_pred = np.take_along_axis(u, pred[..., None], axis=2)[..., 0]
            u_none = b @ tasks.encoding.none_row()
            hit &= (u_pred > u_none[:, None]).astype(int) == tasks.buy
        n_h = tasks.holdout.sum(axis=1)
        with np.errstate(invalid="ignore"):
            rate = np.where(n_h > 0, (hit & tasks.holdout).sum(axis=1) / np.maximum(n_h, 1), np.nan)
        out["holdout_hit_rate"] = rate
    info.update(
        rlh_cutoff=cutoff,
        rlh_false_flag_simulated=false_sim,
        rlh_detection=detection,
        rlh_warning=warning,
        rlh_n_genuine=len(rlh_g),
        rlh_n_random=len(rlh_r),
        rlh_genuine_median=float(np.median(rlh_g)),
        rlh_random_median=float(np.median(rlh_r)),
        rlh_sample_median=float(np.nanmedian(rlh)),
        rlh_flagged_share=float(np.mean(flagged)),
        rlh_simulated_answered=what,
        rlh_data_scale=scale,
        rlh_random_share_estimate=random_share if source.kind == "data" else None,
        rlh_mixture_distance=fit_distance if source.kind == "data" else None,
        rlh_spread_updates=EB_UPDATES,
        rlh_centre=dict(zip(tasks.encoding.names, centre.round(6).tolist(), strict=True)),
        rlh_spread=dict(
            zip(tasks.encoding.names, np.sqrt(1.0 / prec).round(6).tolist(), strict=True)
        ),
    )
    return out, info
