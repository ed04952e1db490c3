"""The survey as pages, and the checking of one page's answers (pure: no web, no database).

Questions are grouped into pages by block; a page ends early where a question's show-if looks
at a question on the same page, so every condition can be decided on the server before the page
is shown (no script needed). The conjoint question becomes one page per choice task, in the
respondent's task order; the MaxDiff question one page per set of the design, in its order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from surveys.questionnaire import Question, Questionnaire, evaluate_logic
from winback.study import format_level

#: longest open-text answer kept (characters)
MAX_TEXT = 4000


@dataclass(frozen=True)
class Page:
    """One page of the web survey.

    Attributes
    ----------
    key : str
        Stable name, used in the database and in ``winback field status``: the block name
        (``"reasons"``, ``"reasons-2"`` for its second page), ``"task-<n>"`` for the n-th
        choice task shown, or ``"maxdiff-<n>"`` for set n of the MaxDiff.
    questions : tuple of Question
        Questions of a questionnaire page (empty on a task or MaxDiff page).
    position : int
        Task pages: the screen number of the task (1..T); 0 otherwise.
    maxdiff_set : int
        MaxDiff pages: the design's set number (1..S); 0 otherwise.
    """

    key: str
    questions: tuple[Question, ...] = ()
    position: int = 0
    maxdiff_set: int = 0

    @property
    def is_task(self) -> bool:
        return self.position > 0

    @property
    def is_maxdiff(self) -> bool:
        return self.maxdiff_set > 0

    @property
    def is_questions(self) -> bool:
        """A questionnaire page (neither a choice task nor a MaxDiff set)."""
        return not self.is_task and not self.is_maxdiff


def plan_pages(
    questionnaire: Questionnaire, n_tasks: int, maxdiff_sets: int = 0
) -> tuple[Page, ...]:
    """The pages of the survey, in order.

    Parameters
    ----------
    questionnaire : Questionnaire
    n_tasks : int
        Choice tasks per respondent (pages of the conjoint question).
    maxdiff_sets : int
        Sets per respondent of the MaxDiff question's design; 0 leaves the question out (a
        survey stored without a MaxDiff design).

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> from surveys.questionnaire import default_questionnaire
    >>> q = default_questionnaire(make_study(SMALL_STUDY))
    >>> [p.key for p in plan_pages(q, 2)]  # doctest: +NORMALIZE_WHITESPACE
    ['screener', 'previous', 'reasons', 'reasons-2', 'return', 'consent', 'task-1', 'task-2']
    """
    pages: list[Page] = []
    current: list[Question] = []
    seen_keys: dict[str, int] = {}

    def close() -> None:
        if not current:
            return
        block = current[0].block
        seen_keys[block] = seen_keys.get(block, 0) + 1
        n = seen_keys[block]
        pages.append(Page(block if n == 1 else f"{block}-{n}", tuple(current)))
        current.clear()

    for q in questionnaire.questions:
        if q.type == "conjoint":
            close()
            pages.extend(Page(f"task-{i}", position=i) for i in range(1, n_tasks + 1))
            continue
        if q.type == "maxdiff":
            if maxdiff_sets:
                close()
                pages.extend(
                    Page(f"maxdiff-{s}", (q,), maxdiff_set=s) for s in range(1, maxdiff_sets + 1)
                )
            continue
        on_page = {c.id for c in current}
        if current and (
            q.block != current[0].block or (q.logic is not None and q.logic.question in on_page)
        ):
            close()
        current.append(q)
    close()
    return tuple(pages)


def answers_frame(answers: Mapping[str, str], questionnaire: Questionnaire) -> pd.DataFrame:
    """One respondents.csv-shaped row of the answers given so far (missing = unanswered)."""
    row = {c: [answers.get(c) or None] for c in questionnaire.columns()[1:] if c in answers}
    return pd.DataFrame(row, index=[0])


def shown_questions(answers: Mapping[str, str], questionnaire: Questionnaire) -> dict[str, bool]:
    """Which questions are shown, given the answers so far (later answers do not matter)."""
    return dict(_shown(questionnaire, tuple(sorted(answers.items()))))


@lru_cache(maxsize=4096)
def _shown(
    questionnaire: Questionnaire, answers: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, bool], ...]:
    # the same answers give the same pages: cached, since pandas costs milliseconds per call
    shown = questionnaire.shown(answers_frame(dict(answers), questionnaire))
    return tuple((str(k), bool(v)) for k, v in shown.iloc[0].items())


def screened_out(answers: Mapping[str, str], questionnaire: Questionnaire) -> bool:
    """Whether the answers so far meet a screen-out rule (the interview ends)."""
    frame = answers_frame(answers, questionnaire)
    for rule in questionnaire.screen_out:
        target = questionnaire.question(rule.question)
        if bool(evaluate_logic(rule, target, frame).iloc[0]):
            return True
    return False


@dataclass(frozen=True)
class PageResult:
    """The checked answers of one questionnaire page.

    Attributes
    ----------
    answers : dict
        respondents.csv column -> text (multi-select: ``"1"``/``"0"`` per option).
    errors : dict
        question id -> what is wrong, in words (empty when the page is complete).
    values : dict
        question id -> what was entered, to show the page again with the errors.
    """

    answers: dict[str, str]
    errors: dict[str, str]
    values: dict[str, list[str]]


def check_page(questions: Sequence[Question], form: Mapping[str, Sequence[str]]) -> PageResult:
    """Check what a respondent entered on a questionnaire page.

    Parameters
    ----------
    questions : sequence of Question
        The questions shown on the page.
    form : mapping of question id -> list of submitted values

    Examples
    --------
    >>> from surveys.questionnaire import Question
    >>> q = Question("tenure_months", "number", "Months?", min=0.0, max=600.0)
    >>> check_page([q], {"tenure_months": ["700"]}).errors
    {'tenure_months': 'Please enter a number from 0 to 600.'}
    >>> check_page([q], {"tenure_months": [" 24 "]}).answers
    {'tenure_months': '24'}
    """
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for q in questions:
        given = [str(v) for v in form.get(q.id, [])]
        values[q.id] = given
        text = given[0].strip() if given else ""
        if q.type == "multi":
            codes = [str(c) for c in q.codes]
            ticked = set(given)
            unknown = ticked - set(codes)
            if unknown:
                errors[q.id] = "Please tick only the answers listed."
            elif q.required and not ticked:
                errors[q.id] = "Please tick at least one answer."
            for c in codes:
                answers[f"{q.id}_{c}"] = "1" if c in ticked else "0"
            continue
        if not text:
            if q.required:
                errors[q.id] = (
                    "Please enter a number." if q.type == "number" else "Please choose an answer."
                )
            answers[q.id] = ""
            continue
        if q.type in ("single", "yes_no", "scale"):
            if text not in {str(c) for c in q.codes}:
                errors[q.id] = "Please choose one of the answers listed."
            answers[q.id] = text
        elif q.type == "number":
            answers[q.id] = text
            msg = _number_problem(text, q)
            if msg:
                errors[q.id] = msg
            else:
                answers[q.id] = format_level(float(text.replace(",", ".")))
        else:  # open text: kept exactly as typed (escaped when shown, formula-safe in files)
            if len(given[0]) > MAX_TEXT:
                errors[q.id] = f"Please keep your answer under {MAX_TEXT} characters."
            elif "\x00" in given[0]:  # no keyboard types it; no database stores it as text
                errors[q.id] = (
                    "Please remove the invisible control character (NUL) from your answer."
                )
            answers[q.id] = given[0]
    return PageResult(answers, errors, values)


def form_problems(
    form: Mapping[str, Sequence[str]], single: Iterable[str], multi: Iterable[str] = ()
) -> list[str]:
    """What makes a submitted page something its form cannot send (empty: nothing).

    A page's form sends each of its ``single`` fields (radio buttons, boxes) at most once and
    only its own fields; ``multi`` fields (tick boxes) may repeat. A browser never sends
    anything else, so these are refused rather than quietly ignored.

    Examples
    --------
    >>> form_problems({"choice": ["1", "2"], "x": ["1"]}, single=["choice"])
    ["it sent more than one answer for 'choice'", "it sent fields this page does not ask for: 'x'"]
    """
    single, multi = set(single), set(multi)
    twice = sorted(k for k in single if len(form.get(k, [])) > 1)
    unknown = sorted(k for k in form if k not in single and k not in multi)
    problems = []
    if twice:
        problems.append("it sent more than one answer for " + ", ".join(short(k) for k in twice))
    if unknown:
        listed = ", ".join(short(k) for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        problems.append(f"it sent fields this page does not ask for: {listed}{more}")
    return problems


def short(name: str, limit: int = 40) -> str:
    """A field name for a message: quoted, control characters shown, cut to ``limit``.

    Examples
    --------
    >>> short("was_customer"), short("x" * 50)[-5:]
    ("'was_customer'", "xxx…'")
    """
    return repr(name if len(name) <= limit else name[:limit] + "…")


def _number_problem(text: str, q: Question) -> str:
    try:
        v = float(text.replace(",", "."))
    except ValueError:
        return "Please enter a number, such as 39.99."
    lo, hi = q.min, q.max
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        if lo is not None and hi is not None:
            return f"Please enter a number from {format_level(lo)} to {format_level(hi)}."
        if lo is not None:
            return f"Please enter a number of at least {format_level(lo)}."
        if hi is not None:
            return f"Please enter a number of at most {format_level(hi)}."
        return "Please enter a number, such as 39.99."
    return ""
