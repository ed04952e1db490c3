"""Survey waves: one study folder, one results folder per wave, comparisons between waves.

Layout (see ``docs/waves.md``)::

    STUDY_DIR/
      study.toml              the study (a wave may carry its own: waves/<W>/study.toml)
      market.toml             optional: then every wave is simulated and offers recommended
      design/design.csv       optional: every task is checked against it (or waves/<W>/design.csv)
      level_map.toml          optional: [attribute] "old label" = "new label" across waves
      waves.toml              optional: order = ["first", "second", ...] (default: natural order)
      waves/<W>/responses.csv (+ respondents.csv)   the wave's answers (winback import format)
      waves/<W>/results/      written by run_wave: study.toml, market.toml, import/, fit/,
                              simulate/, recommend/, wave.json
      comparisons/<A>_vs_<B>/ written by compare_waves

A wave's ``results/`` is built in a hidden staging folder beside it and renamed into place only
when complete: an interrupted or failing run leaves no partial results and never touches
earlier ones; an existing ``results/`` is only replaced with ``force``, and only once the new
one is complete.

Examples
--------
>>> from winback.waves import run_wave, compare_waves
>>> run_wave("broadband-study", "w1")  # doctest: +SKIP
>>> run_wave("broadband-study", "w2", prior_from="previous", prior_widen=2.0)  # doctest: +SKIP
>>> compare_waves("broadband-study")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import re
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from winback._folders import staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.settings import BAND, band_label, resolve_band

log = logging.getLogger("winback")

STUDY_FILE = "study.toml"
MARKET_FILE = "market.toml"
LEVEL_MAP_FILE = "level_map.toml"
WAVES_FILE = "waves.toml"
WAVES_DIR = "waves"
RESULTS_DIR = "results"
COMPARISONS_DIR = "comparisons"
RESPONSES_FILE = "responses.csv"
RESPONDENTS_FILE = "respondents.csv"
DESIGN_FILE = "design.csv"
WAVE_RECORD = "wave.json"
COMPARISON_FILES = (
    "partworths.csv",
    "importances.csv",
    "wtp.csv",
    "reasons.csv",
    "offers.csv",
    "comparison.txt",
    "comparison.xlsx",
    "comparison.json",
)

_WAVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


# --------------------------------------------------------------------------------------------
# The study folder
# --------------------------------------------------------------------------------------------


def _natural_key(text: str) -> list[Any]:
    return [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", text) if t]


def _study_dir(study_dir: str | Path) -> Path:
    p = Path(study_dir)
    if not p.is_dir():
        raise WinbackError(
            f"no study folder at {p}: expected a folder holding {STUDY_FILE} and "
            f"{WAVES_DIR}/<wave>/{RESPONSES_FILE} (see docs/waves.md)."
        )
    if not (p / STUDY_FILE).is_file():
        raise WinbackError(
            f"{p} holds no {STUDY_FILE}: a study folder needs the study file at its top "
            f"({p / STUDY_FILE})."
        )
    return p


def _found_waves(study: Path) -> list[str]:
    root = study / WAVES_DIR
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if p.is_dir() and _WAVE_ID.match(p.name)]


def list_waves(study_dir: str | Path) -> list[str]:
    """The study folder's waves, in order.

    Every folder under ``waves/`` (names of letters, digits, ``.``, ``_`` and ``-``; hidden
    folders are ignored), in natural order (``w2`` before ``w10``) or in the order of
    ``waves.toml`` (``order = ["spring", "autumn"]``), which must then list every wave.

    Examples
    --------
    >>> from winback.waves import list_waves
    >>> list_waves("broadband-study")  # doctest: +SKIP
    ['w1', 'w2']
    """
    study = _study_dir(study_dir)
    found = sorted(_found_waves(study), key=_natural_key)
    path = study / WAVES_FILE
    if not path.is_file():
        return found
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WinbackError(f"{path} is not valid TOML: {exc}") from None
    unknown = [k for k in data if k != "order"]
    if unknown:
        raise WinbackError(
            f"{path}: unknown key(s) {list_valid(unknown)}"
            + did_you_mean(unknown[0], ["order"])
            + "; valid: order."
        )
    order = data.get("order")
    if not isinstance(order, list) or not all(isinstance(w, str) for w in order):
        raise WinbackError(f'{path}: order must be a list of wave ids, e.g. order = ["w1", "w2"].')
    problems = []
    missing = [w for w in order if w not in found]
    if missing:
        problems.append(
            f"it lists {list_valid(missing)}, which have no folder under {study / WAVES_DIR}"
        )
    unlisted = [w for w in found if w not in order]
    if unlisted:
        problems.append(f"it does not list {list_valid(unlisted)}")
    if len(set(order)) != len(order):
        problems.append("it lists a wave twice")
    if problems:
        raise WinbackError(
            f"{path}: " + "; ".join(problems) + f". Waves found: {list_valid(found) or 'none'}."
        )
    return list(order)


def _results(study: Path, wave: str) -> Path:
    return study / WAVES_DIR / wave / RESULTS_DIR


def waves_with_results(study_dir: str | Path) -> list[str]:
    """The waves (in order) whose ``results/`` are complete (hold ``wave.json``)."""
    study = _study_dir(study_dir)
    return [w for w in list_waves(study) if (_results(study, w) / WAVE_RECORD).is_file()]


def _wave_dir(study: Path, wave: str) -> Path:
    waves = list_waves(study)
    if not _WAVE_ID.match(wave):
        raise WinbackError(
            f"'{wave}' is not a valid wave id: use letters, digits, '.', '_' and '-' (not "
            f"first). Waves in {study / WAVES_DIR}: {list_valid(waves) or 'none'}."
        )
    if wave not in waves:
        raise WinbackError(
            f"no wave '{wave}' in {study}: expected the folder {study / WAVES_DIR / wave} "
            f"holding {RESPONSES_FILE}."
            + did_you_mean(wave, waves)
            + f" Waves: {list_valid(waves) or 'none yet'}."
        )
    return study / WAVES_DIR / wave


def wave_study_path(study_dir: str | Path, wave: str) -> Path:
    """The study file a wave uses: its own ``waves/<W>/study.toml``, else the study folder's."""
    study = _study_dir(study_dir)
    own = study / WAVES_DIR / wave / STUDY_FILE
    return own if own.is_file() else study / STUDY_FILE


