"""Peak memory of an HB fit by phase, at the scale check's size, without the real fit (issue 19
items 2 and 6).

The real scale check (``hb_vs_bayesm.py --scale``: 2,000 respondents x 15 tasks x (4 + none) x 20
parameters, 4 chains x (500 warm-up + 1,000 draws)) samples for 15+ minutes on a shared machine.
Its memory does not depend on how hard the posterior is to sample, only on what is stored, so
each phase is measured on a stand-in of the same size, each in a fresh process:

- ``sampling`` / ``conversion``: a trivial PyMC model with the same free variables as the HB
  model (``z``: respondents x parameters, ``mu``: parameters, ``chol``: the packed Cholesky
  factor), sampled by nutpie with the fit's settings: nutpie stores the same number of values
  per iteration, and its trace is converted into the posterior by nutpie's own conversion
  (``nutpie``, before) or chain by chain (``chain``, :mod:`analysis._nutpie_trace`, now);
- ``model``: the real model of the scale study built and compiled (its data, the compiled code:
  the base the sampling adds to);
- ``outputs``: a synthetic posterior of the real size through ``analysis.hb._postprocess``
  (beta, mu, sd, corr) and ``winback.pipeline.fit.write_fit`` (convergence report,
  part-worths, fit.nc, importances, population; no predictive validation, which the scale
  check does not run either), and the parts of write_fit one by one.

Peak: ``VmHWM`` of ``/proc/self/status``, reset with ``/proc/self/clear_refs`` before each
phase (Linux). The predicted peak of the real fit is the model's base plus the largest
increase of a phase over its own process's base. Prints a table and, with ``--json``, writes
the numbers.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/fit_memory.py [--sizes 1000 2000]
[--code DIR] [--json FILE]`` (about 5 minutes of CPU at 1,000 and 2,000 respondents).
``--code DIR`` imports winback from another checkout (e.g. ``git archive REV | tar -x -C DIR``)
for the outputs phase, to compare with an earlier revision.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

K = 20  # the scale study's parameters
CHAINS, TUNE, DRAWS = 4, 500, 1000  # winback fit's defaults


def _status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, value = line.split(":", 1)
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def _reset() -> float:
    """Collect garbage, reset the peak to the current RSS; the RSS (MB)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status()["VmRSS"]


