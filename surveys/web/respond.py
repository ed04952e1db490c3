"""What one respondent sees next, and saving one page of answers (the web layer calls these).

Every submit is one database transaction: the invite row is locked, the page must be the one the
respondent is on, the answer is inserted (a unique constraint refuses a second one), and the
interview is completed with a guarded update, so a double click, a second tab or a replayed form
can never create a second record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from surveys.web import schema
from surveys.web.flow import (
    Page,
    PageResult,
    check_page,
    form_problems,
    screened_out,
    shown_questions,
)
from surveys.web.maxdiff import FIELDS, SetView, check_set, set_view
from surveys.web.survey import Survey
from surveys.web.tokens import looks_like_token


@dataclass(frozen=True)
class Invite:
    """One respondent's state: who, which version and order, what is answered.

    Attributes
    ----------
    answers : dict
        respondents.csv column -> text, from every questionnaire page answered.
    pages_done : frozenset of str
        Keys of the questionnaire pages answered.
    tasks_done : frozenset of int
        The design task numbers answered.
    maxdiff_version : int or None
        The MaxDiff design version dealt to the respondent (None: the survey asks no MaxDiff).
    maxdiff_done : frozenset of int
        The MaxDiff set numbers answered.
    """

    id: int
    token: str
    respondent_id: str
    version: int
    layout: tuple[tuple[int, tuple[int, ...]], ...]
    started_at: float | None
    completed_at: float | None
    outcome: str | None
    answers: Mapping[str, str] = field(default_factory=dict)
    pages_done: frozenset[str] = frozenset()
    tasks_done: frozenset[int] = frozenset()
    maxdiff_version: int | None = None
    maxdiff_done: frozenset[int] = frozenset()

    def task_at(self, position: int) -> tuple[int, tuple[int, ...]]:
        """The design task shown at screen ``position`` and its concept order."""
        return self.layout[position - 1]


@dataclass(frozen=True)
class Alternative:
    """One alternative as shown: its code in the data, its column on screen, its levels."""

    alt: str  # "1".."J", "status_quo", "none"
    position: int | None  # column on screen (None: the none option below the table)
    label: str
    levels: Mapping[str, str]


@dataclass(frozen=True)
class TaskView:
    task: int
    position: int
    version: int
    alternatives: tuple[Alternative, ...]

    def shown_json(self) -> list[dict[str, Any]]:
        return [
            {"alt": a.alt, "alt_position": a.position, "levels": dict(a.levels)}
            for a in self.alternatives
        ]


def _load(conn: sa.Connection, token: str, *, lock: bool = False) -> Invite | None:
    if not looks_like_token(token):
        return None
    q = sa.select(schema.invites).where(schema.invites.c.token == token)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None:
        return None
    answers: dict[str, str] = {}
    pages = set()
    for page, text in conn.execute(
        sa.select(schema.page_answers.c.page, schema.page_answers.c.answers)
        .where(schema.page_answers.c.invite_id == row["id"])
        .order_by(schema.page_answers.c.id)
    ):
        pages.add(page)
        answers.update(json.loads(text))
    tasks = set(
        conn.execute(
            sa.select(schema.task_answers.c.task).where(
                schema.task_answers.c.invite_id == row["id"]
            )
        ).scalars()
    )
    sets = set(
        conn.execute(
            sa.select(schema.maxdiff_answers.c.maxdiff_set).where(
                schema.maxdiff_answers.c.invite_id == row["id"]
            )
        ).scalars()
    )
    return Invite(
        id=row["id"],
        token=row["token"],
        respondent_id=row["respondent_id"],
        version=row["version"],
        layout=tuple(
            (int(t), tuple(int(j) for j in alts)) for t, alts in json.loads(row["layout"])
        ),
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        outcome=row["outcome"],
        answers=answers,
        pages_done=frozenset(pages),
        tasks_done=frozenset(int(t) for t in tasks),
        maxdiff_version=row["maxdiff_version"],
        maxdiff_done=frozenset(int(m) for m in sets),
    )


def load_invite(survey: Survey, token: str) -> Invite | None:
    """The respondent with this token, or None for a token that is malformed or unknown.

    Examples
    --------
    >>> load_invite(survey, "not-a-token") is None  # doctest: +SKIP
    True
    """
    if not looks_like_token(token):
        return None
    with survey.engine.begin() as conn:
        return _load(conn, token)


def next_page(survey: Survey, invite: Invite) -> Page | None:
    """The first page not yet answered that has something to show; None when all are done."""
    shown: dict[str, bool] | None = None
    for page in survey.pages:
        if page.is_task:
            task, _ = invite.task_at(page.position)
            if task not in invite.tasks_done:
                return page
            continue
        if page.key in invite.pages_done or page.maxdiff_set in invite.maxdiff_done:
            continue
        if shown is None:
            shown = shown_questions(invite.answers, survey.questionnaire)
        if any(shown.get(q.id, False) for q in page.questions):
            return page
    return None


def visible_questions(survey: Survey, invite: Invite, page: Page) -> list[Any]:
    """The questions of a questionnaire page this respondent is shown."""
    shown = shown_questions(invite.answers, survey.questionnaire)
    return [q for q in page.questions if shown.get(q.id, False)]


def maxdiff_view(survey: Survey, invite: Invite, page: Page) -> SetView:
    """What a MaxDiff page shows: the set's reasons of the respondent's version, in order."""
    assert survey.maxdiff is not None, "a MaxDiff page of a survey without a MaxDiff"
    version = invite.maxdiff_version
    if version is None:  # cannot happen: invites of a MaxDiff survey are dealt a version
        version = (invite.id - 1) % survey.maxdiff.versions + 1
    return set_view(survey.maxdiff, survey.questionnaire.maxdiff, version, page.maxdiff_set)


def task_view(survey: Survey, invite: Invite, page: Page) -> TaskView:
    """What a task page shows: the alternatives in screen order, the status quo, the none."""
    task, order = invite.task_at(page.position)
    levels = survey.task_levels(invite.version, task)
    study = survey.study
    # a labelled design shows each alternative under its label's name, wherever it is placed
    alts = [
        Alternative(
            str(j),
            pos,
            study.label_display(study.labels[j - 1]) if study.labels else f"Option {pos}",
            levels[j - 1],
        )
        for pos, j in enumerate(order, start=1)
    ]
    if study.status_quo is not None:
        # a per-respondent status quo is their own plan, from their earlier answers
        sq_levels = survey.status_quo_levels(invite.answers)
        alts.append(Alternative("status_quo", len(order) + 1, study.status_quo.label, sq_levels))
    if study.none_option:
        spec = survey.questionnaire.conjoint
        label = spec.none_label if spec is not None else "None of these"
        alts.append(Alternative("none", None, label, {a: "" for a in study.attribute_names}))
    return TaskView(task, page.position, invite.version, tuple(alts))


def start(survey: Survey, invite: Invite, page: Page) -> None:
    """Record the first visit (start time) and the page the respondent is on."""
    now = time.time()
    with survey.engine.begin() as conn:
        conn.execute(
            sa.update(schema.invites)
            .where(schema.invites.c.id == invite.id, schema.invites.c.started_at.is_(None))
            .values(started_at=now, current_page=page.key)
        )


# --------------------------------------------------------------------------------------------
# Submitting a page
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What became of a submitted page.

    ``status`` is one of ``"saved"`` (next page or the end), ``"invalid"`` (show the page
    again with ``result.errors``), ``"stale"`` (that page was already answered or is not the
    respondent's current page: show the current one), ``"finished"`` (the interview is over),
    ``"unknown"`` (no such token), ``"refused"`` (the form is not one this page sends: a
    field twice or a field the page does not ask for; ``problem`` says which).
    """

    status: str
    result: PageResult | None = None
    finished: bool = False
    problem: str = ""