def read_level_map(path: str | Path) -> dict[str, dict[str, str]]:
    """Read ``level_map.toml``: one table per attribute, ``"old label" = "new label"``.

    ``"old label" = ""`` says the level was dropped in a later wave. Labels are matched as
    text (numbers as the study writes them: ``"30"``, ``"1.5"``).

    Examples
    --------
    >>> read_level_map("level_map.toml")  # doctest: +SKIP
    {'support': {'24/7': '24/7 priority'}}
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise WinbackError(f"level map not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WinbackError(f"{path} is not valid TOML: {exc}") from None
    problems = []
    out: dict[str, dict[str, str]] = {}
    for attr, table in data.items():
        if not isinstance(table, dict):
            problems.append(
                f"'{attr}' must be a table of renamed levels, e.g. [{attr}] "
                f'"old label" = "new label"; got {table!r}'
            )
            continue
        out[attr] = {}
        for old, new in table.items():
            if isinstance(new, int | float) and not isinstance(new, bool):
                new = str(new)
            if not isinstance(new, str):
                problems.append(f'[{attr}] "{old}" must map to a label (text), got {new!r}')
                continue
            out[attr][str(old)] = new
    if problems:
        raise WinbackError(f"{path}: " + "; ".join(problems) + ".")
    return out


def _level_map(study: Path) -> tuple[dict[str, dict[str, str]], Path | None]:
    path = study / LEVEL_MAP_FILE
    return (read_level_map(path), path) if path.is_file() else ({}, None)


def _sha(path: Path) -> str:
    from surveys.responses import file_sha256

    return file_sha256(path)


def _rel(path: Path, study: Path) -> str:
    try:
        return path.relative_to(study).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Running a wave
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveRun:
    """What :func:`run_wave` did: the pipeline's runs and the complete results folder.

    ``record`` is the content of ``wave.json``. The runs' paths point into the staging folder
    the results were built in; ``results`` is where they are now.
    """

    wave: str
    study_dir: Path
    results: Path
    import_run: Any
    fit_run: Any
    simulate_run: Any = None
    recommend_run: Any = None
    prior_from: str | None = None
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.results.rglob("*") if p.is_file())

    def report(self) -> str:
        lines = [
            f"wave {self.wave}: results in {self.results}/ "
            f"({len(self.files)} files, {self.record.get('seconds', 0):.0f} s)"
        ]
        prior = self.record.get("prior")
        if prior:
            lines.append(
                f"  prior: wave {prior['wave']}'s population posterior, widened x{prior['widen']:g}"
            )
        else:
            lines.append("  prior: none (winback's default weakly informative prior)")
        lines.append(f"  {self.fit_run.model!r}".replace("\n", "\n  "))
        lines.append(f"  convergence: {self.fit_run.convergence.verdict}")
        stages = ["import/", "fit/"]
        if self.simulate_run is not None:
            stages.append("simulate/")
        if self.recommend_run is not None:
            stages.append("recommend/")
        rep = self.record.get("report") or {}
        if rep.get("workbook"):
            stages.append(str(rep["workbook"]))
            if rep.get("compared_with"):
                stages[-1] += f" (with a comparison against wave {rep['compared_with']})"
            elif rep.get("comparison_error"):
                stages[-1] += f" (no wave comparison: {rep['comparison_error']})"
        lines.append("  written: " + ", ".join(stages) + f", {WAVE_RECORD}")
        lines.append(
            f"  next: winback compare-waves {self.study_dir}"
            if len(waves_with_results(self.study_dir)) > 1
            else "  next: run the next wave, then winback compare-waves"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


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
) -> dict[str, Any]:
    """The wave's leadership workbook, written inside the staging folder (so it is part of the
    atomic results), with a ``Wave comparison`` sheet against the latest earlier wave that has
    results. A comparison that cannot be made (e.g. an unmapped renamed level) does not stop
    the wave: the workbook is written without that sheet and the reason is logged and
    recorded in ``wave.json``."""
    from winback import pipeline

    order = list_waves(study)
    done = set(waves_with_results(study))
    earlier = [w for w in order[: order.index(wave)] if w in done] if wave in order else []
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
    exclude_flags: Sequence[str] = (),
    segment: str | None = None,
    objective: str | None = None,
    product: str | None = None,
    progress: bool = False,
) -> WaveRun:
    """Run the whole pipeline for one survey wave into ``waves/<wave>/results/``.

    Imports ``waves/<wave>/responses.csv`` (and ``respondents.csv``) with quality flags and
    reasons for leaving, fits HB part-worths, and with a ``market.toml`` in the study folder
    simulates the market and recommends offers, exactly as ``winback import``, ``fit``,
    ``simulate`` and ``recommend`` do, into one results folder (the run-folder layout):
    ``study.toml`` and ``market.toml`` (copies of those used), ``import/``, ``fit/``,
    ``simulate/``, ``recommend/`` and ``wave.json`` (inputs with SHA-256, prior, settings,
    winback version, times).

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
    progress : bool

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
    from analysis import fit, load_model
    from analysis.contrasts import map_levels, relabel_prior
    from analysis.offers import check_objective, own_product
    from analysis.simulator import read_market
    from winback import __version__, pipeline
    from winback.study import load_study

    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
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
    inputs = {
        "study.toml": study_path,
        "responses.csv": responses,
        **({"respondents.csv": respondents} if respondents.is_file() else {}),
        **({"design.csv": design_path} if design_path is not None else {}),
        **({"market.toml": market_path} if has_market else {}),
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
        model = fit(
            data,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            prior=prior,
            prior_widen=prior_widen,
            progress=progress,
        )
        fit_run = pipeline.write_fit(model, stage / "fit", started=t0)
        sim_run = rec_run = None
        if has_market:
            sim_run = pipeline.run_simulate(
                stage / STUDY_FILE,
                stage / "fit",
                stage / MARKET_FILE,
                stage / "simulate",
                segment=segment,
                random_seed=random_seed,
            )
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
        report_info = _report_step(
            study, wave, stage, prior_record=prior_record, random_seed=random_seed
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
                "sampler": model.settings.sampler,
                "covariance": model.settings.covariance,
            },
            "respondents": {
                "analysed": len(model.respondent_ids),
                "excluded": len(data.exclusions),
            },
            "convergence": fit_run.convergence.verdict,
            "stages": ["import", "fit"]
            + (["simulate", "recommend"] if has_market else [])
            + ["report"],
            "report": report_info,
        }
        record["files"] = [
            *sorted(_rel(p, stage) for p in stage.rglob("*") if p.is_file()),
            WAVE_RECORD,
        ]
        write_json(record, stage / WAVE_RECORD)
    log.info("wave %s: results in %s", wave, results)
    return WaveRun(wave, study, results, imp, fit_run, sim_run, rec_run, prior_wave, record)


