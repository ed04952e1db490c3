"""A live market simulator inside the workbook that agrees with the decision page.

Three sheets, written from a :class:`~reports.live_sample.LiveSample` (a stored sample of the
posterior draws of every respondent's part-worths, calibrated as the decision was):

* ``Simulator``: the page the reader uses. One column per product (ours first, then today's
  products the recommendation takes off the market, switched off, then the competitors); for
  each, whether it is on the market and its level of every attribute (dropdowns over the tested
  levels; numeric attributes such as the price take any number in the tested range); a filter
  by segment (the main reason for leaving, by default). Below, recalculated by the formulas:
  every product's share (calibrated, or stated preference, as the decision's) with its band over
  the stored draws; our products together: share, customers, revenue and profit per year (with
  ``[business]``; the objective per lost customer without), each with its band and the Monte
  Carlo error of the stored sample; the decision page's figures of the opening scenario beside
  them; the business settings the formulas use.
* ``Utilities`` (hidden): one row per stored draw and respondent, and the per-draw block
  (:mod:`reports.live_tables`).
* ``Levels`` (hidden): the dropdown lists, the encoding and cost tables, the products' design
  rows, the respondents with their segment and weight.

It opens on the recommended action (the offer, the tier menu or the entry menu in place of
today's product). Recalculated (Excel, LibreOffice or the ``formulas`` package) its figures
equal :meth:`LiveSample.figures` (``analysis`` on the stored draws) to rounding, and the
decision page's within the Monte Carlo error shown (tested). Every text cell from a study or
respondent is written as text, never as a formula (:mod:`reports.live_text`).

Examples
--------
>>> from openpyxl import Workbook
>>> wb = Workbook()
>>> add_live_simulator(wb, make_live_sample(draws, market))  # doctest: +SKIP
>>> wb.save("simulator.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from analysis.simulator import Market, PartWorthDraws, encode_products
from conjoint.encoding import require_additive
from reports.live_layout import LEVELS, SIMULATOR, UTILITIES, LiveLayout, cell, col, span
from reports.live_sample import ALL, LiveSample, make_live_sample
from reports.live_tables import write_levels, write_utilities
from reports.live_text import (
    EXCEL_CELL_MAX,
    _escape,
    cut_marker,
    excel_text,
    read_excel_text,
    set_text,
)
from winback.errors import WinbackError
from winback.settings import band_label
from winback.study import format_level

__all__ = [
    "CALIBRATED_LABEL",
    "EXCEL_CELL_MAX",
    "SHARE_LABEL",
    "_escape",
    "add_live_simulator",
    "cut_marker",
    "excel_text",
    "read_excel_text",
    "set_text",
]

#: the label of the Simulator's share row for a run without calibration
SHARE_LABEL = "Stated preference share"
#: ... and for a calibrated run
CALIBRATED_LABEL = "Calibrated share"

_BLUE = "1F4E79"
_TITLE = Font(bold=True, size=16, color=_BLUE)
_HEADING = Font(bold=True, size=12, color=_BLUE)
_BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="595959")
_INPUT = PatternFill("solid", fgColor="FFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")
PCT = "0.0%"
INT = "#,##0"


def _money(currency: str, decimals: int) -> str:
    fmt = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f'{fmt} "{currency}"' if re.fullmatch(r"[A-Za-z]{1,5}", currency or "") else fmt


def _level_value(attr: Any, v: Any) -> Any:
    return float(v) if attr.numeric else str(attr.levels[attr.index_of(v)])


def add_live_simulator(
    wb: Any,
    sample: LiveSample | PartWorthDraws,
    market: Market | None = None,
    *,
    title: str = "What if? The market simulator",
) -> LiveLayout:
    """Add the ``Simulator``, ``Utilities`` and ``Levels`` sheets to an openpyxl workbook.

    Parameters
    ----------
    wb : openpyxl Workbook
    sample : LiveSample or PartWorthDraws
        The stored sample (:func:`reports.live_sample.make_live_sample`); part-worth draws
        are taken as they are (stated preference shares, opening on ``market``).
    market : Market, optional
        Today's market, needed with part-worth draws only.
    title : str

    Returns
    -------
    LiveLayout
        Where every input and result cell is.

    Raises
    ------
    WinbackError
        Part-worths of another study, a level the study does not have, or a market that
        extrapolates beyond the tested range.
    """
    if isinstance(sample, PartWorthDraws):
        if market is None:
            raise WinbackError("add_live_simulator: part-worth draws need today's market.")
        sample = make_live_sample(sample, market)
    if sample.today.extrapolate:
        raise WinbackError("The live simulator sheet keeps numeric levels inside the tested range.")
    require_additive(sample.study, "The live simulator sheet")
    encode_products(sample.study, sample.products)  # every level checked up front
    lay = LiveLayout.of(sample)
    ut = wb.create_sheet(UTILITIES)
    lv = wb.create_sheet(LEVELS)
    ws = wb.create_sheet(SIMULATOR, 0)
    write_levels(lv, sample, lay)
    write_utilities(ut, sample, lay)
    _write_simulator(ws, sample, lay, title)
    lv.sheet_state = "hidden"
    ut.sheet_state = "hidden"
    ut.freeze_panes = "C2"
    return lay


def _words(sample: LiveSample) -> dict[str, str]:
    """The labels of the sheet, by what the shares are."""
    cal = sample.calibration
    if cal is not None:
        c = cal.calibration
        observed = ", ".join(f"{k} {v:.1%}" for k, v in c.observed)
        what = (
            f"calibrated to the observed {observed} among {c.n:,} lost customers"
            + (f" ({c.source})" if c.source else "")
            + (
                f"; availability {c.availability:.0%}: the share of lost customers the offer "
                "reaches (the others stay away)"
                if c.availability < 1
                else ""
            )
        )
        return {
            "share": CALIBRATED_LABEL,
            "kind": "calibrated shares among all lost customers",
            "basis": f"Calibrated shares: the survey's stated preferences {what}.",
            "customers": "Customers won back (N x calibrated share)",
            "profit": "Profit per year (after incentives and contact costs)",
        }
    return {
        "share": SHARE_LABEL,
        "kind": "stated preference shares",
        "basis": (
            "Stated preference shares: what the lost customers surveyed chose between offers, "
            "not calibrated to observed behaviour (real take-up is usually lower)."
        ),
        "customers": "Customers choosing our offers (N x stated preference share)",
        "profit": "Profit per year at stated preference shares",
    }


def _write_simulator(ws: Any, sample: LiveSample, lay: LiveLayout, title: str) -> None:
    study = sample.study
    words = _words(sample)
    currency = study.currency
    n_p = lay.n_products
    last_col = lay.none_col if lay.none else lay.none_col - 1
    width = max(last_col, 5)

    def text(r: int, c: int, value: str, font: Font | None = None, *, wrap: bool = False) -> Any:
        x = ws.cell(r, c)
        set_text(x, value)
        if font is not None:
            x.font = font
        if wrap:
            x.alignment = _WRAP
            ws.merge_cells(start_row=r, start_column=c, end_row=r, end_column=width)
        return x

    text(1, 1, title, _TITLE)
    text(
        2,
        1,
        "Change our offers' levels and prices in the yellow cells (and which products are on "
        "the market, and which lost customers are in view): every figure below recalculates "
        f"from {sample.n_draws:,} stored posterior draws of each of the "
        f"{sample.draws.n_respondents:,} respondents' part-worths. {words['basis']}",
        wrap=True,
    )
    ws.row_dimensions[2].height = 62
    text(3, 1, sample.note, wrap=True)
    ws.row_dimensions[3].height = 32

    # who is in view
    text(lay.segment_row, 1, "Lost customers in view", _BOLD)
    seg = ws.cell(lay.segment_row, 2)
    set_text(seg, ALL)
    if sample.segments:
        seg.fill = _INPUT
        n_seg = 1 + len(set(sample.segments))
        dv = DataValidation(
            type="list",
            formula1=f"={span(2, lay.segment_list_row, 1 + n_seg, lay.segment_list_row, LEVELS)}",
            allow_blank=False,
            showErrorMessage=True,
            error="Pick all lost customers or one segment from the list",
        )
        ws.add_data_validation(dv)
        dv.add(seg)
        text(lay.segment_row, 3, f"(filter by {str(sample.segment).replace('_', ' ')})", _NOTE)
    text(lay.n_view_row, 1, f"Respondents in view (of {sample.draws.n_respondents:,})")
    ws.cell(lay.n_view_row, 2, f"={lay.count_cell}").number_format = INT
    if lay.money:
        text(lay.n_view_row + 1, 1, "Lost customers in scope (N x their share of respondents)")
        n = cell(2, lay.business_rows["lost_customers"])
        ws.cell(lay.n_view_row + 1, 2, f"={n}*{lay.weight_sum_cell}").number_format = INT

    # the products and their levels
    text(lay.head_row, 1, "Product", _BOLD)
    text(lay.on_row, 1, "On the market")
    text(lay.ours_row, 1, "Ours")
    on_dv = DataValidation(type="list", formula1='"Yes,No"', allow_blank=False)
    ws.add_data_validation(on_dv)
    for p, prod in enumerate(sample.products):
        c = lay.product_col(p)
        text(lay.head_row, c, prod.name, _BOLD).alignment = _WRAP
        on = ws.cell(lay.on_row, c, "Yes" if sample.on[p] else "No")
        on.fill = _INPUT
        on_dv.add(on)
        ws.cell(lay.ours_row, c, "Yes" if prod.own else "No")
    if lay.none:
        text(
            lay.head_row, lay.none_col, "None of these (stay where they are)", _BOLD
        ).alignment = _WRAP
    ws.row_dimensions[lay.head_row].height = 32
    for a, attr in enumerate(study.attributes):
        r = lay.attr_row(a)
        text(r, 1, attr.display + (f" ({attr.unit})" if attr.unit else ""))
        if attr.numeric:
            lo = min(float(v) for v in attr.levels)
            hi = max(float(v) for v in attr.levels)
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1=str(lo),
                formula2=str(hi),
                allow_blank=False,
                showErrorMessage=True,
                error=f"{attr.display}: a number from {format_level(lo)} to {format_level(hi)}",
            )
        else:
            lst = span(2, lay.list_row(a), 1 + attr.n_levels, lay.list_row(a), LEVELS)
            dv = DataValidation(type="list", formula1=f"={lst}", allow_blank=False)
            dv.error = f"Pick one of the tested levels of {attr.display}"
            dv.showErrorMessage = True
        ws.add_data_validation(dv)
        for p, prod in enumerate(sample.products):
            x = ws.cell(r, lay.product_col(p))
            set_text(x, _level_value(attr, prod.levels[attr.name]))
            x.fill = _INPUT
            if attr.name == study.price_attribute:
                x.number_format = _money(currency, 2)
            dv.add(x)
    if lay.money:
        _margins(ws, sample, lay, text)

    # the shares of every product, with their bands
    lo = (1.0 - sample.band) / 2.0
    bl = band_label(sample.band)
    text(lay.share_row, 1, f"{words['share']} (mean over the stored draws)", _BOLD)
    text(lay.lower_row, 1, f"lower end of the {bl}")
    text(lay.upper_row, 1, f"upper end of the {bl}")
    cols = [(lay.product_col(p), lay.draw_share_col(p)) for p in range(n_p)]
    if lay.none:
        cols.append((lay.none_col, lay.draw_none_col))
    for c, dc in cols:
        rng = lay.draw_range(dc)
        for r, f in (
            (lay.share_row, f"=AVERAGE({rng})"),
            (lay.lower_row, f"=PERCENTILE({rng},{lo!r})"),
            (lay.upper_row, f"=PERCENTILE({rng},{1.0 - lo!r})"),
        ):
            ws.cell(r, c, f).number_format = PCT

    # our products together, and the decision page beside
    first = min(lay.total_rows.values()) - 1
    text(first, 1, "Our products together", _HEADING)
    for c, h in enumerate(("mean", f"{bl}: lower", f"{bl}: upper", "Monte Carlo error (±)"), 2):
        text(first, c, h, _BOLD)
    labels = {
        "own": f"{words['share']}, our products together",
        "customers": words["customers"],
        "revenue_year": "Revenue per year",
        "profit_year": words["profit"],
        "value": _objective_label(sample.objective, currency),
    }
    fmts = {
        "own": PCT,
        "customers": INT,
        "revenue_year": _money(currency, 0),
        "profit_year": _money(currency, 0),
        "value": PCT if sample.objective == "share" else _money(currency, 2),
    }
    s, d = sample.n_draws, sample.n_posterior
    for key, r in lay.total_rows.items():
        text(r, 1, labels[key])
        dc = lay.draw_measure_col(key)
        rng = lay.draw_range(dc)
        r0, r1 = lay.draw_rows
        if s >= d or s < 2:
            mc = "=0"
        else:
            a0, a1 = f"{col(dc)}{r0}:{col(dc)}{r1 - 1}", f"{col(dc)}{r0 + 1}:{col(dc)}{r1}"
            mc = (
                f"=2*SQRT({1.0 - s / d!r}*SUMPRODUCT(({UTILITIES}!{a1}-{UTILITIES}!{a0})^2)"
                f"/{2 * s * (s - 1)})"
            )
        for c, f in enumerate(
            (
                f"=AVERAGE({rng})",
                f"=PERCENTILE({rng},{lo!r})",
                f"=PERCENTILE({rng},{1.0 - lo!r})",
                mc,
            ),
            2,
        ):
            ws.cell(r, c, f).number_format = fmts[key]
    first = min(lay.decision_rows.values()) - 1
    text(first, 1, f"On the decision page: {sample.scenario}", _HEADING)
    text(first, 2, f"(all {d:,} posterior draws; fixed, for comparison)", _NOTE)
    for key, r in lay.decision_rows.items():
        text(r, 1, labels[key])
        for c, suffix in enumerate(("", "_lower", "_upper"), 2):
            v = sample.full.get(key + suffix)
            if v is not None:
                ws.cell(r, c, float(v)).number_format = fmts[key]

    _business(ws, sample, lay, text)
    _notes(ws, sample, lay, text)
    # one A4 landscape page wide at 9 pt or more: narrow columns, long level names wrap
    ws.column_dimensions["A"].width = 34
    for c in range(2, width + 1):
        ws.column_dimensions[col(c)].width = 14
    for row in ws.iter_rows(min_col=2, max_col=width):
        for x in row:
            if isinstance(x.value, str) and not str(x.value).startswith("=") and len(x.value) > 13:
                a = x.alignment
                x.alignment = Alignment(
                    horizontal=a.horizontal, vertical=a.vertical, wrap_text=True
                )
    ws.print_area = f"A1:{col(width)}{ws.max_row}"


def _objective_label(objective: str, currency: str) -> str:
    return {
        "share": "Share of lost customers choosing our products",
        "revenue": f"Revenue per lost customer per month ({currency})",
        "profit": f"Profit per lost customer per month, price - cost ({currency})",
    }.get(objective, objective)


def _margins(ws: Any, sample: LiveSample, lay: LiveLayout, text: Any) -> None:
    """Our products' monthly margin: ``[business] margin`` when it names the product, else the
    price minus the unit cost of the levels picked (the study's ``[costs]``)."""
    study = sample.study
    business = study.business
    assert business is not None
    text(lay.margin_row, 1, "Monthly margin (ours: price - cost, or as given)")
    pa = study.price_attribute
    for p, prod in enumerate(sample.products):
        if not prod.own:
            continue
        c = lay.product_col(p)
        given = business.margin_of(prod.name)
        if given is not None:
            x = ws.cell(lay.margin_row, c, float(given))
        elif pa is not None and study.costs is not None:
            price = cell(c, lay.attr_row(study.attribute_names.index(pa)))
            x = ws.cell(
                lay.margin_row, c, f"={price}-{cell(lay.unit_cost_col, lay.product_row(p), LEVELS)}"
            )
        else:
            raise WinbackError(
                f"no monthly margin for '{prod.name}': give it in [business] margin or give the "
                "study [costs] and a price attribute."
            )
        x.number_format = _money(study.currency, 2)


def _business(ws: Any, sample: LiveSample, lay: LiveLayout, text: Any) -> None:
    rows = lay.business_rows
    first = min(rows.values()) - 1
    text(first, 1, "Settings the formulas use (the study file's)", _HEADING)
    b = sample.study.business
    cur = sample.study.currency
    values: dict[str, tuple[str, float, str]] = {}
    if b is not None and lay.money:
        values = {
            "lost_customers": ("Lost customers in scope (N)", float(b.lost_customers), INT),
            "months_retained": (
                f"Months a returning customer pays within {b.horizon_months} months",
                float(b.months_retained),
                "0.00",
            ),
            "horizon_months": ("Horizon (months)", float(b.horizon_months), "0"),
            "incentive": ("Incentive per returning customer", float(b.incentive), _money(cur, 2)),
            "contact_cost": (
                "Contact cost per lost customer reached",
                float(b.contact_cost),
                _money(cur, 2),
            ),
        }
    values["reach"] = (
        "Share of lost customers the offer reaches (availability)"
        if sample.calibration is not None
        else "Share of lost customers the offer reaches (1: stated preference shares)",
        float(sample.reach),
        "0%",
    )
    for key, r in rows.items():
        label, v, fmt = values[key]
        text(r, 1, label)
        ws.cell(r, 2, v).number_format = fmt


def _notes(ws: Any, sample: LiveSample, lay: LiveLayout, text: Any) -> None:
    r = lay.notes_row
    text(r, 1, "How this sheet computes", _HEADING)
    s, d = sample.n_draws, sample.n_posterior
    lines = [
        f"Every share is of the kind the decision page shows ({_words(sample)['kind']}), "
        f"computed on "
        f"{s:,} of the {d:,} posterior draws of every respondent's part-worths (the hidden "
        "sheets Utilities and Levels; unhide them to audit). For each draw and respondent the "
        "logit rule gives the probability of every product and of none"
        + (
            "; the part-worths are calibrated on each draw exactly as the decision's (times "
            "the draw's scale, none shifted), and our products' shares are times the "
            "availability."
            if sample.calibration is not None
            else "."
        ),
        "A share is the weighted mean over the respondents in view; the figures are the mean "
        f"over the stored draws and their {band_label(sample.band)} the "
        f"{(1 - sample.band) / 2:.0%} and {(1 + sample.band) / 2:.0%} points over them.",
        "The stored draws are a stratified sample: all posterior draws sorted by the "
        "recommendation's value, cut into equal groups, one draw from each. The Monte Carlo "
        "error (two standard errors of the stored sample's mean against all posterior draws) "
        "is estimated from the stored draws for whatever is on the sheet; on opening the sheet "
        "agrees with the decision page within it.",
    ]
    if sample.study.business is not None and lay.money:
        lines.append(
            "Customers = N x share; profit per year = (customers x (margin x months paid - "
            "incentive) - contact cost x N x reach) x 12 / horizon (docs/decision.md)."
        )
    lines += list(sample.notes)
    for i, line in enumerate(lines, start=1):
        x = text(r + i, 1, line, wrap=True)
        x.font = _NOTE
        ws.row_dimensions[r + i].height = 46
