"""The leadership workbook and its plots: what a board reads.

The hand-off from the other stages is a run folder (:class:`winback.run_folder.RunFolder`):
:func:`read_run_folder` reads it into a :class:`ReportData`, :func:`write_workbook` writes the
workbook, and the ``plot_*`` functions draw the figures with their posterior bands::

    from reports import read_run_folder, write_workbook
    data = read_run_folder("winback-demo")
    write_workbook("report.xlsx", data)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from reports.live_sheet import add_live_simulator
    from reports.plots import (
        plot_importances,
        plot_partworth_distributions,
        plot_posterior_bands,
        plot_price_curves,
        plot_tier_shares,
    )
    from reports.waves_sheet import add_wave_comparison
    from reports.workbook import ReportData, read_run_folder, write_workbook

#: where each name lives; a name loads its module on first use, so that ``winback report``
#: loads openpyxl and matplotlib only as it writes the workbook and the plots
_MODULE_OF = {
    "add_live_simulator": "reports.live_sheet",
    "plot_importances": "reports.plots",
    "plot_partworth_distributions": "reports.plots",
    "plot_posterior_bands": "reports.plots",
    "plot_price_curves": "reports.plots",
    "plot_tier_shares": "reports.plots",
    "add_wave_comparison": "reports.waves_sheet",
    "ReportData": "reports.workbook",
    "read_run_folder": "reports.workbook",
    "write_workbook": "reports.workbook",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)


__all__ = [
    "ReportData",
    "add_live_simulator",
    "add_wave_comparison",
    "plot_importances",
    "plot_partworth_distributions",
    "plot_posterior_bands",
    "plot_price_curves",
    "plot_tier_shares",
    "read_run_folder",
    "write_workbook",
]
