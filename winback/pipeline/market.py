"""The market stage ``winback simulate`` (shares, source of volume, price curves, WTP), and what
it shares with ``winback recommend`` (:mod:`winback.pipeline.recommend`) and ``winback target``:
the calibration of a run and the settings each records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.calibration import CalibratedDraws, calibrate
from analysis.money import money_table
from analysis.pricing import market_wtp, price_curve, price_elasticities
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Simulation,
    read_market,
    simulate,
    source_of_volume,
)
from winback._folders import check_output_dir, staged_output
from winback._io import write_csv
from winback.errors import ParameterError
from winback.pipeline.classes import load_draws_for
from winback.run_folder import SIMULATE, write_record
from winback.settings import BAND, resolve_band
from winback.study import Calibration, Study, read_calibration_file
from winback.study.business import OUTCOME_KEYS

#: the files of a simulate folder
SIMULATE_FILES = SIMULATE.files
#: the decision's candidate actions, machine-readable (what ``winback target`` scores)
ACTIONS_FILE = "decision_actions.json"


def _market_inputs(
    study_path: Any, fit_dir: Any, market_path: Any, classes_from: Any, calibration_file: Any
) -> dict[str, Any]:
    """The input files a market stage (simulate, recommend) records in ``run.json``."""
    inputs = {"study": study_path, "fit": fit_dir, "market": market_path}
    if classes_from is not None:
        inputs["classes_from"] = classes_from
    if calibration_file is not None:
        inputs["calibration_file"] = calibration_file
    return inputs


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
    inputs = _market_inputs(study_path, fit_dir, market_path, classes_from, calibration_file)
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
