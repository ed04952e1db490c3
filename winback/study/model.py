"""The schema of a study: attributes, design settings, prohibitions, holdouts, the status quo,
priors, costs and the :class:`Study` that holds them (frozen dataclasses).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from winback.errors import StudyError, WinbackError, did_you_mean, list_valid

if TYPE_CHECKING:
    from winback.study.business import Business, Calibration
    from winback.study.maxdiff import MaxDiffSettings

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
    #: the labels (``[design] labels``) whose alternatives show this attribute; empty: all
    applies_to: tuple[str, ...] = ()

    @property
    def alternative_specific(self) -> bool:
        """True when the attribute exists only on some labels' alternatives (``applies_to``)."""
        return bool(self.applies_to)

    def applies(self, label: str | None) -> bool:
        """True when an alternative of ``label`` shows this attribute (None: an unlabelled
        alternative, which shows every generic attribute)."""
        return not self.applies_to or (label is not None and label in self.applies_to)

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
    #: a labelled design: alternative j of every task is the j-th label (its own constant)
    labels: tuple[str, ...] = ()
    #: the text shown for a label (``[design] label_names``); a label not named shows itself
    label_names: tuple[tuple[str, str], ...] = ()


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
class Interaction:
    """A declared interaction of two attributes (``[[interactions]]``): the effect of one
    depends on the level of the other.

    Its model columns are the products of the two attributes' codes: a part-worth attribute
    contributes one code per non-reference level (1 at that level, 0 elsewhere), a linear one
    its value minus its reference value (the first level listed), so every main effect is the
    effect at the reference level of the attributes it interacts with. Part-worth x part-worth
    gives (L1 - 1)(L2 - 1) columns, linear x part-worth (L2 - 1) slope shifts, linear x linear
    one column.
    """

    attributes: tuple[str, str]

    @property
    def name(self) -> str:
        """``price x plan``: the owner of the interaction's parameters."""
        return " x ".join(self.attributes)

    def column_names(self, by_name: Mapping[str, Attribute]) -> list[str]:
        """The parameter names, e.g. ``price x plan=Fibre`` or ``plan=Fibre x speed=1 Gbps``."""
        parts = [_code_labels(by_name[n]) for n in self.attributes]
        return [f"{u} x {v}" for u in parts[0] for v in parts[1]]


def _code_labels(a: Attribute) -> list[str]:
    if a.coding == "linear":
        return [a.name]
    return [f"{a.name}={format_level(v)}" for v in a.levels[1:]]


def n_main_columns(a: Attribute) -> int:
    """Columns of an attribute's main effect: 1 if linear, else one per non-reference level."""
    return 1 if a.coding == "linear" else a.n_levels - 1


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
    business: Business | None = None
    calibration: Calibration | None = None
    interactions: tuple[Interaction, ...] = ()
    #: the [maxdiff] table, resolved against the questionnaire's reasons (None without one)
    maxdiff: MaxDiffSettings | None = None
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

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of a labelled design (``[design] labels``), in alternative order; empty
        for a generic design."""
        return self.design.labels

    @property
    def label_constants(self) -> tuple[str, ...]:
        """The labels with their own constant: all but the first (the reference label)."""
        return self.design.labels[1:]

    def label_display(self, label: str) -> str:
        """The text shown for a label (``[design] label_names``, else the label itself)."""
        return dict(self.design.label_names).get(label, label)

    def label_of(self, alt: int) -> str | None:
        """The label of designed alternative ``alt`` (1-based); None in a generic design."""
        if not self.design.labels:
            return None
        return self.design.labels[alt - 1]

    def applies(self) -> tuple[tuple[bool, ...], ...]:
        """(alternatives, attributes): which attribute each designed alternative shows (all
        True in a generic design)."""
        n = self.design.alternatives
        return tuple(
            tuple(a.applies(self.label_of(j)) for a in self.attributes) for j in range(1, n + 1)
        )

    @property
    def alternative_specific(self) -> bool:
        """True when some attribute exists only on some labels (``applies_to``)."""
        return any(a.applies_to for a in self.attributes)

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
        if d.labels:
            lines.append(
                "  labels: "
                + ", ".join(d.labels)
                + f" (reference {d.labels[0]})"
                + "".join(
                    f"; {a.name} only on {', '.join(a.applies_to)}"
                    for a in self.attributes
                    if a.applies_to
                )
            )
        if self.interactions:
            lines.append("  interactions: " + ", ".join(i.name for i in self.interactions))
        if self.maxdiff is not None:
            m = self.maxdiff
            lines.append(
                f"  maxdiff: {m.n_items} reasons, {m.per_set} per set, {m.sets} sets, "
                f"{m.versions} version(s), seed {m.seed}"
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
    if design.labels and len(design.labels) != design.alternatives:
        out.append(
            f"[design]: alternatives = {design.alternatives}, but a labelled design shows one "
            f"alternative per label and {len(design.labels)} labels are listed "
            f"({list_valid(design.labels)}); set alternatives = {len(design.labels)} or "
            "leave it out."
        )
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