def submit(
    survey: Survey,
    token: str,
    page_key: str,
    form: Mapping[str, Sequence[str]],
    *,
    seconds: float | None = None,
) -> Submitted:
    """Check and save one page; complete the interview after its last page or a screen-out.

    Examples
    --------
    >>> submit(survey, token, "screener", {"was_customer": ["1"], "status": ["left"]})  # doctest: +SKIP
    Submitted(status='saved', result=..., finished=False)
    """
    try:
        with survey.engine.begin() as conn:
            inv = _load(conn, token, lock=True)
            if inv is None:
                return Submitted("unknown")
            if inv.completed_at is not None:
                return Submitted("finished")
            page = next_page(survey, inv)
            if page is None or page.key != page_key:
                return Submitted("stale")
            now = time.time()
            if page.is_task:
                out = _save_task(conn, survey, inv, page, form, now, seconds)
            elif page.is_maxdiff:
                out = _save_maxdiff(conn, survey, inv, page, form, now, seconds)
            else:
                out = _save_questions(conn, survey, inv, page, form, now, seconds)
            return out  # an invalid page wrote nothing
    except sa.exc.IntegrityError:  # the same page saved by a concurrent request
        return Submitted("stale")


def _save_questions(
    conn: sa.Connection,
    survey: Survey,
    inv: Invite,
    page: Page,
    form: Mapping[str, Sequence[str]],
    now: float,
    seconds: float | None,
) -> Submitted:
    questions = visible_questions(survey, inv, page)
    problems = form_problems(
        form,
        single=[q.id for q in questions if q.type != "multi"],
        multi=[q.id for q in questions if q.type == "multi"],
    )
    if problems:
        return Submitted("refused", problem="; ".join(problems))
    result = check_page(questions, form)
    if result.errors:
        return Submitted("invalid", result)
    conn.execute(
        sa.insert(schema.page_answers).values(
            invite_id=inv.id,
            page=page.key,
            answers=schema.dumps(result.answers),
            shown=schema.dumps([q.id for q in questions]),
            seconds=seconds,
            submitted_at=now,
        )
    )
    answers = {**inv.answers, **result.answers}
    after = replace(inv, answers=answers, pages_done=inv.pages_done | {page.key})
    if screened_out(answers, survey.questionnaire):
        return _finish(conn, inv, "screened_out", now, result)
    return _advance(conn, survey, after, now, result)