# --------------------------------------------------------------------------------------------
# Comparing waves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveComparison:
    """How two waves differ: one contrast table per topic and a summary in words.

    ``tables``: ``partworths``, ``importances``, ``wtp``, ``reasons``, ``offers`` (those that
    apply), each as :func:`analysis.contrasts.contrast_table` returns it.
    """

    wave_a: str
    wave_b: str
    tables: dict[str, Any]
    mapping: Any
    band: float
    out: Path | None = None
    files: tuple[Path, ...] = ()
    summary: str = ""

    def __repr__(self) -> str:
        return self.summary


def _read_table(path: Path) -> Any:
    import pandas as pd

    from winback._io import unescape_frame

    return unescape_frame(pd.read_csv(path, dtype=str, keep_default_na=False))


def _reasons(results: Path) -> Any:
    import pandas as pd

    path = results / "import" / "reasons.csv"
    if not path.is_file():
        return None
    t = _read_table(path)
    for c in ("n_selected", "n"):
        t[c] = pd.to_numeric(t[c])
    return t


def _best_offer(results: Path, study: Any, name: str) -> Any:
    from analysis.contrasts import offer_from_row

    path = results / "recommend" / "offers.csv"
    if not path.is_file():
        return None
    t = _read_table(path)
    if t.empty:
        return None
    return offer_from_row(t.iloc[0].to_dict(), study, name)


