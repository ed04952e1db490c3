"""How the workbook looks and how a sheet is written.

The fonts, fills and number formats every sheet shares, the cell value rule (numbers stay
numbers, missing and non-finite values are blank, the rest is text written by
:func:`reports.live_sheet.set_text`, never as a formula), :class:`_Sheet` (a worksheet written
top to bottom: titles, paragraphs, label/value pairs and tables, remembering column widths) and
the native bar chart helper.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.live_sheet import set_text

_BLUE = "1F4E79"
_HEADER_FILL = PatternFill("solid", fgColor=_BLUE)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_TITLE_FONT = Font(bold=True, size=16, color=_BLUE)
_HEADING_FONT = Font(bold=True, size=12, color=_BLUE)
_NOTE_FONT = Font(italic=True, color="595959")
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")

PCT = "0.0%"
NUM1 = "0.0"
NUM2 = "0.00"
NUM3 = "0.000"
INT = "#,##0"


def _money_format(currency: str) -> str:
    # a currency code only: anything else could break the number format
    if re.fullmatch(r"[A-Za-z]{1,5}", currency or ""):
        return f'#,##0.00 "{currency}"'
    return "#,##0.00"


def _value(v: Any) -> Any:
    """A cell value: numbers stay numbers, missing and non-finite are blank, the rest text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(float(v)) else None
    return str(v)


class _Sheet:
    """A worksheet written top to bottom, remembering column widths."""

    def __init__(self, ws: Any, *, span: int = 8) -> None:
        self.ws = ws
        self.row = 1
        self.span = span  # columns a paragraph spans
        self.widths: dict[int, float] = {}
        self.frozen = False

    def _fit(self, col: int, value: Any, fmt: str | None = None) -> None:
        if value is None:
            return
        if isinstance(value, float):
            n = 12 if fmt and '"' in fmt else 9
        else:
            n = max(len(line) for line in str(value).split("\n")) if str(value) else 0
        self.widths[col] = max(self.widths.get(col, 0), min(n + 2, 60))

    def put(self, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
        cell = self.ws.cell(row, col)
        set_text(cell, _value(value))
        if fmt and isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
            cell.number_format = fmt
        return cell

    def title(self, text: str, subtitle: str | None = None) -> None:
        cell = self.ws.cell(self.row, 1)
        set_text(cell, text)
        cell.font = _TITLE_FONT
        self.ws.row_dimensions[self.row].height = 24
        self.row += 1
        if subtitle:
            self.para(subtitle, font=_NOTE_FONT)
        self.row += 1

    def heading(self, text: str) -> None:
        cell = self.ws.cell(self.row, 1)
        set_text(cell, text)
        cell.font = _HEADING_FONT
        self.row += 1

    def para(self, text: str, *, font: Font | None = None, bold: bool = False) -> None:
        """A wrapped paragraph over ``span`` merged columns."""
        cell = self.ws.cell(self.row, 1)
        set_text(cell, text)
        cell.alignment = _WRAP
        if font is not None:
            cell.font = font
        elif bold:
            cell.font = _BOLD
        if self.span > 1:
            self.ws.merge_cells(
                start_row=self.row, start_column=1, end_row=self.row, end_column=self.span
            )
        chars = max(40, int(self._span_width() * 1.15))
        lines = sum(max(1, math.ceil(len(part) / chars)) for part in text.split("\n"))
        self.ws.row_dimensions[self.row].height = 15 * lines + 3
        self.row += 1

    def _span_width(self) -> float:
        total = 0.0
        for c in range(1, self.span + 1):
            w = self.ws.column_dimensions[get_column_letter(c)].width
            total += w if w else max(self.widths.get(c, 10), 10)
        return total

    def note(self, text: str) -> None:
        self.para(text, font=_NOTE_FONT)

    def bullets(self, items: Sequence[str]) -> None:
        for item in items:
            self.para(f"•  {item}")

    def blank(self, n: int = 1) -> None:
        self.row += n

    def pairs(self, rows: Sequence[tuple[str, Any, str | None]]) -> None:
        """Label / value rows (label in bold)."""
        for label, value, fmt in rows:
            c = self.put(self.row, 1, label)
            c.font = _BOLD
            self._fit(1, label)
            cell = self.put(self.row, 2, value, fmt)
            cell.alignment = Alignment(horizontal="left", vertical="top")
            if isinstance(value, str) and len(value) > 60:
                cell.alignment = _WRAP
                self.ws.merge_cells(
                    start_row=self.row, start_column=2, end_row=self.row, end_column=self.span
                )
                self.ws.row_dimensions[self.row].height = 15 * math.ceil(len(value) / 90) + 3
            else:
                self._fit(2, value, fmt)
            self.row += 1

    def table(
        self,
        df: pd.DataFrame,
        *,
        formats: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        row_format: tuple[Sequence[str], Callable[[pd.Series], str | None]] | None = None,
        freeze: bool = False,
        col: int = 1,
    ) -> tuple[int, int, int]:
        """Write a table with a styled header; returns (header row, first row, last row)."""
        formats = formats or {}
        labels = labels or {}
        header = self.row
        for j, name in enumerate(df.columns):
            text = labels.get(str(name), str(name).replace("_", " "))
            c = self.put(header, col + j, text)
            c.font = _HEADER_FONT
            c.fill = _HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="center")
            self._fit(col + j, text if len(text) < 24 else text[:24])
        for i, (_, rec) in enumerate(df.iterrows()):
            r = header + 1 + i
            per_row = row_format[1](rec) if row_format is not None else None
            for j, name in enumerate(df.columns):
                fmt = formats.get(str(name))
                if per_row is not None and row_format is not None and name in row_format[0]:
                    fmt = per_row
                value = rec[name]
                self.put(r, col + j, value, fmt)
                self._fit(col + j, _value(value), fmt)
        last = header + len(df)
        if freeze and not self.frozen:
            self.ws.freeze_panes = self.ws.cell(header + 1, 1)
            self.frozen = True
        self.row = last + 2
        return header, header + 1, last

    def finish(self, min_width: float = 9.0) -> None:
        for c, w in self.widths.items():
            dim = self.ws.column_dimensions[get_column_letter(c)]
            dim.width = max(dim.width or 0, w, min_width)


def _chart_style(chart: Any, title: str, y_title: str | None, x_title: str | None) -> None:
    chart.title = title
    chart.style = 10
    chart.width = 18
    chart.height = 9
    if y_title:
        chart.y_axis.title = y_title
    if x_title:
        chart.x_axis.title = x_title
    # openpyxl 3.1 leaves the axes' <c:delete> unset, which recent Excel reads as hidden
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _bar_chart(
    ws: Any,
    *,
    data_col: int,
    cat_col: int,
    header: int,
    last: int,
    title: str,
    anchor: str,
    horizontal: bool = False,
    number_format: str | None = None,
    y_title: str | None = None,
) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    _chart_style(chart, title, y_title, None)
    chart.add_data(
        Reference(ws, min_col=data_col, min_row=header, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=cat_col, min_row=header + 1, max_row=last))
    chart.legend = None
    if number_format:
        chart.y_axis.numFmt = number_format
    if horizontal:
        chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
    ws.add_chart(chart, anchor)
    return chart


def _missing(s: _Sheet, what: str, folder: str) -> None:
    s.note(f"Not available: this run has no {what} ({folder}).")
