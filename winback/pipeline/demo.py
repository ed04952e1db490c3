"""``winback demo``: the whole pipeline on the embedded example study, in one run folder."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd

from analysis import fit
from surveys.fieldwork import simulate_fieldwork
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv
from winback.example import example_study_text, make_example_study
from winback.example_crm import DEMO_COVARIATES, crm_from_fieldwork
from winback.example_outcomes import REAL_NONE_SHIFT, REAL_SCALE, simulate_campaign_results
from winback.pipeline.design import DesignRun, run_design
from winback.pipeline.fit import FitRun, write_fit
from winback.pipeline.latent import LatentClassRun, fit_latent_classes
from winback.pipeline.market import SimulateRun, run_simulate
from winback.pipeline.maxdiff import MaxDiffRun, run_maxdiff
from winback.pipeline.recommend import RecommendRun, run_recommend
from winback.pipeline.report import ReportRun, run_report
from winback.pipeline.responses import ImportRun, exclude_flagged, run_import
from winback.pipeline.target import TargetRun, run_target
from winback.run_folder import (
    CRM,
    DESIGN,
    FIELDWORK,
    FIT,
    IMPORT,
    LATENT_CLASS,
    MARKET_FILE,
    MAXDIFF,
    RECOMMEND,
    REPORT,
    SIMULATE,
    STUDY_FILE,
    TARGET,
    RunFolder,
    write_record,
)

log = logging.getLogger("winback")

#: posterior draws the demo's campaign scores (evenly thinned from the fit's 8,000): on all of
#: them the 20,000 customers took 42 s of CPU, on 2,000 13 s (2026-12-06, imports included)
TARGET_DRAWS = 2000

#: the numbers of latent classes the demo compares (BIC chooses among them)
DEMO_CLASSES = (2, 3, 4)

#: what a demo folder holds (and replaces as a whole with --force)
DEMO_ENTRIES = (
    STUDY_FILE,
    MARKET_FILE,
    DESIGN.name,
    FIELDWORK.name,
    IMPORT.name,
    MAXDIFF.name,
    FIT.name,
    LATENT_CLASS.name,
    SIMULATE.name,
    RECOMMEND.name,
    CRM.name,
    TARGET.name,
    REPORT.name,
    "run.json",
)


@dataclass(frozen=True)
class DemoRun:
    """Every stage of the demo, as the stages returned them."""

    design_run: DesignRun
    import_run: ImportRun
    out: Path
    truth: pd.DataFrame  # the simulated respondents' true part-worths
    planted: dict[str, list[str]]  # respondents planted as random responders and speeders
    fit_run: FitRun | None = None
    simulate_run: SimulateRun | None = None
    recommend_run: RecommendRun | None = None
    report_run: ReportRun | None = None
    target_run: TargetRun | None = None
    crm_truth: pd.DataFrame | None = None  # every CRM customer's true stated part-worths
    latent_class_run: LatentClassRun | None = None
    maxdiff_run: MaxDiffRun | None = None


def run_demo(
    out: str | Path = "winback-demo",
    *,
    force: bool = False,
    progress: bool = False,
    draws: int = 2000,
    tune: int = 1500,
    chains: int = 4,
    n_customers: int = 20_000,
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
    entry offer with add-ons), the CRM list (``crm/lost_customers.csv``: ``n_customers`` lost
    customers, the respondents among them, the others simulated from the same population) and
    the campaign for it (``target/``: each customer's best action, a control group), and the
    leadership workbook with its plots (``report/``). The fit's population mean depends on the
    reasons for leaving the CRM list carries (``DEMO_COVARIATES``), so the customers who did
    not answer get predictions that depend on why they left. Each
    stage folder has its ``run.json``; the folder's own ``run.json`` records the demo's
    settings.
    """
    final = check_output_dir(out, force=force, owned=DEMO_ENTRIES)
    with staged_output(final, force=force, owned=DEMO_ENTRIES) as staging:
        run = _demo_into(
            staging,
            progress=progress,
            draws=draws,
            tune=tune,
            chains=chains,
            n_customers=n_customers,
        )
    if final.exists():
        log.info("demo written to %s", final)
    return _moved(run, staging, final)


def _moved[Run](run: Run, old: Path, new: Path) -> Run:
    """``run`` (a frozen run record) with every path under ``old`` moved under ``new``."""

    def move(v: object) -> object:
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
            and type(v).__module__.startswith("winback.pipeline.")
        ):
            return dataclasses.replace(
                v, **{f.name: move(getattr(v, f.name)) for f in dataclasses.fields(v)}
            )
        return v

    moved = move(run)
    return moved  # type: ignore[return-value]


