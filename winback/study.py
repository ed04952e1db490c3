"""The study file (``study.toml``): a typed, closed schema.

Every table and key is known; an unknown key is an error with a "did you mean" hint, a bad value
is an error that names where it is and what is valid. All problems in a file are reported at once.
See ``docs/study-file.md`` for the reference.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from winback import limits
from winback.errors import StudyError, WinbackError, did_you_mean, list_valid

Level = str | float
Coding = Literal["partworth", "linear"]

DESIGN_METHODS = ("random", "shortcut", "balanced_overlap", "d_efficient")
ALGORITHMS = ("coordinate", "fedorov")
CODINGS = ("partworth", "linear")
PREFERENCES = ("increasing", "decreasing")
PRIOR_KINDS = ("null", "normal", "sign", "correlated")
SIGNS = ("positive", "negative", "increasing", "decreasing")
RESERVED_NAMES = (
    "respondent_id",
    "version",
    "task",
    "alt",
    "chosen",
    "would_buy",
    "holdout",
    "none",
    "status_quo",
    "position",
)
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """One conjoint attribute. The first level listed is the reference level."""

    name: str
    levels: tuple[Level, ...]
    coding: Coding = "partworth"
    label: str = ""
    unit: str = ""
    preference: Literal["increasing", "decreasing"] | None = None
    description: str = ""

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, float) for v in self.levels)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def reference(self) -> Level:
        return self.levels[0]

    @property
    def display(self) -> str:
        return self.label or self.name

    def level_labels(self) -> list[str]:
        """Levels as text (numbers without a trailing ``.0``)."""
        return [format_level(v) for v in self.levels]

    def index_of(self, value: object) -> int:
        """Index of a level given as its label or (numeric attributes) value; -1 if unknown."""
        if self.numeric:
            try:
                x = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return -1
            for i, v in enumerate(self.levels):
                if math.isclose(x, float(v), rel_tol=1e-9, abs_tol=1e-9):
                    return i
            return -1
        text = str(value).strip()
        for i, v in enumerate(self.levels):
            if text == v:
                return i
        return -1


@dataclass(frozen=True)
class DesignSettings:
    method: str = "balanced_overlap"
    alternatives: int = 3
    tasks: int = 12
    versions: int = 1
    seed: int = 1
    algorithm: str = "coordinate"
    starts: int = 12
    max_seconds: float = 120.0
    unique_levels: tuple[str, ...] = ()
    no_dominated: bool = False
    shuffle: bool = True
    linear_as_partworth: bool = True


@dataclass(frozen=True)
class Prohibition:
    """Levels that may not appear together in one profile: ``{attribute: (level indices)}``."""

    levels: tuple[tuple[str, tuple[int, ...]], ...]

    def as_dict(self) -> dict[str, tuple[int, ...]]:
        return dict(self.levels)


@dataclass(frozen=True)
class Holdout:
    """A fixed task shown to every respondent, left out of estimation."""

    name: str
    alternatives: tuple[tuple[int, ...], ...]  # level index per attribute, per alternative


#: the questionnaire answers a per-respondent status quo is filled from
STATUS_QUO_PLAN_QUESTION = "previous_plan"
STATUS_QUO_PRICE_QUESTION = "price_paid"


@dataclass(frozen=True)
class StatusQuo:
    """The lost customer's previous offer, shown as an extra alternative in every task.

    Exactly one of two ways to say what it shows:

    - ``levels``: a fixed profile (level index per attribute), the same for every respondent;
    - ``plans``: per respondent, from their answer to ``previous_plan``: each answer code maps to
      a profile. With ``price_from_paid`` the price attribute's level is not in the profile
      (it holds -1 there) but the tested price nearest to the respondent's ``price_paid``
      answer (see :meth:`profile_for`).

    Attributes
    ----------
    label : str
    levels : tuple of int, optional
    plans : tuple of (answer code, profile)
    price_from_paid : bool
    price_position : int, optional
        Position of the price attribute among the attributes (set with ``price_from_paid``).
    price_levels : tuple of float
        The tested prices (set with ``price_from_paid``).
    """

    label: str = "Your previous plan"
    levels: tuple[int, ...] | None = None
    plans: tuple[tuple[str, tuple[int, ...]], ...] = ()
    price_from_paid: bool = False
    price_position: int | None = None
    price_levels: tuple[float, ...] = ()

    @property
    def per_respondent(self) -> bool:
        """True when each respondent sees their own previous plan (``plans``)."""
        return self.levels is None

    @property
    def plan_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.plans)

    def profile_for(self, previous_plan: object, price_paid: object = None) -> tuple[int, ...]:
        """The status-quo profile (level index per attribute) of one respondent.

        Parameters
        ----------
        previous_plan : str
            The respondent's ``previous_plan`` answer code (ignored with fixed ``levels``).
        price_paid : number or text, optional
            The respondent's ``price_paid`` answer (needed with ``price_from_paid``). The price
            shown is the tested level nearest to it; an amount below the lowest tested price
            shows the lowest, above the highest the highest (clipped); a tie goes to the lower
            price.

        Raises
        ------
        WinbackError
            An answer code without a plan, or a missing, non-numeric or negative price paid.

        Examples
        --------
        >>> sq = StatusQuo(plans=(("Basic", (0, -1)), ("Plus", (1, -1))), price_from_paid=True,
        ...                price_position=1, price_levels=(30.0, 40.0, 50.0))
        >>> sq.profile_for("Plus", "44.99"), sq.profile_for("Basic", 12)
        ((1, 1), (0, 0))
        """
        if self.levels is not None:
            return self.levels
        code = "" if previous_plan is None else str(previous_plan).strip()
        profile = dict(self.plans).get(code)
        if profile is None:
            raise WinbackError(
                f"status quo: the {STATUS_QUO_PLAN_QUESTION} answer {previous_plan!r} has no "
                f"profile in [status_quo.plans].{did_you_mean(code, self.plan_codes)} "
                f"Answers with a profile: {list_valid(self.plan_codes)}."
            )
        if not self.price_from_paid:
            return profile
        assert self.price_position is not None
        paid = _as_amount(price_paid)
        if paid is None:
            raise WinbackError(
                f"status quo: price_from_paid = true needs the {STATUS_QUO_PRICE_QUESTION} "
                f"answer, a number >= 0; got {price_paid!r}."
            )
        # the nearest tested price; of two equally near, the lower
        best = min(
            range(len(self.price_levels)),
            key=lambda i: (round(abs(self.price_levels[i] - paid), 9), self.price_levels[i]),
        )
        out = list(profile)
        out[self.price_position] = best
        return tuple(out)

    def profiles(self) -> tuple[tuple[tuple[int, ...], float], ...]:
        """Every profile the status quo can show, with the weight design diagnostics give it.

        Fixed ``levels``: that profile, weight 1. ``plans``: each plan's profile with weight
        1 / (number of plans); with ``price_from_paid`` each plan once per tested price, the
        plan's weight shared equally among its prices.
        """
        if self.levels is not None:
            return ((self.levels, 1.0),)
        out: list[tuple[tuple[int, ...], float]] = []
        n = len(self.plans)
        for _, profile in self.plans:
            if not self.price_from_paid:
                out.append((profile, 1.0 / n))
                continue
            assert self.price_position is not None
            m = len(self.price_levels)
            for i in range(m):
                full = list(profile)
                full[self.price_position] = i
                out.append((tuple(full), 1.0 / (n * m)))
        return tuple(out)


def _as_amount(value: object) -> float | None:
    """A money amount given as a number or text (``"39.99"``); None if missing or invalid."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x) or x < 0:
        return None
    return x


