"""Fisher information of MNL choice tasks, vectorised over candidates and prior draws.

For a task with design rows X (J x K) and choice probabilities p at parameters b, the expected
information of one answer is X'(diag(p) - p p')X. A none alternative is a row holding only the
none constant. Dual-response none adds the follow-up "would you really take it?": given the chosen
alternative j, a binary logit of x_j against none, with information p_j q_j (1 - q_j) z_j z_j',
z_j = x_j - e_none, q_j its probability of a yes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from conjoint.encoding import Encoding, make_encoding
from winback.study import Study


@dataclass(frozen=True)
class TaskModel:
    """What is needed to turn level-index tasks into information matrices.

    A status quo filled per respondent (``[status_quo] plans``) shows a different profile to
    different respondents. The information of a task is then the weighted mean over every
    profile the status quo can show (``sq_rows`` with ``sq_weights``, from
    :meth:`winback.study.StatusQuo.profiles`): the expected information of a respondent when
    the plans are equally common (and, with ``price_from_paid``, every tested price equally
    likely). :meth:`rows` carries the first of them; :meth:`information` swaps in each one.
    """

    encoding: Encoding
    extra_rows: np.ndarray  # (n_extra, K) rows appended to every task (status quo, then none)
    dual_none: bool
    sq_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (P, K)
    sq_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (P,), sum 1

    @classmethod
    def from_study(cls, study: Study) -> TaskModel:
        enc = make_encoding(study)
        k = enc.n_parameters
        rows = []
        sq_rows = np.zeros((0, k))
        sq_weights = np.zeros(0)
        if study.status_quo is not None:
            assert enc.sq_index is not None
            merged: dict[tuple[int, ...], float] = {}
            for profile, w in study.status_quo.profiles():
                merged[profile] = merged.get(profile, 0.0) + w
            sq_rows = enc.encode(np.asarray(list(merged), dtype=int))
            sq_rows[:, enc.sq_index] = 1.0
            sq_weights = np.asarray(list(merged.values()))
            rows.append(sq_rows[0])
        if study.none_option and not study.dual_response_none:
            rows.append(enc.none_row())
        return cls(
            enc, np.asarray(rows).reshape(-1, k), study.dual_response_none, sq_rows, sq_weights
        )

    @property
    def k(self) -> int:
        return self.encoding.n_parameters

    def changeable(self, j: int, a: int) -> bool:
        """True when attribute ``a`` of designed alternative ``j`` is shown (a design search
        skips the cells of an absent alternative-specific attribute)."""
        applies = self.encoding.applies
        return applies is None or bool(applies[j, a])

    @property
    def sq_mixture(self) -> bool:
        """True when the status quo differs between respondents (several profiles)."""
        return len(self.sq_rows) > 1

    def rows(self, tasks: np.ndarray) -> np.ndarray:
        """(..., J, A) level indices -> (..., J + n_extra, K) design rows (a labelled design's
        alternative j with its label's constant and its absent attributes zero)."""
        x = self.encoding.encode_tasks(tasks)
        if len(self.extra_rows):
            extra = np.broadcast_to(self.extra_rows, (*x.shape[:-2], *self.extra_rows.shape))
            x = np.concatenate([x, extra], axis=-2)
        return x

    def information(self, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Information of tasks x (C, J', K) at draws beta (R, K) -> (C, R, K, K)."""
        if not self.sq_mixture:
            return self._information(x, beta)
        pos = x.shape[-2] - len(self.extra_rows)  # the status-quo row follows the designed ones
        out = np.zeros((x.shape[0], beta.shape[0], self.k, self.k))
        xs = x.copy()
        for row, w in zip(self.sq_rows, self.sq_weights, strict=True):
            xs[..., pos, :] = row
            out += w * self._information(xs, beta)
        return out

    def _information(self, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
        u = np.swapaxes(x @ beta.T, 1, 2)  # (C, R, J)
        u = u - u.max(axis=-1, keepdims=True)
        p = np.exp(u)
        p /= p.sum(axis=-1, keepdims=True)
        xbar = p @ x  # (C, R, K): probability-weighted mean row
        xc = x[:, None, :, :] - xbar[:, :, None, :]  # (C, R, J, K)
        m = np.swapaxes(xc * p[..., None], -1, -2) @ xc
        if self.dual_none:
            ni = self.encoding.none_index
            assert ni is not None
            z = x.copy()
            z[..., ni] -= 1.0  # x_j - e_none
            uz = np.swapaxes(x @ beta.T, 1, 2) - beta[None, :, ni, None]
            q = 1.0 / (1.0 + np.exp(-uz))
            w = p * q * (1.0 - q)
            zw = z[:, None, :, :] * w[..., None]
            m += np.swapaxes(zw, -1, -2) @ z[:, None, :, :]
        return m


def log_det(info: np.ndarray) -> np.ndarray:
    """log det of information matrices (..., K, K); -inf where singular or not positive."""
    try:
        # information matrices are symmetric positive definite once identified: Cholesky is
        # the cheapest determinant; fall back to LU when any matrix in the batch is not PD.
        chol = np.linalg.cholesky(info)
        diag = np.diagonal(chol, axis1=-2, axis2=-1)
        with np.errstate(divide="ignore"):
            ld = 2.0 * np.log(diag).sum(axis=-1)
        return np.where(ld < -700, -np.inf, ld)
    except np.linalg.LinAlgError:
        pass
    sign, ld = np.linalg.slogdet(info)
    ld = np.where(sign > 0, ld, -np.inf)
    # treat numerically singular matrices as singular
    return np.where(ld < -700, -np.inf, ld)


def d_error(info: np.ndarray) -> np.ndarray:
    """det(I)^(-1/K) over the last two axes; inf where singular."""
    k = info.shape[-1]
    with np.errstate(over="ignore"):
        return np.exp(-log_det(info) / k)


def db_error(info: np.ndarray) -> np.ndarray:
    """Mean D-error over prior draws: info (..., R, K, K) -> (...)."""
    return d_error(info).mean(axis=-1)
