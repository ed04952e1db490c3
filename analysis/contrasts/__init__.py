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
