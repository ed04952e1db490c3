"""winback: lost-customer (win-back) research with choice-based conjoint.

The study file, the pipeline and the ``winback`` command line live here; the stages live in the
sibling packages ``conjoint``, ``surveys``, ``analysis`` and ``reports``. See
``docs/architecture.md`` for the layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from winback.errors import DesignError, ParameterError, StudyError, WinbackError

if TYPE_CHECKING:
    from winback.study import Attribute, Study, load_study, parse_study

__version__ = "0.1.0"

_STUDY_NAMES = ("Attribute", "Study", "load_study", "parse_study")


def __getattr__(name: str) -> Any:
    if name in _STUDY_NAMES:
        # lazy: `import winback` (and `winback --version`) stays free of pandas, which the
        # study's questionnaire needs
        import winback.study

        return getattr(winback.study, name)
    raise AttributeError(f"module 'winback' has no attribute {name!r}")


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
