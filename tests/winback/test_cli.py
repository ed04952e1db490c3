"""The ``winback`` command as a user runs it: design, inspect, demo, errors, no overwrites."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

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
            "--draws",
            "100",
            "--tune",
            "100",
            "--chains",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
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
    # issue 6: the demo ends with the leadership workbook and its plots
    from openpyxl import load_workbook

    report = demo / "report" / "winback_report.xlsx"
    assert report.exists() and (demo / "report" / "importances.png").exists()
    assert load_workbook(report).sheetnames[0] == "Summary"
    r2 = subprocess.run(
        [*_winback_exe(), "demo", "--out", str(demo)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
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
        "reasons.csv",
        "reasons.txt",
        "import.json",
        "run.json",
    }
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
    """`winback fit` and `winback demo` default to the same sampler settings as analysis.fit."""
    from analysis import HBSettings
    from winback.cli import build_parser

    parser = build_parser()
    hb = HBSettings()
    for argv in (["fit", "s.toml", "r.csv", "--out", "o"], ["demo"]):
        args = parser.parse_args(argv)
        got = (args.draws, args.tune, args.chains)
        assert got == (hb.draws, hb.tune, hb.chains), f"{argv[0]}: {got} vs HBSettings"


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
