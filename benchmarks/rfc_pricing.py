"""Price curves, elasticities and WTP under every rule, before and after (issue 16, item 9).

Target: ``price_curve`` (21 prices), ``price_elasticities`` and ``market_wtp`` of the example
market's own product under randomized first choice (``rule = "rfc"``, its defaults: 20 error
draws, attribute variability 1) for 500 respondents x 4,000 posterior draws (the demo's shape:
4 chains x 1,000 draws) in under 20 s, the three together.

Data: the example study (``winback.example``) and market (``broadband_market.toml``: three
products and none, the rule set to logit or rfc), with part-worth draws simulated around the
example's true population (each respondent's mean from the population, each draw 0.25 of the
population sd around it), 150 and 500 respondents.

The peer is the previous implementation, ``benchmarks/peers/pricing_before.py`` (the code before
this change, unchanged but for its imports): every price re-simulates the whole market and the
simulated WTP runs 50 bisection steps of a full softmax. Both run on the same draws in the same
process, the previous once, then the new one ``--repeat`` times (the fastest kept, as the
machine is shared); the new one's first call in the process (numba compile or cache
load) is timed apart on a tiny case. Wall times on a shared machine depend on its load
(printed); the new code's CPU time (all its threads) is printed beside them. ``max diff`` is
the largest difference of the share
(curves), elasticity or WTP between the two: rounding under logit and first choice; Monte Carlo
under rfc, whose errors now come from another generator (tests/analysis/test_pricing_rules.py
checks them against the previous implementation within Monte Carlo error).

Run ``python benchmarks/rfc_pricing.py [--sizes 150 500] [--draws 4000] [--no-write]``; a dated
section is appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np
import pandas as pd

import winback
from analysis import pricing
from analysis.simulator import Market, PartWorthDraws, read_market
from benchmarks.peers import pricing_before
from conjoint.encoding import parameter_names
from winback.example import make_example_study

HERE = Path(__file__).resolve().parent
PRODUCT = "FibreHome bundle"
TARGET = 20.0


def make_draws(n_samples: int, n_resp: int, seed: int = 16) -> PartWorthDraws:
    ex = make_example_study()
    names = parameter_names(ex.study)
    mean = np.array([ex.true_means[n] for n in names])
    sd = np.array([ex.true_sd[n] for n in names])
    rng = np.random.default_rng(seed)
    ind = mean + sd * rng.standard_normal((n_resp, len(names)))
    beta = ind[None] + 0.25 * sd * rng.standard_normal((n_samples, n_resp, len(names)))
    return PartWorthDraws.from_array(ex.study, beta)


def make_market(draws: PartWorthDraws, rule: str) -> Market:
    path = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    return replace(read_market(path, draws.study), rule=rule)  # type: ignore[arg-type]


def calls(module: object, d: PartWorthDraws, m: Market) -> dict[str, Callable[[], pd.DataFrame]]:
    return {
        "price_curve": lambda: module.price_curve(d, m, PRODUCT),  # type: ignore[attr-defined]
        "price_elasticities": lambda: module.price_elasticities(d, m),  # type: ignore[attr-defined]
        "market_wtp": lambda: module.market_wtp(d, m, PRODUCT),  # type: ignore[attr-defined]
    }


COLUMN = {"price_curve": "share", "price_elasticities": "elasticity", "market_wtp": "wtp"}


def timed(f: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float, float]:
    """The result, its wall time and the process's CPU time (all threads)."""
    t, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - t, time.process_time() - c


def first_call() -> float:
    """The new code's first calls in this process, on a tiny case: numba compile or cache load."""
    d = make_draws(2, 5)
    t = time.perf_counter()
    for rule in ("logit", "rfc"):
        for f in calls(pricing, d, make_market(d, rule)).values():
            f()
    return time.perf_counter() - t


def run(sizes: list[int], n_draws: int, repeat: int) -> tuple[list[dict[str, object]], float]:
    warm = first_call()
    print(f"new code, first calls in this process (numba compile or cache load): {warm:.2f} s")
    rows: list[dict[str, object]] = []
    for n_resp in sizes:
        d = make_draws(n_draws, n_resp)
        for rule in ("logit", "rfc"):
            m = make_market(d, rule)
            before, after = calls(pricing_before, d, m), calls(pricing, d, m)
            for name in before:
                old, t_old, _ = timed(before[name])
                new, t_new, cpu = min(
                    (timed(after[name]) for _ in range(repeat)), key=lambda x: x[1]
                )
                col = COLUMN[name]
                diff = float(np.nanmax(np.abs(new[col].to_numpy() - old[col].to_numpy())))
                row = {
                    "respondents": n_resp,
                    "rule": rule,
                    "function": name,
                    "previous_s": t_old,
                    "new_s": t_new,
                    "new_cpu_s": cpu,
                    "ratio": t_old / t_new,
                    "max_diff": diff,
                }
                rows.append(row)
                print(
                    f"{n_resp:>4} respondents, {rule:<5} {name:<19} previous {t_old:8.2f} s  "
                    f"new {t_new:6.2f} s (CPU {cpu:5.2f} s)  ratio {t_old / t_new:6.1f}  "
                    f"max diff {diff:.2g}",
                    flush=True,
                )
    return rows, warm


def report(rows: list[dict[str, object]], warm: float, n_draws: int, load: str) -> str:
    t = pd.DataFrame(rows)
    lines = [
        "| respondents | rule | function | previous | new | new, CPU | ratio | max diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in t.itertuples():
        lines.append(
            f"| {r.respondents} | {r.rule} | {r.function} | {r.previous_s:.2f} s | "
            f"{r.new_s:.2f} s | {r.new_cpu_s:.2f} s | {r.ratio:.0f} | {r.max_diff:.2g} |"
        )
    totals = t.groupby(["respondents", "rule"])[["previous_s", "new_s", "new_cpu_s"]].sum()
    lines.append("")
    for (n_resp, rule), tot in totals.iterrows():
        lines.append(
            f"- {n_resp} respondents, {rule}, the three together: previous {tot.previous_s:.1f} s, "
            f"new {tot.new_s:.2f} s (CPU {tot.new_cpu_s:.2f} s; ratio "
            f"{tot.previous_s / tot.new_s:.0f})"
        )
    key = (max(t["respondents"]), "rfc")
    if key in totals.index:
        got = float(totals.loc[key, "new_s"])
        verdict = "met" if got < TARGET else "NOT met"
        lines.append(
            f"- target: the three under rfc for {key[0]} respondents x {n_draws} draws in under "
            f"{TARGET:.0f} s: {got:.2f} s, **{verdict}** (first calls in a fresh process add "
            f"{warm:.2f} s of numba compile or cache load)"
        )
    head = (
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads), {platform.machine()}, {os.cpu_count()} cores; "
        f"load average at the start {load}. {n_draws} draws, the example market (3 products + "
        f"none), price curve at 21 prices, elasticities of 3 prices, WTP of 10 level changes."
    )
    return head + "\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 500])
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the new code (the fastest)")
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows, warm = run(args.sizes, args.draws, args.repeat)
    text = report(rows, warm, args.draws, load)
    print("\n" + text)
    if not args.no_write:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(
                f"\n## Price curves, elasticities and WTP under every rule (issue 16) "
                f"(`benchmarks/rfc_pricing.py`), {dt.date.today().isoformat()}\n\n{text}\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
