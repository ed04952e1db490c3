"""The optional ``[maxdiff]`` table of a study file: a MaxDiff (best-worst) question that ranks
the reasons for leaving (docs/maxdiff.md, docs/study-file.md).

The table is read in two steps: :func:`parse_maxdiff` checks its keys and values with the other
tables, and :func:`resolve_maxdiff` checks the items against the questionnaire's reasons (they
are reason codes; the default is every reason except ``other``) and fills the defaults that
depend on the number of items. The rules on sizes (:func:`default_per_set`,
:func:`default_sets`, :func:`maxdiff_size_problems`) are the design's own:
:func:`conjoint.make_maxdiff_design` uses them too, so a study that loads has a design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from winback import limits
from winback.errors import did_you_mean, list_valid
from winback.study.checks import _at_least, _check_keys, _get, _Problems

MAXDIFF_KEYS = (
    "items",
    "per_set",
    "sets",
    "versions",
    "seed",
    "question",
    "best_label",
    "worst_label",
)
#: the question id of the MaxDiff block in the questionnaire (it fills no respondents.csv column)
MAXDIFF_QUESTION_ID = "maxdiff"
#: Sawtooth's rule: each item shown about this many times per respondent
TIMES_SHOWN = 3
DEFAULT_QUESTION = "Of these, which mattered MOST and which LEAST in your decision to leave?"
DEFAULT_BEST_LABEL = "Mattered most"
DEFAULT_WORST_LABEL = "Mattered least"


@dataclass(frozen=True)
class MaxDiffSettings:
    """The ``[maxdiff]`` table: which reasons a MaxDiff question ranks and how it is designed.

    Once resolved against the questionnaire (as ``Study.maxdiff`` always is), ``items`` are
    the reason codes in order (the first is the reference of the estimation), ``labels``
    their wording, and ``per_set`` and ``sets`` are whole numbers.

    Attributes
    ----------
    items : tuple of str
        Reason codes (``()`` before resolving: every reason but ``other``).
    labels : tuple of str
        The questionnaire's label of each item.
    per_set : int, optional
        Items shown per set (default: 4, half the items when fewer than 8).
    sets : int, optional
        Sets per respondent (default: ``ceil(3 * items / per_set)``).
    versions : int
        Design versions, dealt to respondents in turn.
    seed : int
        The design's random seed.
    question, best_label, worst_label : str
        Wording of each screen and of its two answer columns.
    """

    items: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    per_set: int | None = None
    sets: int | None = None
    versions: int = 10
    seed: int = 1
    question: str = DEFAULT_QUESTION
    best_label: str = DEFAULT_BEST_LABEL
    worst_label: str = DEFAULT_WORST_LABEL

    @property
    def n_items(self) -> int:
        return len(self.items)

    def label(self, item: str) -> str:
        """The wording of an item (its code when unknown)."""
        return dict(zip(self.items, self.labels, strict=False)).get(item, item)

    def __repr__(self) -> str:
        return (
            f"MaxDiffSettings: {self.n_items} reasons, {self.per_set} per set, {self.sets} sets, "
            f"{self.versions} version(s), seed {self.seed}; items {list_valid(self.items)}"
        )


def default_per_set(n_items: int) -> int:
    """Items per set when not given: 4, or half the items when there are fewer than 8
    (Sawtooth recommends 4 or 5, and no more than half the items).

    Examples
    --------
    >>> default_per_set(20), default_per_set(6)
    (4, 3)
    """
    return 4 if n_items >= 8 else max(2, n_items // 2)


def default_sets(n_items: int, per_set: int) -> int:
    """Sawtooth's suggested number of sets: each item shown about three times per respondent,
    ``ceil(3 * n_items / per_set)``.

    Examples
    --------
    >>> default_sets(20, 4)
    15
    """
    return math.ceil(TIMES_SHOWN * n_items / per_set)


def maxdiff_size_problems(
    n_items: int, per_set: int, n_sets: int, *, sets_name: str = "n_sets"
) -> list[str]:
    """What is impossible about a MaxDiff of these sizes (no problems: a design exists).

    ``per_set`` must be below the number of items (a set showing every item tells nothing about
    those not chosen), and the sets must show every item at least once.

    Examples
    --------
    >>> maxdiff_size_problems(8, 4, 1)[0][:40]
    'n_sets = 1 sets of 4 show 4 items, fewer'
    """
    out = []
    if per_set >= n_items:
        out.append(
            f"per_set must be fewer than the {n_items} items (a set showing every item tells "
            f"nothing about the items not chosen); got {per_set}. Sawtooth recommends 4 or 5, "
            "and no more than half the items."
        )
    elif n_sets * per_set < n_items:
        fewest = math.ceil(n_items / per_set)
        out.append(
            f"{sets_name} = {n_sets} sets of {per_set} show {n_sets * per_set} items, fewer than "
            f"the {n_items} items: every respondent must see every item; use at least {fewest} "
            f"sets (suggested: {default_sets(n_items, per_set)}, each item about {TIMES_SHOWN} "
            "times)."
        )
    return out


def parse_maxdiff(raw: Any, p: _Problems) -> MaxDiffSettings | None:
    """Check the ``[maxdiff]`` table's keys and values (None when the study has none)."""
    if raw is None:
        return None
    where = "[maxdiff]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table, got {raw!r}.")
        return None
    _check_keys(raw, MAXDIFF_KEYS, where, p)
    d = MaxDiffSettings()
    items: tuple[str, ...] = ()
    if "items" in raw:
        given = raw["items"]
        if not isinstance(given, list) or not all(isinstance(x, str) for x in given):
            p.add(f"{where}: 'items' must be a list of reason codes (text), got {given!r}.")
        else:
            items = tuple(x.strip() for x in given)
            if not items:
                p.add(f"{where}: 'items' is empty; list the reason codes to rank, or leave it out.")
    texts = {}
    for key, default in (
        ("question", d.question),
        ("best_label", d.best_label),
        ("worst_label", d.worst_label),
    ):
        value = _get(raw, key, str, default, where, p)
        if not value.strip():
            p.add(f"{where}: '{key}' must not be empty.")
            value = default
        texts[key] = value.strip()
    if texts["best_label"] == texts["worst_label"]:
        p.add(f"{where}: best_label and worst_label are the same ({texts['best_label']!r}).")
    return MaxDiffSettings(
        items=items,
        per_set=_get(raw, "per_set", int, None, where, p, _at_least(2, limits.ALTERNATIVES)),
        sets=_get(raw, "sets", int, None, where, p, _at_least(1, limits.TASKS)),
        versions=_get(raw, "versions", int, d.versions, where, p, _at_least(1, limits.VERSIONS)),
        seed=_get(raw, "seed", int, d.seed, where, p, _at_least(0)),
        **texts,
    )