@dataclass(frozen=True)
class Priors:
    """Priors on the MNL parameters for Bayesian D-efficient designs."""

    kind: str = "null"
    draws: int = 100
    mean: tuple[float, ...] = ()
    sd: tuple[float, ...] = ()
    correlation: tuple[tuple[float, ...], ...] | None = None
    sign: tuple[tuple[str, str], ...] = ()  # (attribute or 'none'/'status_quo', sign)


@dataclass(frozen=True)
class Costs:
    base: float = 0.0
    levels: tuple[tuple[str, tuple[float, ...]], ...] = ()  # attribute -> cost per level

    def as_dict(self) -> dict[str, tuple[float, ...]]:
        return dict(self.levels)


@dataclass(frozen=True)
class Study:
    """A lost-customer conjoint study, as read from ``study.toml``."""

    name: str
    attributes: tuple[Attribute, ...]
    none_option: bool = False
    dual_response_none: bool = False
    description: str = ""
    currency: str = "USD"
    price_attribute: str | None = None
    design: DesignSettings = field(default_factory=DesignSettings)
    prohibitions: tuple[Prohibition, ...] = ()
    holdouts: tuple[Holdout, ...] = ()
    status_quo: StatusQuo | None = None
    priors: Priors = field(default_factory=Priors)
    costs: Costs | None = None
    source: str | None = None
    questionnaire: Any = field(default=None, repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- conveniences ------------------------------------------------------------------------
    @property
    def attribute_names(self) -> list[str]:
        return [a.name for a in self.attributes]

    @property
    def has_none(self) -> bool:
        """True when the model has a none constant (a none alternative or dual-response none)."""
        return self.none_option or self.dual_response_none

    def attribute(self, name: str) -> Attribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(
            f"Unknown attribute '{name}'.{did_you_mean(name, self.attribute_names)} "
            f"Attributes: {list_valid(self.attribute_names)}."
        )

    @property
    def n_profiles(self) -> int:
        return math.prod(a.n_levels for a in self.attributes)

    def replace_design(self, **changes: Any) -> Study:
        """A copy of the study with some design settings changed (the study is immutable)."""
        from dataclasses import replace

        unknown = set(changes) - set(DesignSettings.__dataclass_fields__)
        if unknown:
            raise TypeError(
                f"Unknown design settings: {sorted(unknown)}. "
                f"Valid: {list_valid(DesignSettings.__dataclass_fields__)}."
            )
        design = replace(self.design, **changes)
        problems = _design_problems(design, self.attributes, self.holdouts, self.prohibitions)
        if problems:
            raise StudyError(problems, source=self.source)
        return replace(self, design=design)

    def __repr__(self) -> str:  # notebook-friendly summary
        lines = [f"Study '{self.name}'" + (f" ({self.source})" if self.source else "")]
        for a in self.attributes:
            lv = ", ".join(a.level_labels())
            extra = " [linear]" if a.coding == "linear" else ""
            lines.append(f"  {a.name}{extra}: {lv}   (reference: {format_level(a.reference)})")
        d = self.design
        none = (
            "dual-response none"
            if self.dual_response_none
            else ("none option" if self.none_option else "forced choice")
        )
        lines.append(
            f"  design: {d.method}, {d.versions} version(s) x {d.tasks} tasks x "
            f"{d.alternatives} alternatives, {none}, {len(self.holdouts)} holdout(s), "
            f"{len(self.prohibitions)} prohibition(s), seed {d.seed}"
        )
        lines.append("  next: conjoint.make_design(study)")
        return "\n".join(lines)


class FrozenDict(dict[str, Any]):
    """A read-only dict (picklable, unlike MappingProxyType): the study's raw TOML tables."""

    def _readonly(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a study is immutable: its raw tables cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]


def format_level(v: Level) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str, p: _Problems) -> None:
    for key in table:
        if key not in allowed:
            p.add(
                f"{where}: unknown key '{key}'.{did_you_mean(key, allowed)} "
                f"Valid keys: {list_valid(allowed)}."
            )


