"""Speed and memory of ``winback import`` against ``pandas.read_csv`` of the same files (issue 14).

Target: an export of any size imports, validation and quality flags included, in at most 10x
the time a plain ``pandas.read_csv`` takes to read the same files, with memory bounded.

Files (written once into ``--data``, default a temporary folder): the example study
(``winback.example``), its design (``winback design``), simulated lost customers
(``surveys.fieldwork.simulate_fieldwork``: realistic questionnaire answers, 4% random responders,
2% speeders) in winback's canonical ``responses.csv`` + ``respondents.csv``; 5,200 respondents
make about 20 MB, 52,000 about 200 MB.

**Like for like.** Each measurement runs in a fresh process that first imports its libraries,
untimed, then times ONE call:

- peer: ``import pandas``, then ``pandas.read_csv`` of ``responses.csv`` and
  ``respondents.csv`` with its defaults (and, for context, with ``dtype=str,
  keep_default_na=False``: every cell as text, as a validator must read them);
- winback: ``import pandas`` and the import stage's module (``winback.pipeline.responses``; the
  study file is loaded too), then one call of ``run_import`` (the function ``winback import``
  runs) with all its work: read, validate, quality flags, reasons, the canonical copies and
  every other output file written and fsynced, the folder swapped into place. Whatever the
  call loads on first use (numba and its compiled kernels, SciPy's parts) is inside the timed
  call. The ratio is this call's wall time over the peer's.

Peak memory and CPU time come from ``resource.getrusage`` (they include Python and pandas
themselves; the import's compiled kernels and Arrow's reader use the machine's cores, pandas'
reader one, so the import's CPU time is printed beside its wall time), with the time of each
stage of the call ("write outputs": the CSV bytes and the atomic writes, fsync included).

Second column, the whole command: ``winback import study.toml responses.csv --design design
--out DIR --force`` as a new process (interpreter start, imports, everything), timed from
outside. "before" (``--before REV``, default the revision before the last round of speed work;
``none`` to skip): the same API call with winback at that git revision, taken out of git into a
temporary folder.

Runs alternate (peer, winback, command, before, peer, ...) and the fastest of ``--repeat`` runs
is kept, because the machine is shared: wall times mean something only on an idle machine
(the load average is printed and recorded). The first touch of 200 MB of fresh memory is timed before the
runs, and printed with the results: when it is slow, the machine's host backs each page on its
first use and the wall times measure that as much as the code (``FIRST_TOUCH_SLOW``). Run
``python benchmarks/import_bench.py [--sizes 20 200] [--before REV|none] [--no-write]``; a dated
section is appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: the revision timed beside by default: before the second round of speed work on the import
BEFORE_REV = "657b8ce"
#: respondents per target size (MB of responses.csv + respondents.csv)
RESPONDENTS = {20: 5_200, 200: 52_000}

PEER = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas as pd
    folder, text = sys.argv[1], sys.argv[2] == "text"
    kw = dict(dtype=str, keep_default_na=False) if text else {}

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t, c = time.perf_counter(), cpu()
    a = pd.read_csv(folder + "/responses.csv", **kw)
    b = pd.read_csv(folder + "/respondents.csv", **kw)
    seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rss_mb": rss,
                      "rows": len(a) + len(b)}))
    """
)