def resolve_maxdiff(
    settings: MaxDiffSettings, reasons: Sequence[tuple[str, str]]
) -> tuple[MaxDiffSettings | None, list[str]]:
    """The settings with their items checked against the questionnaire's reasons, labels and
    defaulted sizes filled in; or None and every problem.

    Parameters
    ----------
    settings : MaxDiffSettings
        As :func:`parse_maxdiff` read it (or already resolved: resolving twice is harmless).
    reasons : sequence of (code, label)
        The questionnaire's reasons for leaving.

    Examples
    --------
    >>> from winback.study.questions import DEFAULT_REASONS
    >>> s, problems = resolve_maxdiff(MaxDiffSettings(), DEFAULT_REASONS)
    >>> problems, s.items[:2], s.per_set, s.sets
    ([], ('price_rise', 'outages'), 3, 6)
    >>> resolve_maxdiff(MaxDiffSettings(items=("price_rse", "outages", "moved")),
    ...                 DEFAULT_REASONS)[1]  # doctest: +ELLIPSIS
    ["[maxdiff] items: 'price_rse' is not a reason code. Did you mean 'price_rise'? ..."]
    """
    where = "[maxdiff]"
    label_of: Mapping[str, str] = dict(reasons)
    codes = list(label_of)
    problems: list[str] = []
    items = settings.items or tuple(c for c in codes if c != "other")
    for x in items:
        if x not in label_of:
            problems.append(
                f"{where} items: {x!r} is not a reason code.{did_you_mean(x, codes)} "
                f"Reasons (the questionnaire's): {list_valid(codes)}."
            )
    twice = sorted({x for x in items if items.count(x) > 1})
    if twice:
        problems.append(f"{where} items: listed more than once: {list_valid(twice)}.")
    if len(items) < 3:
        problems.append(
            f"{where} items: a MaxDiff needs at least 3 items (2 per set and more than that in "
            f"all); got {len(items)}: {list_valid(items) or '(none)'}."
        )
    if problems:
        return None, problems
    n = len(items)
    per_set = settings.per_set if settings.per_set is not None else default_per_set(n)
    sets = settings.sets if settings.sets is not None else default_sets(n, per_set)
    problems = [f"{where}: {m}" for m in maxdiff_size_problems(n, per_set, sets, sets_name="sets")]
    if problems:
        return None, problems
    labels = tuple(label_of[x] for x in items)
    return replace(settings, items=items, labels=labels, per_set=per_set, sets=sets), []
