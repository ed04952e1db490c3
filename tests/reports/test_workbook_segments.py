"""The Segments page: latent classes of the run folder's latent_class/ as segments leadership
can name (issue 20 item 1), with their sizes and bands as class_sizes.csv has them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.workbook import sheet_order
from reports.workbook.spec import audience
from tests.reports.test_rendering import JARGON, MIN_POINTS, needs_soffice


@pytest.fixture(scope="module")
def segments_run(run_folder, example_fit, tmp_path_factory) -> Path:
    """The shared run with a latent class fit of 2 to 3 classes (BIC chooses), the class sizes
    on the reason for leaving, and its workbook."""
    from winback.pipeline import fit_latent_classes, run_report
    from winback.run_folder import LATENT_CLASS, RunFolder

    model, _, _ = example_fit
    run = tmp_path_factory.mktemp("segments") / "run"
    shutil.copytree(run_folder, run, ignore=shutil.ignore_patterns("report"))
    fit_latent_classes(model.dataset_, RunFolder(run).folder(LATENT_CLASS), classes=(2, 3),
                       covariates=["reason_price_rise"], starts=4, random_seed=3)  # fmt: skip
    run_report(run)
    return run


def _rows(ws) -> list[list[object]]:
    return [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]


def test_the_segments_page_follows_importances_and_prints(segments_run) -> None:
    wb = load_workbook(segments_run / "report" / "winback_report.xlsx")
    assert wb.sheetnames == sheet_order(live=True, segments=True), wb.sheetnames
    assert wb.sheetnames.index("Segments") == wb.sheetnames.index("Importances") + 1
    assert audience("Segments") == "leadership" and wb["Segments"].sheet_state == "visible"
    assert wb["Segments"].print_area, "the Segments page has no print area"
    assert "Segments" not in sheet_order(live=True), "a run without latent_class/ has no page"


def test_sizes_and_bands_are_those_of_class_sizes_csv(segments_run) -> None:
    sizes = pd.read_csv(segments_run / "latent_class" / "class_sizes.csv")
    ws = load_workbook(segments_run / "report" / "winback_report.xlsx")["Segments"]
    rows = _rows(ws)
    head = next(i for i, r in enumerate(rows) if r and r[0] == "segment")
    body = rows[head + 1 : head + 1 + len(sizes)]
    for r, (_, s) in zip(body, sizes.iterrows(), strict=True):
        assert r[0] == s["label"], (r, s["label"])
        got = np.array(r[1:5], dtype=float)
        want = s[["share", "lower", "upper", "respondents"]].to_numpy(dtype=float)
        assert np.allclose(got, want, atol=1e-12), f"{s['label']}: workbook {got}, csv {want}"
        assert s["lower"] <= s["share"] <= s["upper"], s.to_dict()
    assert np.isclose(sizes["share"].sum(), 1.0), sizes["share"].sum()
    # each segment's importances add up to 100% (the row of the second table)
    imp = next(i for i, r in enumerate(rows) if r and str(r[0]).startswith("What decides"))
    for r in rows[imp + 2 : imp + 2 + len(sizes)]:
        assert np.isclose(sum(float(v) for v in r[1:]), 1.0), r
    text = " ".join(str(v) for r in rows for v in r)
    assert "cares more than the other segments about" in text, text[:600]
    assert "chosen by BIC among 2 to 3" in text, text[:600]


@needs_soffice
def test_the_segments_page_prints_at_9_points_without_codes(segments_run, tmp_path) -> None:
    pdfplumber = pytest.importorskip("pdfplumber")
    from winback.pipeline.report import render_pdf

    pdf = render_pdf(segments_run / "report" / "winback_report.xlsx", tmp_path / "board.pdf")
    pages = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            text = page.extract_text() or ""
            if "Segments, page" in text:
                pages.append((text, [float(c["size"]) for c in page.chars if c["text"].strip()]))
    assert pages, "the Segments page does not print"
    assert len(pages) <= 2, f"the Segments page prints on {len(pages)} pages"
    small = min(min(sizes) for _, sizes in pages)
    assert small >= MIN_POINTS, f"Segments prints at {small:.2f} pt (at least {MIN_POINTS})"
    flat = " ".join(" ".join(t.split()) for t, _ in pages)
    hits = sorted({m.group(0) for m in JARGON.finditer(flat)})
    assert not hits, f"the Segments page shows jargon or codes {hits}: {flat[:600]}"