#: one call of run_import after the imports (``stages``: time each stage, for this tree only)
WINBACK = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas
    import winback.pipeline.responses as stage_module
    from winback.study import load_study
    folder, out, with_stages = sys.argv[1], sys.argv[2], sys.argv[3] == "stages"
    stages = {}

    def timed(module, name, label):
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                stages[label] = stages.get(label, 0.0) + time.perf_counter() - t

        setattr(module, name, wrapper)

    if with_stages:  # modules of the stages, imported only to wrap them
        import surveys._csv, surveys.responses, winback._io
        timed(surveys._csv, "read_table", "read")
        timed(surveys.responses, "validate_coded", "validate")
        timed(stage_module, "flag_quality", "quality flags")
        timed(stage_module, "summarize_reasons", "reasons")
        timed(stage_module, "_write_import", "outputs")
    study = load_study(folder + "/study.toml")

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t, c = time.perf_counter(), cpu()
    stage_module.run_import(study, folder + "/responses.csv", out,
                            design=folder + "/design", force=True)
    seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rss_mb": rss,
                      "stages": stages}))
    """
)

#: the whole command, as the console script runs it
COMMAND = "import sys; from winback.cli import main; sys.exit(main(sys.argv[1:]))"


def make_files(folder: Path, n_respondents: int) -> float:
    """Write study.toml, design/ and the simulated responses; returns the MB of the two CSVs."""
    from surveys.fieldwork import simulate_fieldwork
    from winback._io import write_csv
    from winback.example import example_study_text, make_example_study
    from winback.pipeline import run_design

    folder.mkdir(parents=True, exist_ok=True)
    ex = make_example_study()
    (folder / "study.toml").write_text(example_study_text(), encoding="utf-8")
    design = run_design(ex.study, folder / "design", force=True).design
    choices, people, _, _ = simulate_fieldwork(
        design, ex.true_means, ex.true_sd, n_respondents, random_seed=1
    )
    write_csv(choices, folder / "responses.csv")
    write_csv(people, folder / "respondents.csv")
    return sum((folder / f).stat().st_size for f in ("responses.csv", "respondents.csv")) / 1e6


def _env(source: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}


def _run(script: str, *args: str, source: Path = ROOT) -> dict:
    done = subprocess.run(  # in the source folder: `python -c` puts the working folder first
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=_env(source),
        check=False,
        cwd=source,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{done.stderr}")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _command(folder: Path, out: Path) -> dict:
    """``winback import`` as a new process, timed from outside (wall; CPU and peak memory of
    that process)."""
    args = ["-q", "import", f"{folder}/study.toml", f"{folder}/responses.csv"]
    args += ["--design", f"{folder}/design", "--out", str(out), "--force"]
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", COMMAND, *args],
            stdout=subprocess.DEVNULL, stderr=err, env=_env(ROOT), cwd=ROOT,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - t
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"winback import exited {child.returncode}:\n{err.read().decode()}")
    return {
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def measure(folder: Path, repeat: int, before: Path | None = None) -> dict:
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            runs = {
                "pandas": lambda: _run(PEER, str(folder), "plain"),
                "pandas text": lambda: _run(PEER, str(folder), "text"),
                "winback": lambda: _run(WINBACK, str(folder), f"{out}/import", "stages"),
                "command": lambda: _command(folder, Path(out) / "command"),
            }
            if before is not None:
                runs["before"] = lambda: _run(
                    WINBACK, str(folder), f"{out}/before", "plain", source=before
                )
            for name, run in runs.items():
                r = run()
                if name not in best or r["seconds"] < best[name]["seconds"]:
                    best[name] = r
    return best


def _checkout(rev: str, folder: Path) -> Path:
    """winback's packages at git revision ``rev``, extracted into ``folder``."""
    blob = subprocess.run(
        ["git", "archive", rev, "analysis", "conjoint", "surveys", "winback", "reports"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(folder, filter="data")
    return folder


#: seconds above which the first touch of 200 MB in a new process is the machine's, not the
#: code's. On the KVM guest of 2026-12-07 (virtio-balloon free page reporting), memory freed in
#: the guest goes back to the host within seconds, and a process's first touch of such memory
#: cost 1.0-1.9 s per 200 MB (0.03-0.11 s right after another process had freed it): both the
#: peer and winback pay it, winback more (it touches more fresh memory), by an amount that
#: depends on what ran seconds before. Touching memory beforehand does not help for long.
FIRST_TOUCH_SLOW = 0.25

TOUCH = (
    "import time, numpy as np\n"
    "t = time.perf_counter(); a = np.empty(200_000_000, np.uint8); a[::4096] = 1\n"
    "print(time.perf_counter() - t)"
)


def first_touch() -> float:
    """Seconds a new process takes to touch 200 MB of fresh memory once."""
    out = subprocess.run([sys.executable, "-c", TOUCH], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 200], choices=sorted(RESPONDENTS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--data", type=Path, help="folder for the generated files (kept)")
    p.add_argument(
        "--before",
        default=BEFORE_REV,
        help="git revision of winback timed beside (the import before the last speed work; "
        f"'none' to skip; default {BEFORE_REV})",
    )
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = p.parse_args(argv)
    touch = first_touch()
    print(f"first touch of 200 MB in a new process: {touch:.3f} s", flush=True)
    if touch > FIRST_TOUCH_SLOW:
        print(
            f"  slow (> {FIRST_TOUCH_SLOW} s): this machine's host backs memory on first use "
            "(see FIRST_TOUCH_SLOW); wall times then measure it as much as the code.",
            flush=True,
        )
    data = args.data or Path(tempfile.mkdtemp(prefix="winback-import-bench-"))
    rows = []
    load = os.getloadavg()
    print(f"load average at the start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        before = None if args.before == "none" else _checkout(args.before, Path(tmp))
        for size in args.sizes:
            folder = data / f"{size}mb"
            if not (folder / "responses.csv").exists():
                mb = make_files(folder, RESPONDENTS[size])
            else:
                mb = sum((folder / f).stat().st_size for f in ("responses.csv", "respondents.csv"))
                mb /= 1e6
            best = measure(folder, args.repeat, before)
            row = _row(size, mb, best)
            print(row["text"], flush=True)
            rows.append(row)
    load_end = os.getloadavg()
    print(f"load average at the end: {load_end[0]:.2f}, {load_end[1]:.2f}, {load_end[2]:.2f}")
    if not args.no_write:
        _write_results(rows, args.repeat, args.before, (load, load_end), touch)
    return 0


def _row(size: int, mb: float, best: dict) -> dict:
    peer, text, wb, cmd = best["pandas"], best["pandas text"], best["winback"], best["command"]
    old = best.get("before")
    ratio = wb["seconds"] / peer["seconds"]
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in wb["stages"].items())
    # "(a thread)": beside the stages after it, so not part of their sum
    rest = wb["seconds"] - sum(v for k, v in wb["stages"].items() if "thread" not in k)
    stages += f", other {rest:.2f} s"

    def timing(r: dict) -> str:
        return f"{r['seconds']:.2f} s (CPU {r['cpu']:.2f} s), {r['rss_mb']:.0f} MB"

    cells = {
        "files": f"{mb:.1f} MB, {RESPONDENTS[size]:,} respondents",
        "pandas.read_csv": f"{peer['seconds']:.2f} s, {peer['rss_mb']:.0f} MB",
        "read_csv, every cell text": f"{text['seconds']:.2f} s, {text['rss_mb']:.0f} MB",
        "run_import (one call)": timing(wb),
        "ratio": f"**{ratio:.1f}**",
        "whole command": timing(cmd),
        "ratio, whole command": f"{cmd['seconds'] / peer['seconds']:.1f}",
        "before: run_import": timing(old) if old else "-",
        "ratio before": f"{old['seconds'] / peer['seconds']:.1f}" if old else "-",
        "stages of the call": stages,
    }
    text_line = (
        f"{size} MB ({cells['files']}): pandas.read_csv {cells['pandas.read_csv']}, as text "
        f"{cells['read_csv, every cell text']}; run_import {cells['run_import (one call)']}: "
        f"ratio {ratio:.1f} (target <= 10); whole command {cells['whole command']}, ratio "
        f"{cells['ratio, whole command']}; before {cells['before: run_import']}, ratio "
        f"{cells['ratio before']}\n    stages: {stages}"
    )
    return {"cells": cells, "text": text_line}


def _write_results(rows: list, repeat: int, rev: str, loads: tuple, touch: float) -> None:
    (a, b, c), (d, e, f) = loads
    lines = [
        "",
        f"## Import speed (`benchmarks/import_bench.py`), {dt.date.today().isoformat()}",
        "",
        f"Python {platform.python_version()}, fastest of {repeat} alternating runs, each in a "
        f"fresh process; load average at the start {a:.2f}, {b:.2f}, {c:.2f}, at the end "
        f"{d:.2f}, {e:.2f}, {f:.2f} (2 cores). Like for like: the libraries imported first "
        "(pandas; for winback also `winback.pipeline.responses` and the study file), then ONE "
        "call timed: `pandas.read_csv` of both files against `run_import` (read, validate, "
        "quality flags, reasons, every output file written and fsynced; numba and what else "
        "the call loads on first use inside the timing). Ratio = that call / `read_csv` with "
        "its defaults (wall). Whole command: `winback import ...` as a new process, timed from "
        f"outside. Before: `run_import` at {rev}, same files, same run. Peak memory is the "
        "process's maximum RSS; CPU its user + system time (all threads). First touch of "
        f"200 MB of fresh memory in a new process before the runs: {touch:.3f} s.",
        "",
    ]
    head = list(rows[0]["cells"])
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for row in rows:
        lines.append("| " + " | ".join(row["cells"][k] for k in head) + " |")
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
