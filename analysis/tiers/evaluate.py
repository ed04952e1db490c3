"""Evaluating every tier menu at individual draws: exp-utility tables and a numba kernel.

A menu is evaluated the way the simulator's logit rule evaluates it: one logit per respondent
and posterior draw, the objective averaged over both. Nothing is averaged before the logit: at
point estimates (the posterior mean part-worths, one logit per respondent) a respondent whose
draws disagree looks like one lukewarm customer, and the logit's independence of irrelevant
alternatives then rewards a near-duplicate tier (each copy collects its own share of the error
term). With the draws, the respondents and draws that want a tier are the ones it wins.

In one (draw, respondent) pair a tier's exp-utility is ``exp(e * feature-set utility) x
exp(e * price utility)``; the rest of the market (competitors, our other products, none) is a
fixed denominator. The kernel sums ``weight x (others' numerator + sum_t e_t m_t) / (denominator
+ sum_t e_t)`` over the pairs for every nesting x price ladder, in blocks of pairs that stay in
cache, making the lower tiers' sums once for all the menus that share them; the draws go through
in chunks whose tables stay below a memory budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.offers.assembly import rest_utilities, value_utilities
from analysis.offers.evaluate import chunks
from analysis.offers.objectives import other_own_numerators
from analysis.simulator import Market, PartWorthDraws
from winback.errors import WinbackError
from winback.study import Attribute

__all__ = ["menu_values", "thin_draws"]


def _sort_menus(
    nestings: np.ndarray, ladders: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nestings sorted by their lower tiers, with the groups sharing them, and the ladders
    split into lower prices and top price: ``(sort order, nestings, groups, prefixes,
    ladder_prefix, ladder_last)`` as :func:`analysis.tiers._kernels.menu_kernel` takes them."""
    n_t = nestings.shape[1]
    order = np.lexsort(nestings.T[::-1])
    nest = nestings[order]
    keys = nest[:, :-1]
    new = np.ones(len(nest), dtype=bool)
    if len(nest) > 1:
        new[1:] = (keys[1:] != keys[:-1]).any(axis=1) if n_t > 1 else False
    groups = np.append(np.flatnonzero(new), len(nest)).astype(np.int64)
    prefixes: np.ndarray = np.zeros((1, 0), dtype=np.int64)  # one tier: no lower prices
    ladder_prefix: np.ndarray = np.zeros(len(ladders), dtype=np.int64)
    if n_t > 1:
        prefixes, ladder_prefix = np.unique(ladders[:, :-1], axis=0, return_inverse=True)
    return (
        order,
        np.ascontiguousarray(nest, dtype=np.int64),
        groups,
        np.ascontiguousarray(prefixes, dtype=np.int64).reshape(len(prefixes), n_t - 1),
        np.ascontiguousarray(ladder_prefix.ravel(), dtype=np.int64),
        np.ascontiguousarray(ladders[:, -1], dtype=np.int64),
    )


def thin_draws(draws: PartWorthDraws, n_draws: int | None) -> PartWorthDraws:
    """``n_draws`` evenly spaced posterior draws (all of them for None or more than there are).

    Examples
    --------
    >>> thin_draws(draws, 100).n_samples  # doctest: +SKIP
    100
    """
    if n_draws is None:
        return draws
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise WinbackError(
            f"n_draws must be a positive whole number (or None for every draw), got {n_draws!r}."
        )
    if n_draws >= draws.n_samples:
        return draws
    idx = np.linspace(0, draws.n_samples - 1, n_draws).round().astype(int)
    return PartWorthDraws(
        draws.study, draws.names, draws.beta[idx], draws.respondent_ids, draws.respondents
    )


def menu_values(
    draws: PartWorthDraws,
    market: Market,
    *,
    rows: np.ndarray,
    price_attr: Attribute,
    grid: np.ndarray,
    margin: np.ndarray,
    objective: str,
    exclude: Sequence[str],
    nestings: np.ndarray,
    ladders: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """The objective of every menu (nesting x price ladder), averaged over draws and respondents.

    Parameters
    ----------
    draws : PartWorthDraws
        Every (draw, respondent) pair is one logit.
    market : Market
        Without the tiers; ``exclude`` (the product the tiers replace) is left out.
    rows : ndarray, shape (F, P)
        Design rows of the feature sets, without the price attribute.
    price_attr : Attribute
    grid : ndarray, shape (K,)
        Prices.
    margin : ndarray, shape (F, K)
        What one customer of a tier brings: 1 (share), the price (revenue), price - unit cost
        (profit).
    objective : {"share", "revenue", "profit"}
        Which of our other products' terms count.
    exclude : sequence of str
    nestings : ndarray, shape (N, T)
        Feature-set index of every tier.
    ladders : ndarray, shape (L, T)
        Grid index of every tier's price.
    weights : ndarray, shape (R,)
        Respondent weights adding up to one.

    Returns
    -------
    ndarray, shape (N, L)
        Per lost customer, as the simulator's logit rule at these draws would give it.
    """
    study = draws.study
    e = market.exponent
    n_s, n_r = draws.n_samples, draws.n_respondents
    n_f, n_k = rows.shape[0], len(grid)
    out = np.zeros((nestings.shape[0], ladders.shape[0]))
    order, nest, groups, prefixes, ladder_prefix, ladder_last = _sort_menus(nestings, ladders)
    margin = np.ascontiguousarray(margin, dtype=float)
    per_sample = (3 * n_f + 2 * n_k + len(market.products) + 8) * n_r * 8.0
    for sl in chunks(n_s, per_sample):
        beta = draws.beta[sl]
        uf = beta @ rows.T  # (S, R, F)
        up = value_utilities(beta, study, price_attr, grid, market.extrapolate)  # (S, R, K)
        u_rest, _, kept = rest_utilities(beta, draws, market, exclude)
        fmax, pmax = uf.max(axis=-1), up.max(axis=-1)
        shift = np.maximum(fmax + pmax, u_rest.max(axis=-1, initial=-np.inf))
        ef = np.exp(e * (uf - fmax[..., None])).reshape(-1, n_f).T
        ep = np.exp(e * (up - pmax[..., None] + (fmax + pmax - shift)[..., None]))
        ep = ep.reshape(-1, n_k).T
        exp_rest = np.exp(np.minimum(e * (u_rest - shift[..., None]), 700.0))
        denom = exp_rest.sum(axis=-1).ravel()
        others = other_own_numerators(study, kept, exp_rest, market.extrapolate)
        num = {
            "share": others[0],
            "revenue": others[1],
            "profit": others[1] - others[2],
        }[objective].ravel()
        w = np.tile(weights, beta.shape[0]) / n_s
        # lazy: numba (about 0.4 s to import) loads when a search runs, not with the command's stage
        from analysis.tiers._kernels import menu_kernel

        menu_kernel(
            np.ascontiguousarray(ef),
            np.ascontiguousarray(ep),
            margin,
            nest,
            groups,
            prefixes,
            ladder_prefix,
            ladder_last,
            np.ascontiguousarray(denom),
            np.ascontiguousarray(num),
            np.ascontiguousarray(w),
            out,
        )
    values = np.empty_like(out)
    values[order] = out
    return values
