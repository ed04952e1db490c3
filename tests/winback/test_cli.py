"""The ``winback`` command as a user runs it: design, inspect, demo, errors, no overwrites."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveys.counts import COUNT_COLUMNS
from tests.conftest import BENCH_STUDY, SMALL_STUDY, SMALL_TRUTH
from winback.cli import main


def _winback_exe() -> list[str]:
    exe = Path(sys.executable).parent / "winback"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "winback.cli"]


@pytest.fixture
def study_file(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(SMALL_STUDY)
    return path


def test_design_command_writes_every_file(tmp_path, study_file, capsys):
    out = tmp_path / "design"
    assert main(["design", str(study_file), "--out", str(out), "--assign", "12"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {
        "design.csv",
        "design_sawtooth.csv",
        "design_qualtrics.csv",
        "diagnostics.json",
        "diagnostics.txt",
        "level_balance.csv",
        "study.toml",
        "assignments.csv",
        "versions.csv",
        "qualtrics_questions.txt",
        "qualtrics_embedded_data.csv",
        "questionnaire.md",
        "run.json",
    }
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "design" and record["settings"]["assign"] == 12, record
    assert record["format"] == 1 and len(record["study_sha256"]) == 64, record
    printed = capsys.readouterr().out
    assert "Design diagnostics:" in printed and "Street-Burgess" in printed
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["verdict"] in ("OK", "Warning", "Unusable")
    assert {
        "d0_error",
        "db_error",
        "a_error",
        "sb_efficiency",
        "min_respondents",
        "johnson_orme_n",
    } <= set(diag)
    design = pd.read_csv(out / "design.csv")
    assert len(design) == 2 * 8 * 3
    assert (out / "study.toml").read_text() == SMALL_STUDY


def test_design_refuses_to_overwrite_without_force(tmp_path, study_file, capsys):
    out = tmp_path / "design"
    assert main(["design", str(study_file), "--out", str(out), "--method", "random"]) == 0
    before = (out / "design.csv").read_bytes()
    assert main(["design", str(study_file), "--out", str(out), "--seed", "99"]) == 1
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "--force" in err
    assert (out / "design.csv").read_bytes() == before
    assert (
        main(
            [
                "design",
                str(study_file),
                "--out",
                str(out),
                "--seed",
                "99",
                "--force",
                "--method",
                "random",
            ]
        )
        == 0
    )
    assert (out / "design.csv").read_bytes() != before


def test_bad_study_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "study.toml"
    bad.write_text(SMALL_STUDY.replace('method = "d_efficient"', 'method = "d_eficient"'))
    assert main(["design", str(bad), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "study.toml" in err and "d_eficient" in err and "Did you mean 'd_efficient'" in err
    assert not (tmp_path / "o").exists()


def test_inspect_reads_every_format(tmp_path, study_file, capsys):
    out = tmp_path / "design"
    main(["design", str(study_file), "--out", str(out), "--method", "balanced_overlap"])
    capsys.readouterr()
    assert main(["inspect", str(study_file), str(out), "--json", str(tmp_path / "d.json")]) == 0
    first = capsys.readouterr().out
    assert "Design diagnostics:" in first
    for fmt, name in (("sawtooth", "design_sawtooth.csv"), ("qualtrics", "design_qualtrics.csv")):
        assert main(["inspect", str(study_file), str(out / name), "--format", fmt]) == 0
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["n_versions"] == 2


def test_inspect_strict_exit_code_on_a_poor_design(tmp_path, study_file):
    out = tmp_path / "design"
    main(["design", str(study_file), "--out", str(out), "--method", "random", "--versions", "1"])
    code = main(["inspect", str(study_file), str(out), "--respondents", "20", "--strict"])
    assert code == 3


def test_console_script_design_and_demo(tmp_path):
    """Through the installed ``winback`` executable, as from a shell."""
    study = tmp_path / "bench.toml"
    study.write_text(BENCH_STUDY)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    r = subprocess.run(
        [*_winback_exe(), "design", str(study), "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    diag = json.loads((tmp_path / "d" / "diagnostics.json").read_text())
    assert diag["sb_efficiency"] >= 0.98, f"winback design: SB efficiency {diag['sb_efficiency']}"

    demo = tmp_path / "demo"
    r = subprocess.run(
        [
            *_winback_exe(),
            "demo",
            "--out",
            str(demo),
            "--draws",  # one short chain: this test is of the command, not of the fit
            "50",
            "--tune",
            "100",
            "--chains",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # a guard, not a speed test: a fresh machine compiles first
    )
    assert r.returncode == 0, r.stderr
    assert (demo / "study.toml").exists() and (demo / "design" / "design.csv").exists()
    assert (demo / "import" / "quality.csv").exists() and (demo / "fit" / "fit.nc").exists()
    pw = (demo / "fit" / "partworths.csv").read_text().splitlines()
    assert pw[0] == "respondent_id,attribute,level,utility"
    # issue 5: the demo simulates the example market and recommends offers, tiers, unbundling
    assert (demo / "simulate" / "shares.csv").exists()
    for name in ("offers.csv", "segments.csv", "tiers.csv", "unbundling.csv"):
        assert (demo / "recommend" / name).exists(), name
    tiers = pd.read_csv(demo / "recommend" / "tiers.csv")
    assert tiers["tier"].tolist() == ["Good", "Better", "Best"], tiers
    assert "Unbundling" in r.stdout and "TierSearch" in r.stdout
    # issue 18: a CRM list with the respondents among 20,000 lost customers, and the campaign
    crm = pd.read_csv(demo / "crm" / "lost_customers.csv", dtype=str)
    people = pd.read_csv(demo / "fieldwork" / "respondents.csv", dtype=str)
    assert len(crm) == 20_000 and crm["customer_id"].is_unique
    linked = set(crm["respondent_id"].dropna())
    assert linked == set(people["respondent_id"]), len(linked)
    campaign = pd.read_csv(demo / "target" / "campaign.csv", dtype={"customer_id": str})
    assert campaign["customer_id"].tolist() == crm["customer_id"].tolist()
    assert int(campaign["control"].sum()) > 0 and int(campaign["contact"].sum()) > 0
    assert "Campaign for 20,000 lost customers of lost_customers.csv" in r.stdout
    # ... and what it would do under the known real behaviour, for `winback outcomes`
    from analysis.campaign import read_results

    results = read_results(demo / "crm" / "campaign_results.csv", plan_ids=campaign["customer_id"])
    planned = int(campaign["contact"].sum() + campaign["control"].sum())
    assert len(results.frame) == planned, (len(results.frame), planned)
    fit_record = json.loads((demo / "fit" / "run.json").read_text())
    assert "reason_price_rise" in json.dumps(fit_record["settings"]), fit_record["settings"]
    # issue 6: the demo ends with the leadership workbook and its plots
    from openpyxl import load_workbook

    report = demo / "report" / "winback_report.xlsx"
    assert report.exists() and (demo / "report" / "importances.png").exists()
    assert load_workbook(report).sheetnames[0] == "Summary"
    # issue 20: latent classes as segments, in the run folder and on their own page
    sizes = pd.read_csv(demo / "latent_class" / "class_sizes.csv")
    assert 2 <= len(sizes) <= 4 and abs(sizes["share"].sum() - 1) < 1e-9, sizes
    assert "Segments" in load_workbook(report).sheetnames
    r2 = subprocess.run(
        [*_winback_exe(), "demo", "--out", str(demo)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # a guard, not a speed test: a fresh machine compiles first
    )
    assert r2.returncode == 1 and "refusing to overwrite" in r2.stderr
    r3 = subprocess.run([*_winback_exe(), "--version"], capture_output=True, text=True, env=env)
    assert r3.stdout.startswith("winback ")
    shutil.rmtree(demo)


def test_usage_errors_exit_2(tmp_path, study_file):
    with pytest.raises(SystemExit) as e:
        main(["design", str(study_file), "--out", str(tmp_path), "--versions", "0"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["design", str(study_file), "--out", str(tmp_path), "--method", "fancy"])
    assert e.value.code == 2


def test_import_command_reads_a_qualtrics_export_and_writes_canonical_files(tmp_path, capsys):
    from conjoint import simulate_choices
    from surveys import make_dataset, read_responses, simulate_respondents
    from surveys.formats import qualtrics
    from tests.conftest import make_study

    study_path = tmp_path / "study.toml"
    study_path.write_text(SMALL_STUDY)
    study = make_study(SMALL_STUDY)
    assert main(["-q", "design", str(study_path), "--out", str(tmp_path / "design")]) == 0
    from conjoint import read_design_csv

    design = read_design_csv(tmp_path / "design" / "design.csv", study)
    # segment comes from the CRM, not from the survey platform
    people = simulate_respondents(study, 60, random_seed=1).drop(columns="segment")
    choices = simulate_choices(design, SMALL_TRUTH, 2, n_respondents=60, sd=0.3)
    data = make_dataset(choices, study, design=design, respondents=people)
    export = qualtrics.write(
        data, tmp_path / "qualtrics_export.csv", questionnaire=study.questionnaire
    )[0]
    before = export.read_bytes()

    out = tmp_path / "imported"
    args = [
        "import",
        str(study_path),
        str(export),
        "--out",
        str(out),
        "--format",
        "qualtrics",
        "--design",
        str(tmp_path / "design"),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ChoiceDataset" in printed and "Why they left" in printed
    names = {p.name for p in out.iterdir()}
    assert names == {
        "responses.csv",
        "respondents.csv",
        "exclusions.csv",
        "quality.csv",
        "counts.csv",
        "reasons.csv",
        "reasons.txt",
        "import.json",
        "run.json",
    }
    counted = pd.read_csv(out / "counts.csv")
    assert list(counted.columns) == list(COUNT_COLUMNS)
    assert set(counted["attribute"]) == {a.name for a in study.attributes} | {"none"}
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "import" and record["settings"]["format"] == "qualtrics"
    assert record["settings"]["responses"] == os.path.relpath(export, out), record
    assert export.read_bytes() == before
    back = read_responses(out / "responses.csv", study, design=design)
    assert data.equals(back), data.difference(back)
    summary = json.loads((out / "import.json").read_text())
    assert summary["n_respondents"] == 60 and summary["format"] == "qualtrics"
    assert str(export) in summary["sources"]
    # the random-responder check on this design: cutoff, false-flag and detection rates
    check = summary["random_responder_check"]
    assert check["rlh_false_flag"] == 0.05 and check["rlh_false_flag_simulated"] <= 0.05, check
    assert f"Random responders (RLH below {check['rlh_cutoff']:.3f})" in printed, printed
    assert f"catches {check['rlh_detection']:.0%} of 2,000 simulated random" in printed, printed
    warned = "Warning: this design cannot tell random answering from genuine answers" in printed
    assert warned == (check["rlh_detection"] < 0.5), (check["rlh_detection"], printed)
    # a second import into the same folder is refused, and changes nothing
    stamp = (out / "responses.csv").read_bytes()
    assert main(args) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (out / "responses.csv").read_bytes() == stamp


def test_cli_hb_defaults_match_hbsettings() -> None:
    """`winback fit` defaults to the same sampler settings as analysis.fit; `winback demo` and
    run_demo share theirs (twice the draws and three times the warm-up, so that the demo's own
    fit with its covariates passes the convergence checks: docs/cli.md)."""
    import inspect

    from analysis import HBSettings
    from winback.cli import build_parser
    from winback.pipeline import run_demo

    parser = build_parser()
    hb = HBSettings()
    args = parser.parse_args(["fit", "s.toml", "r.csv", "--out", "o"])
    got = (args.draws, args.tune, args.chains)
    assert got == (hb.draws, hb.tune, hb.chains), f"fit: {got} vs HBSettings"
    args = parser.parse_args(["demo"])
    demo = {k: v.default for k, v in inspect.signature(run_demo).parameters.items()}
    got = (args.draws, args.tune, args.chains)
    assert got == (demo["draws"], demo["tune"], demo["chains"]) == (2000, 1500, 4), got


@pytest.fixture(scope="module")
def fit_folder(tmp_path_factory, example_fit):
    """The shared example fit saved as `winback fit` would, with its study file."""
    from analysis.io import save_model
    from winback.example import example_study_text

    folder = tmp_path_factory.mktemp("fit")
    model = example_fit[0]
    save_model(model, folder / "fit.nc")
    (folder / "study.toml").write_text(example_study_text(), encoding="utf-8")
    return folder


def test_simulate_command_writes_shares_and_source_of_volume(tmp_path, fit_folder, capsys):
    import pandas as pd

    import winback
    from winback.cli import main

    market = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    out = tmp_path / "sim"
    argv = ["simulate", str(fit_folder / "study.toml"), str(fit_folder), "--market", str(market)]
    assert main([*argv, "--out", str(out), "--segment", "reason_price_rise"]) == 0
    shares = pd.read_csv(out / "shares.csv")
    assert list(shares.columns) == [
        "segment",
        "n_respondents",
        "product",
        "own",
        "share",
        "lower",
        "upper",
    ]
    overall = shares[shares["segment"] == "all"]
    assert overall["product"].tolist() == ["FibreHome bundle", "CableCo Max", "NetLite", "none"]
    assert overall["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert ((overall["lower"] <= overall["share"]) & (overall["share"] <= overall["upper"])).all()
    sov = pd.read_csv(out / "source_of_volume.csv")
    assert set(sov["kind"]) == {"none", "competitor", "total"}, sov
    for name in ("price_curves.csv", "elasticities.csv", "wtp.csv"):
        assert (out / name).exists(), name
    el = pd.read_csv(out / "elasticities.csv")
    own = el[(el["price_of"] == el["share_of"])]
    assert (own["elasticity"] < 0).all(), own
    assert "FibreHome bundle" in capsys.readouterr().out
    # no silent overwrite; unknown market content is a clear error naming the file
    assert main([*argv, "--out", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[products]]\nname = "X"\nspeed = "10 Gbps"\n', encoding="utf-8")
    argv_bad = ["simulate", str(fit_folder / "study.toml"), str(fit_folder), "--market", str(bad)]
    assert main([*argv_bad, "--out", str(tmp_path / "s2")]) == 1
    err = capsys.readouterr().err
    assert (
        str(bad) in err and "unknown level '10 Gbps'" in err and "100 Mbps, 300 Mbps, 1 Gbps" in err
    ), err


def test_recommend_command_writes_offers_tiers_and_unbundling(tmp_path, fit_folder, capsys):
    import pandas as pd

    import winback
    from winback.cli import main
    from winback.study import parse_study

    market = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    out = tmp_path / "rec"
    argv = ["recommend", str(fit_folder / "study.toml"), str(fit_folder), "--market", str(market)]
    assert main([*argv, "--out", str(out), "--objective", "profit", "--top", "5"]) == 0
    study = parse_study((fit_folder / "study.toml").read_text())
    offers = pd.read_csv(out / "offers.csv")
    want = [
        "rank",
        *study.attribute_names,
        "share",
        "lower",
        "upper",
        "revenue",
        "profit",
        "prob_beats_current",
    ]
    assert list(offers.columns[: len(want)]) == want, list(offers.columns)
    assert offers["rank"].tolist() == [1, 2, 3, 4, 5]
    assert offers["profit"].is_monotonic_decreasing, offers["profit"].tolist()
    assert offers["prob_beats_current"].between(0, 1).all()
    tiers = pd.read_csv(out / "tiers.csv")
    assert len(tiers) == 3 and tiers["price"].is_monotonic_increasing, tiers
    unb = pd.read_csv(out / "unbundling.csv")
    assert unb["offer"].iloc[0] == "bundle (current)", unb
    assert "recommend" not in capsys.readouterr().err
    # the searched offer replaces the product marked own; a wrong product name is a clear error
    assert main([*argv, "--out", str(tmp_path / "r2"), "--product", "NetLite"]) == 1
    err = capsys.readouterr().err
    assert "FibreHome bundle" in err, err


# -- issue 16: the same answers from every door ------------------------------------------------


@pytest.fixture(scope="module")
def fit_inputs(tmp_path_factory):
    """SMALL_STUDY, its design, and 40 simulated respondents' responses.csv and
    respondents.csv (winback's format), as a researcher hands them to `winback fit`."""
    from conjoint import make_design, simulate_choices
    from conjoint.export import write_design_csv
    from surveys import simulate_respondents
    from tests.conftest import make_study
    from winback._io import write_csv

    root = tmp_path_factory.mktemp("fit_inputs")
    (root / "study.toml").write_text(SMALL_STUDY, encoding="utf-8")
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap", versions=4)
    (root / "design").mkdir()
    write_design_csv(design, root / "design" / "design.csv")
    choices = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=40, sd=0.3)
    write_csv(choices, root / "responses.csv")
    write_csv(simulate_respondents(study, 40, random_seed=5), root / "respondents.csv")
    return root


