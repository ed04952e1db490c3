"""MaxDiff (best-worst) estimation: hierarchical Bayes utilities per respondent, Sawtooth's
ratio-scaled probability scores, population summaries, and the counts for a first look.

The model is the CBC's hierarchical MNL (:mod:`analysis.hb`, sampled with nutpie) on the
best-worst answers coded as two choices per set (the sequential best-worst logit, as
:func:`conjoint.maxdiff_simulate.simulate_maxdiff` simulates it):

    best  ~ Categorical(softmax(u_S))          over the items S shown
    worst ~ Categorical(softmax(-u_{S \\ b}))   over the items shown except the best
    u_i = (0, beta_i),  beta_i = mu + L z_i,  z_i ~ N(0, I),  Sigma = L L' ~ LKJ

with the first item the reference (utility 0) and the same priors as the CBC (on columns
scaled to unit standard deviation). A worst choice is a best choice of the negated design
among the items left: the CBC's arrays, kernel and sampler serve unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from analysis.convergence import ConvergenceReport, Thresholds, convergence_report
from analysis.data import ChoiceArrays
from analysis.hb import HBSettings, fit_arrays
from surveys.maxdiff import MaxDiffAnswers
from winback.errors import ParameterError
from winback.settings import BAND, check_band


def prepare_maxdiff_data(answers: MaxDiffAnswers) -> ChoiceArrays:
    """Best-worst answers as choice arrays: two observations per set.

    The best answer is a choice among the ``per_set`` items shown, each row the item's
    indicator (``n_items - 1`` columns; the reference item, the first, is all zero); the worst
    answer a choice among the items shown but the best, each row the negated indicator (the
    best's row is unavailable). ``obs.kind`` is ``"best"`` or ``"worst"``, ``obs.task`` the set.

    Returns
    -------
    ChoiceArrays
        ``x`` (2 x sets answered, per_set, n_items - 1), names the items but the first.

    Examples
    --------
    >>> arrays = prepare_maxdiff_data(answers)  # doctest: +SKIP
    >>> arrays.x.shape  # doctest: +SKIP
    (1800, 4, 7)
    """
    a = answers.answers
    items = list(answers.items)
    k = answers.per_set
    n_items = len(items)
    index = {x: i for i, x in enumerate(items)}
    ids = list(answers.respondent_ids)
    order = {r: i for i, r in enumerate(ids)}
    # the answers are sorted by respondent, set and position (MaxDiffAnswers' contract)
    item_idx = a["item"].map(index).to_numpy().reshape(-1, k)
    n_sets = item_idx.shape[0]
    onehot = np.zeros((n_sets, k, n_items))
    onehot[np.arange(n_sets)[:, None], np.arange(k)[None, :], item_idx] = 1.0
    x_best = onehot[:, :, 1:]
    best = a["best"].to_numpy().reshape(-1, k).argmax(axis=1)
    worst = a["worst"].to_numpy().reshape(-1, k).argmax(axis=1)
    avail_worst = np.ones((n_sets, k), dtype=bool)
    avail_worst[np.arange(n_sets), best] = False
    resp = a["respondent_id"].map(order).to_numpy()[::k]
    sets = a["set"].to_numpy()[::k]
    # best and worst of a set next to each other: (set 1 best, set 1 worst, set 2 best, ...)
    x = np.stack([x_best, -x_best], axis=1).reshape(2 * n_sets, k, n_items - 1)
    y = np.stack([best, worst], axis=1).ravel()
    avail = np.stack([np.ones((n_sets, k), dtype=bool), avail_worst], axis=1).reshape(-1, k)
    obs = pd.DataFrame(
        {
            "respondent_id": np.repeat(a["respondent_id"].to_numpy()[::k], 2),
            "task": np.repeat(sets, 2),
            "kind": np.tile(["best", "worst"], n_sets),
            "holdout": 0,
        }
    )
    return ChoiceArrays(
        x + 0.0,  # no negative zeros
        y.astype(int),
        avail,
        np.repeat(resp, 2).astype(int),
        tuple(ids),
        tuple(items[1:]),
        obs,
    )


def probability_scores(utilities: np.ndarray, per_set: int) -> np.ndarray:
    """Sawtooth's ratio-scaled probability scores, summing to 100 over the items.

    Each respondent's utilities are zero-centred, transformed to the probability that the item
    is chosen best among ``per_set`` items of average utility, ``exp(u_i) / (exp(u_i) +
    per_set - 1)``, and rescaled to sum to 100 (Sawtooth Software, *The MaxDiff System
    Technical Paper*, version 8, 2013, "probability-based rescaling"; the MaxDiff Analyzer
    manual, "Standard rescaling methods": "Rescaled ... Probabilities of Choice ... rescaled
    to sum to 100 for each respondent", a ratio scale: a score of 10 is twice as important as
    one of 5).

    Parameters
    ----------
    utilities : ndarray, shape (..., n_items)
        Logit utilities on any origin (they are zero-centred here).
    per_set : int
        Items shown per set (``a`` in Sawtooth's formula).

    Returns
    -------
    ndarray, shape (..., n_items)

    Examples
    --------
    >>> probability_scores(np.zeros(4), 3).tolist()
    [25.0, 25.0, 25.0, 25.0]
    """
    if isinstance(per_set, bool) or not isinstance(per_set, int | np.integer) or per_set < 2:
        raise ParameterError(f"per_set must be a whole number of at least 2; got {per_set!r}.")
    u = np.asarray(utilities, dtype=float)
    centred = u - u.mean(axis=-1, keepdims=True)
    # exp(u) / (exp(u) + a - 1) = expit(u - log(a - 1)), which does not overflow
    # lazy: scipy.special takes a moment to import; `winback fit` starts without it
    from scipy.special import expit

    p = expit(centred - np.log(per_set - 1))
    return 100.0 * p / p.sum(axis=-1, keepdims=True)


@dataclass
class MaxDiffModel:
    """A fitted hierarchical Bayes MaxDiff. Attributes ending in ``_`` exist once fitted.

    Attributes
    ----------
    items : tuple of str
        The first is the reference (utility 0).
    per_set : int
    settings : HBSettings
    answers_ : MaxDiffAnswers
    arrays_ : ChoiceArrays
    idata_ : xarray.DataTree
        Posterior with ``beta`` (chain, draw, respondent, parameter: the items but the
        first), ``mu``, ``sd``, ``corr``; sample statistics.
    seconds_ : float
    """

    items: tuple[str, ...]
    per_set: int
    settings: HBSettings
    answers_: MaxDiffAnswers
    arrays_: ChoiceArrays
    idata_: Any
    seconds_: float

    @property
    def names(self) -> list[str]:
        """The estimated parameters: the items but the reference."""
        return list(self.arrays_.names)

    @property
    def respondent_ids(self) -> list[str]:
        return list(self.arrays_.respondent_ids)

    def utility_draws(self, *, centred: bool = False) -> np.ndarray:
        """Individual utilities, (chain, draw, respondent, item), the reference's column 0
        (``centred``: zero-centred per respondent and draw, Sawtooth's "raw" scores)."""
        beta = self.idata_["posterior"]["beta"].transpose(
            "chain", "draw", "respondent", "parameter"
        )
        b = beta.to_numpy()
        u = np.concatenate([np.zeros((*b.shape[:3], 1)), b], axis=-1)
        return u - u.mean(axis=-1, keepdims=True) if centred else u

    def score_draws(self) -> np.ndarray:
        """Probability scores (summing to 100), (chain, draw, respondent, item)."""
        return probability_scores(self.utility_draws(), self.per_set)

    def _frame(self, values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            values,
            index=pd.Index(self.respondent_ids, name="respondent_id"),
            columns=list(self.items),
        )

    def utilities(self, *, centred: bool = True) -> pd.DataFrame:
        """Posterior mean utilities, one row per respondent, one column per item
        (zero-centred per respondent unless ``centred=False``: then the reference is 0)."""
        return self._frame(self.utility_draws(centred=centred).mean(axis=(0, 1)))

    def scores(self) -> pd.DataFrame:
        """Posterior mean probability scores per respondent (each row sums to 100).

        Computed draw by draw and averaged (Sawtooth applies the transform to the point
        estimates; the posterior mean of the score differs from that by little, and its
        draws give the bands of :meth:`population`)."""
        return self._frame(self.score_draws().mean(axis=(0, 1)))

    def population(self, band: float = BAND) -> pd.DataFrame:
        """Population summaries per item, with bands of probability ``band``.

        Columns: ``item``; ``utility``, ``utility_lower``, ``utility_upper``: the population
        mean utility (mu, the reference 0); ``score``, ``score_lower``, ``score_upper``: the
        respondents' average probability score (sums to 100 over the items);
        ``first_share`` (with ``_lower``, ``_upper``): the share of respondents for whom the
        item ranks first; ``rank`` by score (1 = most important).
        """
        band = check_band(band)
        lo, hi = (1 - band) / 2, (1 + band) / 2
        post = self.idata_["posterior"]
        mu = post["mu"].transpose("chain", "draw", "parameter").to_numpy()
        mu = np.concatenate([np.zeros((*mu.shape[:2], 1)), mu], axis=-1).reshape(
            -1, len(self.items)
        )
        u = self.utility_draws()
        scores = probability_scores(u, self.per_set).mean(axis=2).reshape(-1, len(self.items))
        top = u.argmax(axis=-1)  # (chain, draw, respondent)
        first = np.stack([(top == i).mean(axis=2) for i in range(len(self.items))], axis=-1)
        first = first.reshape(-1, len(self.items))
        out = pd.DataFrame({"item": list(self.items)})
        for name, d in (("utility", mu), ("score", scores), ("first_share", first)):
            out[name] = d.mean(axis=0)
            out[f"{name}_lower"] = np.quantile(d, lo, axis=0)
            out[f"{name}_upper"] = np.quantile(d, hi, axis=0)
        out["rank"] = out["score"].rank(ascending=False, method="min").astype(int)
        out.attrs["band"] = band
        return out

    def convergence(self, thresholds: Thresholds | None = None) -> ConvergenceReport:
        """The CBC's convergence verdict (:func:`analysis.convergence_report`) on this fit:
        the same posterior groups (``mu``, ``sd``, ``beta``), ``beta`` named the individual
        utilities."""
        return convergence_report(cast(Any, self), thresholds=thresholds, kind="maxdiff")

    def __repr__(self) -> str:
        post = self.idata_["posterior"]
        stats = self.idata_["sample_stats"]
        div = int(stats["diverging"].sum()) if "diverging" in stats else 0
        return (
            f"MaxDiffModel: {len(self.respondent_ids)} respondents, "
            f"{self.answers_.n_answers} sets answered, {len(self.items)} items "
            f"({self.per_set} per set), reference {self.items[0]!r}\n"
            f"  {post.sizes['chain']} chains x {post.sizes['draw']} draws "
            f"({self.settings.sampler}), {self.seconds_:.1f} s, {div} divergences\n"
            "  next: model.convergence(), model.population(), model.scores()"
        )


def fit_maxdiff(
    answers: MaxDiffAnswers,
    *,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
    random_seed: int = 1,
    covariance: Literal["full", "diagonal"] = "full",
    settings: HBSettings | None = None,
) -> MaxDiffModel:
    """Hierarchical Bayes utilities of a MaxDiff, per respondent (see the module docstring).

    Parameters
    ----------
    answers : MaxDiffAnswers
        From :func:`surveys.read_maxdiff_answers`.
    draws, tune, chains, random_seed, covariance
        As :class:`analysis.HBSettings` (ignored when ``settings`` is given).
    settings : HBSettings, optional
        All the sampler's settings (constraints and covariates are not used here).

    Returns
    -------
    MaxDiffModel

    Examples
    --------
    >>> model = fit_maxdiff(answers, random_seed=1)  # doctest: +SKIP
    >>> model.population().sort_values("rank")  # doctest: +SKIP
    """
    if settings is None:
        settings = HBSettings(
            draws=draws, tune=tune, chains=chains, random_seed=random_seed, covariance=covariance
        )
    if settings.constraints or settings.covariates or settings.prior_mean is not None:
        raise ParameterError(
            "fit_maxdiff takes no constraints, covariates or prior from settings; got "
            f"constraints={dict(settings.constraints)}, covariates={settings.covariates}."
        )
    arrays = prepare_maxdiff_data(answers)
    hb = fit_arrays(arrays, settings)
    return MaxDiffModel(
        tuple(answers.items), answers.per_set, settings, answers, arrays, hb.idata_, hb.seconds_
    )


def maxdiff_counts(answers: MaxDiffAnswers, *, band: float = BAND) -> pd.DataFrame:
    """The first look: counts, and an aggregate (pooled) MNL of all respondents together.

    Columns: ``item``; ``shown``, ``best``, ``worst`` (times); ``best_share`` and
    ``worst_share`` (of the times shown); ``count_score`` = (best - worst) / shown, from -1
    (always worst) to 1 (always best); ``utility`` with ``utility_lower`` and
    ``utility_upper`` (the pooled MNL's estimate and interval of probability ``band``, robust
    standard errors clustered by respondent; the reference item 0); ``score``: the pooled
    utilities as probability scores (sum 100); ``rank`` by count score.

    Examples
    --------
    >>> maxdiff_counts(answers).sort_values("rank")  # doctest: +SKIP
    """
    band = check_band(band)
    a = answers.answers
    items = list(answers.items)
    g = a.groupby("item")
    shown = g.size().reindex(items, fill_value=0)
    best = g["best"].sum().reindex(items, fill_value=0)
    worst = g["worst"].sum().reindex(items, fill_value=0)
    out = pd.DataFrame(
        {
            "item": items,
            "shown": shown.to_numpy(),
            "best": best.to_numpy(),
            "worst": worst.to_numpy(),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["best_share"] = out["best"] / out["shown"]
        out["worst_share"] = out["worst"] / out["shown"]
        out["count_score"] = (out["best"] - out["worst"]) / out["shown"]
    # lazy: the aggregate MNL loads scipy (its optimiser); `winback fit` starts without it
    from analysis.mnl import fit_mnl_arrays

    mnl = fit_mnl_arrays(prepare_maxdiff_data(answers), band=band)
    table = mnl.table()
    out["utility"] = np.concatenate([[0.0], table["estimate"].to_numpy()])
    out["utility_lower"] = np.concatenate([[0.0], table["lower"].to_numpy()])
    out["utility_upper"] = np.concatenate([[0.0], table["upper"].to_numpy()])
    out["score"] = probability_scores(out["utility"].to_numpy(), answers.per_set)
    out["rank"] = out["count_score"].rank(ascending=False, method="min").astype(int)
    out.attrs["band"] = band
    return out
