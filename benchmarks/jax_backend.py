"""The JAX backend against the default (numba) on the same simulated study, in one run.

The study is the scale check's (benchmarks/hb_vs_bayesm.py ``--scale``: 15 tasks x 4
alternatives + none, 20 parameters) with ``--respondents`` respondents. Each backend fits it
with ``analysis.fit`` in a process of its own (so peak memory is its own); printed per backend:
wall time of the fit (compilation included), the smallest bulk ESS of the population means and
sds, ESS per second, peak memory, and jax's devices. With both backends, the population means'
agreement: the largest |difference| in units of the combined Monte Carlo standard error.

Run: ``.venv/bin/python benchmarks/jax_backend.py --respondents 200 --backend numba jax``;
``benchmarks/gpu.sh`` runs it on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def one_fit(backend: str, n: int, draws: int, tune: int, chains: int, out: Path) -> None:
    """Fit in this process and write the numbers (and the population means) to ``out``."""
    import arviz as az
    from hb_vs_bayesm import make_data, scale_study_toml

    from analysis import fit
    from surveys import read_responses

    with tempfile.TemporaryDirectory() as tmp:
        study, _, _, resp_path = make_data(scale_study_toml(), n, None, None, Path(tmp))
        data = read_responses(resp_path, study)
    devices = "numba (CPU)"
    if backend == "jax":
        import jax

        devices = ", ".join(str(d) for d in jax.devices())
    t0 = time.perf_counter()
    model = fit(data, draws=draws, tune=tune, chains=chains, random_seed=1, backend=backend)
    wall = time.perf_counter() - t0
    post = model.idata_["posterior"].to_dataset()
    ess = az.ess(post, var_names=["mu", "sd"], method="bulk")
    mcse = az.mcse(post, var_names=["mu"])
    ess_min = float(min(ess[v].min() for v in ("mu", "sd")))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(
        json.dumps(
            {
                "backend": backend,
                "devices": devices,
                "wall": wall,
                "ess_min": ess_min,
                "ess_per_s": ess_min / wall,
                "rss_mb": rss_mb,
                "mu": post["mu"].mean(("chain", "draw")).to_numpy().tolist(),
                "mcse": mcse["mu"].to_numpy().tolist(),
                "names": model.names,
            }
        )
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--respondents", type=int, default=200)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--backend", nargs="+", choices=["numba", "jax"], default=["numba", "jax"])
    p.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one is not None:
        one_fit(args.backend[0], args.respondents, args.draws, args.tune, args.chains, args.one)
        return 0
    load = os.getloadavg()[0]
    print(
        f"JAX backend benchmark, {time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores, "
        f"load average at start {load:.2f}; {args.respondents} respondents x 15 tasks x (4 + "
        f"none) x 20 parameters, {args.chains} chains x ({args.tune} + {args.draws})"
    )
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for b in args.backend:
            out = Path(tmp) / f"{b}.json"
            cmd = [sys.executable, __file__, "--one", str(out), "--backend", b]
            cmd += ["--respondents", str(args.respondents), "--draws", str(args.draws)]
            cmd += ["--tune", str(args.tune), "--chains", str(args.chains)]
            r = subprocess.run(cmd, check=False)
            if r.returncode != 0 or not out.exists():
                print(f"{b}: the fit failed (exit {r.returncode})")
                return 1
            res = results[b] = json.loads(out.read_text())
            print(
                f"{b:5s} on {res['devices']}: {res['wall']:.1f} s (compilation included), "
                f"min bulk ESS (mu, sd) {res['ess_min']:.0f}, ESS/s {res['ess_per_s']:.2f}, "
                f"peak memory {res['rss_mb']:.0f} MB"
            )
    if {"numba", "jax"} <= results.keys():
        a, b = results["numba"], results["jax"]
        diff = np.abs(np.array(a["mu"]) - np.array(b["mu"]))
        se = np.hypot(a["mcse"], b["mcse"])
        z = diff / se
        w = int(np.argmax(z))
        print(
            f"agreement of the population means: largest |jax - numba| / combined MCSE "
            f"{z[w]:.2f} ({a['names'][w]}: numba {a['mu'][w]:.3f}, jax {b['mu'][w]:.3f}); "
            f"mean {z.mean():.2f}; time ratio jax / numba {b['wall'] / a['wall']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
