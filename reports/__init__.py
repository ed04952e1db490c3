"""The leadership workbook and its plots: what a board reads.

The hand-off from the other stages is a run folder (:class:`winback.run_folder.RunFolder`):
:func:`read_run_folder` reads it into a :class:`ReportData`, :func:`write_workbook` writes the
workbook, and the ``plot_*`` functions draw the figures with their posterior bands::

    from reports import read_run_folder, write_workbook
    data = read_run_folder("winback-demo")
    write_workbook("report.xlsx", data)
"""

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
