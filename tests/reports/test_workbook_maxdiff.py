"""The MaxDiff of reasons on the Reasons page and page one (issue 20 item 4): the numbers are
those of maxdiff/population.csv, the page keeps the print rules of the leadership pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.reports.test_rendering import JARGON, MAX_PAGES, MIN_POINTS, needs_soffice

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def maxdiff_report(run_folder, maxdiff_run, tmp_path_factory) -> Path:
    """The shared run with the shared MaxDiff fit written into maxdiff/, and its workbook."""
    from winback.example import make_example_study
    from winback.pipeline import run_report
    from winback.pipeline.maxdiff import write_maxdiff

    run = tmp_path_factory.mktemp("maxdiff_report") / "run"
    shutil.copytree(run_folder, run, ignore=shutil.ignore_patterns("report"))
    md = maxdiff_run[1].maxdiff
    write_maxdiff(md.model, run / "maxdiff", study=make_example_study().study)
    run_report(run)
    return run


def _rows(ws) -> list[list[object]]:
    return [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]


def _text(ws) -> str:
    return " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)


def _labels(run: Path) -> dict[str, str]:
    """The labels the page gives the items: the import's reason labels (the shares above the
    block), else population.csv's (the questionnaire's)."""
    pop = pd.read_csv(run / "maxdiff" / "population.csv")
    reasons = pd.read_csv(run / "import" / "reasons.csv")
    known = dict(zip(reasons["reason"], reasons["label"], strict=True))
    return {i: known.get(i, x) for i, x in zip(pop["item"], pop["label"], strict=True)}


def test_the_reasons_page_shows_the_scores_of_population_csv(maxdiff_report) -> None:
    pop = pd.read_csv(maxdiff_report / "maxdiff" / "population.csv").sort_values("rank")
    labels = _labels(maxdiff_report)
    assert labels["outages"] == "Outages or poor quality", labels  # as in the shares above
    assert labels["slow_speed"] == "Slow speed", labels  # not a ticked reason: its own label
    ws = load_workbook(maxdiff_report / "report" / "winback_report.xlsx")["Reasons"]
    rows = _rows(ws)
    head = next(
        i
        for i, r in enumerate(rows)
        if r and r[:2] == ["reason for leaving", "average score (of 100)"]
    )
    body = rows[head + 1 : head + 1 + len(pop)]
    for r, (_, p) in zip(body, pop.iterrows(), strict=True):
        assert r[0] == labels[p["item"]], (r, labels[p["item"]])
        got = np.array(r[1:5], dtype=float)
        want = p[["score", "score_lower", "score_upper", "first_share"]].to_numpy(dtype=float)
        assert np.allclose(got, want, atol=1e-12), f"{p['label']}: workbook {got}, csv {want}"
        assert p["score_lower"] <= p["score"] <= p["score_upper"], p.to_dict()
    scores = [float(r[1]) for r in body]
    assert sum(scores) == pytest.approx(100.0), f"scores sum to {sum(scores)}"
    assert scores == sorted(scores, reverse=True), scores
    assert 0.0 <= sum(float(r[4]) for r in body) <= 1.0 + 1e-9
    # the reading with this run's numbers: top over bottom
    ratio = scores[0] / scores[-1]
    text = _text(ws)
    assert f"weighed about {ratio:.1f} times as much as" in text, text[-1500:]
    assert "a score of 20 weighed twice as much as a score of 10" in text
    assert "From 100 respondents' choices." in text, text[-800:]
    verdict = pd.read_json(maxdiff_report / "maxdiff" / "convergence.json", typ="series")["verdict"]
    words = {"pass": "The estimate is stable", "warn": "some checks of the sampling gave warnings",
             "fail": "NOT reliable yet"}  # fmt: skip
    assert words[verdict] in text, (verdict, text[-800:])
    assert "90% band" in text, "the band is labelled with the run's probability"


def test_the_block_has_its_bar_chart_and_the_page_its_print_area(maxdiff_report) -> None:
    wb = load_workbook(maxdiff_report / "report" / "winback_report.xlsx")
    ws = wb["Reasons"]
    titles = []
    for chart in ws._charts:
        rich = chart.title.tx.rich
        titles.append("".join(r.t for p in rich.p for r in (p.r or [])))
    assert "Which reasons weighed most (average score of 100)" in titles, titles
    assert len(ws._charts) == 2, titles
    assert ws.print_area and ws.page_setup.fitToWidth == 1, ws.print_area
    # the block sits in the printed part, above the main reason and the quotes
    last = int(re.findall(r"\d+", ws.print_area.split("!")[-1])[-1])
    row = next(c.row for r in ws.iter_rows() for c in r if c.value == "average score (of 100)")
    assert row < last, f"the MaxDiff table (row {row}) is outside the print area (to row {last})"


def test_page_one_names_the_reason_that_weighed_most(maxdiff_report) -> None:
    pop = pd.read_csv(maxdiff_report / "maxdiff" / "population.csv").sort_values("rank")
    top = pop.iloc[0]
    ws = load_workbook(maxdiff_report / "report" / "winback_report.xlsx")["Summary"]
    text = _text(ws)
    label = _labels(maxdiff_report)[top["item"]]
    want = (
        f"Ranked against each other, {label[:1].lower() + label[1:]} weighed most (score "
        f"{top['score']:.0f} of 100; first for {top['first_share']:.0%} of customers)"
    )
    assert want in text, text[:1500]


def test_a_run_without_maxdiff_has_no_block(report) -> None:
    wb = load_workbook(report)
    assert "weighed most" not in _text(wb["Reasons"]) and "weighed most" not in _text(wb["Summary"])


@needs_soffice
def test_the_pages_still_print_within_the_rules(maxdiff_report, tmp_path) -> None:
    pdfplumber = pytest.importorskip("pdfplumber")
    from winback.pipeline.report import render_pdf

    pdf = render_pdf(maxdiff_report / "report" / "winback_report.xlsx", tmp_path / "board.pdf")
    pages = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            text = page.extract_text() or ""
            footer = re.findall(r"^(.+), page \d+ of \d+", text, flags=re.MULTILINE)
            sizes = [float(c["size"]) for c in page.chars if c["text"].strip()]
            pages.append((footer[-1].strip() if footer else "?", text, sizes))
    sheets = [p[0] for p in pages]
    assert len(pages) <= MAX_PAGES, f"{len(pages)} pages printed (at most {MAX_PAGES}): {sheets}"
    assert sheets.count("Summary") == 1, f"page one runs over: {sheets}"
    assert min(pages[0][2]) >= 9.5, f"page one's smallest text {min(pages[0][2])} pt"
    reasons = [p for p in pages if p[0] == "Reasons"]
    # the shares, the MaxDiff block on a page of its own, the main reason and the quotes
    assert len(reasons) == 3, f"the Reasons page prints on {len(reasons)} pages, not 3"
    block = [p[1] for p in reasons if "Which reasons weighed most" in p[1]]
    assert len(block) == 1 and "From 100 respondents" in block[0], "the block is cut: " + str(block)
    small = min(min(p[2]) for p in reasons)
    assert small >= MIN_POINTS, f"Reasons prints at {small:.2f} pt (at least {MIN_POINTS})"
    flat = " ".join(" ".join(p[1].split()) for p in reasons)
    assert "weighed most" in flat, flat[:800]
    hits = sorted({m.group(0) for m in JARGON.finditer(flat)})
    assert not hits, f"the Reasons page shows jargon or codes {hits}: {flat[:800]}"
