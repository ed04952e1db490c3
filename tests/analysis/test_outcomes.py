"""Stated against revealed (issue 18, item 6): a campaign planned on stated preference, its real
outcome simulated from the CRM population's real behaviour (stated utilities x 0.6, none 1.0
more attractive), and what ``measure_outcomes`` learns from it: the realised win-back against
the predicted, the uplift against the control group, the Brier score, and a calibration that
brings the next run's predictions to the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import calibrate, outcome_adjustments
from analysis.campaign import (
    CustomerPreferences,
    customer_preferences,
    measure_outcomes,
    plan_campaign,
    read_customers,
    read_results,
    score_customers,
)
from analysis.campaign.outcomes import _uplift, wilson
from analysis.simulator import PartWorthDraws
from winback.errors import WinbackError
from winback.example_crm import example_campaign_actions
from winback.study import Calibration, read_calibration_file

# -- the results file ------------------------------------------------------------------------------


def test_a_bad_results_file_gets_every_problem_with_row_value_and_what_is_valid(tmp_path, caplog):
    path = tmp_path / "results.csv"
    path.write_text(
        "customer_id,action,contacted,returned,revenue\n"
        "c1,Entry offer,1,0,\n"
        "c2,Mega offer,1,1,40\n"
        "c3,,1,0,\n"
        "c4,control,0,maybe,\n"
        "c1,Entry offer,1,1,-5\n"
        ",control,0,0,\n",
        encoding="utf-8",
    )
    with pytest.raises(WinbackError) as err:
        read_results(path, actions=["Entry offer", "Loyalty price", "Do not contact"])
    msg = str(err.value)
    for part in (
        "results.csv: empty 'customer_id' in 1 row(s): row 7",
        "'customer_id' repeated in 2 row(s): row 2 ('c1'), row 6 ('c1')",
        "'returned' must be 0 or 1 (or true/false, yes/no; not blank) in 1 row(s): row 5 ('maybe')",
        "'action' is not an action of the plan (valid: Entry offer, Loyalty price, Do not "
        "contact; blank or control for a customer not contacted) in 1 row(s): row 3 "
        "('Mega offer')",
        "'contacted' is 1 but 'action' is blank or control (say which action reached the "
        "customer) in 1 row(s): row 4 ('')",
        "'revenue' is not a number >= 0 (or blank) in 1 row(s): row 6 ('-5')",
    ):
        assert part in msg, f"{part!r} not in {msg!r}"
    path.write_text("customer_id,action,contacted,came_back\nc1,,0,1\n", encoding="utf-8")
    with pytest.raises(WinbackError, match=r"results.csv: no column returned \(required: "):
        read_results(path)
    ok = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "x9"],
            "action": ["Entry offer", "Control", ""],
            "contacted": ["yes", "0", "0"],
            "returned": [1, 0, 1],
        }
    )
    with caplog.at_level("WARNING", logger="winback"):
        res = read_results(ok, actions=["Entry offer"], plan_ids=["c1", "c2"])
    assert res.unknown_ids == ("x9",), res.unknown_ids
    assert "1 customer(s) are not in the campaign plan (x9)" in caplog.text
    assert res.frame["action"].tolist() == ["Entry offer", "", ""]
    assert res.frame["contacted"].tolist() == [True, False, False]


def test_wilson_interval_by_hand():
    lo, hi = wilson(np.array([0, 5]), np.array([10, 10]), 0.95)
    # Wilson (1927): 0 of 10 -> [0, 0.2775]; 5 of 10 -> [0.2366, 0.7634]
    assert abs(lo[0]) < 1e-12 and abs(hi[0] - 0.27753) < 1e-4, (lo[0], hi[0])
    assert abs(lo[1] - 0.23659) < 1e-4 and abs(hi[1] - 0.76341) < 1e-4, (lo[1], hi[1])


# -- a campaign with known truth -----------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign_outcome():
    """4,000 lost customers, 200 of whom answered; a small HB fit with covariates; a plan on
    stated preference with 20% held out; the real outcome drawn from the real probabilities
    (contacted: their planned action; held out: today's market)."""
    from analysis import fit
    from winback.example_crm import CRM_COVARIATES, make_example_crm

    crm = make_example_crm(4000, 200, random_seed=1)
    model = fit(
        crm.dataset(),
        draws=100,
        tune=150,
        chains=2,
        covariance="diagonal",
        covariates=list(CRM_COVARIATES),
        constraints="price",
        random_seed=2,
    )
    customers = read_customers(crm.customers, name="lost_customers.csv", segment="main_reason")
    prefs = customer_preferences(model, customers, random_seed=3)
    actions = example_campaign_actions(crm.study, crm.market)
    business = crm.study.business
    scores = score_customers(prefs, customers, actions, business)
    plan = plan_campaign(scores, control_share=0.2, random_seed=4)
    oracle = CustomerPreferences.from_draws(crm.real_draws(), customers.ids)
    truth = score_customers(oracle, customers, actions, business).p_return
    t = plan.table
    contact = t["contact"].to_numpy(dtype=bool)
    held = t["control"].to_numpy(dtype=bool)
    act = plan.allocation.action
    rows = np.arange(len(t))
    today = scores.actions.index("Today's offer")
    p_real = np.where(contact, truth[rows, act], truth[:, today])
    rng = np.random.default_rng(5)
    y = rng.random(len(t)) < np.nan_to_num(p_real)
    frame = pd.DataFrame(
        {
            "customer_id": t["customer_id"],
            "action": np.where(contact, t["action"], "control"),
            "contacted": contact.astype(int),
            "returned": y.astype(int),
        }
    )[contact | held]
    results = read_results(frame, actions=scores.actions, plan_ids=t["customer_id"])
    outcomes = measure_outcomes(plan, scores, results)
    return crm, model, customers, prefs, actions, scores, plan, truth, results, outcomes, y


def test_after_outcomes_predicted_real_winback_is_within_003_of_the_truth(campaign_outcome):
    _, _, _, _, _, scores, plan, truth, _, out, _ = campaign_outcome
    t = plan.table
    contact = t["contact"].to_numpy(dtype=bool)
    act = plan.allocation.action
    print(out.report())
    lines = []
    for r in out.by_action.iloc[:-1].itertuples(index=False):
        a = scores.actions.index(r.action)
        m = contact & (act == a)
        real = float(truth[m, a].mean())
        lines.append(
            f"{r.action}: stated {r.predicted:.3f}, calibrated {r.calibrated:.3f}, truth "
            f"{real:.3f}, realised {r.realised:.3f} ({r.contacted} contacted)"
        )
        assert abs(r.calibrated - real) < 0.03, "; ".join(lines)
        assert r.calibrated_lower <= real <= r.calibrated_upper, lines[-1]
    print("\n".join(lines))
    c = out.calibration
    print(c)
    assert c.log_lik > c.log_lik_stated + 10, c
    # the Brier score: the calibrated predictions beat the realised rate given to everyone
    assert out.brier_calibrated < out.brier_base_rate, (
        f"Brier {out.brier_calibrated:.4f} (calibrated), {out.brier:.4f} (plan), base rate "
        f"{out.brier_base_rate:.4f}"
    )
    assert out.brier_calibrated < out.brier, (out.brier_calibrated, out.brier)
    curve = out.curve
    assert curve["n"].sum() == int(contact.sum()) and len(curve) == 10, curve


def test_the_uplift_band_covers_the_true_uplift(campaign_outcome):
    """The measured uplift's band on this outcome, and its coverage over 150 outcomes drawn
    again (the difference of proportions within strata, contacted against held out)."""
    _, _, customers, _, _, scores, plan, truth, _, out, _ = campaign_outcome
    t = plan.table
    contact = t["contact"].to_numpy(dtype=bool)
    held = t["control"].to_numpy(dtype=bool)
    act = plan.allocation.action
    rows = np.arange(len(t))
    today = scores.actions.index("Today's offer")
    planned = contact | held
    gain = np.where(
        planned, truth[rows, np.minimum(act, len(scores.actions) - 2)] - truth[:, today], 0
    )
    seg = customers.segments().astype(str)
    names = t["action"].astype(str).to_numpy(dtype=object)
    up = out.uplift
    # the estimand: the strata's mean real gain, weighted by the strata's planned customers
    true = {}
    for level, key in (("action", names), ("all", np.full(len(t), "all", dtype=object))):
        for name in np.unique(key[planned]):
            m = planned & (key == name)
            true[(level, name)] = float(gain[m].mean())
    row = up[up["level"] == "all"].iloc[0]
    print(
        f"uplift {row['uplift']:.3f} [{row['uplift_lower']:.3f}, {row['uplift_upper']:.3f}], "
        f"truth {true[('all', 'all')]:.3f}"
    )
    p_real = np.where(
        contact, truth[rows, np.minimum(act, len(scores.actions) - 2)], truth[:, today]
    )
    p_real = np.nan_to_num(p_real)
    rng = np.random.default_rng(11)
    hits: dict[tuple[str, str], int] = {k: 0 for k in true}
    n_rep = 150
    for _ in range(n_rep):
        y = rng.random(len(t)) < p_real
        u = _uplift(seg, names, contact, held, y, out.band)
        for r in u[u["level"].isin(["action", "all"])].itertuples(index=False):
            k = (r.level, r.action)
            hits[k] += r.uplift_lower <= true[k] <= r.uplift_upper
    cover = {k: v / n_rep for k, v in hits.items()}
    print({f"{k[1]}": f"truth {true[k]:.3f}, coverage {c:.2f}" for k, c in cover.items()})
    for k, c in cover.items():
        assert 0.83 <= c <= 0.97, (
            f"{k[1]}: the {out.band:.0%} band covers the true uplift {true[k]:.3f} in {c:.0%} of "
            f"{n_rep} outcomes"
        )


def test_the_next_run_with_the_outcomes_calibration_predicts_real_winback(
    campaign_outcome, tmp_path
):
    """calibration.toml -> --calibration FILE -> analysis.calibrate -> score_customers: the
    stated gap to the real probability of returning is large before, small after."""
    crm, model, customers, prefs, actions, scores, _, truth, _, out, _ = campaign_outcome
    path = tmp_path / "calibration.toml"
    path.write_text(out.calibration.calibration(source="test campaign").to_toml(), encoding="utf-8")
    cal = read_calibration_file(path)
    assert cal.kind == "outcomes" and abs(cal.scale - out.calibration.scale) < 1e-12, cal
    draws = PartWorthDraws.from_model(model)
    cd = calibrate(draws, crm.market, cal)
    s, d = outcome_adjustments(cal, draws.beta.shape[0])
    assert np.array_equal(cd.scale, s) and np.array_equal(cd.shift, d)
    assert abs(np.log(cd.scale).std() - cal.scale_sd / cal.scale) < 0.25 * cal.scale_sd / cal.scale
    again = score_customers(prefs, customers, actions, crm.study.business, calibration=cd)
    ok = customers.contactable
    lines, before, after = [], [], []
    for j, name in enumerate(scores.actions[:-1]):
        real = float(truth[ok, j].mean())
        st = float(scores.p_return[ok, j].mean())
        ca = float(again.p_return[ok, j].mean())
        before.append(abs(st - real))
        after.append(abs(ca - real))
        lines.append(f"{name}: stated {st:.3f}, calibrated {ca:.3f}, real {real:.3f}")
    print("\n".join(lines))
    assert max(before) > 0.05, "the stated gap should be large: " + "; ".join(lines)
    assert max(after) < 0.03, "; ".join(lines)
    assert sum(after) < 0.5 * sum(before), "; ".join(lines)


def test_outcome_calibration_table_is_checked_and_old_kinds_stay_valid():
    from winback.study import parse_study
    from winback.study.business import read_calibration

    good = read_calibration(
        {"kind": "outcomes", "scale": 0.6, "none_shift": 1.0, "n": 3000, "scale_sd": 0.05},
        "calibration.toml",
    )
    assert good is not None and good.resolved_adjust == "scale_and_none"
    back = read_calibration(
        __import__("tomllib").loads(good.to_toml())["calibration"], "again.toml"
    )
    assert back == good, (back, good)
    with pytest.raises(WinbackError) as err:
        read_calibration(
            {"kind": "outcomes", "scale": -1.0, "n": 10, "correlation": 1.5}, "calibration.toml"
        )
    msg = str(err.value)
    for part in (
        'with kind = "outcomes", none_shift required',
        "'scale' = -1.0 must be a positive number",
        "'correlation' = 1.5 must be strictly between -1 and 1",
    ):
        assert part in msg, f"{part!r} not in {msg!r}"
    with pytest.raises(WinbackError, match='scale belong to kind = "outcomes"'):
        read_calibration({"kind": "winback_rate", "observed": 0.1, "n": 10, "scale": 2.0}, "x")
    old = parse_study(
        '[study]\nname = "x"\nnone_option = true\n[[attributes]]\nname = "a"\n'
        'levels = ["p", "q", "r"]\n[[attributes]]\nname = "b"\nlevels = ["s", "t"]\n'
        "[calibration]\nobserved = 0.18\nn = 2400\n"
    )
    assert old.calibration == Calibration("winback_rate", (("winback", 0.18),), 2400)


def test_the_outcomes_command_writes_the_stage_and_its_calibration_is_read_back(
    campaign_outcome, tmp_path, capsys
):
    import shutil
    from importlib import resources

    from analysis.decision import action_records
    from analysis.io import save_model
    from analysis.simulator import read_market
    from winback._io import write_json
    from winback.cli import main
    from winback.example import example_study_text
    from winback.run_folder import OUTCOMES, TARGET, RunFolder, read_record, write_record

    crm, model, _, _, actions, _, plan, _, results, out, _ = campaign_outcome
    run = RunFolder(tmp_path / "run")
    (run.root / "fit").mkdir(parents=True)
    (run.root / "target").mkdir()
    run.study_file.write_text(example_study_text(), encoding="utf-8")
    market = resources.files("winback.examples").joinpath("broadband_market.toml")
    shutil.copyfile(str(market), run.market_file)
    save_model(model, run.root / "fit" / "fit.nc")
    crm.customers.to_csv(tmp_path / "lost_customers.csv", index=False)
    plan.table.to_csv(run.file(TARGET, "campaign.csv"), index=False)
    today = read_market(run.market_file, crm.study)
    write_json(action_records(actions, today), run.file(TARGET, "actions.json"))
    write_record(
        run.folder(TARGET),
        "target",
        {"band": 0.9, "segment": "main_reason", "random_seed": 3, "basis": "stated"},
        crm.study,
        paths={"customers": tmp_path / "lost_customers.csv"},
    )
    frame = results.frame.assign(contacted=results.frame["contacted"].astype(int),
                                 returned=results.frame["returned"].astype(int))  # fmt: skip
    frame.to_csv(tmp_path / "results.csv", index=False)
    dest = run.folder(OUTCOMES)
    args = [str(run.study_file), str(run.root), str(tmp_path / "results.csv"), "--out", str(dest)]
    assert main(["outcomes", *args]) == 0
    text = capsys.readouterr().out
    assert "Calibration from the outcomes: real utility = " in text, text
    for name in OUTCOMES.owned:
        assert (dest / name).is_file(), name
    assert read_record(dest).command == "outcomes"
    again = read_calibration_file(dest / "calibration.toml")
    assert abs(again.scale - out.calibration.scale) < 1e-9, (again, out.calibration)
    by_action = pd.read_csv(dest / "outcomes_by_action.csv")
    assert np.allclose(by_action["calibrated"], out.by_action["calibrated"]), by_action
    # checked before the work: the folder is not replaced without --force
    assert main(["outcomes", *args]) != 0
    assert "refusing to overwrite earlier results" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,action,contacted,returned\nC000001,,1,2\n", encoding="utf-8")
    o2 = str(tmp_path / "o2")
    assert main(["outcomes", str(run.study_file), str(run.root), str(bad), "--out", o2]) != 0
    err = capsys.readouterr().err
    assert "bad.csv: 'returned' must be 0 or 1" in err and "row 2 ('2')" in err, err
    assert not (tmp_path / "o2").exists()


def test_the_plans_predictions_are_compared_given_the_contact_reached(campaign_outcome):
    """The plan's p_return is per contact attempt (times the calibration's availability); the
    outcomes are of customers reached. With a reach of 0.5 the comparison and the fitted
    calibration are those of reach 1: the predictions are divided by the reach."""
    from dataclasses import replace

    _, _, _, _, _, scores, plan, _, results, out, _ = campaign_outcome
    half = replace(scores, p_return=scores.p_return * 0.5, scorer=replace(scores.scorer, reach=0.5))
    again = measure_outcomes(plan, half, results)
    a, b = out.by_action, again.by_action
    assert np.allclose(a["predicted"], b["predicted"], rtol=1e-9), (a["predicted"], b["predicted"])
    assert abs(again.calibration.scale - out.calibration.scale) < 1e-6, (
        again.calibration,
        out.calibration,
    )
