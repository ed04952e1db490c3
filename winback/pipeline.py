"""The pipeline that chains the stages; the command line and notebooks both call these."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conjoint.design import ChoiceDesign, make_assignments, make_design
from conjoint.diagnostics import DesignDiagnostics, inspect_design
from conjoint.export import write_design_csv, write_qualtrics_design, write_sawtooth_design
from winback._folders import check_output_dir, check_output_file, staged_output
from winback._io import atomic_write_text, check_outputs_free, write_csv, write_json
from winback.errors import WinbackError, list_valid
from winback.settings import BAND
from winback.study import Study, load_study

log = logging.getLogger("winback")

DESIGN_FILES = (
    "design.csv",
    "design_sawtooth.csv",
    "design_qualtrics.csv",
    "diagnostics.json",
    "diagnostics.txt",
    "level_balance.csv",
    "versions.csv",
    "qualtrics_questions.txt",
    "qualtrics_embedded_data.csv",
    "questionnaire.md",
)


@dataclass(frozen=True)
class DesignRun:
    design: ChoiceDesign
    diagnostics: DesignDiagnostics
    out: Path
    files: tuple[Path, ...]


def run_design(
    study: Study,
    out: str | Path,
    *,
    force: bool = False,
    method: str | None = None,
    versions: int | None = None,
    random_seed: int | None = None,
    max_seconds: float | None = None,
    n_respondents: int = 300,
    target_se: float = 0.05,
    assign: int | None = None,
    progress: bool = False,
    study_text: str | None = None,
) -> DesignRun:
    """Make a design, diagnose it and write every design file into ``out``.

    Files: ``design.csv`` (winback's long format), ``design_sawtooth.csv``,
    ``design_qualtrics.csv``, ``diagnostics.json``, ``diagnostics.txt``, ``level_balance.csv``,
    ``qualtrics_status_quo_rules.csv`` (a status quo filled per respondent: the survey-flow
    rules that set its ``CBC_SQ_*`` fields), ``study.toml`` (the study used, when its text is
    known) and, with ``assign``,
    ``assignments.csv`` (versions and shuffled display order per respondent). Refuses to
    overwrite earlier files unless ``force``; the folder is replaced as a whole once complete.
    """
    out = check_output_dir(out, force=force, owned=DESIGN_OWNED)
    design = make_design(
        study,
        method=method,
        versions=versions,
        random_seed=random_seed,
        max_seconds=max_seconds,
        progress=progress,
    )
    diag = inspect_design(design, n_respondents=n_respondents, target_se=target_se)
    with staged_output(out, force=force, owned=DESIGN_OWNED) as stage:
        names = _write_design(design, diag, stage, study, study_text, assign)
    return DesignRun(design, diag, out, tuple(out / n for n in names))


DESIGN_OWNED = (*DESIGN_FILES, "qualtrics_status_quo_rules.csv", "study.toml", "assignments.csv")


def _write_design(
    design: ChoiceDesign,
    diag: DesignDiagnostics,
    out: Path,
    study: Study,
    study_text: str | None,
    assign: int | None,
) -> list[str]:
    """Every design file into ``out`` (a staging folder); the names written."""
    files = [
        write_design_csv(design, out / "design.csv"),
        write_sawtooth_design(design, out / "design_sawtooth.csv"),
        write_qualtrics_design(design, out / "design_qualtrics.csv"),
    ]
    write_json(diag.to_dict(), out / "diagnostics.json")
    atomic_write_text(out / "diagnostics.txt", diag.report() + "\n")
    write_csv(diag.level_balance, out / "level_balance.csv")
    files += [out / "diagnostics.json", out / "diagnostics.txt", out / "level_balance.csv"]
    # fielding elsewhere: a generic versions file, Qualtrics questions and embedded data, and a
    # question list to paste anywhere
    from surveys.fielding import (
        write_qualtrics_embedded_data,
        write_qualtrics_questions,
        write_question_list,
        write_versions_csv,
    )
    from surveys.questionnaire import default_questionnaire

    questionnaire = study.questionnaire or default_questionnaire(study)
    files += [
        write_versions_csv(design, out / "versions.csv"),
        write_qualtrics_questions(questionnaire, out / "qualtrics_questions.txt"),
        write_qualtrics_embedded_data(design, out / "qualtrics_embedded_data.csv"),
        write_question_list(questionnaire, out / "questionnaire.md"),
    ]
    own_sq = study.status_quo is not None and study.status_quo.per_respondent
    if own_sq:  # each respondent's own plan: the survey-flow rules that set CBC_SQ_*
        from surveys.fielding import write_qualtrics_status_quo_rules

        rules = out / "qualtrics_status_quo_rules.csv"
        files.append(write_qualtrics_status_quo_rules(study, rules))
    if study_text is not None:
        atomic_write_text(out / "study.toml", study_text)
        files.append(out / "study.toml")
    if assign:
        write_csv(make_assignments(design, assign), out / "assignments.csv")
        files.append(out / "assignments.csv")
    return [Path(f).name for f in files]


@dataclass(frozen=True)
class DemoRun:
    design_run: DesignRun
    import_run: ImportRun
    out: Path
    truth: Any  # the simulated respondents' true part-worths (DataFrame)
    planted: dict[str, list[str]]  # respondents planted as random responders and speeders
    fit_run: FitRun | None = None
    simulate_run: SimulateRun | None = None
    recommend_run: RecommendRun | None = None
    report_run: ReportRun | None = None


def simulate_fieldwork(
    design: ChoiceDesign,
    true_means: dict[str, float],
    true_sd: dict[str, float],
    n_respondents: int,
    *,
    random_seed: int,
    random_share: float = 0.04,
    speeder_share: float = 0.02,
) -> tuple[Any, Any, Any, dict[str, list[str]]]:
    """Simulated lost customers answering the questionnaire and the conjoint.

    Part-worths differ by why people left (those who left over a price rise are 40% more price
    sensitive; those who left over outages value the outage guarantee twice as much), so
    segment analyses have something real to find. A share of respondents answer the conjoint at
    random and a share rush through the survey, as in real fieldwork; they are returned so that
    the quality flags can be checked against them.

    Returns (choices, respondents, true part-worths, planted).
    """
    import numpy as np
    import pandas as pd

    from conjoint.encoding import parameter_names
    from conjoint.simulate import simulate_choices
    from surveys.questionnaire import simulate_respondents

    study = design.study
    rng = np.random.default_rng(random_seed)
    people = simulate_respondents(study, n_respondents, random_seed=random_seed)
    ids = people["respondent_id"].astype(str).tolist()
    names = parameter_names(study)
    mean = np.array([true_means[n] for n in names])
    sd = np.array([true_sd[n] for n in names])
    betas = mean + rng.standard_normal((len(ids), len(names))) * sd
    if "price" in names and "reason_price_rise" in people:
        betas[people["reason_price_rise"].to_numpy(dtype=float) == 1, names.index("price")] *= 1.4
    credit = [n for n in names if n.startswith("outage_credit[")]
    if credit and "reason_outages" in people:
        rows = people["reason_outages"].to_numpy(dtype=float) == 1
        for c in credit:
            betas[rows, names.index(c)] *= 2.0
    truth = pd.DataFrame(betas, index=pd.Index(ids, name="respondent_id"), columns=names)
    own_sq = study.status_quo is not None and study.status_quo.per_respondent
    choices = simulate_choices(design, truth, random_seed, respondents=people if own_sq else None)
    assert isinstance(choices, pd.DataFrame)
    # random responders: every task answered uniformly at random
    n_random = round(random_share * len(ids))
    random_ids = sorted(rng.choice(ids, size=n_random, replace=False).tolist())
    mask = choices["respondent_id"].isin(random_ids)
    sub = choices[mask]
    n_alt = sub.groupby(["respondent_id", "task"]).size().iloc[0] if len(sub) else 0
    if len(sub):
        picks = rng.integers(0, n_alt, size=len(sub) // n_alt)
        chosen = (np.arange(n_alt)[None, :] == picks[:, None]).astype(int).ravel()
        choices.loc[mask, "chosen"] = chosen
    # speeders: a fraction of the median interview length
    others = [r for r in ids if r not in set(random_ids)]
    n_speed = round(speeder_share * len(ids))
    speeder_ids = sorted(rng.choice(others, size=n_speed, replace=False).tolist())
    if "duration_seconds" in people:
        median = float(pd.to_numeric(people["duration_seconds"]).median())
        people = people.copy()
        people["duration_seconds"] = people["duration_seconds"].astype("Float64")
        sel = people["respondent_id"].isin(speeder_ids)
        people.loc[sel, "duration_seconds"] = np.round(
            rng.uniform(0.1, 0.25, size=int(sel.sum())) * median
        )
    return choices, people, truth, {"random_responders": random_ids, "speeders": speeder_ids}


def check_flag_names(names: Any) -> None:
    """Refuse quality-flag names that do not exist, listing the valid ones."""
    from surveys.quality import FLAG_COLUMNS

    unknown = [f for f in names if f not in FLAG_COLUMNS]
    if unknown:
        raise WinbackError(
            f"unknown quality flag(s) {list_valid(unknown)}; valid: {list_valid(FLAG_COLUMNS)}."
        )


def exclude_flagged(data: Any, names: Any, *, source: str, reason: str | None = None) -> Any:
    """The dataset with the respondents carrying any of the quality flags ``names`` excluded
    (recorded with the flag as reason, or ``reason``); ``data`` must have been flagged."""
    flags = data.flags
    assert flags is not None, "flag_quality first"
    for flag in names:
        ids = flags.loc[flags[flag].fillna(False).astype(bool), "respondent_id"].tolist()
        if ids:
            data = data.exclude(ids, reason or f"quality flag: {flag}", source=source)
    return data


def run_demo(
    out: str | Path = "winback-demo",
    *,
    force: bool = False,
    progress: bool = False,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
) -> DemoRun:
    """The whole pipeline on the embedded example study.

    The study, its design and diagnostics (``design/``), simulated fieldwork
    (``fieldwork/``: 500 lost customers answering the questionnaire and the conjoint, with some
    random responders and speeders), its import (``import/``: validated canonical files,
    quality flags, why they left) and the HB fit (``fit/``), with the random responders
    excluded (recorded in ``import/exclusions.csv``), then the market simulator on the example
    market (``market.toml``, ``simulate/``: shares by main reason for leaving, source of volume,
    price curves, elasticities, willingness to pay) and the recommendations (``recommend/``: the
    profit-best offers overall and by reason for leaving, good/better/best tiers, the unbundled
    entry offer with add-ons) and the leadership workbook with its plots (``report/``).
    """
    final = check_output_dir(out, force=force, owned=DEMO_ENTRIES)
    with staged_output(final, force=force, owned=DEMO_ENTRIES) as out:
        run = _demo_into(out, progress=progress, draws=draws, tune=tune, chains=chains)
    if final.exists():
        log.info("demo written to %s", final)
    return _moved(run, out, final)


DEMO_ENTRIES = (
    "study.toml",
    "market.toml",
    "design",
    "fieldwork",
    "import",
    "fit",
    "simulate",
    "recommend",
    "report",
)


def _moved(run: Any, old: Path, new: Path) -> Any:
    """``run`` (a frozen run record) with every path under ``old`` moved under ``new``."""
    import dataclasses

    def move(v: Any) -> Any:
        if isinstance(v, Path):
            try:
                return new / v.relative_to(old)
            except ValueError:
                return v
        if isinstance(v, tuple):
            return tuple(move(x) for x in v)
        if (
            dataclasses.is_dataclass(v)
            and not isinstance(v, type)
            and type(v).__module__ == __name__
        ):
            return dataclasses.replace(
                v, **{f.name: move(getattr(v, f.name)) for f in dataclasses.fields(v)}
            )
        return v

    return move(run)


def _demo_into(out: Path, *, progress: bool, draws: int, tune: int, chains: int) -> DemoRun:
    from winback.example import example_study_text, make_example_study

    ex = make_example_study()
    study = ex.study
    atomic_write_text(out / "study.toml", example_study_text())
    log.info("wrote the example study to %s", out / "study.toml")
    design_run = run_design(study, out / "design", force=True, n_respondents=500, progress=progress)
    choices, people, truth, planted = simulate_fieldwork(
        design_run.design, ex.true_means, ex.true_sd, 500, random_seed=study.design.seed
    )
    field = out / "fieldwork"
    field.mkdir(parents=True, exist_ok=True)
    write_csv(choices, field / "responses.csv")
    write_csv(people, field / "respondents.csv")
    log.info("simulated fieldwork: %d lost customers in %s", len(people), field)
    import_run = run_import(
        study, field / "responses.csv", out / "import", design=design_run.design, force=True
    )
    # the researcher's decision, recorded: leave out respondents indistinguishable from random
    data = import_run.dataset
    data = exclude_flagged(
        data,
        ["random_responder"],
        source="winback demo",
        reason="random responder (RLH below the simulated-random cutoff)",
    )
    write_csv(data.exclusions, out / "import" / "exclusions.csv")
    from analysis import fit

    model = fit(
        data,
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=study.design.seed,
        progress=progress,
    )
    fit_run = write_fit(model, out / "fit")
    # the market the lost customers face today, simulated with bands, by main reason for leaving
    from importlib.resources import files

    market_text = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    atomic_write_text(out / "market.toml", market_text)
    sim_run = run_simulate(
        out / "study.toml",
        out / "fit",
        out / "market.toml",
        out / "simulate",
        segment="main_reason",
    )
    # what should we offer? the best offer (by reason for leaving too), tiers and unbundling
    rec_run = run_recommend(
        out / "study.toml",
        out / "fit",
        out / "market.toml",
        out / "recommend",
        segment="main_reason",
    )
    # the leadership workbook and its plots (report/)
    report_run = run_report(out)
    return DemoRun(
        design_run, import_run, out, truth, planted, fit_run, sim_run, rec_run, report_run
    )


IMPORT_FILES = (
    "responses.csv",
    "respondents.csv",
    "exclusions.csv",
    "quality.csv",
    "reasons.csv",
    "reasons.txt",
    "import.json",
)


@dataclass(frozen=True)
class ImportRun:
    dataset: Any
    reasons: Any
    out: Path
    files: tuple[Path, ...]


def _read(
    study: Study,
    responses: str | Path,
    format: str,
    design: ChoiceDesign | None,
    respondents: str | Path | None,
) -> Any:
    """Read and validate responses in any format into a ChoiceDataset."""
    from surveys import read_responses

    options: dict[str, Any] = {}
    if format == "qualtrics" and study.questionnaire is not None:
        # translate Qualtrics' choice numbers back into the questionnaire's codes
        options["questionnaire"] = study.questionnaire
    return read_responses(
        responses, study, format=format, design=design, respondents=respondents, **options
    )


def _load_design(path: str | Path | None, study: Study) -> ChoiceDesign | None:
    if path is None:
        return None
    from conjoint.export import read_design_csv

    p = Path(path)
    return read_design_csv(p / "design.csv" if p.is_dir() else p, study)


def run_import(
    study: Study,
    responses: str | Path,
    out: str | Path,
    *,
    format: str = "winback",
    design: str | Path | ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    force: bool = False,
    random_seed: int = 0,
) -> ImportRun:
    """Read, validate and quality-flag responses; write canonical files and the reasons summary.

    Files in ``out``: ``responses.csv`` and ``respondents.csv`` (canonical), ``exclusions.csv``,
    ``quality.csv`` (one row of flags per respondent), ``reasons.csv`` and ``reasons.txt`` (why
    they left), ``import.json`` (counts, flags, source files and their SHA-256).
    """
    from surveys.quality import flag_quality
    from surveys.reasons import summarize_reasons

    out = check_output_dir(out, force=force, owned=IMPORT_FILES, need_bytes=_input_bytes(responses))
    design_obj = design if isinstance(design, ChoiceDesign) else _load_design(design, study)
    data = _read(study, responses, format, design_obj, respondents)
    data = flag_quality(data, design=design_obj, random_seed=random_seed)
    reasons = summarize_reasons(data)
    with staged_output(out, force=force, owned=IMPORT_FILES) as stage:
        names = _write_import(data, reasons, stage, format)
    return ImportRun(data, reasons, out, tuple(out / n for n in names))


def _input_bytes(path: str | Path) -> int:
    """About what an import of ``path`` writes: twice the file (canonical copies, flags)."""
    try:
        return 2 * os.path.getsize(path) + (1 << 20)
    except (OSError, TypeError):  # a database URL or a missing file (reported by the reader)
        return 1 << 20


def _write_import(data: Any, reasons: Any, out: Path, format: str) -> list[str]:
    import pandas as pd

    from surveys.quality import rlh_calibration

    write_csv(data.choices, out / "responses.csv")
    write_csv(data.respondents, out / "respondents.csv")
    write_csv(data.exclusions, out / "exclusions.csv")
    flags = data.flags
    if flags is not None:
        write_csv(flags, out / "quality.csv")
    write_csv(reasons.shares, out / "reasons.csv")
    atomic_write_text(out / "reasons.txt", reasons.report() + "\n")
    summary = data.summary()
    if flags is not None:
        summary["flags"] = {
            c: int(flags[c].sum()) for c in flags.columns if pd.api.types.is_bool_dtype(flags[c])
        }
        # the random-responder cutoff, its false-flag and detection rates on this design
        summary["random_responder_check"] = rlh_calibration(flags)
    summary["sources"] = dict(data.sources)
    summary["format"] = format
    write_json(summary, out / "import.json")
    return [n for n in IMPORT_FILES if (out / n).exists()]


FIT_FILES = (
    "partworths.csv",
    "fit.nc",
    "diagnostics.json",
    "convergence.txt",
    "importances.csv",
    "population.csv",
)


@dataclass(frozen=True)
class FitRun:
    model: Any
    convergence: Any
    out: Path
    files: tuple[Path, ...]


def run_fit(
    study: Study,
    responses: str | Path,
    out: str | Path,
    *,
    format: str = "winback",
    design: str | Path | ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
    random_seed: int = 1,
    covariance: str = "full",
    constraints: str = "none",
    exclude_flags: list[str] | tuple[str, ...] = (),
    sampler: str = "nutpie",
    force: bool = False,
    progress: bool = False,
) -> FitRun:
    """Read responses, fit HB part-worths and write the fit folder.

    Files: ``partworths.csv`` (``respondent_id,attribute,level,utility``, posterior means),
    ``fit.nc`` (the posterior and everything needed to reload the model),
    ``diagnostics.json`` (``rhat_max``, ``ess_bulk_min``, ``divergences``, ``seconds`` and the
    convergence verdict), ``convergence.txt``, ``importances.csv``, ``population.csv``.
    """
    import time

    from analysis import fit
    from surveys.quality import flag_quality

    t0 = time.perf_counter()
    out = check_output_dir(out, force=force, owned=FIT_FILES)
    check_flag_names(exclude_flags)
    design_obj = design if isinstance(design, ChoiceDesign) else _load_design(design, study)
    data = _read(study, responses, format, design_obj, respondents)
    if exclude_flags:
        data = flag_quality(data, design=design_obj)
        data = exclude_flagged(data, exclude_flags, source="winback fit --exclude")
    # room for the posterior (fit.nc: chains x draws x respondents x parameters, 8 bytes each)
    from conjoint.encoding import parameter_names

    n_params = len(parameter_names(study))
    need = 8 * chains * draws * (data.n_respondents + 2) * n_params * 2 + (8 << 20)
    check_output_dir(out, force=force, owned=FIT_FILES, need_bytes=need)
    model = fit(
        data,
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=random_seed,
        covariance=covariance,
        constraints=None if constraints == "none" else constraints,
        sampler=sampler,
        progress=progress,
    )
    return write_fit(model, out, started=t0, force=force)


def write_fit(
    model: Any, out: str | Path, *, started: float | None = None, force: bool = False
) -> FitRun:
    """Write a fitted model's folder (see :func:`run_fit`), replacing it as a whole once
    complete (earlier fit files only with ``force``); ``started`` times the whole run."""
    from analysis.convergence import convergence_report

    out = check_output_dir(out, force=force, owned=FIT_FILES)
    conv = convergence_report(model)
    with staged_output(out, force=force, owned=FIT_FILES) as stage:
        names = _write_fit_files(model, conv, stage, started)
    return FitRun(model, conv, out, tuple(out / n for n in names))


def _write_fit_files(model: Any, conv: Any, out: Path, started: float | None) -> list[str]:
    import time

    from analysis.io import save_model
    from analysis.results import importances, population

    write_csv(model.partworths(), out / "partworths.csv")
    save_model(model, out / "fit.nc")
    write_csv(importances(model), out / "importances.csv")
    write_csv(population(model), out / "population.csv")
    atomic_write_text(out / "convergence.txt", conv.report() + "\n")
    seconds = time.perf_counter() - started if started is not None else model.seconds_
    diag = {**conv.to_dict(), "seconds": seconds, "fit_seconds": model.seconds_}
    write_json(diag, out / "diagnostics.json")
    return [n for n in FIT_FILES if (out / n).exists()]


def run_predict(
    fit_dir: str | Path, responses: str | Path, out: str | Path, *, force: bool = False
) -> Path:
    """Add each alternative's predicted probability (column ``probability``) to responses."""
    from analysis.io import load_model
    from analysis.results import predict
    from surveys import read_responses

    out = check_output_file(out, force=force, option="--out")
    fit_dir = Path(fit_dir)
    model = load_model(fit_dir / "fit.nc" if fit_dir.is_dir() else fit_dir)
    data = read_responses(responses, model.study)
    write_csv(predict(model, data), out)
    return out


# --------------------------------------------------------------------------------------------
# Simulation (issue 5)
# --------------------------------------------------------------------------------------------

SIMULATE_FILES = (
    "shares.csv",
    "source_of_volume.csv",
    "price_curves.csv",
    "elasticities.csv",
    "wtp.csv",
    "settings.json",
)


def _load_fit_for(study_path: str | Path, fit_dir: str | Path) -> Any:
    """The fitted model in ``fit_dir``, checked against the study file given."""
    from analysis.io import load_model

    study = load_study(study_path)
    fit_dir = Path(fit_dir)
    model = load_model(fit_dir / "fit.nc" if fit_dir.is_dir() else fit_dir)
    mine = [(a.name, a.level_labels(), a.coding) for a in study.attributes]
    theirs = [(a.name, a.level_labels(), a.coding) for a in model.study.attributes]
    if mine != theirs:
        raise WinbackError(
            f"{study_path} does not match the study the fit in {fit_dir} was made with "
            f"(attributes, levels or coding differ): refit, or pass the study file of that fit."
        )
    return model


@dataclass(frozen=True)
class SimulateRun:
    simulation: Any
    shares: Any
    source_of_volume: Any
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
    interval: float = 0.9,
    random_seed: int = 1,
    force: bool = False,
) -> SimulateRun:
    """``winback simulate``: shares with bands, source of volume of each own product, price
    curves and elasticities, willingness to pay for changes to each own product.

    Writes ``shares.csv`` (``[segment, n_respondents,] product, own, share, lower, upper``),
    ``source_of_volume.csv`` (for each own product: where its customers would otherwise go,
    i.e. the market without it against the market with it), ``price_curves.csv``,
    ``elasticities.csv``, ``wtp.csv`` and ``settings.json`` (``band``: the probability of the
    bands) into ``out``.
    """
    import pandas as pd

    from analysis.pricing import market_wtp, price_curve, price_elasticities
    from analysis.simulator import PartWorthDraws, read_market, simulate, source_of_volume

    out = check_output_dir(out, force=force, owned=SIMULATE_FILES)
    model = _load_fit_for(study_path, fit_dir)
    draws = PartWorthDraws.from_model(model)
    market = read_market(market_path, model.study)
    for column in (weights, segment):  # a misspelt column fails before the search
        if column is not None:
            draws.column(column)
    sim = simulate(
        draws, market, weights=weights, segment=segment, interval=interval, random_seed=random_seed
    )
    sov_parts = []
    for prod in market.products:
        if not prod.own or len(market.products) < 2:
            continue
        before = simulate(
            draws,
            market.without(prod.name),
            weights=weights,
            interval=interval,
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
    tables: dict[str, Any] = {"shares.csv": sim.shares, "source_of_volume.csv": sov}
    if model.study.price_attribute is not None:
        curves, wtps = [], []
        for prod in market.products:
            c = price_curve(
                draws,
                market,
                prod.name,
                weights=weights,
                interval=interval,
                random_seed=random_seed,
            )
            c.insert(0, "product", prod.name)
            curves.append(c)
            if prod.own:
                wt = market_wtp(draws, market, prod.name, weights=weights, interval=interval)
                wt.insert(0, "product", prod.name)
                wtps.append(wt)
        tables["price_curves.csv"] = pd.concat(curves, ignore_index=True)
        tables["elasticities.csv"] = price_elasticities(
            draws, market, weights=weights, interval=interval, random_seed=random_seed
        )
        if wtps:
            tables["wtp.csv"] = pd.concat(wtps, ignore_index=True)
    with staged_output(out, force=force, owned=SIMULATE_FILES) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        write_json({"band": float(interval)}, stage / "settings.json")
    names = [*tables, "settings.json"]
    return SimulateRun(sim, sim.shares, sov, out, tuple(out / n for n in names))


# --------------------------------------------------------------------------------------------
# Recommendation: offer search, tiers, unbundling (issue 5)
# --------------------------------------------------------------------------------------------

RECOMMEND_FILES = (
    "offers.csv",
    "segments.csv",
    "tiers.csv",
    "upgrade_paths.csv",
    "cannibalisation.csv",
    "tiers_summary.csv",
    "unbundling.csv",
    "unbundling_summary.csv",
    "addons.csv",
    "recommend.txt",
    "settings.json",
)


@dataclass(frozen=True)
class RecommendRun:
    offers: Any  # analysis.search.OfferSearch
    tiers: Any  # analysis.tiers.TierSearch or None
    unbundling: Any  # analysis.tiers.Unbundling or None
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
    interval: float = BAND,
    random_seed: int = 1,
    force: bool = False,
) -> RecommendRun:
    """``winback recommend``: the best offer (replacing the own product), good/better/best tiers
    and an unbundled entry offer with add-ons, each with posterior bands.

    ``objective`` defaults to profit when the study has ``[costs]``, revenue otherwise.
    ``tier_features`` default to every non-price attribute; ``components`` (what may be taken
    out of the bundle and sold as add-ons) to :func:`default_components`. ``interval`` is the
    probability of every band, recorded in ``settings.json`` (``band``) beside the tables.
    """
    from analysis.search import check_objective, optimize_offer, own_product
    from analysis.simulator import PartWorthDraws, read_market
    from analysis.tiers import optimize_tiers, unbundle

    out = check_output_dir(out, force=force, owned=RECOMMEND_FILES)
    model = _load_fit_for(study_path, fit_dir)
    study = model.study
    if objective is None:
        objective = "profit" if study.costs is not None else "revenue"
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
        interval=interval,
        random_seed=random_seed,
    )
    tables: dict[str, Any] = {"offers.csv": offers.offers}
    if offers.segments is not None:
        tables["segments.csv"] = offers.segments
    tiers = unb = None
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
            interval=interval,
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
                interval=interval,
                random_seed=random_seed,
            )
            for name, frame in (
                ("unbundling.csv", unb.table),
                ("unbundling_summary.csv", unb.summary),
                ("addons.csv", unb.addons),
            ):
                tables[name] = frame
    report = RecommendRun(offers, tiers, unb, out, ()).report()
    with staged_output(out, force=force, owned=RECOMMEND_FILES) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        atomic_write_text(stage / "recommend.txt", report + "\n")
        write_json({"band": float(interval)}, stage / "settings.json")
    names = [*tables, "recommend.txt", "settings.json"]
    return RecommendRun(offers, tiers, unb, out, tuple(out / n for n in names))


