"""How long each `winback` command takes before its own work starts (issue 19 item 5).

For every command: the wall time of a fresh interpreter that imports the command line and the
one stage module the command loads (what `winback CMD ...` does before reading its inputs),
the fastest of ``--repeat`` runs and the smallest CPU time (user + system: on a loaded machine
the figure to compare), next to a fresh interpreter importing pandas alone (the floor every
command that reads a table pays) and `winback --version`, each with its wall and CPU time over
pandas'. A command whose start takes more than :data:`LIMIT_CPU` of CPU time (user + system of
the child, in the environment as it is) is flagged: wall time on a shared machine counts the
other work too. Also lists the heavy libraries each stage loads.

Two CPU columns: the environment as it is (with ``PYTHONDONTWRITEBYTECODE=1`` and no
``__pycache__`` beside the sources, as in the worktrees here, Python compiles every winback
module on every start: about 5 ms a module), and "bytecode": what an installed winback costs,
its modules (and pandas') compiled once into a temporary ``PYTHONPYCACHEPREFIX`` before the
timed runs. Usage::

    .venv/bin/python benchmarks/startup_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

#: command -> the stage module `winback.cli.commands` imports for it
STAGES = {
    "design": "winback.pipeline.design",
    "import": "winback.pipeline.responses",
    "fit": "winback.pipeline.fit",
    "fit --model latent-class": "winback.pipeline.latent",
    "simulate": "winback.pipeline.market",
    "recommend": "winback.pipeline.recommend",
    "target": "winback.pipeline.target",
    "outcomes": "winback.pipeline.outcomes",
    "report": "winback.pipeline.report",
    "run": "winback.waves.parallel",  # what `from winback.waves import run_waves` loads
    "compare-waves": "winback.waves.compare",
}
#: a command's start is flagged above this CPU time (s, user + system of the child)
LIMIT_CPU = 1.0
HEAVY = ("pandas", "numba", "scipy.special", "scipy.stats", "scipy.optimize", "pymc", "pytensor",
         "arviz", "xarray", "matplotlib", "openpyxl", "sqlalchemy", "dask")  # fmt: skip


def wall(code: str, repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """The fastest wall time and the smallest CPU time (user + system, of the child process:
    what other work on a loaded machine does not inflate much) of ``repeat`` runs."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        best_cpu = min(best_cpu, cpu)
    return best, best_cpu


def flag(cpu: float, limit: float = LIMIT_CPU) -> str:
    """``ok``, or ``over 1 s CPU`` when the CPU time ``cpu`` (s, user + system of the child)
    exceeds ``limit`` (s), whatever the wall time.

    Examples
    --------
    >>> flag(0.62), flag(1.2)
    ('ok', 'over 1 s CPU')
    """
    return "ok" if cpu <= limit else f"over {limit:g} s CPU"


def stage_line(
    name: str,
    wall_s: float,
    cpu_s: float,
    cpu_bytecode_s: float,
    base: tuple[float, float],
    loaded: str,
) -> str:
    """One command's line: wall, CPU and CPU with bytecode (s), wall and CPU over ``base``
    (pandas' wall and CPU, s), the flag by CPU time (:func:`flag`) and the heavy libraries."""
    return (
        f"{name:34s} {wall_s:5.2f} s {cpu_s:5.2f} s  {cpu_bytecode_s:10.2f} s"
        f"  (over pandas: wall {wall_s - base[0]:+5.2f} s, CPU {cpu_s - base[1]:+5.2f} s)"
        f"  {flag(cpu_s):13s} loads: {loaded or '-'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    dont_write = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    print(f"PYTHONDONTWRITEBYTECODE={dont_write!r} in this environment")
    with tempfile.TemporaryDirectory(prefix="winback-pycache-") as cache:
        compiled = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
        compiled.pop("PYTHONDONTWRITEBYTECODE", None)
        codes = {
            'python -c "import pandas"': "import pandas",
            "winback --version": "from winback.cli import main\ntry:\n main(['--version'])\n"
            "except SystemExit:\n pass",
        }
        codes |= {f"winback {cmd}": f"from winback.cli import main\nimport {stage}"
                  for cmd, stage in STAGES.items()}  # fmt: skip
        for code in codes.values():  # compile once into the cache
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           env=compiled)  # fmt: skip
        print(f"{'':34s} {'wall':>6s}  {'CPU':>6s}  {'CPU, bytecode':>13s}"
              f"  (flagged: CPU over {LIMIT_CPU:g} s)")  # fmt: skip
        base = (0.0, 0.0)
        for name, code in codes.items():
            t, t_cpu = wall(code, args.repeat)
            _, c_cpu = wall(code, args.repeat, env=compiled)
            if name.startswith("python"):
                base = (t, t_cpu)
            stage = STAGES.get(name.removeprefix("winback "))
            if stage is None:
                print(f"{name:34s} {t:5.2f} s {t_cpu:5.2f} s  {c_cpu:10.2f} s")
                continue
            probe = (
                f"import sys, {stage}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
            )
            loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                    text=True, check=True).stdout.strip()  # fmt: skip
            print(stage_line(name, t, t_cpu, c_cpu, base, loaded))


if __name__ == "__main__":
    main()
