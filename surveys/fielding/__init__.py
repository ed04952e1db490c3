"""Exports for fielding the questionnaire elsewhere: Qualtrics, any platform, or by hand.

- :func:`write_qualtrics_questions`: the questionnaire in Qualtrics' Advanced Format TXT import,
  the conjoint tasks driven by embedded data (the contract below).
- :func:`write_qualtrics_embedded_data`: the values of those embedded-data fields, one row per
  design version.
- :func:`write_versions_csv`: a pre-randomised versions table any survey platform can take.
- :func:`write_question_list`: a Markdown question list to paste anywhere.

The Sawtooth and Qualtrics-conjoint *design* files are in :mod:`conjoint.export`.

Embedded-data contract (Qualtrics)
----------------------------------
``CBC_VERSION``
    The design version (1..V) the respondent sees.
``CBC_T{t}_A{j}_{attribute}``
    The level label shown for ``attribute`` (its name in the study) in alternative ``j`` (1..J)
    of task ``t`` (1..T, the design's task numbers: holdout tasks are the last ones). The label
    is the design.csv label (numbers without a trailing ``.0``), so
    ``Attribute.index_of(label)`` turns it back into a level.
``CBC_SQ_{attribute}``
    Only with a status-quo alternative: its level label (the same in every task). A fixed
    status quo (``[status_quo] levels``) has the same value for everyone and is in the
    embedded-data table. One filled per respondent (``[status_quo] plans``) differs between
    respondents: set it in the survey flow after the ``previous_plan`` (and ``price_paid``)
    questions, one branch per rule of :func:`qualtrics_status_quo_rules`, or load it with the
    contact list (:func:`qualtrics_status_quo_data`). The response export then holds what each
    respondent saw, which the Qualtrics importer reads.

Questions and answers: task ``t`` is the single-answer question ``CBC_T{t}``; its choices are
``1..J`` for the designed alternatives, then ``J+1`` for the status quo (if any), then the none
option (``J+1`` without a status quo: "None of these"). With dual-response none each task has a
follow-up ``CBC_T{t}_DR``: 1 = yes, I would take it; 2 = no.

The package: :mod:`~surveys.fielding.embedded` (the embedded-data fields, their values and the
status-quo rules), :mod:`~surveys.fielding.text` (Qualtrics TXT and the Markdown question list)
and :mod:`~surveys.fielding.versions` (the versions CSV).
"""

from surveys.fielding.embedded import (
    STATUS_QUO_RULE_COLUMNS,
    cbc_field,
    qualtrics_embedded_data,
    qualtrics_embedded_fields,
    qualtrics_recodes,
    qualtrics_status_quo_data,
    qualtrics_status_quo_rules,
    write_qualtrics_embedded_data,
    write_qualtrics_status_quo_rules,
)
from surveys.fielding.text import (
    BLOCK_TITLES,
    qualtrics_txt,
    question_list_markdown,
    write_qualtrics_questions,
    write_question_list,
)
from surveys.fielding.versions import versions_frame, write_versions_csv

__all__ = [
    "BLOCK_TITLES",
    "STATUS_QUO_RULE_COLUMNS",
    "cbc_field",
    "qualtrics_embedded_data",
    "qualtrics_embedded_fields",
    "qualtrics_recodes",
    "qualtrics_status_quo_data",
    "qualtrics_status_quo_rules",
    "qualtrics_txt",
    "question_list_markdown",
    "versions_frame",
    "write_qualtrics_embedded_data",
    "write_qualtrics_questions",
    "write_qualtrics_status_quo_rules",
    "write_question_list",
    "write_versions_csv",
]
