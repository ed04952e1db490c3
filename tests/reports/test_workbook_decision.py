"""The one recommendation in the workbook: the Summary's headline from decision.csv, the Decision
sheet, shares labelled stated or calibrated, like-for-like comparisons, the Methods sheet.

Built from the shared run folder (calibrated, with [business]), the same run without
calibration, a run without [business], and a run written before the one recommendation (none of
the new files), each read back with openpyxl and checked against the CSV files it came from.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.workbook import SHEETS, read_run_folder, write_workbook
from reports.workbook.context import relabel
from reports.workbook.decision import big_money
from reports.workbook.spec import audience

EUR0 = '#,##0 "EUR"'
NOT_STATED = re.compile(r"\bwin back\b|\bwon back\b|forecast", re.IGNORECASE)


def _cells(ws):
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None:
                yield c


def _text(wb, name: str) -> str:
    return " ".join(str(c.value) for c in _cells(wb[name]) if c.data_type == "s")


def _cell_starting(ws, prefix: str):
    hits = [c for c in _cells(ws) if isinstance(c.value, str) and c.value.startswith(prefix)]
    assert hits, f"{ws.title}: no cell starts with {prefix!r}"
    return hits[0]


def _header(ws, first: str, second: str, having: str | None = None) -> tuple[int, dict]:
    """The row of a table whose first two headers are ``first``, ``second`` (and which has a
    column ``having``); its columns by header."""
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, 1).value == first and ws.cell(r, 2).value == second:
            cols = {ws.cell(r, j).value: j for j in range(1, ws.max_column + 1)}
            cols = {k: v for k, v in cols.items() if k is not None}
            if having is None or having in cols:
                return r, cols
    raise AssertionError(f"{ws.title}: no table headed {first!r}, {second!r} ({having})")


def _rows_by_first_cell(ws, header: int) -> dict[str, int]:
    out = {}
    r = header + 1
    while ws.cell(r, 1).value is not None:
        out[str(ws.cell(r, 1).value)] = r
        r += 1
    return out


def _near(got: object, want: float, what: str) -> None:
    assert isinstance(got, float | int), f"{what}: {got!r} is not a number cell"
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{what}: cell {got} vs CSV {want}"


@pytest.fixture(scope="module")
def decision(run_folder) -> pd.DataFrame:
    return pd.read_csv(run_folder / "recommend" / "decision.csv")


def test_summary_headline_is_the_one_decision(report, run_folder, decision) -> None:
    """Calibrated, with [business]: the headline cell says what to do, the customers and the
    profit a year with their bands as decision.csv has them; beside it the observation the
    shares are calibrated to; then costs, the net gain like for like, the sources, how sure and
    the runners-up on the same scale."""
    b = decision.iloc[0]
    assert bool(b["recommended"]) and b["basis"] == "calibrated", b.to_dict()
    wb = load_workbook(report)
    ws = wb["Summary"]
    head = _cell_starting(ws, "Recommendation:").value
    for part in (
        f"Recommendation: {b['action']}: {relabel(read_run_folder(run_folder, live=False), b['description'])}.",
        f"{b['customers']:,.0f} customers won back (90% band {b['customers_lower']:,.0f} to "
        f"{b['customers_upper']:,.0f})",
        f"a profit of {big_money('EUR', b['profit_year'])} a year (90% band "
        f"{big_money('EUR', b['profit_year_lower'])} to "
        f"{big_money('EUR', b['profit_year_upper'])}) after incentives and contact costs",
        f"revenue {big_money('EUR', b['revenue_year'])} a year",
    ):
        assert part in head, f"headline lacks {part!r}: {head}"
    assert ws[_cell_starting(ws, "Recommendation:").coordinate].font.b, "headline not bold"
    basis = _cell_starting(ws, "Shares are calibrated shares").value
    cal = json.loads((run_folder / "recommend" / "run.json").read_text())["settings"]
    cal = cal["calibration"]
    for part in (
        f"observed win-back rate of {cal['observed']['winback']:.1%} among {cal['n']:,} lost "
        "customers contacted",
        cal["source"],
        f"availability {cal['availability']:.1%}",
    ):
        assert part in basis, f"calibration beside the headline lacks {part!r}: {basis}"

    # the key numbers: numbers, not text, with units and formats
    h, cols = _header(ws, "measure", "estimate")
    rows = _rows_by_first_cell(ws, h)
    r = rows["customers won back (N x calibrated share)"]
    _near(ws.cell(r, 2).value, b["customers"], "customers")
    _near(ws.cell(r, 3).value, b["customers_lower"], "customers band")
    assert ws.cell(r, 2).number_format == "#,##0"
    r = rows["profit after incentives and contact costs (EUR/year)"]
    _near(ws.cell(r, 2).value, b["profit_year"], "profit a year")
    _near(ws.cell(r, 4).value, b["profit_year_upper"], "profit band")
    assert ws.cell(r, 2).number_format == EUR0
    _near(ws.cell(rows["net gain against today's offer (EUR/year)"], 2).value, b["net_gain"], "net")
    before = f"own products' calibrated share before ({b['own_before']})"
    _near(ws.cell(rows[before], 2).value, b["share_before"], "share before")
    after = f"own products' calibrated share after ({b['own_after']})"
    _near(ws.cell(rows[after], 2).value, b["share_after"], "share after")

    text = _text(wb, "Summary")
    # what it costs: the incentives and contact costs inside the profit, in money a year
    reached = 48000 * cal["availability"]
    for part in (
        "What it costs (inside the profit above): incentives of EUR 25.00 per returning "
        f"customer, {big_money('EUR', 25.0 * b['customers'])} a year",
        f"contact costs of EUR 1.20 per lost customer reached, "
        f"{big_money('EUR', 1.2 * reached)} a year for {reached:,.0f} reached (48,000 lost "
        "customers in scope x 65% reach)",
        f"net gain {big_money('EUR', b['net_gain'])} a year",
        f"Like for like, all our own products: before {b['own_before']} (calibrated share "
        f"{b['share_before']:.1%}), after {b['own_after']} (calibrated share "
        f"{b['share_after']:.1%})",
    ):
        assert part in text, f"Summary lacks {part!r}"
    src = pd.read_csv(run_folder / "recommend" / "decision_sources.csv")
    mine = src[src["action"] == b["action"]].set_index("kind")["value"]
    sources = (
        f"Where they come from: {mine['gross']:,.0f} take the new offer(s): {mine['none']:,.0f} "
        f"would otherwise have stayed away (none), {mine['competitor']:,.0f} come from "
        f"competitors, {mine['own']:,.0f} from our own products"
    )
    assert sources in text, f"Summary lacks {sources!r}"
    runner = decision.iloc[1]
    sure = (
        f"How sure: better than the runner-up ({runner['action']}) on "
        f"{runner['prob_recommended_better']:.0%} of the posterior draws"
    )
    assert sure in text, f"Summary lacks {sure!r}"
    proven = "every search behind the candidates was exhaustive"
    assert (proven in text) == bool(decision["proven"].all()), "proven said wrongly"

    # the runners-up: the best of each other kind, on the same scale with the gap
    h, cols = _header(ws, "rank", "action")
    want = decision.iloc[1:].drop_duplicates("kind")["action"].tolist()
    got = [ws.cell(r, 2).value for r in range(h + 1, h + 1 + len(want))]
    assert got == want, f"runners-up {got} vs {want}"
    gap_col = cols["gap to the recommendation (EUR/year)"]
    first = decision.set_index("action").loc[want[0]]
    _near(ws.cell(h + 1, gap_col).value, first["gap"], "gap")
    assert ws.cell(h + 1, gap_col).number_format == EUR0
    # the former answers and the one-product comparison are gone
    assert "What to offer: " not in text and "Expected to win back" not in text
    assert "calibrated share" in text


def test_decision_sheet_every_candidate_with_units_sources_money_calibration(
    report, run_folder, decision
) -> None:
    wb = load_workbook(report)
    assert "Decision" in SHEETS and audience("Decision") == "analyst", SHEETS
    ws = wb["Decision"]
    h, cols = _header(ws, "rank", "action")
    for label in (
        "customers won back (N x calibrated share)",
        "revenue (EUR/year)",
        "profit (EUR/year)",
        "net gain vs today's offer (EUR/year)",
        "net volume (customers)",
        "gap to the recommendation (EUR/year)",
        "P(recommendation better)",
        "own products after",
        "calibrated share after",
    ):
        assert label in cols, f"Decision sheet lacks the column {label!r}: {list(cols)}"
    actions = [ws.cell(h + 1 + i, cols["action"]).value for i in range(len(decision))]
    assert actions == decision["action"].tolist(), actions
    for i, row in decision.iterrows():
        r = h + 1 + int(i)
        _near(ws.cell(r, cols["profit (EUR/year)"]).value, row["profit_year"], row["action"])
        _near(ws.cell(r, cols["profit from"]).value, row["profit_year_lower"], row["action"])
        c = ws.cell(r, cols["customers won back (N x calibrated share)"])
        _near(c.value, row["customers"], row["action"])
        assert c.number_format == "#,##0"
        assert ws.cell(r, cols["profit (EUR/year)"]).number_format == EUR0
        assert ws.cell(r, cols["recommended"]).value == ("yes" if row["recommended"] else None)
    # today's own products, the baseline of every candidate, said once
    b = decision.iloc[0]
    baseline = f"our own products {b['own_before']}, calibrated share {b['share_before']:.1%}"
    assert baseline in _text(wb, "Decision")

    # where the recommendation's customers come from, and every candidate's
    src = pd.read_csv(run_folder / "recommend" / "decision_sources.csv")
    mine = src[src["action"] == b["action"]]
    h2, cols2 = _header(ws, "source", "customers")
    for i, row in enumerate(mine.itertuples()):
        assert ws.cell(h2 + 1 + i, 1).value == row.source
        _near(ws.cell(h2 + 1 + i, 2).value, row.value, row.source)
    assert any(type(ch).__name__ == "BarChart" for ch in ws._charts)
    h3, cols3 = _header(ws, "action", "take its offers")
    net = src[src["kind"] == "net"].set_index("action")["value"]
    row = _rows_by_first_cell(ws, h3)[b["action"]]
    _near(ws.cell(row, cols3["net (none + competitors)"]).value, net[b["action"]], "net")

    # today's offer in customers and money; the calibration; stated and calibrated shares
    money = pd.read_csv(run_folder / "simulate" / "money.csv")
    h4, cols4 = _header(ws, "product", "customers (N x calibrated share)")
    total = _rows_by_first_cell(ws, h4)["total"]
    want = money.set_index("product").loc["total"]
    _near(ws.cell(total, cols4["profit (EUR/year)"]).value, want["profit_year"], "money")
    text = _text(wb, "Decision")
    assert "Calibration: what the shares are anchored to" in text
    h5, _ = _header(ws, "measure", "value")
    rows = _rows_by_first_cell(ws, h5)
    cal = pd.read_csv(run_folder / "recommend" / "calibration.csv").set_index("measure")
    _near(ws.cell(rows["none shift"], 2).value, cal.loc["none shift", "value"], "none shift")
    for name in ("Decision", "Source of volume"):
        sheet = wb[name]
        h6, cols6 = _header(sheet, "product", "own", having="calibrated share")
        assert {"stated preference share", "calibrated share"} <= set(cols6), (name, cols6)
        shares = pd.read_csv(run_folder / "simulate" / "calibrated_shares.csv")
        for i, s in shares.iterrows():
            _near(sheet.cell(h6 + 1 + int(i), cols6["calibrated share"]).value, s["share"], name)
            _near(sheet.cell(h6 + 1 + int(i), cols6["stated preference share"]).value,
                  s["stated"], name)  # fmt: skip

    # like for like on the search sheets: today's own products and those after, named
    tiers = pd.read_csv(run_folder / "recommend" / "tiers.csv")["tier"].tolist()
    own = pd.read_csv(run_folder / "simulate" / "shares.csv")
    own = own.loc[own["own"], "product"].unique().tolist()  # by segment too
    summary = pd.read_csv(run_folder / "recommend" / "tiers_summary.csv").set_index("measure")
    ws = wb["Tiers"]
    h7, _ = _header(ws, "measure", "value")
    rows = _rows_by_first_cell(ws, h7)
    for label, measure in (
        (f"own products' calibrated share, with the tier menu ({', '.join(tiers)})",
         "our share, tier menu"),
        (f"own products' calibrated share, today ({', '.join(own)})", "our share, current market"),
    ):  # fmt: skip
        assert label in rows, f"Tiers lacks {label!r}: {list(rows)}"
        _near(ws.cell(rows[label], 2).value, summary.loc[measure, "value"], label)
    offers = _text(wb, "Unbundling")
    assert f"own products' calibrated share, current ({', '.join(own)})" in offers
    assert "own products' calibrated share, with the menu (entry" in offers
    assert "lost customers brought back by the menu beyond the bundle" not in offers

    # Methods: how the recommendation is chosen, the business settings and the calibration
    methods = _text(wb, "Methods")
    for part in (
        "How the recommendation is chosen",
        "customers = N x share",
        "customers x (monthly margin x months retained - incentive) - contact cost x N x "
        "reach) x 12 / horizon months",
        "a shift of the none utility delta_d and/or a scale s_d is fitted",
        "Business settings used ([business] of the study)",
        "Calibration used: the observation and what was fitted",
        "calibrated to the observed win-back rate of 2.0%",
    ):
        assert part in methods, f"Methods lacks {part!r}"
    ms = wb["Methods"]
    lost = next(c for c in _cells(ms) if c.value == "Lost customers in scope (N)")
    assert ms.cell(lost.row, 2).value == 48000
    incentive = next(c for c in _cells(ms) if c.value == "Incentive per returning customer (once)")
    assert ms.cell(incentive.row, 2).value == 25.0


def test_stated_run_never_says_win_back(stated_run) -> None:
    """Without calibration every share is a stated preference share wherever it appears, and
    no sheet says "win back", "won back" or "forecast"."""
    rec = json.loads((stated_run / "recommend" / "run.json").read_text())["settings"]
    assert rec["basis"] == "stated" and "calibration" not in rec, rec
    assert not (stated_run / "simulate" / "calibrated_shares.csv").exists()
    wb = load_workbook(write_workbook(stated_run / "stated.xlsx", read_run_folder(stated_run)))
    people = pd.read_csv(stated_run / "import" / "respondents.csv", dtype=str)
    verbatims = set(people.stack().astype(str))
    for ws in wb:
        for c in _cells(ws):
            if isinstance(c.value, str) and c.value not in verbatims:
                assert not NOT_STATED.search(c.value), f"{ws.title}!{c.coordinate}: {c.value}"
                assert "calibrated share" not in c.value, f"{ws.title}!{c.coordinate}"
    for name in ("Summary", "Decision", "Offers", "Tiers", "Source of volume", "Price curves",
                 "Methods", "Simulator"):  # fmt: skip
        assert "stated preference share" in _text(wb, name).lower(), name
    d = pd.read_csv(stated_run / "recommend" / "decision.csv")
    b = d.iloc[0]
    head = _cell_starting(wb["Summary"], "Recommendation:").value
    assert (
        f"Expected at stated preference shares: {b['customers']:,.0f} customers (90% band" in head
    ), head
    assert "Not calibrated to observed behaviour" in head
    _, cols = _header(wb["Decision"], "rank", "action")
    assert "customers choosing our offers (N x stated preference share)" in cols, cols
    _, cols = _header(wb["Offers"], "rank", "Broadband speed")
    assert {"stated preference share", "stated preference share from"} <= set(cols), cols
    titles = [
        "".join(run.t for p in ch.title.tx.rich.p for run in (p.r or []))
        for ch in wb["Tiers"]._charts
    ]
    assert "Stated preference share by tier" in titles, titles
    assert "Calibration: none in this run" in _text(wb, "Methods")


def test_without_business_the_scale_is_the_objective_per_lost_customer(
    stated_run, tmp_path, monkeypatch
) -> None:
    """A study without [business]: no customers or money a year, the decision on the search's
    objective per lost customer, named with its unit."""
    import winback.pipeline.classes as fit_reader  # where the stages read a fit
    from winback.pipeline import run_recommend

    real = fit_reader.load_fit_for

    def without_business(*args, **kwargs):
        model = real(*args, **kwargs)
        return dataclasses.replace(model, study=dataclasses.replace(model.study, business=None))

    monkeypatch.setattr(fit_reader, "load_fit_for", without_business)
    run = tmp_path / "run"
    shutil.copytree(stated_run, run, ignore=shutil.ignore_patterns("recommend", "*.xlsx"))
    study = (run / "study.toml").read_text(encoding="utf-8")
    study = re.sub(r"\n\[business\]\n(?:[^\[\n][^\n]*\n|\n)*", "\n", study)
    (run / "study.toml").write_text(study, encoding="utf-8")
    args = (run / "study.toml", run / "fit", run / "market.toml")
    run_recommend(*args, run / "recommend", calibration=False)
    d = pd.read_csv(run / "recommend" / "decision.csv")
    assert "profit_year" not in d.columns and "No campaign" not in set(d["action"]), d.columns
    data = read_run_folder(run, live=False)
    assert data.study.get("business") is None
    wb = load_workbook(write_workbook(tmp_path / "nobiz.xlsx", data))
    b = d.iloc[0]
    head = _cell_starting(wb["Summary"], "Recommendation:").value
    want = (
        f"Expected at stated preference shares: EUR {b['value']:,.2f} per month per lost customer"
    )
    assert want in head, head
    assert "customers" not in head and "What it costs" not in _text(wb, "Summary")
    ws = wb["Decision"]
    h, cols = _header(ws, "rank", "action")
    unit = "profit per lost customer (EUR per month)"
    assert unit in cols, cols
    _near(ws.cell(h + 1, cols[unit]).value, b["value"], "value")
    assert ws.cell(h + 1, cols[unit]).number_format == '#,##0.00 "EUR"'
    assert "Business settings used" not in _text(wb, "Methods")


def test_a_run_from_before_the_decision_builds_and_compares_like_for_like(
    stated_run, tmp_path
) -> None:
    """A run folder written before the one recommendation (no decision.csv, calibration or
    money files, the former unbundling measure, no basis in run.json) still builds with the
    former Summary; with two own products in today's market, the offer (both own products
    after) is compared with both own products today, named, never with one of them."""
    run = tmp_path / "old"
    shutil.copytree(stated_run, run, ignore=shutil.ignore_patterns("*.xlsx", "report"))
    for name in ("decision.csv", "decision_sources.csv", "tiers_summary.csv"):
        (run / "recommend" / name).unlink()
    (run / "simulate" / "money.csv").unlink()
    for stage in ("simulate", "recommend"):
        path = run / stage / "run.json"
        rec = json.loads(path.read_text())
        rec["settings"].pop("basis")
        path.write_text(json.dumps(rec), encoding="utf-8")
    us = run / "recommend" / "unbundling_summary.csv"
    old = pd.read_csv(us)
    keep = old["measure"].isin(["share, bundle alone (current)", "share, entry menu"])
    brought = old[keep]["value"].diff().iloc[-1]
    old = pd.concat([old[keep], pd.DataFrame([{
        "measure": "lost customers brought back by the menu beyond the bundle",
        "value": brought, "lower": brought / 2, "upper": brought * 2}])])  # fmt: skip
    old.to_csv(us, index=False)
    shares = pd.read_csv(run / "simulate" / "shares.csv")
    competitor = shares[(shares["own"].astype(str) == "False") & (shares["product"] != "none")]
    second = competitor["product"].iloc[0]
    shares.loc[shares["product"] == second, "own"] = True  # a second own product today
    shares.to_csv(run / "simulate" / "shares.csv", index=False)

    data = read_run_folder(run, live=False)
    assert data.decision is None and data.money is None and data.calibration is None
    wb = load_workbook(write_workbook(tmp_path / "old.xlsx", data))
    text = _text(wb, "Summary")
    for phrase in ("What to offer", "Good / better / best", "Unbundled entry offer",
                   "Key numbers", "stated preference share"):  # fmt: skip
        assert phrase in text, f"Summary lacks {phrase!r}"
    own = shares[shares["own"].astype(str) == "True"]
    today = float(own["share"].sum())
    first = own["product"].iloc[0]
    named = f"against {today:.1%} today ({first}, {second})"
    assert named in text, f"Summary lacks {named!r}: {text[:600]}"
    one = float(own["share"].iloc[0])
    assert f"against {one:.1%} today" not in text, "one own product against both"
    assert "not net of what it takes from our other own products" in text
    assert "Not available: this run has no single recommendation" in _text(wb, "Decision")
    assert not NOT_STATED.search(text), NOT_STATED.search(text)


def _hand_made(rows: list[dict], tmp_path: Path, **settings) -> object:
    """A workbook from a hand-made decision.csv (no fit, no search): the Summary's words."""
    from reports.workbook.facts import ReportData

    base = {"kind": "offer", "description": "an offer", "search": "s", "proven": True,
            "basis": "stated", "own_before": "Ours", "share_before": 0.02, "own_after": "Ours",
            "share_after": 0.1}  # fmt: skip
    table = pd.DataFrame([{**base, "rank": i + 1, **r} for i, r in enumerate(rows)])
    table["recommended"] = table["rank"] == 1
    data = ReportData(
        partworths=pd.DataFrame(
            {"respondent_id": ["1"], "attribute": ["a"], "level": ["x"], "utility": [0.0]}
        ),
        study={"currency": "EUR"},
        decision=table,
        recommend_settings={"basis": "stated", "objective": "revenue", **settings},
    )
    return load_workbook(write_workbook(tmp_path / "hand.xlsx", data))


