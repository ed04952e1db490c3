"""The ``[[interactions]]`` table: declared two-way interactions of attributes, each problem
named with its value and what is valid.

An interaction adds columns to the model after the main effects (see
:class:`~winback.study.model.Interaction`); the checks here make sure they can be estimated:
two different attributes, each pair once, no constant (none, status quo) in a pair, no
prohibition removing a combination the interaction needs, and no more parameters than the
design's tasks can identify.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from winback.errors import did_you_mean, list_valid
from winback.study.checks import _check_keys, _Problems
from winback.study.model import (
    Attribute,
    DesignSettings,
    Interaction,
    Prohibition,
    format_level,
    n_main_columns,
)

INTERACTION_KEYS = ("attributes",)
_CONSTANTS = ("none", "status_quo")


def parse_interactions(
    raw: Any, attrs: Sequence[Attribute], p: _Problems
) -> tuple[Interaction, ...]:
    """The declared interactions, in the order given (the order of their columns)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add(
            "'interactions' must be an array of tables ([[interactions]]), each "
            'attributes = ["price", "plan"].'
        )
        return ()
    names = [a.name for a in attrs]
    out: list[Interaction] = []
    seen: dict[frozenset[str], int] = {}
    for i, t in enumerate(raw, start=1):
        where = f"[[interactions]] #{i}"
        _check_keys(t, INTERACTION_KEYS, where, p)
        pair = t.get("attributes")
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, str) for x in pair)
        ):
            p.add(
                f"{where}: 'attributes' must list exactly two attribute names, e.g. "
                f'attributes = ["price", "plan"]; got {pair!r}. Attributes: {list_valid(names)}.'
            )
            continue
        ok = True
        for an in pair:
            if an in _CONSTANTS:
                p.add(
                    f"{where}: '{an}' is a constant (the {an.replace('_', '-')} alternative), "
                    "not an attribute; an interaction is between two attributes. "
                    f"Attributes: {list_valid(names)}."
                )
                ok = False
            elif an not in names:
                p.add(
                    f"{where}: unknown attribute '{an}'.{did_you_mean(an, names)} "
                    f"Attributes: {list_valid(names)}."
                )
                ok = False
        if not ok:
            continue
        if pair[0] == pair[1]:
            p.add(
                f"{where}: '{pair[0]}' is named twice; an interaction is between two different "
                f"attributes. Attributes: {list_valid(n for n in names if n != pair[0])}."
            )
            continue
        key = frozenset(pair)
        if key in seen:
            p.add(
                f"{where}: {pair[0]} x {pair[1]} is declared twice (also #{seen[key]}); "
                "declare each pair once."
            )
            continue
        seen[key] = i
        out.append(Interaction((pair[0], pair[1])))
    return tuple(out)


def n_interaction_columns(inter: Interaction, by_name: Mapping[str, Attribute]) -> int:
    a, b = (by_name[n] for n in inter.attributes)
    return n_main_columns(a) * n_main_columns(b)


def interaction_problems(
    interactions: Sequence[Interaction],
    attrs: Sequence[Attribute],
    design: DesignSettings,
    prohibitions: Sequence[Prohibition],
    n_constants: int,
    extra_alternatives: int,
    dual_none: bool,
) -> list[str]:
    """Interactions the design cannot estimate: a prohibited combination, or more parameters
    than the design's tasks can identify."""
    out: list[str] = []
    if not interactions:
        return out
    by_name = {a.name: a for a in attrs}
    for inter in interactions:
        a, b = (by_name[n] for n in inter.attributes)
        if a.coding == "linear" or b.coding == "linear":
            continue
        for pr in prohibitions:
            levels = pr.as_dict()
            if set(levels) != {a.name, b.name}:
                continue  # a prohibition with other attributes still shows each pair somewhere
            gone = [
                f"{a.name} = {format_level(a.levels[i])} with {b.name} = {format_level(b.levels[j])}"
                for i in levels[a.name]
                for j in levels[b.name]
                if i > 0 and j > 0
            ]
            if gone:
                out.append(
                    f"[[interactions]] {inter.name}: a [[prohibitions]] entry never shows "
                    f"{list_valid(gone)}, so the interaction's column for it cannot be "
                    "estimated. Remove the interaction or the prohibition."
                )
    k = (
        sum(n_main_columns(x) for x in attrs)
        + sum(n_interaction_columns(i, by_name) for i in interactions)
        + n_constants
    )
    per_task = design.alternatives + extra_alternatives - 1 + (1 if dual_none else 0)
    capacity = design.versions * design.tasks * per_task
    if k > capacity:
        out.append(
            f"[[interactions]]: with the interactions the model has {k} parameters, but "
            f"{design.versions} version(s) x {design.tasks} tasks x {per_task} independent "
            f"comparisons per task identify at most {capacity}. Add tasks or versions, or "
            "declare fewer interactions."
        )
    return out
