"""The fit stage: ``winback fit`` (HB part-worths) and ``winback predict``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis import (
    ConvergenceReport,
    HBModel,
    add_maxdiff_covariates,
    convergence_report,
    fit,
    importances,
    load_model,
    population,
    predict,
    save_model,
)
from analysis.model import resolve_constraints
from analysis.results import FitValidation, validate_fit
from analysis.results.out_of_sample import check_validation_method
from conjoint.design import ChoiceDesign
from conjoint.encoding import parameter_names
from surveys import read_responses
from surveys.quality import flag_quality
from winback._folders import check_output_dir, check_output_file, staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.pipeline.maxdiff import (
    MaxDiffRun,
    check_maxdiff_covariates,
    find_maxdiff_answers,
    find_maxdiff_design,
    run_maxdiff,
)
from winback.pipeline.responses import (
    check_flag_names,
    design_of,
    exclude_flagged,
    read_dataset,
)
from winback.run_folder import FIT, FIT_OWNED, MAXDIFF, write_record
from winback.settings import BAND
from winback.study import Study

#: the files of a fit folder
FIT_FILES = FIT.files


@dataclass(frozen=True)
class FitRun:
    """What ``run_fit`` fitted and wrote."""

    model: HBModel
    convergence: ConvergenceReport
    out: Path
    files: tuple[Path, ...]
    validation: FitValidation | None = None
    #: the MaxDiff fitted first (when the import folder holds ``maxdiff.csv``)
    maxdiff: MaxDiffRun | None = None

    @property
    def verdict(self) -> str:
        """The worst convergence verdict of the CBC fit and the MaxDiff (fail > warn > pass)."""
        verdicts = [self.convergence.verdict]
        if self.maxdiff is not None:
            verdicts.append(self.maxdiff.convergence.verdict)
        return max(verdicts, key=("pass", "warn", "fail").index)

    def report(self) -> str:
        """The convergence report and the predictive validation, as ``convergence.txt``."""
        return _report_text(self.convergence, self.validation)


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
    covariates: Sequence[str] | None = None,
    constraints: str | Mapping[str, str] | None = None,
    prior: str | Path | HBModel | None = None,
    prior_widen: float = 2.0,
    exclude_flags: list[str] | tuple[str, ...] = (),
    sampler: str = "nutpie",
    backend: str = "numba",
    validation: str = "auto",
    force: bool = False,
    progress: bool | str = False,
    maxdiff: bool = True,
    maxdiff_out: str | Path | None = None,
) -> FitRun:
    """Read responses, fit HB part-worths and write the fit folder.

    The HB options are :func:`analysis.fit`'s, with its defaults; ``covariates`` names
    respondent columns and ``prior`` may be an earlier fit folder (or its ``fit.nc``).

    MaxDiff: when ``maxdiff.csv`` is beside ``responses`` (an import folder) and ``maxdiff``
    is true, the MaxDiff of reasons is fitted first with the same sampler options
    (:func:`winback.pipeline.maxdiff.run_maxdiff`; checked against ``maxdiff_design.csv`` of
    the design folder when there is one: the folder of ``design``, else ``design/`` beside
    the import folder; respondents excluded from the CBC left out) and written to
    ``maxdiff_out`` (default ``maxdiff/`` beside ``out``: ``RUN/maxdiff`` for ``RUN/fit``).
    Its scores are then covariates too: ``maxdiff_<item>`` in ``covariates`` is each
    respondent's zero-centred MaxDiff utility of the item (docs/analysis.md).

    Files: ``partworths.csv`` (``respondent_id,attribute,level,utility``, posterior means),
    ``fit.nc`` (the posterior and everything needed to reload the model),
    ``diagnostics.json`` (``rhat_max``, ``ess_bulk_min``, ``divergences``, ``seconds``, the
    convergence verdict and the validation's headline), ``convergence.txt`` (the convergence
    report and the predictive validation in words), ``importances.csv``, ``population.csv``,
    ``validation.csv`` (hit rates and share errors of held-out tasks against naive
    benchmarks, see :func:`analysis.results.validate_fit`), ``run.json`` (with what was held
    out, ``held_out``).

    ``validation``: ``"auto"`` (the study's holdout tasks; without them one random task per
    respondent held out and the model refitted, when the data are small enough), or
    ``"holdouts"``, ``"split"``, ``"none"``.
    """
    t0 = time.perf_counter()
    out = check_output_dir(out, force=force, owned=FIT_OWNED)
    check_flag_names(exclude_flags)
    check_validation_method(validation)
    resolve_constraints(study, constraints)  # a misspelt name fails before any reading
    prior_path = None
    if prior is not None and not isinstance(prior, HBModel):
        prior_path = Path(prior)
        prior = load_model(prior_path / "fit.nc" if prior_path.is_dir() else prior_path)
    md_answers = find_maxdiff_answers(responses) if maxdiff else None
    md_out = Path(maxdiff_out) if maxdiff_out is not None else out.parent / MAXDIFF.name
    if md_answers is not None:
        check_output_dir(md_out, force=force, owned=MAXDIFF.owned, option="the MaxDiff folder")
    else:
        check_maxdiff_covariates(covariates, None)
    design_obj = design_of(study, design)
    data = read_dataset(study, responses, format, design_obj, respondents)
    if exclude_flags:
        data = flag_quality(data, design=design_obj)
        data = exclude_flagged(data, exclude_flags, source="winback fit --exclude")
    md_run = None
    if md_answers is not None:
        md_run = run_maxdiff(
            study,
            md_answers,
            md_out,
            design=find_maxdiff_design(
                responses, None if isinstance(design, ChoiceDesign) else design
            ),
            exclude=data.excluded_ids,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            covariance=covariance,
            sampler=sampler,
            backend=backend,
            progress=progress,
            force=force,
        )
        check_maxdiff_covariates(covariates, md_run.model)
        if any(str(c).startswith("maxdiff_") for c in covariates or ()):
            data = add_maxdiff_covariates(data, md_run.model)
    # room for the posterior (fit.nc: chains x draws x respondents x parameters, 8 bytes each)
    n_params = len(parameter_names(study))
    need = 8 * chains * draws * (data.n_respondents + 2) * n_params * 2 + (8 << 20)
    check_output_dir(out, force=force, owned=FIT_OWNED, need_bytes=need)
    model = fit(
        data,
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=random_seed,
        covariance=covariance,
        covariates=covariates,
        constraints=constraints,
        prior=prior,
        prior_widen=prior_widen,
        sampler=sampler,
        backend=backend,
        progress=progress,
    )
    run = write_fit(
        model,
        out,
        started=t0,
        force=force,
        exclude_flags=exclude_flags,
        validation=validation,
        prior=prior_path,
        prior_widen=prior_widen if prior is not None else None,
        maxdiff=md_run.out if md_run is not None else None,
    )
    return dataclasses.replace(run, maxdiff=md_run)


def write_fit(
    model: HBModel,
    out: str | Path,
    *,
    started: float | None = None,
    force: bool = False,
    exclude_flags: list[str] | tuple[str, ...] = (),
    validation: str | FitValidation = "auto",
    prior: str | Path | None = None,
    prior_widen: float | None = None,
    maxdiff: str | Path | None = None,
) -> FitRun:
    """Write a fitted model's folder (see :func:`run_fit`), replacing it as a whole once
    complete (earlier fit files only with ``force``); ``started`` times the whole run.

    ``validation`` is the method of :func:`analysis.results.validate_fit` (``"auto"``:
    holdout tasks, else a random-task split refitted when the data are small enough), or a
    validation already computed for this model. ``prior`` (the prior's fit folder) and
    ``prior_widen`` are recorded in ``run.json``, as is ``maxdiff`` (the MaxDiff folder fitted
    first, when there was one)."""
    out = check_output_dir(out, force=force, owned=FIT_OWNED)
    conv = convergence_report(model)
    if isinstance(validation, FitValidation):
        checked = validation
    else:
        checked = validate_fit(model, method=validation)
    settings = {
        **_fit_settings(model),
        "exclude_flags": exclude_flags,
        "validation": checked.requested,
        "held_out": checked.to_dict(figures=False),
        **({} if prior_widen is None else {"prior_widen": prior_widen}),
    }
    with staged_output(out, force=force, owned=FIT_OWNED) as stage:
        names = _write_fit_files(model, conv, checked, stage, started)
        paths = {k: v for k, v in (("prior", prior), ("maxdiff", maxdiff)) if v is not None}
        write_record(stage, "fit", settings, model.study, paths=paths or None)
    return FitRun(model, conv, out, tuple(out / n for n in names), checked)


def _report_text(conv: ConvergenceReport, validation: FitValidation | None) -> str:
    text = conv.report()
    if validation is not None:
        text += "\n\n" + validation.report()
    return text


def _fit_settings(model: HBModel) -> dict[str, object]:
    """The settings a model was fitted with, as the Python API names them."""
    st = model.settings
    return {
        "draws": st.draws,
        "tune": st.tune,
        "chains": st.chains,
        "random_seed": st.random_seed,
        "covariance": st.covariance,
        "sampler": st.sampler,
        "backend": st.backend,
        "constraints": {k: str(v) for k, v in st.constraints.items()},
        "covariates": list(st.covariates),
        "informative_prior": st.prior_mean is not None,
        "band": BAND,  # of importances.csv and population.csv
        "n_respondents": len(model.respondent_ids),
    }


def _write_fit_files(
    model: HBModel,
    conv: ConvergenceReport,
    validation: FitValidation,
    out: Path,
    started: float | None,
) -> list[str]:
    write_csv(model.partworths(), out / "partworths.csv")
    save_model(model, out / "fit.nc")
    write_csv(importances(model), out / "importances.csv")
    write_csv(population(model), out / "population.csv")
    if len(validation.table):
        write_csv(validation.table, out / "validation.csv")
    atomic_write_text(out / "convergence.txt", _report_text(conv, validation) + "\n")
    seconds = time.perf_counter() - started if started is not None else model.seconds_
    diag = {
        **conv.to_dict(),
        "seconds": seconds,
        "fit_seconds": model.seconds_,
        "validation": validation.to_dict(),
    }
    write_json(diag, out / "diagnostics.json")
    return [n for n in FIT_FILES if (out / n).exists()]


def run_predict(
    fit_dir: str | Path, responses: str | Path, out: str | Path, *, force: bool = False
) -> Path:
    """Add each alternative's predicted probability (column ``probability``) to responses."""
    out = check_output_file(out, force=force, option="--out")
    fit_dir = Path(fit_dir)
    model = load_model(fit_dir / "fit.nc" if fit_dir.is_dir() else fit_dir)
    data = read_responses(responses, model.study)
    write_csv(predict(model, data), out)
    return out
