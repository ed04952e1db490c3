"""The leadership workbook from a run folder: sheets, native charts, text safety, missing parts,
no overwrite, and `winback report` (the live simulator: test_live_sheet.py).

One small run folder is built per session from the shared example fit (conftest.example_fit):
design diagnostics, import with quality flags, fit files, simulate and recommend.
"""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.workbook import LIVE_SHEETS, SHEETS, read_run_folder, sheet_order, write_workbook
from tests.reports.conftest import VERBATIM
from winback.errors import WinbackError


def _cells(ws):
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None:
                yield c


def test_every_sheet_is_there_in_order_with_native_charts(report) -> None:
    wb = load_workbook(report)
    assert wb.sheetnames == sheet_order(live=True)
    assert set(wb.sheetnames) == {*SHEETS, *LIVE_SHEETS}
    charts = {name: {type(ch).__name__ for ch in wb[name]._charts} for name in wb.sheetnames}
    assert "BarChart" in charts["Reasons"], charts
    assert "BarChart" in charts["Tiers"], charts
    assert "BarChart" in charts["Decision"], charts
    assert "BarChart" in charts["Source of volume"], charts
    assert {"ScatterChart", "LineChart"} <= charts["Price curves"], charts
    # the plots with bands where a native chart cannot draw them
    for name in ("Importances", "Tiers", "Price curves"):
        assert len(wb[name]._images) == 1, f"{name}: {len(wb[name]._images)} images"
    for name in ("Decision", "Importances", "Offers", "Tiers"):
        assert wb[name].freeze_panes is not None, f"{name}: header row not frozen"
    # the summary answers the leader's questions on page 1
    text = " ".join(str(c.value) for c in _cells(wb["Summary"]))
    for phrase in (
        "The recommendation",
        "Recommendation:",
        "The runners-up, on the same scale",
        "Why they left",
        "left out of the analysis",
        "Convergence of the estimation",
        "Key numbers",
        # the live simulator is there (fit.nc and market.toml): the summary points to it
        "price, and a simulator to try other offers.",
        "the live Simulator shows calibrated shares, as the decision.",
        "try your own offers: pick levels, the shares recalculate",
    ):
        assert phrase in text, f"Summary lacks {phrase!r}"
    methods = " ".join(str(c.value) for c in _cells(wb["Methods"]))
    assert "The live Simulator sheet uses the logit rule" in methods, methods
    curves = " ".join(str(c.value) for c in _cells(wb["Price curves"]))
    assert "stored draws of the Simulator sheet. Red line" in curves, curves[:600]
    for name in ("Train", "Sawtooth", "Allenby", "Orme", "LKJ"):
        assert name in " ".join(str(c.value) for c in _cells(wb["Methods"])), name


def test_respondent_text_stays_text_and_numbers_stay_numbers(report, run_folder) -> None:
    wb = load_workbook(report)
    hits = [c for ws in wb for c in _cells(ws) if c.value == VERBATIM]
    assert hits, "the verbatim is missing from the workbook"
    for c in hits:
        assert c.data_type == "s", f"{c.parent.title}!{c.coordinate} is {c.data_type}"
    assert {c.parent.title for c in hits} >= {"Reasons"}
    formulas = [
        c for ws in wb if ws.title not in LIVE_SHEETS for c in _cells(ws) if c.data_type == "f"
    ]
    assert not formulas, [f"{c.parent.title}!{c.coordinate}" for c in formulas[:5]]
    # numbers: the offers' shares are numeric cells formatted as percent, prices as money
    ws = wb["Offers"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "rank")
    cols = {ws.cell(header, j).value: j for j in range(1, ws.max_column + 1)}
    share = ws.cell(header + 1, cols["calibrated share"])  # the run is calibrated
    price = ws.cell(header + 1, cols["Monthly price"])  # headers carry the study's labels
    assert share.data_type == "n" and isinstance(share.value, float)
    assert share.number_format == "0.0%"
    assert price.data_type == "n" and "EUR" in price.number_format
    offers = pd.read_csv(run_folder / "recommend" / "offers.csv")
    assert share.value == pytest.approx(offers["share"].iloc[0], rel=1e-12)
    imp = wb["Importances"]
    values = [c.value for c in _cells(imp) if c.data_type == "n"]
    assert len(values) >= 3 * 7  # mean, lower, upper of 7 attributes


