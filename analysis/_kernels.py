"""A fused multinomial-logit log-likelihood Op for PyTensor, with a SIMD-friendly exp and log.

The HB-MNL's log-density gradient is dominated by the likelihood: one utility per alternative
per observation, its exp, and the gradient's pass over the design. This Op computes the
utilities, the log-likelihood and the choice probabilities in one call, and its gradient in the
part-worths from the probabilities already computed. What makes it fast (measured in
benchmarks/RESULTS.md):

- the design is packed (:func:`pack_design`) column by column with each respondent's rows
  together, so both the utilities (``d += x_c * beta_rc``) and the gradient (``sum_rows x_c w``)
  are unit-stride loops over a respondent's rows that LLVM vectorises;
- columns are stored as small integers times a step when that is exact (dummy and effects
  codes, the none constant, prices on a grid): int8 is an eighth of the memory traffic of
  float64, which decides the speed on large studies;
- exp and log are written as range reduction plus polynomials (relative error below 1e-14,
  tested), which vectorise, where numba would call libm once per element;
- utilities are exponentiated without the usual per-task maximum shift while every task's sum
  stays in range; otherwise the task-wise shifted computation runs instead (exact either way).

The numba kernels themselves are in :mod:`analysis._kernels_numba`; the JAX ones in
:mod:`analysis._jax`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from analysis._kernels_numba import register as _register_numba

__all__ = [
    "WIDTHS",
    "PackedDesign",
    "codes_by_width",
    "mnl_beta_loglik",
    "pack_design",
    "packed_chol_matmul",
]


@dataclass(frozen=True)
class PackedDesign:
    """Choice observations laid out for the kernel.

    Attributes
    ----------
    codes : ndarray, shape (n_parameters, n_obs * n_alts)
        Column ``c`` of the design is ``codes[c] * step[c]``; int8 or int16 when that is exact
        (within 1e-12 of the column's largest value), float64 (step 1) otherwise. Row
        ``t * n_alts + a`` is alternative ``a`` of observation ``t``.
    step : ndarray, shape (n_parameters,)
    ptr : ndarray of int64, shape (n_respondents + 1,)
        Respondent ``r``'s observations are ``ptr[r]:ptr[r + 1]`` (observations are sorted by
        respondent, stably).
    y : ndarray of int64, shape (n_obs,)
        Chosen alternative, in the packed order.
    mask : ndarray of float64, shape (n_obs * n_alts,)
        1.0 where the alternative exists, 0.0 on padding.
    order : ndarray of int64, shape (n_obs,)
        Packed observation ``t`` is input observation ``order[t]``.
    """

    codes: np.ndarray
    step: np.ndarray
    ptr: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    order: np.ndarray


def _column_code(values: np.ndarray, limit: int) -> tuple[float, np.ndarray] | None:
    """``(step, codes)`` with ``codes * step == values`` (to 1e-12 relative) and integer codes
    within ``+-limit``, the largest such step; None if there is none."""
    mags = np.unique(np.abs(values))
    mags = mags[mags > 0]
    if mags.size == 0:
        return 1.0, np.zeros(values.shape)
    lo, hi = float(mags[0]), float(mags[-1])
    tol = 1e-12 * hi
    q_max = int(np.floor(limit * lo / hi + 1e-9))
    for start in range(1, q_max + 1, 512):
        q = np.arange(start, min(start + 512, q_max + 1), dtype=float)
        step = lo / q
        c = mags[None, :] / step[:, None]
        ok = (np.abs(np.round(c) * step[:, None] - mags[None, :]) <= tol).all(axis=1)
        ok &= np.round(c).max(axis=1) <= limit
        if ok.any():
            s = float(step[int(np.argmax(ok))])
            codes = np.round(values / s)
            if np.abs(codes * s - values).max() <= tol:
                return s, codes
    return None


def pack_design(
    x: np.ndarray, resp: np.ndarray, y: np.ndarray, avail: np.ndarray, n_respondents: int
) -> PackedDesign:
    """Pack ``x`` (n_obs, n_alts, n_parameters), ``resp``, ``y`` and ``avail`` for the kernel."""
    x = np.asarray(x, dtype=float)
    resp = np.asarray(resp, dtype=np.int64)
    n, j, k = x.shape
    order = np.argsort(resp, kind="stable").astype(np.int64)
    rows = x[order].reshape(n * j, k)
    avail_rows = np.asarray(avail, dtype=bool)[order].reshape(n * j)
    rows = np.where(avail_rows[:, None], rows, 0.0)
    packed: tuple[np.ndarray, np.ndarray] | None = None
    for dtype in (np.int8, np.int16):
        limit = int(np.iinfo(dtype).max)
        found = [_column_code(rows[:, c], limit) for c in range(k)]
        if all(f is not None for f in found):
            step = np.array([f[0] for f in found if f is not None])
            codes = np.stack([f[1] for f in found if f is not None]).astype(dtype)
            packed = (np.ascontiguousarray(codes), step)
            break
    if packed is None:
        packed = (np.ascontiguousarray(rows.T), np.ones(k))
    ptr = np.searchsorted(resp[order], np.arange(n_respondents + 1)).astype(np.int64)
    return PackedDesign(
        codes=packed[0],
        step=packed[1],
        ptr=ptr,
        y=np.asarray(y, dtype=np.int64)[order],
        mask=avail_rows.astype(np.float64),
        order=order,
    )


#: the code dtypes :func:`pack_design` picks, in the order the Ops take them
WIDTHS = (np.int8, np.int16, np.float64)


def codes_by_width(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three code arrays the likelihood Op takes, one per width of :data:`WIDTHS`: ``codes``
    in the slot of its dtype, (k, 0) arrays in the others. The compiled model then does not
    depend on the width its study's design packs to (issue 19 item 1): the kernel uses the
    non-empty one."""
    codes = np.asarray(codes)
    k = codes.shape[0]
    if codes.dtype not in [np.dtype(w) for w in WIDTHS]:
        codes = codes.astype(np.float64)
    out = tuple(
        np.ascontiguousarray(codes) if codes.dtype == w else np.zeros((k, 0), dtype=w)
        for w in WIDTHS
    )
    return out[0], out[1], out[2]


