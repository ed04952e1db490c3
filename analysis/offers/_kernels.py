"""numba kernels of the offer searches: every candidate offer (:mod:`~analysis.offers.evaluate`)
and every pair of candidates (:mod:`~analysis.offers.pairs`) over respondents and draws.

A module of their own, imported when a search runs, so that a command that does not search
(and ``import analysis.offers``) does not load numba (about 0.4 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["offer_kernel", "pair_kernel"]


@njit(parallel=True, cache=True, fastmath=True)
def offer_kernel(tables, price_exp, denom, weights, extra, combos, reduce):  # pragma: no cover
    """Weighted sums over respondents for every candidate (combination g, price k).

    tables (A, L, S, R): exp(e * level utility), shifted; price_exp (K, S, R); denom (S, R):
    exp-utility sum of the rest of the market; weights (R,); extra (X, S, R): numerators of our
    other products (share, revenue, cost); combos (G, A) level indices. Returns (S or 1, G, K,
    1 + X): the offer's share and sum_r w * extra / (e + denom), per draw or summed over draws.
    """
    n_attr = combos.shape[1]
    n_g = combos.shape[0]
    n_k = price_exp.shape[0]
    n_s = denom.shape[0]
    n_r = denom.shape[1]
    n_x = extra.shape[0]
    out = np.zeros((1 if reduce else n_s, n_g, n_k, 1 + n_x))
    for g in prange(n_g):
        eg = np.empty(n_r)
        for s in range(n_s):
            for r in range(n_r):
                v = 1.0
                for a in range(n_attr):
                    v *= tables[a, combos[g, a], s, r]
                eg[r] = v
            row = 0 if reduce else s
            for k in range(n_k):
                t = 0.0
                for r in range(n_r):
                    e = eg[r] * price_exp[k, s, r]
                    t += weights[r] * e / (e + denom[s, r])
                out[row, g, k, 0] += t
                for x in range(n_x):
                    t = 0.0
                    for r in range(n_r):
                        e = eg[r] * price_exp[k, s, r]
                        t += weights[r] * extra[x, s, r] / (e + denom[s, r])
                    out[row, g, k, 1 + x] += t
    return out


@njit(parallel=True, cache=True, fastmath=True)
def pair_kernel(e1, m1, e2, m2, denom, num, weights, symmetric):  # pragma: no cover
    """Objective of every pair (i, j): sum_r w (e1 m1 + e2 m2 + num) / (e1 + e2 + denom).

    e1 (C1, R), e2 (C2, R) exp-utilities; m1 (C1,), m2 (C2,) margins; denom, num (R,). With
    ``symmetric`` only j >= i is computed (the rest is NaN).
    """
    n1 = e1.shape[0]
    n2 = e2.shape[0]
    n_r = e1.shape[1]
    out = np.full((n1, n2), np.nan)
    for i in prange(n1):
        start = i if symmetric else 0
        for j in range(start, n2):
            t = 0.0
            for r in range(n_r):
                a = e1[i, r]
                b = e2[j, r]
                t += weights[r] * (a * m1[i] + b * m2[j] + num[r]) / (a + b + denom[r])
            out[i, j] = t
    return out
