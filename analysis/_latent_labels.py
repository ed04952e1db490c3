"""Readable names of latent classes (private to :mod:`analysis.latent_class`).

A class is named after its most distinctive part-worth: the parameter whose value differs most
from the other classes' mean, measured in utility over the attribute's tested range (a linear
attribute's slope times the range of its levels, a level's part-worth as it is), so that a
price slope and a level's part-worth compare on one scale. ``class 2 (price-sensitive)``,
``class 1 (prefers Broadband speed: 1 Gbps)``; no two classes share a description (the largest differences
first, each parameter once in each direction). The number comes first so that ``class 2`` names the class
whatever its description.
"""

from __future__ import annotations

import re

import numpy as np

from winback.study import Study

_LEVEL = re.compile(r"^(?P<attribute>.+)\[(?P<level>.*)\]$")


def _scales(names: tuple[str, ...], study: Study | None) -> np.ndarray:
    """Utility over the tested range per unit of each parameter (1 for levels)."""
    out = np.ones(len(names))
    if study is None:
        return out
    by_name = {a.name: a for a in study.attributes}
    for i, n in enumerate(names):
        a = by_name.get(n)
        if a is not None and a.coding == "linear" and a.numeric:
            values = [float(v) for v in a.levels]
            out[i] = max(values) - min(values)
    return out


def _words(name: str, higher: bool, study: Study | None) -> str:
    price = study.price_attribute if study is not None else None
    if name == price:
        return "less price-sensitive" if higher else "price-sensitive"
    if name == "none":
        return "often chooses none" if higher else "rarely chooses none"
    if name == "status_quo":
        return "keeps the status quo" if higher else "open to change"
    m = _LEVEL.match(name)
    if m is not None:  # the attribute's label where the study gives one: "Contract: No contract"
        attr = (
            next((a for a in study.attributes if a.name == m["attribute"]), None) if study else None
        )
        what = f"{(attr.label or attr.name) if attr else m['attribute']}: {m['level']}"
        return f"prefers {what}" if higher else f"avoids {what}"
    if study is not None and name in {a.name for a in study.attributes}:
        return f"values {name}" if higher else f"wants less {name}"
    return f"higher {name}" if higher else f"lower {name}"


def class_labels(coef: np.ndarray, names: tuple[str, ...], study: Study | None) -> list[str]:
    """``class c (description)`` for every class; plain ``class 1`` for a single class.

    No two classes carry the same description: the (class, parameter) pairs are taken from the
    largest difference down, each class once and each parameter once in each direction (of two
    price-sensitive classes the more price-sensitive one is named so, the other after what else
    sets it apart; two classes may still be "price-sensitive" and "less price-sensitive")."""
    n_classes = coef.shape[0]
    if n_classes < 2:
        return ["class 1"]
    scaled = coef * _scales(names, study)
    diff = np.stack(
        [scaled[c] - np.delete(scaled, c, axis=0).mean(axis=0) for c in range(n_classes)]
    )
    chosen: dict[int, int] = {}
    used: set[tuple[int, bool]] = set()
    for flat in np.argsort(-np.abs(diff), axis=None, kind="stable"):
        c, k = divmod(int(flat), diff.shape[1])
        key = (k, bool(diff[c, k] > 0))
        if c in chosen or key in used:
            continue
        chosen[c] = k
        used.add(key)
        if len(chosen) == n_classes:
            break
    out = []
    for c in range(n_classes):
        k = chosen.get(c)
        if k is None:  # more classes than parameters
            out.append(f"class {c + 1}")
        else:
            out.append(f"class {c + 1} ({_words(names[k], bool(diff[c, k] > 0), study)})")
    return out