# --------------------------------------------------------------------------------------------
# The leadership workbook (issue 6)
# --------------------------------------------------------------------------------------------

REPORT_WORKBOOK = "winback_report.xlsx"
REPORT_PLOTS = ("importances.png", "price_curves.png", "tier_shares.png")


@dataclass(frozen=True)
class ReportRun:
    """What ``run_report`` wrote: the workbook, the plots beside it, and the data shown."""

    data: Any  # reports.workbook.ReportData
    workbook: Path
    out: Path  # the folder holding the workbook and the plots
    files: tuple[Path, ...]

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.files)
        return f"ReportRun: {self.workbook} ({len(self.files)} files in {self.out}/: {names})"


def run_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    wave_comparison: dict[str, Any] | None = None,
    force: bool = False,
) -> ReportRun:
    """``winback report``: the leadership workbook of a run folder, and its summary plots.

    Parameters
    ----------
    run_dir : str or Path
        A run folder (``winback demo``'s, or one the other commands wrote into): ``fit/`` is
        required; ``design/``, ``import/``, ``simulate/``, ``recommend/``, ``study.toml`` and
        ``market.toml`` are used when present.
    out : str or Path, optional
        The workbook (default ``run_dir/report/winback_report.xlsx``). The plots
        (``importances.png``, ``price_curves.png``, ``tier_shares.png``, each when its data is
        there) are written beside it.
    wave_comparison : dict of str to DataFrame, optional
        Tables comparing survey waves (a sheet added by ``reports.waves_sheet``).
    force : bool
        Replace an earlier workbook and plots.

    Returns
    -------
    ReportRun

    Examples
    --------
    >>> run = run_report("winback-demo")  # doctest: +SKIP
    >>> run.workbook  # doctest: +SKIP
    PosixPath('winback-demo/report/winback_report.xlsx')
    """
    from reports.plots import plot_importances, plot_price_curves, plot_tier_shares
    from reports.workbook import read_run_folder, write_workbook

    run = Path(run_dir)
    workbook = Path(out) if out is not None else run / "report" / REPORT_WORKBOOK
    folder = workbook.parent
    own_folder = out is None  # the default report/ folder is replaced as a whole
    if own_folder:
        check_output_dir(folder, force=force, owned=REPORT_OWNED)
    else:
        check_output_file(workbook, force=force, option="--out")
    data = read_run_folder(run)
    currency = str(data.study.get("currency") or "")
    plots: list[tuple[str, Any]] = []
    if data.importances is not None and not data.importances.empty:
        plots.append((REPORT_PLOTS[0], lambda: plot_importances(data.importances)))
    if data.price_curves is not None and not data.price_curves.empty:
        plots.append(
            (REPORT_PLOTS[1], lambda: plot_price_curves(data.price_curves, currency=currency))
        )
    if data.tiers is not None and not data.tiers.empty:
        plots.append((REPORT_PLOTS[2], lambda: plot_tier_shares(data.tiers, currency=currency)))
    if not own_folder:
        check_outputs_free([workbook, *(folder / name for name, _ in plots)], force)

    def write(into: Path) -> None:
        from io import BytesIO

        from winback._io import atomic_write_bytes

        write_workbook(into / workbook.name, data, wave_comparison=wave_comparison, force=force)
        for name, make in plots:
            buf = BytesIO()
            make().savefig(buf, format="png", dpi=150)
            atomic_write_bytes(into / name, buf.getvalue())

    if own_folder:
        with staged_output(folder, force=force, owned=REPORT_OWNED) as stage:
            write(stage)
    else:  # a workbook path of the user's choosing: file by file, each atomic
        folder.mkdir(parents=True, exist_ok=True)
        write(folder)
    files = [workbook, *(folder / name for name, _ in plots)]
    return ReportRun(data, workbook, folder, tuple(files))


REPORT_OWNED = (REPORT_WORKBOOK, *REPORT_PLOTS)
