"""Building blocks of menus of our offers, shared by the tier search and unbundling.

The order of a feature's levels from "not included" upwards and the sequences of levels a
feature may take from the lowest tier up (what "more" means for tiers), the checks of the price
attribute, the features and their orders, the levels a menu starts from, one profile's design
row and whether the study prohibits it, price grids, a market with the menu's products added,
and the figures of a simulated menu (share, revenue and profit with bands, our other products'
totals, summary rows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.offers.assembly import get_attribute, own_product
from analysis.offers.objectives import unit_cost
from analysis.simulator import Market, Product, Simulation, level_positions, posterior_band
from conjoint.encoding import make_encoding, require_additive
from winback.errors import WinbackError, list_valid
from winback.study import Attribute, Study

__all__ = ["feature_order", "feature_sequences", "is_ordered"]


def feature_order(attr: Attribute) -> list[int]:
    """Level indices of a feature from "not included" (or least) upwards.

    The attribute's preference order (``increasing``: as listed, ``decreasing``: reversed); a
    numeric attribute without one by value, smallest first; any other attribute as listed (its
    first level is "not included", the others are not ordered among themselves: see
    :func:`feature_sequences`).

    Examples
    --------
    >>> from winback.study import Attribute
    >>> feature_order(Attribute("speed", ("fast", "slow"), preference="decreasing"))
    [1, 0]
    >>> feature_order(Attribute("data_gb", (50.0, 10.0, 100.0)))
    [1, 0, 2]
    """
    idx = list(range(attr.n_levels))
    if attr.preference == "decreasing":
        return idx[::-1]
    if attr.preference is None and attr.numeric:
        return sorted(idx, key=lambda i: float(attr.levels[i]))
    return idx


def is_ordered(attr: Attribute) -> bool:
    """Whether the levels have a known order: a ``preference``, or numeric levels."""
    return attr.preference is not None or attr.numeric


def feature_sequences(
    attr: Attribute, n_tiers: int, order: Sequence[int] | None = None
) -> list[tuple[int, ...]]:
    """Every sequence of level indices a feature may take from the lowest tier up.

    A higher tier never has less of a feature than the tier below. An ordered attribute
    (:func:`is_ordered`) follows :func:`feature_order`: a higher tier has the same level or a
    later one. An attribute without an order (text levels, no ``preference``: TV packages,
    mobile plans) has its first level as "not included" and its other levels as components
    that are not comparable with each other: a higher tier keeps the level of the tier below, or
    adds the component (from the first level to any other); it never drops it or swaps it for
    another. ``order`` (level indices from least to most) makes any attribute ordered: what
    :func:`optimize_tiers`'s ``order`` gives for a listed order of content that is not a
    preference order (``"SIM 20 GB"`` < ``"SIM Unlimited"``).

    Examples
    --------
    >>> from winback.study import Attribute
    >>> feature_sequences(Attribute("tv", ("No TV", "Basic", "Sports")), 2)
    [(0, 0), (0, 1), (0, 2), (1, 1), (2, 2)]
    >>> feature_sequences(Attribute("speed", ("100", "300", "1000"), preference="increasing"), 2)
    [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    """
    if order is not None or is_ordered(attr):
        order = feature_order(attr) if order is None else list(order)
        return [
            tuple(order[r] for r in ranks)
            for ranks in itertools.combinations_with_replacement(range(len(order)), n_tiers)
        ]
    out: list[tuple[int, ...]] = []
    for seq in itertools.product(range(attr.n_levels), repeat=n_tiers):
        if all(b == a or a == 0 for a, b in itertools.pairwise(seq)):
            out.append(seq)
    return out


def _price_attribute(study: Study, what: str) -> Attribute:
    """The study's price attribute; ``what`` (the search) needs one."""
    if study.price_attribute is None:
        raise WinbackError(f"{what} needs a price attribute (price_attribute in [study]).")
    return study.attribute(study.price_attribute)


def _check_features(study: Study, features: Sequence[str], what: str) -> list[Attribute]:
    if isinstance(features, str) or not features:
        raise WinbackError(f"{what}: give a list of attribute names, got {features!r}.")
    attrs = [get_attribute(study, f, what) for f in features]
    if study.price_attribute in features:
        raise WinbackError(f"{what}: the price attribute '{study.price_attribute}' cannot be one.")
    if len(set(features)) != len(features):
        raise WinbackError(f"{what}: an attribute is named twice ({list_valid(features)}).")
    return attrs


def _check_order(
    study: Study, features: Sequence[str], order: Mapping[str, Sequence[Any]] | None
) -> dict[str, list[int]]:
    """Level indices from least to most of every feature ``order`` names (all its levels)."""
    if order is None:
        return {}
    if not isinstance(order, Mapping):
        raise WinbackError(
            f"order must map features to their levels from least to most, got {order!r}."
        )
    out = {}
    for name, levels in order.items():
        a = get_attribute(study, name, "attribute in order")
        if name not in features:
            raise WinbackError(
                f"order names '{name}', which is not one of the features ({list_valid(features)})."
            )
        labels = a.level_labels()
        if isinstance(levels, str) or not isinstance(levels, Sequence):
            raise WinbackError(
                f"order['{name}'] must list the levels from least to most, got {levels!r}. "
                f"Levels: {list_valid(labels)}."
            )
        idx = [a.index_of(v) for v in levels]
        if sorted(idx) != list(range(a.n_levels)):
            raise WinbackError(
                f"order['{name}'] must list each level of '{name}' once, from least to most; "
                f"got {list_valid([str(v) for v in levels])}. Levels: {list_valid(labels)}."
            )
        out[name] = idx
    return out


def _base_levels(
    study: Study, market: Market, base: Mapping[str, Any] | None, replace: str | None
) -> dict[str, Any]:
    if base is None:
        try:
            prod = market.product(replace) if replace is not None else own_product(market, None)
        except WinbackError as e:
            raise WinbackError(f"{e} Or give base={{attribute: level}} for the tiers.") from None
        return dict(prod.levels)
    out = dict(base)
    for k, v in out.items():
        a = get_attribute(study, k, "base attribute")
        if a.index_of(v) < 0:
            level_positions(a, v)  # numeric values inside the range are fine
    return out


def _profile_row(study: Study, levels: Mapping[str, Any], skip: Sequence[str]) -> np.ndarray:
    require_additive(study, "A profile's utility apart from its price")
    enc = make_encoding(study)
    x = np.zeros(enc.n_parameters)
    for a_i, a in enumerate(study.attributes):
        if a.name in skip:
            continue
        for i, w in level_positions(a, levels[a.name]):
            x += w * enc.tables[a_i][i]
    return x


def _prohibited(study: Study, levels: Mapping[str, Any]) -> bool:
    for pr in study.prohibitions:
        hit = True
        for an, idx in pr.as_dict().items():
            v = levels.get(an)
            if v is None or study.attribute(an).index_of(v) not in idx:
                hit = False
                break
        if hit:
            return True
    return False


def _grid(
    values: Sequence[float] | None, attr: Attribute, what: str, extrapolate: bool
) -> np.ndarray:
    vals = list(attr.levels) if values is None else list(values)
    out = []
    for v in vals:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(float(v)):
            raise WinbackError(f"{what} must be numbers, got {v!r}.")
        level_positions(attr, float(v), extrapolate=extrapolate)
        out.append(float(v))
    if not out:
        raise WinbackError(f"{what}: no price given.")
    return np.unique(np.asarray(out))


def _figures(
    sim: Simulation,
    names: Sequence[str],
    prices: Sequence[float],
    costs: Sequence[float],
    band: float,
) -> tuple[list[dict[str, float]], dict[str, np.ndarray]]:
    """Share, revenue and profit (mean and band) of the named products; per-draw totals."""
    rows = []
    tot = {k: np.zeros(sim.share_draws.shape[0]) for k in ("share", "revenue", "profit")}
    for n, p, c in zip(names, prices, costs, strict=True):
        sh = sim.share_draws[:, sim.alternatives.index(n)]
        figs = {"share": sh, "revenue": sh * p, "profit": sh * (p - c)}
        row: dict[str, float] = {}
        for k, v in figs.items():
            lo, hi = posterior_band(v, band)
            row[k] = float(v.mean())
            row[f"{k}_lower" if k != "share" else "lower"] = float(lo)
            row[f"{k}_upper" if k != "share" else "upper"] = float(hi)
            tot[k] = tot[k] + v
        rows.append(row)
    return rows, tot


def _others_total(
    sim: Simulation, study: Study, exclude: Sequence[str], extrapolate: bool
) -> dict[str, np.ndarray]:
    tot = {k: np.zeros(sim.share_draws.shape[0]) for k in ("share", "revenue", "profit")}
    for j, p in enumerate(sim.market.products):
        if not p.own or p.name in exclude:
            continue
        sh = sim.share_draws[:, j]
        price = float(p.levels[study.price_attribute]) if study.price_attribute else 0.0
        cost = unit_cost(study, p.levels, extrapolate) if study.costs else 0.0
        tot["share"] = tot["share"] + sh
        tot["revenue"] = tot["revenue"] + sh * price
        tot["profit"] = tot["profit"] + sh * (price - cost)
    return tot


def _summary(name: str, v: np.ndarray, band: float) -> dict[str, Any]:
    lo, hi = posterior_band(v, band)
    return {"measure": name, "value": float(v.mean()), "lower": float(lo), "upper": float(hi)}


def _with(market: Market, products: Sequence[Product]) -> Market:
    for p in products:
        market = market.with_product(p)
    return market
