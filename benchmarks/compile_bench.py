"""Compilation of the HB model for studies of structures never fitted on the machine (issue 19,
item 1).

Every probe is a fresh Python process with a private PyTensor compilation cache (its numba
cache included; ``PYTENSOR_FLAGS=base_compiledir=DIR``) that times the imports, the model build
and the compilation exactly as ``analysis.fit`` does them (``build_model`` then
``compile_nutpie``), and prints PyTensor's cache keys of the compiled log density and
expansion. In order, with one cache:

(a) an empty cache, study A (the HB benchmark study of ``hb_vs_bayesm.py``: 5 attributes, none
    option, 10 parameters): the very first fit on a machine;
(b) a rerun of A;
(c) studies of other structures, never fitted with this cache: B (other attributes and levels,
    4 alternatives, no none option, 12 parameters), B with a monotone order constraint and a
    negative price, B with two respondent covariates, C (yet another structure, 15
    parameters) with covariates and constraints, and A with a diagonal covariance;

and prints each one's extra compile time over the rerun (b). Target: at most 5 s. The number of
respondents differs between the studies too.

Run: ``.venv/bin/python benchmarks/compile_bench.py [--json FILE] [--workdir DIR]`` (about 3
minutes on 2 cores). Installs nothing.
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
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hb_vs_bayesm import STUDY_TOML, cache_env, make_data, scale_truth  # noqa: E402

from conjoint.encoding import parameter_names  # noqa: E402
from winback.study import parse_study  # noqa: E402

STUDY_B = """\
[study]
name = "compile benchmark B"
none_option = false
price_attribute = "price"

[[attributes]]
name = "plan"
levels = ["Basic", "Plus", "Max"]

[[attributes]]
name = "speed"
levels = ["50 Mbps", "250 Mbps", "500 Mbps", "1 Gbps"]

[[attributes]]
name = "tv"
levels = ["no", "yes"]

[[attributes]]
name = "router"
levels = ["own", "rented", "included"]

[[attributes]]
name = "term"
levels = ["none", "12 months", "24 months"]

[[attributes]]
name = "price"
levels = [25.0, 30.0, 35.0, 40.0]
coding = "linear"

[design]
method = "balanced_overlap"
alternatives = 4
tasks = 10
versions = 20
seed = 3
"""

STUDY_C = """\
[study]
name = "compile benchmark C"
none_option = true
price_attribute = "price"

[[attributes]]
name = "brand"
levels = ["A", "B", "C", "D", "E", "F"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "300 Mbps", "600 Mbps", "1 Gbps"]

[[attributes]]
name = "support"
levels = ["Standard", "Priority", "Dedicated"]

[[attributes]]
name = "mobile"
levels = ["none", "5 GB", "unlimited"]

[[attributes]]
name = "price"
levels = [20.0, 30.0, 40.0, 50.0]
coding = "linear"

