"""The questionnaire as a whole: the conjoint block (:class:`ConjointSpec`) and the ordered
:class:`Questionnaire` (which questions a respondent is shown, the respondents.csv columns), with
the checks that span questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from winback.errors import did_you_mean, list_valid
from winback.study.maxdiff import MaxDiffSettings
from winback.study.model import Study
from winback.study.questions import (
    OPTIONAL_COLUMNS,
    RESERVED_IDS,
    Logic,
    Question,
    QuestionnaireError,
    _fmt,
    _is_number,
)

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
    alternative_names : tuple of str
        A labelled design's alternatives by their labels' names (``[design] label_names``),
        in order; empty for generic alternatives ("Option 1".."Option J").
    only_on : tuple of (attribute label, tuple of label names)
        The alternative-specific attributes and the labels' alternatives that show them.
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
    alternative_names: tuple[str, ...] = ()
    only_on: tuple[tuple[str, tuple[str, ...]], ...] = ()

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
            alternative_names=tuple(study.label_display(x) for x in study.labels),
            only_on=tuple(
                (a.display, tuple(study.label_display(x) for x in a.applies_to))
                for a in study.attributes
                if a.applies_to
            ),
        )

    def alternative_name(self, j: int) -> str:
        """What designed alternative ``j`` (1-based) is called: its label's name, or Option j."""
        return self.alternative_names[j - 1] if self.alternative_names else f"Option {j}"

    def choice_labels(self) -> list[str]:
        """Choices of one task, in order: ``Option 1..J`` (a labelled design: the labels'
        names), the status quo, the none."""
        out = [self.alternative_name(j) for j in range(1, self.alternatives + 1)]
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
    maxdiff : MaxDiffSettings, optional
        What the MaxDiff question (type ``"maxdiff"``, from the study's ``[maxdiff]``) shows:
        its items, sets and wording.

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
    maxdiff: MaxDiffSettings | None = None
    _by_id: Mapping[str, Question] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", tuple(self.questions))
        object.__setattr__(self, "screen_out", tuple(self.screen_out))
        problems = _questionnaire_problems(self.questions, self.screen_out)
        if self.conjoint is None and any(q.type == "conjoint" for q in self.questions):
            problems.append("a conjoint question needs the conjoint block (conjoint=ConjointSpec).")
        if self.maxdiff is None and any(q.type == "maxdiff" for q in self.questions):
            problems.append("a maxdiff question needs its settings (maxdiff=MaxDiffSettings).")
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
            screened |= evaluate_logic(rule, target, frame)
        for q in self.questions:
            mask = pd.Series(True, index=frame.index)
            if q.block != "screener":
                mask &= ~screened
            if q.logic is not None:
                target = self._by_id[q.logic.question]
                mask &= out[target.id] & evaluate_logic(q.logic, target, frame)
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
        if self.maxdiff is not None:
            m = self.maxdiff
            lines.append(
                f"  maxdiff: {m.sets} sets of {m.per_set} of {m.n_items} reasons, "
                f"{m.versions} version(s)"
            )
        lines.append(
            "  next: surveys.fielding.write_qualtrics_questions(q, path) or "
            "simulate_respondents(study, n)"
        )
        return "\n".join(lines)


def evaluate_logic(logic: Logic, target: Question, frame: pd.DataFrame) -> pd.Series:
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
    if target.type in ("conjoint", "maxdiff"):
        return [f"{where}: the {target.type} question '{target.id}' cannot be used in a condition."]
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
    for kind in ("conjoint", "maxdiff"):
        n_kind = sum(q.type == kind for q in questions)
        if n_kind > 1:
            out.append(f"only one {kind} question is allowed, found {n_kind}.")
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
