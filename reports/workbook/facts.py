"""Reading a run folder into the tables the workbook shows.

:func:`read_run_folder` reads the CSV, JSON and text files a winback run folder holds
(``design/``, ``import/``, ``fit/``, ``simulate/``, ``recommend/``, ``target/``,
``study.toml`` and ``market.toml``) into a :class:`ReportData`, with the probability of every band and interval the
run used, and notes on what is missing. Text cells are unescaped and ids stay text; nothing here
writes a worksheet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.io import load_model
from analysis.simulator import read_market
from reports.live_sample import read_live_sample
from winback._io import unescape_frame
from winback.errors import ParameterError, WinbackError
from winback.run_folder import (
    DESIGN,
    FIT,
    IMPORT,
    LATENT_CLASS,
    MAXDIFF,
    RECOMMEND,
    RECORD,
    SIMULATE,
    TARGET,
    RunFolder,
    Stage,
)
from winback.settings import BAND, check_band
from winback.study import format_level, load_study

__all__ = ["ReportData", "read_run_folder"]


#: the band probabilities of runs written before ``run.json`` recorded them: the fit's tables
#: and the reasons' intervals had their own defaults then (0.94 and 0.95), the simulator 0.9
_FORMER_BANDS = {
    FIT.name: 0.94,
    IMPORT.name: 0.95,
    MAXDIFF.name: BAND,
    SIMULATE.name: BAND,
    RECOMMEND.name: BAND,
    TARGET.name: BAND,
}


#: columns read as text whatever they hold (ids and labels keep leading zeros, "None" stays)
_TEXT_COLUMNS = (
    "respondent_id",
    "attribute",
    "level",
    "from_level",
    "to_level",
    "product",
    "source",
    "kind",
    "segment",
    "tier",
    "menu_before",
    "offer",
    "reason",
    "label",
    "measure",
    "parameter",
    "method",
    "component",
    "price_of",
    "share_of",
    "holdout",
    "most_popular",
    "action",
    "description",
    "search",
    "basis",
    "own_before",
    "own_after",
    "customer_id",
    "products",
    "item",
)


@dataclass(frozen=True)
class ReportData:
    """Everything the workbook shows, as tables: one attribute per file of a run folder.

    Only ``partworths`` is required; every other table is ``None`` when its file is missing.
    Column names are those of the CSV files (see docs/cli.md and docs/simulator.md).

    Attributes
    ----------
    partworths : DataFrame
        ``fit/partworths.csv``: ``respondent_id, attribute, level, utility``.
    study : dict
        ``name``, ``description``, ``currency``, ``price_attribute`` and ``attributes`` (each a
        dict with ``name``, ``label``, ``levels``, ``coding``, ``reference``); empty if unknown.
    fit_diagnostics : dict or None
        ``fit/diagnostics.json`` (verdict, R-hat, ESS, divergences, reasons, advice).
    fit_settings : dict or None
        Sampler settings of the fit (draws, tune, chains, covariance, LKJ eta, ...).
    convergence_text, design_text, reasons_text, recommend_text : str or None
        The text reports of the run.
    importances, population : DataFrame or None
        ``fit/importances.csv``, ``fit/population.csv``.
    validation : DataFrame or None
        ``fit/validation.csv``: hit rates and share errors of held-out tasks against naive
        benchmarks (see :func:`analysis.results.validate_fit`); ``task`` as text.
    validation_record : dict or None
        What the fit held out (``held_out`` of ``fit/run.json``: ``method``,
        ``description``, ``note``, ...); None for fits written before validation.
    design_diagnostics : dict or None
        ``design/diagnostics.json``.
    level_balance : DataFrame or None
    respondents, exclusions, quality, reasons : DataFrame or None
        ``import/`` (``respondents`` is read as text: answers stay exactly as given).
    import_summary : dict or None
        ``import/import.json``.
    shares, source_of_volume, price_curves, elasticities, wtp : DataFrame or None
        ``simulate/``.
    calibrated_shares, simulate_calibration, money : DataFrame or None
        ``simulate/calibrated_shares.csv`` (stated and calibrated shares side by side),
        ``simulate/calibration.csv`` and ``simulate/money.csv`` (today's own products in
        customers and money per year); runs without ``[calibration]`` or ``[business]``, and
        runs written before them, have none.
    offers, segments, tiers, upgrade_paths, cannibalisation, tiers_summary, unbundling,
    unbundling_summary, addons : DataFrame or None
        ``recommend/``.
    decision, decision_sources, calibration : DataFrame or None
        ``recommend/decision.csv`` (every candidate action on one scale, best first),
        ``recommend/decision_sources.csv`` (where each action's volume comes from) and
        ``recommend/calibration.csv`` (what the calibration fitted); None for runs written
        before the one recommendation, or without calibration.
    simulate_settings, recommend_settings : dict
        The ``settings`` of ``simulate/run.json`` and ``recommend/run.json`` (``basis``,
        ``calibration``, ``objective``, ``product``, ...); empty for folders without records.
    campaign, campaign_summary, campaign_actions : DataFrame or None
        ``target/campaign.csv`` (one row per customer of the CRM list: the planned action,
        control group, probability of returning and profit with bands, the reason),
        ``target/campaign_summary.csv`` (by segment and action, the total last) and
        ``target/actions.csv``; None without ``target/`` (``winback target``).
    latent_class, latent_class_selection, latent_class_settings
        The latent class fit of ``latent_class/`` (:class:`analysis.LatentClassResult`, its
        ``class_selection.csv`` and the ``settings`` of its ``run.json``); None and empty
        without it.
    maxdiff_population, maxdiff_convergence, maxdiff_settings
        The MaxDiff of reasons of ``maxdiff/`` (``population.csv``: per item ``item, label``,
        the average probability score, the share ranking it first, each with its band, and
        ``rank``; ``convergence.json``; the ``settings`` of its ``run.json``); None and empty
        without it.
    campaign_settings : dict
        The ``settings`` of ``target/run.json`` (``band``, ``basis``, ``control_share``, the
        limits, ``segment``); empty without it.
    market_products : DataFrame or None
        The products of ``market.toml`` (``product, own`` and one column per attribute).
    simulator_draws, market : object or None
        The live simulator's stored sample of posterior draws, calibrated as the decision's
        and opening on the recommendation (:class:`reports.live_sample.LiveSample`), and
        today's :class:`analysis.simulator.Market`.
    notes : tuple of str
        What is missing or doubtful, in words (shown on the summary).
    run_dir : str
    simulate_band, recommend_band, fit_band, reasons_band, campaign_band, maxdiff_band : float
        Probability of the bands of ``simulate/``, ``recommend/``, ``target/``, the fit's
        importances and population, the reasons for leaving and the MaxDiff, as each stage's
        ``run.json`` records them (for runs written before records: the defaults of the time).
    """

    partworths: pd.DataFrame
    study: dict[str, Any] = field(default_factory=dict)
    fit_diagnostics: dict[str, Any] | None = None
    fit_settings: dict[str, Any] | None = None
    convergence_text: str | None = None
    importances: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    validation: pd.DataFrame | None = None
    validation_record: dict[str, Any] | None = None
    design_diagnostics: dict[str, Any] | None = None
    design_text: str | None = None
    level_balance: pd.DataFrame | None = None
    respondents: pd.DataFrame | None = None
    exclusions: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None
    reasons: pd.DataFrame | None = None
    reasons_text: str | None = None
    import_summary: dict[str, Any] | None = None
    shares: pd.DataFrame | None = None
    source_of_volume: pd.DataFrame | None = None
    price_curves: pd.DataFrame | None = None
    elasticities: pd.DataFrame | None = None
    wtp: pd.DataFrame | None = None
    offers: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    tiers: pd.DataFrame | None = None
    upgrade_paths: pd.DataFrame | None = None
    cannibalisation: pd.DataFrame | None = None
    tiers_summary: pd.DataFrame | None = None
    unbundling: pd.DataFrame | None = None
    unbundling_summary: pd.DataFrame | None = None
    addons: pd.DataFrame | None = None
    decision: pd.DataFrame | None = None
    decision_sources: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    calibrated_shares: pd.DataFrame | None = None
    simulate_calibration: pd.DataFrame | None = None
    money: pd.DataFrame | None = None
    simulate_settings: dict[str, Any] = field(default_factory=dict)
    recommend_settings: dict[str, Any] = field(default_factory=dict)
    recommend_text: str | None = None
    campaign: pd.DataFrame | None = None
    campaign_summary: pd.DataFrame | None = None
    campaign_actions: pd.DataFrame | None = None
    campaign_settings: dict[str, Any] = field(default_factory=dict)
    latent_class: Any = None
    latent_class_selection: pd.DataFrame | None = None
    latent_class_settings: dict[str, Any] = field(default_factory=dict)
    maxdiff_population: pd.DataFrame | None = None
    maxdiff_convergence: dict[str, Any] | None = None
    maxdiff_settings: dict[str, Any] = field(default_factory=dict)
    market_products: pd.DataFrame | None = None
    simulator_draws: Any = None
    market: Any = None
    notes: tuple[str, ...] = ()
    run_dir: str = ""
    simulate_band: float = BAND
    recommend_band: float = BAND
    fit_band: float = BAND
    reasons_band: float = BAND
    campaign_band: float = BAND
    maxdiff_band: float = BAND

    def __repr__(self) -> str:
        have = [
            name
            for name, value in self.__dict__.items()
            if isinstance(value, pd.DataFrame) and name != "partworths"
        ]
        n = self.partworths["respondent_id"].nunique()
        lines = [
            f"ReportData: {self.study.get('name') or self.run_dir or 'run'} ({n} respondents "
            f"with part-worths)",
            f"  tables: {', '.join(have) or 'part-worths only'}",
            f"  live simulator: {'yes' if self.market is not None else 'no'}",
        ]
        lines += [f"  note: {n_}" for n_ in self.notes]
        lines.append("  next: write_workbook(path, data)")
        return "\n".join(lines)


def _read_table(path: Path, *, all_text: bool = False) -> pd.DataFrame | None:
    """A CSV written by winback: text cells unescaped, ``None``/``NA`` kept as text."""
    if not path.is_file():
        return None
    try:
        if all_text:
            df = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig"
            )
        else:
            df = pd.read_csv(
                path,
                keep_default_na=False,
                na_values=[""],
                dtype=dict.fromkeys(_TEXT_COLUMNS, str),
                encoding="utf-8-sig",
            )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise WinbackError(f"{path} is not a readable CSV table ({exc}).") from None
    return unescape_frame(df)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WinbackError(f"{path} is not readable JSON ({exc}).") from None
    return obj if isinstance(obj, dict) else None


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").rstrip("\n") if path.is_file() else None


def labelled_searches(study: dict[str, Any]) -> str:
    """Why a labelled study has no offer, tier or unbundling search, and what to do instead."""
    labels = ", ".join(study.get("labels", []))
    return (
        f"this is a labelled study (labels {labels}), and the offer, tier and unbundling "
        "searches do not support labelled designs yet; compare labelled products with winback "
        "simulate (a market.toml whose products name their label)."
    )


def _study_info(study: Any) -> dict[str, Any]:
    return {
        "name": study.name,
        "description": study.description,
        "currency": study.currency,
        "price_attribute": study.price_attribute,
        "none_option": study.has_none,
        "labels": list(study.labels),  # a labelled design's labels (brands), reference first
        "business": _business_info(getattr(study, "business", None)),
        "attributes": [
            {
                "name": a.name,
                "label": a.display,
                "levels": [format_level(v) for v in a.levels],
                "coding": a.coding,
                "reference": format_level(a.reference),
                "unit": getattr(a, "unit", None),
                "applies_to": list(a.applies_to),
            }
            for a in study.attributes
        ],
    }


def _business_info(business: Any) -> dict[str, Any] | None:
    """The study's ``[business]`` settings as plain values (None without them)."""
    if business is None:
        return None
    return {
        "lost_customers": int(business.lost_customers),
        "horizon_months": int(business.horizon_months),
        "retention_months": float(business.retention_months),
        "months_retained": float(business.months_retained),
        "contact_cost": float(business.contact_cost),
        "incentive": float(business.incentive),
        "margin": {str(k): float(v) for k, v in business.margin},
    }


def _settings(run: RunFolder, stage: Stage) -> dict[str, Any]:
    """A stage's recorded settings (empty for a folder written before records)."""
    rec = run.record(stage)
    return dict(rec.settings) if rec is not None else {}


def _market_products(market: Any) -> pd.DataFrame:
    rows = []
    for p in market.products:
        row: dict[str, Any] = {"product": p.name, "own": bool(p.own)}
        for k, v in dict(p.levels).items():
            row[k] = float(v) if isinstance(v, int | float) else format_level(v)
        rows.append(row)
    return pd.DataFrame(rows)


def _read_validation(path: Path) -> pd.DataFrame | None:
    """``fit/validation.csv`` with its ``task`` as text (``all`` or a task number)."""
    table = _read_table(path)
    if table is None or "task" not in table.columns:
        return table
    task = table["task"].map(lambda v: str(int(v)) if isinstance(v, float) else str(v))
    out = table.assign(task=task)
    if "holdout" in out.columns:
        out["holdout"] = out["holdout"].fillna("")
    return out


def _validation_record(run: RunFolder) -> dict[str, Any] | None:
    """What the fit held out, as its ``run.json`` records it (None before validation)."""
    held = run.setting(FIT, "held_out")
    return dict(held) if isinstance(held, dict) else None


def _read_band(run: RunFolder, stage: Stage) -> float:
    """The band probability a stage was written with: its ``run.json`` (``band``), or the
    default of the time for a folder written before records."""
    rec = run.record(stage)
    if rec is None or "band" not in rec.settings:
        return _FORMER_BANDS[stage.name]
    try:
        return check_band(rec.settings["band"])
    except ParameterError as exc:
        raise WinbackError(f"{run.folder(stage) / RECORD}: {exc}") from None


def read_run_folder(run_dir: str | Path, *, live: bool = True) -> ReportData:
    """Read a run folder's tables for the workbook.

    Parameters
    ----------
    run_dir : str or Path
        A folder with ``fit/`` (required: ``partworths.csv``) and any of ``study.toml``,
        ``market.toml``, ``design/``, ``import/``, ``simulate/``, ``recommend/``, ``target/``.
    live : bool
        Load ``fit/fit.nc`` and ``market.toml`` for the live simulator sheets (and the study
        and sampler settings). A fit whose input files changed since fitting is still read; the
        change becomes a caveat on the summary.

    Returns
    -------
    ReportData

    Raises
    ------
    WinbackError
        No such folder, no ``fit/partworths.csv``, or an unreadable file (named).

    Examples
    --------
    >>> data = read_run_folder("winback-demo")  # doctest: +SKIP
    >>> data.offers.head()  # doctest: +SKIP
    """
    rf = RunFolder(run_dir)
    run = rf.root
    if not run.is_dir():
        raise WinbackError(f"no run folder at {run}.")
    partworths = _read_table(rf.file(FIT, "partworths.csv"))
    if partworths is None or partworths.empty:
        have = sorted(p.name for p in run.iterdir() if p.is_dir())
        raise WinbackError(
            f"{run} has no fit/partworths.csv: the workbook needs at least a fit "
            f"(winback fit ... --out {run / 'fit'}). Sub-folders found: {', '.join(have) or 'none'}."
        )
    notes: list[str] = []
    for stage, what in (
        (DESIGN, "design diagnostics"),
        (IMPORT, "data quality, exclusions and reasons for leaving"),
        (SIMULATE, "market shares, source of volume, price curves and willingness to pay"),
        (RECOMMEND, "recommended offers, tiers and the unbundled entry offer"),
    ):
        if not rf.has(stage):
            notes.append(f"No {stage.name}/ folder in the run: {what} are not in this workbook.")

    study: dict[str, Any] = {}
    fit_settings = draws = market = products = None
    fit_file = rf.file(FIT, "fit.nc")
    if live and fit_file.is_file():
        model = None
        try:
            model = load_model(fit_file)
        except WinbackError as exc:
            if "changed" not in str(exc):
                raise
            notes.append(f"An input file of the fit changed after fitting: {exc}")
            model = load_model(fit_file, check_sources=False)
        study = _study_info(model.study)
        s = model.settings
        fit_settings = {
            k: getattr(s, k)
            for k in (
                "draws",
                "tune",
                "chains",
                "random_seed",
                "covariance",
                "lkj_eta",
                "mu_scale",
                "sd_scale",
                "sampler",
            )
            if hasattr(s, k)
        }
        fit_settings["constraints"] = dict(getattr(s, "constraints", {}) or {})
        if rf.market_file.is_file():
            market = read_market(rf.market_file, model.study)
            products = _market_products(market)
            try:  # the stored draws of the live simulator, calibrated as the decision's
                draws = read_live_sample(rf, model, market)
            except WinbackError as exc:
                notes.append(f"The live simulator sheets are left out: {exc}")
        else:
            notes.append("No market.toml in the run: the live simulator sheets are left out.")
    elif not fit_file.is_file():
        notes.append("No fit/fit.nc in the run: the live simulator sheets are left out.")
    if not study and rf.study_file.is_file():
        study = _study_info(load_study(rf.study_file))
    if study.get("labels") and not rf.has(RECOMMEND):
        what = "recommended offers, tiers and the unbundled entry offer are not in this workbook."
        notes = [n.replace(what, f"{what[:-1]}: {labelled_searches(study)}") for n in notes]

    def f(stage: Stage, name: str) -> Path:
        return rf.file(stage, name)

    latent = None
    if rf.file(LATENT_CLASS, "latent_class.json").is_file():
        try:
            # lazy: the latent class model (scipy.special) loads only when the run has one
            from analysis.latent_class_io import load_latent_class

            latent = load_latent_class(rf.folder(LATENT_CLASS))
        except WinbackError as exc:
            notes.append(f"The Segments page is left out: {exc}")

    d, i, s_, r = DESIGN, IMPORT, SIMULATE, RECOMMEND
    return ReportData(
        partworths=partworths,
        study=study,
        fit_diagnostics=_read_json(f(FIT, "diagnostics.json")),
        fit_settings=fit_settings,
        convergence_text=_read_text(f(FIT, "convergence.txt")),
        importances=_read_table(f(FIT, "importances.csv")),
        population=_read_table(f(FIT, "population.csv")),
        validation=_read_validation(f(FIT, "validation.csv")),
        validation_record=_validation_record(rf),
        design_diagnostics=_read_json(f(d, "diagnostics.json")),
        design_text=_read_text(f(d, "diagnostics.txt")),
        level_balance=_read_table(f(d, "level_balance.csv")),
        respondents=_read_table(f(i, "respondents.csv"), all_text=True),
        exclusions=_read_table(f(i, "exclusions.csv")),
        quality=_read_table(f(i, "quality.csv")),
        reasons=_read_table(f(i, "reasons.csv")),
        reasons_text=_read_text(f(i, "reasons.txt")),
        import_summary=_read_json(f(i, "import.json")),
        shares=_read_table(f(s_, "shares.csv")),
        source_of_volume=_read_table(f(s_, "source_of_volume.csv")),
        price_curves=_read_table(f(s_, "price_curves.csv")),
        elasticities=_read_table(f(s_, "elasticities.csv")),
        wtp=_read_table(f(s_, "wtp.csv")),
        offers=_read_table(f(r, "offers.csv")),
        segments=_read_table(f(r, "segments.csv")),
        tiers=_read_table(f(r, "tiers.csv")),
        upgrade_paths=_read_table(f(r, "upgrade_paths.csv")),
        cannibalisation=_read_table(f(r, "cannibalisation.csv")),
        tiers_summary=_read_table(f(r, "tiers_summary.csv")),
        unbundling=_read_table(f(r, "unbundling.csv")),
        unbundling_summary=_read_table(f(r, "unbundling_summary.csv")),
        addons=_read_table(f(r, "addons.csv")),
        decision=_read_table(f(r, "decision.csv")),
        decision_sources=_read_table(f(r, "decision_sources.csv")),
        calibration=_read_table(f(r, "calibration.csv")),
        calibrated_shares=_read_table(f(s_, "calibrated_shares.csv")),
        simulate_calibration=_read_table(f(s_, "calibration.csv")),
        money=_read_table(f(s_, "money.csv")),
        simulate_settings=_settings(rf, SIMULATE),
        recommend_settings=_settings(rf, RECOMMEND),
        recommend_text=_read_text(f(r, "recommend.txt")),
        campaign=_read_table(f(TARGET, "campaign.csv")),
        campaign_summary=_read_table(f(TARGET, "campaign_summary.csv")),
        campaign_actions=_read_table(f(TARGET, "actions.csv")),
        campaign_settings=_settings(rf, TARGET),
        latent_class=latent,
        latent_class_selection=_read_table(f(LATENT_CLASS, "class_selection.csv")),
        latent_class_settings=_settings(rf, LATENT_CLASS) if latent is not None else {},
        maxdiff_population=_read_table(f(MAXDIFF, "population.csv")),
        maxdiff_convergence=_read_json(f(MAXDIFF, "convergence.json")),
        maxdiff_settings=_settings(rf, MAXDIFF),
        market_products=products,
        simulator_draws=draws,
        market=market,
        notes=tuple(notes),
        run_dir=str(run),
        simulate_band=_read_band(rf, SIMULATE),
        recommend_band=_read_band(rf, RECOMMEND),
        fit_band=_read_band(rf, FIT),
        reasons_band=_read_band(rf, IMPORT),
        campaign_band=_read_band(rf, TARGET),
        maxdiff_band=_read_band(rf, MAXDIFF),
    )
