"""The workbook's sheets, in order, each with its builder, its audience and its print settings.

:data:`REPORT_SHEETS` are the sheets :func:`reports.workbook.write_workbook` builds here, in the
order they appear; :data:`LIVE_SHEET_SPECS` follow when the run has a fit and a market (written
together by :func:`reports.live_sheet.add_live_simulator`), then :data:`WAVE_SHEET` when waves
are compared (:func:`reports.waves_sheet.add_wave_comparison`). A leadership page is read by
the people deciding; an analyst page holds the detail behind it. Printed or converted to PDF,
each sheet with print settings is one page wide; the others keep Excel's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from openpyxl.worksheet.worksheet import Worksheet

from reports.waves_sheet import SHEET_TITLE as WAVES_TITLE
from reports.workbook.context import _Ctx
from reports.workbook.decision_sheet import _sheet_decision
from reports.workbook.methods import _sheet_methods
from reports.workbook.offers import (
    _sheet_offers,
    _sheet_price_curves,
    _sheet_source_of_volume,
    _sheet_tiers,
)
from reports.workbook.preferences import (
    _sheet_importances,
    _sheet_partworths,
    _sheet_reasons,
    _sheet_wtp,
)
from reports.workbook.quality import _sheet_design_quality, _sheet_diagnostics
from reports.workbook.summary import _sheet_summary

__all__ = [
    "LIVE_SHEETS",
    "LIVE_SHEET_SPECS",
    "ONE_PAGE_WIDE",
    "REPORT_SHEETS",
    "SHEETS",
    "WAVE_SHEET",
    "PrintSettings",
    "SheetSpec",
    "print_settings",
]

Audience = Literal["leadership", "analyst"]


@dataclass(frozen=True)
class PrintSettings:
    """How a sheet prints: A4 pages ``fit_to_width`` wide and as many down as needed
    (``fit_to_height`` 0), margins in inches and a footer naming the sheet and the page."""

    orientation: str = "landscape"
    paper_size: str = Worksheet.PAPERSIZE_A4
    fit_to_width: int = 1
    fit_to_height: int = 0
    side_margin: float = 0.4
    top_bottom_margin: float = 0.5
    footer: str = "&A, page &P of &N"

    def apply(self, ws: Worksheet) -> None:
        """Set these print settings on the worksheet ``ws``."""
        ws.page_setup.orientation = self.orientation
        ws.page_setup.paperSize = self.paper_size
        ws.page_setup.fitToWidth = self.fit_to_width
        ws.page_setup.fitToHeight = self.fit_to_height
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = self.side_margin
        ws.page_margins.top = ws.page_margins.bottom = self.top_bottom_margin
        ws.oddFooter.center.text = self.footer


#: one page wide, landscape A4, so no column is cut off
ONE_PAGE_WIDE = PrintSettings()


@dataclass(frozen=True)
class SheetSpec:
    """One sheet of the workbook.

    Attributes
    ----------
    title : str
        The sheet's name (its tab).
    build : callable or None
        ``build(worksheet, ctx)`` writes the sheet; None for sheets another module writes.
    audience : {"leadership", "analyst"}
        Who the page is for.
    printing : PrintSettings or None
        None keeps Excel's defaults (the big data sheets behind the live simulator).
    build_last : bool
        Built after every other sheet: the summary reports what the others could not show.
    """

    title: str
    build: Callable[[Worksheet, _Ctx], None] | None
    audience: Audience
    printing: PrintSettings | None = ONE_PAGE_WIDE
    build_last: bool = False


#: the sheets built from a run folder, in order
REPORT_SHEETS = (
    SheetSpec("Summary", _sheet_summary, "leadership", build_last=True),
    SheetSpec("Decision", _sheet_decision, "leadership"),
    SheetSpec("Reasons", _sheet_reasons, "leadership"),
    SheetSpec("Part-worths", _sheet_partworths, "analyst"),
    SheetSpec("Importances", _sheet_importances, "leadership"),
    SheetSpec("WTP", _sheet_wtp, "analyst"),
    SheetSpec("Offers", _sheet_offers, "leadership"),
    SheetSpec("Tiers", _sheet_tiers, "leadership"),
    SheetSpec("Source of volume", _sheet_source_of_volume, "analyst"),
    SheetSpec("Price curves", _sheet_price_curves, "analyst"),
    SheetSpec("Design & quality", _sheet_design_quality, "analyst"),
    SheetSpec("Diagnostics", _sheet_diagnostics, "analyst"),
    SheetSpec("Methods", _sheet_methods, "analyst"),
)
#: the live simulator's sheets (after the report sheets, when present)
LIVE_SHEET_SPECS = (
    SheetSpec("Simulator", None, "leadership"),
    SheetSpec("Utilities", None, "analyst", printing=None),
    SheetSpec("Levels", None, "analyst", printing=None),
)
#: the wave comparison (last, when waves are compared)
WAVE_SHEET = SheetSpec(WAVES_TITLE, None, "leadership")

#: the workbook's sheets, in order (the live simulator's three sheets follow when present)
SHEETS = tuple(spec.title for spec in REPORT_SHEETS)
LIVE_SHEETS = tuple(spec.title for spec in LIVE_SHEET_SPECS)

_BY_TITLE = {spec.title: spec for spec in (*REPORT_SHEETS, *LIVE_SHEET_SPECS, WAVE_SHEET)}


def print_settings(title: str) -> PrintSettings | None:
    """The print settings of the sheet ``title`` (one page wide for a sheet not listed here)."""
    spec = _BY_TITLE.get(title)
    return spec.printing if spec is not None else ONE_PAGE_WIDE