def _fmt(x: float, pct: bool = False) -> str:
    import math

    if not math.isfinite(x):
        return "-"
    return f"{x:.1%}" if pct else f"{x:.3g}"


def _summary(
    wave_a: str,
    wave_b: str,
    tables: dict[str, Any],
    mapping: Any,
    band: float,
    notes: list[str],
) -> str:
    lines = [
        f"Wave {wave_b} against wave {wave_a}: posterior contrasts ({wave_b} minus {wave_a}), "
        f"{band_label(band)}s.",
        "The waves are independent samples: each difference pairs the two posteriors' draws.",
    ]
    titles = {
        "partworths": ("Part-worths (population means)", ("parameter",)),
        "importances": ("Importances (percent)", ("attribute",)),
        "wtp": ("Willingness to pay", ("attribute", "level")),
        "reasons": ("Reasons for leaving (share of customers)", ("label",)),
        "offers": ("Recommended offers", ("offer", "measure")),
    }
    for key, (title, cols) in titles.items():
        t = tables.get(key)
        if t is None:
            continue
        lines += ["", f"{title}:"]
        clear = t[t["verdict"].astype(str).str.startswith(("rose", "fell", "only"))]
        for _, r in clear.iterrows():
            name = " ".join(str(r[c]) for c in cols)
            p = key == "reasons" or (key == "offers" and r.get("measure") == "share")
            lines.append(
                f"  {name}: {_fmt(r['estimate_a'], p)} -> {_fmt(r['estimate_b'], p)}, "
                f"difference {_fmt(r['difference'], p)} [{_fmt(r['lower'], p)}, "
                f"{_fmt(r['upper'], p)}], P(rose) {_fmt(r['prob_increase'], True)}: "
                f"{r['verdict']}"
            )
        rest = len(t) - len(clear)
        if rest:
            lines.append(f"  no clear change: {rest} other{'s' if rest != 1 else ''}")
    if notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in notes]
    if mapping.renamed or mapping.dropped:
        lines += ["", repr(mapping)]
    return "\n".join(lines)


