"""Priors of MNL parameters for Bayesian D-efficient designs: their mean and their draws."""

from __future__ import annotations

import math

import numpy as np

from conjoint.encoding import parameter_attribute
from winback.study import Priors, Study


def _standard_normal(n: int, k: int, seed: int) -> np.ndarray:
    """Scrambled-Halton quasi-random standard normal draws (better coverage than pseudo-random)."""
    # lazy: scipy.stats takes 0.5 s to import; only designs with prior draws need it
    from scipy.special import ndtri
    from scipy.stats import qmc

    u = qmc.Halton(d=k, scramble=True, seed=seed).random(n)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.asarray(ndtri(u))


def prior_draws(study: Study, priors: Priors | None = None, seed: int = 1) -> np.ndarray:
    """Draws of the parameter vector, shape (n_draws, n_parameters), in canonical order.

    ``null`` gives a single zero vector (every alternative equally likely). ``normal`` draws each
    parameter independently from N(mean, sd). ``correlated`` draws from a multivariate normal with
    the stated correlation (or covariance). ``sign`` draws half-normal magnitudes with the stated
    sign; ``increasing``/``decreasing`` on a part-worth attribute orders its levels (cumulative
    half-normal steps from the reference).

    Examples
    --------
    >>> prior_draws(study).shape  # doctest: +SKIP
    (100, 10)
    """
    pr = priors if priors is not None else study.priors
    owners = parameter_attribute(study)
    k = len(owners)
    if pr.kind == "null":
        return np.zeros((1, k))
    mean = np.asarray(pr.mean if pr.mean else (0.0,) * k, dtype=float)
    sd = np.asarray(pr.sd if pr.sd else (1.0,) * k, dtype=float)
    z = _standard_normal(pr.draws, k, seed)
    if pr.kind == "normal":
        return mean + z * sd
    if pr.kind == "correlated":
        corr = np.asarray(pr.correlation, dtype=float)
        cov = corr * np.outer(sd, sd)
        chol = np.linalg.cholesky(cov)
        return mean + z @ chol.T
    if pr.kind == "sign":
        out = mean + z * sd
        signs = dict(pr.sign)
        for owner, sgn in signs.items():
            idx = [i for i, o in enumerate(owners) if o == owner]
            mag = np.abs(z[:, idx]) * sd[idx]
            if sgn in ("increasing", "decreasing") and len(idx) > 1:
                mag = np.cumsum(mag, axis=1)
            sign = 1.0 if sgn in ("positive", "increasing") else -1.0
            out[:, idx] = sign * mag
        return out
    raise ValueError(f"Unknown prior kind '{pr.kind}'. Valid: null, normal, sign, correlated.")


def prior_mean(study: Study, priors: Priors | None = None) -> np.ndarray:
    """The mean of the prior as stated in the study, shape (n_parameters,), canonical order.

    This is the point where Dp-error, A-error and the standard errors of the design
    diagnostics are evaluated; it is the stated mean, not the mean of the (finitely many)
    draws, so it does not move with ``draws`` or the seed. ``null``: zeros. ``normal`` and
    ``correlated``: ``[priors] mean``. ``sign``: unsigned parameters keep ``mean``; a signed
    parameter has the mean of its half-normal, sign x sd x sqrt(2 / pi), and an
    ``increasing``/``decreasing`` part-worth attribute the cumulative sums of those (the
    draws are built the same way; see :func:`prior_draws`).

    Examples
    --------
    >>> prior_mean(study)  # doctest: +SKIP
    array([ 0.4 ,  0.8 , -0.05, -2.  ])
    """
    pr = priors if priors is not None else study.priors
    owners = parameter_attribute(study)
    k = len(owners)
    if pr.kind == "null":
        return np.zeros(k)
    mean = np.array(pr.mean if pr.mean else (0.0,) * k, dtype=float)
    if pr.kind in ("normal", "correlated"):
        return mean
    if pr.kind == "sign":
        sd = np.asarray(pr.sd if pr.sd else (1.0,) * k, dtype=float)
        for owner, sgn in pr.sign:
            idx = [i for i, o in enumerate(owners) if o == owner]
            mag = sd[idx] * math.sqrt(2.0 / math.pi)
            if sgn in ("increasing", "decreasing") and len(idx) > 1:
                mag = np.cumsum(mag)
            mean[idx] = (1.0 if sgn in ("positive", "increasing") else -1.0) * mag
        return mean
    raise ValueError(f"Unknown prior kind '{pr.kind}'. Valid: null, normal, sign, correlated.")