def _demo_into(
    out: Path, *, progress: bool, draws: int, tune: int, chains: int, n_customers: int
) -> DemoRun:
    folder = RunFolder(out)
    ex = make_example_study()
    study = ex.study
    atomic_write_text(folder.study_file, example_study_text())
    log.info("wrote the example study to %s", folder.study_file)
    design_run = run_design(
        study, folder.folder(DESIGN), force=True, n_respondents=500, progress=progress
    )
    work = simulate_fieldwork(
        design_run.design,
        ex.true_means,
        ex.true_sd,
        500,
        random_seed=study.design.seed,
        maxdiff_design=design_run.maxdiff,
    )
    choices, people, truth, planted = work
    field = folder.folder(FIELDWORK)
    field.mkdir(parents=True, exist_ok=True)
    write_csv(choices, folder.file(FIELDWORK, "responses.csv"))
    write_csv(people, folder.file(FIELDWORK, "respondents.csv"))
    if work.maxdiff is not None:  # the reasons' MaxDiff, beside responses.csv: imported with it
        write_csv(work.maxdiff, folder.file(FIELDWORK, "maxdiff.csv"))
    write_record(
        field,
        "simulate_fieldwork",
        {"n_respondents": 500, "random_seed": study.design.seed},
        study,
    )
    log.info("simulated fieldwork: %d lost customers in %s", len(people), field)
    import_run = run_import(
        study,
        folder.file(FIELDWORK, "responses.csv"),
        folder.folder(IMPORT),
        design=design_run.design,
        force=True,
    )
    # the researcher's decision, recorded: leave out respondents indistinguishable from random
    data = exclude_flagged(
        import_run.dataset,
        ["random_responder"],
        source="winback demo",
        reason="random responder (RLH below the simulated-random cutoff)",
    )
    write_csv(data.exclusions, folder.file(IMPORT, "exclusions.csv"))
    # the reasons' MaxDiff (the same respondents, the same sampler settings): maxdiff/
    md_run = run_maxdiff(
        study,
        folder.file(IMPORT, "maxdiff.csv"),
        folder.folder(MAXDIFF),
        design=folder.file(DESIGN, "maxdiff_design.csv"),
        exclude=data.excluded_ids,
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=study.design.seed,
        progress=progress,
        force=True,
    )
    model = fit(
        data,
        draws=draws,
        tune=tune,
        chains=chains,
        covariates=list(DEMO_COVARIATES),
        random_seed=study.design.seed,
        progress=progress,
    )
    fit_run = write_fit(model, folder.folder(FIT), exclude_flags=["random_responder"])
    # segments leadership can name: latent classes of the same choices (2 to 4, chosen by BIC),
    # their shares by reason for leaving, so the CRM list's customers get a class too
    lc_run = fit_latent_classes(
        data,
        folder.folder(LATENT_CLASS),
        classes=DEMO_CLASSES,
        covariates=list(DEMO_COVARIATES),
        random_seed=study.design.seed,
        exclude_flags=["random_responder"],
        force=True,
    )
    # the market the lost customers face today, simulated with bands, by main reason for leaving
    market_text = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    atomic_write_text(folder.market_file, market_text)
    sim_run = run_simulate(
        folder.study_file,
        folder.folder(FIT),
        folder.market_file,
        folder.folder(SIMULATE),
        segment="main_reason",
    )
    # what should we offer? the best offer (by reason for leaving too), tiers and unbundling
    rec_run = run_recommend(
        folder.study_file,
        folder.folder(FIT),
        folder.market_file,
        folder.folder(RECOMMEND),
        segment="main_reason",
    )
    # the CRM list: the respondents among lost customers simulated from the same population
    crm = crm_from_fieldwork(
        study,
        people,
        truth,
        true_means=ex.true_means,
        true_sd=ex.true_sd,
        n_customers=n_customers,
        random_seed=study.design.seed,
    )
    folder.folder(CRM).mkdir(parents=True, exist_ok=True)
    crm_file = folder.file(CRM, "lost_customers.csv")
    write_csv(crm.customers, crm_file)
    write_record(
        folder.folder(CRM),
        "crm_from_fieldwork",
        {
            "n_customers": n_customers,
            "random_seed": study.design.seed,
            "real_scale": REAL_SCALE,
            "real_none_shift": REAL_NONE_SHIFT,
        },
        study,
    )
    log.info("simulated CRM list: %d lost customers in %s", n_customers, crm_file)
    # whom to win back with which action (target/)
    target_run = run_target(
        folder.study_file,
        out,
        crm_file,
        folder.folder(TARGET),
        segment="main_reason",
        n_draws=TARGET_DRAWS,
    )
    # what the campaign would do under a known real behaviour (stated x 0.6, none + 1.0): the
    # results a CRM team reports afterwards, for `winback outcomes` (crm/campaign_results.csv)
    outcome = simulate_campaign_results(
        study,
        crm.stated,
        target_run.campaign.table,
        list(target_run.candidates),
        target_run.customers,
        random_seed=study.design.seed,
    )
    write_csv(outcome.results, folder.file(CRM, "campaign_results.csv"))
    log.info(
        "simulated the campaign's outcome (real behaviour: stated x %.1f, none + %.1f) in %s",
        outcome.real_scale,
        outcome.real_none_shift,
        folder.file(CRM, "campaign_results.csv"),
    )
    # the leadership workbook and its plots (report/)
    report_run = run_report(out)
    write_record(
        out,
        "demo",
        {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "n_respondents": 500,
            "covariates": list(DEMO_COVARIATES),
            "n_customers": n_customers,
        },
        study,
    )
    return DemoRun(
        design_run,
        import_run,
        out,
        truth,
        planted,
        fit_run,
        sim_run,
        rec_run,
        report_run,
        target_run,
        crm.stated,
        lc_run,
        md_run,
    )
