"""The objectives of every offer search, per lost customer: share, revenue and profit.

``share`` is the probability that a lost customer takes one of our offers, ``revenue`` the sum
over our offers of share x price and ``profit`` the sum of share x (price - unit cost), unit cost
= ``[costs] base`` + the cost of every level. Our other products count in every objective (so an
offer that only cannibalises them does not look good): their exp-utility terms, the objective
from the offer's share and those terms, and our totals in a simulation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from analysis.simulator import Product, level_positions
from winback.settings import OBJECTIVES, check_objective
from winback.study import Attribute, Study

__all__ = [
    "OBJECTIVES",
    "Objective",
    "check_objective",
    "level_costs",
    "objective_from_parts",
    "other_own_numerators",
    "price_of",
    "simulation_objective",
    "unit_cost",
]


Objective = Literal["share", "revenue", "profit"]


def unit_cost(study: Study, levels: Mapping[str, Any], extrapolate: bool = False) -> float:
    """``[costs] base`` + the cost of every level (interpolated for numeric values); NaN without
    costs."""
    if study.costs is None:
        return float("nan")
    table = study.costs.as_dict()
    c = study.costs.base
    for attr in study.attributes:
        if attr.name not in table or attr.name == study.price_attribute:
            continue
        for i, w in level_positions(attr, levels[attr.name], extrapolate=extrapolate):
            c += w * table[attr.name][i]
    return float(c)


def level_costs(study: Study, attr: Attribute) -> np.ndarray:
    if study.costs is None or attr.name == study.price_attribute:
        return np.zeros(attr.n_levels)
    return np.asarray(study.costs.as_dict().get(attr.name, (0.0,) * attr.n_levels), dtype=float)


def price_of(study: Study, product: Product) -> float:
    if study.price_attribute is None:
        return float("nan")
    return float(product.levels[study.price_attribute])


def other_own_numerators(
    study: Study, kept: Sequence[Product], exp_rest: np.ndarray, extrapolate: bool
) -> np.ndarray:
    """(3, S, R) exp-utility sums of our other products: share, x price, x unit cost."""
    own = [i for i, p in enumerate(kept) if p.own]
    out = np.zeros((3, *exp_rest.shape[:2]))
    for i in own:
        p = kept[i]
        price = price_of(study, p)
        cost = unit_cost(study, p.levels, extrapolate) if study.costs is not None else 0.0
        out[0] += exp_rest[..., i]
        out[1] += exp_rest[..., i] * (0.0 if math.isnan(price) else price)
        out[2] += exp_rest[..., i] * cost
    return out


def objective_from_parts(
    objective: str, share: np.ndarray, others: np.ndarray | None, price: Any, cost: Any
) -> dict[str, np.ndarray]:
    """Our share, revenue and profit from the offer's share and the other-own terms."""
    qs, qr, qc = (
        (others[..., 0], others[..., 1], others[..., 2]) if others is not None else (0, 0, 0)
    )
    total = share + qs
    revenue = share * price + qr
    profit = share * (price - cost) + qr - qc
    return {"share": total, "revenue": revenue, "profit": profit}


def simulation_objective(sim: Any, study: Study, extrapolate: bool) -> dict[str, np.ndarray]:
    """Per-draw share, revenue and profit of our products in a Simulation."""
    s = sim.share_draws.shape[0]
    out = {k: np.zeros(s) for k in OBJECTIVES}
    for j, p in enumerate(sim.market.products):
        if not p.own:
            continue
        sh = sim.share_draws[:, j]
        price = price_of(study, p)
        cost = unit_cost(study, p.levels, extrapolate)
        out["share"] = out["share"] + sh
        out["revenue"] = out["revenue"] + sh * price
        out["profit"] = out["profit"] + sh * (price - cost)
    return out
