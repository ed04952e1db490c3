"""Speed of the market simulator and the offer / tier searches (issue 5).

Cases (targets from issue 5):

a. utility evaluations per second of ``simulate`` (and of ``utilities`` alone): 300 respondents
   x 4000 draws x 10 alternatives; target >= 1e8 / s;
b. exhaustive single-offer search: 20,000 candidates x 300 respondents x 200 draws; target
   <= 10 s (first call in a fresh process, which compiles or loads the numba cache, and a warm
   call);
c. two-product search at point estimates: 1,116 x 1,116 candidate pairs (1,245,456) x 352
   respondents, the size of the two-product search example in Sawtooth's manual, which it says
   takes about an hour; target <= 5 s;
d. good/better/best tiers: 6 binary features x 11 prices, every 3-tier ladder (each tier more
   than the one below: 4^6 - 2 x 3^6 + 2^6 = 2,702 feature ladders x C(11,3) price ladders;
   before issue 16, 4^6 nestings that could repeat a tier), at 100 draws x 300 respondents
   (before issue 16: at point estimates), proven optimal; target <= 10 s.

There is no runnable peer (Sawtooth's simulator is commercial): its published figure is the
comparison. Run ``python benchmarks/simulator_bench.py [--no-write]``; results are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

from analysis.offers import optimize_offer, optimize_offers
from analysis.simulator import Market, PartWorthDraws, encode_products, simulate, utilities
from analysis.tiers import optimize_tiers
from conjoint.encoding import parameter_names
from winback.study import parse_study

HERE = Path(__file__).resolve().parent


def _study(attrs: list[tuple[str, int]], prices: list[float], costs: bool = True) -> str:
    lines = ['[study]\nname = "bench"\nnone_option = true\nprice_attribute = "price"\n']
    for name, n in attrs:
        levels = ", ".join(f'"{name}{i}"' for i in range(1, n + 1))
        lines.append(f'[[attributes]]\nname = "{name}"\nlevels = [{levels}]\n')
    lines.append(f'[[attributes]]\nname = "price"\nlevels = {prices}\ncoding = "linear"\n')
    lines.append("[design]\nalternatives = 3\ntasks = 8\n")
    if costs:
        lines.append("[costs]\nbase = 5.0")
        for name, n in attrs:
            per = ", ".join(f'"{name}{i}" = {1.5 * (i - 1):g}' for i in range(2, n + 1))
            lines.append(f"{name} = {{ {per} }}")
    return "\n".join(lines) + "\n"


def _draws(study, n_samples: int, n_resp: int, seed: int) -> PartWorthDraws:
    names = parameter_names(study)
    rng = np.random.default_rng(seed)
    mean = np.array([-0.08 if n == "price" else (-1.0 if n == "none" else 0.6) for n in names])
    sd = np.array([0.02 if n == "price" else 0.8 for n in names])
    ind = mean + rng.standard_normal((n_resp, len(names))) * sd
    beta = ind[None] + 0.25 * sd * rng.standard_normal((n_samples, n_resp, len(names)))
    return PartWorthDraws.from_array(study, beta)


def _market(study, n_products: int, seed: int) -> Market:
    rng = np.random.default_rng(seed)
    prods = []
    pa = study.attribute("price")
    for j in range(n_products):
        p = {"name": f"P{j + 1}", "own": j == 0}
        for a in study.attributes:
            p[a.name] = (
                a.levels[int(rng.integers(a.n_levels))]
                if a is not pa
                else float(rng.choice(pa.levels))
            )
        prods.append(p)
    return Market.from_dict({"products": prods, "options": {"none": True}}, study)


def _best_of(k: int, fn: object) -> float:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def case_a() -> tuple[str, float]:
    study = parse_study(
        _study([("a", 4), ("b", 3), ("c", 3), ("d", 3), ("e", 2)], [10.0, 20.0, 30.0, 40.0])
    )
    d = _draws(study, 4000, 300, 1)
    mk = _market(study, 9, 2)  # 9 products + none = 10 alternatives
    n = d.n_samples * d.n_respondents * 10
    simulate(d, mk)  # warm-up
    ts = _best_of(3, lambda: simulate(d, mk))
    x, _ = encode_products(study, mk.products)
    tu = _best_of(3, lambda: utilities(d, x, none=True))
    rate = n / ts
    line = (
        f"a. simulate, 300 respondents x 4000 draws x 10 alternatives: {ts:.3f} s (best of 3) = "
        f"{rate:.3g} utility evaluations/s (utilities, logit probabilities, weighted shares, "
        f"bands); utilities alone {n / tu:.3g}/s; target 1e8/s, ratio {rate / 1e8:.2f}"
    )
    return line, rate


def case_b() -> tuple[str, float]:
    # 4 x 5 x 5 x 4 x 5 = 2,000 level combinations x 10 prices = 20,000 candidates
    study = parse_study(
        _study(
            [("a", 4), ("b", 5), ("c", 5), ("d", 4), ("e", 5)], [20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
        )
    )
    d = _draws(study, 200, 300, 3)
    mk = _market(study, 4, 4)
    prices = list(np.linspace(20, 70, 10))
    t = time.perf_counter()
    res = optimize_offer(d, mk, product="P1", objective="profit", prices=prices)
    first = time.perf_counter() - t
    t = time.perf_counter()
    res = optimize_offer(d, mk, product="P1", objective="profit", prices=prices)
    warm = time.perf_counter() - t
    assert res.exhaustive and res.n_candidates == 20_000, res
    line = (
        f"b. exhaustive single-offer search, {res.n_candidates:,} candidates x 300 respondents x "
        f"200 draws (profit, bands, P(beats current), P(best)): first call {first:.2f} s "
        f"(incl. numba compile or cache load), warm {warm:.2f} s; target 10 s, ratio "
        f"{warm / 10:.3f}"
    )
    return line, warm


def case_c() -> tuple[str, float]:
    # 4 x 3 x 3 = 36 level combinations x 31 prices = 1,116 candidates per product
    study = parse_study(_study([("a", 4), ("b", 3), ("c", 3)], [10.0, 25.0, 40.0]))
    d = _draws(study, 1, 352, 5)
    mk = _market(study, 3, 6)
    prices = list(np.linspace(10, 40, 31))
    optimize_offers(d, mk, products=["P1"], objective="revenue", prices=prices[:3])  # compile
    t = time.perf_counter()
    res = optimize_offers(d, mk, products=["P1"], objective="revenue", prices=prices)
    sec = time.perf_counter() - t
    assert res.n_pairs == 1_245_456, res.n_pairs
    line = (
        f"c. two-product search at point estimates, {res.n_candidates[0]:,} x "
        f"{res.n_candidates[1]:,} = {res.n_pairs:,} pairs x 352 respondents: {sec:.2f} s; "
        f"target 5 s, ratio {sec / 5:.3f}; Sawtooth's documentation: about an hour "
        f"({3600 / sec:,.0f}x)"
    )
    return line, sec


def case_d() -> tuple[str, float]:
    prices = [float(p) for p in range(20, 75, 5)]  # 11 prices
    study = parse_study(_study([(f"f{i}", 2) for i in range(1, 7)], [20.0, 70.0]))
    d = _draws(study, 200, 300, 7)
    mk = _market(study, 3, 8)
    base = {f"f{i}": f"f{i}1" for i in range(1, 7)}
    features = [f"f{i}" for i in range(1, 7)]
    optimize_tiers(d, mk, features=features[:2], prices=prices[:4], base=base)  # compile
    t = time.perf_counter()
    res = optimize_tiers(d, mk, features=features, prices=prices, base=base, objective="profit")
    sec = time.perf_counter() - t
    assert res.n_candidates == 2702 * 165 and res.proven_optimal, res.n_candidates
    line = (
        f"d. tier search, 6 binary features x 11 prices, every 3-tier ladder "
        f"({res.n_candidates:,} = 2,702 x C(11,3)) x 300 respondents x {res.n_draws} draws, "
        f"proven optimal, plus bands, upgrade paths and cannibalisation at 200 draws: "
        f"{sec:.2f} s; target 10 s, ratio {sec / 10:.3f}"
    )
    return line, sec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    lines = []
    for case in (case_a, case_b, case_c, case_d):
        line, _ = case()
        print(line, flush=True)
        lines.append(line)
    if not args.no_write:
        import numba

        head = (
            f"\n## Simulator and search (issue 5) (`benchmarks/simulator_bench.py`), "
            f"{dt.date.today().isoformat()}\n\n"
            f"Python {platform.python_version()}, numpy {np.__version__}, numba "
            f"{numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
            f"{platform.machine()}. Simulated part-worths (random, heterogeneous), a market of "
            "competitors and none. No runnable peer: Sawtooth's simulator is commercial; its "
            "documented figure (about an hour for case c) is the comparison.\n\n"
        )
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(head + "\n".join(f"- {x}" for x in lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
