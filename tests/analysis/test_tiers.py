"""Good/better/best tiers are tiers: each tier has more than the one below at a higher price
(under every objective), the search equals brute force through the simulator at individual
draws, a near-duplicate tier that an aggregate logit (or the posterior mean part-worths) would
pick is not picked; upgrade paths and cannibalisation add up; unbundling strips a component
valued below its cost; errors name what is valid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.offers.objectives import simulation_objective
from analysis.simulator import Market, PartWorthDraws, Product, simulate
from analysis.tiers import feature_order, feature_sequences, optimize_tiers, unbundle
from analysis.tiers.evaluate import thin_draws
from winback.errors import WinbackError
from winback.study import Attribute, parse_study

STUDY = """
[study]
name = "tiers"
none_option = true
price_attribute = "price"

[[attributes]]
name = "tv"
levels = ["No TV", "TV"]

[[attributes]]
name = "mobile"
levels = ["No mobile", "SIM"]

[[attributes]]
name = "speed"
levels = ["fast", "slow"]
preference = "decreasing"

[[attributes]]
name = "price"
levels = [10.0, 20.0, 30.0, 40.0]
coding = "linear"

[design]
alternatives = 2
tasks = 4

[costs]
base = 3.0
tv = { TV = 8.0 }
mobile = { SIM = 2.0 }
speed = { fast = 2.0 }
"""

# more of each feature, from the tier below to the tier above ("slow" < "fast": decreasing)
RANK = {"No TV": 0, "TV": 1, "No mobile": 0, "SIM": 1, "slow": 0, "fast": 1}
PRICES = [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]


@pytest.fixture(scope="module")
def study():
    return parse_study(STUDY)


def make_draws(study, means, seed=3) -> PartWorthDraws:
    # tv[TV], mobile[SIM], speed[slow], price, none
    rng = np.random.default_rng(seed)
    sd = np.array([0.5, 0.5, 0.5, 0.02, 0.8])
    ind = np.asarray(means) + sd * rng.standard_normal((80, 5))
    return PartWorthDraws.from_array(study, ind[None] + 0.1 * sd * rng.standard_normal((30, 80, 5)))


def market(study) -> Market:
    return Market.from_dict(
        {
            "products": [
                {"name": "Bundle", "own": True, "tv": "TV", "mobile": "SIM", "speed": "fast",
                 "price": 40.0},
                {"name": "Rival", "tv": "No TV", "mobile": "SIM", "speed": "fast", "price": 25.0},
            ]
        },
        study,
    )  # fmt: skip


def menu_objectives(draws, base: Market, tiers) -> dict[str, float]:
    """Brute force: the menu through the simulator (one logit per respondent and draw)."""
    m = base
    for p in tiers:
        m = m.with_product(p)
    obj = simulation_objective(simulate(draws, m), draws.study, False)
    return {k: float(v.mean()) for k, v in obj.items()}


def is_tier_ladder(tiers, features) -> str:
    """'' when each tier has more of some feature, less of none and a higher price."""
    for lo, hi in itertools.pairwise(tiers):
        up = [RANK[hi[f]] - RANK[lo[f]] for f in features]
        if min(up) < 0 or max(up) < 1 or hi["price"] <= lo["price"]:
            return f"{lo} -> {hi}"
    return ""


@pytest.fixture(scope="module")
def brute(study):
    """Every nested menu of tv and speed (identical tiers allowed, as before issue 16) over
    PRICES, with its share, revenue and profit at every draw."""
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    base = market(study).without("Bundle")
    seqs = {
        "tv": list(itertools.combinations_with_replacement(["No TV", "TV"], 3)),
        "speed": list(itertools.combinations_with_replacement(["slow", "fast"], 3)),
    }
    rows = []
    for tv, sp, lad in itertools.product(
        seqs["tv"], seqs["speed"], itertools.combinations(PRICES, 3)
    ):
        tiers = [{"tv": tv[t], "mobile": "SIM", "speed": sp[t], "price": lad[t]} for t in range(3)]
        products = [Product(f"T{t}", tiers[t], own=True) for t in range(3)]
        rows.append((tiers, menu_objectives(d, base, products)))
    return d, rows


def test_tiers_equal_brute_force(study) -> None:
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    mk = market(study)
    res = optimize_tiers(
        d, mk, features=["tv", "mobile", "speed"], prices=PRICES, min_gap=10.0,
        replace="Bundle", objective="profit",
    )  # fmt: skip
    assert res.proven_optimal and res.n_draws == 30 and res.rule == "logit"
    base = mk.without("Bundle")
    levels = {"tv": ["No TV", "TV"], "mobile": ["No mobile", "SIM"], "speed": ["slow", "fast"]}
    ladders = [
        c for c in itertools.combinations(PRICES, 3) if c[1] - c[0] >= 10 and c[2] - c[1] >= 10
    ]
    menus = []
    for seqs in itertools.product(
        *[list(itertools.combinations_with_replacement(v, 3)) for v in levels.values()]
    ):
        tiers = [dict(zip(levels, (s[t] for s in seqs), strict=True)) for t in range(3)]
        if not is_tier_ladder(
            [{**t, "price": p} for t, p in zip(tiers, (1, 2, 3), strict=True)], levels
        ):
            menus.append(tiers)
    # three binary features, three tiers, each a strictly larger set of features: chains of
    # sizes 0<1<2 (3 x 2), 1<2<3 (3 x 2), 0<1<3 (3) and 0<2<3 (3)
    assert len(menus) == 18, len(menus)
    assert res.n_candidates == len(menus) * len(ladders) == 18 * 10, res.n_candidates
    best, arg = -np.inf, None
    for tiers, lad in itertools.product(menus, ladders):
        products = [Product(f"T{t}", {**tiers[t], "price": lad[t]}, own=True) for t in range(3)]
        val = menu_objectives(d, base, products)["profit"]
        if val > best:
            best, arg = val, (tiers, lad)
    assert res.value == pytest.approx(best, rel=1e-9), f"search {res.value} vs brute force {best}"
    t = res.tiers
    for f in levels:
        assert list(t[f]) == [x[f] for x in arg[0]], (t, arg)
    assert tuple(t["price"]) == arg[1]
    assert list(t["tier"]) == ["Good", "Better", "Best"]
    assert (np.diff(t["price"]) >= 10).all()
    assert not is_tier_ladder(t.to_dict("records"), list(levels)), t
    assert (t["lower"] <= t["share"]).all() and (t["share"] <= t["upper"]).all()
    # the figures at every draw add up to the value searched (all 30 draws were searched)
    total = res.summary.set_index("measure").loc["our profit, tier menu", "value"]
    assert total == pytest.approx(res.value, rel=1e-9), f"figures {total} vs search {res.value}"
    # upgrade paths: the sources of each added tier add up to its gain
    for tier, grp in res.upgrade_paths.groupby("tier"):
        parts = grp[grp["kind"] != "total"]["share_moved"].sum()
        total = grp[grp["kind"] == "total"]["share_moved"].iloc[0]
        assert parts == pytest.approx(total), tier
    assert set(res.cannibalisation["tier"]) == {"Good", "Better", "Best"}
    assert "proven optimal" in repr(res) and "30 draws" in repr(res)


@pytest.mark.parametrize("objective", ["share", "revenue", "profit"])
def test_tiers_are_tiers_under_every_objective(study, brute, objective) -> None:
    d, rows = brute
    # before issue 16: the best nested menu repeats a feature set at two or three prices
    old_tiers, old = max(rows, key=lambda r: r[1][objective])
    repeats = [
        (lo["tv"], lo["speed"], lo["price"], hi["price"])
        for lo, hi in itertools.pairwise(old_tiers)
        if (lo["tv"], lo["speed"]) == (hi["tv"], hi["speed"])
    ]
    assert repeats, f"the {objective}-best nested menu {old_tiers} has no repeated tier"
    res = optimize_tiers(
        d, market(study), features=["tv", "speed"], prices=PRICES, replace="Bundle",
        objective=objective,
    )  # fmt: skip
    tiers = res.tiers.to_dict("records")
    bad = is_tier_ladder(tiers, ["tv", "speed"])
    assert not bad, f"{objective}: a tier is not more than the one below: {bad}"
    ok = [r for r in rows if not is_tier_ladder(r[0], ["tv", "speed"])]
    best_tiers, best = max(ok, key=lambda r: r[1][objective])
    assert res.value == pytest.approx(best[objective], rel=1e-9), (
        f"{objective}: search {res.value:.6f} vs brute force over tier ladders "
        f"{best[objective]:.6f} ({best_tiers})"
    )
    for got, want in zip(tiers, best_tiers, strict=True):
        assert (got["tv"], got["speed"], got["price"]) == (
            want["tv"],
            want["speed"],
            want["price"],
        ), f"{objective}: {tiers} vs brute force {best_tiers}"
    # the rule costs something against the repeated tiers the logit liked
    assert best[objective] < old[objective], (
        f"{objective}: tier ladder {best[objective]:.4f} vs repeated tiers {old[objective]:.4f} "
        f"({repeats})"
    )


# A population with three segments (known part-worths, real heterogeneity): basic users want
# neither TV nor speed, speed users want 1 Gbps (+2, 20 EUR), TV fans want TV (+5) and speed;
# the others dislike TV (-4.5). Priority support is worth 0.4 (4 EUR) to everyone and costs
# nothing. At the mean part-worths (an aggregate logit) TV is worth -1.3 and speed 1.3: a third
# tier that only adds priority support at 5 EUR more, a near-duplicate, looks best.
NEAR_DUP_STUDY = """
[study]
name = "near duplicates"
none_option = true
price_attribute = "price"

