"""Running one survey wave (``winback run``): import, fit (optionally with an earlier wave's
posterior as prior), simulate, recommend and report into ``waves/<W>/results/``, built in a
staging folder and renamed into place.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis import fit, load_model
from analysis.contrasts import map_levels, relabel_prior
from analysis.model import resolve_constraints
from analysis.offers import check_objective, own_product
from analysis.simulator import read_market
from conjoint.encoding import require_additive
from winback import __version__, pipeline
from winback._folders import staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.pipeline.maxdiff import (
    MAXDIFF_ANSWERS,
    find_maxdiff_answers,
    find_maxdiff_design,
    run_maxdiff,
)
from winback.run_folder import MAXDIFF
from winback.settings import BAND
from winback.study import load_study
from winback.waves.campaign import CUSTOMERS_FILE, check_campaign, run_campaign
from winback.waves.compare import _comparison_tables
from winback.waves.folder import (
    DESIGN_FILE,
    LEVEL_MAP_FILE,
    MARKET_FILE,
    RESPONDENTS_FILE,
    RESPONSES_FILE,
    RESULTS_DIR,
    STUDY_FILE,
    WAVE_RECORD,
    _level_map,
    _rel,
    _results,
    _sha,
    _study_dir,
    _wave_dir,
    list_waves,
    log,
    wave_study_path,
    waves_with_results,
)
from winback.waves.result import WaveRun

# --------------------------------------------------------------------------------------------
# Running a wave
# --------------------------------------------------------------------------------------------

#: ``compare_with`` default: the latest earlier wave with results when the report is written
LATEST = "latest"


def _resolve_prior(study: Path, wave: str, prior_from: str | None) -> str | None:
    if prior_from is None:
        return None
    done = [w for w in waves_with_results(study) if w != wave]
    if prior_from == "previous":
        order = list_waves(study)
        earlier = [w for w in done if order.index(w) < order.index(wave)]
        if not earlier:
            raise WinbackError(
                f"--prior previous: no wave before '{wave}' has results (waves with results: "
                f"{list_valid(done) or 'none'}); run the earlier wave first or drop the prior."
            )
        return earlier[-1]
    if prior_from == wave:
        raise WinbackError(f"wave '{wave}' cannot be its own prior; name an earlier wave.")
    if prior_from not in done:
        raise WinbackError(
            f"--prior-from {prior_from}: no results for wave '{prior_from}' in {study}"
            + did_you_mean(prior_from, done)
            + f". Waves with results: {list_valid(done) or 'none'}; or 'previous'."
        )
    return prior_from


def _the_design(study: Path, wave_dir: Path) -> Path | None:
    for p in (
        wave_dir / DESIGN_FILE,
        wave_dir / "design" / DESIGN_FILE,
        study / "design" / DESIGN_FILE,
    ):
        if p.is_file():
            return p
    return None


def _report_step(
    study: Path,
    wave: str,
    stage: Path,
    *,
    prior_record: dict[str, Any] | None,
    random_seed: int,
    compare_with: str | None = LATEST,
) -> dict[str, Any]:
    """The wave's leadership workbook, written inside the staging folder (so it is part of the
    atomic results), with a ``Wave comparison`` sheet against the latest earlier wave that has
    results (or against ``compare_with``; None: no comparison). A comparison that cannot be made (e.g. an unmapped renamed level) does not stop
    the wave: the workbook is written without that sheet and the reason is logged and
    recorded in ``wave.json``."""

    if compare_with == LATEST:
        order = list_waves(study)
        done = set(waves_with_results(study))
        earlier = [w for w in order[: order.index(wave)] if w in done] if wave in order else []
    else:
        earlier = [compare_with] if compare_with is not None else []
    info: dict[str, Any] = {"compared_with": None}
    tables = None
    if earlier:
        try:
            tables, _, notes = _comparison_tables(
                study,
                earlier[-1],
                wave,
                _results(study, earlier[-1]),
                stage,
                band=BAND,
                random_seed=random_seed,
                prior_b_record=prior_record,
            )
            info = {"compared_with": earlier[-1], "notes": notes}
        except WinbackError as exc:
            log.warning("wave %s: no wave comparison in the workbook: %s", wave, exc)
            info = {"compared_with": None, "comparison_error": str(exc)}
    report = pipeline.run_report(stage, wave_comparison=tables, force=True)
    info["workbook"] = _rel(report.workbook, stage)
    return info


@dataclass(frozen=True)
class _CheckedWave:
    """The inputs of one wave, checked before any work (:func:`check_wave`)."""

    study: Path
    wave_dir: Path
    results: Path
    responses: Path
    respondents: Path
    study_path: Path
    wave_study: Any
    market_path: Path
    has_market: bool
    design_path: Path | None
    customers: Path | None = None
    #: why the offer searches cannot run on this study (interactions, labels), else None
    no_search: str | None = None


def check_wave(
    study_dir: str | Path,
    wave: str,
    *,
    force: bool = False,
    prior_widen: float = 2.0,
    exclude_flags: Sequence[str] = (),
    constraints: str | Mapping[str, str] | None = None,
    objective: str | None = None,
    product: str | None = None,
    segment: str | None = None,
    max_contacts: int | None = None,
    budget: float | None = None,
    control_share: float = 0.1,
) -> _CheckedWave:
    """Every check of :func:`run_wave` that needs no work (the prior's aside): the wave, its
    responses, existing results without ``force``, the settings, the study and the market.
    Raises the :class:`WinbackError` the run would raise; writes nothing."""
    study = _study_dir(study_dir)
    wave_dir = _wave_dir(study, wave)
    results = wave_dir / RESULTS_DIR
    # every check that needs no work comes first: nothing is written when one fails
    if results.exists() and not force:
        raise WinbackError(
            f"wave '{wave}' already has results in {results}; nothing was changed. Pass "
            "--force to replace them (the old results stay until the new ones are complete)."
        )
    responses = wave_dir / RESPONSES_FILE
    if not responses.is_file():
        have = sorted(p.name for p in wave_dir.iterdir() if not p.name.startswith("."))
        raise WinbackError(
            f"wave '{wave}' has no {RESPONSES_FILE}: expected {responses} (winback import "
            f"format; see docs/responses.md). The folder holds: {list_valid(have) or 'nothing'}."
        )
    if not prior_widen > 0:
        raise WinbackError(f"prior_widen must be positive, got {prior_widen}.")
    pipeline.check_flag_names(exclude_flags)
    study_path = wave_study_path(study, wave)
    wave_study = load_study(study_path)
    resolve_constraints(wave_study, constraints)  # a misspelt name fails before any work
    market_path = study / MARKET_FILE
    has_market = market_path.is_file()
    if has_market:  # a bad market, product or objective fails now, not after the fit
        market = read_market(market_path, wave_study)
        try:
            own_product(market, product)
        except WinbackError as exc:
            raise WinbackError(
                f"{market_path}: {exc} Pass --product NAME to winback run."
            ) from None
        check_objective(
            objective or ("profit" if wave_study.costs is not None else "revenue"), wave_study
        )
    elif product is not None:
        raise WinbackError(
            f"--product {product!r} needs a market: the study folder has no {MARKET_FILE}."
        )
    design_path = _the_design(study, wave_dir)
    respondents = wave_dir / RESPONDENTS_FILE
    no_search = None
    if has_market:
        try:
            require_additive(wave_study, "winback recommend")
        except WinbackError as exc:
            no_search = str(exc)
            log.warning("wave %s: no recommend/ step: %s", wave, no_search)
    customers = check_campaign(
        wave_dir,
        wave,
        wave_study,
        has_market,
        no_search,
        segment=segment,
        max_contacts=max_contacts,
        budget=budget,
        control_share=control_share,
    )
    return _CheckedWave(
        study,
        wave_dir,
        results,
        responses,
        respondents,
        study_path,
        wave_study,
        market_path,
        has_market,
        design_path,
        customers,
        no_search,
    )


def run_wave(
    study_dir: str | Path,
    wave: str,
    *,
    force: bool = False,
    prior_from: str | None = None,
    prior_widen: float = 2.0,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
    random_seed: int = 1,
    covariance: str = "full",
    covariates: Sequence[str] | None = None,
    constraints: str | Mapping[str, str] | None = None,
    sampler: str = "nutpie",
    backend: str = "numba",
    exclude_flags: Sequence[str] = (),
    segment: str | None = None,
    objective: str | None = None,
    product: str | None = None,
    max_contacts: int | None = None,
    budget: float | None = None,
    control_share: float = 0.1,
    progress: bool | str = False,
    compare_with: str | None = LATEST,
) -> WaveRun:
    """Run the whole pipeline for one survey wave into ``waves/<wave>/results/``.

    Imports ``waves/<wave>/responses.csv`` (and ``respondents.csv``) with quality flags and
    reasons for leaving, fits HB part-worths, and with a ``market.toml`` in the study folder
    simulates the market and recommends offers, exactly as ``winback import``, ``fit``,
    ``simulate`` and ``recommend`` do, and with a CRM list ``waves/<wave>/lost_customers.csv``
    (and ``[business]``) plans the campaign as ``winback target`` does, into one results folder
    (the run-folder layout): ``study.toml`` and ``market.toml`` (copies of those used),
    ``import/``, ``fit/``, ``simulate/``, ``recommend/``, ``target/``, ``report/`` and
    ``wave.json`` (inputs with SHA-256, prior, settings, winback version, times).

    The results are built in a hidden staging folder and renamed into place when complete.
    Existing results make the call fail before any work unless ``force``; then they are
    replaced only once the new ones are complete. An error or interruption leaves the wave's
    earlier results (and every other wave) as they were.

    Parameters
    ----------
    study_dir : str or Path
    wave : str
        A folder under ``waves/``.
    force : bool
        Replace the wave's existing results.
    prior_from : str, optional
        A wave with results whose population posterior becomes this fit's prior (its
        population mean and covariance, the standard deviations widened by ``prior_widen``),
        or ``"previous"``: the latest earlier wave with results. Levels are matched by label
        and through ``level_map.toml``; the parameters must correspond one to one.
    prior_widen : float
        Widening factor of the prior's standard deviations (2.0: a quarter of the weight).
    draws, tune, chains, random_seed : int
        HB sampler settings.
    covariance, covariates, constraints, sampler, backend
        As for :func:`analysis.fit` (``covariates``: respondent column names).
    exclude_flags : sequence of str
        Leave out respondents with these quality flags (e.g. ``random_responder``), recorded in
        ``import/exclusions.csv``.
    segment : str, optional
        A respondent column for shares and best offers by segment (e.g. ``main_reason``).
    objective : {"share", "revenue", "profit"}, optional
        Of the offer search (default: profit with ``[costs]``, else revenue).
    product : str, optional
        The own product the recommended offer replaces; required when the market has several
        own products (checked before any work).
    max_contacts, budget, control_share : optional
        The campaign's limits and control group, as for ``winback target`` (only with a CRM
        list in the wave folder; a limit without one is an error).
    progress : bool
    compare_with : str, optional
        The earlier wave the workbook's ``Wave comparison`` sheet is against: ``"latest"``
        (the default: the latest earlier wave with results), a wave id, or None (no sheet).

    Returns
    -------
    WaveRun

    Raises
    ------
    WinbackError
        Unknown wave, missing responses, existing results without ``force``, an unknown prior
        wave, levels that do not map onto the prior's, a bad market file, ...

    Examples
    --------
    >>> from winback.waves import run_wave
    >>> run = run_wave("broadband-study", "w2", prior_from="previous")  # doctest: +SKIP
    >>> run.record["prior"]["widen"]  # doctest: +SKIP
    2.0
    """

    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    c = check_wave(
        study_dir,
        wave,
        force=force,
        prior_widen=prior_widen,
        exclude_flags=exclude_flags,
        constraints=constraints,
        objective=objective,
        product=product,
        segment=segment,
        max_contacts=max_contacts,
        budget=budget,
        control_share=control_share,
    )
    study, results, responses = c.study, c.results, c.responses
    study_path, wave_study, market_path = c.study_path, c.wave_study, c.market_path
    has_market, design_path, respondents = c.has_market, c.design_path, c.respondents
    prior_wave = _resolve_prior(study, wave, prior_from)
    prior = None
    prior_record: dict[str, Any] | None = None
    if prior_wave is not None:
        prior_fit = _results(study, prior_wave) / "fit" / "fit.nc"
        earlier = load_model(prior_fit)
        level_map, map_path = _level_map(study)
        mapping = map_levels(
            earlier.study,
            wave_study,
            level_map,
            wave_a=prior_wave,
            wave_b=wave,
            source=str(map_path or study / LEVEL_MAP_FILE),
        )
        prior = relabel_prior(earlier, mapping, wave_study)
        prior_record = {
            "wave": prior_wave,
            "fit": _rel(prior_fit, study),
            "sha256": _sha(prior_fit),
            "widen": float(prior_widen),
            "renamed": [list(r) for r in mapping.renamed],
            "what": "the earlier wave's posterior of the population mean (its mean and "
            "covariance, standard deviations x widen) is the prior of this wave's population "
            "mean",
        }
    # the reasons' MaxDiff answers beside the responses: imported, then fitted (maxdiff/)
    md_input = find_maxdiff_answers(responses)
    inputs = {
        "study.toml": study_path,
        "responses.csv": responses,
        **({"respondents.csv": respondents} if respondents.is_file() else {}),
        **({"design.csv": design_path} if design_path is not None else {}),
        **({MAXDIFF_ANSWERS: md_input} if md_input is not None else {}),
        **({"market.toml": market_path} if has_market else {}),
        **({CUSTOMERS_FILE: c.customers} if c.customers is not None else {}),
        **(
            {"level_map.toml": study / LEVEL_MAP_FILE}
            if prior is not None and (study / LEVEL_MAP_FILE).is_file()
            else {}
        ),
    }
    hashes = {k: _sha(p) for k, p in inputs.items()}

    with staged_output(results, force=force) as stage:
        atomic_write_text(stage / STUDY_FILE, study_path.read_text(encoding="utf-8-sig"))
        if has_market:
            atomic_write_text(stage / MARKET_FILE, market_path.read_text(encoding="utf-8-sig"))
        imp = pipeline.run_import(wave_study, responses, stage / "import", design=design_path)
        data = imp.dataset
        if segment is not None and segment not in data.respondents.columns:
            valid = [c for c in data.respondents.columns if not str(c).startswith("_")]
            raise WinbackError(
                f"--segment {segment!r}: no such respondent column in wave '{wave}'"
                f"{did_you_mean(segment, valid)} Valid: {list_valid(valid)}."
            )
        if exclude_flags:
            data = pipeline.exclude_flagged(data, exclude_flags, source="winback run")
            write_csv(data.exclusions, stage / "import" / "exclusions.csv")
        md_run = None
        md_answers = find_maxdiff_answers(stage / "import" / RESPONSES_FILE)
        if md_answers is not None:
            # the same respondents (exclusions included) and sampler settings as the conjoint
            md_run = run_maxdiff(
                wave_study,
                md_answers,
                stage / MAXDIFF.name,
                design=find_maxdiff_design(responses, design_path),
                exclude=data.excluded_ids,
                draws=draws,
                tune=tune,
                chains=chains,
                random_seed=random_seed,
                sampler=sampler,
                backend=backend,
                progress=progress,
                force=True,
            )
        model = fit(
            data,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            covariance=covariance,
            covariates=covariates,
            constraints=constraints,
            sampler=sampler,
            backend=backend,
            prior=prior,
            prior_widen=prior_widen,
            progress=progress,
        )
        fit_run = pipeline.write_fit(model, stage / "fit", started=t0)
        sim_run = rec_run = target_run = None
        if has_market:
            sim_run = pipeline.run_simulate(
                stage / STUDY_FILE,
                stage / "fit",
                stage / MARKET_FILE,
                stage / "simulate",
                segment=segment,
                random_seed=random_seed,
            )
        if has_market and c.no_search is None:
            rec_run = pipeline.run_recommend(
                stage / STUDY_FILE,
                stage / "fit",
                stage / MARKET_FILE,
                stage / "recommend",
                objective=objective,
                product=product,
                segment=segment,
                random_seed=random_seed,
            )
        if c.customers is not None:
            target_run = run_campaign(
                stage,
                c.customers,
                segment=segment,
                max_contacts=max_contacts,
                budget=budget,
                control_share=control_share,
                random_seed=random_seed,
            )
        report_info = _report_step(
            study,
            wave,
            stage,
            prior_record=prior_record,
            random_seed=random_seed,
            compare_with=compare_with,
        )
        changed = [k for k, p in inputs.items() if _sha(p) != hashes[k]]
        if changed:
            raise WinbackError(
                f"input file(s) {list_valid(changed)} changed while wave '{wave}' ran; "
                "nothing was written. Run again."
            )
        record = {
            "wave": wave,
            "study_dir": str(study),
            "winback_version": __version__,
            "started_at": started,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - t0, 2),
            "inputs": {k: {"path": _rel(p, study), "sha256": hashes[k]} for k, p in inputs.items()},
            "prior": prior_record,
            "settings": {
                "draws": draws,
                "tune": tune,
                "chains": chains,
                "random_seed": random_seed,
                "exclude_flags": list(exclude_flags),
                "segment": segment,
                "objective": objective,
                "product": product,
                **(
                    {
                        "max_contacts": max_contacts,
                        "budget": budget,
                        "control_share": control_share,
                    }
                    if c.customers is not None
                    else {}
                ),
                "sampler": model.settings.sampler,
                "backend": model.settings.backend,
                "covariance": model.settings.covariance,
                "covariates": list(model.settings.covariates),
                "constraints": dict(model.settings.constraints),
            },
            "respondents": {
                "analysed": len(model.respondent_ids),
                "excluded": len(data.exclusions),
            },
            "convergence": fit_run.convergence.verdict,
            **({"maxdiff_convergence": md_run.convergence.verdict} if md_run is not None else {}),
            "stages": ["import"]
            + (["maxdiff"] if md_run is not None else [])
            + ["fit"]
            + (["simulate"] if has_market else [])
            + (["recommend"] if has_market and c.no_search is None else [])
            + (["target"] if c.customers is not None else [])
            + ["report"],
            "report": report_info,
            **({"skipped": {"recommend": c.no_search}} if has_market and c.no_search else {}),
        }
        record["files"] = [
            *sorted(_rel(p, stage) for p in stage.rglob("*") if p.is_file()),
            WAVE_RECORD,
        ]
        write_json(record, stage / WAVE_RECORD)
    log.info("wave %s: results in %s", wave, results)
    return WaveRun(
        wave,
        study,
        results,
        imp,
        fit_run,
        sim_run,
        rec_run,
        prior_wave,
        record,
        target_run=target_run,
    )
