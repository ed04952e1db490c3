"""Peer for benchmarks/design_bench.py: a D-efficient (or Db-efficient) generic choice design
built by the PyPI package ``choicedesign`` (J. I. Hernandez), run in its own interpreter.

Run with the interpreter that has choicedesign installed, e.g.::

    /work/bench-venv/bin/python benchmarks/peers/choicedesign_peer.py \
        --levels 4,3,3,3,2 --tasks 12 --alts 3 --seconds 10 --seed 1 \
        [--prior-mean m1,m2,... --prior-sd 1 --draws 100] [--starts 1] [--algorithm swap]

Prints exactly one line of JSON on stdout; everything else (choicedesign's own progress line
included, when --progress is given) goes to stderr.

How the case maps onto choicedesign 1.1's API (read from its source):

* a design is a wide matrix, one row per choice task, one column per alternative x attribute
  (``alt{j}_x{k}``), each an ``Attribute(name, L)`` whose levels are 0..L-1;
* generic (unlabelled) dummy coding: one ``Parameter`` per attribute level 2..L, shared by all
  alternatives, ``V_j = sum_k sum_l b_kl * (alt{j}_x{k} == l)``; no constants;
* ``EffDesign.optimise(..., algorithm='swap', criterion='d', time_lim=seconds/60)`` (its time
  limit is in minutes and is checked between iterations, so the search may overrun by one
  criterion evaluation); ``bayes_draws=R`` with ``Parameter(prior_std=s)`` gives its Db-error;
* its D-error is det(I^-1)^(1/K) of the information matrix summed over all tasks.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _join_list_values(argv: list[str]) -> list[str]:
    """Turn ``--prior-mean -0.5,0,...`` into ``--prior-mean=-0.5,0,...``: argparse takes a value
    that starts with '-' and is not a plain number for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--prior-mean", "--levels") and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = _join_list_values(list(sys.argv[1:] if argv is None else argv))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--levels", type=_ints, required=True, help="levels per attribute, e.g. 4,3,3,3,2"
    )
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--alts", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True, help="time budget of the whole search")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--prior-mean",
        type=_floats,
        default=None,
        help="one mean per dummy parameter, attribute order, levels 2..n",
    )
    p.add_argument("--prior-sd", type=float, default=None, help="sd of every normal prior")
    p.add_argument("--draws", type=int, default=None, help="Monte Carlo draws for the Db-error")
    p.add_argument(
        "--starts",
        type=int,
        default=1,
        help="random starts run one after another, each with seconds/starts "
        "(a loop in this script; choicedesign itself optimises one start)",
    )
    p.add_argument(
        "--algorithm",
        choices=("swap", "rsc", "federov"),
        default="swap",
        help="choicedesign's algorithm (federov enumerates the full factorial of "
        "all alternatives' attributes: infeasible beyond toy cases)",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="send choicedesign's progress line to stderr (default: discarded)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    levels, J, N = args.levels, args.alts, args.tasks
    n_par = sum(L - 1 for L in levels)
    if any(L < 2 for L in levels) or J < 2 or N < 2:
        raise SystemExit("need levels >= 2, alts >= 2, tasks >= 2")
    means = args.prior_mean if args.prior_mean is not None else [0.0] * n_par
    if len(means) != n_par:
        raise SystemExit(
            f"--prior-mean needs {n_par} values (levels 2..n of each attribute), got {len(means)}"
        )
    bayes = bool(args.draws) and args.draws > 0 and bool(args.prior_sd) and args.prior_sd > 0
    starts = max(1, args.starts)

    # choicedesign prints its progress on stdout (print(..., end='\r')): keep stdout clean.
    sink = sys.stderr if args.progress else open(os.devnull, "w")
    with contextlib.redirect_stdout(sink):
        from importlib.metadata import version

        import numpy as np
        from choicedesign.design import EffDesign
        from choicedesign.expressions import Attribute, Parameter

        cols = {
            (j, k): Attribute(f"alt{j + 1}_x{k + 1}", L)
            for j in range(J)
            for k, L in enumerate(levels)
        }
        params = {}
        it = iter(means)
        for k, L in enumerate(levels):
            for lev in range(1, L):
                params[(k, lev)] = Parameter(
                    f"b{k + 1}_{lev + 1}",
                    float(next(it)),
                    prior_std=args.prior_sd if bayes else None,
                )
        V = {}
        for j in range(J):
            expr = None
            for (k, lev), b in params.items():
                term = b * (cols[(j, k)] == lev)
                expr = term if expr is None else expr + term
            V[j + 1] = expr

        design = EffDesign(X=list(cols.values()), ncs=N)
        opt_kw = dict(
            V=V,
            model="mnl",
            algorithm=args.algorithm,
            criterion="d",
            bayes_draws=args.draws if bayes else None,
            time_lim=args.seconds / starts / 60.0,
        )

        best = None
        runs = []
        t0 = time.perf_counter()
        for s in range(starts):
            seed = None if args.seed is None else args.seed + s
            init = design.gen_initdesign(seed=seed)
            out_df, init_err, final_err, n_iter, ub = design.optimise(init, seed=seed, **opt_kw)
            runs.append({"init": float(init_err), "final": float(final_err), "iter": int(n_iter)})
            if best is None or final_err < best[1]:
                best = (out_df, float(final_err), float(init_err), int(n_iter), float(ub))
        seconds = time.perf_counter() - t0

        out_df, final_err, init_err, n_iter, ub = best
        wide = out_df.drop(columns=["CS"]).to_numpy().astype(int)  # (N, J*K), alt-major
        lv = wide.reshape(N, J, len(levels))
        # Db-error re-evaluated by choicedesign's own evaluate() with one fixed draw stream
        # (the search draws fresh priors at every evaluation, so its own figure is noisy).
        reeval = None
        if bayes:
            reeval, _ = design.evaluate(
                out_df, V=V, bayes_draws=args.draws, seed=args.seed if args.seed is not None else 0
            )
        identical = int(
            sum(
                1
                for n in range(N)
                for a in range(J)
                for b in range(a + 1, J)
                if np.array_equal(lv[n, a], lv[n, b])
            )
        )
        cd_version = version("choicedesign")

    notes = [
        f"choicedesign EffDesign.optimise(algorithm='{args.algorithm}', criterion='d', "
        f"time_lim={args.seconds / starts:.3g}s per start as minutes)",
        "generic dummy coding (levels 2..n, no constants); D-error = det(I^-1)^(1/K) of the "
        "information summed over tasks",
        (
            f"Db-error over {args.draws} normal draws (sd {args.prior_sd}); choicedesign redraws "
            "the priors at every evaluation during the search, so d_error_reported is a noisy "
            "figure; d_error_reevaluated uses one fixed draw stream"
        )
        if bayes
        else (
            "point prior"
            + (" (all 0)" if args.prior_mean is None else "")
            + (
                "; --prior-sd/--draws ignored (need both > 0)"
                if (args.prior_sd or args.draws)
                else ""
            )
        ),
        f"{starts} start(s) run in sequence by this script (the tool has no restarts); "
        f"{n_iter} iterations in the best start",
        "swap moves exchange two tasks' levels within one column, so each column keeps the "
        "level counts of the balanced random start",
    ]
    if identical:
        notes.append(f"{identical} pair(s) of identical alternatives within a task")
    result = {
        "tool": "choicedesign",
        "version": cd_version,
        "seconds": seconds,
        "levels": lv.tolist(),
        "d_error_reported": final_err,
        "notes": "; ".join(notes),
        "d_error_initial": init_err,
        "d_error_reevaluated": float(reeval) if reeval is not None else None,
        "iterations": n_iter,
        "utility_balance_pct": ub,
        "runs": runs,
        "algorithm": args.algorithm,
        "bayesian": bayes,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
