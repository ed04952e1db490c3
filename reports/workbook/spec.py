"""The workbook's sheets, in order, each with its builder, its audience and its print settings.

:data:`REPORT_SHEETS` are the sheets :func:`reports.workbook.write_workbook` builds here, in the
order they appear; the live simulator's :data:`LIVE_SHEET_SPECS` (written together by
:func:`reports.live_sheet.add_live_simulator`) and :data:`WAVE_SHEET`
(:func:`reports.waves_sheet.add_wave_comparison`) and :data:`CAMPAIGN_SHEET` (the campaign plan
of ``target/``, :mod:`reports.workbook.campaign`) take their places when present
(:func:`sheet_order`). A leadership page is read by the people deciding: it is visible, has a
print area and prints one page wide at no less than 9 pt; an analyst page holds the detail
behind it and is hidden from the default print (:func:`apply_audiences`: a hidden tab, which
Excel's and LibreOffice's printing and PDF export both leave out). Sheets with print settings
are one page wide; the others keep Excel's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reports.waves_sheet import SHEET_TITLE as WAVES_TITLE
from reports.workbook.campaign import _sheet_campaign
from reports.workbook.context import _Ctx
from reports.workbook.decision_sheet import _sheet_decision
from reports.workbook.methods import _sheet_methods
from reports.workbook.offers import (
    _sheet_offers,
    _sheet_price_curves,
    _sheet_source_of_volume,
    _sheet_tiers,
    _sheet_unbundling,
)
from reports.workbook.preferences import (
    _sheet_importances,
    _sheet_partworths,
    _sheet_reasons,
    _sheet_wtp,
)
from reports.workbook.quality import _sheet_design_quality, _sheet_diagnostics
from reports.workbook.segments import SHEET_TITLE as SEGMENTS_TITLE
from reports.workbook.segments import _sheet_segments
from reports.workbook.styles import FONT, set_print_area
from reports.workbook.summary import _sheet_summary

__all__ = [
    "CAMPAIGN_SHEET",
    "LIVE_SHEETS",
    "LIVE_SHEET_SPECS",
    "MIN_PRINT_SCALE",
    "ONE_PAGE",
    "ONE_PAGE_WIDE",
    "REPORT_SHEETS",
    "SEGMENTS_SHEET",
    "SHEETS",
    "WAVE_SHEET",
    "PrintSettings",
    "SheetSpec",
    "apply_audiences",
    "audience",
    "print_settings",
    "sheet_order",
]

Audience = Literal["leadership", "analyst"]

#: the print scale below which a leadership page would print body text under 9 pt (11 pt text)
MIN_PRINT_SCALE = 9 / 11


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
    footer_size: int = 11

    def apply(self, ws: Worksheet, *, print_area: bool = False) -> None:
        """Set these print settings on the worksheet ``ws``; with ``print_area``, a print area
        over the sheet's content (charts included) unless its builder set one."""
        ws.page_setup.orientation = self.orientation
        ws.page_setup.paperSize = self.paper_size
        ws.page_setup.fitToWidth = self.fit_to_width
        ws.page_setup.fitToHeight = self.fit_to_height
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = self.side_margin
        ws.page_margins.top = ws.page_margins.bottom = self.top_bottom_margin
        ws.oddFooter.center.text = self.footer
        ws.oddFooter.center.size = self.footer_size
        ws.oddFooter.center.font = FONT
        if print_area and not ws.print_area:
            set_print_area(ws)


#: one page wide, landscape A4, so no column is cut off
ONE_PAGE_WIDE = PrintSettings()
#: one page (page one: the decision), landscape A4
ONE_PAGE = PrintSettings(fit_to_height=1)


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
        Who the page is for. Leadership pages are visible and printed (a print area over
        what they show); analyst pages are hidden from the default print (their tabs are
        hidden: right-click any tab and choose Unhide to see them), Excel and LibreOffice
        printing or converting the workbook leave them out.
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


