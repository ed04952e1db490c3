"""The report stage: ``winback report`` (the leadership workbook, its plots and, with
``--pdf``, its leadership pages as PDF rendered by LibreOffice)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from reports.workbook.facts import ReportData, read_run_folder
from winback._folders import check_output_dir, check_output_file, staged_output
from winback._io import atomic_write_bytes, check_outputs_free
from winback.errors import WinbackError
from winback.run_folder import REPORT, write_record

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_WORKBOOK = REPORT.files[0]
REPORT_PLOTS = tuple(f for f in REPORT.files[1:] if f.endswith(".png"))
#: the leadership pages as PDF (``winback report --pdf``), beside the workbook
REPORT_PDF = "winback_report.pdf"
#: the LibreOffice programs that render a workbook, in the order tried
SOFFICE = ("soffice", "libreoffice", "/Applications/LibreOffice.app/Contents/MacOS/soffice")
PDF_TIMEOUT = 600


def find_soffice() -> str | None:
    """The LibreOffice program on this machine (None when it is not installed)."""
    for name in SOFFICE:
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(workbook: str | Path, pdf: str | Path) -> Path:
    """The workbook's printed pages (its leadership pages) as a PDF, rendered by LibreOffice.

    LibreOffice prints every visible sheet over its print area, one page wide: the workbook's
    analyst pages are hidden tabs, so the PDF holds the leadership pages only.

    Parameters
    ----------
    workbook : str or Path
        The ``.xlsx`` to render.
    pdf : str or Path
        The PDF to write (replaced atomically).

    Returns
    -------
    Path

    Raises
    ------
    WinbackError
        LibreOffice is not installed (the message says how to install it), or it failed.

    Examples
    --------
    >>> render_pdf("winback-demo/report/winback_report.xlsx", "board.pdf")  # doctest: +SKIP
    PosixPath('board.pdf')
    """
    workbook, pdf = Path(workbook), Path(pdf)
    soffice = find_soffice()
    if soffice is None:
        raise WinbackError(
            "--pdf needs LibreOffice to render the workbook, and it is not installed (no "
            "soffice on the PATH). Install it: Debian/Ubuntu `apt-get install "
            "libreoffice-calc`, Fedora `dnf install libreoffice-calc`, macOS `brew install "
            "--cask libreoffice`, Windows from libreoffice.org; or open the workbook in Excel "
            "and print it to PDF (the leadership pages are set up to print)."
        )
    with tempfile.TemporaryDirectory(prefix="winback-pdf-") as tmp:
        profile = Path(tmp) / "profile"  # a private profile: a running LibreOffice is no bother
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            tmp,
            str(workbook),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise WinbackError(
                f"LibreOffice did not render {workbook} within {PDF_TIMEOUT} s."
            ) from None
        out = Path(tmp) / (workbook.stem + ".pdf")
        if done.returncode != 0 or not out.is_file():
            raise WinbackError(
                f"LibreOffice could not render {workbook} as PDF (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[:400]}"
            )
        atomic_write_bytes(pdf, out.read_bytes())
    return pdf


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
    pdf: bool = False,
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
    pdf : bool
        Also write the leadership pages as PDF beside the workbook (``winback_report.pdf``, or
        the workbook's name with ``.pdf``), rendered by LibreOffice (:func:`render_pdf`; a
        :class:`~winback.errors.WinbackError` saying how to install it when it is missing,
        before anything is written).

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
    pdf_name = (REPORT_PDF if own_folder else workbook.stem + ".pdf") if pdf else None
    if pdf and find_soffice() is None:
        render_pdf(workbook, folder / str(pdf_name))  # raises: how to install LibreOffice
    if own_folder:
        check_output_dir(folder, force=force, owned=REPORT.owned)
    else:
        check_output_file(workbook, force=force, option="--out")
    data = read_run_folder(run)
    # lazy: openpyxl and matplotlib (about 0.6 s to import) load once the run folder is read
    from reports.workbook.images import REPORT_FIGURES
    from reports.workbook.writer import write_workbook

    currency = str(data.study.get("currency") or "")
    plots: list[tuple[str, Figure]] = []
    for name in REPORT_PLOTS:  # the figures the workbook embeds, as files
        fig = REPORT_FIGURES[name](data, currency)
        if fig is not None:
            plots.append((name, fig))
    if not own_folder:
        extra = [folder / pdf_name] if pdf_name else []
        check_outputs_free([workbook, *(folder / name for name, _ in plots), *extra], force)

    def write(into: Path) -> None:
        write_workbook(into / workbook.name, data, wave_comparison=wave_comparison, force=force)
        for name, fig in plots:
            buf = BytesIO()
            fig.savefig(buf, format="png", dpi=150)
            atomic_write_bytes(into / name, buf.getvalue())
        if pdf_name:
            render_pdf(into / workbook.name, into / pdf_name)

    settings: dict[str, Any] = {"wave_comparison": wave_comparison is not None, "pdf": pdf}
    if own_folder:
        with staged_output(folder, force=force, owned=REPORT.owned) as stage:
            write(stage)
            write_record(stage, "report", settings, None, paths={"run": run})
    else:  # a workbook path of the user's choosing: file by file, each atomic
        folder.mkdir(parents=True, exist_ok=True)
        write(folder)
    files = [workbook, *(folder / name for name, _ in plots)]
    if pdf_name:
        files.append(folder / pdf_name)
    return ReportRun(data, workbook, folder, tuple(files))
