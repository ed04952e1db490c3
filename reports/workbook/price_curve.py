"""The recommended action against its price: customers, revenue and profit with bands.

:func:`recommended_price_curve` moves the price of the recommended action's lead product (the
offer, or the product of a menu with the most takers, the others held at their recommended
prices) across the study's tested prices and computes, on the live simulator's stored draws
(:class:`reports.live_sample.LiveSample`, the same draws and calibration as the ``Simulator``
sheet), the figures of the decision's scale: customers won back, revenue and profit per year
with ``[business]``; else our share and revenue and profit per lost customer (profit only with
``[costs]``). :func:`price_page` writes them at the top of the ``Price curves`` page: a short
table at the tested prices, then one native chart per measure with its band (dashed lines) and
two vertical lines, today's price (the market's price of the product the action replaces) and
the recommended price; the chart data follow below the printed part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.chart.legend import Legend, LegendEntry

from analysis.offers.objectives import price_of, unit_cost
from analysis.simulator import Market
from reports.live_layout import SIMULATOR
from reports.live_sample import LiveSample
from reports.workbook.context import _Ctx, _label
from reports.workbook.styles import (
    INT,
    PCT,
    _chart_style,
    _chart_text,
    _Sheet,
    chart_title,
    span_anchor,
)
from winback.errors import WinbackError
from winback.settings import band_label

__all__ = ["PriceCurve", "price_page", "recommended_price_curve"]

#: price points across the tested range (every 2 EUR for 35 to 75)
N_POINTS = 21
#: rows each chart spans below the table (about 10 cm)
CHART_ROWS = 17
#: measures on the decision's scale (with ``[business]``) and per lost customer (without)
_YEAR = ("customers", "revenue_year", "profit_year")
_PER = ("share", "revenue", "profit")


@dataclass(frozen=True)
class PriceCurve:
    """The recommended action's figures over the price of its lead product.

    Attributes
    ----------
    table : DataFrame
        ``price`` and, per measure, ``<measure>, <measure>_lower, <measure>_upper`` (mean and
        band over the stored draws); measures ``customers, revenue_year, profit_year`` with
        ``[business]``, else ``share, revenue, profit`` (per lost customer).
    product : str
        The product whose price moves.
    action : str
        The recommended action.
    today_price, recommended_price : float
        The market's price of the product the action replaces, and the lead product's price
        in the recommendation.
    per_year : bool
        Measures per year (``[business]``) or per lost customer.
    no_profit : str or None
        Why profit could not be computed (None when it is there).
    basis : str
        ``calibrated`` or ``stated``.
    n_draws, band : int, float
    """

    table: pd.DataFrame
    product: str
    action: str
    today_price: float
    recommended_price: float
    per_year: bool
    no_profit: str | None
    basis: str
    n_draws: int
    band: float

    @property
    def measures(self) -> tuple[str, ...]:
        all_ = _YEAR if self.per_year else _PER
        return tuple(m for m in all_ if m in self.table.columns)


def _prices(sample: LiveSample, extra: tuple[float, ...]) -> np.ndarray:
    pa = sample.study.attribute(str(sample.study.price_attribute))
    lv = sorted(float(v) for v in pa.levels)
    grid = np.linspace(lv[0], lv[-1], N_POINTS)
    keep = [p for p in extra if lv[0] <= p <= lv[-1]]
    return np.unique(np.round(np.concatenate([grid, lv, keep]), 10))


def _band(x: np.ndarray, band: float) -> tuple[float, float, float]:
    lo = (1.0 - band) / 2.0
    return float(x.mean()), float(np.quantile(x, lo)), float(np.quantile(x, 1.0 - lo))


def recommended_price_curve(sample: LiveSample) -> PriceCurve | None:
    """The recommended action's customers, revenue and profit over its lead product's price.

    Returns None when the study has no price attribute or the action has no own product
    (today's offer kept, no campaign and today's market without own products still get a
    curve: today's own product is then the lead).

    Examples
    --------
    >>> curve = recommended_price_curve(data.simulator_draws)  # doctest: +SKIP
    >>> curve.table.loc[curve.table["price"] == curve.today_price, "customers"]  # doctest: +SKIP
    """
    study = sample.study
    if study.price_attribute is None:
        return None
    price = str(study.price_attribute)
    market = sample.market()
    own = [j for j, p in enumerate(market.products) if p.own]
    if not own:
        return None
    no_money: str | None = None
    try:
        base = sample.figures(market)
    except WinbackError as exc:  # [business] without a margin for a product: per lost customer
        no_money = str(exc)
        sample = replace(sample, draws=replace(sample.draws, study=replace(study, business=None)))
        base = sample.figures(market)
    lead = max(own, key=lambda j: float(base["shares"][:, j].mean()))
    prod = market.products[lead]
    replaced = [p for p, on in zip(sample.products, sample.on, strict=True) if p.own and not on]
    today_price = price_of(study, replaced[0] if replaced else prod)
    rec_price = price_of(study, prod)
    per_year = "customers" in base
    rows = []
    for p in _prices(sample, (today_price, rec_price)):
        levels: dict[str, dict[str, float]] = {prod.name: {price: float(p)}}
        m = sample.market(None, **levels)
        f = sample.figures(m)
        draws = {k: f[k] for k in _YEAR} if per_year else _per_customer(sample, m, f["shares"])
        row: dict[str, float] = {"price": float(p)}
        for key, x in draws.items():
            row[key], row[f"{key}_lower"], row[f"{key}_upper"] = _band(x, sample.band)
        rows.append(row)
    table = pd.DataFrame(rows)
    no_profit = None
    if not per_year and "profit" not in table.columns:
        no_profit = (
            "Profit cannot be computed: the study has no [costs] (the unit cost of each level), "
            "so only demand and revenue are shown"
        )
        if no_money:
            no_profit += f" ({no_money})"
        no_profit += "."
    return PriceCurve(
        table=table,
        product=prod.name,
        action=sample.scenario,
        today_price=today_price,
        recommended_price=rec_price,
        per_year=per_year,
        no_profit=no_profit,
        basis=sample.basis,
        n_draws=sample.n_draws,
        band=sample.band,
    )


def _per_customer(sample: LiveSample, market: Market, shares: np.ndarray) -> dict[str, np.ndarray]:
    """Our share, revenue and profit per lost customer on every stored draw (no [business]):
    the shares as the decision computes them (calibrated ones with the availability applied);
    profit only when every own product has a unit cost (the study's [costs])."""
    study = sample.study
    n = shares.shape[0]
    out = {"share": np.zeros(n), "revenue": np.zeros(n)}
    profit: np.ndarray | None = np.zeros(n)
    for j, p in enumerate(market.products):
        if not p.own:
            continue
        pr = price_of(study, p)
        cost = unit_cost(study, p.levels, market.extrapolate)
        out["share"] += shares[:, j]
        out["revenue"] += shares[:, j] * pr
        if profit is not None and math.isfinite(cost):
            profit += shares[:, j] * (pr - cost)
        else:
            profit = None
    if profit is not None:
        out["profit"] = profit
    return out


# -- the page -----------------------------------------------------------------------------------

_BLUE, _LIGHT, _RED, _GREEN = "1F4E79", "5B9BD5", "C00000", "548235"


def _words(curve: PriceCurve, ctx: _Ctx) -> dict[str, tuple[str, str]]:
    """Each measure's column header (with its basis) and its number format."""
    basis = (
        "calibrated to observed take-up" if curve.basis == "calibrated" else "stated preferences"
    )
    unit = f"{ctx.currency or 'money'}/year"
    if curve.per_year:
        who = "customers won back" if curve.basis == "calibrated" else "customers choosing us"
        return {
            "customers": (f"{who} ({basis})", INT),
            "revenue_year": (f"revenue ({unit})", INT),
            "profit_year": (f"profit ({unit})", INT),
        }
    return {
        "share": (f"our share of lost customers ({basis})", PCT),
        "revenue": ("revenue per lost customer", ctx.money),
        "profit": ("profit per lost customer", ctx.money),
    }


def _axis_format(values: pd.Series) -> str:
    top = float(np.nanmax(np.abs(values.to_numpy(dtype=float)))) if len(values) else 0.0
    if top >= 1e6:
        return '0.0,,"m"'
    if top >= 1e4:
        return '#,##0,"k"'
    return "#,##0"


def _line(series: Series, color: str, *, dash: str | None = None, width: int = 28575) -> None:
    series.marker.symbol = "none"
    series.smooth = False
    series.graphicalProperties.line.solidFill = color
    series.graphicalProperties.line.width = width
    if dash:
        series.graphicalProperties.line.dashStyle = dash


def _chart(
    s: _Sheet, *, x: Reference, cols: dict[str, int], header: int, last: int,
    marks: tuple[int, int, int], title: str, band: str, x_title: str, fmt: str,
) -> ScatterChart:  # fmt: skip
    """One measure against price: the mean, its band (dashed), today's and the recommended
    price as vertical lines (``marks``: the markers table's header row, its x column and this
    measure's y column)."""
    ch = ScatterChart()
    _chart_style(ch, title, None, None)
    ch.title = chart_title(title, size=12)
    ch.x_axis.title = chart_title(x_title, size=11)
    ch.scatterStyle = "lineMarker"
    for key, color, dash, name in (("mean", _BLUE, None, "expected"),
                                   ("lower", _LIGHT, "dash", band),
                                   ("upper", _LIGHT, "dash", f"{band} to")):  # fmt: skip
        ref = Reference(s.ws, min_col=cols[key], min_row=header + 1, max_row=last)
        ser = Series(ref, x, title=name)
        _line(ser, color, dash=dash, width=28575 if key == "mean" else 15875)
        ch.series.append(ser)
    mh, mx, my = marks
    for i, (color, dash) in enumerate(((_RED, None), (_GREEN, "sysDash"))):
        r0 = mh + 1 + 2 * i
        xs = Reference(s.ws, min_col=mx, min_row=r0, max_row=r0 + 1)
        ys = Reference(s.ws, min_col=my, min_row=r0, max_row=r0 + 1)
        ser = Series(ys, xs, title=str(s.ws.cell(r0, mx - 1).value))
        _line(ser, color, dash=dash, width=22225)
        ch.series.append(ser)
    ch.y_axis.numFmt = fmt
    ch.x_axis.numFmt = "0"
    ch.x_axis.majorGridlines = None
    # one legend entry for the band (its two lines look the same)
    ch.legend = Legend(
        legendPos="b", txPr=_chart_text(), legendEntry=[LegendEntry(idx=2, delete=True)]
    )
    return ch


def price_page(s: _Sheet, ctx: _Ctx, curve: PriceCurve) -> None:
    """The printed top of the ``Price curves`` page: a reading in words, the figures at the
    tested prices, one chart per measure; the chart data follow (not printed)."""
    data = ctx.data
    t = curve.table
    bl = band_label(curve.band)
    words = _words(curve, ctx)
    price = _label(data, str(data.study.get("price_attribute") or "price")).lower()
    cur = f"{ctx.currency} " if ctx.currency else ""
    others = (
        ""
        if len(t) and curve.product == curve.action
        else (", the action's other products held at their recommended prices")
    )
    # the draws are the live simulator's; its sheet is named only when the workbook has it
    draws = f"the {SIMULATOR} sheet" if ctx.has_page(SIMULATOR) else "the posterior"
    s.title(
        f"Price: {curve.action} against the price of {curve.product}",
        f"The {price} of {curve.product} moved across the tested prices{others}; each figure "
        f"with its {bl} (dashed lines) over the {curve.n_draws} stored draws of {draws}. "
        f"Red line: today's price ({cur}{curve.today_price:,.0f}, the price of the "
        f"offer the customers left); green line: the recommended price "
        f"({cur}{curve.recommended_price:,.0f}). Today's products against their prices and "
        "the price elasticities follow (not printed).",
    )
    at = {p: t.loc[(t["price"] - p).abs().idxmin()] for p in (curve.recommended_price,
                                                              curve.today_price)}  # fmt: skip
    money = "profit_year" if curve.per_year else "profit"
    if money not in t.columns:
        money = "revenue_year" if curve.per_year else "revenue"
    demand = curve.measures[0]
    reading = []
    for label, p in (("the recommended", curve.recommended_price), ("today's", curve.today_price)):
        r = at[p]
        dn, dfmt = words[demand]
        d = f"{r[demand]:,.0f}" if dfmt == INT else f"{r[demand]:.1%}"
        reading.append(
            f"at {label} {cur}{p:,.0f}: {d} {dn.split(' (')[0]}, {money.split('_')[0]} "
            f"{cur}{r[money]:,.0f} ({bl} {cur}{r[money + '_lower']:,.0f} to "
            f"{cur}{r[money + '_upper']:,.0f})"
        )
    s.para(reading[0][0].upper() + reading[0][1:] + "; " + reading[1] + ".", bold=True)
    if curve.no_profit:
        s.para(curve.no_profit, bold=True)
    levels = sorted({*(float(v) for v in _tested(data)), curve.recommended_price,
                     curve.today_price})  # fmt: skip
    short = t[t["price"].round(6).isin([round(v, 6) for v in levels])]
    cols = ["price"]
    labels = {"price": f"{price} of {curve.product}"}
    fmts = {"price": ctx.money}
    for m in curve.measures:
        head, fmt = words[m]
        cols += [m, f"{m}_lower", f"{m}_upper"]
        labels |= {m: head, f"{m}_lower": "from", f"{m}_upper": "to"}
        fmts |= dict.fromkeys((m, f"{m}_lower", f"{m}_upper"), fmt)
    s.table(short[cols], formats=fmts, labels=labels)
    chart_row = s.row
    s.row += CHART_ROWS + 1
    s.end_print()
    # the chart data, not printed: the curve, then the two vertical lines
    s.heading("Chart data: every price point")
    h, first, last = s.table(t[cols], formats=fmts, labels=labels)
    x = Reference(s.ws, min_col=1, min_row=first, max_row=last)
    spans = _spans(len(cols), len(curve.measures))
    mh = s.row
    mark_rows = []
    for name, p in (("today's price", curve.today_price),
                    ("recommended price", curve.recommended_price)):  # fmt: skip
        for end in ("bottom", "top"):
            row = {"line": name, "price": p}
            for m in curve.measures:
                lo = float(min(t[f"{m}_lower"].min(), 0.0))
                hi = float(t[f"{m}_upper"].max())
                row[m] = lo if end == "bottom" else hi
            mark_rows.append(row)
    marks = pd.DataFrame(mark_rows)
    s.table(marks, formats={"price": ctx.money} | {m: words[m][1] for m in curve.measures},
            labels={m: words[m][0] for m in curve.measures})  # fmt: skip
    for i, m in enumerate(curve.measures):
        j = cols.index(m) + 1
        head, _ = words[m]
        ch = _chart(
            s, x=x, cols={"mean": j, "lower": j + 1, "upper": j + 2}, header=h, last=last,
            marks=(mh, 2, 3 + i), title=head.split(" (")[0].capitalize() + " against price",
            band=band_label(curve.band), x_title=f"{price} ({ctx.currency or 'money'})",
            fmt=_axis_format(t[f"{m}_upper"]),
        )  # fmt: skip
        s.ws.add_chart(ch, span_anchor(spans[i], chart_row, spans[i + 1], chart_row + CHART_ROWS))


def _spans(n_cols: int, n: int) -> list[int]:
    """The first column of each of ``n`` charts side by side over the table's ``n_cols``
    columns, and the column after the last: the price column and the first measure's three
    under the first chart, three columns under each other."""
    if n == 1:
        return [1, n_cols + 1]
    first = n_cols - 3 * (n - 1)
    return [1, *(first + 1 + 3 * i for i in range(n - 1)), n_cols + 1]


def _tested(data) -> list[float]:
    price = data.study.get("price_attribute")
    for a in data.study.get("attributes", []):
        if a["name"] == price:
            return [float(v) for v in a["levels"]]
    return []
