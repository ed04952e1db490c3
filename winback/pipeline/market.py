"""The market stages: ``winback simulate`` (shares, source of volume, price curves, WTP) and
``winback recommend`` (offer search, good/better/best tiers, unbundling)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.calibration import CalibratedDraws, calibrate
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
from analysis.money import money_table
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
from winback._io import atomic_write_text, write_csv, write_json
from winback.errors import ParameterError
from winback.pipeline.classes import load_draws_for
from winback.run_folder import RECOMMEND, SIMULATE, write_record
from winback.settings import BAND, check_band, default_objective, resolve_band
from winback.study import Calibration, Study, read_calibration_file
from winback.study.business import OUTCOME_KEYS

#: the files of a simulate folder and of a recommend folder
SIMULATE_FILES = SIMULATE.files
RECOMMEND_FILES = RECOMMEND.files
#: the decision's candidate actions, machine-readable (what ``winback target`` scores)
ACTIONS_FILE = "decision_actions.json"


def _market_settings(market: Market) -> dict[str, Any]:
    """The simulation options of a market file, recorded with every result made from it."""
    return {
        "rule": market.rule,
        "exponent": market.exponent,
        "none": market.none,
        "products": [p.name for p in market.products],
    }


def market_calibration(
    draws: PartWorthDraws,
    market: Market,
    study: Study,
    *,
    use: bool = True,
    random_seed: int = 1,
    override: str | Path | Calibration | None = None,
) -> CalibratedDraws | None:
    """The calibration of a run: ``override`` (a ``--calibration FILE``, e.g. the
    ``outcomes/calibration.toml`` of ``winback outcomes``) if given, else the market file's
    ``[calibration]`` if it has one, else the study file's, fitted on today's market (``None``
    without any, or with ``use=False``). Calibration is fitted with the logit rule: another
    rule is refused before any work."""
    if override is not None and not use:
        raise ParameterError("--calibration FILE and --no-calibration contradict each other.")
    if isinstance(override, str | Path):
        override = read_calibration_file(override)
    cal = override or market.calibration or study.calibration
    if cal is None or not use:
        return None
    if market.rule != "logit":
        raise ParameterError(
            f"[calibration] is fitted with the logit rule; the market's rule is "
            f'{market.rule!r}. Set rule = "logit" in the market file\'s [options], or run '
            "without calibration (--no-calibration)."
        )
    return calibrate(draws, market, cal, random_seed=random_seed)


def _override(calibration_file: str | Path | None, use: bool) -> Calibration | None:
    """A ``--calibration FILE``, read and checked before any work."""
    if calibration_file is None:
        return None
    if not use:
        raise ParameterError("--calibration FILE and --no-calibration contradict each other.")
    return read_calibration_file(calibration_file)


def _calibration_settings(cal: CalibratedDraws | None) -> dict[str, Any]:
    if cal is None:
        return {"basis": "stated"}
    c = cal.calibration
    return {
        "basis": "calibrated",
        "calibration": {
            "kind": c.kind,
            "observed": dict(c.observed),
            "n": c.n,
            "availability": c.availability,
            "adjust": cal.adjust,
            "draws_scaled": cal.n_scaled,
            "source": c.source,
            **({k: getattr(c, k) for k in OUTCOME_KEYS} if c.kind == "outcomes" else {}),
        },
    }


@dataclass(frozen=True)
class SimulateRun:
    """What ``run_simulate`` computed and wrote."""

    simulation: Simulation
    shares: pd.DataFrame
    source_of_volume: pd.DataFrame
    out: Path
    files: tuple[Path, ...]
    calibrated: pd.DataFrame | None = None  # calibrated_shares.csv, with a calibration
    money: pd.DataFrame | None = None  # money.csv, with [business]

    def report(self) -> str:
        """The shares in words: stated, and calibrated beside them where calibration is given."""
        lines = ["Stated preference shares (what respondents chose; not a forecast):"]
        lines.append(repr(self.simulation))
        if self.calibrated is not None:
            lines.append("")
            lines.append("Calibrated shares (stated beside them; own products times the reach):")
            for r in self.calibrated.itertuples(index=False):
                lines.append(
                    f"  {r.product:<24} {r.share:6.1%}  [{r.lower:6.1%}, {r.upper:6.1%}]"
                    f"   stated {r.stated:6.1%}"
                )
        if self.money is not None:
            t = self.money.set_index("product").loc["total"]
            lines.append("")
            lines.append(
                f"Today's offer, {t['basis']}: {t['customers']:,.0f} customers won back "
                f"[{t['customers_lower']:,.0f}, {t['customers_upper']:,.0f}], profit "
                f"{t['profit_year']:,.0f} a year [{t['profit_year_lower']:,.0f}, "
                f"{t['profit_year_upper']:,.0f}] after incentives and contact costs"
            )
        return "\n".join(lines)


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
    calibration: bool = True,
    calibration_file: str | Path | None = None,
    classes_from: str | Path | None = None,
) -> SimulateRun:
    """``winback simulate``: shares with bands, source of volume of each own product, price
    curves and elasticities, willingness to pay for changes to each own product.

    Writes ``shares.csv`` (``[segment, n_respondents,] product, own, share, lower, upper``),
    ``source_of_volume.csv`` (for each own product: where its customers would otherwise go,
    i.e. the market without it against the market with it), ``price_curves.csv``,
    ``elasticities.csv``, ``wtp.csv`` and ``run.json`` (the band, the rule, the seed, ...) into
    ``out``. ``band`` is the probability of every band (``interval``: its former name).

    These are stated preference shares. With a ``[calibration]`` (market file or study file;
    ``calibration=False`` leaves it out) also ``calibrated_shares.csv`` (``product, own,
    stated, share, lower, upper``: stated and calibrated side by side) and ``calibration.csv``
    (what was fitted); with ``[business]`` also ``money.csv`` (customers, revenue and profit
    per year of today's own products, calibrated where calibration is given).
    ``calibration_file``: a TOML file's ``[calibration]`` instead (``winback outcomes``'s
    ``calibration.toml``).

    ``segment="latent_class"``: each respondent's latent class (``classes_from``, a latent
    class fit folder, else the run folder's ``latent_class/`` beside ``fit_dir``); a
    ``fit_dir`` holding a latent class fit is itself the simulator (see
    :mod:`winback.pipeline.classes`).
    """
    band = resolve_band(band, interval, where="run_simulate")
    out = check_output_dir(out, force=force, owned=SIMULATE.owned)
    override = _override(calibration_file, calibration)
    draws = load_draws_for(study_path, fit_dir, classes_from=classes_from, random_seed=random_seed)
    study = draws.study
    market = read_market(market_path, study)
    for column in (weights, segment):  # a misspelt column fails before the search
        if column is not None:
            draws.column(column)
    cal = market_calibration(
        draws, market, study, use=calibration, random_seed=random_seed, override=override
    )
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
    if study.price_attribute is not None:
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
    cal_draws = cal.share_draws(market, weights=weights) if cal is not None else None
    if cal is not None:
        tables["calibrated_shares.csv"] = cal.shares(
            market, weights=weights, band=band, share_draws=cal_draws
        )
        tables["calibration.csv"] = cal.summary(band=band)
    business = study.business
    if business is not None and market.none and any(p.own for p in market.products):
        share_draws = cal_draws if cal_draws is not None else sim.share_draws
        reach = cal.calibration.availability if cal is not None else 1.0
        money = money_table(share_draws, market.products, study, business, reach=reach, band=band)
        money.insert(1, "basis", "calibrated" if cal is not None else "stated")
        tables["money.csv"] = money
    settings = {
        "band": band,
        **_calibration_settings(cal),
        **_market_settings(market),
        "weights": weights,
        "segment": segment,
        "random_seed": random_seed,
    }
    inputs = {"study": study_path, "fit": fit_dir, "market": market_path}
    if classes_from is not None:
        inputs["classes_from"] = classes_from
    if calibration_file is not None:
        inputs["calibration_file"] = calibration_file
    with staged_output(out, force=force, owned=SIMULATE.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        write_record(stage, "simulate", settings, study, paths=inputs)
    return SimulateRun(
        sim,
        sim.shares,
        sov,
        out,
        tuple(out / n for n in tables),
        tables.get("calibrated_shares.csv"),
        tables.get("money.csv"),
    )


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
    inputs = {"study": study_path, "fit": fit_dir, "market": market_path}
    if classes_from is not None:
        inputs["classes_from"] = classes_from
    if calibration_file is not None:
        inputs["calibration_file"] = calibration_file
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
