"""Helpers of the study-file parser: collect problems, check keys and value types, look levels up."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from winback import limits
from winback.errors import did_you_mean, list_valid
from winback.study.model import Attribute

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
