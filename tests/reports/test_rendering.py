"""The workbook as a board sees it: rendered to PDF by LibreOffice (the default print) and read
back page by page with pdfplumber: the page count, page one's contents (the decision, numbers
with their bands, no codes or jargon) and every character's font size. The print setup is also
checked in the file itself (leadership pages visible with a print area, analyst pages hidden,
no cell too narrow for its number or text), which needs no LibreOffice.

The rendering tests skip, saying why, where LibreOffice is not installed (CI installs it).
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from reports.workbook import sheet_order
from reports.workbook.spec import audience
from reports.workbook.styles import shown, text_width
from winback.errors import WinbackError

#: the most pages the default print of the workbook may have
MAX_PAGES = 15
#: the smallest font size on a printed page (points; pdfplumber's sizes carry two decimals)
MIN_POINTS = 8.95
#: words a leadership page never shows: statistical jargon, codes and raw booleans
JARGON = re.compile(
    r"\bRLH\b|r_hat|R-hat|\bESS\b|part-worth|posterior|\bHB\b|logit|WARNING|convergence|"
    r"\bTRUE\b|\bFALSE\b|\b[a-z]+_[a-z_]+\b|\w\[",
)

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)


@pytest.fixture(scope="module")
def pages(report, tmp_path_factory):
    """The default print of the shared run's workbook: one entry per PDF page, its sheet (from
    the footer), its text and its characters' font sizes."""
    pdfplumber = pytest.importorskip("pdfplumber")
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from winback.pipeline.report import render_pdf

    pdf = render_pdf(report, tmp_path_factory.mktemp("pdf") / "board.pdf")
    out = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            text = page.extract_text() or ""
            footer = re.findall(r"^(.+), page \d+ of \d+", text, flags=re.MULTILINE)
            sheet = footer[-1].strip() if footer else "?"
            sizes = [round(float(c["size"]), 2) for c in page.chars if c["text"].strip()]
            out.append({"sheet": sheet, "text": text, "sizes": sizes})
    return out


@needs_soffice
def test_default_print_is_the_leadership_pages_in_order(pages, report) -> None:
    sheets = [p["sheet"] for p in pages]
    assert len(pages) <= MAX_PAGES, f"{len(pages)} pages printed (at most {MAX_PAGES}): {sheets}"
    wb = load_workbook(report)
    leadership = [n for n in wb.sheetnames if audience(n) == "leadership"]
    printed = list(dict.fromkeys(sheets))
    assert printed == leadership, f"printed {printed}, leadership pages {leadership}"
    assert sheets.count("Summary") == 1, f"page one runs over: {sheets}"


@needs_soffice
def test_page_one_is_the_decision_in_plain_words(pages, run_folder) -> None:
    d = pd.read_csv(run_folder / "recommend" / "decision.csv")
    b = d.iloc[0]
    text = pages[0]["text"]
    flat = " ".join(text.split())
    for part in ("the decision", "What to offer", "To whom", "At what price", "Expected result",
                 "What it costs", "How sure we are", "Next step", "Why they left"):  # fmt: skip
        assert part in flat, f"page one lacks {part!r}: {flat[:800]}"
    customers = f"{b['customers']:,.0f} customers won back (90% band {b['customers_lower']:,.0f} "
    assert customers in flat, f"page one lacks {customers!r}: {flat[:800]}"
    # the label column's wrapped lines interleave with the text's in the PDF: the exact
    # sentence is checked in the file (test_leadership_pages_print_and_analyst_pages_are_hidden)
    assert re.search(r"profit of EUR [\d.]+[mk]? a year \(90% band EUR", flat), flat
    assert "confidence" in flat, flat
    hits = sorted({m.group(0) for m in JARGON.finditer(flat)})
    assert not hits, f"page one shows jargon or codes {hits}: {flat[:800]}"


@needs_soffice
def test_nothing_prints_below_9_points(pages) -> None:
    small = {}
    for i, p in enumerate(pages, start=1):
        if not p["sizes"]:
            continue
        if min(p["sizes"]) < MIN_POINTS:
            small[f"page {i} ({p['sheet']})"] = min(p["sizes"])
    assert not small, f"text below {MIN_POINTS} pt: {small}"
    assert min(pages[0]["sizes"]) >= 9.5, f"page one's smallest text {min(pages[0]['sizes'])} pt"


@needs_soffice
def test_the_recommendation_s_charts_print_in_plain_words(pages) -> None:
    """The pages of issue 17's charts (where the customers come from, the price curves, the
    one WTP) print, without jargon or codes."""
    sheets = {p["sheet"] for p in pages}
    for name in ("Source of volume", "Price curves", "Importances"):
        assert name in sheets, f"{name} does not print: {sorted(sheets)}"
    for p in pages:
        if p["sheet"] not in ("Source of volume", "Price curves", "Importances"):
            continue
        flat = " ".join(p["text"].split())
        hits = sorted({m.group(0) for m in JARGON.finditer(flat)})
        assert not hits, f"{p['sheet']} shows jargon or codes {hits}: {flat[:600]}"
    price = " ".join(" ".join(p["text"].split()) for p in pages if p["sheet"] == "Price curves")
    assert "today's price" in price and "recommended price" in price, price[:600]