#: the sheets built from a run folder, leadership pages first, in order
REPORT_SHEETS = (
    SheetSpec("Summary", _sheet_summary, "leadership", ONE_PAGE, build_last=True),
    SheetSpec("Reasons", _sheet_reasons, "leadership"),
    SheetSpec("Importances", _sheet_importances, "leadership"),
    SheetSpec("Offers", _sheet_offers, "leadership"),
    SheetSpec("Tiers", _sheet_tiers, "leadership"),
    SheetSpec("Unbundling", _sheet_unbundling, "leadership"),
    SheetSpec("Source of volume", _sheet_source_of_volume, "leadership"),
    SheetSpec("Price curves", _sheet_price_curves, "leadership"),
    SheetSpec("Decision", _sheet_decision, "analyst"),
    SheetSpec("WTP", _sheet_wtp, "analyst"),
    SheetSpec("Part-worths", _sheet_partworths, "analyst"),
    SheetSpec("Design & quality", _sheet_design_quality, "analyst"),
    SheetSpec("Diagnostics", _sheet_diagnostics, "analyst"),
    SheetSpec("Methods", _sheet_methods, "analyst"),
)
#: the live simulator's sheets (when present): the simulator after the leadership pages, its
#: data sheets last
LIVE_SHEET_SPECS = (
    SheetSpec("Simulator", None, "leadership"),
    SheetSpec("Utilities", None, "analyst", printing=None),
    SheetSpec("Levels", None, "analyst", printing=None),
)
#: the segments (latent classes of ``latent_class/``, when the run has them): after Importances
SEGMENTS_SHEET = SheetSpec(SEGMENTS_TITLE, _sheet_segments, "leadership")
#: the campaign plan (``target/``, when the run has one): after the simulator
CAMPAIGN_SHEET = SheetSpec("Campaign", _sheet_campaign, "leadership")
#: the wave comparison (after the leadership pages, when waves are compared)
WAVE_SHEET = SheetSpec(WAVES_TITLE, None, "leadership")

#: the sheets built from a run folder, in workbook order
SHEETS = tuple(spec.title for spec in REPORT_SHEETS)
LIVE_SHEETS = tuple(spec.title for spec in LIVE_SHEET_SPECS)

_BY_TITLE = {
    spec.title: spec
    for spec in (*REPORT_SHEETS, *LIVE_SHEET_SPECS, SEGMENTS_SHEET, CAMPAIGN_SHEET, WAVE_SHEET)
}
_LEAD = [s for s in REPORT_SHEETS if s.audience == "leadership"]
_AFTER = next(i for i, s in enumerate(_LEAD) if s.title == "Importances") + 1
_ORDER = (
    *_LEAD[:_AFTER],
    SEGMENTS_SHEET,
    *_LEAD[_AFTER:],
    LIVE_SHEET_SPECS[0],
    CAMPAIGN_SHEET,
    WAVE_SHEET,
    *(s for s in REPORT_SHEETS if s.audience == "analyst"),
    *LIVE_SHEET_SPECS[1:],
)


def sheet_order(
    *, live: bool, waves: bool = False, campaign: bool = False, segments: bool = False
) -> list[str]:
    """The workbook's sheets in order: the leadership pages (the segments, the simulator, the
    campaign and the wave comparison among them when present), then the analyst pages.

    Examples
    --------
    >>> sheet_order(live=False)[:3]
    ['Summary', 'Reasons', 'Importances']
    """
    skip = set() if live else set(LIVE_SHEETS)
    if not waves:
        skip.add(WAVE_SHEET.title)
    if not campaign:
        skip.add(CAMPAIGN_SHEET.title)
    if not segments:
        skip.add(SEGMENTS_SHEET.title)
    return [s.title for s in _ORDER if s.title not in skip]


def audience(title: str) -> Audience:
    """Who the sheet ``title`` is for (leadership for a sheet not listed here)."""
    spec = _BY_TITLE.get(title)
    return spec.audience if spec is not None else "leadership"


def print_settings(title: str) -> PrintSettings | None:
    """The print settings of the sheet ``title`` (one page wide for a sheet not listed here)."""
    spec = _BY_TITLE.get(title)
    return spec.printing if spec is not None else ONE_PAGE_WIDE


def apply_audiences(wb: Workbook) -> None:
    """Print settings on every sheet; leadership pages visible with a print area, analyst
    pages hidden from the default print (the first sheet stays active and visible)."""
    for ws in wb.worksheets:
        settings = print_settings(ws.title)
        lead = audience(ws.title) == "leadership"
        if settings is not None:
            settings.apply(ws, print_area=lead)
        ws.sheet_state = "visible" if lead else "hidden"
