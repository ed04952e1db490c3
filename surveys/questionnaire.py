"""The lost-customer questionnaire, as data: one definition drives every export and the web survey.

A :class:`Questionnaire` is an ordered tuple of :class:`Question` objects (plus the screen-out
rules and the conjoint block). :func:`default_questionnaire` gives sensible win-back defaults for
a study; :func:`parse_questionnaire` reads the optional ``[questionnaire]`` table of a study file;
:func:`simulate_respondents` makes realistic lost customers answering it. See
``docs/questionnaire.md``.

The ``respondents.csv`` contract (column names other stages build on)::

    respondent_id, was_customer, status, previous_plan, price_paid, tenure_months,
    current_spend, current_provider, reason_price_rise, reason_outages, reason_support,
    reason_competitor_offer, reason_moved, reason_contract_terms, reason_other,
    reason_other_text, main_reason, what_happened, would_return, bring_back,
    satisfaction_before, contact_consent
    (optional, from the sample or CRM) customer_value, wave, duration_seconds
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study, format_level

Code = str | int
LogicValue = str | int | float | tuple[str | int | float, ...]

QUESTION_TYPES = ("single", "multi", "number", "text", "scale", "yes_no", "conjoint")
BLOCKS = ("screener", "previous", "reasons", "return", "consent", "conjoint")
LOGIC_OPS = ("==", "!=", "in", ">=", "<=")
CONJOINT_QUESTION_ID = "cbc"

#: Reasons for leaving: (code, label). The code gives the column ``reason_<code>``.
DEFAULT_REASONS: tuple[tuple[str, str], ...] = (
    ("price_rise", "The price went up"),
    ("outages", "Outages or an unreliable service"),
    ("support", "Poor customer support"),
    ("competitor_offer", "A better offer from another provider"),
    ("moved", "I moved home"),
    ("contract_terms", "The contract terms (length, fees, conditions)"),
    ("other", "Something else"),
)

#: The respondents.csv columns of the default questionnaire, in order.
RESPONDENT_COLUMNS: tuple[str, ...] = (
    "respondent_id",
    "was_customer",
    "status",
    "previous_plan",
    "price_paid",
    "tenure_months",
    "current_spend",
    "current_provider",
    *(f"reason_{code}" for code, _ in DEFAULT_REASONS),
    "reason_other_text",
    "main_reason",
    "what_happened",
    "would_return",
    "bring_back",
    "satisfaction_before",
    "contact_consent",
)
#: Optional respondents.csv columns that come from the sample or CRM, not from a question.
OPTIONAL_COLUMNS: tuple[str, ...] = ("customer_value", "wave", "duration_seconds")
#: Customer segments returned by :func:`simulate_respondents` (see :func:`make_segments`).
SEGMENTS: tuple[str, ...] = ("new", "established", "loyal")
#: Names no question may take (they are columns with another meaning).
RESERVED_IDS: tuple[str, ...] = ("respondent_id", *OPTIONAL_COLUMNS, "segment", "version")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MULTI_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class QuestionnaireError(WinbackError, ValueError):
    """A questionnaire (or one question) is malformed; every problem is listed, one per line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            msg = self.problems[0]
        else:
            msg = f"{len(self.problems)} problems in the questionnaire:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(msg)


