"""Fisher information of MNL choice tasks, vectorised over candidates and prior draws.

For a task with design rows X (J x K) and choice probabilities p at parameters b, the expected
information of one answer is X'(diag(p) - p p')X. A none alternative is a row holding only the
none constant. Dual-response none adds the follow-up "would you really take it?": given the chosen
alternative j, a binary logit of x_j against none, with information p_j q_j (1 - q_j) z_j z_j',
z_j = x_j - e_none, q_j its probability of a yes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conjoint.encoding import Encoding, make_encoding
from winback.study import Study


@dataclass(frozen=True)
class TaskModel:
    """What is needed to turn level-index tasks into information matrices."""

    encoding: Encoding
    extra_rows: np.ndarray  # (n_extra, K) rows appended to every task (none, fixed status quo)
    dual_none: bool

    @classmethod
    def from_study(cls, study: Study) -> TaskModel:
        enc = make_encoding(study)
        k = enc.n_parameters
        rows = []
        if study.status_quo is not None:
            row = np.zeros(k)
            row[enc.sq_index] = 1.0
            if study.status_quo.levels is not None:
                row += enc.encode(np.asarray(study.status_quo.levels))
            rows.append(row)
        if study.none_option and not study.dual_response_none:
            rows.append(enc.none_row())
        return cls(enc, np.asarray(rows).reshape(-1, k), study.dual_response_none)

    @property
    def k(self) -> int:
        return self.encoding.n_parameters

    def rows(self, tasks: np.ndarray) -> np.ndarray:
        """(..., J, A) level indices -> (..., J + n_extra, K) design rows."""
        x = self.encoding.encode(tasks)
        if len(self.extra_rows):
            extra = np.broadcast_to(self.extra_rows, (*x.shape[:-2], *self.extra_rows.shape))
            x = np.concatenate([x, extra], axis=-2)
        return x

    def information(self, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Information of tasks x (C, J', K) at draws beta (R, K) -> (C, R, K, K)."""
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
