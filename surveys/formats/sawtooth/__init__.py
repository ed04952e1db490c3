"""Sawtooth Software CBC data: ``.cho`` choice files with their ``.att`` label files.

``.cho`` layout (Lighthouse Studio / SSI Web help, ".CHO File Format"), whitespace-separated
whole numbers, one respondent after another::

    8960 2 4 8 1        respondent number, number of extra variables, attributes, tasks,
                        none option (0 = no, 1 = yes, 2 = dual-response none)
    6 1                 the extra variables (this line is empty when there are none)
    3 1                 task 1: number of concepts shown, depth of preference (always 1)
    2 1 2 3             concept 1: level code of each attribute (1 = first level)
    3 3 1 1             concept 2
    1 2 2 4             concept 3
    2 32                concept chosen (0 = not answered), task duration (seconds)
    ...                 the task block again for every task

The none alternative is not listed as a concept: choosing it is coded as concept
``concepts + 1``. With dual-response none (header flag 2) the choice line carries two more
numbers, the answer to "would you really take it?" (1 = yes, 2 = no, 0 = not answered) and its
duration: ``2 32 1 5``. Fixed (holdout) tasks are listed like any other task, in the order
shown (winback puts them last, as in the design).

``.att`` layout: for each attribute its label on one line, then one line per level label, and a
blank line between attributes. Level codes map to the study's levels by position (code 1 =
the first level listed = the reference level); the ``.att`` file beside the ``.cho`` (same name)
is read to check that its labels are the study's, so a file exported from another study or with
reordered levels is reported instead of read wrongly.

The ``.cho`` file holds no version number: with ``design=`` each respondent's version is the
design version whose tasks match what the file shows (reported when none does).

The package: :mod:`~surveys.formats.sawtooth.reading` (``read``),
:mod:`~surveys.formats.sawtooth.att` (``read_att`` and the mapping of codes to the study) and
:mod:`~surveys.formats.sawtooth.writing` (``write``).
"""

from surveys.formats.sawtooth.att import read_att
from surveys.formats.sawtooth.reading import OPTIONS, read
from surveys.formats.sawtooth.writing import write

__all__ = ["OPTIONS", "read", "read_att", "write"]
