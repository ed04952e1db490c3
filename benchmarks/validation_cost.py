"""What the random-task split of ``validate_fit`` costs, and what it finds, on the HB benchmark.

Issue 16, item 5. Without holdout tasks, ``validate_fit(model, method="split")`` holds out one
random estimation task per respondent and refits the model on the rest with the same settings;
``method="auto"`` (the default of ``winback fit``) does so up to
``analysis.results.out_of_sample.SPLIT_MAX_OBSERVATIONS`` estimation tasks. This script fits the
HB benchmark study (``benchmarks/hb_vs_bayesm.py``: 10 parameters, 12 tasks x 3 alternatives +
none, known individual part-worths) with ``winback fit``'s defaults (4 chains x 1000 draws after
500 tune), then times the split's refit in the same process, and prints:

- the fit's and the refit's seconds and their ratio (the refit compiles nothing new: the study
  was compiled for the fit), and those of the same fit run again in the process, which is what
  the refit should be compared with;
- the held-out hit rate of the refit, of the true part-worths on the same tasks, and the naive
  benchmarks (chance, the most popular place in the task), and the in-sample hit rate.

Run: ``.venv/bin/python benchmarks/validation_cost.py [--respondents N] [--chains C]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hb_vs_bayesm import N_RESPONDENTS, STUDY_TOML, TRUE_MEANS, TRUE_SD, make_data  # noqa: E402

from analysis import fit  # noqa: E402
from analysis.results import fit_statistics, validate_fit  # noqa: E402
from analysis.results.out_of_sample import _held_mask  # noqa: E402
from surveys import read_responses  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--respondents", type=int, default=N_RESPONDENTS)
    ap.add_argument("--chains", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study, truth, study_path, resp_path = make_data(
            STUDY_TOML, args.respondents, TRUE_MEANS, TRUE_SD, Path(tmp)
        )
        data = read_responses(resp_path, study)
    t0 = time.perf_counter()
    model = fit(data, chains=args.chains, tune=500, random_seed=1)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit(data, chains=args.chains, tune=500, random_seed=2)
    again_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    v = validate_fit(model, method="split")
    total_s = time.perf_counter() - t0
    row = v.headline()
    assert row is not None and v.refit_seconds is not None
    arrays = model.arrays_.subset(_held_mask(model.arrays_, v.held_out))
    beta = truth.loc[list(arrays.respondent_ids), list(arrays.names)].to_numpy()
    u = np.where(arrays.avail, np.einsum("ojk,ok->oj", arrays.x, beta[arrays.resp]), -np.inf)
    choice = (arrays.obs["kind"] == "choice").to_numpy()
    true_hit = float((u.argmax(axis=1) == arrays.y)[choice].mean())
    inside = fit_statistics(model, summary=True).set_index("statistic")["value"]["hit_rate"]
    n_tasks = int((model.arrays_.obs["kind"] == "choice").sum())
    print(f"{args.respondents} respondents, {n_tasks} estimation tasks, {args.chains} chains")
    print(f"fit (analysis.fit, the study compiled for the first time): {fit_s:.1f} s")
    print(f"the same fit again in the same process (another seed): {again_s:.1f} s")
    print(f"split refit: {v.refit_seconds:.1f} s (validate_fit in all {total_s:.1f} s)")
    print(
        f"ratio refit / first fit: {v.refit_seconds / fit_s:.2f}; refit / fit again: "
        f"{v.refit_seconds / again_s:.2f}"
    )
    print(
        f"held-out hit rate {row['hit_rate']:.3f} (true part-worths {true_hit:.3f}; chance "
        f"{row['hit_rate_chance']:.3f}; most popular place {row['hit_rate_most_popular']:.3f}); "
        f"in-sample {inside:.3f}; share error {row['share_mae']:.4f} "
        f"(equal shares {row['share_mae_equal']:.4f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
