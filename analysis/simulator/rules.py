"""The choice rules: utilities of a market's alternatives turned into choice probabilities.

``logit`` (share of preference with the market's exponent), ``first_choice`` (ties split) and
``rfc`` (randomized first choice: level errors shared by the products with that level, optional
product errors), for every posterior draw and respondent; :func:`choice_probabilities` applies a
market's rule and :func:`logit_probabilities` is the logit rule on any utilities.
:func:`variant_share_draws` gives the weighted shares of many variants of a market (one product
replaced by each) in one pass, under every rule. Randomized first choice runs in the numba
kernels of :mod:`~analysis.simulator._kernels`, whose errors are a function of the seed, the
draw, the respondent, the error draw and the level (or product name): the same for every
variant and every market with the same seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from analysis.simulator.draws import PartWorthDraws
from analysis.simulator.market import NONE, Market, Product, encode_products
from winback.errors import ParameterError, WinbackError, list_valid

__all__ = ["choice_probabilities", "logit_probabilities", "utilities", "variant_share_draws"]


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


def _f64(a: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 array (a copy only of a float32 or strided chunk of draws)."""
    return np.ascontiguousarray(a, dtype=np.float64)


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


def _seed_keys(random_seed: int, names: Sequence[str]) -> tuple[np.uint64, np.ndarray]:
    """The level-error stream's key and one Gumbel stream key per alternative (by name)."""
    if (
        isinstance(random_seed, bool)
        or not isinstance(random_seed, int | np.integer)
        or random_seed < 0
    ):
        raise ParameterError(f"random_seed must be a non-negative integer, got {random_seed!r}.")
    seed = int(random_seed)
    key = np.random.SeedSequence(seed, spawn_key=(0,)).generate_state(1, np.uint64)[0]
    gkeys = np.array(
        [
            np.random.SeedSequence(seed, spawn_key=(1, _name_code(n))).generate_state(1, np.uint64)[
                0
            ]
            for n in names
        ],
        dtype=np.uint64,
    )
    return key, gkeys


