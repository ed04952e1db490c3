"""Price curves, elasticities and WTP under every rule, computed for all prices in one pass.

Randomized first choice draws its errors from a counter-based generator (common random numbers
across prices and markets). Checked here: the generator's normals and Gumbels; RFC against
closed forms (Gumbel errors only: the logit rule; normal level errors: a normal CDF whose
variance counts the levels the two products do not share, interpolated prices included) and
against the previous implementation (NumPy's stream, one market per price) within Monte Carlo
error; the curve at the current price equal to the simulated share; logit, first choice and the
three WTPs equal to the previous implementation.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numba
import numpy as np
import pytest
from scipy import stats

from analysis.pricing import market_wtp, price_curve, price_elasticities
from analysis.simulator import (
    Market,
    PartWorthDraws,
    choice_probabilities,
    encode_products,
    posterior_band,
    simulate,
    utilities,
    variant_share_draws,
)
from analysis.simulator._kernels import _normals, standard_normals
from analysis.simulator.rules import _first_choice
from winback.errors import ParameterError, WinbackError
from winback.settings import BAND
from winback.study import parse_study

STUDY = """
[study]
name = "pricing rules"
none_option = true
price_attribute = "price"

[[attributes]]
name = "brand"
levels = ["A", "B", "C"]

[[attributes]]
name = "speed"
levels = ["slow", "fast"]

[[attributes]]
name = "price"
levels = [10.0, 20.0, 30.0]
coding = "linear"

[design]
alternatives = 2
tasks = 4
"""
# parameters: brand[B], brand[C], speed[fast], price, none
PRODUCTS = [
    {"name": "Ours", "brand": "A", "speed": "fast", "price": 20.0, "own": True},
    {"name": "Rival", "brand": "B", "speed": "fast", "price": 25.0},
    {"name": "Budget", "brand": "C", "speed": "slow", "price": 10.0},
]
PRICES = [10.0, 15.0, 20.0, 25.0, 30.0]


@pytest.fixture(scope="module")
def study():
    return parse_study(STUDY)


def heterogeneous(study, n_samples: int, n_resp: int, seed: int = 4) -> PartWorthDraws:
    rng = np.random.default_rng(seed)
    mean, sd = np.array([0.3, -0.2, 0.8, -0.08, -0.5]), np.array([0.8, 0.8, 0.6, 0.03, 1.0])
    ind = mean + sd * rng.standard_normal((n_resp, 5))
    beta = ind[None] + 0.3 * sd * rng.standard_normal((n_samples, n_resp, 5))
    return PartWorthDraws.from_array(study, beta)


def mk(study, products=PRODUCTS, **opts) -> Market:
    return Market.from_dict({"products": products, "options": opts}, study)


def at_price(market: Market, name: str, price: float) -> Market:
    prod = market.product(name)
    return market.with_product(replace(prod, levels={**prod.levels, "price": price}))


# --------------------------------------------------------------------------------------------
# the previous implementation (NumPy's stream, one whole market per price), as slow references
# --------------------------------------------------------------------------------------------


def previous_rfc(draws: PartWorthDraws, market: Market, seed: int) -> np.ndarray:
    x, member = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    rng = np.random.default_rng(seed)
    base = utilities(draws, x, none=market.none)
    s, r, j = base.shape
    mem = np.concatenate([member, np.zeros((1, member.shape[1]))]) if market.none else member
    out = np.zeros_like(base)
    for _ in range(market.rfc_draws):
        u = base.copy()
        if market.attribute_variability > 0:
            u += rng.normal(0.0, market.attribute_variability, (s, r, member.shape[1])) @ mem.T
        if market.product_variability > 0:
            u += rng.gumbel(0.0, market.product_variability, size=(s, r, j))
        out += _first_choice(u)
    return out / market.rfc_draws


def previous_shares(draws, market, w, seed=1) -> np.ndarray:
    """(sample, alternative) weighted shares, the way every pricing function used to get them."""
    if market.rule == "rfc":
        probs = previous_rfc(draws, market, seed)
    else:
        probs = choice_probabilities(draws, market, random_seed=seed)
    return np.einsum("srj,r->sj", probs, w)


def mc_se(draws, market, w, k_draws: int) -> np.ndarray:
    """(alternative,) Monte Carlo standard error of a share's posterior mean under RFC: every
    respondent-draw's probability is a mean of ``k_draws`` independent first choices."""
    p = choice_probabilities(draws, market)
    var = (w[None, :, None] ** 2 * p * (1 - p)).sum(axis=(0, 1)) * k_draws / (k_draws - 1)
    return np.sqrt(var / k_draws) / p.shape[0]


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------


