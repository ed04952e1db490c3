"""Products and markets: what a simulation is run on, read from ``market.toml`` and checked.

:class:`Product` (one level per attribute, numeric attributes at any value inside the tested
range) and :class:`Market` (the products and the simulation options: rule, exponent, none,
randomized first choice's variabilities, extrapolation); :func:`read_market` parses and checks a
market file with every problem listed at once; :func:`level_positions` and
:func:`encode_products` turn products into design rows (interpolating numeric values).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from conjoint.encoding import label_parameter, make_encoding
from winback import limits
from winback.errors import WinbackError, list_valid
from winback.study import Attribute, Calibration, Study, format_level, read_calibration

__all__ = [
    "NONE",
    "RULES",
    "Market",
    "Product",
    "Rule",
    "encode_products",
    "level_positions",
    "product_label_problems",
    "read_market",
]


Rule = Literal["logit", "first_choice", "rfc"]
RULES: tuple[str, ...] = ("logit", "first_choice", "rfc")
NONE = "none"


@dataclass(frozen=True)
class Product:
    """One offer: a level (label, or a number for numeric attributes) for every attribute.

    ``own``: one of ours (searches replace it; source of volume calls its losses
    cannibalisation). ``status_quo``: carries the study's status-quo constant (the customer's
    previous plan). ``label``: in a labelled study (``[design] labels``) the label the product
    is sold under (its constant applies); it has no level for an attribute that does not apply
    to its label.
    """

    name: str
    levels: Mapping[str, Any]
    own: bool = False
    status_quo: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Market:
    """Products and the simulation options (``market.toml``)."""

    products: tuple[Product, ...]
    rule: Rule = "logit"
    exponent: float = 1.0
    none: bool = True
    rfc_draws: int = 20
    attribute_variability: float = 1.0
    product_variability: float = 0.0
    extrapolate: bool = False
    #: what was observed in this market (a market file's ``[calibration]``), if anything
    calibration: Calibration | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.products]

    def product(self, name: str) -> Product:
        for p in self.products:
            if p.name == name:
                return p
        raise WinbackError(
            f"No product '{name}' in the market. Products: {list_valid(self.names)}."
        )

    def with_product(self, product: Product) -> Market:
        """The market with ``product`` added, or replacing the product of the same name."""
        if product.name in self.names:
            return replace(
                self,
                products=tuple(product if p.name == product.name else p for p in self.products),
            )
        return replace(self, products=(*self.products, product))

    def without(self, name: str) -> Market:
        self.product(name)
        return replace(self, products=tuple(p for p in self.products if p.name != name))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], study: Study, *, source: str = "market") -> Market:
        """Parse and check a market (``{"products": [...], "options": {...}}``)."""
        return _parse_market(data, study, source)

    def __repr__(self) -> str:
        own = [p.name for p in self.products if p.own]
        return (
            f"Market: {len(self.products)} products ({', '.join(self.names)}), own: "
            f"{', '.join(own) or 'none'}; rule {self.rule}"
            + (f" (exponent {self.exponent:g})" if self.rule == "logit" else "")
            + f"; none alternative {'on' if self.none else 'off'}"
        )


_OPTION_KEYS = (
    "rule",
    "exponent",
    "none",
    "rfc_draws",
    "attribute_variability",
    "product_variability",
    "extrapolate",
)
_PRODUCT_KEYS = ("name", "own", "status_quo", "label")


def _parse_market(data: Mapping[str, Any], study: Study, source: str) -> Market:
    problems: list[str] = []
    unknown = [k for k in data if k not in ("products", "options", "calibration")]
    if unknown:
        problems.append(
            f"{source}: unknown table(s) {list_valid(unknown)}; valid: [[products]], [options], "
            "[calibration]."
        )
    raw_opts = data.get("options", {}) or {}
    if not isinstance(raw_opts, Mapping):
        problems.append(f"{source}: [options] must be a table, got {raw_opts!r}.")
        raw_opts = {}
    opts: dict[str, Any] = {}
    for k, v in raw_opts.items():
        if k not in _OPTION_KEYS:
            problems.append(
                f"{source}: unknown option '{k}'{_hint(k, _OPTION_KEYS)}. Valid: "
                f"{list_valid(list(_OPTION_KEYS))}."
            )
            continue
        opts[k] = v
    if "rule" in opts and opts["rule"] not in RULES:
        problems.append(
            f"{source}: rule {opts['rule']!r} is not valid; use {list_valid(list(RULES))}."
        )
    for k in ("exponent", "attribute_variability", "product_variability"):
        if k in opts and (
            not _is_number(opts[k])
            or float(opts[k]) < 0
            or (k == "exponent" and float(opts[k]) == 0)
        ):
            problems.append(f"{source}: {k} must be a positive number, got {opts[k]!r}.")
    if "rfc_draws" in opts and (not isinstance(opts["rfc_draws"], int) or opts["rfc_draws"] < 1):
        problems.append(
            f"{source}: rfc_draws must be a positive integer, got {opts['rfc_draws']!r}."
        )
    for k in ("none", "extrapolate"):
        if k in opts and not isinstance(opts[k], bool):
            problems.append(f"{source}: {k} must be true or false, got {opts[k]!r}.")
    if "none" in opts and opts["none"] and not study.has_none:
        problems.append(f"{source}: none = true but the study has no none alternative.")
    raw_products = data.get("products")
    products: list[Product] = []
    if not isinstance(raw_products, list) or not raw_products:
        problems.append(f"{source}: needs at least one [[products]] table.")
        raw_products = []
    names_seen: set[str] = set()
    attrs = {a.name: a for a in study.attributes}
    extrapolate = bool(opts.get("extrapolate", False))
    for i, raw in enumerate(raw_products, start=1):
        where = f"{source}: product {i}"
        if not isinstance(raw, Mapping):
            problems.append(f"{where} must be a table, got {raw!r}.")
            continue
        name = str(raw.get("name", "")).strip()
        if not name:
            problems.append(f"{where} has no name.")
            name = f"product {i}"
        where = f"{source}: product '{name}'"
        if name in names_seen:
            problems.append(f"{where}: the name is used twice.")
        if name == NONE:
            problems.append(f"{where}: 'none' is reserved for the none alternative.")
        names_seen.add(name)
        levels: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _PRODUCT_KEYS:
                continue
            if k not in attrs:
                problems.append(
                    f"{where}: unknown attribute '{k}'{_hint(k, list(attrs))}. Attributes: "
                    f"{list_valid(list(attrs))}."
                )
                continue
            err = _check_level(attrs[k], v, extrapolate)
            if err:
                problems.append(f"{where}: {err}")
            levels[k] = v
        label = raw.get("label")
        if label is not None and not isinstance(label, str):
            problems.append(f"{where}: label must be text, got {label!r}.")
            label = None
        label_problems = product_label_problems(study, label, levels)
        problems.extend(f"{where}: {msg}" for msg in label_problems)
        missing = [
            a
            for a in attrs
            if a not in levels and attrs[a].applies(label if study.labels else None)
        ]
        if missing and not label_problems:
            problems.append(
                f"{where}: no level for {list_valid(missing)} (every attribute needs one)."
            )
        for flag in ("own", "status_quo"):
            if flag in raw and not isinstance(raw[flag], bool):
                problems.append(f"{where}: {flag} must be true or false, got {raw[flag]!r}.")
        if raw.get("status_quo") and study.status_quo is None:
            problems.append(f"{where}: status_quo = true but the study has no status quo.")
        products.append(
            Product(
                name,
                levels,
                bool(raw.get("own", False)),
                bool(raw.get("status_quo", False)),
                label,
            )
        )
    if problems:
        raise WinbackError(
            f"{len(problems)} problem(s) in {source}:\n  - " + "\n  - ".join(problems)
        )
    kw: dict[str, Any] = {k: opts[k] for k in opts}
    kw.setdefault("none", study.has_none)
    if "calibration" in data:
        kw["calibration"] = read_calibration(data["calibration"], source)
    for k in ("exponent", "attribute_variability", "product_variability"):
        if k in kw:
            kw[k] = float(kw[k])
    return Market(tuple(products), **kw)


def read_market(path: str | Path, study: Study) -> Market:
    """Read ``market.toml``: ``[[products]]`` (``name``, optional ``own``, one key per
    attribute) and optional ``[options]`` (``rule``, ``exponent``, ``none``, ...).

    Examples
    --------
    >>> market = read_market("market.toml", study)  # doctest: +SKIP
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WinbackError(f"Market file not found: {p}") from None
    except tomllib.TOMLDecodeError as e:
        raise WinbackError(f"{p} is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise WinbackError(
            f"{p}: not UTF-8 text at byte {e.start}; save the market file as UTF-8."
        ) from None
    except IsADirectoryError:
        raise WinbackError(f"{p} is a folder; give the market file (market.toml).") from None
    products = data.get("products")
    if isinstance(products, list) and limits.PRODUCTS.exceeded(len(products)):
        raise WinbackError(limits.PRODUCTS.message(len(products), f"{p} [[products]]"))
    return _parse_market(data, study, str(p))


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def _hint(word: str, valid: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_level(attr: Attribute, value: Any, extrapolate: bool) -> str | None:
    if attr.index_of(value) >= 0:
        return None
    if attr.numeric and _is_number(value):
        vals = [float(v) for v in attr.levels]
        lo, hi = min(vals), max(vals)
        if lo <= float(value) <= hi or extrapolate:
            return None
        return (
            f"{attr.name} = {value!r} lies outside the tested range {format_level(lo)} - "
            f"{format_level(hi)} (set extrapolate = true in [options] to allow it)."
        )
    return (
        f"unknown level {value!r} for attribute '{attr.name}'"
        f"{_hint(str(value), attr.level_labels())}. Valid levels: {list_valid(attr.level_labels())}"
        + (" (or any number in between)." if attr.numeric else ".")
    )


def product_label_problems(study: Study, label: str | None, levels: Mapping[str, Any]) -> list[str]:
    """What is wrong with a product's label in this study: a labelled study's product needs
    one of its labels and no level for an attribute that does not apply to that label; a
    product of a study without labels has none."""
    if not study.labels:
        if label is None:
            return []
        return [
            f"label {label!r}, but the study has no [design] labels (its products are "
            "generic alternatives); remove the label."
        ]
    if label is None or label not in study.labels:
        given = "no label" if label is None else f"label {label!r}"
        return [
            f"{given}; in this labelled study every product is sold under one of its labels "
            f"({list_valid(study.labels)}), whose constant applies."
            + (_hint(label, study.labels) if label else "")
        ]
    return [
        f"'{a.name}' does not apply to label {label!r} (it exists only on "
        f"{list_valid(a.applies_to)}): the product cannot have a level for it; remove "
        f"{a.name} = {levels[a.name]!r}."
        for a in study.attributes
        if a.name in levels and not a.applies(label)
    ]


def level_positions(
    attr: Attribute, value: Any, *, extrapolate: bool = False
) -> list[tuple[int, float]]:
    """Level indices and weights that make ``value``: one level with weight 1, or two adjacent
    tested values of a numeric attribute (linear interpolation; beyond the range, the two
    nearest with a weight outside [0, 1] when ``extrapolate``)."""
    i = attr.index_of(value)
    if i >= 0:
        return [(i, 1.0)]
    err = _check_level(attr, value, extrapolate)
    if err:
        raise WinbackError(err)
    x = float(value)
    vals = np.asarray(attr.levels, dtype=float)
    order = np.argsort(vals)
    sv = vals[order]
    j = int(np.clip(np.searchsorted(sv, x) - 1, 0, len(sv) - 2))
    w = (x - sv[j]) / (sv[j + 1] - sv[j])
    return [(int(order[j]), 1.0 - w), (int(order[j + 1]), w)]


def encode_products(
    study: Study, products: Sequence[Product], *, extrapolate: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Design rows (product, parameter) and level memberships (product, all levels).

    The level membership matrix has one column per level of every attribute (in study order)
    holding the (interpolation) weight of that level in the product; randomized first choice
    uses it to share level errors between products.
    """
    enc = make_encoding(study)
    offsets = np.cumsum([0] + [a.n_levels for a in study.attributes])
    x = np.zeros((len(products), enc.n_parameters))
    member = np.zeros((len(products), int(offsets[-1])))
    for p, prod in enumerate(products):
        problems = product_label_problems(study, prod.label, prod.levels)
        if problems:
            raise WinbackError(f"Product '{prod.name}': " + " ".join(problems))
        if prod.label is not None and prod.label != study.labels[0]:
            x[p, enc.names.index(label_parameter(prod.label))] = 1.0
        for a, attr in enumerate(study.attributes):
            if not attr.applies(prod.label):
                continue  # absent on this product's label: no level, no utility
            if attr.name not in prod.levels:
                raise WinbackError(f"Product '{prod.name}' has no level for '{attr.name}'.")
            for i, w in level_positions(attr, prod.levels[attr.name], extrapolate=extrapolate):
                x[p] += w * enc.tables[a][i]
                member[p, offsets[a] + i] += w
        enc.complete(x[p])
        if prod.status_quo:
            if enc.sq_index is None:
                raise WinbackError(
                    f"Product '{prod.name}' is the status quo, but the study has none."
                )
            x[p, enc.sq_index] = 1.0
    return x, member
