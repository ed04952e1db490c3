"""The survey's answers as a ChoiceDataset and as canonical CSV files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from surveys.dataset import ChoiceDataset
from surveys.responses import make_dataset, write_responses
from surveys.web import schema
from surveys.web.importer import survey_frames
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
    """``responses.csv`` or ``respondents.csv`` of the survey as text (formula-safe cells)."""
    data = read_survey(survey)
    frame = data.choices if name == "responses.csv" else data.respondents
    return csv_text(frame)


def write_export(survey: Survey, folder: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``responses.csv``, ``respondents.csv`` and ``exclusions.csv`` (atomic, formula-safe).

    Examples
    --------
    >>> write_export(survey, "wave1/")  # doctest: +SKIP
    """
    folder = Path(folder)
    check_outputs_free([folder / "exclusions.csv"], force)
    data = read_survey(survey)
    paths = list(write_responses(data, folder, force=force))
    write_csv(data.exclusions, folder / "exclusions.csv")
    return [*paths, folder / "exclusions.csv"]
