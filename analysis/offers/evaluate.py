"""Evaluating candidate offers: exp-utility tables per chunk of draws and a numba kernel.

A candidate's exp-utility is the product of one entry of a per-attribute table ``exp(e * level
utility)`` and one of a price table; the rest of the market is one fixed denominator per (draw,
respondent). :class:`_Evaluator` builds the tables (chunked so they stay below a memory budget),
evaluates share, revenue and profit of any set of candidates at every price, per draw or as the
posterior mean, and bounds the best objective any allowed candidate can reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from analysis.offers.assembly import rest_utilities, value_utilities
from analysis.offers.objectives import objective_from_parts, other_own_numerators
from analysis.offers.space import _Space
from analysis.simulator import Market, PartWorthDraws, Product
from analysis.simulator.draws import sample_chunks
from conjoint.encoding import make_encoding
from winback.errors import WinbackError

__all__ = ["chunks"]


_CHUNK_BYTES = 2e8  # tables for one chunk of posterior draws stay below this


def chunks(n_samples: int, per_sample_bytes: float) -> list[slice]:
    """Slices of the draws whose tables stay below ``_CHUNK_BYTES`` (:func:`sample_chunks`)."""
    return sample_chunks(n_samples, per_sample_bytes, _CHUNK_BYTES)


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
        # lazy: numba (about 0.4 s to import) loads when a search runs, not with the command's stage
        from analysis.offers._kernels import offer_kernel

        combos = np.ascontiguousarray(combos, dtype=np.int64)
        outs = []
        for t in self.iter_tables():
            outs.append(
                offer_kernel(t.tables, t.price_exp, t.denom, self.weights, t.extra, combos, reduce)
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
