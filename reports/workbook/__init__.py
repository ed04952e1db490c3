"""The leadership workbook: one ``.xlsx`` that a leader can read without help.

``read_run_folder(run_dir)`` reads the tables a winback run folder holds (``winback demo`` or the
``design``, ``import``, ``fit``, ``simulate`` and ``recommend`` commands writing into one folder)
into a :class:`ReportData`; ``write_workbook(path, data)`` writes the workbook:

* ``Summary``: the one recommendation of ``recommend/decision.csv`` (what to do, customers won
  back, revenue and profit per year with their bands, what it costs, the net gain against
  today's offer like for like, where the customers come from, how sure, the runners-up on the
  same scale), why customers left, and the caveats in plain words (exclusions, quality flags,
  convergence, design, what the shares are); a run written before the one recommendation gets
  the former answer (the best offer, the tiers, the entry offer, per lost customer);
* ``Decision`` (every candidate on one scale, :mod:`~reports.workbook.decision_sheet`),
  ``Reasons``, ``Part-worths``, ``Importances``, ``WTP``, ``Offers``, ``Tiers``,
  ``Source of volume``, ``Price curves``, ``Design & quality``, ``Diagnostics``, ``Methods``;
* the live simulator (``Simulator``, ``Utilities``, ``Levels``: see :mod:`reports.live_sheet`)
  when the fit and a market are there;
* ``Segments`` (latent classes of ``latent_class/`` as segments leadership can name, see
  :mod:`~reports.workbook.segments`) when the run folder has a latent class fit;
* ``Campaign`` (the plan of ``winback target``: whom to contact with which offer, the control
  group, the expected customers won back and profit with bands, see
  :mod:`~reports.workbook.campaign`) when the run folder has ``target/``.

Only ``fit/`` is required; any other part missing from the run folder is explained on its sheet
and on the summary, never a crash. Charts are native Excel charts (they stay linked to the
cells). Every text that comes from respondents or study files is written as text (never as a
formula, see :func:`reports.live_sheet.set_text`); numbers stay numbers with number formats.
Bands are labelled with the probability the run used (each stage's ``run.json``). Every share
is named by what it is (:mod:`~reports.workbook.basis`): a *stated preference share*, or a
*calibrated share* beside the observation it is calibrated to; every before/after compares the
same own products, named.

The package: :mod:`~reports.workbook.facts` reads the run folder,
:mod:`~reports.workbook.styles` and :mod:`~reports.workbook.context` are what every sheet
shares, one module per sheet or small group of sheets writes them
(:mod:`~reports.workbook.summary` with :mod:`~reports.workbook.decision`,
:mod:`~reports.workbook.decision_sheet`, :mod:`~reports.workbook.preferences`,
:mod:`~reports.workbook.offers`, :mod:`~reports.workbook.quality`,
:mod:`~reports.workbook.methods`), and :mod:`~reports.workbook.spec` lists them in order with
their print settings; :func:`write_workbook` walks that list.

Examples
--------
>>> from reports.workbook import read_run_folder, write_workbook
>>> data = read_run_folder("winback-demo")  # doctest: +SKIP
>>> write_workbook("winback-demo/report/winback_report.xlsx", data)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from reports.workbook.facts import ReportData, read_run_folder
    from reports.workbook.facts import _read_table as _read_table
    from reports.workbook.spec import LIVE_SHEETS, SHEETS, sheet_order
    from reports.workbook.styles import _Sheet as _Sheet
    from reports.workbook.writer import _build as _build
    from reports.workbook.writer import write_workbook

#: where each name lives; a name loads its module on first use, so that reading a run folder
#: (``winback report`` before it writes) does not load openpyxl and matplotlib
_MODULE_OF = {
    "ReportData": "reports.workbook.facts",
    "read_run_folder": "reports.workbook.facts",
    "_read_table": "reports.workbook.facts",
    "LIVE_SHEETS": "reports.workbook.spec",
    "SHEETS": "reports.workbook.spec",
    "sheet_order": "reports.workbook.spec",
    "_Sheet": "reports.workbook.styles",
    "_build": "reports.workbook.writer",
    "write_workbook": "reports.workbook.writer",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)


__all__ = [
    "LIVE_SHEETS",
    "SHEETS",
    "ReportData",
    "read_run_folder",
    "sheet_order",
    "write_workbook",
]
