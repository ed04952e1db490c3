"""Labelled designs and alternative-specific attributes: ``[design] labels`` and an attribute's
``applies_to``, each problem named with its value and what is valid.

In a labelled design every task shows one alternative per label, in the order listed (a brand,
a kind of product); each label but the first (the reference) has its own constant, the label's
utility over the reference label's at equal attributes. An attribute with ``applies_to`` exists
only on those labels' alternatives: elsewhere it is absent (not a level), its model columns
are zero there, so its part-worths are estimated from the labels that show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from winback.errors import did_you_mean, list_valid
from winback.study.checks import _Problems
from winback.study.model import (
    _NAME_RE,
    Attribute,
    DesignSettings,
    Holdout,
    Interaction,
    Prohibition,
    StatusQuo,
)

#: the owner of the label constants' parameters (``label[rival_a]``)
LABEL = "label"
_NOT_LABELS = ("none", "status_quo", LABEL)


def parse_labels(raw: Any, where: str, p: _Problems) -> tuple[str, ...]:
    """``[design] labels``: two or more distinct names (letters, digits, underscores)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        p.add(
            f"{where}: 'labels' must be a list of label names, e.g. "
            f'labels = ["own", "rival_a", "rival_b"]; got {raw!r}.'
        )
        return ()
    labels = tuple(x.strip() for x in raw)
    ok = True
    if len(labels) < 2:
        p.add(
            f"{where}: 'labels' = {list(raw)!r} needs at least two labels (one alternative "
            "per label in every task)."
        )
        ok = False
    for x in labels:
        if not _NAME_RE.match(x):
            p.add(
                f"{where}: label {x!r} must start with a letter and hold only letters, digits "
                "and underscores (it names a parameter, label[...])."
            )
            ok = False
        elif x in _NOT_LABELS:
            p.add(f"{where}: {x!r} is reserved and cannot be a label.")
            ok = False
    dups = sorted({x for x in labels if labels.count(x) > 1})
    if dups:
        p.add(f"{where}: label(s) {list_valid(dups)} listed twice; each label once.")
        ok = False
    return labels if ok else ()


def parse_label_names(
    raw: Any, labels: tuple[str, ...], where: str, p: _Problems
) -> tuple[tuple[str, str], ...]:
    """``[design] label_names``: the text shown for each label (a brand's name), by label."""
    if raw is None:
        return ()
    if not labels:
        p.add(f"{where}: 'label_names' needs 'labels' (the labels it names).")
        return ()
    if not isinstance(raw, dict):
        p.add(
            f"{where}: 'label_names' must be a table of label = text, e.g. label_names = "
            f'{{ own = "FibreHome", rival_a = "Rival A" }}; got {raw!r}.'
        )
        return ()
    out = []
    for key, text in raw.items():
        if key not in labels:
            p.add(
                f"{where}: label_names names the unknown label {key!r}."
                f"{did_you_mean(key, labels)} Labels: {list_valid(labels)}."
            )
        elif not isinstance(text, str) or not text.strip():
            p.add(f"{where}: label_names.{key} must be a non-empty text; got {text!r}.")
        else:
            out.append((key, text.strip()))
    shown = [t for _, t in out]
    dups = sorted({t for t in shown if shown.count(t) > 1})
    if dups:
        p.add(
            f"{where}: label_names shows {list_valid(dups)} for more than one label; each label "
            "needs its own name (respondents tell the offers apart by it)."
        )
    return tuple(out)


def parse_applies_to(t: dict[str, Any], where: str, p: _Problems) -> tuple[str, ...]:
    """An attribute's ``applies_to`` as given (checked against the labels later)."""
    raw = t.get("applies_to")
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        p.add(
            f"{where}: 'applies_to' must be a list of labels from [design] labels, e.g. "
            f'applies_to = ["own"]; got {raw!r}.'
        )
        return ()
    if not raw:
        p.add(
            f"{where}: 'applies_to' is empty: the attribute would appear on no alternative. "
            "List the labels that show it, or remove the attribute."
        )
        return ()
    return tuple(x.strip() for x in raw)


def label_problems(
    attrs: Sequence[Attribute],
    design: DesignSettings,
    prohibitions: Sequence[Prohibition],
    interactions: Sequence[Interaction],
    holdouts: Sequence[Holdout],
    status_quo: StatusQuo | None,
) -> list[str]:
    """What a labelled design (or an attribute's ``applies_to``) cannot be combined with."""
    out: list[str] = []
    labels = design.labels
    specific = [a for a in attrs if a.applies_to]
    if not labels:
        for a in specific:
            out.append(
                f"[[attributes]] '{a.name}': applies_to = {list(a.applies_to)!r} needs a "
                'labelled design: add [design] labels = ["own", "rival_a", ...] (one '
                "alternative per label in every task)."
            )
        return out
    for a in specific:
        where = f"[[attributes]] '{a.name}'"
        unknown = [x for x in a.applies_to if x not in labels]
        for x in unknown:
            out.append(
                f"{where}: applies_to names the unknown label '{x}'.{did_you_mean(x, labels)} "
                f"Labels: {list_valid(labels)}."
            )
        dups = sorted({x for x in a.applies_to if a.applies_to.count(x) > 1})
        if dups:
            out.append(f"{where}: applies_to lists {list_valid(dups)} twice.")
    if status_quo is not None:
        out.append(
            "[status_quo] with [design] labels is not supported yet: the status quo's label "
            "(brand) and which alternative-specific attributes it shows are not defined. "
            "Remove [status_quo] or [design] labels."
        )
    if holdouts:
        out.append(
            "[[holdouts]] with [design] labels are not supported yet (a holdout profile cannot "
            "leave an alternative-specific attribute out). Remove [[holdouts]] or [design] labels."
        )
    if design.no_dominated:
        out.append(
            "[design]: no_dominated = true does not apply to a labelled design: alternatives "
            "differ by their label, whose constant has no known sign. Remove no_dominated."
        )
    by_name = {a.name: a for a in attrs}
    for an in design.unique_levels:
        ua = by_name.get(an)
        if ua is not None and ua.applies_to:
            out.append(
                f"[design] unique_levels: '{an}' exists only on {list_valid(ua.applies_to)} "
                "(applies_to); unique_levels takes attributes every alternative shows."
            )
    for inter in interactions:
        for an in inter.attributes:
            ia = by_name.get(an)
            if ia is not None and ia.applies_to:
                out.append(
                    f"[[interactions]] {inter.name}: '{an}' exists only on "
                    f"{list_valid(ia.applies_to)} (applies_to); interactions with an "
                    "alternative-specific attribute are not supported yet."
                )
    for i, pr in enumerate(prohibitions, start=1):
        names = [an for an, _ in pr.levels if an in by_name]
        shared = [lab for lab in labels if all(by_name[an].applies(lab) for an in names)]
        if not shared:
            where = ", ".join(
                f"{an} on {list_valid(by_name[an].applies_to or labels)}" for an in names
            )
            out.append(
                f"[[prohibitions]] #{i}: its attributes never appear on the same alternative "
                f"({where}), so it could never apply. Remove it or fix applies_to."
            )
    return out