def _save_task(
    conn: sa.Connection,
    survey: Survey,
    inv: Invite,
    page: Page,
    form: Mapping[str, Sequence[str]],
    now: float,
    seconds: float | None,
) -> Submitted:
    dual = survey.study.dual_response_none
    problems = form_problems(form, single=["choice", "would_buy"] if dual else ["choice"])
    if problems:
        return Submitted("refused", problem="; ".join(problems))
    view = task_view(survey, inv, page)
    codes = [a.alt for a in view.alternatives]
    choice = (form.get("choice") or [""])[0]
    errors: dict[str, str] = {}
    if choice not in codes:
        errors["choice"] = "Please choose one of the offers."
    would: int | None = None
    if dual:
        w = (form.get("would_buy") or [""])[0]
        if w not in ("1", "0"):
            errors["would_buy"] = "Please say whether you would really take the offer."
        else:
            would = int(w)
    if errors:
        values = {k: [str(v) for v in form.get(k, [])] for k in ("choice", "would_buy")}
        return Submitted("invalid", PageResult({}, errors, values))
    conn.execute(
        sa.insert(schema.task_answers).values(
            invite_id=inv.id,
            task=view.task,
            task_position=view.position,
            version=inv.version,
            shown=schema.dumps(view.shown_json()),
            chosen=choice,
            would_buy=would,
            seconds=seconds,
            submitted_at=now,
        )
    )
    after = replace(inv, tasks_done=inv.tasks_done | {view.task})
    return _advance(conn, survey, after, now, None)


def _save_maxdiff(
    conn: sa.Connection,
    survey: Survey,
    inv: Invite,
    page: Page,
    form: Mapping[str, Sequence[str]],
    now: float,
    seconds: float | None,
) -> Submitted:
    problems = form_problems(form, single=FIELDS)
    if problems:
        return Submitted("refused", problem="; ".join(problems))
    view = maxdiff_view(survey, inv, page)
    result = check_set(view, form, survey.questionnaire.maxdiff)
    if result.errors:
        return Submitted("invalid", result)
    conn.execute(
        sa.insert(schema.maxdiff_answers).values(
            invite_id=inv.id,
            maxdiff_set=view.set,
            version=view.version,
            shown=schema.dumps(list(view.codes)),
            best=result.answers["best"],
            worst=result.answers["worst"],
            seconds=seconds,
            submitted_at=now,
        )
    )
    after = replace(inv, maxdiff_done=inv.maxdiff_done | {view.set})
    return _advance(conn, survey, after, now, result)


def _advance(
    conn: sa.Connection, survey: Survey, inv: Invite, now: float, result: PageResult | None
) -> Submitted:
    nxt = next_page(survey, inv)
    if nxt is None:
        return _finish(conn, inv, "complete", now, result)
    conn.execute(
        sa.update(schema.invites).where(schema.invites.c.id == inv.id).values(current_page=nxt.key)
    )
    return Submitted("saved", result)


def _finish(
    conn: sa.Connection, inv: Invite, outcome: str, now: float, result: PageResult | None
) -> Submitted:
    done = conn.execute(
        sa.update(schema.invites)
        .where(schema.invites.c.id == inv.id, schema.invites.c.completed_at.is_(None))
        .values(completed_at=now, outcome=outcome, current_page=None)
    )
    if done.rowcount != 1:  # completed by a concurrent request: roll this one back
        raise sa.exc.IntegrityError("completed twice", None, Exception("completed twice"))
    return Submitted("saved", result, finished=True)
