"""The numba implementations of :mod:`analysis._kernels`' Ops, which nutpie's numba backend
compiles into the model: the fused likelihood and its gradient over the packed design (with the
SIMD-friendly exp and log, and a kernel specialised for each code width inside one compiled
function), and the packed Cholesky product and its gradient. :func:`register` registers them;
``analysis._kernels`` calls it as it loads."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from winback import _numba_cache

__all__ = ["register"]

_SOURCE_DIGEST = int(
    hashlib.sha256(
        Path(__file__).read_bytes() + (Path(__file__).parent / "_kernels.py").read_bytes()
    ).hexdigest()[:16],
    16,
)


def register(loglik_op: type, grad_op: type, chol_op: type, chol_grad_op: type) -> None:
    """Register the kernels of the likelihood Op, its gradient Op, the packed Cholesky product
    and its gradient (the Op classes of :mod:`analysis._kernels`) with PyTensor's numba
    backend."""
    import numba

    _numba_cache.install()
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    # loops run over slices from 0: numba's negative-index handling for loop variables that
    # could be negative (range(lo, hi)) stops LLVM from vectorising them

    @numba.njit(fastmath=True, cache=True)
    def vexp_inplace(x: np.ndarray) -> None:  # pragma: no cover - compiled
        # exp on [-700, 700] (clamped): 2^k p(r), |r| <= ln2 / 2, p the degree-11 Taylor
        # polynomial; the exponent is added to the bits directly
        bits = x.view(np.int64)
        for i in range(x.size):
            v = x[i]
            if v < -700.0:
                v = -700.0
            if v > 700.0:
                v = 700.0
            k = np.floor(v * 1.4426950408889634 + 0.5)
            r = v - k * 0.6931471805599453
            q = 1.0 + r * (
                1.0
                + r
                * (
                    0.5
                    + r
                    * (
                        1.0 / 6
                        + r
                        * (
                            1.0 / 24
                            + r
                            * (
                                1.0 / 120
                                + r
                                * (
                                    1.0 / 720
                                    + r
                                    * (
                                        1.0 / 5040
                                        + r
                                        * (
                                            1.0 / 40320
                                            + r
                                            * (
                                                1.0 / 362880
                                                + r * (1.0 / 3628800 + r * (1.0 / 39916800))
                                            )
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
            x[i] = q
            bits[i] = bits[i] + (np.int64(k) << 52)

    @numba.njit(fastmath=True, cache=True)
    def vlog_sum(s: np.ndarray) -> float:  # pragma: no cover - compiled
        # sum of log(s) for positive normal s (overwritten): s = 2^e m, m in [sqrt(1/2),
        # sqrt(2)), log m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, series to t^21
        bits = s.view(np.int64)
        total = 0.0
        for i in range(s.size):
            b = bits[i]
            e = ((b >> 52) & 0x7FF) - 1023
            mb = (b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000
            big = mb > 0x3FF6A09E667F3BCD
            if big:
                mb -= np.int64(1) << 52
                e += 1
            bits[i] = mb
            m = s[i]
            t = (m - 1.0) / (m + 1.0)
            t2 = t * t
            q = (
                2.0
                * t
                * (
                    1.0
                    + t2
                    * (
                        1.0 / 3
                        + t2
                        * (
                            1.0 / 5
                            + t2
                            * (
                                1.0 / 7
                                + t2
                                * (
                                    1.0 / 9
                                    + t2
                                    * (
                                        1.0 / 11
                                        + t2
                                        * (
                                            1.0 / 13
                                            + t2
                                            * (
                                                1.0 / 15
                                                + t2
                                                * (1.0 / 17 + t2 * (1.0 / 19 + t2 * (1.0 / 21)))
                                            )
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
            total += q + e * 0.6931471805599453
        return total

    @numba.njit(fastmath=True, cache=True)
    def utilities(beta, codes, ptr, j, d):  # pragma: no cover - compiled
        # d[row] = codes[:, row] @ beta[r], respondent by respondent, four columns at a time
        k = codes.shape[0]
        k4 = k - k % 4
        for r in range(beta.shape[0]):
            lo = ptr[r] * j
            hi = ptr[r + 1] * j
            dr = d[lo:hi]
            nr = hi - lo
            for q in range(nr):
                dr[q] = 0.0
            for c in range(0, k4, 4):
                b0 = beta[r, c]
                b1 = beta[r, c + 1]
                b2 = beta[r, c + 2]
                b3 = beta[r, c + 3]
                x0 = codes[c, lo:hi]
                x1 = codes[c + 1, lo:hi]
                x2 = codes[c + 2, lo:hi]
                x3 = codes[c + 3, lo:hi]
                for q in range(nr):
                    dr[q] += x0[q] * b0 + x1[q] * b1 + x2[q] * b2 + x3[q] * b3
            for c in range(k4, k):
                bc = beta[r, c]
                xc = codes[c, lo:hi]
                for q in range(nr):
                    dr[q] += xc[q] * bc

    @numba.njit(fastmath=True, cache=True)
    def loglik_shifted(d, y, mask, j):  # pragma: no cover - compiled
        # utilities beyond exp's range: each task shifted by its largest available utility
        n = y.size
        total = 0.0
        for t in range(n):
            m = -np.inf
            for a in range(j):
                if mask[t * j + a] > 0.0 and d[t * j + a] > m:
                    m = d[t * j + a]
            total += d[t * j + y[t]] - m
            s = 0.0
            for a in range(j):
                e = np.exp(d[t * j + a] - m) * mask[t * j + a]
                d[t * j + a] = e
                s += e
            for a in range(j):
                d[t * j + a] /= s
            total -= np.log(s)
        return total

    @numba.njit(fastmath=True, cache=True)
    def beta_loglik_w(beta, codes, ptr, y, mask):  # pragma: no cover - compiled
        n = y.size
        j = mask.size // n
        d = np.empty(n * j)
        utilities(beta, codes, ptr, j, d)
        chosen = 0.0
        for t in range(n):
            chosen += d[t * j + y[t]]
        vexp_inplace(d)
        s = np.empty(n)
        bad = False
        for t in range(n):
            acc = 0.0
            for a in range(j):
                e = d[t * j + a] * mask[t * j + a]
                d[t * j + a] = e
                acc += e
            s[t] = acc
            # a sum near exp's limits means some utility was clamped: recompute shifted
            bad |= (acc < 1e-290) | (acc > 1e290)
            inv = 1.0 / acc
            for a in range(j):
                d[t * j + a] *= inv
        if bad:
            utilities(beta, codes, ptr, j, d)
            return np.asarray(loglik_shifted(d, y, mask, j)), d
        return np.asarray(chosen - vlog_sum(s)), d

    @numba.njit(fastmath=True, cache=True)
    def beta_grad_w(beta, p, codes, ptr, y, g):  # pragma: no cover - compiled
        k = codes.shape[0]
        k4 = k - k % 4
        n = y.size
        j = p.size // n
        w = np.empty(p.size)
        for q in range(p.size):
            w[q] = -p[q]
        for t in range(n):
            w[t * j + y[t]] += 1.0
        gv = g.item()
        out = np.empty(beta.shape)
        for r in range(beta.shape[0]):
            lo = ptr[r] * j
            hi = ptr[r + 1] * j
            wr = w[lo:hi]
            nr = hi - lo
            for c in range(0, k4, 4):
                x0 = codes[c, lo:hi]
                x1 = codes[c + 1, lo:hi]
                x2 = codes[c + 2, lo:hi]
                x3 = codes[c + 3, lo:hi]
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                for q in range(nr):
                    wq = wr[q]
                    a0 += x0[q] * wq
                    a1 += x1[q] * wq
                    a2 += x2[q] * wq
                    a3 += x3[q] * wq
                out[r, c] = a0 * gv
                out[r, c + 1] = a1 * gv
                out[r, c + 2] = a2 * gv
                out[r, c + 3] = a3 * gv
            for c in range(k4, k):
                xc = codes[c, lo:hi]
                acc = 0.0
                for q in range(nr):
                    acc += xc[q] * wr[q]
                out[r, c] = acc * gv
        return out

    # one compiled function for every width (codes_by_width): the kernel above specialised
    # for each code dtype, the one in use picked at run time
    @numba.njit(fastmath=True, cache=True)
    def beta_loglik(beta, c8, c16, c64, ptr, y, mask):  # pragma: no cover - compiled
        if c8.shape[1] > 0:
            return beta_loglik_w(beta, c8, ptr, y, mask)
        if c16.shape[1] > 0:
            return beta_loglik_w(beta, c16, ptr, y, mask)
        return beta_loglik_w(beta, c64, ptr, y, mask)

    @numba.njit(fastmath=True, cache=True)
    def beta_grad(beta, p, c8, c16, c64, ptr, y, g):  # pragma: no cover - compiled
        if c8.shape[1] > 0:
            return beta_grad_w(beta, p, c8, ptr, y, g)
        if c16.shape[1] > 0:
            return beta_grad_w(beta, p, c16, ptr, y, g)
        return beta_grad_w(beta, p, c64, ptr, y, g)

    @numba.njit(fastmath=True, cache=True)
    def tril_of(packed, k):  # pragma: no cover - compiled
        out = np.zeros((k, k))
        m = 0
        for i in range(k):
            for c in range(i + 1):
                out[i, c] = packed[m]
                m += 1
        return out

    @numba.njit(fastmath=True, cache=True)
    def chol_matmul(z, packed):  # pragma: no cover - compiled
        zc = np.ascontiguousarray(z)
        return np.dot(zc, np.ascontiguousarray(tril_of(packed, zc.shape[1]).T))

    @numba.njit(fastmath=True, cache=True)
    def chol_matmul_grad(z, packed, g):  # pragma: no cover - compiled
        zc = np.ascontiguousarray(z)
        gc = np.ascontiguousarray(g)
        k = zc.shape[1]
        dz = np.dot(gc, tril_of(packed, k))
        full = np.dot(np.ascontiguousarray(gc.T), zc)
        dp = np.empty(packed.size)
        m = 0
        for i in range(k):
            for c in range(i + 1):
                dp[m] = full[i, c]
                m += 1
        return dz, dp

    # the integer registered with each kernel salts PyTensor's cache key: the version plus a
    # digest of this file and the Ops', so that a changed kernel never meets an old compiled one
    kernels = (
        (loglik_op, beta_loglik, 2),
        (grad_op, beta_grad, 2),
        (chol_op, chol_matmul, 1),
        (chol_grad_op, chol_matmul_grad, 1),
    )
    for op_class, kernel, salt in kernels:

        def funcify(op: Any, node: Any = None, kernel: Any = kernel, salt: int = salt, **kw: Any):
            return kernel, salt * 10**20 + _SOURCE_DIGEST

        register_funcify_default_op_cache_key(op_class)(funcify)
