"""HB benchmark: winback's HB-MNL (PyMC + nutpie) against R's bayesm on the same data, one run.

Issue 4. The same simulated study is fitted by
  * winback: the whole command ``winback fit study.toml responses.csv --out DIR`` with its
    defaults (4 chains x 1000 draws after 500 tuning steps, nutpie, full covariance), timed end
    to end as a subprocess (Python start-up, imports, reading, compilation, sampling, writing)
    with a fresh private PyTensor cache warmed up on another study first: a study new to a
    machine where winback has run. The posterior is then read back with
    ``analysis.io.load_model(DIR / "fit.nc")``; compilation is re-measured in fresh processes
    for a new study, new data of a study fitted before, a rerun and an empty cache;
  * bayesm: ``rhierMnlRwMixture`` (R = 20,000, keep = 10, one normal component, default priors)
    through ``Rscript benchmarks/bayesm_fit.R`` on the very design rows winback estimates from
    (``prepare_choice_data``'s x: dummy coding, linear price, the none alternative a row holding
    only the none constant); the first half of its kept draws is discarded as burn-in.

Both posteriors are scored by the same Python code: wall time, bulk ESS of every individual
part-worth (respondent x parameter; ``arviz_stats``' rank-normalised split-chain ESS, the
estimator of ``arviz.ess(method="bulk")``) per second of the whole run, and recovery of the
simulated individual part-worths (correlation and RMSE of posterior means with the truth).

Targets: time winback / bayesm <= 1; ESS/s winback / bayesm >= 5 on individual part-worths;
recovery winback >= bayesm.

``--scale``: instead, the scale check (issue 19 item 2): 2,000 respondents x 15 tasks x 4
alternatives + a none alternative, 20 parameters, ``winback fit`` with its defaults, then bayesm
on the same data in the same run; wall time (target <= 300 s), peak memory (target <= 3 GB,
``/usr/bin/time -v``), the verdict and the slowest population quantity's bulk and tail ESS
(target >= 400), ESS/s and the ratios to bayesm (``--no-bayesm``: winback alone).

Run: ``.venv/bin/python benchmarks/hb_vs_bayesm.py [--scale] [--json FILE] [--workdir DIR]``.
Needs R with bayesm (Debian: r-cran-bayesm) for the comparison. Installs nothing.
"""

from __future__ import annotations

import os

# one BLAS/OpenMP thread in this process and both subprocesses (nutpie runs its chains on its
# own threads, one per core; bayesm runs one chain)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.data import ChoiceArrays, prepare_choice_data  # noqa: E402
from conjoint.design import make_design  # noqa: E402
from conjoint.simulate import simulate_choices  # noqa: E402
from surveys import read_responses  # noqa: E402
from winback._io import write_csv  # noqa: E402
from winback.study import Study, parse_study  # noqa: E402

SEED = 20261123
BAYESM_R = 20_000
BAYESM_KEEP = 10

# Main case: 4 + 3 + 3 + 2 levels, linear price (5 values), none: 3+2+2+1+1+1 = 10 parameters.
STUDY_TOML = """\
[study]
name = "HB benchmark (issue 4)"
none_option = true
price_attribute = "price"

[[attributes]]
name = "brand"
levels = ["A", "B", "C", "D"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "300 Mbps", "1 Gbps"]

[[attributes]]
name = "contract"
levels = ["24 months", "12 months", "No contract"]

[[attributes]]
name = "support"
levels = ["Standard", "Priority"]

[[attributes]]
name = "price"
levels = [20.0, 25.0, 30.0, 35.0, 40.0]
coding = "linear"

[design]
method = "balanced_overlap"
alternatives = 3
tasks = 12
versions = 30
seed = 7
"""

# Population means: contrasts 0.5-1.5, price -0.15 per EUR (3 utility units over 20-40 EUR),
# none -3.0 (chosen in about 18% of tasks). Independent normal heterogeneity.
TRUE_MEANS: dict[str, float] = {
    "brand[B]": 0.5,
    "brand[C]": 1.0,
    "brand[D]": -0.5,
    "speed[300 Mbps]": 0.8,
    "speed[1 Gbps]": 1.5,
    "contract[12 months]": 0.5,
    "contract[No contract]": 1.0,
    "support[Priority]": 0.7,
    "price": -0.15,
    "none": -3.0,
}
TRUE_SD: dict[str, float] = {
    **{k: 0.75 for k in TRUE_MEANS},
    "price": 0.05,  # a third of the slope: an sd of 0.5-1.0 per EUR would be absurd
    "none": 1.0,
}
N_RESPONDENTS = 300