def _comparison_tables(
    study: Path,
    wave_a: str,
    wave_b: str,
    ra: Path,
    rb: Path,
    *,
    band: float,
    random_seed: int,
    prior_b_record: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Any, list[str]]:
    """The contrast tables of wave B against wave A from their results folders ``ra``, ``rb``
    (``rb`` may still be a wave's staging folder), the level mapping and notes in words."""
    from analysis import load_model
    from analysis.contrasts import (
        importance_contrasts,
        map_levels,
        map_offer,
        offer_contrasts,
        partworth_contrasts,
        reason_contrasts,
        relabel_draws,
        wtp_contrasts,
    )
    from analysis.simulator import PartWorthDraws, read_market

    model_a = load_model(ra / "fit" / "fit.nc")
    model_b = load_model(rb / "fit" / "fit.nc")
    level_map, map_path = _level_map(study)
    mapping = map_levels(
        model_a.study,
        model_b.study,
        level_map,
        wave_a=wave_a,
        wave_b=wave_b,
        source=str(map_path or study / LEVEL_MAP_FILE),
    )
    tables: dict[str, Any] = {
        "partworths": partworth_contrasts(
            model_a, model_b, mapping, band=band, random_seed=random_seed
        ),
        "importances": importance_contrasts(
            model_a, model_b, mapping, band=band, random_seed=random_seed
        ),
    }
    notes = []
    if model_b.study.price_attribute is not None:
        tables["wtp"] = wtp_contrasts(model_a, model_b, mapping, band=band, random_seed=random_seed)
    reasons_a, reasons_b = _reasons(ra), _reasons(rb)
    if reasons_a is not None and reasons_b is not None and len(reasons_a) and len(reasons_b):
        tables["reasons"] = reason_contrasts(
            reasons_a,
            reasons_b,
            wave_a=wave_a,
            wave_b=wave_b,
            band=band,
            random_seed=random_seed,
        )
    best_a = _best_offer(ra, model_a.study, f"best offer of {wave_a}")
    best_b = _best_offer(rb, model_b.study, f"best offer of {wave_b}")
    if best_a is not None and best_b is not None and (rb / MARKET_FILE).is_file():
        market = read_market(rb / MARKET_FILE, model_b.study)
        offers = [map_offer(best_a, mapping), best_b]
        if dict(offers[0].levels) == dict(best_b.levels):
            offers = [type(best_b)(f"best offer of {wave_a} and {wave_b}", best_b.levels)]
            notes.append(
                f"the recommended offer is the same in both waves: {best_b.describe(model_b.study)}."
            )
        else:
            notes.append(
                f"the recommended offer changed: {wave_a}: {offers[0].describe(model_b.study)}; "
                f"{wave_b}: {best_b.describe(model_b.study)}."
            )
        tables["offers"] = offer_contrasts(
            relabel_draws(model_a, mapping, model_b.study),
            PartWorthDraws.from_model(model_b),
            market,
            offers,
            wave_a=wave_a,
            wave_b=wave_b,
            band=band,
            random_seed=random_seed,
        )
        notes.append(
            f"offers are simulated in wave {wave_b}'s market ({rb / MARKET_FILE}) for both "
            "waves' customers, so only their preferences differ."
        )
    elif best_a is None or best_b is None:
        notes.append("no recommended offers to compare (a wave was run without market.toml).")
    record_b = rb / WAVE_RECORD
    prior_b = (
        json.loads(record_b.read_text(encoding="utf-8")).get("prior")
        if record_b.is_file()
        else prior_b_record
    )
    if prior_b:
        notes.append(
            f"wave {wave_b} was fitted with wave {prior_b['wave']}'s posterior as its prior "
            f"(widened x{prior_b['widen']:g}): its estimates borrow strength from that wave, so "
            "differences are shrunk toward zero, and the contrasts treat the waves as "
            f"independent, which they then are not. For a clean comparison, run {wave_b} "
            "without a prior."
        )
    notes.append(
        "part-worths are on the logit scale of each wave: if every part-worth moves by the same "
        "factor, the waves may differ in answer consistency rather than preferences; "
        "willingness to pay and importances do not depend on that scale."
    )
    return tables, mapping, notes


