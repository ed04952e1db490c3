"""The none constant sampled against the average alternative (analysis/_none_shift.py): the shift
vector from its definition, A L the Cholesky factor of A Sigma A^T (so the Jacobian is 1), and
the draws turned back exactly. The compiled log density against PyTensor's own graph of the
unshifted model is in test_compile_family.py."""

from __future__ import annotations

import numpy as np

from analysis._none_shift import none_shift, unshift

NAMES = ["plan[B]", "plan[C]", "price", "none"]


def _design(rng):
    # 30 tasks of 3 designed alternatives and none; the last task shows two alternatives only
    x = np.zeros((30, 4, 4))
    plan = rng.integers(0, 3, size=(30, 3))
    x[:, :3, 0] = plan == 1
    x[:, :3, 1] = plan == 2
    x[:, :3, 2] = rng.choice([20.0, 30.0, 40.0], size=(30, 3))
    x[:, 3, 3] = 1.0
    avail = np.ones((30, 4), dtype=bool)
    avail[-1, 2] = False
    return x, avail


def test_the_shift_is_the_none_scale_times_the_mean_scaled_alternative():
    rng = np.random.default_rng(0)
    x, avail = _design(rng)
    scale = np.array([0.4, 0.5, 8.0, 0.3])
    w = none_shift(x, avail, NAMES, scale, [])
    shown = x[avail & (x[..., 3] == 0)]
    want = 0.3 * shown.mean(axis=0) / scale
    want[3] = 0.0
    assert np.allclose(w, want, rtol=1e-14), (w, want)
    # the mean price (about 30) in units of the none column: the large entry
    assert 0.3 * 25 / 8 < w[2] < 0.3 * 35 / 8, w
    # a constrained column is on the log scale in the model: not shifted
    w_neg = none_shift(x, avail, NAMES, scale, [2])
    assert w_neg[2] == 0.0 and np.allclose(w_neg[:2], want[:2]), w_neg
    # the none column constrained, or no none: no shift at all
    assert not none_shift(x, avail, NAMES, scale, [3]).any()
    no_none = none_shift(x[:, :3, :3], avail[:, :3], NAMES[:3], scale[:3], [])
    assert not no_none.any(), no_none


def test_a_status_quo_after_none_is_left_out_of_the_average_and_not_shifted():
    rng = np.random.default_rng(1)
    x, avail = _design(rng)
    x = np.concatenate([x, np.zeros((30, 1, 4))], axis=1)
    x = np.concatenate([x, np.zeros((30, 5, 1))], axis=2)
    x[:, 4, :3] = [0.0, 1.0, 35.0]  # the status quo: Premium at 35
    x[:, 4, 4] = 1.0
    avail = np.concatenate([avail, np.ones((30, 1), dtype=bool)], axis=1)
    names = [*NAMES, "status_quo"]
    scale = np.ones(5)
    w = none_shift(x, avail, names, scale, [])
    designed = x[:, :3][avail[:, :3]]
    assert np.allclose(w[:3], designed.mean(axis=0)[:3], rtol=1e-14), w
    assert w[3] == 0.0 and w[4] == 0.0, w


def test_a_l_is_the_cholesky_factor_of_the_shifted_covariance_and_unshift_inverts_it():
    """A = I - e_none w^T with w zero from the none column on: A L is lower triangular with
    L's diagonal, hence chol(A Sigma A^T) (the Jacobian of L -> L' is 1), and unshift gives mu
    and L back from mu' = A mu and L' = A L."""
    rng = np.random.default_rng(2)
    k, none = 6, 4  # a status quo column after none
    w = np.zeros(k)
    w[:none] = rng.normal(size=none) * 3
    a = np.eye(k)
    a[none] -= w
    lower = np.tril(rng.normal(size=(k, k)))
    lower[np.diag_indices(k)] = np.exp(rng.normal(size=k))
    shifted = a @ lower
    chol = np.linalg.cholesky(a @ lower @ lower.T @ a.T)
    err = np.abs(chol - shifted).max()
    assert err < 1e-12, f"chol(A Sigma A^T) differs from A L by {err:.2e}"
    assert np.allclose(np.diag(shifted), np.diag(lower)), "diagonal changed"
    mu = rng.normal(size=(2, 3, k))
    rows, cols = np.tril_indices(k)
    packed = np.broadcast_to(shifted[rows, cols], (2, 3, len(rows))).copy()
    mu_p = mu @ a.T
    unshift(mu_p, packed, w, none)
    assert np.abs(mu_p - mu).max() < 1e-12, np.abs(mu_p - mu).max()
    assert np.abs(packed - lower[rows, cols]).max() < 1e-12, np.abs(packed - lower[rows, cols])
    # no none: nothing changes
    before = mu.copy()
    unshift(mu, None, np.zeros(k), None)
    assert np.array_equal(mu, before)
