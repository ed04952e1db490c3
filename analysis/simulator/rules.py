"""The choice rules: utilities of a market's alternatives turned into choice probabilities.

``logit`` (share of preference with the market's exponent), ``first_choice`` (ties split) and
``rfc`` (randomized first choice: level errors shared by the products with that level, optional
product errors), for every posterior draw and respondent; :func:`choice_probabilities` applies a
market's rule and :func:`logit_probabilities` is the logit rule on any utilities.
"""

from __future__ import annotations

import numpy as np

from analysis.simulator.draws import PartWorthDraws
from analysis.simulator.market import NONE, Market, encode_products
from winback.errors import WinbackError

__all__ = ["choice_probabilities", "logit_probabilities", "utilities"]


def utilities(draws: PartWorthDraws, x: np.ndarray, *, none: bool) -> np.ndarray:
    """(sample, respondent, alternative) utilities of the rows ``x`` (then none, if asked)."""
    if none:
        names = list(draws.names)
        if NONE not in names:
            raise WinbackError("The market includes none, but the model has no none constant.")
        row = np.zeros((1, x.shape[1]))
        row[0, names.index(NONE)] = 1.0
        x = np.vstack([x, row])  # none as one more row: one matrix product, no copy after
    return np.matmul(draws.beta, x.T)


def _logit(u: np.ndarray, exponent: float) -> np.ndarray:
    """Logit probabilities over the last axis, in place on one copy.

    One global shift is exact and avoids the slow maximum over the short alternative axis (the
    simulator's bottleneck), as long as no row lies so far below the top that all its terms
    underflow; otherwise every row is shifted by its own maximum.
    """
    v = np.multiply(u, exponent)
    top = v.max(initial=-np.inf)
    if top - v.min(initial=np.inf) < 600:
        v -= top
    else:
        v -= v.max(axis=-1, keepdims=True)
    np.exp(v, out=v)
    v /= v.sum(axis=-1, keepdims=True)
    return v


def logit_probabilities(u: np.ndarray, exponent: float = 1.0) -> np.ndarray:
    """Logit choice probabilities over the last axis (the simulator's logit rule).

    Examples
    --------
    >>> logit_probabilities(np.array([[1.0, 2.0]])).round(3).tolist()
    [[0.269, 0.731]]
    """
    return _logit(np.asarray(u, dtype=float), exponent)


def _first_choice(u: np.ndarray) -> np.ndarray:
    top = u >= u.max(axis=-1, keepdims=True) - 1e-12
    return top / top.sum(axis=-1, keepdims=True)


def _rfc(
    draws: PartWorthDraws,
    x: np.ndarray,
    member: np.ndarray,
    market: Market,
    rng: np.random.Generator,
) -> np.ndarray:
    """Randomized first choice: mean over ``rfc_draws`` error draws of first-choice shares."""
    base = utilities(draws, x, none=market.none)
    s, r, j = base.shape
    n_levels = member.shape[1]
    out = np.zeros_like(base)
    # level errors (sd = attribute_variability) enter a product through its level weights;
    # none has no levels, so it only gets product error
    mem = np.concatenate([member, np.zeros((1, n_levels))]) if market.none else member
    for _ in range(market.rfc_draws):
        u = base.copy()
        if market.attribute_variability > 0:
            eps = rng.normal(0.0, market.attribute_variability, size=(s, r, n_levels))
            u += eps @ mem.T
        if market.product_variability > 0:
            u += rng.gumbel(0.0, market.product_variability, size=(s, r, j))
        out += _first_choice(u)
    return out / market.rfc_draws


def choice_probabilities(
    draws: PartWorthDraws, market: Market, *, random_seed: int = 1
) -> np.ndarray:
    """(sample, respondent, alternative) choice probabilities: products, then none."""
    x, member = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    if market.rule == "rfc":
        return _rfc(draws, x, member, market, np.random.default_rng(random_seed))
    u = utilities(draws, x, none=market.none)
    if market.rule == "first_choice":
        return _first_choice(u)
    return _logit(u, market.exponent)
