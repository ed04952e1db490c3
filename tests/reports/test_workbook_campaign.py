"""The workbook's Campaign page (issue 18 item 5): present only when the run folder has
``target/``, its totals exactly the plan's (``campaign_summary.csv``'s total row), printed one
page wide at 9 pt or more in plain words, and CRM text (customer ids, segments) never a
formula. The plan is a small one (300 customers, 60 draws) from the shared example fit."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from reports.workbook import _build, read_run_folder, sheet_order, write_workbook
from reports.workbook.campaign import (
    SHEET_TITLE,
    _sheet_campaign,
    campaign_headline,
    plain_description,
)
from reports.workbook.context import _Ctx
from reports.workbook.spec import apply_audiences, audience
from reports.workbook.styles import _money_format, shown, text_width
from tests.reports.test_rendering import JARGON, MIN_POINTS, _print_cells, needs_soffice

#: CRM text a spreadsheet would run as a formula: customer ids and a segment
FORMULA_IDS = ("=1+1", "+44 20 7946 0000", "@SUM(A1)", "-12")
FORMULA_SEGMENT = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def campaign_run(run_folder, example_fit, tmp_path_factory) -> Path:
    """The shared run folder with ``target/`` as ``winback target`` writes it: a plan for 300
    customers by reason for leaving (some without consent or flagged), at most 200 contacts,
    ids and a segment that look like formulas, the ids' customers worth the most."""
    from analysis.campaign import (
        customer_preferences,
        plan_campaign,
        read_customers,
        score_customers,
    )
    from winback._io import write_csv
    from winback.example_crm import example_campaign_actions, example_market
    from winback.run_folder import write_record

    model = example_fit[0]
    study = model.study
    run = tmp_path_factory.mktemp("campaign") / "run"
    shutil.copytree(run_folder, run, ignore=shutil.ignore_patterns("report"))
    n = 300
    rng = np.random.default_rng(18)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "main_reason": rng.choice(["price_rise", "outages", "support", "moved"], n),
            "contact_consent": (rng.random(n) > 0.06).astype(int),
            "do_not_contact": (rng.random(n) < 0.04).astype(int),
            "monthly_margin": np.nan,
        }
    )
    k = len(FORMULA_IDS)
    frame.loc[: k - 1, "customer_id"] = FORMULA_IDS
    frame.loc[: k - 1, ["contact_consent", "do_not_contact", "monthly_margin"]] = [1, 0, 400.0]
    frame.loc[k, ["main_reason", "contact_consent", "do_not_contact"]] = [FORMULA_SEGMENT, 1, 0]
    customers = read_customers(frame, segment="main_reason")
    prefs = customer_preferences(model, customers, n_draws=60)
    actions = example_campaign_actions(study, example_market(study))
    scores = score_customers(prefs, customers, actions, study.business)
    plan = plan_campaign(scores, max_contacts=200, control_share=0.1)
    target = run / "target"
    target.mkdir()
    write_csv(plan.table, target / "campaign.csv")
    write_csv(plan.summary, target / "campaign_summary.csv")
    write_csv(scores.everyone(), target / "actions.csv")
    a = plan.allocation
    limits = {"max_contacts": a.max_contacts, "budget": a.budget, "upper_bound": a.upper_bound,
              "gap": a.gap}  # fmt: skip
    settings = {"band": plan.band, "basis": plan.basis, "control_share": plan.control_share,
                "segment": "main_reason", "limits": limits}  # fmt: skip
    write_record(target, "target", settings, study)
    return run


@pytest.fixture(scope="module")
def campaign_book(campaign_run) -> Path:
    """The run's workbook (without the live simulator's sheets: quicker)."""
    out = campaign_run / "report" / "winback_report.xlsx"
    write_workbook(out, read_run_folder(campaign_run, live=False))
    return out


@pytest.fixture(scope="module")
def campaign_sheet(campaign_run, tmp_path_factory) -> Path:
    """A workbook of the Campaign sheet alone, as the workbook writes and prints it (quick to
    load in full and to render)."""
    data = read_run_folder(campaign_run, live=False)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    _sheet_campaign(ws, _Ctx(data, "EUR", _money_format("EUR")))
    apply_audiences(wb)
    out = tmp_path_factory.mktemp("campaign_sheet") / "campaign.xlsx"
    wb.save(out)
    return out


def _rows(path: Path, sheet: str) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def _tables(rows: list[tuple], first_header: str) -> list[list[tuple]]:
    """The rows of every table whose header starts with ``first_header`` (to the first row
    that is blank, a heading or a note)."""
    out = []
    for i, r in enumerate(rows):
        if r and r[0] == first_header:
            body = []
            for row in rows[i + 1 :]:
                if len(row) < 2 or row[0] is None or row[1] is None:  # blank, heading, note
                    break
                body.append(row)
            out.append(body)
    return out


