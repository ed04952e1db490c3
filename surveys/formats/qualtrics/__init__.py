"""Qualtrics response exports (moved into a package; split into modules in the next commit)."""

from surveys.formats.qualtrics.reading import (
    DURATION_COLUMN,
    METADATA,
    OPTIONS,
    PERSONAL_COLUMNS,
    UNFINISHED_REASON,
    read,
    write,
)

__all__ = [
    "DURATION_COLUMN",
    "METADATA",
    "OPTIONS",
    "PERSONAL_COLUMNS",
    "UNFINISHED_REASON",
    "read",
    "write",
]
