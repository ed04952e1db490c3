"""The marginal likelihood of a latent class MNL, its EM and Newton steps (private to
:mod:`analysis.latent_class`).

Parameters are one vector ``theta = (coef.ravel(), a_2..a_C)``: the part-worths of each class
then the share logits against class 1.
"""

from __future__ import annotations

import numpy as np

from analysis.data import ChoiceArrays
from analysis.mnl import _probabilities

#: EM stops when an iteration gains less log-likelihood than this (Newton steps on the
#: marginal likelihood take it from there)
EM_TOLERANCE = 1e-4
#: EM iterations per start before Newton takes over
EM_MAX_ITERATIONS = 300
#: Newton steps per M-step (one is a generalised EM: it still gains every iteration)
NEWTON_STEPS = 1
#: a class whose share times the number of respondents falls below this is empty
MIN_CLASS_SIZE = 1.0
#: a part-worth beyond this (in absolute value) means a class with no finite estimate
MAX_ABS_COEF = 50.0


class Likelihood:
    """The marginal likelihood of a latent class MNL on fixed arrays."""

    def __init__(self, arrays: ChoiceArrays) -> None:
        from scipy import sparse  # about 0.1 s: where the EM starts, not at start-up

        self.x, self.y, self.avail = arrays.x, arrays.y, arrays.avail
        self.resp = arrays.resp
        self.n_resp = arrays.n_respondents
        self.k = arrays.n_parameters
        self.chosen = self.x[np.arange(len(self.y)), self.y]
        n = len(self.resp)
        #: (R, N) indicator: sums over each respondent's observations
        self.sum_by_resp = sparse.csr_matrix(
            (np.ones(n), (self.resp, np.arange(n))), shape=(self.n_resp, n)
        )

    def class_loglik(self, coef: np.ndarray) -> np.ndarray:
        """``(R, C)``: each respondent's log-likelihood under each class."""
        out = np.empty((self.n_resp, coef.shape[0]))
        for c, b in enumerate(coef):
            _, lse = _probabilities(b, self.x, self.avail)
            out[:, c] = np.bincount(self.resp, self.chosen @ b - lse, minlength=self.n_resp)
        return out

    def posterior(self, theta: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
        """Each respondent's marginal log-likelihood and posterior class probabilities."""
        coef, a = unpack(theta, classes, self.k)
        return self.posterior_given(
            coef, np.broadcast_to(a - _logsumexp(a), (self.n_resp, classes))
        )

    def posterior_given(
        self, coef: np.ndarray, log_prior: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`posterior` with each respondent's own log prior class probabilities
        ``(R, C)`` (the class shares of a covariate model)."""
        joint = self.class_loglik(coef) + log_prior
        marg = _logsumexp(joint, axis=1)
        return marg, np.exp(joint - marg[:, None])

    def coef_scores(self, coef: np.ndarray, post: np.ndarray) -> np.ndarray:
        """``(R, C*K)``: each respondent's score of the part-worths given the posteriors."""
        out = np.empty((self.n_resp, coef.size))
        for c, b in enumerate(coef):
            p, _ = _probabilities(b, self.x, self.avail)
            task = self.chosen - _mean_rows(p, self.x)
            out[:, c * self.k : (c + 1) * self.k] = post[:, [c]] * (self.sum_by_resp @ task)
        return out

    def loglik(self, theta: np.ndarray, classes: int) -> float:
        return float(self.posterior(theta, classes)[0].sum())

    def scores(self, theta: np.ndarray, classes: int) -> np.ndarray:
        """``(R, P)``: each respondent's score of the marginal log-likelihood."""
        coef, a = unpack(theta, classes, self.k)
        _, post = self.posterior(theta, classes)
        pi = np.exp(a - _logsumexp(a))
        return np.hstack([self.coef_scores(coef, post), post[:, 1:] - pi[1:]])


def _logsumexp(v: np.ndarray, axis: int | None = None) -> np.ndarray:
    m = np.max(v, axis=axis, keepdims=True)
    out = m + np.log(np.exp(v - m).sum(axis=axis, keepdims=True))
    return out.squeeze(axis) if axis is not None else out.reshape(())


def _mean_rows(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_j p[n, j] x[n, j, :]``."""
    return np.matmul(p[:, None, :], x)[:, 0, :]


def unpack(theta: np.ndarray, classes: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    coef = theta[: classes * k].reshape(classes, k)
    a = np.concatenate([[0.0], theta[classes * k :]])
    return coef, a


def random_start(
    beta: np.ndarray, se: np.ndarray, classes: int, rng: np.random.Generator, s: int
) -> np.ndarray:
    """The aggregate MNL's part-worths, each class shifted at random (start 0: by steps of
    half the part-worths' size, as gmnl's default start); equal shares."""
    k = len(beta)
    scale = 0.5 * np.abs(beta) + 2.0 * se
    if s == 0:
        shifts = np.linspace(-1.0, 1.0, classes)[:, None] * scale if classes > 1 else 0 * scale
        coef = beta + shifts
    else:
        coef = beta + rng.standard_normal((classes, k)) * scale
    return np.concatenate([coef.ravel(), np.zeros(classes - 1)])


def em(lik: Likelihood, theta: np.ndarray, classes: int) -> tuple[np.ndarray, float, bool]:
    """EM from ``theta``: the final parameters, log-likelihood, and whether every class kept
    at least one respondent and finite part-worths."""
    k = lik.k
    ll_old = -np.inf
    for _ in range(EM_MAX_ITERATIONS):
        marg, post = lik.posterior(theta, classes)
        ll = float(marg.sum())
        size = post.sum(axis=0)
        if size.min() < MIN_CLASS_SIZE:
            return theta, ll, False
        if ll - ll_old < EM_TOLERANCE:
            break
        ll_old = ll
        coef, _ = unpack(theta, classes, k)
        new = np.array([weighted_newton(lik, b, post[lik.resp, c]) for c, b in enumerate(coef)])
        if np.abs(new).max() > MAX_ABS_COEF:
            return theta, ll, False
        a = np.log(size / size[0])
        theta = np.concatenate([new.ravel(), a[1:]])
    return theta, ll, True


def weighted_newton(lik: Likelihood, beta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One M-step: Newton on the task-weighted MNL log-likelihood (concave), a few steps,
    each halved until it gains."""
    x, avail, chosen = lik.x, lik.avail, lik.chosen

    def value(b: np.ndarray) -> float:
        _, lse = _probabilities(b, x, avail)
        return float(w @ (chosen @ b - lse))

    ll = value(beta)
    for _ in range(NEWTON_STEPS):
        p, _ = _probabilities(beta, x, avail)
        xbar = _mean_rows(p, x)
        grad = w @ (chosen - xbar)
        dev = (x - xbar[:, None, :]) * np.sqrt(w[:, None] * p)[..., None]
        flat = dev.reshape(-1, dev.shape[2])
        info = flat.T @ flat
        try:
            step = np.linalg.solve(info + 1e-10 * np.eye(len(beta)), grad)
        except np.linalg.LinAlgError:
            break
        if float(grad @ step) < 1e-12:
            break
        t = 1.0
        while t > 1e-6:
            trial = beta + t * step
            ll_t = value(trial)
            if ll_t >= ll:
                break
            t /= 2.0
        else:
            break
        beta, ll = trial, ll_t
    return beta


def hessian(lik: Likelihood, theta: np.ndarray, classes: int) -> np.ndarray:
    """Hessian of the marginal log-likelihood: central differences of the analytic score."""
    n = len(theta)
    h = 1e-5 * np.maximum(np.abs(theta), 1.0)
    hess = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h[i]
        up = lik.scores(theta + e, classes).sum(axis=0)
        down = lik.scores(theta - e, classes).sum(axis=0)
        hess[:, i] = (up - down) / (2.0 * h[i])
    return (hess + hess.T) / 2.0


def polish(lik: Likelihood, theta: np.ndarray, classes: int) -> tuple[np.ndarray, bool]:
    """Newton steps on the marginal log-likelihood from the EM's optimum (EM is slow at the
    end); a step that loses log-likelihood is halved."""
    ll = lik.loglik(theta, classes)
    for _ in range(20):
        grad = lik.scores(theta, classes).sum(axis=0)
        hess = hessian(lik, theta, classes)
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            return theta, False
        dec = float(grad @ step)
        if dec < 0:  # not concave here: stay with EM's answer
            return theta, bool(np.abs(grad).max() < 1e-4)
        if dec < 1e-12:
            return theta, True
        t = 1.0
        while t > 1e-6:
            trial = theta + t * step
            ll_t = lik.loglik(trial, classes)
            if ll_t >= ll - 1e-10:
                break
            t /= 2.0
        else:
            return theta, bool(np.abs(grad).max() < 1e-4)
        theta, ll = trial, ll_t
    return theta, False
