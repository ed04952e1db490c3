"""Speed and memory of ``winback import`` against ``pandas.read_csv`` of the same files (issue 14).

Target: an export of any size imports, validation and quality flags included, in at most 10x
the time a plain ``pandas.read_csv`` takes to read the same files, with memory bounded.

Files (written once into ``--data``, default a temporary folder): the example study
(``winback.example``), its design (``winback design``), simulated lost customers
(``surveys.fieldwork.simulate_fieldwork``: realistic questionnaire answers, 4% random responders,
2% speeders) in winback's canonical ``responses.csv`` + ``respondents.csv``; 5,200 respondents
make about 20 MB, 52,000 about 200 MB.

Each measurement runs in a fresh subprocess (peak memory and CPU time from
``resource.getrusage``, which include Python and pandas themselves; the import's compiled
kernels and Arrow's reader use the machine's cores, pandas' reader one, so the CPU time of the
import is printed beside its wall time):

- peer: ``pandas.read_csv`` of ``responses.csv`` and ``respondents.csv`` with its defaults (and,
  for context, with ``dtype=str, keep_default_na=False``: every cell as text, as a validator
  must read them);
- winback: ``winback import study.toml responses.csv --design design --out DIR`` through
  ``winback.cli.main`` (the real command: read, validate, flag quality, summarise reasons,
  write the six output files), timed from the call to its return, with the time of each stage
  ("write outputs": the CSV bytes and the atomic writes, fsync included). Modules the script
  imports to time the stages (pandas, ``surveys``, ``winback.cli``) are loaded before the
  clock starts, as pandas is for the peer; numba loads inside the timed call (on first use).

- before: the same command at ``--before`` (default the revision before the speed work),
  taken out of git into a temporary folder.

Runs alternate (peer, winback, before, peer, ...) and the fastest of ``--repeat`` runs is kept,
because the machine is shared. Run ``python benchmarks/import_bench.py [--sizes 20 200]
[--before REV|none] [--no-write]``; a dated section is appended to ``benchmarks/RESULTS.md``.
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
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: the revision before issue 14's speed work (item 4), timed beside by default
BEFORE_REV = "1f6df45"
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

WINBACK = textwrap.dedent(
    """
    import json, resource, sys, time
    import surveys._csv, surveys.quality, surveys.reasons, surveys.responses, winback._io
    from winback.cli import main
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

    timed(surveys._csv, "read_table", "read")
    timed(surveys.responses, "validate_coded", "validate")
    timed(surveys.quality, "flag_quality", "quality flags")
    timed(surveys.reasons, "summarize_reasons", "reasons")
    timed(winback._io, "csv_bytes", "write outputs")
    timed(winback._io, "atomic_write_bytes", "write outputs")
    folder, out = sys.argv[1], sys.argv[2]

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t, c = time.perf_counter(), cpu()
    code = main(["-q", "import", folder + "/study.toml", folder + "/responses.csv",
                 "--design", folder + "/design", "--out", out, "--force"])
    seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rss_mb": rss, "code": code,
                      "stages": stages}))
    """
)


BEFORE = textwrap.dedent(
    """
    import json, resource, sys, time
    import pandas
    from winback.cli import main

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    folder, out = sys.argv[1], sys.argv[2]
    t, c = time.perf_counter(), cpu()
    code = main(["-q", "import", folder + "/study.toml", folder + "/responses.csv",
                 "--design", folder + "/design", "--out", out, "--force"])
    seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rss_mb": rss, "code": code}))
    """
)


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


def _run(script: str, *args: str, source: Path = ROOT) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(  # in the source folder: `python -c` puts the working folder first
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=source,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{done.stderr}")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(folder: Path, repeat: int, before: Path | None = None) -> dict:
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as out:
        runs = [
            ("pandas", PEER, (str(folder), "plain"), ROOT),
            ("pandas text", PEER, (str(folder), "text"), ROOT),
            ("winback", WINBACK, (str(folder), str(Path(out) / "import")), ROOT),
        ]
        if before is not None:
            runs.append(("before", BEFORE, (str(folder), str(Path(out) / "before")), before))
        for _ in range(repeat):
            for name, script, args, source in runs:
                r = _run(script, *args, source=source)
                if name in ("winback", "before") and r["code"] != 0:
                    raise RuntimeError(f"{name}: winback import exited {r['code']}")
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 200], choices=sorted(RESPONDENTS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--data", type=Path, help="folder for the generated files (kept)")
    p.add_argument(
        "--before",
        default=BEFORE_REV,
        help="git revision of winback timed beside (the import before the speed work; 'none' "
        f"to skip; default {BEFORE_REV})",
    )
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = p.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="winback-import-bench-"))
    rows = []
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
            peer, text, wb = best["pandas"], best["pandas text"], best["winback"]
            ratio = wb["seconds"] / peer["seconds"]
            stages = ", ".join(f"{k} {v:.2f} s" for k, v in wb["stages"].items())
            rest = wb["seconds"] - sum(wb["stages"].values())
            old = best.get("before")
            print(
                f"{size} MB ({mb:.1f} MB, {RESPONDENTS[size]:,} respondents): pandas.read_csv "
                f"{peer['seconds']:.2f} s ({peer['rss_mb']:.0f} MB), as text "
                f"{text['seconds']:.2f} s ({text['rss_mb']:.0f} MB); winback import "
                f"{wb['seconds']:.2f} s (CPU {wb['cpu']:.2f} s, {wb['rss_mb']:.0f} MB); ratio "
                f"{ratio:.1f} (target <= 10)"
                + (
                    f"; before ({args.before}) {old['seconds']:.2f} s (CPU {old['cpu']:.2f} s, "
                    f"{old['rss_mb']:.0f} MB), ratio {old['seconds'] / peer['seconds']:.1f}"
                    if old
                    else ""
                )
                + f"\n    stages: {stages}, other {rest:.2f} s",
                flush=True,
            )
            rows.append((size, mb, peer, text, wb, ratio, stages, rest, old))
    if not args.no_write:
        _write_results(rows, args.repeat, args.before)
    return 0


def _write_results(rows: list, repeat: int, rev: str) -> None:
    lines = [
        "",
        f"## Import speed (`benchmarks/import_bench.py`), {dt.date.today().isoformat()}",
        "",
        f"Python {platform.python_version()}, fastest of {repeat} alternating runs, each in a "
        "fresh process; peak memory is the process's maximum RSS (Python and pandas included); "
        "CPU is the process's user + system time (all threads). "
        "Ratio = winback import / `pandas.read_csv` with its defaults (wall times); before = "
        f"winback at {rev}, the revision before the speed work, on the same files in the same "
        "run.",
        "",
        "| files | pandas.read_csv | read_csv, every cell text | winback import | ratio | "
        "before | ratio before | stages of the import |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, mb, peer, text, wb, ratio, stages, rest, old in rows:
        before = (
            f"{old['seconds']:.2f} s (CPU {old['cpu']:.2f} s), {old['rss_mb']:.0f} MB | "
            f"{old['seconds'] / peer['seconds']:.1f}"
            if old
            else "- | -"
        )
        lines.append(
            f"| {mb:.1f} MB, {RESPONDENTS[size]:,} respondents | {peer['seconds']:.2f} s, "
            f"{peer['rss_mb']:.0f} MB | {text['seconds']:.2f} s, {text['rss_mb']:.0f} MB | "
            f"{wb['seconds']:.2f} s (CPU {wb['cpu']:.2f} s), {wb['rss_mb']:.0f} MB | "
            f"**{ratio:.1f}** | {before} | {stages}, other {rest:.2f} s |"
        )
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
