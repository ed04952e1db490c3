"""numba kernels of the simulated willingness to pay (:func:`analysis.pricing.market_wtp`):
per draw, the price change at which a product's weighted logit share meets its target.

A module of its own, imported when a willingness to pay is simulated, so that
``import analysis.pricing`` (every ``winback simulate``) does not load numba (about 0.4 s).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["solve_wtp"]


_LOG2E = 1.4426950408889634
_LN2_HI = 0.693147180369123816490  # ln 2 in two parts (Cody and Waite): exact k * _LN2_HI
_LN2_LO = 1.90821492927058770002e-10


@njit(fastmath={"reassoc", "contract", "arcp"})
def _share_and_slope(z, g, w, d, tmp):  # pragma: no cover - compiled
    """The weighted logit share sum_r w_r sigmoid(z_r + g_r d) and its d-derivative.

    ``exp(-|x|)`` by range reduction and the degree-11 Taylor polynomial on |r| <= ln2 / 2
    (relative error below 1e-15), the exponent added to the bits, so the loops vectorise
    (libm's exp is one call per element); the sums in the compiler's order."""
    bits = tmp.view(np.int64)
    n = z.shape[0]
    for r in range(n):
        v = max(-abs(z[r] + g[r] * d), -700.0)
        k = np.floor(v * _LOG2E + 0.5)
        x = (v - k * _LN2_HI) - k * _LN2_LO
        q = 1.0 + x * (
            1.0
            + x
            * (
                1 / 2
                + x
                * (
                    1 / 6
                    + x
                    * (
                        1 / 24
                        + x
                        * (
                            1 / 120
                            + x
                            * (
                                1 / 720
                                + x
                                * (
                                    1 / 5040
                                    + x
                                    * (
                                        1 / 40320
                                        + x * (1 / 362880 + x * (1 / 3628800 + x / 39916800))
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
        tmp[r] = q
        bits[r] += np.int64(k) << 52
    share = 0.0
    deriv = 0.0
    for r in range(n):
        e = tmp[r]  # exp(-|x|)
        q = 1.0 / (1.0 + e) if z[r] + g[r] * d >= 0 else e / (1.0 + e)
        share += w[r] * q
        deriv += w[r] * q * (1.0 - q) * g[r]
    return share, deriv


@njit(cache=True, nogil=True)
def solve_wtp(z, g, w, target, lo_d, hi_d):  # pragma: no cover - compiled
    """Per draw s, a root d in [lo_d, hi_d] of share(d) = target[s] (share decreasing at it).

    Newton steps kept inside the bracket [a, b] with share(a) > target >= share(b), bisection
    where a Newton step would leave it; stops when a step or the bracket is below 1e-13 of the
    range (the former 50 bisection steps reached 4e-16 of it). NaN where the bracket at the
    range's ends does not hold.
    """
    n_s = z.shape[0]
    out = np.full(n_s, np.nan)
    tol = 1e-13 * (hi_d - lo_d)
    tmp = np.empty(z.shape[1])
    for s in range(n_s):
        zs, gs, ts = z[s], g[s], target[s]
        fa = _share_and_slope(zs, gs, w, lo_d, tmp)[0] - ts
        fb = _share_and_slope(zs, gs, w, hi_d, tmp)[0] - ts
        if not (fa >= 0 and fb <= 0):
            continue
        a, b = lo_d, hi_d
        x = min(max(0.0, a), b)
        for _ in range(200):
            f, df = _share_and_slope(zs, gs, w, x, tmp)
            f -= ts
            if f > 0:
                a = x
            else:
                b = x
            if f == 0 or b - a <= tol:
                break
            nx = x - f / df if df < 0 else np.nan
            if not (a < nx < b):
                nx = 0.5 * (a + b)
            step = abs(nx - x)
            x = nx
            if step <= tol:
                break
        out[s] = x
    return out
