"""The none constant sampled against the average alternative, with the prior kept exactly.

The none alternative's row holds only the none column, so its constant is measured against an
alternative whose every code is zero: the reference levels at a price of 0. With a linear price
of 20-40 the none constant, the price slope and the reference-level dummies are then almost one
direction of the posterior, and the population sd of the none constant mixes slowest of all
(benchmarks/RESULTS.md, "HB at scale"). The sampler therefore works in the coordinates

    theta' = A theta,   A = I - e_none w^T,   w = scale[none] * m   (w_none = 0, det A = 1)

with ``m`` each scaled column's mean over the designed alternatives shown: ``theta'_none``
is the none constant less the utility of the average alternative. ``w`` is zero on the none
column, on the columns after it (the status quo's constant) and on sign- or order-constrained
columns (log scale); a study without none has ``w = 0`` and ``A = I``.

Only the population parameters change coordinates; the prior stays the model's own:

- ``mu' = A mu``: the free variable carries the model's prior for ``mu``, and a potential adds
  ``log p(A^-1 mu') - log p(mu')`` (``|det A| = 1``);
- ``L' = A L``: because ``w`` vanishes from the none column on, ``A L`` is lower triangular
  with the diagonal of ``L``, so it *is* the Cholesky factor of ``A Sigma A^T`` (no Cholesky
  decomposition in the graph) and the Jacobian of ``L -> L'`` is 1 (a shear of the none row).
  The free variable carries the LKJ / half-normal prior, and a potential adds
  ``log p(A^-1 L') - log p(L')``. (The general Jacobian, ``sum_i (K - i + 1)(log L'_ii -
  log L_ii)``, is zero since the diagonals agree.)
- the individuals need nothing: ``theta_i = A^-1 (mu' + L' z_i) = mu + L z_i``, so ``z`` and
  the likelihood are as before and ``theta_i | mu, Sigma ~ N(mu, Sigma)`` exactly.

:func:`unshift` turns draws of ``mu'`` and ``L'`` back into ``mu`` and ``L``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from analysis.data import ChoiceArrays

#: which population parameters are sampled shifted: "full" (mu and L), "mean" (mu only) or
#: "off" (w = 0: the model of old, with the shift's operations in the graph); for measurements
COORDINATES = "full"


def none_shift(
    x: np.ndarray,
    avail: np.ndarray,
    names: list[str],
    scale: np.ndarray,
    constrained: list[int],
) -> np.ndarray:
    """``w``: the none constant's shift per unit of each scaled column (zeros without none).

    Parameters
    ----------
    x : ndarray, shape (n_obs, n_alts, n_parameters)
        Design rows on the original scale.
    avail : ndarray of bool, shape (n_obs, n_alts)
    names : list of str
        Parameter names; ``"none"`` marks the none column, ``"status_quo"`` the status quo's.
    scale : ndarray, shape (n_parameters,)
        The column scale of the model (``ChoiceArrays.column_scale``).
    constrained : list of int
        Sign- or order-constrained columns (on the log scale in the model: no shift).

    Examples
    --------
    >>> x = np.array([[[1.0, 20.0, 0.0], [0.0, 40.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> none_shift(x, np.ones((1, 3), bool), ["a", "price", "none"], np.ones(3), [])
    array([ 0.5, 30. ,  0. ])
    """
    k = len(names)
    if "none" not in names or COORDINATES == "off":
        return np.zeros(k)
    j = names.index("none")
    if j in constrained:
        return np.zeros(k)
    shown = avail & (x[..., j] == 0)
    if "status_quo" in names:
        shown &= x[..., names.index("status_quo")] == 0
    rows = x[shown] / scale
    w = scale[j] * rows.mean(axis=0) if len(rows) else np.zeros(k)
    w[j:] = 0.0
    w[constrained] = 0.0
    return w


def shift_graph(
    mu_free: Any, chol_free: Any, w: Any, none: Any, n: Any, *, w_chol: Any = None
) -> tuple[Any, Any]:
    """``mu`` and the packed ``L`` of the model from the free ``mu'`` and packed ``L'``
    (``chol_free`` None: only ``mu`` shifted), with the potential that keeps the prior exact
    (inside the model's context).

    ``w`` and ``none`` (the one-hot none column, zeros without none) are shared data of length
    ``n``, the number of parameters, so the compiled model serves every study of its family;
    ``w_chol`` (default ``w``) shifts the factor: zeros leave it as sampled (a diagonal
    covariance, whose off-diagonal entries are prior-only) in the same graph.
    """
    import pymc as pm
    import pytensor.tensor as pt

    mu = mu_free + none * pt.dot(w, mu_free)
    correction = pm.logp(mu_free, mu).sum() - pm.logp(mu_free, mu_free).sum()
    packed = chol_free
    if chol_free is not None and COORDINATES == "full":
        rows, cols = pt.tril_indices(n)
        # (w^T L')_j for every column j, then added to the none row's entries
        wl = w if w_chol is None else w_chol
        delta = pt.zeros(n, dtype=chol_free.dtype)[cols].inc(wl[rows] * chol_free)
        packed = chol_free + none[rows] * delta[cols]
        correction += pm.logp(chol_free, packed) - pm.logp(chol_free, chol_free)
    pm.Potential("none_shift_prior", correction)
    return mu, packed


def unshift(
    mu: np.ndarray, packed: np.ndarray | None, w: np.ndarray, none_index: int | None
) -> None:
    """Draws of ``mu'`` (..., K) and packed ``L'`` (..., K(K+1)/2) turned into ``mu`` and
    ``L`` in place (``packed`` None: a diagonal covariance)."""
    if none_index is None or not w.any():
        return
    mu[..., none_index] += mu @ w
    if packed is None or COORDINATES != "full":
        return
    k = mu.shape[-1]
    rows, cols = np.tril_indices(k)
    dense = np.zeros((*packed.shape[:-1], k, k))
    dense[..., rows, cols] = packed
    delta = np.einsum("k,...kj->...j", w, dense)
    start = none_index * (none_index + 1) // 2
    packed[..., start : start + none_index] += delta[..., :none_index]


def shift_vector(
    arrays: ChoiceArrays, plan: Sequence[tuple[list[int], Any]], scale: np.ndarray
) -> np.ndarray:
    """:func:`none_shift` of a study's choice arrays (``plan``: its constraint plan,
    :func:`analysis.hb.constraint_plan`)."""
    constrained = [i for idx, _ in plan for i in idx]
    return none_shift(arrays.x, arrays.avail, list(arrays.names), scale, constrained)


def model_coordinates(
    arrays: ChoiceArrays,
    plan: Sequence[tuple[list[int], Any]],
    scale: np.ndarray,
    mu: Any,
    packed_chol: Any,
    n: Any,
    data: Any,
    *,
    shift_chol: bool,
) -> tuple[Any, Any]:
    """``mu`` and the packed Cholesky factor of the model from the free variables sampled in
    the none-shifted coordinates (:func:`shift_graph`); ``w`` (for the factor: zeros unless
    ``shift_chol``) and the none column are shared data made by ``data(name, value)``, zeros
    for a study without none, so that every study shares the compiled model."""
    w = shift_vector(arrays, plan, scale)
    names = list(arrays.names)
    none = np.zeros(len(names))
    if "none" in names:
        none[names.index("none")] = 1.0
    return shift_graph(
        mu,
        packed_chol,
        data("none_shift_w", w),
        data("none_column", none),
        n,
        w_chol=data("none_shift_w_chol", w if shift_chol else np.zeros_like(w)),
    )
