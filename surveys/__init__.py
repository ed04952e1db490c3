"""Lost-customer questionnaire, fielding exports, response import, validation and data quality.

The hand-off to ``analysis`` is the :class:`ChoiceDataset`::

    from surveys import read_responses, flag_quality
    data = read_responses("responses.csv", study, design=design)
    data = flag_quality(data)
"""

from surveys.dataset import ChoiceDataset
from surveys.fielding import write_qualtrics_questions, write_question_list, write_versions_csv
from surveys.fieldwork import simulate_fieldwork
from surveys.quality import flag_quality, quality_report, rlh_calibration
from surveys.questionnaire import (
    Question,
    Questionnaire,
    default_questionnaire,
    parse_questionnaire,
    simulate_respondents,
)
from surveys.reasons import ReasonsSummary, reason_covariates, summarize_reasons
from surveys.responses import FORMATS, make_dataset, read_responses, write_responses
from surveys.validation import validate_responses

__all__ = [
    "FORMATS",
    "ChoiceDataset",
    "Question",
    "Questionnaire",
    "ReasonsSummary",
    "default_questionnaire",
    "flag_quality",
    "make_dataset",
    "parse_questionnaire",
    "quality_report",
    "read_responses",
    "reason_covariates",
    "rlh_calibration",
    "simulate_fieldwork",
    "simulate_respondents",
    "summarize_reasons",
    "validate_responses",
    "write_qualtrics_questions",
    "write_question_list",
    "write_responses",
    "write_versions_csv",
]