def _get(
    table: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    default: Any,
    where: str,
    p: _Problems,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML ints are acceptable where a float is expected; bools are never numbers.
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(_type_name(k) for k in kinds)
        p.add(f"{where}: '{key}' must be {names}, got {value!r}.")
        return default
    if check is not None:
        msg = check(value)
        if msg:
            p.add(f"{where}: '{key}' = {value!r} {msg}")
            return default
    return value


def _type_name(k: type) -> str:
    return {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }.get(k, k.__name__)


def _choice(valid: Sequence[str]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if v in valid:
            return None
        return f"is not valid.{did_you_mean(v, valid)} Valid: {list_valid(valid)}."

    return check


def _at_least(n: float, limit: limits.Limit | None = None) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if v < n:
            return f"must be at least {n}."
        if limit is not None and limit.exceeded(v):
            return f"is too large. {limit.message(v)}"
        return None

    return check


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
    "questionnaire",
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
            from dataclasses import replace

            attrs = [replace(a, preference="decreasing") if a is pa else a for a in attrs]

    n_params = sum(1 if a.coding == "linear" else a.n_levels - 1 for a in attrs)
    if limits.PARAMETERS.exceeded(n_params):
        p.add(limits.PARAMETERS.message(n_params, "[[attributes]]"))
    by_name = {a.name: a for a in attrs}
    design = _parse_design(data.get("design", {}), by_name, p)
    prohibitions = _parse_prohibitions(data.get("prohibitions", []), by_name, p)
    holdouts = _parse_holdouts(data.get("holdouts", []), attrs, design, p)
    status_quo = _parse_status_quo(data.get("status_quo"), attrs, price_attribute, p)
    priors = _parse_priors(
        data.get("priors", {}), attrs, none_option or dual, status_quo is not None, p
    )
    costs = _parse_costs(data.get("costs"), by_name, p)

    for msg in _design_problems(design, attrs, holdouts, prohibitions, check_basic=False):
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
        source=source,
        raw=FrozenDict(copy.deepcopy(dict(data))),
    )
    # the questionnaire needs the study (plan levels, currency, none wording)
    from dataclasses import replace as _replace

    from surveys.questionnaire import parse_questionnaire, status_quo_problems

    questionnaire, q_problems = parse_questionnaire(data.get("questionnaire"), study)
    if q_problems:
        raise StudyError(q_problems, source=source)
    sq_problems = status_quo_problems(questionnaire, study)
    if sq_problems:
        raise StudyError(sq_problems, source=source)
    return _replace(study, questionnaire=questionnaire)


def _design_problems(
    design: DesignSettings,
    attrs: Sequence[Attribute],
    holdouts: Sequence[Holdout],
    prohibitions: Sequence[Prohibition],
    check_basic: bool = True,
) -> list[str]:
    """Checks of [design] that involve other tables (also run by Study.replace_design)."""
    out: list[str] = []
    if check_basic:
        for key, low in (("alternatives", 2), ("tasks", 1), ("versions", 1), ("starts", 1)):
            v = getattr(design, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                out.append(f"[design]: '{key}' = {v!r} must be a whole number of at least {low}.")
        if design.method not in DESIGN_METHODS:
            out.append(
                f"[design]: 'method' = {design.method!r} is not valid."
                f"{did_you_mean(design.method, DESIGN_METHODS)} "
                f"Valid: {list_valid(DESIGN_METHODS)}."
            )
        if design.algorithm not in ALGORITHMS:
            out.append(
                f"[design]: 'algorithm' = {design.algorithm!r} is not valid. "
                f"Valid: {list_valid(ALGORITHMS)}."
            )
        if not design.max_seconds > 0:
            out.append(f"[design]: 'max_seconds' = {design.max_seconds!r} must be positive.")
    by_name = {a.name: a for a in attrs}
    for an in design.unique_levels:
        a = by_name.get(an)
        if a is None:
            if check_basic:
                out.append(f"[design] unique_levels: unknown attribute '{an}'.")
        elif a.n_levels < design.alternatives:
            out.append(
                f"[design]: unique_levels includes '{an}', which has {a.n_levels} levels, "
                f"fewer than the {design.alternatives} alternatives per task; a level would "
                "have to repeat. Remove it or show fewer alternatives."
            )
    if attrs and math.prod(a.n_levels for a in attrs) < design.alternatives:
        out.append(
            f"[design]: {design.alternatives} alternatives per task, but only "
            f"{math.prod(a.n_levels for a in attrs)} distinct profiles exist."
        )
    if design.no_dominated and attrs and not any(a.preference for a in attrs):
        out.append(
            "[design]: no_dominated = true, but no attribute has a preference order; set "
            'preference = "increasing" or "decreasing" on attributes where more is better or '
            'worse (a numeric price attribute defaults to "decreasing").'
        )
    for h in holdouts:
        if len(h.alternatives) != design.alternatives:
            out.append(
                f"[[holdouts]] '{h.name}': {len(h.alternatives)} alternatives, but tasks show "
                f"{design.alternatives}."
            )
        for j, prof in enumerate(h.alternatives, start=1):
            for pr in prohibitions:
                pos = {a.name: i for i, a in enumerate(attrs)}
                if all(prof[pos[an]] in idx for an, idx in pr.levels):
                    shown = ", ".join(
                        f"{an} = {format_level(by_name[an].levels[prof[pos[an]]])}"
                        for an, _ in pr.levels
                    )
                    out.append(
                        f"[[holdouts]] '{h.name}' alternative {j} shows a prohibited combination "
                        f"({shown})."
                    )
    return out


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
            t, ("name", "levels", "coding", "label", "unit", "preference", "description"), where, p
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
            )
        )
    return out


