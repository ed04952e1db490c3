"""The convergence verdicts' margin over seeds (issue 19 item 1): the fits of the verdict tests
of ``tests/analysis/test_convergence.py`` (and the earlier-wave prior test of
``tests/analysis/test_hb.py``) run for several seeds, each printing its verdict, the smallest
R-hat / bulk / tail ESS of the population parameters and the CPU seconds of the fit, so that a
change of the model's graph can be judged by the distribution of those numbers and not by one
seed's.

Cases (``--case``): ``diagonal`` (2 chains x 4,000 draws, 1,000 warm-up, diagonal covariance:
``test_longer_diagonal_fit_passes``), ``example`` (the shared example fit, full covariance, 2 x
300 draws: ``test_example_fit_is_judged_honestly``), ``prior`` (the example fit as an earlier
wave's prior of a 15-respondent wave, 2 x 200 draws), ``drawsum`` (one example fit's draws
summed bit for bit: equal sums on two trees mean the same draws).

Run on this tree, or on another with ``PYTHONPATH=/path/to/export`` (``git archive COMMIT``):
``.venv/bin/python benchmarks/family_margin.py --case diagonal --seeds 1 2 3 4 5``. One JSON line
per fit. Installs nothing; compiles each model family once (cached).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np


def example_dataset(n: int = 120, seed: int = 11) -> tuple[Any, Any, Any]:
    """The example dataset of ``tests/conftest.py::example_fit`` (study, design, dataset)."""
    from conjoint import make_design
    from surveys import make_dataset
    from surveys.fieldwork import simulate_fieldwork
    from winback.example import make_example_study

    ex = make_example_study()
    design = make_design(ex.study, versions=10)
    choices, people, _, _ = simulate_fieldwork(
        design, ex.true_means, ex.true_sd, n, random_seed=seed, random_share=0.0, speeder_share=0.0
    )
    return ex, design, make_dataset(choices, ex.study, design=design, respondents=people)


def judged(model: Any, cpu: float, **info: Any) -> dict[str, Any]:
    from analysis.convergence import convergence_report

    rep = convergence_report(model)
    d = rep.to_dict()
    out = {
        **info,
        "verdict": rep.verdict,
        "rhat_max": d["rhat_max"],
        "ess_bulk_min": d["ess_bulk_min"],
        "ess_tail_min": d["ess_tail_min"],
        "divergences": d["divergences"],
        "fit_cpu_seconds": cpu,
        "ess_bulk_min_per_cpu_second": d["ess_bulk_min"] / cpu,
        "ess_tail_min_per_cpu_second": d["ess_tail_min"] / cpu,
    }
    post = model.idata_["posterior"]
    out["mu_mean"] = post["mu"].mean(("chain", "draw")).to_numpy().round(4).tolist()
    out["sd_mean"] = post["sd"].mean(("chain", "draw")).to_numpy().round(4).tolist()
    out["variables"] = sorted(str(v) for v in post.data_vars)
    return out


def main(argv: list[str] | None = None) -> int:
    import analysis
    from analysis import fit

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--case", choices=("diagonal", "example", "prior", "drawsum"), required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[3])
    args = p.parse_args(argv)
    print(f"# analysis from {analysis.__file__}; load {os.getloadavg()[0]:.1f}", flush=True)
    ex, design, data = example_dataset()
    example = None
    for seed in args.seeds:
        c0 = time.process_time()
        if args.case == "diagonal":
            model = fit(
                data, draws=4000, tune=1000, chains=2, covariance="diagonal", random_seed=seed
            )
        elif args.case in ("example", "drawsum"):
            model = fit(data, draws=300, tune=300, chains=2, random_seed=seed)
        else:
            from surveys import make_dataset
            from surveys.fieldwork import simulate_fieldwork

            if example is None:
                example = fit(data, draws=300, tune=300, chains=2, random_seed=3)
            means = {k: v * 0.5 for k, v in ex.true_means.items()}
            choices, people, _, _ = simulate_fieldwork(
                design,
                means,
                dict.fromkeys(means, 0.3),
                15,
                random_seed=8,
                random_share=0.0,
                speeder_share=0.0,
            )
            small = make_dataset(choices, ex.study, design=design, respondents=people)
            c0 = time.process_time()
            model = fit(
                small,
                draws=200,
                tune=200,
                chains=2,
                random_seed=seed,
                prior=example,
                prior_widen=1.0,
            )
        cpu = time.process_time() - c0
        if args.case == "drawsum":
            post = model.idata_["posterior"]
            sums = {
                str(v): float(np.asarray(post[v].to_numpy(), dtype=np.float64).sum())
                for v in sorted(post.data_vars)
            }
            print(json.dumps({"case": "drawsum", "seed": seed, "sums": sums}), flush=True)
            continue
        print(json.dumps(judged(model, cpu, case=args.case, seed=seed)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
