"""The import stage: ``winback import`` (read, validate, flag quality, summarise reasons)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from conjoint.design import ChoiceDesign
from conjoint.export import read_design_csv
from conjoint.maxdiff import MaxDiffDesign
from conjoint.maxdiff_io import MAXDIFF_DESIGN_FILE, make_study_maxdiff_design, read_maxdiff_design
from surveys import read_responses
from surveys.counts import counts
from surveys.dataset import ChoiceDataset
from surveys.maxdiff_import import MAXDIFF_FILE, MaxDiffImport, read_study_maxdiff
from surveys.quality import FLAG_COLUMNS, flag_quality, rlh_calibration
from surveys.reasons import ReasonsSummary, summarize_reasons
from surveys.responses import choices_for_csv, start_warm_up
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv, write_json
from winback.errors import WinbackError, list_valid
from winback.run_folder import IMPORT, write_record
from winback.study import Study

#: the files of an import folder
IMPORT_FILES = IMPORT.files


@dataclass(frozen=True)
class ImportRun:
    """What ``run_import`` read and wrote: the flagged dataset and why customers left."""

    dataset: ChoiceDataset
    reasons: ReasonsSummary
    out: Path
    files: tuple[Path, ...]
    #: the MaxDiff answers read (None when there were none)
    maxdiff: MaxDiffImport | None = None


def check_flag_names(names: Any) -> None:
    """Refuse quality-flag names that do not exist, listing the valid ones."""
    unknown = [f for f in names if f not in FLAG_COLUMNS]
    if unknown:
        raise WinbackError(
            f"unknown quality flag(s) {list_valid(unknown)}; valid: {list_valid(FLAG_COLUMNS)}."
        )


def exclude_flagged(
    data: ChoiceDataset, names: Any, *, source: str, reason: str | None = None
) -> ChoiceDataset:
    """The dataset with the respondents carrying any of the quality flags ``names`` excluded
    (recorded with the flag as reason, or ``reason``); ``data`` must have been flagged."""
    flags = data.flags
    assert flags is not None, "flag_quality first"
    for flag in names:
        ids = flags.loc[flags[flag].fillna(False).astype(bool), "respondent_id"].tolist()
        if ids:
            data = data.exclude(ids, reason or f"quality flag: {flag}", source=source)
    return data


def design_of(study: Study, design: str | Path | ChoiceDesign | None) -> ChoiceDesign | None:
    """A design given as an object, a ``design.csv`` (or its folder), or not at all."""
    if design is None or isinstance(design, ChoiceDesign):
        return design
    return read_design_csv(design, study)


def read_dataset(
    study: Study,
    responses: str | Path,
    format: str,
    design: ChoiceDesign | None,
    respondents: str | Path | None,
) -> ChoiceDataset:
    """Read and validate responses in any format into a ChoiceDataset."""
    options: dict[str, Any] = {}
    if format == "qualtrics" and study.questionnaire is not None:
        # translate Qualtrics' choice numbers back into the questionnaire's codes
        options["questionnaire"] = study.questionnaire
    return read_responses(
        responses, study, format=format, design=design, respondents=respondents, **options
    )


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
    maxdiff: str | Path | pd.DataFrame | None = None,
) -> ImportRun:
    """Read, validate and quality-flag responses; write canonical files and the reasons summary.

    Files in ``out``: ``responses.csv`` and ``respondents.csv`` (canonical), ``exclusions.csv``,
    ``quality.csv`` (one row of flags per respondent), ``counts.csv`` (how often each level was
    chosen when shown: :func:`surveys.counts.counts`), ``reasons.csv`` and ``reasons.txt`` (why
    they left), ``import.json`` (counts, flags, source files and their SHA-256), ``run.json``;
    with MaxDiff answers ``maxdiff.csv`` (the long layout of docs/maxdiff.md).

    MaxDiff answers (a study with ``[maxdiff]``) come from ``maxdiff``, else from a
    ``maxdiff.csv`` beside winback-format responses (a web survey's export folder), else, with
    ``format="db"``, from the web survey's database. They are checked against
    ``maxdiff_design.csv`` in the design's folder (``design``), else the one beside the
    responses (a web export's), else against the design the study's ``[maxdiff]`` makes (what
    ``winback design`` wrote); the database's answers against the design it stores.
    """
    out = check_output_dir(out, force=force, owned=IMPORT.owned, need_bytes=_input_bytes(responses))
    start_warm_up()  # numba's set-up in a thread while the design and the files are read
    design_obj = design_of(study, design)
    md_source = maxdiff_source(study, responses, format, maxdiff)
    data = read_dataset(study, responses, format, design_obj, respondents)
    md = None
    stored = None
    if md_source is None and format == "db" and study.maxdiff is not None:
        # lazy: the db reader loads SQLAlchemy; the file formats' imports do without
        from surveys.web.importer import read_db_maxdiff

        stored = read_db_maxdiff(responses, study)
    if stored is not None:
        md_source, md_design, md_from = stored
    elif md_source is not None:
        md_design, md_from = maxdiff_design_of(study, design, responses)
    if md_source is not None:
        md = read_study_maxdiff(
            md_source,
            study,
            design=md_design,
            respondent_ids=data.respondent_ids,
            design_source=md_from,
        )
    data = flag_quality(data, design=design_obj, random_seed=random_seed)
    reasons = summarize_reasons(data)
    settings = {"format": format, "random_seed": random_seed, "band": reasons.band}
    inputs = {
        "responses": None if "://" in str(responses) else responses,
        "design": None if isinstance(design, ChoiceDesign) else design,
        "respondents": respondents,
    }
    if isinstance(md_source, str | Path):
        inputs["maxdiff"] = md_source
    with staged_output(out, force=force, owned=IMPORT.owned) as stage:
        names = _write_import(data, reasons, stage, format, md)
        write_record(stage, "import", settings, study, paths=inputs)
    return ImportRun(data, reasons, out, tuple(out / n for n in names), md)


def maxdiff_source(
    study: Study,
    responses: str | Path,
    format: str,
    maxdiff: str | Path | pd.DataFrame | None,
) -> str | Path | pd.DataFrame | None:
    """Where an import's MaxDiff answers come from: ``maxdiff`` when given (the study must
    have ``[maxdiff]``), else a ``maxdiff.csv`` beside winback-format responses when the study
    has ``[maxdiff]``; None when there are none."""
    if maxdiff is not None:
        if study.maxdiff is None:
            given = maxdiff if isinstance(maxdiff, str | Path) else "a frame"
            raise WinbackError(
                f"MaxDiff answers given ({given}), but study '{study.name}' has no [maxdiff] "
                "table: add one (docs/study-file.md#maxdiff), or leave out --maxdiff."
            )
        return maxdiff
    if study.maxdiff is None or format != "winback" or "://" in str(responses):
        return None
    sibling = Path(responses).with_name(MAXDIFF_FILE)
    return sibling if sibling.is_file() and sibling != Path(responses) else None


def maxdiff_design_of(
    study: Study,
    design: str | Path | ChoiceDesign | None,
    responses: str | Path | None = None,
) -> tuple[MaxDiffDesign, str]:
    """The MaxDiff design answers are checked against, and where it came from: the
    ``maxdiff_design.csv`` of the design's folder when there is one, else the one beside the
    responses (a web survey's export holds the design it showed), else the study's."""
    folders = []
    if design is not None and not isinstance(design, ChoiceDesign):
        folders.append(Path(design) if Path(design).is_dir() else Path(design).parent)
    if responses is not None and "://" not in str(responses):
        folders.append(Path(responses).parent)
    for folder in folders:
        if (folder / MAXDIFF_DESIGN_FILE).is_file():
            path = folder / MAXDIFF_DESIGN_FILE
            return read_maxdiff_design(path, study), str(path)
    return make_study_maxdiff_design(study), "the design of the study's [maxdiff]"


def _input_bytes(path: str | Path) -> int:
    """About what an import of ``path`` writes: twice the file (canonical copies, flags)."""
    try:
        return 2 * os.path.getsize(path) + (1 << 20)
    except (OSError, TypeError):  # a database URL or a missing file (reported by the reader)
        return 1 << 20


def _write_import(
    data: ChoiceDataset,
    reasons: ReasonsSummary,
    out: Path,
    format: str,
    maxdiff: MaxDiffImport | None = None,
) -> list[str]:
    write_csv(choices_for_csv(data), out / "responses.csv")
    write_csv(data.respondents, out / "respondents.csv")
    write_csv(data.exclusions, out / "exclusions.csv")
    flags = data.flags
    if flags is not None:
        write_csv(flags, out / "quality.csv")
    # the first table of a run: how often each level was chosen when shown
    write_csv(counts(data, band=reasons.band), out / "counts.csv")
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
    if maxdiff is not None:
        write_csv(maxdiff.answers.answers, out / MAXDIFF_FILE)
        summary["maxdiff"] = maxdiff.summary()
    write_json(summary, out / "import.json")
    return [n for n in IMPORT_FILES if (out / n).exists()]
