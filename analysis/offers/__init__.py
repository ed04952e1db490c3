"""Offer and price search: the win-back offer that maximises share, revenue or profit.

Every candidate offer (one level per attribute, one price) replaces one of our products in a
market; competitors, our other products and the none alternative stay as they are. Objectives are
**per lost customer**, weighted over respondents (optionally by customer value):

* ``share``: the probability that a lost customer takes one of our offers;
* ``revenue``: the sum over our offers of share x price;
* ``profit``: the sum of share x (price - unit cost), unit cost = ``[costs] base`` + the cost of
  every level of the offer (an error when the study has no ``[costs]``).

Our other products (if any) count in every objective, so an offer that only cannibalises them does
not look good. ``share``, ``revenue`` and ``profit`` in the result tables are our totals.

Exhaustive search evaluates every allowed level combination at every candidate price, for every
posterior draw and respondent, in a numba kernel: a candidate's exp-utility is the product of one
entry of a per-attribute table ``exp(e * level utility)`` and one of a price table, and the rest of
the market is one fixed denominator per (draw, respondent). Above ``exhaustive_limit`` candidates a
heuristic (coordinate ascent over attribute x price from several starts at the posterior mean,
then polished on all draws) is graded against an upper bound (each respondent's best and worst
achievable utility at each price), and the relative gap is reported.

Searches rank by the logit rule with the market's exponent. When the market's rule is
``first_choice`` or ``rfc``, the best logit candidates (``max(5 * top, 50)``) are re-scored with
that rule through :func:`analysis.simulator.simulate` and ranked by it.

The package, each module importing only the ones before it:
:mod:`~analysis.offers.objectives` (share, revenue, profit per lost customer),
:mod:`~analysis.offers.assembly` (how every search starts: draws, market, the product replaced,
the rest of the market), :mod:`~analysis.offers.space` (the candidate space of one offer),
:mod:`~analysis.offers.evaluate` (utility tables and the numba kernel),
:mod:`~analysis.offers.heuristic` (coordinate ascent beyond the exhaustive limit),
:mod:`~analysis.offers.offer` (:func:`optimize_offer`, :class:`OfferSearch`, segments) and
:mod:`~analysis.offers.pairs` (:func:`optimize_offers`, :class:`OfferPairSearch`).
:mod:`analysis.tiers` builds its menus on the same objectives and assembly.

Examples
--------
>>> from analysis.offers import optimize_offer
>>> result = optimize_offer(model, market, objective="profit")  # doctest: +SKIP
>>> result.offers.head()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from analysis.offers.assembly import (
        display_level,
        get_attribute,
        level_index,
        own_product,
        resolve_market,
        resolve_search,
        rest_utilities,
        value_utilities,
    )
    from analysis.offers.evaluate import chunks
    from analysis.offers.objectives import (
        OBJECTIVES,
        Objective,
        check_objective,
        level_costs,
        objective_from_parts,
        other_own_numerators,
        price_of,
        simulation_objective,
        unit_cost,
    )
    from analysis.offers.offer import OfferSearch, optimize_offer
    from analysis.offers.pairs import OfferPairSearch, optimize_offers
    from analysis.offers.space import make_space, space_levels

#: where each name lives; a name loads its module on first use, so that the campaign and the
#: decision (which need an offer's price) do not load the offer search
_MODULE_OF = {
    "display_level": "analysis.offers.assembly",
    "get_attribute": "analysis.offers.assembly",
    "level_index": "analysis.offers.assembly",
    "own_product": "analysis.offers.assembly",
    "resolve_market": "analysis.offers.assembly",
    "resolve_search": "analysis.offers.assembly",
    "rest_utilities": "analysis.offers.assembly",
    "value_utilities": "analysis.offers.assembly",
    "chunks": "analysis.offers.evaluate",
    "OBJECTIVES": "analysis.offers.objectives",
    "Objective": "analysis.offers.objectives",
    "check_objective": "analysis.offers.objectives",
    "level_costs": "analysis.offers.objectives",
    "objective_from_parts": "analysis.offers.objectives",
    "other_own_numerators": "analysis.offers.objectives",
    "price_of": "analysis.offers.objectives",
    "simulation_objective": "analysis.offers.objectives",
    "unit_cost": "analysis.offers.objectives",
    "OfferSearch": "analysis.offers.offer",
    "optimize_offer": "analysis.offers.offer",
    "OfferPairSearch": "analysis.offers.pairs",
    "optimize_offers": "analysis.offers.pairs",
    "make_space": "analysis.offers.space",
    "space_levels": "analysis.offers.space",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

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
