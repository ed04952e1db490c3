"""Offer and price search: the win-back offer that maximises share, revenue or profit.

Every candidate offer (one level per attribute, one price) replaces one of our products in a
market; competitors, our other products and the none alternative stay as they are. Objectives are
**per lost customer**, weighted over respondents (optionally by customer value):

* ``share``: the probability that a lost customer takes one of our offers;
* ``revenue``: the sum over our offers of share x price;
* ``profit``: the sum of share x (price - unit cost), unit cost = ``[costs] base`` + the cost of
  every level of the offer (an error when the study has no ``[costs]``).

Our other products (if any) count in every objective, so an offer that only cannibalises them does
not look good. ``share``, ``revenue`` and ``profit`` in the result tables are our totals.

Exhaustive search evaluates every allowed level combination at every candidate price, for every
posterior draw and respondent, in a numba kernel: a candidate's exp-utility is the product of one
entry of a per-attribute table ``exp(e * level utility)`` and one of a price table, and the rest of
the market is one fixed denominator per (draw, respondent). Above ``exhaustive_limit`` candidates a
heuristic (coordinate ascent over attribute x price from several starts at the posterior mean,
then polished on all draws) is graded against an upper bound (each respondent's best and worst
achievable utility at each price), and the relative gap is reported.

Searches rank by the logit rule with the market's exponent. When the market's rule is
``first_choice`` or ``rfc``, the best logit candidates (``max(5 * top, 50)``) are re-scored with
that rule through :func:`analysis.simulator.simulate` and ranked by it.

Examples
--------
>>> from analysis.search import optimize_offer
>>> result = optimize_offer(model, market, objective="profit")  # doctest: +SKIP
>>> result.offers.head()  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numba import njit, prange

from analysis.simulator import (
    NONE,
    Market,
    PartWorthDraws,
    Product,
    as_draws,
    encode_products,
    level_positions,
    posterior_band,
    read_market,
    respondent_weights,
    simulate,
)
from conjoint.encoding import make_encoding
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = [
    "OfferPairSearch",
    "OfferSearch",
    "logit_probabilities",
    "optimize_offer",
    "optimize_offers",
]

Objective = Literal["share", "revenue", "profit"]
OBJECTIVES: tuple[str, ...] = ("share", "revenue", "profit")
_CHUNK_BYTES = 2e8  # tables for one chunk of posterior draws stay below this


# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True, fastmath=True)
def _offer_kernel(tables, price_exp, denom, weights, extra, combos, reduce):  # pragma: no cover
    """Weighted sums over respondents for every candidate (combination g, price k).

    tables (A, L, S, R): exp(e * level utility), shifted; price_exp (K, S, R); denom (S, R):
    exp-utility sum of the rest of the market; weights (R,); extra (X, S, R): numerators of our
    other products (share, revenue, cost); combos (G, A) level indices. Returns (S or 1, G, K,
    1 + X): the offer's share and sum_r w * extra / (e + denom), per draw or summed over draws.
    """
    n_attr = combos.shape[1]
    n_g = combos.shape[0]
    n_k = price_exp.shape[0]
    n_s = denom.shape[0]
    n_r = denom.shape[1]
    n_x = extra.shape[0]
    out = np.zeros((1 if reduce else n_s, n_g, n_k, 1 + n_x))
    for g in prange(n_g):
        eg = np.empty(n_r)
        for s in range(n_s):
            for r in range(n_r):
                v = 1.0
                for a in range(n_attr):
                    v *= tables[a, combos[g, a], s, r]
                eg[r] = v
            row = 0 if reduce else s
            for k in range(n_k):
                t = 0.0
                for r in range(n_r):
                    e = eg[r] * price_exp[k, s, r]
                    t += weights[r] * e / (e + denom[s, r])
                out[row, g, k, 0] += t
                for x in range(n_x):
                    t = 0.0
                    for r in range(n_r):
                        e = eg[r] * price_exp[k, s, r]
                        t += weights[r] * extra[x, s, r] / (e + denom[s, r])
                    out[row, g, k, 1 + x] += t
    return out


@njit(parallel=True, cache=True, fastmath=True)
def _pair_kernel(e1, m1, e2, m2, denom, num, weights, symmetric):  # pragma: no cover
    """Objective of every pair (i, j): sum_r w (e1 m1 + e2 m2 + num) / (e1 + e2 + denom).

    e1 (C1, R), e2 (C2, R) exp-utilities; m1 (C1,), m2 (C2,) margins; denom, num (R,). With
    ``symmetric`` only j >= i is computed (the rest is NaN).
    """
    n1 = e1.shape[0]
    n2 = e2.shape[0]
    n_r = e1.shape[1]
    out = np.full((n1, n2), np.nan)
    for i in prange(n1):
        start = i if symmetric else 0
        for j in range(start, n2):
            t = 0.0
            for r in range(n_r):
                a = e1[i, r]
                b = e2[j, r]
                t += weights[r] * (a * m1[i] + b * m2[j] + num[r]) / (a + b + denom[r])
            out[i, j] = t
    return out


def logit_probabilities(u: np.ndarray, exponent: float = 1.0) -> np.ndarray:
    """Logit choice probabilities over the last axis (the simulator's logit rule).

    Examples
    --------
    >>> logit_probabilities(np.array([[1.0, 2.0]])).round(3).tolist()
    [[0.269, 0.731]]
    """
    from analysis.simulator import _logit

    return _logit(np.asarray(u, dtype=float), exponent)


# --------------------------------------------------------------------------------------------
# Shared helpers (also used by analysis.tiers)
# --------------------------------------------------------------------------------------------


def resolve_market(
    draws: PartWorthDraws, market: Market | Mapping[str, Any] | str | Path
) -> Market:
    """A Market from a Market, a dict or a path to ``market.toml``."""
    if isinstance(market, Market):
        return market
    if isinstance(market, str | Path):
        return read_market(market, draws.study)
    return Market.from_dict(market, draws.study)


def resolve_search(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    objective: str,
    *,
    point: bool = False,
) -> tuple[PartWorthDraws, Market]:
    """The draws (at point estimates with ``point``) and the market of a search.

    How every search starts (offers, offer pairs, tiers, unbundling); the objective is checked
    against the study on the way.
    """
    draws = as_draws(source)
    if point:
        draws = draws.point()
    mk = resolve_market(draws, market)
    check_objective(objective, draws.study)
    return draws, mk


def own_product(market: Market, product: str | None) -> Product:
    """The named own product, or the only own product; a clear error otherwise."""
    own = [p for p in market.products if p.own]
    if product is not None:
        chosen = market.product(product)
        if not chosen.own:
            raise WinbackError(
                f"'{product}' is not one of our products (own = true in the market); the offer "
                f"replaces one of ours: {list_valid([p.name for p in own]) or 'none marked own'}."
            )
        return chosen
    if len(own) != 1:
        raise WinbackError(
            f"Name the product the offer replaces (product=...): the market has "
            f"{len(own)} own products ({list_valid([p.name for p in own]) or 'none'}); "
            f"products: {list_valid(market.names)}."
        )
    return own[0]


def check_objective(objective: str, study: Study) -> None:
    if objective not in OBJECTIVES:
        raise WinbackError(
            f"objective {objective!r} is not valid{did_you_mean(objective, OBJECTIVES)}. "
            f"Valid: {list_valid(OBJECTIVES)}."
        )
    if objective == "profit" and study.costs is None:
        raise WinbackError(
            "objective 'profit' needs unit costs, but the study has no [costs] table; add one "
            "(base = ..., and a cost per level) or use objective 'revenue' or 'share'."
        )
    if objective in ("revenue", "profit") and study.price_attribute is None:
        raise WinbackError(
            f"objective {objective!r} needs a price attribute; the study has none "
            "(set price_attribute in [study])."
        )


def get_attribute(study: Study, name: str, what: str = "attribute") -> Attribute:
    if name not in study.attribute_names:
        raise WinbackError(
            f"Unknown {what} '{name}'.{did_you_mean(name, study.attribute_names)} "
            f"Attributes: {list_valid(study.attribute_names)}."
        )
    return study.attribute(name)


def level_index(attr: Attribute, value: Any, where: str = "") -> int:
    i = attr.index_of(value)
    if i < 0:
        labels = attr.level_labels()
        raise WinbackError(
            f"{where}unknown level {value!r} for attribute '{attr.name}'."
            f"{did_you_mean(str(value), labels)} Valid levels: {list_valid(labels)}."
        )
    return i


def display_level(attr: Attribute, value: Any) -> Any:
    """A level as shown in tables: the label, or a number for numeric attributes."""
    if attr.numeric:
        return float(value)
    return str(value)


def unit_cost(study: Study, levels: Mapping[str, Any], extrapolate: bool = False) -> float:
    """``[costs] base`` + the cost of every level (interpolated for numeric values); NaN without
    costs."""
    if study.costs is None:
        return float("nan")
    table = study.costs.as_dict()
    c = study.costs.base
    for attr in study.attributes:
        if attr.name not in table or attr.name == study.price_attribute:
            continue
        for i, w in level_positions(attr, levels[attr.name], extrapolate=extrapolate):
            c += w * table[attr.name][i]
    return float(c)


def level_costs(study: Study, attr: Attribute) -> np.ndarray:
    if study.costs is None or attr.name == study.price_attribute:
        return np.zeros(attr.n_levels)
    return np.asarray(study.costs.as_dict().get(attr.name, (0.0,) * attr.n_levels), dtype=float)


def price_of(study: Study, product: Product) -> float:
    if study.price_attribute is None:
        return float("nan")
    return float(product.levels[study.price_attribute])


def value_utilities(
    beta: np.ndarray,
    study: Study,
    attr: Attribute,
    values: Sequence[float] | np.ndarray,
    extrapolate: bool,
) -> np.ndarray:
    """(S, R, K) utility of a numeric attribute at any values (interpolated as the simulator)."""
    enc = make_encoding(study)
    a = study.attributes.index(attr)
    rows = np.zeros((len(values), enc.n_parameters))
    for k, v in enumerate(values):
        for i, w in level_positions(attr, v, extrapolate=extrapolate):
            rows[k] += w * enc.tables[a][i]
    return beta @ rows.T


def rest_utilities(
    beta: np.ndarray, draws: PartWorthDraws, market: Market, exclude: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[Product]]:
    """Utilities (S, R, J) of the market without ``exclude`` (then none), the own mask (J,) and
    the products kept."""
    kept = [p for p in market.products if p.name not in exclude]
    j = len(kept)
    k = beta.shape[2]
    x = (
        encode_products(draws.study, kept, extrapolate=market.extrapolate)[0]
        if kept
        else np.zeros((0, k))
    )
    u = beta @ x.T
    own = np.array([p.own for p in kept] + ([False] if market.none else []), dtype=bool)
    if market.none:
        names = list(draws.names)
        if NONE not in names:
            raise WinbackError("The market includes none, but the model has no none constant.")
        u = np.concatenate([u, beta[..., names.index(NONE)][..., None]], axis=-1)
    assert own.shape[0] == u.shape[2] == j + int(market.none)
    return u, own, kept


def other_own_numerators(
    study: Study, kept: Sequence[Product], exp_rest: np.ndarray, extrapolate: bool
) -> np.ndarray:
    """(3, S, R) exp-utility sums of our other products: share, x price, x unit cost."""
    own = [i for i, p in enumerate(kept) if p.own]
    out = np.zeros((3, *exp_rest.shape[:2]))
    for i in own:
        p = kept[i]
        price = price_of(study, p)
        cost = unit_cost(study, p.levels, extrapolate) if study.costs is not None else 0.0
        out[0] += exp_rest[..., i]
        out[1] += exp_rest[..., i] * (0.0 if math.isnan(price) else price)
        out[2] += exp_rest[..., i] * cost
    return out


def objective_from_parts(
    objective: str, share: np.ndarray, others: np.ndarray | None, price: Any, cost: Any
) -> dict[str, np.ndarray]:
    """Our share, revenue and profit from the offer's share and the other-own terms."""
    qs, qr, qc = (
        (others[..., 0], others[..., 1], others[..., 2]) if others is not None else (0, 0, 0)
    )
    total = share + qs
    revenue = share * price + qr
    profit = share * (price - cost) + qr - qc
    return {"share": total, "revenue": revenue, "profit": profit}


def simulation_objective(sim: Any, study: Study, extrapolate: bool) -> dict[str, np.ndarray]:
    """Per-draw share, revenue and profit of our products in a Simulation."""
    s = sim.share_draws.shape[0]
    out = {k: np.zeros(s) for k in OBJECTIVES}
    for j, p in enumerate(sim.market.products):
        if not p.own:
            continue
        sh = sim.share_draws[:, j]
        price = price_of(study, p)
        cost = unit_cost(study, p.levels, extrapolate)
        out["share"] = out["share"] + sh
        out["revenue"] = out["revenue"] + sh * price
        out["profit"] = out["profit"] + sh * (price - cost)
    return out


def chunks(n_samples: int, per_sample_bytes: float) -> list[slice]:
    size = max(1, int(_CHUNK_BYTES // max(per_sample_bytes, 1.0)))
    return [slice(i, min(i + size, n_samples)) for i in range(0, n_samples, size)]


# --------------------------------------------------------------------------------------------
# The candidate space of one offer
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Utility tables for a chunk of draws
# --------------------------------------------------------------------------------------------


@dataclass
class _Tables:
    tables: np.ndarray  # (A, L, S, R)
    price_exp: np.ndarray  # (K, S, R)
    denom: np.ndarray  # (S, R)
    extra: np.ndarray  # (X, S, R)


class _Evaluator:
    """Builds the exp-utility tables (per chunk of draws) and evaluates candidate sets."""

    def __init__(
        self,
        draws: PartWorthDraws,
        market: Market,
        replaced: Product,
        space: _Space,
        weights: np.ndarray,
    ) -> None:
        self.draws = draws
        self.market = market
        self.replaced = replaced
        self.space = space
        self.weights = np.ascontiguousarray(weights, dtype=float)
        enc = make_encoding(draws.study)
        self.enc = enc
        kept = [p for p in market.products if p.name != replaced.name]
        self.has_others = any(p.own for p in kept)
        n_levels = max((a.n_levels for a in space.attrs), default=1)
        per_sample = (
            (len(space.attrs) * n_levels + len(space.prices) + len(market.products) + 5)
            * draws.n_respondents
            * 8.0
        )
        self.slices = chunks(draws.n_samples, per_sample)
        self._cache: list[_Tables] | None = None
        total = per_sample * draws.n_samples
        if total <= 8e8:
            self._cache = [self._build(sl) for sl in self.slices]

    def iter_tables(self) -> Iterator[_Tables]:
        if self._cache is not None:
            yield from self._cache
        else:
            for sl in self.slices:
                yield self._build(sl)

    def _build(self, sl: slice) -> _Tables:
        space, study, e = self.space, self.draws.study, self.market.exponent
        beta = self.draws.beta[sl]
        s, r = beta.shape[:2]
        lus = [beta @ self.enc.tables[study.attributes.index(a)].T for a in space.attrs]
        if space.price_attr is not None:
            pu = value_utilities(
                beta, study, space.price_attr, space.prices, self.market.extrapolate
            )
        else:
            pu = np.zeros((s, r, 1))
        if self.replaced.status_quo:
            if self.enc.sq_index is None:
                raise WinbackError(
                    f"'{self.replaced.name}' is the status quo, but the study has none."
                )
            pu = pu + beta[..., self.enc.sq_index][..., None]
        u_rest, _, kept = rest_utilities(beta, self.draws, self.market, [self.replaced.name])
        maxes = [lu.max(axis=-1) for lu in lus]
        pmax = pu.max(axis=-1)
        best = pmax + (np.sum(maxes, axis=0) if maxes else 0.0)
        shift = np.maximum(best, u_rest.max(axis=-1)) if u_rest.shape[2] else best
        n_levels = max((a.n_levels for a in space.attrs), default=1)
        tables = np.zeros((len(lus), n_levels, s, r))
        for a, (lu, mx) in enumerate(zip(lus, maxes, strict=True)):
            tables[a, : lu.shape[2]] = np.moveaxis(np.exp(e * (lu - mx[..., None])), -1, 0)
        price_exp = np.moveaxis(
            np.exp(e * (pu - pmax[..., None] + (best - shift)[..., None])), -1, 0
        )
        exp_rest = np.exp(np.minimum(e * (u_rest - shift[..., None]), 700.0))
        denom = exp_rest.sum(axis=-1)
        n_prod = len(kept)
        extra = (
            other_own_numerators(study, kept, exp_rest[..., :n_prod], self.market.extrapolate)
            if self.has_others
            else np.zeros((0, s, r))
        )
        return _Tables(
            np.ascontiguousarray(tables),
            np.ascontiguousarray(price_exp),
            np.ascontiguousarray(denom),
            np.ascontiguousarray(extra),
        )

    def parts(self, combos: np.ndarray, *, reduce: bool) -> np.ndarray:
        """(S or 1, G, K, 1 + X): the offer's share and the other-own terms (means over draws
        when ``reduce``)."""
        combos = np.ascontiguousarray(combos, dtype=np.int64)
        outs = []
        for t in self.iter_tables():
            outs.append(
                _offer_kernel(t.tables, t.price_exp, t.denom, self.weights, t.extra, combos, reduce)
            )
        if reduce:
            return np.sum(outs, axis=0) / self.draws.n_samples
        return np.concatenate(outs, axis=0)

    def objectives(self, combos: np.ndarray, *, reduce: bool) -> dict[str, np.ndarray]:
        """Share, revenue and profit for (S or 1, G, K)."""
        parts = self.parts(combos, reduce=reduce)
        others = parts[..., 1:] if self.has_others else None
        cost = self.space.cost(combos)[None, :, None]
        price = self.space.prices[None, None, :]
        return objective_from_parts("", parts[..., 0], others, price, cost)

    def bound(self, objective: str, mask_prices: np.ndarray) -> float:
        """An upper bound on the posterior-mean objective of every allowed candidate.

        Per (draw, respondent) and price, the objective (e m + q) / (e + d) is monotone in the
        offer's exp-utility e, so it is at most its value at the smallest or the largest e any
        allowed combination reaches (prohibitions ignored, the cheapest combination's cost)."""
        space = self.space
        cmin = space.base_cost + sum(
            float(c[al].min()) for c, al in zip(space.costs, space.allowed, strict=True)
        )
        total = np.full(len(space.prices), 0.0)
        for t in self.iter_tables():
            hi = np.ones(t.denom.shape)
            lo = np.ones(t.denom.shape)
            for a, al in enumerate(space.allowed):
                hi = hi * t.tables[a, al].max(axis=0)
                lo = lo * t.tables[a, al].min(axis=0)
            for k, p in enumerate(space.prices):
                m = {"share": 1.0, "revenue": p, "profit": p - cmin}[objective]
                if self.has_others:
                    q = {
                        "share": t.extra[0],
                        "revenue": t.extra[1],
                        "profit": t.extra[1] - t.extra[2],
                    }[objective]
                else:
                    q = 0.0
                best = np.full(t.denom.shape, -np.inf)
                for e in (hi * t.price_exp[k], lo * t.price_exp[k]):
                    best = np.maximum(best, (e * m + q) / (e + t.denom))
                total[k] += float((best @ self.weights).sum())
        total /= self.draws.n_samples
        return float(total[mask_prices].max())


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass
class OfferSearch:
    """Result of :func:`optimize_offer`.

    Attributes
    ----------
    offers : DataFrame
        ``rank``, one column per attribute, ``share, lower, upper`` (our share per lost customer
        and its band), ``revenue, profit`` (per lost customer; profit NaN without costs),
        ``prob_beats_current`` (posterior probability that the objective beats the current
        offer's) and ``prob_best`` (probability of being the best of the offers listed).
    exhaustive : bool
        Every candidate was evaluated; otherwise the heuristic's answer is graded by ``bound``.
    n_candidates : int
        Candidates evaluated (exhaustive) or in the space (heuristic).
    bound, gap : float
        An upper bound on the objective and the relative gap of the best offer to it (0 when
        exhaustive).
    current : dict
        The current offer's objective (mean, lower, upper) and share.
    segments : DataFrame or None
        With ``segment=``: the best offer per segment (see :func:`optimize_offer`).
    """

    objective: str
    product: str
    offers: pd.DataFrame
    exhaustive: bool
    n_candidates: int
    bound: float
    gap: float
    current: dict[str, float]
    rule: str
    n_draws: int
    n_respondents: int
    seconds: float
    segments: pd.DataFrame | None = None
    study: Study | None = field(default=None, repr=False)

    def best(self, name: str | None = None) -> Product:
        """The rank-1 offer as a :class:`Product` (own, named like the product it replaces)."""
        if self.study is None or self.offers.empty:
            raise WinbackError("No offer to return.")
        row = self.offers.iloc[0]
        return Product(
            name or self.product, {a: row[a] for a in self.study.attribute_names}, own=True
        )

    def __repr__(self) -> str:
        how = (
            f"exhaustive over {self.n_candidates:,} candidates"
            if self.exhaustive
            else f"heuristic over {self.n_candidates:,} candidates, bound {self.bound:.4g}, "
            f"gap {self.gap:.2%}"
        )
        lines = [
            f"OfferSearch: {self.objective} per lost customer, replacing '{self.product}' "
            f"({how}; {self.rule}; {self.n_draws} draws x {self.n_respondents} respondents; "
            f"{self.seconds:.2f} s)",
            f"  current offer: {self.objective} {self.current['mean']:.4g} "
            f"[{self.current['lower']:.4g}, {self.current['upper']:.4g}], share "
            f"{self.current['share']:.1%}",
        ]
        attrs = [c for c in self.offers.columns if c not in _RESULT_COLS]
        for row in self.offers.head(10).itertuples(index=False):
            d = row._asdict()
            levels = ", ".join(f"{a}={format_level(d[a])}" for a in attrs)
            lines.append(
                f"  {d['rank']:>2}. {levels} | share {d['share']:.1%} [{d['lower']:.1%}, "
                f"{d['upper']:.1%}] revenue {d['revenue']:.3g} profit {d['profit']:.3g} "
                f"P(beats current) {d['prob_beats_current']:.2f} P(best) {d['prob_best']:.2f}"
            )
        if self.segments is not None:
            lines.append(f"  segments: {len(self.segments)} (see .segments)")
        lines.append("  next: result.offers, result.best() into a Market, simulate(...)")
        return "\n".join(lines)


_RESULT_COLS = (
    "rank",
    "share",
    "lower",
    "upper",
    "revenue",
    "profit",
    "prob_beats_current",
    "prob_best",
)


# --------------------------------------------------------------------------------------------
# optimize_offer
# --------------------------------------------------------------------------------------------


def optimize_offer(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    product: str | None = None,
    objective: str = "share",
    weights: str | Sequence[float] | np.ndarray | None = None,
    required: Mapping[str, Any] | None = None,
    excluded: Mapping[str, Any] | None = None,
    prices: Sequence[float] | None = None,
    price_floor: float | None = None,
    price_ceiling: float | None = None,
    min_share: float | None = None,
    top: int = 10,
    exhaustive_limit: int = 2_000_000,
    respect_prohibitions: bool = True,
    segment: str | None = None,
    interval: float = 0.9,
    starts: int = 8,
    random_seed: int = 1,
) -> OfferSearch:
    """Search the offer (levels and price) that best wins lost customers back.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
        All posterior draws are used (``PartWorthDraws.point()`` for point estimates).
    market : Market, dict or path to ``market.toml``
        Competitors, our other products and the none option are held fixed.
    product : str, optional
        The own product the offer replaces (default: the only own product). Its current form is
        the baseline of ``prob_beats_current``.
    objective : {"share", "revenue", "profit"}
        Per lost customer; profit needs the study's ``[costs]``.
    weights : str or array, optional
        A respondent column (customer value) or one weight per respondent.
    required : mapping, optional
        Attribute -> level, or list of allowed levels (for the price attribute: prices).
    excluded : mapping, optional
        Attribute -> levels (or prices) not allowed.
    prices : sequence of float, optional
        Candidate prices (default: the tested price levels); any value inside the tested range
        (outside it with ``extrapolate = true`` in the market).
    price_floor, price_ceiling : float, optional
    min_share : float, optional
        Our minimum share (posterior mean) for a candidate to count.
    top : int
        Offers listed (``prob_best`` is over these).
    exhaustive_limit : int
        Above this many candidates the heuristic is used.
    respect_prohibitions : bool
        Skip level combinations the study prohibits (prohibitions naming the price attribute
        match tested prices exactly).
    segment : str, optional
        A respondent column (reason for leaving, value tier): also the best offer per segment in
        ``.segments``: ``segment, n_respondents``, the levels, ``share, lower, upper``,
        ``margin`` (expected profit per lost customer of the segment with that offer; revenue
        when the study has no costs) with ``margin_lower, margin_upper``, ``current_share``,
        ``gain_lower, gain_upper`` (band of the share gain over the current offer) and
        ``worth_winning``: margin > 0 and the share gain's band lies above zero.
    interval : float
        Width of the posterior bands.
    starts : int
        Starts of the heuristic (the current offer and random ones).
    random_seed : int
        Seeds the heuristic's starts and randomized first choice.

    Returns
    -------
    OfferSearch

    Examples
    --------
    >>> from analysis.search import optimize_offer
    >>> res = optimize_offer(model, "market.toml", objective="profit",
    ...                      required={"speed": ["300 Mbps", "1 Gbps"]}, price_floor=40)
    ... # doctest: +SKIP
    >>> res.offers[["rank", "speed", "price", "profit", "prob_beats_current"]]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    draws, mk = resolve_search(source, market, objective)
    study = draws.study
    replaced = own_product(mk, product)
    if top < 1:
        raise WinbackError(f"top must be at least 1, got {top}.")
    w = respondent_weights(draws, weights)
    space = make_space(
        study,
        required=required,
        excluded=excluded,
        prices=prices,
        price_floor=price_floor,
        price_ceiling=price_ceiling,
        respect_prohibitions=respect_prohibitions,
        extrapolate=mk.extrapolate,
    )
    result = _search(
        draws,
        mk,
        replaced,
        space,
        w,
        objective,
        min_share,
        top,
        exhaustive_limit,
        interval,
        starts,
        random_seed,
    )
    if segment is not None:
        result.segments = _segments(
            draws,
            mk,
            replaced,
            space,
            weights,
            segment,
            objective,
            min_share,
            exhaustive_limit,
            interval,
            starts,
            random_seed,
        )
    result.seconds = time.perf_counter() - t0
    return result


def _search(
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    w: np.ndarray,
    objective: str,
    min_share: float | None,
    top: int,
    exhaustive_limit: int,
    interval: float,
    starts: int,
    random_seed: int,
) -> OfferSearch:
    study = draws.study
    ev = _Evaluator(draws, mk, replaced, space, w)
    exhaustive = space.n_candidates_max <= exhaustive_limit
    if exhaustive:
        combos = space.combos()
        obj = ev.objectives(combos, reduce=True)
        mask = space.feasible(combos)
        if min_share is not None:
            mask &= obj["share"][0] >= min_share
        if not mask.any():
            raise WinbackError(_empty_message(space, min_share))
        value = np.where(mask, obj[objective][0], -np.inf)
        n_candidates = int(space.feasible(combos).sum())
        n_screen = top if mk.rule == "logit" else max(5 * top, 50)
        flat = np.argsort(-value, axis=None, kind="stable")[:n_screen]
        flat = flat[np.isfinite(value.ravel()[flat])]
        gi, ki = np.unravel_index(flat, value.shape)
        cand = [(combos[g], int(k)) for g, k in zip(gi, ki, strict=True)]
        best_value = float(value.max())
        bound, gap = best_value, 0.0
    else:
        cand = _heuristic(ev, space, replaced, objective, min_share, top, starts, random_seed, mk)
        n_candidates = space.n_candidates_max
        best_value = float("nan")
        bound = float("nan")
    # per-draw figures of the listed candidates
    per_draw = _candidate_draws(ev, draws, mk, replaced, space, w, cand, random_seed)
    order = np.argsort(-per_draw[objective].mean(axis=0), kind="stable")[:top]
    per_draw = {k: v[:, order] for k, v in per_draw.items()}
    cand = [cand[i] for i in order]
    current = simulation_objective(
        simulate(draws, mk, weights=w, interval=interval, random_seed=random_seed),
        study,
        mk.extrapolate,
    )
    if not exhaustive:
        mask_prices = np.ones(len(space.prices), dtype=bool)
        bound = ev.bound(objective, mask_prices)
        best_value = float(per_draw[objective].mean(axis=0).max())
        gap = max(0.0, (bound - best_value) / abs(bound)) if bound != 0 else 0.0
    offers = _offer_table(space, cand, per_draw, current, objective, interval)
    cur_lo, cur_hi = posterior_band(current[objective], interval)
    return OfferSearch(
        objective=objective,
        product=replaced.name,
        offers=offers,
        exhaustive=exhaustive,
        n_candidates=n_candidates,
        bound=float(bound),
        gap=float(gap),
        current={
            "mean": float(current[objective].mean()),
            "lower": float(cur_lo),
            "upper": float(cur_hi),
            "share": float(current["share"].mean()),
        },
        rule=mk.rule,
        n_draws=draws.n_samples,
        n_respondents=draws.n_respondents,
        seconds=0.0,
        study=study,
    )


def _empty_message(space: _Space, min_share: float | None) -> str:
    extra = f" and a minimum share of {min_share:.1%}" if min_share is not None else ""
    return (
        f"No candidate offer is left after the constraints (prohibitions{extra}); "
        f"{space.n_candidates_max:,} combinations of allowed levels and prices were checked."
    )


def _candidate_draws(
    ev: _Evaluator,
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    w: np.ndarray,
    cand: Sequence[tuple[np.ndarray, int]],
    random_seed: int,
) -> dict[str, np.ndarray]:
    """(S, n) share, revenue and profit of every candidate: the logit kernel, or the market's
    rule through ``simulate``."""
    if not cand:
        raise WinbackError("No candidate offer is left after the constraints.")
    if mk.rule != "logit":
        cols: dict[str, list[np.ndarray]] = {k: [] for k in OBJECTIVES}
        for combo, k in cand:
            prod = Product(
                replaced.name,
                space_levels(space, replaced, combo, k),
                own=True,
                status_quo=replaced.status_quo,
            )
            sim = simulate(draws, mk.with_product(prod), weights=w, random_seed=random_seed)
            o = simulation_objective(sim, draws.study, mk.extrapolate)
            for key in OBJECTIVES:
                cols[key].append(o[key])
        return {k: np.column_stack(v) for k, v in cols.items()}
    combos = np.stack([c for c, _ in cand])
    ks = np.array([k for _, k in cand])
    obj = ev.objectives(combos, reduce=False)
    idx = np.arange(len(cand))
    return {k: v[:, idx, ks] for k, v in obj.items()}


def space_levels(space: _Space, replaced: Product, combo: np.ndarray, k: int) -> dict[str, Any]:
    levels = space.levels(combo, space.prices[k])
    for a in space.study.attributes:
        levels.setdefault(a.name, replaced.levels[a.name])
    return levels


def _offer_table(
    space: _Space,
    cand: Sequence[tuple[np.ndarray, int]],
    per_draw: Mapping[str, np.ndarray],
    current: Mapping[str, np.ndarray],
    objective: str,
    interval: float,
) -> pd.DataFrame:
    study = space.study
    obj = per_draw[objective]
    lo, hi = posterior_band(per_draw["share"], interval)
    beats = (obj > current[objective][:, None]).mean(axis=0)
    winner = np.argmax(obj, axis=1)
    prob_best = np.bincount(winner, minlength=obj.shape[1]) / obj.shape[0]
    rows = []
    for i, (combo, k) in enumerate(cand):
        levels = space.levels(combo, space.prices[k])
        row: dict[str, Any] = {"rank": i + 1}
        for a in study.attributes:
            row[a.name] = display_level(a, levels[a.name]) if a.name in levels else np.nan
        row.update(
            share=float(per_draw["share"][:, i].mean()),
            lower=float(lo[i]),
            upper=float(hi[i]),
            revenue=float(per_draw["revenue"][:, i].mean()),
            profit=float(per_draw["profit"][:, i].mean()) if study.costs else float("nan"),
            prob_beats_current=float(beats[i]),
            prob_best=float(prob_best[i]),
        )
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Heuristic beyond the exhaustive limit
# --------------------------------------------------------------------------------------------


def _heuristic(
    ev: _Evaluator,
    space: _Space,
    replaced: Product,
    objective: str,
    min_share: float | None,
    top: int,
    starts: int,
    random_seed: int,
    mk: Market,
) -> list[tuple[np.ndarray, int]]:
    """Coordinate ascent (one attribute jointly with the price per move) from several starts
    at the posterior mean, then polished on all draws; the best ``top`` candidates seen."""
    rng = np.random.default_rng(random_seed)
    point = _Evaluator(ev.draws.point(), mk, replaced, space, ev.weights)

    def scorer(e: _Evaluator) -> Callable[[np.ndarray], np.ndarray]:
        def score(combos: np.ndarray) -> np.ndarray:
            o = e.objectives(combos, reduce=True)
            val = o[objective][0]
            ok = space.feasible(combos)
            if min_share is not None:
                short = o["share"][0] < min_share
                val = np.where(short, -1e12 + o["share"][0], val)
            return np.where(ok, val, -np.inf)

        return score

    start_list = [_nearest_allowed(space, replaced)]
    for _ in range(max(0, starts - 1)):
        start_list.append(np.array([rng.choice(al) for al in space.allowed], dtype=np.int64))
    seen_point: dict[tuple[int, ...], float] = {}
    optima = []
    for combo in start_list:
        c, k, v = _ascend(scorer(point), space, combo, rng, seen_point)
        optima.append((v, tuple(c), k))
    optima.sort(key=lambda t: -t[0])
    seen: dict[tuple[int, ...], float] = {}
    distinct = list(dict.fromkeys((c, k) for v, c, k in optima if np.isfinite(v)))[:3]
    if not distinct:
        raise WinbackError(_empty_message(space, min_share))
    full = scorer(ev)
    for c_key, _k in distinct:
        _ascend(full, space, np.array(c_key, dtype=np.int64), rng, seen)
    ranked = sorted(((v, key) for key, v in seen.items() if v > -1e11), key=lambda t: -t[0])
    if not ranked:
        raise WinbackError(_empty_message(space, min_share))
    n_keep = top if mk.rule == "logit" else max(5 * top, 50)
    return [(np.array(key[:-1], dtype=np.int64), int(key[-1])) for _, key in ranked[:n_keep]]


def _nearest_allowed(space: _Space, replaced: Product) -> np.ndarray:
    out = []
    for a, al in zip(space.attrs, space.allowed, strict=True):
        i = a.index_of(replaced.levels[a.name])
        out.append(i if i in al else int(al[0]))
    return np.array(out, dtype=np.int64)


def _ascend(
    score: Callable[[np.ndarray], np.ndarray],
    space: _Space,
    combo: np.ndarray,
    rng: np.random.Generator,
    seen: dict[tuple[int, ...], float],
) -> tuple[np.ndarray, int, float]:
    combo = combo.copy()
    best, k_best = -np.inf, 0
    for _ in range(100):
        improved = False
        for a in rng.permutation(len(space.attrs)) if space.attrs else [None]:
            if a is None:
                cands = combo[None, :]
            else:
                cands = np.repeat(combo[None, :], len(space.allowed[a]), axis=0)
                cands[:, a] = space.allowed[a]
            vals = score(cands)
            for g in range(cands.shape[0]):
                for k in range(vals.shape[1]):
                    seen[(*(int(x) for x in cands[g]), k)] = float(vals[g, k])
            g, k = (int(i) for i in np.unravel_index(int(np.argmax(vals)), vals.shape))
            if vals[g, k] > best + 1e-12:
                best, k_best = float(vals[g, k]), int(k)
                improved = improved or not np.array_equal(cands[g], combo)
                combo = cands[g].copy()
        if not improved:
            break
    return combo, k_best, best


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------


def _segments(
    draws: PartWorthDraws,
    mk: Market,
    replaced: Product,
    space: _Space,
    weights: str | Sequence[float] | np.ndarray | None,
    segment: str,
    objective: str,
    min_share: float | None,
    exhaustive_limit: int,
    interval: float,
    starts: int,
    random_seed: int,
) -> pd.DataFrame:
    seg = draws.column(segment)
    study = draws.study
    margin_key = "profit" if study.costs is not None else "revenue"
    rows = []
    for value in pd.unique(seg.dropna()):
        mask = (seg == value).to_numpy()
        sub = draws.subset(mask)
        if isinstance(weights, str) or weights is None:
            ws = respondent_weights(sub, weights)
        else:
            ws = respondent_weights(sub, np.asarray(weights, dtype=float)[mask])
        res = _search(
            sub,
            mk,
            replaced,
            space,
            ws,
            objective,
            min_share,
            1,
            exhaustive_limit,
            interval,
            starts,
            random_seed,
        )
        best = res.offers.iloc[0]
        ev = _Evaluator(sub, mk, replaced, space, ws)
        combo = np.array([a.index_of(best[a.name]) for a in space.attrs], dtype=np.int64)
        k = (
            int(np.flatnonzero(np.isclose(space.prices, best[space.price_attr.name]))[0])
            if space.price_attr
            else 0
        )
        pd_ = _candidate_draws(ev, sub, mk, replaced, space, ws, [(combo, k)], random_seed)
        cur = simulation_objective(
            simulate(sub, mk, weights=ws, random_seed=random_seed), study, mk.extrapolate
        )
        margin = pd_[margin_key][:, 0]
        m_lo, m_hi = posterior_band(margin, interval)
        gain = pd_["share"][:, 0] - cur["share"]
        g_lo, g_hi = posterior_band(gain, interval)
        row: dict[str, Any] = {"segment": str(value), "n_respondents": int(mask.sum())}
        for a in study.attributes:
            row[a.name] = best[a.name]
        row.update(
            share=float(best["share"]),
            lower=float(best["lower"]),
            upper=float(best["upper"]),
            margin=float(margin.mean()),
            margin_lower=float(m_lo),
            margin_upper=float(m_hi),
            current_share=float(cur["share"].mean()),
            gain_lower=float(g_lo),
            gain_upper=float(g_hi),
            prob_beats_current=float(best["prob_beats_current"]),
            worth_winning=bool(margin.mean() > 0 and g_lo > 0),
        )
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Two own products at once (Sawtooth's two-product search)
# --------------------------------------------------------------------------------------------


@dataclass
class OfferPairSearch:
    """Result of :func:`optimize_offers`: the best pairs of offers, at point estimates.

    ``offers`` has two rows per pair: ``rank, product``, one column per attribute, ``share``
    (that product's share), and the pair's ``joint_share, joint_revenue, joint_profit`` per lost
    customer (our other products included).
    """

    objective: str
    products: tuple[str, str]
    offers: pd.DataFrame
    n_pairs: int
    n_candidates: tuple[int, int]
    seconds: float

    def __repr__(self) -> str:
        lines = [
            f"OfferPairSearch: joint {self.objective} per lost customer of "
            f"{' + '.join(self.products)}; exhaustive over {self.n_pairs:,} pairs "
            f"({self.n_candidates[0]:,} x {self.n_candidates[1]:,} candidates) at point "
            f"estimates, {self.seconds:.2f} s"
        ]
        for rank, grp in self.offers.groupby("rank", sort=True):
            if int(str(rank)) > 5:
                break
            first = grp.iloc[0]
            lines.append(
                f"  {rank}. joint share {first['joint_share']:.1%}, revenue "
                f"{first['joint_revenue']:.3g}, profit {first['joint_profit']:.3g}"
            )
        return "\n".join(lines)


def optimize_offers(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    products: Sequence[str] | None = None,
    n_products: int = 2,
    objective: str = "share",
    weights: str | Sequence[float] | np.ndarray | None = None,
    required: Mapping[str, Any] | None = None,
    excluded: Mapping[str, Any] | None = None,
    prices: Sequence[float] | None = None,
    price_floor: float | None = None,
    price_ceiling: float | None = None,
    respect_prohibitions: bool = True,
    top: int = 10,
    max_pairs: int = 20_000_000,
) -> OfferPairSearch:
    """Jointly search two own offers (every pair of candidates) at point estimates.

    Parameters
    ----------
    source, market, objective, weights, required, excluded, prices, price_floor, price_ceiling,
    respect_prohibitions
        As in :func:`optimize_offer` (constraints apply to both offers).
    products : sequence of str, optional
        The own products the two offers replace (default: the market's own products); when
        fewer than two are named, a new own product "New offer" is added.
    n_products : int
        Only 2 is supported.
    top : int
        Pairs listed.
    max_pairs : int
        A larger pair space is an error (narrow it with constraints).

    Returns
    -------
    OfferPairSearch

    Examples
    --------
    >>> from analysis.search import optimize_offers
    >>> pairs = optimize_offers(model, market, objective="revenue")  # doctest: +SKIP
    >>> pairs.offers.head(4)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if n_products != 2:
        raise WinbackError(
            f"optimize_offers searches pairs: n_products must be 2, got {n_products}."
        )
    draws, mk = resolve_search(source, market, objective, point=True)
    study = draws.study
    names = list(products) if products is not None else [p.name for p in mk.products if p.own]
    for n in names:
        mk.product(n)
    if len(names) > 2:
        raise WinbackError(f"Name at most two products to replace, got {list_valid(names)}.")
    if not names:
        raise WinbackError(
            f"The market has no own product; products: {list_valid(mk.names)}. Mark one own or "
            "name products=..."
        )
    slots = [mk.product(n) for n in names]
    if len(slots) == 1:
        new_name = "New offer"
        slots.append(Product(new_name, dict(slots[0].levels), own=True))
    w = respondent_weights(draws, weights)
    space = make_space(
        study,
        required=required,
        excluded=excluded,
        prices=prices,
        price_floor=price_floor,
        price_ceiling=price_ceiling,
        respect_prohibitions=respect_prohibitions,
        extrapolate=mk.extrapolate,
    )
    combos = space.combos()
    mask = space.feasible(combos)
    gi, ki = np.nonzero(mask)
    n_c = len(gi)
    if n_c == 0:
        raise WinbackError(_empty_message(space, None))
    if n_c * n_c > max_pairs:
        raise WinbackError(
            f"{n_c:,} x {n_c:,} candidate pairs exceed max_pairs={max_pairs:,}; narrow the "
            "search with required/excluded levels or fewer prices."
        )
    beta = draws.beta  # (1, R, K)
    enc = make_encoding(study)
    e = mk.exponent
    util = np.zeros((n_c, draws.n_respondents))
    for a_pos, a in enumerate(space.attrs):
        lu = beta[0] @ enc.tables[study.attributes.index(a)].T  # (R, L)
        util += lu[:, combos[gi, a_pos]].T
    pu = (
        value_utilities(beta, study, space.price_attr, space.prices, mk.extrapolate)[0]
        if space.price_attr is not None
        else np.zeros((draws.n_respondents, 1))
    )
    util += pu[:, ki].T
    u_rest, _, kept = rest_utilities(beta, draws, mk, [s.name for s in slots])
    util_sq = [
        beta[0, :, enc.sq_index] if (s.status_quo and enc.sq_index is not None) else 0.0
        for s in slots
    ]
    shift = np.maximum(
        util.max(axis=0) + max(np.max(u) for u in util_sq), u_rest[0].max(axis=-1, initial=-np.inf)
    )
    e1 = np.exp(e * (util + util_sq[0] - shift))
    e2 = np.exp(e * (util + util_sq[1] - shift))
    exp_rest = np.exp(np.minimum(e * (u_rest[0] - shift[:, None]), 700.0))
    denom = exp_rest.sum(axis=-1)
    others = other_own_numerators(study, kept, exp_rest[None, :, : len(kept)], mk.extrapolate)[:, 0]
    price = space.prices[ki] if space.price_attr is not None else np.zeros(n_c)
    cost = space.cost(combos[gi])
    margin, num = {
        "share": (np.ones(n_c), others[0]),
        "revenue": (price, others[1]),
        "profit": (price - cost, others[1] - others[2]),
    }[objective]
    vals = _pair_kernel(
        np.ascontiguousarray(e1),
        margin,
        np.ascontiguousarray(e2),
        margin,
        denom,
        num,
        w,
        not any(s.status_quo for s in slots),
    )
    flat = np.argsort(np.where(np.isnan(vals), np.inf, -vals), axis=None, kind="stable")[:top]
    rows = []
    for rank, f in enumerate(flat, start=1):
        i, j = np.unravel_index(int(f), vals.shape)
        ea, eb = e1[i], e2[j]
        inv = w / (ea + eb + denom)
        joint = {
            "share": float((inv * (ea + eb + others[0])).sum()),
            "revenue": float((inv * (ea * price[i] + eb * price[j] + others[1])).sum()),
            "profit": float(
                (
                    inv
                    * (
                        ea * (price[i] - cost[i])
                        + eb * (price[j] - cost[j])
                        + others[1]
                        - others[2]
                    )
                ).sum()
            )
            if study.costs is not None
            else float("nan"),
        }
        for slot, c, ev_ in ((slots[0], i, ea), (slots[1], j, eb)):
            levels = space_levels(space, slot, combos[gi[c]], int(ki[c]))
            row: dict[str, Any] = {"rank": rank, "product": slot.name}
            for a in study.attributes:
                row[a.name] = display_level(a, levels[a.name])
            row["share"] = float((inv * ev_).sum())
            row.update({f"joint_{k}": v for k, v in joint.items()})
            rows.append(row)
    return OfferPairSearch(
        objective=objective,
        products=(slots[0].name, slots[1].name),
        offers=pd.DataFrame(rows),
        n_pairs=n_c * n_c,
        n_candidates=(n_c, n_c),
        seconds=time.perf_counter() - t0,
    )
