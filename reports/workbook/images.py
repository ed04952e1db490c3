"""The plots with bands, embedded in the workbook where a native chart cannot show a band.

A native bar chart draws one value per bar; the importances' intervals, the tiers' share bands
and the shaded bands of today's products' price curves are drawn by :mod:`reports.plots` as
images. The same figures are written beside the workbook as PNG files by ``winback report``
(:data:`REPORT_FIGURES` names them), so the file and the sheet show the same plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from io import BytesIO
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text
from openpyxl.drawing.image import Image
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from reports.plots import plot_importances, plot_price_curves, plot_tier_shares
from reports.workbook.basis import share_word
from reports.workbook.context import _label, _present
from reports.workbook.facts import ReportData
from reports.workbook.styles import LINE_HEIGHT, _Sheet

__all__ = [
    "DPI",
    "MIN_FIGURE_POINTS",
    "REPORT_FIGURES",
    "add_figure",
    "add_figure_rows",
    "column_at",
    "importances_figure",
    "price_curves_figure",
    "tier_shares_figure",
]

#: resolution of the embedded images and of the PNG files
DPI = 150
#: the smallest text of an embedded figure, in points at the size it is embedded: a leadership
#: page prints at no less than 9/11 of its size (``spec.MIN_PRINT_SCALE``), so 11 pt prints at
#: 9 pt or more
MIN_FIGURE_POINTS = 11.0


def importances_figure(data: ReportData, title: str | None = None) -> Figure | None:
    """Attribute importances with their intervals (``fit/importances.csv``), attributes by
    their labels, or None; ``title`` replaces the plot's own (``""``: none, for a page with
    its own title)."""
    imp = data.importances
    if not _present(imp) or imp is None:
        return None
    if "attribute" in imp.columns:  # the study's labels, not the attributes' codes
        imp = imp.assign(attribute=[_label(data, str(a)) for a in imp["attribute"]])
    return plot_importances(imp) if title is None else plot_importances(imp, title=title)


def price_curves_figure(data: ReportData, currency: str = "") -> Figure | None:
    """Today's products' stated preference shares against price with their bands, or None."""
    if not _present(data.price_curves):
        return None
    return plot_price_curves(data.price_curves, currency=currency)


def tier_shares_figure(data: ReportData, currency: str = "") -> Figure | None:
    """The tiers' shares with their bands (calibrated when the searches were), or None."""
    if not _present(data.tiers):
        return None
    return plot_tier_shares(data.tiers, currency=currency, share_label=share_word(data))


#: the PNG files of ``winback report`` and the figure each holds
REPORT_FIGURES: dict[str, Callable[[ReportData, str], Figure | None]] = {
    "importances.png": lambda data, currency: importances_figure(data),
    "price_curves.png": price_curves_figure,
    "tier_shares.png": tier_shares_figure,
}


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at :data:`DPI`."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _at_least(fig: Figure, points: float) -> None:
    """Every text of ``fig`` at ``points`` or more: tick labels through their axes' settings
    (redrawn from them), every other text directly."""
    for ax in fig.axes:
        for which in ("major", "minor"):
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                ticks = axis.get_major_ticks() if which == "major" else axis.get_minor_ticks()
                if ticks and float(ticks[0].label1.get_fontsize()) < points:
                    ax.tick_params(axis=name, which=which, labelsize=points)  # type: ignore[arg-type]
    for text in fig.findobj(Text):
        if isinstance(text, Text) and text.get_text() and float(text.get_fontsize()) < points:
            text.set_fontsize(points)


def add_figure(ws: Any, fig: Figure, anchor: str, width_cm: float) -> Image:
    """Embed ``fig`` in ``ws`` at the cell ``anchor``, ``width_cm`` wide (its aspect kept):
    the figure is drawn at that size, so its text prints at its own point size."""
    w_in, h_in = fig.get_size_inches()
    fig.set_size_inches(width_cm / 2.54, width_cm / 2.54 * h_in / w_in)
    _at_least(fig, MIN_FIGURE_POINTS)  # a page may print at 9/11 of its size: 11 pt prints >= 9
    w_in, h_in = fig.get_size_inches()
    img = Image(BytesIO(figure_png(fig)))
    px = width_cm / 2.54 * 96  # Excel's 96 pixels an inch
    img.width = round(px)
    img.height = round(px * h_in / w_in)
    ws.add_image(img, anchor)
    return img


def add_figure_rows(
    s: _Sheet, fig: Figure | None, width_cm: float, col: int = 1, *, new_page: bool = False
) -> None:
    """Embed ``fig`` (when there is one) at the sheet's current row, ``width_cm`` wide, and
    move the row below it (rows of the default height); ``new_page`` starts a printed page
    at it (a plot is not cut by a page break)."""
    if fig is None:
        return
    if new_page:
        s.ws.row_breaks.append(Break(id=s.row - 1))
    img = add_figure(s.ws, fig, f"{get_column_letter(col)}{s.row}", width_cm)
    n = math.ceil(img.height / 96 * 72 / LINE_HEIGHT) + 1
    for r in range(s.row, s.row + n):  # rows of a known height (viewers' defaults differ)
        dim = s.ws.row_dimensions[r]
        dim.height = dim.height or LINE_HEIGHT
    s.row += n


def column_at(s: _Sheet, cm: float, start: int = 1) -> int:
    """The first column that begins at least ``cm`` to the right of column ``start``'s left
    edge, with the columns as wide as :meth:`_Sheet.finish` will make them."""
    used, col = 0.0, start
    while used < cm:
        w = s.ws.column_dimensions[get_column_letter(col)].width
        w = max(w or 0.0, s.widths.get(col, 0.0), 9.0)
        used += (w * 7 + 5) / 96 * 2.54
        col += 1
    return col
