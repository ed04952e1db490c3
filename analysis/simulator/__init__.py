"""The market simulator: shares of preference for a market of offers, with posterior bands.

A market is a list of products (one level per attribute, numeric attributes at any value
inside the tested range), optionally the lost customer's status quo and the none alternative.
For every posterior draw and every respondent the chosen rule turns utilities into choice
probabilities; weighted averages over respondents give one share per draw, so every share has a
posterior mean and a band.

Rules (as in Sawtooth's simulator):

* ``logit`` (share of preference): ``exp(e * U) / sum exp(e * U)`` with exponent ``e``;
* ``first_choice``: each respondent takes the highest-utility alternative (ties split);
* ``rfc`` (randomized first choice): first choice after adding normal error to every level's
  part-worth (attribute variability, shared by all products with that level, which is what
  corrects for similarity) and optionally Gumbel error to every product (product variability),
  ``rfc_draws`` times per respondent and posterior draw, seeded (errors from a counter-based
  generator: the same for every market and variant with the same seed).

The package: :mod:`~analysis.simulator.draws` (part-worth draws),
:mod:`~analysis.simulator.market` (products, markets, ``market.toml``),
:mod:`~analysis.simulator.rules` (the choice rules; :func:`variant_share_draws`, many
variants of a market in one pass, for price curves and elasticities) and
:mod:`~analysis.simulator.shares` (:func:`simulate`, weights, bands, source of volume), each
importing only the ones before it; :mod:`~analysis.simulator._kernels` holds the numba kernels.

Examples
--------
>>> from analysis.simulator import Market, simulate
>>> market = Market.from_dict({"products": [{"name": "Ours", "own": True, "speed": "1 Gbps"}]},
...                           study)  # doctest: +SKIP
>>> simulate(model, market).shares  # doctest: +SKIP
"""

from __future__ import annotations

from analysis.simulator.draws import PartWorthDraws, as_draws
from analysis.simulator.market import (
    NONE,
    RULES,
    Market,
    Product,
    Rule,
    encode_products,
    level_positions,
    read_market,
)
from analysis.simulator.rules import (
    choice_probabilities,
    logit_probabilities,
    utilities,
    variant_share_draws,
)
from analysis.simulator.shares import (
    Simulation,
    posterior_band,
    respondent_weights,
    simulate,
    source_of_volume,
)

__all__ = [
    "NONE",
    "RULES",
    "Market",
    "PartWorthDraws",
    "Product",
    "Rule",
    "Simulation",
    "as_draws",
    "choice_probabilities",
    "encode_products",
    "level_positions",
    "logit_probabilities",
    "posterior_band",
    "read_market",
    "respondent_weights",
    "simulate",
    "source_of_volume",
    "utilities",
    "variant_share_draws",
]
