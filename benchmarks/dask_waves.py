"""Many waves on a Dask cluster (issue 19 item 4): 4 waves run one after another in this process
against the same 4 waves on a local Dask cluster of 2 worker processes, in the same run.

The study folder is ``winback.example.make_example_waves`` (the example study, its market and
design) with 4 waves of ``--respondents`` simulated lost customers each (each wave 10% more
price sensitive than the one before, so that the market's calibration holds); every wave runs the
whole pipeline (import, HB fit, simulate, recommend, the workbook) with the same settings and
seed in both runs, on two copies of the folder. A warm-up wave on a third copy fills the disk
caches (PyTensor's compiled C) first, so that neither run pays for them; each Dask worker
still compiles the model once, as the in-process run does once. The part-worths of both runs
are compared (nutpie draws the same numbers in any process for the same seed and data).

The ratio is in-process time over Dask time (above 1: Dask is faster). On 2 cores the best
possible is about 2 (minus the cluster's start and stop and each worker's compile); the
machine's load average is printed because other work shares the cores.

Run ``python benchmarks/dask_waves.py [--respondents N] [--draws D] [--workers W]
[--no-write]`` from the repository root (needs ``pip install "winback[dask]"``); the result is
appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from winback.example import make_example_waves  # noqa: E402
from winback.waves import run_waves  # noqa: E402

WAVES = ("w1", "w2", "w3", "w4")


def _load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.1f} / {b:.1f} / {c:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--respondents", type=int, default=150, help="lost customers per wave (150)")
    ap.add_argument("--draws", type=int, default=500, help="draws (and warm-up) per chain (500)")
    ap.add_argument("--chains", type=int, default=2, help="chains (2)")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes (2)")
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    fit = {"draws": args.draws, "tune": args.draws, "chains": args.chains, "random_seed": 1}

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        make_example_waves(
            base,
            n_respondents=args.respondents,
            waves=WAVES,
            price_shift=1.1,
            random_seed=1,
            maxdiff=False,  # the conjoint fits only, as timed before the waves had a MaxDiff
        )
        here, there, warm = Path(tmp) / "in_process", Path(tmp) / "dask", Path(tmp) / "warm"
        for copy in (here, there, warm):
            shutil.copytree(base, copy)
        run_waves(warm, ["w1"], draws=50, tune=50, chains=1)  # disk caches, not timed

        load_before = _load()
        t0 = time.perf_counter()
        runs_here = run_waves(here, list(WAVES), **fit)
        t_here = time.perf_counter() - t0
        load_mid = _load()
        t0 = time.perf_counter()
        runs_there = run_waves(there, list(WAVES), scheduler="local", workers=args.workers, **fit)
        t_there = time.perf_counter() - t0
        load_after = _load()

        gap = 0.0
        for w in WAVES:
            a = pd.read_csv(here / "waves" / w / "results" / "fit" / "partworths.csv")
            b = pd.read_csv(there / "waves" / w / "results" / "fit" / "partworths.csv")
            gap = max(gap, float((a["utility"] - b["utility"]).abs().max()))
        per_here = [r.record["seconds"] for r in runs_here]
        per_there = [r.record["seconds"] for r in runs_there]
        verdicts = [r.verdict for r in runs_there]

    ratio = t_here / t_there
    date = dt.date.today().isoformat()
    lines = [
        f"## Many waves on a Dask cluster (issue 19 item 4), {date}",
        "",
        f"`python benchmarks/dask_waves.py --respondents {args.respondents} --draws "
        f"{args.draws} --chains {args.chains} --workers {args.workers}`: 4 waves of the example "
        f"study ({args.respondents} lost customers each, the whole pipeline: import, HB fit "
        f"{args.chains} x ({args.draws} + {args.draws}), simulate, recommend, workbook).",
        "",
        "| run | wall time | per wave (s) |",
        "|---|---|---|",
        f"| in this process, one after another | {t_here:.1f} s | "
        + ", ".join(f"{s:.0f}" for s in per_here)
        + " |",
        f"| local Dask cluster, {args.workers} worker processes | {t_there:.1f} s | "
        + ", ".join(f"{s:.0f}" for s in per_there)
        + " |",
        "",
        f"**Ratio {ratio:.2f}** (in-process time / Dask time; 2 is the most 2 cores allow). "
        f"Largest part-worth difference between the runs: {gap:.3g} (convergence on Dask: "
        f"{', '.join(verdicts)}). Machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}; load average (1 / 5 / 15 min) {load_before} "
        f"before, {load_mid} between the runs, {load_after} after (other work shares the "
        "cores).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n" + text)
        print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
