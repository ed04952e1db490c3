"""The small run folder the workbook tests share (one per session, from the shared example fit
of tests/conftest.py): design diagnostics, import with quality flags, fit files, simulate and
recommend as `winback demo` writes them, calibrated and with [business] (the example study has
both), and its workbook."""

from __future__ import annotations

from pathlib import Path

import pytest

VERBATIM = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory, example_fit) -> Path:
    """A run folder as `winback demo` writes it, from the shared example fit (120 respondents)."""
    from importlib.resources import files

    from conjoint.diagnostics import inspect_design
    from winback._io import atomic_write_text, write_csv, write_json
    from winback.example import example_study_text
    from winback.pipeline import run_import, run_recommend, run_simulate, write_fit

    model, _, design = example_fit
    run = tmp_path_factory.mktemp("run")
    (run / "study.toml").write_text(example_study_text(), encoding="utf-8")
    market = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    (run / "market.toml").write_text(market, encoding="utf-8")
    diag = inspect_design(design, n_respondents=120)
    (run / "design").mkdir()
    write_json(diag.to_dict(), run / "design" / "diagnostics.json")
    atomic_write_text(run / "design" / "diagnostics.txt", diag.report() + "\n")
    write_csv(diag.level_balance, run / "design" / "level_balance.csv")
    # fieldwork as respondents typed it: one verbatim that a spreadsheet would run as a formula
    people = model.dataset_.respondents.copy()
    people["what_happened"] = people["what_happened"].astype(object)
    people.loc[people.index[0], "what_happened"] = VERBATIM
    (run / "fieldwork").mkdir()
    write_csv(model.dataset_.choices, run / "fieldwork" / "responses.csv")
    write_csv(people, run / "fieldwork" / "respondents.csv")
    run_import(model.study, run / "fieldwork" / "responses.csv", run / "import", design=design)
    write_fit(model, run / "fit")
    args = (run / "study.toml", run / "fit", run / "market.toml")
    run_simulate(*args, run / "simulate", segment="main_reason")
    run_recommend(*args, run / "recommend", segment="main_reason")
    return run


@pytest.fixture(scope="session")
def report(run_folder) -> Path:
    from winback.pipeline import run_report

    run = run_report(run_folder)
    assert run.workbook == run_folder / "report" / "winback_report.xlsx"
    return run.workbook


@pytest.fixture(scope="session")
def stated_run(tmp_path_factory, run_folder) -> Path:
    """The same run simulated and searched without calibration (`--no-calibration`): stated
    preference shares, [business] kept."""
    import shutil

    from winback.pipeline import run_recommend, run_simulate

    run = tmp_path_factory.mktemp("stated") / "run"
    skip = shutil.ignore_patterns("simulate", "recommend", "report")
    shutil.copytree(run_folder, run, ignore=skip)
    args = (run / "study.toml", run / "fit", run / "market.toml")
    run_simulate(*args, run / "simulate", calibration=False)
    run_recommend(*args, run / "recommend", calibration=False)
    return run
