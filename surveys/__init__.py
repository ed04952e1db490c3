"""Lost-customer questionnaire, fielding exports, response import, validation and data quality.

The hand-off to ``analysis`` is the :class:`ChoiceDataset`::

    from surveys import read_responses, flag_quality
    data = read_responses("responses.csv", study, design=design)
    data = flag_quality(data)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from surveys.dataset import ChoiceDataset
    from surveys.fielding import (
        write_qualtrics_questions,
        write_question_list,
        write_versions_csv,
    )
    from surveys.fieldwork import simulate_fieldwork
    from surveys.maxdiff import MaxDiffAnswers, read_maxdiff_answers
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

#: where each name lives; a name loads its module on first use, so the ``winback`` command
#: (which registers ``winback field`` from :mod:`surveys.web.cli`) answers ``--version`` and
#: ``--help`` without loading pandas and scipy
_MODULE_OF = {
    "ChoiceDataset": "dataset",
    "write_qualtrics_questions": "fielding",
    "write_question_list": "fielding",
    "write_versions_csv": "fielding",
    "simulate_fieldwork": "fieldwork",
    "MaxDiffAnswers": "maxdiff",
    "read_maxdiff_answers": "maxdiff",
    "flag_quality": "quality",
    "quality_report": "quality",
    "rlh_calibration": "quality",
    "Question": "questionnaire",
    "Questionnaire": "questionnaire",
    "default_questionnaire": "questionnaire",
    "parse_questionnaire": "questionnaire",
    "simulate_respondents": "questionnaire",
    "ReasonsSummary": "reasons",
    "reason_covariates": "reasons",
    "summarize_reasons": "reasons",
    "FORMATS": "responses",
    "make_dataset": "responses",
    "read_responses": "responses",
    "write_responses": "responses",
    "validate_responses": "validation",
}

#: looked up in the module every time (``keep=False``): a name patched in its module (a test
#: replacing ``surveys.<module>.<name>``) is what ``surveys`` gives
__getattr__, __dir__ = _lazy_names(
    __name__, {name: f"surveys.{module}" for name, module in _MODULE_OF.items()}, keep=False
)


__all__ = [
    "FORMATS",
    "ChoiceDataset",
    "MaxDiffAnswers",
    "Question",
    "Questionnaire",
    "ReasonsSummary",
    "default_questionnaire",
    "flag_quality",
    "make_dataset",
    "parse_questionnaire",
    "quality_report",
    "read_maxdiff_answers",
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
