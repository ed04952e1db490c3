"""Sign and order constraints of part-worth columns as data, for one compiled model family.

A constraint makes a column of ``theta`` (respondents x parameters) ``sign * exp(theta)``,
and an order constraint makes an attribute's levels the cumulative sums of ``exp(theta)`` of
its columns. Written with PyTensor's indexing, the constrained columns are constants of the
graph, so every set of constraints compiled a model of its own (15 s on a machine with a warm
cache). Here they are two data arrays of the :class:`ConstrainColumns` Op:

- ``sign`` (float64, one per column): 0 for a free column, +1 or -1 for a constrained one;
- ``prev`` (int64, one per column): the column whose cumulative sum column ``j`` continues
  (the previous level of an ordered attribute), or -1.

Column ``j`` is then ``theta[:, j]`` if free, else ``out[:, prev[j]] + sign[j] * exp(theta[:,
j])`` (``sign[j] * exp(theta[:, j])`` when ``prev[j] < 0``): exactly the floating-point
values of ``sign * cumsum(exp(theta[:, idx]))``, since negation is exact. The Op is always in
the model (a copy of ``theta`` when nothing is constrained).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from winback import _numba_cache

__all__ = ["constrain_columns", "constraint_arrays"]


def constraint_arrays(k: int, plan: Sequence[tuple[list[int], str]]) -> tuple[np.ndarray, ...]:
    """``(sign, prev)`` of :func:`analysis.hb.constraint_plan`'s ``plan`` for ``k`` columns."""
    sign = np.zeros(k)
    prev = np.full(k, -1, dtype=np.int64)
    for idx, kind in plan:
        if list(idx) != sorted(idx) or len(set(idx)) != len(idx):
            raise ValueError(f"constrained columns must be increasing, got {idx}")
        sign[idx] = -1.0 if kind in ("negative", "decreasing") else 1.0
        if kind in ("increasing", "decreasing"):
            prev[idx[1:]] = idx[:-1]
    return sign, prev


def _np_constrain(theta: np.ndarray, sign: np.ndarray, prev: np.ndarray) -> np.ndarray:
    out = np.array(theta, dtype=float, copy=True)
    for j in np.flatnonzero(sign != 0):
        e = sign[j] * np.exp(theta[:, j])
        out[:, j] = e if prev[j] < 0 else out[:, prev[j]] + e
    return out


def _np_constrain_grad(
    theta: np.ndarray, sign: np.ndarray, prev: np.ndarray, g: np.ndarray
) -> np.ndarray:
    acc = np.array(g, dtype=float, copy=True)
    for j in range(len(sign) - 1, -1, -1):  # each column's sum over its later levels
        if sign[j] != 0 and prev[j] >= 0:
            acc[:, prev[j]] += acc[:, j]
    on = sign != 0
    acc[:, on] *= sign[on] * np.exp(theta[:, on])
    return acc


class ConstrainColumns(Op):
    """``(theta, sign, prev) -> beta``: the constrained part-worths (module docstring)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # theta, sign, prev
        ins = [pt.as_tensor_variable(v) for v in inputs]
        return Apply(self, ins, [pt.dmatrix()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        outputs[0][0] = _np_constrain(*inputs)

    def pullback(self, inputs: Any, outputs: Any, output_grads: Any) -> list[Any]:
        theta, sign, prev = inputs
        return [
            _constrain_grad(theta, sign, prev, output_grads[0]),
            DisconnectedType()(),
            DisconnectedType()(),
        ]

    def connection_pattern(self, node: Any) -> list[list[bool]]:
        return [[True], [False], [False]]


class ConstrainColumnsGrad(Op):
    """``(theta, sign, prev, g) ->`` the gradient of ``sum(g * beta)`` in ``theta``."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # theta, sign, prev, g
        ins = [pt.as_tensor_variable(v) for v in inputs]
        return Apply(self, ins, [pt.dmatrix()])

    def perform(self, node: Any, inputs: Any, outputs: Any) -> None:
        outputs[0][0] = _np_constrain_grad(*inputs)


_constrain = ConstrainColumns()
_constrain_grad = ConstrainColumnsGrad()


def constrain_columns(theta: Any, sign: Any, prev: Any) -> Any:
    """The part-worths of ``theta`` under the constraints ``(sign, prev)`` of
    :func:`constraint_arrays` (NumPy arrays or shared tensors)."""
    return _constrain(theta, sign, prev)


_SOURCE_DIGEST = int(hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16], 16)


def _register() -> None:
    import numba

    _numba_cache.install()
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    @numba.njit(cache=True)
    def constrain(theta, sign, prev):  # pragma: no cover - compiled
        out = np.ascontiguousarray(theta).copy()
        n, k = out.shape
        for r in range(n):
            for j in range(k):
                s = sign[j]
                if s != 0.0:
                    e = s * np.exp(out[r, j])
                    out[r, j] = e if prev[j] < 0 else out[r, prev[j]] + e
        return out

    @numba.njit(cache=True)
    def constrain_grad(theta, sign, prev, g):  # pragma: no cover - compiled
        acc = np.ascontiguousarray(g).copy()
        n, k = acc.shape
        for r in range(n):
            for j in range(k - 1, -1, -1):
                s = sign[j]
                if s != 0.0:
                    if prev[j] >= 0:
                        acc[r, prev[j]] += acc[r, j]
                    acc[r, j] *= s * np.exp(theta[r, j])
        return acc

    # the integer salts PyTensor's cache key: the version plus a digest of this file, so that a
    # changed kernel never meets an old compiled one
    for op_class, kernel, salt in (
        (ConstrainColumns, constrain, 1),
        (ConstrainColumnsGrad, constrain_grad, 1),
    ):

        def funcify(op: Any, node: Any = None, kernel: Any = kernel, salt: int = salt, **kw: Any):
            return kernel, salt * 10**20 + _SOURCE_DIGEST

        register_funcify_default_op_cache_key(op_class)(funcify)


_register()