def _looks_numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _level_index(a: Attribute, value: Any, where: str, p: _Problems) -> int | None:
    idx = a.index_of(value)
    if idx < 0:
        labels = a.level_labels()
        p.add(
            f"{where}: unknown level {value!r} for attribute '{a.name}'."
            f"{did_you_mean(str(value), labels)} Valid levels: {list_valid(labels)}."
        )
        return None
    return idx


def _unknown_attribute(name: str, by_name: Mapping[str, object], where: str) -> str:
    return (
        f"{where}: unknown attribute '{name}'.{did_you_mean(name, list(by_name))} "
        f"Attributes: {list_valid(by_name)}."
    )


def _parse_design(raw: Any, by_name: Mapping[str, Attribute], p: _Problems) -> DesignSettings:
    where = "[design]"
    if not isinstance(raw, dict):
        p.add("[design] must be a table.")
        return DesignSettings()
    _check_keys(
        raw,
        (
            "method",
            "alternatives",
            "tasks",
            "versions",
            "seed",
            "algorithm",
            "starts",
            "max_seconds",
            "unique_levels",
            "no_dominated",
            "shuffle",
            "linear_as_partworth",
        ),
        where,
        p,
    )
    d = DesignSettings()
    unique = _get(raw, "unique_levels", (list, str), [], where, p)
    if isinstance(unique, str):
        unique = list(by_name) if unique == "all" else [unique]
    unique_ok = []
    for an in unique:
        if not isinstance(an, str) or an not in by_name:
            p.add(_unknown_attribute(str(an), by_name, f"{where} unique_levels"))
        else:
            unique_ok.append(an)
    return DesignSettings(
        method=_get(raw, "method", str, d.method, where, p, _choice(DESIGN_METHODS)),
        alternatives=_get(
            raw, "alternatives", int, d.alternatives, where, p, _at_least(2, limits.ALTERNATIVES)
        ),
        tasks=_get(raw, "tasks", int, d.tasks, where, p, _at_least(1, limits.TASKS)),
        versions=_get(raw, "versions", int, d.versions, where, p, _at_least(1, limits.VERSIONS)),
        seed=_get(raw, "seed", int, d.seed, where, p, _at_least(0)),
        algorithm=_get(raw, "algorithm", str, d.algorithm, where, p, _choice(ALGORITHMS)),
        starts=_get(raw, "starts", int, d.starts, where, p, _at_least(1)),
        max_seconds=_get(raw, "max_seconds", float, d.max_seconds, where, p, _at_least(0.01)),
        unique_levels=tuple(unique_ok),
        no_dominated=_get(raw, "no_dominated", bool, d.no_dominated, where, p),
        shuffle=_get(raw, "shuffle", bool, d.shuffle, where, p),
        linear_as_partworth=_get(raw, "linear_as_partworth", bool, d.linear_as_partworth, where, p),
    )


