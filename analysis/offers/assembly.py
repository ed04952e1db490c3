"""Market assembly: how every search starts (offers, offer pairs, tiers, unbundling).

The draws and the market of a search (the objective checked on the way), the own product an
offer replaces, attribute and level look-ups with clear errors, levels as shown in tables, and
the utilities of a numeric attribute at any value and of the rest of the market (everything the
search holds fixed, then none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.offers.objectives import check_objective
from analysis.simulator import (
    NONE,
    Market,
    PartWorthDraws,
    Product,
    as_draws,
    encode_products,
    level_positions,
    read_market,
)
from conjoint.encoding import make_encoding, require_additive
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.settings import default_objective
from winback.study import Attribute, Study

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = [
    "display_level",
    "get_attribute",
    "level_index",
    "own_product",
    "resolve_market",
    "resolve_search",
    "rest_utilities",
    "value_utilities",
]


def resolve_market(
    draws: PartWorthDraws, market: Market | Mapping[str, Any] | str | Path
) -> Market:
    """A Market from a Market, a dict or a path to ``market.toml``."""
    if isinstance(market, Market):
        return market
    if isinstance(market, str | Path):
        return read_market(market, draws.study)
    return Market.from_dict(market, draws.study)


def resolve_search(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    objective: str | None,
    *,
    point: bool = False,
) -> tuple[PartWorthDraws, Market, str]:
    """The draws (at point estimates with ``point``), the market and the objective of a search.

    How every search starts (offers, offer pairs, tiers, unbundling); the objective defaults to
    :func:`winback.settings.default_objective` (profit when the study has ``[costs]``, revenue
    otherwise) and is checked against the study on the way.
    """
    draws = as_draws(source)
    require_additive(draws.study, "The offer, tier and unbundling search")
    if point:
        draws = draws.point()
    mk = resolve_market(draws, market)
    if objective is None:
        objective = default_objective(draws.study)
    return draws, mk, check_objective(objective, draws.study)


def own_product(market: Market, product: str | None) -> Product:
    """The named own product, or the only own product; a clear error otherwise."""
    own = [p for p in market.products if p.own]
    if product is not None:
        chosen = market.product(product)
        if not chosen.own:
            raise WinbackError(
                f"'{product}' is not one of our products (own = true in the market); the offer "
                f"replaces one of ours: {list_valid([p.name for p in own]) or 'none marked own'}."
            )
        return chosen
    if len(own) != 1:
        raise WinbackError(
            f"Name the product the offer replaces (product=...): the market has "
            f"{len(own)} own products ({list_valid([p.name for p in own]) or 'none'}); "
            f"products: {list_valid(market.names)}."
        )
    return own[0]


def get_attribute(study: Study, name: str, what: str = "attribute") -> Attribute:
    if name not in study.attribute_names:
        raise WinbackError(
            f"Unknown {what} '{name}'.{did_you_mean(name, study.attribute_names)} "
            f"Attributes: {list_valid(study.attribute_names)}."
        )
    return study.attribute(name)


def level_index(attr: Attribute, value: Any, where: str = "") -> int:
    i = attr.index_of(value)
    if i < 0:
        labels = attr.level_labels()
        raise WinbackError(
            f"{where}unknown level {value!r} for attribute '{attr.name}'."
            f"{did_you_mean(str(value), labels)} Valid levels: {list_valid(labels)}."
        )
    return i


def display_level(attr: Attribute, value: Any) -> Any:
    """A level as shown in tables: the label, or a number for numeric attributes."""
    if attr.numeric:
        return float(value)
    return str(value)


def value_utilities(
    beta: np.ndarray,
    study: Study,
    attr: Attribute,
    values: Sequence[float] | np.ndarray,
    extrapolate: bool,
) -> np.ndarray:
    """(S, R, K) utility of a numeric attribute at any values (interpolated as the simulator)."""
    require_additive(study, "The utility of a price apart from the product")
    enc = make_encoding(study)
    a = study.attributes.index(attr)
    rows = np.zeros((len(values), enc.n_parameters))
    for k, v in enumerate(values):
        for i, w in level_positions(attr, v, extrapolate=extrapolate):
            rows[k] += w * enc.tables[a][i]
    return beta @ rows.T


def rest_utilities(
    beta: np.ndarray, draws: PartWorthDraws, market: Market, exclude: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[Product]]:
    """Utilities (S, R, J) of the market without ``exclude`` (then none), the own mask (J,) and
    the products kept."""
    kept = [p for p in market.products if p.name not in exclude]
    j = len(kept)
    k = beta.shape[2]
    x = (
        encode_products(draws.study, kept, extrapolate=market.extrapolate)[0]
        if kept
        else np.zeros((0, k))
    )
    u = beta @ x.T
    own = np.array([p.own for p in kept] + ([False] if market.none else []), dtype=bool)
    if market.none:
        names = list(draws.names)
        if NONE not in names:
            raise WinbackError("The market includes none, but the model has no none constant.")
        u = np.concatenate([u, beta[..., names.index(NONE)][..., None]], axis=-1)
    assert own.shape[0] == u.shape[2] == j + int(market.none)
    return u, own, kept
