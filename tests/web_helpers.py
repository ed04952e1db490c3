"""Shared helpers of the web-survey tests: a study on disk, a survey with invites, a server."""

from __future__ import annotations

from pathlib import Path

from conjoint import make_design
from surveys.web import make_invites, open_survey
from surveys.web.survey import Survey
from winback.study import load_study

#: Debian's Chromium and the flags this sandboxed, offline machine needs
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: a short study for load and security tests: 3 tasks, a holdout-free design, none option
COMPACT_STUDY = """
[study]
name = "Web survey load test"
none_option = true
currency = "EUR"

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "price"
unit = "EUR/month"
levels = [30.0, 40.0, 50.0]
coding = "linear"

[design]
method = "random"
alternatives = 2
tasks = 3
versions = 4
seed = 3

[questionnaire]
exclude = ["previous_plan", "price_paid", "tenure_months", "current_spend", "current_provider",
           "what_happened", "would_return", "bring_back", "satisfaction_before"]
"""

DUAL_STUDY = COMPACT_STUDY.replace(
    'name = "Web survey load test"\nnone_option = true',
    'name = "Web survey dual response"\ndual_response_none = true',
)


def write_study(folder: Path, text: str) -> Path:
    path = folder / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def make_survey(
    folder: Path, text: str, n_invites: int, *, db: str | None = None, versions: int | None = None
) -> tuple[Path, Survey, list[str]]:
    """A study file, its survey database (design made here) and the invite tokens."""
    study_file = write_study(folder, text)
    study = load_study(study_file)
    design = make_design(study, versions=versions)
    survey = open_survey(db or str(folder / "survey.db"), study, design=design, create=True)
    tokens = make_invites(survey, n_invites)["token"].tolist()
    return study_file, survey, tokens
