"""Peak memory of ``winback fit``, ``winback simulate`` and ``winback recommend`` (issue 19,
item 6).

Every command runs as its own process (``python -m winback.cli ...``, as a user runs it) on the
example study (``winback.example``) with simulated fieldwork (``surveys.fieldwork``) of 250,
500 and 1,000 respondents at 2 chains x 250 draws, and of 500 respondents at 2 x 125, 2 x 250
and 2 x 500 draws; its peak resident memory is the child's ``ru_maxrss`` (``os.wait4``). A
least-squares line ``MB = a + b x respondents x draws`` per command gives the memory of 1,000
respondents at the default 4 chains x 1,000 draws (``a + b x 1000 x 4000``), and the
growth per 1,000 respondents (``b x 1000 x 4000``) beside the fixed part ``a`` (Python, NumPy,
PyMC, numba and the compiled code).

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/memory_bench.py [--workdir DIR] [--json
FILE] [--quick]`` (about 10 minutes on 2 loaded cores; ``--quick``: 2 sizes, for a check).
Installs nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.resources import files  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveys.fieldwork import simulate_fieldwork  # noqa: E402
from winback.example import example_study_text, make_example_study  # noqa: E402
from winback.pipeline.design import run_design  # noqa: E402

DEFAULT_DRAWS = 4 * 1000  # analysis.fit's default: 4 chains x 1,000 draws
COMMANDS = ("fit", "simulate", "recommend")


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``python -m winback.cli ARGS``; its peak resident memory (MB) and wall time (s).

    Short chains give a "fail" convergence verdict (exit 4) with every file written: the
    memory is the point here, not the fit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "winback.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 4):  # 4: a "fail" convergence verdict, files written
        sys.stderr.write(out.decode(errors="replace"))
        raise SystemExit(f"winback {args[0]} failed (exit {proc.returncode})")
    return usage.ru_maxrss / 1024.0, time.perf_counter() - t0  # Linux: ru_maxrss in KiB


def make_case(folder: Path, n_respondents: int, design_dir: Path) -> None:
    """study.toml, market.toml, responses.csv and respondents.csv of ``n_respondents``."""
    ex = make_example_study()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(example_study_text(), encoding="utf-8")
    market = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    (folder / "market.toml").write_text(market, encoding="utf-8")
    design = run_design(ex.study, design_dir, force=True, n_respondents=500)
    choices, people, _, _ = simulate_fieldwork(
        design.design, ex.true_means, ex.true_sd, n_respondents, random_seed=7
    )
    choices.to_csv(folder / "responses.csv", index=False)
    people.to_csv(folder / "respondents.csv", index=False)


def measure(folder: Path, design_dir: Path, chains: int, draws: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fit_dir = folder / f"fit_{chains}x{draws}"
    common = ["--force"]
    res: dict[str, Any] = {"chains": chains, "draws": draws}
    fit_args = [
        "fit",
        str(folder / "study.toml"),
        str(folder / "responses.csv"),
        "--out",
        str(fit_dir),
        "--design",
        str(design_dir / "design.csv"),
        "--respondents",
        str(folder / "respondents.csv"),
        "--chains",
        str(chains),
        "--draws",
        str(draws),
        "--tune",
        "250",
        "--validation",
        "none",
        "--no-progress",
        *common,
    ]
    res["fit"] = run_measured(fit_args, env)
    for cmd in ("simulate", "recommend"):
        args = [
            cmd,
            str(folder / "study.toml"),
            str(fit_dir),
            "--market",
            str(folder / "market.toml"),
            "--out",
            str(folder / f"{cmd}_{chains}x{draws}"),
            *common,
        ]
        res[cmd] = run_measured(args, env)
    res["fit_nc_mb"] = (fit_dir / "fit.nc").stat().st_size / 2**20
    return res


def line_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares ``y = a + b x``: (a, b)."""
    b, a = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(a), float(b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true", help="2 sizes at 2 x 100 draws")
    a = ap.parse_args(argv)
    work = a.workdir or Path(tempfile.mkdtemp(prefix="winback-mem-"))
    per = 100 if a.quick else 250
    cases = (
        [(250, 2, per), (500, 2, per)]
        if a.quick
        else [(250, 2, 250), (500, 2, 250), (1000, 2, 250), (500, 2, 125), (500, 2, 500)]
    )
    rows = []
    made: set[int] = set()
    # warm-up (not measured): the model's compiled code and numba's cache, as on any machine
    # that has fitted once; a first fit would add the compiler's memory to the fit's
    n0, c0, _ = cases[0]
    make_case(work / f"r{n0}", n0, work / "design")
    made.add(n0)
    measure(work / f"r{n0}", work / "design", c0, 20)
    for n, chains, draws in cases:
        folder = work / f"r{n}"
        design_dir = work / "design"
        if n not in made:
            make_case(folder, n, design_dir)
            made.add(n)
        res = measure(folder, design_dir, chains, draws)
        res["respondents"] = n
        rows.append(res)
        print(
            f"{n:5d} respondents x {chains} x {draws:4d} draws: "
            + ", ".join(f"{c} {res[c][0]:7.0f} MB ({res[c][1]:5.1f} s)" for c in COMMANDS)
            + f", fit.nc {res['fit_nc_mb']:.1f} MB",
            flush=True,
        )
    summary: dict[str, Any] = {}
    x = [r["respondents"] * r["chains"] * r["draws"] for r in rows]
    print("\nMB = a + b x respondents x draws (least squares over the runs above):")
    for c in COMMANDS:
        ys = [r[c][0] for r in rows]
        a0, b = line_fit(x, ys)
        pred = [a0 + b * xi for xi in x]
        worst = max(abs(p - y) for p, y in zip(pred, ys, strict=True))
        per_1000 = b * 1000 * DEFAULT_DRAWS
        summary[c] = {"a_mb": a0, "b_mb": b, "per_1000_respondents_mb": per_1000, "worst": worst}
        print(
            f"  {c:9s} a = {a0:6.0f} MB, b = {b * 1e6:7.2f} MB per million respondent-draws "
            f"(largest residual {worst:4.0f} MB); per 1,000 respondents at 4 x 1,000 draws: "
            f"+{per_1000:5.0f} MB (total {a0 + per_1000:5.0f} MB)"
        )
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
