"""Offer search: exhaustive equals brute force through the simulator, the heuristic's bound and
gap, segments, the two-product search, first-choice re-scoring, truth recovery (97% of the true
optimum's profit) and errors."""

from __future__ import annotations

import importlib
import itertools
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.offers import optimize_offer, optimize_offers
from analysis.simulator import Market, PartWorthDraws, Product, logit_probabilities, simulate
from conjoint.encoding import parameter_names
from winback.errors import WinbackError
from winback.example import make_example_study
from winback.study import parse_study

STUDY = """
[study]
name = "search"
none_option = true
price_attribute = "price"

[[attributes]]
name = "brand"
levels = ["A", "B", "C"]

[[attributes]]
name = "speed"
levels = ["slow", "fast"]
preference = "increasing"

[[attributes]]
name = "price"
levels = [10.0, 20.0, 30.0]
coding = "linear"

[design]
alternatives = 2
tasks = 4

[[prohibitions]]
brand = "C"
speed = "slow"

[costs]
base = 4.0
speed = { fast = 3.0 }
brand = { B = 1.0 }
"""

PRICES = [10.0, 15.0, 20.0, 25.0, 30.0]


@pytest.fixture(scope="module")
def study():
    return parse_study(STUDY)


@pytest.fixture(scope="module")
def draws(study):
    # brand[B], brand[C], speed[fast], price, none
    rng = np.random.default_rng(11)
    ind = rng.normal([0.4, 0.2, 0.8, -0.12, -1.5], [0.8, 0.8, 0.6, 0.04, 1.0], size=(60, 5))
    beta = ind[None] + 0.2 * rng.standard_normal((40, 60, 5))
    reason = np.where(np.arange(60) < 30, "price", "service")
    resp = pd.DataFrame({"reason": reason}, index=[str(i + 1) for i in range(60)])
    return PartWorthDraws.from_array(study, beta, respondents=resp)


def mk(study, **opts) -> Market:
    return Market.from_dict(
        {
            "products": [
                {"name": "Ours", "own": True, "brand": "A", "speed": "slow", "price": 20.0},
                {"name": "Rival", "brand": "B", "speed": "fast", "price": 25.0},
            ],
            "options": opts,
        },
        study,
    )


def brute_force(draws, market, study):
    """Every allowed candidate through simulate: profit, share per draw."""
    out = {}
    for brand, speed, price in itertools.product(["A", "B", "C"], ["slow", "fast"], PRICES):
        if brand == "C" and speed == "slow":
            continue
        levels = {"brand": brand, "speed": speed, "price": price}
        sim = simulate(draws, market.with_product(Product("Ours", levels, own=True)))
        share = sim.share_draws[:, 0]
        cost = 4.0 + (3.0 if speed == "fast" else 0.0) + (1.0 if brand == "B" else 0.0)
        out[(brand, speed, price)] = (share, share * (price - cost))
    return out


def test_exhaustive_equals_brute_force(study, draws) -> None:
    market = mk(study)
    res = optimize_offer(draws, market, objective="profit", prices=PRICES, top=50)
    bf = brute_force(draws, market, study)
    assert res.exhaustive and res.n_candidates == len(bf) == 25, res
    assert res.gap == 0.0
    assert list(res.offers.columns) == [
        "rank", "brand", "speed", "price", "share", "lower", "upper", "revenue", "profit",
        "prob_beats_current", "prob_best",
    ]  # fmt: skip
    for row in res.offers.itertuples():
        share, profit = bf[(row.brand, row.speed, row.price)]
        assert row.profit == pytest.approx(profit.mean(), rel=1e-9), (
            f"{row.brand}/{row.speed}/{row.price}: search {row.profit} vs simulate {profit.mean()}"
        )
        assert row.share == pytest.approx(share.mean(), rel=1e-9)
        lo, hi = np.quantile(share, [0.05, 0.95])
        assert (row.lower, row.upper) == pytest.approx((lo, hi), rel=1e-9)
    best = max(bf, key=lambda k: bf[k][1].mean())
    top = res.offers.iloc[0]
    assert (top.brand, top.speed, top.price) == best, (top, best)
    assert res.offers["profit"].is_monotonic_decreasing
    # P(beats current) of the best offer, against the current offer through simulate
    cur = simulate(draws, market).share_draws[:, 0] * (20.0 - 4.0)
    want = float((bf[best][1] > cur).mean())
    assert top.prob_beats_current == pytest.approx(want)
    assert res.offers["prob_best"].sum() == pytest.approx(1.0)
    assert "exhaustive over 25 candidates" in repr(res)
    assert res.best().levels == {"brand": best[0], "speed": best[1], "price": best[2]}