def _parse_prohibitions(
    raw: Any, by_name: Mapping[str, Attribute], p: _Problems
) -> list[Prohibition]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add("'prohibitions' must be an array of tables ([[prohibitions]]).")
        return []
    out = []
    for i, t in enumerate(raw, start=1):
        where = f"[[prohibitions]] #{i}"
        if len(t) < 2:
            p.add(
                f"{where}: a prohibition names levels of at least two attributes that may not "
                f'appear together, e.g. plan = "Basic", speed = ["1 Gbps"]; got {t!r}.'
            )
            continue
        entries: list[tuple[str, tuple[int, ...]]] = []
        for an, values in t.items():
            a = by_name.get(an)
            if a is None:
                p.add(_unknown_attribute(an, by_name, where))
                continue
            vals = values if isinstance(values, list) else [values]
            if not vals:
                p.add(f"{where}: no levels given for '{an}' (an empty list prohibits nothing).")
                continue
            idx = [_level_index(a, v, where, p) for v in vals]
            if any(j is None for j in idx):
                continue
            entries.append((an, tuple(sorted(set(int(j) for j in idx if j is not None)))))
        if len(entries) == len(t):
            out.append(Prohibition(tuple(entries)))
    return out


def _profile(
    t: Any, attrs: Sequence[Attribute], where: str, p: _Problems, omit: str | None = None
) -> tuple[int, ...] | None:
    """Level indices of a profile given as a table attribute = level.

    Every attribute is needed, except ``omit`` (filled later: -1 in its place), which may not
    be given.
    """
    if not isinstance(t, dict):
        p.add(f"{where}: a profile must be a table of attribute = level, got {t!r}.")
        return None
    by_name = {a.name: a for a in attrs}
    ok = True
    for key in t:
        if key not in by_name:
            p.add(_unknown_attribute(key, by_name, where))
            ok = False
    if omit is not None and omit in t:
        p.add(
            f"{where}: '{omit}' = {t[omit]!r} is not used: with price_from_paid = true the "
            f"price shown is the one each respondent paid. Remove '{omit}' from the profile, "
            "or set price_from_paid = false."
        )
        ok = False
    missing = [a.name for a in attrs if a.name not in t and a.name != omit]
    if missing:
        p.add(f"{where}: missing levels for {list_valid(missing)} (every attribute is needed).")
        ok = False
    if not ok:
        return None
    idx = [-1 if a.name == omit else _level_index(a, t[a.name], where, p) for a in attrs]
    if any(j is None for j in idx):
        return None
    return tuple(int(j) for j in idx if j is not None)


