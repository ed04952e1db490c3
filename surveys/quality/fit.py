"""Individual MNL fits shrunk towards the sample: penalised maximum likelihood by vectorised
damped Newton steps for all respondents at once, the empirical-Bayes centre and spread of the
penalty, and each respondent's RLH (root likelihood) over the estimation tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def _log_probs(b: np.ndarray, s: _Situations) -> np.ndarray:
    u = np.einsum("nsjk,nk->nsj", s.x, b)
    u = np.where(s.avail, u, -np.inf)
    u = u - u.max(axis=2, keepdims=True)
    lp = u - np.log(np.exp(u).sum(axis=2, keepdims=True))
    return np.where(s.avail, lp, -np.inf)


def _chosen_lp(lp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.take_along_axis(lp, y[..., None], axis=2)[..., 0]


def _modes(
    s: _Situations,
    centre: np.ndarray,
    prec: np.ndarray,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised ML for every row of ``s`` at once: maximise
    sum_s w log p(y) - (b - centre)' diag(prec) (b - centre) / 2 by damped Newton steps.

    Returns the modes (n, K) and the negative Hessians at the modes (n, K, K).
    """
    n, _, _, k = s.x.shape
    b = np.tile(centre, (n, 1)) if start is None else start.copy()
    hess = np.zeros((n, k, k))
    eye = np.diag(prec)

    def objective(b: np.ndarray, s: _Situations) -> tuple[np.ndarray, np.ndarray]:
        lp = _log_probs(b, s)
        d = b - centre
        return (s.w * _chosen_lp(lp, s.y)).sum(axis=1) - 0.5 * (d * d * prec).sum(axis=1), lp

    # rows whose step fell below ``tol`` are done and leave the working set (most respondents
    # converge in a few steps; the slowest no longer keep the others computing)
    active = np.arange(n)
    sub = s
    ba = b
    f, lp = objective(ba, sub)
    for _ in range(max_iter):
        m = len(active)
        xf = sub.x.reshape(m, -1, k)
        p = np.exp(lp)  # 0 where unavailable
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
        for _ in range(30):  # halve the step where the objective would fall
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


def _column_scale(s: _Situations) -> np.ndarray:
    """Range of each design column among the alternatives shown (1 when constant)."""
    k = s.x.shape[-1]
    rows = s.x[s.avail].reshape(-1, k)
    rng = rows.max(axis=0) - rows.min(axis=0) if len(rows) else np.ones(k)
    return np.where(rng > 0, rng, 1.0)


def _population(s: _Situations, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and precision of the penalty (empirical Bayes), and every respondent's mode."""
    scale = _column_scale(s)
    pooled = _Situations(
        s.x[pop].reshape(1, -1, *s.x.shape[2:]),
        s.avail[pop].reshape(1, -1, s.avail.shape[2]),
        s.y[pop].reshape(1, -1),
        s.w[pop].reshape(1, -1),
    )
    # aggregate MNL; a weak penalty (sd 10 per unit of column range) keeps it finite when a
    # level is never chosen
    k = s.x.shape[-1]
    agg, _ = _modes(pooled, np.zeros(k), (scale / 10.0) ** 2)
    centre = agg[0]
    var = (1.0 / scale) ** 2  # start: sd 1 per unit of column range
    floor = (0.01 / scale) ** 2
    full = s
    if pop.sum() > EB_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(np.flatnonzero(pop), EB_SAMPLE, False))
        s = _Situations(s.x[rows], s.avail[rows], s.y[rows], s.w[rows])
        pop = np.ones(EB_SAMPLE, dtype=bool)
    b = None
    # Empirical-Bayes (EM) updates of the centre and spread. EM for variance components
    # creeps towards its fixed point, but the ranking of respondents' RLH settles within a few
    # updates, so a fixed number keeps the run time predictable (and the result deterministic).
    for _ in range(EB_UPDATES):
        # a few Newton steps from the previous modes suffice between updates of the penalty
        b, hess = _modes(s, centre, 1.0 / var, start=b, max_iter=3)
        post_var = np.diagonal(np.linalg.inv(hess[pop]), axis1=1, axis2=2)
        centre = b[pop].mean(axis=0)
        var = np.maximum(((b[pop] - centre) ** 2).mean(axis=0) + post_var.mean(axis=0), floor)
    b, _ = _modes(full, centre, 1.0 / var, start=b if full is s else None)
    return centre, 1.0 / var, b


def _rlh_of(b: np.ndarray, s: _Situations) -> np.ndarray:
    n_est = s.w.sum(axis=1)
    ll = (s.w * _chosen_lp(_log_probs(b, s), s.y)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_est > 0, np.exp(ll / np.maximum(n_est, 1)), np.nan)
