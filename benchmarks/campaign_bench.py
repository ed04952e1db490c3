"""Campaign scoring at CRM scale (issue 18): 100,000 customers x 6 actions x the fit's draws.

The example's simulated CRM population (``winback.example_crm``: 100,000 lost customers, 300
survey respondents) is fitted with covariates (reason for leaving, previous plan, tenure) at
``winback fit``'s defaults (4 chains x 1,000 draws: 4,000 draws), the calibration fitted to
today's take-up, and every customer scored on six candidate actions (today's offer, a loyalty
price, a reliability promise, an entry offer, good / better / best, a second price) plus "Do not
contact" on every draw. Scoring runs in a fresh process that loads the saved fit, so its peak
memory (``ru_maxrss``: the whole process, the loaded fit and Python included) is the scoring's;
the time is one call of ``score_customers`` after a warm-up on 100 customers (numba's cache).
``plan_campaign`` (allocation, control group, the planned action of every customer scored again
for the bands) is timed after it.

The peer is the same scoring written plainly in NumPy (part-worths materialised per draw chunk,
a softmax per market), run in the same process on the first 2,000 customers: its time per
customer is scaled to 100,000 for the ratio, and its probabilities must equal the kernel's.

Run ``python benchmarks/campaign_bench.py [--customers N] [--draws D --chains C] [--no-write]``
from the repository root; results are appended to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_CUSTOMERS = 2000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return float("nan")


def _actions(crm):  # type: ignore[no-untyped-def]
    from analysis.decision import Action
    from analysis.simulator import Product
    from winback.example_crm import example_campaign_actions

    acts = example_campaign_actions(crm.study, crm.market)
    own = crm.market.product("FibreHome bundle")
    second = Product("FibreHome bundle", {**own.levels, "price": 68.0}, own=True)
    acts.append(
        Action("Price 68", "offer", crm.market.with_product(second), (second.name,), "68/month")
    )
    return acts


def prepare(args: argparse.Namespace, folder: Path) -> dict:
    from analysis import fit, save_model
    from winback.example_crm import CRM_COVARIATES, make_example_crm

    t0 = time.perf_counter()
    crm = make_example_crm(args.customers, args.respondents, random_seed=args.seed)
    crm.customers.to_pickle(folder / "customers.pkl")
    model = fit(
        crm.dataset(),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        covariance="diagonal",
        covariates=list(CRM_COVARIATES),
        constraints="price",
        random_seed=args.seed,
    )
    save_model(model, folder / "fit.nc")
    return {"fit_seconds": model.seconds_, "prepare_seconds": time.perf_counter() - t0}


def child(folder: Path, seed: int, n_customers: int) -> dict:
    """Score in this (fresh) process: time, CPU and peak memory."""
    import numba
    import pandas as pd

    from analysis import PartWorthDraws, calibrate, load_model
    from analysis.campaign import (
        customer_preferences,
        plan_campaign,
        read_customers,
        score_customers,
    )
    from winback.example_crm import example_market, make_example_crm

    crm = make_example_crm(n_customers, 300, random_seed=seed)  # the market and calibration
    model = load_model(folder / "fit.nc", check_sources=False)
    customers = read_customers(pd.read_pickle(folder / "customers.pkl"), segment="main_reason")
    market = example_market(crm.study)
    prefs = customer_preferences(model, customers, random_seed=seed)
    cal = calibrate(PartWorthDraws.from_model(model), market, crm.calibration)
    acts = _actions(crm)
    business = crm.study.business
    small = read_customers(pd.read_pickle(folder / "customers.pkl").head(100))
    score_customers(customer_preferences(model, small), small, acts, business, calibration=cal)
    before = _current_rss_mb()
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    scores = score_customers(prefs, customers, acts, business, calibration=cal)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_mb()
    t1, c1 = time.perf_counter(), time.process_time()
    campaign = plan_campaign(scores)
    plan_wall, plan_cpu = time.perf_counter() - t1, time.process_time() - c1
    load1 = os.getloadavg()[0]
    peak_plan = _rss_mb()
    # the peer: plain NumPy on the first customers
    t2 = time.perf_counter()
    p_peer = _numpy_scores(prefs, customers, acts, business, cal, PEER_CUSTOMERS)
    peer_wall = time.perf_counter() - t2
    ok = customers.contactable[:PEER_CUSTOMERS]  # the others are not scored (NaN)
    diff = float(np.abs(p_peer - scores.p_return[:PEER_CUSTOMERS, : len(acts)])[ok].max())
    total = campaign.summary.iloc[-1]
    return {
        "customers": customers.n_customers,
        "actions": len(scores.actions),
        "contact_actions": len(acts),
        "draws": prefs.n_samples,
        "respondents": int((prefs.who >= 0).sum()),
        "threads": numba.get_num_threads(),
        "score_seconds": wall,
        "score_cpu_seconds": cpu,
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "plan_seconds": plan_wall,
        "plan_cpu_seconds": plan_cpu,
        "load": [load0, load1],
        "peak_rss_plan_mb": peak_plan,
        "peer_seconds_per_customer": peer_wall / PEER_CUSTOMERS,
        "peer_max_abs_diff": diff,
        "contacted": int(total["contacted"]),
        "profit": float(total["profit"]),
    }


def _numpy_scores(prefs, customers, actions, business, cal, n):  # type: ignore[no-untyped-def]
    """The peer: the probability of returning per customer and action, in plain NumPy."""
    from analysis.simulator import encode_products

    names = list(prefs.names)
    out = np.zeros((n, len(actions)))
    for c0 in range(0, n, 200):
        idx = np.arange(c0, min(c0 + 200, n))
        beta = prefs.beta(idx)  # (sample, customer, parameter)
        for j, a in enumerate(actions):
            x, _ = encode_products(prefs.study, a.market.products)
            none = np.zeros((1, len(names)))
            none[0, names.index("none")] = 1.0
            u = beta @ np.vstack([x, none]).T
            u *= (cal.exponent * cal.scale)[:, None, None]
            u[..., -1] += cal.shift[:, None]
            u -= u.max(axis=2, keepdims=True)
            e = np.exp(u)
            own = [k for k, p in enumerate(a.market.products) if p.own]
            p = e[..., own].sum(axis=2) / e.sum(axis=2)
            out[idx, j] = cal.calibration.availability * p.mean(axis=0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--respondents", type=int, default=300)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.seed, args.customers)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prep = prepare(args, folder)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, __file__, "--child", str(folder), "--seed", str(args.seed)]
        cmd += ["--customers", str(args.customers)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if res.returncode != 0:
            sys.exit(res.stderr)
        out = json.loads(res.stdout.strip().splitlines()[-1])
    peer = out["peer_seconds_per_customer"] * out["customers"]
    lines = [
        f"- {out['customers']:,} customers ({out['respondents']} with their own draws) x "
        f"{out['actions']} actions ({out['contact_actions']} offers + do not contact) x "
        f"{out['draws']:,} draws, {out['threads']} threads: scored in "
        f"{out['score_seconds']:.1f} s (CPU {out['score_cpu_seconds']:.1f} s); peak memory of "
        f"the process {out['peak_rss_mb']:,.0f} MB ({out['rss_before_mb']:,.0f} MB before "
        "scoring: the loaded fit and Python)",
        f"- plan (allocation, control group, bands of every planned action): "
        f"{out['plan_seconds']:.1f} s (CPU {out['plan_cpu_seconds']:.1f} s); peak memory "
        f"{out['peak_rss_plan_mb']:,.0f} MB",
        f"- peer (plain NumPy, {PEER_CUSTOMERS:,} customers scaled to {out['customers']:,}): "
        f"{peer:.0f} s, ratio {peer / out['score_seconds']:.0f}; largest difference in "
        f"p_return {out['peer_max_abs_diff']:.1e}",
        f"- target: under 60 s and 4 GB: {'**met**' if out['score_seconds'] < 60 and out['peak_rss_mb'] < 4096 else 'NOT met'}",
        f"- fit (not timed above): {prep['fit_seconds']:.0f} s; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared, load average {out['load'][0]:.1f} before scoring and "
        f"{out['load'][1]:.1f} after the plan",
    ]
    print("\n".join(lines))
    if not args.no_write:
        today = dt.date.today().isoformat()
        text = (
            f"\n## Campaign scoring at CRM scale (issue 18) (`benchmarks/campaign_bench.py`), "
            f"{today}\n\n" + "\n".join(lines) + "\n"
        )
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
