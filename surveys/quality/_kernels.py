"""numba kernels of the quality flags' individual fits: damped Newton steps per respondent.

:func:`newton_rows` runs, for each respondent on its own, exactly the steps that
``surveys.quality.fit._modes`` defines (the same objective, gradient, Hessian, step halving and
stopping rule), in compiled code and without the temporaries of the vectorised form: a
respondent's tasks are a few kilobytes that stay in cache through all its steps.
:func:`pooled_terms` sums the log-likelihood, gradient and Hessian of many respondents' tasks
at once (the aggregate MNL). :func:`chosen_loglik` is each respondent's log-likelihood of the
chosen alternatives over the estimation tasks (RLH).

The kernels release the GIL and run in threads over chunks of respondents
(:func:`in_threads`); each respondent's result depends on its own data only, so the numbers
are the same whatever the thread count. ``fastmath`` stays off: unavailable alternatives are
``-inf`` utilities, which fast-math may assume away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = [
    "chosen_loglik",
    "count_terms",
    "design_rows",
    "diag_inverse",
    "fingerprints",
    "in_threads",
    "newton_rows",
    "pooled_terms",
    "same_as",
]

#: respondents per chunk of work: chunks are the same whatever the thread count, so sums over
#: chunks (the aggregate fit) are too
CHUNK = 256


def in_threads[T](n: int, work: Callable[[int, int], T], chunk: int = CHUNK) -> list[T]:
    """``work(i0, i1)`` over chunks of ``chunk`` of ``range(n)``, in
    ``numba.get_num_threads()`` threads; the results in chunk order."""
    spans = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    n_threads = max(1, min(numba.get_num_threads(), len(spans)))
    if n_threads == 1:
        return [work(a, b) for a, b in spans]
    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(lambda ab: work(*ab), spans))


@njit(cache=True, nogil=True)
def _log_probs(xr, ar, b, lp):  # pragma: no cover - compiled
    """Log choice probabilities of one respondent's situations into ``lp`` (S, J); ``-inf``
    where an alternative is not available."""
    n_s, n_j, n_k = xr.shape
    for s in range(n_s):
        top = -np.inf
        for j in range(n_j):
            if ar[s, j]:
                v = 0.0
                for k in range(n_k):
                    v += xr[s, j, k] * b[k]
                lp[s, j] = v
                if v > top:
                    top = v
            else:
                lp[s, j] = -np.inf
        total = 0.0
        for j in range(n_j):
            if ar[s, j]:
                lp[s, j] = lp[s, j] - top
                total += np.exp(lp[s, j])
        log_total = np.log(total)
        for j in range(n_j):
            if ar[s, j]:
                lp[s, j] = lp[s, j] - log_total


@njit(cache=True, nogil=True)
def _add_derivatives(xr, yr, wr, lp, grad, h, xbar):  # pragma: no cover - compiled
    """Add one respondent's log-likelihood gradient to ``grad`` and its negative Hessian to
    the lower triangle of ``h`` (log-probabilities ``lp`` at the current point)."""
    n_s, n_j, n_k = xr.shape
    for s in range(n_s):
        ws = wr[s]
        for k in range(n_k):
            xbar[k] = 0.0
        for j in range(n_j):
            p = np.exp(lp[s, j])
            row = xr[s, j]
            g = ws * ((1.0 if j == yr[s] else 0.0) - p)
            for k in range(n_k):
                grad[k] += g * row[k]
            if p == 0.0:  # not available (or negligible): no curvature
                continue
            pw = p * ws
            for k in range(n_k):
                xbar[k] += p * row[k]
                xk = row[k] * pw
                if xk != 0.0:
                    for m in range(k + 1):
                        h[k, m] += xk * row[m]
        for k in range(n_k):
            xk = xbar[k] * ws
            if xk != 0.0:
                for m in range(k + 1):
                    h[k, m] -= xk * xbar[m]


@njit(cache=True, nogil=True)
def _solve(h, g, lu, piv, out):  # pragma: no cover - compiled
    """``out = h^-1 g`` by LU with partial pivoting (``h`` left unchanged)."""
    n = h.shape[0]
    for i in range(n):
        for j in range(n):
            lu[i, j] = h[i, j]
        out[i] = g[i]
    for c in range(n):
        p = c
        big = abs(lu[c, c])
        for r in range(c + 1, n):
            if abs(lu[r, c]) > big:
                big = abs(lu[r, c])
                p = r
        piv[c] = p
        if p != c:
            for j in range(n):
                t = lu[c, j]
                lu[c, j] = lu[p, j]
                lu[p, j] = t
            t = out[c]
            out[c] = out[p]
            out[p] = t
        d = lu[c, c]
        for r in range(c + 1, n):
            f = lu[r, c] / d
            lu[r, c] = f
            if f != 0.0:
                for j in range(c + 1, n):
                    lu[r, j] -= f * lu[c, j]
                out[r] -= f * out[c]
    for i in range(n - 1, -1, -1):
        v = out[i]
        for j in range(i + 1, n):
            v -= lu[i, j] * out[j]
        out[i] = v / lu[i, i]


@njit(cache=True, nogil=True)
def _nonzeros(xr, nzk, nzc):  # pragma: no cover - compiled
    """The columns where each design row is not zero (``nzk[s, j, :nzc[s, j]]``, ascending):
    dummy codes leave most of a row zero, and skipping zero terms changes no sum."""
    n_s, n_j, n_k = xr.shape
    for s in range(n_s):
        for j in range(n_j):
            c = 0
            for k in range(n_k):
                if xr[s, j, k] != 0.0:
                    nzk[s, j, c] = k
                    c += 1
            nzc[s, j] = c


@njit(cache=True, nogil=True)
def _objective_p(xr, ar, yr, wr, b, centre, prec, nzk, nzc, lp, p):  # pragma: no cover
    """:func:`_objective` over the non-zero columns, with the choice probabilities in ``p``."""
    n_s, n_j, _ = xr.shape
    ll = 0.0
    for s in range(n_s):
        top = -np.inf
        for j in range(n_j):
            if ar[s, j]:
                v = 0.0
                for c in range(nzc[s, j]):
                    k = nzk[s, j, c]
                    v += xr[s, j, k] * b[k]
                lp[s, j] = v
                if v > top:
                    top = v
            else:
                lp[s, j] = -np.inf
        total = 0.0
        for j in range(n_j):
            if ar[s, j]:
                lp[s, j] = lp[s, j] - top
                p[s, j] = np.exp(lp[s, j])
                total += p[s, j]
            else:
                p[s, j] = 0.0
        log_total = np.log(total)
        for j in range(n_j):
            if ar[s, j]:
                lp[s, j] = lp[s, j] - log_total
                p[s, j] = p[s, j] / total
        ll += wr[s] * lp[s, yr[s]]
    pen = 0.0
    for k in range(b.shape[0]):
        d = b[k] - centre[k]
        pen += d * d * prec[k]
    return ll - 0.5 * pen


@njit(cache=True, nogil=True)
def _add_derivatives_p(xr, yr, wr, p, nzk, nzc, grad, h, xbar):  # pragma: no cover
    """:func:`_add_derivatives` from the probabilities ``p``, over the non-zero columns."""
    n_s, n_j, n_k = xr.shape
    for s in range(n_s):
        ws = wr[s]
        for k in range(n_k):
            xbar[k] = 0.0
        for j in range(n_j):
            pj = p[s, j]
            g = ws * ((1.0 if j == yr[s] else 0.0) - pj)
            m = nzc[s, j]
            for c in range(m):
                k = nzk[s, j, c]
                grad[k] += g * xr[s, j, k]
            if pj == 0.0:  # not available (or negligible): no curvature
                continue
            pw = pj * ws
            for c in range(m):
                k = nzk[s, j, c]
                xbar[k] += pj * xr[s, j, k]
                xk = xr[s, j, k] * pw
                if xk != 0.0:
                    for d in range(c + 1):
                        kk = nzk[s, j, d]
                        h[k, kk] += xk * xr[s, j, kk]
        for k in range(n_k):
            xk = xbar[k] * ws
            if xk != 0.0:
                for kk in range(k + 1):
                    h[k, kk] -= xk * xbar[kk]


@njit(cache=True, nogil=True)
def newton_rows(
    x, avail, y, w, rows, centre, prec, b, hess, max_iter, tol, i0, i1
):  # pragma: no cover - compiled
    """Penalised ML for respondents ``rows[i0:i1]`` by damped Newton steps (in place).

    Maximises ``sum_s w log p(y) - (b - centre)' diag(prec) (b - centre) / 2`` for each
    respondent on its own. ``b[i]`` holds respondent ``rows[i]``'s start and receives its
    mode; ``hess[i]`` the negative Hessian at the start of its last step. A step is halved
    (up to 30 times) while the objective would fall by more than ``1e-10`` of its size; a
    respondent stops when its step moves no parameter by ``tol`` or more, or after
    ``max_iter`` steps. The probabilities of the point a step reaches serve the next step's
    derivatives.
    """
    keep_hess = hess.shape[0] == b.shape[0]  # a (0, K, K) array: the Hessians are not kept
    _, n_s, n_j, n_k = x.shape
    lp = np.empty((n_s, n_j))
    lp_new = np.empty((n_s, n_j))
    p = np.empty((n_s, n_j))
    p_new = np.empty((n_s, n_j))
    nzk = np.empty((n_s, n_j, n_k), dtype=np.int64)
    nzc = np.empty((n_s, n_j), dtype=np.int64)
    grad = np.empty(n_k)
    step = np.empty(n_k)
    trial = np.empty(n_k)
    xbar = np.empty(n_k)
    h = np.empty((n_k, n_k))
    lu = np.empty((n_k, n_k))
    piv = np.empty(n_k, dtype=np.int64)
    for i in range(i0, i1):
        r = rows[i]
        xr, ar, yr, wr = x[r], avail[r], y[r], w[r]
        _nonzeros(xr, nzk, nzc)
        bi = b[i]
        f = _objective_p(xr, ar, yr, wr, bi, centre, prec, nzk, nzc, lp, p)
        for _ in range(max_iter):
            for k in range(n_k):
                grad[k] = -prec[k] * (bi[k] - centre[k])
                for m in range(n_k):
                    h[k, m] = 0.0
                h[k, k] = prec[k]
            _add_derivatives_p(xr, yr, wr, p, nzk, nzc, grad, h, xbar)
            for k in range(n_k):
                for m in range(k + 1, n_k):
                    h[k, m] = h[m, k]
            if keep_hess:
                for k in range(n_k):
                    for m in range(n_k):
                        hess[i, k, m] = h[k, m]
            _solve(h, grad, lu, piv, step)
            size = 1.0
            evaluated = False
            for _ in range(30):  # halve the step where the objective would fall
                for k in range(n_k):
                    trial[k] = bi[k] + size * step[k]
                f_new = _objective_p(xr, ar, yr, wr, trial, centre, prec, nzk, nzc, lp_new, p_new)
                if not f_new < f - 1e-10 * abs(f):
                    evaluated = True
                    break
                size = size / 2
            moved = 0.0
            for k in range(n_k):
                d = size * step[k]
                bi[k] = bi[k] + d
                if abs(d) > moved:
                    moved = abs(d)
            if evaluated:
                f = f_new
                lp, lp_new = lp_new, lp
                p, p_new = p_new, p
            else:
                f = _objective_p(xr, ar, yr, wr, bi, centre, prec, nzk, nzc, lp, p)
            if not moved >= tol:
                break


@njit(cache=True, nogil=True)
def diag_inverse(h, out, i0, i1):  # pragma: no cover - compiled
    """``out[i] = diag(h[i]^-1)`` for the symmetric positive definite ``h[i0:i1]`` (negative
    Hessians of a penalised log-likelihood), by a Cholesky factor ``h = L L'``:
    ``(h^-1)_cc = sum_r (L^-1)_rc^2``, column ``c`` of ``L^-1`` by forward substitution. A
    row whose factor has a pivot that is not positive is left NaN (the caller inverts it
    another way)."""
    n_k = h.shape[1]
    lo = np.empty((n_k, n_k))
    v = np.empty(n_k)
    for i in range(i0, i1):
        ok = True
        for c in range(n_k):
            for r in range(c, n_k):
                a = h[i, r, c]
                for m in range(c):
                    a -= lo[r, m] * lo[c, m]
                if r == c:
                    if not a > 0.0:
                        ok = False
                        break
                    lo[c, c] = np.sqrt(a)
                else:
                    lo[r, c] = a / lo[c, c]
            if not ok:
                break
        if not ok:
            for c in range(n_k):
                out[i, c] = np.nan
            continue
        for c in range(n_k):
            total = 0.0
            for r in range(c, n_k):
                a = 1.0 if r == c else 0.0
                for m in range(c, r):
                    a -= lo[r, m] * v[m]
                v[r] = a / lo[r, r]
                total += v[r] * v[r]
            out[i, c] = total


@njit(cache=True, nogil=True)
def pooled_terms(x, avail, y, w, rows, b, derivatives, i0, i1):  # pragma: no cover - compiled
    """Log-likelihood (and, if ``derivatives``, its gradient and negative Hessian) of the
    situations of respondents ``rows[i0:i1]`` pooled, at ``b``: ``(ll, grad, hess)``."""
    _, n_s, n_j, n_k = x.shape
    lp = np.empty((n_s, n_j))
    grad = np.zeros(n_k)
    h = np.zeros((n_k, n_k))
    xbar = np.empty(n_k)
    ll = 0.0
    for i in range(i0, i1):
        r = rows[i]
        xr, ar, yr, wr = x[r], avail[r], y[r], w[r]
        _log_probs(xr, ar, b, lp)
        for s in range(n_s):
            ll += wr[s] * lp[s, yr[s]]
        if not derivatives:
            continue
        _add_derivatives(xr, yr, wr, lp, grad, h, xbar)
    for k in range(n_k):
        for m in range(k + 1, n_k):
            h[k, m] = h[m, k]
    return ll, grad, h


@njit(cache=True, nogil=True)
def chosen_loglik(x, avail, y, w, b, out, i0, i1):  # pragma: no cover - compiled
    """``out[r] = sum_s w log p(y)`` of respondents ``i0:i1`` at their own ``b[r]``."""
    _, n_s, n_j, _ = x.shape
    lp = np.empty((n_s, n_j))
    for r in range(i0, i1):
        _log_probs(x[r], avail[r], b[r], lp)
        ll = 0.0
        for s in range(n_s):
            ll += w[r, s] * lp[s, y[r, s]]
        out[r] = ll


def design_rows(idx: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
    """(N, K) design rows: row ``i`` is the sum over attributes ``a`` of ``tables[a]`` at level
    ``idx[i, a]`` (nothing for -1, a blank), added attribute by attribute from 0 as
    ``x += tables[a][idx[:, a]]`` adds them, without its (N, K) temporaries."""
    n, k = len(idx), (tables[0].shape[1] if tables else 0)
    size = max((len(t) for t in tables), default=0)
    stacked = np.zeros((len(tables), size, k))
    used = np.zeros((len(tables), k), dtype=np.bool_)
    for a, table in enumerate(tables):
        stacked[a, : len(table)] = table
        used[a] = (table != 0).any(axis=0)  # the columns this attribute sets
    out = np.zeros((n, k))
    # the codes as they come (validation's are 2 bytes): an int64 copy would be (N, A) x 8 bytes
    codes = np.ascontiguousarray(idx if np.issubdtype(idx.dtype, np.integer) else idx.astype(int))
    in_threads(n, lambda i0, i1: _design_rows(codes, stacked, used, out, i0, i1), 1 << 16)
    return out


@njit(cache=True, nogil=True)
def _design_rows(idx, tables, used, out, i0, i1):  # pragma: no cover - compiled
    for i in range(i0, i1):
        for a in range(tables.shape[0]):
            level = idx[i, a]
            if level < 0:
                continue
            for k in range(tables.shape[2]):
                if used[a, k]:
                    out[i, k] += tables[a, level, k]


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True)
def fingerprints(words, avail, wbits, rows, out, i0, i1):  # pragma: no cover - compiled
    """A 64-bit fingerprint of each situation of respondents ``rows[i0:i1]`` (its design rows
    as ``words``, the float64 bits, its availability and weight) into ``out[i]``: equal
    situations, equal prints."""
    _, n_s, n_j, n_k = words.shape
    for i in range(i0, i1):
        r = rows[i]
        for s in range(n_s):
            h = _FNV_OFFSET
            for j in range(n_j):
                for k in range(n_k):
                    h = (h ^ words[r, s, j, k]) * _FNV_PRIME
                h = (h ^ np.uint64(avail[r, s, j])) * _FNV_PRIME
            out[i, s] = (h ^ wbits[r, s]) * _FNV_PRIME


@njit(cache=True, nogil=True)
def same_as(words, avail, wbits, rows, first_i, first_s, code, i0, i1):  # pragma: no cover
    """Whether every situation of respondents ``rows[i0:i1]`` equals (bit for bit) the first
    situation with its fingerprint code (``code[i, s]``; that one at ``rows[first_i]``,
    ``first_s``)."""
    _, n_s, n_j, n_k = words.shape
    for i in range(i0, i1):
        r = rows[i]
        for s in range(n_s):
            g = code[i, s]
            fr, fs = rows[first_i[g]], first_s[g]
            if wbits[r, s] != wbits[fr, fs]:
                return False
            for j in range(n_j):
                if avail[r, s, j] != avail[fr, fs, j]:
                    return False
                for k in range(n_k):
                    if words[r, s, j, k] != words[fr, fs, j, k]:
                        return False
    return True


@njit(cache=True, nogil=True)
def count_terms(x, avail, counts, b, derivatives, i0, i1):  # pragma: no cover - compiled
    """Log-likelihood (and, if ``derivatives``, its gradient and negative Hessian) of
    situations ``i0:i1`` (``x``: (G, J, K), ``avail``: (G, J)) in which alternative ``j`` was
    chosen ``counts[g, j]`` times (weights included): ``(ll, grad, hess)``, the sums over every
    respondent's copy of the situation."""
    _, n_j, n_k = x.shape
    lp = np.empty((1, n_j))
    grad = np.zeros(n_k)
    h = np.zeros((n_k, n_k))
    xbar = np.empty(n_k)
    ll = 0.0
    for g in range(i0, i1):
        total = 0.0
        for j in range(n_j):
            total += counts[g, j]
        if total == 0.0:  # holdout tasks (weight 0): nothing to add
            continue
        xg, ag = x[g : g + 1], avail[g : g + 1]
        _log_probs(xg, ag, b, lp)
        for j in range(n_j):
            if counts[g, j] != 0.0:
                ll += counts[g, j] * lp[0, j]
        if not derivatives:
            continue
        for k in range(n_k):
            xbar[k] = 0.0
        for j in range(n_j):
            p = np.exp(lp[0, j])
            row = xg[0, j]
            c = counts[g, j] - total * p
            for k in range(n_k):
                grad[k] += c * row[k]
            if p == 0.0:
                continue
            pw = p * total
            for k in range(n_k):
                xbar[k] += p * row[k]
                xk = row[k] * pw
                if xk != 0.0:
                    for m in range(k + 1):
                        h[k, m] += xk * row[m]
        for k in range(n_k):
            xk = xbar[k] * total
            if xk != 0.0:
                for m in range(k + 1):
                    h[k, m] -= xk * xbar[m]
    for k in range(n_k):
        for m in range(k + 1, n_k):
            h[k, m] = h[m, k]
    return ll, grad, h
