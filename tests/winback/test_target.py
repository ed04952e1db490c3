"""``winback target`` as a user runs it: the campaign for a CRM list from a run folder, through
the command line and the Python API, its files read back exactly, and every bad input refused
with the file, row and value before any scoring (issue 18)."""

from __future__ import annotations

import json
import os
import shutil
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.campaign import DO_NOT_CONTACT
from surveys._csv import read_csv_text
from winback._io import write_csv
from winback.cli import main
from winback.errors import WinbackError

#: customer ids a spreadsheet would change (a formula, leading zeros): they must read back
ODD_IDS = {3: "=1+1", 7: "00042", 11: "+44 20 7946 0000"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder (fit/ with covariates, market.toml, recommend/) and a CRM list of 300 lost
    customers, 60 of them the fit's respondents: a tiny fit, so the numbers are rough."""
    from analysis import fit
    from winback.example import example_study_text
    from winback.example_crm import CRM_COVARIATES, make_example_crm
    from winback.pipeline import run_recommend, write_fit

    crm = make_example_crm(300, 60, random_seed=5)
    model = fit(
        crm.dataset(),
        # a tiny fit whose posterior is rough: with some seeds most draws put the offer out
        # of the calibration's reach (a clear error, not this test's subject); seeds 3 and 4
        # with 150 warm-up steps both reach it (2026-12-07)
        draws=60,
        tune=150,
        chains=2,
        covariance="diagonal",
        covariates=list(CRM_COVARIATES),
        constraints="price",
        random_seed=3,
    )
    run = tmp_path_factory.mktemp("target") / "run"
    run.mkdir()
    (run / "study.toml").write_text(example_study_text(), encoding="utf-8")
    market = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    (run / "market.toml").write_text(market, encoding="utf-8")
    write_fit(model, run / "fit", validation="none")
    rec = run_recommend(
        run / "study.toml", run / "fit", run / "market.toml", run / "recommend", top=3
    )
    customers = crm.customers.copy()
    customers["customer_id"] = customers["customer_id"].astype(object)
    for i, cid in ODD_IDS.items():
        customers.loc[i, "customer_id"] = cid
    (run / "crm").mkdir()
    write_csv(customers, run / "crm" / "lost_customers.csv")
    _RECOMMENDED[run] = rec
    return run


_RECOMMENDED: dict[Path, object] = {}  # the run folder's RecommendRun, as run_recommend gave it


def _args(run: Path, out: Path, *extra: str) -> list[str]:
    return [
        "target",
        str(run / "study.toml"),
        str(run),
        "--customers",
        str(run / "crm" / "lost_customers.csv"),
        "--out",
        str(out),
        *extra,
    ]


def test_target_command_and_api_write_the_same_campaign(run_dir, tmp_path, capsys):
    from winback.pipeline import run_target

    out = tmp_path / "cli"
    opts = ("--segment", "main_reason", "--max-contacts", "150", "--control-share", "0.2")
    assert main([*_args(run_dir, out, *opts, "--seed", "3")]) == 0
    printed = capsys.readouterr().out
    assert "Campaign for 300 lost customers of lost_customers.csv (calibrated" in printed, printed
    assert "60 survey respondents keep their own part-worths, 240 are predicted" in printed
    assert {p.name for p in out.iterdir()} == {
        "campaign.csv",
        "campaign_summary.csv",
        "actions.csv",
        "actions.json",
        "run.json",
    }
    api = run_target(
        run_dir / "study.toml",
        run_dir,
        run_dir / "crm" / "lost_customers.csv",
        tmp_path / "api",
        max_contacts=150,
        control_share=0.2,
        seed=3,
        segment="main_reason",
    )
    table = api.campaign.table
    # campaign.csv is Campaign.table, every cell as written: ids and text read back exactly
    back = read_csv_text(out / "campaign.csv").drop(columns="_row")
    assert list(back.columns) == list(table.columns), list(back.columns)
    ids = read_csv_text(run_dir / "crm" / "lost_customers.csv")["customer_id"]
    assert back["customer_id"].tolist() == table["customer_id"].tolist() == ids.tolist()
    for i, cid in ODD_IDS.items():
        assert back["customer_id"][i] == cid, (back["customer_id"][i], cid)
    for col in ("action", "kind", "products", "levels", "description", "reason", "segment"):
        want = table[col].fillna("").astype(str).tolist()
        assert back[col].fillna("").tolist() == want, col
    for col in ("p_return", "p_return_lower", "profit", "profit_upper", "ltv", "price"):
        got = pd.to_numeric(back[col]).to_numpy()
        assert np.allclose(got, table[col].to_numpy(dtype=float), equal_nan=True, rtol=1e-12), col
    # the limits and the control group: 150 planned, 30 held out, 120 contacted
    planned = table["action"] != DO_NOT_CONTACT
    assert int(planned.sum()) == 150 and int(table["control"].sum()) == 30, table["action"]
    assert int(table["contact"].sum()) == 120
    # a customer without consent is never contacted, with the reason
    crm = read_csv_text(run_dir / "crm" / "lost_customers.csv")
    no = (crm["contact_consent"] == "0") | (crm["do_not_contact"] == "1")
    assert (table.loc[no.to_numpy(), "action"] == DO_NOT_CONTACT).all()
    # the summary's total is the contacted customers' sum (expected values add up)
    summary = api.campaign.summary
    total = summary.iloc[-1]
    c = table["contact"].to_numpy(dtype=bool)
    for key, col in (("won_back", "p_return"), ("profit", "profit")):
        s = float(table.loc[c, col].sum())
        assert abs(total[key] - s) < 1e-9 * max(1.0, abs(s)), f"{key}: {total[key]} vs sum {s}"
        assert total[f"{key}_lower"] <= total[key] <= total[f"{key}_upper"], total
    assert int(total["customers"]) == 300 and int(total["contacted"]) == 120, total
    back_sum = read_csv_text(out / "campaign_summary.csv")
    assert list(back_sum.columns[:-1]) == list(summary.columns), list(back_sum.columns)
    # actions.csv: every candidate the decision scored (its "No campaign" is Do not contact)
    acts = pd.read_csv(out / "actions.csv")
    decided = [a.name for a in _RECOMMENDED[run_dir].actions]
    want = [a for a in decided if a != "No campaign"] + [DO_NOT_CONTACT]
    assert list(dict.fromkeys(acts["action"])) == want, (acts["action"].unique(), want)
    decision = pd.read_csv(run_dir / "recommend" / "decision.csv")
    best = decision.loc[decision["recommended"], "action"].item()
    assert set(acts.loc[acts["recommended"], "action"]) == {best}, acts
    tiers = acts[acts["kind"] == "tiers"]
    assert tiers["product"].tolist() == ["Good", "Better", "Best"], tiers
    assert (acts.loc[acts["action"] != DO_NOT_CONTACT, "incentive"] == 25.0).all()
    # contact cost 1.2 per lost customer reached x availability 0.65 (broadband.toml)
    assert np.allclose(acts.loc[acts["action"] != DO_NOT_CONTACT, "contact_cost"], 1.2 * 0.65)
    one = table[(table["kind"] == "offer") & planned].head(1)
    if len(one):
        lv = json.loads(one["levels"].item())
        (prod,) = lv
        assert lv[prod]["price"] == one["price"].item(), (lv, one["price"])
    rec = json.loads((out / "run.json").read_text())
    s = rec["settings"]
    assert rec["command"] == "target" and s["max_contacts"] == 150, s
    assert s["control_share"] == 0.2 and s["segment"] == "main_reason", s
    assert s["basis"] == "calibrated" and s["recommended"] == best, s
    assert s["customers"] == os.path.relpath(run_dir / "crm" / "lost_customers.csv", out), s
    # without the calibration: stated preference, which overrates who comes back
    stated = run_target(
        run_dir / "study.toml",
        run_dir,
        run_dir / "crm" / "lost_customers.csv",
        tmp_path / "stated",
        calibration=False,
    )
    assert stated.campaign.basis == "stated"
    p_cal = float(np.nanmean(api.scores.p_return[:, :-1]))
    p_st = float(np.nanmean(stated.scores.p_return[:, :-1]))
    assert p_st > p_cal, f"stated p_return {p_st:.3f} not above calibrated {p_cal:.3f}"
    # --calibration FILE (what winback outcomes writes): applied as given, recorded in run.json
    cal_file = tmp_path / "calibration.toml"
    cal_file.write_text(
        '[calibration]\nkind = "outcomes"\nn = 500\nscale = 0.5\nnone_shift = 2.0\n',
        encoding="utf-8",
    )
    args = [str(run_dir / "study.toml"), str(run_dir), "--customers",
            str(run_dir / "crm" / "lost_customers.csv"), "--out", str(tmp_path / "outc"),
            "--calibration", str(cal_file)]  # fmt: skip
    assert main(["target", *args]) == 0, capsys.readouterr().err
    rec = json.loads((tmp_path / "outc" / "run.json").read_text(encoding="utf-8"))["settings"]
    assert rec["calibration_file"] == os.path.relpath(cal_file, tmp_path / "outc"), rec
    given = run_target(
        run_dir / "study.toml",
        run_dir,
        run_dir / "crm" / "lost_customers.csv",
        tmp_path / "given",
        calibration_file=cal_file,
    )
    p_out = float(np.nanmean(given.scores.p_return[:, :-1]))
    assert p_out < p_st, f"none 2.0 more attractive: p_return {p_out:.3f}, stated {p_st:.3f}"
    assert given.campaign.basis == "calibrated", given.campaign.basis
    assert main(["target", *args, "--no-calibration", "--force"]) != 0
    assert "contradict" in capsys.readouterr().err


def test_recommend_writes_the_actions_target_rebuilds_exactly(run_dir, tmp_path):
    from analysis.decision import actions_from_records
    from analysis.simulator import read_market
    from winback.study import load_study

    rec = _RECOMMENDED[run_dir]
    study = load_study(run_dir / "study.toml")
    data = json.loads((run_dir / "recommend" / "decision_actions.json").read_text())
    assert data["recommended"] == rec.decision.recommended
    today = read_market(run_dir / "market.toml", study)
    rebuilt = actions_from_records(data, study, today)
    assert rebuilt == list(rec.actions), [a.name for a in rebuilt]
    kinds = [a.kind for a in rebuilt]
    assert kinds == ["offer"] * 3 + ["keep", "tiers", "entry", "no campaign"], kinds
    # on another market than the one recommend used: refused
    other = (run_dir / "market.toml").read_text().replace("price = 60.0", "price = 55.0")
    (tmp_path / "market.toml").write_text(other)
    moved = read_market(tmp_path / "market.toml", study)
    with pytest.raises(WinbackError, match="made on another market than today's"):
        actions_from_records(data, study, moved)


def _crm_variant(run_dir: Path, tmp_path: Path, change) -> Path:
    """A copy of the run folder's CRM list, changed (as text, as a user's file would be)."""
    frame = read_csv_text(run_dir / "crm" / "lost_customers.csv").drop(columns="_row")
    change(frame)
    path = tmp_path / "lost_customers.csv"
    write_csv(frame, path)
    return path


@pytest.mark.parametrize(
    ("case", "want"),
    [
        ("missing_column", "lost_customers.csv: no column 'tenure_years' (a covariate of the fit)"),
        (
            "bad_consent",
            "lost_customers.csv: 'contact_consent' must be 0 or 1 (or true/false, yes/no) in 1 "
            "row(s): row 6 ('maybe')",
        ),
        (
            "unknown_plan",
            "lost_customers.csv: 'previous_plan' has values the fit's respondents never gave "
            "(valid: broadband_only, bundle) in 1 row(s): row 4 ('fibre_max')",
        ),
        (
            "duplicate_id",
            "lost_customers.csv: 'customer_id' repeated in 2 row(s): row 2 ('C000001'), row 10 "
            "('C000001')",
        ),
    ],
)
def test_a_bad_crm_list_is_refused_with_file_row_and_value(
    run_dir, tmp_path, capsys, monkeypatch, case, want
):
    import winback.pipeline.target as target

    def never(*a, **k):
        raise AssertionError("scored before every input was checked")

    monkeypatch.setattr(target, "score_customers", never)
    changes = {
        "missing_column": lambda f: f.pop("tenure_years"),
        "bad_consent": lambda f: f.__setitem__(
            "contact_consent", f["contact_consent"].where(f.index != 4, "maybe")
        ),
        "unknown_plan": lambda f: f.__setitem__(
            "previous_plan", f["previous_plan"].where(f.index != 2, "fibre_max")
        ),
        "duplicate_id": lambda f: f.__setitem__(
            "customer_id", f["customer_id"].where(f.index != 8, "C000001")
        ),
    }
    crm = _crm_variant(run_dir, tmp_path, changes[case])
    out = tmp_path / "out"
    argv = ["target", str(run_dir / "study.toml"), str(run_dir), "--customers", str(crm)]
    assert main([*argv, "--out", str(out), "--segment", "main_reason"]) == 1
    err = capsys.readouterr().err
    assert want in err, err
    assert not out.exists()


def test_outputs_and_run_folder_are_checked_before_any_work(run_dir, tmp_path, capsys, monkeypatch):
    import winback.pipeline.target as target

    def never(*a, **k):
        raise AssertionError("loaded the fit before checking the inputs")

    monkeypatch.setattr(target, "load_fit_for", never)
    # --out holds earlier results: refused without --force, nothing changed
    out = tmp_path / "out"
    out.mkdir()
    (out / "campaign.csv").write_text("old\n")
    assert main(_args(run_dir, out)) == 1
    assert "refusing to overwrite earlier results" in capsys.readouterr().err
    assert (out / "campaign.csv").read_text() == "old\n"
    # a file where the folder belongs
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(_args(run_dir, afile)) == 1
    assert f"--out {afile} is a file, not a folder" in capsys.readouterr().err
    # an incomplete run folder: each missing part named with the command that makes it
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial, ignore=shutil.ignore_patterns("recommend", "fit"))
    (partial / "market.toml").unlink()
    assert main(_args(partial, tmp_path / "o2")) == 1
    err = capsys.readouterr().err
    for part in (
        f"no fit in {partial / 'fit'}/ (fit.nc): make it with `winback fit",
        f"the market file {partial / 'market.toml'} is missing",
        f"no {partial / 'recommend'}/: make it with `winback recommend",
    ):
        assert part in err, (part, err)
    # a recommend folder from before decision_actions.json
    old = tmp_path / "old"
    shutil.copytree(run_dir, old, ignore=shutil.ignore_patterns("decision_actions.json"))
    assert main(_args(old, tmp_path / "o3")) == 1
    assert "has no decision_actions.json" in capsys.readouterr().err
    # a bad limit is a usage error
    with pytest.raises(SystemExit) as e:
        main(_args(run_dir, tmp_path / "o4", "--control-share", "1.5"))
    assert e.value.code == 2
    assert not any((tmp_path / n).exists() for n in ("o2", "o3", "o4"))


