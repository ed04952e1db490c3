"""Declared interactions in estimation and simulation: a price x plan interaction simulated
with known truth and recovered by the aggregate MNL (precisely) and a small HB fit; the
simulator's shares follow it; importances and WTP as documented; the searches that add
attributes separately refuse it."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import fit, fit_mnl, optimize_offer, population, willingness_to_pay
from analysis.results._common import _ranges
from analysis.simulator import Market, PartWorthDraws, Product, simulate
from conjoint import make_design, simulate_choices
from surveys import make_dataset
from tests.conftest import make_study
from winback.errors import WinbackError

STUDY = """
[study]
name = "price by plan"
none_option = true

[[attributes]]
name = "plan"
levels = ["Basic", "Fibre", "Premium"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "500 Mbps", "1 Gbps"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]
coding = "linear"

[[interactions]]
attributes = ["price", "plan"]

[design]
method = "d_efficient"
alternatives = 3
tasks = 10
versions = 4
seed = 3
starts = 2
"""

#: Premium buyers are less price sensitive: slope -0.08 on Basic and Fibre, -0.03 on Premium
TRUTH = {
    "plan[Fibre]": 0.8,
    "plan[Premium]": 1.2,
    "speed[500 Mbps]": 0.4,
    "speed[1 Gbps]": 0.7,
    "price": -0.08,
    "price x plan=Fibre": 0.0,
    "price x plan=Premium": 0.05,
    "none": -1.0,
}


@pytest.fixture(scope="module")
def simulated():
    study = make_study(STUDY)
    design = make_design(study)
    return study, design


@pytest.mark.recovery
def test_the_aggregate_mnl_recovers_the_interaction(simulated):
    study, design = simulated
    choices = simulate_choices(design, TRUTH, 5, n_respondents=600)
    res = fit_mnl(make_dataset(choices, study, design=design))
    tab = res.table().set_index("parameter")
    lines, bad = [], []
    for name, truth in TRUTH.items():
        est, se = float(tab.loc[name, "estimate"]), float(tab.loc[name, "se"])
        lo, hi = est - 3 * se, est + 3 * se  # 99.7%
        lines.append(f"{name}: truth {truth:+.3f}, estimate {est:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        if not lo <= truth <= hi:
            bad.append(lines[-1])
    assert not bad, "\n".join(["outside the band:", *lines])
    # the Premium slope shift is told apart from no interaction at all
    est = float(tab.loc["price x plan=Premium", "estimate"])
    se = float(tab.loc["price x plan=Premium", "se"])
    assert est - 3 * se > 0, f"price x plan=Premium {est:.4f} (se {se:.4f}) not above 0"


@pytest.mark.recovery
def test_a_small_hb_fit_estimates_the_interaction_and_reports_it(simulated):
    """40 respondents, short chains: the population mean of the interaction within a wide
    band, the part-worth table listing it, WTP using each plan's own price slope."""
    study, design = simulated
    choices = simulate_choices(design, TRUTH, 7, n_respondents=40, sd=0.1)
    model = fit(make_dataset(choices, study, design=design), draws=150, tune=150, chains=2)
    assert "price x plan=Premium" in model.names
    pop = population(model, band=0.99).set_index("parameter")
    for name in ("price", "price x plan=Fibre", "price x plan=Premium"):
        lo, hi = float(pop.loc[name, "lower"]), float(pop.loc[name, "upper"])
        assert lo <= TRUTH[name] <= hi, f"{name}: truth {TRUTH[name]} outside 99% [{lo}, {hi}]"
    pw = model.partworths()
    rows = pw[pw["attribute"] == "price x plan"]
    assert sorted(set(rows["level"])) == ["price x plan=Fibre", "price x plan=Premium"]
    # WTP of Premium over Basic at the reference price: -b_Premium / (b_price + b_int)
    b = model.beta_draws()
    b = b.reshape(-1, b.shape[2], b.shape[3])  # (sample, respondent, parameter)
    k = {n: i for i, n in enumerate(model.names)}
    slope = b[..., k["price"]] + b[..., k["price x plan=Premium"]]
    w = np.where(slope < 0, -b[..., k["plan[Premium]"]] / slope, np.nan)
    none_left = np.isnan(w).all(axis=1)
    by_draw = np.nanmedian(np.where(none_left[:, None], 0.0, w), axis=1)
    expected = float(np.nanmean(np.where(none_left, np.nan, by_draw)))
    got = willingness_to_pay(model).set_index("level").loc["Premium", "wtp"]
    assert abs(got - expected) < 1e-9, f"WTP of Premium {got:.6f}, by hand {expected:.6f}"


