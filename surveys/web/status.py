"""Fieldwork progress: completes, partials and drop-off per page (``winback field status``)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from surveys.web import schema

if TYPE_CHECKING:  # the survey module imports this one (Survey.__repr__ shows the status)
    from surveys.web.survey import Survey


@dataclass(frozen=True)
class SurveyStatus:
    """Where fieldwork stands.

    Attributes
    ----------
    study : str
    db : str
    n_invited, n_not_started, n_partial, n_complete, n_screened_out : int
    pages : DataFrame
        One row per page in survey order: ``page``, ``answered`` (respondents who answered it),
        ``waiting`` (partial respondents who stopped on it: the drop-off), ``median_seconds``.
    """

    study: str
    db: str
    n_invited: int
    n_not_started: int
    n_partial: int
    n_complete: int
    n_screened_out: int
    pages: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        """The figures as plain JSON values (a page nobody answered has ``median_seconds`` None)."""
        pages = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in self.pages.to_dict("records")
        ]
        return {
            "study": self.study,
            "invited": self.n_invited,
            "not_started": self.n_not_started,
            "partial": self.n_partial,
            "complete": self.n_complete,
            "screened_out": self.n_screened_out,
            "pages": pages,
        }

    def report(self) -> str:
        started = self.n_invited - self.n_not_started
        rate = f"{self.n_complete / started:.0%}" if started else "n/a"
        lines = [
            f"Web survey '{self.study}' ({self.db})",
            f"  invited {self.n_invited}, not started {self.n_not_started}, partial "
            f"{self.n_partial}, complete {self.n_complete}, screened out {self.n_screened_out}"
            f" (completion rate of those who started: {rate})",
            "",
            f"  {'page':<16}{'answered':>10}{'stopped here':>14}{'median s':>10}",
        ]
        for r in self.pages.itertuples(index=False):
            med = "" if pd.isna(r.median_seconds) else f"{r.median_seconds:.0f}"
            lines.append(f"  {r.page:<16}{r.answered:>10}{r.waiting:>14}{med:>10}")
        lines.append("")
        lines.append(
            "  next: `winback import STUDY DB --format db --out DIR` turns the answers into the "
            "canonical files"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def survey_status(survey: Survey) -> SurveyStatus:
    """Count invites, partials, completes and answers per page.

    Examples
    --------
    >>> print(survey_status(survey).report())  # doctest: +SKIP
    """
    inv = schema.invites
    with survey.engine.begin() as conn:
        rows = conn.execute(
            sa.select(inv.c.id, inv.c.started_at, inv.c.outcome, inv.c.current_page, inv.c.layout)
        ).all()
        page_rows = conn.execute(
            sa.select(schema.page_answers.c.page, schema.page_answers.c.seconds)
        ).all()
        task_rows = conn.execute(
            sa.select(schema.task_answers.c.task_position, schema.task_answers.c.seconds)
        ).all()
        maxdiff_rows = conn.execute(
            sa.select(schema.maxdiff_answers.c.maxdiff_set, schema.maxdiff_answers.c.seconds)
        ).all()
    n_invited = len(rows)
    not_started = sum(r.started_at is None for r in rows)
    complete = sum(r.outcome == "complete" for r in rows)
    screened = sum(r.outcome == "screened_out" for r in rows)
    partial = n_invited - not_started - complete - screened
    waiting = Counter(
        r.current_page for r in rows if r.started_at is not None and r.outcome is None
    )
    seconds: dict[str, list[float]] = {}
    for page, s in page_rows:
        seconds.setdefault(page, []).append(s)
    for pos, s in task_rows:
        seconds.setdefault(f"task-{pos}", []).append(s)
    for set_number, s in maxdiff_rows:
        seconds.setdefault(f"maxdiff-{set_number}", []).append(s)
    records = []
    for p in survey.pages:
        secs = [s for s in seconds.get(p.key, []) if s is not None]
        records.append(
            {
                "page": p.key,
                "answered": len(seconds.get(p.key, [])),
                "waiting": waiting.get(p.key, 0),
                "median_seconds": float(pd.Series(secs).median()) if secs else float("nan"),
            }
        )
    return SurveyStatus(
        study=survey.study.name,
        db=schema.safe_url(survey.db),
        n_invited=n_invited,
        n_not_started=not_started,
        n_partial=partial,
        n_complete=complete,
        n_screened_out=screened,
        pages=pd.DataFrame(records, columns=["page", "answered", "waiting", "median_seconds"]),
    )