def test_the_demo_crm_holds_the_respondents_and_the_fieldwork_population():
    from surveys.fieldwork import simulate_respondents, true_partworths
    from winback.example import make_example_study
    from winback.example_crm import crm_from_fieldwork

    ex = make_example_study()
    people = simulate_respondents(ex.study, 200, random_seed=4)
    rng = np.random.default_rng(4)
    beta = true_partworths(ex.study, people, ex.true_means, ex.true_sd, rng)
    names = list(ex.true_means)
    truth = pd.DataFrame(beta, index=people["respondent_id"].astype(str), columns=names)
    crm = crm_from_fieldwork(
        ex.study, people, truth, true_means=ex.true_means, true_sd=ex.true_sd, n_customers=6000
    )
    c = crm.customers
    assert len(c) == 6000 and c["customer_id"].is_unique
    resp = c[c["respondent_id"].notna()].set_index("respondent_id")
    assert len(resp) == 200
    for col in ("main_reason", "previous_plan", "reason_price_rise", "tenure_months"):
        a = resp[col].astype(str).sort_index()
        b = people.set_index("respondent_id")[col].astype(str).sort_index()
        assert a.tolist() == b.tolist(), col
    stated = crm.stated.loc[resp["customer_id"].astype(str)].to_numpy()
    assert np.array_equal(stated, truth.loc[resp.index].to_numpy())
    # the others follow the fieldwork's rule: price rises make the price 1.4 times as strong
    others = c["respondent_id"].isna().to_numpy()
    price = crm.stated["price"].to_numpy()[others]
    rise = c["reason_price_rise"].to_numpy(dtype=float)[others] == 1
    ratio = price[rise].mean() / price[~rise].mean()
    assert abs(ratio - 1.4) < 0.05, f"price slope ratio {ratio:.3f}, truth 1.4"
    share = float(c["contact_consent"].astype(float).mean())
    assert 0.9 < share < 0.94, share
