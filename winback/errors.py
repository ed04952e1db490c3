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


class ParameterError(WinbackError, ValueError):
    """An argument of a function or command is out of its valid range or not one of its choices.

    Both a :class:`WinbackError` (the command line prints it as a clear error) and a
    ``ValueError`` (what Python code expects from a bad argument).
    """


class DesignError(WinbackError, ValueError):
    """A design cannot be built or read (infeasible constraints, malformed design file)."""


def did_you_mean(value: str, valid: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` when a close match exists, else ``""``."""
    matches = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def list_valid(valid: Iterable[object]) -> str:
    return ", ".join(str(v) for v in valid)


class ResponseError(WinbackError):
    """A response file (or frame) has problems; every problem is listed, grouped by kind.

    ``problems`` is a list of (kind, message) pairs; ``counts`` the number of problems per kind
    (the message shows the first few of each kind). ``respondents`` (optional) gives, per kind,
    how many respondents it affects and ``n_affected`` how many respondents have any problem:
    a respondent with several problems of a kind counts once for it.
    """

    def __init__(
        self,
        problems: list[tuple[str, str]],
        counts: dict[str, int] | None = None,
        source: str | None = None,
        shown_per_kind: int = 5,
        respondents: dict[str, int] | None = None,
        n_affected: int | None = None,
    ):
        self.problems = list(problems)
        self.counts = dict(counts) if counts is not None else {}
        if not self.counts:
            for kind, _ in self.problems:
                self.counts[kind] = self.counts.get(kind, 0) + 1
        self.source = source
        self.respondents = dict(respondents or {})
        self.n_affected = n_affected
        total = sum(self.counts.values())
        head = f"{source or 'responses'}: {total} problem(s) in {len(self.counts)} kind(s)"
        if n_affected:
            head += f", {n_affected} respondent(s) affected"
        lines = [head]
        for kind, n in self.counts.items():
            m = self.respondents.get(kind, 0)
            lines.append(f"  {kind}: {n}" + (f" ({m} respondent(s))" if m else ""))
            msgs = [msg for k, msg in self.problems if k == kind][:shown_per_kind]
            lines.extend(f"    - {msg}" for msg in msgs)
            if n > len(msgs):
                lines.append(f"    ... and {n - len(msgs)} more")
        super().__init__("\n".join(lines))

    @property
    def kinds(self) -> list[str]:
        return list(self.counts)
