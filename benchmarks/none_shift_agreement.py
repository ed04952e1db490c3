"""Posterior agreement of two checkouts on one small HB fit (issue 19 item 2: the none constant
sampled against the average alternative must give the same posterior).

``run``: one fit of ``tests.conftest.SMALL_STUDY`` (60 respondents, sd 0.5 on the part-worths,
1.0 on none, ``--price-sd`` 0.02 per EUR on price; 4 chains x
(500 + 1,000)) with the installed winback of the interpreter that runs it (``tests`` is imported
from the working directory); appends the posterior mean, sd and bulk ESS of every ``mu`` and
``sd`` to ``--out`` as one JSON line. ``compare A B``: the difference of the two posterior means
of each quantity in units of its Monte Carlo standard error, sqrt(se_A^2 + se_B^2) with se =
posterior sd / sqrt(bulk ESS).

    cd /work/main && nice -n 10 .venv/bin/python /path/to/none_shift_agreement.py run --out main.json
    cd /path/to/branch && nice -n 10 .venv/bin/python benchmarks/none_shift_agreement.py run --out b.json
    .venv/bin/python benchmarks/none_shift_agreement.py compare main.json b.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402


def run(out: str, seed: int, price_sd: float, draws: int) -> None:
    sys.path.insert(0, os.getcwd())
    from analysis import fit
    from analysis._mcmc import diagnose
    from conjoint import make_design, simulate_choices
    from surveys import make_dataset
    from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study

    study = make_study(SMALL_STUDY)
    design = make_design(study)
    # sd 0.5 on every part-worth, 1.0 on none and price_sd per EUR on the price slope
    sd = {n: 0.5 for n in SMALL_TRUTH} | {"none": 1.0, "price": price_sd}
    choices = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=60, sd=sd)
    model = fit(make_dataset(choices, study, design=design), random_seed=seed, draws=draws)
    post = model.idata_["posterior"]
    res: dict = {
        "code": os.getcwd(),
        "seed": seed,
        "price_sd": price_sd,
        "draws": draws,
        "names": list(model.names),
    }
    for group in ("mu", "sd"):
        draws = post[group].to_numpy()
        _, ess, _ = diagnose(draws)
        res[group] = {
            "mean": draws.mean(axis=(0, 1)).tolist(),
            "sd": draws.std(axis=(0, 1)).tolist(),
            "ess_bulk": np.asarray(ess).tolist(),
        }
    with open(out, "a") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res))


def compare(a_path: str, b_path: str) -> None:
    a, b = (json.loads(open(p).read().splitlines()[-1]) for p in (a_path, b_path))
    worst = 0.0
    for group in ("mu", "sd"):
        for j, name in enumerate(a["names"]):
            ma, mb = a[group]["mean"][j], b[group]["mean"][j]
            se = np.hypot(
                a[group]["sd"][j] / np.sqrt(a[group]["ess_bulk"][j]),
                b[group]["sd"][j] / np.sqrt(b[group]["ess_bulk"][j]),
            )
            z = (mb - ma) / se
            worst = max(worst, abs(z))
            print(f"{group}[{name}]: {ma:+.4f} vs {mb:+.4f}, difference {z:+.2f} MCSE")
    print(f"largest |difference| {worst:.2f} MCSE over {2 * len(a['names'])} quantities")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--price-sd", type=float, default=0.02, help="per EUR")
    r.add_argument("--draws", type=int, default=1000, help="per chain, after 500 warm-up")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = p.parse_args()
    if args.command == "run":
        run(args.out, args.seed, args.price_sd, args.draws)
    else:
        compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
