"""Coverage of the population means by the HB fit's bands, on simulated studies with known truth
(issue 19 item 2: the none constant sampled against the average alternative must keep the prior).

The study of ``tests/analysis/test_interactions.py`` (3 plans x 3 speeds x linear price with a
price-by-plan interaction, and none), ``--studies`` simulated data sets (seeds 0, 1, ...), each
fitted with 2 chains x (300 warm-up + 300 draws). Prints one JSON line: for every parameter how
many of the bands (``--band``, equal-tailed) cover the truth, the mean error and the RMSE of the
posterior mean, and the CPU seconds of all the fits.

Heterogeneity ``--heterogeneity swamps`` (the default): sd 0.3 per EUR on a price slope of -0.08,
which swamps what 10 tasks tell about each respondent; ``realistic``: sd 0.02 per EUR. Both: sd
0.5 on each part-worth, 0.02 per EUR on the interactions, 1.0 on none.

The code fitted is the installed winback of the interpreter that runs it, so one script compares
two checkouts, each run with its own ``.venv`` from its own folder (``tests`` is imported from the
working directory):

    cd /work/main && nice -n 10 .venv/bin/python /path/to/benchmarks/none_shift_coverage.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.getcwd())

from analysis import fit, population  # noqa: E402
from conjoint import make_design, simulate_choices  # noqa: E402
from surveys import make_dataset  # noqa: E402
from tests.analysis.test_interactions import STUDY, TRUTH  # noqa: E402
from tests.conftest import make_study  # noqa: E402

SD = {
    "swamps": {"price": 0.3},
    "realistic": {"price": 0.02},
}


def heterogeneity(kind: str) -> dict[str, float]:
    """sd of each individual part-worth around the truth."""
    sd = {}
    for name in TRUTH:
        if name == "none":
            sd[name] = 1.0
        elif name.startswith("price x"):
            sd[name] = 0.02
        else:
            sd[name] = 0.5
    return sd | SD[kind]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--studies", type=int, default=16)
    p.add_argument("--respondents", type=int, default=60)
    p.add_argument("--heterogeneity", choices=tuple(SD), default="swamps")
    p.add_argument("--band", type=float, default=0.9)
    p.add_argument("--out", help="append the JSON line to this file")
    a = p.parse_args()
    study = make_study(STUDY)
    design = make_design(study)
    sd = heterogeneity(a.heterogeneity)
    names = list(TRUTH)
    covered = dict.fromkeys(names, 0)
    errors: dict[str, list[float]] = {n: [] for n in names}
    cpu = 0.0
    for seed in range(a.studies):
        choices = simulate_choices(design, TRUTH, seed, n_respondents=a.respondents, sd=sd)
        c0 = time.process_time()
        model = fit(
            make_dataset(choices, study, design=design),
            draws=300,
            tune=300,
            chains=2,
            random_seed=seed + 1,
        )
        cpu += time.process_time() - c0
        pop = population(model, band=a.band).set_index("parameter")
        for n in names:
            lo, hi = float(pop.loc[n, "lower"]), float(pop.loc[n, "upper"])
            covered[n] += int(lo <= TRUTH[n] <= hi)
            errors[n].append(float(pop.loc[n, "mean"]) - TRUTH[n])
    res = {
        "studies": a.studies,
        "respondents": a.respondents,
        "heterogeneity": a.heterogeneity,
        "band": a.band,
        "covered": covered,
        "bias": {n: float(np.mean(e)) for n, e in errors.items()},
        "rmse": {n: float(np.sqrt(np.mean(np.square(e)))) for n, e in errors.items()},
        "cpu_seconds": cpu,
        "code": os.getcwd(),
    }
    line = json.dumps(res)
    print(line)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
