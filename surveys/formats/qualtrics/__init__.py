"""Qualtrics response exports (CSV) in, and out again for round trips.

The survey is the one :mod:`surveys.fielding` writes (its embedded-data contract):

``CBC_VERSION``
    The design version the respondent saw.
``CBC_T{t}_A{j}_{attribute}``
    The level label shown for ``attribute`` (the study's attribute name) in alternative ``j``
    of task ``t`` (embedded data, so the export holds exactly what was on screen).
``CBC_SQ_{attribute}``
    Only with a status-quo alternative: its level label (the same in every task).
``CBC_T{t}``
    The choice question of task ``t``: ``1..J`` the designed alternatives, then ``J+1`` the
    status quo (if any), then the none option ("None of these", ``J+1`` without a status quo).
    Exports with the recorded choice *text* are understood when unambiguous: ``Option 2``,
    ``Alternative 2``, ``Concept 2``, the status-quo label, any text starting with ``None``; other
    wordings can be given with ``choice_labels=``.
``CBC_T{t}_DR``
    Dual-response none only: 1 = yes, I would take it; 2 = no (or texts starting Yes / No).

File layout understood: the current export with three header rows (1: column names, 2: question
texts, 3: ``{"ImportId":"QID12"}`` JSON), the older two-row form (names, texts), a single header
row (names only), with or without a UTF-8 byte-order mark, CRLF or LF line ends, question texts
spanning several lines. Line numbers in messages are lines of the file as an editor shows them.
Qualtrics can export two columns with the same name: when it is a column this reader needs, that
is an error naming both positions; otherwise the columns are not used.

What is read
------------
- Choice rows (winback's canonical long layout) for every respondent who finished
  (``Finished`` = 1/True; all when there is no ``Finished`` column) and answered at least one
  choice question. Respondents who did not finish (unless ``keep_unfinished=True``) or answered
  no choice question get no choice rows but stay in the respondents frame, so
  :func:`surveys.make_dataset` records them as excluded ("no choice tasks"): nobody is dropped.
- The respondents frame: ``respondent_id`` (from ``ResponseId``, or ``id_column=``), every
  column named as in the respondents.csv contract (``was_customer``, ``status``, ...,
  ``wave``), ``duration_seconds`` from Qualtrics' ``Duration (in seconds)`` (when not all
  blank) and any ``keep_columns=``.
- Not read: Qualtrics metadata (``StartDate``, ``EndDate``, ``Status``, ``Progress``,
  ``RecordedDate``, ``DistributionChannel``, ``UserLanguage``, ...) and other questions.
  Personal data is never copied: ``IPAddress``, ``RecipientLastName``, ``RecipientFirstName``,
  ``RecipientEmail``, ``LocationLatitude``, ``LocationLongitude`` (and ``ExternalReference``
  unless it is the ``id_column``) are dropped on reading and left blank on writing.

Answers to the questionnaire's own questions are Qualtrics choice numbers (1..k in the order the
choices were listed), which are not winback's codes (yes/no is 1/2 in Qualtrics, 1/0 in
respondents.csv). Pass ``questionnaire=`` (the :class:`surveys.questionnaire.Questionnaire`
fielded) to translate them, multi-select columns ``<id>_<k>`` included; without it the values
are kept as exported and a warning is logged.

The package: :mod:`~surveys.formats.qualtrics.reading` (``read``),
:mod:`~surveys.formats.qualtrics.layout` (the header: which column holds what),
:mod:`~surveys.formats.qualtrics.writing` (``write``) and
:mod:`~surveys.formats.qualtrics.columns` (what reading and writing share).
"""

from surveys.formats.qualtrics.columns import (
    DURATION_COLUMN,
    METADATA,
    PERSONAL_COLUMNS,
    UNFINISHED_REASON,
)
from surveys.formats.qualtrics.reading import OPTIONS, read
from surveys.formats.qualtrics.writing import write

__all__ = [
    "DURATION_COLUMN",
    "METADATA",
    "OPTIONS",
    "PERSONAL_COLUMNS",
    "UNFINISHED_REASON",
    "read",
    "write",
]
