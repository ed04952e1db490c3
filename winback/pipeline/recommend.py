"""The market stage ``winback recommend``: offer search, good/better/best tiers, unbundling, and
one recommendation among them. It reads the fit and the calibration as ``winback simulate``
does (:mod:`winback.pipeline.market`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.decision import (
    Action,
    Decision,
    action_records,
    decide,
    entry_action,
    keep_action,
    no_campaign_action,
    offer_actions,
    tier_action,
)
from analysis.offers import OfferSearch, check_objective, optimize_offer, own_product
from analysis.simulator import read_market
from analysis.tiers import TierSearch, Unbundling, optimize_tiers, unbundle
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.pipeline.classes import load_draws_for
from winback.pipeline.market import (
    ACTIONS_FILE,
    _calibration_settings,
    _market_inputs,
    _market_settings,
    _override,
    market_calibration,
)
from winback.run_folder import RECOMMEND, write_record
from winback.settings import BAND, check_band, default_objective
from winback.study import Study

#: the files of a recommend folder
RECOMMEND_FILES = RECOMMEND.files


@dataclass(frozen=True)
class RecommendRun:
    """What ``run_recommend`` found and wrote."""

    offers: OfferSearch
    tiers: TierSearch | None
    unbundling: Unbundling | None
    out: Path
    files: tuple[Path, ...]
    decision: Decision | None = None
    actions: tuple[Action, ...] = ()  # the decision's candidates (decision_actions.json)

    def report(self) -> str:
        parts = [self.decision.text()] if self.decision is not None else []
        basis = (
            "calibrated shares among the lost customers reached"
            if self.decision is not None and self.decision.basis == "calibrated"
            else "stated preference shares, not calibrated to behaviour"
        )
        parts.append(f"The searches behind it ({basis}; per lost customer):")
        parts.append(repr(self.offers))
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
    calibration: bool = True,
    order: dict[str, list[str]] | None = None,
    calibration_file: str | Path | None = None,
    classes_from: str | Path | None = None,
) -> RecommendRun:
    """``winback recommend``: the best offer (replacing the own product), good/better/best tiers
    and an unbundled entry offer with add-ons, each with posterior bands, and one
    recommendation among them (:func:`analysis.decide`).

    With a ``[calibration]`` (the market file's, else the study file's; ``calibration=False``
    leaves it out) every search runs on calibrated draws and every share is calibrated;
    otherwise they are stated preference shares. The recommendation is chosen on expected profit
    per year with ``[business]``, on the objective per lost customer without. Writes
    ``decision.csv`` (every candidate on that scale, best first, with the gap to the
    recommendation), ``decision_sources.csv`` (source of volume of each candidate against
    today's market) and, when calibrated, ``calibration.csv``; ``order`` is the tiers' content
    order of unordered features (:func:`analysis.optimize_tiers`).

    ``objective`` defaults to profit when the study has ``[costs]``, revenue otherwise.
    ``tier_features`` default to every non-price attribute; ``components`` (what may be taken
    out of the bundle and sold as add-ons) to :func:`default_components`. ``band`` is the
    probability of every band, recorded in ``run.json``. ``classes_from``: where the
    ``latent_class`` segment comes from, as :func:`run_simulate`.
    """
    band = check_band(band)
    out = check_output_dir(out, force=force, owned=RECOMMEND.owned)
    override = _override(calibration_file, calibration)
    draws = load_draws_for(study_path, fit_dir, classes_from=classes_from, random_seed=random_seed)
    study = draws.study
    if objective is None:
        objective = default_objective(study)
    check_objective(objective, study)
    market = read_market(market_path, study)
    current = own_product(market, product)
    for column in (weights, segment):  # a misspelt column fails before the search
        if column is not None:
            draws.column(column)
    cal = market_calibration(
        draws, market, study, use=calibration, random_seed=random_seed, override=override
    )
    search_draws = cal.adjusted() if cal is not None else draws
    offers = optimize_offer(
        search_draws,
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
            search_draws,
            market,
            features=features,
            objective=objective,
            weights=weights,
            replace=current.name,
            order=order,
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
                search_draws,
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
    actions = [*offer_actions(offers, market), keep_action(market)]
    if tiers is not None:
        actions.append(tier_action(tiers, study, current.name))
    if unb is not None:
        entry = entry_action(unb, study, current.name)
        if entry is not None:
            actions.append(entry)
    if study.business is not None:
        actions.append(no_campaign_action())
    records: dict[str, Any] | None = None
    if market.none:
        decision: Decision | None = decide(
            draws,
            market,
            actions,
            business=study.business,
            calibration=cal,
            objective=objective,
            weights=weights,
            band=band,
            random_seed=random_seed,
        )
        assert decision is not None
        tables["decision.csv"] = decision.table
        tables["decision_sources.csv"] = decision.sources
        records = action_records(actions, market, decision.recommended)
    else:
        decision = None
    if cal is not None:
        tables["calibration.csv"] = cal.summary(band=band)
    report = RecommendRun(offers, tiers, unb, out, (), decision).report()
    settings = {
        "band": band,
        **_calibration_settings(cal),
        "objective": objective,
        "product": current.name,
        **_market_settings(market),
        "weights": weights,
        "segment": segment,
        "tier_features": features,
        "order": order,
        "components": comps,
        "top": top,
        "random_seed": random_seed,
    }
    inputs = _market_inputs(study_path, fit_dir, market_path, classes_from, calibration_file)
    with staged_output(out, force=force, owned=RECOMMEND.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        atomic_write_text(stage / "recommend.txt", report + "\n")
        if records is not None:  # the candidates, to rebuild exactly (winback target)
            write_json(records, stage / ACTIONS_FILE)
        write_record(stage, "recommend", settings, study, paths=inputs)
    names = [*tables, "recommend.txt", *([ACTIONS_FILE] if records is not None else [])]
    return RecommendRun(
        offers,
        tiers,
        unb,
        out,
        tuple(out / n for n in names),
        decision,
        tuple(actions) if records is not None else (),
    )