def test_constraints(study, draws) -> None:
    market = mk(study)
    res = optimize_offer(
        draws, market, objective="revenue", required={"speed": "fast"},
        excluded={"brand": ["B"]}, price_floor=15, price_ceiling=25, prices=PRICES,
    )  # fmt: skip
    assert set(res.offers["speed"]) == {"fast"} and "B" not in set(res.offers["brand"])
    assert res.offers["price"].between(15, 25).all() and res.n_candidates == 6
    res = optimize_offer(draws, market, objective="share", min_share=0.3, prices=PRICES, top=50)
    assert (res.offers["share"] >= 0.3).all()


def test_heuristic_reports_gap_against_bound(study, draws) -> None:
    market = mk(study)
    ex = optimize_offer(draws, market, objective="profit", prices=PRICES)
    heur = optimize_offer(draws, market, objective="profit", prices=PRICES, exhaustive_limit=5)
    assert not heur.exhaustive and heur.n_candidates == 30
    best = heur.offers["profit"].iloc[0]
    assert heur.bound >= best - 1e-12, (heur.bound, best)
    assert heur.gap == pytest.approx((heur.bound - best) / heur.bound)
    assert best >= 0.99 * ex.offers["profit"].iloc[0], (best, ex.offers["profit"].iloc[0])
    assert "gap" in repr(heur)


def test_first_choice_rescoring(study, draws) -> None:
    market = mk(study, rule="first_choice")
    res = optimize_offer(draws, market, objective="share", prices=PRICES, top=3)
    row = res.offers.iloc[0]
    prod = Product("Ours", {"brand": row.brand, "speed": row.speed, "price": row.price}, own=True)
    sim = simulate(draws, market.with_product(prod))
    assert row.share == pytest.approx(sim.share_draws[:, 0].mean())
    assert res.rule == "first_choice"


def test_segments(study, draws) -> None:
    res = optimize_offer(draws, mk(study), objective="profit", prices=PRICES, segment="reason")
    seg = res.segments
    assert seg is not None and list(seg["segment"]) == ["price", "service"]
    assert seg["n_respondents"].sum() == 60
    for col in ("margin", "margin_lower", "margin_upper", "gain_lower", "worth_winning"):
        assert col in seg.columns
    assert seg["worth_winning"].dtype == bool
    assert ((seg["margin"] > 0) & (seg["gain_lower"] > 0)).eq(seg["worth_winning"]).all()


def test_two_product_search_equals_brute_force(study, draws) -> None:
    point = draws.point()
    market = mk(study)
    prices = [10.0, 20.0, 30.0]
    res = optimize_offers(point, market, objective="revenue", prices=prices, top=3)
    assert res.n_pairs == 15 * 15
    cands = [
        {"brand": b, "speed": s, "price": p}
        for b, s, p in itertools.product(["A", "B", "C"], ["slow", "fast"], prices)
        if not (b == "C" and s == "slow")
    ]
    best = -np.inf
    for c1, c2 in itertools.product(cands, cands):
        m = market.with_product(Product("Ours", c1, own=True)).with_product(
            Product("New offer", c2, own=True)
        )
        sh = simulate(point, m).share_draws[0]
        best = max(best, sh[0] * c1["price"] + sh[2] * c2["price"])
    got = res.offers["joint_revenue"].iloc[0]
    assert got == pytest.approx(best, rel=1e-9), (got, best)
    assert list(res.offers["product"][:2]) == ["Ours", "New offer"]


def test_logit_probabilities_match_simulator() -> None:
    u = np.random.default_rng(1).normal(size=(3, 4, 5))
    p = logit_probabilities(u, 0.7)
    want = np.exp(0.7 * u) / np.exp(0.7 * u).sum(-1, keepdims=True)
    assert np.allclose(p, want)
    assert np.allclose(logit_probabilities(u * 1000, 1.0).sum(-1), 1.0)