def test_normals_are_standard_normal() -> None:
    """2,000,000 draws: mean, variance, Kolmogorov-Smirnov, and the ziggurat's tail (beyond
    r = 3.654, drawn by a separate branch) as often as the normal's."""
    z = standard_normals(2024, 2_000_000)
    n = z.size
    assert abs(z.mean()) < 4 / np.sqrt(n), f"mean {z.mean():.2e} beyond 4 se {4 / np.sqrt(n):.2e}"
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n), f"variance {z.var():.5f}"
    ks = stats.kstest(z, "norm")
    assert ks.pvalue > 1e-3, f"KS statistic {ks.statistic:.2e}, p = {ks.pvalue:.2e}"
    want = 2 * stats.norm.sf(3.6541528853610088) * n
    got = int((np.abs(z) > 3.6541528853610088).sum())
    assert abs(got - want) < 4 * np.sqrt(want), f"{got} draws in the tail, expected {want:.0f}"
    # the kernels' vectorised fast path (then the rejections one by one) gives the same draws
    assert np.array_equal(z[:10_000], _normals(np.uint64(2024), 10_000))
    assert not np.array_equal(z[:100], standard_normals(2025, 100))


def test_gumbels_are_standard_gumbel() -> None:
    g = standard_normals(7, 1_000_000, gumbel=True)
    n = g.size
    sd = np.pi / np.sqrt(6)
    assert abs(g.mean() - np.euler_gamma) < 4 * sd / np.sqrt(n), f"mean {g.mean():.5f}"
    assert abs(g.var() - sd**2) < 0.01, f"variance {g.var():.4f} vs {sd**2:.4f}"
    ks = stats.kstest(g, "gumbel_r")
    assert ks.pvalue > 1e-3, f"KS statistic {ks.statistic:.2e}, p = {ks.pvalue:.2e}"


# --------------------------------------------------------------------------------------------
# randomized first choice: closed forms, the previous implementation, common random numbers
# --------------------------------------------------------------------------------------------


def test_rfc_with_gumbel_errors_only_is_the_logit_rule(study) -> None:
    """Gumbel product errors of scale b and first choice make the logit rule with exponent 1/b
    (none has its Gumbel too): the RFC price curve lies within Monte Carlo error of the logit
    one at every price."""
    d = heterogeneous(study, 2, 300)
    rfc = mk(study, rule="rfc", rfc_draws=200, attribute_variability=0.0, product_variability=0.5)
    logit = mk(study, exponent=2.0)
    got = price_curve(d, rfc, "Ours", PRICES)["share"].to_numpy()
    want = price_curve(d, logit, "Ours", PRICES)["share"].to_numpy()
    w = np.full(300, 1 / 300)
    for i, p in enumerate(PRICES):
        pr = choice_probabilities(d, at_price(logit, "Ours", p))[..., 0]
        se = np.sqrt((w**2 * pr * (1 - pr)).sum(axis=1).mean() / 200) / np.sqrt(2)
        assert abs(got[i] - want[i]) < 4 * se, (
            f"price {p}: rfc {got[i]:.4f} vs logit {want[i]:.4f}, beyond 4 se = {4 * se:.4f}"
        )


