"""False flags and detection of the random-responder flag against known truth (issue 14).

Two studies, each answered by ``--genuine`` (2,000) respondents with part-worths drawn from the
study's true population and ``--random`` (500) answering uniformly at random, over ``--seeds``
(5) simulation seeds:

- ``example``: the example study as shipped (``winback.example``): 12 estimation tasks + 1
  holdout of 3 alternatives + none, 30 balanced-overlap versions, its true part-worths;
- ``weak4``: the tests' weaker four-attribute study (``tests.conftest.SMALL_STUDY``: plan,
  speed, support, price; 8 tasks of 3 alternatives + none, a 2-version D-efficient design)
  answered with ``SMALL_TRUTH`` and sd 0.5 (price 0.01).

Rules compared, all on the same flagged data and the same estimator (an individual MNL shrunk
towards the sample, RLH over the estimation tasks):

- ``old``: the rule before issue 14, the cutoff at the 95th percentile of simulated random
  responders' RLH (flagged when ``rlh_random_share > 0.05``, which is that rule);
- ``new, <source>``: the cutoff at the 5th percentile of simulated genuine respondents' RLH,
  their part-worths from ``auto`` (the study's priors when informative, else the data),
  ``data`` (the shrinkage's population, scaled to fit the sample's RLH) or ``truth`` (draws
  from the true population: the oracle).

Measured per run: the share of the genuine respondents flagged (false flags), the share of
the random ones flagged (detection) and the detection ``flag_quality`` reports (from its
simulated random responders). Run ``python benchmarks/quality_flags.py [--seeds 5] [--json
out.json]``; it prints a Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conjoint import make_design, parameter_names, simulate_choices  # noqa: E402
from surveys import flag_quality, make_dataset  # noqa: E402
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study  # noqa: E402
from winback.example import make_example_study  # noqa: E402

WEAK_SD = {**{k: 0.5 for k in SMALL_TRUTH}, "price": 0.01}


def studies() -> dict[str, tuple]:
    ex = make_example_study()
    weak = make_study(SMALL_STUDY)
    return {
        "example": (ex.study, make_design(ex.study), ex.true_means, ex.true_sd),
        "weak4": (weak, make_design(weak), SMALL_TRUTH, WEAK_SD),
    }


def simulate(study, design, means, sds, n_genuine: int, n_random: int, seed: int):
    """Genuine respondents from N(means, sds) and random ones (all part-worths 0, i.e. a
    uniform choice among the alternatives and none), shuffled; plus 5,000 oracle draws."""
    names = parameter_names(study)
    rng = np.random.default_rng(seed)
    n = n_genuine + n_random
    mean = np.array([means[k] for k in names])
    sd = np.array([sds.get(k, 0.0) for k in names])
    betas = mean + rng.standard_normal((n, len(names))) * sd
    is_random = np.zeros(n, dtype=bool)
    is_random[rng.choice(n, n_random, replace=False)] = True
    betas[is_random] = 0.0
    ids = [f"r{i + 1:05d}" for i in range(n)]
    responses = simulate_choices(design, pd.DataFrame(betas, index=ids, columns=names), seed + 1)
    data = make_dataset(responses, study, design=design)
    oracle = pd.DataFrame(mean + rng.standard_normal((5000, len(names))) * sd, columns=names)
    return data, pd.Series(is_random, index=ids), oracle


def measure(args: argparse.Namespace) -> list[dict]:
    rows = []
    for name, (study, design, means, sds) in studies().items():
        for seed in range(1, args.seeds + 1):
            data, is_random, oracle = simulate(
                study, design, means, sds, args.genuine, args.random, 1000 * seed
            )
            sources = {"auto": {}, "data": {"genuine": "data"}, "truth": {"part_worths": oracle}}
            for source, kwargs in sources.items():
                start = time.perf_counter()
                flags = flag_quality(data, design=design, random_seed=seed, **kwargs).flags
                seconds = time.perf_counter() - start
                f = flags.set_index("respondent_id")
                rnd = is_random.reindex(f.index).to_numpy(dtype=bool)
                new = f["random_responder"].to_numpy(dtype=bool)
                a = flags.attrs
                base = {"study": name, "seed": seed, "n_genuine": int((~rnd).sum())}
                row = {
                    **base,
                    "rule": f"new, {source}",
                    "source": a["rlh_genuine_source"],
                    "false_flag": float(new[~rnd].mean()),
                    "detection": float(new[rnd].mean()),
                    "reported_detection": a["rlh_detection"],
                    "cutoff": a["rlh_cutoff"],
                    "warning": a["rlh_warning"] is not None,
                    "seconds": seconds,
                }
                rows.append(row)
                if source == "auto":
                    old = (f["rlh_random_share"] > 0.05).to_numpy(dtype=bool)
                    rows.append(
                        {
                            **base,
                            "rule": "old",
                            "source": "-",
                            "false_flag": float(old[~rnd].mean()),
                            "detection": float(old[rnd].mean()),
                            "reported_detection": float("nan"),
                            "cutoff": float("nan"),
                            "warning": False,
                            "seconds": float("nan"),
                        }
                    )
                print(
                    f"{name} seed {seed} {source}: false flags {row['false_flag']:.3f}, "
                    f"detection {row['detection']:.3f} (reported {row['reported_detection']:.3f}), "
                    f"{seconds:.1f} s",
                    file=sys.stderr,
                )
    return rows


def table(rows: list[dict]) -> str:
    df = pd.DataFrame(rows)
    order = ["old", "new, auto", "new, data", "new, truth"]
    lines = [
        "| study | rule (genuine part-worths) | false flags, mean (range) | detection, mean "
        "(range) | reported detection, mean | warnings | seconds per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for (study, rule), g in sorted(
        df.groupby(["study", "rule"]), key=lambda kv: (kv[0][0], order.index(kv[0][1]))
    ):
        src = g["source"].iloc[0]
        label = rule if rule == "old" else f"{rule} ({_short(src)})"
        rep = g["reported_detection"]
        lines.append(
            f"| {study} | {label} | {g.false_flag.mean():.1%} ({g.false_flag.min():.1%}-"
            f"{g.false_flag.max():.1%}) | {g.detection.mean():.1%} ({g.detection.min():.1%}-"
            f"{g.detection.max():.1%}) | "
            + ("-" if rep.isna().all() else f"{rep.mean():.1%}")
            + f" | {int(g.warning.sum())} of {len(g)} | "
            + ("-" if g.seconds.isna().all() else f"{g.seconds.mean():.1f}")
            + " |"
        )
    return "\n".join(lines)


def _short(source: str) -> str:
    if source.startswith("estimated from the data"):
        return "data, scaled"
    if source.startswith("the study's [priors]"):
        return "priors"
    return "truth" if source == "given part-worths" else source


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--genuine", type=int, default=2000)
    p.add_argument("--random", type=int, default=500)
    p.add_argument("--json", type=Path, help="also write every run as JSON here")
    args = p.parse_args()
    logging.getLogger("winback").setLevel(logging.ERROR)
    start = time.perf_counter()
    rows = measure(args)
    print(
        f"{args.genuine} genuine + {args.random} random respondents, seeds 1-{args.seeds}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{time.perf_counter() - start:.0f} s in all"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
