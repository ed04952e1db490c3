"""``winback fit --model latent-class``: latent classes fitted for each number of classes, the
number chosen by BIC, and the fit folder written whole (see ``docs/analysis.md``).

Files (:data:`winback.run_folder.LATENT_CLASS`): ``classes.csv`` (``class, label, parameter,
estimate, se, z, p, lower, upper``), ``class_sizes.csv`` (``class, label, share, se, lower,
upper, respondents``), ``memberships.csv`` (``respondent_id``, each class's probability,
``modal_class``, ``label``), ``class_selection.csv`` (one row per number of classes: ``classes,
log_likelihood, n_parameters, aic, bic, caic, entropy_r2, smallest_class, best_starts, starts,
chosen``), ``class_covariates.csv`` (with covariates: each class against class 1 on them),
``latent_class.json`` (:func:`analysis.save_latent_class`: everything later stages draw from),
``latent_class.txt`` (the summary in words) and ``run.json``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import ClassChoice, LatentClassResult, choose_classes, save_latent_class
from analysis.data import respondent_covariates
from analysis.latent_class import STARTS
from analysis.latent_covariates import fit_class_covariates
from conjoint.design import ChoiceDesign
from surveys.dataset import ChoiceDataset
from surveys.quality import flag_quality
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv
from winback.errors import ParameterError
from winback.pipeline.responses import check_flag_names, design_of, exclude_flagged, read_dataset
from winback.run_folder import FIT_OWNED, LATENT_CLASS, write_record
from winback.settings import BAND, band_label, check_band
from winback.study import Study

#: what a latent class fit replaces in its folder (an HB fit's files too: one fit per folder)
OWNED = tuple(dict.fromkeys((*LATENT_CLASS.owned, *FIT_OWNED)))
#: the numbers of classes ``winback fit --model latent-class`` tries by default
DEFAULT_CLASSES = range(2, 7)


def check_classes(classes: int | Iterable[int]) -> list[int]:
    """The numbers of classes to fit, checked: whole numbers of at least 1, none twice."""
    values = [classes] if isinstance(classes, int | np.integer) else list(classes)
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1]
    if not values or bad:
        raise ParameterError(
            f"classes must be whole numbers of at least 1 (e.g. 3, or range(2, 7)); got "
            f"{classes!r}."
        )
    if len(set(values)) < len(values):
        raise ParameterError(f"classes names a number twice: {values}.")
    return sorted(int(v) for v in values)


@dataclass(frozen=True)
class LatentClassRun:
    """What :func:`run_latent_class` fitted, chose and wrote."""

    result: LatentClassResult
    choice: ClassChoice
    out: Path
    files: tuple[Path, ...]

    def report(self) -> str:
        """The summary written as ``latent_class.txt``."""
        return _summary(self.result, self.choice)


def run_latent_class(
    study: Study,
    responses: str | Path,
    out: str | Path,
    *,
    classes: int | Iterable[int] = DEFAULT_CLASSES,
    covariates: Sequence[str] | None = None,
    format: str = "winback",
    design: str | Path | ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    exclude_flags: list[str] | tuple[str, ...] = (),
    starts: int = STARTS,
    random_seed: int = 1,
    band: float = BAND,
    force: bool = False,
) -> LatentClassRun:
    """Read responses, fit latent classes for each number in ``classes``, keep the one with
    the lowest BIC, model its class shares on ``covariates`` (when given) and write the folder.

    Parameters
    ----------
    study : Study
    responses, format, design, respondents, exclude_flags
        As :func:`winback.pipeline.run_fit`.
    classes : int or iterable of int
        Numbers of classes to try (default 2 to 6).
    covariates : sequence of str, optional
        Respondent columns the class shares depend on (:func:`analysis.fit_class_covariates`).
    starts, random_seed
        Random starts of each fit's EM, and their seed.
    band : float
        Probability of the intervals in ``classes.csv``, ``class_sizes.csv`` and
        ``class_covariates.csv``.
    force : bool
        Replace earlier results (an HB fit's included) in ``out``.

    Examples
    --------
    >>> run = run_latent_class(study, "responses.csv", "run/latent_class",
    ...                        classes=range(2, 5), covariates=["reason_price_rise"])  # doctest: +SKIP
    >>> print(run.report())  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    out = check_output_dir(out, force=force, owned=OWNED)
    numbers = check_classes(classes)
    band = check_band(band)
    check_flag_names(exclude_flags)
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise ParameterError(f"starts must be a whole number >= 1; got {starts!r}.")
    design_obj = design_of(study, design)
    data = read_dataset(study, responses, format, design_obj, respondents)
    if exclude_flags:
        data = flag_quality(data, design=design_obj)
        data = exclude_flagged(data, exclude_flags, source="winback fit --exclude")
    return fit_latent_classes(
        data,
        out,
        classes=numbers,
        covariates=covariates,
        starts=starts,
        random_seed=random_seed,
        band=band,
        force=force,
        exclude_flags=exclude_flags,
        started=t0,
    )


def fit_latent_classes(
    dataset: ChoiceDataset,
    out: str | Path,
    *,
    classes: int | Iterable[int] = DEFAULT_CLASSES,
    covariates: Sequence[str] | None = None,
    starts: int = STARTS,
    random_seed: int = 1,
    band: float = BAND,
    force: bool = False,
    exclude_flags: Sequence[str] = (),
    started: float | None = None,
) -> LatentClassRun:
    """:func:`run_latent_class` on a dataset already read: fit, choose by BIC, model the
    shares on ``covariates``, write ``out`` (e.g. a run folder's ``latent_class/``).

    ``exclude_flags`` are recorded only (the dataset is used as given).

    Examples
    --------
    >>> run = fit_latent_classes(dataset, RunFolder("winback-demo").folder(LATENT_CLASS),
    ...                          classes=range(2, 5), covariates=["reason_price_rise"],
    ...                          force=True)  # doctest: +SKIP
    """
    t0 = time.perf_counter() if started is None else started
    out = check_output_dir(out, force=force, owned=OWNED)
    numbers = check_classes(classes)
    band = check_band(band)
    if covariates:
        respondent_covariates(dataset, covariates)  # a misspelt column fails before the fits
    choice = choose_classes(dataset, numbers, starts=starts, random_seed=random_seed)
    result = dataclasses.replace(choice.fits[choice.recommended], band=band)
    if covariates and result.n_classes > 1:
        result = fit_class_covariates(result, dataset, covariates)
    settings = {
        "model": "latent-class",
        "classes": numbers,
        "chosen": result.n_classes,
        "criterion": "bic",
        "starts": starts,
        "random_seed": random_seed,
        "covariates": list(covariates or []),
        "exclude_flags": list(exclude_flags),
        "band": band,
        "n_respondents": result.n_respondents,
        "seconds": time.perf_counter() - t0,
    }
    return write_latent_class(result, choice, out, settings=settings, force=force)


def write_latent_class(
    result: LatentClassResult,
    choice: ClassChoice,
    out: str | Path,
    *,
    settings: dict[str, object] | None = None,
    force: bool = False,
) -> LatentClassRun:
    """Write a latent class fit's folder (see the module notes), replacing it as a whole once
    complete; ``choice`` is the comparison the result was chosen from."""
    out = check_output_dir(out, force=force, owned=OWNED)
    tables = fit_tables(result, choice)
    with staged_output(out, force=force, owned=OWNED) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        save_latent_class(result, stage / "latent_class.json")
        atomic_write_text(stage / "latent_class.txt", _summary(result, choice) + "\n")
        write_record(stage, "fit", settings or {"model": "latent-class"}, result.study)
    names = [*tables, "latent_class.json", "latent_class.txt"]
    return LatentClassRun(result, choice, out, tuple(out / n for n in names))


def fit_tables(result: LatentClassResult, choice: ClassChoice) -> dict[str, pd.DataFrame]:
    """The CSV tables of a latent class fit folder, by file name."""
    labels = dict(zip(result.class_labels, result.readable_labels, strict=True))
    classes = result.table()
    classes.insert(1, "label", classes["class"].map(labels))
    sizes = result.sizes()
    members = result.memberships()
    members["label"] = members["modal_class"].map(labels)
    selection = choice.table.copy()
    selection["chosen"] = selection["classes"] == result.n_classes
    tables = {
        "classes.csv": classes,
        "class_sizes.csv": sizes,
        "memberships.csv": members,
        "class_selection.csv": selection,
    }
    if result.class_model is not None:
        tables["class_covariates.csv"] = result.class_model.table()
    return tables


def _summary(result: LatentClassResult, choice: ClassChoice) -> str:
    sel = choice.table
    lines = [
        f"Latent classes: {result.n_classes} chosen by BIC (the lowest) among "
        f"{', '.join(str(c) for c in sel['classes'])}; CAIC and entropy shown for comparison.",
        "",
        "classes  log-lik  params      BIC     CAIC  entropy R2  smallest  best starts",
    ]
    for _, r in sel.iterrows():
        mark = "  <- chosen" if int(r["classes"]) == result.n_classes else ""
        lines.append(
            f"{int(r['classes']):>7} {r['log_likelihood']:>8.1f} {int(r['n_parameters']):>7} "
            f"{r['bic']:>8.1f} {r['caic']:>8.1f} {r['entropy_r2']:>11.3f} "
            f"{r['smallest_class']:>9.3f} {int(r['best_starts']):>5} of {int(r['starts'])}{mark}"
        )
    caic_best = int(sel.loc[sel["caic"].idxmin(), "classes"])
    if caic_best != result.n_classes:
        lines.append(f"(CAIC, which penalises more, would choose {caic_best}.)")
    sizes = result.sizes()
    lines += ["", f"Class sizes ({band_label(result.band, 'interval')} in class_sizes.csv):"]
    for _, r in sizes.iterrows():
        lines.append(
            f"  {r['label']}: {r['share']:.1%} (se {r['se']:.1%}), modal class of "
            f"{int(r['respondents'])} respondents"
        )
    lines += ["", repr(result)]
    if result.class_model is not None:
        lines += ["", repr(result.class_model)]
    lines += [
        "",
        "next: winback simulate/recommend/target ... --segment latent_class (the HB fit's draws "
        "with each respondent's modal class as a segment), or winback simulate STUDY THIS_FOLDER "
        "(the latent class model itself as the simulator).",
    ]
    return "\n".join(lines)
