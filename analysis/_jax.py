"""JAX implementations of the HB model's own PyTensor Ops, for ``backend="jax"``.

:func:`analysis.hb.build_model` uses four Ops of its own (:mod:`analysis._kernels`,
:mod:`analysis._constrain`) whose numba kernels serve the default backend. Importing this
module registers their JAX implementations with PyTensor's ``jax_funcify``, so that nutpie's
JAX backend (``nutpie.compile_pymc_model(model, backend="jax")``) can compile the same model
for XLA (CPU, or a GPU when jax finds one). The implementations are plain ``jax.numpy``: dense
where the numba kernels stream (the utilities of all observations at once, a masked
``logsumexp``), which is what an accelerator wants; differentiable by JAX, so the gradient can
be JAX's own (``gradient_backend="jax"``) or PyTensor's through the gradient Ops below.

Importing this module needs jax (``pip install "winback[jax]"``); :func:`analysis.hb.require_jax`
checks for it without importing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytensor
from pytensor.link.jax.dispatch import jax_funcify

from analysis._constrain import ConstrainColumns, ConstrainColumnsGrad
from analysis._kernels import (
    MNLBetaGrad,
    MNLBetaLogLik,
    PackedCholMatMul,
    PackedCholMatMulGrad,
)

__all__: list[str] = []  # importing registers the implementations


def _persistent_cache() -> None:
    """XLA's compiled code kept across processes: in ``<base_compiledir>/jax`` (PyTensor's
    compilation directory, ``~/.pytensor`` by default), unless the user chose a folder
    (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``). A rerun of a study compiled before loads
    its executables instead of compiling them (docs/analysis.md, "Backends")."""
    if jax.config.jax_compilation_cache_dir is None and not os.environ.get(
        "JAX_COMPILATION_CACHE_DIR"
    ):
        folder = Path(pytensor.config.base_compiledir) / "jax"
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


_persistent_cache()


def _layout(codes: Any, ptr: Any, y: Any, mask: Any) -> tuple[Any, Any, Any, int, int]:
    """``(x, resp, avail, n, j)``: the design as (n_obs, n_alts, k) floats, each
    observation's respondent and the availability (n_obs, n_alts)."""
    n = y.shape[0]
    j = mask.shape[0] // n
    x = codes.T.reshape(n, j, codes.shape[0]).astype(jnp.float64)
    resp = jnp.searchsorted(ptr, jnp.arange(n), side="right") - 1
    return x, resp, mask.reshape(n, j) > 0, n, j


def _in_use(c8: Any, c16: Any, c64: Any) -> Any:
    """The code array in use (``analysis._kernels.codes_by_width``; shapes are static here)."""
    for c in (c8, c16):
        if c.shape[1] > 0:
            return c
    return c64


@jax_funcify.register(MNLBetaLogLik)
def _funcify_loglik(op: Any, node: Any = None, **kw: Any) -> Any:
    def loglik(
        beta: Any, c8: Any, c16: Any, c64: Any, ptr: Any, y: Any, mask: Any
    ) -> tuple[Any, Any]:
        codes = _in_use(c8, c16, c64)
        x, resp, avail, n, _ = _layout(codes, ptr, y, mask)
        u = jnp.einsum("njk,nk->nj", x, beta[resp])
        u = jnp.where(avail, u, -jnp.inf)
        lse = jax.nn.logsumexp(u, axis=1)
        chosen = jnp.take_along_axis(u, y[:, None], axis=1)[:, 0]
        p = jnp.where(avail, jnp.exp(u - lse[:, None]), 0.0)
        return jnp.sum(chosen - lse), p.reshape(-1)

    return loglik


@jax_funcify.register(MNLBetaGrad)
def _funcify_loglik_grad(op: Any, node: Any = None, **kw: Any) -> Any:
    def grad(beta: Any, p: Any, c8: Any, c16: Any, c64: Any, ptr: Any, y: Any, g: Any) -> Any:
        codes = _in_use(c8, c16, c64)
        x, resp, _, n, j = _layout(codes, ptr, y, p)
        w = -p.reshape(n, j)
        w = w.at[jnp.arange(n), y].add(1.0)
        per_obs = jnp.einsum("njk,nj->nk", x, w) * g
        return jax.ops.segment_sum(per_obs, resp, num_segments=beta.shape[0])

    return grad


def _tril(packed: Any, k: int) -> Any:
    rows, cols = np.tril_indices(k)
    return jnp.zeros((k, k), dtype=packed.dtype).at[rows, cols].set(packed)


@jax_funcify.register(PackedCholMatMul)
def _funcify_chol(op: Any, node: Any = None, **kw: Any) -> Any:
    def chol_matmul(z: Any, packed: Any) -> Any:
        return z @ _tril(packed, z.shape[1]).T

    return chol_matmul


@jax_funcify.register(PackedCholMatMulGrad)
def _funcify_chol_grad(op: Any, node: Any = None, **kw: Any) -> Any:
    def chol_matmul_grad(z: Any, packed: Any, g: Any) -> tuple[Any, Any]:
        k = z.shape[1]
        rows, cols = np.tril_indices(k)
        return g @ _tril(packed, k), (g.T @ z)[rows, cols]

    return chol_matmul_grad


@jax_funcify.register(ConstrainColumns)
def _funcify_constrain(op: Any, node: Any = None, **kw: Any) -> Any:
    def constrain(theta: Any, sign: Any, prev: Any) -> Any:
        # column by column (k is small): free columns pass through; exp only of constrained
        # ones (an exp of a free column could overflow and poison the gradient through where)
        out = theta
        for c in range(theta.shape[1]):
            s, pc = sign[c], prev[c]
            e = s * jnp.exp(jnp.where(s != 0.0, theta[:, c], 0.0))
            base = jnp.where(pc >= 0, out[:, jnp.maximum(pc, 0)], 0.0)
            out = out.at[:, c].set(jnp.where(s != 0.0, base + e, theta[:, c]))
        return out

    return constrain


@jax_funcify.register(ConstrainColumnsGrad)
def _funcify_constrain_grad(op: Any, node: Any = None, **kw: Any) -> Any:
    def constrain_grad(theta: Any, sign: Any, prev: Any, g: Any) -> Any:
        acc = g
        for c in range(theta.shape[1] - 1, -1, -1):  # each column's sum over its later levels
            pc = prev[c]
            add = jnp.where((sign[c] != 0.0) & (pc >= 0), acc[:, c], 0.0)
            acc = acc.at[:, jnp.maximum(pc, 0)].add(add)
        on = sign != 0.0
        return jnp.where(on, acc * sign * jnp.exp(jnp.where(on, theta, 0.0)), acc)

    return constrain_grad