# --------------------------------------------------------------------------------------------
# Questions
# --------------------------------------------------------------------------------------------


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@dataclass(frozen=True)
class Logic:
    """A show-if condition: the question is shown only when ``<question> <op> <value>`` holds.

    Parameters
    ----------
    question : str
        Id of an earlier question.
    op : {"==", "!=", "in", ">=", "<="}
    value : str, int, float or tuple
        A code (choice questions), a number (number and scale questions) or, for ``in``, a
        tuple of them. On a multi-select question ``==`` / ``in`` mean "(any of) these codes were
        ticked", ``!=`` "this code was not ticked", and ``>=`` / ``<=`` compare the *number* of
        codes ticked.

    Examples
    --------
    >>> Logic("reason", ">=", 2)
    Logic('reason >= 2')
    >>> Logic("status", "in", ["left"]).value
    ('left',)
    """

    question: str
    op: str
    value: LogicValue

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.question, str) or not self.question:
            problems.append(f"show_if: 'question' must name a question, got {self.question!r}.")
        if self.op not in LOGIC_OPS:
            problems.append(
                f"show_if: op {self.op!r} is not valid.{did_you_mean(str(self.op), LOGIC_OPS)} "
                f"Valid: {list_valid(LOGIC_OPS)}."
            )
        value = self.value
        if self.op == "in":
            if isinstance(value, list | tuple):
                value = tuple(value)
                object.__setattr__(self, "value", value)
            if not isinstance(value, tuple) or not value:
                problems.append(
                    f"show_if: op 'in' needs a non-empty list of values, got {self.value!r}."
                )
                value = ()
            items: tuple[object, ...] = value
        else:
            items = (value,)
        for v in items:
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                problems.append(
                    f"show_if: value {v!r} must be text or a number (yes/no answers are 1 or 0)."
                )
        if problems:
            raise QuestionnaireError(problems)

    def values(self) -> tuple[str | int | float, ...]:
        """The value(s) as a tuple."""
        return self.value if isinstance(self.value, tuple) else (self.value,)

    def __str__(self) -> str:
        v = (
            "[" + ", ".join(_fmt(x) for x in self.value) + "]"
            if isinstance(self.value, tuple)
            else _fmt(self.value)
        )
        return f"{self.question} {self.op} {v}"

    def __repr__(self) -> str:
        return f"Logic({str(self)!r})"

    def describe(self, target: Question | None = None) -> str:
        """The condition in words, e.g. ``"status is 'I have left'"``.

        Parameters
        ----------
        target : Question, optional
            The question the condition looks at, to show labels instead of codes.

        Examples
        --------
        >>> Logic("status", "==", "left").describe()
        "status is 'left'"
        """
        q = self.question

        def lab(v: object) -> str:
            if target is not None and target.options:
                for code, label in target.options:
                    if code == v:
                        return f"'{label}'"
            return f"'{_fmt(v)}'"

        vals = self.values()
        if target is not None and target.type == "multi":
            if self.op in (">=", "<="):
                word = "at least" if self.op == ">=" else "at most"
                return f"{word} {_fmt(vals[0])} answers are ticked at {q}"
            if self.op == "==":
                return f"{lab(vals[0])} is ticked at {q}"
            if self.op == "!=":
                return f"{lab(vals[0])} is not ticked at {q}"
            if len(vals) == 1:
                return f"{lab(vals[0])} is ticked at {q}"
            return f"any of {', '.join(lab(v) for v in vals)} is ticked at {q}"
        if self.op == "==":
            return f"{q} is {lab(vals[0])}"
        if self.op == "!=":
            return f"{q} is not {lab(vals[0])}"
        if self.op == "in":
            return f"{q} is one of {', '.join(lab(v) for v in vals)}"
        word = "at least" if self.op == ">=" else "at most"
        return f"{q} is {word} {_fmt(vals[0])}"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return format_level(v)
    return str(v)


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire.

    Parameters
    ----------
    id : str
        snake_case identifier; also the respondents.csv column (a multi-select question gives one
        0/1 column per option, ``<id>_<code>``; the conjoint question gives none).
    type : {"single", "multi", "number", "text", "scale", "yes_no", "conjoint"}
    text : str
        What the respondent reads.
    options : tuple of (code, label)
        single / multi: the choices (at least two; codes unique; multi codes are lower-case
        letters, digits and ``_`` since they become column names). scale: exactly two pairs,
        ``((min, low label), (max, high label))`` with whole numbers min < max. yes_no: left
        empty it is ``((1, "Yes"), (0, "No"))``; codes must be 1 and 0. Others: empty.
    required : bool
        The respondent must answer (when the question is shown).
    logic : Logic, optional
        Show-if condition; None = always shown.
    block : {"screener", "previous", "reasons", "return", "consent", "conjoint"}
    unit : str
        number questions: unit shown with the answer box ("EUR/month", "months").
    min, max : float, optional
        number questions: the valid range; scale questions: set from ``options``.

    Examples
    --------
    >>> q = Question("reason", "multi", "Why did you leave?",
    ...              options=(("price_rise", "The price went up"), ("moved", "I moved")),
    ...              block="reasons")
    >>> q.columns()
    ('reason_price_rise', 'reason_moved')
    """

    id: str
    type: str
    text: str
    options: tuple[tuple[Code, str], ...] = ()
    required: bool = True
    logic: Logic | None = None
    block: str = "return"
    unit: str = ""
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        opts = tuple(tuple(o) for o in self.options)  # accept lists; stored as tuples
        object.__setattr__(self, "options", opts)
        if self.type == "yes_no" and not opts:
            object.__setattr__(self, "options", ((1, "Yes"), (0, "No")))
        if self.type == "scale" and len(self.options) == 2:
            lo, hi = self.options[0][0], self.options[1][0]
            if _is_number(lo) and _is_number(hi):
                if self.min is None:
                    object.__setattr__(self, "min", float(lo))
                if self.max is None:
                    object.__setattr__(self, "max", float(hi))
        problems = _question_problems(self)
        if problems:
            raise QuestionnaireError([f"question '{self.id}': {p}" for p in problems])

    # -- conveniences ------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[Code, ...]:
        """The option codes (single, multi, yes_no); every point of a scale."""
        if self.type == "scale":
            lo, hi = int(self.options[0][0]), int(self.options[1][0])
            return tuple(range(lo, hi + 1))
        if self.type in ("single", "multi", "yes_no"):
            return tuple(c for c, _ in self.options)
        return ()

    def label(self, code: Code) -> str:
        """The label of an option code (scale: the end label, else the number)."""
        for c, lab in self.options:
            if c == code:
                return lab
        return _fmt(code)

    def columns(self) -> tuple[str, ...]:
        """The respondents.csv column(s) this question fills."""
        if self.type == "conjoint":
            return ()
        if self.type == "multi":
            return tuple(f"{self.id}_{c}" for c, _ in self.options)
        return (self.id,)

    def describe_logic(self, questionnaire: Questionnaire | None = None) -> str:
        """The show-if condition in words ("" when always shown)."""
        if self.logic is None:
            return ""
        target = None
        if questionnaire is not None and self.logic.question in questionnaire:
            target = questionnaire.question(self.logic.question)
        return "shown if " + self.logic.describe(target)


def _question_problems(q: Question) -> list[str]:
    out: list[str] = []
    if not isinstance(q.id, str) or not _ID_RE.match(q.id):
        out.append(
            f"id {q.id!r} must be snake_case (a lower-case letter, then lower-case letters, "
            "digits and _); it becomes a column name."
        )
    elif q.id in RESERVED_IDS:
        out.append(f"id '{q.id}' is reserved. Reserved: {list_valid(RESERVED_IDS)}.")
    if q.type not in QUESTION_TYPES:
        out.append(
            f"type {q.type!r} is not valid.{did_you_mean(str(q.type), QUESTION_TYPES)} "
            f"Valid: {list_valid(QUESTION_TYPES)}."
        )
        return out
    if q.block not in BLOCKS:
        out.append(
            f"block {q.block!r} is not valid.{did_you_mean(str(q.block), BLOCKS)} "
            f"Valid: {list_valid(BLOCKS)}."
        )
    if not isinstance(q.text, str) or not q.text.strip():
        out.append("text must be non-empty text.")
    if not isinstance(q.required, bool):
        out.append(f"required must be true or false, got {q.required!r}.")
    if q.logic is not None and not isinstance(q.logic, Logic):
        out.append(f"logic must be a Logic or None, got {q.logic!r}.")
    if q.logic is not None and isinstance(q.logic, Logic) and q.logic.question == q.id:
        out.append("show_if cannot depend on the question itself.")
    if not isinstance(q.unit, str):
        out.append(f"unit must be text, got {q.unit!r}.")
    elif q.unit and q.type != "number":
        out.append(f"unit is for number questions only, not {q.type}.")
    for key in ("min", "max"):
        v = getattr(q, key)
        if v is not None and (not _is_number(v) or not math.isfinite(v)):
            out.append(f"{key} must be a number, got {v!r}.")
    if (q.min is not None or q.max is not None) and q.type not in ("number", "scale"):
        out.append(f"min/max are for number questions only, not {q.type}.")
    if _is_number(q.min) and _is_number(q.max) and q.min is not None and q.max is not None:
        if q.min > q.max:
            out.append(f"min {_fmt(q.min)} is greater than max {_fmt(q.max)}.")

    opts = q.options
    pairs_ok = all(len(o) == 2 for o in opts)
    if not pairs_ok:
        out.append(f"options must be (code, label) pairs, got {opts!r}.")
        return out
    if q.type in ("single", "multi"):
        if len(opts) < 2:
            out.append(f"a {q.type} question needs at least two options, got {len(opts)}.")
        codes = [c for c, _ in opts]
        for c, lab in opts:
            if isinstance(c, bool) or not isinstance(c, str | int):
                out.append(f"option code {c!r} must be text or a whole number.")
            elif isinstance(c, str) and not c.strip():
                # codes that look like formulas are fine: every CSV and Excel writer escapes them
                out.append(f"option code {c!r} must be non-empty.")
            elif q.type == "multi" and not _MULTI_CODE_RE.match(str(c)):
                out.append(
                    f"option code {c!r} of a multi-select question must be lower-case letters, "
                    f"digits and _ (it becomes the column '{q.id}_<code>')."
                )
            if not isinstance(lab, str) or not lab.strip():
                out.append(f"option {c!r} needs a non-empty label.")
        dups = sorted({str(c) for c in codes if codes.count(c) > 1})
        if dups:
            out.append(f"option codes {dups} are used twice.")
    elif q.type == "yes_no":
        if sorted(str(c) for c, _ in opts) != ["0", "1"] or any(
            isinstance(c, bool) or not isinstance(c, int) for c, _ in opts
        ):
            out.append(f"a yes_no question has the codes 1 (yes) and 0 (no), got {opts!r}.")
    elif q.type == "scale":
        if len(opts) != 2 or not all(
            isinstance(c, int) and not isinstance(c, bool) for c, _ in opts
        ):
            out.append(
                "a scale question needs options ((min, low label), (max, high label)) with whole "
                f"numbers, got {opts!r}."
            )
        elif int(opts[0][0]) >= int(opts[1][0]):
            out.append(f"scale min {opts[0][0]} must be below max {opts[1][0]}.")
        elif int(opts[1][0]) - int(opts[0][0]) > 100:
            out.append(f"a scale of {opts[0][0]}..{opts[1][0]} has more than 101 points.")
    elif opts:
        out.append(f"a {q.type} question has no options, got {opts!r}.")
    return out


# --------------------------------------------------------------------------------------------
# The conjoint block and the questionnaire
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConjointSpec:
    """What the conjoint block shows, taken from the study (no levels: those are the design's).

    Attributes
    ----------
    tasks : int
        Choice tasks per respondent, holdouts included (the design's ``n_tasks``).
    holdout_tasks : int
        How many of them (the last ones) are fixed holdout tasks.
    alternatives : int
        Designed alternatives per task (J).
    attributes : tuple of (name, display label, unit)
    none_option, dual_response_none : bool
    status_quo_label : str, optional
        Label of the status-quo alternative (shown after the designed ones), if the study has one.
    status_quo_fill : str
        How the status quo's levels are chosen, in words ("" for a fixed profile).
    none_label : str
        Wording of the none alternative / the reason for "no" in dual response.
    dual_text, dual_yes, dual_no : str
        Wording of the dual-response follow-up and its two answers (1 = yes, 2 = no).
    """

    tasks: int
    holdout_tasks: int
    alternatives: int
    attributes: tuple[tuple[str, str, str], ...]
    none_option: bool = False
    dual_response_none: bool = False
    status_quo_label: str | None = None
    status_quo_fill: str = ""
    none_label: str = "None of these: I would stay with my current provider"
    dual_text: str = "Would you really take the offer you chose?"
    dual_yes: str = "Yes, I would take it"
    dual_no: str = "No, I would not"

    @classmethod
    def from_study(cls, study: Study) -> ConjointSpec:
        """The conjoint block of a study (tasks, alternatives, attributes, none wording)."""
        return cls(
            tasks=study.design.tasks + len(study.holdouts),
            holdout_tasks=len(study.holdouts),
            alternatives=study.design.alternatives,
            attributes=tuple((a.name, a.display, a.unit) for a in study.attributes),
            none_option=study.none_option,
            dual_response_none=study.dual_response_none,
            status_quo_label=study.status_quo.label if study.status_quo is not None else None,
            status_quo_fill=_status_quo_fill(study),
        )

    def choice_labels(self) -> list[str]:
        """Choices of one task, in order: ``Option 1..J``, the status quo, the none."""
        out = [f"Option {j}" for j in range(1, self.alternatives + 1)]
        if self.status_quo_label is not None:
            out.append(self.status_quo_label)
        if self.none_option:
            out.append(self.none_label)
        return out


def _status_quo_fill(study: Study) -> str:
    sq = study.status_quo
    if sq is None or not sq.per_respondent:
        return ""
    text = (
        "each respondent's own previous plan: the profile [status_quo.plans] gives for their "
        "answer to previous_plan"
    )
    if sq.price_from_paid and sq.price_position is not None:
        name = study.attributes[sq.price_position].name
        text += (
            f", with {name} the tested price nearest to their answer to price_paid (the lower "
            "one at a midpoint; the lowest or highest outside the tested range)"
        )
    return text


@dataclass(frozen=True, repr=False)
class Questionnaire:
    """An ordered questionnaire.

    Attributes
    ----------
    questions : tuple of Question
        In the order asked. Show-if conditions may only look at earlier questions.
    screen_out : tuple of Logic
        Conditions that end the interview (after the question they look at); default: answering
        "no" to ``was_customer``. Questions outside the screener block are not shown then.
    conjoint : ConjointSpec, optional
        What the conjoint question (type ``"conjoint"``) stands for.
    title : str

    Examples
    --------
    >>> from surveys.questionnaire import default_questionnaire
    >>> q = default_questionnaire(study)  # doctest: +SKIP
    >>> q.columns()[:3]  # doctest: +SKIP
    ('respondent_id', 'was_customer', 'status')
    """

    questions: tuple[Question, ...]
    screen_out: tuple[Logic, ...] = ()
    conjoint: ConjointSpec | None = None
    title: str = ""
    _by_id: Mapping[str, Question] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", tuple(self.questions))
        object.__setattr__(self, "screen_out", tuple(self.screen_out))
        problems = _questionnaire_problems(self.questions, self.screen_out)
        if self.conjoint is None and any(q.type == "conjoint" for q in self.questions):
            problems.append("a conjoint question needs the conjoint block (conjoint=ConjointSpec).")
        if problems:
            raise QuestionnaireError(problems)
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def question(self, question_id: str) -> Question:
        """The question with this id.

        Raises
        ------
        KeyError
            Naming the id, a close match and the valid ids.
        """
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(
                f"Unknown question '{question_id}'.{did_you_mean(question_id, self.ids)} "
                f"Questions: {list_valid(self.ids)}."
            ) from None

    def columns(self, optional: bool = False) -> list[str]:
        """The respondents.csv columns: ``respondent_id``, then each question's columns in order.

        Parameters
        ----------
        optional : bool
            Also list the optional sample/CRM columns (``customer_value, wave,
            duration_seconds``) at the end.
        """
        out = ["respondent_id"]
        for q in self.questions:
            out.extend(q.columns())
        if optional:
            out.extend(OPTIONAL_COLUMNS)
        return out

    def blocks(self) -> list[str]:
        """Blocks in the order they first appear."""
        return list(dict.fromkeys(q.block for q in self.questions))

    def shown(self, answers: pd.DataFrame) -> pd.DataFrame:
        """Which questions each respondent was shown, from their answers.

        Parameters
        ----------
        answers : DataFrame
            respondents.csv-shaped answers (missing columns count as unanswered).

        Returns
        -------
        DataFrame of bool
            One column per question id (conjoint included), one row per row of ``answers``.
            A question is shown when its show-if condition holds, the question it looks at was
            itself shown, and (outside the screener block) the respondent was not screened out.
            A condition on an unanswered question is false.

        Examples
        --------
        >>> q.shown(respondents)["main_reason"].mean()  # doctest: +SKIP
        """
        frame = answers.copy()
        out: dict[str, pd.Series] = {}
        screened = pd.Series(False, index=frame.index)
        for rule in self.screen_out:
            target = self._by_id[rule.question]
            screened |= _evaluate(rule, target, frame)
        for q in self.questions:
            mask = pd.Series(True, index=frame.index)
            if q.block != "screener":
                mask &= ~screened
            if q.logic is not None:
                target = self._by_id[q.logic.question]
                mask &= out[target.id] & _evaluate(q.logic, target, frame)
            out[q.id] = mask
        return pd.DataFrame(out, index=frame.index)

    def __repr__(self) -> str:
        n_cols = len(self.columns())
        head = f"Questionnaire '{self.title}'" if self.title else "Questionnaire"
        lines = [
            f"{head}: {len(self.questions)} questions in {len(self.blocks())} blocks, "
            f"{n_cols} respondents.csv columns"
        ]
        for block in self.blocks():
            lines.append(f"  [{block}]")
            for q in self.questions:
                if q.block != block:
                    continue
                extra = []
                if q.options and q.type in ("single", "multi"):
                    extra.append(f"{len(q.options)} options")
                if q.type == "scale":
                    extra.append(f"{q.codes[0]}..{q.codes[-1]}")
                if q.unit:
                    extra.append(q.unit)
                if not q.required:
                    extra.append("optional")
                if q.logic is not None:
                    extra.append(f"if {q.logic}")
                desc = f" ({', '.join(extra)})" if extra else ""
                lines.append(f"    {q.id}: {q.type}{desc}")
        for rule in self.screen_out:
            lines.append(f"  screen out if {rule}")
        if self.conjoint is not None:
            c = self.conjoint
            none = (
                "dual-response none"
                if c.dual_response_none
                else ("none option" if c.none_option else "forced choice")
            )
            lines.append(
                f"  conjoint: {c.tasks} tasks ({c.holdout_tasks} holdout) x {c.alternatives} "
                f"alternatives, {none}"
            )
        lines.append(
            "  next: surveys.fielding.write_qualtrics_questions(q, path) or "
            "simulate_respondents(study, n)"
        )
        return "\n".join(lines)


def _evaluate(logic: Logic, target: Question, frame: pd.DataFrame) -> pd.Series:
    """Vectorised show-if: True where the condition holds (False when unanswered)."""
    idx = frame.index
    vals = logic.values()
    if target.type == "multi":
        cols = {c: f"{target.id}_{c}" for c, _ in target.options}
        ticked = pd.DataFrame(
            {
                c: (
                    pd.to_numeric(frame[col], errors="coerce").fillna(0).to_numpy() == 1
                    if col in frame.columns
                    else np.zeros(len(frame), dtype=bool)
                )
                for c, col in cols.items()
            },
            index=idx,
        )
        answered = pd.Series(False, index=idx)
        for col in cols.values():
            if col in frame.columns:
                answered |= frame[col].notna()
        if logic.op in (">=", "<="):
            n = ticked.sum(axis=1)
            res = n >= float(vals[0]) if logic.op == ">=" else n <= float(vals[0])
        elif logic.op == "!=":
            res = ~ticked[vals[0]] if vals[0] in ticked.columns else pd.Series(True, index=idx)
        else:
            res = pd.Series(False, index=idx)
            for v in vals:
                if v in ticked.columns:
                    res |= ticked[v]
        return res & answered
    if target.id not in frame.columns:
        return pd.Series(False, index=idx)
    col = frame[target.id]
    numeric = target.type in ("number", "scale", "yes_no") or all(
        isinstance(v, int | float) for v in vals
    )
    if numeric:
        x = pd.to_numeric(col, errors="coerce")
        answered = x.notna()
        fv = [float(v) for v in vals]
        ops = {
            "==": lambda: x == fv[0],
            "!=": lambda: x != fv[0],
            "in": lambda: x.isin(fv),
            ">=": lambda: x >= fv[0],
            "<=": lambda: x <= fv[0],
        }
    else:
        s = col.astype("string")
        answered = s.notna() & (s.str.strip() != "")
        sv = [str(v) for v in vals]
        ops = {
            "==": lambda: s == sv[0],
            "!=": lambda: s != sv[0],
            "in": lambda: s.isin(sv),
            ">=": lambda: pd.Series(False, index=idx),
            "<=": lambda: pd.Series(False, index=idx),
        }
    res = ops[logic.op]()
    return res.fillna(False).astype(bool) & answered.fillna(False).astype(bool)


def _logic_problems(
    q: Question, earlier: Mapping[str, Question], later: Iterable[str]
) -> list[str]:
    """Problems of one question's show-if against the questions before it."""
    lg = q.logic
    if lg is None:
        return []
    where = f"question '{q.id}' show_if"
    if lg.question not in earlier:
        if lg.question in set(later):
            return [
                f"{where}: '{lg.question}' comes after '{q.id}'; a show-if can only look at an "
                f"earlier question. Earlier: {list_valid(earlier) or '(none)'}."
            ]
        return [
            f"{where}: unknown question '{lg.question}'."
            f"{did_you_mean(lg.question, list(earlier))} "
            f"Earlier questions: {list_valid(earlier) or '(none)'}."
        ]
    return _condition_problems(lg, earlier[lg.question], where)


def _condition_problems(lg: Logic, target: Question, where: str) -> list[str]:
    out = []
    vals = lg.values()
    if target.type == "conjoint":
        return [f"{where}: the conjoint question '{target.id}' cannot be used in a condition."]
    if target.type == "text" and lg.op not in ("==", "!="):
        return [f"{where}: a text answer can only be compared with == or !=, not '{lg.op}'."]
    if target.type in ("single", "yes_no") and lg.op in (">=", "<="):
        return [
            f"{where}: '{lg.op}' does not apply to the {target.type} question '{target.id}'; "
            "use ==, != or in."
        ]
    if target.type == "multi" and lg.op in (">=", "<="):
        v = vals[0]
        if not isinstance(v, int) or v < 0:
            out.append(
                f"{where}: '{lg.op}' on the multi-select '{target.id}' counts ticked answers; "
                f"the value must be a whole number, got {v!r}."
            )
        return out
    if target.type in ("single", "multi", "yes_no", "scale"):
        codes = list(target.codes)
        for v in vals:
            ok = any(v == c and type(v) is not bool for c in codes)
            if target.type == "scale" and _is_number(v):
                ok = float(v) in {float(c) for c in codes}
            if not ok:
                out.append(
                    f"{where}: {v!r} is not an answer of '{target.id}'."
                    f"{did_you_mean(str(v), [str(c) for c in codes])} "
                    f"Valid: {list_valid(_fmt(c) for c in codes)}."
                )
    elif target.type == "number":
        for v in vals:
            if not _is_number(v):
                out.append(f"{where}: '{target.id}' is a number question; {v!r} is not a number.")
    return out


def _questionnaire_problems(
    questions: Sequence[Question], screen_out: Sequence[Logic]
) -> list[str]:
    out: list[str] = []
    ids = [q.id for q in questions]
    for d in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"question id '{d}' is used twice.")
    n_conjoint = sum(q.type == "conjoint" for q in questions)
    if n_conjoint > 1:
        out.append(f"only one conjoint question is allowed, found {n_conjoint}.")
    earlier: dict[str, Question] = {}
    for i, q in enumerate(questions):
        out.extend(_logic_problems(q, earlier, ids[i + 1 :]))
        earlier.setdefault(q.id, q)
    by_id = {q.id: q for q in questions}
    for rule in screen_out:
        if rule.question not in by_id:
            out.append(
                f"screen_out {rule}: unknown question '{rule.question}'."
                f"{did_you_mean(rule.question, ids)} Questions: {list_valid(ids)}."
            )
        else:
            out.extend(_condition_problems(rule, by_id[rule.question], f"screen_out {rule}"))
    seen: dict[str, str] = {"respondent_id": "(the respondent id)"}
    for q in questions:
        for col in q.columns():
            if col in seen and seen[col] != q.id:
                out.append(
                    f"question '{q.id}' gives the column '{col}', which question "
                    f"'{seen[col]}' already gives; rename one of them."
                )
            elif col in RESERVED_IDS:
                out.append(
                    f"question '{q.id}' gives the column '{col}', a reserved name. "
                    f"Reserved: {list_valid(RESERVED_IDS)}."
                )
            seen.setdefault(col, q.id)
    return out


# --------------------------------------------------------------------------------------------
# The default questionnaire
# --------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A snake_case code for a label: ``"BT Broadband" -> "bt_broadband"`` ("" if none left).

    Examples
    --------
    >>> slug("Sky (UK)")
    'sky_uk'
    """
    s = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return s


def _money_unit(study: Study) -> str:
    if study.price_attribute is not None:
        unit = study.attribute(study.price_attribute).unit
        if unit:
            return unit
    return f"{study.currency}/month"


def _default_plan_attribute(study: Study) -> str | None:
    return "plan" if "plan" in study.attribute_names else None


def _default_questions(
    study: Study,
    reasons: Sequence[tuple[str, str]],
    competitors: Sequence[str],
    previous_plan_attribute: str | None,
) -> list[Question]:
    money = _money_unit(study)
    plan_attr = (
        study.attribute(previous_plan_attribute) if previous_plan_attribute is not None else None
    )
    if plan_attr is not None:
        previous_plan = Question(
            "previous_plan",
            "single",
            f"Which {(plan_attr.label or 'plan').lower()} did you have with us?",
            options=tuple((lv, lv) for lv in plan_attr.level_labels()),
            block="previous",
        )
    else:
        previous_plan = Question(
            "previous_plan",
            "text",
            "Which plan or package did you have with us?",
            required=False,
            block="previous",
        )
    provider_opts: list[tuple[Code, str]] = [(slug(c), c) for c in competitors]
    if not provider_opts:
        provider_opts = [(f"provider_{x}", f"Provider {x.upper()}") for x in "abc"]
    provider_opts.append(("other", "Another provider"))
    reason_codes = [c for c, _ in reasons]
    left = Logic("status", "==", "left")
    questions = [
        Question(
            "was_customer",
            "yes_no",
            "Have you been a customer of ours in the last 12 months?",
            block="screener",
        ),
        Question(
            "status",
            "single",
            "Which of these describes you best?",
            options=(
                ("left", "I have left"),
                ("leaving", "I am about to leave (I have cancelled or plan to)"),
            ),
            block="screener",
        ),
        previous_plan,
        Question(
            "price_paid",
            "number",
            f"How much did you pay us per month ({money})?",
            block="previous",
            unit=money,
            min=0.0,
        ),
        Question(
            "tenure_months",
            "number",
            "For how many months were you a customer of ours?",
            block="previous",
            unit="months",
            min=0.0,
            max=600.0,
        ),
        Question(
            "current_spend",
            "number",
            f"How much do you pay per month now for the same services ({money})?",
            logic=left,
            block="previous",
            unit=money,
            min=0.0,
        ),
        Question(
            "current_provider",
            "single",
            "Which provider do you use now?",
            options=tuple(provider_opts),
            logic=left,
            block="previous",
        ),
        Question(
            "reason",
            "multi",
            "Why did you leave (or decide to leave)? Tick all that apply.",
            options=tuple(reasons),
            block="reasons",
        ),
    ]
    if "other" in reason_codes:
        questions.append(
            Question(
                "reason_other_text",
                "text",
                "Which other reason made you leave?",
                required=False,
                logic=Logic("reason", "in", ("other",)),
                block="reasons",
            )
        )
    questions += [
        Question(
            "main_reason",
            "single",
            "And which was the main reason?",
            options=tuple(reasons),
            logic=Logic("reason", ">=", 2),
            block="reasons",
        ),
        Question(
            "what_happened",
            "text",
            "In your own words, what happened?",
            required=False,
            block="reasons",
        ),
        Question(
            "would_return",
            "scale",
            "If we made you a new offer, how likely would you be to come back to us?",
            options=((1, "Definitely not"), (5, "Definitely")),
            block="return",
        ),
        Question(
            "bring_back",
            "text",
            "What would it take to bring you back?",
            required=False,
            block="return",
        ),
        Question(
            "satisfaction_before",
            "scale",
            "Before you decided to leave, how satisfied were you with us overall?",
            options=((0, "Not at all satisfied"), (10, "Completely satisfied")),
            block="return",
        ),
        Question(
            "contact_consent",
            "yes_no",
            "May we contact you about an offer to come back? (You can say no at any time.)",
            block="consent",
        ),
    ]
    spec = ConjointSpec.from_study(study)
    questions.append(
        Question(CONJOINT_QUESTION_ID, "conjoint", _conjoint_text(spec), block="conjoint")
    )
    return questions


def _conjoint_text(spec: ConjointSpec) -> str:
    n = spec.tasks
    text = (
        f"On the next {n} screens we show you offers we could make you. On each screen, "
        "please choose the offer you would take."
    )
    if spec.none_option:
        text += f' If none of them would win you back, choose "{spec.none_label}".'
    if spec.dual_response_none:
        text += " After each choice we ask whether you would really take that offer."
    return text


def default_questionnaire(
    study: Study,
    *,
    reasons: Sequence[tuple[str, str]] | None = None,
    competitors: Sequence[str] | None = None,
    previous_plan_attribute: str | None = None,
    exclude: Iterable[str] = (),
) -> Questionnaire:
    """The default win-back questionnaire for a study.

    Blocks and questions, in order (ids are also the respondents.csv columns):

    - screener: ``was_customer`` (yes/no; "no" screens the respondent out), ``status``
      (``left`` / ``leaving``).
    - previous: ``previous_plan`` (single choice over the levels of the plan attribute, else
      open text), ``price_paid`` (number, study currency per month), ``tenure_months``,
      ``current_spend`` and ``current_provider`` (both only if ``status == "left"``;
      providers: ``competitors`` plus ``other``).
    - reasons: ``reason`` (multi-select: ``reason_price_rise`` ... ``reason_other``),
      ``reason_other_text`` (if "other" is ticked), ``main_reason`` (if two or more reasons are
      ticked), ``what_happened`` (open text).
    - return: ``would_return`` (1 "Definitely not" .. 5 "Definitely"), ``bring_back`` (open
      text), ``satisfaction_before`` (0..10).
    - consent: ``contact_consent`` (yes/no).
    - conjoint: ``cbc``, standing for the choice tasks (wording of the none / dual-response
      none from the study).

    Parameters
    ----------
    study : Study
    reasons : sequence of (code, label), optional
        Replace :data:`DEFAULT_REASONS`. Without an ``other`` code there is no
        ``reason_other_text`` question.
    competitors : sequence of str, optional
        Provider names for ``current_provider`` (codes are :func:`slug` of the names); without
        them the options are "Provider A/B/C". ``other`` is always added.
    previous_plan_attribute : str, optional
        The attribute whose levels are the ``previous_plan`` options (codes = level labels, so
        they match the design). Default: an attribute named ``plan`` if the study has one, else
        ``previous_plan`` is an open text question.
    exclude : iterable of str
        Default question ids to leave out.

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        For an unknown attribute or excluded id, or excluding a question others depend on.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> q = default_questionnaire(make_study(SMALL_STUDY))
    >>> q.question("previous_plan").codes
    ('Basic', 'Standard', 'Premium')
    >>> q.columns()[8:10]
    ['reason_price_rise', 'reason_outages']
    """
    q, problems = _build(
        study,
        reasons=DEFAULT_REASONS if reasons is None else tuple((c, lab) for c, lab in reasons),
        competitors=tuple(competitors or ()),
        previous_plan_attribute=previous_plan_attribute,
        plan_attribute_given=previous_plan_attribute is not None,
        exclude=tuple(exclude),
        extras=(),
    )
    if problems or q is None:
        raise QuestionnaireError(problems)
    return q


def status_quo_problems(questionnaire: Questionnaire | None, study: Study) -> list[str]:
    """What a per-respondent status quo needs from the questionnaire, as problems (none: ok).

    A ``[status_quo]`` with ``plans`` is filled from each respondent's ``previous_plan``
    answer (and, with ``price_from_paid``, their ``price_paid`` answer), so both must be asked
    of everyone who reaches the choice tasks, before them: a required question without a
    show-if condition. Every ``previous_plan`` answer code needs a profile in
    ``[status_quo.plans]`` and every key there must be such a code.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> status_quo_problems(None, make_study(SMALL_STUDY))
    []
    """
    sq = study.status_quo
    if sq is None or not sq.per_respondent or questionnaire is None:
        return []
    where = "[status_quo] plans"
    out: list[str] = []
    ids = [q.id for q in questionnaire.questions]
    cbc = next((i for i, q in enumerate(questionnaire.questions) if q.type == "conjoint"), None)
    needed = [("previous_plan", "single")]
    if sq.price_from_paid:
        needed.append(("price_paid", "number"))
    for qid, kind in needed:
        if qid not in ids:
            out.append(
                f"{where}: the status quo is filled from the answer to '{qid}', but the "
                f"questionnaire does not ask it; remove '{qid}' from [questionnaire] exclude"
                + (", or set price_from_paid = false." if qid == "price_paid" else ".")
            )
            continue
        q = questionnaire.question(qid)
        if q.type != kind:
            hint = (
                ' set [questionnaire] previous_plan_attribute = "<attribute>" so that its '
                "answers are that attribute's levels (it is open text now). Attributes: "
                f"{list_valid(study.attribute_names)}"
                if qid == "previous_plan"
                else " ask it as a number question"
            )
            out.append(
                f"{where}: '{qid}' must be a {kind} question to fill the status quo, got a "
                f"{q.type} question;{hint}."
            )
            continue
        if not q.required or q.logic is not None:
            out.append(
                f"{where}: '{qid}' must be asked of everyone before the choice tasks "
                "(required = true, no show_if), since each respondent's status quo is built "
                "from it."
            )
        if cbc is not None and ids.index(qid) > cbc:
            out.append(f"{where}: '{qid}' must come before the choice tasks.")
        if qid == "previous_plan":
            codes = [str(c) for c in q.codes]
            unknown = [c for c in sq.plan_codes if c not in codes]
            for c in unknown:
                out.append(
                    f"{where}: '{c}' is not an answer to previous_plan.{did_you_mean(c, codes)} "
                    f"Answers: {list_valid(codes)}."
                )
            missing = [c for c in codes if c not in sq.plan_codes]
            if missing:
                out.append(
                    f"{where}: no profile for the previous_plan answer(s) {list_valid(missing)}; "
                    "every answer a respondent can give needs one (add "
                    + ", ".join(f'"{c}" = {{ ... }}' for c in missing)
                    + ")."
                )
    return out


def _build(
    study: Study,
    *,
    reasons: Sequence[tuple[str, str]],
    competitors: Sequence[str],
    previous_plan_attribute: str | None,
    plan_attribute_given: bool,
    exclude: Sequence[str],
    extras: Sequence[Question],
    where: str = "",
) -> tuple[Questionnaire | None, list[str]]:
    """Assemble defaults, exclusions and extra questions; collect every problem."""
    problems: list[str] = []
    pre = f"{where} " if where else ""
    if plan_attribute_given and previous_plan_attribute not in study.attribute_names:
        problems.append(
            f"{pre}previous_plan_attribute: unknown attribute '{previous_plan_attribute}'."
            f"{did_you_mean(str(previous_plan_attribute), study.attribute_names)} "
            f"Attributes: {list_valid(study.attribute_names)}."
        )
        previous_plan_attribute = None
    elif not plan_attribute_given:
        previous_plan_attribute = _default_plan_attribute(study)
    try:
        base = _default_questions(study, reasons, competitors, previous_plan_attribute)
    except QuestionnaireError as exc:  # bad reasons / competitors given programmatically
        return None, problems + [f"{pre}{p}" for p in exc.problems]
    default_ids = [q.id for q in base]
    excluded = []
    for x in exclude:
        if x not in default_ids:
            problems.append(
                f"{pre}exclude: unknown question '{x}'.{did_you_mean(str(x), default_ids)} "
                f"Default questions: {list_valid(default_ids)}."
            )
        else:
            excluded.append(x)
    kept = [q for q in base if q.id not in excluded]
    for x in excluded:
        users = [q.id for q in kept if q.logic is not None and q.logic.question == x]
        if users:
            problems.append(
                f"{pre}exclude: '{x}' is needed by the show_if of {list_valid(users)}; exclude "
                f"{'it' if len(users) == 1 else 'them'} too, or keep '{x}'."
            )
            kept = [q for q in kept if q.id not in users]
    screen_out = tuple(Logic("was_customer", "==", 0) for q in kept if q.id == "was_customer")
    questions = list(kept)
    for extra in extras:
        pos = BLOCKS.index(extra.block)
        at = len(questions)
        for i, q in enumerate(questions):
            if BLOCKS.index(q.block) > pos:
                at = i
                break
        questions.insert(at, extra)
    problems += [f"{pre}{p}" for p in _questionnaire_problems(questions, screen_out)]
    if problems:
        return None, problems
    has_cbc = any(q.type == "conjoint" for q in questions)
    return (
        Questionnaire(
            tuple(questions),
            screen_out=screen_out,
            conjoint=ConjointSpec.from_study(study) if has_cbc else None,
            title=study.name,
        ),
        [],
    )


# --------------------------------------------------------------------------------------------
# The [questionnaire] table of a study file
# --------------------------------------------------------------------------------------------

QUESTIONNAIRE_KEYS = ("reasons", "competitors", "previous_plan_attribute", "exclude", "questions")
EXTRA_QUESTION_KEYS = (
    "id",
    "type",
    "text",
    "options",
    "required",
    "show_if",
    "block",
    "unit",
    "min",
    "max",
)
SHOW_IF_KEYS = ("question", "op", "value")
OPTION_KEYS = ("code", "label")


def _unknown_keys(table: Mapping[str, Any], valid: Sequence[str], where: str) -> list[str]:
    return [
        f"{where}: unknown key '{k}'.{did_you_mean(str(k), valid)} Valid keys: {list_valid(valid)}."
        for k in table
        if k not in valid
    ]


def _options(
    raw: Any, where: str, problems: list[str], *, text_codes_only: bool = False
) -> list[tuple[Code, str]] | None:
    """An array of {code, label} tables (or, unless text_codes_only, plain labels)."""
    if not isinstance(raw, list) or not raw:
        problems.append(
            f"{where}: must be a non-empty list of {{ code = ..., label = ... }} tables, "
            f"got {raw!r}."
        )
        return None
    out: list[tuple[Code, str]] = []
    ok = True
    for i, item in enumerate(raw, start=1):
        if isinstance(item, str) and not text_codes_only:
            code = slug(item)
            if not code:
                problems.append(
                    f"{where} #{i}: cannot make a code from the label {item!r}; give "
                    '{ code = "...", label = "..." }.'
                )
                ok = False
                continue
            out.append((code, item))
            continue
        if not isinstance(item, dict):
            problems.append(
                f'{where} #{i}: expected a table {{ code = "...", label = "..." }}, got {item!r}.'
            )
            ok = False
            continue
        bad = _unknown_keys(item, OPTION_KEYS, f"{where} #{i}")
        problems.extend(bad)
        given = item.get("code")
        label = item.get("label")
        valid_code = (isinstance(given, str) and given.strip()) or (
            not text_codes_only and isinstance(given, int) and not isinstance(given, bool)
        )
        if not valid_code:
            kind = "text" if text_codes_only else "text or a whole number"
            problems.append(f"{where} #{i}: 'code' must be {kind}, got {given!r}.")
            ok = False
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where} #{i}: 'label' must be non-empty text, got {label!r}.")
            ok = False
        if bad:
            ok = False
        if ok and isinstance(given, str | int) and isinstance(label, str):
            out.append((given, label))
    return out if ok else None


def _parse_reasons(raw: Any, problems: list[str]) -> tuple[tuple[str, str], ...] | None:
    where = "[questionnaire] reasons"
    n_before = len(problems)
    opts = _options(raw, where, problems, text_codes_only=True)
    if not isinstance(raw, list):
        return None
    # check the codes of every well-formed entry, even when another entry is broken
    codes = [
        str(item["code"])
        for item in raw
        if isinstance(item, dict) and isinstance(item.get("code"), str) and item["code"].strip()
    ]
    for c in codes:
        if not _MULTI_CODE_RE.match(c):
            problems.append(
                f"{where}: code '{c}' must be lower-case letters, digits and _ (it becomes the "
                f"column 'reason_<code>'), e.g. '{slug(c) or 'price_rise'}'."
            )
    dups = sorted({c for c in codes if codes.count(c) > 1})
    if dups:
        problems.append(f"{where}: codes {dups} are used twice.")
    if len(raw) < 2:
        problems.append(f"{where}: give at least two reasons, got {len(raw)}.")
    if opts is None or len(problems) > n_before:
        return None
    return tuple((str(c), lab) for c, lab in opts)


def _parse_competitors(raw: Any, problems: list[str]) -> tuple[str, ...] | None:
    where = "[questionnaire] competitors"
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        problems.append(f"{where}: must be a list of provider names (text), got {raw!r}.")
        return None
    names = [x.strip() for x in raw]
    codes = [slug(x) for x in names]
    ok = True
    for name, code in zip(names, codes, strict=True):
        if not code:
            problems.append(f"{where}: cannot make a code from the name {name!r}.")
            ok = False
        elif code == "other":
            problems.append(
                f"{where}: {name!r} would clash with the built-in 'other' option "
                '("Another provider"); leave it out.'
            )
            ok = False
    dups = sorted({c for c in codes if c and codes.count(c) > 1})
    if dups:
        same = [n for n, c in zip(names, codes, strict=True) if c in dups]
        problems.append(f"{where}: {same} give the same code(s) {dups}; names must differ.")
        ok = False
    return tuple(names) if ok else None


def _parse_show_if(raw: Any, where: str, problems: list[str]) -> Logic | None:
    if not isinstance(raw, dict):
        problems.append(
            f'{where}: must be a table {{ question = "...", op = "==", value = ... }}, got {raw!r}.'
        )
        return None
    bad = _unknown_keys(raw, SHOW_IF_KEYS, where)
    problems.extend(bad)
    missing = [k for k in SHOW_IF_KEYS if k not in raw]
    if missing:
        problems.append(f"{where}: missing {list_valid(missing)}; give question, op and value.")
    if bad or missing:
        return None
    try:
        return Logic(raw["question"], raw["op"], raw["value"])
    except QuestionnaireError as exc:
        problems.extend(f"{where}: {p.removeprefix('show_if: ')}" for p in exc.problems)
        return None


def _parse_extra(raw: Any, i: int, problems: list[str]) -> Question | None:
    where = f"[[questionnaire.questions]] #{i}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table, got {raw!r}.")
        return None
    if isinstance(raw.get("id"), str):
        where = f"[[questionnaire.questions]] '{raw['id']}'"
    n_before = len(problems)
    problems.extend(_unknown_keys(raw, EXTRA_QUESTION_KEYS, where))
    qid = raw.get("id")
    if isinstance(qid, str) and not _ID_RE.match(qid):
        problems.append(
            f"{where}: id {qid!r} must be snake_case (a lower-case letter, then lower-case "
            f"letters, digits and _); it becomes a column name, e.g. '{slug(qid) or 'q1'}'."
        )
    elif isinstance(qid, str) and qid in RESERVED_IDS:
        problems.append(f"{where}: id '{qid}' is reserved. Reserved: {list_valid(RESERVED_IDS)}.")
    for key in ("id", "type", "text"):
        if key not in raw:
            problems.append(f"{where}: '{key}' is required.")
        elif not isinstance(raw[key], str):
            problems.append(f"{where}: '{key}' must be text, got {raw[key]!r}.")
    qtype = raw.get("type")
    if isinstance(qtype, str) and qtype not in QUESTION_TYPES:
        problems.append(
            f"{where}: type {qtype!r} is not valid.{did_you_mean(qtype, QUESTION_TYPES)} "
            f"Valid: {list_valid(t for t in QUESTION_TYPES if t != 'conjoint')}."
        )
    elif qtype == "conjoint":
        problems.append(
            f"{where}: type 'conjoint' is the built-in conjoint block ('{CONJOINT_QUESTION_ID}'); "
            "an extra question cannot be one. Valid: "
            f"{list_valid(t for t in QUESTION_TYPES if t != 'conjoint')}."
        )
    block = raw.get("block", "return")
    if not isinstance(block, str) or block not in BLOCKS:
        problems.append(
            f"{where}: block {block!r} is not valid.{did_you_mean(str(block), BLOCKS)} "
            f"Valid: {list_valid(BLOCKS)}."
        )
    required = raw.get("required", qtype != "text")
    if not isinstance(required, bool):
        problems.append(f"{where}: 'required' must be true or false, got {required!r}.")
    unit = raw.get("unit", "")
    if not isinstance(unit, str):
        problems.append(f"{where}: 'unit' must be text, got {unit!r}.")
    bounds: dict[str, float | None] = {"min": None, "max": None}
    for key in ("min", "max"):
        if key in raw:
            v = raw[key]
            if not _is_number(v):
                problems.append(f"{where}: '{key}' must be a number, got {v!r}.")
            elif qtype != "number":
                problems.append(
                    f"{where}: '{key}' is for number questions; a {qtype} question takes "
                    + ("its range from options." if qtype == "scale" else "no range.")
                )
            else:
                bounds[key] = float(v)
    options: list[tuple[Code, str]] = []
    if "options" in raw:
        if qtype in ("single", "multi", "scale", "yes_no"):
            opts = _options(raw["options"], f"{where} options", problems)
            options = opts or []
        else:
            problems.append(f"{where}: a {qtype} question has no 'options'.")
    elif qtype in ("single", "multi", "scale"):
        example = (
            '[{ code = 1, label = "Not at all" }, { code = 7, label = "Very" }]'
            if qtype == "scale"
            else '[{ code = "a", label = "..." }, ...]'
        )
        problems.append(f"{where}: a {qtype} question needs 'options', e.g. options = {example}.")
    logic = None
    if "show_if" in raw:
        logic = _parse_show_if(raw["show_if"], f"{where} show_if", problems)
    if len(problems) > n_before:
        return None
    try:
        return Question(
            raw["id"],
            str(qtype),
            raw["text"],
            options=tuple(options),
            required=required,
            logic=logic,
            block=block,
            unit=unit,
            min=bounds["min"],
            max=bounds["max"],
        )
    except QuestionnaireError as exc:
        problems.extend(
            f"{where}: {p.removeprefix(f'question {raw["id"]!r}: ')}" for p in exc.problems
        )
        return None


def parse_questionnaire(
    table: Mapping[str, Any] | None, study: Study
) -> tuple[Questionnaire | None, list[str]]:
    """Read the optional ``[questionnaire]`` table of a study file.

    Never raises for bad input: every problem is returned as a message that names the key, the
    bad value and the valid choices (with a "did you mean" hint).

    Parameters
    ----------
    table : mapping or None
        The parsed ``[questionnaire]`` table (``study.raw.get("questionnaire")``); None (no
        table) gives the default questionnaire. Keys:

        - ``reasons``: array of tables ``{ code, label }`` replacing the default reasons.
        - ``competitors``: list of provider names for ``current_provider``.
        - ``previous_plan_attribute``: attribute whose levels are the ``previous_plan`` options.
        - ``exclude``: list of default question ids to leave out.
        - ``[[questionnaire.questions]]``: extra questions with ``id``, ``type``, ``text``,
          ``options`` (array of ``{ code, label }``, or plain labels whose codes are made by
          :func:`slug`), ``required`` (default true, false for text), ``show_if = { question,
          op, value }``, ``block`` (default ``"return"``; placed at the end of the block),
          ``unit``/``min``/``max`` (number questions).
    study : Study

    Returns
    -------
    (Questionnaire or None, list of str)
        The questionnaire and no problems, or None and every problem found.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> q, problems = parse_questionnaire({"competitors": ["Vodafone", "Sky"]},
    ...                                   make_study(SMALL_STUDY))
    >>> problems, q.question("current_provider").codes
    ([], ('vodafone', 'sky', 'other'))
    >>> parse_questionnaire({"reasns": []}, make_study(SMALL_STUDY))[1]  # doctest: +ELLIPSIS
    ["[questionnaire]: unknown key 'reasns'. Did you mean 'reasons'? Valid keys: ..."]
    """
    if table is None:
        table = {}
    where = "[questionnaire]"
    if not isinstance(table, Mapping):
        return None, [f"{where} must be a table, got {table!r}."]
    problems: list[str] = []
    problems.extend(_unknown_keys(table, QUESTIONNAIRE_KEYS, where))

    reasons: tuple[tuple[str, str], ...] | None = DEFAULT_REASONS
    if "reasons" in table:
        reasons = _parse_reasons(table["reasons"], problems)
    competitors: tuple[str, ...] | None = ()
    if "competitors" in table:
        competitors = _parse_competitors(table["competitors"], problems)
    plan_attr = table.get("previous_plan_attribute")
    plan_given = "previous_plan_attribute" in table
    if plan_given and not isinstance(plan_attr, str):
        problems.append(
            f"{where}: 'previous_plan_attribute' must be text (an attribute name), got "
            f"{plan_attr!r}. Attributes: {list_valid(study.attribute_names)}."
        )
        plan_attr, plan_given = None, False
    exclude: list[str] = []
    if "exclude" in table:
        raw_ex = table["exclude"]
        if not isinstance(raw_ex, list) or not all(isinstance(x, str) for x in raw_ex):
            problems.append(
                f"{where}: 'exclude' must be a list of question ids (text), got {raw_ex!r}."
            )
        else:
            exclude = list(raw_ex)
    extras: list[Question] = []
    if "questions" in table:
        raw_q = table["questions"]
        if not isinstance(raw_q, list):
            problems.append(
                f"{where}: 'questions' must be an array of tables ([[questionnaire.questions]]), "
                f"got {raw_q!r}."
            )
        else:
            for i, item in enumerate(raw_q, start=1):
                extra = _parse_extra(item, i, problems)
                if extra is not None:
                    extras.append(extra)
    q, more = _build(
        study,
        reasons=reasons if reasons is not None else DEFAULT_REASONS,
        competitors=competitors if competitors is not None else (),
        previous_plan_attribute=plan_attr,
        plan_attribute_given=plan_given,
        exclude=exclude,
        extras=extras,
        where=where,
    )
    problems.extend(more)
    if problems:
        return None, problems
    return q, []


# --------------------------------------------------------------------------------------------
# Simulated respondents
# --------------------------------------------------------------------------------------------

# Marginal shares the latent draw is calibrated to (before "at least one reason" is enforced,
# which lifts every share a little), and how often a ticked reason is named the main one.
_REASON_SHARE = {
    "price_rise": 0.48,
    "outages": 0.27,
    "support": 0.22,
    "competitor_offer": 0.18,
    "moved": 0.07,
    "contract_terms": 0.10,
    "other": 0.05,
}
_MAIN_WEIGHT = {
    "price_rise": 3.0,
    "outages": 2.5,
    "support": 1.5,
    "competitor_offer": 1.5,
    "moved": 5.0,
    "contract_terms": 1.0,
    "other": 1.0,
}
# Correlation of the latent reasons (order of _REASON_SHARE): price and competitor offers go
# together, outages and poor support go together, moving home is mostly a reason on its own.
_REASON_CORR = np.array(
    [
        [1.00, 0.00, -0.05, 0.35, -0.35, 0.15, -0.10],
        [0.00, 1.00, 0.45, 0.00, -0.30, 0.00, -0.05],
        [-0.05, 0.45, 1.00, 0.00, -0.30, 0.10, -0.05],
        [0.35, 0.00, 0.00, 1.00, -0.30, 0.05, -0.10],
        [-0.35, -0.30, -0.30, -0.30, 1.00, -0.10, -0.05],
        [0.15, 0.00, 0.10, 0.05, -0.10, 1.00, -0.05],
        [-0.10, -0.05, -0.05, -0.10, -0.05, -0.05, 1.00],
    ]
)

_WHAT_HAPPENED = {
    "price_rise": (
        "My bill went up by {rise} a month with no warning.",
        "The price rose twice in one year and nothing got better.",
        "After the discount ended the price almost doubled.",
        "I was paying {paid} a month and it kept going up.",
        "They raised the price again, so I looked around.",
    ),
    "outages": (
        "The internet dropped out almost every evening.",
        "We had {days} days without a connection in one month.",
        "Constant outages while working from home.",
        "The connection kept cutting out and nobody fixed it.",
    ),
    "support": (
        "I waited over an hour on the phone, three times.",
        "Support kept promising a call back that never came.",
        "Nobody could fix my problem, I was passed around.",
        "The engineer did not turn up twice.",
    ),
    "competitor_offer": (
        "Another provider offered the same for much less.",
        "I got a better deal with a free router elsewhere.",
        "A friend recommended a cheaper provider.",
        "The new provider gave me 6 months at half price.",
    ),
    "moved": (
        "I moved to an area you do not cover.",
        "We moved in together and kept my partner's provider.",
        "Moved house and the new flat already had a contract.",
    ),
    "contract_terms": (
        "I did not want another 24 month contract.",
        "The exit fee and the contract length put me off.",
        "They wanted me to sign up for two more years.",
    ),
    "other": (
        "Personal reasons, nothing to do with the service.",
        "I no longer needed the TV part.",
        "Just wanted a change.",
    ),
}
_OTHER_TEXT = (
    "I no longer needed TV",
    "Cutting costs after losing my job",
    "Switched to mobile data only",
    "The router was too slow for gaming",
    "Did not like the new app",
    "Wanted a greener provider",
)
_BRING_BACK = {
    "price_rise": (
        "A fair price that stays fixed.",
        "Go back to what I paid before.",
        "A price guarantee for two years.",
        "Around {target} a month and I would think about it.",
    ),
    "outages": (
        "A connection that actually works.",
        "Compensation when the service is down.",
        "Proof that the network has been fixed.",
    ),
    "support": (
        "Real people answering the phone.",
        "Faster support and someone who owns the problem.",
        "Priority support without waiting.",
    ),
    "competitor_offer": (
        "Match the offer I have now.",
        "A better deal than my current provider.",
        "A cheaper price and no setup fee.",
    ),
    "moved": (
        "Coverage at my new address.",
        "Nothing really, unless you cover my area.",
    ),
    "contract_terms": (
        "No long contract.",
        "A monthly rolling contract.",
        "No exit fees.",
    ),
    "other": (
        "A cheaper package without TV.",
        "Not sure, maybe a good offer.",
    ),
}
_NOTHING = (
    "Nothing, I am happy where I am.",
    "Nothing would bring me back.",
    "Not interested.",
)
_PLAN_TEXT = (
    "Broadband only",
    "Broadband and TV",
    "Broadband, TV and mobile",
    "The basic package",
    "The premium bundle",
)
_GENERIC_TEXT = ("Nothing to add.", "All fine.", "Not sure.", "No comment.")


def make_segments(
    tenure_months: Sequence[float] | np.ndarray | pd.Series,
    customer_value: Sequence[float] | np.ndarray | pd.Series,
    reference_price: float,
) -> np.ndarray:
    """Customer segment from tenure and value: ``"new"``, ``"established"`` or ``"loyal"``.

    - ``new``: tenure under 12 months;
    - ``loyal``: tenure of 36 months or more *and* customer value (lifetime revenue) of at
      least ``36 x reference_price`` (long-standing customers paying at least the reference
      price);
    - ``established``: everyone else (including long-standing low payers). Missing tenure
      gives ``established``.

    Parameters
    ----------
    tenure_months, customer_value : array-like
    reference_price : float
        A typical monthly price; :func:`simulate_respondents` uses the median price level of the
        study's price attribute.

    Examples
    --------
    >>> make_segments([6, 24, 48, 48], [300, 1200, 2400, 900], 40.0).tolist()
    ['new', 'established', 'loyal', 'established']
    """
    t = pd.to_numeric(pd.Series(np.asarray(tenure_months, dtype=object)), errors="coerce")
    v = pd.to_numeric(pd.Series(np.asarray(customer_value, dtype=object)), errors="coerce")
    out = np.full(len(t), "established", dtype=object)
    out[(t < 12).to_numpy()] = "new"
    out[((t >= 36) & (v >= 36 * reference_price)).to_numpy()] = "loyal"
    return out


def _respondent_ids(respondents: int | Sequence[str]) -> list[str]:
    if isinstance(respondents, bool) or not isinstance(respondents, int | Sequence):
        raise WinbackError(
            f"respondents must be a number (>= 1) or a list of respondent ids, got {respondents!r}."
        )
    if isinstance(respondents, int):
        if respondents < 1:
            raise WinbackError(f"respondents must be at least 1, got {respondents}.")
        width = len(str(respondents))  # the same ids as conjoint.simulate_choices
        return [f"r{i + 1:0{width}d}" for i in range(respondents)]
    if isinstance(respondents, str):
        raise WinbackError("respondents must be a list of ids, not one string.")
    ids = [str(r) for r in respondents]
    dups = sorted({r for r in ids if ids.count(r) > 1})
    if dups:
        raise WinbackError(f"respondent ids must be unique; repeated: {list_valid(dups[:5])}.")
    if not ids:
        raise WinbackError("respondents is an empty list.")
    return ids


def _pick(rng: np.random.Generator, options: Sequence[str], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def simulate_respondents(
    study: Study,
    respondents: int | Sequence[str],
    random_seed: int | None = None,
    *,
    questionnaire: Questionnaire | None = None,
) -> pd.DataFrame:
    """Simulate realistic lost customers answering the questionnaire (respondents.csv).

    Parameters
    ----------
    study : Study
    respondents : int or sequence of str
        A number of respondents (ids ``r001``..., the same as
        :func:`conjoint.simulate_choices` gives, so the two tables join) or the ids to use.
    random_seed : int, optional
        Same seed, same frame.
    questionnaire : Questionnaire, optional
        Default: :func:`default_questionnaire` of the study. Its reason codes, providers and
        plans are used; excluded questions give no column; extra questions get plausible
        random answers.

    Returns
    -------
    DataFrame
        One row per respondent, columns ``questionnaire.columns()`` then ``customer_value``,
        ``wave``, ``duration_seconds`` and ``segment``. How the answers are drawn:

        - everyone qualifies (``was_customer = 1``); ``status`` is ``left`` for ~78%,
          ``leaving`` otherwise; ``current_provider`` / ``current_spend`` only for ``left``.
        - ``previous_plan``: a level of the plan attribute (middle plans most common) or a short
          text; ``price_paid``: within the study's price levels (higher plans pay more; a
          lognormal around 45 without a price attribute), e.g. 39.99; ``tenure_months``:
          right-skewed (median ~28, 1..240).
        - reasons (0/1): correlated (price rises with competitor offers, outages with poor
          support; moving home mostly alone), about 55% price_rise, 30% outages, 25% support,
          20% competitor_offer, 8% moved, 11% contract_terms, 6% other; at least one each.
          Long-standing and higher-paying customers cite price rises more often.
        - ``main_reason``: one of the ticked reasons. When only one reason is ticked the
          question is not shown and ``main_reason`` holds that reason (importers should fill it
          the same way).
        - open text (``what_happened`` ~85% answered, ``bring_back`` ~75%,
          ``reason_other_text`` when "other" is ticked): short answers from templates matching
          the main reason; never starting with = + - @.
        - ``satisfaction_before`` 0..10 (lower after outages / poor support), ``would_return``
          1..5 (lower after outages, support and moving, higher with satisfaction),
          ``contact_consent`` ~60% (more often for those who would return).
        - ``customer_value`` = ``price_paid x tenure_months`` (lifetime revenue), ``wave`` = 1,
          ``duration_seconds`` (median ~9 minutes; ~4% speeders at 90..200 seconds).
        - ``segment``: :func:`make_segments` of tenure and customer value with the median price
          level as reference price: ``new`` (< 12 months), ``loyal`` (>= 36 months at or above
          the reference price), ``established`` (the rest). A covariate for HB models.

        Answers to questions a respondent is not shown are missing (``<NA>``). Dtypes: text
        ``string``, 0/1 and scale answers ``Int64``, money ``Float64``, ``tenure_months`` and
        ``duration_seconds`` ``Int64``.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> people = simulate_respondents(make_study(SMALL_STUDY), 400, random_seed=1)
    >>> bool(people["reason_price_rise"].mean() > people["reason_moved"].mean())
    True
    """
    q = questionnaire if questionnaire is not None else default_questionnaire(study)
    ids = _respondent_ids(respondents)
    n = len(ids)
    rng = np.random.default_rng(random_seed)
    cols: dict[str, Any] = {}

    # -- screener ---------------------------------------------------------------------------
    cols["was_customer"] = np.ones(n, dtype=int)
    status = np.where(rng.random(n) < 0.78, "left", "leaving").astype(object)
    cols["status"] = status

    # -- what they had ----------------------------------------------------------------------
    plan_q = q._by_id.get("previous_plan")
    if plan_q is not None and plan_q.type == "single":
        k = len(plan_q.options)
        centre = (k - 1) / 2
        w = np.array([1.0 / (1.0 + abs(i - centre)) for i in range(k)])
        plan_idx = rng.choice(k, size=n, p=w / w.sum())
        cols["previous_plan"] = np.asarray(plan_q.codes, dtype=object)[plan_idx]
        plan_rank = plan_idx / max(k - 1, 1)
    else:
        plan_idx = rng.integers(0, len(_PLAN_TEXT), n)
        cols["previous_plan"] = np.asarray(_PLAN_TEXT, dtype=object)[plan_idx]
        plan_rank = plan_idx / (len(_PLAN_TEXT) - 1)

    if study.price_attribute is not None:
        levels = np.sort(np.asarray(study.attribute(study.price_attribute).levels, dtype=float))
        lo, hi = float(levels[0]), float(levels[-1])
        reference_price = float(np.median(levels))
        u = np.clip(0.55 * plan_rank + 0.45 * rng.random(n), 0.0, 1.0)
        base = lo + u * (hi - lo)
    else:
        reference_price = 45.0
        base = 45.0 * np.exp(0.3 * (plan_rank - 0.5) + 0.25 * rng.standard_normal(n))
    price = np.maximum(base * np.exp(0.06 * rng.standard_normal(n)), 1.0)
    price = np.where(rng.random(n) < 0.6, np.round(price) - 0.01, np.round(price, 0))
    price = np.round(price, 2)
    cols["price_paid"] = price

    tenure = np.clip(np.ceil(np.exp(np.log(28.0) + 0.9 * rng.standard_normal(n))), 1, 240)
    cols["tenure_months"] = tenure.astype(int)

    # -- reasons ----------------------------------------------------------------------------
    reason_q = q._by_id.get("reason")
    reason_codes = [str(c) for c in reason_q.codes] if reason_q is not None else []
    known = list(_REASON_SHARE)
    m = len(reason_codes)
    corr = np.eye(m)
    for i, a in enumerate(reason_codes):
        for j, b in enumerate(reason_codes):
            if a in known and b in known:
                corr[i, j] = _REASON_CORR[known.index(a), known.index(b)]
    latent = rng.standard_normal((n, m)) @ np.linalg.cholesky(corr).T if m else np.zeros((n, 0))
    z_price = (price - price.mean()) / (price.std() or 1.0)
    z_tenure = (np.log(tenure) - np.log(tenure).mean()) / (np.log(tenure).std() or 1.0)
    if "price_rise" in reason_codes:
        i = reason_codes.index("price_rise")
        latent[:, i] = (latent[:, i] + 0.25 * z_price + 0.25 * z_tenure) / math.sqrt(1.125)
    share = np.array([_REASON_SHARE.get(c, 0.10) for c in reason_codes])
    thresholds = np.array([NormalDist().inv_cdf(1.0 - s) for s in share])
    ticked = latent > thresholds if m else np.zeros((n, 0), dtype=bool)
    if m:
        empty = ~ticked.any(axis=1)
        fill = rng.choice(m, size=int(empty.sum()), p=share / share.sum())
        ticked[np.flatnonzero(empty), fill] = True
    for i, c in enumerate(reason_codes):
        cols[f"reason_{c}"] = ticked[:, i].astype(int)
    weights = np.array([_MAIN_WEIGHT.get(c, 1.0) for c in reason_codes])
    main = np.empty(n, dtype=object)
    if m:
        # Gumbel-max over log weights: a weighted draw among the ticked reasons, vectorised.
        score = np.where(ticked, np.log(weights) + rng.gumbel(size=(n, m)), -np.inf)
        main = np.asarray(reason_codes, dtype=object)[np.argmax(score, axis=1)]
    cols["main_reason"] = main
    has = {c: ticked[:, i] for i, c in enumerate(reason_codes)}

    def flag(code: str) -> np.ndarray:
        return has.get(code, np.zeros(n, dtype=bool)).astype(float)

    # -- what they have now -----------------------------------------------------------------
    prov_q = q._by_id.get("current_provider")
    if prov_q is not None and prov_q.type == "single":
        codes = list(prov_q.codes)
        named = np.array([0.0 if c == "other" else 0.6**i for i, c in enumerate(codes)])
        other = np.array([c == "other" for c in codes], dtype=float)
        # named providers take 88% (the first most often), "other" the rest
        w = 0.88 * named / (named.sum() or 1.0) + 0.12 * other / (other.sum() or 1.0)
        cols["current_provider"] = np.asarray(codes, dtype=object)[
            rng.choice(len(codes), size=n, p=w / w.sum())
        ]
    cheaper = 0.15 * flag("price_rise") + 0.15 * flag("competitor_offer")
    spend = price * np.exp(-cheaper + 0.15 * rng.standard_normal(n))
    cols["current_spend"] = np.round(np.round(spend) - np.where(rng.random(n) < 0.5, 0.01, 0), 2)

    # -- satisfaction and return ------------------------------------------------------------
    sat = (
        6.8
        - 1.8 * flag("outages")
        - 1.5 * flag("support")
        - 0.6 * flag("price_rise")
        + 0.3 * z_tenure
        + 1.7 * rng.standard_normal(n)
    )
    sat_i = np.clip(np.round(sat), 0, 10).astype(int)
    ret = (
        0.45 * (sat - 5.0) / 2.0
        + 0.35 * flag("price_rise")
        + 0.25 * flag("competitor_offer")
        - 0.9 * flag("moved")
        - 0.3 * flag("outages")
        + rng.standard_normal(n)
    )
    would_return = (np.searchsorted(np.array([-0.75, 0.0, 0.75, 1.5]), ret) + 1).astype(int)
    cols["satisfaction_before"] = sat_i
    cols["would_return"] = would_return
    p_consent = 1.0 / (1.0 + np.exp(-(0.45 + 0.45 * (would_return - 2.8))))
    cols["contact_consent"] = (rng.random(n) < p_consent).astype(int)

    # -- open text --------------------------------------------------------------------------
    money = study.currency
    rise = [f"{money} {int(x)}" for x in rng.integers(4, 16, n)]
    days = rng.integers(3, 12, n)
    what = np.empty(n, dtype=object)
    back = np.empty(n, dtype=object)
    other_text = np.empty(n, dtype=object)
    for r in range(n):
        key = str(main[r]) if str(main[r]) in _WHAT_HAPPENED else "other"
        tpl = _WHAT_HAPPENED[key][rng.integers(len(_WHAT_HAPPENED[key]))]
        what[r] = tpl.format(rise=rise[r], days=days[r], paid=f"{money} {price[r]:.2f}")
        if would_return[r] == 1 and rng.random() < 0.5:
            back[r] = _NOTHING[rng.integers(len(_NOTHING))]
        else:
            tpl = _BRING_BACK[key][rng.integers(len(_BRING_BACK[key]))]
            back[r] = tpl.format(target=f"{money} {max(int(price[r] * 0.8), 1)}")
        other_text[r] = _OTHER_TEXT[rng.integers(len(_OTHER_TEXT))]
    what[rng.random(n) >= 0.85] = None
    back[rng.random(n) >= 0.75] = None
    cols["what_happened"] = what
    cols["bring_back"] = back
    cols["reason_other_text"] = other_text

    # -- extra questions and the frame ------------------------------------------------------
    for qu in q.questions:
        if qu.type == "conjoint":
            continue
        if all(c in cols for c in qu.columns()) and _fits(cols[qu.columns()[0]], qu):
            continue
        cols.update(_simulate_extra(qu, n, rng))  # a new question, or a default one redefined
    ordered = q.columns()[1:]
    frame = pd.DataFrame({"respondent_id": pd.array(ids, dtype="string")})
    for c in ordered:
        frame[c] = cols[c]
    # blank what a respondent would not have been shown
    shown = q.shown(frame)
    for qu in q.questions:
        hide = ~shown[qu.id].to_numpy()
        for c in qu.columns():
            if hide.any():
                frame[c] = frame[c].astype(object)
                frame.loc[hide, c] = None
    if "main_reason" in frame.columns and reason_q is not None:
        frame["main_reason"] = main  # also when only one reason was ticked (not shown then)
    for qu in q.questions:
        for c in qu.columns():
            frame[c] = _typed(frame[c], qu, c)
    value = np.round(price * tenure, 2)
    frame["customer_value"] = pd.array(value, dtype="Float64")
    frame["wave"] = pd.array(np.ones(n, dtype=int), dtype="Int64")
    dur = np.exp(np.log(540.0) + 0.45 * rng.standard_normal(n))
    speed = rng.random(n) < 0.04
    dur[speed] = rng.uniform(90, 200, int(speed.sum()))
    frame["duration_seconds"] = pd.array(np.round(dur).astype(int), dtype="Int64")
    frame["segment"] = pd.array(make_segments(tenure, value, reference_price), dtype="string")
    return frame


def _fits(values: Any, q: Question) -> bool:
    """Whether simulated default answers are valid codes of (a possibly redefined) question."""
    if q.type not in ("single", "yes_no", "scale"):
        return True
    codes = {str(c) for c in q.codes}
    return all(v is None or str(v) in codes for v in np.asarray(values, dtype=object))


def _typed(col: pd.Series, q: Question, name: str) -> Any:
    if q.type in ("multi", "yes_no", "scale") or name == "tenure_months":
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64").astype("Int64")
    if q.type == "number":
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64")
    if q.type == "single" and all(isinstance(c, int) for c in q.codes):
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64").astype("Int64")
    return pd.array(col.astype(object).where(col.notna(), None), dtype="string")


def _simulate_extra(q: Question, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Plausible random answers to a question winback knows nothing about."""
    if q.type == "multi":
        ticks = rng.random((n, len(q.options))) < 0.3
        empty = ~ticks.any(axis=1)
        ticks[np.flatnonzero(empty), rng.integers(0, len(q.options), int(empty.sum()))] = True
        return {col: ticks[:, i].astype(int) for i, col in enumerate(q.columns())}
    if q.type in ("single", "yes_no", "scale"):
        codes = np.asarray(q.codes, dtype=object)
        return {q.id: codes[rng.integers(0, len(codes), n)]}
    if q.type == "number":
        lo = q.min if q.min is not None else 0.0
        hi = q.max if q.max is not None else lo + 100.0
        return {q.id: np.round(rng.uniform(lo, hi, n))}
    text = _pick(rng, _GENERIC_TEXT, n)
    text[rng.random(n) < 0.5] = None
    return {q.id: text}
