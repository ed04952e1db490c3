"""The fused MNL log-likelihood kernel and the packed-Cholesky product (analysis/_kernels.py)
against plain NumPy, in both PyTensor backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import grad

from analysis._kernels import mnl_beta_loglik, pack_design, packed_chol_matmul


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


def loglik_and_grad(x, resp, y, avail, beta_v, mode):
    packed = pack_design(x, resp, y, avail, beta_v.shape[0])
    beta = pt.dmatrix("beta")
    ll = mnl_beta_loglik(beta * packed.step, packed.codes, packed.ptr, packed.y, packed.mask)
    f = pytensor.function([beta], [ll, grad(ll, beta)], mode=mode)
    return packed, *f(beta_v)


PRICES = {"cents": [9.99, 12.49, 14.99], "grid": [20.0, 25.0, 30.0, 40.0]}
DTYPES = {"continuous": np.float64, "cents": np.int16, "grid": np.int8}


def dummy_design(rng, n, j, k, prices):
    """Dummy codes (0/1) and a price column."""
    x = rng.integers(0, 2, size=(n, j, k)).astype(float)
    x[..., -1] = rng.choice(prices, size=(n, j))
    return x


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
@pytest.mark.parametrize("scale", [0.3, 40.0])
@pytest.mark.parametrize("design", ["continuous", "cents", "grid"])
def test_kernel_matches_numpy(mode: str, scale: float, design: str) -> None:
    """Log-likelihood and gradient to 1e-10 relative, with unavailable alternatives (dual
    response), respondents' observations not in order (as dual response leaves them) and, at
    scale 40, utility gaps of hundreds (beyond the unshifted exp's range)."""
    rng = np.random.default_rng(7)
    n_resp, tasks, j, k = 30, 6, 4, 5
    resp = np.tile(np.arange(n_resp), tasks)  # interleaved, not grouped
    n = len(resp)
    if design == "continuous":
        x = rng.normal(size=(n, j, k))
    else:
        x = dummy_design(rng, n, j, k, PRICES[design])
    avail = np.ones((n, j), dtype=bool)
    avail[::3, 2:] = False  # some observations have only two alternatives
    x[~avail] = 0.0
    y = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    beta_v = rng.normal(size=(n_resp, k)) * scale / (1.0 if design == "continuous" else 10.0)
    packed, got_ll, got_g = loglik_and_grad(x, resp, y, avail, beta_v, mode)
    want_ll, want_g = reference(beta_v, x, resp, y, avail)
    assert packed.codes.dtype == DTYPES[design], (design, packed.codes.dtype)
    assert got_ll == pytest.approx(want_ll, rel=1e-10), (mode, got_ll, want_ll)
    assert np.allclose(got_g, want_g, rtol=1e-9, atol=1e-9 * np.abs(want_g).max()), (
        f"{mode}: max gradient error {np.abs(got_g - want_g).max():.3g}"
    )


def test_pack_design_codes() -> None:
    """Columns become the smallest exact integer type: dummy/effects codes and prices on a
    grid int8, cents int16, anything else float64; codes x step reproduce the design."""
    resp = np.array([1, 0, 1, 0])
    y = np.zeros(4, dtype=int)
    avail = np.ones((4, 2), dtype=bool)
    x = np.zeros((4, 2, 3))
    x[..., 0] = [[1, 0], [0, 1], [-1, 1], [1, 1]]  # effects codes
    x[..., 1] = [[20, 25], [30, 40], [35, 20], [0, 25]]  # a price grid of 5
    x[..., 2] = [[1, 0], [0, 0], [0, 1], [0, 0]]
    p = pack_design(x, resp, y, avail, 2)
    assert p.codes.dtype == np.int8 and p.step.tolist() == [1.0, 5.0, 1.0], (p.codes.dtype, p.step)
    assert p.ptr.tolist() == [0, 2, 4] and p.order.tolist() == [1, 3, 0, 2], (p.ptr, p.order)
    rows = x[p.order].reshape(8, 3)
    assert np.array_equal(p.codes.T * p.step, rows), (p.codes.T * p.step, rows)
    x[..., 1] = [[9.99, 14.99], [19.99, 59.99], [9.99, 0], [24.99, 9.99]]  # cents: int16
    p = pack_design(x, resp, y, avail, 2)
    assert p.codes.dtype == np.int16 and p.step[1] == pytest.approx(0.01), (p.codes.dtype, p.step)
    assert np.allclose(p.codes.T * p.step, x[p.order].reshape(8, 3), rtol=1e-14, atol=0)
    x[0, 0, 1] = np.pi  # off any grid: float64, step 1
    p = pack_design(x, resp, y, avail, 2)
    assert p.codes.dtype == np.float64 and p.step.tolist() == [1.0, 1.0, 1.0], p.step
    assert np.array_equal(p.codes.T, x[p.order].reshape(8, 3))


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
def test_packed_chol_matmul(mode: str) -> None:
    """z @ L.T from the packed lower triangle, and its gradient in z and the packed values,
    against the same product through PyTensor's own set_subtensor and dot."""
    rng = np.random.default_rng(3)
    n, k = 50, 6
    z_v = rng.normal(size=(n, k))
    packed_v = rng.normal(size=k * (k + 1) // 2)
    w = rng.normal(size=(n, k))
    z, packed = pt.dmatrix("z"), pt.dvector("packed")
    mine = (packed_chol_matmul(z, packed) * w).sum()
    tril = pt.set_subtensor(pt.zeros((k, k))[np.tril_indices(k)], packed)
    plain = ((z @ tril.T) * w).sum()
    f = pytensor.function([z, packed], [mine, *grad(mine, [z, packed])], mode=mode)
    g = pytensor.function([z, packed], [plain, *grad(plain, [z, packed])], mode="FAST_COMPILE")
    for got, want in zip(f(z_v, packed_v), g(z_v, packed_v), strict=True):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12), np.abs(got - want).max()


def test_kernel_exp_accuracy() -> None:
    """The polynomial exp and log inside the kernel: log p of the chosen (utility 0)
    alternative against a rival at -t is -log1p(exp(-t)); summed over t in [0, 40], to 1e-14
    relative."""
    rng = np.random.default_rng(1)
    n = 4000
    u = np.column_stack([np.zeros(n), -rng.uniform(0, 40, n)])
    x = np.zeros((n, 2, 1))
    x[:, 1, 0] = u[:, 1]
    resp = np.zeros(n, dtype=np.int64)
    y = np.zeros(n, dtype=np.int64)
    avail = np.ones((n, 2), dtype=bool)
    p = pack_design(x, resp, y, avail, 1)
    beta = pt.dmatrix("beta")
    f = pytensor.function(
        [beta], mnl_beta_loglik(beta * p.step, p.codes, p.ptr, p.y, p.mask), mode="NUMBA"
    )
    got = f(np.ones((1, 1)))
    want = float(-np.sum(np.log1p(np.exp(u[:, 1]))))
    assert got == pytest.approx(want, rel=1e-14), (got, want)
