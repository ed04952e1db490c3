"""Validation of response tables (moved into a package; split into modules in the next commit)."""

from surveys.validation.validate import (
    ROW_COLUMN,
    SHOWN,
    SPECIAL_ALTS,
    ProblemReport,
    validate_responses,
)

__all__ = ["ROW_COLUMN", "SHOWN", "SPECIAL_ALTS", "ProblemReport", "validate_responses"]