def _parse_holdouts(
    raw: Any, attrs: Sequence[Attribute], design: DesignSettings, p: _Problems
) -> list[Holdout]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add("'holdouts' must be an array of tables ([[holdouts]]).")
        return []
    out = []
    for i, t in enumerate(raw, start=1):
        where = f"[[holdouts]] #{i}"
        _check_keys(t, ("name", "alternatives"), where, p)
        name = _get(t, "name", str, f"holdout{i}", where, p)
        alts = t.get("alternatives")
        if not isinstance(alts, list) or len(alts) != design.alternatives:
            p.add(
                f"{where}: 'alternatives' must list exactly {design.alternatives} alternatives "
                f"(the design's alternatives per task), got {alts!r}."
            )
            continue
        profiles = [
            _profile(a, attrs, f"{where} alternative {j}", p) for j, a in enumerate(alts, start=1)
        ]
        if all(pr is not None for pr in profiles):
            prof = tuple(pr for pr in profiles if pr is not None)
            if len(set(prof)) != len(prof):
                p.add(f"{where}: two alternatives are identical.")
            out.append(Holdout(name=name, alternatives=prof))
    names = [h.name for h in out]
    for n in sorted({n for n in names if names.count(n) > 1}):
        p.add(f"[[holdouts]]: the name '{n}' is used twice.")
    return out


STATUS_QUO_KEYS = ("enabled", "label", "levels", "plans", "price_from_paid")


def _parse_status_quo(
    raw: Any, attrs: Sequence[Attribute], price_attribute: str | None, p: _Problems
) -> StatusQuo | None:
    if raw is None:
        return None
    where = "[status_quo]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    _check_keys(raw, STATUS_QUO_KEYS, where, p)
    if not _get(raw, "enabled", bool, True, where, p):
        return None
    label = _get(raw, "label", str, StatusQuo.label, where, p)
    price_from_paid = _get(raw, "price_from_paid", bool, False, where, p)
    if "levels" in raw and "plans" in raw:
        p.add(
            f"{where}: give either 'levels' (one fixed profile for everyone) or 'plans' (each "
            "respondent's own previous plan), not both."
        )
        return None
    if "levels" in raw:
        if price_from_paid:
            p.add(
                f"{where}: price_from_paid = true fills the price of each respondent's own plan "
                "('plans'); a fixed 'levels' profile states its own price. Remove one of them."
            )
        levels = _profile(raw["levels"], attrs, f"{where} levels", p)
        return None if levels is None else StatusQuo(label=label, levels=levels)
    if "plans" not in raw:
        p.add(
            f"{where}: the status quo needs a profile to show, and neither 'levels' nor 'plans' "
            "is given. Give one of: levels = { attribute = level, ... } (one fixed profile, the "
            "same for every respondent); a [status_quo.plans] table mapping each answer to "
            f"'{STATUS_QUO_PLAN_QUESTION}' to the profile of that plan (each respondent sees "
            "their own; add price_from_paid = true to show the price they paid); or "
            "enabled = false to drop the status-quo alternative."
        )
        return None
    plans_raw = raw["plans"]
    if not isinstance(plans_raw, dict) or not plans_raw:
        p.add(
            f"{where}: 'plans' must be a table answer = {{ attribute = level, ... }} with one "
            f"entry per answer to '{STATUS_QUO_PLAN_QUESTION}', got {plans_raw!r}."
        )
        return None
    omit = None
    price_position = None
    price_levels: tuple[float, ...] = ()
    if price_from_paid:
        if price_attribute is None:
            p.add(
                f"{where}: price_from_paid = true needs a price attribute (an attribute named "
                "'price', or [study] price_attribute); this study has none. Give the price in "
                "each plan's profile instead."
            )
            return None
        omit = price_attribute
        price_position = [a.name for a in attrs].index(price_attribute)
        if not attrs[price_position].numeric:
            return None  # reported with [[attributes]]: the price needs numeric levels
        price_levels = tuple(float(v) for v in attrs[price_position].levels)
    plans: list[tuple[str, tuple[int, ...]]] = []
    for code, profile_raw in plans_raw.items():
        pw = f"{where} plans.{code}" if code.strip() else f"{where} plans"
        if not code.strip():
            p.add(f"{pw}: an empty answer code; use the codes of '{STATUS_QUO_PLAN_QUESTION}'.")
            continue
        prof = _profile(profile_raw, attrs, pw, p, omit=omit)
        if prof is not None:
            plans.append((code.strip(), prof))
    if len(plans) != len(plans_raw):
        return None
    return StatusQuo(
        label=label,
        plans=tuple(plans),
        price_from_paid=price_from_paid,
        price_position=price_position,
        price_levels=price_levels,
    )


