"""Posterior contrasts between survey waves: map levels across waves, contrast two waves.

Two waves are independent samples of lost customers, fitted separately (the later one perhaps
with the earlier one's population posterior as its prior). How a quantity moved between wave A
and wave B is its **posterior contrast**: the draws of wave B minus the draws of wave A. The two
posteriors are independent, so any pairing of their draws is a draw of the joint posterior;
winback shuffles each wave's draws (seeded) and pairs them one to one, recycling the shorter
set when the waves have different numbers of draws. Each contrast is reported as the posterior
mean in each wave, the mean difference, its equal-tailed band, the posterior probability that
the quantity rose (``prob_increase``) and a verdict in words: "rose" or "fell" when the band
excludes zero, else "no clear change".

Everything here is pure: fitted models, tables and markets in, tidy DataFrames out. The study
folder, files and the command line are in :mod:`winback.waves`.

The parts: :mod:`analysis.contrasts.levels` (the level mapping),
:mod:`analysis.contrasts.posterior` (the contrast tables) and
:mod:`analysis.contrasts.offers` (the recommended offer in both waves); every name is
re-exported here.

Examples
--------
>>> from analysis.contrasts import map_levels, partworth_contrasts
>>> mapping = map_levels(model_a.study, model_b.study, wave_a="w1", wave_b="w2")  # doctest: +SKIP
>>> partworth_contrasts(model_a, model_b, mapping)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from analysis.contrasts.levels import DROPPED, LevelMapping, map_levels, relabel_prior
    from analysis.contrasts.offers import (
        Offer,
        map_offer,
        offer_contrasts,
        offer_from_row,
        relabel_draws,
    )
    from analysis.contrasts.posterior import (
        CONTRAST_COLUMNS,
        FELL,
        NO_CHANGE,
        ROSE,
        contrast_table,
        importance_contrasts,
        pair_draws,
        partworth_contrasts,
        reason_contrasts,
        verdict,
        wtp_contrasts,
    )

#: where each name lives; a name loads its module on first use, so that ``winback run``
#: (which maps levels between waves) does not load the comparison of two waves
_MODULE_OF = {
    "DROPPED": "analysis.contrasts.levels",
    "LevelMapping": "analysis.contrasts.levels",
    "map_levels": "analysis.contrasts.levels",
    "relabel_prior": "analysis.contrasts.levels",
    "Offer": "analysis.contrasts.offers",
    "map_offer": "analysis.contrasts.offers",
    "offer_contrasts": "analysis.contrasts.offers",
    "offer_from_row": "analysis.contrasts.offers",
    "relabel_draws": "analysis.contrasts.offers",
    "CONTRAST_COLUMNS": "analysis.contrasts.posterior",
    "FELL": "analysis.contrasts.posterior",
    "NO_CHANGE": "analysis.contrasts.posterior",
    "ROSE": "analysis.contrasts.posterior",
    "contrast_table": "analysis.contrasts.posterior",
    "importance_contrasts": "analysis.contrasts.posterior",
    "pair_draws": "analysis.contrasts.posterior",
    "partworth_contrasts": "analysis.contrasts.posterior",
    "reason_contrasts": "analysis.contrasts.posterior",
    "verdict": "analysis.contrasts.posterior",
    "wtp_contrasts": "analysis.contrasts.posterior",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

__all__ = [
    "CONTRAST_COLUMNS",
    "DROPPED",
    "FELL",
    "NO_CHANGE",
    "ROSE",
    "LevelMapping",
    "Offer",
    "contrast_table",
    "importance_contrasts",
    "map_levels",
    "map_offer",
    "offer_contrasts",
    "offer_from_row",
    "pair_draws",
    "partworth_contrasts",
    "reason_contrasts",
    "relabel_draws",
    "relabel_prior",
    "verdict",
    "wtp_contrasts",
]