def scale_study_toml() -> str:
    """Scale case: 5+4+4+3+3+3+2+2 levels, linear price, none: 20 parameters; 15 tasks x 4."""
    levels = {"a": 5, "b": 4, "c": 4, "d": 3, "e": 3, "f": 3, "g": 2, "h": 2}
    attrs = "".join(
        f'\n[[attributes]]\nname = "{n}"\nlevels = [{", ".join(f'"{n}{i + 1}"' for i in range(k))}]\n'
        for n, k in levels.items()
    )
    return (
        '[study]\nname = "HB scale check (issue 4)"\nnone_option = true\n'
        'price_attribute = "price"\n'
        f"{attrs}\n"
        '[[attributes]]\nname = "price"\nlevels = [20.0, 25.0, 30.0, 35.0, 40.0]\n'
        'coding = "linear"\n\n'
        '[design]\nmethod = "balanced_overlap"\nalternatives = 4\ntasks = 15\nversions = 30\n'
        "seed = 7\n"
    )


def scale_truth(names: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    rng = np.random.default_rng(SEED)
    means = {n: float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)) for n in names}
    means["price"], means["none"] = -0.15, -2.6
    sd = {n: 0.75 for n in names}
    sd["price"], sd["none"] = 0.05, 1.0
    return means, sd


# --------------------------------------------------------------------------------------------
# running and timing subprocesses


@dataclass
class Timed:
    wall: float
    returncode: int
    stdout: str
    stderr: str
    cpu: float  # user + system seconds of the process and its children
    max_rss_mb: float | None  # peak resident memory (/usr/bin/time -v), MB


def run_timed(cmd: list[str], timeout: float = 7200, env: dict[str, str] | None = None) -> Timed:
    """Run ``cmd``; wall time, CPU time and (with GNU time) peak memory."""
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as f:
        time_file = Path(f.name)
    full = [str(gnu_time), "-v", "-o", str(time_file), *cmd] if gnu_time.exists() else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss = None
    text = time_file.read_text() if time_file.exists() else ""
    time_file.unlink(missing_ok=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        rss = int(m.group(1)) / 1024
    return Timed(wall, r.returncode, r.stdout, r.stderr, cpu, rss)


def winback_command() -> list[str]:
    exe = Path(sys.executable).parent / "winback"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "winback.cli"]


# --------------------------------------------------------------------------------------------
# data


def make_data(
    toml: str, n: int, means: dict[str, float] | None, sd: dict[str, float] | None, folder: Path
) -> tuple[Study, pd.DataFrame, Path, Path]:
    """Study, design, simulated answers (canonical winback format) written into ``folder``."""
    study = parse_study(toml)
    design = make_design(study)
    if means is None or sd is None:
        from conjoint.encoding import parameter_names

        means, sd = scale_truth(parameter_names(study))
    responses, truth = simulate_choices(
        design, means, SEED, n_respondents=n, sd=sd, return_part_worths=True
    )
    folder.mkdir(parents=True, exist_ok=True)
    study_path = folder / "study.toml"
    study_path.write_text(toml, encoding="utf-8")
    resp_path = folder / "responses.csv"
    write_csv(responses, resp_path)
    return study, truth, study_path, resp_path


def write_bayesm_data(arrays: ChoiceArrays, path: Path) -> None:
    """One row per alternative: resp (1..N), obs (1..T), alt (1..p), chosen, design columns."""
    n_obs, p, k = arrays.x.shape
    resp = np.repeat(arrays.resp + 1, p)
    # task number within respondent (observations are grouped by respondent, in task order)
    first = np.r_[0, np.flatnonzero(np.diff(arrays.resp)) + 1]
    obs_in = np.arange(n_obs) - np.repeat(first, np.diff(np.r_[first, n_obs]))
    if not arrays.avail.all():
        raise SystemExit("bayesm needs the same alternatives in every task")
    frame = pd.DataFrame(
        {
            "resp": resp,
            "obs": np.repeat(obs_in + 1, p),
            "alt": np.tile(np.arange(1, p + 1), n_obs),
            "chosen": (np.arange(p)[None, :] == arrays.y[:, None]).astype(int).ravel(),
        }
    )
    cols = pd.DataFrame(arrays.x.reshape(-1, k), columns=[f"x{j + 1:02d}" for j in range(k)])
    pd.concat([frame, cols], axis=1).to_csv(path, index=False, float_format="%.10g")


# --------------------------------------------------------------------------------------------
# metrics, identical for both tools


