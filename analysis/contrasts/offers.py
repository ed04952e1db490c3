"""The recommended offer across waves: each wave's customers simulated in one market.

Wave A's part-worth draws relabelled in wave B's study, an offer read from
``recommend/offers.csv`` (and put in wave B's labels), and the contrast of each offer's share,
revenue and profit among the two waves' lost customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.contrasts.levels import LevelMapping
from analysis.contrasts.posterior import contrast_table
from analysis.offers import own_product, simulation_objective
from analysis.simulator import PartWorthDraws, Product, simulate
from conjoint.encoding import parameter_names
from winback.errors import WinbackError, list_valid
from winback.settings import BAND
from winback.study import Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel
    from analysis.simulator import Market


def relabel_draws(model_a: HBModel, mapping: LevelMapping, study_b: Study) -> PartWorthDraws:
    """Wave A's individual part-worth draws in wave B's study (labels and parameter order), to
    simulate wave A's customers in wave B's market.

    A level new in wave B has no part-worth in wave A: an error (map it in level_map.toml).

    Examples
    --------
    >>> draws_w1 = relabel_draws(model_w1, mapping, model_w2.study)  # doctest: +SKIP
    """
    names_b = parameter_names(study_b)
    inverse = {v: k for k, v in mapping.parameters.items()}
    missing = [n for n in names_b if n not in inverse]
    if missing:
        raise WinbackError(
            f"wave {mapping.wave_a} has no part-worths for {list_valid(missing)} of wave "
            f"{mapping.wave_b}; map them in level_map.toml."
        )
    b = model_a.beta_draws()
    flat = b.reshape(-1, b.shape[2], b.shape[3])
    order = [model_a.names.index(inverse[n]) for n in names_b]
    resp = model_a.dataset_.respondents
    respondents = None
    if resp is not None and "respondent_id" in resp.columns:
        respondents = resp.set_index(resp["respondent_id"].astype(str))
    return PartWorthDraws(
        study_b, tuple(names_b), flat[..., order], tuple(model_a.respondent_ids), respondents
    )


@dataclass(frozen=True)
class Offer:
    """A named offer: one level per attribute (wave B's labels)."""

    name: str
    levels: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, study: Study) -> str:
        return ", ".join(f"{a.name} {format_level(self.levels[a.name])}" for a in study.attributes)


def offer_from_row(row: Mapping[str, Any], study: Study, name: str) -> Offer:
    """An offer from a row of ``recommend/offers.csv`` (one column per attribute)."""
    levels: dict[str, Any] = {}
    missing = [a.name for a in study.attributes if a.name not in row]
    if missing:
        raise WinbackError(
            f"the offers table lacks attribute column(s) {list_valid(missing)} (offers.csv)."
        )
    for a in study.attributes:
        v = row[a.name]
        levels[a.name] = float(v) if a.numeric else str(v)
    return Offer(name, levels)


def map_offer(offer: Offer, mapping: LevelMapping) -> Offer:
    """Wave A's offer in wave B's labels (an error if it uses a level dropped in wave B)."""
    out: dict[str, Any] = {}
    for attr, v in offer.levels.items():
        if isinstance(v, float):
            out[attr] = v
            continue
        new = mapping.label(attr, str(v))
        if new is None:
            raise WinbackError(
                f"{offer.name} has {attr} '{v}', a level wave {mapping.wave_b} no longer has: "
                "it cannot be simulated in the later wave."
            )
        out[attr] = new
    return Offer(offer.name, out)


def offer_contrasts(
    draws_a: PartWorthDraws,
    draws_b: PartWorthDraws,
    market: Market,
    offers: Sequence[Offer],
    *,
    product: str | None = None,
    band: float = BAND,
    random_seed: int = 1,
    wave_a: str = "A",
    wave_b: str = "B",
) -> pd.DataFrame:
    """Each offer's share, revenue and profit among wave A's and wave B's lost customers.

    The offer replaces our product in ``market`` (both waves in the same market, so that only
    the customers' preferences differ), and is simulated for every posterior draw of each
    wave; the contrast is the difference of the two waves' draws.

    Parameters
    ----------
    draws_a, draws_b : PartWorthDraws
        Both in the same study (wave B's: :func:`relabel_draws`).
    market : Market
    offers : sequence of Offer
    product : str, optional
        The own product the offers replace (default: the market's only own product).

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, offer, levels, measure (share | revenue | profit)`` and the contrast
        columns.

    Examples
    --------
    >>> offer_contrasts(draws_w1, draws_w2, market, [best_w1, best_w2])  # doctest: +SKIP
    """
    study = draws_b.study
    current = own_product(market, product)
    measures = ["share", "revenue", "profit"] if study.price_attribute is not None else ["share"]
    if study.costs is None and "profit" in measures:
        measures.remove("profit")
    keys: list[dict[str, Any]] = []
    cols_a: list[np.ndarray] = []
    cols_b: list[np.ndarray] = []
    for offer in offers:
        m = market.with_product(
            Product(current.name, dict(offer.levels), own=True, status_quo=current.status_quo)
        )
        res = []
        for draws in (draws_a, draws_b):
            sim = simulate(draws, m, band=band, random_seed=random_seed)
            res.append(simulation_objective(sim, study, m.extrapolate))
        for meas in measures:
            keys.append({"offer": offer.name, "levels": offer.describe(study), "measure": meas})
            cols_a.append(res[0][meas])
            cols_b.append(res[1][meas])
    return contrast_table(
        pd.DataFrame(keys, columns=["offer", "levels", "measure"]),
        np.column_stack(cols_a) if cols_a else np.empty((1, 0)),
        np.column_stack(cols_b) if cols_b else np.empty((1, 0)),
        band=band,
        random_seed=random_seed,
        wave_a=wave_a,
        wave_b=wave_b,
    )
