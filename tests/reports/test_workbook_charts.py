"""Issue 17's charts of the recommendation, checked in the file: the recommended action's
source of volume equals ``decision_sources.csv``, the price curves mark today's price at the
market's price and agree with the decision, and the one WTP of the leadership page is the
analyst sheet's row for that change. Cells are read with ``read_only`` (fast); charts from the
file's XML."""

from __future__ import annotations

import re
import tomllib
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.workbook.recommendation import SOURCE_WORDS


@pytest.fixture(scope="module")
def sheets(report) -> dict[str, list[tuple]]:
    wb = load_workbook(report, read_only=True, data_only=True)
    names = ("Source of volume", "Price curves", "Importances", "WTP")
    out = {n: [tuple(r) for r in wb[n].iter_rows(values_only=True)] for n in names}
    wb.close()
    return out


def _row(rows: list[tuple], first: str) -> tuple:
    hit = [r for r in rows if r and r[0] == first]
    assert hit, f"no row {first!r}: {[r[0] for r in rows if r and r[0]][:30]}"
    return hit[0]


def test_recommended_sources_equal_decision_sources(sheets, run_folder) -> None:
    d = pd.read_csv(run_folder / "recommend" / "decision.csv")
    action = str(d.loc[d["recommended"].astype(bool), "action"].iloc[0])
    src = pd.read_csv(run_folder / "recommend" / "decision_sources.csv")
    mine = src[src["action"] == action]
    assert len(mine) == 5, mine
    rows = sheets["Source of volume"]
    assert any(action in str(r[0]) for r in rows[:2] if r), f"no {action!r} in the title"
    for _, r in mine.iterrows():
        got = _row(rows, SOURCE_WORDS[r["kind"]])[1:4]
        want = (r["value"], r["lower"], r["upper"])
        assert got == pytest.approx(want, rel=1e-9), f"{r['kind']}: sheet {got}, csv {want}"


def _chart_series(report) -> list[dict[str, str]]:
    """Every chart series of the workbook: its title and its x and y cell ranges."""
    out = []
    with zipfile.ZipFile(report) as z:
        for name in z.namelist():
            if not re.fullmatch(r"xl/charts/chart\d+\.xml", name):
                continue
            xml = z.read(name).decode("utf-8")
            xml = re.sub(r"<(/?)c:", r"<\1", xml)  # with or without the namespace prefix
            for ser in re.findall(r"<ser>(.*?)</ser>", xml, flags=re.S):
                title = re.search(r"<tx>.*?<v>(.*?)</v>", ser, flags=re.S)
                refs = dict(re.findall(r"<(xVal|yVal)>.*?<f>(.*?)</f>", ser, flags=re.S))
                out.append({"title": title.group(1) if title else "", **refs})
    return out


def _cells(rows: list[tuple], ref: str) -> list[float]:
    m = re.fullmatch(r"'?(.+?)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)", ref)
    assert m, ref
    col = ord(m.group(2)) - ord("A")
    return [rows[r - 1][col] for r in range(int(m.group(3)), int(m.group(5)) + 1)]


def test_todays_price_marker_sits_at_the_market_price(sheets, report, run_folder) -> None:
    market = tomllib.loads((run_folder / "market.toml").read_text("utf-8"))
    price = next(p["price"] for p in market["products"] if p.get("own"))
    marks = [s for s in _chart_series(report) if s["title"] == "today's price"]
    assert len(marks) == 3, f"a today's-price line per chart (customers, revenue, profit): {marks}"
    rows = sheets["Price curves"]
    for s in marks:
        assert s["xVal"].startswith("'Price curves'!"), s
        xs = _cells(rows, s["xVal"])
        assert xs == [price, price], f"today's price line at {xs}, the market's price {price}"
    # the curve at the recommended price is the decision's figure (stored draws: within 3%)
    d = pd.read_csv(run_folder / "recommend" / "decision.csv")
    b = d[d["recommended"].astype(bool)].iloc[0]
    rec = next(s for s in _chart_series(report) if s["title"] == "recommended price")
    p_rec = _cells(rows, rec["xVal"])[0]
    at = [r for r in rows if r and r[0] == p_rec and isinstance(r[1], float)]
    assert at, f"no row at the recommended price {p_rec}"
    got = at[0][1]
    assert got == pytest.approx(b["customers"], rel=0.03), (
        f"customers at the recommended price {got:,.0f}, decision {b['customers']:,.0f}"
    )


def test_leadership_wtp_is_the_analyst_sheet_row(sheets) -> None:
    lead = [r for r in sheets["Importances"] if r and isinstance(r[0], str) and ": " in r[0]
            and " to " in r[0] and isinstance(r[1], float)]  # fmt: skip
    assert len(lead) == 1, lead
    change, wtp, lower, upper = lead[0][:4]
    label, levels = change.split(": ", 1)
    old, new = levels.split(" to ", 1)
    rows = sheets["WTP"]
    header = next(r for r in rows if r and "method" in r)
    i = {name: j for j, name in enumerate(header) if name}
    hit = [r for r in rows if len(r) > i["method"] and r[i["method"]] == "ratio"
           and r[i["attribute"]] == label and r[i["from (today)"]] == old
           and r[i["to"]] == new]  # fmt: skip
    assert len(hit) == 1, f"no ratio row for {change!r} on the WTP sheet"
    want = (hit[0][i["willingness to pay"]], hit[0][i["band from"]], hit[0][i["band to"]])
    assert (wtp, lower, upper) == pytest.approx(want), f"leadership {wtp, lower, upper}, {want}"
    sentence = " ".join(str(r[0]) for r in sheets["Importances"] if r and r[0])
    assert f"about EUR {wtp:,.2f} per month more" in sentence, sentence[-600:]
    assert "Why the three methods differ" in [r[0] for r in rows if r], "no explanation"


def test_embedded_figures_print_their_text_at_9_points_or_more() -> None:
    """A leadership page prints at no less than 9/11 of its size, so an embedded figure's text
    is at least 11 pt at the size it is embedded (matplotlib's 'small' legend and tick labels
    included)."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from openpyxl import Workbook

    from reports.workbook.images import MIN_FIGURE_POINTS, add_figure
    from reports.workbook.spec import MIN_PRINT_SCALE

    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([1, 2], [3, 4], label="a line")
    ax.legend(fontsize="small")
    ax.tick_params(labelsize=7)
    add_figure(Workbook().active, fig, "A1", 16.0)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    printed = min(sizes) * MIN_PRINT_SCALE
    assert min(sizes) >= MIN_FIGURE_POINTS and printed >= 9 - 1e-9, (sorted(set(sizes)), printed)
