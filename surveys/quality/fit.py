"""Individual MNL fits shrunk towards the sample: penalised maximum likelihood by vectorised
damped Newton steps for all respondents at once, the empirical-Bayes centre and spread of the
penalty, and each respondent's RLH (root likelihood) over the estimation tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from conjoint.encoding import Encoding

#: empirical-Bayes updates of the shrinkage centre and spread (see ``_population``)
EB_UPDATES = 20
#: respondents the empirical-Bayes centre and spread are estimated from (a fixed random sample
#: of them when there are more): 2,000 pin both down to a few percent, and the cost of the
#: updates no longer grows with the file; every respondent's mode is then found once
EB_SAMPLE = 2_000


@dataclass(frozen=True)
class _Situations:
    """Choice situations for estimation: (n, S, J, K) rows, (n, S, J) availability,
    (n, S) chosen index, (n, S) weight (1 estimation, 0 holdout)."""

    x: np.ndarray
    avail: np.ndarray
    y: np.ndarray
    w: np.ndarray


def _situations(
    x: np.ndarray, y: np.ndarray, buy: np.ndarray | None, holdout: np.ndarray, enc: Encoding
) -> _Situations:
    n, t, j, _ = x.shape
    avail = np.ones((n, t, j), dtype=bool)
    w = (~holdout).astype(float)
    if buy is None:
        return _Situations(x, avail, y, w)
    # dual-response none: the forced choice, then "would you buy it?" as a choice between the
    # chosen alternative and none
    x2 = np.zeros_like(x)
    x2[:, :, 0] = np.take_along_axis(x, y[:, :, None, None], axis=2)[:, :, 0]
    x2[:, :, 1] = enc.none_row()
    avail2 = np.zeros_like(avail)
    avail2[:, :, :2] = True
    y2 = np.where(buy == 1, 0, 1)
    return _Situations(
        np.concatenate([x, x2], axis=1),
        np.concatenate([avail, avail2], axis=1),
        np.concatenate([y, y2], axis=1),
        np.concatenate([w, w], axis=1),
    )


def _arrays(s: _Situations) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The situations as the kernels take them (contiguous, one dtype each)."""
    return (
        np.ascontiguousarray(s.x, dtype=np.float64),
        np.ascontiguousarray(s.avail, dtype=np.bool_),
        np.ascontiguousarray(s.y, dtype=np.int64),
        np.ascontiguousarray(s.w, dtype=np.float64),
    )


