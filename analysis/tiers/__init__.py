"""Good / better / best tiers and unbundling: menus of our offers, searched exhaustively.

Both searches enumerate every menu on a grid, so the answer is proven optimal over that grid;
the chosen menu is then simulated at every posterior draw for bands. Respondents choose among
the menu, competitors and none (logit with the market's exponent); objectives are per lost
customer, as in :mod:`analysis.offers`, and our other products (those the menu does not
replace) count in them. Tiers are tiers: each has more than the one below at a higher price
(:func:`feature_sequences`), and tier menus are evaluated with one logit per respondent and
posterior draw (:mod:`~analysis.tiers.evaluate`); unbundling evaluates its menus at point
estimates.

The package: :mod:`~analysis.tiers.menus` (building blocks shared by both searches),
:mod:`~analysis.tiers.evaluate` (the tier menus' kernel),
:mod:`~analysis.tiers.good_better_best` (:func:`optimize_tiers`) and
:mod:`~analysis.tiers.unbundling` (:func:`unbundle`); both build on
:mod:`analysis.offers.objectives` and :mod:`analysis.offers.assembly`.

Examples
--------
>>> from analysis.tiers import optimize_tiers, unbundle
>>> tiers = optimize_tiers(model, market, features=["tv", "mobile"], prices=range(35, 80, 5),
...                        replace="FibreHome bundle")  # doctest: +SKIP
>>> unbundle(model, market, bundle="FibreHome bundle", components=["tv", "mobile"])
... # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from analysis.tiers.good_better_best import TierSearch, optimize_tiers
    from analysis.tiers.menus import feature_order, feature_sequences
    from analysis.tiers.unbundling import Unbundling, unbundle

#: where each name lives; a name loads its module on first use, so that a stage that names a
#: tier search does not load it
_MODULE_OF = {
    "TierSearch": "analysis.tiers.good_better_best",
    "optimize_tiers": "analysis.tiers.good_better_best",
    "feature_order": "analysis.tiers.menus",
    "feature_sequences": "analysis.tiers.menus",
    "Unbundling": "analysis.tiers.unbundling",
    "unbundle": "analysis.tiers.unbundling",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

__all__ = [
    "TierSearch",
    "Unbundling",
    "feature_order",
    "feature_sequences",
    "optimize_tiers",
    "unbundle",
]