def test_missing_folders_give_a_workbook_with_notes(run_folder, tmp_path) -> None:
    part = tmp_path / "run"
    shutil.copytree(
        run_folder, part, ignore=shutil.ignore_patterns("simulate", "recommend", "report")
    )
    (part / "market.toml").unlink()
    data = read_run_folder(part)
    assert data.offers is None and data.market is None and data.price_curves is None
    path = write_workbook(tmp_path / "partial.xlsx", data)
    wb = load_workbook(path)
    assert wb.sheetnames == sheet_order(live=False)  # no live simulator without a market
    summary = " ".join(str(c.value) for c in _cells(wb["Summary"]))
    assert "No simulate/ folder" in summary and "No recommend/ folder" in summary, summary
    assert "no offer search in this run" in summary
    offers = " ".join(str(c.value) for c in _cells(wb["Offers"]))
    assert "Not available" in offers
    assert not wb["Price curves"]._charts
    # only the fit is needed; without it, a clear error
    with pytest.raises(WinbackError, match=r"no fit/partworths\.csv"):
        read_run_folder(tmp_path)


def test_refuses_to_overwrite_without_force(run_folder, tmp_path) -> None:
    data = read_run_folder(run_folder, live=False)
    path = tmp_path / "r.xlsx"
    write_workbook(path, data)
    before = path.read_bytes()
    with pytest.raises(WinbackError, match="refusing to overwrite"):
        write_workbook(path, data)
    assert path.read_bytes() == before
    write_workbook(path, data, force=True)
    with pytest.raises(WinbackError, match=r"\.xlsx"):
        write_workbook(tmp_path / "r.csv", data)


def test_report_command(run_folder, tmp_path, capsys) -> None:
    from winback.cli import main

    out = tmp_path / "leaders.xlsx"
    assert main(["report", str(run_folder), "--out", str(out)]) == 0
    assert out.exists()
    for name in ("importances.png", "price_curves.png", "tier_shares.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
    assert "leaders.xlsx" in capsys.readouterr().out
    assert main(["report", str(run_folder), "--out", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["-q", "report", str(run_folder), "--out", str(out), "--force"]) == 0
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert "no run folder" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is not installed (optional check)"
)
def test_libreoffice_renders_the_workbook_one_page_wide(report, tmp_path) -> None:
    """Where LibreOffice is installed: headless conversion to PDF works and each report sheet
    prints one page wide (the print setup), with the summary's title on page 1."""
    import subprocess

    out = tmp_path / "pdf"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out), str(report)],
        check=True,
        capture_output=True,
        timeout=600,
        env={**os.environ, "HOME": str(tmp_path)},  # a private LibreOffice profile
    )
    pdf = out / (report.stem + ".pdf")
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), f"no PDF in {out}"
    wb = load_workbook(report)
    for name in SHEETS:
        ps = wb[name].page_setup
        assert ps.fitToWidth == 1 and ps.orientation == "landscape", name
        assert wb[name].sheet_properties.pageSetUpPr.fitToPage, name


