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
    parameters) with covariates and constraints, A with a diagonal covariance, A with an
    earlier wave's prior on the population mean, and C with prices in cents (a design packed
    as int16 codes) and on no grid (float64 codes);

and prints each one's extra compile time over the rerun (b), wall and CPU (the probe's
process time: other work on the machine does not count), and the CPU time of one call of the
compiled log density and gradient (what the model's graph costs per leapfrog step). Target: at
most 5 s. The number of
respondents differs between the studies too. Then (d) every compiled entry in the cache is
damaged and A compiled again: it must compile anew and give the same log density.
``--baseline COMMIT`` runs (a)-(c) on an older commit too (``git archive``, its own cache), for
the before/after in one run.

Run: ``.venv/bin/python benchmarks/compile_bench.py [--json FILE] [--workdir DIR] [--baseline
COMMIT]`` (about 3 minutes on 2 idle cores, 6 when loaded). ``--widths`` instead times the
likelihood kernel on the design packed as int8, int16, float32 and float64 codes (why each
width keeps its own kernel); ``--density`` times the whole model's log density and gradient
(CPU per call) for the full and the diagonal covariance and an earlier wave's prior. Installs
nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

# a probe of the baseline (--baseline) imports winback from an exported older commit
ROOT = Path(os.environ.get("COMPILE_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))
# the packages first, from ROOT: hb_vs_bayesm puts its own tree first on sys.path, and a
# baseline's probe (COMPILE_BENCH_ROOT) would otherwise import this tree's packages
for _package in ("analysis", "conjoint", "surveys", "winback"):
    importlib.import_module(_package)

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

STUDY_C_CENTS = STUDY_C.replace("[20.0, 30.0, 40.0, 50.0]", "[19.99, 29.49, 41.37, 49.99]")
STUDY_C_NO_GRID = STUDY_C.replace(
    "[20.0, 30.0, 40.0, 50.0]", "[20.0, 28.2842712474619, 40.0, 50.0]"
)

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
    # an earlier wave's prior on the population mean (``winback fit --prior``)
    ("c_A_prior", "A", STUDY_TOML, 150, False, {}, "full+prior"),
    # designs that pack to other widths (analysis._kernels.pack_design): prices in cents give
    # int16 codes, prices on no grid float64 codes (each was a compiled model of its own
    # until the kernel took all three widths)
    ("c_C_cents_int16", "C_cents", STUDY_C_CENTS, 90, False, {}, "full"),
    ("c_C_no_grid_float64", "C_no_grid", STUDY_C_NO_GRID, 90, False, {}, "full"),
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
    covariance, _, prior = opts["covariance"].partition("+")
    k = arrays.n_parameters
    settings = HBSettings(
        covariance=covariance,
        constraints=resolve_constraints(study, opts["constraints"]),
        covariates=arrays.covariate_names,
        # an earlier wave's prior: its population mean and covariance (original scale)
        prior_mean=np.linspace(-0.5, 0.5, k) if prior else None,
        prior_cov=np.eye(k) * 0.25 + 0.05 if prior else None,
    )
    with numba_mode():
        t0 = time.perf_counter()
        model, _ = build_model(arrays, settings)
        out["build_seconds"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        compiled = compile_nutpie(model)
        out["compile_seconds"] = time.perf_counter() - t0
        out["compile_cpu_seconds"] = time.process_time() - c0
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    for name in ("logp", "expand"):
        fn = getattr(compiled, f"{name}_func").vm.jit_fn
        py_func = getattr(fn, "py_func", None)
        out[f"{name}_key"] = CACHED_SRC_FUNCTIONS.get(py_func) if py_func is not None else None
    out["n_dim"] = int(compiled.n_dim)
    from analysis._kernels import pack_design

    packed = pack_design(arrays.x, arrays.resp, arrays.y, arrays.avail, arrays.n_respondents)
    out["codes"] = packed.codes.dtype.name
    # the log density at a fixed point, through nutpie's C callback
    import ctypes

    x = 0.1 * np.sin(np.arange(compiled.n_dim, dtype=float))
    grad, lp = np.zeros(compiled.n_dim), np.zeros(1)
    dp = ctypes.POINTER(ctypes.c_double)
    compiled.compiled_logp_func.ctypes(
        compiled.n_dim,
        x.ctypes.data_as(dp),
        grad.ctypes.data_as(dp),
        lp.ctypes.data_as(dp),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    out["logp"] = float(lp[0])
    out["grad_norm"] = float(np.linalg.norm(grad))
    # CPU milliseconds per log density and gradient (the whole model, nutpie's callback), best
    # of 5 rounds: what a family's graph costs the sampler per leapfrog step
    calls, best = 2000, np.inf
    args = (compiled.n_dim, x.ctypes.data_as(dp), grad.ctypes.data_as(dp), lp.ctypes.data_as(dp))
    user = ctypes.c_void_p(compiled.user_data.ctypes.data)
    for _ in range(5):
        c0 = time.process_time()
        for _ in range(calls):
            compiled.compiled_logp_func.ctypes(*args, user)
        best = min(best, (time.process_time() - c0) / calls * 1e3)
    out["density_ms"] = best
    print(json.dumps(out))
    return 0


def _bench_arrays(toml: str, n: int, folder: Path) -> Any:
    """Choice arrays of ``n`` simulated respondents of the study ``toml`` (the scale check's
    truth for its parameters), written into ``folder``."""
    from analysis.data import prepare_choice_data
    from surveys import read_responses

    names = parameter_names(parse_study(toml))
    means, sd = scale_truth(names)
    study, _, _, rp = make_data(
        toml,
        n,
        {k: v for k, v in means.items() if k in names},
        {k: v for k, v in sd.items() if k in names},
        folder,
    )
    return prepare_choice_data(read_responses(rp, study))


def widths(work: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    """``--widths``: milliseconds per call of the likelihood kernel and its gradient
    (``mnl_beta_loglik`` with ``pt.grad``, compiled with numba as in a fit) on the same design
    packed as int8 codes (what ``pack_design`` picks here), int16, float32 and float64, for the
    benchmark study A (150 respondents) and the 2,000-respondent scale study of
    ``hb_vs_bayesm.py``; the widths alternate, ``repeats`` rounds, best round reported."""
    import pytensor
    import pytensor.tensor as pt
    from hb_vs_bayesm import scale_study_toml

    from analysis._kernels import mnl_beta_loglik, pack_design
    from analysis.hb import numba_mode

    out: dict[str, dict[str, float]] = {}
    for label, toml, n in (
        ("A (150)", STUDY_TOML, 150),
        ("scale (2000)", scale_study_toml(), 2000),
    ):
        arrays = _bench_arrays(toml, n, work / f"widths_{n}")
        packed = pack_design(arrays.x, arrays.resp, arrays.y, arrays.avail, arrays.n_respondents)
        beta0 = np.random.default_rng(1).normal(size=(arrays.n_respondents, arrays.n_parameters))
        fns = {}
        with numba_mode():
            for dtype in ("int8", "int16", "float32", "float64"):
                beta = pt.dmatrix("beta")
                codes = pytensor.shared(packed.codes.astype(dtype))
                ll = mnl_beta_loglik(
                    beta * packed.step,
                    codes,
                    pytensor.shared(packed.ptr),
                    pytensor.shared(packed.y),
                    pytensor.shared(packed.mask),
                )
                fns[dtype] = pytensor.function([beta], [ll, pt.grad(ll, beta)])
                fns[dtype](beta0)
        calls = max(20, 60_000 // n)
        best = dict.fromkeys(fns, np.inf)
        for _ in range(repeats):
            for dtype, fn in fns.items():
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn(beta0)
                best[dtype] = min(best[dtype], (time.perf_counter() - t0) / calls * 1e3)
        out[label] = best
        line = ", ".join(
            f"{d} {ms:.3f} ms ({ms / best['int8'] - 1:+.0%})" for d, ms in best.items()
        )
        print(f"{label}: packed as {packed.codes.dtype}; per call {line}", flush=True)
    return out


def density(work: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    """``--density``: CPU milliseconds per call of the whole model's compiled log density and
    gradient (nutpie's callback, as the sampler calls it) for the full covariance, the diagonal
    covariance and the full covariance with an earlier wave's prior, on study A (150
    respondents) and the 2,000-respondent, 20-parameter scale study of ``hb_vs_bayesm.py``; the
    three alternate, ``repeats`` rounds, best round reported. Run it on two trees (the other
    with ``COMPILE_BENCH_ROOT`` and ``PYTHONPATH``) for a before/after of a graph change."""
    import ctypes

    from hb_vs_bayesm import scale_study_toml

    from analysis.hb import HBSettings, build_model, compile_nutpie, numba_mode

    out: dict[str, dict[str, float]] = {}
    dp = ctypes.POINTER(ctypes.c_double)
    for label, toml, n in (
        ("A (150)", STUDY_TOML, 150),
        ("scale (2000)", scale_study_toml(), 2000),
    ):
        arrays = _bench_arrays(toml, n, work / f"density_{n}")
        k = arrays.n_parameters
        calls_of = {}
        for family in ("full", "diagonal", "full+prior"):
            covariance, _, prior = family.partition("+")
            settings = HBSettings(
                covariance=covariance,
                prior_mean=np.linspace(-0.5, 0.5, k) if prior else None,
                prior_cov=np.eye(k) * 0.25 + 0.05 if prior else None,
            )
            with numba_mode():
                compiled = compile_nutpie(build_model(arrays, settings)[0])
            x = 0.1 * np.sin(np.arange(compiled.n_dim, dtype=float))
            grad, lp = np.zeros(compiled.n_dim), np.zeros(1)
            keep = (compiled, x, grad, lp)  # the buffers outlive the pointers
            args = (
                compiled.n_dim,
                x.ctypes.data_as(dp),
                grad.ctypes.data_as(dp),
                lp.ctypes.data_as(dp),
                ctypes.c_void_p(compiled.user_data.ctypes.data),
            )
            calls_of[family] = (compiled.compiled_logp_func.ctypes, args, keep)
        calls = max(20, 100_000 // n)
        best = dict.fromkeys(calls_of, np.inf)
        for _ in range(repeats):
            for family, (fn, args, _) in calls_of.items():
                c0 = time.process_time()
                for _ in range(calls):
                    fn(*args)
                best[family] = min(best[family], (time.process_time() - c0) / calls * 1e3)
        out[label] = best
        line = ", ".join(
            f"{f} {ms:.4f} ms ({ms / best['full'] - 1:+.1%})" for f, ms in best.items()
        )
        print(f"{label}: CPU per log density + gradient: {line}", flush=True)
    return out


def run_cases(
    work: Path, cache: Path, env: dict[str, str], cases: list[Any]
) -> dict[str, dict[str, Any]]:
    """Every case of ``cases`` in order, each in a fresh process, with the compilation
    cache ``cache`` (emptied first); ``env`` added to the processes' environment."""
    shutil.rmtree(cache, ignore_errors=True)
    data: dict[tuple[str, int], tuple[Path, Path]] = {}
    results: dict[str, dict[str, Any]] = {}
    env = {**env, "NUMBA_CACHE_DIR": str(cache / "numba-kernels")}  # winback's own kernels
    for label, name, toml, n, cov, cons, covariance in cases:
        if label == "d_damaged_rerun":
            # every compiled entry damaged (cut to 100 bytes): compiled anew, the same result
            for f in cache.rglob("*.nbc"):
                f.write_bytes(f.read_bytes()[:100])
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
        r = subprocess.run(
            cmd, capture_output=True, text=True, env={**cache_env(cache), **env}, check=False
        )
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{label}: probe failed: {r.stderr.strip()[-1500:]}")
        info = json.loads(r.stdout.strip().splitlines()[-1])
        info["process_seconds"] = wall
        results[label] = info
        print(
            f"{label:28s} {info.get('codes', '?'):7s} compile {info['compile_seconds']:6.2f} s "
            f"({info.get('compile_cpu_seconds', float('nan')):6.2f} s CPU), density "
            f"{info.get('density_ms', float('nan')):.4f} ms CPU, build "
            f"{info['build_seconds']:.2f} s, whole process {wall:6.2f} s, logp key "
            f"{str(info['logp_key'])[:12]}, expand key {str(info['expand_key'])[:12]}, "
            f"logp {info.get('logp', float('nan')):.6f}",
            flush=True,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--workdir", type=Path, help="keep data and cache here")
    p.add_argument("--baseline", help="also run the cases on this git commit (e.g. HEAD~3)")
    p.add_argument(
        "--widths", action="store_true", help="only time the kernel per packed design width"
    )
    p.add_argument(
        "--density",
        action="store_true",
        help="only time the whole model's log density and gradient per family (CPU)",
    )
    p.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        return probe(Path(args.probe[0]), Path(args.probe[1]), args.probe[2])
    work = args.workdir or Path(tempfile.mkdtemp(prefix="winback-compile-"))
    if args.widths or args.density:
        print(f"load average at the start {os.getloadavg()[0]:.2f}", flush=True)
        res = widths(work) if args.widths else density(work)
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        if args.json:
            args.json.write_text(json.dumps(res, indent=1))
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    cache = work / "pytensor-cache"
    shutil.rmtree(cache, ignore_errors=True)
    load = os.getloadavg()
    print(f"private cache {cache}; load average at the start {load[0]:.2f}", flush=True)
    damaged: tuple[Any, ...] = ("d_damaged_rerun", "A", STUDY_TOML, 150, False, {}, "full")
    results = run_cases(work, cache, {}, [*CASES, damaged])
    if args.baseline:
        base = work / "baseline"
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent.parent), "archive", args.baseline],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        print(f"\nbaseline {args.baseline} (its own private cache):", flush=True)
        env = {"COMPILE_BENCH_ROOT": str(base), "PYTHONPATH": str(base)}
        results_base = run_cases(work, work / "pytensor-cache-baseline", env, CASES)
    else:
        results_base = {}
    for name, res in (("this tree", results), (f"baseline {args.baseline}", results_base)):
        if not res:
            continue
        rerun = res["b_rerun"]
        print(
            f"\n{name}: extra time over the rerun (b), compile wall / compile CPU / whole "
            "process (target <= 5 s); log density and gradient per call (CPU):"
        )
        for label, info in res.items():
            if not label.startswith("c_"):
                continue
            extra = info["compile_seconds"] - rerun["compile_seconds"]
            extra_cpu = info.get("compile_cpu_seconds", np.nan) - rerun.get(
                "compile_cpu_seconds", np.nan
            )
            extra_p = info["process_seconds"] - rerun["process_seconds"]
            verdict = "met" if (extra_cpu if np.isfinite(extra_cpu) else extra) <= 5 else "NOT met"
            print(
                f"  {label:28s} {extra:+6.2f} s / {extra_cpu:+6.2f} s CPU / {extra_p:+6.2f} s  "
                f"({verdict}); density {info.get('density_ms', np.nan):.4f} ms"
            )
    if "d_damaged_rerun" in results:
        d, b = results["d_damaged_rerun"], results["b_rerun"]
        same = d["logp"] == b["logp"] and d["grad_norm"] == b["grad_norm"]
        print(
            f"\nevery cache entry damaged, then A again: compile {d['compile_seconds']:.2f} s, "
            f"log density {d['logp']:.9f} vs {b['logp']:.9f} in the rerun: "
            f"{'the same' if same else 'DIFFERENT'}"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        out = {"load_start": load, "cases": results, "baseline": results_base}
        args.json.write_text(json.dumps(out, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
