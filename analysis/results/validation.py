"""How well a fitted HB-MNL fits and predicts: fit statistics, hit rates, holdout validation.

In-sample fit of each respondent on the estimation tasks (Sawtooth's RLH and percent
certainty, the first-choice hit rate), and the out-of-sample check on the holdout tasks (hit
rates and holdout share errors per task or per alternative, against the naive benchmarks of a
random guess, the most popular alternative and equal shares). :func:`score_tasks` scores any
held-out observations; :mod:`analysis.results.out_of_sample` uses it for the random-task split.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.data import ChoiceArrays, prepare_choice_data
from analysis.results._common import (
    Interval,
    _band_args,
    _chunks,
    _flat_beta,
    _interval,
    _respondent_index,
)
from winback.settings import BAND

if TYPE_CHECKING:
    from analysis.model import HBModel

log = logging.getLogger("winback")


def _log_probs(arrays: ChoiceArrays, beta: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """Log probabilities (..., n_obs, n_alts); -inf for unavailable alternatives.

    ``beta`` is (..., n_respondents, K); ``resp`` the respondent index of each observation
    into its second-last axis.
    """
    b = beta[..., resp, :]  # (..., O, K)
    util = np.einsum("ojk,...ok->...oj", arrays.x, b)
    util = np.where(arrays.avail, util, -np.inf)
    # lazy: scipy.special (about 0.3 s to import) loads when a fit is scored
    from scipy.special import logsumexp

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
      ``rlh_lower``/``rlh_upper`` its equal-tailed band (90% by default); ``rlh_chance`` the RLH of
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
    lo, hi = _interval(rlh_s, BAND, "eti")
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


#: columns of :func:`holdout_validation`, one row per holdout task (and kind)
TASK_COLUMNS = (
    "task",
    "holdout",
    "kind",
    "n_respondents",
    "n_alternatives",
    "hit_rate",
    "hit_rate_draws",
    "hit_rate_chance",
    "share_mae",
    "hit_rate_most_popular",
    "most_popular",
    "share_mae_equal",
)
#: columns of ``holdout_validation(by_alternative=True)``
ALTERNATIVE_COLUMNS = (
    "task",
    "holdout",
    "kind",
    "alt",
    "observed_share",
    "predicted_share",
    "lower",
    "upper",
    "abs_error",
)


def holdout_validation(
    model: HBModel,
    *,
    by_alternative: bool = False,
    band: float = BAND,
    band_kind: Interval = "eti",
    hdi_prob: float | None = None,
    interval: Interval | None = None,
) -> pd.DataFrame:
    """Out-of-sample check on the holdout tasks (fixed tasks kept out of estimation).

    Per holdout task (and kind: ``choice``, or ``dual`` for a dual-response follow-up):

    - ``hit_rate``: share of respondents whose chosen alternative has the highest utility at
      their posterior mean part-worths; ``hit_rate_draws`` the same averaged over draws.
    - ``share_mae``: holdout share error, the mean absolute error over the task's alternatives
      between the predicted shares (average over respondents of the logit probabilities in
      each draw, then the posterior mean) and the observed choice shares.
    - The naive benchmarks: ``hit_rate_chance``, the hit rate of a random guess (1 / number of
      alternatives); ``hit_rate_most_popular``, that of always predicting the alternative
      chosen most often in the task (``most_popular``; it knows the task's observed shares, so
      it is a demanding benchmark: the best any one-size-fits-all prediction can do);
      ``share_mae_equal``, the share error of predicting equal shares.

    Parameters
    ----------
    model : HBModel
    by_alternative : bool
        One row per holdout alternative instead: ``task, holdout, kind, alt, observed_share,
        predicted_share, lower, upper, abs_error``.
    band, band_kind
        Probability (``winback.settings.BAND``) and kind ("eti" or "hdi") of the band of the
        predicted shares; ``hdi_prob`` and ``interval`` are their former names (deprecated).

    Returns
    -------
    DataFrame
        ``task, holdout, kind, n_respondents, n_alternatives, hit_rate, hit_rate_draws,
        hit_rate_chance, share_mae, hit_rate_most_popular, most_popular, share_mae_equal``.
        Empty (with ``attrs["note"]``) when the study has no holdout tasks; for a check
        without them see :func:`analysis.results.validate_fit`.

    Examples
    --------
    >>> holdout_validation(model)  # doctest: +SKIP
    """
    band, band_kind = _band_args(band, band_kind, hdi_prob, interval, "holdout_validation")
    arrays = _holdout_arrays(model)
    if arrays is None:
        out = pd.DataFrame(columns=list(ALTERNATIVE_COLUMNS if by_alternative else TASK_COLUMNS))
        out.attrs["note"] = (
            "no holdout tasks among the included respondents: add [[holdouts]] to the study "
            "to validate predictions out of sample."
        )
        log.info("holdout validation: %s", out.attrs["note"])
        return out
    resp = _respondent_index(model, arrays.respondent_ids)[arrays.resp]
    tasks, alts = score_tasks(
        arrays,
        _flat_beta(model),
        model.beta_mean().to_numpy(),
        resp,
        keys=("task", "kind"),
        labels=_alt_labels(model, arrays),
        names=_holdout_names(model, arrays),
        band=band,
        band_kind=band_kind,
    )
    return alts if by_alternative else tasks.drop(columns="n_tasks")


def score_tasks(
    arrays: ChoiceArrays,
    beta: np.ndarray,
    beta_point: np.ndarray,
    resp: np.ndarray,
    *,
    keys: tuple[str, ...],
    labels: Mapping[Any, list[str]],
    names: Mapping[Any, str] | None = None,
    band: float = BAND,
    band_kind: Interval = "eti",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hit rates, share errors and their naive benchmarks of held-out observations.

    The observations are grouped by the columns ``keys`` of ``arrays.obs`` (``("task",
    "kind")`` for fixed holdout tasks; ``("kind",)`` for tasks that differ between
    respondents, whose alternatives are then compared by their place in the task).

    Parameters
    ----------
    arrays : ChoiceArrays
        The held-out observations.
    beta : ndarray, shape (n_samples, n_respondents, n_parameters)
        Posterior draws of the part-worths; ``beta_point`` (n_respondents, n_parameters) the
        point estimate the hit rate uses (the posterior mean).
    resp : ndarray of int, shape (n_obs,)
        Each observation's respondent (index into the second axis of ``beta``).
    labels : mapping
        The alternatives' labels of each group (keyed by the group's key, its ``kind`` alone
        or the whole key tuple); ``names`` the holdout name of each task.

    Returns
    -------
    (DataFrame, DataFrame)
        One row per group (the columns of :func:`holdout_validation`, without ``task`` and
        ``holdout`` when the task is not a key, and ``n_tasks``: the observations scored) and
        one per group and alternative.
    """
    names = names or {}
    obs = arrays.obs
    grouped = [
        (key if isinstance(key, tuple) else (key,), grp.index.to_numpy())
        for key, grp in obs.groupby(list(keys), sort=True)
    ]
    point_lp = _log_probs(arrays, beta_point, resp)  # (O, J)
    point_hit = point_lp.argmax(axis=-1) == arrays.y
    n_s, n_o, n_j = beta.shape[0], arrays.n_obs, arrays.x.shape[1]
    # per draw: each group's predicted shares and first-choice hits (not all probabilities)
    shares_all = np.empty((len(grouped), n_s, n_j))
    draw_hits = np.zeros(len(grouped))
    for sl in _chunks(n_s, n_o * (n_j + beta.shape[2]) * 2):
        p = np.exp(_log_probs(arrays, beta[sl], resp))  # (s, O, J)
        hit = p.argmax(axis=-1) == arrays.y  # (s, O)
        for g, (_, idx) in enumerate(grouped):
            shares_all[g, sl] = p[:, idx].mean(axis=1)
            draw_hits[g] += hit[:, idx].sum()
    task_rows, alt_rows = [], []
    for g, (key, idx) in enumerate(grouped):
        k = dict(zip(keys, key, strict=True))
        task = k.get("task")
        avail = arrays.avail[idx].all(axis=0)
        shares = shares_all[g]  # (S, J)
        observed = np.bincount(arrays.y[idx], minlength=n_j) / len(idx)
        pred = shares.mean(axis=0)
        lo, hi = _interval(shares, band, band_kind)
        err = np.abs(pred - observed)
        equal = np.abs(1.0 / avail.sum() - observed)
        alts = labels.get(key, labels.get(k["kind"], [str(j + 1) for j in range(n_j)]))
        top = int(np.argmax(np.where(avail, observed, -1.0)))
        head = {"task": task, "holdout": names.get(task, "")} if "task" in keys else {}
        for j in np.flatnonzero(avail):
            alt_rows.append(
                {
                    **head,
                    "kind": k["kind"],
                    "alt": alts[j],
                    "observed_share": observed[j],
                    "predicted_share": pred[j],
                    "lower": lo[j],
                    "upper": hi[j],
                    "abs_error": err[j],
                }
            )
        task_rows.append(
            {
                **head,
                "kind": k["kind"],
                "n_respondents": len(np.unique(resp[idx])),
                "n_alternatives": int(avail.sum()),
                "hit_rate": float(point_hit[idx].mean()),
                "hit_rate_draws": float(draw_hits[g] / (n_s * len(idx))),
                "hit_rate_chance": float(np.mean(1.0 / arrays.avail[idx].sum(axis=1))),
                "share_mae": float(err[avail].mean()),
                "hit_rate_most_popular": float(observed[top]),
                "most_popular": alts[top],
                "share_mae_equal": float(equal[avail].mean()),
                "n_tasks": len(idx),
            }
        )
    cols = [c for c in TASK_COLUMNS if c not in ("task", "holdout") or "task" in keys]
    acols = [c for c in ALTERNATIVE_COLUMNS if c not in ("task", "holdout") or "task" in keys]
    tasks = pd.DataFrame(task_rows, columns=[*cols, "n_tasks"])
    return tasks, pd.DataFrame(alt_rows, columns=acols)


def _alt_labels(model: HBModel, arrays: ChoiceArrays) -> dict[Any, list[str]]:
    """The ``alt`` labels of each holdout task's alternatives, in the order of the arrays."""
    ch = model.dataset_.holdout_choices()
    out: dict[Any, list[str]] = {}
    for task, grp in ch.groupby("task", sort=True):
        first = grp[grp["respondent_id"] == grp["respondent_id"].iloc[0]]
        out[(task, "choice")] = [str(a) for a in first["alt"]]
        out[(task, "dual")] = DUAL_LABELS
    return out


#: the alternatives of a dual-response follow-up: buy the chosen offer, or not
DUAL_LABELS = ["chosen", "none"]


def _holdout_names(model: HBModel, arrays: ChoiceArrays) -> dict[Any, str]:
    """Holdout names from the study, when the tasks match its [[holdouts]] (appended in order)."""
    tasks = sorted(pd.unique(arrays.obs["task"]))
    names = [h.name for h in model.study.holdouts]
    if len(tasks) != len(names):
        return {}
    return dict(zip(tasks, names, strict=True))