def compare_waves(
    study_dir: str | Path,
    waves: Sequence[str] | None = None,
    *,
    band: float = BAND,
    force: bool = False,
    random_seed: int = 1,
    write: bool = True,
    interval: float | None = None,
) -> WaveComparison:
    """How part-worths, importances, WTP, reasons for leaving and the recommended offer moved
    between two waves, as posterior contrasts with bands.

    Writes ``comparisons/<A>_vs_<B>/`` in the study folder (atomically, refusing to replace an
    earlier comparison unless ``force``): ``partworths.csv``, ``importances.csv``, ``wtp.csv``,
    ``reasons.csv``, ``offers.csv`` (those that apply), ``comparison.txt`` (the summary),
    ``comparison.xlsx`` (the ``Wave comparison`` sheet) and ``comparison.json``.

    Every table has ``estimate_a`` and ``estimate_b`` (posterior means in each wave),
    ``difference`` (B minus A), ``lower``/``upper`` (equal-tailed band at ``band``),
    ``prob_increase`` (posterior probability that B is higher) and ``verdict`` ("rose",
    "fell", "no clear change"). See :mod:`analysis.contrasts` for how each is computed.

    Parameters
    ----------
    study_dir : str or Path
    waves : (str, str), optional
        The earlier and the later wave (default: the last two waves with results).
    band : float
        Probability of the bands (``winback.settings.BAND``, 0.9; ``interval``: its former
        name, deprecated).
    force : bool
        Replace an earlier comparison of the same waves.
    random_seed : int
    write : bool
        Write the comparison folder (False: only return the tables).

    Returns
    -------
    WaveComparison

    Examples
    --------
    >>> from winback.waves import compare_waves
    >>> cmp = compare_waves("broadband-study", ["w1", "w2"])  # doctest: +SKIP
    >>> cmp.tables["partworths"].query("parameter == 'price'")  # doctest: +SKIP
    """

    study = _study_dir(study_dir)
    band = resolve_band(band, interval, where="compare_waves")
    done = waves_with_results(study)
    if waves is None:
        if len(done) < 2:
            raise WinbackError(
                f"comparing waves needs two waves with results; {study} has "
                f"{list_valid(done) or 'none'} (waves: {list_valid(list_waves(study)) or 'none'}). "
                "Run them with: winback run STUDY_DIR --wave W."
            )
        wave_a, wave_b = done[-2], done[-1]
    else:
        if len(waves) != 2:
            raise WinbackError(f"name two waves to compare, got {list_valid(waves)}.")
        wave_a, wave_b = waves
        for w in (wave_a, wave_b):
            _wave_dir(study, w)
            if w not in done:
                raise WinbackError(
                    f"wave '{w}' has no results in {_results(study, w)}; run it first "
                    f"(winback run {study} --wave {w}). Waves with results: "
                    f"{list_valid(done) or 'none'}."
                )
        if wave_a == wave_b:
            raise WinbackError(f"name two different waves, got '{wave_a}' twice.")
    out = study / COMPARISONS_DIR / f"{wave_a}_vs_{wave_b}"
    if write and out.exists() and not force:
        raise WinbackError(
            f"{out} exists; nothing was changed. Pass --force to replace that comparison."
        )
    ra, rb = _results(study, wave_a), _results(study, wave_b)
    tables, mapping, notes = _comparison_tables(
        study, wave_a, wave_b, ra, rb, band=band, random_seed=random_seed
    )
    summary = _summary(wave_a, wave_b, tables, mapping, band, notes)
    if not write:
        return WaveComparison(wave_a, wave_b, tables, mapping, band, None, (), summary)
    from openpyxl import Workbook

    from reports.waves_sheet import add_wave_comparison
    from winback import __version__

    (study / COMPARISONS_DIR).mkdir(exist_ok=True)
    with staged_output(out, force=force) as stage:
        written = []
        for key, t in tables.items():
            write_csv(t, stage / f"{key}.csv")
            written.append(f"{key}.csv")
        atomic_write_text(stage / "comparison.txt", summary + "\n")
        wb = Workbook()
        assert wb.active is not None
        wb.remove(wb.active)
        add_wave_comparison(wb, tables, band=band)
        wb.save(stage / "comparison.xlsx")
        meta = {
            "wave_a": wave_a,
            "wave_b": wave_b,
            "band": band,
            "interval": band,  # the former name of "band", kept for scripts that read it
            "random_seed": random_seed,
            "winback_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "fits": {
                w: {"path": _rel(r / "fit" / "fit.nc", study), "sha256": _sha(r / "fit" / "fit.nc")}
                for w, r in ((wave_a, ra), (wave_b, rb))
            },
            "renamed": [list(r) for r in mapping.renamed],
            "dropped": [list(r) for r in mapping.dropped],
            "tables": list(tables),
            "method": "difference of independent posterior draws (each wave's draws shuffled "
            "and paired), equal-tailed bands",
        }
        write_json(meta, stage / "comparison.json")
        written += ["comparison.txt", "comparison.xlsx", "comparison.json"]
    files = tuple(out / n for n in written)
    log.info("compared waves %s and %s: %s", wave_a, wave_b, out)
    return WaveComparison(wave_a, wave_b, tables, mapping, band, out, files, summary)