def test_rfc_with_level_errors_matches_the_normal_cdf(study) -> None:
    """Two products, no none, level errors of sd 0.7: A beats B with probability
    Phi(du / (0.7 sqrt(v))), v the summed squared loadings of the levels they do not share
    (A at 25 is half level 20, half level 30, which B at 30 shares: v = 2 + 0.25 + 0.25)."""
    sd = 0.7
    beta = np.tile([0.4, 0.0, 0.0, -0.05, 0.0], (400, 1))
    d = PartWorthDraws.from_array(study, beta)
    prods = [
        {"name": "A", "brand": "A", "speed": "fast", "price": 20.0},
        {"name": "B", "brand": "B", "speed": "fast", "price": 30.0},
    ]
    m = mk(study, prods, rule="rfc", rfc_draws=250, attribute_variability=sd, none=False)
    got = price_curve(d, m, "A", PRICES)["share"].to_numpy()
    loadings = {10.0: 4.0, 15.0: 3.5, 20.0: 4.0, 25.0: 2.5, 30.0: 2.0}
    n = 400 * 250
    for i, p in enumerate(PRICES):
        du = -0.05 * p - (0.4 - 0.05 * 30)
        want = stats.norm.cdf(du / (sd * np.sqrt(loadings[p])))
        se = np.sqrt(want * (1 - want) / n)
        assert abs(got[i] - want) < 4 * se, (
            f"price {p}: share {got[i]:.4f} vs Phi = {want:.4f}, beyond 4 se = {4 * se:.4f}"
        )


@pytest.mark.parametrize("pv", [0.0, 0.6])
def test_rfc_curve_agrees_with_the_previous_implementation(study, pv) -> None:
    """At every price, every alternative's share within 4 Monte Carlo standard errors of the
    previous implementation (independent streams: the difference has sqrt(2) se)."""
    d = heterogeneous(study, 20, 150)
    m = mk(study, rule="rfc", rfc_draws=30, attribute_variability=0.8, product_variability=pv)
    w = np.full(150, 1 / 150)
    new = variant_share_draws(d, m, [at_price(m, "Ours", p).product("Ours") for p in PRICES], w)
    for i, p in enumerate(PRICES):
        mp = at_price(m, "Ours", p)
        old = previous_shares(d, mp, w).mean(axis=0)
        se = mc_se(d, mp, w, 30) * np.sqrt(2)
        diff = new[i].mean(axis=0) - old
        assert (np.abs(diff) < 4 * se).all(), (
            f"price {p}: new {np.round(new[i].mean(axis=0), 4)} vs previous {np.round(old, 4)}, "
            f"differences {np.round(diff, 4)} beyond 4 se {np.round(4 * se, 4)}"
        )


def test_rfc_simulate_agrees_with_the_previous_implementation(study) -> None:
    d = heterogeneous(study, 40, 200)
    m = mk(study, rule="rfc", rfc_draws=20, attribute_variability=1.0, product_variability=0.3)
    w = np.full(200, 1 / 200)
    new = simulate(d, m).share_draws.mean(axis=0)
    old = previous_shares(d, m, w).mean(axis=0)
    se = mc_se(d, m, w, 20) * np.sqrt(2)
    assert (np.abs(new - old) < 4 * se).all(), (new, old, 4 * se)


def test_rfc_common_random_numbers(study) -> None:
    """The curve at the current price is the simulated share exactly; elasticities' shares at
    the current price too; removing a product leaves every other product's errors as they were,
    so no respondent-draw gives any other alternative less share."""
    d = heterogeneous(study, 10, 80)
    m = mk(study, rule="rfc", rfc_draws=15, attribute_variability=0.9, product_variability=0.4)
    sim = simulate(d, m, random_seed=9).shares.set_index("product")["share"]
    curve = price_curve(d, m, "Ours", [15.0, 20.0, 25.0], random_seed=9).set_index("price")
    assert curve.loc[20.0, "share"] == pytest.approx(sim["Ours"], abs=1e-12), (curve, sim)
    w = np.full(80, 1 / 80)
    both = variant_share_draws(d, m, [None, m.product("Rival")], w, random_seed=9)
    assert np.allclose(both[0], both[1], atol=1e-12, rtol=0)
    full = choice_probabilities(d, m, random_seed=9)
    less = choice_probabilities(d, m.without("Rival"), random_seed=9)
    kept = np.delete(full, 1, axis=-1)
    worst = float((less - kept).min())
    assert worst >= -1e-12, f"an alternative lost {-worst:.3f} when Rival left"
    assert (less - kept).max() > 0.05


