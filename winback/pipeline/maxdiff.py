"""The MaxDiff stage: the reasons for leaving scored by best-worst choices (``maxdiff/``).

``winback fit`` runs it first when the import folder holds ``maxdiff.csv`` (the public answers
table of docs/maxdiff.md), checked against ``maxdiff_design.csv`` of the design folder when
there is one, with the CBC fit's sampler options; the CBC fit that follows may name the scores
as covariates ``maxdiff_<item>`` (:mod:`analysis.maxdiff_scores`).

Files (:data:`winback.run_folder.MAXDIFF`): ``population.csv`` (per item: ``item, label``, the
population mean utility, the average probability score and the share ranking it first, each
with its band, and ``rank``), ``scores.csv`` (``respondent_id`` and each item's probability
score, posterior means; each row sums to 100), ``utilities.csv`` (the zero-centred utilities:
the values of the covariates), ``counts.csv`` (:func:`analysis.maxdiff_counts`),
``convergence.json`` (the CBC's verdict rules: :meth:`ConvergenceReport.to_dict`, the seconds,
respondents and items), ``convergence.txt`` (the same in words) and ``run.json``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import ConvergenceReport, HBSettings, MaxDiffModel, fit_maxdiff, maxdiff_counts
from conjoint.maxdiff import MaxDiffDesign, maxdiff_design_from_frame
from surveys import read_maxdiff_answers
from surveys._csv import read_csv_text
from surveys.maxdiff import MaxDiffAnswers
from surveys.reasons import REASON_LABELS
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.errors import WinbackError, list_valid
from winback.run_folder import DESIGN, MAXDIFF, write_record
from winback.settings import BAND, band_label, check_band
from winback.study import Study

#: the MaxDiff answers in an import folder (the public long format, docs/maxdiff.md)
MAXDIFF_ANSWERS = "maxdiff.csv"
#: the MaxDiff design in a design folder (``MaxDiffDesign.frame()``)
MAXDIFF_DESIGN = "maxdiff_design.csv"
#: the files of a MaxDiff folder
MAXDIFF_FILES = MAXDIFF.files


@dataclass(frozen=True)
class MaxDiffRun:
    """What :func:`run_maxdiff` fitted and wrote.

    Attributes
    ----------
    model : MaxDiffModel
    convergence : ConvergenceReport
    population : DataFrame
        ``population.csv``: per item, with ``label`` (the questionnaire's wording).
    counts : DataFrame
    out : Path
    files : tuple of Path
    excluded : tuple of str
        Respondents left out (excluded from the CBC as well).
    """

    model: MaxDiffModel
    convergence: ConvergenceReport
    population: pd.DataFrame
    counts: pd.DataFrame
    out: Path
    files: tuple[Path, ...]
    excluded: tuple[str, ...] = ()

    def report(self) -> str:
        """The reasons by score and the convergence report, as ``convergence.txt``."""
        return _report_text(self.population, self.convergence, self.model)

    def __repr__(self) -> str:
        return (
            f"MaxDiffRun: {len(self.model.respondent_ids)} respondents, "
            f"{len(self.model.items)} items, verdict {self.convergence.verdict.upper()}, "
            f"{len(self.files)} files in {self.out}/"
        )


def find_maxdiff_answers(responses: str | Path) -> Path | None:
    """``maxdiff.csv`` beside a response file (its import folder), or None."""
    text = str(responses)
    if "://" in text:
        return None
    path = Path(text).parent / MAXDIFF_ANSWERS
    return path if path.is_file() else None


def find_maxdiff_design(responses: str | Path, design: str | Path | None = None) -> Path | None:
    """``maxdiff_design.csv`` of the design folder: the folder of ``design`` (a ``design.csv``
    or its folder) when given, else the ``design/`` folder beside the import folder of
    ``responses``; None when there is none."""
    if design is not None:
        d = Path(design)
        folder = d if d.is_dir() else d.parent
    else:
        folder = Path(str(responses)).parent.parent / DESIGN.name
    path = folder / MAXDIFF_DESIGN
    return path if path.is_file() else None


def study_items(study: Study) -> tuple[str, ...] | None:
    """The study's MaxDiff items in order (its ``[maxdiff]`` table), None when it has none."""
    table = getattr(study, "maxdiff", None)
    items = getattr(table, "items", None)
    return tuple(str(i) for i in items) if items else None


def _reason_codes(study: Study | None) -> list[str]:
    """The questionnaire's reason codes in order (winback's default ones without it)."""
    q = getattr(study, "questionnaire", None) if study is not None else None
    if q is not None and "reason" in q:
        return [str(code) for code, _ in q.question("reason").options]
    return list(REASON_LABELS)


def item_order(study: Study | None, found: Iterable[str]) -> tuple[str, ...]:
    """The items in the study's order: its ``[maxdiff]`` items, else the questionnaire's reason
    codes found, then any others in the order found (the first is the reference)."""
    declared = study_items(study) if study is not None else None
    if declared is not None:
        return declared
    seen = list(dict.fromkeys(str(i) for i in found))
    known = [c for c in _reason_codes(study) if c in seen]
    return (*known, *(i for i in seen if i not in known))


def item_labels(study: Study | None, items: Iterable[str]) -> dict[str, str]:
    """Each item's label: the questionnaire's wording of the reason, else winback's default
    label, else the code in words."""
    labels = dict(REASON_LABELS)
    q = getattr(study, "questionnaire", None) if study is not None else None
    if q is not None and "reason" in q:
        labels |= {str(code): str(label) for code, label in q.question("reason").options}
    return {i: labels.get(i, i.replace("_", " ").strip().capitalize()) for i in items}


def read_maxdiff_inputs(
    study: Study, answers: str | Path | pd.DataFrame, design: str | Path | None = None
) -> MaxDiffAnswers:
    """The MaxDiff answers, validated against the design file when given (every set as the
    design shows it, every set answered), the items in the study's order
    (:func:`item_order`)."""
    design_obj: MaxDiffDesign | None = None
    if design is not None:
        frame = read_csv_text(design)
        items = item_order(study, frame["item"].astype(str)) if "item" in frame else None
        try:
            design_obj = maxdiff_design_from_frame(frame, items)
        except WinbackError as exc:
            raise WinbackError(f"{design}: {exc}") from None
        return read_maxdiff_answers(answers, design=design_obj)
    read = read_maxdiff_answers(answers, study_items(study))
    items = item_order(study, read.items)
    return read if items == read.items else MaxDiffAnswers(items, read.answers, read.source)


def _check_counts(draws: object, tune: object, chains: object) -> None:
    for name, value, least in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise WinbackError(f"{name} must be a whole number of at least {least}, got {value!r}.")


def without(answers: MaxDiffAnswers, exclude: Iterable[str]) -> MaxDiffAnswers:
    """The answers without the respondents ``exclude`` (ids not among them are ignored)."""
    drop = {str(r) for r in exclude}
    a = answers.answers
    keep = ~a["respondent_id"].isin(drop)
    if keep.all():
        return answers
    if not keep.any():
        raise WinbackError(
            f"every one of the {answers.n_respondents} MaxDiff respondents is excluded: "
            "nothing is left to fit."
        )
    return MaxDiffAnswers(answers.items, a[keep].reset_index(drop=True), answers.source)


def run_maxdiff(
    study: Study,
    answers: str | Path | MaxDiffAnswers,
    out: str | Path,
    *,
    design: str | Path | None = None,
    exclude: Sequence[str] = (),
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
    random_seed: int = 1,
    covariance: str = "full",
    sampler: str = "nutpie",
    backend: str = "numba",
    progress: bool | str = False,
    band: float = BAND,
    force: bool = False,
) -> MaxDiffRun:
    """Read MaxDiff answers, fit the hierarchical Bayes MaxDiff and write the MaxDiff folder.

    Parameters
    ----------
    study : Study
        Names the items' labels (the questionnaire's reasons) and, with ``[maxdiff]``, their
        order (the first is the reference of the estimation).
    answers : path or MaxDiffAnswers
        ``maxdiff.csv`` (docs/maxdiff.md), or answers already read.
    out : str or Path
        The MaxDiff folder (in a run folder ``maxdiff/``), replaced whole once complete.
    design : str or Path, optional
        ``maxdiff_design.csv``: every answer is checked against it.
    exclude : sequence of str
        Respondents to leave out (``winback fit`` passes those excluded from the CBC).
    draws, tune, chains, random_seed, covariance, sampler, backend, progress
        As :func:`analysis.fit` (the same model family and sampler as the CBC).
    band : float
        Probability of the bands in ``population.csv`` and ``counts.csv``.
    force : bool
        Replace an earlier MaxDiff folder.

    Returns
    -------
    MaxDiffRun

    Examples
    --------
    >>> run = run_maxdiff(study, "run/import/maxdiff.csv", "run/maxdiff",
    ...                   design="run/design/maxdiff_design.csv")  # doctest: +SKIP
    >>> run.population.sort_values("rank")  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    band = check_band(band)
    _check_counts(draws, tune, chains)
    out = check_output_dir(out, force=force, owned=MAXDIFF.owned)
    if isinstance(answers, MaxDiffAnswers):
        read, source = answers, None
    else:
        read, source = read_maxdiff_inputs(study, answers, design), Path(answers)
    kept = without(read, exclude)
    dropped = tuple(r for r in read.respondent_ids if r not in set(kept.respondent_ids))
    settings = HBSettings(
        draws=int(draws),
        tune=int(tune),
        chains=int(chains),
        random_seed=random_seed,
        covariance=covariance,  # type: ignore[arg-type]
        sampler=sampler,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        progress=progress,  # type: ignore[arg-type]
    )
    model = fit_maxdiff(kept, settings=settings)
    return write_maxdiff(
        model,
        out,
        study=study,
        band=band,
        force=force,
        started=t0,
        excluded=dropped,
        inputs={"answers": source, "design": design},
    )


def write_maxdiff(
    model: MaxDiffModel,
    out: str | Path,
    *,
    study: Study | None = None,
    band: float = BAND,
    force: bool = False,
    started: float | None = None,
    excluded: Sequence[str] = (),
    inputs: dict[str, str | Path | None] | None = None,
) -> MaxDiffRun:
    """Write a fitted MaxDiff's folder (see :func:`run_maxdiff`), replacing it as a whole
    once complete (an earlier one only with ``force``); ``started`` times the whole run."""
    band = check_band(band)
    out = check_output_dir(out, force=force, owned=MAXDIFF.owned)
    conv = model.convergence()
    labels = item_labels(study, model.items)
    pop = model.population(band)
    pop.insert(1, "label", [labels[i] for i in pop["item"]])
    counts = maxdiff_counts(model.answers_, band=band)
    counts.insert(1, "label", [labels[i] for i in counts["item"]])
    st = model.settings
    settings: dict[str, Any] = {
        "draws": st.draws,
        "tune": st.tune,
        "chains": st.chains,
        "random_seed": st.random_seed,
        "covariance": st.covariance,
        "sampler": st.sampler,
        "backend": st.backend,
        "band": band,
        "items": list(model.items),
        "per_set": model.per_set,
        "n_respondents": len(model.respondent_ids),
        "excluded": len(excluded),
    }
    seconds = time.perf_counter() - started if started is not None else model.seconds_
    with staged_output(out, force=force, owned=MAXDIFF.owned) as stage:
        write_csv(pop, stage / "population.csv")
        write_csv(model.scores().reset_index(), stage / "scores.csv")
        write_csv(model.utilities(centred=True).reset_index(), stage / "utilities.csv")
        write_csv(counts, stage / "counts.csv")
        write_json(
            {
                **conv.to_dict(),
                "seconds": seconds,
                "fit_seconds": model.seconds_,
                "n_respondents": len(model.respondent_ids),
                "n_items": len(model.items),
                "per_set": model.per_set,
                "band": band,
            },
            stage / "convergence.json",
        )
        atomic_write_text(stage / "convergence.txt", _report_text(pop, conv, model) + "\n")
        write_record(stage, "fit", settings, study, paths=inputs)
    files = tuple(out / n for n in MAXDIFF_FILES if (out / n).exists())
    return MaxDiffRun(model, conv, pop, counts, out, files, tuple(excluded))


def _report_text(pop: pd.DataFrame, conv: ConvergenceReport, model: MaxDiffModel) -> str:
    """The reasons by average score (with bands) and the convergence report."""
    band = float(pop.attrs.get("band", BAND))
    t = pop.sort_values("rank", kind="stable")
    width = max(len(str(x)) for x in t["label"])
    lines = [
        f"MaxDiff of {len(model.items)} reasons, {len(model.respondent_ids)} respondents "
        f"({model.per_set} per set): average probability score (sums to 100; a score of 20 "
        f"weighed twice as much as 10), {band_label(band, 'band')}, share ranking it first",
    ]
    for _, r in t.iterrows():
        lines.append(
            f"  {r['rank']:>2}. {r['label']:<{width}}  {r['score']:5.1f} "
            f"[{r['score_lower']:.1f}, {r['score_upper']:.1f}]  first for "
            f"{r['first_share']:.0%}"
        )
    return "\n".join(lines) + "\n\n" + conv.report()


def check_maxdiff_covariates(names: Sequence[str] | None, model: MaxDiffModel | None) -> None:
    """``maxdiff_<item>`` covariates need a MaxDiff fit naming that item (else a clear error)."""
    wanted = [n for n in names or () if str(n).startswith("maxdiff_")]
    if not wanted:
        return
    if model is None:
        raise WinbackError(
            f"covariate(s) {list_valid(wanted)} need MaxDiff answers: put maxdiff.csv (the "
            "MaxDiff answers, docs/maxdiff.md) beside the responses, as winback import writes "
            "it into the import folder."
        )
    valid = [f"maxdiff_{i}" for i in model.items]
    unknown = [n for n in wanted if n not in valid]
    if unknown:
        raise WinbackError(
            f"unknown MaxDiff covariate(s) {list_valid(unknown)}; the MaxDiff's: "
            f"{list_valid(valid)}."
        )