def test_the_campaign_page_shows_the_plans_totals(campaign_run, campaign_book) -> None:
    total = pd.read_csv(campaign_run / "target" / "campaign_summary.csv").iloc[-1]
    wb = load_workbook(campaign_book, read_only=True)
    names = wb.sheetnames
    wb.close()
    assert names == sheet_order(live=False, campaign=True), names
    order = sheet_order(live=True, campaign=True)  # after the simulator, before analyst pages
    assert order.index(SHEET_TITLE) == order.index("Simulator") + 1, order
    assert audience(SHEET_TITLE) == "leadership"
    rows = _rows(campaign_book, SHEET_TITLE)
    # the detail table's total row: exactly the plan's
    seg, detail = _tables(rows, "reason for leaving")  # by segment, then by segment and action
    last = detail[-1]
    assert last[:2] == ("All customers", "All actions"), last
    keys = ["contacted", "won_back", "won_back_lower", "won_back_upper", "profit",
            "profit_lower", "profit_upper"]  # fmt: skip
    shown_ = dict(zip(keys, last[2:9], strict=True))
    for key in keys:
        assert shown_[key] == pytest.approx(total[key], rel=1e-12), (
            f"{key}: the page shows {shown_[key]}, campaign_summary.csv's total {total[key]}"
        )
    # the by-segment table adds up to the total
    for key, col in (("customers", 1), ("contacted", 2), ("control", 3)):
        got = sum(r[col] for r in seg)
        assert got == total[key], f"{key}: the segments add up to {got}, the plan {total[key]}"
    labels = [r[0] for r in seg]
    assert "Price rise" in labels and "Moved home" in labels, f"reasons by label: {labels}"
    text = " ".join(str(v) for r in rows for v in r if isinstance(v, str))
    assert f"{total['contacted']:,.0f} of the 300 lost customers" in text, text[:600]
    assert "Expected result (stated preferences, not calibrated)" in text, "basis in the label"
    won = f"{total['won_back']:,.0f} customers won back (90% band {total['won_back_lower']:,.0f}"
    assert won in text, f"{won!r} not on the page: {text[:900]}"
    for phrase in ("have not agreed to be contacted", "At most 200 customers contacted",
                   "control group", "winback outcomes"):  # fmt: skip
        assert phrase in text, f"{phrase!r} not on the page"
    # page one's box names the campaign in one line
    page_one = " ".join(str(v) for r in _rows(campaign_book, "Summary") for v in r if v)
    line = (
        f"Of the {total['customers']:,.0f} lost customers on the CRM list, contact "
        f"{total['contacted']:,.0f}, expected {total['won_back']:,.0f} won"
    )
    assert line in page_one, f"{line!r} not on page one"


def test_without_target_there_is_no_campaign_page(report, tmp_path) -> None:
    wb = load_workbook(report, read_only=True)
    names = wb.sheetnames
    wb.close()
    assert SHEET_TITLE not in names and names == sheet_order(live=True), names
    assert SHEET_TITLE not in sheet_order(live=True) and SHEET_TITLE in sheet_order(
        live=False, campaign=True
    )


def test_crm_text_is_never_a_formula(campaign_run, campaign_book) -> None:
    data = read_run_folder(campaign_run, live=False)
    assert data.campaign is not None
    ids = data.campaign["customer_id"].tolist()
    assert ids[: len(FORMULA_IDS)] == list(FORMULA_IDS), f"ids read back {ids[:5]}"
    wb = load_workbook(campaign_book, read_only=True)
    cells = [c for r in wb[SHEET_TITLE].iter_rows() for c in r if c.value is not None]
    wb.close()
    formulas = [c.value for c in cells if c.data_type == "f"]
    assert not formulas, f"formulas on the Campaign page: {formulas}"
    text = {c.value for c in cells if isinstance(c.value, str)}
    # the ids' customers are worth the most: listed first unless held out as control
    contacted = data.campaign.set_index("customer_id")["contact"]
    shown_ids = [x for x in FORMULA_IDS if contacted[x]]
    assert len(shown_ids) >= 2, f"contacted: {contacted[list(FORMULA_IDS)].to_dict()}"
    missing = [x for x in (*shown_ids, FORMULA_SEGMENT) if x not in text]
    assert not missing, f"{missing} not written as text on the Campaign page"


