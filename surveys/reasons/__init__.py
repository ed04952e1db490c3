"""Why lost customers left: reason shares with intervals, by segment, and their own words.

``summarize_reasons`` reads the lost-customer questionnaire's reason questions from the
respondents table (``reason_<code>`` 0/1 columns, ``main_reason``, the open texts) and returns a
:class:`ReasonsSummary`; ``reason_covariates`` turns the same answers into numeric respondent
covariates for estimation.

The package: :mod:`~surveys.reasons.summary` (``summarize_reasons``, ``ReasonsSummary``,
``reason_covariates``), :mod:`~surveys.reasons.answers` (reading the answers, groups,
verbatims, dummies) and :mod:`~surveys.reasons.shares` (shares and their intervals).
"""

from surveys.reasons.answers import (
    MAX_CATEGORIES,
    MISSING_GROUP,
    NUMERIC_COVARIATES,
    REASON_LABELS,
    TEXT_COLUMNS,
)
from surveys.reasons.shares import SHARE_COLUMNS, wilson_interval
from surveys.reasons.summary import ReasonsSummary, reason_covariates, summarize_reasons

__all__ = [
    "MAX_CATEGORIES",
    "MISSING_GROUP",
    "NUMERIC_COVARIATES",
    "REASON_LABELS",
    "SHARE_COLUMNS",
    "TEXT_COLUMNS",
    "ReasonsSummary",
    "reason_covariates",
    "summarize_reasons",
    "wilson_interval",
]
