"""Reading a study file: :func:`load_study`, :func:`parse_study`, :func:`study_from_dict`, with
every problem of the file reported at once.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from winback import limits
from winback.errors import StudyError, did_you_mean, list_valid
from winback.study.business import parse_business, parse_calibration
from winback.study.checks import _check_keys, _choice, _get, _looks_numeric, _Problems
from winback.study.interactions import (
    interaction_problems,
    n_interaction_columns,
    parse_interactions,
)
from winback.study.labels import label_problems, parse_applies_to
from winback.study.maxdiff import parse_maxdiff
from winback.study.model import (
    _NAME_RE,
    CODINGS,
    PREFERENCES,
    RESERVED_NAMES,
    Attribute,
    FrozenDict,
    Level,
    Study,
    _design_problems,
    format_level,
)
from winback.study.questionnaire_defaults import status_quo_problems
from winback.study.questionnaire_table import parse_questionnaire
from winback.study.tables import (
    _parse_costs,
    _parse_design,
    _parse_holdouts,
    _parse_priors,
    _parse_prohibitions,
    _parse_status_quo,
)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or Path
        The ``study.toml`` file.

    Returns
    -------
    Study

    Raises
    ------
    StudyError
        Listing every problem found, each naming the table, key, value and the valid choices.

    Examples
    --------
    >>> from winback.study import load_study
    >>> study = load_study("study.toml")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StudyError([f"file not found: {path}"]) from None
    except OSError as exc:  # a directory, no permission, ...
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise StudyError([msg], source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise StudyError([f"not UTF-8 text ({exc})"], source=str(path)) from None
    return parse_study(text, source=str(path))


def parse_study(text: str, source: str | None = None) -> Study:
    """Parse study-file text (TOML). See :func:`load_study`."""
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as load_study accepts
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError([f"not valid TOML: {exc}"], source=source) from None
    return study_from_dict(data, source=source)


TOP_KEYS = (
    "study",
    "attributes",
    "design",
    "prohibitions",
    "holdouts",
    "status_quo",
    "priors",
    "costs",
    "business",
    "calibration",
    "questionnaire",
    "interactions",
    "maxdiff",
)


def study_from_dict(data: Mapping[str, Any], source: str | None = None) -> Study:
    """Build a :class:`Study` from the parsed TOML mapping, collecting every problem."""
    p = _Problems()
    _check_keys(data, TOP_KEYS, "top level", p)

    # [study]
    st = data.get("study")
    if not isinstance(st, dict):
        p.add('missing the [study] table (it needs at least name = "...").')
        st = {}
    _check_keys(
        st,
        ("name", "description", "none_option", "dual_response_none", "currency", "price_attribute"),
        "[study]",
        p,
    )
    name = _get(st, "name", str, "", "[study]", p)
    if "name" not in st and isinstance(data.get("study"), dict):
        p.add("[study]: 'name' is required.")
    none_option = _get(st, "none_option", bool, False, "[study]", p)
    dual = _get(st, "dual_response_none", bool, False, "[study]", p)
    if dual and "none_option" in st and not none_option:
        p.add(
            "[study]: dual_response_none = true asks the none as a follow-up question, so "
            "none_option cannot be false; set none_option = true or remove it."
        )
    if dual:
        none_option = False  # the none is a follow-up question, not an alternative on screen
    description = _get(st, "description", str, "", "[study]", p)
    currency = _get(st, "currency", str, "USD", "[study]", p)

    # [[attributes]]
    attrs = _parse_attributes(data.get("attributes"), p)
    names = [a.name for a in attrs]

    price_attribute = _get(st, "price_attribute", str, None, "[study]", p)
    if price_attribute is not None and price_attribute not in names:
        p.add(
            f"[study]: price_attribute '{price_attribute}' is not an attribute."
            f"{did_you_mean(price_attribute, names)} Attributes: {list_valid(names)}."
        )
        price_attribute = None
    if price_attribute is None and "price" in names:
        price_attribute = "price"
    if price_attribute is not None:
        pa = next(a for a in attrs if a.name == price_attribute)
        if not pa.numeric:
            p.add(f"[[attributes]] '{price_attribute}': the price attribute needs numeric levels.")
        elif pa.preference is None:
            # a lower price is better unless the study says otherwise (documented default)
            attrs = [replace(a, preference="decreasing") if a is pa else a for a in attrs]

    by_name = {a.name: a for a in attrs}
    interactions = parse_interactions(data.get("interactions"), attrs, p)
    n_params = sum(1 if a.coding == "linear" else a.n_levels - 1 for a in attrs)
    n_params += sum(n_interaction_columns(i, by_name) for i in interactions)
    design = _parse_design(data.get("design", {}), by_name, p)
    n_params += len(design.labels[1:])
    if limits.PARAMETERS.exceeded(n_params):
        p.add(limits.PARAMETERS.message(n_params, "[[attributes]]"))
    prohibitions = _parse_prohibitions(data.get("prohibitions", []), by_name, p)
    holdouts = _parse_holdouts(data.get("holdouts", []), attrs, design, p)
    status_quo = _parse_status_quo(data.get("status_quo"), attrs, price_attribute, p)
    priors = _parse_priors(
        data.get("priors", {}),
        attrs,
        none_option or dual,
        status_quo is not None,
        p,
        interactions=interactions,
        labels=design.labels,
    )
    costs = _parse_costs(data.get("costs"), by_name, p)
    business = parse_business(data.get("business"), p)
    calibration = parse_calibration(data.get("calibration"), p)
    maxdiff = parse_maxdiff(data.get("maxdiff"), p)

    for msg in _design_problems(design, attrs, holdouts, prohibitions, check_basic=False):
        p.add(msg)
    for msg in label_problems(attrs, design, prohibitions, interactions, holdouts, status_quo):
        p.add(msg)
    has_none, has_sq = none_option or dual, status_quo is not None
    for msg in interaction_problems(
        interactions,
        attrs,
        design,
        prohibitions,
        n_constants=int(has_none) + int(has_sq) + len(design.labels[1:]),
        extra_alternatives=int(none_option) + int(has_sq),
        dual_none=dual,
    ):
        p.add(msg)

    if p.items:
        raise StudyError(p.items, source=source)
    study = Study(
        name=name,
        attributes=tuple(attrs),
        none_option=none_option,
        dual_response_none=dual,
        description=description,
        currency=currency,
        price_attribute=price_attribute,
        design=design,
        prohibitions=tuple(prohibitions),
        holdouts=tuple(holdouts),
        status_quo=status_quo,
        priors=priors,
        costs=costs,
        business=business,
        calibration=calibration,
        interactions=interactions,
        maxdiff=maxdiff,
        source=source,
        raw=FrozenDict(copy.deepcopy(dict(data))),
    )
    # the questionnaire needs the study (plan levels, currency, none wording); it resolves
    # [maxdiff] against its reasons
    questionnaire, q_problems = parse_questionnaire(data.get("questionnaire"), study)
    if q_problems:
        raise StudyError(q_problems, source=source)
    sq_problems = status_quo_problems(questionnaire, study)
    if sq_problems:
        raise StudyError(sq_problems, source=source)
    assert questionnaire is not None
    return replace(study, questionnaire=questionnaire, maxdiff=questionnaire.maxdiff)


def _parse_attributes(raw: Any, p: _Problems) -> list[Attribute]:
    if raw is None:
        p.add("no [[attributes]]: a study needs at least one attribute with two or more levels.")
        return []
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add("'attributes' must be an array of tables ([[attributes]]).")
        return []
    if limits.ATTRIBUTES.exceeded(len(raw)):
        p.add(limits.ATTRIBUTES.message(len(raw), "[[attributes]]"))
        return []
    out: list[Attribute] = []
    seen: set[str] = set()
    for i, t in enumerate(raw, start=1):
        where = f"[[attributes]] #{i}"
        _check_keys(
            t,
            (
                "name",
                "levels",
                "coding",
                "label",
                "unit",
                "preference",
                "description",
                "applies_to",
            ),
            where,
            p,
        )
        name = _get(t, "name", str, None, where, p)
        if name is None:
            if "name" not in t:
                p.add(f"{where}: 'name' is required.")
            continue
        where = f"[[attributes]] '{name}'"
        if not _NAME_RE.match(name):
            p.add(
                f"{where}: the name must start with a letter and hold only letters, digits and "
                "underscores (it becomes a column name); put display text in 'label'."
            )
        if name in RESERVED_NAMES:
            p.add(f"{where}: '{name}' is reserved. Reserved: {list_valid(RESERVED_NAMES)}.")
        if name in seen:
            p.add(f"{where}: the name is used twice.")
        seen.add(name)
        levels_raw = t.get("levels")
        if not isinstance(levels_raw, list) or len(levels_raw) < 2:
            p.add(f"{where}: 'levels' must be a list of at least two levels, got {levels_raw!r}.")
            continue
        if limits.LEVELS.exceeded(len(levels_raw)):
            p.add(limits.LEVELS.message(len(levels_raw), where))
            continue
        kinds = {
            "number"
            if isinstance(v, int | float) and not isinstance(v, bool)
            else "text"
            if isinstance(v, str)
            else "other"
            for v in levels_raw
        }
        if "other" in kinds or len(kinds) > 1:
            p.add(f"{where}: levels must be all text or all numbers, got {levels_raw!r}.")
            continue
        levels: tuple[Level, ...]
        if kinds == {"number"}:
            floats = tuple(float(v) for v in levels_raw)
            levels = floats
            bad = [v for v in floats if not math.isfinite(v)]
            if bad:
                p.add(f"{where}: levels must be finite numbers, got {bad}.")
                continue
        else:
            texts = tuple(str(v).strip() for v in levels_raw)
            levels = texts
            empty = [v for v in texts if v == ""]
            if empty:
                p.add(f"{where}: a level label is empty.")
                continue
            numeric_like = [v for v in texts if _looks_numeric(v)]
            if numeric_like and len(numeric_like) != len(levels):
                p.add(
                    f"{where}: levels {numeric_like} look like numbers but others are text; write "
                    "all levels as numbers or give them text labels (e.g. '500 Mbps')."
                )
        dups = sorted({format_level(v) for v in levels if levels.count(v) > 1})
        if dups:
            p.add(f"{where}: duplicated levels {dups}.")
        coding = _get(t, "coding", str, "partworth", where, p, _choice(CODINGS))
        if coding == "linear" and kinds != {"number"}:
            p.add(f'{where}: coding = "linear" needs numeric levels, got {list(levels)!r}.')
            coding = "partworth"
        out.append(
            Attribute(
                name=name,
                levels=levels,
                coding=coding,
                label=_get(t, "label", str, "", where, p),
                unit=_get(t, "unit", str, "", where, p),
                preference=_get(t, "preference", str, None, where, p, _choice(PREFERENCES)),
                description=_get(t, "description", str, "", where, p),
                applies_to=parse_applies_to(t, where, p),
            )
        )
    return out