def bulk_ess(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS of (chain, draw, respondent, parameter) draws -> (respondent, parameter).

    arviz_stats' rank-normalised split-chain estimator (what ``arviz.ess(method="bulk")`` uses;
    Vehtari et al. 2021), applied to the draws as an array.
    """
    from arviz_stats.base import array_stats

    return np.asarray(array_stats.ess(draws, chain_axis=0, draw_axis=1, method="bulk"))


def recovery(est: np.ndarray, truth: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Correlation and RMSE of posterior-mean individual part-worths against the truth.

    Per parameter on the original scale; pooled after standardising every parameter by the
    truth's mean and standard deviation (so price per EUR weighs like the dummies).
    """
    per = {}
    for j, n in enumerate(names):
        per[n] = {
            "corr": float(np.corrcoef(est[:, j], truth[:, j])[0, 1]),
            "rmse": float(np.sqrt(np.mean((est[:, j] - truth[:, j]) ** 2))),
        }
    mu, sd = truth.mean(axis=0), truth.std(axis=0)
    ze, zt = (est - mu) / sd, (truth - mu) / sd
    return {
        "per_parameter": per,
        "pooled_corr": float(np.corrcoef(ze.ravel(), zt.ravel())[0, 1]),
        "pooled_rmse_std": float(np.sqrt(np.mean((ze - zt) ** 2))),
        "mean_corr": float(np.mean([v["corr"] for v in per.values()])),
    }


@dataclass
class ToolResult:
    name: str
    wall: float
    inner: float  # the estimation call alone
    cpu: float
    max_rss_mb: float | None
    draws: np.ndarray  # (chain, draw, respondent, parameter)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    ess: np.ndarray = field(default_factory=lambda: np.empty(0))
    rec: dict[str, Any] = field(default_factory=dict)

    def score(self, truth: np.ndarray, names: list[str], fast: bool = False) -> None:
        if fast:  # winback's vectorised estimator, equal to arviz_stats' to 1e-10 (tested)
            from analysis._mcmc import diagnose

            self.ess = diagnose(self.draws)[1]
        else:
            self.ess = bulk_ess(self.draws)
        self.rec = recovery(self.draws.mean(axis=(0, 1)), truth, names)

    @property
    def ess_median(self) -> float:
        return float(np.median(self.ess))

    @property
    def ess_min(self) -> float:
        return float(np.min(self.ess))


# --------------------------------------------------------------------------------------------
# winback


def api_fit(study_path: Path, resp_path: Path, out: Path) -> int:
    """Hidden mode ``--api-fit``: ``analysis.fit`` with its defaults in a fresh process, for when
    ``winback fit`` cannot run; saves the draws and timings into ``out``."""
    from analysis import fit
    from winback.study import load_study

    t0 = time.perf_counter()
    study = load_study(study_path)
    data = read_responses(resp_path, study)
    model = fit(data)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "beta.npy", model.beta_draws())
    stats = model.idata_["sample_stats"]
    info = {
        "seconds": time.perf_counter() - t0,
        "fit_seconds": model.seconds_,
        "names": model.names,
        "respondent_ids": model.respondent_ids,
        **sample_stat_summary(stats),
    }
    (out / "api.json").write_text(json.dumps(info))
    return 0


