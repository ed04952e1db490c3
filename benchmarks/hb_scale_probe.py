"""Where the scale check's sampling time goes, in load-independent numbers (issue 19 item 2).

One HB fit of the scale check's study (``hb_vs_bayesm.scale_study_toml``: 15 tasks x (4 + none)
x 20 parameters) at ``--respondents`` (500 by default: a quarter of the scale check, for
comparing candidates quickly), with nutpie options passed through ``--nutpie '{"adaptation":
"draw_diag"}'``. Prints one JSON line (and appends it to ``--out``): the slowest population
quantity's bulk and tail ESS and R-hat (``mu`` and ``sd``, and which parameter, with its
chains' means, sds and first-half means: chains that disagree, or drift), the worst
individual part-worth, divergences, leapfrog steps per draw and tree depth, step size, CPU seconds
of sampling per leapfrog step and the slowest ESS per 1,000 leapfrog steps: numbers that do not
depend on what else the machine runs.

Run: ``nice -n 15 .venv/bin/python benchmarks/hb_scale_probe.py [--respondents 500]
[--nutpie JSON] [--out FILE]``. The data are written into ``--workdir`` (a temporary folder by
default) with the scale check's truth and seed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import hb_vs_bayesm as bench  # noqa: E402

from analysis import hb  # noqa: E402
from analysis._mcmc import diagnose  # noqa: E402
from analysis.data import prepare_choice_data  # noqa: E402
from surveys import read_responses  # noqa: E402
from winback.study import parse_study  # noqa: E402


def probe(
    n: int,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    options: dict,
    work: Path,
    coordinates: str = "full",
) -> dict:
    if not (work / "responses.csv").exists():
        bench.make_data(bench.scale_study_toml(), n, None, None, work)
    study = parse_study(bench.scale_study_toml())
    arrays = prepare_choice_data(read_responses(work / "responses.csv", study))
    settings = hb.HBSettings(draws=draws, tune=tune, chains=chains, random_seed=seed)
    import nutpie

    from analysis import _none_shift

    _none_shift.COORDINATES = coordinates

    with hb.numba_mode():
        model, scale = hb.build_model(arrays, settings)
        compiled = hb.compile_nutpie(model)
        c0 = time.process_time()
        trace = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            progress_bar=False,
            save_warmup=False,
            **options,
        )
        cpu = time.process_time() - c0
        trace = hb._postprocess(trace, arrays, settings, scale)
    post, stats = trace["posterior"], trace["sample_stats"]
    names = list(arrays.names)
    out: dict = {
        "respondents": n,
        "draws": draws,
        "tune": tune,
        "seed": seed,
        "chains": chains,
        "nutpie": options,
        "coordinates": coordinates,
    }
    slowest = np.inf
    for group in ("mu", "sd"):
        r, eb, et = diagnose(post[group].to_numpy())
        j = int(np.argmin(np.minimum(eb, et)))
        out[group] = {
            "rhat_max": float(np.max(r)),
            "ess_bulk_min": float(np.min(eb)),
            "ess_tail_min": float(np.min(et)),
            "slowest": names[j],
        }
        slowest = min(slowest, float(np.min(eb)), float(np.min(et)))
        x = post[group].to_numpy()[..., j]  # (chain, draw) of the slowest
        out[group]["chains"] = {
            "mean": [round(float(v), 4) for v in x.mean(axis=1)],
            "sd": [round(float(v), 4) for v in x.std(axis=1)],
            "first_half_mean": [round(float(v), 4) for v in x[:, : x.shape[1] // 2].mean(axis=1)],
        }
        if "none" in names:
            j = names.index("none")
            out[group]["none"] = {"ess_bulk": float(eb[j]), "ess_tail": float(et[j])}
    r, eb, _ = diagnose(post["beta"].to_numpy())
    out["beta"] = {"rhat_max": float(np.max(r)), "ess_bulk_min": float(np.min(eb))}
    steps = int(stats["n_steps"].sum())
    out |= {
        "divergences": int(stats["diverging"].sum()),
        "steps_per_draw": steps / (draws * chains),
        "tree_depth_mean": float(stats["depth"].mean()),
        "step_size": float(stats["step_size"].mean()),
        "cpu_sampling": cpu,
        # warm-up steps are not in the sample statistics: an upper bound
        "cpu_ms_per_step_bound": 1000 * cpu / steps,
        "slowest_population_ess_per_1000_steps": 1000 * slowest / steps,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": os.getloadavg()[0],
    }
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--respondents", type=int, default=500)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--nutpie", default="{}", help="nutpie.sample options as JSON")
    p.add_argument(
        "--coordinates",
        choices=("full", "mean", "off"),
        default="full",
        help="the none constant against the average alternative in mu and L (full, the "
        "default), in mu only (mean), or not at all (off: w = 0)",
    )
    p.add_argument("--workdir", type=Path)
    p.add_argument("--out", type=Path, help="append the JSON line here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="winback-probe-") as tmp:
        work = a.workdir or Path(tmp)
        res = probe(
            a.respondents,
            a.draws,
            a.tune,
            a.chains,
            a.seed,
            json.loads(a.nutpie),
            work,
            a.coordinates,
        )
    line = json.dumps(res)
    print(line)
    if a.out:
        with a.out.open("a") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
