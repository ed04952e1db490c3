"""Shares of preference: :func:`simulate` a market at every posterior draw, with bands.

Respondent weights (a respondent column or one number each), the equal-tailed posterior band of
any per-draw figure, the :class:`Simulation` result (shares per product and segment, per-draw
shares, each respondent's probabilities) and :func:`source_of_volume` (where a new or changed
product's share comes from: none, competitors or our own other offers).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.simulator.draws import MEMORY_LIMIT, PartWorthDraws, as_draws, sample_chunks
from analysis.simulator.market import NONE, Market, read_market
from analysis.simulator.rules import choice_probabilities
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, band_label, resolve_band

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["Simulation", "posterior_band", "respondent_weights", "simulate", "source_of_volume"]


@dataclass
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    shares : DataFrame
        ``[segment,] product, own, share, lower, upper`` (fractions; none as product ``none``).
    share_draws : ndarray, shape (sample, alternative)
        The weighted share of every alternative (products, then none) in every sample.
    respondent_shares : DataFrame
        Each respondent's choice probabilities (posterior mean), one column per alternative.
    probabilities : ndarray, shape (sample, respondent, alternative), or None
        Every respondent's probabilities in every draw; None when they would take more than
        :func:`simulate`'s ``memory_limit`` (the draws were then streamed).
    """

    market: Market
    alternatives: list[str]
    shares: pd.DataFrame
    share_draws: np.ndarray = field(repr=False)
    respondent_shares: pd.DataFrame = field(repr=False)
    # (sample, respondent, alternative); None when larger than the memory limit (streamed)
    probabilities: np.ndarray | None = field(repr=False)
    weights: np.ndarray = field(repr=False)
    band: float = BAND

    @property
    def interval(self) -> float:
        """Former name of :attr:`band` (deprecated)."""
        warnings.warn(
            "Simulation.interval is now Simulation.band", DeprecationWarning, stacklevel=2
        )
        return self.band

    def __repr__(self) -> str:
        lines = [
            f"Simulation ({self.market.rule}, {self.share_draws.shape[0]} draws, "
            f"{len(self.weights)} respondents, {band_label(self.band)}s):"
        ]
        for row in self.shares.itertuples():
            seg = f"[{row.segment}] " if "segment" in self.shares.columns else ""
            lines.append(
                f"  {seg}{row.product:<24} {row.share:6.1%}  [{row.lower:6.1%}, {row.upper:6.1%}]"
            )
        return "\n".join(lines)


def respondent_weights(
    draws: PartWorthDraws, weights: str | Sequence[float] | np.ndarray | None
) -> np.ndarray:
    """Respondent weights adding up to one, from a respondent column or one number each.

    Parameters
    ----------
    draws : PartWorthDraws
    weights : str, sequence of float or None
        A respondent column (customer value, tenure, ...), one non-negative weight per
        respondent, or None for equal weights.

    Returns
    -------
    np.ndarray
        (respondent,) weights that add up to one.

    Raises
    ------
    WinbackError
        For an unknown column, a missing or negative weight (naming the first respondent), a
        wrong count, or weights adding up to zero.

    Examples
    --------
    >>> w = respondent_weights(draws, "customer_value")  # doctest: +SKIP
    >>> float(w.sum())  # doctest: +SKIP
    1.0
    """
    n = draws.n_respondents
    if weights is None:
        return np.full(n, 1.0 / n)
    if isinstance(weights, str):
        col = draws.column(weights)
        w = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WinbackError(
                f"Weight column '{weights}': {int(bad.sum())} respondent(s) without a valid "
                f"non-negative number (first: respondent {draws.respondent_ids[i]}, value "
                f"{col.iloc[i]!r})."
            )
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
            raise WinbackError(f"weights must be {n} non-negative numbers, one per respondent.")
    if w.sum() <= 0:
        raise WinbackError("weights add up to zero.")
    return w / w.sum()