def test_the_campaign_page_prints_one_page_wide_in_plain_words(campaign_sheet) -> None:
    wb = load_workbook(campaign_sheet)
    ws = wb[SHEET_TITLE]
    assert ws.sheet_state == "visible" and ws.print_area, "a leadership page with a print area"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.page_setup.orientation == "landscape"
    problems = []
    for c in _print_cells(ws):
        where = f"{c.coordinate} {str(c.value)[:40]!r}"
        if c.font is not None and c.font.sz is not None and c.font.sz < 9:
            problems.append(f"{where}: {c.font.sz} pt")
        if isinstance(c.value, int | float):
            width = ws.column_dimensions[c.column_letter].width
            need = text_width(shown(c.value, c.number_format))
            if need > width + 0.01:
                problems.append(f"{where}: #### ({need:.0f} wide in {width:.0f})")
        elif hit := JARGON.search(str(c.value)):
            problems.append(f"{where}: code {hit.group(0)!r}")
    assert not problems, f"{len(problems)} problems: {problems[:10]}"


def test_actions_and_page_one_line_in_words(campaign_run) -> None:
    data = read_run_folder(campaign_run, live=False)
    ctx = _Ctx(data, "EUR", _money_format("EUR"))
    text = plain_description(
        ctx, "FibreHome bundle as speed 1 Gbps, outage_credit Automatic credit, with priority "
        "support at EUR 60/month"
    )  # fmt: skip
    assert "outage_credit" not in text and "speed 1" not in text, text
    assert "priority support at EUR 60" in text, f"plain words changed: {text}"
    line = campaign_headline(ctx)
    assert data.campaign_summary is not None
    total = data.campaign_summary.iloc[-1]
    want = (
        f"Of the {total['customers']:,.0f} lost customers on the CRM list, contact "
        f"{total['contacted']:,.0f},"
    )
    assert line is not None and want in line, line
    basis = str(data.campaign_settings.get("basis"))
    word = {"calibrated": ", calibrated:", "stated": ", stated preference:"}[basis]
    assert word in line, f"the line does not say it is {basis}: {line}"


@needs_soffice
def test_the_campaign_page_renders_at_9_points_with_its_chart_whole(campaign_sheet, tmp_path):
    """The Campaign sheet alone rendered by LibreOffice: every character 9 pt or more, the
    chart on one page (its title once), the box on page one."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from winback.pipeline.report import render_pdf

    pdf = render_pdf(campaign_sheet, tmp_path / "campaign.pdf")
    with pdfplumber.open(pdf) as doc:
        pages = [(p.extract_text() or "", [float(c["size"]) for c in p.chars]) for p in doc.pages]
    assert 1 <= len(pages) <= 3, f"{len(pages)} pages"
    small = min(min(sizes) for _, sizes in pages)
    assert small >= MIN_POINTS, f"text at {small:.2f} pt (at least {MIN_POINTS})"
    flat = " ".join(" ".join(t.split()) for t, _ in pages)
    assert flat.count("Expected profit by reason for leaving") == 1, "the chart cut by a page"
    assert "Whom to contact" in pages[0][0] and "Next step" in pages[0][0], pages[0][0][:400]
    hits = sorted({m.group(0) for m in JARGON.finditer(flat)})
    assert not hits, f"codes or jargon printed: {hits}"
    assert not re.search(r"#{3,}", flat), "a number shows as ####"


def test_a_plan_without_segments_list_or_settings_still_reads_plainly(campaign_run) -> None:
    """Only the summary, one segment ("all"), no run.json: the page still says it all, the
    basis unnamed rather than guessed, and the workbook without the plan's columns leaves the
    page out with a note on page one."""
    import dataclasses

    data = read_run_folder(campaign_run, live=False)
    assert data.campaign_summary is not None
    s = data.campaign_summary.copy()
    rows = s.iloc[:-1].groupby("action", sort=False).sum(numeric_only=True).reset_index()
    rows.insert(0, "segment", "all")
    summary = pd.concat([rows, s.iloc[[-1]]], ignore_index=True)
    bare = dataclasses.replace(
        data, campaign_summary=summary, campaign=None, campaign_actions=None, campaign_settings={}
    )
    wb = Workbook()
    ws = wb.active
    _sheet_campaign(ws, _Ctx(bare, "EUR", _money_format("EUR")))
    text = " ".join(str(c.value) for r in ws.iter_rows() for c in r if c.value is not None)
    total = summary.iloc[-1]
    assert f"{total['contacted']:,.0f} of the 300 lost customers" in text, text[:500]
    assert "Expected result " in text and "calibrated" not in text.split("Not contacted")[0]
    assert "All customers" in text and " all " not in f" {text} ", "the segment 'all' in words"
    broken = dataclasses.replace(data, campaign_summary=summary.drop(columns="won_back"))
    book = _build(broken, None)
    assert SHEET_TITLE not in book.sheetnames, book.sheetnames
    summary_text = " ".join(
        str(c.value) for r in book["Summary"].iter_rows() for c in r if c.value is not None
    )
    assert "The Campaign page is left out" in summary_text