def _phase(out: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    start = _reset()
    c0 = time.process_time()
    result = fn()
    st = _status()
    out[name] = {
        "start_mb": round(start),
        "peak_mb": round(st["VmHWM"]),
        "end_mb": round(st["VmRSS"]),
        "cpu_s": round(time.process_time() - c0, 1),
    }
    print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
    return result


# --------------------------------------------------------------------------------------------
# the phases, each run in a fresh process (--phase)


def main_sampling(n: int, method: str) -> dict[str, Any]:
    """Sampling and conversion peaks of the trivial model (see :func:`phase_sampling`)."""
    import nutpie
    import pandas as pd
    import pymc as pm
    from nutpie.sample import _arrow_to_arviz

    from analysis import _nutpie_trace
    from analysis.hb import compile_nutpie, numba_mode

    out: dict[str, Any] = {"respondents": n, "method": method}
    coords = {"respondent": np.arange(n), "parameter": np.arange(K)}
    with numba_mode():
        with pm.Model(coords=coords) as model:
            pm.Normal("mu_scaled", 0.0, 1.0, dims="parameter")
            pm.Normal("chol", 0.0, 1.0, shape=K * (K + 1) // 2)
            pm.Normal("z", 0.0, 1.0, dims=("respondent", "parameter"))
        compiled = compile_nutpie(model)
    out["base_mb"] = round(_reset())
    holder: dict[str, Any] = {}

    def sample() -> None:
        background = nutpie.sample(
            compiled,
            draws=DRAWS,
            tune=TUNE,
            chains=CHAINS,
            seed=1,
            progress_bar=False,
            save_warmup=False,
            return_raw_trace=True,
            blocking=False,
        )
        raw = background.wait()
        holder["settings"] = background._settings.as_dict()
        holder["model"] = background._compiled_model
        holder["batches"] = raw.get_arrow_trace()

    _phase(out, "sampling", sample)
    draws, stats = holder.pop("batches")
    settings, cmodel = holder["settings"], holder["model"]

    def convert() -> Any:
        if method == "chain":
            return _nutpie_trace.trace_to_tree(draws, stats, settings, cmodel)
        # what nutpie.sample does with the same batches (its _extract)
        return _arrow_to_arviz(
            draws,
            stats,
            skip_vars=_nutpie_trace._skipped_stats(settings),
            reparameterized_names=cmodel.reparameterized_names,
            coords={k: pd.Index(v) for k, v in cmodel.coords.items()},
            save_warmup=False,
            attrs={"sample_stats": {"inference_library": "nutpie"}},
        )

    tree = _phase(out, "conversion", convert)
    out["posterior_mb"] = round(tree["posterior"]["z"].nbytes / 2**20)
    return out


def main_model(n: int, work: Path) -> dict[str, Any]:
    """RSS with the scale study's data read and its model built and compiled."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import hb_vs_bayesm as bench

    from analysis import hb
    from analysis.data import prepare_choice_data
    from surveys import read_responses

    study, _, _, resp = bench.make_data(bench.scale_study_toml(), n, None, None, work)
    data = read_responses(resp, study)
    arrays = prepare_choice_data(data)
    with hb.numba_mode():
        model, _ = hb.build_model(arrays, hb.HBSettings())
        compiled = hb.compile_nutpie(model)
    out = {"respondents": n, "n_dim": int(compiled.n_dim), "base_mb": round(_reset())}
    return out


def _synthetic_posterior(arrays: Any, rng: np.random.Generator) -> Any:
    """A posterior of the real size, as the fit's conversion leaves it (writeable float64)."""
    import xarray as xr

    n, k = arrays.n_respondents, arrays.n_parameters
    z = np.empty((CHAINS, DRAWS, n, k))
    for c in range(CHAINS):
        z[c] = rng.standard_normal((DRAWS, n, k))
    lower = np.tril(rng.normal(size=(CHAINS, DRAWS, k, k)) * 0.3)
    i = np.arange(k)
    lower[..., i, i] = np.abs(lower[..., i, i]) + 0.5
    dims = {"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)}
    post = xr.Dataset(
        {
            "z": (("chain", "draw", "respondent", "parameter"), z),
            "mu_scaled": (("chain", "draw", "parameter"), rng.normal(size=(CHAINS, DRAWS, k))),
            "chol": (("chain", "draw", "chol_entry"), lower[..., *np.tril_indices(k)]),
        },
        coords={
            **dims,
            "parameter": list(arrays.names),
            "respondent": list(arrays.respondent_ids),
        },
    )
    shape = (CHAINS, DRAWS)
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(shape, dtype=bool)),
            "energy": (("chain", "draw"), rng.normal(size=shape)),
            "depth": (("chain", "draw"), np.full(shape, 6, dtype=np.uint64)),
            "n_steps": (("chain", "draw"), np.full(shape, 63, dtype=np.uint64)),
            "step_size": (("chain", "draw"), np.full(shape, 0.1)),
            "maxdepth_reached": (("chain", "draw"), np.zeros(shape, dtype=bool)),
        },
        coords=dims,
    )
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


