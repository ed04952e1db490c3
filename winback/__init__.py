"""winback: lost-customer (win-back) research with choice-based conjoint.

The study file, the pipeline and the ``winback`` command line live here; the stages live in the
sibling packages ``conjoint``, ``surveys``, ``analysis`` and ``reports``.
"""

from winback.errors import DesignError, StudyError, WinbackError
from winback.study import Attribute, Study, load_study, parse_study

__version__ = "0.1.0"

__all__ = [
    "Attribute",
    "DesignError",
    "Study",
    "StudyError",
    "WinbackError",
    "__version__",
    "load_study",
    "parse_study",
]
