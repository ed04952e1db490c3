"""The default win-back questionnaire of a study (:func:`default_questionnaire`) and the checks
that tie it to the study's status quo.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from winback.errors import did_you_mean, list_valid
from winback.study.maxdiff import MAXDIFF_QUESTION_ID, MaxDiffSettings, resolve_maxdiff
from winback.study.model import Study
from winback.study.questionnaire_model import ConjointSpec, Questionnaire, _questionnaire_problems
from winback.study.questions import (
    BLOCKS,
    CONJOINT_QUESTION_ID,
    DEFAULT_REASONS,
    Code,
    Logic,
    Question,
    QuestionnaireError,
)

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
    maxdiff = None
    if study.maxdiff is not None:
        maxdiff, md_problems = resolve_maxdiff(study.maxdiff, reasons)
        problems += md_problems
        if maxdiff is not None:
            _insert_maxdiff(questions, maxdiff)
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
            maxdiff=maxdiff,
        ),
        [],
    )


def _insert_maxdiff(questions: list[Question], settings: MaxDiffSettings) -> None:
    """Put the MaxDiff question in the reasons block, after the reason questions (``reason``,
    ``reason_other_text``, ``main_reason``): after the tick-list, the ranking of the same
    reasons. Without them, first in the reasons block (or where it would be)."""
    question = Question(MAXDIFF_QUESTION_ID, "maxdiff", settings.question, block="reasons")
    ids = [q.id for q in questions]
    after = [ids.index(x) for x in ("reason", "reason_other_text", "main_reason") if x in ids]
    if after:
        at = max(after) + 1
    else:
        pos = BLOCKS.index("reasons")
        at = next((i for i, q in enumerate(questions) if BLOCKS.index(q.block) >= pos), len(ids))
    questions.insert(at, question)