def test_a_close_call_from_a_heuristic_search_says_so(tmp_path) -> None:
    band = {"value_lower": 1.0, "value_upper": 3.0, "gap_lower": -0.5, "gap_upper": 1.0}
    wb = _hand_made(
        [
            {"action": "New offer", "value": 2.0, "proven": False, "gap": 0.0,
             "prob_recommended_better": float("nan"), **band},
            {"action": "Today's offer", "kind": "keep", "value": 1.7, "gap": 0.3,
             "prob_recommended_better": 0.62, **band},
        ],
        tmp_path,
    )  # fmt: skip
    text = _text(wb, "Summary")
    for part in (
        "Recommendation: New offer: an offer. Expected at stated preference shares: EUR 2.00 "
        "per lost customer (90% band EUR 1.00 to EUR 3.00)",
        "better than the runner-up (Today's offer) on 62% of the posterior draws (not a clear "
        "winner); a search was not exhaustive (New offer), so better candidates may exist",
    ):
        assert part in text, f"Summary lacks {part!r}: {text}"
    _, cols = _header(wb["Decision"], "rank", "action")
    assert "revenue per lost customer (EUR)" in cols, cols


def test_no_campaign_recommended_reads_as_such(tmp_path) -> None:
    zero = {"customers": 0.0, "customers_lower": 0.0, "customers_upper": 0.0,
            "revenue_year": 0.0, "profit_year": 0.0, "profit_year_lower": 0.0,
            "profit_year_upper": 0.0, "value_lower": 0.0, "value_upper": 0.0}  # fmt: skip
    wb = _hand_made(
        [
            {"action": "No campaign", "kind": "no campaign", "description": "contact nobody",
             "value": 0.0, "gap": 0.0, **zero},
            {"action": "Today's offer", "kind": "keep", "value": -5000.0, "gap": 5000.0,
             "prob_recommended_better": 0.97, **zero},
        ],
        tmp_path,
    )  # fmt: skip
    head = _cell_starting(wb["Summary"], "Recommendation:").value
    assert head == (
        "Recommendation: No campaign: contact nobody. No candidate is expected to pay back its "
        "incentives and contact costs."
    ), head
    assert "What it costs: nothing (nobody is contacted)." in _text(wb, "Summary")