[[attributes]]
name = "tv"
levels = ["No TV", "TV"]

[[attributes]]
name = "support"
levels = ["Standard", "Priority"]
preference = "increasing"

[[attributes]]
name = "speed"
levels = ["100 Mbps", "1 Gbps"]
preference = "increasing"

[[attributes]]
name = "price"
levels = [10.0, 60.0]
coding = "linear"

[design]
alternatives = 2
tasks = 4

[costs]
base = 3.0
tv = { TV = 8.0 }
speed = { "1 Gbps" = 6.0 }
"""
ND_PRICES = [20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0]
ND_FEATURES = ["tv", "support", "speed"]


@pytest.fixture(scope="module")
def segments():
    study = parse_study(NEAR_DUP_STUDY)
    n, s = 240, 10
    rng = np.random.default_rng(5)
    seg = np.arange(n) % 3
    # tv[TV], support[Priority], speed[1 Gbps], price, none
    means = np.column_stack(
        [
            np.where(seg == 2, 5.0, -4.5),
            np.full(n, 0.4),
            np.where(seg >= 1, 2.0, 0.0),
            np.full(n, -0.1),
            np.full(n, -2.0),
        ]
    )
    sd = np.array([0.3, 0.05, 0.3, 0.01, 0.3])
    truth = means + sd * rng.standard_normal((n, 5))
    draws = PartWorthDraws.from_array(study, truth[None] + sd * rng.standard_normal((s, n, 5)))
    aggregate = PartWorthDraws.from_array(study, truth.mean(axis=0)[None, None])
    mk = Market.from_dict(
        {"products": [{"name": "Rival", "tv": "No TV", "support": "Standard",
                       "speed": "1 Gbps", "price": 35.0}]},
        study,
    )  # fmt: skip
    attrs = [study.attribute(f) for f in ND_FEATURES]
    menus = []  # brute force: every tier ladder of the three features and the prices
    for seqs in itertools.product(*[feature_sequences(a, 3) for a in attrs]):
        if not all(any(q[t + 1] != q[t] for q in seqs) for t in range(2)):
            continue
        for lad in itertools.combinations(ND_PRICES, 3):
            menus.append(
                [
                    Product(f"T{t}", {**{a.name: a.levels[q[t]] for a, q in zip(attrs, seqs,
                            strict=True)}, "price": lad[t]}, own=True)
                    for t in range(3)
                ]
            )  # fmt: skip
    return study, truth, draws, aggregate, mk, menus


def _describe(tiers) -> list[tuple[str, ...]]:
    return [(p.levels["tv"], p.levels["support"], p.levels["speed"], f"{p.levels['price']:g}")
            for p in tiers]  # fmt: skip


def _near_duplicates(tiers) -> list[str]:
    """Steps that add only priority support (worth 4 EUR to everyone)."""
    return [
        f"{lo.levels['price']:g} -> {hi.levels['price']:g}"
        for lo, hi in itertools.pairwise(tiers)
        if lo.levels["support"] != hi.levels["support"]
        and (lo.levels["tv"], lo.levels["speed"]) == (hi.levels["tv"], hi.levels["speed"])
    ]


def test_a_near_duplicate_tier_the_aggregate_logit_picks_is_not_picked(segments) -> None:
    _, _, draws, aggregate, mk, menus = segments
    agg = [menu_objectives(aggregate, mk, m)["profit"] for m in menus]
    ind = [menu_objectives(draws, mk, m)["profit"] for m in menus]
    a, i = int(np.argmax(agg)), int(np.argmax(ind))
    # the aggregate logit's menu has a near-duplicate tier ...
    assert _near_duplicates(menus[a]), f"aggregate logit's menu {_describe(menus[a])}"
    assert _describe(menus[a]) == [
        ("No TV", "Standard", "100 Mbps", "25"),
        ("No TV", "Standard", "1 Gbps", "30"),
        ("No TV", "Priority", "1 Gbps", "35"),
    ], _describe(menus[a])
    # ... which the respondents, one logit each per draw, value well below the best menu
    assert ind[a] < ind[i] - 5.0, f"individual profit {ind[a]:.3f} vs best {ind[i]:.3f}"
    res = optimize_tiers(
        draws, mk, features=ND_FEATURES, prices=ND_PRICES, base={}, objective="profit"
    )
    got = [Product(r["tier"], {f: r[f] for f in [*ND_FEATURES, "price"]}) for r in
           res.tiers.to_dict("records")]  # fmt: skip
    assert not _near_duplicates(got), f"search picked {_describe(got)}"
    assert _describe(got) == _describe(menus[i]), (
        f"search {_describe(got)} vs brute force {_describe(menus[i])}"
    )
    assert res.value == pytest.approx(ind[i], rel=1e-9), f"search {res.value} vs {ind[i]}"
    assert _describe(got) == [
        ("No TV", "Priority", "100 Mbps", "25"),
        ("No TV", "Priority", "1 Gbps", "35"),
        ("TV", "Priority", "1 Gbps", "60"),
    ], _describe(got)
    assert res.value > agg[a] + 5.0 and ind[i] == pytest.approx(20.8357, abs=1e-3), (
        f"individual-level best {ind[i]:.4f} (search {res.value:.4f}) vs the aggregate "
        f"logit's own estimate {agg[a]:.4f}"
    )


def test_point_estimates_are_an_aggregate_before_the_logit(segments) -> None:
    # respondents whose posterior draws range over the whole population (few answers each):
    # draw s of respondent r is the true part-worths of respondent r + 8 s, ten of each
    # segment in 30 draws. Their posterior means are all near the population mean, so a logit
    # at point estimates is an aggregate logit; the draws still say who wants what
    study, truth, _, _, mk, _ = segments
    n = len(truth)
    spread_draws = np.stack([truth[(np.arange(n) + 8 * s) % n] for s in range(30)])
    draws = PartWorthDraws.from_array(study, spread_draws)
    spread = np.ptp(draws.point().beta[0], axis=0).max()
    assert spread < 1.0, f"posterior means differ by up to {spread:.2f}"
    kw = {"features": ND_FEATURES, "prices": ND_PRICES, "base": {}, "objective": "profit"}
    point = optimize_tiers(draws.point(), mk, **kw)
    full = optimize_tiers(draws, mk, **kw)

    def tiers(res):
        return [Product(r["tier"], {f: r[f] for f in [*ND_FEATURES, "price"]})
                for r in res.tiers.to_dict("records")]  # fmt: skip

    assert _near_duplicates(tiers(point)), f"at point estimates: {_describe(tiers(point))}"
    assert not _near_duplicates(tiers(full)), f"at the draws: {_describe(tiers(full))}"
    at_draws = menu_objectives(draws, mk, tiers(point))["profit"]
    assert full.value > at_draws + 3.0, (
        f"at the draws, the search's menu makes {full.value:.3f} per lost customer, the point "
        f"estimates' menu {at_draws:.3f}"
    )


def test_feature_sequences() -> None:
    tv = Attribute("tv", ("No TV", "Basic", "Sports"))
    # no order: add a component, never drop or swap it
    assert feature_sequences(tv, 3) == [
        (0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 1), (0, 2, 2), (1, 1, 1), (2, 2, 2)
    ]  # fmt: skip
    assert feature_sequences(tv, 2, [0, 1, 2]) == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    speed = Attribute("speed", ("1 Gbps", "300 Mbps", "100 Mbps"), preference="decreasing")
    assert feature_order(speed) == [2, 1, 0]
    assert feature_sequences(speed, 2) == [(2, 2), (2, 1), (2, 0), (1, 1), (1, 0), (0, 0)]
    gb = Attribute("data_gb", (50.0, 10.0, 100.0))  # numeric, no preference: by value
    assert feature_order(gb) == [1, 0, 2]
    assert (0, 1) not in feature_sequences(gb, 2) and (1, 0) in feature_sequences(gb, 2)
    assert len(feature_sequences(Attribute("x", ("a", "b")), 3)) == 4


def test_order_lets_a_component_be_upgraded(study) -> None:
    three = parse_study(STUDY.replace('levels = ["No mobile", "SIM"]',
                                      'levels = ["No mobile", "SIM 5 GB", "SIM Unlimited"]')
                        .replace('mobile = { SIM = 2.0 }',
                                 'mobile = { "SIM 5 GB" = 2.0, "SIM Unlimited" = 4.0 }'))  # fmt: skip
    rng = np.random.default_rng(2)
    # tv, mobile[5 GB], mobile[Unlimited], speed[slow], price, none
    mean = np.array([0.8, 0.6, 1.6, -0.7, -0.1, -2.0])
    beta = mean + np.array([0.5, 0.5, 0.5, 0.5, 0.02, 0.8]) * rng.standard_normal((20, 60, 6))
    d = PartWorthDraws.from_array(three, beta)
    mk = Market.from_dict(
        {"products": [{"name": "Rival", "tv": "No TV", "mobile": "SIM 5 GB", "speed": "fast",
                       "price": 25.0}]},
        three,
    )  # fmt: skip
    kw = {"features": ["mobile"], "prices": PRICES, "base": {"tv": "No TV", "speed": "fast"}}
    with pytest.raises(WinbackError, match="allow at most 2 tiers"):
        optimize_tiers(d, mk, **kw)
    levels = ["No mobile", "SIM 5 GB", "SIM Unlimited"]
    res = optimize_tiers(d, mk, order={"mobile": levels}, **kw)
    assert list(res.tiers["mobile"]) == levels, res.tiers
    two = optimize_tiers(d, mk, n_tiers=2, names=["Good", "Best"], **kw)
    step = tuple(two.tiers["mobile"])
    assert step[0] == "No mobile" and step[1] != "No mobile", step
    with pytest.raises(WinbackError, match=r"order\['mobile'\] must list each level"):
        optimize_tiers(d, mk, order={"mobile": ["SIM 5 GB", "No mobile"]}, **kw)
    with pytest.raises(WinbackError, match="not one of the features"):
        optimize_tiers(d, mk, order={"tv": ["No TV", "TV"]}, **kw)


def test_thinned_draws_and_other_rules(study) -> None:
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    mk = market(study)
    kw = {"features": ["tv", "speed"], "prices": PRICES, "replace": "Bundle",
          "objective": "revenue"}  # fmt: skip
    res = optimize_tiers(d, mk, n_draws=7, **kw)
    assert res.n_draws == 7
    thin = thin_draws(d, 7)
    assert thin.n_samples == 7 and np.array_equal(thin.beta[[0, -1]], d.beta[[0, -1]])
    want = menu_objectives(thin, mk.without("Bundle"), _products(res))["revenue"]
    assert res.value == pytest.approx(want, rel=1e-9), f"search {res.value} vs {want}"
    # randomized first choice: the logit-best menus re-scored with the market's rule
    rfc = Market(mk.products, rule="rfc", rfc_draws=5)
    res = optimize_tiers(d, rfc, n_draws=5, **kw)
    assert not res.proven_optimal and res.rule == "rfc" and "re-scored with rfc" in repr(res)
    assert not is_tier_ladder(res.tiers.to_dict("records"), ["tv", "speed"]), res.tiers
    m = rfc.without("Bundle")
    for p in _products(res):
        m = m.with_product(p)
    want = simulation_objective(simulate(thin_draws(d, 5), m), study, False)["revenue"].mean()
    assert res.value == pytest.approx(want, rel=1e-9), f"rfc search {res.value} vs {want}"
    # one tier: the best single offer of the grid
    one = optimize_tiers(d, mk, n_tiers=1, names=["Only"], **kw)
    assert len(one.tiers) == 1 and one.n_candidates == 4 * len(PRICES), one.n_candidates


def _products(res) -> list[Product]:
    study_cols = [c for c in res.tiers.columns if c in ("tv", "mobile", "speed", "price")]
    return [
        Product(r["tier"], {c: r[c] for c in study_cols}, own=True)
        for r in res.tiers.to_dict("records")
    ]


def test_unbundling_strips_component_valued_below_cost(study) -> None:
    # TV is worth about 1 currency unit to customers (0.1 / 0.1 per unit) but costs 8
    d = make_draws(study, [0.1, 1.5, -0.7, -0.1, -2.0])
    mk = market(study)
    res = unbundle(
        d, mk, bundle="Bundle", components=["tv", "mobile"], entry_prices=[10, 20, 30, 40],
        addon_prices=[5.0, 10.0, 15.0], objective="profit",
    )  # fmt: skip
    assert "tv" in res.stripped, res
    offers = list(res.table["offer"])
    assert offers[0] == "bundle (current)" and "entry" in offers and "entry + tv" in offers
    entry = res.table.set_index("offer").loc["entry"]
    assert entry["tv"] == "No TV" and entry["price"] == res.entry_price
    summ = res.summary.set_index("measure")
    gain = summ.loc["our profit, change", "value"]
    assert gain > 0, res.summary
    net = summ.loc[
        "net gain: lost customers brought back, net of what the menu takes from our own products"
    ]
    menu = summ.loc["share, entry menu", "value"]
    parts = [
        summ.loc[f"menu takers from {k}", "value"]
        for k in ("none", "competitors", "our own products")
    ]
    # the menu's takers come from none, competitors and our own products, exactly
    assert sum(parts) == pytest.approx(menu, abs=1e-12), (parts, menu)
    # one own product: what the menu takes from our own products is the bundle's share
    bundle = summ.loc["share, bundle alone (current)", "value"]
    assert parts[2] == pytest.approx(bundle, abs=1e-12), (parts[2], bundle)
    assert net["value"] == pytest.approx(parts[0] + parts[1], abs=1e-12)
    assert summ.loc["own products' share, current (Bundle)", "value"] == pytest.approx(bundle)
    assert set(res.addons["component"]) == set(res.stripped)
    assert res.addons["take_rate"].between(0, 1).all()


def test_unbundling_net_of_cannibalisation(study) -> None:
    """With a second own product, the menu's gain counts what it takes from it: the net gain
    is all own products after minus before, below the menu's gain over the bundle alone."""
    d = make_draws(study, [0.1, 1.5, -0.7, -0.1, -2.0])
    mk = market(study).with_product(
        Product("Lite", {"tv": "No TV", "mobile": "SIM", "speed": "slow", "price": 20.0}, own=True)
    )
    res = unbundle(
        d, mk, bundle="Bundle", components=["tv", "mobile"], entry_prices=[10, 20, 30, 40],
        addon_prices=[5.0, 10.0, 15.0], objective="profit",
    )  # fmt: skip
    assert res.stripped, res
    summ = res.summary.set_index("measure")
    before = summ.loc["own products' share, current (Bundle, Lite)", "value"]
    names = ", ".join(p.name for p in res.market.products if p.own)
    after = summ.loc[f"own products' share, with the menu ({names})", "value"]
    net = summ.loc[
        "net gain: lost customers brought back, net of what the menu takes from our own products",
        "value",
    ]
    gross_gain = (
        summ.loc["share, entry menu", "value"] - summ.loc["share, bundle alone (current)", "value"]
    )
    lite_before = simulate(d, mk).shares.set_index("product").loc["Lite", "share"]
    lite_after = simulate(d, res.market).shares.set_index("product").loc["Lite", "share"]
    assert lite_after < lite_before, (lite_before, lite_after)
    assert net == pytest.approx(after - before, abs=1e-12)
    # the difference is exactly what the menu takes from Lite
    assert gross_gain - net == pytest.approx(lite_before - lite_after, abs=1e-9), (
        f"gain over the bundle {gross_gain:.4f}, net {net:.4f}, Lite lost "
        f"{lite_before - lite_after:.4f}"
    )