def _fit_defaults() -> dict[str, object]:
    import inspect

    from analysis import fit

    return {
        n: p.default
        for n, p in inspect.signature(fit).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_winback_fit_and_run_default_to_analysis_fit_defaults() -> None:
    """Every option of analysis.fit that the command line has, with the function's default;
    the pipeline functions behind the commands have the same defaults too."""
    import inspect

    from winback.cli import build_parser
    from winback.cli.commands import fit_options
    from winback.pipeline import run_fit
    from winback.waves import run_wave

    defaults = _fit_defaults()
    parser = build_parser()
    for argv in (["fit", "s.toml", "r.csv", "--out", "o"], ["run", "dir", "--wave", "w1"]):
        args = parser.parse_args(argv)
        got = fit_options(args)
        # how the fit shows its progress is not what is fitted: the function is quiet unless
        # asked, the command shows it (a bar on a terminal, log lines otherwise)
        assert got.pop("progress") is True and defaults["progress"] is False
        want = {k: defaults[k] for k in got}
        assert got == want, f"winback {argv[0]}: {got} vs analysis.fit {want}"
        assert args.prior_widen == defaults["prior_widen"], argv[0]
    args = parser.parse_args(["fit", "s.toml", "r.csv", "--out", "o"])
    assert args.prior == defaults["prior"] is None
    # the only options of analysis.fit the commands lack: the data, and an in-memory prior
    # (winback fit --prior FIT_DIR and winback run --prior-from WAVE load one)
    assert set(defaults) - set(fit_options(args)) == {"prior", "prior_widen"}, defaults
    for func in (run_fit, run_wave):
        sig = inspect.signature(func).parameters
        for name in (*fit_options(args), "prior_widen"):
            if name in sig:
                assert sig[name].default == defaults[name], (func.__name__, name)
            else:
                assert func is run_wave and name == "prior_widen", (func.__name__, name)


def test_the_command_line_knows_every_constraint_kind_and_preset() -> None:
    from analysis.model import CONSTRAINT_KINDS, CONSTRAINT_PRESETS
    from winback.cli import parser

    assert parser.CONSTRAINT_KINDS == CONSTRAINT_KINDS
    assert parser.CONSTRAINT_PRESETS == CONSTRAINT_PRESETS


def test_constraint_mistakes_are_named_before_any_work(tmp_path, fit_inputs, capsys, monkeypatch):
    from winback.cli import build_parser

    def expensive(*args, **kwargs):
        raise AssertionError("the fit started before the constraints were checked")

    monkeypatch.setattr("winback.pipeline.fit.fit", expensive)
    study = str(fit_inputs / "study.toml")
    base = ["fit", study, str(fit_inputs / "responses.csv"), "--out", str(tmp_path / "o")]
    args = build_parser().parse_args(
        [*base, "--constrain", "price=negative", "--constrain", "plan[Premium] = positive"]
    )
    assert args.constrain == {"price": "negative", "plan[Premium]": "positive"}
    # the form and the kind: usage errors (status 2), naming the attribute and the kinds
    for bad, said in (
        ("price=neg", "'price': unknown kind 'neg'; valid kinds: negative, positive, increasing"),
        ("price", "expected NAME=KIND (e.g. price=negative, speed=increasing), got 'price'"),
        ("=negative", "expected NAME=KIND"),
    ):
        with pytest.raises(SystemExit) as e:
            main([*base, "--constrain", bad])
        err = capsys.readouterr().err
        assert e.value.code == 2 and said in err, (bad, err)
    with pytest.raises(SystemExit) as e:
        main([*base, "--constrain", "price=negative", "--constrain", "price=positive"])
    assert e.value.code == 2 and "'price' is constrained twice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main([*base, "--constraints", "price", "--constrain", "speed=increasing"])
    assert e.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    # a name the study lacks: bad input (status 1), found before the responses are read
    missing = ["fit", study, str(tmp_path / "absent.csv"), "--out", str(tmp_path / "o")]
    code = main([*missing, "--constrain", "prise=negative", "--constrain", "plan=positive"])
    err = capsys.readouterr().err
    assert code == 1, err
    for part in (
        "'prise': no such attribute or parameter (did you mean 'price'?)",
        "'plan': a sign constrains one parameter and 'plan' has 2",
        "Valid kinds: negative, positive, increasing, decreasing",
    ):
        assert part in err, (part, err)
    assert "absent.csv" not in err, err


@pytest.mark.integration
def test_winback_fit_and_analysis_fit_fit_the_same_model(tmp_path, fit_inputs, capsys):
    """Covariates, every kind of constraint, the covariance, the sampler settings and a prior,
    from the command line and from Python: the same settings, the same run.json, the same
    posterior."""
    from analysis import fit, load_model
    from surveys import read_responses
    from winback.pipeline.fit import _fit_settings
    from winback.study import load_study

    study_path = fit_inputs / "study.toml"
    responses = fit_inputs / "responses.csv"
    hb = ["--draws", "60", "--tune", "60", "--chains", "2", "--seed", "4"]
    constrain = ["--constrain", "price=negative", "--constrain", "speed=increasing"]
    constrain += ["--constrain", "support=positive"]
    first = tmp_path / "first"
    argv = ["-q", "fit", str(study_path), str(responses), "--out", str(first), *hb, *constrain]
    assert main(argv) in (0, 4)
    argv = [
        "fit",
        str(study_path),
        str(responses),
        "--out",
        str(tmp_path / "cli"),
        *hb,
        "--covariance",
        "diagonal",
        "--covariates",
        "tenure_months,segment",
        *constrain,
        "--prior",
        str(first),
        "--prior-widen",
        "3",
        "--no-progress",
    ]
    assert main(argv) in (0, 4)
    out = capsys.readouterr().out
    assert "constraints: price negative, speed increasing, support[Priority] positive" in out
    cli = load_model(tmp_path / "cli" / "fit.nc")

    study = load_study(study_path)
    data = read_responses(responses, study)
    py = fit(
        data,
        draws=60,
        tune=60,
        chains=2,
        random_seed=4,
        covariance="diagonal",
        covariates=["tenure_months", "segment"],
        constraints={"price": "negative", "speed": "increasing", "support": "positive"},
        prior=load_model(first / "fit.nc"),
        prior_widen=3.0,
    )
    a, b = cli.settings, py.settings
    assert b.covariates[0] == "tenure_months" and b.covariates[1].startswith("segment["), b
    assert dict(b.constraints) == {
        "price": "negative",
        "speed": "increasing",
        "support[Priority]": "positive",
    }, b.constraints
    for name in ("prior_mean", "prior_cov"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    plain = {"progress": False, "prior_mean": None, "prior_cov": None}
    assert replace(a, **plain) == replace(b, **plain), (a, b)
    record = json.loads((tmp_path / "cli" / "run.json").read_text())["settings"]
    want = _fit_settings(py)
    assert {k: record[k] for k in want} == json.loads(json.dumps(want)), (record, want)
    assert (
        record["prior"] == os.path.relpath(first, tmp_path / "cli") and record["prior_widen"] == 3.0
    ), record
    diff = np.abs(cli.beta_draws() - py.beta_draws()).max()
    assert diff < 1e-9, f"the same seed, data and settings gave draws {diff:.2e} apart"


def test_winback_run_passes_the_fit_options_through(tmp_path, fit_inputs, monkeypatch):
    """winback run hands analysis.fit what winback fit does (the fit itself is stopped)."""
    import winback.waves.run as wave_run

    sd = tmp_path / "study_dir"
    (sd / "waves" / "w1").mkdir(parents=True)
    shutil.copy(fit_inputs / "study.toml", sd / "study.toml")
    for name in ("responses.csv", "respondents.csv"):
        shutil.copy(fit_inputs / name, sd / "waves" / "w1" / name)
    seen: dict[str, object] = {}

    class Stop(Exception):
        pass

    def fake_fit(data, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(wave_run, "fit", fake_fit)
    options = [
        "--draws", "70", "--tune", "80", "--chains", "3", "--seed", "9",
        "--covariance", "diagonal", "--covariates", "tenure_months",
        "--constraints", "preferences", "--sampler", "pymc", "--no-progress",
    ]  # fmt: skip
    with pytest.raises(Stop):
        main(["run", str(sd), "--wave", "w1", *options])
    assert seen == {
        "draws": 70,
        "tune": 80,
        "chains": 3,
        "random_seed": 9,
        "covariance": "diagonal",
        "covariates": ["tenure_months"],
        "constraints": "preferences",
        "sampler": "pymc",
        "backend": "numba",
        "prior": None,
        "prior_widen": 2.0,
        "progress": False,
    }, seen
    # a misspelt constraint stops the run before the import
    code = main(["-q", "run", str(sd), "--wave", "w1", "--constrain", "sped=increasing"])
    assert code == 1 and not (sd / "waves" / "w1" / "results").exists()


def _documented_exit_codes() -> dict[int, str]:
    """{code: the row's text} of the exit-status table of docs/cli.md."""
    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\d+)` \| (.+) \|$", section, flags=re.M)
    return {int(code): rest for code, rest in rows}


@pytest.mark.integration
def test_the_documented_exit_codes_are_the_ones_returned(tmp_path, fit_inputs, capsys, monkeypatch):
    from winback import cli

    documented = _documented_exit_codes()
    assert set(documented) == {0, 1, 2, 3, 4, 130}, documented
    for code in documented:
        assert f"{code} " in cli.__doc__, f"winback.cli's docstring lacks exit code {code}"
    study = str(fit_inputs / "study.toml")
    design = str(fit_inputs / "design")
    # 0: a success
    assert main(["-q", "inspect", study, design]) == 0
    assert "every command" in documented[0]
    # 1: bad input (a response file that is not there), nothing written
    code = main(["fit", study, str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o1")])
    assert code == 1 and "every command" in documented[1], capsys.readouterr().err
    assert not (tmp_path / "o1").exists()
    # 2: a usage error
    with pytest.raises(SystemExit) as e:
        main(["fit", study, "r.csv", "--out", "o", "--draws", "0"])
    assert e.value.code == 2 and "every command" in documented[2]
    # 3: inspect --strict on a design whose verdict is not OK
    main(["-q", "design", study, "--out", str(tmp_path / "d"), "--method", "random",
          "--versions", "1"])  # fmt: skip
    code = main(["inspect", study, str(tmp_path / "d"), "--respondents", "20", "--strict"])
    assert code == 3 and "`inspect --strict`" in documented[3]
    # 4: a fit whose convergence verdict is fail (20 draws), its files written; the progress
    # as plain log lines, stderr being no terminal here
    capsys.readouterr()
    argv = ["fit", study, str(fit_inputs / "responses.csv"), "--out", str(tmp_path / "f")]
    code = main([*argv, "--draws", "20", "--tune", "20", "--chains", "2"])
    captured = capsys.readouterr()
    diag = json.loads((tmp_path / "f" / "diagnostics.json").read_text())
    assert code == 4 and diag["verdict"] == "fail", (code, diag["verdict"])
    assert "`fit`" in documented[4] and "`run`" in documented[4], documented[4]
    assert "Convergence: FAIL" in captured.out
    steps = [ln for ln in captured.err.splitlines() if ln.startswith("winback: fit: ")]
    assert steps and steps[-1].startswith(
        "winback: fit: sampling done: 2 chains x 40 (20 warm-up + 20 draws)"
    ), captured.err
    # 130: interrupted
    import winback.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(winback.pipeline, "run_design", interrupted)
    assert main(["design", study, "--out", str(tmp_path / "d2")]) == 130
    assert "interrupted" in documented[130]


def test_recommend_ends_with_one_decision_stated_or_calibrated(tmp_path, fit_folder, capsys):
    """Issue 16 items 3, 4, 7: one recommendation on expected profit per year; --no-calibration
    gives stated preference shares; a market file's [calibration] takes precedence over the
    study file's; --order reaches the tier search; a calibration under rfc is refused first."""
    import json

    import pandas as pd

    import winback
    from winback.cli import main
    from winback.study import parse_study

    study_file = fit_folder / "study.toml"
    study = parse_study(study_file.read_text())
    market = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    base = ["recommend", str(study_file), str(fit_folder), "--tier-features", "speed,mobile"]
    base += ["--components", "tv", "--top", "3"]
    out = tmp_path / "stated"
    order = "mobile=No mobile,SIM 20 GB,SIM Unlimited"
    argv = [*base, "--market", str(market), "--out", str(out), "--no-calibration"]
    assert main([*argv, "--order", order]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("RECOMMENDATION: "), printed[:200]
    assert "stated preference share" in printed, printed[:600]
    assert "bands; calibrated to" not in printed, printed[:600]
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["basis"] == "stated" and "calibration" not in settings, settings
    assert settings["order"] == {"mobile": ["No mobile", "SIM 20 GB", "SIM Unlimited"]}
    dec = pd.read_csv(out / "decision.csv")
    assert dec["recommended"].sum() == 1 and bool(dec["recommended"].iloc[0]), dec
    assert (dec["basis"] == "stated").all()
    assert {"Today's offer", "No campaign", "Good / better / best"} <= set(dec["action"])
    assert dec["profit_year"].is_monotonic_decreasing, dec["profit_year"].tolist()
    today = dec.set_index("action").loc["Today's offer"]
    assert today["own_before"] == today["own_after"] == "FibreHome bundle", today
    src = pd.read_csv(out / "decision_sources.csv")
    for action, rows in src.groupby("action"):
        v = rows.set_index("kind")["value"]
        assert v["gross"] == pytest.approx(v["none"] + v["competitor"] + v["own"], rel=1e-9), (
            action,
            v.to_dict(),
        )
    assert not (out / "calibration.csv").exists()

    # a market file with its own [calibration]: the take-up of today's bundle and of none
    # (two numbers, two adjustments: reproduced exactly on every draw), 100% reach
    observed = {"FibreHome bundle": 0.03, "none": 0.80}
    cal_market = tmp_path / "market_cal.toml"
    cal_market.write_text(
        market.read_text(encoding="utf-8")
        + '\n[calibration]\nkind = "take_up"\nn = 4000\nobserved = { '
        + ", ".join(f'"{k}" = {v}' for k, v in observed.items())
        + " }\n",
        encoding="utf-8",
    )
    out2 = tmp_path / "calibrated"
    assert main([*base, "--market", str(cal_market), "--out", str(out2), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "calibrated to the observed take-up FibreHome bundle 3.0%" in printed, printed[:800]
    settings = json.loads((out2 / "run.json").read_text())["settings"]
    assert settings["basis"] == "calibrated" and settings["calibration"]["kind"] == "take_up"
    dec2 = pd.read_csv(out2 / "decision.csv").set_index("action")
    n_lost = study.business.lost_customers
    keep = dec2.loc["Today's offer", "customers"]
    assert keep == pytest.approx(n_lost * 0.03, rel=0.02), (
        f"today's offer wins back {keep:.0f} customers, observed 3% of {n_lost:,}"
    )
    assert (pd.read_csv(out2 / "calibration.csv")["measure"] == "observed none").any()

    # [business] edited after the fit: the study file given counts, not the fit's copy
    edited = tmp_path / "study_edited.toml"
    edited.write_text(
        study_file.read_text(encoding="utf-8").replace(
            f"lost_customers = {n_lost}", "lost_customers = 12000"
        ),
        encoding="utf-8",
    )
    assert "lost_customers = 12000" in edited.read_text(encoding="utf-8")
    sim = ["simulate", str(edited), str(fit_folder), "--market", str(market)]
    assert main([*sim, "--out", str(tmp_path / "sim"), "--no-calibration"]) == 0
    capsys.readouterr()
    money = pd.read_csv(tmp_path / "sim" / "money.csv").set_index("product")
    shares = pd.read_csv(tmp_path / "sim" / "shares.csv").set_index("product")
    want = 12000 * shares.loc["FibreHome bundle", "share"]
    assert money.loc["total", "customers"] == pytest.approx(want, rel=1e-9), (
        f"{money.loc['total', 'customers']:.1f} customers, want 12,000 x share = {want:.1f}"
    )

    # a calibration with the rfc rule is refused before any search, naming both ways out
    rfc = tmp_path / "market_rfc.toml"
    rfc.write_text(
        cal_market.read_text(encoding="utf-8").replace('rule = "logit"', 'rule = "rfc"'),
        encoding="utf-8",
    )
    argv = [*base, "--market", str(rfc), "--out", str(tmp_path / "r3")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "logit" in err and "--no-calibration" in err, err
    assert not (tmp_path / "r3").exists()
