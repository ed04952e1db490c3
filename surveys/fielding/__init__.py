"""Exports for fielding the questionnaire (moved into a package; split in the next commit)."""

from surveys.fielding.text import (
    qualtrics_embedded_data,
    qualtrics_embedded_fields,
    qualtrics_recodes,
    qualtrics_status_quo_data,
    qualtrics_status_quo_rules,
    question_list_markdown,
    write_qualtrics_embedded_data,
    write_qualtrics_questions,
    write_qualtrics_status_quo_rules,
    write_question_list,
    write_versions_csv,
)

__all__ = [
    "qualtrics_embedded_data",
    "qualtrics_embedded_fields",
    "qualtrics_recodes",
    "qualtrics_status_quo_data",
    "qualtrics_status_quo_rules",
    "question_list_markdown",
    "write_qualtrics_embedded_data",
    "write_qualtrics_questions",
    "write_qualtrics_status_quo_rules",
    "write_question_list",
    "write_versions_csv",
]
