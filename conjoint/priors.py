"""Priors of MNL parameters for Bayesian D-efficient designs: their mean and their draws."""

from __future__ import annotations

import math

import numpy as np

from conjoint.encoding import parameter_attribute
from winback.study import Priors, Study


def _primes(k: int) -> list[int]:
    """The first ``k`` prime numbers."""
    primes: list[int] = []
    candidate = 2
    while len(primes) < k:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def _halton(n: int, k: int, seed: int) -> np.ndarray:
    """(n, k) scrambled Halton points in [0, 1): Owen's random digit permutations (2017).

    The same numbers as ``scipy.stats.qmc.Halton(d=k, scramble=True, seed=seed).random(n)``
    (tested bit for bit) without importing ``scipy.stats``, which takes 0.5 to 1.5 s and which
    nothing else of ``winback import`` needs. Dimension ``j`` is the van der Corput sequence in
    the ``j``-th prime base ``b``; the digit at each of the ``ceil(54 / log2 b) - 1`` places
    that a double resolves goes through its own permutation of ``0 .. b-1`` (a shuffle by
    ``numpy.random.default_rng(seed)``, dimensions and places in order).
    """
    rng = np.random.default_rng(seed)
    index = np.arange(n, dtype=np.int64)
    out = np.empty((k, n))
    for j, base in enumerate(_primes(k)):
        places = math.ceil(54 / math.log2(base)) - 1
        perms = np.repeat(np.arange(base)[None], places, axis=0)
        for perm in perms:
            rng.shuffle(perm)
        quotient = index.copy()
        value = np.zeros(n)
        scale = 1.0 / base
        for perm in perms:  # digits from the least significant, as the point's expansion
            value += perm[quotient % base] * scale
            scale /= base
            quotient //= base
        out[j] = value
    return out.T


def _standard_normal(n: int, k: int, seed: int) -> np.ndarray:
    """Scrambled-Halton quasi-random standard normal draws (better coverage than pseudo-random)."""
    # lazy: scipy.special takes a moment to import; only designs with prior draws need it
    from scipy.special import ndtri

    u = _halton(n, k, seed)
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
