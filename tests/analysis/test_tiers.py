"""Good/better/best tiers equal brute force through the simulator (nested, price gaps, proven
optimal); upgrade paths and cannibalisation add up; unbundling strips a component valued below
its cost; errors name what is valid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.simulator import Market, PartWorthDraws, Product, simulate
from analysis.tiers import optimize_tiers, unbundle
from winback.errors import WinbackError
from winback.study import parse_study

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


def test_tiers_equal_brute_force(study) -> None:
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    mk = market(study)
    prices = [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
    res = optimize_tiers(
        d, mk, features=["tv", "speed"], prices=prices, min_gap=10.0, replace="Bundle",
        objective="profit",
    )  # fmt: skip
    assert res.proven_optimal
    point = d.point()
    base = mk.without("Bundle")
    cost = {"TV": 8.0, "No TV": 0.0}
    # speed is "decreasing": slow (not included) < fast; each feature nested over 3 tiers
    tv_seq = list(itertools.combinations_with_replacement(["No TV", "TV"], 3))
    sp_seq = list(itertools.combinations_with_replacement(["slow", "fast"], 3))
    ladders = [
        c for c in itertools.combinations(prices, 3) if c[1] - c[0] >= 10 and c[2] - c[1] >= 10
    ]
    assert res.n_candidates == len(tv_seq) * len(sp_seq) * len(ladders) == 16 * 10
    best, arg = -np.inf, None
    for tv, sp, lad in itertools.product(tv_seq, sp_seq, ladders):
        tiers = [
            Product(f"T{t}", {"tv": tv[t], "mobile": "SIM", "speed": sp[t], "price": lad[t]},
                    own=True)
            for t in range(3)
        ]  # fmt: skip
        m = base
        for p in tiers:
            m = m.with_product(p)
        sh = simulate(point, m).share_draws[0]
        val = sum(
            sh[m.names.index(p.name)]
            * (p.levels["price"] - 3.0 - 2.0 - cost[p.levels["tv"]]
               - (2.0 if p.levels["speed"] == "fast" else 0.0))
            for p in tiers
        )  # fmt: skip
        if val > best:
            best, arg = val, (tv, sp, lad)
    assert res.value == pytest.approx(best, rel=1e-9), f"search {res.value} vs brute force {best}"
    t = res.tiers
    assert tuple(t["tv"]) == arg[0] and tuple(t["speed"]) == arg[1], (t, arg)
    assert tuple(t["price"]) == arg[2]
    assert list(t["tier"]) == ["Good", "Better", "Best"]
    assert (np.diff(t["price"]) >= 10).all()
    rank = {"No TV": 0, "TV": 1, "slow": 0, "fast": 1}
    for col in ("tv", "speed"):
        assert np.all(np.diff([rank[v] for v in t[col]]) >= 0), f"{col} not nested: {list(t[col])}"
    assert (t["lower"] <= t["share"]).all() and (t["share"] <= t["upper"]).all()
    # upgrade paths: the sources of each added tier add up to its gain
    for tier, grp in res.upgrade_paths.groupby("tier"):
        parts = grp[grp["kind"] != "total"]["share_moved"].sum()
        total = grp[grp["kind"] == "total"]["share_moved"].iloc[0]
        assert parts == pytest.approx(total), tier
    assert set(res.cannibalisation["tier"]) == {"Good", "Better", "Best"}
    assert "proven optimal" in repr(res)


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
    back = summ.loc["lost customers brought back by the menu beyond the bundle"]
    want = (
        summ.loc["share, entry menu", "value"] - summ.loc["share, bundle alone (current)", "value"]
    )
    assert back["value"] == pytest.approx(want)
    assert set(res.addons["component"]) == set(res.stripped)
    assert res.addons["take_rate"].between(0, 1).all()


def test_errors(study) -> None:
    d = make_draws(study, [0.8, 0.6, -0.7, -0.1, -2.0])
    mk = market(study)
    with pytest.raises(WinbackError, match=r"Unknown features 'colour'.*Attributes: tv, mobile"):
        optimize_tiers(d, mk, features=["colour"], replace="Bundle")
    with pytest.raises(WinbackError, match="price attribute 'price' cannot be one"):
        optimize_tiers(d, mk, features=["price"], replace="Bundle")
    with pytest.raises(WinbackError, match="names has 2 entries for 3 tiers"):
        optimize_tiers(d, mk, features=["tv"], names=["A", "B"], replace="Bundle")
    with pytest.raises(WinbackError, match="No tier set is left"):
        optimize_tiers(d, mk, features=["tv"], prices=[10.0, 20.0, 30.0], min_gap=15)
    rival_like = mk.with_product(Product("Bundle", {"tv": "No TV", "mobile": "SIM",
                                                    "speed": "fast", "price": 30.0}, own=True))  # fmt: skip
    with pytest.raises(WinbackError, match="has no tv to strip"):
        unbundle(d, rival_like, bundle="Bundle", components=["tv"])
    with pytest.raises(WinbackError, match="No product 'Bundel'"):
        unbundle(d, mk, bundle="Bundel", components=["tv"])
