"""Latent class MNL: a few segments, each with its own part-worths, found from the choices.

Every respondent belongs to one of ``C`` classes (the same class for all their tasks: the
panel), unknown but with probabilities ``pi`` (the class shares); within a class choices
follow an MNL with that class's part-worths. The marginal likelihood of a respondent is
``sum_c pi_c prod_t P(y_t | beta_c)``.

Estimation: EM over respondents from many random starts (the likelihood has local optima),
each M-step a weighted MNL by Newton per class (the weights are the respondents' posterior
class probabilities) and the shares as the mean posterior probabilities; the best start is
then polished by Newton steps on the marginal log-likelihood itself. Standard errors come
from the observed information of the marginal likelihood: minus the Hessian, by central
finite differences of the analytic score (the sum over respondents of
``h_rc (x_chosen - x_bar_c)`` for ``beta_c`` and ``h_rc - pi_c`` for the share logits).

The shares are parameterised as logits against class 1 (``share[c] = exp(a_c) / sum``,
``a_1 = 0``), as gmnl's ``(class)c`` coefficients.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis._latent_em import Likelihood, em, hessian, polish, random_start, unpack
from analysis._latent_labels import class_labels
from analysis.data import ChoiceArrays, prepare_choice_data
from analysis.latent_covariates import fit_class_covariates
from analysis.mnl import _check_identified, fit_mnl_arrays
from analysis.simulator import PartWorthDraws
from surveys.dataset import ChoiceDataset
from winback.errors import ParameterError, WinbackError
from winback.settings import BAND, band_label, check_band
from winback.study import Study

if TYPE_CHECKING:
    from analysis.latent_covariates import ClassMembershipModel  # its module imports this one

log = logging.getLogger("winback")

#: random starts of the EM
STARTS = 12
#: starts whose log-likelihood is within this of the best one "reached the best"
SAME_OPTIMUM = 1e-3


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root ``R`` of a covariance (``R @ R.T == cov``), safe if it is singular."""
    if cov.size == 0:
        return np.zeros(cov.shape)
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


