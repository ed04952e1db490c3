"""The survey's answers as a ChoiceDataset and as canonical CSV files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conjoint.maxdiff_io import MAXDIFF_DESIGN_FILE
from surveys.dataset import ChoiceDataset
from surveys.maxdiff_import import MAXDIFF_FILE
from surveys.responses import make_dataset, write_responses
from surveys.web import schema
from surveys.web.importer import survey_frames, survey_maxdiff
from surveys.web.survey import Survey
from winback._io import check_outputs_free, csv_text, write_csv
from winback.errors import WinbackError


def read_survey(survey: Survey) -> ChoiceDataset:
    """The answers of an open survey as a validated :class:`ChoiceDataset`.

    The same as ``read_responses(db, study, format="db")``.

    Examples
    --------
    >>> data = read_survey(open_survey("survey.db", study))  # doctest: +SKIP
    """
    choices, people = survey_frames(survey)
    source = schema.safe_url(survey.db)
    if choices.empty:
        raise WinbackError(
            f"{source}: no completed interview with choice tasks yet ({len(people)} "
            "respondent(s) started). See `winback field status`."
        )
    digest = hashlib.sha256(
        choices.to_csv(index=False).encode() + people.to_csv(index=False).encode()
    ).hexdigest()
    return make_dataset(
        choices,
        survey.study,
        respondents=people,
        source=source,
        respondents_source=source,
        sources={source: digest},
    )


def export_csv(survey: Survey, name: str) -> str:
    """``responses.csv``, ``respondents.csv`` or ``maxdiff.csv`` of the survey as text
    (formula-safe cells)."""
    if name == MAXDIFF_FILE:
        frame = survey_maxdiff(survey)
        if frame is None or frame.empty:
            raise WinbackError(
                "no MaxDiff answers of a completed interview yet"
                if frame is not None
                else "this survey asks no MaxDiff."
            )
        return csv_text(frame)
    data = read_survey(survey)
    frame = data.choices if name == "responses.csv" else data.respondents
    return csv_text(frame)


def write_export(survey: Survey, folder: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``responses.csv``, ``respondents.csv`` and ``exclusions.csv`` (atomic, formula-safe);
    a survey that asks the MaxDiff also ``maxdiff.csv`` (the answers of the completed
    interviews, long layout) and ``maxdiff_design.csv`` (the design shown), so that
    ``winback import`` of the folder reads them.

    Examples
    --------
    >>> write_export(survey, "wave1/")  # doctest: +SKIP
    """
    folder = Path(folder)
    md = survey_maxdiff(survey)
    extra = [folder / MAXDIFF_FILE, folder / MAXDIFF_DESIGN_FILE] if md is not None else []
    check_outputs_free([folder / "exclusions.csv", *extra], force)
    data = read_survey(survey)
    paths = list(write_responses(data, folder, force=force))
    write_csv(data.exclusions, folder / "exclusions.csv")
    paths.append(folder / "exclusions.csv")
    if md is not None and survey.maxdiff is not None:
        if md.empty:
            for p in extra:  # a file of an earlier export would not match these responses
                p.unlink(missing_ok=True)
        else:
            write_csv(md, folder / MAXDIFF_FILE)
            write_csv(survey.maxdiff.frame(), folder / MAXDIFF_DESIGN_FILE)
            paths.extend(extra)
    return paths
