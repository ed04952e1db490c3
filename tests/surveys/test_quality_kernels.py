"""The compiled individual fits behind the RLH flag take exactly the steps of the vectorised
damped Newton method they replace (kept here as the specification), on random problems with
unavailable alternatives, holdout tasks, weak and strong penalties and step halving."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from surveys.quality.fit import _modes, _pooled_mode, _rlh_of, _Situations

pytestmark = pytest.mark.unit


def _log_probs(b: np.ndarray, s: _Situations) -> np.ndarray:
    u = np.einsum("nsjk,nk->nsj", s.x, b)
    u = np.where(s.avail, u, -np.inf)
    u = u - u.max(axis=2, keepdims=True)
    lp = u - np.log(np.exp(u).sum(axis=2, keepdims=True))
    return np.where(s.avail, lp, -np.inf)


def _chosen_lp(lp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.take_along_axis(lp, y[..., None], axis=2)[..., 0]


def _vectorised_modes(s, centre, prec, start=None, max_iter=50, tol=1e-7):
    """The vectorised method (all rows at once) the kernels replace, as it was."""
    n, _, _, k = s.x.shape
    b = np.tile(centre, (n, 1)) if start is None else start.copy()
    hess = np.zeros((n, k, k))
    eye = np.diag(prec)

    def objective(b, s):
        lp = _log_probs(b, s)
        d = b - centre
        return (s.w * _chosen_lp(lp, s.y)).sum(axis=1) - 0.5 * (d * d * prec).sum(axis=1), lp

    active = np.arange(n)
    sub = s
    ba = b
    f, lp = objective(ba, sub)
    for _ in range(max_iter):
        m = len(active)
        xf = sub.x.reshape(m, -1, k)
        p = np.exp(lp)
        y1 = np.zeros_like(p)
        np.put_along_axis(y1, sub.y[..., None], 1.0, axis=2)
        wr = sub.w[..., None]
        grad = np.einsum("nsj,nsjk->nk", wr * (y1 - p), sub.x) - prec * (ba - centre)
        xbar = np.einsum("nsj,nsjk->nsk", p, sub.x)
        pw = (p * wr).reshape(m, -1, 1)
        h = (
            np.matmul((xf * pw).transpose(0, 2, 1), xf)
            - np.matmul((xbar * sub.w[..., None]).transpose(0, 2, 1), xbar)
            + eye
        )
        hess[active] = h
        step = np.linalg.solve(h, grad[..., None])[..., 0]
        size = np.ones(m)
        for _ in range(30):
            f_new, _ = objective(ba + size[:, None] * step, sub)
            worse = f_new < f - 1e-10 * np.abs(f)
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        ba = ba + size[:, None] * step
        b[active] = ba
        f, lp = objective(ba, sub)
        moving = np.abs(size[:, None] * step).max(axis=1, initial=0.0) >= tol
        if not moving.any():
            break
        if not moving.all():
            active, ba, f, lp = active[moving], ba[moving], f[moving], lp[moving]
            sub = _Situations(sub.x[moving], sub.avail[moving], sub.y[moving], sub.w[moving])
    return b, hess


def _problem(seed: int, n: int = 300, s: int = 10, j: int = 4, k: int = 6) -> _Situations:
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=(n, s, j, k)).astype(float)
    x[..., -1] = rng.choice([30.0, 45.0, 60.0], size=(n, s, j)) / 10  # a price-like column
    avail = np.ones((n, s, j), dtype=bool)
    avail[:, s // 2 :, 2:] = False  # the second half: two alternatives only
    y = rng.integers(0, 2, size=(n, s))
    w = np.ones((n, s))
    w[:, 0] = 0.0  # a holdout task
    return _Situations(x, avail, y, w)


@pytest.mark.parametrize(
    ("seed", "prec", "max_iter", "start"),
    [(1, 1.0, 50, False), (2, 1e-4, 50, False), (3, 25.0, 3, True), (4, 1e-6, 50, True)],
)
def test_the_kernel_takes_the_vectorised_steps(seed, prec, max_iter, start):
    s = _problem(seed)
    k = s.x.shape[-1]
    centre = np.linspace(-0.3, 0.3, k)
    precision = np.full(k, prec)
    b0 = np.random.default_rng(seed + 100).normal(size=(len(s.x), k)) if start else None
    want_b, want_h = _vectorised_modes(s, centre, precision, b0, max_iter)
    got_b, got_h = _modes(s, centre, precision, b0, max_iter)
    # relative to the largest value (a weak penalty lets nearly separable answers run far)
    db = float(np.abs(got_b - want_b).max() / max(1.0, np.abs(want_b).max()))
    dh = float(np.abs(got_h - want_h).max() / max(1.0, np.abs(want_h).max()))
    assert db < 1e-9 and dh < 1e-9, (
        f"modes differ by {db:.3g} (largest {np.abs(want_b).max():.3g}), Hessians by {dh:.3g}"
    )


def test_rows_select_respondents_and_the_pooled_fit_is_one_respondent():
    s = _problem(5, n=120)
    k = s.x.shape[-1]
    centre, prec = np.zeros(k), np.full(k, 0.01)
    rows = np.array([3, 7, 50, 119])
    sub = _Situations(s.x[rows], s.avail[rows], s.y[rows], s.w[rows])
    want, _ = _vectorised_modes(sub, centre, prec)
    got, _ = _modes(s, centre, prec, rows=rows)
    assert np.abs(got - want).max() < 1e-9, f"rows: {np.abs(got - want).max():.3g}"
    pooled = _Situations(
        s.x.reshape(1, -1, *s.x.shape[2:]),
        s.avail.reshape(1, -1, s.avail.shape[2]),
        s.y.reshape(1, -1),
        s.w.reshape(1, -1),
    )
    want_agg, _ = _vectorised_modes(pooled, centre, prec)
    got_agg = _pooled_mode(s, np.arange(len(s.x)), centre, prec)
    d = float(np.abs(got_agg - want_agg[0]).max())
    assert d < 1e-9, f"aggregate fit differs by {d:.3g}"


def test_the_same_numbers_whatever_the_thread_count():
    s = _problem(6, n=1500)
    k = s.x.shape[-1]
    centre, prec = np.zeros(k), np.full(k, 0.5)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            b, h = _modes(s, centre, prec)
            agg = _pooled_mode(s, np.arange(len(s.x)), centre, prec)
            runs.append((b, h, agg, _rlh_of(b, s)))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for one, many in zip(*runs, strict=True):
        assert np.array_equal(one, many), "results depend on the thread count"


@pytest.mark.parametrize("distinct", [True, False])
def test_the_aggregate_fit_over_repeated_situations(monkeypatch, distinct):
    """Respondents answering the design's few versions: each distinct situation is computed
    once, weighted by its choices; without that (fingerprints that collide) every row is."""
    import surveys.quality.fit as fit

    base = _problem(7, n=6)
    pick = np.random.default_rng(7).integers(0, 6, 400)  # 400 respondents, 6 versions
    y = np.random.default_rng(8).integers(0, 2, size=(400, base.y.shape[1]))
    s = _Situations(base.x[pick], base.avail[pick], y, base.w[pick])
    if not distinct:
        monkeypatch.setattr(fit, "_distinct_situations", lambda *a: None)
    else:
        xu, _, counts = fit._distinct_situations(s, np.arange(400))
        assert len(xu) <= 6 * base.x.shape[1] and counts.sum() == s.w.sum()
    k = s.x.shape[-1]
    centre, prec = np.zeros(k), np.full(k, 0.01)
    rows = np.arange(3, 400)
    sub = _Situations(s.x[rows], s.avail[rows], s.y[rows], s.w[rows])
    pooled = _Situations(
        sub.x.reshape(1, -1, *sub.x.shape[2:]),
        sub.avail.reshape(1, -1, sub.avail.shape[2]),
        sub.y.reshape(1, -1),
        sub.w.reshape(1, -1),
    )
    want, _ = _vectorised_modes(pooled, centre, prec)
    got = _pooled_mode(s, rows, centre, prec)
    d = float(np.abs(got - want[0]).max())
    assert d < 1e-9, f"aggregate fit differs by {d:.3g}"


def test_posterior_variances_equal_the_inverse_diagonal_and_fall_back_when_not_definite() -> None:
    from surveys.quality.fit import _posterior_variances

    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 12, 30))
    h = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(12)
    h[7] = -np.eye(12)  # not positive definite: inverted by numpy instead
    got = _posterior_variances(h)
    want = np.diagonal(np.linalg.inv(h), axis1=1, axis2=2)
    err = float(np.abs(got / want - 1).max())
    assert err < 1e-10, f"largest relative difference from numpy's inverse: {err:.3g}"
    assert np.array_equal(got[7], -np.ones(12)), f"fallback row: {got[7]}"