def test_rfc_is_reproducible_by_seed_and_checks_it(study) -> None:
    d = heterogeneous(study, 5, 30)
    m = mk(study, rule="rfc", rfc_draws=5)
    a = simulate(d, m, random_seed=3).share_draws
    assert np.array_equal(a, simulate(d, m, random_seed=3).share_draws)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:  # each draw's errors are its own: the same whatever the threads
        assert np.array_equal(a, simulate(d, m, random_seed=3).share_draws)
    finally:
        numba.set_num_threads(threads)
    assert not np.array_equal(a, simulate(d, m, random_seed=4).share_draws)
    for bad in (-1, 1.5, "1", True):
        msg = re.escape(f"random_seed must be a non-negative integer, got {bad!r}")
        with pytest.raises(ParameterError, match=msg):
            simulate(d, m, random_seed=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# logit and first choice unchanged
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["logit", "first_choice"])
def test_curves_and_elasticities_unchanged(study, rule) -> None:
    """Logit and first choice: the same numbers as one whole market per price (to 1e-12)."""
    d = heterogeneous(study, 30, 60)
    m = mk(study, rule=rule, exponent=1.3)
    w = np.full(60, 1 / 60)
    curve = price_curve(d, m, "Rival", PRICES)
    for row in curve.itertuples():
        sd = previous_shares(d, at_price(m, "Rival", row.price), w)[:, 1]
        lo, hi = posterior_band(sd, BAND)
        got = [row.share, row.lower, row.upper, row.revenue]
        want = [sd.mean(), lo, hi, (sd * row.price).mean()]
        assert np.allclose(got, want, rtol=1e-12, atol=1e-14), (row, want)
    el = price_elasticities(d, m, change=0.05).set_index(["price_of", "share_of"])
    for prod in m.products:
        p0 = prod.levels["price"]
        up, dn = min(p0 * 1.05, 30.0), max(p0 * 0.95, 10.0)
        s_up = previous_shares(d, at_price(m, prod.name, up), w)
        s_dn = previous_shares(d, at_price(m, prod.name, dn), w)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = (np.log(s_up) - np.log(s_dn)) / (np.log(up) - np.log(dn))
        got = el.loc[prod.name, "elasticity"].to_numpy()
        assert np.allclose(got, e.mean(axis=0), rtol=1e-9, equal_nan=True), (prod.name, got)


def test_logit_variants_far_apart_utilities(study) -> None:
    """Utilities more than 600 apart (exponent 200): each variant is shifted on its own."""
    d = heterogeneous(study, 4, 10)
    m = mk(study, exponent=200.0)
    w = np.full(10, 0.1)
    got = variant_share_draws(d, m, [None, at_price(m, "Ours", 10.0).product("Ours")], w)
    for c, mm in enumerate([m, at_price(m, "Ours", 10.0)]):
        want = previous_shares(d, mm, w)
        assert np.allclose(got[c], want, rtol=1e-12, atol=1e-300), (got[c], want)


def test_variant_of_an_unknown_product_or_price(study) -> None:
    d = heterogeneous(study, 2, 5)
    m = mk(study, rule="rfc")
    other = replace(m.product("Ours"), name="Ourz")
    with pytest.raises(WinbackError, match="'Ourz' is not one of"):
        variant_share_draws(d, m, [other], np.full(5, 0.2))
    with pytest.raises(WinbackError, match=r"price = 35\.0 lies outside the tested range 10 - 30"):
        price_curve(d, m, "Ours", [20.0, 35.0])