def sample_stat_summary(stats: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in ("depth", "n_steps", "step_size", "mean_tree_accept"):
        if key in stats:
            out[f"mean_{key}"] = float(np.asarray(stats[key]).mean())
    if "n_steps" in stats:
        out["total_n_steps"] = float(np.asarray(stats["n_steps"]).sum())
    if "maxdepth_reached" in stats:
        out["maxdepth_share"] = float(np.asarray(stats["maxdepth_reached"]).mean())
    if "diverging" in stats:
        out["divergences"] = float(np.asarray(stats["diverging"]).sum())
    return out


def cache_env(cache: Path) -> dict[str, str]:
    """The environment with PyTensor's compilation cache (its numba cache included) in
    ``cache``."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    base = f"base_compiledir={cache}"
    return {**os.environ, "PYTENSOR_FLAGS": f"{flags},{base}" if flags else base}


def subset_responses(resp_path: Path, drop: int, out: Path) -> Path:
    """``responses.csv`` without its last ``drop`` respondents: other data of the same study
    (a different number of respondents, so nothing compiled for the full data fits it)."""
    df = pd.read_csv(resp_path, dtype=str, keep_default_na=False)
    ids = list(pd.unique(df["respondent_id"]))
    df[df["respondent_id"].isin(ids[: len(ids) - drop])].to_csv(out, index=False)
    return out


def other_study_toml(*brands: str) -> str:
    """The benchmark study with more brands: another study (more parameters), for which
    nothing compiled for the benchmark study fits."""
    levels = ", ".join(f'"{b}"' for b in ("A", "B", "C", "D", *brands))
    return STUDY_TOML.replace('levels = ["A", "B", "C", "D"]', f"levels = [{levels}]")


def warm_up(work: Path, cache: Path) -> float:
    """Fit another study (one more brand, 100 respondents, few draws) with the private
    compilation cache ``cache``: afterwards the machine is one where winback has run before,
    but never on this study. Returns the seconds it took."""
    _, _, study_path, resp_path = make_data(other_study_toml("E"), 100, None, None, work / "warmup")
    cmd = [*winback_command(), "-q", "fit", str(study_path), str(resp_path)]
    cmd += ["--out", str(work / "warmup_fit"), "--draws", "100", "--tune", "100", "--force"]
    t = run_timed(cmd, env=cache_env(cache))
    if t.returncode not in (0, 4):
        raise SystemExit(f"warm-up fit failed (exit {t.returncode}): {t.stderr[-1500:]}")
    return t.wall


def run_winback(
    study_path: Path,
    resp_path: Path,
    out: Path,
    arrays: ChoiceArrays,
    load: bool = True,
    cache: Path | None = None,
) -> ToolResult | None:
    """Time ``winback fit`` (with the compilation cache ``cache`` if given); read its posterior
    back (``load``), or, when the command cannot run and ``load``, time the Python API in a
    fresh process instead."""
    # --force: a rerun in the same --workdir replaces the earlier fit (as a whole)
    cmd = [*winback_command(), "-q", "fit", str(study_path), str(resp_path), "--out", str(out)]
    cmd.append("--force")
    print("winback: " + " ".join(cmd), flush=True)
    t = run_timed(cmd, env=cache_env(cache) if cache is not None else None)
    notes: list[str] = []
    extra: dict[str, Any] = {"command": " ".join(cmd)}
    draws = None
    ok = t.returncode in (0, 4) and (out / "diagnostics.json").exists()
    if ok:
        diag = json.loads((out / "diagnostics.json").read_text())
        extra["diagnostics"] = diag
        inner = float(diag.get("fit_seconds", diag.get("seconds", np.nan)))
        if t.returncode == 4:
            notes.append("winback's convergence verdict: fail (exit 4)")
        if not load:
            return ToolResult(
                "winback", t.wall, inner, t.cpu, t.max_rss_mb, np.empty(0), notes, extra
            )
        try:
            from analysis.io import load_model

            model = load_model(out / "fit.nc")
            draws = model.beta_draws()
            if list(model.names) != list(arrays.names):
                raise SystemExit(f"parameter order differs: {model.names} vs {arrays.names}")
            if list(model.respondent_ids) != list(arrays.respondent_ids):
                raise SystemExit("respondent order differs between fit.nc and the data")
            extra["sample_stats"] = sample_stat_summary(model.idata_["sample_stats"])
            notes.append("posterior read with analysis.io.load_model(DIR/fit.nc)")
        except Exception as exc:  # any failure to read it back: refit through the API
            notes.append(f"load_model unavailable ({exc!r}); posterior from an API refit")
    else:
        print(
            f"  winback fit failed (exit {t.returncode}) after {t.wall:.1f} s, peak memory "
            f"{fmt(t.max_rss_mb, '.0f')} MB, CPU {t.cpu:.0f} s: {t.stderr.strip()[-1500:]}"
        )
        if not load:
            return None
        notes.append(
            f"`winback fit` failed (exit {t.returncode}: {t.stderr.strip().splitlines()[-1:]})"
            "; timed the Python API (analysis.fit, defaults) in a fresh process instead"
        )
    if draws is None:
        api_out = out.parent / (out.name + "_api")
        cmd2 = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--api-fit",
            str(study_path),
            str(resp_path),
            str(api_out),
        ]
        t2 = run_timed(cmd2)
        if t2.returncode != 0:
            print(f"  API fit failed too: {t2.stderr.strip()[-1500:]}")
            return None
        info = json.loads((api_out / "api.json").read_text())
        draws = np.load(api_out / "beta.npy")
        extra["sample_stats"] = {
            k: v for k, v in info.items() if k.startswith(("mean_", "total_", "max", "div"))
        }
        if not ok:
            t, inner = t2, float(info["fit_seconds"])
            extra["diagnostics"] = {"seconds": info["seconds"], "fit_seconds": info["fit_seconds"]}
    return ToolResult("winback", t.wall, inner, t.cpu, t.max_rss_mb, draws, notes, extra)


def compile_probe(study_path: Path, resp_path: Path) -> int:
    """Hidden mode ``--compile-probe``: in a fresh process, time the imports, building and
    compiling winback's default model and one log-density + gradient evaluation; print JSON."""
    t0 = time.perf_counter()
    import warnings

    import pytensor

    from analysis.hb import HBSettings, build_model, compile_nutpie
    from winback.study import load_study

    out: dict[str, float] = {"import_seconds": time.perf_counter() - t0}
    arrays = prepare_choice_data(read_responses(resp_path, load_study(study_path)))
    with pytensor.config.change_flags(mode="NUMBA"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        t0 = time.perf_counter()
        model, _ = build_model(arrays, HBSettings())
        out["build_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        compile_nutpie(model)  # as analysis.fit compiles it
        out["compile_seconds"] = time.perf_counter() - t0
        # one log-density + gradient evaluation (PyMC's numba-compiled function of the same
        # graph nutpie evaluates), averaged over many calls
        try:
            f = model.logp_dlogp_function(ravel_inputs=True, mode="NUMBA")
            f.set_extra_values({})
            ip = model.initial_point()
            x0 = np.concatenate([np.ravel(ip[v.name]) for v in model.value_vars])
            f(x0)
            n = 200
            t0 = time.perf_counter()
            for _ in range(n):
                f(x0)
            out["gradient_ms"] = (time.perf_counter() - t0) / n * 1000
        except Exception as exc:  # the breakdown is optional
            print(f"gradient timing skipped: {exc!r}", file=sys.stderr)
    print(json.dumps(out))
    return 0


def winback_breakdown(
    study_path: Path, resp_path: Path, work: Path, cache: Path
) -> dict[str, float]:
    """Where winback's time goes, from fresh processes: start-up + imports, build, and
    compilation four ways: another study never fitted on this machine (two more brands: as the
    timed run met the benchmark study), new data of a study fitted before (two respondents
    fewer: the next wave), a rerun of the same data, and an empty cache (the very first fit on
    a machine); and the cost of one gradient."""
    out: dict[str, float] = {}
    t = run_timed([sys.executable, "-c", "import analysis, pymc, nutpie, surveys, winback.cli"])
    out["startup_import_seconds"] = t.wall
    other = make_data(other_study_toml("E", "F"), 150, None, None, work / "probe_study")
    cases = {
        "new_study": (other[2], other[3], cache),
        "new_data": (study_path, subset_responses(resp_path, 2, work / "probe.csv"), cache),
        "rerun": (study_path, resp_path, cache),
        "cold": (study_path, resp_path, work / "pytensor-cold-cache"),
    }
    for label, (study_file, responses, folder) in cases.items():
        probe = [sys.executable, str(Path(__file__).resolve()), "--compile-probe"]
        probe += [str(study_file), str(responses)]
        r = subprocess.run(
            probe, capture_output=True, text=True, env=cache_env(folder), timeout=1800
        )
        if r.returncode != 0:
            print(f"  (compile probe failed: {r.stderr.strip()[-500:]})")
            continue
        info = json.loads(r.stdout.strip().splitlines()[-1])
        out[f"compile_{label}_seconds"] = info["compile_seconds"]
        if label == "rerun":
            out["build_seconds"] = info["build_seconds"]
            if "gradient_ms" in info:
                out["gradient_ms"] = info["gradient_ms"]
    return out


# --------------------------------------------------------------------------------------------
# bayesm


def run_bayesm(arrays: ChoiceArrays, folder: Path) -> ToolResult | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("bayesm: Rscript not found; skipped")
        return None
    data = folder / "bayesm_data.csv"
    write_bayesm_data(arrays, data)
    out = folder / "bayesm_out"
    script = ROOT / "benchmarks" / "bayesm_fit.R"
    cmd = [rscript, str(script), str(data), str(out), str(BAYESM_R), str(BAYESM_KEEP), "1"]
    print("bayesm: " + " ".join(cmd), flush=True)
    t = run_timed(cmd)
    if t.returncode != 0:
        print(f"  bayesm failed (exit {t.returncode}): {t.stderr.strip()[-1500:]}")
        return None
    info = json.loads((out / "timing.json").read_text())
    n, k, m = info["n_respondents"], info["n_parameters"], info["n_kept"]
    # R's column-major betadraw[i, k, r] -> numpy (r, k, i) -> (i, k, r)
    raw = np.fromfile(out / "betadraw.bin", dtype="<f8").reshape(m, k, n).transpose(2, 1, 0)
    kept = raw[:, :, m // 2 :]  # burn-in: the first half of the kept draws
    draws = kept.transpose(2, 0, 1)[None]  # (1 chain, draw, respondent, parameter)
    notes = [
        f"one chain, R = {info['R']}, keep = {info['keep']}: {m} kept, first {m // 2} discarded",
        f"bayesm {info['bayesm']}, {info['r_version']}",
    ]
    return ToolResult(
        "bayesm",
        t.wall,
        float(info["elapsed"]),
        t.cpu,
        t.max_rss_mb,
        draws,
        notes,
        {"timing": info, "command": " ".join(cmd)},
    )


# --------------------------------------------------------------------------------------------
# report


def fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None or not np.isfinite(v) else format(v, spec)


def report(wb: ToolResult, bm: ToolResult | None, names: list[str]) -> dict[str, Any]:
    tools = [wb] + ([bm] if bm is not None else [])
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, values: list[str]) -> None:
        rows.append((label, values))

    add("wall time, whole run (s)", [fmt(t.wall) for t in tools])
    add("estimation call alone (s)", [fmt(t.inner) for t in tools])
    add("CPU time, user+sys (s)", [fmt(t.cpu) for t in tools])
    add("peak memory (MB)", [fmt(t.max_rss_mb, ".0f") for t in tools])
    add("posterior draws used", [f"{t.draws.shape[0]} x {t.draws.shape[1]}" for t in tools])
    add("bulk ESS, median", [fmt(t.ess_median, ".0f") for t in tools])
    add("bulk ESS, min", [fmt(t.ess_min, ".0f") for t in tools])
    add("ESS/s (whole run), median", [fmt(t.ess_median / t.wall, ".2f") for t in tools])
    add("ESS/s (whole run), min", [fmt(t.ess_min / t.wall, ".3f") for t in tools])
    add("ESS/s (estimation call), median", [fmt(t.ess_median / t.inner, ".2f") for t in tools])
    add("recovery: pooled corr (standardised)", [fmt(t.rec["pooled_corr"], ".3f") for t in tools])
    add("recovery: mean per-parameter corr", [fmt(t.rec["mean_corr"], ".3f") for t in tools])
    add(
        "recovery: pooled RMSE (standardised)",
        [fmt(t.rec["pooled_rmse_std"], ".3f") for t in tools],
    )
    for n in names:
        add(
            f"  corr / RMSE {n}",
            [
                f"{t.rec['per_parameter'][n]['corr']:.3f} / {t.rec['per_parameter'][n]['rmse']:.3f}"
                for t in tools
            ],
        )
    width = max(len(r[0]) for r in rows)
    header = f"{'':{width}}  " + "  ".join(f"{t.name:>16}" for t in tools)
    print(header)
    for label, vals in rows:
        print(f"{label:{width}}  " + "  ".join(f"{v:>16}" for v in vals))
    out: dict[str, Any] = {
        "rows": rows,
        "tools": {
            t.name: {
                "wall": t.wall,
                "inner": t.inner,
                "cpu": t.cpu,
                "max_rss_mb": t.max_rss_mb,
                "ess_median": t.ess_median,
                "ess_min": t.ess_min,
                "ess_q05": float(np.quantile(t.ess, 0.05)),
                "recovery": t.rec,
                "notes": t.notes,
                "extra": t.extra,
            }
            for t in tools
        },
    }
    if bm is None:
        return out
    r_time = wb.wall / bm.wall
    r_ess_med = (wb.ess_median / wb.wall) / (bm.ess_median / bm.wall)
    r_ess_min = (wb.ess_min / wb.wall) / (bm.ess_min / bm.wall)
    r_ess_inner = (wb.ess_median / wb.inner) / (bm.ess_median / bm.inner)
    rec_w, rec_b = wb.rec["pooled_corr"], bm.rec["pooled_corr"]
    checks = {
        "time": r_time <= 1.0,
        "ess_per_second": r_ess_med >= 5.0,
        "recovery": rec_w >= rec_b,
    }
    print()
    print(
        f"time winback / bayesm (whole runs): {r_time:.2f}  [target <= 1: "
        f"{'met' if checks['time'] else 'MISSED'}]"
    )
    print(
        f"ESS/s winback / bayesm, individual part-worths: median {r_ess_med:.2f}, min "
        f"{r_ess_min:.2f}  [target >= 5 (median): "
        f"{'met' if checks['ess_per_second'] else 'MISSED'}]; "
        f"estimation calls alone: median {r_ess_inner:.2f}"
    )
    r_cpu = wb.cpu / bm.cpu
    r_ess_cpu = (wb.ess_median / wb.cpu) / (bm.ess_median / bm.cpu)
    print(
        f"CPU seconds winback / bayesm: {r_cpu:.2f}; ESS per CPU second, median: {r_ess_cpu:.2f}"
        " (less sensitive to other load on the machine; winback samples 4 chains on all cores)"
    )
    print(
        f"recovery (pooled corr) winback {rec_w:.3f} vs bayesm {rec_b:.3f}  [target >=: "
        f"{'met' if checks['recovery'] else 'MISSED'}]"
    )
    out["ratios"] = {
        "time": r_time,
        "ess_per_second_median": r_ess_med,
        "ess_per_second_min": r_ess_min,
        "ess_per_second_estimation_median": r_ess_inner,
        "cpu": r_cpu,
        "ess_per_cpu_second_median": r_ess_cpu,
        "recovery_winback": rec_w,
        "recovery_bayesm": rec_b,
    }
    out["checks"] = checks
    return out


def machine() -> str:
    import numpy

    load = os.getloadavg()
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
        f"{numpy.__version__}, load average at start {load[0]:.2f}"
    )


def main_benchmark(work: Path) -> dict[str, Any]:
    mach = machine()
    print(f"HB benchmark (issue 4), {time.strftime('%Y-%m-%d %H:%M')}; {mach}")
    study, truth, study_path, resp_path = make_data(
        STUDY_TOML, N_RESPONDENTS, TRUE_MEANS, TRUE_SD, work / "data"
    )
    data = read_responses(resp_path, study)
    arrays = prepare_choice_data(data)
    names = list(arrays.names)
    truth = truth.loc[list(arrays.respondent_ids), names].to_numpy()
    none_share = float(np.mean(arrays.y == arrays.x.shape[1] - 1))
    print(
        f"data: {arrays.n_respondents} respondents x {arrays.n_obs // arrays.n_respondents} tasks"
        f" x {arrays.x.shape[1]} alternatives (3 + none), {len(names)} parameters "
        f"{names}; none chosen in {none_share:.1%} of tasks; seed {SEED}"
    )
    # the timed fit runs on a machine where winback has run before (its compilation caches hold
    # the model's operations), but never on this study: a fresh private cache, warmed up on
    # another study
    cache = work / "pytensor-cache"
    warm = warm_up(work, cache)
    print(f"warm-up: another study fitted in {warm:.1f} s (not timed below)")
    wb = run_winback(study_path, resp_path, work / "winback_fit", arrays, cache=cache)
    bm = run_bayesm(arrays, work)
    if wb is None:
        raise SystemExit("winback could not be run")
    for t in (wb, bm):
        if t is not None:
            t.score(truth, names)
    print()
    result = report(wb, bm, names)
    print()
    bd = winback_breakdown(study_path, resp_path, work, cache)
    bd["warmup_seconds"] = warm
    diag = wb.extra.get("diagnostics", {})
    ss = wb.extra.get("sample_stats", {})
    fit_s = float(diag.get("fit_seconds", np.nan))
    sampling = fit_s - bd.get("build_seconds", 0) - bd.get("compile_new_study_seconds", 0)
    again = (
        wb.wall
        - bd.get("compile_new_study_seconds", np.nan)
        + bd.get("compile_new_data_seconds", np.nan)
    )
    print(
        "winback time breakdown: interpreter start + imports "
        f"{fmt(bd.get('startup_import_seconds'))} s, run_fit {fmt(diag.get('seconds'))} s, of "
        f"which analysis.fit {fmt(fit_s)} s = build {fmt(bd.get('build_seconds'))} + compile "
        f"{fmt(bd.get('compile_new_study_seconds'))} (a study new to the machine, as timed; new "
        f"data of a study fitted before {fmt(bd.get('compile_new_data_seconds'))}, a rerun "
        f"{fmt(bd.get('compile_rerun_seconds'))}, an empty cache "
        f"{fmt(bd.get('compile_cold_seconds'))}) + sampling and post-processing ~{fmt(sampling)}"
        " s (build and compile re-measured in fresh processes)"
    )
    if bm is not None:
        print(
            f"  new data of this study (the next wave) would take about {fmt(again)} s: time "
            f"ratio {fmt(again / bm.wall, '.2f')}"
        )
    result["next_wave_seconds_estimate"] = again
    if ss:
        print(
            f"  nutpie draws: mean tree depth {fmt(ss.get('mean_depth'), '.2f')}, mean leapfrog "
            f"steps {fmt(ss.get('mean_n_steps'), '.1f')}, step size "
            f"{fmt(ss.get('mean_step_size'), '.3f')}, max-depth share "
            f"{fmt(ss.get('maxdepth_share'), '.3f')}, divergences {fmt(ss.get('divergences'), '.0f')}"
            f"; one gradient {fmt(bd.get('gradient_ms'), '.3f')} ms"
        )
    if bm is not None:
        ti = bm.extra["timing"]
        print(
            f"bayesm time breakdown: Rscript {bm.wall:.1f} s = R start + library + reading "
            f"{ti['read_seconds']:.1f} s + rhierMnlRwMixture {ti['elapsed']:.1f} s + writing "
            f"{ti['write_seconds']:.1f} s + the rest"
        )
    for t in (wb, bm):
        if t is not None:
            for note in t.notes:
                print(f"note ({t.name}): {note}")
    result.update(
        {
            "machine": mach,
            "date": time.strftime("%Y-%m-%d"),
            "none_share": none_share,
            "names": names,
            "breakdown": bd,
        }
    )
    return result


def scale_benchmark(work: Path, bayesm: bool = True) -> dict[str, Any]:
    """The scale check (issue 19 item 2): ``winback fit`` with its defaults on 2,000 respondents
    x 15 tasks x (4 + none) x 20 parameters, then bayesm on the same data in the same run."""
    mach = machine()
    print(f"HB scale check (issue 19), {time.strftime('%Y-%m-%d %H:%M')}; {mach}")
    toml = scale_study_toml()
    study, truth, study_path, resp_path = make_data(toml, 2000, None, None, work / "data")
    data = read_responses(resp_path, study)
    arrays = prepare_choice_data(data)
    names = list(arrays.names)
    none_share = float(np.mean(arrays.y == arrays.x.shape[1] - 1))
    print(
        f"data: {arrays.n_respondents} respondents x {arrays.n_obs // arrays.n_respondents} "
        f"tasks x {arrays.x.shape[1]} alternatives (4 + none), {arrays.n_parameters} parameters;"
        f" none chosen in {none_share:.1%}"
    )
    wb = run_winback(study_path, resp_path, work / "winback_fit", arrays, load=True)
    if wb is None:
        raise SystemExit("winback could not be run")
    tr = truth.loc[list(arrays.respondent_ids), names].to_numpy()
    wb.score(tr, names, fast=True)
    diag = wb.extra.get("diagnostics", {})
    pop_ess = diag.get("ess_bulk_min")
    pop_tail = diag.get("ess_tail_min")
    verdict = str(diag.get("verdict", "?"))
    ok_t, ok_m = wb.wall <= 300, (wb.max_rss_mb or np.inf) <= 3072
    ok_v = verdict == "pass" and min(pop_ess or 0.0, pop_tail or 0.0) >= 400
    print(
        f"winback fit, whole command: {wb.wall:.1f} s (target <= 300 s: "
        f"{'met' if ok_t else 'MISSED'}), peak memory {fmt(wb.max_rss_mb, '.0f')} MB (target <= "
        f"3072 MB: {'met' if ok_m else 'MISSED'}), CPU {wb.cpu:.0f} s, analysis.fit "
        f"{fmt(diag.get('fit_seconds'))} s"
    )
    print(
        f"verdict {verdict}; slowest population quantity (mu, sd): bulk ESS {fmt(pop_ess, '.0f')}"
        f", tail ESS {fmt(pop_tail, '.0f')} (target >= 400: {'met' if ok_v else 'MISSED'}); "
        f"ESS/s of it {fmt((pop_ess or np.nan) / wb.wall, '.2f')}; individual part-worths bulk "
        f"ESS min {wb.ess_min:.0f}, median {wb.ess_median:.0f}"
    )
    print(
        "convergence: "
        + ", ".join(
            f"{k} {v}"
            for k, v in diag.items()
            if k not in ("seconds", "fit_seconds") and not isinstance(v, dict | list)
        )
    )
    for note in wb.notes:
        print(f"note: {note}")
    bm = run_bayesm(arrays, work) if bayesm else None
    if bm is not None:
        bm.score(tr, names, fast=True)
    print()
    result = report(wb, bm, names)
    result.update(
        {
            "machine": mach,
            "date": time.strftime("%Y-%m-%d"),
            "wall": wb.wall,
            "max_rss_mb": wb.max_rss_mb,
            "cpu": wb.cpu,
            "diagnostics": diag,
            "none_share": none_share,
            "population_ess_bulk_min": pop_ess,
            "population_ess_tail_min": pop_tail,
            "checks": {"time": ok_t, "memory": ok_m, "verdict": ok_v},
        }
    )
    return result


def partworth_means(pw: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Per-respondent coefficients back from ``partworths.csv`` (posterior means)."""
    from winback.study import format_level

    pw = pw.assign(respondent_id=pw["respondent_id"].astype(str))
    cols: dict[str, pd.Series] = {}
    for a in study.attributes:
        sub = pw[pw["attribute"] == a.name]
        if a.coding == "linear":
            top = format_level(a.levels[-1])
            s = sub[sub["level"] == top].set_index("respondent_id")["utility"]
            cols[a.name] = s / float(a.levels[-1])
        else:
            for v in a.levels[1:]:
                lv = format_level(v)
                cols[f"{a.name}[{lv}]"] = sub[sub["level"] == lv].set_index("respondent_id")[
                    "utility"
                ]
    cols["none"] = pw[pw["attribute"] == "none"].set_index("respondent_id")["utility"]
    return pd.DataFrame(cols)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", action="store_true", help="run the scale check instead")
    p.add_argument(
        "--no-bayesm", action="store_true", help="--scale: winback alone (no bayesm run)"
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--workdir", type=Path, help="keep the data and fits here (default: temp)")
    p.add_argument(
        "--api-fit", nargs=3, metavar=("STUDY", "RESPONSES", "OUT"), help=argparse.SUPPRESS
    )
    p.add_argument("--compile-probe", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.api_fit:
        return api_fit(*map(Path, args.api_fit))
    if args.compile_probe:
        return compile_probe(*map(Path, args.compile_probe))
    with tempfile.TemporaryDirectory(prefix="winback-hb-bench-") as tmp:
        work = args.workdir or Path(tmp)
        result = (
            scale_benchmark(work, bayesm=not args.no_bayesm) if args.scale else main_benchmark(work)
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0 if all(result.get("checks", {}).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
