"""The numba kernel of the tier search: every menu (nesting x price ladder) over the (draw,
respondent) pairs (:mod:`~analysis.tiers.evaluate` prepares its tables).

A module of its own, imported when menus are evaluated, so that a command that does not
search tiers (and ``import analysis.tiers``) does not load numba (about 0.4 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["menu_kernel"]


_BLOCK = 256  # (draw, respondent) pairs per block: the block's tables stay in the L2 cache


@njit(parallel=True, cache=True, fastmath=True)
def menu_kernel(ef, ep, margin, nestings, groups, prefixes, ladder_prefix, ladder_last, denom, num,
                 weights, out):  # pragma: no cover  # fmt: skip
    """Add to ``out[n, l]`` the sum over pairs i of weights[i] * (num[i] + sum_t e_t
    margin[f_t, k_t]) / (denom[i] + sum_t e_t), e_t = ef[f_t, i] * ep[k_t, i], f = nestings[n]
    and k the prices of ladder l.

    ef (F, I), ep (K, I), margin (F, K), denom, num, weights (I,), out (N, L). ``nestings``
    (N, T) is sorted so that the nestings sharing their lower T - 1 tiers are consecutive, from
    ``groups[g]`` to ``groups[g + 1]``; ladder l is its lower T - 1 prices
    ``prefixes[ladder_prefix[l]]`` and its top price ``ladder_last[l]``. The lower tiers' sums
    are made once per group and block of pairs, and the weights are folded into the
    numerators, so a menu costs two additions and a division per pair.
    """
    n_g = groups.shape[0] - 1
    n_t = nestings.shape[1]
    n_p = prefixes.shape[0]
    n_l = ladder_last.shape[0]
    n_k = ep.shape[0]
    n_i = ef.shape[1]
    k_low = ladder_last.min()  # the lowest top price: a/m below it are never read
    for g in prange(n_g):
        n0 = groups[g]
        n_c = groups[g + 1] - n0
        top = np.empty((n_p, _BLOCK))
        bot = np.empty((n_p, _BLOCK))
        a = np.empty((n_k, _BLOCK))
        m = np.empty((n_k, _BLOCK))
        acc = np.zeros((n_c, n_l))
        for b0 in range(0, n_i, _BLOCK):
            nb = min(_BLOCK, n_i - b0)
            for p in range(n_p):  # the lower tiers at every prefix of prices
                for j in range(nb):
                    top[p, j] = num[b0 + j] * weights[b0 + j]
                    bot[p, j] = denom[b0 + j]
                for t in range(n_t - 1):
                    f = nestings[n0, t]
                    k = prefixes[p, t]
                    mg = margin[f, k]
                    for j in range(nb):
                        x = ef[f, b0 + j] * ep[k, b0 + j]
                        top[p, j] += x * mg * weights[b0 + j]
                        bot[p, j] += x
            for c in range(n_c):  # every top tier of the group, at every top price
                f = nestings[n0 + c, n_t - 1]
                for k in range(k_low, n_k):
                    mg = margin[f, k]
                    for j in range(nb):
                        x = ef[f, b0 + j] * ep[k, b0 + j]
                        a[k, j] = x
                        m[k, j] = x * mg * weights[b0 + j]
                for lad in range(n_l):
                    p = ladder_prefix[lad]
                    k = ladder_last[lad]
                    tot = 0.0
                    for j in range(nb):
                        tot += (top[p, j] + m[k, j]) / (bot[p, j] + a[k, j])
                    acc[c, lad] += tot
        for c in range(n_c):
            for lad in range(n_l):
                out[n0 + c, lad] += acc[c, lad]
