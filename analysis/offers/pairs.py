"""Two own offers at once (Sawtooth's two-product search): :func:`optimize_offers`.

Every pair of candidates from one candidate space is evaluated at point estimates in a numba
kernel (only one triangle when neither product carries the status quo), and the best pairs are
listed with each product's share and the pair's joint share, revenue and profit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.offers.assembly import display_level, resolve_search, rest_utilities, value_utilities
from analysis.offers.objectives import other_own_numerators
from analysis.offers.space import _empty_message, make_space, space_levels
from analysis.simulator import Market, PartWorthDraws, Product, respondent_weights
from conjoint.encoding import make_encoding
from winback.errors import WinbackError, list_valid

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["OfferPairSearch", "optimize_offers"]


@dataclass
class OfferPairSearch:
    """Result of :func:`optimize_offers`: the best pairs of offers, at point estimates.

    ``offers`` has two rows per pair: ``rank, product``, one column per attribute, ``share``
    (that product's share), and the pair's ``joint_share, joint_revenue, joint_profit`` per lost
    customer (our other products included).
    """

    objective: str
    products: tuple[str, str]
    offers: pd.DataFrame
    n_pairs: int
    n_candidates: tuple[int, int]
    seconds: float

    def __repr__(self) -> str:
        lines = [
            f"OfferPairSearch: joint {self.objective} per lost customer of "
            f"{' + '.join(self.products)}; exhaustive over {self.n_pairs:,} pairs "
            f"({self.n_candidates[0]:,} x {self.n_candidates[1]:,} candidates) at point "
            f"estimates, {self.seconds:.2f} s"
        ]
        for rank, grp in self.offers.groupby("rank", sort=True):
            if int(str(rank)) > 5:
                break
            first = grp.iloc[0]
            lines.append(
                f"  {rank}. joint share {first['joint_share']:.1%}, revenue "
                f"{first['joint_revenue']:.3g}, profit {first['joint_profit']:.3g}"
            )
        return "\n".join(lines)


def optimize_offers(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    products: Sequence[str] | None = None,
    n_products: int = 2,
    objective: str | None = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    required: Mapping[str, Any] | None = None,
    excluded: Mapping[str, Any] | None = None,
    prices: Sequence[float] | None = None,
    price_floor: float | None = None,
    price_ceiling: float | None = None,
    respect_prohibitions: bool = True,
    top: int = 10,
    max_pairs: int = 20_000_000,
) -> OfferPairSearch:
    """Jointly search two own offers (every pair of candidates) at point estimates.

    Parameters
    ----------
    source, market, objective, weights, required, excluded, prices, price_floor, price_ceiling,
    respect_prohibitions
        As in :func:`optimize_offer` (constraints apply to both offers).
    products : sequence of str, optional
        The own products the two offers replace (default: the market's own products); when
        fewer than two are named, a new own product "New offer" is added.
    n_products : int
        Only 2 is supported.
    top : int
        Pairs listed.
    max_pairs : int
        A larger pair space is an error (narrow it with constraints).

    Returns
    -------
    OfferPairSearch

    Examples
    --------
    >>> from analysis.offers import optimize_offers
    >>> pairs = optimize_offers(model, market, objective="revenue")  # doctest: +SKIP
    >>> pairs.offers.head(4)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if n_products != 2:
        raise WinbackError(
            f"optimize_offers searches pairs: n_products must be 2, got {n_products}."
        )
    draws, mk, objective = resolve_search(source, market, objective, point=True)
    study = draws.study
    names = list(products) if products is not None else [p.name for p in mk.products if p.own]
    for n in names:
        mk.product(n)
    if len(names) > 2:
        raise WinbackError(f"Name at most two products to replace, got {list_valid(names)}.")
    if not names:
        raise WinbackError(
            f"The market has no own product; products: {list_valid(mk.names)}. Mark one own or "
            "name products=..."
        )
    slots = [mk.product(n) for n in names]
    if len(slots) == 1:
        new_name = "New offer"
        slots.append(Product(new_name, dict(slots[0].levels), own=True))
    w = respondent_weights(draws, weights)
    space = make_space(
        study,
        required=required,
        excluded=excluded,
        prices=prices,
        price_floor=price_floor,
        price_ceiling=price_ceiling,
        respect_prohibitions=respect_prohibitions,
        extrapolate=mk.extrapolate,
    )
    combos = space.combos()
    mask = space.feasible(combos)
    gi, ki = np.nonzero(mask)
    n_c = len(gi)
    if n_c == 0:
        raise WinbackError(_empty_message(space, None))
    if n_c * n_c > max_pairs:
        raise WinbackError(
            f"{n_c:,} x {n_c:,} candidate pairs exceed max_pairs={max_pairs:,}; narrow the "
            "search with required/excluded levels or fewer prices."
        )
    beta = draws.beta  # (1, R, K)
    enc = make_encoding(study)
    e = mk.exponent
    util = np.zeros((n_c, draws.n_respondents))
    for a_pos, a in enumerate(space.attrs):
        lu = beta[0] @ enc.tables[study.attributes.index(a)].T  # (R, L)
        util += lu[:, combos[gi, a_pos]].T
    pu = (
        value_utilities(beta, study, space.price_attr, space.prices, mk.extrapolate)[0]
        if space.price_attr is not None
        else np.zeros((draws.n_respondents, 1))
    )
    util += pu[:, ki].T
    u_rest, _, kept = rest_utilities(beta, draws, mk, [s.name for s in slots])
    util_sq = [
        beta[0, :, enc.sq_index] if (s.status_quo and enc.sq_index is not None) else 0.0
        for s in slots
    ]
    shift = np.maximum(
        util.max(axis=0) + max(np.max(u) for u in util_sq), u_rest[0].max(axis=-1, initial=-np.inf)
    )
    e1 = np.exp(e * (util + util_sq[0] - shift))
    e2 = np.exp(e * (util + util_sq[1] - shift))
    exp_rest = np.exp(np.minimum(e * (u_rest[0] - shift[:, None]), 700.0))
    denom = exp_rest.sum(axis=-1)
    others = other_own_numerators(study, kept, exp_rest[None, :, : len(kept)], mk.extrapolate)[:, 0]
    price = space.prices[ki] if space.price_attr is not None else np.zeros(n_c)
    cost = space.cost(combos[gi])
    margin, num = {
        "share": (np.ones(n_c), others[0]),
        "revenue": (price, others[1]),
        "profit": (price - cost, others[1] - others[2]),
    }[objective]
    # lazy: numba (about 0.4 s to import) loads when a search runs, not with the command's stage
    from analysis.offers._kernels import pair_kernel

    vals = pair_kernel(
        np.ascontiguousarray(e1),
        margin,
        np.ascontiguousarray(e2),
        margin,
        denom,
        num,
        w,
        not any(s.status_quo for s in slots),
    )
    flat = np.argsort(np.where(np.isnan(vals), np.inf, -vals), axis=None, kind="stable")[:top]
    rows = []
    for rank, f in enumerate(flat, start=1):
        i, j = np.unravel_index(int(f), vals.shape)
        ea, eb = e1[i], e2[j]
        inv = w / (ea + eb + denom)
        joint = {
            "share": float((inv * (ea + eb + others[0])).sum()),
            "revenue": float((inv * (ea * price[i] + eb * price[j] + others[1])).sum()),
            "profit": float(
                (
                    inv
                    * (
                        ea * (price[i] - cost[i])
                        + eb * (price[j] - cost[j])
                        + others[1]
                        - others[2]
                    )
                ).sum()
            )
            if study.costs is not None
            else float("nan"),
        }
        for slot, c, ev_ in ((slots[0], i, ea), (slots[1], j, eb)):
            levels = space_levels(space, slot, combos[gi[c]], int(ki[c]))
            row: dict[str, Any] = {"rank": rank, "product": slot.name}
            for a in study.attributes:
                row[a.name] = display_level(a, levels[a.name])
            row["share"] = float((inv * ev_).sum())
            row.update({f"joint_{k}": v for k, v in joint.items()})
            rows.append(row)
    return OfferPairSearch(
        objective=objective,
        products=(slots[0].name, slots[1].name),
        offers=pd.DataFrame(rows),
        n_pairs=n_c * n_c,
        n_candidates=(n_c, n_c),
        seconds=time.perf_counter() - t0,
    )