[design]
method = "balanced_overlap"
alternatives = 3
tasks = 8
versions = 20
seed = 5
"""

# label, study, respondents, covariates, constraints, covariance
CASES: list[tuple[str, str, str, int, bool, dict[str, str], str]] = [
    ("a_empty_cache", "A", STUDY_TOML, 150, False, {}, "full"),
    ("b_rerun", "A", STUDY_TOML, 150, False, {}, "full"),
    ("c_B", "B", STUDY_B, 120, False, {}, "full"),
    (
        "c_B_constrained",
        "B",
        STUDY_B,
        120,
        False,
        {"speed": "increasing", "price": "negative"},
        "full",
    ),
    ("c_B_covariates", "B", STUDY_B, 120, True, {}, "full"),
    (
        "c_C_covariates_constrained",
        "C",
        STUDY_C,
        90,
        True,
        {"support": "increasing", "price": "negative"},
        "full",
    ),
    ("c_A_diagonal", "A", STUDY_TOML, 150, False, {}, "diagonal"),
]


def probe(study_path: Path, resp_path: Path, spec: str) -> int:
    """Hidden mode ``--probe``: in this fresh process, time imports, build and compilation as
    ``analysis.fit`` does them; print JSON with the cache keys and one log density."""
    t0 = time.perf_counter()
    import pandas as pd

    from analysis.data import prepare_choice_data
    from analysis.hb import HBSettings, build_model, compile_nutpie, numba_mode
    from analysis.model import resolve_constraints
    from surveys import read_responses
    from winback.study import load_study

    out: dict[str, Any] = {}
    opts = json.loads(spec)
    study = load_study(study_path)
    dataset = read_responses(resp_path, study)
    covariates = None
    if opts["covariates"]:
        ids = list(dataset.included_ids)
        rng = np.random.default_rng(len(ids))
        covariates = pd.DataFrame(
            {
                "respondent_id": ids,
                "tenure": rng.integers(1, 120, len(ids)).astype(float),
                "complained": rng.integers(0, 2, len(ids)).astype(float),
            }
        )
    arrays = prepare_choice_data(dataset, covariates=covariates)
    settings = HBSettings(
        covariance=opts["covariance"],
        constraints=resolve_constraints(study, opts["constraints"]),
        covariates=arrays.covariate_names,
    )
    with numba_mode():
        t0 = time.perf_counter()
        model, _ = build_model(arrays, settings)
        out["build_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        compiled = compile_nutpie(model)
        out["compile_seconds"] = time.perf_counter() - t0
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    for name in ("logp", "expand"):
        fn = getattr(compiled, f"{name}_func").vm.jit_fn
        out[f"{name}_key"] = CACHED_SRC_FUNCTIONS.get(getattr(fn, "py_func", None))
    out["n_dim"] = int(compiled.n_dim)
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--workdir", type=Path, help="keep data and cache here")
    p.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        return probe(Path(args.probe[0]), Path(args.probe[1]), args.probe[2])
    work = args.workdir or Path(tempfile.mkdtemp(prefix="winback-compile-"))
    cache = work / "pytensor-cache"
    shutil.rmtree(cache, ignore_errors=True)
    load = os.getloadavg()
    print(f"private cache {cache}; load average at the start {load[0]:.2f}", flush=True)
    data: dict[str, tuple[Path, Path]] = {}
    results: dict[str, dict[str, Any]] = {}
    for label, name, toml, n, cov, cons, covariance in CASES:
        if (name, n) not in data:
            names = parameter_names(parse_study(toml))
            means, sd = scale_truth(names)
            means = {k: v for k, v in means.items() if k in names}
            sd = {k: v for k, v in sd.items() if k in names}
            _, _, sp, rp = make_data(toml, n, means, sd, work / f"study_{name}_{n}")
            data[name, n] = (sp, rp)
        sp, rp = data[name, n]
        spec = json.dumps({"covariates": cov, "constraints": cons, "covariance": covariance})
        cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", str(sp), str(rp), spec]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=cache_env(cache))
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            print(f"{label}: probe failed: {r.stderr.strip()[-1500:]}")
            return 1
        info = json.loads(r.stdout.strip().splitlines()[-1])
        info["process_seconds"] = wall
        results[label] = info
        print(
            f"{label:28s} compile {info['compile_seconds']:6.2f} s, build "
            f"{info['build_seconds']:.2f} s, whole process {wall:6.2f} s, logp key "
            f"{str(info['logp_key'])[:12]}, expand key {str(info['expand_key'])[:12]}",
            flush=True,
        )
    rerun = results["b_rerun"]
    print("\nextra time over the rerun (b), compile / whole process (target <= 5 s):")
    for label, info in results.items():
        if not label.startswith("c_"):
            continue
        extra = info["compile_seconds"] - rerun["compile_seconds"]
        extra_p = info["process_seconds"] - rerun["process_seconds"]
        verdict = "met" if extra <= 5 else "NOT met"
        print(f"  {label:28s} {extra:+6.2f} s / {extra_p:+6.2f} s  ({verdict})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"load_start": load, "cases": results}, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
