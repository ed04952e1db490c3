"""The fused MNL log-likelihood kernel (analysis/_kernels.py) against plain NumPy."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import grad

from analysis._kernels import mnl_beta_loglik


def reference(beta, x, resp, y, avail):
    util = np.einsum("ijk,ik->ij", x, beta[resp])
    util = np.where(avail, util, -np.inf)
    m = util.max(axis=1, keepdims=True)
    logp = util - m - np.log(np.exp(util - m).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    ll = logp[np.arange(len(y)), y].sum()
    r = -p
    r[np.arange(len(y)), y] += 1.0
    g = np.zeros_like(beta)
    np.add.at(g, resp, np.einsum("ijk,ij->ik", np.where(avail[..., None], x, 0.0), r))
    return ll, g


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
@pytest.mark.parametrize("scale", [0.3, 40.0])
def test_kernel_matches_numpy(mode: str, scale: float) -> None:
    """Log-likelihood and gradient to 1e-10 relative, with unavailable alternatives (dual
    response) and, at scale 40, utility gaps of hundreds (the exp's clamped range)."""
    rng = np.random.default_rng(7)
    n_resp, tasks, j, k = 30, 6, 4, 5
    resp = np.repeat(np.arange(n_resp), tasks)
    n = len(resp)
    x = rng.normal(size=(n, j, k))
    avail = np.ones((n, j), dtype=bool)
    avail[::3, 2:] = False  # some observations have only two alternatives
    x[~avail] = 0.0
    y = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    beta_v = rng.normal(size=(n_resp, k)) * scale
    beta = pt.dmatrix("beta")
    ll = mnl_beta_loglik(beta, pt.as_tensor(x), resp, y, avail)
    f = pytensor.function([beta], [ll, grad(ll, beta)], mode=mode)
    got_ll, got_g = f(beta_v)
    want_ll, want_g = reference(beta_v, x, resp, y, avail)
    assert got_ll == pytest.approx(want_ll, rel=1e-10), (mode, got_ll, want_ll)
    assert np.allclose(got_g, want_g, rtol=1e-9, atol=1e-9 * np.abs(want_g).max()), (
        f"{mode}: max gradient error {np.abs(got_g - want_g).max():.3g}"
    )


def test_kernel_exp_accuracy() -> None:
    """The polynomial exp inside the kernel: log p of the chosen (utility 0) alternative
    against a rival at -t is -log1p(exp(-t)); summed over t in [0, 40], to 1e-14 relative."""
    rng = np.random.default_rng(1)
    n = 4000
    u = np.column_stack([np.zeros(n), -rng.uniform(0, 40, n)])
    x = np.zeros((n, 2, 1))
    x[:, 1, 0] = u[:, 1]
    beta = pt.dmatrix("beta")
    resp = np.zeros(n, dtype=np.int64)
    y = np.zeros(n, dtype=np.int64)
    avail = np.ones((n, 2), dtype=bool)
    f = pytensor.function(
        [beta], mnl_beta_loglik(beta, pt.as_tensor(x), resp, y, avail), mode="NUMBA"
    )
    got = f(np.ones((1, 1)))
    want = float(-np.sum(np.log1p(np.exp(u[:, 1]))))
    assert got == pytest.approx(want, rel=1e-14), (got, want)
