"""Market simulator: Sawtooth's published share-of-preference examples, RFC's similarity
correction, interpolation, bands, weights, segments, source of volume, and truth recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    encode_products,
    simulate,
    source_of_volume,
)
from winback.errors import WinbackError
from winback.study import parse_study

STUDY = """
[study]
name = "sim"
none_option = true
price_attribute = "price"

[[attributes]]
name = "brand"
levels = ["A", "B", "C"]

[[attributes]]
name = "price"
levels = [10.0, 20.0, 30.0]
coding = "linear"

[design]
alternatives = 2
tasks = 4
"""


@pytest.fixture(scope="module")
def study():
    return parse_study(STUDY)


def draws_of(study, beta) -> PartWorthDraws:
    """beta columns: brand[B], brand[C], price, none."""
    return PartWorthDraws.from_array(study, np.asarray(beta, dtype=float))


def market(products, **opts) -> dict:
    return {"products": products, "options": opts}


def test_sawtooth_share_of_preference_examples(study) -> None:
    """Sawtooth's manual: total utilities 1.0 and 2.0 give 26.9% / 73.1%; exponent 0.1 gives
    47.5% / 52.5%; exponent 10 gives 0.005% / 99.995%."""
    # one respondent: A at price 10 has utility 1 (brand A ref + price slope 0.1 * 10), B 2
    d = draws_of(study, [[1.0, 0.0, 0.1, 0.0]])
    prods = [
        {"name": "A", "brand": "A", "price": 10.0},
        {"name": "B", "brand": "B", "price": 10.0},
    ]
    # the manual prints percentages with 1 decimal (3 for the exponent-10 case)
    for exponent, want, digits in (
        (1.0, [26.9, 73.1], 1),
        (0.1, [47.5, 52.5], 1),
        (10.0, [0.005, 99.995], 3),
    ):
        sim = simulate(d, market(prods, exponent=exponent, none=False))
        got = np.round(100 * sim.shares["share"].to_numpy(), digits).tolist()
        assert got == want, f"exponent {exponent}: {got}% vs Sawtooth's {want}%"


def test_first_choice_and_ties(study) -> None:
    d = draws_of(study, [[1.0, 0.0, 0.0, -5.0], [0.0, 2.0, 0.0, -5.0], [0.0, 0.0, 0.0, -5.0]])
    prods = [
        {"name": "A", "brand": "A", "price": 10.0},
        {"name": "B", "brand": "B", "price": 10.0},
        {"name": "C", "brand": "C", "price": 10.0},
    ]
    sim = simulate(d, market(prods, rule="first_choice"))
    got = dict(zip(sim.shares["product"], sim.shares["share"], strict=True))
    # respondent 1 takes B, 2 takes C, 3 is indifferent between A, B and C (split in thirds)
    assert got == pytest.approx({"A": 1 / 9, "B": 1 / 3 + 1 / 9, "C": 1 / 3 + 1 / 9, "none": 0.0})


def test_rfc_duplicate_takes_share_from_its_twin_only(study) -> None:
    """Randomized first choice (attribute variability only): adding an exact duplicate of A
    splits A's share with the twin and leaves B and none unchanged; the logit rule (IIA)
    instead takes share from everyone."""
    rng = np.random.default_rng(5)
    beta = np.column_stack(
        [
            rng.normal(0.5, 1, 200),
            rng.normal(0, 1, 200),
            rng.normal(-0.05, 0.02, 200),
            rng.normal(-1, 1, 200),
        ]
    )
    d = draws_of(study, beta)
    a = {"name": "A", "brand": "B", "price": 20.0}
    b = {"name": "B", "brand": "C", "price": 15.0}
    twin = {**a, "name": "A twin"}
    opts = {"rule": "rfc", "rfc_draws": 50, "attribute_variability": 0.5}
    base = simulate(d, market([a, b], **opts), random_seed=3).shares.set_index("product")["share"]
    dup = simulate(d, market([a, b, twin], **opts), random_seed=3).shares.set_index("product")[
        "share"
    ]
    assert dup["A"] + dup["A twin"] == pytest.approx(base["A"], abs=1e-12), (base, dup)
    assert dup["B"] == pytest.approx(base["B"], abs=1e-12)
    assert dup["none"] == pytest.approx(base["none"], abs=1e-12)
    lbase = simulate(d, market([a, b])).shares.set_index("product")["share"]
    ldup = simulate(d, market([a, b, twin])).shares.set_index("product")["share"]
    assert ldup["B"] < lbase["B"] - 0.01, "logit should take share from B (IIA)"


def test_interpolation_and_range(study) -> None:
    x, member = encode_products(study, [Product("p", {"brand": "B", "price": 25.0})])
    assert x[0].tolist() == [1.0, 0.0, 25.0, 0.0]
    assert member[0].tolist() == [0, 1, 0, 0, 0.5, 0.5]
    with pytest.raises(WinbackError, match=r"price = 35.0 lies outside the tested range 10 - 30"):
        Market.from_dict(market([{"name": "p", "brand": "A", "price": 35.0}]), study)
    m = Market.from_dict(
        market([{"name": "p", "brand": "A", "price": 35.0}], extrapolate=True), study
    )
    assert m.extrapolate


def test_partworth_numeric_interpolates_between_levels() -> None:
    s = parse_study(STUDY.replace('coding = "linear"', ""))
    x, _ = encode_products(s, [Product("p", {"brand": "A", "price": 25.0})])
    # price part-worth columns price[20], price[30]: halfway between them
    assert x[0].tolist() == [0.0, 0.0, 0.5, 0.5, 0.0]


def test_market_errors_are_listed(study) -> None:
    bad = market(
        [
            {"name": "p", "brand": "Z", "price": 10.0},
            {"name": "p", "brnd": "A", "price": 10.0},
        ],
        rule="best",
    )
    with pytest.raises(WinbackError) as e:
        Market.from_dict(bad, study)
    msg = str(e.value)
    for part in (
        "unknown level 'Z'",
        "Valid levels: A, B, C",
        "used twice",
        "did you mean 'brand'",
        "rule 'best' is not valid",
        "no level for brand",
    ):
        assert part in msg, msg


def test_bands_weights_segments(study) -> None:
    rng = np.random.default_rng(1)
    beta = rng.normal([0.5, 0.0, -0.05, -1.0], [1.0, 1.0, 0.02, 1.0], size=(100, 50, 4))
    resp = pd.DataFrame(
        {
            "value": np.r_[np.ones(25), np.full(25, 3.0)],
            "reason": ["price"] * 25 + ["service"] * 25,
        },
        index=[str(i + 1) for i in range(50)],
    )
    d = PartWorthDraws.from_array(study, beta, respondents=resp)
    prods = [
        {"name": "A", "brand": "B", "price": 20.0, "own": True},
        {"name": "B", "brand": "C", "price": 15.0},
    ]
    sim = simulate(d, market(prods), weights="value", segment="reason")
    t = sim.shares
    allrows = t[t["segment"] == "all"]
    assert allrows["share"].sum() == pytest.approx(1.0)
    assert (allrows["lower"] <= allrows["share"]).all() and (
        allrows["share"] <= allrows["upper"]
    ).all()
    seg = t[t["segment"] != "all"].pivot(index="product", columns="segment", values="share")
    # weighted total = (1*price + 3*service)/4 of the segment shares
    want = (seg["price"] * 25 * 1 + seg["service"] * 25 * 3) / 100
    got = allrows.set_index("product")["share"]
    assert np.allclose(got[want.index], want), (got, want)
    with pytest.raises(WinbackError, match="No respondent column 'tenure'"):
        simulate(d, market(prods), weights="tenure")


def test_streamed_simulation_equals_all_draws_at_once(study) -> None:
    """A memory limit that forces one or two draws per chunk gives the shares, segment shares
    and respondent probabilities of the unchunked simulation (randomized first choice: the
    same errors), and float32 draws those of float64 ones."""
    rng = np.random.default_rng(4)
    beta = rng.normal([0.5, 0.0, -0.05, -1.0], [1.0, 1.0, 0.02, 1.0], size=(9, 40, 4))
    resp = pd.DataFrame(
        {"reason": ["price", "service"] * 20}, index=[str(i + 1) for i in range(40)]
    )
    d = PartWorthDraws.from_array(study, beta, respondents=resp)
    prods = [
        {"name": "A", "brand": "B", "price": 20.0, "own": True},
        {"name": "B", "brand": "C", "price": 15.0},
    ]
    for rule in ("logit", "first_choice", "rfc"):
        mk = market(prods, rule=rule)
        whole = simulate(d, mk, segment="reason")
        tiny = simulate(d, mk, segment="reason", memory_limit=5000.0)  # one draw a chunk
        assert whole.probabilities is not None and tiny.probabilities is None
        gap = float(np.abs(whole.share_draws - tiny.share_draws).max())
        assert gap < 1e-12, f"{rule}: streamed shares differ by {gap:.1e} (limit 1e-12)"
        cols = ["share", "lower", "upper"]
        gap = float(np.abs(whole.shares[cols].to_numpy() - tiny.shares[cols].to_numpy()).max())
        assert gap < 1e-12, f"{rule}: streamed share table differs by {gap:.1e}"
        gap = float(np.abs(whole.respondent_shares - tiny.respondent_shares).to_numpy().max())
        assert gap < 1e-12, f"{rule}: streamed respondent shares differ by {gap:.1e}"
        d32 = PartWorthDraws.from_array(study, beta.astype(np.float32), respondents=resp)
        gap = float(np.abs(simulate(d32, mk).share_draws - whole.share_draws).max())
        assert gap < 1e-5, f"{rule}: float32 draws' shares differ by {gap:.1e} (limit 1e-5)"
    with pytest.raises(WinbackError, match="memory_limit must be a positive"):
        simulate(d, market(prods), memory_limit=0)


def test_source_of_volume(study) -> None:
    rng = np.random.default_rng(2)
    beta = rng.normal([0.5, 0.0, -0.05, -1.0], [1.0, 1.0, 0.02, 1.0], size=(50, 80, 4))
    d = PartWorthDraws.from_array(study, beta)
    base = [
        {"name": "Ours", "brand": "A", "price": 20.0, "own": True},
        {"name": "Rival", "brand": "C", "price": 15.0},
    ]
    new = {"name": "Entry", "brand": "B", "price": 10.0, "own": True}
    before = simulate(d, market(base))
    after = simulate(d, market([*base, new]))
    sov = source_of_volume(before, after, "Entry").set_index("source")
    assert sov.loc["none", "kind"] == "none" and sov.loc["Ours", "kind"] == "own"
    assert sov.loc["Rival", "kind"] == "competitor"
    parts = sov.loc[["none", "Ours", "Rival"], "share_moved"].sum()
    assert parts == pytest.approx(sov.loc["total gain of Entry", "share_moved"]), sov
    assert sov.loc[["none", "Ours", "Rival"], "fraction"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# price curves, elasticities, willingness to pay
# --------------------------------------------------------------------------------------------


def test_price_curve_and_elasticities_match_closed_form(study) -> None:
    """One respondent, logit, linear price: the share is a logistic function of price, so the
    own elasticity is slope * price * (1 - share) and the cross elasticity -slope * p * share."""
    from analysis.pricing import price_curve, price_elasticities

    b = -0.1
    d = draws_of(study, [[0.5, 0.0, b, -1.0]])
    prods = [{"name": "A", "brand": "B", "price": 20.0}, {"name": "B", "brand": "A", "price": 20.0}]
    curve = price_curve(d, market(prods), "A", [10.0, 20.0, 30.0])
    for row in curve.itertuples():
        ua, ub, un = 0.5 + b * row.price, b * 20.0, -1.0
        want = np.exp(ua) / (np.exp(ua) + np.exp(ub) + np.exp(un))
        assert row.share == pytest.approx(want, rel=1e-9), (row, want)
        assert row.revenue == pytest.approx(want * row.price, rel=1e-9)
    el = price_elasticities(d, market(prods), change=1e-4).set_index(["price_of", "share_of"])
    sh = simulate(d, market(prods)).shares.set_index("product")["share"]
    assert el.loc[("A", "A"), "elasticity"] == pytest.approx(b * 20 * (1 - sh["A"]), rel=1e-4)
    assert el.loc[("A", "B"), "elasticity"] == pytest.approx(-b * 20 * sh["A"], rel=1e-4)


def test_market_wtp_three_ways(study) -> None:
    """A homogeneous market (every respondent alike): the ratio WTP is du / -slope exactly;
    the simulated WTP (the price rise that restores the share) equals it too, because with
    identical respondents and a linear price the share depends on du + slope * d only; the
    compensating variation is smaller (the improvement matters only when the offer is chosen)."""
    from analysis.pricing import market_wtp

    beta = np.tile([0.6, 0.2, -0.1, -1.0], (20, 1))
    d = draws_of(study, beta)
    prods = [{"name": "A", "brand": "A", "price": 20.0}, {"name": "B", "brand": "C", "price": 20.0}]
    t = market_wtp(d, market(prods), "A", changes={"brand": ["B"]}).set_index("method")
    assert t.loc["ratio", "wtp"] == pytest.approx(6.0), t
    assert t.loc["simulated", "wtp"] == pytest.approx(6.0, abs=1e-6), t
    assert 0 < t.loc["compensating_variation", "wtp"] < 6.0, t
    assert t.loc["ratio", "positive_slope_share"] == 0.0
    # an improvement worth more than the whole price range cannot be priced inside it
    big = np.tile([3.0, 0.2, -0.1, -1.0], (20, 1))
    t2 = market_wtp(draws_of(study, big), market(prods), "A", changes={"brand": ["B"]})
    sim = t2.set_index("method").loc["simulated"]
    assert sim["outside_range"] == 1.0 and np.isnan(sim["wtp"]), t2


@pytest.mark.recovery
def test_shares_recover_truth(example_fit) -> None:
    """Acceptance: on simulated lost customers with known part-worths, the simulator's shares
    (posterior, all draws) are within 0.03 of the true shares of the same respondents."""
    from winback.example import make_example_study

    model, truth, _ = example_fit
    ex = make_example_study()
    from pathlib import Path

    import winback

    mpath = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    est = simulate(model, mpath).shares.set_index("product")["share"]
    ids = list(model.respondent_ids)
    true_draws = PartWorthDraws.from_array(
        ex.study, truth.loc[ids, list(model.names)].to_numpy(), respondent_ids=ids
    )
    true = simulate(true_draws, mpath).shares.set_index("product")["share"]
    diff = (est - true).abs()
    table = pd.DataFrame({"estimated": est, "true": true, "abs diff": diff}).round(4)
    assert diff.max() <= 0.03, f"shares off by more than 0.03:\n{table}"
    print(table)


def test_market_file_calibration_is_read_and_checked(study, tmp_path) -> None:
    """A market file's [calibration] (issue 16): parsed as the study file's, every problem
    named with the file."""
    from analysis.simulator import read_market

    head = '[[products]]\nname = "A"\nown = true\nbrand = "A"\nprice = 20.0\n\n'
    good = tmp_path / "market.toml"
    good.write_text(
        head + '[calibration]\nkind = "winback_rate"\nobserved = 0.15\nn = 800\n'
        'availability = 0.5\nsource = "spring mailing"\n',
        encoding="utf-8",
    )
    cal = read_market(good, study).calibration
    assert cal is not None and cal.observed == (("winback", 0.15),) and cal.n == 800, cal
    assert cal.availability == 0.5 and cal.source == "spring mailing"
    assert read_market(good, study).products[0].name == "A"
    bad = tmp_path / "bad.toml"
    bad.write_text(head + "[calibration]\nobserved = 1.5\nnn = 3\n", encoding="utf-8")
    with pytest.raises(WinbackError) as e:
        read_market(bad, study)
    msg = str(e.value)
    for part in (str(bad), "'observed' = 1.5", "unknown key 'nn'", "'n' is required"):
        assert part in msg, msg
