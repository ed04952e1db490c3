"""The ``Wave comparison`` sheet: how two survey waves differ, for leadership.

One sheet with a table per topic (part-worths, importances, willingness to pay, reasons for
leaving, the recommended offers), as :func:`winback.waves.compare_waves` makes them: each
quantity in the earlier and the later wave, the difference with its band, the probability that
it rose and a verdict in words; and a bar chart of the part-worth differences with their bands
as error bars. Every text cell is written as text (never a formula).

Examples
--------
>>> from openpyxl import Workbook
>>> from reports.waves_sheet import add_wave_comparison
>>> wb = Workbook()
>>> add_wave_comparison(wb, comparison.tables, band=0.9)  # doctest: +SKIP
>>> wb.save("comparison.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, NumDataSource, NumRef, StrRef
from openpyxl.chart.error_bar import ErrorBars
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.live_sheet import set_text
from winback.errors import WinbackError
from winback.settings import band_label, resolve_band

__all__ = ["SHEET_TITLE", "add_wave_comparison"]

SHEET_TITLE = "Wave comparison"

_TITLES = {
    "partworths": "Part-worths (population means, utility)",
    "importances": "Attribute importances (percent)",
    "wtp": "Willingness to pay over the reference level",
    "reasons": "Reasons for leaving (share of lost customers)",
    "offers": "The recommended offers, simulated for both waves' customers",
}
_KEYS = {
    "parameter": "Parameter",
    "attribute": "Attribute",
    "level": "Level",
    "reference": "Reference",
    "unit": "Unit",
    "reason": "Code",
    "label": "Reason",
    "n_a": "n {a}",
    "n_b": "n {b}",
    "offer": "Offer",
    "levels": "Levels",
    "measure": "Measure",
    "estimate_a": "{a}",
    "estimate_b": "{b}",
    "difference": "Difference",
    "lower": "Band low",
    "upper": "Band high",
    "prob_increase": "P(rose)",
    "verdict": "Verdict",
}
_VALUES = ("estimate_a", "estimate_b", "difference", "lower", "upper")
_NUMBER = {"partworths": "0.000", "importances": "0.0", "wtp": "0.00", "reasons": "0.0%"}


class _ErrorBars(ErrorBars):
    """openpyxl writes ``minus`` before ``plus``; the schema (CT_ErrBars) and Excel want
    ``plus`` first."""

    __elements__ = (
        "errDir",
        "errBarType",
        "errValType",
        "noEndCap",
        "plus",
        "minus",
        "val",
        "spPr",
    )
    # openpyxl's metaclass derives these from the class body: keep the parent's
    __attrs__ = ErrorBars.__attrs__
    __nested__ = ErrorBars.__nested__


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
_ROSE_FILL = PatternFill("solid", fgColor="E2EFDA")
_FELL_FILL = PatternFill("solid", fgColor="FCE4D6")


def _cell_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _fmt(key: str, row: pd.Series, col: str) -> str:
    if col == "prob_increase":
        return "0%"
    if key == "offers":
        return "0.0%" if row.get("measure") == "share" else "0.00"
    if col in ("n_a", "n_b"):
        return "0"
    return _NUMBER.get(key, "0.000")


def add_wave_comparison(
    wb: Any,
    tables: Mapping[str, pd.DataFrame],
    *,
    band: float | None = None,
    title: str = SHEET_TITLE,
    interval: float | None = None,
) -> None:
    """Add the ``Wave comparison`` sheet to an openpyxl workbook.

    Parameters
    ----------
    wb : openpyxl.Workbook
    tables : mapping of str to DataFrame
        ``partworths``, ``importances``, ``wtp``, ``reasons``, ``offers`` (any of them, in
        this order; others after them), each as :func:`analysis.contrasts.contrast_table`
        makes it (``wave_a, wave_b``, key columns, ``estimate_a, estimate_b, difference,
        lower, upper, prob_increase, verdict``).
    band : float, optional
        The bands' probability, stated on the sheet (``interval``: its former name,
        deprecated).
    title : str
        The sheet's name.

    Raises
    ------
    WinbackError
        When the workbook already has a sheet of that name, or a table lacks the contrast
        columns.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> wb = Workbook()
    >>> add_wave_comparison(wb, compare_waves("study").tables)  # doctest: +SKIP
    """
    if title in wb.sheetnames:
        raise WinbackError(f"the workbook already has a sheet '{title}'.")
    need = ("wave_a", "wave_b", "estimate_a", "estimate_b", "difference", "lower", "upper")
    for key, t in tables.items():
        missing = [c for c in need if c not in t.columns]
        if missing:
            raise WinbackError(
                f"table '{key}' lacks the contrast column(s) {', '.join(missing)}; make it with "
                "analysis.contrasts.contrast_table."
            )
    ws = wb.create_sheet(title)
    first = next((t for t in tables.values() if len(t)), None)
    wave_a = str(first["wave_a"].iloc[0]) if first is not None else "A"
    wave_b = str(first["wave_b"].iloc[0]) if first is not None else "B"
    set_text(ws.cell(1, 1), f"Wave comparison: {wave_b} against {wave_a}")
    ws.cell(1, 1).font = Font(bold=True, size=14)
    if interval is not None:
        band = resolve_band(band, interval, where="add_wave_comparison")
    shown = band_label(band) if band is not None else "band"
    set_text(
        ws.cell(2, 1),
        f"Posterior means in each wave, the difference ({wave_b} minus {wave_a}) with its "
        f"{shown}, and the probability that it rose. The waves are independent samples of "
        "lost customers; 'rose' or 'fell' when the band excludes zero.",
    )
    ws.cell(2, 1).alignment = Alignment(wrap_text=False)
    order = [k for k in _TITLES if k in tables] + [k for k in tables if k not in _TITLES]
    row = 4
    widths: dict[int, int] = {}
    chart_rows: tuple[int, int, list[int]] | None = None  # (first row, last row, value cols)
    for key in order:
        t = tables[key]
        set_text(ws.cell(row, 1), _TITLES.get(key, key))
        ws.cell(row, 1).font = Font(bold=True, size=12)
        row += 1
        cols = [c for c in t.columns if c not in ("wave_a", "wave_b")]
        for j, c in enumerate(cols, start=1):
            head = _KEYS.get(c, c).format(a=wave_a, b=wave_b)
            cell = ws.cell(row, j)
            set_text(cell, head)
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
            widths[j] = max(widths.get(j, 0), len(head) + 2)
        row += 1
        start = row
        if t.empty:
            set_text(ws.cell(row, 1), "nothing to compare")
            row += 1
        for _, r in t.iterrows():
            for j, c in enumerate(cols, start=1):
                v = _cell_value(r[c])
                cell = ws.cell(row, j)
                set_text(cell, v)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    cell.number_format = _fmt(key, r, c)
                else:
                    widths[j] = max(widths.get(j, 0), min(len(str(v or "")) + 2, 60))
                if c == "verdict":
                    text = str(v or "")
                    if text.startswith("rose"):
                        cell.fill = _ROSE_FILL
                    elif text.startswith("fell"):
                        cell.fill = _FELL_FILL
            row += 1
        if key == "partworths" and len(t):
            chart_rows = (start, row - 1, [cols.index(c) + 1 for c in ("difference",)])
            label_col = cols.index("parameter") + 1
            lo_col, hi_col = cols.index("lower") + 1, cols.index("upper") + 1
        row += 1
    for j, w in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(w, 60))
    ws.freeze_panes = "A4"
    if chart_rows is not None:
        first_row, last_row, (diff_col,) = chart_rows
        # the bands as error bars need the distances to the band ends: two helper columns
        # (numbers, not formulas) right of every table, hidden
        helper = max(widths) + 2
        set_text(ws.cell(first_row - 1, helper), "below")
        set_text(ws.cell(first_row - 1, helper + 1), "above")
        for i in range(first_row, last_row + 1):
            d, lo, hi = (ws.cell(i, c).value for c in (diff_col, lo_col, hi_col))
            ok = all(isinstance(x, int | float) for x in (d, lo, hi))
            ws.cell(i, helper).value = float(d - lo) if ok else None
            ws.cell(i, helper + 1).value = float(hi - d) if ok else None
        for c in (helper, helper + 1):
            ws.column_dimensions[get_column_letter(c)].hidden = True
        chart = BarChart()
        chart.type = "bar"
        chart.title = f"Part-worth change, {wave_b} minus {wave_a}" + (
            f" ({band_label(band)}s)" if band is not None else " (with bands)"
        )
        chart.y_axis.title = "difference in utility"
        chart.x_axis.tickLblPos = "low"  # labels at the left edge, not on the zero line
        chart.legend = None
        chart.visible_cells_only = False  # the helper columns are hidden
        data = Reference(ws, min_col=diff_col, min_row=first_row - 1, max_row=last_row)
        cats = Reference(ws, min_col=label_col, min_row=first_row, max_row=last_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        # the categories are text (parameter names): a string reference, not openpyxl's numRef
        label = get_column_letter(label_col)
        chart.series[0].cat = AxDataSource(
            strRef=StrRef(
                f=f"'{ws.title.replace(chr(39), chr(39) * 2)}'!${label}${first_row}:${label}${last_row}"
            )
        )
        sheet = ws.title.replace("'", "''")

        def ref(col: int) -> NumDataSource:
            letter = get_column_letter(col)
            return NumDataSource(
                numRef=NumRef(f=f"'{sheet}'!${letter}${first_row}:${letter}${last_row}")
            )

        chart.series[0].errBars = _ErrorBars(
            errBarType="both",
            errValType="cust",
            minus=ref(helper),
            plus=ref(helper + 1),
        )
        chart.height = max(7.5, 0.5 * (last_row - first_row + 1) + 3)
        chart.width = 24
        # below the tables, not beside them: printed one page wide, a chart to the right of
        # wide tables would shrink to a thumbnail
        ws.add_chart(chart, f"A{row + 1}")