@dataclass(frozen=True, repr=False)
class LatentClassResult:
    """A latent class MNL fitted by maximum likelihood.

    Attributes
    ----------
    names : tuple of str
        Parameter names of the part-worths (the same in every class).
    coef : ndarray, shape (C, K)
        Part-worths of each class.
    share_logits : ndarray, shape (C,)
        ``a_c`` with ``shares = softmax(a)`` and ``a_1 = 0``.
    cov : ndarray, shape (C*K + C-1, C*K + C-1)
        Covariance of ``(coef.ravel(), share_logits[1:])``: the inverse of the observed
        information of the marginal likelihood (minus its finite-difference Hessian).
    membership : ndarray, shape (R, C)
        Each respondent's posterior class probabilities.
    respondent_ids : tuple of str
    log_likelihood : float
    n_obs : int
        Choice observations (terms of the likelihood).
    starts : ndarray
        Final log-likelihood of every random start (NaN where the start ended with an
        empty class).
    converged : bool
    gradient_max : float
        Largest absolute score at the estimates.
    band : float
    study, respondents : optional
        The study and its respondents table, when fitted through :func:`fit_latent_class`.
    class_model : ClassMembershipModel, optional
        The class shares on respondent covariates (:func:`analysis.fit_class_covariates`).
    """

    names: tuple[str, ...]
    coef: np.ndarray
    share_logits: np.ndarray
    cov: np.ndarray
    membership: np.ndarray
    respondent_ids: tuple[str, ...]
    log_likelihood: float
    n_obs: int
    starts: np.ndarray
    converged: bool
    gradient_max: float
    band: float = BAND
    study: Study | None = field(default=None, compare=False)
    respondents: pd.DataFrame | None = field(default=None, compare=False)
    class_model: ClassMembershipModel | None = field(default=None, compare=False)

    # -- sizes and fit -----------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return int(self.coef.shape[0])

    @property
    def class_labels(self) -> list[str]:
        return [f"class {c + 1}" for c in range(self.n_classes)]

    @property
    def readable_labels(self) -> list[str]:
        """``class 2 (price-sensitive)``: each class named after its most distinctive
        part-worth against the other classes' mean, in utility over the attribute's range."""
        return class_labels(self.coef, self.names, self.study)

    def class_probabilities(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities of customers from their covariates (surveyed or not): see
        :meth:`ClassMembershipModel.class_probabilities`; needs the covariate model."""
        if self.class_model is None:
            raise WinbackError(
                "no covariate model of the class shares: fit one with "
                "fit_class_covariates(result, dataset, columns) (winback fit --model "
                "latent-class --covariates COL,COL)."
            )
        return self.class_model.class_probabilities(frame)

    @property
    def shares(self) -> np.ndarray:
        """Class sizes (the model's shares ``pi``, fractions summing to 1)."""
        from scipy.special import logsumexp  # about 0.2 s: not at start-up

        a = self.share_logits
        return np.exp(a - logsumexp(a))

    @property
    def n_respondents(self) -> int:
        return len(self.respondent_ids)

    @property
    def n_parameters(self) -> int:
        return int(self.coef.size) + self.n_classes - 1

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the part-worths, shape (C, K)."""
        k = self.coef.size
        return np.sqrt(np.diag(self.cov)[:k]).reshape(self.coef.shape)

    @property
    def aic(self) -> float:
        return 2.0 * self.n_parameters - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """``P ln(R) - 2 LL`` with ``R`` the respondents (the independent units of a panel)."""
        return self.n_parameters * math.log(self.n_respondents) - 2.0 * self.log_likelihood

    @property
    def caic(self) -> float:
        """Consistent AIC: ``P (ln(R) + 1) - 2 LL``."""
        return self.n_parameters * (math.log(self.n_respondents) + 1.0) - 2.0 * self.log_likelihood

    @property
    def entropy_r2(self) -> float:
        """Normalised entropy of the memberships: 1 when every respondent's class is certain,
        0 when every membership is the shares themselves (1 with a single class)."""
        if self.n_classes == 1:
            return 1.0
        h = np.clip(self.membership, 1e-300, 1.0)
        ent = -(self.membership * np.log(h)).sum()
        return float(1.0 - ent / (self.n_respondents * math.log(self.n_classes)))

    @property
    def n_best_starts(self) -> int:
        """How many random starts reached the best log-likelihood (within ``SAME_OPTIMUM``)."""
        ok = self.starts[np.isfinite(self.starts)]
        return int((ok >= ok.max() - SAME_OPTIMUM).sum()) if len(ok) else 0

    def statistics(self) -> dict[str, float | int | bool | str]:
        """The fit statistics as one flat dict (for JSON and reports)."""
        return {
            "classes": self.n_classes,
            "log_likelihood": self.log_likelihood,
            "n_parameters": self.n_parameters,
            "aic": self.aic,
            "bic": self.bic,
            "caic": self.caic,
            "entropy_r2": self.entropy_r2,
            "n_respondents": self.n_respondents,
            "n_obs": self.n_obs,
            "starts": len(self.starts),
            "best_starts": self.n_best_starts,
            "converged": self.converged,
            "gradient_max": self.gradient_max,
        }

    # -- tables ------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """``class, parameter, estimate, se, z, p, lower, upper`` (intervals of ``band``)."""
        from scipy.special import ndtr, ndtri  # about 0.2 s: not at start-up

        se = self.se
        q = float(ndtri(0.5 + self.band / 2.0))
        frames = []
        for c, label in enumerate(self.class_labels):
            z = self.coef[c] / se[c]
            frames.append(
                pd.DataFrame(
                    {
                        "class": label,
                        "parameter": list(self.names),
                        "estimate": self.coef[c],
                        "se": se[c],
                        "z": z,
                        "p": 2.0 * ndtr(-np.abs(z)),
                        "lower": self.coef[c] - q * se[c],
                        "upper": self.coef[c] + q * se[c],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def sizes(self) -> pd.DataFrame:
        """``class, label, share, se, lower, upper, respondents``: the model's class sizes with
        their standard errors (delta method), their band (probability ``band``: quantiles of
        the shares over 4,000 samples of the share logits from their asymptotic normal, so the
        band stays between 0 and 1 and is as skewed as a small class's is) and the number of
        respondents whose modal class it is."""
        pi = self.shares
        k = self.coef.size
        jac = (np.diag(pi) - np.outer(pi, pi))[:, 1:]  # d pi / d a_2..a_C
        cov_a = self.cov[k:, k:]
        se = np.sqrt(np.clip(np.diag(jac @ cov_a @ jac.T), 0.0, None))
        rng = np.random.default_rng(20261206)
        a = self.share_logits[1:] + rng.standard_normal((4000, cov_a.shape[0])) @ _root(cov_a).T
        logits = np.concatenate([np.zeros((len(a), 1)), a], axis=1)
        draws = np.exp(logits - logits.max(axis=1, keepdims=True))
        draws /= draws.sum(axis=1, keepdims=True)
        lower, upper = np.quantile(draws, [(1 - self.band) / 2, (1 + self.band) / 2], axis=0)
        modal = np.bincount(self.membership.argmax(axis=1), minlength=self.n_classes)
        return pd.DataFrame(
            {
                "class": self.class_labels,
                "label": self.readable_labels,
                "share": pi,
                "se": se,
                "lower": lower,
                "upper": upper,
                "respondents": modal,
            }
        )

    def memberships(self) -> pd.DataFrame:
        """``respondent_id, class 1, ..., class C, modal_class``: posterior probabilities."""
        out = pd.DataFrame(self.membership, columns=self.class_labels)
        out.insert(0, "respondent_id", list(self.respondent_ids))
        out["modal_class"] = [self.class_labels[i] for i in self.membership.argmax(axis=1)]
        return out

    def segments(self, name: str = "latent_class", *, readable: bool = True) -> pd.DataFrame:
        """``respondent_id, <name>``: each respondent's modal class, to join to the respondents
        table and use as ``segment=`` (what :meth:`draws` attaches): its readable name
        (``"class 2 (price-sensitive)"``), or with ``readable=False`` the plain ``"class 2"``."""
        names = self.readable_labels if readable else self.class_labels
        modal = [names[i] for i in self.membership.argmax(axis=1)]
        return pd.DataFrame({"respondent_id": list(self.respondent_ids), name: modal})

    # -- simulation --------------------------------------------------------------------------
    def draws(
        self,
        method: str = "sample",
        *,
        n_draws: int = 200,
        random_seed: int = 1,
        segment: str = "latent_class",
        readable: bool = True,
    ) -> PartWorthDraws:
        """Part-worths per respondent for the simulator, with the modal class as a segment.

        Parameters
        ----------
        method : {"sample", "posterior_mean", "modal"}
            ``sample``: ``n_draws`` samples, each of the parameters from their asymptotic
            normal and each respondent's class from their membership probabilities (shares
            averaged over the samples are the latent class model's predictions, the intervals
            carry both uncertainties); ``posterior_mean``: one sample, each respondent's
            membership-weighted part-worths; ``modal``: one sample, the part-worths of each
            respondent's modal class.
        n_draws, random_seed
            For ``sample``.
        segment : str
            Name of the respondent column holding the modal class.
        readable : bool
            The column's values: readable names (``class 2 (price-sensitive)``) or plain
            ``class 2`` (:meth:`segments`).
        """
        if self.study is None:
            raise WinbackError(
                "part-worth draws need the study: fit with fit_latent_class(dataset), "
                "not fit_latent_class_arrays."
            )
        if method == "posterior_mean":
            beta = (self.membership @ self.coef)[None]
        elif method == "modal":
            beta = self.coef[self.membership.argmax(axis=1)][None]
        elif method == "sample":
            if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
                raise ParameterError(f"n_draws must be a whole number >= 1; got {n_draws!r}.")
            beta = self._sample(n_draws, np.random.default_rng(random_seed))
        else:
            raise ParameterError(
                f"method must be 'sample', 'posterior_mean' or 'modal'; got {method!r}."
            )
        seg = self.segments(segment, readable=readable).set_index("respondent_id")
        if self.respondents is not None and "respondent_id" in self.respondents.columns:
            resp = self.respondents.set_index(self.respondents["respondent_id"].astype(str))
            resp = resp.drop(columns=[segment], errors="ignore").join(seg[[segment]])
        else:
            resp = seg
        return PartWorthDraws(self.study, self.names, beta, self.respondent_ids, resp)

    def coef_draws(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """``n_draws`` samples of the classes' part-worths from their asymptotic normal
        (with the shares' logits, whose covariance they share): shape (n_draws, C, K)."""
        c, k = self.coef.shape
        theta = np.concatenate([self.coef.ravel(), self.share_logits[1:]])
        thetas = theta + rng.standard_normal((n_draws, len(theta))) @ _root(self.cov).T
        return thetas[:, : c * k].reshape(n_draws, c, k)

    def _sample(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        c = self.n_classes
        coefs = self.coef_draws(n_draws, rng)
        cum = self.membership.cumsum(axis=1)
        u = rng.random((n_draws, self.n_respondents, 1))
        cls = np.minimum((u > cum[None]).sum(axis=2), c - 1)
        return np.take_along_axis(coefs, cls[..., None], axis=1)

    def __repr__(self) -> str:
        name = f" '{self.study.name}'" if self.study is not None else ""
        sizes = ", ".join(f"{s:.3f}" for s in self.shares)
        lines = [
            f"LatentClassResult{name}: {self.n_classes} classes (sizes {sizes}), "
            f"{self.n_respondents} respondents, {self.n_obs} observations",
            f"  log-likelihood {self.log_likelihood:.3f}, {self.n_parameters} parameters, "
            f"BIC {self.bic:.1f}, CAIC {self.caic:.1f}, AIC {self.aic:.1f}, "
            f"entropy R2 {self.entropy_r2:.3f}",
            f"  {self.n_best_starts} of {len(self.starts)} starts reached the best "
            f"log-likelihood; {'converged' if self.converged else 'NOT converged'}; "
            f"{band_label(self.band, 'interval')} in table()",
        ]
        width = max((len(n) for n in self.names), default=9)
        se = self.se
        for c, label in enumerate(self.class_labels):
            lines.append(f"  {label}:")
            for n, b, s in zip(self.names, self.coef[c], se[c], strict=True):
                lines.append(f"    {n:<{width}}  {b:>9.4f}  se {s:.4f}")
        lines.append("  next: result.table(), result.sizes(), result.memberships(), result.draws()")
        return "\n".join(lines)


def fit_latent_class(
    dataset: ChoiceDataset,
    classes: int = 2,
    *,
    starts: int = STARTS,
    random_seed: int = 1,
    band: float = BAND,
    covariates: Sequence[str] | None = None,
) -> LatentClassResult:
    """Fit a latent class MNL to a study's estimation tasks (included respondents).

    Parameters
    ----------
    dataset : ChoiceDataset
    classes : int
        Number of classes (1 is the aggregate MNL).
    starts : int
        Random starts of the EM; the result reports how many reached the best optimum.
    random_seed : int
    band : float
        Probability of the intervals of :meth:`LatentClassResult.table`.
    covariates : sequence of str, optional
        Respondent columns the class shares depend on (the concomitant model, fitted in a
        second step: :func:`analysis.fit_class_covariates`).

    Returns
    -------
    LatentClassResult

    Raises
    ------
    WinbackError
        When every start ends with an empty class (the data do not support that many
        classes), or the design does not identify the part-worths.

    Examples
    --------
    >>> lc = fit_latent_class(dataset, classes=3, random_seed=1)  # doctest: +SKIP
    >>> lc.sizes(); lc.table()  # doctest: +SKIP
    """
    arrays = prepare_choice_data(dataset)
    result = fit_latent_class_arrays(
        arrays, classes, starts=starts, random_seed=random_seed, band=band
    )
    result = replace(result, study=dataset.study, respondents=dataset.respondents)
    return fit_class_covariates(result, dataset, covariates) if covariates else result


def fit_latent_class_arrays(
    arrays: ChoiceArrays,
    classes: int = 2,
    *,
    starts: int = STARTS,
    random_seed: int = 1,
    band: float = BAND,
) -> LatentClassResult:
    """Fit a latent class MNL to choice arrays (what :func:`fit_latent_class` does after
    preparing them); ``arrays.resp`` says which observations share a class.

    Examples
    --------
    >>> fit_latent_class_arrays(arrays_from_long(df, respondent="id", task="chid",
    ...     choice="choice", columns=["pf", "cl"]), 2)  # doctest: +SKIP
    """
    band = check_band(band)
    for label, value, low in (("classes", classes, 1), ("starts", starts, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ParameterError(f"{label} must be a whole number >= {low}; got {value!r}.")
    if arrays.n_obs == 0:
        raise WinbackError("no choice tasks to fit.")
    _check_identified(arrays.x, arrays.avail, arrays.names)
    present, resp = np.unique(arrays.resp, return_inverse=True)
    if len(present) < arrays.n_respondents:  # respondents without observations: left out
        ids = tuple(arrays.respondent_ids[i] for i in present)
        arrays = replace(arrays, resp=resp.astype(int), respondent_ids=ids)
    n_resp = len(present)
    if classes > n_resp:
        raise ParameterError(f"classes ({classes}) exceeds the respondents ({n_resp}).")
    lik = Likelihood(arrays)
    base = fit_mnl_arrays(arrays, robust=False)
    rng = np.random.default_rng(random_seed)
    best: np.ndarray | None = None
    best_ll = -np.inf
    finals = np.full(starts, np.nan)
    for s in range(starts):
        theta0 = random_start(base.coef, base.classical_se, classes, rng, s)
        theta, ll, ok = em(lik, theta0, classes)
        if not ok:
            continue
        theta, _ = polish(lik, theta, classes)
        ll = lik.loglik(theta, classes)
        finals[s] = ll
        if ll > best_ll:
            best, best_ll = theta, ll
    if best is None:
        raise WinbackError(
            f"every one of the {starts} starts ended with a class of under one respondent "
            f"or without finite part-worths: the data do not support {classes} classes. "
            "Fit fewer classes (see choose_classes)."
        )
    theta, converged = polish(lik, best, classes)
    ll = lik.loglik(theta, classes)
    hess = hessian(lik, theta, classes)
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError as err:
        raise WinbackError(
            f"the information matrix of the {classes}-class model is singular at the optimum: "
            "a class's part-worths are not identified. Fit fewer classes."
        ) from err
    if not np.all(np.diag(cov) > 0):
        log.warning("the %d-class optimum is not a maximum (information not positive)", classes)
    coef, a = unpack(theta, classes, arrays.n_parameters)
    _, post = lik.posterior(theta, classes)
    grad = lik.scores(theta, classes).sum(axis=0)
    return LatentClassResult(
        names=tuple(arrays.names),
        coef=coef,
        share_logits=a,
        cov=cov,
        membership=post,
        respondent_ids=tuple(arrays.respondent_ids),
        log_likelihood=float(ll),
        n_obs=arrays.n_obs,
        starts=finals,
        converged=converged,
        gradient_max=float(np.abs(grad).max()),
        band=band,
    )


@dataclass(frozen=True)
class ClassChoice:
    """Fit criteria for several numbers of classes (:func:`choose_classes`).

    Attributes
    ----------
    table : DataFrame
        ``classes, log_likelihood, n_parameters, aic, bic, caic, entropy_r2, smallest_class,
        best_starts, starts``, one row per number of classes that could be fitted.
    recommended : int
        The number of classes with the lowest BIC.
    fits : dict
        The fitted :class:`LatentClassResult` per number of classes.
    """

    table: pd.DataFrame
    recommended: int
    fits: dict[int, LatentClassResult] = field(repr=False)


def choose_classes(
    dataset: ChoiceDataset | ChoiceArrays,
    classes: range | list[int] = range(2, 7),
    *,
    starts: int = STARTS,
    random_seed: int = 1,
) -> ClassChoice:
    """Fit each number of classes and recommend the one with the lowest BIC.

    BIC (with the respondents as sample size) is the usual choice for latent class choice
    models; CAIC penalises more (fewer classes), AIC less. A number of classes the data do not
    support (a class empty in every start) is left out of the table with a warning.

    Examples
    --------
    >>> choice = choose_classes(dataset, range(1, 6))  # doctest: +SKIP
    >>> choice.table; choice.fits[choice.recommended]  # doctest: +SKIP
    """
    numbers = list(classes)
    if not numbers:
        raise ParameterError("classes is empty; give numbers of classes, e.g. range(2, 7).")
    fits: dict[int, LatentClassResult] = {}
    for c in numbers:
        try:
            if isinstance(dataset, ChoiceArrays):
                fits[c] = fit_latent_class_arrays(
                    dataset, c, starts=starts, random_seed=random_seed
                )
            else:
                fits[c] = fit_latent_class(dataset, c, starts=starts, random_seed=random_seed)
        except WinbackError as err:
            log.warning("%d classes left out: %s", c, err)
    if not fits:
        raise WinbackError(f"no number of classes in {numbers} could be fitted.")
    rows = [
        {
            **{k: v for k, v in r.statistics().items() if k in _CHOICE_COLUMNS},
            "smallest_class": float(r.shares.min()),
        }
        for r in fits.values()
    ]
    table = pd.DataFrame(rows)[
        [
            "classes",
            "log_likelihood",
            "n_parameters",
            "aic",
            "bic",
            "caic",
            "entropy_r2",
            "smallest_class",
            "best_starts",
            "starts",
        ]
    ]
    recommended = int(table.loc[table["bic"].idxmin(), "classes"])
    return ClassChoice(table, recommended, fits)


_CHOICE_COLUMNS = {
    "classes",
    "log_likelihood",
    "n_parameters",
    "aic",
    "bic",
    "caic",
    "entropy_r2",
    "best_starts",
    "starts",
}
