"""Memory of ``winback import`` stage by stage: minor page faults, system time and peak RSS
(issue 14 item 4, "with memory bounded").

On a virtual machine, touching fresh memory for the first time is expensive and erratic (a
page fault, the host backing the page): a 200 MB import spent more system time than parsing
time. Page faults and peak resident memory do not depend on the load of the machine, so they
measure memory work where wall times cannot. Each run is a fresh process that imports its
libraries, then calls ``run_import`` (what ``winback import`` runs) once on the files of
``benchmarks/import_bench.py``, with ``resource.getrusage`` read around each stage: ``read``
(``surveys._csv.read_table``, both files), ``validate`` (``validate_coded``), ``flags``
(``flag_quality``) and ``outputs`` (every file written); "peak" is the process's largest RSS
when the stage ends, page-cache pages of a mapped file included. ``--before REV`` runs winback
at that git revision beside it (runs alternate; the median of ``--repeat`` runs is kept).

Run ``PYTHONPATH=$PWD .venv/bin/python benchmarks/import_memory.py [--sizes 20 200] [--before
REV] [--repeat 3] [--data DIR]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import RESPONDENTS, ROOT, _checkout, _run, make_files

STAGES = ("read", "validate", "flags", "outputs", "total")

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import pandas
    import surveys._csv, surveys.responses
    import winback.pipeline.responses as stage_module
    from winback.study import load_study
    folder, out = sys.argv[1], sys.argv[2]
    stages = {}

    def watched(module, name, label):
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            try:
                return inner(*args, **kwargs)
            finally:
                r1 = resource.getrusage(resource.RUSAGE_SELF)
                s = stages.setdefault(label, {"faults": 0, "sys": 0.0, "user": 0.0})
                s["faults"] += r1.ru_minflt - r0.ru_minflt
                s["sys"] += r1.ru_stime - r0.ru_stime
                s["user"] += r1.ru_utime - r0.ru_utime
                s["peak_mb"] = r1.ru_maxrss / 1024

        setattr(module, name, wrapper)

    watched(surveys._csv, "read_table", "read")
    watched(surveys.responses, "validate_coded", "validate")
    watched(stage_module, "flag_quality", "flags")
    watched(stage_module, "_write_import", "outputs")
    watched(stage_module, "run_import", "total")
    study = load_study(folder + "/study.toml")
    stage_module.run_import(study, folder + "/responses.csv", out,
                            design=folder + "/design", force=True)
    print(json.dumps(stages))
    """
)


def measure(folder: Path, source: Path, out: Path) -> dict[str, dict[str, float]]:
    """One fresh process's stages (faults, system and user seconds, peak MB)."""
    result: dict[str, dict[str, float]] = _run(SCRIPT, str(folder), str(out), source=source)
    return result


def _median(runs: list[dict[str, dict[str, float]]], stage: str, key: str) -> float:
    return statistics.median(r[stage][key] for r in runs)


def table(size: int, results: dict[str, list[dict[str, dict[str, float]]]]) -> str:
    names = list(results)
    head = " | ".join(f"{n}: faults, sys s, user s, peak MB" for n in names)
    lines = [f"| {size} MB stage | {head} |", "|---" * (1 + len(names)) + "|"]
    for stage in STAGES:
        cells = []
        for n in names:
            runs = results[n]
            cells.append(
                f"{_median(runs, stage, 'faults'):,.0f}, {_median(runs, stage, 'sys'):.2f}, "
                f"{_median(runs, stage, 'user'):.2f}, {_median(runs, stage, 'peak_mb'):,.0f}"
            )
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 200], choices=sorted(RESPONDENTS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--before", help="git revision run beside this tree")
    p.add_argument("--data", type=Path, help="folder of the generated files (kept)")
    p.add_argument("--json", type=Path, help="write every run's numbers here")
    args = p.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="winback-import-memory-"))
    everything = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT}
        if args.before:  # kept in the data folder: its numba kernels compile once
            before = data / f"winback-{args.before}"
            if not before.exists():
                _checkout(args.before, before)
            trees = {args.before: before, **trees}
        for size in args.sizes:
            folder = data / f"{size}mb"
            if not (folder / "responses.csv").exists():
                make_files(folder, RESPONDENTS[size])
            results: dict[str, list[dict[str, dict[str, float]]]] = {n: [] for n in trees}
            for _ in range(args.repeat):
                for name, source in trees.items():
                    results[name].append(measure(folder, source, Path(tmp) / "out"))
            print(table(size, results), flush=True)
            everything[size] = results
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