def parameter_layout(
    attrs: Sequence[Attribute], has_none: bool, has_sq: bool
) -> list[tuple[str, str | None]]:
    """(attribute, level) for every parameter in canonical order; level None for linear/ASCs."""
    out: list[tuple[str, str | None]] = []
    for a in attrs:
        if a.coding == "linear":
            out.append((a.name, None))
        else:
            out.extend((a.name, format_level(v)) for v in a.levels[1:])
    if has_none:
        out.append(("none", None))
    if has_sq:
        out.append(("status_quo", None))
    return out


def _parse_priors(
    raw: Any, attrs: Sequence[Attribute], has_none: bool, has_sq: bool, p: _Problems
) -> Priors:
    where = "[priors]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return Priors()
    _check_keys(raw, ("kind", "draws", "mean", "sd", "correlation", "covariance", "sign"), where, p)
    # the kind follows from what is given when not stated; a stated kind must fit the keys
    if "sign" in raw:
        implied = "sign"
    elif "correlation" in raw or "covariance" in raw:
        implied = "correlated"
    elif "mean" in raw or "sd" in raw:
        implied = "normal"
    else:
        implied = "null"
    kind = _get(raw, "kind", str, implied, where, p, _choice(PRIOR_KINDS))
    if kind == "null" and implied != "null":
        p.add(
            f'{where}: kind = "null" ignores the {implied} prior settings given; remove them '
            f'or set kind = "{implied}".'
        )
    draws = _get(raw, "draws", int, 100, where, p, _at_least(1))
    layout = parameter_layout(attrs, has_none, has_sq)
    k = len(layout)
    by_name = {a.name: a for a in attrs}
    extra_names = (["none"] if has_none else []) + (["status_quo"] if has_sq else [])

    def per_param(value: Any, key: str, default: float) -> tuple[float, ...]:
        """Accept a scalar for all, or a table attribute -> scalar | list | {level: value}."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (float(value),) * k
        vals = [default] * k
        if not isinstance(value, dict):
            p.add(f"{where}: '{key}' must be a number or a table of attribute = value.")
            return tuple(vals)
        valid = list(by_name) + extra_names
        for an, v in value.items():
            idxs = [i for i, (pa, _) in enumerate(layout) if pa == an]
            if not idxs:
                p.add(_unknown_attribute(an, {n: None for n in valid}, f"{where} {key}"))
                continue
            a = by_name.get(an)
            if isinstance(v, int | float) and not isinstance(v, bool):
                for i in idxs:
                    vals[i] = float(v)
            elif (
                isinstance(v, list)
                and len(v) == len(idxs)
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
            ):
                for i, x in zip(idxs, v, strict=True):
                    vals[i] = float(x)
            elif isinstance(v, dict) and a is not None and a.coding == "partworth":
                for lv, x in v.items():
                    j = _level_index(a, lv, f"{where} {key}.{an}", p)
                    if j is None:
                        continue
                    if j == 0:
                        p.add(
                            f"{where} {key}.{an}: '{lv}' is the reference level (fixed at 0); "
                            f"give values for {list_valid(a.level_labels()[1:])}."
                        )
                        continue
                    if not isinstance(x, int | float) or isinstance(x, bool):
                        p.add(f"{where} {key}.{an}.{lv}: must be a number, got {x!r}.")
                        continue
                    vals[idxs[j - 1]] = float(x)
            else:
                p.add(
                    f"{where} {key}.{an}: expected a number, a list of {len(idxs)} numbers "
                    f"(one per non-reference level) or a table level = number; got {v!r}."
                )
        return tuple(vals)

    mean = per_param(raw.get("mean", 0.0), "mean", 0.0)
    sd = per_param(raw.get("sd", 1.0), "sd", 1.0)
    labels = [_param_label(x) for x in layout]
    bad_mean = [
        f"{lab} = {m!r}" for lab, m in zip(labels, mean, strict=True) if not math.isfinite(m)
    ]
    if bad_mean:
        p.add(f"{where}: every mean must be a finite number, got {list_valid(bad_mean)}.")
    bad_sd = [
        f"{lab} = {x!r}"
        for lab, x in zip(labels, sd, strict=True)
        if not (math.isfinite(x) and x > 0)
    ]
    if bad_sd:
        p.add(f"{where}: every sd must be positive and finite, got {list_valid(bad_sd)}.")
    corr = None
    if kind == "correlated":
        key = "correlation" if "correlation" in raw else "covariance"
        m = raw.get(key)
        if m is None:
            p.add(
                f"{where}: kind = \"correlated\" needs 'correlation' (with 'sd') or "
                f"'covariance', a {k} x {k} matrix in parameter order: "
                f"{list_valid(_param_label(x) for x in layout)}."
            )
        elif (
            not isinstance(m, list)
            or len(m) != k
            or not all(isinstance(r, list) and len(r) == k for r in m)
        ):
            p.add(f"{where}: '{key}' must be a {k} x {k} matrix (list of {k} lists).")
        elif not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for r in m
            for x in r
        ):
            p.add(f"{where}: every entry of '{key}' must be a finite number, got {m!r}.")
        else:
            import numpy as np

            mat = np.asarray(m, dtype=float)
            if key == "covariance":
                var = np.diag(mat)
                if np.any(var <= 0):
                    p.add(f"{where}: covariance has a non-positive variance: {var.tolist()}.")
                    spread = np.ones(k)
                else:
                    spread = np.sqrt(var)
                sd = tuple(float(x) for x in spread)
                mat = mat / np.outer(spread, spread)
            if not np.allclose(mat, mat.T):
                p.add(f"{where}: '{key}' is not symmetric.")
            elif key == "correlation" and not np.allclose(np.diag(mat), 1.0):
                p.add(
                    f"{where}: 'correlation' must have 1 on its diagonal, got "
                    f"{np.diag(mat).tolist()}; give the spread in 'sd' or use 'covariance'."
                )
            elif np.min(np.linalg.eigvalsh(mat)) <= 0:
                p.add(f"{where}: '{key}' is not positive definite.")
            corr = tuple(tuple(float(x) for x in row) for row in mat)
    elif "correlation" in raw or "covariance" in raw:
        p.add(f"{where}: 'correlation'/'covariance' need kind = \"correlated\", not \"{kind}\".")
    sign: list[tuple[str, str]] = []
    if kind == "sign":
        s = raw.get("sign")
        if not isinstance(s, dict) or not s:
            p.add(
                f'{where}: kind = "sign" needs a [priors.sign] table, e.g. '
                'price = "negative", speed = "increasing".'
            )
        else:
            for an, v in s.items():
                if an not in by_name and an not in extra_names:
                    p.add(
                        _unknown_attribute(
                            an, {n: None for n in list(by_name) + extra_names}, f"{where} sign"
                        )
                    )
                elif v not in SIGNS:
                    p.add(
                        f"{where} sign.{an}: {v!r} is not valid.{did_you_mean(str(v), SIGNS)} "
                        f"Valid: {list_valid(SIGNS)}."
                    )
                else:
                    sign.append((an, v))
                    means = raw.get("mean")
                    if isinstance(means, dict) and an in means:
                        p.add(
                            f"{where}: mean.{an} would be ignored: a sign prior draws "
                            f"half-normal magnitudes with sd; remove mean.{an} or its sign."
                        )
    elif "sign" in raw:
        p.add(f'{where}: \'sign\' needs kind = "sign", not "{kind}".')
    return Priors(kind=kind, draws=draws, mean=mean, sd=sd, correlation=corr, sign=tuple(sign))


def _param_label(x: tuple[str, str | None]) -> str:
    return x[0] if x[1] is None else f"{x[0]}[{x[1]}]"


def _parse_costs(raw: Any, by_name: Mapping[str, Attribute], p: _Problems) -> Costs | None:
    if raw is None:
        return None
    where = "[costs]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    base = _get(raw, "base", float, 0.0, where, p)
    out: list[tuple[str, tuple[float, ...]]] = []
    for an, v in raw.items():
        if an == "base":
            continue
        a = by_name.get(an)
        if a is None:
            p.add(_unknown_attribute(an, by_name, where) + " ('base' is the fixed unit cost.)")
            continue
        if not isinstance(v, dict):
            p.add(f"{where} {an}: must be a table level = cost, got {v!r}.")
            continue
        costs = [0.0] * a.n_levels
        for lv, c in v.items():
            j = _level_index(a, lv, f"{where} {an}", p)
            if j is None:
                continue
            if not isinstance(c, int | float) or isinstance(c, bool):
                p.add(f"{where} {an}.{lv}: cost must be a number, got {c!r}.")
                continue
            costs[j] = float(c)
        out.append((an, tuple(costs)))
    return Costs(base=base, levels=tuple(out))
