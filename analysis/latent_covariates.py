"""Class membership by covariate: the latent classes' shares as a multinomial logit on what is
known of every customer (the concomitant-variable model), so that customers who were not
surveyed get class probabilities.

``P(class c | z) = exp(z' g_c) / sum_d exp(z' g_d)`` with ``z = (1, covariates)`` and
``g_1 = 0`` (class 1 is the reference; without covariates ``g_c`` is the share logit ``a_c``).

Estimation is the two-step estimator of Bakk and Kuha (2018, Psychometrika 83, 871-892): the
classes are fitted from the choices alone (step one: :func:`analysis.fit_latent_class`), then
``g`` maximises the same marginal likelihood with the part-worths held at their step-one
values (step two). Why not inside the EM (one step): with the covariates in the likelihood the
classes themselves move to fit the covariates, so their meaning (and the number of classes
chosen) would depend on which covariates were given; two steps keep the classes what the
choices say they are. Why not a logit of the modal classes on the covariates (classify, then
analyse): it treats the classification as certain and shrinks the covariates' effects towards
zero by the classification error; two steps use every respondent's likelihood of each class
and are consistent.

Standard errors: the inverse of the observed information of ``g`` with the part-worths fixed
understates the uncertainty (the part-worths are estimates too); Bakk and Kuha's correction
adds ``I22^-1 I21 V1 I12 I22^-1`` with ``I`` the observed information of the joint likelihood
(minus its Hessian, by central differences of the analytic score) and ``V1`` the step-one
covariance of the part-worths. Both are kept (``cov`` corrected, ``cov_fixed`` without).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis._latent_em import Likelihood
from analysis.campaign.customers import covariate_values
from analysis.data import ChoiceArrays, prepare_choice_data, respondent_covariates
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, list_valid
from winback.settings import band_label

if TYPE_CHECKING:
    from analysis.latent_class import LatentClassResult

__all__ = ["ClassMembershipModel", "fit_class_covariates", "fit_class_covariates_arrays"]

INTERCEPT = "intercept"


@dataclass(frozen=True, repr=False)
class ClassMembershipModel:
    """Class shares as a multinomial logit on covariates (see the module notes).

    Attributes
    ----------
    classes : tuple of str
        ``class 1``, ... (class 1 is the reference).
    labels : tuple of str
        The readable names (``class 2 (price-sensitive)``), as the latent class result's.
    covariate_names : tuple of str
        The covariates (``column`` for a number, ``column[value]`` for a text column's value
        against its first value in sorted order), as :func:`analysis.data.respondent_covariates`
        and the HB covariates name them.
    covariate_levels : mapping
        Text column -> the values the respondents gave (a customer's value must be one).
    coef : ndarray, shape (C, 1 + M)
        ``g_c``: intercept then covariates; row 0 (class 1) is zero.
    cov, cov_fixed : ndarray, shape ((C-1)(1+M), (C-1)(1+M))
        Covariance of ``coef[1:].ravel()``: corrected for the part-worths' uncertainty, and
        with the part-worths taken as known.
    log_likelihood, log_likelihood_without : float
        The marginal log-likelihood with the covariates and without (step one's).
    n_respondents : int
    band : float
    """

    classes: tuple[str, ...]
    labels: tuple[str, ...]
    covariate_names: tuple[str, ...]
    covariate_levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    coef: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cov_fixed: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    log_likelihood: float = 0.0
    log_likelihood_without: float = 0.0
    n_respondents: int = 0
    band: float = 0.9

    @property
    def terms(self) -> tuple[str, ...]:
        return (INTERCEPT, *self.covariate_names)

    @property
    def se(self) -> np.ndarray:
        """Standard errors (corrected) of ``coef``, shape (C, 1 + M); row 0 is zero."""
        q = len(self.terms)
        return np.vstack([np.zeros(q), np.sqrt(np.diag(self.cov)).reshape(-1, q)])

    @property
    def lr_test(self) -> tuple[float, int, float]:
        """Likelihood ratio test of the covariates: statistic, degrees of freedom, p-value."""
        stat = max(2.0 * (self.log_likelihood - self.log_likelihood_without), 0.0)
        df = (len(self.classes) - 1) * len(self.covariate_names)
        from scipy.stats import chi2  # about 0.4 s: only when the test is asked for

        return stat, df, float(chi2.sf(stat, df)) if df else 1.0

    def table(self) -> pd.DataFrame:
        """``class, term, estimate, se, z, p, lower, upper``: each class against class 1
        (log-odds), with intervals of ``band``."""
        from scipy.special import ndtr, ndtri  # about 0.2 s: not at start-up

        q = float(ndtri(0.5 + self.band / 2.0))
        se = self.se
        rows = []
        for c in range(1, len(self.classes)):
            for j, term in enumerate(self.terms):
                b, s = float(self.coef[c, j]), float(se[c, j])
                z = b / s if s > 0 else np.nan
                rows.append(
                    {
                        "class": self.classes[c],
                        "label": self.labels[c],
                        "term": term,
                        "estimate": b,
                        "se": s,
                        "z": z,
                        "p": float(2.0 * ndtr(-abs(z))),
                        "lower": b - q * s,
                        "upper": b + q * s,
                    }
                )
        return pd.DataFrame(rows)

    def probabilities(self, w: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, C)`` for covariate values ``w`` ``(N, M)``."""
        from scipy.special import logsumexp  # about 0.2 s: not at start-up

        z = np.column_stack([np.ones(len(w)), np.asarray(w, dtype=float)])
        eta = z @ self.coef.T
        return np.exp(eta - logsumexp(eta, axis=1, keepdims=True))

    def class_probabilities(
        self,
        frame: pd.DataFrame,
        *,
        rows: np.ndarray | None = None,
        label: str = "customers",
    ) -> pd.DataFrame:
        """Class probabilities of every row of a table of customers (surveyed or not).

        Parameters
        ----------
        frame : DataFrame
            One row per customer with the covariates' columns (numbers, or text for
            ``column[value]`` covariates: read as text is fine); other columns are ignored.
        rows, label
            The file line of each row and the file's name, for messages.

        Returns
        -------
        DataFrame
            ``customer_id`` or ``respondent_id`` when the table has one, then ``class 1``, ...,
            ``most_probable_class`` (plain ``class N``) and ``label`` (its readable name).

        Raises
        ------
        WinbackError
            Every missing column, blank or non-numeric cell and unknown text value, at once.

        Examples
        --------
        >>> lc.class_probabilities(crm_frame).head()  # doctest: +SKIP
        """
        w = covariate_values(
            frame, self.covariate_names, self.covariate_levels, rows=rows, label=label
        )
        p = self.probabilities(w)
        out = pd.DataFrame(p, columns=list(self.classes), index=frame.index)
        for key in ("respondent_id", "customer_id"):
            if key in frame.columns:
                out.insert(0, key, frame[key].astype(str).to_numpy())
                break
        best = p.argmax(axis=1)
        out["most_probable_class"] = [self.classes[i] for i in best]
        out["label"] = [self.labels[i] for i in best]
        return out.reset_index(drop=True)

    def __repr__(self) -> str:
        stat, df, p = self.lr_test
        lines = [
            f"ClassMembershipModel: {len(self.classes)} classes on "
            f"{len(self.covariate_names)} covariates ({list_valid(self.covariate_names)}), "
            f"{self.n_respondents} respondents",
            f"  log-likelihood {self.log_likelihood:.3f} (without covariates "
            f"{self.log_likelihood_without:.3f}; LR {stat:.2f} on {df} df, p {p:.4f}); "
            f"{band_label(self.band, 'interval')} in table()",
        ]
        se = self.se
        for c in range(1, len(self.classes)):
            lines.append(f"  {self.labels[c]} against class 1 (log-odds):")
            for j, t in enumerate(self.terms):
                lines.append(f"    {t:<28} {self.coef[c, j]:>9.4f}  se {se[c, j]:.4f}")
        return "\n".join(lines)


def _text_levels(people: pd.DataFrame, columns: Sequence[str]) -> dict[str, tuple[str, ...]]:
    out = {}
    for c in columns:
        col = people[c]
        if not (pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)):
            out[c] = tuple(sorted(col.dropna().astype(str).str.strip().unique()))
    return out


def fit_class_covariates(
    result: LatentClassResult, dataset: ChoiceDataset, columns: Sequence[str]
) -> LatentClassResult:
    """The latent class result with its class shares modelled on respondent covariates.

    Parameters
    ----------
    result : LatentClassResult
        Fitted to ``dataset`` by :func:`analysis.fit_latent_class` (step one).
    dataset : ChoiceDataset
        The same data, with the respondents' answers.
    columns : sequence of str
        Respondent columns: numbers as they are, text as indicators of its values (the
        first in sorted order is the reference), as the HB covariates.

    Returns
    -------
    LatentClassResult
        ``result`` with ``class_model`` set (:class:`ClassMembershipModel`); its part-worths,
        shares and memberships are step one's.

    Examples
    --------
    >>> lc = fit_class_covariates(lc, dataset, ["reason_price_rise", "tenure_months"])  # doctest: +SKIP
    >>> lc.class_model.table(); lc.class_probabilities(crm)  # doctest: +SKIP
    """
    cov = respondent_covariates(dataset, columns).set_index("respondent_id")
    people = dataset.respondents.assign(
        respondent_id=dataset.respondents["respondent_id"].astype(str)
    ).set_index("respondent_id")
    used = sorted({c for c in columns if c in people.columns})
    levels = _text_levels(people.loc[list(dataset.included_ids), used], used)
    model = fit_class_covariates_arrays(
        result, prepare_choice_data(dataset), cov.reset_index(), levels=levels
    )
    return replace(result, class_model=model)


def fit_class_covariates_arrays(
    result: LatentClassResult,
    arrays: ChoiceArrays,
    covariates: pd.DataFrame,
    *,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> ClassMembershipModel:
    """Step two on choice arrays: ``covariates`` holds ``respondent_id`` and one numeric
    column per covariate (one row per respondent of ``result``)."""
    present, resp = np.unique(arrays.resp, return_inverse=True)
    ids = tuple(arrays.respondent_ids[i] for i in present)
    if ids != tuple(result.respondent_ids):
        raise WinbackError(
            "the choice data are not the ones the latent classes were fitted to (their "
            "respondents differ); fit both on the same dataset."
        )
    if len(present) < arrays.n_respondents:
        arrays = ChoiceArrays(
            arrays.x, arrays.y, arrays.avail, resp.astype(int), ids, arrays.names, arrays.obs
        )
    frame = covariates.assign(respondent_id=covariates["respondent_id"].astype(str))
    frame = frame.set_index("respondent_id")
    missing = [r for r in ids if r not in frame.index]
    if missing:
        raise WinbackError(
            f"covariates missing for {len(missing)} respondents (e.g. {list_valid(missing[:5])})."
        )
    names = tuple(str(c) for c in frame.columns)
    w = frame.loc[list(ids)].to_numpy(dtype=float)
    z = np.column_stack([np.ones(len(ids)), w])
    lik = Likelihood(arrays)
    coef = result.coef
    n_c, q = coef.shape[0], z.shape[1]
    if n_c < 2:
        raise WinbackError("one class has no shares to model: fit two classes or more.")
    loglik_c = lik.class_loglik(coef)
    from scipy.special import logsumexp  # about 0.2 s: not at start-up

    def value(g: np.ndarray) -> tuple[float, np.ndarray]:
        gm = np.vstack([np.zeros(q), g.reshape(n_c - 1, q)])
        eta = z @ gm.T
        logpi = eta - logsumexp(eta, axis=1, keepdims=True)
        joint = loglik_c + logpi
        marg = logsumexp(joint, axis=1, keepdims=True)
        h = np.exp(joint - marg)
        grad = ((h - np.exp(logpi))[:, 1:]).T @ z
        return -float(marg.sum()), -grad.ravel()

    from scipy.optimize import minimize  # about 0.3 s: only when fitting

    start = np.zeros((n_c - 1, q))
    start[:, 0] = result.share_logits[1:]
    opt = minimize(value, start.ravel(), jac=True, method="BFGS", options={"gtol": 1e-8})
    g = opt.x
    if not np.all(np.isfinite(g)) or np.abs(g).max() > 50:
        raise WinbackError(
            "the class shares' covariate model has no finite estimate (a covariate separates "
            "the classes perfectly); leave that covariate out."
        )
    info = -_joint_hessian(lik, coef, g, z)
    k = coef.size
    i11, i12, i21, i22 = info[:k, :k], info[:k, k:], info[k:, :k], info[k:, k:]
    del i11
    try:
        i22_inv = np.linalg.inv(i22)
    except np.linalg.LinAlgError as err:
        raise WinbackError(
            f"the covariates {list_valid(names)} do not identify the class shares (their "
            "information is singular): leave out a covariate that repeats another."
        ) from err
    v1 = result.cov[:k, :k]
    cov = i22_inv + i22_inv @ i21 @ v1 @ i12 @ i22_inv
    return ClassMembershipModel(
        classes=tuple(result.class_labels),
        labels=tuple(result.readable_labels),
        covariate_names=names,
        covariate_levels={c: tuple(v) for c, v in (levels or {}).items()},
        coef=np.vstack([np.zeros(q), g.reshape(n_c - 1, q)]),
        cov=(cov + cov.T) / 2.0,
        cov_fixed=i22_inv,
        log_likelihood=-float(opt.fun),
        log_likelihood_without=result.log_likelihood,
        n_respondents=len(ids),
        band=result.band,
    )


def _joint_scores(lik: Likelihood, coef: np.ndarray, g: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Summed score of the joint log-likelihood in ``(coef.ravel(), g)``."""
    from scipy.special import logsumexp  # about 0.2 s: not at start-up

    n_c, q = coef.shape[0], z.shape[1]
    gm = np.vstack([np.zeros(q), g.reshape(n_c - 1, q)])
    eta = z @ gm.T
    logpi = eta - logsumexp(eta, axis=1, keepdims=True)
    _, post = lik.posterior_given(coef, logpi)
    s_coef = lik.coef_scores(coef, post).sum(axis=0)
    s_g = ((post - np.exp(logpi))[:, 1:]).T @ z
    return np.concatenate([s_coef, s_g.ravel()])


def _joint_hessian(lik: Likelihood, coef: np.ndarray, g: np.ndarray, z: np.ndarray) -> np.ndarray:
    theta = np.concatenate([coef.ravel(), g])
    k, n = coef.size, len(theta)
    step = 1e-5 * np.maximum(np.abs(theta), 1.0)
    hess = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = step[i]
        up, down = theta + e, theta - e
        s_up = _joint_scores(lik, up[:k].reshape(coef.shape), up[k:], z)
        s_down = _joint_scores(lik, down[:k].reshape(coef.shape), down[k:], z)
        hess[:, i] = (s_up - s_down) / (2.0 * step[i])
    return (hess + hess.T) / 2.0