def main_outputs(n: int, work: Path) -> dict[str, Any]:
    """``_postprocess`` and ``write_fit`` (and its parts) on a synthetic posterior."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import hb_vs_bayesm as bench

    from analysis import hb
    from analysis.convergence import convergence_report
    from analysis.data import prepare_choice_data
    from analysis.io import save_model
    from analysis.model import HBModel
    from analysis.results import importances, population
    from surveys import read_responses
    from winback.pipeline.fit import write_fit

    study, _, _, resp = bench.make_data(bench.scale_study_toml(), n, None, None, work / "data")
    data = read_responses(resp, study)
    arrays = prepare_choice_data(data)
    settings = hb.HBSettings()
    scale = arrays.column_scale()
    out: dict[str, Any] = {"respondents": n, "base_mb": round(_reset())}
    synthetic = _synthetic_posterior(arrays, np.random.default_rng(1))
    out["with_posterior_mb"] = round(_reset())
    # the trace is handed over as the fit hands it (no other reference to it)
    tree = _phase(out, "postprocess", partial(hb._postprocess, synthetic, arrays, settings, scale))
    del synthetic
    post = tree["posterior"]
    if isinstance(post.attrs.get("none_shift"), dict):
        # fit.nc cannot hold a dict attribute (the none shift's record, work in progress on
        # the lead's branch): as text here, to measure the writing
        post.attrs["none_shift"] = json.dumps(post.attrs["none_shift"])
    model = HBModel(study, settings, data, arrays, tree, 1.0)
    del tree, post
    _phase(out, "convergence_report", lambda: convergence_report(model))
    _phase(out, "partworths", lambda: model.partworths())
    _phase(out, "save_model", lambda: save_model(model, work / "fit.nc"))
    _phase(out, "importances", lambda: importances(model))
    _phase(out, "population", lambda: population(model))
    # no validation: at the scale check's size "auto" runs none either (no holdout tasks,
    # 30,000 estimation tasks > 12,000), and below 800 respondents it would refit the model
    _phase(out, "write_fit", lambda: write_fit(model, work / "fit", validation="none"))
    return out


# --------------------------------------------------------------------------------------------
# the driver


def _run(args: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    r = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _rise(res: dict[str, Any], phase: str, base: str = "base_mb") -> int:
    return int(res[phase]["peak_mb"] - res[base])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000])
    p.add_argument("--code", type=Path, help="import winback from here (outputs phase)")
    p.add_argument("--json", type=Path)
    p.add_argument("--outputs-only", action="store_true", help="only the outputs phase")
    p.add_argument("--phase", choices=["sampling", "model", "outputs"], help=argparse.SUPPRESS)
    p.add_argument("--method", default="chain", help=argparse.SUPPRESS)
    p.add_argument("--respondents", type=int, default=2000, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase:
        if a.code:
            # the packages from the other checkout, before hb_vs_bayesm puts this one first
            # on the path (their modules are then found in the packages' own folders)
            sys.path.insert(0, str(a.code.resolve()))
            import analysis
            import conjoint
            import surveys
            import winback

            print(f"code: {analysis.__file__}", file=sys.stderr)
            del analysis, conjoint, surveys, winback
        with tempfile.TemporaryDirectory(prefix="winback-fitmem-") as tmp:
            if a.phase == "sampling":
                res = main_sampling(a.respondents, a.method)
            elif a.phase == "model":
                res = main_model(a.respondents, Path(tmp))
            else:
                res = main_outputs(a.respondents, Path(tmp))
        print(json.dumps(res))
        return 0

    print(
        f"HB fit memory by phase ({CHAINS} chains x ({TUNE} + {DRAWS}), {K} parameters), "
        f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}"
    )
    results: dict[str, Any] = {"sizes": {}}
    code = ["--code", str(a.code.resolve())] if a.code else []
    for n in a.sizes:
        row: dict[str, Any] = {}
        if a.outputs_only:
            row["outputs"] = _run(["--phase", "outputs", "--respondents", str(n), *code])
            results["sizes"][n] = row
            print(f"\n{n} respondents, outputs: {json.dumps(row['outputs'])}")
            continue
        for method in ("nutpie", "chain"):
            if method == "nutpie" and n != max(a.sizes):
                continue  # the conversion as it was: at the largest size only
            row[method] = _run(["--phase", "sampling", "--method", method, "--respondents", str(n)])
        row["model"] = _run(["--phase", "model", "--respondents", str(n)])
        row["outputs"] = _run(["--phase", "outputs", "--respondents", str(n), *code])
        results["sizes"][n] = row
        base = row["model"]["base_mb"]
        ch, outp = row["chain"], row["outputs"]
        rises = {
            "sampling": _rise(ch, "sampling"),
            "conversion (chain by chain)": _rise(ch, "conversion"),
            "postprocess": _rise(outp, "postprocess"),
            "write_fit": _rise(outp, "write_fit"),
        }
        if "nutpie" in row:
            rises["conversion (nutpie's own)"] = _rise(row["nutpie"], "conversion")
        now = base + max(v for k, v in rises.items() if "nutpie" not in k)
        row["predicted_peak_mb"] = now
        print(f"\n{n} respondents: the model's base {base} MB; rise over the base by phase:")
        for k, v in rises.items():
            print(f"  {k:30s} +{v:5d} MB")
        print(f"  predicted peak of the fit: {now} MB")
        if "nutpie" in row:
            before = base + max(rises["conversion (nutpie's own)"], rises["sampling"])
            row["predicted_peak_before_mb"] = before
            print(f"  with nutpie's own conversion: {before} MB")
    if len(a.sizes) >= 2 and not a.outputs_only:
        ns = np.array(a.sizes, dtype=float)
        peaks = np.array([results["sizes"][n]["predicted_peak_mb"] for n in a.sizes], float)
        slope, fixed = np.polyfit(ns, peaks, 1)
        results["per_1000_respondents_mb"] = round(1000 * slope)
        results["fixed_mb"] = round(fixed)
        print(
            f"\npeak = {fixed:.0f} MB + {1000 * slope:.0f} MB per 1,000 respondents "
            f"({CHAINS} x {DRAWS} draws, {K} parameters)"
        )
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
