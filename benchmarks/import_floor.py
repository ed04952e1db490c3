"""What an import costs before its own work: the fixed parts that bound the ratio of
``winback import`` to ``pandas.read_csv`` (issue 14 item 4).

Each part runs in a fresh process after ``import pandas`` (as ``import_bench.py`` times the
import), ``--repeat`` times: ``pandas.read_csv`` of the two files (the reference); numba's
import; numba's first call of a cached kernel (LLVM, numba's typing and target set-up, the cache
index); a module of winback's cached kernels and its first call; Arrow reading both files with
every cell as text; the two files' bytes copied to a new file with fsync. Prints each part's
times and the sum of the fixed ones against 10 x ``read_csv``.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/import_floor.py --data
/tmp/import-bench-data/20mb`` (the folder ``import_bench.py --data`` writes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

PART = textwrap.dedent(
    """
    import os, sys, tempfile, time
    import pandas as pd
    folder, what = sys.argv[1], sys.argv[2]
    files = [folder + "/responses.csv", folder + "/respondents.csv"]
    t = time.perf_counter()
    if what == "read_csv":
        for f in files:
            pd.read_csv(f)
    elif what == "import numba":
        import numba
    elif what == "first cached call":
        import numba
        import numpy as np
        from winback._csvfast import _first_rows
        t = time.perf_counter()
        _first_rows(np.zeros(3, np.uint16), np.zeros(3, np.int64))
    elif what == "kernel module":
        import numba
        import numpy as np
        from winback._csvfast import _first_rows
        _first_rows(np.zeros(3, np.uint16), np.zeros(3, np.int64))
        t = time.perf_counter()
        import surveys.quality._kernels
    elif what == "Arrow, every cell text":
        import pyarrow as pa
        import pyarrow.csv as pc
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            opts = pc.ConvertOptions(strings_can_be_null=False, auto_dict_encode=True)
            names = pc.read_csv(pa.py_buffer(data.split(b"\\n", 1)[0] + b"\\n")).column_names
            opts.column_types = {n: pa.string() for n in names}
            pc.read_csv(pa.py_buffer(data), convert_options=opts)
    elif what == "copy with fsync":
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            fd, tmp = tempfile.mkstemp(dir=folder)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.unlink(tmp)
    print(time.perf_counter() - t)
    """
)

PARTS = (
    "read_csv",
    "import numba",
    "first cached call",
    "kernel module",
    "Arrow, every cell text",
    "copy with fsync",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a folder of import_bench.py's files")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    root = str(Path(__file__).resolve().parent.parent)
    times: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(args.repeat):  # the parts alternate
        for part in PARTS:
            r = subprocess.run(
                [sys.executable, "-c", PART, args.data, part],
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
            )
            times[part].append(float(r.stdout.strip().splitlines()[-1]))
    for part, ts in times.items():
        print(f"{part:24s} " + "  ".join(f"{t:.3f}" for t in ts) + " s")
    best = {part: min(ts) for part, ts in times.items()}
    fixed = sum(best[p] for p in PARTS[1:])
    print(
        f"fixed parts, fastest runs: {fixed:.2f} s against 10 x read_csv = "
        f"{10 * best['read_csv']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
