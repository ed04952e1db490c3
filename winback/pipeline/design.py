"""The design stage: ``winback design`` (a design, its diagnostics and every fielding file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conjoint.design import ChoiceDesign, make_assignments, make_design
from conjoint.diagnostics import DesignDiagnostics, inspect_design
from conjoint.export import write_design_csv, write_qualtrics_design, write_sawtooth_design
from conjoint.maxdiff import MaxDiffDesign
from conjoint.maxdiff_diagnostics import MaxDiffDiagnostics, inspect_maxdiff_design
from conjoint.maxdiff_io import MAXDIFF_DESIGN_FILE, make_study_maxdiff_design, write_maxdiff_design
from surveys.fielding import (
    write_qualtrics_embedded_data,
    write_qualtrics_questions,
    write_qualtrics_status_quo_rules,
    write_question_list,
    write_versions_csv,
)
from surveys.questionnaire import default_questionnaire
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.run_folder import DESIGN, STUDY_FILE, write_record
from winback.study import Study

#: the files every design folder has (``design.csv`` first)
DESIGN_FILES = DESIGN.files[:10]


@dataclass(frozen=True)
class DesignRun:
    """What ``run_design`` made and wrote."""

    design: ChoiceDesign
    diagnostics: DesignDiagnostics
    out: Path
    files: tuple[Path, ...]
    #: the study's MaxDiff design and its diagnostics (None without [maxdiff])
    maxdiff: MaxDiffDesign | None = None
    maxdiff_diagnostics: MaxDiffDiagnostics | None = None


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
    known), with ``assign`` ``assignments.csv`` (versions and shuffled display order per
    respondent), with a ``[maxdiff]`` table ``maxdiff_design.csv`` (its MaxDiff design:
    ``version, set, position, item``) and ``maxdiff_diagnostics.txt``, and ``run.json`` (what
    made them). Refuses to overwrite earlier files unless
    ``force``; the folder is replaced as a whole once complete.
    """
    out = check_output_dir(out, force=force, owned=DESIGN.owned)
    design = make_design(
        study,
        method=method,
        versions=versions,
        random_seed=random_seed,
        max_seconds=max_seconds,
        progress=progress,
    )
    diag = inspect_design(design, n_respondents=n_respondents, target_se=target_se)
    md = make_study_maxdiff_design(study) if study.maxdiff is not None else None
    md_diag = inspect_maxdiff_design(md) if md is not None else None
    settings: dict[str, Any] = {
        "method": design.method,
        "versions": design.n_versions,
        "random_seed": study.design.seed if random_seed is None else random_seed,
        "max_seconds": study.design.max_seconds if max_seconds is None else max_seconds,
        "n_respondents": n_respondents,
        "target_se": target_se,
        "assign": assign,
    }
    with staged_output(out, force=force, owned=DESIGN.owned) as stage:
        names = _write_design(design, diag, stage, study, study_text, assign)
        if md is not None and md_diag is not None:
            write_maxdiff_design(md, stage / MAXDIFF_DESIGN_FILE)
            atomic_write_text(stage / "maxdiff_diagnostics.txt", md_diag.report() + "\n")
            names += [MAXDIFF_DESIGN_FILE, "maxdiff_diagnostics.txt"]
        write_record(stage, "design", settings, study)
    return DesignRun(design, diag, out, tuple(out / n for n in names), md, md_diag)


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
    questionnaire = study.questionnaire or default_questionnaire(study)
    files += [
        write_versions_csv(design, out / "versions.csv"),
        write_qualtrics_questions(questionnaire, out / "qualtrics_questions.txt"),
        write_qualtrics_embedded_data(design, out / "qualtrics_embedded_data.csv"),
        write_question_list(questionnaire, out / "questionnaire.md"),
    ]
    own_sq = study.status_quo is not None and study.status_quo.per_respondent
    if own_sq:  # each respondent's own plan: the survey-flow rules that set CBC_SQ_*
        rules = out / "qualtrics_status_quo_rules.csv"
        files.append(write_qualtrics_status_quo_rules(study, rules))
    if study_text is not None:
        atomic_write_text(out / STUDY_FILE, study_text)
        files.append(out / STUDY_FILE)
    if assign:
        write_csv(make_assignments(design, assign), out / "assignments.csv")
        files.append(out / "assignments.csv")
    return [Path(f).name for f in files]