@pytest.mark.unit
def test_the_simulator_uses_the_interaction(simulated):
    """Shares from the true part-worths are the logit of the true utilities, the interaction
    applied at any price (also between tested prices); without the interaction the Premium
    product's share at a high price is lower, as the truth says."""
    study = simulated[0]
    names = list(TRUTH)
    beta = np.array([TRUTH[n] for n in names])
    products = (
        Product("Basic 40", {"plan": "Basic", "speed": "500 Mbps", "price": 40.0}),
        Product("Premium 55", {"plan": "Premium", "speed": "500 Mbps", "price": 55.0}),
    )
    market = Market(products)

    def shares(b: np.ndarray) -> dict[str, float]:
        sim = simulate(PartWorthDraws.from_array(study, b[None]), market)
        return dict(zip(sim.shares["product"], sim.shares["share"], strict=True))

    got = shares(beta)
    u = np.array([0.4 - 0.08 * 40, 1.2 + 0.4 - 0.08 * 55 + 0.05 * (55 - 30), -1.0])
    hand = np.exp(u) / np.exp(u).sum()
    for name, h in zip(["Basic 40", "Premium 55", "none"], hand, strict=True):
        assert abs(got[name] - h) < 1e-12, f"{name}: simulator {got[name]:.6f}, by hand {h:.6f}"
    no_inter = beta.copy()
    no_inter[names.index("price x plan=Premium")] = 0.0
    without = shares(no_inter)
    assert got["Premium 55"] > without["Premium 55"] + 0.1, (
        f"Premium at 55: share {got['Premium 55']:.3f} with the interaction, "
        f"{without['Premium 55']:.3f} without"
    )


@pytest.mark.unit
def test_importance_averages_over_the_interacting_levels(simulated):
    """price: |slope + mean shift over the plans| x 30; plan: its range at the mean price
    (the plans' utilities averaged over the four tested prices)."""
    study = simulated[0]
    names = list(TRUTH)
    r = _ranges(np.array([TRUTH[n] for n in names]), study, names)
    price = abs(-0.08 + (0.0 + 0.0 + 0.05) / 3) * 30
    plan = 1.2 + 0.05 * 15  # Premium at the mean price offset (0 + 10 + 20 + 30) / 4
    assert abs(r[2] - price) < 1e-12, f"price range {r[2]}, expected {price}"
    assert abs(r[0] - plan) < 1e-12, f"plan range {r[0]}, expected {plan}"
    assert abs(r[1] - 0.7) < 1e-12, f"speed range {r[1]}, expected 0.7"


@pytest.mark.unit
def test_searches_that_add_attributes_separately_refuse_interactions(simulated):
    study = simulated[0]
    draws = PartWorthDraws.from_array(study, np.array([list(TRUTH.values())]))
    market = Market(
        (Product("ours", {"plan": "Fibre", "speed": "1 Gbps", "price": 40.0}, own=True),)
    )
    with pytest.raises(WinbackError, match="does not support declared interactions yet"):
        optimize_offer(draws, market)


@pytest.mark.unit
def test_market_wtp_uses_the_changed_offers_own_price_slope(simulated):
    """Basic at 30 -> Premium: utility +0.2, price slope -0.08 + 0.05 = -0.03 on Premium, so
    the premium that leaves one respondent indifferent is 0.2 / 0.03 = 6.667 by every method
    (ratio, and the simulated price change that restores the share; no rivals)."""
    from analysis import market_wtp

    study = simulated[0]
    truth = {**TRUTH, "plan[Premium]": 0.2}
    draws = PartWorthDraws.from_array(study, np.array([list(truth.values())]))
    market = Market((Product("ours", {"plan": "Basic", "speed": "500 Mbps", "price": 30.0}),))
    tab = market_wtp(draws, market, "ours", changes={"plan": ["Premium"]})
    got = tab.set_index("method")["wtp"]
    for method in ("ratio", "simulated"):
        assert abs(got[method] - 0.2 / 0.03) < 1e-6, f"{method}: {got[method]:.6f}, truth 6.6667"