def _name_code(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def _variant_rows(
    draws: PartWorthDraws, market: Market, variants: Sequence[Product | None]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Rows (base alternatives, then variants), their level loadings, slot and row per variant."""
    study = draws.study
    x, member = encode_products(study, market.products, extrapolate=market.extrapolate)
    alts = market.names
    if market.none:
        names = list(draws.names)
        if NONE not in names:
            raise WinbackError("The market includes none, but the model has no none constant.")
        row = np.zeros((1, x.shape[1]))
        row[0, names.index(NONE)] = 1.0
        x = np.vstack([x, row])
        member = np.vstack([member, np.zeros((1, member.shape[1]))])
        alts = [*alts, NONE]
    changed = [v for v in variants if v is not None]
    slot = np.full(len(variants), -1, dtype=np.int64)
    vrow = np.zeros(len(variants), dtype=np.int64)
    if changed:
        xv, mv = encode_products(study, changed, extrapolate=market.extrapolate)
        x, member = np.vstack([x, xv]), np.vstack([member, mv])
    i = len(alts)
    for c, v in enumerate(variants):
        if v is None:
            continue
        if v.name not in market.names:
            raise WinbackError(
                f"A variant replaces a product of the market; '{v.name}' is not one of "
                f"{list_valid(market.names)}."
            )
        slot[c] = market.names.index(v.name)
        vrow[c] = i
        i += 1
    return np.ascontiguousarray(x), member, slot, vrow, alts


def _rfc_arrays(
    market: Market,
    member: np.ndarray,
    slot: np.ndarray,
    vrow: np.ndarray,
    alts: list[str],
    random_seed: int,
) -> dict[str, Any]:
    """The kernel's loadings (a variant row's minus those of the row it replaces), keys, sizes."""
    used = np.flatnonzero(np.any(member != 0, axis=0)).astype(np.int64)
    member = member.copy()
    changed = slot >= 0
    member[vrow[changed]] -= member[slot[changed]]
    rows, cols = np.nonzero(member)
    ptr = np.searchsorted(rows, np.arange(member.shape[0] + 1)).astype(np.int64)
    rfc = market.rule == "rfc"  # otherwise first choice: no errors, no seed
    key, gkeys = (
        _seed_keys(random_seed, alts) if rfc else (np.uint64(0), np.zeros(len(alts), np.uint64))
    )
    return {
        "ptr": ptr,
        "lev": cols.astype(np.int64),
        "wt": member[rows, cols].astype(float),
        "used": used,
        "key": key,
        "gkeys": gkeys,
        "n_levels": int(member.shape[1]),
        "k_draws": int(market.rfc_draws) if rfc else 1,
        "av": float(market.attribute_variability) if rfc else 0.0,
        "pv": float(market.product_variability) if rfc else 0.0,
    }


def _rfc_kernel(
    beta: np.ndarray,
    x: np.ndarray,
    slot: np.ndarray,
    vrow: np.ndarray,
    n_base: int,
    a: dict[str, Any],
    w: np.ndarray,
    per_resp: bool,
    offset: int = 0,
) -> np.ndarray:
    """The rfc kernel over ``beta`` in threads; ``offset``: the index of its first draw among
    all the draws (the errors are a function of it)."""
    # lazy: numba (about 0.4 s to import) loads when a market is simulated, not with the stage
    from analysis.simulator._kernels import in_threads, rfc_variants

    w = np.ascontiguousarray(w, dtype=float)
    return in_threads(
        beta.shape[0],
        lambda s0, s1: rfc_variants(
            _f64(beta[s0:s1]),
            s0 + offset,
            x,
            a["ptr"],
            a["lev"],
            a["wt"],
            a["used"],
            slot,
            vrow,
            n_base,
            a["key"],
            a["gkeys"],
            a["n_levels"],
            a["k_draws"],
            a["av"],
            a["pv"],
            w,
            per_resp,
        ),
    )


def variant_share_draws(
    draws: PartWorthDraws,
    market: Market,
    variants: Sequence[Product | None],
    weights: np.ndarray,
    *,
    random_seed: int = 1,
) -> np.ndarray:
    """The weighted shares of every variant of a market, per posterior draw, in one pass.

    A variant is a product replacing the market's product of the same name (the same offer at
    another price, a changed offer), or None for the market as it is. Utilities of the products
    a variant leaves alone are computed once per draw and respondent; under randomized first
    choice every variant sees the same errors (common random numbers), which are the errors
    :func:`choice_probabilities` draws for the market with the same seed.

    Parameters
    ----------
    draws : PartWorthDraws
    market : Market
    variants : sequence of Product or None
    weights : ndarray, shape (respondent,)
        Respondent weights adding up to one (:func:`~analysis.simulator.respondent_weights`).
    random_seed : int
        For randomized first choice.

    Returns
    -------
    ndarray, shape (variant, sample, alternative)
        Weighted shares of the products (market order), then none.

    Examples
    --------
    >>> cheaper = replace(product, levels={**product.levels, "price": 45.0})  # doctest: +SKIP
    >>> variant_share_draws(draws, market, [None, cheaper], w)[:, :, 0].mean(axis=1)  # doctest: +SKIP
    array([0.31, 0.38])
    """
    # lazy: numba (about 0.4 s to import) loads when a market is simulated, not with the stage
    from analysis.simulator._kernels import in_threads, logit_variants

    x, member, slot, vrow, alts = _variant_rows(draws, market, variants)
    w = np.ascontiguousarray(weights, dtype=float)
    if market.rule == "logit":
        beta = draws.beta
        out = in_threads(
            beta.shape[0],
            lambda s0, s1: logit_variants(
                _f64(beta[s0:s1]), x, slot, vrow, len(alts), market.exponent, w
            ),
        )
    else:
        a = _rfc_arrays(market, member, slot, vrow, alts, random_seed)
        out = _rfc_kernel(draws.beta, x, slot, vrow, len(alts), a, w, False)[:, 0]
    return np.moveaxis(out, 1, 0)


def _rfc(draws: PartWorthDraws, market: Market, random_seed: int, sl: slice) -> np.ndarray:
    """Randomized first choice: mean over ``rfc_draws`` error draws of first-choice shares."""
    x, member, slot, vrow, alts = _variant_rows(draws, market, [None])
    a = _rfc_arrays(market, member, slot, vrow, alts, random_seed)
    ones = np.ones(draws.n_respondents)
    beta = draws.beta[sl]
    return _rfc_kernel(beta, x, slot, vrow, len(alts), a, ones, True, sl.start)[:, :, 0]


def choice_probabilities(
    draws: PartWorthDraws,
    market: Market,
    *,
    random_seed: int = 1,
    samples: slice | None = None,
) -> np.ndarray:
    """(sample, respondent, alternative) choice probabilities: products, then none.

    ``samples``: only these draws (a slice with a step of one), with the same probabilities
    (randomized first choice: the same errors) as in the result for all the draws.
    """
    start, stop, step = (samples or slice(None)).indices(draws.n_samples)
    if step != 1:
        raise WinbackError(f"samples must be a slice with step 1, got {samples}.")
    sl = slice(start, stop)
    if market.rule == "rfc":
        return _rfc(draws, market, random_seed, sl)
    if (sl.start, sl.stop) != (0, draws.n_samples):
        draws = replace(draws, beta=draws.beta[sl])
    x, _ = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    u = utilities(draws, x, none=market.none)
    if market.rule == "first_choice":
        return _first_choice(u)
    return _logit(u, market.exponent)
