"""winback: lost-customer (win-back) research with choice-based conjoint.

The study file, the pipeline and the ``winback`` command line live here; the stages live in the
sibling packages ``conjoint``, ``surveys``, ``analysis`` and ``reports``. See
``docs/architecture.md`` for the layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names
from winback.errors import DesignError, ParameterError, StudyError, WinbackError

if TYPE_CHECKING:
    from winback.study import Attribute, Study, load_study, parse_study

__version__ = "0.1.0"

_STUDY_NAMES = ("Attribute", "Study", "load_study", "parse_study")


#: `import winback` (and `winback --version`) stays free of pandas, which the study's
#: questionnaire needs: the study's names load it on first use (looked up in winback.study
#: every time, so that a name patched there is what `winback` gives)
__getattr__, __dir__ = _lazy_names(
    __name__, dict.fromkeys(_STUDY_NAMES, "winback.study"), keep=False
)


__all__ = [
    "Attribute",
    "DesignError",
    "ParameterError",
    "Study",
    "StudyError",
    "WinbackError",
    "__version__",
    "load_study",
    "parse_study",
]