def _print_cells(ws):
    if not ws.print_area:
        return
    area = ws.print_area.split("!")[-1].replace("$", "")
    c1, r1, c2, r2 = range_boundaries(area)
    for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2):
        yield from (c for c in row if c.value is not None)


def test_leadership_pages_print_and_analyst_pages_are_hidden(report) -> None:
    """Leadership pages: visible, a print area, one page wide, page one on one page; analyst
    pages hidden (Excel and LibreOffice leave hidden sheets out of printing and PDF)."""
    wb = load_workbook(report)
    assert wb.sheetnames == sheet_order(live=True), wb.sheetnames
    for ws in wb.worksheets:
        if audience(ws.title) == "analyst":
            assert ws.sheet_state == "hidden", f"{ws.title} would print"
            continue
        assert ws.sheet_state == "visible", ws.title
        assert ws.print_area, f"{ws.title} has no print area"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.orientation == "landscape"
    assert wb["Summary"].page_setup.fitToHeight == 1, "page one prints on one page"
    assert wb.active.title == "Summary"
    box = " ".join(str(c.value) for c in _print_cells(wb["Summary"]))
    assert "Expected result (calibrated to observed take-up)" in box, "the basis in the label"
    assert re.search(r"profit of EUR [\d.]+[mk]? a year \(90% band EUR [\d.]+[mk]? to EUR", box)


def test_no_cell_shows_hashes_codes_or_cut_off_text(report) -> None:
    """In every leadership page's print area: numbers fit their columns (no ####), text fits
    or wraps (no cut-off text), no TRUE/FALSE, no codes, every font 9 pt or more."""
    wb = load_workbook(report)
    problems = []
    for ws in wb.worksheets:
        if audience(ws.title) != "leadership" or ws.title == "Simulator":
            continue
        merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
        for c in _print_cells(ws):
            where = f"{ws.title}!{c.coordinate}"
            if c.font is not None and c.font.sz is not None and c.font.sz < 9:
                problems.append(f"{where}: {c.font.sz} pt")
            if isinstance(c.value, bool):
                problems.append(f"{where}: boolean {c.value}")
                continue
            m = merged.get((c.row, c.column))
            cols = range(c.column, (m.max_col if m else c.column) + 1)
            width = sum(ws.column_dimensions[get_column_letter(j)].width or 8.43 for j in cols)
            if isinstance(c.value, int | float):
                need = text_width(shown(c.value, c.number_format))
                if need > width + 0.01:
                    problems.append(f"{where}: {shown(c.value, c.number_format)} in {width:.0f}")
                continue
            text = str(c.value)
            if JARGON.search(text):
                problems.append(f"{where}: {JARGON.search(text).group(0)!r} in {text[:60]!r}")
            if not c.alignment.wrap_text and m is None:
                # text runs on into empty cells to its right; cut off at the first full one
                j = c.column + 1
                while text_width(text) > width + 0.01 and ws.cell(c.row, j).value is None:
                    if j > ws.max_column + 10:
                        break
                    width += ws.column_dimensions[get_column_letter(j)].width or 8.43
                    j += 1
                if text_width(text) > width + 0.01:
                    problems.append(f"{where}: {text[:40]!r} cut off ({width:.0f} wide)")
    assert not problems, f"{len(problems)} problems: {problems[:12]}"


def test_report_pdf_without_libreoffice_says_how_to_install_it(run_folder, tmp_path, monkeypatch):
    import winback.pipeline.report as stage

    monkeypatch.setattr(stage, "find_soffice", lambda: None)
    with pytest.raises(WinbackError, match=r"LibreOffice.*apt-get install libreoffice-calc"):
        stage.run_report(run_folder, tmp_path / "r.xlsx", pdf=True)
    assert not (tmp_path / "r.xlsx").exists(), "nothing is written when the PDF cannot be"


@needs_soffice
def test_report_command_writes_the_pdf(run_folder, tmp_path, capsys) -> None:
    pytest.importorskip("pdfplumber")
    import pdfplumber

    from winback.cli import main

    out = tmp_path / "board.xlsx"
    assert main(["report", str(run_folder), "--out", str(out), "--pdf"]) == 0
    pdf = tmp_path / "board.pdf"
    assert pdf.read_bytes().startswith(b"%PDF"), "no PDF"
    assert "board.pdf" in capsys.readouterr().out
    with pdfplumber.open(pdf) as doc:
        assert 1 <= len(doc.pages) <= MAX_PAGES, len(doc.pages)
        assert "the decision" in (doc.pages[0].extract_text() or "")
