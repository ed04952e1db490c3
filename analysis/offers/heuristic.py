"""The heuristic beyond the exhaustive limit: coordinate ascent over attribute x price.

From several starts (the current offer and random ones) at the posterior mean, each move tries
every allowed level of one attribute jointly with every price; the three best distinct optima
are then polished on all draws, and the best candidates seen are handed back for ranking.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analysis.offers.evaluate import _Evaluator
from analysis.offers.space import _empty_message, _Space
from analysis.simulator import Market, Product
from winback.errors import WinbackError


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
