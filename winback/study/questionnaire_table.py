"""The optional ``[questionnaire]`` table of a study file: :func:`parse_questionnaire` (reasons,
competitors, excluded default questions, extra questions with their show-if logic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from winback.errors import did_you_mean, list_valid
from winback.study.model import Study
from winback.study.questionnaire_defaults import _build, slug
from winback.study.questionnaire_model import Questionnaire
from winback.study.questions import (
    _ID_RE,
    _MULTI_CODE_RE,
    BLOCKS,
    BUILT_IN_TYPES,
    CONJOINT_QUESTION_ID,
    DEFAULT_REASONS,
    QUESTION_TYPES,
    RESERVED_IDS,
    Code,
    Logic,
    Question,
    QuestionnaireError,
    _is_number,
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
            f"Valid: {list_valid(t for t in QUESTION_TYPES if t not in BUILT_IN_TYPES)}."
        )
    elif qtype in BUILT_IN_TYPES:
        block_name = (
            f"the built-in conjoint block ('{CONJOINT_QUESTION_ID}')"
            if qtype == "conjoint"
            else "the MaxDiff block the [maxdiff] table adds"
        )
        problems.append(
            f"{where}: type '{qtype}' is {block_name}; an extra question cannot be one. Valid: "
            f"{list_valid(t for t in QUESTION_TYPES if t not in BUILT_IN_TYPES)}."
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
