"""The candidate space of one offer: allowed levels per attribute, candidate prices, costs.

:func:`make_space` turns ``required``, ``excluded``, the price grid (tested prices or any in
range, floor and ceiling) and the study's prohibitions into a :class:`_Space`, which enumerates
level combinations, masks the prohibited ones (per price when a prohibition names the price
attribute), costs them and turns a candidate back into levels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.offers.assembly import get_attribute, level_index
from analysis.offers.objectives import level_costs
from analysis.simulator import Product, level_positions
from winback.errors import WinbackError, list_valid
from winback.study import Attribute, Study, format_level

__all__ = ["make_space", "space_levels"]


@dataclass(frozen=True)
class _Space:
    """Allowed levels per non-price attribute, the candidate prices, costs and prohibitions."""

    study: Study
    attrs: tuple[Attribute, ...]  # non-price attributes, study order
    allowed: tuple[np.ndarray, ...]  # level indices per attribute
    price_attr: Attribute | None
    prices: np.ndarray  # (K,); [nan] without a price attribute
    costs: tuple[np.ndarray, ...]  # level costs per attribute
    base_cost: float
    prohibitions: tuple[tuple[tuple[int, tuple[int, ...]], ...], ...]  # (attr pos, levels)
    price_prohibitions: tuple[tuple[tuple[tuple[int, tuple[int, ...]], ...], np.ndarray], ...]

    @property
    def n_combos(self) -> int:
        return math.prod(len(a) for a in self.allowed)

    @property
    def n_candidates_max(self) -> int:
        return self.n_combos * len(self.prices)

    def combos(self) -> np.ndarray:
        if not self.attrs:
            return np.zeros((1, 0), dtype=np.int64)
        grids = np.meshgrid(*self.allowed, indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)

    def cost(self, combos: np.ndarray) -> np.ndarray:
        c = np.full(combos.shape[0], self.base_cost)
        for a, table in enumerate(self.costs):
            c = c + table[combos[:, a]]
        return c

    def feasible(self, combos: np.ndarray) -> np.ndarray:
        """(G, K) mask: not prohibited."""
        ok = np.ones(combos.shape[0], dtype=bool)
        for pr in self.prohibitions:
            hit = np.ones(combos.shape[0], dtype=bool)
            for a, idx in pr:
                hit &= np.isin(combos[:, a], idx)
            ok &= ~hit
        mask = np.repeat(ok[:, None], len(self.prices), axis=1)
        for pr, price_hit in self.price_prohibitions:
            hit = np.ones(combos.shape[0], dtype=bool)
            for a, idx in pr:
                hit &= np.isin(combos[:, a], idx)
            mask &= ~(hit[:, None] & price_hit[None, :])
        return mask

    def levels(self, combo: np.ndarray, price: float) -> dict[str, Any]:
        out: dict[str, Any] = {a.name: a.levels[int(combo[i])] for i, a in enumerate(self.attrs)}
        if self.price_attr is not None:
            out[self.price_attr.name] = float(price)
        return out


def make_space(
    study: Study,
    *,
    required: Mapping[str, Any] | None,
    excluded: Mapping[str, Any] | None,
    prices: Sequence[float] | None,
    price_floor: float | None,
    price_ceiling: float | None,
    respect_prohibitions: bool,
    extrapolate: bool,
) -> _Space:
    required = dict(required or {})
    excluded = dict(excluded or {})
    for key in [*required, *excluded]:
        get_attribute(study, key)
    pa = study.attribute(study.price_attribute) if study.price_attribute else None
    attrs = tuple(a for a in study.attributes if a is not pa)
    allowed = []
    for a in attrs:
        req = required.get(a.name)
        req_list = (
            (list(req) if isinstance(req, list | tuple | set | np.ndarray) else [req])
            if a.name in required
            else list(a.levels)
        )
        idx = [level_index(a, v, "required: ") for v in req_list]
        ex = excluded.get(a.name, [])
        ex_list = list(ex) if isinstance(ex, list | tuple | set | np.ndarray) else [ex]
        ex_idx = {level_index(a, v, "excluded: ") for v in ex_list}
        keep = np.array(sorted({i for i in idx if i not in ex_idx}), dtype=np.int64)
        if keep.size == 0:
            raise WinbackError(
                f"No level of '{a.name}' is left after required/excluded "
                f"(levels: {list_valid(a.level_labels())})."
            )
        allowed.append(keep)
    if pa is None:
        if prices is not None or price_floor is not None or price_ceiling is not None:
            raise WinbackError("prices, price_floor and price_ceiling need a price attribute.")
        grid = np.array([np.nan])
    else:
        grid = _price_grid(pa, prices, required, excluded, price_floor, price_ceiling, extrapolate)
    costs = tuple(level_costs(study, a) for a in attrs)
    base_cost = study.costs.base if study.costs is not None else 0.0
    pos = {a.name: i for i, a in enumerate(attrs)}
    prohib: list[tuple[tuple[int, tuple[int, ...]], ...]] = []
    price_prohib = []
    if respect_prohibitions:
        for pr in study.prohibitions:
            entries = pr.as_dict()
            rest = tuple((pos[an], idx) for an, idx in entries.items() if an in pos)
            if pa is not None and pa.name in entries:
                vals = [float(pa.levels[i]) for i in entries[pa.name]]
                hit = np.array([any(math.isclose(p, v) for v in vals) for p in grid])
                price_prohib.append((rest, hit))
            else:
                prohib.append(rest)
    return _Space(
        study, attrs, tuple(allowed), pa, grid, costs, base_cost, tuple(prohib), tuple(price_prohib)
    )


def _price_grid(
    pa: Attribute,
    prices: Sequence[float] | None,
    required: Mapping[str, Any],
    excluded: Mapping[str, Any],
    floor: float | None,
    ceiling: float | None,
    extrapolate: bool,
) -> np.ndarray:
    base: list[Any] = list(pa.levels) if prices is None else list(prices)
    if pa.name in required:
        r = required[pa.name]
        base = list(r) if isinstance(r, list | tuple | set | np.ndarray) else [r]
    ex = excluded.get(pa.name, [])
    ex_list = [float(v) for v in (ex if isinstance(ex, list | tuple | set | np.ndarray) else [ex])]
    vals = []
    for v in base:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(float(v)):
            raise WinbackError(f"prices must be numbers, got {v!r}.")
        level_positions(pa, float(v), extrapolate=extrapolate)  # raises outside the tested range
        if any(math.isclose(float(v), e) for e in ex_list):
            continue
        if floor is not None and float(v) < floor - 1e-9:
            continue
        if ceiling is not None and float(v) > ceiling + 1e-9:
            continue
        vals.append(float(v))
    grid = np.unique(np.asarray(vals, dtype=float))
    if grid.size == 0:
        raise WinbackError(
            f"No candidate price is left (prices {list_valid(format_level(float(v)) for v in base)}"
            f", floor {floor}, ceiling {ceiling})."
        )
    return grid


def _empty_message(space: _Space, min_share: float | None) -> str:
    extra = f" and a minimum share of {min_share:.1%}" if min_share is not None else ""
    return (
        f"No candidate offer is left after the constraints (prohibitions{extra}); "
        f"{space.n_candidates_max:,} combinations of allowed levels and prices were checked."
    )


def space_levels(space: _Space, replaced: Product, combo: np.ndarray, k: int) -> dict[str, Any]:
    levels = space.levels(combo, space.prices[k])
    for a in space.study.attributes:
        levels.setdefault(a.name, replaced.levels[a.name])
    return levels