@pytest.mark.recovery
def test_truth_profit_within_97_percent() -> None:
    """Simulated lost customers with known part-worths (the example study): the offer
    recommended from noisy estimates earns >= 97% of the true optimum's profit under the truth."""
    ex = make_example_study()
    study = ex.study
    names = parameter_names(study)
    rng = np.random.default_rng(2026)
    mean = np.array([ex.true_means[n] for n in names])
    sd = np.array([ex.true_sd[n] for n in names])
    truth = mean + rng.standard_normal((300, len(names))) * sd
    # a stand-in posterior: individual estimates off by half the heterogeneity, 100 draws
    est = truth + 0.5 * sd * rng.standard_normal(truth.shape)
    post = est[None] + 0.5 * sd * rng.standard_normal((100, *truth.shape))
    market = Market.from_dict(
        {
            "products": [
                {
                    "name": "FibreHome", "own": True, "speed": "1 Gbps",
                    "tv": "TV Essentials + Sports", "mobile": "SIM Unlimited",
                    "contract": "24 months", "support": "Standard", "outage_credit": "None",
                    "price": 75.0,
                },
                {
                    "name": "CableCo", "speed": "1 Gbps", "tv": "TV Essentials",
                    "mobile": "No mobile", "contract": "12 months", "support": "Standard",
                    "outage_credit": "None", "price": 60.0,
                },
            ]
        },
        study,
    )  # fmt: skip
    true_draws = PartWorthDraws.from_array(study, truth)
    fitted = PartWorthDraws.from_array(study, post)
    rec = optimize_offer(fitted, market, objective="profit", top=1)
    opt = optimize_offer(true_draws, market, objective="profit", top=1)
    offer = rec.best()
    sim = simulate(true_draws, market.with_product(offer))
    cost = 18.0 + sum(
        dict(zip(study.attribute(a).levels, c, strict=True))[offer.levels[a]]
        for a, c in study.costs.as_dict().items()
    )
    earned = float(sim.share_draws[0, 0] * (offer.levels["price"] - cost))
    best = float(opt.offers["profit"].iloc[0])
    print(f"recommended offer earns {earned:.4f} per lost customer; true optimum {best:.4f}")
    assert earned >= 0.97 * best, f"recommended {earned:.4f} < 97% of true optimum {best:.4f}"


def test_errors(study, draws) -> None:
    market = mk(study)
    cases = [
        (dict(required={"colour": "red"}), "Unknown attribute 'colour'.*Attributes: brand, speed"),
        (dict(required={"brand": "Z"}), "unknown level 'Z'.*Valid levels: A, B, C"),
        (dict(objective="margin"), "objective 'margin' is not valid.*share, revenue, profit"),
        (dict(product="Rivall"), "No product 'Rivall'.*Products: Ours, Rival"),
        (dict(min_share=0.99), "No candidate offer is left"),
        (dict(prices=[5.0]), "outside the tested range"),
        (dict(excluded={"brand": ["A", "B", "C"]}), "No level of 'brand' is left"),
    ]
    for kw, msg in cases:
        with pytest.raises(WinbackError, match=msg):
            optimize_offer(draws, market, **kw)
    nocost = parse_study(STUDY.split("[costs]")[0])
    d = PartWorthDraws.from_array(nocost, draws.beta)
    with pytest.raises(WinbackError, match="needs unit costs"):
        optimize_offer(d, mk(nocost), objective="profit")
    two_own = market.with_product(
        Product("Ours 2", {"brand": "B", "speed": "fast", "price": 10.0}, own=True)
    )
    with pytest.raises(WinbackError, match="2 own products \\(Ours, Ours 2\\)"):
        optimize_offer(draws, two_own)


def test_analysis_search_still_imports_with_a_deprecation_warning(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "analysis.search", raising=False)
    with pytest.warns(DeprecationWarning, match="analysis.search is now analysis.offers"):
        old = importlib.import_module("analysis.search")
    assert old.optimize_offer is optimize_offer
    assert old.optimize_offers is optimize_offers
    assert old.logit_probabilities is logit_probabilities
    assert callable(old.own_product)
