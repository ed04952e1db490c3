"""Writing the leadership workbook (:func:`write_workbook`): every sheet of
:data:`~reports.workbook.spec.REPORT_SHEETS`, the live simulator, the campaign, the segments and
the wave comparison, in the order of :func:`~reports.workbook.spec.sheet_order`.

openpyxl and matplotlib load with this module, after the run folder is read
(:func:`reports.workbook.read_run_folder` does not need them).
"""

from __future__ import annotations

import logging
from io import BytesIO
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from reports.live_sheet import add_live_simulator
from reports.waves_sheet import add_wave_comparison
from reports.workbook.campaign import has_campaign
from reports.workbook.context import _Ctx
from reports.workbook.facts import ReportData
from reports.workbook.segments import has_segments
from reports.workbook.spec import (
    CAMPAIGN_SHEET,
    LIVE_SHEETS,
    REPORT_SHEETS,
    SEGMENTS_SHEET,
    apply_audiences,
    sheet_order,
)
from reports.workbook.styles import _money_format
from winback._io import atomic_write_bytes, check_outputs_free
from winback.errors import WinbackError

__all__ = ["write_workbook"]

log = logging.getLogger("winback")


def _build(data: ReportData, wave_comparison: dict[str, pd.DataFrame] | None) -> Workbook:
    """The workbook of ``data``: the sheets of :data:`~reports.workbook.spec.REPORT_SHEETS`, the
    live simulator's, the campaign's and the wave comparison when there, in the order of
    :func:`~reports.workbook.spec.sheet_order`, leadership pages printed and analyst pages
    hidden from the default print (:func:`~reports.workbook.spec.apply_audiences`)."""
    currency = str(data.study.get("currency") or "")
    ctx = _Ctx(data, currency, _money_format(currency))
    wb = Workbook()
    wb.remove(wb.active)
    # the live simulator first: its failure becomes a caveat on the summary
    live = False
    if data.simulator_draws is not None and data.market is not None:
        try:
            add_live_simulator(wb, data.simulator_draws, data.market)
            live = True
        except WinbackError as exc:
            ctx.notes.append(f"The live simulator sheets are left out: {exc}")
            for name in LIVE_SHEETS:
                if name in wb.sheetnames:
                    wb.remove(wb[name])
    campaign = has_campaign(data)  # the Campaign page only for a run with target/
    if data.campaign_summary is not None and not campaign:
        ctx.notes.append(
            "The Campaign page is left out: target/campaign_summary.csv is empty or lacks "
            "columns (rerun winback target)."
        )
    segments = has_segments(data)  # the Segments page only for a run with latent classes
    order = sheet_order(
        live=live, waves=wave_comparison is not None, campaign=campaign, segments=segments
    )
    ctx.pages = tuple(order)  # before the sheets are built: the summary names only these
    specs = (
        *REPORT_SHEETS,
        *((SEGMENTS_SHEET,) if segments else ()),
        *((CAMPAIGN_SHEET,) if campaign else ()),
    )
    sheets = {spec.title: wb.create_sheet(spec.title) for spec in specs}
    for spec in sorted(specs, key=lambda spec: spec.build_last):  # stable: in order
        if spec.build is not None:
            spec.build(sheets[spec.title], ctx)
    if wave_comparison is not None:
        add_wave_comparison(wb, wave_comparison)
    for i, name in enumerate(n for n in order if n in wb.sheetnames):
        wb.move_sheet(name, i - wb.sheetnames.index(name))
    apply_audiences(wb)
    wb.active = 0
    for ws in wb.worksheets:  # page one is the tab open (and the only one selected)
        ws.sheet_view.tabSelected = ws is wb.worksheets[0]
    return wb


def write_workbook(
    path: str | Path,
    data: ReportData,
    *,
    wave_comparison: dict[str, pd.DataFrame] | None = None,
    force: bool = False,
) -> Path:
    """Write the leadership workbook.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file to write (its folder is created).
    data : ReportData
        From :func:`read_run_folder` (or built by hand: only ``partworths`` is required).
    wave_comparison : dict of str to DataFrame, optional
        Tables comparing survey waves, added by :mod:`reports.waves_sheet`.
    force : bool
        Replace an existing file (otherwise refuse).

    Returns
    -------
    Path
        The file written (atomically: a crash leaves the old file or the new one).

    Raises
    ------
    WinbackError
        The file exists and ``force`` is false, or the path does not end in ``.xlsx``.

    Examples
    --------
    >>> data = read_run_folder("winback-demo")  # doctest: +SKIP
    >>> write_workbook("report.xlsx", data, force=True)  # doctest: +SKIP
    PosixPath('report.xlsx')
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise WinbackError(f"the workbook must be an .xlsx file, got {path}.")
    check_outputs_free([path], force, hint="--force (force=True)")
    wb = _build(data, wave_comparison)
    buf = BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue())
    log.info("wrote the leadership workbook %s (%d sheets)", path, len(wb.sheetnames))
    return path