def test_bands_are_labelled_with_the_probability_the_run_used(run_folder, tmp_path) -> None:
    """Band labels come from each stage's run.json: a run simulated and searched with band 0.8
    says "80% band" on every sheet that labels bands and never "90%"; a folder written before
    run records is labelled with the default of its time."""
    from winback.pipeline import run_recommend, run_simulate
    from winback.settings import BAND

    run = tmp_path / "run"
    shutil.copytree(run_folder, run, ignore=shutil.ignore_patterns("simulate", "report"))
    args = (run / "study.toml", run / "fit", run / "market.toml")
    run_simulate(*args, run / "simulate", segment="main_reason", band=0.8)
    record = json.loads((run / "simulate" / "run.json").read_text())
    assert record["settings"]["band"] == 0.8 and record["command"] == "simulate", record

    def text(wb, name: str) -> str:
        return " ".join(str(c.value) for c in _cells(wb[name]) if c.data_type == "s")

    # the searches from before run records (and before the one recommendation and the menus'
    # summaries of today's own products, so today's share is the market simulation's): the
    # default of the time, named beside the 80%
    (run / "recommend" / "run.json").unlink()
    for name in ("decision", "decision_sources", "tiers_summary", "unbundling_summary"):
        (run / "recommend" / f"{name}.csv").unlink()
    data = read_run_folder(run, live=False)
    assert (data.simulate_band, data.recommend_band) == (0.8, BAND)
    wb = load_workbook(write_workbook(tmp_path / "mixed.xlsx", data))
    assert "90% for the offers found, 80% for today's offer" in text(wb, "Summary")
    assert "80% bands" in text(wb, "Price curves") and "90% band" in text(wb, "Offers")

    run_recommend(*args, run / "recommend", band=0.8, force=True)
    data = read_run_folder(run, live=False)
    assert (data.simulate_band, data.recommend_band) == (0.8, 0.8)
    wb = load_workbook(write_workbook(tmp_path / "band.xlsx", data))
    for name in ("Summary", "Offers", "Tiers", "Price curves", "Methods"):
        assert "80% band" in text(wb, name), name
    for name in ("Summary", "Offers", "Tiers", "Price curves", "Methods"):
        assert "90%" not in text(wb, name), name
    # the fit and the import record their own bands (the default 90% since run records)
    assert "90% interval" in text(wb, "Importances") and "90% interval" in text(wb, "Reasons")
    for stage in ("fit", "import"):
        (run / stage / "run.json").unlink()
    data = read_run_folder(run, live=False)
    assert (data.fit_band, data.reasons_band) == (0.94, 0.95), "the defaults before run records"

    rec = json.loads((run / "recommend" / "run.json").read_text())
    rec["settings"]["band"] = 90
    (run / "recommend" / "run.json").write_text(json.dumps(rec), encoding="utf-8")
    with pytest.raises(WinbackError, match=r"run\.json: band must be"):
        read_run_folder(run, live=False)


def test_the_validation_is_in_the_fit_folder_and_read_in_words(run_folder, report, tmp_path):
    """The example fit has one holdout task: fit/validation.csv, diagnostics.json, run.json and
    convergence.txt hold it, the Diagnostics sheet reads it in plain words, and the Methods
    sheet says what was held out; a fit written before validation says so."""
    from analysis.results import validation_words
    from analysis.results.out_of_sample import COLUMNS

    fit = run_folder / "fit"
    table = pd.read_csv(fit / "validation.csv", dtype={"task": str})
    assert list(table.columns) == list(COLUMNS), list(table.columns)
    assert table["task"].tolist() == ["all", "13"] and set(table["method"]) == {"holdouts"}
    record = json.loads((fit / "run.json").read_text())["settings"]
    assert record["validation"] == "auto" and record["held_out"]["method"] == "holdouts"
    assert "bundle_vs_entry" in record["held_out"]["description"], record["held_out"]
    diag = json.loads((fit / "diagnostics.json").read_text())["validation"]
    assert diag["hit_rate"] == pytest.approx(table["hit_rate"].iloc[0], abs=1e-6), diag
    words = validation_words(table, record["held_out"]["description"])
    assert words[0].startswith("The model picks the chosen option in "), words
    convergence = (fit / "convergence.txt").read_text()
    assert "Predictive validation: holdout tasks" in convergence and words[0] in convergence

    wb = load_workbook(report)
    diagnostics = [str(c.value) for c in _cells(wb["Diagnostics"])]
    assert words[0] in diagnostics and words[1] in diagnostics, diagnostics[:40]
    hit = [c for c in _cells(wb["Diagnostics"]) if c.value == table["hit_rate"].iloc[0]]
    assert hit and hit[0].number_format == "0.0%", "the hit rate is a percent cell"
    # one holdout task: its own row (named), not the same figures twice
    assert "13 (bundle_vs_entry)" in diagnostics and "all held-out tasks" not in diagnostics
    methods = " ".join(str(c.value) for c in _cells(wb["Methods"]))
    assert "Naive benchmarks" in methods and "This fit held out the study's holdout task" in methods

    old = tmp_path / "run"
    shutil.copytree(run_folder, old, ignore=shutil.ignore_patterns("report", "validation.csv"))
    rec = json.loads((old / "fit" / "run.json").read_text())
    del rec["settings"]["held_out"]
    (old / "fit" / "run.json").write_text(json.dumps(rec), encoding="utf-8")
    data = read_run_folder(old, live=False)
    assert data.validation is None and data.validation_record is None
    wb = load_workbook(write_workbook(tmp_path / "old.xlsx", data))
    text = " ".join(str(c.value) for c in _cells(wb["Diagnostics"]))
    assert "Not available: this run has no predictive validation (fit/validation.csv)" in text
    assert "written before validation was recorded" in " ".join(
        str(c.value) for c in _cells(wb["Methods"])
    )
