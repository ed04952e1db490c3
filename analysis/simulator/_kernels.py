"""numba kernels of the simulator: a market and its variants under every rule, in one pass.

A *variant* is the market with one alternative's row replaced (a product at another price, a
changed offer); the base market itself is the variant that replaces nothing. Per posterior draw
and respondent the kernels compute the utilities of the base rows and of every variant row once
and then the choice probabilities of every variant, weighted over respondents.

Randomized first choice draws its errors from a *counter-based* generator: the error of level
``l`` in error draw ``k`` of respondent ``r`` at posterior draw ``s`` is a fixed function of
``(seed, s, r, k, l)``, and a product's Gumbel error one of ``(seed, product name, s, r, k)``.
So every variant of a market (every price of a price curve, both sides of every elasticity) sees
the same errors (common random numbers: the curve's noise is smooth in price and its point at
the current price is exactly the simulated share), levels no product uses cost nothing, and the
draws can be made in parallel in any order.

- The stream is SplitMix64 (Steele, Lea and Flood 2014: ``mix(key + (n + 1) * gamma)`` is its
  n-th output, so any element is computed directly); it passes BigCrush.
- Normals are made by the ziggurat method (Marsaglia and Tsang 2000) with 256 layers from one
  64-bit output (8 bits for the layer, one for the sign, 52 for the abscissa), as NumPy's own
  ``standard_normal`` does; the rare rejections continue on a SplitMix64 stream seeded by that
  output. Gumbel errors are ``-log(-log(u))``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, uint64

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["in_threads", "logit_variants", "rfc_variants", "standard_normals"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
TIE = 1e-12  # first choice: alternatives within this of the best utility share the respondent


def in_threads(n_samples: int, kernel: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """``kernel(s0, s1)`` (a nogil kernel on posterior draws s0 to s1, results along axis 0)
    over chunks of the draws in ``numba.get_num_threads()`` threads, concatenated.

    Threads over chunks rather than ``parallel=True``: the same speed, a third of the compile
    time, and the same numbers whatever the thread count (each draw is computed on its own).
    """
    n_threads = max(1, min(numba.get_num_threads(), n_samples))
    if n_threads == 1:
        return kernel(0, n_samples)
    bounds = np.linspace(0, n_samples, 4 * n_threads + 1).round().astype(int)
    spans = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(lambda ab: kernel(*ab), spans))
    return np.concatenate(parts, axis=0)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Marsaglia and Tsang's 256-layer tables for a 52-bit abscissa: (k, w, f, r)."""
    n, r, v, m1 = 256, 3.6541528853610088, 0.00492867323399, 2.0**52
    k = np.zeros(n, dtype=np.uint64)
    w = np.zeros(n)
    f = np.zeros(n)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    k[0] = np.uint64((dn / q) * m1)
    k[1] = 0
    w[0] = q / m1
    w[n - 1] = dn / m1
    f[0] = 1.0
    f[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64((dn / tn) * m1)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m1
    return k, w, f, r


_ZK, _ZW, _ZF, _ZR = _ziggurat_tables()


@njit
def _mix(z):  # pragma: no cover - compiled
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit
def _draw(key, n):  # pragma: no cover - compiled
    """The n-th output of SplitMix64 seeded with ``key`` (n >= 0, uint64)."""
    return _mix(key + (n + uint64(1)) * _GAMMA)


@njit
def _normal_slow(h, x, idx, sign):  # pragma: no cover - compiled
    """The ziggurat's rejection branch (about 1% of draws), on a stream seeded by ``h``."""
    state = h
    while True:
        if idx == 0:  # the tail beyond r
            while True:
                state += _GAMMA
                u1 = (_mix(state) >> uint64(11)) * _TO_UNIT
                state += _GAMMA
                u2 = (_mix(state) >> uint64(11)) * _TO_UNIT
                xx = -math.log1p(-u1) / _ZR
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    return -(_ZR + xx) if sign else _ZR + xx
        state += _GAMMA
        u = (_mix(state) >> uint64(11)) * _TO_UNIT
        if (_ZF[idx - 1] - _ZF[idx]) * u + _ZF[idx] < math.exp(-0.5 * x * x):
            return x
        state += _GAMMA
        h2 = _mix(state)
        idx = int(h2 & uint64(0xFF))
        h2 >>= uint64(8)
        sign = (h2 & uint64(1)) == uint64(1)
        rabs = (h2 >> uint64(1)) & uint64(0x000FFFFFFFFFFFFF)
        x = rabs * _ZW[idx]
        if sign:
            x = -x
        if rabs < _ZK[idx]:
            return x


@njit
def _normal(key, n):  # pragma: no cover - compiled
    """A standard normal, the n-th of the stream ``key``."""
    h = _draw(key, n)
    idx = int(h & uint64(0xFF))
    r = h >> uint64(8)
    sign = (r & uint64(1)) == uint64(1)
    rabs = (r >> uint64(1)) & uint64(0x000FFFFFFFFFFFFF)
    x = rabs * _ZW[idx]
    if sign:
        x = -x
    if rabs < _ZK[idx]:
        return x
    return _normal_slow(h, x, idx, sign)


@njit
def _gumbel(key, n):  # pragma: no cover - compiled
    """A standard Gumbel (location 0, scale 1), the n-th of the stream ``key``."""
    u = ((_draw(key, n) >> uint64(11)) + 0.5) * _TO_UNIT
    return -math.log(-math.log(u))


@njit(cache=True)
def _normals(key, n):  # pragma: no cover - compiled
    out = np.empty(n)
    for i in range(n):
        out[i] = _normal(key, uint64(i))
    return out


@njit(cache=True)
def _gumbels(key, n):  # pragma: no cover - compiled
    out = np.empty(n)
    for i in range(n):
        out[i] = _gumbel(key, uint64(i))
    return out


def standard_normals(key: int, n: int, *, gumbel: bool = False) -> np.ndarray:
    """The first ``n`` standard normals (or Gumbels) of the stream ``key``, made as the RFC
    kernel makes them (for tests)."""
    k = np.uint64(key)
    return _gumbels(k, n) if gumbel else _normals_filled(k, n)


@njit
def _row_utilities(beta, s, r, rows, u, col):  # pragma: no cover - compiled
    """``u[i, col] = beta[s, r] . rows[i]`` for every row i."""
    n_par = beta.shape[2]
    for i in range(rows.shape[0]):
        acc = 0.0
        for p in range(n_par):
            acc += beta[s, r, p] * rows[i, p]
        u[i, col] = acc


@njit
def _fill_normals(key, start, stride, scale, out, q, bad, n):  # pragma: no cover - compiled
    """``out[q, k] = scale * _normal(key, start + k * stride)`` for k < n: the ziggurat's fast
    path for all (a loop the compiler vectorises, table look-ups as gathers), then the rare
    rejections one by one."""
    n_bad = 0
    row = out[q]
    for k in range(n):
        h = _draw(key, start + uint64(k) * stride)
        idx = np.int64(h & uint64(0xFF))
        r = h >> uint64(8)
        rabs = np.int64((r >> uint64(1)) & uint64(0x000FFFFFFFFFFFFF))
        x = np.float64(rabs) * _ZW[idx]
        row[k] = scale * (x - 2.0 * x * np.float64(np.int64(r & uint64(1))))
        rejected = rabs >= np.int64(_ZK[idx])
        bad[k] = rejected
        n_bad += rejected
    if n_bad:
        for k in range(n):
            if bad[k]:
                row[k] = scale * _normal(key, start + uint64(k) * stride)


@njit(cache=True)
def _normals_filled(key, n):  # pragma: no cover - compiled
    out = np.empty((1, n))
    _fill_normals(key, uint64(0), uint64(1), 1.0, out, 0, np.zeros(n, dtype=np.bool_), n)
    return out[0]


@njit
def _rivals(t, riv, n_win, win, n):  # pragma: no cover - compiled
    """For every alternative j and lane k < n: the best utility among the others, how many
    others are within the tie tolerance of it and (when one) which."""
    n_base = t.shape[0]
    for j in range(n_base):
        for k in range(n):
            riv[j, k] = -np.inf
            n_win[j, k] = 0
        for i in range(n_base):
            if i != j:
                for k in range(n):
                    riv[j, k] = t[i, k] if t[i, k] > riv[j, k] else riv[j, k]
        for i in range(n_base):
            if i != j:
                for k in range(n):
                    hit = t[i, k] >= riv[j, k] - TIE
                    n_win[j, k] += hit
                    win[j, k] = i if hit else win[j, k]


@njit
def _first_choice_into(out, s, r, c, v, share):  # pragma: no cover - compiled
    """Add ``share`` to ``out[s, r, c, j]``, split evenly among the j with the best ``v[j]``."""
    n_base = v.shape[0]
    top = -np.inf
    for j in range(n_base):
        if v[j] > top:
            top = v[j]
    cut = top - TIE
    cnt = 0
    for j in range(n_base):
        if v[j] >= cut:
            cnt += 1
    for j in range(n_base):
        if v[j] >= cut:
            out[s, r, c, j] += share / cnt


@njit(fastmath=True)
def _credit(who, i, lane_w, n):  # pragma: no cover - compiled
    """The weight of the first n lanes that alternative ``i`` wins alone (vectorised: loops
    from 0, as numba's negative-index handling stops vectorisation otherwise; the order of the
    additions is the compiler's)."""
    t = 0.0
    for k in range(n):
        t += lane_w[k] if who[k] == i else 0.0
    return t


_LANES = 256  # error draws of several respondents side by side: loops long enough to vectorise


@njit(cache=True, nogil=True)
def rfc_variants(
    beta,
    s0,
    rows,
    ptr,
    lev,
    wt,
    used,
    slot,
    vrow,
    n_base,
    key,
    gkeys,
    n_levels,
    k_draws,
    av,
    pv,
    w,
    per_resp,
):  # pragma: no cover - compiled
    """Randomized first choice (``av = pv = 0``, one draw: first choice) of every variant.

    beta (S, R, P): draws ``s0`` to ``s0 + S`` of the whole (the errors' counters count from
    the first); rows (B + V, P): the base alternatives' rows (products, then none), then the
    variant rows; ptr, lev, wt (CSR): the level loadings of each base row, and of each variant
    row minus those of the base row it replaces; used: the levels any row loads; slot (C,),
    vrow (C,): variant c puts row ``vrow[c]`` in place of alternative ``slot[c]`` (-1: the base
    market); key: the level-error stream; gkeys (B,): each alternative's Gumbel stream; w (R,):
    weights. Returns (S, R or 1, C, B): the probabilities per respondent (``per_resp``) or
    their weighted sums.

    The error draws of a block of respondents lie side by side in "lanes" (arrays over lanes,
    which the compiler vectorises); per lane each alternative's best rival is found once, and a
    variant is then one comparison with its slot's rival unless the two lie within the tie
    tolerance (then the general first choice, ties split).
    """
    n_s, n_r = beta.shape[0], beta.shape[1]
    n_rows = rows.shape[0]
    n_c = slot.shape[0]
    n_u = used.shape[0]
    out = np.zeros((n_s, n_r if per_resp else 1, n_c, n_base))
    pos = np.zeros(n_levels, dtype=np.int64)
    for q in range(n_u):
        pos[used[q]] = q
    block = max(1, min(n_r, _LANES // k_draws))  # respondents per block
    n_lanes = block * k_draws
    owner = np.empty(n_lanes, dtype=np.int64)  # lane -> respondent of the block
    for k in range(n_lanes):
        owner[k] = k // k_draws
    u = np.empty((n_rows, block))
    ue = np.empty((n_rows, n_lanes))
    eps = np.zeros((max(n_u, 1), n_lanes))
    err = np.zeros((n_rows, n_lanes))
    g = np.zeros((n_base, n_lanes))
    t = np.empty((n_base, n_lanes))
    riv = np.empty((n_base, n_lanes))
    n_win = np.zeros((n_base, n_lanes), dtype=np.int64)
    win = np.zeros((n_base, n_lanes), dtype=np.int64)
    val = np.empty(n_lanes)
    bad = np.zeros(n_lanes, dtype=np.bool_)
    who = np.zeros(n_lanes, dtype=np.int64)  # the alternative best alone, -1: a tie
    lane_w = np.empty(n_lanes)
    v = np.empty(n_base)
    lu = uint64(n_levels)
    for s in range(n_s):
        for r0 in range(0, n_r, block):
            nb = min(block, n_r - r0)
            nl = nb * k_draws
            for b in range(nb):
                _row_utilities(beta, s, r0 + b, rows, u, b)
            for i in range(n_rows):  # each lane its respondent's utility (no gathers below)
                for b in range(nb):
                    ub = u[i, b]
                    lanes = ue[i, b * k_draws :]
                    for k in range(k_draws):
                        lanes[k] = ub
            for k in range(nl):
                lane_w[k] = w[r0 + owner[k]] / k_draws
            c0 = (uint64(s0 + s) * uint64(n_r) + uint64(r0)) * uint64(k_draws)
            if av > 0.0:
                for q in range(n_u):
                    _fill_normals(key, c0 * lu + uint64(used[q]), lu, av, eps, q, bad, nl)
                for i in range(n_rows):  # rows without loadings keep their zeros
                    ei = err[i]
                    for nz in range(ptr[i], ptr[i + 1]):
                        el = eps[pos[lev[nz]]]
                        wq = wt[nz]
                        if nz == ptr[i]:
                            for k in range(nl):
                                ei[k] = wq * el[k]
                        else:
                            for k in range(nl):
                                ei[k] += wq * el[k]
            if pv > 0.0:
                for j in range(n_base):
                    for k in range(nl):
                        g[j, k] = pv * _gumbel(gkeys[j], c0 + uint64(k))
            for j in range(n_base):
                tj, uj, ej, gj = t[j], ue[j], err[j], g[j]
                for k in range(nl):
                    tj[k] = uj[k] + ej[k] + gj[k]
            _rivals(t, riv, n_win, win, nl)
            for c in range(n_c):
                j = slot[c]
                n_bad = 0
                if j < 0:  # the market as it is: who is best alone
                    for k in range(nl):
                        who[k] = -1
                    for i in range(n_base):
                        ti, ri_ = t[i], riv[i]
                        for k in range(nl):
                            who[k] = i if ri_[k] < ti[k] - TIE else who[k]
                    for k in range(nl):
                        n_bad += who[k] < 0
                else:
                    vr = vrow[c]
                    uv, ej, ev, gj, rj, nj, wj = (
                        ue[vr],
                        err[j],
                        err[vr],
                        g[j],
                        riv[j],
                        n_win[j],
                        win[j],
                    )
                    for k in range(nl):
                        x = uv[k] + (ej[k] + ev[k]) + gj[k]
                        val[k] = x
                        best = rj[k] < x - TIE  # the variant alone is best
                        lost = (x < rj[k] - TIE) & (nj[k] == 1)  # its rival alone is
                        who[k] = j if best else (wj[k] if lost else -1)
                        n_bad += who[k] < 0
                for b in range(nb if per_resp else 1):
                    lo, hi = (b * k_draws, (b + 1) * k_draws) if per_resp else (0, nl)
                    ri = r0 + b if per_resp else 0
                    for i in range(n_base):
                        out[s, ri, c, i] += _credit(who[lo:], i, lane_w[lo:], hi - lo)
                if n_bad:  # ties within the tolerance: the general first choice, split
                    for k in range(nl):
                        if who[k] < 0:
                            for i in range(n_base):
                                v[i] = val[k] if i == j else t[i, k]
                            _first_choice_into(
                                out, s, r0 + owner[k] if per_resp else 0, c, v, lane_w[k]
                            )
    return out


@njit(cache=True, nogil=True)
def logit_variants(beta, rows, slot, vrow, n_base, exponent, w):  # pragma: no cover - compiled
    """Logit shares of every variant, weighted over respondents: (S, C, B) (see rfc_variants).

    The exp-utilities of all rows share one shift (the largest) while every row stays within
    600 of it; otherwise each variant is shifted by its own largest utility (exact either way).
    """
    n_s, n_r = beta.shape[0], beta.shape[1]
    n_rows = rows.shape[0]
    n_c = slot.shape[0]
    out = np.zeros((n_s, n_c, n_base))
    u2 = np.empty((n_rows, 1))
    u = u2[:, 0]
    e = np.empty(n_rows)
    v = np.empty(n_base)
    for s in range(n_s):
        for r in range(n_r):
            _row_utilities(beta, s, r, rows, u2, 0)
            top = -np.inf
            low = np.inf
            for i in range(n_rows):
                u[i] *= exponent
                top = max(top, u[i])
                low = min(low, u[i])
            shared = top - low < 600.0
            if shared:
                for i in range(n_rows):
                    e[i] = math.exp(u[i] - top)
            for c in range(n_c):
                sl = slot[c]
                if shared:
                    for j in range(n_base):
                        v[j] = e[vrow[c]] if j == sl else e[j]
                else:
                    mx = -np.inf
                    for j in range(n_base):
                        v[j] = u[vrow[c]] if j == sl else u[j]
                        mx = max(mx, v[j])
                    for j in range(n_base):
                        v[j] = math.exp(v[j] - mx)
                total = 0.0
                for j in range(n_base):
                    total += v[j]
                f = w[r] / total
                for j in range(n_base):
                    out[s, c, j] += f * v[j]
    return out
