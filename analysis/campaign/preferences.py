"""A preference for every customer: respondents' own posterior part-worths, everyone else's
predicted from the upper-level (covariate) model with the population's spread.

The HB model (``analysis.hb``) is, in its scaled theta space,

    theta_i = mu + Gamma' w_i + L z_i,   z_i ~ N(0, I)

with ``w_i`` the respondent's covariates centred by the respondents' means, and part-worths
``beta_k = theta_k / scale_k`` (a constrained part-worth ``-exp(theta_k) / scale_k``, ordered
levels cumulative sums of ``exp(theta)``). For a customer who did not answer, on every posterior
draw ``d``: ``theta = mu_d + Gamma_d' (w - means) + L_d z`` with ``z`` fresh (seeded,
counter-based: the same customer, draw and seed give the same ``z``), the same transformation
to part-worths. Over the draws these predictions carry both the posterior's uncertainty and the
spread of customers around their covariates' mean: a prediction is honest about being one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analysis.campaign.customers import RESPONDENT, Customers, covariate_values
from analysis.data import respondent_covariates
from analysis.hb import constraint_plan
from analysis.simulator import PartWorthDraws
from conjoint.encoding import parameter_names
from winback.errors import WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["CustomerPreferences", "UpperLevel", "customer_preferences"]

log = logging.getLogger("winback")
_INDICATOR = re.compile(r"^(?P<column>.+)\[(?P<level>.*)\]$")


def _thin(n_total: int, n_draws: int | None) -> np.ndarray:
    """The draws kept: all, or ``n_draws`` evenly spaced (as ``PartWorthDraws.from_model``)."""
    if n_draws is None or n_draws >= n_total:
        return np.arange(n_total)
    if n_draws < 1:
        raise WinbackError(f"n_draws must be at least 1, got {n_draws}.")
    return np.linspace(0, n_total - 1, n_draws).round().astype(int)


@dataclass(frozen=True)
class UpperLevel:
    """The upper-level model on every posterior draw, in its theta space.

    Attributes
    ----------
    names : tuple of str
        Parameter names.
    mu : ndarray (sample, parameter)
    chol : ndarray (sample, parameter, parameter)
        Lower Cholesky factor ``L`` of the covariance of theta.
    gamma : ndarray (sample, covariate, parameter)
        Covariate effects (``theta = mu + gamma' w + L z``).
    scale : ndarray (parameter,)
        ``beta = theta / scale`` (after the constraint's transformation).
    constraints : tuple of (tuple of int, str)
        Column groups and their constraint (``analysis.hb.constraint_plan``).
    covariate_names : tuple of str
    covariate_means : ndarray (covariate,)
        What the fit centred the covariates by.
    covariate_levels : mapping
        Respondent column -> its values in the fit (for indicator covariates ``column[value]``:
        a customer's value must be one of them).
    """

    names: tuple[str, ...]
    mu: np.ndarray = field(repr=False)
    chol: np.ndarray = field(repr=False)
    gamma: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    constraints: tuple[tuple[tuple[int, ...], str], ...] = ()
    covariate_names: tuple[str, ...] = ()
    covariate_means: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    covariate_levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        s, k = self.mu.shape
        m = len(self.covariate_names)
        if self.chol.shape != (s, k, k) or self.gamma.shape != (s, m, k):
            raise WinbackError(
                f"upper level: mu {self.mu.shape}, chol {self.chol.shape} and gamma "
                f"{self.gamma.shape} do not fit (sample, {k} parameters, {m} covariates)."
            )
        if len(self.covariate_means) != m or len(self.scale) != k or len(self.names) != k:
            raise WinbackError("upper level: names, scale or covariate means of the wrong length.")

    @property
    def n_samples(self) -> int:
        return int(self.mu.shape[0])

    @classmethod
    def from_model(cls, model: HBModel, n_draws: int | None = None) -> UpperLevel:
        """The upper level of a fitted model (``n_draws``: evenly thinned, as the part-worth
        draws of :meth:`CustomerPreferences.from_model`)."""
        post = model.idata_["posterior"]
        k = len(model.names)
        mu = post["mu_scaled"].to_numpy().reshape(-1, k)
        keep = _thin(mu.shape[0], n_draws)
        mu = mu[keep]
        if "chol" in post:
            packed = post["chol"].to_numpy().reshape(-1, k * (k + 1) // 2)[keep]
            chol = np.zeros((len(keep), k, k))
            rows, cols = np.tril_indices(k)
            chol[:, rows, cols] = packed
        else:
            sd = post["sd_scaled"].to_numpy().reshape(-1, k)[keep]
            chol = sd[:, :, None] * np.eye(k)[None]
        names = tuple(model.arrays_.covariate_names)
        if names:
            gamma = post["gamma_scaled"].to_numpy().reshape(-1, len(names), k)[keep]
        else:
            gamma = np.zeros((len(keep), 0, k))
        plan = constraint_plan(list(model.names), model.settings.constraints)
        return cls(
            names=tuple(model.names),
            mu=mu,
            chol=chol,
            gamma=gamma,
            scale=np.asarray(model.arrays_.column_scale(), dtype=float),
            constraints=tuple((tuple(idx), str(kind)) for idx, kind in plan),
            covariate_names=names,
            covariate_means=_covariate_means(model),
            covariate_levels=_covariate_levels(model),
        )

    @classmethod
    def from_values(
        cls,
        study: Study,
        mean: Mapping[str, float] | np.ndarray,
        cov: np.ndarray,
        *,
        gamma: np.ndarray | None = None,
        covariate_names: Sequence[str] = (),
        covariate_means: Sequence[float] | None = None,
        covariate_levels: Mapping[str, Sequence[str]] | None = None,
        n_draws: int = 1,
    ) -> UpperLevel:
        """A known upper level (no posterior uncertainty: the same values on ``n_draws``
        draws), part-worths on their own scale, unconstrained: for simulations and tests."""
        names = tuple(parameter_names(study))
        k = len(names)
        mu = (
            np.array([mean[n] for n in names], dtype=float)
            if isinstance(mean, Mapping)
            else np.asarray(mean, dtype=float)
        )
        m = len(covariate_names)
        g = np.zeros((m, k)) if gamma is None else np.asarray(gamma, dtype=float)
        chol = np.linalg.cholesky(np.asarray(cov, dtype=float))
        return cls(
            names=names,
            mu=np.repeat(mu[None], n_draws, axis=0),
            chol=np.repeat(chol[None], n_draws, axis=0),
            gamma=np.repeat(g[None], n_draws, axis=0),
            scale=np.ones(k),
            covariate_names=tuple(covariate_names),
            covariate_means=np.zeros(m)
            if covariate_means is None
            else np.asarray(covariate_means, dtype=float),
            covariate_levels={c: tuple(v) for c, v in (covariate_levels or {}).items()},
        )

    def beta(self, w: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Part-worths (sample, customer, parameter) for centred covariates ``w`` (customer,
        covariate) and normals ``z`` (sample, customer, parameter): NumPy, for checks and
        small sets (scoring runs the same in its kernel)."""
        theta = self.mu[:, None, :] + np.einsum("nm,smk->snk", w, self.gamma)
        theta = theta + np.einsum("snq,skq->snk", z, self.chol)
        for idx, kind in self.constraints:
            col = np.exp(theta[..., list(idx)])
            if kind in ("increasing", "decreasing"):
                col = np.cumsum(col, axis=-1)
            theta[..., list(idx)] = (-1.0 if kind in ("negative", "decreasing") else 1.0) * col
        return theta / self.scale


def _covariate_means(model: HBModel) -> np.ndarray:
    """The means the fit centred its covariates by: recorded in fits saved since they are;
    for older fits rebuilt from the respondents' answers (and checked against the centred
    covariates the fit holds)."""
    arrays = model.arrays_
    names = tuple(arrays.covariate_names)
    if not names:
        return np.zeros(0)
    if arrays.covariate_means is not None:
        return np.asarray(arrays.covariate_means, dtype=float)
    columns = sorted({_INDICATOR.sub(r"\g<column>", n) for n in names})
    try:
        raw = respondent_covariates(model.dataset_, columns).set_index("respondent_id")
        values = raw.loc[list(model.respondent_ids), list(names)].to_numpy(dtype=float)
    except (WinbackError, KeyError):
        values = None
    if values is not None and arrays.covariates is not None:
        means = values.mean(axis=0)
        if np.allclose(values - means, arrays.covariates, atol=1e-9):
            return means
    raise WinbackError(
        "this fit predates the recording of its covariates' centring means and they cannot be "
        f"rebuilt from its respondents' answers (covariates {list_valid(names)}); refit it "
        "with this version of winback to predict part-worths for customers."
    )


def _covariate_levels(model: HBModel) -> dict[str, tuple[str, ...]]:
    people = model.dataset_.respondents
    if people is None:
        return {}
    out = {}
    ids = set(model.respondent_ids)
    kept = people[people["respondent_id"].astype(str).isin(ids)]
    for n in model.arrays_.covariate_names:
        m = _INDICATOR.match(n)
        if m and m["column"] in kept.columns and n not in kept.columns:
            col = kept[m["column"]].dropna().astype(str).str.strip()
            out[m["column"]] = tuple(sorted(col.unique()))
    return out


def customer_covariates(upper: UpperLevel, customers: Customers) -> np.ndarray:
    """The fit's covariates of every customer, centred as in the fit: (customer, covariate).

    See :func:`analysis.campaign.customers.covariate_values` for how each covariate is read
    and what is reported.
    """
    w = covariate_values(
        customers.frame,
        upper.covariate_names,
        upper.covariate_levels,
        rows=customers.rows,
        label=customers.source,
    )
    return w - upper.covariate_means


def _key(random_seed: int) -> np.uint64:
    digest = hashlib.sha256(f"winback campaign {int(random_seed)}".encode()).digest()
    return np.uint64(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class CustomerPreferences:
    """Part-worth draws for every customer of a CRM list.

    Respondents (customers whose ``respondent_id`` is one of the fit's respondents) keep their
    own posterior draws; every other customer's are predicted from ``upper`` (made on demand:
    :meth:`beta`, and inside scoring's kernel).

    Attributes
    ----------
    study : Study
    names : tuple of str
    customer_ids : tuple of str
    who : ndarray of int (customer,)
        Row of the customer in ``respondent_beta``, or -1: predicted.
    respondent_beta : ndarray (sample, respondent, parameter)
        The matched respondents' own draws, original scale.
    upper : UpperLevel or None
        None when every customer has own draws.
    covariates : ndarray (customer, covariate)
        Centred as in the fit.
    random_seed : int
        Seed of the normals of predicted customers.
    """

    study: Study
    names: tuple[str, ...]
    customer_ids: tuple[str, ...] = field(repr=False)
    who: np.ndarray = field(repr=False)
    respondent_beta: np.ndarray = field(repr=False)
    upper: UpperLevel | None = field(default=None, repr=False)
    covariates: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    random_seed: int = 1

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_samples(self) -> int:
        return int(self.respondent_beta.shape[0])

    @property
    def n_predicted(self) -> int:
        return int((self.who < 0).sum())

    @property
    def key(self) -> np.uint64:
        return _key(self.random_seed)

    def __repr__(self) -> str:
        cov = self.upper.covariate_names if self.upper is not None else ()
        return (
            f"CustomerPreferences: {self.n_customers:,} customers, "
            f"{self.n_customers - self.n_predicted:,} with their own posterior part-worths, "
            f"{self.n_predicted:,} predicted from the upper-level model"
            + (f" (covariates {list_valid(cov)})" if cov else "")
            + f"; {self.n_samples:,} draws"
        )

    def beta(self, customers: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Part-worth draws (sample, customer, parameter) of the customers at these positions
        (all by default: mind the memory): the respondents' own, the others' predicted with the
        normals scoring uses."""
        idx = np.arange(self.n_customers) if customers is None else np.asarray(customers)
        out = np.empty((self.n_samples, len(idx), len(self.names)))
        own = self.who[idx] >= 0
        if own.any():
            out[:, own] = self.respondent_beta[:, self.who[idx][own]]
        if (~own).any():
            if self.upper is None:
                raise WinbackError("no upper level to predict customers without draws.")
            # lazy: numba (about 0.4 s to import) loads when customers are predicted
            from analysis.campaign._kernels import normals_of

            pred = idx[~own].astype(np.int64)
            z = normals_of(self.key, pred, len(self.names), self.n_samples)
            out[:, ~own] = self.upper.beta(self.covariates[pred], z)
        return out

    @classmethod
    def from_draws(
        cls, draws: PartWorthDraws, customer_ids: Sequence[str] | None = None
    ) -> CustomerPreferences:
        """Every customer with own draws (e.g. known true part-worths of a simulation)."""
        ids = tuple(customer_ids) if customer_ids is not None else tuple(draws.respondent_ids)
        if len(ids) != draws.n_respondents:
            raise WinbackError(
                f"{len(ids)} customer ids for {draws.n_respondents} respondents' draws."
            )
        return cls(
            draws.study,
            tuple(draws.names),
            ids,
            np.arange(len(ids)),
            np.asarray(draws.beta, dtype=float),
        )


def customer_preferences(
    model: HBModel,
    customers: Customers,
    *,
    n_draws: int | None = None,
    random_seed: int = 1,
) -> CustomerPreferences:
    """A preference for every customer of a CRM list.

    Parameters
    ----------
    model : HBModel
        The study's fit. Its covariates (``model.settings.covariates``) must be columns of the
        customer table (a covariate ``column[value]`` needs the column ``column``).
    customers : Customers
        :func:`analysis.campaign.read_customers`.
    n_draws : int, optional
        Use this many posterior draws, evenly thinned (default: all).
    random_seed : int
        Seed of the predicted customers' normals.

    Returns
    -------
    CustomerPreferences

    Raises
    ------
    WinbackError
        A covariate missing from the table, blank or not a number, or a value the fit's
        respondents never gave, with the file, column and rows.

    Examples
    --------
    >>> prefs = customer_preferences(model, read_customers("lost_customers.csv"))  # doctest: +SKIP
    """
    upper = UpperLevel.from_model(model, n_draws)
    w = customer_covariates(upper, customers)
    beta = model.beta_draws()
    flat = beta.reshape(-1, beta.shape[2], beta.shape[3])[
        _thin(beta.shape[0] * beta.shape[1], n_draws)
    ]
    position = {r: i for i, r in enumerate(model.respondent_ids)}
    who = np.full(customers.n_customers, -1, dtype=np.int64)
    matched: list[int] = []
    unknown = 0
    for n, r in enumerate(customers.respondent_ids):
        if r is None:
            continue
        if r in position:
            who[n] = len(matched)
            matched.append(position[r])
        else:
            unknown += 1
    if not matched and RESPONDENT not in customers.frame.columns:
        same = sum(c in position for c in customers.ids)
        if same:
            log.warning(
                "%s has no respondent_id column, so every customer is predicted; %d customer "
                "id(s) are also respondent ids of the fit: if they are the same people, add a "
                "respondent_id column and they keep their own part-worths",
                customers.source,
                same,
            )
    if unknown:
        log.warning(
            "%s: %d customer(s) name a respondent_id that is not among the fit's %d "
            "respondents (excluded, or from another survey): their part-worths are predicted",
            customers.source,
            unknown,
            len(position),
        )
    return CustomerPreferences(
        model.study,
        tuple(model.names),
        customers.ids,
        who,
        np.asarray(flat[:, matched], dtype=float)
        if matched
        else np.zeros((flat.shape[0], 0, flat.shape[2])),
        upper,
        w,
        random_seed,
    )
