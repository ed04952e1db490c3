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
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RegularTextRun,
)
from openpyxl.drawing.text import Font as DrawingFont
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from reports.live_sheet import set_text

_BLUE = "1F4E79"
#: every cell's font family: named, so that a viewer without it substitutes one sans-serif
#: font (LibreOffice without Calibri would otherwise set bold text in a serif face)
FONT = "Calibri"
#: the smallest font size on any sheet (printed leadership pages are scaled no lower than
#: :data:`MIN_PRINT_SCALE`, so nothing prints below 9 pt)
BODY_SIZE = 11
_HEADER_FILL = PatternFill("solid", fgColor=_BLUE)
_HEADER_FONT = Font(name=FONT, size=BODY_SIZE, bold=True, color="FFFFFF")
_TITLE_FONT = Font(name=FONT, bold=True, size=16, color=_BLUE)
_HEADING_FONT = Font(name=FONT, bold=True, size=13, color=_BLUE)
_NOTE_FONT = Font(name=FONT, size=BODY_SIZE, italic=True, color="595959")
_BODY = Font(name=FONT, size=BODY_SIZE)
_BOLD = Font(name=FONT, size=BODY_SIZE, bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
#: units of column width per character of text: a column ``w`` wide holds about ``w - 2``
#: characters of 11 pt Calibri (about 1.25 a unit) and of its widest common substitute,
#: DejaVu Sans (LibreOffice without Calibri), so text is never cut off in either
CHAR_WIDTH = 1.0
#: points per line of wrapped 11 pt text
LINE_HEIGHT = 15.0

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
    """A cell value: numbers stay numbers, missing and non-finite are blank, true and false read
    Yes and No, the rest is text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return "Yes" if v else "No"
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(float(v)) else None
    return str(v)


def shown(value: Any, fmt: str | None = None) -> str:
    """About the text a spreadsheet shows for ``value`` in the number format ``fmt`` (for
    column widths: a number wider than its column shows as ``####``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    x = float(value)
    fmt = fmt or ""
    unit = re.search(r'"([^"]*)"', fmt)
    suffix = f" {unit.group(1)}" if unit else ""
    if "%" in fmt:
        decimals = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
        return f"{x:.{decimals}%}"
    if fmt.startswith("#,##0"):
        body = fmt.split(" ")[0]
        decimals = len(body.split(".")[1]) if "." in body else 0
        return f"{x:,.{decimals}f}{suffix}"
    if fmt.startswith("0"):
        decimals = len(fmt.split(".")[1]) if "." in fmt else 0
        return f"{x:.{decimals}f}"
    if isinstance(value, int):
        return str(value)
    return f"{x:.6g}"


def text_width(text: str) -> float:
    """The column width that shows ``text`` on one line (see :data:`CHAR_WIDTH`)."""
    longest = max((len(line) for line in text.split("\n")), default=0)
    return longest * CHAR_WIDTH + 2


def lines_needed(text: str, width: float) -> int:
    """How many lines ``text`` takes wrapped in a column (or merged cells) ``width`` wide."""
    per_line = max(1, int((width - 1) / CHAR_WIDTH))
    n = 0
    for part in text.split("\n"):
        words = part.split(" ")
        line = 0
        n += 1
        for w in words:
            need = len(w) + (1 if line else 0)
            if line and line + need > per_line:
                n += 1
                line = len(w)
            else:
                line += need
            while line > per_line:  # a word longer than the line breaks
                n += 1
                line -= per_line
    return max(1, n)


class _Sheet:
    """A worksheet written top to bottom, remembering column widths.

    Text longer than :attr:`max_width` wraps in its cell, and every wrapped cell's row is made
    tall enough for it when the sheet is finished, so no text is cut off. :meth:`end_print`
    marks where the printed part of the sheet ends (its print area); what follows is in the
    workbook but not printed.
    """

    def __init__(self, ws: Any, *, span: int = 8, max_width: float = 60) -> None:
        self.ws = ws
        self.row = 1
        self.span = span  # columns a paragraph spans
        self.max_width = max_width
        self.widths: dict[int, float] = {}
        self.frozen = False
        self.print_last: int | None = None
        self._printed: dict[int, float] = {}  # the printed part's column widths
        self._wrapped: list[tuple[int, int, str]] = []

    def _fit(self, col: int, value: Any, fmt: str | None = None) -> bool:
        """Widen column ``col`` for ``value``; False when text does not fit and must wrap.

        Below the printed part (after :meth:`end_print`) text never widens a printed column
        (the page would print smaller): it wraps instead. Numbers always fit (no ``####``).
        """
        if value is None:
            return True
        need = text_width(shown(value, fmt))
        w = min(need, self.max_width)
        if isinstance(value, str) and col in self._printed:
            w = min(w, self._printed[col])
        self.widths[col] = max(self.widths.get(col, 0), w)
        return need <= self.widths[col]

    def put(self, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
        cell = self.ws.cell(row, col)
        set_text(cell, _value(value))
        if fmt and isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
            cell.number_format = fmt
        return cell

    def wrap(self, cell: Any, text: str) -> None:
        """Wrap ``cell`` (holding ``text``); its row gets the height it needs at :meth:`finish`."""
        cell.alignment = Alignment(
            wrap_text=True, vertical="top", horizontal=cell.alignment.horizontal
        )
        self._wrapped.append((cell.row, cell.column, text))

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
        self.ws.row_dimensions[self.row].height = 20
        self.row += 1

    def para(
        self, text: str, *, font: Font | None = None, bold: bool = False, span: int | None = None
    ) -> Any:
        """A wrapped paragraph over ``span`` merged columns (default: the sheet's)."""
        span = span or self.span
        cell = self.ws.cell(self.row, 1)
        set_text(cell, text)
        cell.alignment = _WRAP
        cell.font = font if font is not None else (_BOLD if bold else _BODY)
        if span > 1:
            self.ws.merge_cells(
                start_row=self.row, start_column=1, end_row=self.row, end_column=span
            )
        size = (cell.font.sz or BODY_SIZE) / BODY_SIZE
        lines = lines_needed(text, self._span_width(span) / size)
        self.ws.row_dimensions[self.row].height = LINE_HEIGHT * size * lines + 3
        self.row += 1
        return cell

    def _span_width(self, span: int | None = None, first: int = 1) -> float:
        total = 0.0
        for c in range(first, first + (span or self.span)):
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

    def end_print(self) -> None:
        """The printed part of the sheet ends here (the rows above are its print area); what
        follows is not printed and does not widen the printed columns."""
        self.print_last = self.row - 1
        self._narrow_paragraphs()
        for c in range(1, max(self.widths, default=0) + 1):
            w = self.ws.column_dimensions[get_column_letter(c)].width
            self._printed[c] = max(w or 0, self.widths.get(c, 0), 9.0)
        for m in self.ws.merged_cells.ranges:  # paragraphs over preset columns
            for c in range(m.min_col, m.max_col + 1):
                w = self.ws.column_dimensions[get_column_letter(c)].width
                self._printed.setdefault(c, max(w or 0, self.widths.get(c, 0), 9.0))

    def _narrow_paragraphs(self) -> None:
        """Paragraphs of the printed part span no further than its tables and charts (a
        paragraph over empty columns would widen the printed page)."""
        ranges = [
            m
            for m in self.ws.merged_cells.ranges
            if m.min_row <= (self.print_last or 0) and m.min_col == 1
        ]
        for m in ranges:
            self.ws.unmerge_cells(str(m))
        _, last_col = content_extent(self.ws, self.print_last)
        last_col = max(last_col, 2)
        for m in ranges:
            cell = self.ws.cell(m.min_row, m.min_col)
            end = min(m.max_col, last_col)
            if end > m.min_col:
                self.ws.merge_cells(
                    start_row=m.min_row, start_column=m.min_col, end_row=m.max_row, end_column=end
                )
            if isinstance(cell.value, str):
                self._wrapped.append((m.min_row, m.min_col, cell.value))

    def pairs(self, rows: Sequence[tuple[str, Any, str | None]]) -> None:
        """Label / value rows (label in bold)."""
        for label, value, fmt in rows:
            c = self.put(self.row, 1, label)
            c.font = _BOLD
            if not self._fit(1, label):
                self.wrap(c, label)
            cell = self.put(self.row, 2, value, fmt)
            cell.alignment = Alignment(horizontal="left", vertical="top")
            if isinstance(value, str) and len(value) > 60:
                cell.alignment = _WRAP
                self.ws.merge_cells(
                    start_row=self.row, start_column=2, end_row=self.row, end_column=self.span
                )
                self._wrapped.append((self.row, 2, value))
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
        """Write a table with a styled header; returns (header row, first row, last row).

        Headers wrap (their row grows to fit); text longer than :attr:`max_width` wraps in its
        cell; every column is as wide as its widest number or line of text.
        """
        formats = formats or {}
        labels = labels or {}
        header = self.row
        for j, name in enumerate(df.columns):
            text = labels.get(str(name), str(name).replace("_", " "))
            c = self.put(header, col + j, text)
            c.font = _HEADER_FONT
            c.fill = _HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="center")
            self._wrapped.append((header, col + j, text))
            # a header wraps onto two or three lines rather than widen its column
            longest = max((len(w) for w in text.split()), default=0)
            self._fit(col + j, "x" * max(longest, min(len(text), 24) // 2))
        for i, (_, rec) in enumerate(df.iterrows()):
            r = header + 1 + i
            per_row = row_format[1](rec) if row_format is not None else None
            for j, name in enumerate(df.columns):
                fmt = formats.get(str(name))
                if per_row is not None and row_format is not None and name in row_format[0]:
                    fmt = per_row
                value = _value(rec[name])
                cell = self.put(r, col + j, value, fmt)
                if not self._fit(col + j, value, fmt) and isinstance(value, str):
                    self.wrap(cell, value)
        last = header + len(df)
        if freeze and not self.frozen:
            self.ws.freeze_panes = self.ws.cell(header + 1, 1)
            self.frozen = True
        self.row = last + 2
        return header, header + 1, last

    def finish(self, min_width: float = 9.0) -> None:
        """Set the column widths, the height of every row with wrapped text and the print
        area (when :meth:`end_print` marked one)."""
        for c, w in self.widths.items():
            dim = self.ws.column_dimensions[get_column_letter(c)]
            dim.width = max(dim.width or 0, w, min_width)
        merged = {
            (m.min_row, m.min_col): m.max_col - m.min_col + 1 for m in self.ws.merged_cells.ranges
        }
        heights: dict[int, float] = {}
        for r, c, text in self._wrapped:
            width = self._span_width(merged.get((r, c), 1), first=c)
            need = LINE_HEIGHT * lines_needed(text, width) + 3
            heights[r] = max(heights.get(r, 0.0), need)
        for r, h in heights.items():
            dim = self.ws.row_dimensions[r]
            dim.height = max(dim.height or 0.0, h)
        if self.print_last is not None:
            set_print_area(self.ws, self.print_last)


def _column_cm(ws: Any, col: int) -> float:
    """The width of column ``col`` in centimetres (Excel: 7 pixels per unit plus 5, 96 dpi)."""
    w = ws.column_dimensions[get_column_letter(col)].width or 8.43
    return (w * 7 + 5) / 96 * 2.54


def content_extent(ws: Any, last_row: int | None = None) -> tuple[int, int]:
    """The last row and column holding a value, a chart or an image (within ``last_row``)."""
    max_row, max_col = 1, 1
    for row in ws.iter_rows(max_row=last_row):
        for c in row:
            if c.value is not None:
                max_row = max(max_row, c.row)
                max_col = max(max_col, c.column)
    for m in ws.merged_cells.ranges:
        if last_row is None or m.min_row <= last_row:
            max_col = max(max_col, m.max_col)
    # charts (sizes in cm) and images (in pixels at 96 an inch)
    drawings = [(c.anchor, c.width, c.height) for c in ws._charts]
    drawings += [(i.anchor, i.width / 96 * 2.54, i.height / 96 * 2.54) for i in ws._images]
    for anchor, w_cm, h_cm in drawings:
        if isinstance(anchor, TwoCellAnchor):  # from cell to cell: the cells it spans
            top, end = anchor._from.row + 1, anchor.to.row + (1 if anchor.to.rowOff else 0)
            if last_row is not None and top > last_row:
                continue
            max_col = max(max_col, anchor.to.col + (1 if anchor.to.colOff else 0))
            if last_row is None:
                max_row = max(max_row, end)
            continue
        if not isinstance(anchor, str):
            continue
        col, row = coordinate_from_string(anchor)
        first = column_index_from_string(col)
        if last_row is not None and row > last_row:
            continue
        # the columns and rows the drawing covers
        width, c = 0.0, first
        while width < w_cm:
            width += _column_cm(ws, c)
            c += 1
        max_col = max(max_col, c - 1)
        height, r = 0.0, row
        while height < h_cm:
            h = ws.row_dimensions[r].height or LINE_HEIGHT
            height += h / 72 * 2.54
            r += 1
        if last_row is None:
            max_row = max(max_row, r - 1)
    return (max_row if last_row is None else last_row), max_col


def span_anchor(first_col: int, first_row: int, end_col: int, end_row: int) -> TwoCellAnchor:
    """A drawing's anchor from the top left of cell (``first_row``, ``first_col``) to the top
    left of (``end_row``, ``end_col``), 1-based: it takes the size of those columns and rows in
    whatever font the viewer measures them (a chart beside or below a table keeps its place)."""
    return TwoCellAnchor(
        _from=AnchorMarker(col=first_col - 1, row=first_row - 1),
        to=AnchorMarker(col=end_col - 1, row=end_row - 1),
    )


def set_print_area(ws: Any, last_row: int | None = None) -> None:
    """Print the sheet's content up to ``last_row`` (all of it by default), charts included."""
    rows, cols = content_extent(ws, last_row)
    ws.print_area = f"A1:{get_column_letter(cols)}{rows}"


def _chart_text(size: float = BODY_SIZE, bold: bool = False) -> RichText:
    """Chart text properties: the sheets' font at ``size`` points."""
    cp = CharacterProperties(sz=int(size * 100), b=bold, latin=DrawingFont(typeface=FONT))
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=cp), endParaRPr=cp)])


def chart_title(text: str, size: float = 13) -> Title:
    """A chart title in the sheets' font, bold, at ``size`` points."""
    cp = CharacterProperties(sz=int(size * 100), b=True, latin=DrawingFont(typeface=FONT))
    para = Paragraph(pPr=ParagraphProperties(defRPr=cp), r=[RegularTextRun(rPr=cp, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _chart_style(chart: Any, title: str, y_title: str | None, x_title: str | None) -> None:
    chart.title = chart_title(title)
    chart.style = 10
    chart.width = 18
    chart.height = 9
    if y_title:
        chart.y_axis.title = y_title
    if x_title:
        chart.x_axis.title = x_title
    # axis labels at the body size: a printed page scaled to fit keeps them readable
    chart.x_axis.txPr = _chart_text()
    chart.y_axis.txPr = _chart_text()
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
