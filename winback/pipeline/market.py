"""The market stages: ``winback simulate`` (shares, source of volume, price curves, WTP) and
``winback recommend`` (offer search, good/better/best tiers, unbundling)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.offers import OfferSearch, check_objective, optimize_offer, own_product
from analysis.pricing import market_wtp, price_curve, price_elasticities
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Simulation,
    read_market,
    simulate,
    source_of_volume,
)
from analysis.tiers import TierSearch, Unbundling, optimize_tiers, unbundle
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv
from winback.pipeline.fit import load_fit_for
from winback.run_folder import RECOMMEND, SIMULATE, write_record
from winback.settings import BAND, check_band, default_objective, resolve_band
from winback.study import Study

#: the files of a simulate folder and of a recommend folder
SIMULATE_FILES = SIMULATE.files
RECOMMEND_FILES = RECOMMEND.files


def _market_settings(market: Market) -> dict[str, Any]:
    """The simulation options of a market file, recorded with every result made from it."""
    return {
        "rule": market.rule,
        "exponent": market.exponent,
        "none": market.none,
        "products": [p.name for p in market.products],
    }


@dataclass(frozen=True)
class SimulateRun:
    """What ``run_simulate`` computed and wrote."""

    simulation: Simulation
    shares: pd.DataFrame
    source_of_volume: pd.DataFrame
    out: Path
    files: tuple[Path, ...]


def run_simulate(
    study_path: str | Path,
    fit_dir: str | Path,
    market_path: str | Path,
    out: str | Path,
    *,
    weights: str | None = None,
    segment: str | None = None,
    band: float = BAND,
    random_seed: int = 1,
    force: bool = False,
    interval: float | None = None,
) -> SimulateRun:
    """``winback simulate``: shares with bands, source of volume of each own product, price
    curves and elasticities, willingness to pay for changes to each own product.

    Writes ``shares.csv`` (``[segment, n_respondents,] product, own, share, lower, upper``),
    ``source_of_volume.csv`` (for each own product: where its customers would otherwise go,
    i.e. the market without it against the market with it), ``price_curves.csv``,
    ``elasticities.csv``, ``wtp.csv`` and ``run.json`` (the band, the rule, the seed, ...) into
    ``out``. ``band`` is the probability of every band (``interval``: its former name).
    """
    band = resolve_band(band, interval, where="run_simulate")
    out = check_output_dir(out, force=force, owned=SIMULATE.owned)
    model = load_fit_for(study_path, fit_dir)
    draws = PartWorthDraws.from_model(model)
    market = read_market(market_path, model.study)
    for column in (weights, segment):  # a misspelt column fails before the search
        if column is not None:
            draws.column(column)
    sim = simulate(
        draws, market, weights=weights, segment=segment, band=band, random_seed=random_seed
    )
    sov_parts = []
    for prod in market.products:
        if not prod.own or len(market.products) < 2:
            continue
        before = simulate(
            draws,
            market.without(prod.name),
            weights=weights,
            band=band,
            random_seed=random_seed,
        )
        part = source_of_volume(before, sim, prod.name)  # share_draws: all respondents
        part.insert(0, "product", prod.name)
        sov_parts.append(part)
    sov = (
        pd.concat(sov_parts, ignore_index=True)
        if sov_parts
        else pd.DataFrame(
            columns=["product", "source", "kind", "share_moved", "lower", "upper", "fraction"]
        )
    )
    tables: dict[str, pd.DataFrame] = {"shares.csv": sim.shares, "source_of_volume.csv": sov}
    if model.study.price_attribute is not None:
        curves, wtps = [], []
        for prod in market.products:
            c = price_curve(
                draws,
                market,
                prod.name,
                weights=weights,
                band=band,
                random_seed=random_seed,
            )
            c.insert(0, "product", prod.name)
            curves.append(c)
            if prod.own:
                wt = market_wtp(draws, market, prod.name, weights=weights, band=band)
                wt.insert(0, "product", prod.name)
                wtps.append(wt)
        tables["price_curves.csv"] = pd.concat(curves, ignore_index=True)
        tables["elasticities.csv"] = price_elasticities(
            draws, market, weights=weights, band=band, random_seed=random_seed
        )
        if wtps:
            tables["wtp.csv"] = pd.concat(wtps, ignore_index=True)
    settings = {
        "band": band,
        **_market_settings(market),
        "weights": weights,
        "segment": segment,
        "random_seed": random_seed,
    }
    inputs = {"study": study_path, "fit": fit_dir, "market": market_path}
    with staged_output(out, force=force, owned=SIMULATE.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        write_record(stage, "simulate", settings, model.study, paths=inputs)
    return SimulateRun(sim, sim.shares, sov, out, tuple(out / n for n in tables))


@dataclass(frozen=True)
class RecommendRun:
    """What ``run_recommend`` found and wrote."""

    offers: OfferSearch
    tiers: TierSearch | None
    unbundling: Unbundling | None
    out: Path
    files: tuple[Path, ...]

    def report(self) -> str:
        parts = [repr(self.offers)]
        if self.tiers is not None:
            parts.append(repr(self.tiers))
        if self.unbundling is not None:
            parts.append(repr(self.unbundling))
        return "\n\n".join(parts)


def default_components(study: Study, bundle_levels: dict[str, Any]) -> list[str]:
    """Components of a bundle that could be sold separately: attributes without a preference
    order (optional extras such as TV or mobile, not quality grades such as speed) on which the
    bundle has something other than the first ("not included") level."""
    out = []
    for a in study.attributes:
        if a.name == study.price_attribute or a.preference is not None or a.numeric:
            continue
        if a.index_of(bundle_levels[a.name]) > 0:
            out.append(a.name)
    return out


def run_recommend(
    study_path: str | Path,
    fit_dir: str | Path,
    market_path: str | Path,
    out: str | Path,
    *,
    objective: str | None = None,
    product: str | None = None,
    weights: str | None = None,
    segment: str | None = None,
    tier_features: list[str] | None = None,
    components: list[str] | None = None,
    top: int = 10,
    band: float = BAND,
    random_seed: int = 1,
    force: bool = False,
) -> RecommendRun:
    """``winback recommend``: the best offer (replacing the own product), good/better/best tiers
    and an unbundled entry offer with add-ons, each with posterior bands.

    ``objective`` defaults to profit when the study has ``[costs]``, revenue otherwise.
    ``tier_features`` default to every non-price attribute; ``components`` (what may be taken
    out of the bundle and sold as add-ons) to :func:`default_components`. ``band`` is the
    probability of every band, recorded in ``run.json``.
    """
    band = check_band(band)
    out = check_output_dir(out, force=force, owned=RECOMMEND.owned)
    model = load_fit_for(study_path, fit_dir)
    study = model.study
    if objective is None:
        objective = default_objective(study)
    check_objective(objective, study)
    draws = PartWorthDraws.from_model(model)
    market = read_market(market_path, study)
    current = own_product(market, product)
    for column in (weights, segment):  # a misspelt column fails before the search
        if column is not None:
            draws.column(column)
    offers = optimize_offer(
        draws,
        market,
        product=current.name,
        objective=objective,
        weights=weights,
        segment=segment,
        top=top,
        band=band,
        random_seed=random_seed,
    )
    tables: dict[str, pd.DataFrame] = {"offers.csv": offers.offers}
    if offers.segments is not None:
        tables["segments.csv"] = offers.segments
    tiers = unb = None
    features: list[str] = []
    comps: list[str] = []
    if study.price_attribute is not None:
        features = tier_features or [
            a.name for a in study.attributes if a.name != study.price_attribute
        ]
        tiers = optimize_tiers(
            draws,
            market,
            features=features,
            objective=objective,
            weights=weights,
            replace=current.name,
            band=band,
            random_seed=random_seed,
        )
        for name, frame in (
            ("tiers.csv", tiers.tiers),
            ("upgrade_paths.csv", tiers.upgrade_paths),
            ("cannibalisation.csv", tiers.cannibalisation),
            ("tiers_summary.csv", tiers.summary),
        ):
            tables[name] = frame
        comps = (
            components
            if components is not None
            else default_components(study, dict(current.levels))
        )
        if comps:
            unb = unbundle(
                draws,
                market,
                bundle=current.name,
                components=comps,
                objective=objective,
                weights=weights,
                band=band,
                random_seed=random_seed,
            )
            for name, frame in (
                ("unbundling.csv", unb.table),
                ("unbundling_summary.csv", unb.summary),
                ("addons.csv", unb.addons),
            ):
                tables[name] = frame
    report = RecommendRun(offers, tiers, unb, out, ()).report()
    settings = {
        "band": band,
        "objective": objective,
        "product": current.name,
        **_market_settings(market),
        "weights": weights,
        "segment": segment,
        "tier_features": features,
        "components": comps,
        "top": top,
        "random_seed": random_seed,
    }
    inputs = {"study": study_path, "fit": fit_dir, "market": market_path}
    with staged_output(out, force=force, owned=RECOMMEND.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        atomic_write_text(stage / "recommend.txt", report + "\n")
        write_record(stage, "recommend", settings, study, paths=inputs)
    names = [*tables, "recommend.txt"]
    return RecommendRun(offers, tiers, unb, out, tuple(out / n for n in names))
