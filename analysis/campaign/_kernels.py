"""numba kernels of campaign scoring: every customer x candidate action x posterior draw.

Per customer and block of posterior draws the kernel makes the utilities of every distinct
alternative of the candidate markets once (a respondent's from their own part-worth draws, any
other customer's from the upper-level model with fresh normals), applies the calibration, takes
one exponential per alternative and then, per action, the probability of returning (the own
products' logit share of that action's market) and the expected incremental profit.

The upper-level model is evaluated in its own (theta) space: for the utility rows, whose part-
worths are linear in theta, the kernel uses the rows times the population mean, covariate
effects and Cholesky factor of every draw (``base``, ``XG``, ``XL``: computed once per draw in
NumPy); a constrained part-worth (``-exp(theta)``, ordered levels as cumulative sums of
``exp(theta)``) is rebuilt from its theta on every draw. The normals are counter-based
(:mod:`analysis.simulator._kernels`): normal ``q`` of customer ``n`` at draw ``s`` is element
``(n K + q) S + s`` of one stream, so any chunking, thread count or subset of actions sees the
same part-worths. Draws lie innermost in every buffer, so the loops vectorise; the exponential
is a vectorisable polynomial (Cody-Waite reduction, degree-13 Taylor: about 2e-16 relative).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from analysis.simulator._kernels import _fill_normals
from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["CUSTOMER_BLOCK", "DRAW_BLOCK", "exp_into", "normals_of", "score_chunk"]

DRAW_BLOCK = 128  # posterior draws per block (buffers of a few KB: L1/L2)
CUSTOMER_BLOCK = 32  # customers sharing one pass over a block of the per-draw arrays

# reassociation (vectorised sums over draws) and fused multiply-adds; infinities and NaN keep
# their meaning (no "nnan" / "ninf"): the running maximum starts at -inf
_FAST = {"reassoc", "contract", "arcp", "nsz"}
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00


@njit(cache=True, nogil=True)
def exp_into(x, out, kb, n):  # pragma: no cover - compiled
    """``out[:n] = exp(x[:n])`` (x clipped to [-708, 709]) in a loop the compiler vectorises;
    ``kb`` an int64 work array of at least ``n``."""
    for i in range(n):
        xi = min(max(x[i], -708.0), 709.0)
        k = np.floor(xi * _INV_LN2 + 0.5)
        r = (xi - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0  # Taylor coefficients 1/13! .. 1/0!, Horner's rule
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        out[i] = p
        # 2**k from its exponent bits (k in [-1022, 1023] after the clip)
        kb[i] = (np.int64(k) + 1023) << 52
    f = kb[:n].view(np.float64)
    for i in range(n):
        out[i] *= f[i]


@njit(cache=True, nogil=True)
def _normals(key, n, k_par, s_total, s0, ds, z, bad):  # pragma: no cover - compiled
    """``z[q, :ds]``: the normals of customer ``n``, parameter ``q``, draws ``s0..s0+ds``."""
    for q in range(k_par):
        start = (uint64(n) * uint64(k_par) + uint64(q)) * uint64(s_total) + uint64(s0)
        _fill_normals(key, start, uint64(1), 1.0, z, q, bad, ds)


@njit(cache=True)
def normals_of(key, customers, k_par, s_total):  # pragma: no cover - compiled
    """The normals (draw, customer, parameter) the kernel uses for ``customers``."""
    out = np.empty((s_total, len(customers), k_par))
    z = np.empty((k_par, s_total))
    bad = np.zeros(s_total, dtype=np.bool_)
    for i in range(len(customers)):
        _normals(key, customers[i], k_par, s_total, 0, s_total, z, bad)
        for q in range(k_par):
            for s in range(s_total):
                out[s, i, q] = z[q, s]
    return out


@njit(cache=True, nogil=True, fastmath=_FAST)
def _utilities(
    n,
    s0,
    ds,
    key,
    s_total,
    who,
    rbeta,
    w,
    base,
    xg,
    xl,
    x,
    con_prev,
    con_sign,
    con_inv,
    xcon,
    z,
    bad,
    t,
    e,
    kb,
    use,
):  # pragma: no cover - compiled
    """``t[r, :ds]``: utilities of the distinct rows ``use`` for customer ``n``, draws
    ``s0..`` (rows beyond ``x``'s are work space). One-dimensional views of the draws keep every
    inner loop contiguous, which is what lets the compiler vectorise it."""
    n_rows = x.shape[0]
    k_par = x.shape[1]
    i = who[n]
    if i >= 0:  # a respondent: their own part-worth draws
        for r in use:
            tr = t[r]
            xr = x[r]
            for j in range(ds):
                b = rbeta[s0 + j, i]
                acc = 0.0
                for k in range(k_par):
                    acc += xr[k] * b[k]
                tr[j] = acc
        return
    n_q = base.shape[0]
    n_cov = w.shape[1]
    _normals(key, n, k_par, s_total, s0, ds, z, bad)
    for qq in range(len(use) + n_q - n_rows):
        q = use[qq] if qq < len(use) else n_rows + qq - len(use)  # then the constrained thetas
        tq = t[q]
        bq = base[q, s0 : s0 + ds]
        for j in range(ds):
            tq[j] = bq[j]
        for c in range(n_cov):
            wc = w[n, c]
            gq = xg[q, c, s0 : s0 + ds]
            for j in range(ds):
                tq[j] += gq[j] * wc
        for k in range(k_par):
            lq = xl[q, k, s0 : s0 + ds]
            zk = z[k]
            for j in range(ds):
                tq[j] += lq[j] * zk[j]
    for c in range(con_prev.shape[0]):
        ec = e[c]
        exp_into(t[n_rows + c], ec, kb, ds)
        p = con_prev[c]
        if p >= 0:  # ordered levels: cumulative sums of exp(theta)
            ep = e[p]
            for j in range(ds):
                ec[j] += ep[j]
        f = con_sign[c] * con_inv[c]
        for r in use:
            xr = xcon[r, c] * f
            if xr != 0.0:
                tr = t[r]
                for j in range(ds):
                    tr[j] += xr * ec[j]


@njit(cache=True, nogil=True)
def _rescaled(
    u, j, act_rows, a0, a1, own_rows, o0, o1, own_margin, cm, months, inc, den, pa, va
):  # pragma: no cover - compiled
    """Draw ``j`` of one action relative to its own market's best row (``u`` holds the
    utilities minus the best row of every market)."""
    top = -np.inf
    for q in range(a0, a1):
        top = max(top, u[act_rows[q], j])
    den[j] = 0.0
    pa[j] = 0.0
    va[j] = 0.0
    for q in range(a0, a1):
        den[j] += np.exp(u[act_rows[q], j] - top)
    for q in range(o0, o1):
        m = own_margin[q] if np.isnan(cm) else cm
        ej = np.exp(u[own_rows[q], j] - top)
        pa[j] += ej
        va[j] += ej * (m * months - inc)


@njit(cache=True, nogil=True, fastmath=_FAST)
def score_chunk(
    n0,
    n1,
    key,
    s_total,
    who,
    rbeta,
    w,
    base,
    xg,
    xl,
    x,
    con_prev,
    con_sign,
    con_inv,
    xcon,
    gain,
    shift,
    none_row,
    act_ptr,
    act_rows,
    own_ptr,
    own_rows,
    own_margin,
    act_inc,
    cust_margin,
    months,
    reach,
    contact,
    every,
    chosen,
    group,
    sum_p,
    sum_v,
    tot_p,
    tot_v,
    draw_p,
    draw_v,
):  # pragma: no cover - compiled
    """Score customers ``n0..n1`` on every draw.

    ``every``: every action, ``sum_p`` / ``sum_v`` (customer,
    action) get the sums over draws and ``tot_p`` / ``tot_v`` (action, draw) the sums over
    customers. Otherwise only action ``chosen[n]`` (-1: none, nothing) of each customer:
    ``draw_p`` / ``draw_v`` (customer, draw) get every draw and ``tot_p`` / ``tot_v``
    (group, draw) the sums over the customers of each ``group[n]``.

    Per action ``a``: its market's rows ``act_rows[act_ptr[a]:act_ptr[a + 1]]``, its own
    products' rows ``own_rows[own_ptr[a]:own_ptr[a + 1]]`` with their monthly margins
    ``own_margin`` (replaced by ``cust_margin[n]`` where that is not NaN) and incentive
    ``act_inc[a]``: ``p = reach sum_own P``, profit ``reach (sum_own P (m months - inc) -
    contact)``.
    """
    n_rows = x.shape[0]
    k_par = x.shape[1]
    n_act = act_ptr.shape[0] - 1
    n_q = base.shape[0]
    n_con = con_prev.shape[0]
    db = DRAW_BLOCK
    z = np.empty((k_par, db))
    bad = np.zeros(db, dtype=np.bool_)
    t = np.empty((max(n_q, n_rows), db))
    e = np.empty((max(n_con, 1), db))
    kb = np.empty(db, dtype=np.int64)
    ev = np.empty((n_rows, db))
    every_row = np.arange(n_rows)
    mx = np.empty(db)
    den = np.empty(db)
    pa = np.empty(db)
    va = np.empty(db)
    for b0 in range(n0, n1, CUSTOMER_BLOCK):
        b1 = min(b0 + CUSTOMER_BLOCK, n1)
        for s0 in range(0, s_total, db):
            ds = min(db, s_total - s0)
            gs = gain[s0 : s0 + ds]
            sh = shift[s0 : s0 + ds]
            for n in range(b0, b1):
                if chosen[n] == -1:  # not scored (cannot be contacted, or no action)
                    continue
                # every row, or only the rows of the customer's action
                use = every_row if every else act_rows[act_ptr[chosen[n]] : act_ptr[chosen[n] + 1]]
                _utilities(
                    n, s0, ds, key, s_total, who, rbeta, w, base, xg, xl, x, con_prev,
                    con_sign, con_inv, xcon, z, bad, t, e, kb, use,
                )  # fmt: skip
                # calibration (scale times the market's exponent; none shifted), then one
                # exponential per row, relative to the largest row of the draw
                for j in range(ds):
                    mx[j] = -np.inf
                for r in use:
                    tr = t[r]
                    for j in range(ds):
                        tr[j] *= gs[j]
                    if r == none_row:
                        for j in range(ds):
                            tr[j] += sh[j]
                    for j in range(ds):
                        mx[j] = max(mx[j], tr[j])
                for r in use:
                    tr = t[r]
                    for j in range(ds):
                        tr[j] -= mx[j]
                    exp_into(tr, ev[r], kb, ds)
                cm = cust_margin[n]
                a_lo = 0 if every else chosen[n]
                a_hi = n_act if every else chosen[n] + 1
                for a in range(a_lo, a_hi):
                    for j in range(ds):
                        den[j] = 0.0
                        pa[j] = 0.0
                        va[j] = 0.0
                    for q in range(act_ptr[a], act_ptr[a + 1]):
                        er = ev[act_rows[q]]
                        for j in range(ds):
                            den[j] += er[j]
                    for q in range(own_ptr[a], own_ptr[a + 1]):
                        er = ev[own_rows[q]]
                        m = own_margin[q] if np.isnan(cm) else cm
                        worth = m * months - act_inc[a]
                        for j in range(ds):
                            pa[j] += er[j]
                            va[j] += er[j] * worth
                    low = 0
                    for j in range(ds):
                        low += den[j] < 1e-280
                    if low:  # far below another market's best row: this market on its own
                        for j in range(ds):
                            if den[j] < 1e-280:
                                _rescaled(
                                    t, j, act_rows, act_ptr[a], act_ptr[a + 1], own_rows,
                                    own_ptr[a], own_ptr[a + 1], own_margin, cm, months,
                                    act_inc[a], den, pa, va,
                                )  # fmt: skip
                    cost = reach * contact
                    for j in range(ds):
                        f = reach / den[j]
                        pa[j] *= f
                        va[j] = va[j] * f - cost
                    if every:
                        i = n - n0
                        tp = tot_p[a, s0 : s0 + ds]
                        tv = tot_v[a, s0 : s0 + ds]
                        sp = 0.0
                        sv = 0.0
                        for j in range(ds):
                            sp += pa[j]
                            sv += va[j]
                            tp[j] += pa[j]
                            tv[j] += va[j]
                        sum_p[i, a] += sp
                        sum_v[i, a] += sv
                    else:
                        i = n - n0
                        g = group[n]
                        tp = tot_p[g, s0 : s0 + ds]
                        tv = tot_v[g, s0 : s0 + ds]
                        dp = draw_p[i, s0 : s0 + ds]
                        dv = draw_v[i, s0 : s0 + ds]
                        for j in range(ds):
                            dp[j] = pa[j]
                            dv[j] = va[j]
                            tp[j] += pa[j]
                            tv[j] += va[j]
    return 0


@njit(cache=True, nogil=True)
def _bracket(sample, s, k, k2):  # pragma: no cover - compiled
    """Values of a sorted sample of ``m`` that bracket ranks ``k..k2`` of ``s`` values: its
    ``j``-th has expected rank ``(j + 0.5) s / m``; about four standard deviations of that rank
    on either side."""
    m = sample.shape[0]
    p = (k + 1.0) / s
    width = 4.0 * np.sqrt(m * p * (1.0 - p)) + 1.0
    j_lo = int(np.floor((k + 0.5) * m / s - width))
    j_hi = int(np.ceil((k2 + 0.5) * m / s + width))
    lo = sample[j_lo] if j_lo >= 0 else -np.inf
    hi = sample[j_hi] if j_hi < m else np.inf
    return lo, hi


@njit(cache=True, nogil=True)
def _pick(mid, n_mid, below, k, k2, x):  # pragma: no cover - compiled
    """The ``k``-th and ``k2``-th smallest of ``x`` from the values kept inside a bracket (a
    full sort if the bracket missed them)."""
    if below <= k and k2 < below + n_mid:
        band = np.partition(mid[:n_mid], np.array([k - below, k2 - below]))
        return band[k - below], band[k2 - below]
    full = np.sort(x)
    return full[k], full[k2]


@njit(cache=True, nogil=True)
def bands_of(draws, rows, lo_q, hi_q, out):  # pragma: no cover - compiled
    """``out[i] = (quantile lo_q, quantile hi_q)`` of ``draws[i]`` for the rows where ``rows``
    is true (NumPy's default, linear interpolation), without sorting every row: a sorted sample
    of 128 brackets both ranks, one pass counts what lies below each bracket and keeps what
    lies inside, and only that is partitioned."""
    s = draws.shape[1]
    m = 128
    sample = np.empty(m)
    mid1 = np.empty(s)
    mid2 = np.empty(s)
    h1 = (s - 1) * lo_q
    h2 = (s - 1) * hi_q
    k1 = int(np.floor(h1))
    k2 = int(np.floor(h2))
    k1b = min(k1 + 1, s - 1)
    k2b = min(k2 + 1, s - 1)
    for i in range(draws.shape[0]):
        if not rows[i]:
            continue
        x = draws[i]
        if s <= 4 * m:
            full = np.sort(x)
            a1, b1, a2, b2 = full[k1], full[k1b], full[k2], full[k2b]
        else:
            step = s // m
            for j in range(m):
                sample[j] = x[j * step]
            sample.sort()
            lo1, hi1 = _bracket(sample, s, k1, k1b)
            lo2, hi2 = _bracket(sample, s, k2, k2b)
            below1 = 0
            below2 = 0
            n1 = 0
            n2 = 0
            for j in range(s):
                v = x[j]
                below1 += v < lo1
                below2 += v < lo2
                if v >= lo1 and v <= hi1:
                    mid1[n1] = v
                    n1 += 1
                if v >= lo2 and v <= hi2:
                    mid2[n2] = v
                    n2 += 1
            a1, b1 = _pick(mid1, n1, below1, k1, k1b, x)
            a2, b2 = _pick(mid2, n2, below2, k2, k2b, x)
        out[i, 0] = a1 + (h1 - k1) * (b1 - a1)
        out[i, 1] = a2 + (h2 - k2) * (b2 - a2)
