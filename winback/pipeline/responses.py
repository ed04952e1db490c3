"""The import stage: ``winback import`` (read, validate, flag quality, summarise reasons)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from conjoint.design import ChoiceDesign
from conjoint.export import read_design_csv
from surveys import read_responses
from surveys.counts import counts
from surveys.dataset import ChoiceDataset
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
) -> ImportRun:
    """Read, validate and quality-flag responses; write canonical files and the reasons summary.

    Files in ``out``: ``responses.csv`` and ``respondents.csv`` (canonical), ``exclusions.csv``,
    ``quality.csv`` (one row of flags per respondent), ``counts.csv`` (how often each level was
    chosen when shown: :func:`surveys.counts.counts`), ``reasons.csv`` and ``reasons.txt`` (why
    they left), ``import.json`` (counts, flags, source files and their SHA-256), ``run.json``.
    """
    out = check_output_dir(out, force=force, owned=IMPORT.owned, need_bytes=_input_bytes(responses))
    start_warm_up()  # numba's set-up in a thread while the design and the files are read
    design_obj = design_of(study, design)
    data = read_dataset(study, responses, format, design_obj, respondents)
    inputs = {
        "responses": None if "://" in str(responses) else responses,
        "design": None if isinstance(design, ChoiceDesign) else design,
        "respondents": respondents,
    }
    with staged_output(out, force=force, owned=IMPORT.owned) as stage:
        # the canonical copies do not depend on the flags: written (and fsynced) in a thread
        # while the flags are computed; an error in either removes the staging folder
        with ThreadPoolExecutor(1, thread_name_prefix="winback-import-write") as pool:
            canonical = pool.submit(_write_canonical, data, stage)
            data = flag_quality(data, design=design_obj, random_seed=random_seed)
            reasons = summarize_reasons(data)
            canonical.result()
        names = _write_import(data, reasons, stage, format)
        settings = {"format": format, "random_seed": random_seed, "band": reasons.band}
        write_record(stage, "import", settings, study, paths=inputs)
    return ImportRun(data, reasons, out, tuple(out / n for n in names))


def _input_bytes(path: str | Path) -> int:
    """About what an import of ``path`` writes: twice the file (canonical copies, flags)."""
    try:
        return 2 * os.path.getsize(path) + (1 << 20)
    except (OSError, TypeError):  # a database URL or a missing file (reported by the reader)
        return 1 << 20


def _write_canonical(data: ChoiceDataset, out: Path) -> None:
    """``responses.csv`` and ``respondents.csv``: the choices and answers in winback's format."""
    write_csv(choices_for_csv(data), out / "responses.csv")
    write_csv(data.respondents, out / "respondents.csv")


def _write_import(
    data: ChoiceDataset, reasons: ReasonsSummary, out: Path, format: str
) -> list[str]:
    """The import folder's files after the canonical copies (:func:`_write_canonical`)."""
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
    write_json(summary, out / "import.json")
    return [n for n in IMPORT_FILES if (out / n).exists()]
