"""The report stage: ``winback report`` (the leadership workbook and its plots)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from reports.plots import plot_importances, plot_price_curves, plot_tier_shares
from reports.workbook import ReportData, read_run_folder, write_workbook
from reports.workbook.basis import share_word
from winback._folders import check_output_dir, check_output_file, staged_output
from winback._io import atomic_write_bytes, check_outputs_free
from winback.run_folder import REPORT, write_record

REPORT_WORKBOOK = REPORT.files[0]
REPORT_PLOTS = REPORT.files[1:]


@dataclass(frozen=True)
class ReportRun:
    """What ``run_report`` wrote: the workbook, the plots beside it, and the data shown."""

    data: ReportData
    workbook: Path
    out: Path  # the folder holding the workbook and the plots
    files: tuple[Path, ...]

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.files)
        return f"ReportRun: {self.workbook} ({len(self.files)} files in {self.out}/: {names})"


def run_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    wave_comparison: dict[str, pd.DataFrame] | None = None,
    force: bool = False,
) -> ReportRun:
    """``winback report``: the leadership workbook of a run folder, and its summary plots.

    Parameters
    ----------
    run_dir : str or Path
        A run folder (``winback demo``'s, or one the other commands wrote into): ``fit/`` is
        required; ``design/``, ``import/``, ``simulate/``, ``recommend/``, ``study.toml`` and
        ``market.toml`` are used when present.
    out : str or Path, optional
        The workbook (default ``run_dir/report/winback_report.xlsx``). The plots
        (``importances.png``, ``price_curves.png``, ``tier_shares.png``, each when its data is
        there) are written beside it.
    wave_comparison : dict of str to DataFrame, optional
        Tables comparing survey waves (a sheet added by ``reports.waves_sheet``).
    force : bool
        Replace an earlier workbook and plots.

    Returns
    -------
    ReportRun

    Examples
    --------
    >>> run = run_report("winback-demo")  # doctest: +SKIP
    >>> run.workbook  # doctest: +SKIP
    PosixPath('winback-demo/report/winback_report.xlsx')
    """
    run = Path(run_dir)
    workbook = Path(out) if out is not None else run / REPORT.name / REPORT_WORKBOOK
    folder = workbook.parent
    own_folder = out is None  # the default report/ folder is replaced as a whole
    if own_folder:
        check_output_dir(folder, force=force, owned=REPORT.owned)
    else:
        check_output_file(workbook, force=force, option="--out")
    data = read_run_folder(run)
    currency = str(data.study.get("currency") or "")
    plots: list[tuple[str, Callable[[], Figure]]] = []
    if data.importances is not None and not data.importances.empty:
        plots.append((REPORT_PLOTS[0], lambda: plot_importances(data.importances)))
    if data.price_curves is not None and not data.price_curves.empty:
        plots.append(
            (REPORT_PLOTS[1], lambda: plot_price_curves(data.price_curves, currency=currency))
        )
    if data.tiers is not None and not data.tiers.empty:
        label = share_word(data)  # the tiers' shares: calibrated when the searches were
        plots.append(
            (
                REPORT_PLOTS[2],
                lambda: plot_tier_shares(data.tiers, currency=currency, share_label=label),
            )
        )
    if not own_folder:
        check_outputs_free([workbook, *(folder / name for name, _ in plots)], force)

    def write(into: Path) -> None:
        write_workbook(into / workbook.name, data, wave_comparison=wave_comparison, force=force)
        for name, make in plots:
            buf = BytesIO()
            make().savefig(buf, format="png", dpi=150)
            atomic_write_bytes(into / name, buf.getvalue())

    settings: dict[str, Any] = {"wave_comparison": wave_comparison is not None}
    if own_folder:
        with staged_output(folder, force=force, owned=REPORT.owned) as stage:
            write(stage)
            write_record(stage, "report", settings, None, paths={"run": run})
    else:  # a workbook path of the user's choosing: file by file, each atomic
        folder.mkdir(parents=True, exist_ok=True)
        write(folder)
    files = [workbook, *(folder / name for name, _ in plots)]
    return ReportRun(data, workbook, folder, tuple(files))
