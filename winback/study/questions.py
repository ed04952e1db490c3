"""Questions of the lost-customer questionnaire, as data: :class:`Question` (type, options,
block) and the :class:`Logic` that shows a question or screens a respondent out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study.model import format_level

if TYPE_CHECKING:
    from winback.study.questionnaire_model import Questionnaire


Code = str | int
LogicValue = str | int | float | tuple[str | int | float, ...]

QUESTION_TYPES = ("single", "multi", "number", "text", "scale", "yes_no", "conjoint", "maxdiff")
#: the built-in blocks a study adds (its choice tasks, its [maxdiff]); not for extra questions
BUILT_IN_TYPES = ("conjoint", "maxdiff")
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
        0/1 column per option, ``<id>_<code>``; the conjoint and MaxDiff questions give none:
        their answers are responses.csv and maxdiff.csv).
    type : {"single", "multi", "number", "text", "scale", "yes_no", "conjoint", "maxdiff"}
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
        if self.type in BUILT_IN_TYPES:
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
