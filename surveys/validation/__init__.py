"""``validate_responses``: everything wrong with a response table, reported at once.

The caller's frames are never modified. Problems are grouped by kind, with counts, the number of
respondents each kind affects and the first few of each kind naming file, row (the file's line
number; the header is line 1), column and value.

Every check works on whole columns (numpy and pandas group operations); where a value has to
be looked at in Python (a level label, a number written as text), each *distinct* text is looked
at once and the answer spread to its rows by integer codes, so a 200 MB export (a few hundred
distinct texts in millions of cells) is checked in seconds.

The package: :mod:`~surveys.validation.validate` (``validate_responses``),
:mod:`~surveys.validation.report` (``ProblemReport``, shared with the format readers),
:mod:`~surveys.validation.cells` (columns as codes, numbers, levels),
:mod:`~surveys.validation.structure` (tasks, respondents, the design, holdouts) and
:mod:`~surveys.validation.respondents` (the respondents table).
"""

from surveys.validation.cells import ROW_COLUMN, SPECIAL_ALTS
from surveys.validation.report import SHOWN, ProblemReport
from surveys.validation.validate import validate_responses

__all__ = ["ROW_COLUMN", "SHOWN", "SPECIAL_ALTS", "ProblemReport", "validate_responses"]