# --------------------------------------------------------------------------------------------
# willingness to pay unchanged
# --------------------------------------------------------------------------------------------


def previous_wtp(d, m, product, attr, level) -> dict[str, np.ndarray]:
    """Per draw: the ratio (median), compensating variation (mean) and simulated WTP (50
    bisection steps of the logit share), as the previous implementation computed them."""
    study = d.study
    x_all, _ = encode_products(study, m.products)
    j = m.names.index(product)
    prod = m.product(product)
    p0 = prod.levels["price"]
    other = p0 + 0.2 if p0 + 0.2 <= 30 else p0 - 0.2
    x1, _ = encode_products(study, [replace(prod, levels={**prod.levels, "price": other})])
    slope = d.beta @ (x1[0] - x_all[j]) / (other - p0)
    xc, _ = encode_products(study, [replace(prod, levels={**prod.levels, attr: level})])
    du = d.beta @ (xc[0] - x_all[j])
    e = m.exponent
    base_u = utilities(d, x_all, none=m.none)

    def softmax(v):
        ex = np.exp(v - v.max(axis=-1, keepdims=True))
        return ex / ex.sum(axis=-1, keepdims=True)

    def lse(v):
        mx = v.max(axis=-1, keepdims=True)
        return (mx + np.log(np.exp(v - mx).sum(axis=-1, keepdims=True)))[..., 0]

    w = np.full(d.n_respondents, 1 / d.n_respondents)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = du / -slope
    ratio_s = np.nanmedian(np.where(np.isfinite(ratio), ratio, np.nan), axis=1)
    u1 = base_u.copy()
    u1[..., j] += du
    cv = (lse(e * u1) / e - lse(e * base_u) / e) / -slope
    cv_s = np.nanmean(np.where(np.isfinite(cv), cv, np.nan), axis=1)
    target = softmax(e * base_u)[..., j] @ w

    def share(dd):
        u = base_u.copy()
        u[..., j] += du + slope * dd[:, None]
        return softmax(e * u)[..., j] @ w

    a, b = np.full(d.n_samples, 10.0 - p0), np.full(d.n_samples, 30.0 - p0)
    bracket = (share(a) - target >= 0) & (share(b) - target <= 0)
    for _ in range(50):
        mid = (a + b) / 2
        right = share(mid) - target > 0
        a, b = np.where(right, mid, a), np.where(right, b, mid)
    sim = np.where(bracket, (a + b) / 2, np.nan)
    return {"ratio": ratio_s, "compensating_variation": cv_s, "simulated": sim}


@pytest.mark.parametrize("rule", ["logit", "rfc"])
def test_market_wtp_unchanged(study, rule) -> None:
    """All three methods as before (the simulated WTP to 1e-9 of the price range: Newton steps
    now, where 50 bisection steps were): posterior medians (means before: a near-zero price
    slope carried them outside their own bands), bands and the outside-range share."""
    d = heterogeneous(study, 200, 40)
    m = mk(study, rule=rule, exponent=0.8)
    t = market_wtp(d, m, "Ours", changes={"brand": ["B", "C"], "speed": ["slow"]})
    for (attr, level), grp in t.groupby(["attribute", "to_level"]):
        want = previous_wtp(d, m, "Ours", attr, level)
        for row in grp.itertuples():
            v = want[row.method]
            ok = v[np.isfinite(v)]
            if not ok.size:  # speed -> slow: no price inside the range makes up for it
                assert np.isnan(row.wtp) and row.outside_range == 1.0, row
                continue
            lo, hi = posterior_band(ok, BAND)
            assert [row.wtp, row.lower, row.upper] == pytest.approx(
                [np.median(ok), lo, hi], abs=1e-9 * 20
            ), (attr, level, row.method, row, np.median(ok), lo, hi)
            assert row.lower <= row.wtp <= row.upper, (attr, level, row.method, row)
            if row.method == "simulated":
                assert row.outside_range == pytest.approx(np.mean(~np.isfinite(v)))