def test_a_workbook_without_the_live_simulator_names_no_simulator(tmp_path) -> None:
    """A run without fit/fit.nc or market.toml has no Simulator page: page one, the caveats
    (calibrated shares) and the guide to the pages name only the pages there, and no other page
    (Methods) names it."""
    band = {"value_lower": 1.0, "value_upper": 3.0, "gap_lower": 0.5, "gap_upper": 1.0}
    wb = _hand_made(
        [
            {"action": "New offer", "value": 2.0, "gap": 0.0, **band},
            {"action": "Today's offer", "kind": "keep", "value": 1.7, "gap": 0.3,
             "prob_recommended_better": 0.95, **band},
        ],
        tmp_path,
        basis="calibrated",
    )  # fmt: skip
    assert "Simulator" not in wb.sheetnames, wb.sheetnames
    text = _text(wb, "Summary")
    hits = [m.start() for m in re.finditer("simulator", text, flags=re.IGNORECASE)]
    assert not hits, f"Summary names a simulator {len(hits)} times: {text[hits[0] - 80 :][:200]}"
    named = {n: len(re.findall("Simulator", _text(wb, n))) for n in wb.sheetnames}
    assert not any(named.values()), f"pages naming the absent Simulator (times): {named}"
    for part in (
        "the offers, the tiers, unbundling, and price. The analysts' pages",
        "calibrated shares side by side).",
        "Offers / Tiers / Unbundling",
        "Design & quality / Diagnostics",
    ):
        assert part in text, f"Summary lacks {part!r}: {text}"