def _modes(
    s: _Situations,
    centre: np.ndarray,
    prec: np.ndarray,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
    rows: np.ndarray | None = None,
    hessians: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised ML for every row of ``s`` (or the rows ``rows``) on its own: maximise
    sum_s w log p(y) - (b - centre)' diag(prec) (b - centre) / 2 by damped Newton steps
    (:func:`surveys.quality._kernels.newton_rows`: a step is halved while the objective would
    fall; a row stops when its step moves no parameter by ``tol``).

    Returns the modes (n, K) and the negative Hessians at the start of each row's last step
    (n, K, K; none, (0, K, K), without ``hessians``).
    """
    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import in_threads, newton_rows

    x, avail, y, w = _arrays(s)
    idx = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    n, k = len(idx), x.shape[-1]
    centre = np.ascontiguousarray(centre, dtype=np.float64)
    prec = np.ascontiguousarray(prec, dtype=np.float64)
    b = np.tile(centre, (n, 1)) if start is None else np.array(start, dtype=np.float64)
    hess = np.zeros((n if hessians else 0, k, k))
    in_threads(
        n,
        lambda i0, i1: newton_rows(
            x, avail, y, w, idx, centre, prec, b, hess, max_iter, tol, i0, i1
        ),
    )
    return b, hess


def _pooled_mode(
    s: _Situations,
    rows: np.ndarray,
    centre: np.ndarray,
    prec: np.ndarray,
    max_iter: int = 50,
    tol: float = 1e-7,
    distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The aggregate MNL: :func:`_modes` of the situations of ``rows`` pooled as one
    respondent's. Respondents answer the same few tasks (the design's versions), so each
    distinct situation is computed once, weighted by how often each alternative was chosen in
    it (the sums of the per-row terms, in another order; ``distinct``: those of ``rows``
    found already); in chunks, added in a fixed order: the same numbers whatever the thread
    count."""
    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import count_terms, in_threads, pooled_terms

    rows = np.asarray(rows, dtype=np.int64)
    if distinct is None:
        distinct = _distinct_situations(s, rows)
    if distinct is not None:
        xu, au, counts = distinct

        def work(beta: np.ndarray, derivatives: bool) -> Any:
            return in_threads(
                len(xu), lambda i0, i1: count_terms(xu, au, counts, beta, derivatives, i0, i1)
            )
    else:  # fingerprints collided: every row's terms
        x, avail, y, w = _arrays(s)

        def work(beta: np.ndarray, derivatives: bool) -> Any:
            return in_threads(
                len(rows),
                lambda i0, i1: pooled_terms(x, avail, y, w, rows, beta, derivatives, i0, i1),
            )

    def terms(beta: np.ndarray, derivatives: bool) -> tuple[float, np.ndarray, np.ndarray]:
        parts = work(beta, derivatives)
        grad, hess = np.zeros(len(beta)), np.zeros((len(beta), len(beta)))
        for _, g, h in parts:  # in chunk order
            grad += g
            hess += h
        return math.fsum(float(p[0]) for p in parts), grad, hess

    def objective(beta: np.ndarray) -> float:
        d = beta - centre
        return terms(beta, False)[0] - 0.5 * float((d * d * prec).sum())

    b = np.array(centre, dtype=np.float64)
    f = objective(b)
    for _ in range(max_iter):
        _, g, h = terms(b, True)
        step = np.linalg.solve(h + np.diag(prec), g - prec * (b - centre))
        size = 1.0
        for _ in range(30):  # halve the step where the objective would fall
            f_new = objective(b + size * step)
            if not f_new < f - 1e-10 * abs(f):
                break
            size /= 2
        b = b + size * step
        f = objective(b)
        if not np.abs(size * step).max(initial=0.0) >= tol:
            break
    return b


def _distinct_situations(
    s: _Situations, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The distinct situations of respondents ``rows``: their design rows (G, J, K),
    availability (G, J) and the weighted count of each alternative's choices (G, J); None when
    two different situations share a fingerprint (then the caller sums every row)."""
    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import fingerprints, in_threads, same_as

    x, avail, y, w = _arrays(s)
    n, n_s, n_j = len(rows), x.shape[1], x.shape[2]
    if not n * n_s:
        return None
    words, wbits = x.view(np.uint64), w.view(np.uint64)
    prints = np.empty((n, n_s), dtype=np.uint64)
    in_threads(n, lambda i0, i1: fingerprints(words, avail, wbits, rows, prints, i0, i1))
    code = np.asarray(pd.factorize(prints.ravel())[0], dtype=np.int64)
    first = np.flatnonzero(code > np.concatenate(([-1], np.maximum.accumulate(code)[:-1])))
    first_i, first_s = first // n_s, first % n_s
    code2 = code.reshape(n, n_s)
    checks = in_threads(
        n, lambda i0, i1: same_as(words, avail, wbits, rows, first_i, first_s, code2, i0, i1)
    )
    if not all(checks):
        return None
    counts = np.bincount(
        code * n_j + y[rows].ravel(), weights=w[rows].ravel(), minlength=len(first) * n_j
    ).reshape(len(first), n_j)
    at = rows[first_i]
    return x[at, first_s], avail[at, first_s], counts


def _column_scale(
    s: _Situations, distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Range of each design column among the alternatives shown (1 when constant); from the
    distinct situations of every respondent when found."""
    k = s.x.shape[-1]
    if distinct is not None:
        rows = distinct[0][distinct[1]].reshape(-1, k)
    elif s.avail.all():  # every alternative available (no dual-response none): no copy
        rows = s.x.reshape(-1, k)
    else:
        rows = s.x[s.avail].reshape(-1, k)
    rng = rows.max(axis=0) - rows.min(axis=0) if len(rows) else np.ones(k)
    return np.where(rng > 0, rng, 1.0)


def _population(s: _Situations, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and precision of the penalty (empirical Bayes), and every respondent's mode."""
    everyone = _distinct_situations(s, np.arange(len(pop)))
    scale = _column_scale(s, everyone)
    # aggregate MNL; a weak penalty (sd 10 per unit of column range) keeps it finite when a
    # level is never chosen
    k = s.x.shape[-1]
    centre = _pooled_mode(
        s,
        np.flatnonzero(pop),
        np.zeros(k),
        (scale / 10.0) ** 2,
        distinct=everyone if pop.all() else None,
    )
    var = (1.0 / scale) ** 2  # start: sd 1 per unit of column range
    floor = (0.01 / scale) ** 2
    rows = np.arange(len(pop))
    if pop.sum() > EB_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(np.flatnonzero(pop), EB_SAMPLE, False))
    in_pop = pop[rows]
    b = None
    # Empirical-Bayes (EM) updates of the centre and spread. EM for variance components
    # creeps towards its fixed point, but the ranking of respondents' RLH settles within a few
    # updates, so a fixed number keeps the run time predictable (and the result deterministic).
    for _ in range(EB_UPDATES):
        # a few Newton steps from the previous modes suffice between updates of the penalty
        b, hess = _modes(s, centre, 1.0 / var, start=b, max_iter=3, rows=rows)
        post_var = _posterior_variances(hess[in_pop])
        centre = b[in_pop].mean(axis=0)
        var = np.maximum(((b[in_pop] - centre) ** 2).mean(axis=0) + post_var.mean(axis=0), floor)
    start = b if len(rows) == len(pop) else None
    b, _ = _modes(s, centre, 1.0 / var, start=start, hessians=False)
    return centre, 1.0 / var, b


def _posterior_variances(hess: np.ndarray) -> np.ndarray:
    """The diagonal of each negative Hessian's inverse (n, K): the Laplace posterior variances.
    By Cholesky factors in threads (numpy's batched ``inv`` took about 30 ms of CPU for 2,000
    matrices of 20 x 20, 20 times per import); a matrix the factor fails on (not positive
    definite to rounding) by ``numpy.linalg.inv``."""
    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import diag_inverse, in_threads

    h = np.ascontiguousarray(hess, dtype=np.float64)
    out = np.empty(h.shape[:2])
    in_threads(len(h), lambda i0, i1: diag_inverse(h, out, i0, i1))
    bad = np.isnan(out).any(axis=1)
    if bad.any():
        out[bad] = np.diagonal(np.linalg.inv(h[bad]), axis1=1, axis2=2)
    return out


def _rlh_of(b: np.ndarray, s: _Situations) -> np.ndarray:
    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import chosen_loglik, in_threads

    x, avail, y, w = _arrays(s)
    n_est = s.w.sum(axis=1)
    ll = np.empty(len(x))
    b = np.ascontiguousarray(b, dtype=np.float64)
    in_threads(len(x), lambda i0, i1: chosen_loglik(x, avail, y, w, b, ll, i0, i1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_est > 0, np.exp(ll / np.maximum(n_est, 1)), np.nan)
