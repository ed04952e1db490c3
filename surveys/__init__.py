"""Lost-customer questionnaire, fielding exports, response import, validation and data quality.

The hand-off to ``analysis`` is the :class:`ChoiceDataset`::

    from surveys import read_responses, flag_quality
    data = read_responses("responses.csv", study, design=design)
    data = flag_quality(data)
"""

from surveys.dataset import ChoiceDataset
from surveys.responses import FORMATS, make_dataset, read_responses, write_responses
from surveys.validation import validate_responses

__all__ = [
    "FORMATS",
    "ChoiceDataset",
    "make_dataset",
    "read_responses",
    "validate_responses",
    "write_responses",
]