def posterior_band(values: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """The equal-tailed posterior band over the draws (axis 0): (lower, upper).

    Examples
    --------
    >>> lo, hi = posterior_band(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 0.5)
    >>> float(lo), float(hi)
    (1.0, 3.0)
    """
    lo = (1 - band) / 2
    return np.quantile(values, lo, axis=0), np.quantile(values, 1 - lo, axis=0)


def simulate(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    weights: str | Sequence[float] | np.ndarray | None = None,
    segment: str | None = None,
    band: float = BAND,
    interval: float | None = None,
    random_seed: int = 1,
    memory_limit: float = MEMORY_LIMIT,
) -> Simulation:
    """Shares of preference of a market, for every posterior draw, with bands.

    The draws are processed in chunks whose utilities and probabilities take at most
    ``memory_limit`` bytes, so memory stays flat however many draws there are; the results are
    those of all draws at once (the same numbers, randomized first choice the same errors).

    Parameters
    ----------
    source : HBModel or PartWorthDraws
        A fitted model (all posterior draws) or part-worth draws (``.point()`` for point
        estimates).
    market : Market, dict or path to ``market.toml``
    weights : str or array, optional
        A respondent column (customer value, tenure, ...) or one weight per respondent.
    segment : str, optional
        A respondent column (reason for leaving, plan, value tier): shares per segment too.
    band : float
        The equal-tailed posterior band of every share (0.9: 5% and 95% quantiles).
    interval : float, optional
        Former name of ``band`` (deprecated).
    random_seed : int
        For randomized first choice.
    memory_limit : float
        Bytes (default 256 MiB) the per-draw arrays may take at once; beyond, the draws are
        streamed in chunks and ``Simulation.probabilities`` is not kept (None).

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate(model, "market.toml")  # doctest: +SKIP
    >>> sim.shares  # doctest: +SKIP
    """
    band = resolve_band(band, interval, where="simulate")
    draws = as_draws(source)
    if not isinstance(market, Market):
        market = (
            read_market(market, draws.study)
            if isinstance(market, str | Path)
            else Market.from_dict(market, draws.study)
        )
    if not memory_limit > 0:
        raise WinbackError(f"memory_limit must be a positive number of bytes, got {memory_limit}.")
    w = respondent_weights(draws, weights)
    alts = [*market.names, *([NONE] if market.none else [])]
    own = {p.name: p.own for p in market.products}
    groups: list[tuple[str, int, np.ndarray]] = []  # segment value, size, its weights
    if segment is not None:
        seg = draws.column(segment)
        for value in pd.unique(seg.dropna()):
            mask = (seg == value).to_numpy()
            ws = w * mask
            if ws.sum() > 0:
                groups.append((str(value), int(mask.sum()), ws / ws.sum()))
    n_s, n_r, n_j = draws.n_samples, draws.n_respondents, len(alts)
    keep = n_s * n_r * n_j * 8.0 <= memory_limit
    # per draw: utilities and probabilities (float64) and the draw's part-worths as float64
    per_sample = (2 * n_j + len(draws.names)) * n_r * 8.0
    probs = np.empty((n_s, n_r, n_j)) if keep else None
    share_draws = np.empty((n_s, n_j))  # weighted over respondents, per draw
    seg_draws = [np.empty((n_s, n_j)) for _ in groups]
    resp_sum = np.zeros((n_r, n_j))
    for sl in sample_chunks(n_s, per_sample, memory_limit):
        p = choice_probabilities(draws, market, random_seed=random_seed, samples=sl)
        share_draws[sl] = np.matmul(w, p)
        for (_, _, wg), sd in zip(groups, seg_draws, strict=True):
            sd[sl] = np.einsum("srj,r->sj", p, wg)
        resp_sum += p.sum(axis=0)
        if probs is not None:
            probs[sl] = p
    tables = [_share_table(share_draws, alts, own, band)]
    for (value, size, _), sd in zip(groups, seg_draws, strict=True):
        t = _share_table(sd, alts, own, band)
        t.insert(0, "segment", value)
        t.insert(1, "n_respondents", size)
        tables.append(t)
    if segment is not None:
        tables[0].insert(0, "segment", "all")
        tables[0].insert(1, "n_respondents", draws.n_respondents)
    shares = pd.concat(tables, ignore_index=True)
    resp = pd.DataFrame(
        resp_sum / n_s,
        index=pd.Index(list(draws.respondent_ids), name="respondent_id"),
        columns=alts,
    )
    return Simulation(market, alts, shares, share_draws, resp, probs, w, band)


def _share_table(
    share_draws: np.ndarray, alts: list[str], own: Mapping[str, bool], band: float
) -> pd.DataFrame:
    lo, hi = posterior_band(share_draws, band)
    return pd.DataFrame(
        {
            "product": alts,
            "own": [bool(own.get(a, False)) for a in alts],
            "share": share_draws.mean(axis=0),
            "lower": lo,
            "upper": hi,
        }
    )


def source_of_volume(before: Simulation, after: Simulation, product: str) -> pd.DataFrame:
    """Where ``product``'s volume in ``after`` comes from, relative to ``before``.

    For every draw, each alternative present in both markets loses (or gains) share; the
    losses are what ``product`` took: from none (won back), from competitors, or from our own
    other offers (cannibalised). ``product`` may be new in ``after`` or changed.

    Returns
    -------
    DataFrame
        ``source, kind (none | competitor | own), share_moved, lower, upper, fraction``;
        ``share_moved`` is the share the source lost (a fraction of all customers), ``fraction``
        its part of the product's gain.

    Examples
    --------
    >>> base = simulate(model, market)  # doctest: +SKIP
    >>> new = simulate(model, market.with_product(offer))  # doctest: +SKIP
    >>> source_of_volume(base, new, offer.name)  # doctest: +SKIP
    """
    if product not in after.alternatives:
        raise WinbackError(
            f"source_of_volume: '{product}' is not in the new market "
            f"({list_valid(after.alternatives)})."
        )
    if before.share_draws.shape[0] != after.share_draws.shape[0] or len(before.weights) != len(
        after.weights
    ):
        raise WinbackError(
            "source_of_volume: both simulations must use the same draws and respondents."
        )
    own = {p.name: p.own for p in after.market.products}
    gain_draws = after.share_draws[:, after.alternatives.index(product)]
    if product in before.alternatives:
        gain_draws = gain_draws - before.share_draws[:, before.alternatives.index(product)]
    rows = []
    total = float(gain_draws.mean())
    for alt in before.alternatives:
        if alt == product or alt not in after.alternatives:
            continue
        moved = (
            before.share_draws[:, before.alternatives.index(alt)]
            - after.share_draws[:, after.alternatives.index(alt)]
        )
        lo, hi = posterior_band(moved, after.band)
        kind = "none" if alt == NONE else ("own" if own.get(alt) else "competitor")
        rows.append(
            {
                "source": alt,
                "kind": kind,
                "share_moved": float(moved.mean()),
                "lower": float(lo),
                "upper": float(hi),
                "fraction": float(moved.mean() / total) if abs(total) > 1e-12 else float("nan"),
            }
        )
    lo, hi = posterior_band(gain_draws, after.band)
    rows.append(
        {
            "source": f"total gain of {product}",
            "kind": "total",
            "share_moved": total,
            "lower": float(lo),
            "upper": float(hi),
            "fraction": 1.0,
        }
    )
    return pd.DataFrame(rows)
