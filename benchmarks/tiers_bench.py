"""Good/better/best search before and after issue 16 ("tiers are tiers"), on the demo study.

The example study and market (``winback demo``'s), the tiers replacing the FibreHome bundle,
every non-price attribute a feature, the tested prices, objective profit. The part-worths are
either a fitted demo (``--fit RUN``: ``RUN/fit``, ``RUN/study.toml``, ``RUN/market.toml``) or
simulated from the example's true population (460 respondents, their true part-worths plus
posterior noise, ``--draws`` draws).

The peer is winback itself at the revision before issue 16 (``--before``, default 4d8828f),
taken out of git into a temporary folder and run in a subprocess on the same part-worths in the
same run: nested tiers that may repeat a feature set, searched at the posterior mean. After:
each tier has more than the one below, every menu evaluated at ``n_draws`` draws (the default
100, and 25 for comparison). Each timing is one call of ``optimize_tiers``
(search, then bands, upgrade paths and cannibalisation at every draw) after a warm-up call
that compiles or loads the numba kernels.

Run ``python benchmarks/tiers_bench.py [--fit RUN] [--no-write]`` from the repository root;
results are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPLACE = "FibreHome bundle"


def _inputs(fit: str | None, n_draws: int, out: Path) -> tuple[str, str]:
    """Write the part-worths to ``out/beta.npy``; return the study and market files."""
    from analysis.simulator import PartWorthDraws
    from conjoint.encoding import parameter_names
    from winback.example import TRUE_MEANS, TRUE_SD, make_example_study

    if fit is not None:
        from winback.pipeline.classes import load_fit_for

        run = Path(fit)
        model = load_fit_for(run / "study.toml", run / "fit")
        np.save(out / "beta.npy", PartWorthDraws.from_model(model).beta)
        return str(run / "study.toml"), str(run / "market.toml")
    ex = make_example_study()
    names = parameter_names(ex.study)
    mean = np.array([TRUE_MEANS[n] for n in names])
    sd = np.array([TRUE_SD[n] for n in names])
    rng = np.random.default_rng(16)
    truth = mean + sd * rng.standard_normal((460, len(names)))
    beta = truth[None] + 0.5 * sd * rng.standard_normal((n_draws, 460, len(names)))
    np.save(out / "beta.npy", beta)
    (out / "study.toml").write_text(
        (ROOT / "winback/examples/broadband.toml").read_text("utf-8"), "utf-8"
    )
    (out / "market.toml").write_text(
        (ROOT / "winback/examples/broadband_market.toml").read_text("utf-8"), "utf-8"
    )
    return str(out / "study.toml"), str(out / "market.toml")


def child(spec: dict) -> None:
    """Time ``optimize_tiers`` with whatever winback is on the path; print one JSON line."""
    import inspect

    from analysis.simulator import PartWorthDraws, read_market
    from analysis.tiers import optimize_tiers
    from winback.study import load_study

    study = load_study(spec["study"])
    draws = PartWorthDraws.from_array(study, np.load(spec["beta"]))
    market = read_market(spec["market"], study)
    features = [a.name for a in study.attributes if a.name != study.price_attribute]
    new = "n_draws" in inspect.signature(optimize_tiers).parameters
    kw = {"n_draws": spec["n_draws"]} if new else {}
    optimize_tiers(draws.point(), market, features=features[:1], n_tiers=2, names=["A", "B"],
                   replace=REPLACE)  # fmt: skip
    t = time.perf_counter()
    res = optimize_tiers(draws, market, features=features, objective="profit",
                         replace=REPLACE, **kw)  # fmt: skip
    sec = time.perf_counter() - t
    tiers = [
        ", ".join(str(r[a.name]) for a in study.attributes if a.name != study.price_attribute)
        + f" @ {r['price']:g}"
        for r in res.tiers.to_dict("records")
    ]
    total = res.summary.set_index("measure").loc["our profit, tier menu", "value"]
    print(json.dumps({"seconds": sec, "n_candidates": res.n_candidates, "tiers": tiers,
                      "profit": float(total)}))  # fmt: skip


def _run(path: Path, spec: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [sys.executable, str(HERE / "tiers_bench.py"), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=path,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", help="a demo run folder (default: simulated part-worths)")
    ap.add_argument("--draws", type=int, default=1000, help="simulated posterior draws")
    ap.add_argument("--before", default="4d8828f", help="git revision of the peer")
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        study, market = _inputs(args.fit, args.draws, tmpd)
        old = tmpd / "before"
        old.mkdir()
        blob = subprocess.run(
            ["git", "archive", args.before, "analysis", "conjoint", "surveys", "winback",
             "reports"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        with tarfile.open(fileobj=BytesIO(blob)) as tar:
            tar.extractall(old, filter="data")
        spec = {"study": study, "market": market, "beta": str(tmpd / "beta.npy")}
        n_samples = np.load(tmpd / "beta.npy", mmap_mode="r").shape[0]
        runs = [
            (f"before ({args.before}): nested tiers, searched at point estimates", old, None),
            ("after: tiers are tiers, searched at 25 draws", ROOT, 25),
            ("after: tiers are tiers, searched at 100 draws (the default)", ROOT, 100),
        ]
        lines = []
        base = None
        for label, path, nd in runs:
            r = _run(path, {**spec, "n_draws": nd})
            base = base or r["seconds"]
            line = (
                f"{label}: {r['n_candidates']:,} menus, {r['seconds']:.2f} s "
                f"(x{r['seconds'] / base:.2f}); profit per lost customer at all {n_samples} "
                f"draws {r['profit']:.3f}; tiers: " + " | ".join(r["tiers"])
            )
            print(line, flush=True)
            lines.append(line)
    if not args.no_write:
        import numba

        head = (
            f"\n## Good/better/best before and after issue 16 (`benchmarks/tiers_bench.py`), "
            f"{dt.date.today().isoformat()}\n\n"
            f"Python {platform.python_version()}, numpy {np.__version__}, numba "
            f"{numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
            f"{platform.machine()}. Part-worths: "
            + (f"the demo fit in {args.fit}" if args.fit else "simulated from the example's truth")
            + f" ({n_samples} draws x 460 respondents); example market, objective profit, "
            "every non-price attribute a feature, tested prices. Seconds are one call "
            "(search, then bands, upgrade paths and cannibalisation at every draw), ratios "
            "against the peer in the same run.\n\n"
        )
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(head + "\n".join(f"- {x}" for x in lines) + "\n")


if __name__ == "__main__":
    if "--child" not in sys.argv:  # the parent runs this checkout; a child, its PYTHONPATH
        sys.path.insert(0, str(ROOT))
    main()
