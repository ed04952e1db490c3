"""Why lost customers left (moved into a package; split into modules in the next commit)."""

from surveys.reasons.summary import (
    REASON_LABELS,
    TEXT_COLUMNS,
    ReasonsSummary,
    reason_covariates,
    summarize_reasons,
    wilson_interval,
)

__all__ = [
    "REASON_LABELS",
    "TEXT_COLUMNS",
    "ReasonsSummary",
    "reason_covariates",
    "summarize_reasons",
    "wilson_interval",
]
