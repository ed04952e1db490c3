"""Results tables: importances, zero-centred diffs, WTP, population, fit statistics, holdouts,
prediction. Hand-made posteriors for exact numbers; the shared example fit for the rest."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import HBModel, HBSettings
from analysis.data import ChoiceArrays
from analysis.results import (
    fit_statistics,
    holdout_validation,
    importance_draws,
    importances,
    individual_draws,
    individual_partworths,
    level_utility_draws,
    population,
    population_covariance,
    predict,
    willingness_to_pay,
    wtp_draws,
    zero_centered_diffs,
)
from tests.conftest import make_study
from winback.errors import ParameterError, WinbackError

TINY = """
[study]
name = "tiny"
none_option = {none}

[[attributes]]
name = "plan"
levels = ["Basic", "Premium"]

[[attributes]]
name = "price"
levels = [10.0, 20.0, 30.0]
coding = "{coding}"
"""


def hand_model(beta: np.ndarray, *, none: bool = False, coding: str = "linear") -> HBModel:
    """An HBModel whose posterior is given by hand: beta (chain, draw, respondent, parameter)."""
    import xarray as xr

    from conjoint.encoding import parameter_names

    study = make_study(TINY.format(none=str(none).lower(), coding=coding))
    names = parameter_names(study)
    c, d, n, k = beta.shape
    assert k == len(names), f"beta has {k} parameters, the study {names}"
    ids = tuple(f"r{i + 1}" for i in range(n))
    arrays = ChoiceArrays(
        np.zeros((1, 2, k)),
        np.zeros(1, dtype=int),
        np.ones((1, 2), dtype=bool),
        np.zeros(1, dtype=int),
        ids,
        tuple(names),
        pd.DataFrame({"respondent_id": ["r1"]}),
    )
    post = xr.Dataset(
        {
            "beta": (("chain", "draw", "respondent", "parameter"), beta),
            "mu": (("chain", "draw", "parameter"), beta.mean(axis=2)),
            "sd": (("chain", "draw", "parameter"), beta.std(axis=2)),
        },
        coords={
            "chain": np.arange(c),
            "draw": np.arange(d),
            "respondent": list(ids),
            "parameter": names,
        },
    )
    idata = xr.DataTree.from_dict({"/posterior": post})
    return HBModel(study, HBSettings(), None, arrays, idata, 0.0)  # type: ignore[arg-type]


# -- hand-made posteriors: exact numbers ---------------------------------------------------------


def test_wtp_equals_hand_computed_median_over_respondents_per_draw():
    # parameters: plan[Premium], price (slope per unit)
    beta = np.array(
        [
            [
                [
                    [1.0, -0.1],
                    [2.0, -0.2],
                    [3.0, 0.05],
                ],  # draw 0: WTP 10, 10, excluded -> median 10
                [[1.0, -0.5], [1.0, -0.25], [1.0, -0.1]],  # draw 1: WTP 2, 4, 10 -> median 4
            ]
        ]
    )
    model = hand_model(beta)
    w = willingness_to_pay(model)
    assert len(w) == 1, f"one non-reference level expected, got {w[['attribute', 'level']]}"
    row = w.iloc[0]
    assert (row.attribute, row.level, row.reference) == ("plan", "Premium", "Basic"), row
    assert row.wtp == pytest.approx(7.0), f"mean of per-draw medians (10, 4) is 7, got {row.wtp}"
    # equal-tailed 90% band of the two medians (linear interpolation between 4 and 10)
    assert row.lower == pytest.approx(4.3) and row.upper == pytest.approx(9.7), (
        f"band [{row.lower}, {row.upper}] != [4.3, 9.7]"
    )
    assert row.share_slope_nonnegative == pytest.approx(1 / 6), (
        f"1 of 6 respondent draws has a slope >= 0, got {row.share_slope_nonnegative}"
    )
    assert row.n_excluded == pytest.approx(0.5), f"0.5 excluded per draw, got {row.n_excluded}"
    draws = wtp_draws(model)
    assert np.isnan(draws.sel(respondent="r3").isel(chain=0, draw=0)).all(), draws.values
    assert float(draws.sel(respondent="r2", level="plan[Premium]").isel(chain=0, draw=1)) == 4.0


def test_wtp_is_not_the_ratio_of_means():
    beta = np.array([[[[1.0, -0.1]], [[1.0, -1.0]]]])  # one respondent, two draws
    w = willingness_to_pay(hand_model(beta)).iloc[0]
    ratio = -1.0 / np.mean([-0.1, -1.0])
    assert w.wtp == pytest.approx(5.5), f"mean of 10 and 1 is 5.5, got {w.wtp} (ratio {ratio})"


def test_wtp_needs_a_linear_price():
    beta = np.zeros((1, 1, 1, 3))  # plan[Premium], price[20], price[30]
    model = hand_model(beta, coding="partworth")
    with pytest.raises(WinbackError, match="coded linear"):
        willingness_to_pay(model)


def test_importances_by_hand():
    # plan range 1, price range |-0.1| x (30 - 10) = 2 -> 33.3% and 66.7%
    beta = np.array([[[[1.0, -0.1], [-1.0, -0.05]]]])
    model = hand_model(beta)
    imp = importance_draws(model)
    r1 = imp.sel(respondent="r1").isel(chain=0, draw=0).to_numpy()
    r2 = imp.sel(respondent="r2").isel(chain=0, draw=0).to_numpy()
    assert r1 == pytest.approx([100 / 3, 200 / 3]), f"r1 importances {r1}"
    assert r2 == pytest.approx([50.0, 50.0]), f"r2 importances {r2} (ranges 1 and 1)"
    table = importances(model)
    assert table["mean"].to_numpy() == pytest.approx([(100 / 3 + 50) / 2, (200 / 3 + 50) / 2])


def test_population_importances_by_blocks_of_draws_equal_all_draws_at_once(monkeypatch):
    # importances() averages each draw over respondents a block of draws at a time (the
    # memory of a 2,000-respondent fit); the numbers are those of all draws at once, to the
    # bit, with a respondent whose ranges are all zero (NaN importances) left out as before
    import analysis.results._common as common

    rng = np.random.default_rng(8)
    beta = rng.normal(size=(2, 45, 30, 2))
    beta[:, :, 3] = 0.0
    model = hand_model(beta)
    imp = importance_draws(model).to_numpy()
    avg = np.nanmean(imp.reshape(-1, 30, imp.shape[3]), axis=1)
    lo, hi = common._interval(avg, 0.9, "eti")
    monkeypatch.setattr(common, "_CHUNK_VALUES", 7 * 30 * 2)  # 13 blocks of 7 draws, 1 of 6
    table = importances(model, band=0.9)
    for col, want in (("mean", avg.mean(axis=0)), ("lower", lo), ("upper", hi)):
        got = table[col].to_numpy()
        assert np.array_equal(got, want), f"{col}: {got} by blocks, {want} at once"


def test_zero_centered_diffs_by_hand_with_none():
    # plan[Premium] = 1, price slope -0.1, none = -1; ranges 1 and 2 -> factor 200 / 3
    beta = np.array([[[[1.0, -0.1, -1.0]]]])
    zc = zero_centered_diffs(hand_model(beta, none=True)).set_index(["attribute", "level"])
    f = 200 / 3
    expected = {
        ("plan", "Basic"): -0.5 * f,
        ("plan", "Premium"): 0.5 * f,
        ("price", "10"): 1.0 * f,
        ("price", "20"): 0.0,
        ("price", "30"): -1.0 * f,
        # none relative to the centred attributes: -1 - (0.5 + -2) = 0.5
        ("none", "none"): 0.5 * f,
    }
    for key, value in expected.items():
        got = float(zc.loc[key, "utility"])
        assert got == pytest.approx(value), f"{key}: {got} != {value}"


# -- the shared example fit -----------------------------------------------------------------------


def test_individual_partworths_are_the_models(example_fit):
    model, _, _ = example_fit
    pd.testing.assert_frame_equal(individual_partworths(model), model.partworths())
    beta = individual_draws(model)
    assert beta.dims == ("chain", "draw", "respondent", "parameter"), beta.dims


def test_importances_sum_to_100_per_respondent_and_draw(example_fit):
    model, _, _ = example_fit
    imp = importance_draws(model)
    total = imp.sum("attribute").to_numpy()
    worst = float(np.abs(total - 100).max())
    assert worst < 1e-9, f"importances add up to 100 within {worst} (per respondent and draw)"
    table = importances(model)
    assert table["mean"].sum() == pytest.approx(100), f"population means sum {table['mean'].sum()}"
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    # price has the largest range in the example (slope x 40 EUR)
    top = table.sort_values("mean").iloc[-1]
    assert top.attribute == "price", f"most important: {top.attribute} ({top['mean']:.1f}%)"
    per = importances(model, by_respondent=True)
    assert per.shape == (120 * 7, 5), per.shape
    sums = per.groupby("respondent_id")["mean"].sum()
    assert np.allclose(sums, 100), f"per-respondent means sum to {sums.min()}..{sums.max()}"


def test_zero_centered_diffs_ranges_sum_to_100_per_attribute(example_fit):
    model, _, _ = example_fit
    zc = zero_centered_diffs(model)
    n_attr = len(model.study.attributes)
    attrs = zc[~zc["attribute"].isin(["none", "status_quo"])]
    g = attrs.groupby(["respondent_id", "attribute"])["utility"]
    ranges = (g.max() - g.min()).groupby("respondent_id").sum()
    assert np.allclose(ranges, 100 * n_attr), (
        f"sum of ranges {ranges.min():.6f}..{ranges.max():.6f} != {100 * n_attr}"
    )
    centred = g.sum().abs().max()
    assert centred < 1e-9, f"levels of an attribute sum to 0 within {centred}"
    # the difference between a product and none is the raw difference times the scale factor
    raw = model.partworths().set_index(["respondent_id", "attribute", "level"])["utility"]
    z = zc.set_index(["respondent_id", "attribute", "level"])["utility"]
    r = "r001"
    prod = [
        ("speed", "1 Gbps"),
        ("tv", "No TV"),
        ("mobile", "SIM 20 GB"),
        ("contract", "12 months"),
        ("support", "Standard"),
        ("outage_credit", "None"),
        ("price", "45"),
    ]
    raw_diff = sum(raw[(r, *lv)] for lv in prod) - raw[(r, "none", "none")]
    z_diff = sum(z[(r, *lv)] for lv in prod) - z[(r, "none", "none")]
    raw_range = sum(raw[r][a].max() - raw[r][a].min() for a in model.study.attribute_names)
    factor = 100 * n_attr / raw_range
    assert z_diff == pytest.approx(raw_diff * factor), f"{z_diff} != {raw_diff} x {factor}"


def test_population_table(example_fit):
    model, _, _ = example_fit
    pop = population(model)
    assert list(pop.columns) == [
        "parameter",
        "mean",
        "lower",
        "upper",
        "sd_mean",
        "sd_lower",
        "sd_upper",
    ]
    assert pop["parameter"].tolist() == model.names
    price = pop.set_index("parameter").loc["price"]
    assert price["upper"] < 0, f"price mean interval [{price.lower:.3f}, {price.upper:.3f}]"
    assert (pop["sd_lower"] > 0).all(), pop["sd_lower"].min()
    hdi = population(model, band_kind="hdi", band=0.5)
    width90 = float((pop["upper"] - pop["lower"]).mean())
    width50 = float((hdi["upper"] - hdi["lower"]).mean())
    assert width50 < width90, f"50% HDI width {width50:.3f} >= 90% ETI width {width90:.3f}"
    with pytest.raises(ParameterError, match="band must be a probability between 0 and 1"):
        population(model, band=94)
    with pytest.raises(ValueError, match="band_kind must be 'eti' or 'hdi'"):
        population(model, band_kind="central")
    # the former names still work, with a deprecation warning
    with pytest.warns(DeprecationWarning, match="is now called") as record:
        old = population(model, interval="hdi", hdi_prob=0.5)
    said = " | ".join(str(w.message) for w in record)
    assert "'hdi_prob' is now called 'band'" in said and "'band_kind'" in said, said
    assert old.equals(hdi), "hdi_prob=/interval= must give what band=/band_kind= give"
    corr = population_covariance(model)
    diag = corr[corr["parameter"] == corr["parameter_bis"]]["mean"]
    assert np.allclose(diag, 1.0), f"correlation diagonal {diag.tolist()}"
    cov = population_covariance(model, "covariance")
    var = cov[cov["parameter"] == cov["parameter_bis"]].set_index("parameter")["mean"]
    sd2 = (model.idata_["posterior"]["sd"] ** 2).mean(("chain", "draw")).to_numpy()
    assert np.allclose(var.to_numpy(), sd2), f"covariance diagonal {var.to_numpy()} != sd^2 {sd2}"


def test_example_wtp(example_fit):
    model, _, _ = example_fit
    w = willingness_to_pay(model).set_index(["attribute", "level"])
    assert len(w) == 10, f"10 non-reference levels, got {len(w)}"
    assert (w["unit"] == "EUR/month").all(), w["unit"].unique()
    gig = w.loc[("speed", "1 Gbps")]
    # truth: 1.5 / 0.09 = 16.7 EUR for the average respondent; price-rise leavers are more
    # price sensitive, so the median respondent pays less
    assert 5 < gig.wtp < 25, f"WTP 1 Gbps {gig.wtp:.2f} [{gig.lower:.2f}, {gig.upper:.2f}]"
    assert gig.lower < gig.wtp < gig.upper
    assert w.loc[("speed", "300 Mbps")].wtp < gig.wtp


def test_rlh_between_chance_and_one_and_above_chance(example_fit):
    model, _, _ = example_fit
    fs = fit_statistics(model)
    assert len(fs) == 120 and fs["n_obs"].eq(12).all(), fs["n_obs"].unique()
    chance = 1 / 4  # 3 alternatives + none
    assert np.allclose(fs["rlh_chance"], chance), fs["rlh_chance"].unique()
    lo, hi = fs["rlh"].min(), fs["rlh"].max()
    assert chance <= lo and hi <= 1, f"RLH range [{lo:.3f}, {hi:.3f}] outside [{chance}, 1]"
    assert ((fs["rlh_lower"] <= fs["rlh_draws"]) & (fs["rlh_draws"] <= fs["rlh_upper"])).all()
    mean_rlh = fs["rlh"].mean()
    assert mean_rlh > 1.8 * chance, f"mean RLH {mean_rlh:.3f} not well above chance {chance}"
    assert fs["hit_rate"].mean() > 2 * chance, f"hit rate {fs['hit_rate'].mean():.3f}"
    pc = fs["pct_cert"]
    assert ((pc > 0) & (pc < 1)).all(), f"percent certainty range [{pc.min()}, {pc.max()}]"
    s = fit_statistics(model, summary=True).set_index("statistic")["value"]
    assert s["rlh_mean"] == pytest.approx(mean_rlh)
    assert s["rlh_chance"] == pytest.approx(chance)
    assert 0 < s["pct_cert"] < 1 and s["hit_rate"] > s["hit_rate_chance"], s.to_dict()


def test_holdout_hit_rate_and_share_error(example_fit):
    model, _, _ = example_fit
    hv = holdout_validation(model)
    assert len(hv) == 1, hv
    row = hv.iloc[0]
    assert row.holdout == "bundle_vs_entry" and row.n_respondents == 120, row
    assert row.hit_rate_chance == pytest.approx(0.25)
    assert row.hit_rate > 0.4, f"holdout hit rate {row.hit_rate:.3f} (chance 0.25)"
    assert 0.25 < row.hit_rate_draws <= 1, row.hit_rate_draws
    assert row.share_mae < 0.06, f"holdout share MAE {row.share_mae:.4f}"
    alts = holdout_validation(model, by_alternative=True)
    assert alts["alt"].tolist() == ["1", "2", "3", "none"], alts["alt"].tolist()
    assert alts["predicted_share"].sum() == pytest.approx(1.0)
    assert alts["observed_share"].sum() == pytest.approx(1.0)
    assert alts["abs_error"].mean() == pytest.approx(row.share_mae)


def test_holdout_validation_without_holdouts_is_empty_with_a_note(example_fit):
    model, _, _ = example_fit
    ch = model.dataset_.choices
    no_holdouts = dataclasses.replace(model.dataset_, _choices=ch[ch["holdout"] == 0])
    hv = holdout_validation(dataclasses.replace(model, dataset_=no_holdouts))
    assert hv.empty and "no holdout" in hv.attrs["note"], hv.attrs


def test_predict_sums_to_one_per_task_and_matches_the_draws(example_fit):
    model, _, _ = example_fit
    data = model.dataset_
    pred = predict(model, data)
    sums = pred.groupby(["respondent_id", "task"])["probability"].sum()
    assert np.allclose(sums, 1.0), f"probabilities per task sum to {sums.min()}..{sums.max()}"
    assert len(pred) == len(data.included_choices(holdouts=True)), len(pred)
    # by hand for the first task of r001: mean over draws of the softmax of x beta
    rows = pred[(pred["respondent_id"] == "r001") & (pred["task"] == 1)]
    from analysis.results.prediction import _design_rows

    x = _design_rows(model.study, rows, "test")
    b = individual_draws(model).sel(respondent="r001").to_numpy().reshape(-1, len(model.names))
    u = b @ x.T
    p = np.exp(u - u.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).mean(axis=0)
    assert np.allclose(rows["probability"], p), f"{rows['probability'].tolist()} != {p}"


def test_predict_on_a_frame_keeps_the_input_and_names_unknown_respondents(example_fit):
    model, _, _ = example_fit
    frame = model.dataset_.choices.head(8)
    before = frame.copy()
    pred = predict(model, frame)
    pd.testing.assert_frame_equal(frame, before)  # not mutated
    assert list(pred.columns) == [*frame.columns, "probability"]
    bad = frame.assign(respondent_id="stranger")
    with pytest.raises(WinbackError, match="stranger"):
        predict(model, bad)
    wrong = frame.assign(speed="10 Gbps")
    with pytest.raises(WinbackError, match="10 Gbps"):
        predict(model, wrong)


def test_level_utility_draws_match_partworths(example_fit):
    model, _, _ = example_fit
    lv = level_utility_draws(model).mean(("chain", "draw"))
    pw = model.partworths()
    r1 = pw[pw["respondent_id"] == "r001"]
    got = lv.sel(respondent="r001").to_numpy()
    assert np.allclose(got, r1["utility"].to_numpy()), f"{got[:5]} vs {r1['utility'].head()}"
