"""Does ``winback import`` still write the same files? Before and after a speed change.

Runs ``winback.pipeline.run_import`` (what ``winback import`` runs) from two source trees on
the same files, each in a fresh process, and compares every file of the two import folders
byte for byte (``run.json`` without its ``written`` time): ``responses.csv`` and
``respondents.csv`` (the canonical copies), ``quality.csv`` (every flag and RLH of every
respondent), ``counts.csv``, ``exclusions.csv``, ``reasons.csv``, ``reasons.txt`` and
``import.json``.

The files are those of ``benchmarks/import_bench.py`` (the example study, its design, simulated
lost customers): ``small`` (300 respondents, 1.2 MB) and ``20`` (5,200 respondents, 21 MB), or
``200`` (52,000, 214 MB) on request. "Before" is a git revision taken out into the data folder
(default: the revision before issue 14's last speed work); "after" is this tree.

Run ``python benchmarks/import_check.py [--before REV] [--sizes small 20] [--data DIR]``; exit
status 0 when every file is the same, 1 otherwise (the differing files are named).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import ROOT, _checkout, make_files

#: the revision before the second round of speed work on the import (issue 14 item 4)
BEFORE_REV = "657b8ce"
#: respondents per data set
SIZES = {"small": 300, "20": 5_200, "200": 52_000}

IMPORT = """
import sys
from winback.pipeline import run_import
from winback.study import load_study
folder, out = sys.argv[1], sys.argv[2]
run_import(load_study(folder + "/study.toml"), folder + "/responses.csv", out,
           design=folder + "/design", force=True)
"""


def run_import_from(source: Path, folder: Path, out: Path) -> None:
    """``run_import`` of ``folder``'s files into ``out`` with winback from ``source``."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT, str(folder), str(out)],
        capture_output=True, text=True, cwd=source, check=False,
        env={**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"import from {source} failed:\n{done.stderr}")


def _content(path: Path) -> bytes:
    if path.name != "run.json":
        return path.read_bytes()
    record = json.loads(path.read_text(encoding="utf-8"))
    record.pop("written", None)
    return json.dumps(record, sort_keys=True).encode()


def compare(before: Path, after: Path) -> list[str]:
    """The differences between two import folders, one line per file (empty: the same)."""
    names = sorted({p.name for p in before.iterdir()} | {p.name for p in after.iterdir()})
    problems = []
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            problems.append(f"{name}: only {'after' if b.exists() else 'before'}")
            continue
        x, y = _content(a), _content(b)
        if x != y:
            at = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), None)
            at = min(len(x), len(y)) if at is None else at
            line = x[:at].count(b"\n") + 1
            problems.append(f"{name}: {len(x):,} vs {len(y):,} bytes, first difference line {line}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default=BEFORE_REV, help=f"git revision (default {BEFORE_REV})")
    p.add_argument("--sizes", nargs="+", default=["small", "20"], choices=list(SIZES))
    p.add_argument("--data", type=Path, help="folder of the generated files (kept)")
    args = p.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="winback-import-check-"))
    failed = False
    before = data / f"winback-{args.before}"  # kept: its numba kernels compile once
    if not before.exists():
        _checkout(args.before, before)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = data / (f"{size}mb" if size != "small" else size)
            if not (folder / "responses.csv").exists():
                make_files(folder, SIZES[size])
            outs = Path(tmp) / size
            run_import_from(before, folder, outs / "before")
            run_import_from(ROOT, folder, outs / "after")
            problems = compare(outs / "before", outs / "after")
            files = len(list((outs / "after").iterdir()))
            verdict = "the same" if not problems else "DIFFERENT"
            print(f"{size} ({SIZES[size]:,} respondents): {files} files, {verdict}")
            for line in problems:
                print(f"    {line}")
            failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
