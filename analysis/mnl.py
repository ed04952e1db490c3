"""Aggregate multinomial logit: one set of part-worths for everyone, by maximum likelihood.

A quick baseline before (and a check of) the HB fit. The log-likelihood of the MNL is concave,
so exact Newton steps with the analytic gradient and Hessian reach the optimum in a handful of
iterations (milliseconds). Standard errors come two ways: classical (the inverse of the
information matrix, which assumes every task is an independent observation) and robust (the
sandwich clustered by respondent, which allows one respondent's tasks to be alike, as they are
in a conjoint panel).

The design is :func:`analysis.data.prepare_choice_data`'s, the same rows the HB fit uses: the
parameters are named and ordered as :func:`conjoint.encoding.parameter_names` (part-worth
levels against the first level, linear slopes, then the ``none`` and ``status_quo``
constants). :func:`fit_mnl_arrays` takes any :class:`~analysis.data.ChoiceArrays` (e.g. a
published data set read by :func:`analysis.data.arrays_from_long`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.data import ChoiceArrays, prepare_choice_data
from analysis.model import HBModel
from surveys.dataset import ChoiceDataset
from winback.errors import ParameterError, WinbackError, list_valid
from winback.settings import BAND, band_label, check_band
from winback.study import Study

log = logging.getLogger("winback")

#: the Newton decrement ``g' H^-1 g`` below which the optimum is reached
TOLERANCE = 1e-10
#: Newton iterations before giving up (a concave MNL converges in 5-10)
MAX_ITERATIONS = 100
#: relative eigenvalue of the information matrix below which a direction is not identified
_RANK_TOL = 1e-9


@dataclass(frozen=True, repr=False)
class MNLResult:
    """An aggregate MNL fitted by maximum likelihood.

    Attributes
    ----------
    names : tuple of str
        Parameter names, in winback's order (:func:`conjoint.encoding.parameter_names`).
    coef : ndarray, shape (K,)
        Maximum-likelihood estimates.
    cov : ndarray, shape (K, K)
        Classical covariance: the inverse of the information matrix (minus the Hessian).
    robust_cov : ndarray, shape (K, K), or None
        Sandwich covariance clustered by respondent, ``G/(G-1) H^-1 B H^-1`` with ``B`` the
        sum over the ``G`` respondents of the outer product of their summed scores (the
        small-sample factor ``G/(G-1)`` as Stata's ``vce(cluster)`` and logitr); None when
        fitted with ``robust=False``.
    log_likelihood : float
        At the estimates.
    log_likelihood_null : float
        At zero, where every alternative of a task is equally likely (equal shares).
    n_respondents, n_tasks, n_obs : int
        Respondents (clusters), choice tasks, and terms of the likelihood (tasks plus the
        dual-response follow-ups, when the study has them).
    converged : bool
    iterations : int
        Newton iterations taken.
    gradient_max : float
        Largest absolute gradient at the estimates.
    band : float
        Probability of the intervals in :meth:`table`.
    study : Study or None
        The study, when fitted through :func:`fit_mnl`.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    cov: np.ndarray
    robust_cov: np.ndarray | None
    log_likelihood: float
    log_likelihood_null: float
    n_respondents: int
    n_tasks: int
    n_obs: int
    converged: bool
    iterations: int
    gradient_max: float
    band: float = BAND
    study: Study | None = field(default=None, compare=False)

    # -- standard errors ---------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        return len(self.names)

    @property
    def robust(self) -> bool:
        """Whether the reported standard errors (``se``) are the clustered sandwich ones."""
        return self.robust_cov is not None

    @property
    def classical_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def robust_se(self) -> np.ndarray | None:
        return None if self.robust_cov is None else np.sqrt(np.diag(self.robust_cov))

    @property
    def se(self) -> np.ndarray:
        """The standard errors reported: robust when fitted with ``robust=True``."""
        robust = self.robust_se
        return self.classical_se if robust is None else robust

    # -- fit statistics ----------------------------------------------------------------------
    @property
    def rho2(self) -> float:
        """McFadden's rho-squared against equal shares: ``1 - LL / LL(0)``."""
        return 1.0 - self.log_likelihood / self.log_likelihood_null

    @property
    def rho2_adjusted(self) -> float:
        """``1 - (LL - K) / LL(0)``."""
        return 1.0 - (self.log_likelihood - self.n_parameters) / self.log_likelihood_null

    @property
    def aic(self) -> float:
        return 2.0 * self.n_parameters - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """``K ln(n_obs) - 2 LL``, ``n_obs`` the terms of the likelihood."""
        return self.n_parameters * math.log(self.n_obs) - 2.0 * self.log_likelihood

    def statistics(self) -> dict[str, float | int | bool | str]:
        """The fit statistics as one flat dict (for JSON and reports)."""
        return {
            "log_likelihood": self.log_likelihood,
            "log_likelihood_null": self.log_likelihood_null,
            "rho2": self.rho2,
            "rho2_adjusted": self.rho2_adjusted,
            "aic": self.aic,
            "bic": self.bic,
            "n_parameters": self.n_parameters,
            "n_respondents": self.n_respondents,
            "n_tasks": self.n_tasks,
            "n_obs": self.n_obs,
            "converged": self.converged,
            "iterations": self.iterations,
            "gradient_max": self.gradient_max,
            "standard_errors": "robust (clustered by respondent)" if self.robust else "classical",
        }

    def table(self) -> pd.DataFrame:
        """``parameter, estimate, se, z, p, lower, upper, classical_se, robust_se``.

        ``se`` (and the z statistic, its two-sided normal p-value and the interval of
        probability ``band``) use the robust standard errors when the fit was robust, the
        classical ones otherwise; both kinds are in their own columns.
        """
        from scipy.special import ndtr, ndtri  # about 0.2 s: not at start-up

        se = self.se
        z = self.coef / se
        q = float(ndtri(0.5 + self.band / 2.0))
        robust = self.robust_se
        return pd.DataFrame(
            {
                "parameter": list(self.names),
                "estimate": self.coef,
                "se": se,
                "z": z,
                "p": 2.0 * ndtr(-np.abs(z)),
                "lower": self.coef - q * se,
                "upper": self.coef + q * se,
                "classical_se": self.classical_se,
                "robust_se": np.full(self.n_parameters, np.nan) if robust is None else robust,
            }
        )

    def __repr__(self) -> str:
        name = f" '{self.study.name}'" if self.study is not None else ""
        kind = "robust (clustered by respondent)" if self.robust else "classical"
        lines = [
            f"MNLResult{name}: {self.n_respondents} respondents, {self.n_tasks} tasks, "
            f"{self.n_parameters} parameters",
            f"  log-likelihood {self.log_likelihood:.3f} (equal shares "
            f"{self.log_likelihood_null:.3f}), rho2 {self.rho2:.3f}, AIC {self.aic:.1f}, "
            f"BIC {self.bic:.1f}",
            f"  {'converged' if self.converged else 'NOT converged'} in {self.iterations} "
            f"Newton iterations; {kind} standard errors, {band_label(self.band, 'interval')}",
        ]
        t = self.table()
        width = max(len(n) for n in self.names) if self.names else 9
        for r in t.itertuples(index=False):
            lines.append(
                f"  {r.parameter:<{width}}  {r.estimate:>9.4f}  se {r.se:.4f}  z {r.z:>7.2f}"
            )
        lines.append("  next: result.table(), analysis.compare_mnl_hb(result, hb_model)")
        return "\n".join(lines)


def fit_mnl(
    dataset: ChoiceDataset,
    *,
    robust: bool = True,
    band: float = BAND,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> MNLResult:
    """Fit an aggregate MNL to a study's estimation tasks (included respondents).

    The same design rows as the HB fit (:func:`analysis.data.prepare_choice_data`): part-worth
    levels against the first level, linear slopes, the ``none`` constant (and, with dual-response
    none, each task's would-you-buy follow-up as one more binary observation), the
    ``status_quo`` constant.

    Parameters
    ----------
    dataset : ChoiceDataset
    robust : bool
        Report standard errors clustered by respondent (the default: a respondent's tasks are
        not independent); the classical ones are in the result either way.
    band : float
        Probability of the intervals of :meth:`MNLResult.table`.
    max_iterations, tolerance : optional
        Newton's limits (the Newton decrement ``g' H^-1 g`` at which it stops).

    Returns
    -------
    MNLResult

    Raises
    ------
    WinbackError
        When the design does not identify every parameter (naming them), or there are no
        estimation tasks.

    Examples
    --------
    >>> result = fit_mnl(dataset)  # doctest: +SKIP
    >>> result.table()[["parameter", "estimate", "se"]]  # doctest: +SKIP
    """
    arrays = prepare_choice_data(dataset)
    result = fit_mnl_arrays(
        arrays, robust=robust, band=band, max_iterations=max_iterations, tolerance=tolerance
    )
    return replace(result, study=dataset.study)


def fit_mnl_arrays(
    arrays: ChoiceArrays,
    *,
    robust: bool = True,
    band: float = BAND,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> MNLResult:
    """Fit an aggregate MNL to choice arrays (what :func:`fit_mnl` does after preparing them).

    Parameters
    ----------
    arrays : ChoiceArrays
        ``x`` (tasks, alternatives, K), ``y`` the chosen alternative, ``avail`` which
        alternatives exist, ``resp`` each task's respondent (the clusters of the robust
        standard errors); e.g. from :func:`analysis.data.arrays_from_long`.
    robust, band, max_iterations, tolerance
        As :func:`fit_mnl`.

    Examples
    --------
    >>> arr = arrays_from_long(df, respondent="id", task="chid", choice="choice",
    ...                        columns=["pf", "cl", "loc", "wk", "tod", "seas"])  # doctest: +SKIP
    >>> fit_mnl_arrays(arr).coef  # doctest: +SKIP
    """
    band = check_band(band)
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int | np.integer):
        raise ParameterError(f"max_iterations must be a whole number; got {max_iterations!r}.")
    if max_iterations < 1:
        raise ParameterError(f"max_iterations must be at least 1; got {max_iterations}.")
    if not (isinstance(tolerance, float | int) and tolerance > 0):
        raise ParameterError(f"tolerance must be a positive number; got {tolerance!r}.")
    x, y, avail = arrays.x, arrays.y, arrays.avail
    if x.shape[0] == 0:
        raise WinbackError("no choice tasks to fit.")
    _check_identified(x, avail, arrays.names)
    beta = np.zeros(arrays.n_parameters)
    ll, grad, info, scores = _derivatives(beta, x, y, avail)
    ll_null = ll
    converged = False
    steps = 0
    while True:
        step = np.linalg.solve(info, grad)
        if float(grad @ step) < tolerance:  # the Newton decrement
            converged = True
            break
        if steps == max_iterations:
            break
        steps += 1
        t = 1.0
        while True:  # concave: a full step almost always gains; halve it when not
            trial = beta + t * step
            ll_t = _loglik(trial, x, y, avail)
            if ll_t >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2.0
        beta = trial
        ll, grad, info, scores = _derivatives(beta, x, y, avail)
    if not converged:
        big = [n for n, b in zip(arrays.names, beta, strict=True) if abs(b) > 10.0]
        log.warning(
            "the MNL did not converge in %d Newton iterations (largest gradient %.2g)%s",
            max_iterations,
            float(np.abs(grad).max()),
            (
                f"; {_quoted(big)} keep growing: a level always or never chosen when "
                "shown has no finite estimate"
                if big
                else ""
            ),
        )
    cov = np.linalg.inv(info)
    robust_cov = _cluster_sandwich(cov, scores, arrays.resp) if robust else None
    # a MaxDiff set is two terms (its best and its worst answer) but one task
    kinds = arrays.obs["kind"] if "kind" in arrays.obs else None
    n_tasks = int(kinds.isin(["choice", "best"]).sum()) if kinds is not None else arrays.n_obs
    return MNLResult(
        names=tuple(arrays.names),
        coef=beta,
        cov=cov,
        robust_cov=robust_cov,
        log_likelihood=float(ll),
        log_likelihood_null=float(ll_null),
        n_respondents=len(np.unique(arrays.resp)),
        n_tasks=n_tasks,
        n_obs=arrays.n_obs,
        converged=converged,
        iterations=steps,
        gradient_max=float(np.abs(grad).max()),
        band=band,
    )


def _probabilities(
    beta: np.ndarray, x: np.ndarray, avail: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Choice probabilities (0 where unavailable) and each task's log normaliser."""
    v = np.where(avail, x @ beta, -np.inf)
    vmax = v.max(axis=1)
    e = np.exp(v - vmax[:, None])
    s = e.sum(axis=1)
    return e / s[:, None], vmax + np.log(s)


def _loglik(beta: np.ndarray, x: np.ndarray, y: np.ndarray, avail: np.ndarray) -> float:
    rows = np.arange(len(y))
    _, lse = _probabilities(beta, x, avail)
    return float(((x[rows, y] @ beta) - lse).sum())


def _derivatives(
    beta: np.ndarray, x: np.ndarray, y: np.ndarray, avail: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient, information (minus the Hessian) and each task's score."""
    rows = np.arange(len(y))
    p, lse = _probabilities(beta, x, avail)
    chosen = x[rows, y]
    ll = float((chosen @ beta - lse).sum())
    xbar = np.einsum("nj,njk->nk", p, x)
    scores = chosen - xbar
    dev = x - xbar[:, None, :]
    info = np.einsum("nj,njk,njl->kl", p, dev, dev)
    return ll, scores.sum(axis=0), info, scores


def _cluster_sandwich(cov: np.ndarray, scores: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """``G/(G-1) V B V`` with ``B`` the outer products of the clusters' summed scores."""
    codes, inverse = np.unique(cluster, return_inverse=True)
    g = len(codes)
    if g < 2:
        raise WinbackError(
            "robust standard errors need at least two respondents; there is one (use robust=False)."
        )
    sums = np.zeros((g, scores.shape[1]))
    np.add.at(sums, inverse, scores)
    meat = sums.T @ sums
    return float(g / (g - 1)) * (cov @ meat @ cov)


def _check_identified(x: np.ndarray, avail: np.ndarray, names: tuple[str, ...]) -> None:
    """Raise naming the parameters the design cannot tell apart.

    The information matrix of an MNL has the same null space at every coefficient vector: the
    directions whose utility is the same for every alternative of every task. At equal shares it
    is the covariance of the rows within tasks, computed here.
    """
    n_alt = avail.sum(axis=1)
    w = avail / n_alt[:, None]
    xbar = np.einsum("nj,njk->nk", w, x)
    dev = (x - xbar[:, None, :]) * avail[..., None]
    info = np.einsum("nj,njk,njl->kl", w, dev, dev)
    diag = np.diag(info).copy()
    scale = np.abs(x[avail]).max(axis=0) if avail.any() else np.ones(len(names))
    flat = diag <= (1e-12 * np.maximum(scale, 1.0)) ** 2 * len(x)
    problems: list[str] = []
    if flat.any():
        problems.append(
            f"{_quoted(names[i] for i in np.flatnonzero(flat))} never differ between the "
            "alternatives of a task (a level never shown, or a column equal on every "
            "alternative)"
        )
    keep = np.flatnonzero(~flat)
    if len(keep) > 1:
        d = np.sqrt(diag[keep])
        corr = info[np.ix_(keep, keep)] / np.outer(d, d)
        vals, vecs = np.linalg.eigh(corr)
        for j in np.flatnonzero(vals < _RANK_TOL * max(vals.max(), 1.0)):
            v = vecs[:, j]
            involved = [names[keep[i]] for i in np.flatnonzero(np.abs(v) > 0.05)]
            problems.append(
                f"{_quoted(involved)} are collinear (a combination of them is the same for "
                "every alternative of every task)"
            )
    if problems:
        raise WinbackError(
            "the design does not identify every parameter of the MNL (its Hessian is "
            "singular): " + "; ".join(problems) + ". Drop or merge those levels, or check the "
            "design and the responses."
        )


def _quoted(names: Iterable[str]) -> str:
    return list_valid(f"'{n}'" for n in names)


def compare_mnl_hb(mnl: MNLResult, model: HBModel) -> pd.DataFrame:
    """The MNL coefficients beside the HB population means, the HB means put on the MNL's scale.

    The HB population means are larger than the MNL coefficients, by a similar factor for every
    parameter: the MNL has one set of part-worths for everyone, so the spread of preferences
    between respondents ends up in its error term, whose larger variance shrinks every
    coefficient (the scale of a logit is its coefficients over the error's standard deviation).
    Dividing the HB means by one factor (the least-squares slope of the HB means on the MNL
    coefficients, through the origin) puts them on the MNL's scale; after that the two should
    agree in sign and relative size. A parameter far off (``z`` beyond about 3) points at
    preferences that differ a lot between respondents (an MNL averages a love and a hate into
    indifference), or at a problem in one of the fits.

    Parameters
    ----------
    mnl : MNLResult
    model : HBModel
        Fitted to the same study (the same parameter names).

    Returns
    -------
    DataFrame
        ``parameter, mnl, mnl_se, hb_mean, scale, hb_scaled, z``: ``scale`` is the one factor
        (repeated on every row), ``hb_scaled = hb_mean / scale`` and
        ``z = (hb_scaled - mnl) / mnl_se``.

    Examples
    --------
    >>> compare_mnl_hb(fit_mnl(dataset), fit(dataset))  # doctest: +SKIP
    """
    names = list(mnl.names)
    hb_names = list(model.names)
    if names != hb_names:
        missing = [n for n in names if n not in hb_names]
        extra = [n for n in hb_names if n not in names]
        raise WinbackError(
            "the MNL and the HB fit have different parameters: "
            + (f"only in the MNL {_quoted(missing)}; " if missing else "")
            + (f"only in the HB fit {_quoted(extra)}; " if extra else "")
            + "fit both to the same study."
        )
    mu = model.idata_["posterior"]["mu"].mean(("chain", "draw")).to_numpy()
    b = mnl.coef
    denom = float(b @ b)
    scale = float(mu @ b / denom) if denom > 0 else math.nan
    scaled = mu / scale
    se = mnl.se
    return pd.DataFrame(
        {
            "parameter": names,
            "mnl": b,
            "mnl_se": se,
            "hb_mean": mu,
            "scale": scale,
            "hb_scaled": scaled,
            "z": (scaled - b) / se,
        }
    )
