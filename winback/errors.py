"""Errors raised by winback: each names the file, the place, the bad value and what is valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WinbackError(Exception):
    """Base class of every error winback raises on bad input."""


class StudyError(WinbackError, ValueError):
    """A study file (``study.toml``) is malformed.

    Several problems in one file are reported together, one per line.
    """

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            msg = f"{where}{self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            msg = f"{where}{len(self.problems)} problems in the study file:\n{lines}"
        super().__init__(msg)


class DesignError(WinbackError, ValueError):
    """A design cannot be built or read (infeasible constraints, malformed design file)."""


def did_you_mean(value: str, valid: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` when a close match exists, else ``""``."""
    matches = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def list_valid(valid: Iterable[object]) -> str:
    return ", ".join(str(v) for v in valid)