def test_the_summarys_guide_names_real_pages_in_the_workbooks_order_and_audience() -> None:
    """Every page the Summary's guide names is a sheet the workbook can have; its leadership
    rows list leadership pages and its analyst rows analyst pages, each in workbook order; with
    every optional page present, every page but the Summary is in the guide."""
    from reports.workbook.context import _Ctx
    from reports.workbook.spec import audience, sheet_order
    from reports.workbook.summary import _GUIDE, _where_to_find

    every = sheet_order(live=True, waves=True, campaign=True, segments=True)
    section, named = "", []
    for heading, pages, _ in _GUIDE:
        if heading:
            section = "leadership" if heading.startswith("Leadership") else "analyst"
        for page in pages:
            assert page in every, f"the guide names {page!r}, not a sheet: {every}"
            assert audience(page) == section, (
                f"{page!r} is a {audience(page)} page, listed {section}"
            )
            named.append(page)
    assert named == sorted(named, key=every.index), f"guide order {named} != workbook's {every}"
    missing = set(every) - set(named) - {"Summary", "Utilities", "Levels"}
    assert not missing, f"pages the guide leaves out: {sorted(missing)}"
    ctx = _Ctx(data=None, currency="EUR", money="EUR")  # type: ignore[arg-type]
    ctx.pages = tuple(every)
    rows = [r[0] for r in _where_to_find(ctx)]
    for page in ("Segments", "Campaign", "Wave comparison"):
        assert page in rows, f"{page} missing from the guide: {rows}"
    ctx.pages = tuple(sheet_order(live=False))
    rows = [r[0] for r in _where_to_find(ctx)]
    assert not {"Segments", "Campaign", "Wave comparison", "Simulator"} & set(rows), rows