def _one_width(c8: np.ndarray, c16: np.ndarray, c64: np.ndarray) -> np.ndarray:
    """The code array in use of :func:`codes_by_width`'s three (float64 when all are empty)."""
    for c in (c8, c16):
        if c.shape[1] > 0:
            return c
    return c64


def _np_rows(codes: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense rows (n_obs * n_alts, k) and the respondent of every observation."""
    obs_resp = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    return codes.T.astype(float), obs_resp


class MNLBetaLogLik(Op):
    """``(beta, c8, c16, c64, ptr, y, mask) -> (log-likelihood, probabilities)``: with
    ``codes`` the one of ``c8, c16, c64`` in use (:func:`codes_by_width`), the utility of row
    ``t * J + a`` is ``codes[:, row] @ beta[r]`` for the respondent ``r`` owning observation
    ``t``; probabilities are flat (n_obs * J). The gradient in ``beta`` is
    ``sum_rows codes[:, row] (onehot - p)[row]`` per respondent."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # beta, c8, c16, c64, ptr, y, mask
        ins = [pt.as_tensor_variable(v) for v in inputs]
        return Apply(self, ins, [pt.dscalar(), pt.dvector()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        beta, c8, c16, c64, ptr, y, mask = inputs
        codes = _one_width(c8, c16, c64)
        rows, obs_resp = _np_rows(codes, ptr)
        n = len(y)
        j = mask.size // n
        util = (rows.reshape(n, j, -1) * beta[obs_resp][:, None, :]).sum(axis=2)
        avail = mask.reshape(n, j) > 0
        u = np.where(avail, util, -np.inf)
        m = u.max(axis=1, keepdims=True)
        e = np.where(avail, np.exp(u - m), 0.0)
        s = e.sum(axis=1)
        chosen = (u - m)[np.arange(n), y]
        outputs[0][0] = np.asarray(float((chosen - np.log(s)).sum()))
        outputs[1][0] = (e / s[:, None]).ravel()

    def pullback(self, inputs: Any, outputs: Any, output_grads: Any) -> list[Any]:
        beta, c8, c16, c64, ptr, y, mask = inputs
        _, p = outputs
        g_ll, g_p = output_grads
        if not isinstance(g_p.type, DisconnectedType):
            raise NotImplementedError(
                "MNLBetaLogLik: only the log-likelihood can be differentiated"
            )
        return [
            mnl_beta_grad(beta, p, c8, c16, c64, ptr, y, g_ll),
            *[DisconnectedType()() for _ in range(6)],
        ]

    def connection_pattern(self, node: Any) -> list[list[bool]]:
        return [[True, False]] + [[False, False]] * 6


class MNLBetaGrad(Op):
    """``(beta, p, c8, c16, c64, ptr, y, g) -> g * sum_rows codes[:, row] (onehot - p)[row]``
    per respondent (``codes`` the one in use, :func:`codes_by_width`)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # beta, p, c8, c16, c64, ptr, y, g
        ins = [pt.as_tensor_variable(v) for v in inputs]
        return Apply(self, ins, [pt.dmatrix()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        beta, p, c8, c16, c64, ptr, y, g = inputs
        codes = _one_width(c8, c16, c64)
        rows, obs_resp = _np_rows(codes, ptr)
        n = len(y)
        j = p.size // n
        w = -p.reshape(n, j).copy()
        w[np.arange(n), y] += 1.0
        per_obs = np.einsum("ijk,ij->ik", rows.reshape(n, j, -1), w) * g
        out = np.zeros_like(beta)
        np.add.at(out, obs_resp, per_obs)
        outputs[0][0] = out


_beta_op = MNLBetaLogLik()
mnl_beta_grad = MNLBetaGrad()


def mnl_beta_loglik(beta: Any, codes: Any, ptr: Any, y: Any, mask: Any) -> Any:
    """Summed chosen log-probabilities (a scalar) of a :class:`PackedDesign`'s observations
    with utilities ``codes[:, row] @ beta[r]``: pass ``beta * step`` to get the design's own
    utilities. ``codes`` is a code array or :func:`codes_by_width`'s three (what a model
    shared by every width passes, as tensors); the arrays may be NumPy arrays or (shared)
    tensors."""
    if isinstance(codes, (tuple, list)):
        c8, c16, c64 = codes
    else:
        c8, c16, c64 = codes_by_width(codes)
    outs = _beta_op(beta, c8, c16, c64, ptr, y, mask)
    assert isinstance(outs, list)
    return outs[0]


class PackedCholMatMul(Op):
    """``(z, packed) -> z @ L.T`` with ``L`` the lower triangle packed row by row
    (``np.tril_indices`` order, as PyMC's ``LKJCholeskyCov`` stores it).

    PyTensor's own graph for this product differentiates ``L[tril]`` by gathering a
    (n_packed, n_respondents) array, which at 2,000 respondents x 20 parameters cost more than
    two matrix products; the gradient here is ``(G @ L, (G.T @ z)[tril])``.
    """

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # z, packed
        z, packed = (pt.as_tensor_variable(v) for v in inputs)
        return Apply(self, [z, packed], [pt.dmatrix()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        z, packed = inputs
        outputs[0][0] = z @ _np_tril(packed, z.shape[1]).T

    def pullback(self, inputs: Any, outputs: Any, output_grads: Any) -> list[Any]:
        z, packed = inputs
        outs = _chol_matmul_grad(z, packed, output_grads[0])
        assert isinstance(outs, list)
        return outs


class PackedCholMatMulGrad(Op):
    """``(z, packed, G) -> (G @ L, (G.T @ z)[tril])``."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # z, packed, G
        ins = [pt.as_tensor_variable(v) for v in inputs]
        return Apply(self, ins, [pt.dmatrix(), pt.dvector()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        z, packed, g = inputs
        k = z.shape[1]
        rows, cols = np.tril_indices(k)
        outputs[0][0] = g @ _np_tril(packed, k)
        outputs[1][0] = (g.T @ z)[rows, cols]


def _np_tril(packed: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, k))
    out[np.tril_indices(k)] = packed
    return out


_chol_matmul = PackedCholMatMul()
_chol_matmul_grad = PackedCholMatMulGrad()


def packed_chol_matmul(z: Any, packed: Any) -> Any:
    """``z @ L.T`` for ``L`` given packed (lower triangle, row by row)."""
    return _chol_matmul(z, packed)


# the Ops' numba implementations (analysis/_kernels_numba.py), registered as this module loads
_register_numba(MNLBetaLogLik, MNLBetaGrad, PackedCholMatMul, PackedCholMatMulGrad)
