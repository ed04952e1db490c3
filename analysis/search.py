"""Deprecated: ``analysis.search`` is now :mod:`analysis.offers`.

Kept so that notebooks and scripts written against the old module keep working: it re-exports
the public names of :mod:`analysis.offers` (and :func:`~analysis.simulator.logit_probabilities`,
now in the simulator) and warns on import. Nothing in winback imports it; import from
``analysis.offers`` (or ``analysis``) instead.
"""

from __future__ import annotations

import warnings

from analysis.offers import (
    OBJECTIVES,
    Objective,
    OfferPairSearch,
    OfferSearch,
    check_objective,
    chunks,
    display_level,
    get_attribute,
    level_costs,
    level_index,
    make_space,
    objective_from_parts,
    optimize_offer,
    optimize_offers,
    other_own_numerators,
    own_product,
    price_of,
    resolve_market,
    resolve_search,
    rest_utilities,
    simulation_objective,
    space_levels,
    unit_cost,
    value_utilities,
)
from analysis.simulator import logit_probabilities

__all__ = [
    "OBJECTIVES",
    "Objective",
    "OfferPairSearch",
    "OfferSearch",
    "check_objective",
    "chunks",
    "display_level",
    "get_attribute",
    "level_costs",
    "level_index",
    "logit_probabilities",
    "make_space",
    "objective_from_parts",
    "optimize_offer",
    "optimize_offers",
    "other_own_numerators",
    "own_product",
    "price_of",
    "resolve_market",
    "resolve_search",
    "rest_utilities",
    "simulation_objective",
    "space_levels",
    "unit_cost",
    "value_utilities",
]

warnings.warn(
    "analysis.search is now analysis.offers; import from analysis.offers (or analysis) instead.",
    DeprecationWarning,
    stacklevel=2,
)
