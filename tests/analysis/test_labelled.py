"""Labelled designs in estimation and simulation: label constants and an alternative-specific
attribute simulated with known truth and recovered by the aggregate MNL (precisely) and a tiny
HB fit; part-worth tables name the labels; the simulator applies the label constant and refuses
a level of an attribute that does not apply to the product's label; the searches and the live
sheet that build unlabelled products refuse a labelled study."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import fit, fit_mnl, optimize_offer, population
from analysis.simulator import Market, PartWorthDraws, Product, simulate
from conjoint import make_design, simulate_choices
from surveys import make_dataset
from tests.conftest import make_study
from tests.conjoint.test_labelled import LABELLED
from winback.errors import WinbackError

#: the own brand is preferred to rival_a, rival_b a little; TV Sports only on the own brand
TRUTH = {
    "speed[300 Mbps]": 0.5,
    "speed[1 Gbps]": 1.0,
    "tv[TV Sports]": 0.8,
    "price": -0.08,
    "label[rival_a]": -0.6,
    "label[rival_b]": 0.3,
    "none": -1.0,
}


@pytest.fixture(scope="module")
def simulated():
    study = make_study(LABELLED, versions=4)
    return study, make_design(study)


@pytest.mark.recovery
def test_the_aggregate_mnl_recovers_label_constants_and_the_specific_attribute(simulated):
    study, design = simulated
    choices = simulate_choices(design, TRUTH, 5, n_respondents=800)
    tab = fit_mnl(make_dataset(choices, study, design=design)).table().set_index("parameter")
    lines, bad = [], []
    for name, truth in TRUTH.items():
        est, se = float(tab.loc[name, "estimate"]), float(tab.loc[name, "se"])
        lo, hi = est - 3 * se, est + 3 * se  # 99.7%
        lines.append(f"{name}: truth {truth:+.3f}, estimate {est:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        if not lo <= truth <= hi:
            bad.append(lines[-1])
    assert not bad, "\n".join(["outside the band:", *lines])
    # the two label constants are told apart from each other and from the reference label
    for name in ("label[rival_a]", "label[rival_b]"):
        est, se = float(tab.loc[name, "estimate"]), float(tab.loc[name, "se"])
        assert abs(est) > 3 * se, f"{name} {est:+.4f} (se {se:.4f}) not away from 0"


@pytest.mark.recovery
def test_a_tiny_hb_fit_recovers_the_label_constants_and_names_them(simulated):
    """60 respondents, short chains: every population mean inside its 99% band; the
    part-worth table lists each label (the reference at 0)."""
    study, design = simulated
    choices = simulate_choices(design, TRUTH, 7, n_respondents=60, sd=0.1)
    model = fit(make_dataset(choices, study, design=design), draws=150, tune=150, chains=2)
    assert list(model.names) == list(TRUTH), model.names
    pop = population(model, band=0.99).set_index("parameter")
    lines, bad = [], []
    for name, truth in TRUTH.items():
        lo, hi = float(pop.loc[name, "lower"]), float(pop.loc[name, "upper"])
        mean = float(pop.loc[name, "mean"])
        lines.append(f"{name}: truth {truth:+.3f}, mean {mean:+.3f}, 99% [{lo:+.3f}, {hi:+.3f}]")
        if not lo <= truth <= hi:
            bad.append(lines[-1])
    assert not bad, "\n".join(["outside the band:", *lines])
    pw = model.partworths()
    labels = pw[pw["attribute"] == "label"].groupby("level", sort=False)["utility"].mean()
    assert list(labels.index) == ["own", "rival_a", "rival_b"], labels
    assert labels["own"] == 0.0, labels
    assert labels["rival_a"] < labels["rival_b"], labels


def _shares(study, market: Market, beta: dict[str, float]) -> dict[str, float]:
    b = np.array([[beta[n] for n in TRUTH]])
    sim = simulate(PartWorthDraws.from_array(study, b), market)
    return dict(zip(sim.shares["product"], sim.shares["share"], strict=True))


@pytest.mark.unit
def test_the_simulator_applies_the_label_constant_and_the_specific_attribute(simulated):
    study = simulated[0]
    market = Market(
        (
            Product("ours", {"speed": "1 Gbps", "tv": "TV Sports", "price": 45.0}, label="own"),
            Product("theirs", {"speed": "1 Gbps", "price": 40.0}, label="rival_a"),
            Product("other", {"speed": "300 Mbps", "price": 35.0}, label="rival_b"),
        )
    )
    got = _shares(study, market, TRUTH)
    u = np.array(
        [
            1.0 + 0.8 - 0.08 * 45,
            1.0 - 0.08 * 40 - 0.6,
            0.5 - 0.08 * 35 + 0.3,
            -1.0,
        ]
    )
    hand = np.exp(u) / np.exp(u).sum()
    for name, h in zip(["ours", "theirs", "other", "none"], hand, strict=True):
        assert abs(got[name] - h) < 1e-12, f"{name}: simulator {got[name]:.6f}, by hand {h:.6f}"


@pytest.mark.unit
def test_the_simulator_refuses_a_product_that_breaks_its_label(simulated):
    study = simulated[0]
    draws = PartWorthDraws.from_array(study, np.array([list(TRUTH.values())]))
    wrong = [
        (
            Product(
                "theirs", {"speed": "1 Gbps", "tv": "TV Sports", "price": 40.0}, label="rival_a"
            ),
            "'tv' does not apply to label 'rival_a'",
        ),
        (Product("x", {"speed": "1 Gbps", "price": 40.0}), "no label; in this labelled study"),
        (
            Product("x", {"speed": "1 Gbps", "price": 40.0}, label="rivl_a"),
            "label 'rivl_a'; in this labelled study",
        ),
    ]
    for product, message in wrong:
        with pytest.raises(WinbackError, match=message):
            simulate(draws, Market((product,)))
    with pytest.raises(WinbackError, match="'tv' does not apply to label 'rival_a'"):
        Market.from_dict(
            {
                "products": [
                    {
                        "name": "ours",
                        "label": "own",
                        "speed": "1 Gbps",
                        "tv": "TV Sports",
                        "price": 45,
                    },
                    {
                        "name": "theirs",
                        "label": "rival_a",
                        "speed": "1 Gbps",
                        "tv": "TV Sports",
                        "price": 40,
                    },
                ]
            },
            study,
        )
    # a rival without tv and the own brand with it are read from a market file
    market = Market.from_dict(
        {
            "products": [
                {"name": "ours", "label": "own", "speed": "1 Gbps", "tv": "TV Sports", "price": 45},
                {"name": "theirs", "label": "rival_a", "speed": "1 Gbps", "price": 40},
            ]
        },
        study,
    )
    assert [p.label for p in market.products] == ["own", "rival_a"]


@pytest.mark.unit
def test_searches_that_build_unlabelled_products_refuse_a_labelled_study(simulated):
    study = simulated[0]
    draws = PartWorthDraws.from_array(study, np.array([list(TRUTH.values())]))
    market = Market(
        (
            Product(
                "ours", {"speed": "1 Gbps", "tv": "TV Sports", "price": 40.0}, True, False, "own"
            ),
        )
    )
    with pytest.raises(WinbackError, match="does not support labelled designs yet"):
        optimize_offer(draws, market)


#: two classes of a labelled study: brand-loyal (0.6) and rival-leaning, price-sensitive (0.4)
CLASS_TRUTH = (
    {**TRUTH, "label[rival_a]": -1.2, "label[rival_b]": -0.8},
    {**TRUTH, "label[rival_a]": 0.9, "label[rival_b]": 0.5, "price": -0.15, "none": -2.0},
)


@pytest.mark.recovery
def test_latent_classes_recover_each_class_label_constants():
    """240 respondents (144 / 96) x 8 tasks of a labelled design: two classes, every label
    constant and the sizes within three standard errors of the truth; the classes'
    importances give the labels a row and add up to 100."""
    import pandas as pd

    from analysis import fit_latent_class
    from analysis.latent_summary import class_importances

    study = make_study(LABELLED.replace('"d_efficient"', '"shortcut"'), versions=6)
    design = make_design(study)
    parts = []
    for c, (truth, n) in enumerate(zip(CLASS_TRUTH, (144, 96), strict=True)):
        r = simulate_choices(design, truth, 11 + c, n_respondents=n, sd=0.0)
        r["respondent_id"] = f"c{c}_" + r["respondent_id"]
        parts.append(r)
    data = make_dataset(pd.concat(parts, ignore_index=True), study, design=design)
    res = fit_latent_class(data, 2, starts=4, random_seed=3)
    names = list(res.names)
    a = names.index("label[rival_a]")
    order = np.argsort(res.coef[:, a])  # class 0 of the truth: the one that dislikes rival_a
    se = res.se
    lines, bad = [], []
    for truth_c, c in enumerate(order):
        for name in ("label[rival_a]", "label[rival_b]", "price", "tv[TV Sports]"):
            k = names.index(name)
            est, s, t = float(res.coef[c, k]), float(se[c, k]), CLASS_TRUTH[truth_c][name]
            lines.append(
                f"class {truth_c} {name}: truth {t:+.3f}, estimate {est:+.3f} (se {s:.3f})"
            )
            if abs(est - t) > 3 * s:
                bad.append(lines[-1])
    sizes = res.sizes()
    share, s = float(sizes["share"].iloc[order[0]]), float(sizes["se"].iloc[order[0]])
    lines.append(f"size of class 0: truth 0.600, estimate {share:.3f} (se {s:.3f})")
    if abs(share - 0.6) > 3 * s:
        bad.append(lines[-1])
    assert not bad, "\n".join(["outside three standard errors:", *lines])
    imp = class_importances(res, n_draws=50)
    assert "label" in set(imp["attribute"]), imp
    totals = imp.groupby("class")["importance"].sum()
    assert np.allclose(totals, 100.0), totals.to_dict()