def test_errors(study) -> None:
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    mk = market(study)
    with pytest.raises(WinbackError, match=r"Unknown features 'colour'.*Attributes: tv, mobile"):
        optimize_tiers(d, mk, features=["colour"], replace="Bundle")
    with pytest.raises(WinbackError, match="price attribute 'price' cannot be one"):
        optimize_tiers(d, mk, features=["price"], replace="Bundle")
    with pytest.raises(WinbackError, match="names has 2 entries for 3 tiers"):
        optimize_tiers(d, mk, features=["tv"], names=["A", "B"], replace="Bundle")
    with pytest.raises(WinbackError, match=r"No tier set is left: no ladder of 3 rising prices"):
        optimize_tiers(d, mk, features=["tv", "speed"], prices=[10.0, 20.0, 30.0], min_gap=15)
    # two binary features make at most three tiers, each with more than the one below
    with pytest.raises(WinbackError, match=r"features tv, speed allow at most 3 tiers"):
        optimize_tiers(d, mk, features=["tv", "speed"], n_tiers=4, names="ABCD",
                       replace="Bundle")  # fmt: skip
    with pytest.raises(WinbackError, match="min_gap must be a number of at least 0, got -5"):
        optimize_tiers(d, mk, features=["tv", "speed"], min_gap=-5, replace="Bundle")
    with pytest.raises(WinbackError, match=r"n_draws must be a positive whole number.*got 0"):
        optimize_tiers(d, mk, features=["tv", "speed"], n_draws=0, replace="Bundle")
    rival_like = mk.with_product(Product("Bundle", {"tv": "No TV", "mobile": "SIM",
                                                    "speed": "fast", "price": 30.0}, own=True))  # fmt: skip
    with pytest.raises(WinbackError, match="has no tv to strip"):
        unbundle(d, rival_like, bundle="Bundle", components=["tv"])
    with pytest.raises(WinbackError, match="No product 'Bundel'"):
        unbundle(d, mk, bundle="Bundel", components=["tv"])
