"""The leadership workbook: one ``.xlsx`` that a leader can read without help.

``read_run_folder(run_dir)`` reads the tables a winback run folder holds (``winback demo`` or the
``design``, ``import``, ``fit``, ``simulate`` and ``recommend`` commands writing into one folder)
into a :class:`ReportData`; ``write_workbook(path, data)`` writes the workbook:

* ``Summary``: why customers left, the recommended win-back offer, the good/better/best tiers
  and the unbundled entry offer with expected share, revenue and profit and their bands, and the
  caveats in plain words (exclusions, quality flags, convergence, design);
* ``Reasons``, ``Part-worths``, ``Importances``, ``WTP``, ``Offers``, ``Tiers``,
  ``Source of volume``, ``Price curves``, ``Design & quality``, ``Diagnostics``, ``Methods``;
* the live simulator (``Simulator``, ``Utilities``, ``Levels``: see :mod:`reports.live_sheet`)
  when the fit and a market are there.

Only ``fit/`` is required; any other part missing from the run folder is explained on its sheet
and on the summary, never a crash. Charts are native Excel charts (they stay linked to the
cells). Every text that comes from respondents or study files is written as text (never as a
formula, see :func:`reports.live_sheet.set_text`); numbers stay numbers with number formats.

Examples
--------
>>> from reports.workbook import read_run_folder, write_workbook
>>> data = read_run_folder("winback-demo")  # doctest: +SKIP
>>> write_workbook("winback-demo/report/winback_report.xlsx", data)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.live_sheet import add_live_simulator, set_text
from surveys.reasons import REASON_LABELS, TEXT_COLUMNS
from winback._io import atomic_write_bytes, check_outputs_free, unescape_frame
from winback.errors import WinbackError

__all__ = ["SHEETS", "ReportData", "read_run_folder", "write_workbook"]

log = logging.getLogger("winback")

#: the workbook's sheets, in order (the live simulator's three sheets follow when present)
SHEETS = (
    "Summary",
    "Reasons",
    "Part-worths",
    "Importances",
    "WTP",
    "Offers",
    "Tiers",
    "Source of volume",
    "Price curves",
    "Design & quality",
    "Diagnostics",
    "Methods",
)
LIVE_SHEETS = ("Simulator", "Utilities", "Levels")

#: columns read as text whatever they hold (ids and labels keep leading zeros, "None" stays)
_TEXT_COLUMNS = (
    "respondent_id",
    "attribute",
    "level",
    "from_level",
    "to_level",
    "product",
    "source",
    "kind",
    "segment",
    "tier",
    "menu_before",
    "offer",
    "reason",
    "label",
    "measure",
    "parameter",
    "method",
    "component",
    "price_of",
    "share_of",
)


# --------------------------------------------------------------------------------------------
# Reading a run folder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    """Everything the workbook shows, as tables: one attribute per file of a run folder.

    Only ``partworths`` is required; every other table is ``None`` when its file is missing.
    Column names are those of the CSV files (see docs/cli.md and docs/simulator.md).

    Attributes
    ----------
    partworths : DataFrame
        ``fit/partworths.csv``: ``respondent_id, attribute, level, utility``.
    study : dict
        ``name``, ``description``, ``currency``, ``price_attribute`` and ``attributes`` (each a
        dict with ``name``, ``label``, ``levels``, ``coding``, ``reference``); empty if unknown.
    fit_diagnostics : dict or None
        ``fit/diagnostics.json`` (verdict, R-hat, ESS, divergences, reasons, advice).
    fit_settings : dict or None
        Sampler settings of the fit (draws, tune, chains, covariance, LKJ eta, ...).
    convergence_text, design_text, reasons_text, recommend_text : str or None
        The text reports of the run.
    importances, population : DataFrame or None
        ``fit/importances.csv``, ``fit/population.csv``.
    design_diagnostics : dict or None
        ``design/diagnostics.json``.
    level_balance : DataFrame or None
    respondents, exclusions, quality, reasons : DataFrame or None
        ``import/`` (``respondents`` is read as text: answers stay exactly as given).
    import_summary : dict or None
        ``import/import.json``.
    shares, source_of_volume, price_curves, elasticities, wtp : DataFrame or None
        ``simulate/``.
    offers, segments, tiers, upgrade_paths, cannibalisation, tiers_summary, unbundling,
    unbundling_summary, addons : DataFrame or None
        ``recommend/``.
    market_products : DataFrame or None
        The products of ``market.toml`` (``product, own`` and one column per attribute).
    simulator_draws, market : object or None
        Posterior-mean part-worths (:class:`analysis.simulator.PartWorthDraws`) and the
        :class:`analysis.simulator.Market` for the live simulator sheets.
    notes : tuple of str
        What is missing or doubtful, in words (shown on the summary).
    run_dir : str
    """

    partworths: pd.DataFrame
    study: dict[str, Any] = field(default_factory=dict)
    fit_diagnostics: dict[str, Any] | None = None
    fit_settings: dict[str, Any] | None = None
    convergence_text: str | None = None
    importances: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    design_diagnostics: dict[str, Any] | None = None
    design_text: str | None = None
    level_balance: pd.DataFrame | None = None
    respondents: pd.DataFrame | None = None
    exclusions: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None
    reasons: pd.DataFrame | None = None
    reasons_text: str | None = None
    import_summary: dict[str, Any] | None = None
    shares: pd.DataFrame | None = None
    source_of_volume: pd.DataFrame | None = None
    price_curves: pd.DataFrame | None = None
    elasticities: pd.DataFrame | None = None
    wtp: pd.DataFrame | None = None
    offers: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    tiers: pd.DataFrame | None = None
    upgrade_paths: pd.DataFrame | None = None
    cannibalisation: pd.DataFrame | None = None
    tiers_summary: pd.DataFrame | None = None
    unbundling: pd.DataFrame | None = None
    unbundling_summary: pd.DataFrame | None = None
    addons: pd.DataFrame | None = None
    recommend_text: str | None = None
    market_products: pd.DataFrame | None = None
    simulator_draws: Any = None
    market: Any = None
    notes: tuple[str, ...] = ()
    run_dir: str = ""

    def __repr__(self) -> str:
        have = [
            name
            for name, value in self.__dict__.items()
            if isinstance(value, pd.DataFrame) and name != "partworths"
        ]
        n = self.partworths["respondent_id"].nunique()
        lines = [
            f"ReportData: {self.study.get('name') or self.run_dir or 'run'} ({n} respondents "
            f"with part-worths)",
            f"  tables: {', '.join(have) or 'part-worths only'}",
            f"  live simulator: {'yes' if self.market is not None else 'no'}",
        ]
        lines += [f"  note: {n_}" for n_ in self.notes]
        lines.append("  next: write_workbook(path, data)")
        return "\n".join(lines)


def _read_table(path: Path, *, all_text: bool = False) -> pd.DataFrame | None:
    """A CSV written by winback: text cells unescaped, ``None``/``NA`` kept as text."""
    if not path.is_file():
        return None
    try:
        if all_text:
            df = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig"
            )
        else:
            df = pd.read_csv(
                path,
                keep_default_na=False,
                na_values=[""],
                dtype=dict.fromkeys(_TEXT_COLUMNS, str),
                encoding="utf-8-sig",
            )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise WinbackError(f"{path} is not a readable CSV table ({exc}).") from None
    return unescape_frame(df)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WinbackError(f"{path} is not readable JSON ({exc}).") from None
    return obj if isinstance(obj, dict) else None


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").rstrip("\n") if path.is_file() else None


def _study_info(study: Any) -> dict[str, Any]:
    from winback.study import format_level

    return {
        "name": study.name,
        "description": study.description,
        "currency": study.currency,
        "price_attribute": study.price_attribute,
        "none_option": study.has_none,
        "attributes": [
            {
                "name": a.name,
                "label": a.display,
                "levels": [format_level(v) for v in a.levels],
                "coding": a.coding,
                "reference": format_level(a.reference),
                "unit": getattr(a, "unit", None),
            }
            for a in study.attributes
        ],
    }


def _market_products(market: Any) -> pd.DataFrame:
    from winback.study import format_level

    rows = []
    for p in market.products:
        row: dict[str, Any] = {"product": p.name, "own": bool(p.own)}
        for k, v in dict(p.levels).items():
            row[k] = float(v) if isinstance(v, int | float) else format_level(v)
        rows.append(row)
    return pd.DataFrame(rows)


def read_run_folder(run_dir: str | Path, *, live: bool = True) -> ReportData:
    """Read a run folder's tables for the workbook.

    Parameters
    ----------
    run_dir : str or Path
        A folder with ``fit/`` (required: ``partworths.csv``) and any of ``study.toml``,
        ``market.toml``, ``design/``, ``import/``, ``simulate/``, ``recommend/``.
    live : bool
        Load ``fit/fit.nc`` and ``market.toml`` for the live simulator sheets (and the study
        and sampler settings). A fit whose input files changed since fitting is still read; the
        change becomes a caveat on the summary.

    Returns
    -------
    ReportData

    Raises
    ------
    WinbackError
        No such folder, no ``fit/partworths.csv``, or an unreadable file (named).

    Examples
    --------
    >>> data = read_run_folder("winback-demo")  # doctest: +SKIP
    >>> data.offers.head()  # doctest: +SKIP
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise WinbackError(f"no run folder at {run}.")
    fit_dir = run / "fit"
    partworths = _read_table(fit_dir / "partworths.csv")
    if partworths is None or partworths.empty:
        have = sorted(p.name for p in run.iterdir() if p.is_dir())
        raise WinbackError(
            f"{run} has no fit/partworths.csv: the workbook needs at least a fit "
            f"(winback fit ... --out {run / 'fit'}). Sub-folders found: {', '.join(have) or 'none'}."
        )
    notes: list[str] = []
    for sub, what in (
        ("design", "design diagnostics"),
        ("import", "data quality, exclusions and reasons for leaving"),
        ("simulate", "market shares, source of volume, price curves and willingness to pay"),
        ("recommend", "recommended offers, tiers and the unbundled entry offer"),
    ):
        if not (run / sub).is_dir():
            notes.append(f"No {sub}/ folder in the run: {what} are not in this workbook.")

    study: dict[str, Any] = {}
    fit_settings = draws = market = products = None
    if live and (fit_dir / "fit.nc").is_file():
        model = None
        from analysis.io import load_model

        try:
            model = load_model(fit_dir / "fit.nc")
        except WinbackError as exc:
            if "changed" not in str(exc):
                raise
            notes.append(f"An input file of the fit changed after fitting: {exc}")
            model = load_model(fit_dir / "fit.nc", check_sources=False)
        study = _study_info(model.study)
        s = model.settings
        fit_settings = {
            k: getattr(s, k)
            for k in (
                "draws",
                "tune",
                "chains",
                "random_seed",
                "covariance",
                "lkj_eta",
                "mu_scale",
                "sd_scale",
                "sampler",
            )
            if hasattr(s, k)
        }
        fit_settings["constraints"] = dict(getattr(s, "constraints", {}) or {})
        if (run / "market.toml").is_file():
            from analysis.simulator import PartWorthDraws, read_market

            market = read_market(run / "market.toml", model.study)
            draws = PartWorthDraws.from_model(model).point()
            products = _market_products(market)
        else:
            notes.append("No market.toml in the run: the live simulator sheets are left out.")
    elif not (fit_dir / "fit.nc").is_file():
        notes.append("No fit/fit.nc in the run: the live simulator sheets are left out.")
    if not study and (run / "study.toml").is_file():
        from winback.study import load_study

        study = _study_info(load_study(run / "study.toml"))

    d, i, s_, r = run / "design", run / "import", run / "simulate", run / "recommend"
    return ReportData(
        partworths=partworths,
        study=study,
        fit_diagnostics=_read_json(fit_dir / "diagnostics.json"),
        fit_settings=fit_settings,
        convergence_text=_read_text(fit_dir / "convergence.txt"),
        importances=_read_table(fit_dir / "importances.csv"),
        population=_read_table(fit_dir / "population.csv"),
        design_diagnostics=_read_json(d / "diagnostics.json"),
        design_text=_read_text(d / "diagnostics.txt"),
        level_balance=_read_table(d / "level_balance.csv"),
        respondents=_read_table(i / "respondents.csv", all_text=True),
        exclusions=_read_table(i / "exclusions.csv"),
        quality=_read_table(i / "quality.csv"),
        reasons=_read_table(i / "reasons.csv"),
        reasons_text=_read_text(i / "reasons.txt"),
        import_summary=_read_json(i / "import.json"),
        shares=_read_table(s_ / "shares.csv"),
        source_of_volume=_read_table(s_ / "source_of_volume.csv"),
        price_curves=_read_table(s_ / "price_curves.csv"),
        elasticities=_read_table(s_ / "elasticities.csv"),
        wtp=_read_table(s_ / "wtp.csv"),
        offers=_read_table(r / "offers.csv"),
        segments=_read_table(r / "segments.csv"),
        tiers=_read_table(r / "tiers.csv"),
        upgrade_paths=_read_table(r / "upgrade_paths.csv"),
        cannibalisation=_read_table(r / "cannibalisation.csv"),
        tiers_summary=_read_table(r / "tiers_summary.csv"),
        unbundling=_read_table(r / "unbundling.csv"),
        unbundling_summary=_read_table(r / "unbundling_summary.csv"),
        addons=_read_table(r / "addons.csv"),
        recommend_text=_read_text(r / "recommend.txt"),
        market_products=products,
        simulator_draws=draws,
        market=market,
        notes=tuple(notes),
        run_dir=str(run),
    )


# --------------------------------------------------------------------------------------------
# Style and writing helpers
# --------------------------------------------------------------------------------------------

_BLUE = "1F4E79"
_HEADER_FILL = PatternFill("solid", fgColor=_BLUE)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_TITLE_FONT = Font(bold=True, size=16, color=_BLUE)
_HEADING_FONT = Font(bold=True, size=12, color=_BLUE)
_NOTE_FONT = Font(italic=True, color="595959")
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")

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
    """A cell value: numbers stay numbers, missing and non-finite are blank, the rest text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(float(v)) else None
    return str(v)


class _Sheet:
    """A worksheet written top to bottom, remembering column widths."""

    def __init__(self, ws: Any, *, span: int = 8) -> None:
        self.ws = ws
        self.row = 1
        self.span = span  # columns a paragraph spans
        self.widths: dict[int, float] = {}
        self.frozen = False

    def _fit(self, col: int, value: Any, fmt: str | None = None) -> None:
        if value is None:
            return
        if isinstance(value, float):
            n = 12 if fmt and '"' in fmt else 9
        else:
            n = max(len(line) for line in str(value).split("\n")) if str(value) else 0
        self.widths[col] = max(self.widths.get(col, 0), min(n + 2, 60))

    def put(self, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
        cell = self.ws.cell(row, col)
        set_text(cell, _value(value))
        if fmt and isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
            cell.number_format = fmt
        return cell

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
        self.row += 1

    def para(self, text: str, *, font: Font | None = None, bold: bool = False) -> None:
        """A wrapped paragraph over ``span`` merged columns."""
        cell = self.ws.cell(self.row, 1)
        set_text(cell, text)
        cell.alignment = _WRAP
        if font is not None:
            cell.font = font
        elif bold:
            cell.font = _BOLD
        if self.span > 1:
            self.ws.merge_cells(
                start_row=self.row, start_column=1, end_row=self.row, end_column=self.span
            )
        chars = max(40, int(self._span_width() * 1.15))
        lines = sum(max(1, math.ceil(len(part) / chars)) for part in text.split("\n"))
        self.ws.row_dimensions[self.row].height = 15 * lines + 3
        self.row += 1

    def _span_width(self) -> float:
        total = 0.0
        for c in range(1, self.span + 1):
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

    def pairs(self, rows: Sequence[tuple[str, Any, str | None]]) -> None:
        """Label / value rows (label in bold)."""
        for label, value, fmt in rows:
            c = self.put(self.row, 1, label)
            c.font = _BOLD
            self._fit(1, label)
            cell = self.put(self.row, 2, value, fmt)
            cell.alignment = Alignment(horizontal="left", vertical="top")
            if isinstance(value, str) and len(value) > 60:
                cell.alignment = _WRAP
                self.ws.merge_cells(
                    start_row=self.row, start_column=2, end_row=self.row, end_column=self.span
                )
                self.ws.row_dimensions[self.row].height = 15 * math.ceil(len(value) / 90) + 3
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
        """Write a table with a styled header; returns (header row, first row, last row)."""
        formats = formats or {}
        labels = labels or {}
        header = self.row
        for j, name in enumerate(df.columns):
            text = labels.get(str(name), str(name).replace("_", " "))
            c = self.put(header, col + j, text)
            c.font = _HEADER_FONT
            c.fill = _HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="center")
            self._fit(col + j, text if len(text) < 24 else text[:24])
        for i, (_, rec) in enumerate(df.iterrows()):
            r = header + 1 + i
            per_row = row_format[1](rec) if row_format is not None else None
            for j, name in enumerate(df.columns):
                fmt = formats.get(str(name))
                if per_row is not None and row_format is not None and name in row_format[0]:
                    fmt = per_row
                value = rec[name]
                self.put(r, col + j, value, fmt)
                self._fit(col + j, _value(value), fmt)
        last = header + len(df)
        if freeze and not self.frozen:
            self.ws.freeze_panes = self.ws.cell(header + 1, 1)
            self.frozen = True
        self.row = last + 2
        return header, header + 1, last

    def finish(self, min_width: float = 9.0) -> None:
        for c, w in self.widths.items():
            dim = self.ws.column_dimensions[get_column_letter(c)]
            dim.width = max(dim.width or 0, w, min_width)


def _chart_style(chart: Any, title: str, y_title: str | None, x_title: str | None) -> None:
    chart.title = title
    chart.style = 10
    chart.width = 18
    chart.height = 9
    if y_title:
        chart.y_axis.title = y_title
    if x_title:
        chart.x_axis.title = x_title
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


# --------------------------------------------------------------------------------------------
# Facts for the summary
# --------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    data: ReportData
    currency: str
    money: str
    notes: list[str] = field(default_factory=list)

    def fmt_money(self, x: float) -> str:
        cur = f"{self.currency} " if self.currency else ""
        return f"{cur}{x:,.2f}"


def _present(df: pd.DataFrame | None) -> bool:
    return df is not None and not df.empty


def _attribute_columns(data: ReportData, df: pd.DataFrame) -> list[str]:
    names = [a["name"] for a in data.study.get("attributes", [])]
    if names:
        return [n for n in names if n in df.columns]
    known = {
        "rank", "share", "lower", "upper", "revenue", "profit", "prob_beats_current",
        "prob_best", "tier", "offer", "segment", "n_respondents", "margin", "margin_lower",
        "margin_upper", "current_share", "gain_lower", "gain_upper", "worth_winning",
        "revenue_lower", "revenue_upper", "profit_lower", "profit_upper",
    }  # fmt: skip
    return [c for c in df.columns if c not in known]


def _label(data: ReportData, attribute: str) -> str:
    for a in data.study.get("attributes", []):
        if a["name"] == attribute:
            return str(a["label"])
    return attribute


def _price_col(data: ReportData, df: pd.DataFrame) -> str | None:
    p = data.study.get("price_attribute")
    if p and p in df.columns:
        return str(p)
    return "price" if "price" in df.columns else None


def _describe(data: ReportData, rec: pd.Series, skip_price: bool = True) -> str:
    price = _price_col(data, rec.to_frame().T)
    parts = []
    for a in _attribute_columns(data, rec.to_frame().T):
        if skip_price and a == price:
            continue
        parts.append(f"{_label(data, a)}: {_fmt_level(rec[a])}")
    return "; ".join(parts)


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _per(data: ReportData) -> str:
    """' per month' for a price attribute with unit 'EUR/month'."""
    price = data.study.get("price_attribute")
    for a in data.study.get("attributes", []):
        unit = a.get("unit") or ""
        if a["name"] == price and "/" in unit:
            return f" per {unit.split('/', 1)[1].strip()}"
    return ""


def _fmt_level(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _with_derived_bands(data: ReportData, offers: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Revenue and profit bands of single offers, from the share band when the price is fixed.

    With one own product, revenue = share x price and profit = share x (price - unit cost) in
    every draw, so their bands are the share band times price (or margin). Only added when the
    table's revenue equals share x price (otherwise other own products count too).
    """
    out = offers.copy()
    price = _price_col(data, out)
    need = {"share", "lower", "upper", "revenue"}
    if price is None or not need <= set(out.columns) or "revenue_lower" in out.columns:
        return out, False
    share = out["share"].astype(float)
    if not np.allclose(out["revenue"].astype(float), share * out[price].astype(float), rtol=1e-6):
        return out, False
    for what in ("revenue", "profit"):
        if what not in out.columns:
            continue
        per_share = out[what].astype(float) / share.where(share > 0)
        out[f"{what}_lower"] = out["lower"].astype(float) * per_share
        out[f"{what}_upper"] = out["upper"].astype(float) * per_share
    return out, True


def _measure(df: pd.DataFrame | None, text: str) -> pd.Series | None:
    if df is None or "measure" not in df.columns:
        return None
    hit = df[df["measure"].astype(str) == text]
    return hit.iloc[0] if len(hit) else None


def _current_product(data: ReportData) -> pd.Series | None:
    mp = data.market_products
    if _present(mp):
        assert mp is not None
        own = mp[mp["own"].astype(bool)]
        if len(own):
            return own.iloc[0]
    ub = data.unbundling
    if _present(ub) and ub is not None and "offer" in ub.columns:
        hit = ub[ub["offer"].astype(str).str.startswith("bundle")]
        if len(hit):
            return hit.iloc[0]
    return None


def _current_share(data: ReportData) -> pd.Series | None:
    sh = data.shares
    if not _present(sh):
        return None
    assert sh is not None
    if "segment" in sh.columns:
        sh = sh[sh["segment"].astype(str) == "all"]
    own = sh[sh["own"].astype(str).str.lower() == "true"] if "own" in sh.columns else sh.iloc[:0]
    return own.iloc[0] if len(own) else None


def _bool_series(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(bool)
    return s.astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def _flag_columns(quality: pd.DataFrame) -> list[str]:
    out = []
    for c in quality.columns:
        vals = set(quality[c].dropna().astype(str).str.lower().unique())
        if vals and vals <= {"true", "false"} and c != "n_flags":
            out.append(c)
    return out


def _exclusion_counts(data: ReportData) -> pd.DataFrame | None:
    ex = data.exclusions
    if ex is None or "reason" not in ex.columns:
        return None
    counts = (
        ex.assign(reason=ex["reason"].astype(str))
        .groupby("reason", sort=False)
        .size()
        .rename("respondents")
        .reset_index()
        .sort_values("respondents", ascending=False, kind="stable")
    )
    return counts


def _verdict_words(verdict: str) -> str:
    v = verdict.lower()
    if v == "pass":
        return (
            "PASS: the estimation converged (every check passed), so the figures in this "
            "workbook are stable."
        )
    if v == "warn":
        return (
            "WARNING: the estimation converged with warnings (see the Diagnostics sheet). The "
            "figures are usable; check the warnings before a final decision."
        )
    if v == "fail":
        return (
            "FAIL: the estimation did NOT converge, so the figures are not reliable yet. "
            "Rerun the fit with more draws (advice on the Diagnostics sheet) before deciding."
        )
    return f"{verdict}: see the Diagnostics sheet."


# --------------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------------


def _sheet_summary(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    ws = wb.create_sheet("Summary")
    for c, w in zip("ABCDEF", (46, 20, 20, 20, 20, 20), strict=True):
        ws.column_dimensions[c].width = w
    s = _Sheet(ws, span=6)
    name = data.study.get("name") or Path(data.run_dir).name or "Win-back study"
    s.title(
        f"{name}: why lost customers left and what would win them back",
        "Page 1 of the leadership workbook: the answer, the key numbers and the caveats. "
        "The other sheets hold the detail.",
    )
    ws.freeze_panes = "A2"
    if data.study.get("description"):
        s.note(str(data.study["description"]))

    # -- the answer in brief -------------------------------------------------------------------
    s.heading("The answer in brief")
    brief: list[str] = []
    n_answered = len(data.respondents) if data.respondents is not None else None
    n_analysed = int(data.partworths["respondent_id"].nunique())
    ex = _exclusion_counts(data)
    n_excluded = int(ex["respondents"].sum()) if ex is not None else 0
    if n_answered is not None:
        brief.append(
            f"Who answered: {n_answered:,} lost customers took the survey; {n_analysed:,} are "
            f"in the analysis"
            + (f" ({n_excluded:,} left out, see the caveats below)." if n_excluded else ".")
        )
    else:
        brief.append(f"Who answered: {n_analysed:,} lost customers are in the analysis.")
    rs = data.reasons
    if _present(rs) and rs is not None and {"label", "share"} <= set(rs.columns):
        top = rs.sort_values("share", ascending=False, kind="stable").head(3)
        parts = [f"{r['label']} ({r['share']:.0%})" for _, r in top.iterrows()]
        brief.append(
            "Why they left: the most common reasons were "
            + ", ".join(parts[:-1])
            + (f" and {parts[-1]}" if len(parts) > 1 else parts[-1])
            + " (share of respondents naming each; several answers allowed)."
        )
    else:
        brief.append("Why they left: not in this run (no import/reasons.csv).")
    cur_share = _current_share(data)
    offers = data.offers
    if _present(offers) and offers is not None:
        offers_b, derived = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        price = _price_col(data, offers_b)
        txt = f"What to offer: {_describe(data, best)}"
        if price is not None:
            txt += f", at {ctx.fmt_money(float(best[price]))}{_per(data)}"
        txt += (
            f". Expected to win back {best['share']:.1%} of lost customers (band "
            f"{best['lower']:.1%} to {best['upper']:.1%})"
        )
        if cur_share is not None:
            txt += f", against {float(cur_share['share']):.1%} for today's offer"
        money = []
        for what in ("revenue", "profit"):
            if what in best.index and pd.notna(best[what]):
                band = ""
                if f"{what}_lower" in best.index and pd.notna(best[f"{what}_lower"]):
                    band = (
                        f" ({ctx.fmt_money(float(best[f'{what}_lower']))} to "
                        f"{ctx.fmt_money(float(best[f'{what}_upper']))})"
                    )
                money.append(f"{what} {ctx.fmt_money(float(best[what]))}{band}")
        if money:
            txt += "; " + " and ".join(money) + " per lost customer"
        brief.append(txt + ".")
    else:
        brief.append("What to offer: no offer search in this run (no recommend/offers.csv).")
    tiers = data.tiers
    if _present(tiers) and tiers is not None:
        price = _price_col(data, tiers)
        ladder = ", ".join(
            f"{r['tier']} {ctx.fmt_money(float(r[price]))}" if price else str(r["tier"])
            for _, r in tiers.iterrows()
        )
        txt = f"Good / better / best: a menu of {len(tiers)} tiers ({ladder})"
        menu = _measure(data.tiers_summary, "our share, tier menu")
        if menu is not None:
            txt += (
                f" would win back {float(menu['value']):.1%} of lost customers together (band "
                f"{float(menu['lower']):.1%} to {float(menu['upper']):.1%})"
            )
        prof = _measure(data.tiers_summary, "our profit, tier menu")
        if prof is not None:
            txt += f", profit {ctx.fmt_money(float(prof['value']))} per lost customer"
        brief.append(txt + ". Tiers sheet: where each tier's takers come from.")
    ub = data.unbundling
    if _present(ub) and ub is not None and "offer" in ub.columns:
        entry = ub[ub["offer"].astype(str) == "entry"]
        bundle = _current_product(data)
        if len(entry):
            e = entry.iloc[0]
            price = _price_col(data, ub)
            stripped = []
            if bundle is not None:
                stripped = [
                    _label(data, a)
                    for a in _attribute_columns(data, ub)
                    if a != price and a in bundle.index and str(bundle[a]) != str(e[a])
                ]
            txt = "Unbundled entry offer: "
            txt += f"the bundle without {_and(stripped)}" if stripped else "an entry offer"
            if price is not None:
                txt += f" at {ctx.fmt_money(float(e[price]))}"
            ad = data.addons
            if _present(ad) and ad is not None and {"component", "price"} <= set(ad.columns):
                txt += ", with add-ons " + ", ".join(
                    f"{_label(data, str(r['component']))} +{ctx.fmt_money(float(r['price']))}"
                    for _, r in ad.iterrows()
                )
            back = _measure(
                data.unbundling_summary, "lost customers brought back by the menu beyond the bundle"
            )
            if back is not None:
                txt += (
                    f": brings back {float(back['value']):.1%} more lost customers than the "
                    f"bundle alone (band {float(back['lower']):.1%} to {float(back['upper']):.1%})"
                )
            change = _measure(data.unbundling_summary, "our profit, change")
            if change is not None:
                txt += (
                    f"; profit changes by {ctx.fmt_money(float(change['value']))} per lost customer"
                )
            brief.append(txt + ".")
    fd = data.fit_diagnostics
    if fd and fd.get("verdict"):
        brief.append("How sure are we: " + _verdict_words(str(fd["verdict"])))
    s.bullets(brief)
    s.blank()

    # -- key numbers ---------------------------------------------------------------------------
    rows: list[tuple[str, float, float, float, str]] = []
    if _present(offers) and offers is not None:
        offers_b, derived = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        rows.append(("Recommended offer: share of lost customers won back", best["share"],
                     best["lower"], best["upper"], PCT))  # fmt: skip
        for what in ("revenue", "profit"):
            if what in best.index:
                lo = best.get(f"{what}_lower", np.nan)
                hi = best.get(f"{what}_upper", np.nan)
                rows.append((f"Recommended offer: {what} per lost customer", best[what], lo, hi,
                             ctx.money))  # fmt: skip
    if cur_share is not None:
        rows.append(("Today's offer: share of lost customers won back", cur_share["share"],
                     cur_share["lower"], cur_share["upper"], PCT))  # fmt: skip
    for measure, label, fmt in (
        ("our share, tier menu", "Tier menu: share of lost customers won back", PCT),
        ("our revenue, tier menu", "Tier menu: revenue per lost customer", ctx.money),
        ("our profit, tier menu", "Tier menu: profit per lost customer", ctx.money),
    ):
        m = _measure(data.tiers_summary, measure)
        if m is not None:
            rows.append((label, m["value"], m["lower"], m["upper"], fmt))
    for measure, label, fmt in (
        ("share, entry menu", "Entry menu: share of lost customers won back", PCT),
        (
            "lost customers brought back by the menu beyond the bundle",
            "Entry menu: extra lost customers won back vs the bundle",
            PCT,
        ),
        ("our profit, change", "Entry menu: profit change per lost customer", ctx.money),
    ):
        m = _measure(data.unbundling_summary, measure)
        if m is not None:
            rows.append((label, m["value"], m["lower"], m["upper"], fmt))
    if rows:
        s.heading("Key numbers (with their 90% bands)")
        frame = pd.DataFrame(rows, columns=["measure", "estimate", "band_from", "band_to", "_f"])
        fmts = frame.pop("_f")
        s.table(
            frame,
            labels={"band_from": "band from", "band_to": "band to"},
            row_format=(("estimate", "band_from", "band_to"), lambda r: str(fmts[r.name])),
        )
        if _present(offers) and offers is not None and _with_derived_bands(data, offers)[1]:
            s.note(
                "Revenue and profit bands of a single offer follow from its share band (its "
                "price is fixed). Shares, revenue and profit are per lost customer surveyed; "
                "money is per period of the price (e.g. per month)."
            )

    # -- offers side by side --------------------------------------------------------------------
    cols: dict[str, pd.Series] = {}
    cur = _current_product(data)
    if cur is not None:
        cols["Today's offer"] = cur
    if _present(offers) and offers is not None:
        cols["Recommended offer"] = offers.iloc[0]
    if _present(tiers) and tiers is not None:
        for _, r in tiers.iterrows():
            cols[f"Tier: {r['tier']}"] = r
    if len(cols) > 1 and data.study.get("attributes"):
        s.heading("The offers side by side")
        attrs = [a["name"] for a in data.study["attributes"]]
        price = data.study.get("price_attribute")
        table = pd.DataFrame(
            {
                "attribute": [_label(data, a) for a in attrs],
                **{
                    k: [
                        (float(v[a]) if a == price else _fmt_level(v[a])) if a in v.index else None
                        for a in attrs
                    ]
                    for k, v in cols.items()
                },
            }
        )
        h, first, last = s.table(table)
        if price in attrs:
            r = first + attrs.index(price)
            for j in range(2, 2 + len(cols)):
                ws.cell(r, j).number_format = ctx.money
                # left, like the level labels above it, so each price sits under its offer
                ws.cell(r, j).alignment = Alignment(horizontal="left")

    # -- caveats --------------------------------------------------------------------------------
    s.heading("Caveats, in plain words")
    cav: list[str] = []
    if ex is not None and len(ex):
        cav.append(
            f"{n_excluded:,} respondents were left out of the analysis: "
            + "; ".join(f"{r['reason']} ({r['respondents']:,})" for _, r in ex.iterrows())
            + "."
        )
    elif ex is not None:
        cav.append("No respondent was left out of the analysis.")
    q = data.quality
    if _present(q) and q is not None:
        flags = _flag_columns(q)
        counts = {f: int(_bool_series(q[f]).sum()) for f in flags}
        hit = {f: n for f, n in counts.items() if n}
        if hit:
            cav.append(
                "Data-quality flags (flagged, not necessarily left out): "
                + ", ".join(f"{f.replace('_', ' ')} {n:,}" for f, n in hit.items())
                + f" of {len(q):,} respondents. Design & quality sheet: details."
            )
        else:
            cav.append(f"No data-quality flag was raised on the {len(q):,} respondents.")
    if fd and fd.get("verdict"):
        cav.append(
            "Convergence of the estimation: "
            + _verdict_words(str(fd["verdict"]))
            + (
                f" ({len(fd.get('reasons') or [])} checks did not pass.)"
                if fd.get("reasons")
                else ""
            )
        )
    else:
        cav.append("Convergence of the estimation: not recorded (no fit/diagnostics.json).")
    dd = data.design_diagnostics
    if dd and dd.get("verdict"):
        reasons = "; ".join(str(x) for x in dd.get("reasons") or [])
        cav.append(
            f"Survey design verdict: {dd['verdict']}" + (f" ({reasons})" if reasons else "") + "."
        )
    cav.append(
        "Shares are shares of preference among the lost customers surveyed, from their "
        "choices between offers in the survey; they are not a forecast of market take-up, "
        "which also depends on awareness, timing and how the offer reaches customers."
    )
    cav.extend(data.notes)
    cav.extend(ctx.notes)
    s.bullets(cav)
    s.blank()
    s.heading("Where to find the details")
    s.pairs(
        [
            ("Reasons", "why they left, with the customers' own words", None),
            ("Part-worths / Importances", "what each feature and price level is worth to them", None),
            ("WTP", "willingness to pay for each change of our offer", None),
            ("Offers / Tiers", "the best offers, by reason for leaving too; tiers; unbundling", None),
            ("Source of volume / Price curves", "where customers come from; demand at each price", None),
            ("Design & quality / Diagnostics", "how good the survey design and data are; convergence", None),
            ("Methods", "what was done, with formulas and references", None),
            ("Simulator", "try your own offers: pick levels, the shares recalculate", None),
        ]
    )  # fmt: skip
    s.finish()


def _missing(s: _Sheet, what: str, folder: str) -> None:
    s.note(f"Not available: this run has no {what} ({folder}).")


def _sheet_reasons(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Reasons"))
    s.title(
        "Why customers left",
        "Share of respondents who named each reason (several answers allowed), with its 95% "
        "interval; then the main reason, and what customers wrote in their own words.",
    )
    rs = data.reasons
    if _present(rs) and rs is not None:
        cols = [
            c
            for c in ("label", "reason", "n_selected", "n", "share", "lower", "upper")
            if c in rs.columns
        ]
        t = (
            rs[cols].sort_values("share", ascending=False, kind="stable")
            if "share" in cols
            else rs[cols]
        )
        h, first, last = s.table(
            t,
            formats={"share": PCT, "lower": PCT, "upper": PCT, "n_selected": INT, "n": INT},
            labels={"label": "reason for leaving", "reason": "code", "n_selected": "respondents",
                    "n": "of", "lower": "interval from", "upper": "interval to"},
            freeze=True,
        )  # fmt: skip
        if "share" in cols and "label" in cols:
            _bar_chart(
                s.ws,
                data_col=1 + cols.index("share"),
                cat_col=1 + cols.index("label"),
                header=h,
                last=last,
                title="Why they left (share of respondents)",
                anchor=f"{get_column_letter(len(cols) + 2)}{h}",
                horizontal=True,
                number_format="0%",
            )
    else:
        _missing(s, "reasons for leaving", "import/reasons.csv")
    resp = data.respondents
    if resp is not None and "main_reason" in resp.columns:
        labels = {}
        if _present(rs) and rs is not None and {"reason", "label"} <= set(rs.columns):
            labels = dict(zip(rs["reason"].astype(str), rs["label"].astype(str), strict=False))
        mr = resp["main_reason"].astype(str).str.strip()
        mr = mr[mr != ""]
        if len(mr):
            counts = mr.value_counts()
            t = pd.DataFrame(
                {
                    "main reason": [labels.get(k, REASON_LABELS.get(k, k)) for k in counts.index],
                    "code": list(counts.index),
                    "respondents": counts.to_numpy(),
                    "share": counts.to_numpy() / counts.sum(),
                }
            )
            s.heading("The main reason (one per respondent)")
            s.table(t, formats={"share": PCT, "respondents": INT})
    if resp is not None:
        text_cols = [c for c in resp.columns if c in TEXT_COLUMNS or c.endswith("_text")]
        if text_cols:
            keep = resp[text_cols].fillna("").astype(str).apply(lambda c: c.str.strip() != "")
            rows = resp[keep.any(axis=1)]
            s.heading(f"In their own words ({len(rows):,} respondents wrote something)")
            if len(rows):
                first_cols = [c for c in ("respondent_id", "main_reason") if c in resp.columns]
                s.table(
                    rows[first_cols + text_cols].fillna(""),
                    labels={
                        "what_happened": "what happened",
                        "bring_back": "what would bring them back",
                    },
                )
                for c in range(len(first_cols) + 1, len(first_cols) + len(text_cols) + 1):
                    s.widths[c] = 50
                    for r in range(s.row - len(rows) - 1, s.row - 1):
                        s.ws.cell(r, c).alignment = _WRAP
            else:
                s.note("Nobody wrote an answer to the open questions.")
    elif not _present(rs):
        pass
    else:
        s.note("Verbatims: no import/respondents.csv in this run.")
    s.finish()


def _sheet_partworths(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Part-worths"))
    s.title(
        "Part-worths: what each level is worth",
        "Utilities on the logit scale. The first level of each attribute is the reference "
        "(0 for everyone); a level's utility is its value relative to that reference. "
        "Higher is preferred; only differences within an attribute matter.",
    )
    pw = data.partworths.copy()
    pw["utility"] = pw["utility"].astype(float)
    rows = []
    for (attr, level), g in pw.groupby(["attribute", "level"], sort=False):
        u = g["utility"].to_numpy(dtype=float)
        rows.append(
            {
                "attribute": _label(data, str(attr)),
                "level": str(level),
                "mean": float(u.mean()),
                "sd": float(u.std(ddof=1)) if len(u) > 1 else 0.0,
                "p10": float(np.percentile(u, 10)),
                "median": float(np.median(u)),
                "p90": float(np.percentile(u, 90)),
                "share_positive": float((u > 0).mean()),
            }
        )
    table = pd.DataFrame(rows)
    s.heading(f"Across respondents ({pw['respondent_id'].nunique():,} individual part-worths)")
    s.table(
        table,
        formats={c: NUM3 for c in ("mean", "sd", "p10", "median", "p90")} | {"share_positive": PCT},
        labels={"sd": "sd across respondents", "p10": "10th percentile", "p90": "90th percentile",
                "share_positive": "respondents above the reference"},
        freeze=True,
    )  # fmt: skip
    s.note(
        "A numeric attribute coded linearly (such as price) shows slope x value at each tested "
        "value. Every respondent's part-worths: fit/partworths.csv and the Utilities sheet."
    )
    pop = data.population
    if _present(pop) and pop is not None:
        s.heading("Population estimates (posterior mean and 94% interval)")
        s.table(
            pop,
            formats={c: NUM3 for c in pop.columns if c != "parameter"},
            labels={"mean": "mean", "lower": "mean from", "upper": "mean to",
                    "sd_mean": "sd across people", "sd_lower": "sd from", "sd_upper": "sd to"},
        )  # fmt: skip
    s.finish()


def _sheet_importances(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Importances"))
    s.title(
        "What matters most: attribute importance",
        "Importance = the range of an attribute's utilities (best minus worst level) as a share "
        "of the sum of all ranges, per respondent and posterior draw, then averaged; in percent, "
        "with the 94% interval.",
    )
    imp = data.importances
    if not _present(imp) or imp is None:
        _missing(s, "importances", "fit/importances.csv")
        s.finish()
        return
    t = imp.sort_values("mean", ascending=False, kind="stable").copy()
    t.insert(0, "label", [_label(data, str(a)) for a in t["attribute"]])
    h, first, last = s.table(
        t,
        formats={"mean": NUM1, "lower": NUM1, "upper": NUM1},
        labels={"label": "attribute", "attribute": "name", "mean": "importance (%)",
                "lower": "interval from", "upper": "interval to"},
        freeze=True,
    )  # fmt: skip
    cols = list(t.columns)
    _bar_chart(
        s.ws,
        data_col=1 + cols.index("mean"),
        cat_col=1,
        header=h,
        last=last,
        title="Attribute importance (%)",
        anchor=f"{get_column_letter(len(cols) + 2)}{h}",
        horizontal=True,
        number_format="0",
    )
    s.finish()


def _sheet_wtp(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("WTP"))
    s.title(
        "Willingness to pay",
        "What each change of our offer is worth in money, three ways: ratio (utility difference "
        "/ minus the price slope, median over respondents), compensating variation (change in "
        "the market's log-sum / minus the price slope) and simulated (the price change that "
        "keeps the offer's share). Negative: the change is worth less than today's level.",
    )
    w = data.wtp
    if not _present(w) or w is None:
        _missing(s, "willingness-to-pay table", "simulate/wtp.csv: needs a price attribute")
        s.finish()
        return
    t = w.copy()
    if "attribute" in t.columns:
        t["attribute"] = [_label(data, str(a)) for a in t["attribute"]]
    s.table(
        t,
        formats={"wtp": ctx.money, "lower": ctx.money, "upper": ctx.money,
                 "positive_slope_share": PCT, "outside_range": PCT},
        labels={"from_level": "from (today)", "to_level": "to", "wtp": "willingness to pay",
                "lower": "band from", "upper": "band to",
                "positive_slope_share": "draws with a non-negative price slope",
                "outside_range": "draws outside the tested prices"},
        freeze=True,
    )  # fmt: skip
    s.finish()


def _offer_formats(ctx: _Ctx, df: pd.DataFrame) -> dict[str, str]:
    price = _price_col(ctx.data, df)
    f = {
        c: PCT
        for c in ("share", "lower", "upper", "current_share", "gain_lower", "gain_upper",
                  "prob_beats_current", "prob_best", "take_rate", "joint_share")
    }  # fmt: skip
    f |= {
        c: ctx.money
        for c in ("revenue", "profit", "revenue_lower", "revenue_upper", "profit_lower",
                  "profit_upper", "margin", "margin_lower", "margin_upper", "joint_revenue",
                  "joint_profit")
    }  # fmt: skip
    if price:
        f[price] = ctx.money
    f["n_respondents"] = INT
    return f


_OFFER_LABELS = {
    "lower": "share from",
    "upper": "share to",
    "prob_beats_current": "P(beats today's offer)",
    "prob_best": "P(best of the list)",
    "revenue_lower": "revenue from",
    "revenue_upper": "revenue to",
    "profit_lower": "profit from",
    "profit_upper": "profit to",
    "worth_winning": "worth winning back",
}


def _offer_labels(ctx: _Ctx) -> dict[str, str]:
    """Column headers of offer tables: attribute labels from the study, words for the rest."""
    attrs = {a["name"]: str(a["label"]) for a in ctx.data.study.get("attributes", [])}
    return {**_OFFER_LABELS, **attrs}


def _measure_format(ctx: _Ctx) -> Callable[[pd.Series], str | None]:
    def f(r: pd.Series) -> str | None:
        m = str(r.get("measure", ""))
        return PCT if ("share" in m or "brought back" in m) else ctx.money

    return f


def _sheet_offers(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Offers"))
    s.title(
        "Win-back offers",
        "The best offers found by searching every combination of levels and prices (replacing "
        "today's own offer), ranked by the objective, each with its 90% band, the probability "
        "that it beats today's offer and that it is the best of the list.",
    )
    of = data.offers
    if _present(of) and of is not None:
        t, derived = _with_derived_bands(data, of)
        s.table(t, formats=_offer_formats(ctx, t), labels=_offer_labels(ctx), freeze=True)
        if derived:
            s.note(
                "Revenue and profit bands follow from the share band (each offer's price is "
                "fixed); revenue and profit are per lost customer surveyed."
            )
    else:
        _missing(s, "offer search", "recommend/offers.csv")
    sg = data.segments
    if _present(sg) and sg is not None:
        s.heading("The best offer for each segment")
        s.note(
            "margin: expected profit per lost customer of the segment (revenue without costs); "
            "worth winning back: margin above zero and the share gain's band above zero."
        )
        s.table(sg, formats=_offer_formats(ctx, sg), labels=_offer_labels(ctx))
    ub = data.unbundling
    if _present(ub) and ub is not None:
        s.heading("Unbundling: an entry offer with add-ons instead of the bundle")
        s.table(ub, formats=_offer_formats(ctx, ub), labels=_offer_labels(ctx))
        us = data.unbundling_summary
        if _present(us) and us is not None:
            s.table(
                us,
                labels={"lower": "band from", "upper": "band to"},
                row_format=(("value", "lower", "upper"), _measure_format(ctx)),
            )
        ad = data.addons
        if _present(ad) and ad is not None:
            s.heading("Add-on take rates among the menu's takers")
            s.table(
                ad,
                formats={"price": ctx.money, "take_rate": PCT, "lower": PCT, "upper": PCT},
                labels={"lower": "band from", "upper": "band to"},
            )
    elif _present(of):
        s.note("No unbundling in this run (no components to take out of the bundle).")
    s.finish()


def _sheet_tiers(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Tiers"))
    s.title(
        "Good / better / best tiers",
        "The tier menu that maximises the objective: each higher tier has at least the lower "
        "tier's level on every feature and a higher price. Shares with 90% bands; then where "
        "each added tier's takers come from and what the tiers take from each other.",
    )
    t = data.tiers
    if not _present(t) or t is None:
        _missing(s, "tier search", "recommend/tiers.csv")
        s.finish()
        return
    h, first, last = s.table(
        t, formats=_offer_formats(ctx, t), labels=_offer_labels(ctx), freeze=True
    )
    cols = list(t.columns)
    chart_row = s.row
    s.row += 20  # room for the chart below the tiers
    _bar_chart(
        s.ws,
        data_col=1 + cols.index("share"),
        cat_col=1 + cols.index("tier"),
        header=h,
        last=last,
        title="Expected share of lost customers by tier",
        anchor=f"A{chart_row}",
        number_format="0%",
    )
    ts = data.tiers_summary
    if _present(ts) and ts is not None:
        s.heading("The menu against today's market")
        s.table(
            ts,
            labels={"lower": "band from", "upper": "band to"},
            row_format=(("value", "lower", "upper"), _measure_format(ctx)),
        )
    up = data.upgrade_paths
    if _present(up) and up is not None:
        s.heading("Upgrade paths: where each added tier's takers come from")
        s.table(
            up,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"menu_before": "menu before", "share_moved": "share moved",
                    "lower": "band from", "upper": "band to", "fraction": "fraction of the gain"},
        )  # fmt: skip
    ca = data.cannibalisation
    if _present(ca) and ca is not None:
        s.heading("Cannibalisation: what each tier takes from our other tiers")
        s.table(
            ca,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"share_moved": "share moved", "lower": "band from", "upper": "band to",
                    "fraction": "fraction of the tier's share"},
        )  # fmt: skip
    s.finish()


def _sheet_source_of_volume(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Source of volume"))
    s.title(
        "Source of volume and market shares",
        "Where our offer's customers would otherwise go (the market without it against the "
        "market with it): none = customers won back who would stay where they are, competitor "
        "= taken from a competitor, own = taken from another of our offers.",
    )
    sv = data.source_of_volume
    if _present(sv) and sv is not None:
        h, first, last = s.table(
            sv,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"share_moved": "share moved", "lower": "band from", "upper": "band to",
                    "fraction": "fraction of the product's share"},
            freeze=True,
        )  # fmt: skip
        cols = list(sv.columns)
        if "kind" in cols and (sv["kind"].astype(str) != "total").any():
            body = sv[sv["kind"].astype(str) != "total"]
            chart_data = pd.DataFrame(
                {
                    "from": [f"{r['product']}: {r['source']}" for _, r in body.iterrows()],
                    "share moved": body["share_moved"].to_numpy(dtype=float),
                }
            )
            anchor_col = len(cols) + 2
            s2_row = s.row
            s.row = h
            hh, ff, ll = s.table(chart_data, formats={"share moved": PCT}, col=anchor_col)
            s.row = max(s2_row, s.row)
            _bar_chart(
                s.ws,
                data_col=anchor_col + 1,
                cat_col=anchor_col,
                header=hh,
                last=ll,
                title="Where the offer's customers come from",
                anchor=f"{get_column_letter(anchor_col + 3)}{hh}",
                horizontal=True,
                number_format="0.0%",
            )
    else:
        _missing(s, "source of volume", "simulate/source_of_volume.csv")
    sh = data.shares
    if _present(sh) and sh is not None:
        s.heading("Shares of preference in today's market (overall = segment 'all')")
        s.table(
            sh,
            formats={"share": PCT, "lower": PCT, "upper": PCT, "n_respondents": INT},
            labels={"lower": "band from", "upper": "band to"},
        )
    s.finish()


def _sheet_price_curves(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Price curves"))
    s.title(
        "Demand and revenue against price",
        "Each product's share of preference and revenue per lost customer at each price, every "
        "other product held fixed, with 90% bands; then price elasticities.",
    )
    pc = data.price_curves
    if not _present(pc) or pc is None or not {"price", "share"} <= set(pc.columns):
        _missing(s, "price curves", "simulate/price_curves.csv: needs a price attribute")
        s.finish()
        return
    prod = pc["product"].astype(str) if "product" in pc.columns else pd.Series("share", pc.index)
    wide = (
        pc.assign(product=prod)
        .pivot_table(index="price", columns="product", values="share", sort=False)
        .sort_index()
    )
    wide = wide[list(dict.fromkeys(prod))].reset_index()
    s.heading("Share of preference by price (chart data)")
    h, first, last = s.table(
        wide,
        formats={"price": ctx.money} | {c: PCT for c in wide.columns if c != "price"},
        freeze=True,
    )
    chart = LineChart()
    _chart_style(chart, "Share of preference against price", "share of preference", "price")
    chart.add_data(
        Reference(s.ws, min_col=2, max_col=wide.shape[1], min_row=h, max_row=last),
        titles_from_data=True,
    )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
    chart.y_axis.numFmt = "0%"
    s.ws.add_chart(chart, f"{get_column_letter(wide.shape[1] + 2)}{h}")
    s.row = max(s.row, h + 20)
    s.heading("Every point with its band")
    s.table(
        pc,
        formats={"price": ctx.money, "share": PCT, "lower": PCT, "upper": PCT,
                 "revenue": ctx.money, "revenue_lower": ctx.money, "revenue_upper": ctx.money},
        labels={"lower": "share from", "upper": "share to", "revenue_lower": "revenue from",
                "revenue_upper": "revenue to"},
    )  # fmt: skip
    el = data.elasticities
    if _present(el) and el is not None:
        s.heading("Price elasticities (% change of share per 1% change of price)")
        s.table(
            el,
            formats={"elasticity": NUM2, "lower": NUM2, "upper": NUM2},
            labels={"price_of": "price of", "share_of": "share of", "lower": "band from",
                    "upper": "band to"},
        )  # fmt: skip
    s.finish()


def _sheet_design_quality(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Design & quality"))
    s.title(
        "Survey design and data quality",
        "How well the choice tasks can measure the part-worths, and which interviews look "
        "doubtful (flags) or were left out of the analysis (exclusions).",
    )
    dd = data.design_diagnostics
    if dd:
        s.heading("Design diagnostics")
        need = dd.get("min_respondents")
        # null (older files: -1) when the design does not identify every parameter
        if "min_respondents" in dd and (need is None or need < 0):
            need = dd.get("min_respondents_note") or (
                "not identified: some parameters cannot be estimated from this design, so no "
                "sample size reaches the target standard error"
            )
        rows: list[tuple[str, Any, str | None]] = [
            ("Verdict", dd.get("verdict"), None),
            ("Method", dd.get("method"), None),
            ("Versions", dd.get("n_versions"), INT),
            ("Tasks per respondent (holdouts)",
             f"{dd.get('n_tasks')} ({dd.get('n_holdout_tasks', 0)} holdout)", None),
            ("Alternatives per task", dd.get("n_alternatives"), INT),
            ("None option", "yes" if dd.get("none_option") else "no", None),
            ("Parameters", dd.get("n_parameters"), INT),
            ("D-error (null prior)", dd.get("d0_error"), "0.0000"),
            ("D-error (prior mean)", dd.get("dp_error"), "0.0000"),
            ("Bayesian D-error", dd.get("db_error"), "0.0000"),
            ("Street-Burgess efficiency", dd.get("sb_efficiency"), PCT),
            ("Level balance (worst attribute)", dd.get("worst_balance"), NUM2),
            ("Respondents planned", dd.get("n_respondents"), INT),
            ("Respondents needed for the target standard error", need, INT),
            ("Largest standard error", dd.get("max_se"), "0.000"),
        ]  # fmt: skip
        s.pairs([r for r in rows if r[1] is not None])
        for label, items in (("Reasons", dd.get("reasons")), ("Notes", dd.get("notes"))):
            if items:
                s.para(f"{label}:", bold=True)
                s.bullets([str(x) for x in items])
        s.blank()
        lb = data.level_balance
        if _present(lb) and lb is not None:
            s.heading("Level balance (how often each level is shown)")
            s.table(lb, formats={"count": INT, "share": PCT})
    else:
        _missing(s, "design diagnostics", "design/diagnostics.json")
    q = data.quality
    s.heading("Data-quality flags (flagged interviews are not left out automatically)")
    if _present(q) and q is not None:
        flags = _flag_columns(q)
        t = pd.DataFrame(
            {
                "flag": [f.replace("_", " ") for f in flags],
                "respondents": [int(_bool_series(q[f]).sum()) for f in flags],
                "share": [float(_bool_series(q[f]).mean()) for f in flags],
            }
        )
        s.table(t, formats={"respondents": INT, "share": PCT})
    else:
        _missing(s, "quality flags", "import/quality.csv")
    ex = data.exclusions
    s.heading("Left out of the analysis")
    if ex is not None:
        counts = _exclusion_counts(data)
        if counts is not None and len(counts):
            s.table(counts, formats={"respondents": INT})
            s.table(ex)
        else:
            s.note("Nobody was left out.")
    else:
        _missing(s, "exclusions list", "import/exclusions.csv")
    s.finish()


def _sheet_diagnostics(wb: Workbook, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(wb.create_sheet("Diagnostics"))
    s.title(
        "Convergence of the estimation",
        "Did the sampler explore the posterior well enough to trust the figures? R-hat near 1 "
        "(chains agree), large effective sample sizes (ESS: independent draws) and no "
        "divergences.",
    )
    fd = data.fit_diagnostics
    if not fd:
        _missing(s, "convergence report", "fit/diagnostics.json")
        s.finish()
        return
    s.heading("Verdict")
    s.para(_verdict_words(str(fd.get("verdict", "unknown"))), bold=True)
    s.blank()
    rows: list[tuple[str, Any, str | None]] = [
        ("R-hat, largest (population)", fd.get("rhat_max"), NUM3),
        ("Bulk ESS, smallest (population)", fd.get("ess_bulk_min"), "0"),
        ("Tail ESS, smallest (population)", fd.get("ess_tail_min"), "0"),
        ("R-hat, largest (individual part-worths)", fd.get("beta_rhat_max"), NUM3),
        ("Bulk ESS, smallest (individual part-worths)", fd.get("beta_ess_bulk_min"), "0"),
        ("Tail ESS, smallest (individual part-worths)", fd.get("beta_ess_tail_min"), "0"),
        ("Divergent transitions", fd.get("divergences"), INT),
        ("E-BFMI, smallest chain", fd.get("ebfmi_min"), NUM2),
        ("Maximum tree depth hits", fd.get("treedepth_hits"), INT),
        ("Chains", fd.get("n_chains"), INT),
        ("Draws per chain", fd.get("n_draws"), INT),
        ("Sampler", fd.get("sampler"), None),
        ("Seconds", fd.get("seconds"), NUM1),
    ]
    s.pairs([r for r in rows if r[1] is not None])
    s.blank()
    for label, key in (("Checks that did not pass", "reasons"), ("Advice", "advice")):
        items = fd.get(key) or []
        s.heading(label)
        if items:
            s.bullets([str(x) for x in items])
        else:
            s.note("None.")
    th = fd.get("thresholds")
    if isinstance(th, dict) and th:
        s.heading("Thresholds of the verdict")
        s.pairs([(str(k).replace("_", " "), v, None) for k, v in th.items()])
    if data.convergence_text:
        s.heading("The convergence report")
        for line in data.convergence_text.splitlines():
            c = s.ws.cell(s.row, 1)
            set_text(c, line)
            c.font = Font(name="Consolas")
            s.row += 1
    s.finish()


def _methods_text(data: ReportData) -> list[tuple[str, list[str]]]:
    fs = data.fit_settings or {}
    cov = fs.get("covariance", "full")
    eta = fs.get("lkj_eta", 2.0)
    settings = ""
    if fs:
        settings = (
            f" This fit: {fs.get('chains')} chains x {fs.get('draws')} draws after "
            f"{fs.get('tune')} warm-up, sampler {fs.get('sampler')}, covariance {cov}, seed "
            f"{fs.get('random_seed')}."
        )
        if fs.get("constraints"):
            settings += f" Sign/order constraints: {fs['constraints']}."
    rule = "logit"
    if data.market is not None:
        rule = str(getattr(data.market, "rule", "logit"))
    sections = [
        (
            "The survey",
            [
                "Lost customers answered a questionnaire (why they left, what they had and "
                "paid) and a choice-based conjoint: in each task they chose one of several "
                "offers described by features and price, or none of them.",
                "Reference levels: the first level listed in the study file is the reference "
                "of its attribute (utility 0); numeric attributes coded 'linear' have one "
                "slope.",
            ],
        ),
        (
            "Estimation: hierarchical Bayes multinomial logit (HB-MNL)",
            [
                "P(respondent i chooses alternative j in task t) = exp(x_jt' b_i) / "
                "sum_k exp(x_kt' b_i), the none alternative having utility b_i,none.",
                "Individual part-worths b_i ~ MVN(mu, Sigma); Sigma = diag(sd) Omega diag(sd) "
                f"with Omega ~ LKJ(eta = {eta}) and sd ~ HalfNormal"
                + (" (covariance: full)" if cov == "full" else f" (covariance: {cov})")
                + "; mu ~ Normal(0, prior scale). Columns are scaled for sampling and "
                "results are reported on the original scale.",
                "Sampled with NUTS (nutpie or PyMC); every reported figure is computed per "
                "posterior draw and then summarised (mean and equal-tailed interval)." + settings,
                "Convergence: rank-normalised split R-hat and bulk/tail effective sample sizes "
                "(Vehtari et al. 2021), divergences, E-BFMI; the verdict and thresholds are on "
                "the Diagnostics sheet.",
            ],
        ),
        (
            "Results",
            [
                "Importance of attribute a for respondent i = (max_l u_ial - min_l u_ial) / "
                "sum_a' (max - min) x 100, per draw, averaged over respondents.",
                "Willingness to pay (ratio) = (u_new - u_old) / (-b_price), median over "
                "respondents per draw; compensating variation = change of "
                "ln(sum_k exp(U_k)) / (-b_price); simulated = the price change that restores "
                "the offer's share.",
            ],
        ),
        (
            "Market simulation",
            [
                "Share of preference (logit rule): share_j = mean over respondents of "
                "exp(e U_ij) / sum_k exp(e U_ik), e the exponent (scale); computed for every "
                f"posterior draw, giving 90% bands. Rule of the market file: {rule}.",
                "Randomized first choice (RFC, when the market file asks for it): first "
                "choice after adding normal error to every level's part-worth (and optionally "
                "Gumbel error per product), averaged over error draws; it corrects the logit "
                "rule's IIA for similar products (Orme 1998; Huber, Orme and Miller 1999).",
                "Source of volume: the market without the offer against the market with it, "
                "per draw: share taken from none (won back), competitors and our own offers.",
                "The live Simulator sheet uses the logit rule at the posterior mean "
                "part-worths, recalculated by Excel.",
            ],
        ),
        (
            "Searches",
            [
                "Offer search: every combination of allowed levels and candidate prices "
                "(exhaustive up to 2,000,000 candidates; coordinate ascent with random starts "
                "beyond, graded against an upper bound), objective share, revenue (share x "
                "price) or profit (share x (price - unit cost)) per lost customer.",
                "Tiers: every nested good/better/best set x every price ladder at point "
                "estimates (proven optimal over the grid), then simulated at every draw for "
                "bands. Unbundling: every set of components taken out of the bundle, entry "
                "price and add-on prices.",
            ],
        ),
        (
            "References",
            [
                "Train, K. (2009). Discrete Choice Methods with Simulation, 2nd ed. Cambridge "
                "University Press.",
                "Sawtooth Software (2009). The CBC/HB System for Hierarchical Bayes Estimation, "
                "Version 5.0 Technical Paper. Sawtooth Software, Sequim, WA.",
                "Allenby, G. M. and Rossi, P. E. (1998). Marketing models of consumer "
                "heterogeneity. Journal of Econometrics 89, 57-78; Rossi, P. E., Allenby, G. M. "
                "and McCulloch, R. (2005). Bayesian Statistics and Marketing. Wiley.",
                "Orme, B. K. (2020). Getting Started with Conjoint Analysis, 4th ed. Research "
                "Publishers; Orme, B. (1998). Reducing the IIA Problem with a Randomized First "
                "Choice Model. Sawtooth Software.",
                "Huber, J., Orme, B. and Miller, R. (1999). Dealing with Product Similarity in "
                "Conjoint Simulations. Sawtooth Software Conference.",
                "Lewandowski, D., Kurowicka, D. and Joe, H. (2009). Generating random "
                "correlation matrices based on vines and extended onion method. Journal of "
                "Multivariate Analysis 100, 1989-2001 (the LKJ prior).",
                "Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Buerkner, P.-C. "
                "(2021). Rank-normalization, folding, and localization: an improved R-hat. "
                "Bayesian Analysis 16, 667-718.",
            ],
        ),
    ]
    return sections


def _sheet_methods(wb: Workbook, ctx: _Ctx) -> None:
    ws = wb.create_sheet("Methods")
    ws.column_dimensions["A"].width = 120
    s = _Sheet(ws, span=1)
    s.title("Methods", "What was done, with the formulas written out and references.")
    for heading, paras in _methods_text(ctx.data):
        s.heading(heading)
        for p in paras:
            s.para(p)
        s.blank()
    if ctx.data.study.get("attributes"):
        s.heading("Attributes and reference levels")
        t = pd.DataFrame(
            [
                {
                    "attribute": a["label"],
                    "name": a["name"],
                    "coding": a["coding"],
                    "reference level": a["reference"],
                    "levels": ", ".join(a["levels"]),
                }
                for a in ctx.data.study["attributes"]
            ]
        )
        s.table(t)
        ws.column_dimensions["A"].width = 120
    s.finish()


# --------------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------------


def _build(data: ReportData, wave_comparison: dict[str, pd.DataFrame] | None) -> Workbook:
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
    for build in (
        _sheet_reasons,
        _sheet_partworths,
        _sheet_importances,
        _sheet_wtp,
        _sheet_offers,
        _sheet_tiers,
        _sheet_source_of_volume,
        _sheet_price_curves,
        _sheet_design_quality,
        _sheet_diagnostics,
        _sheet_methods,
    ):
        build(wb, ctx)
    _sheet_summary(wb, ctx)  # last: it reports what the other sheets could not show
    order = list(SHEETS) + (list(LIVE_SHEETS) if live else [])
    for i, name in enumerate(n for n in order if n in wb.sheetnames):
        wb.move_sheet(name, i - wb.sheetnames.index(name))
    wb.active = 0
    if wave_comparison is not None:
        from reports.waves_sheet import add_wave_comparison

        add_wave_comparison(wb, wave_comparison)
    _print_setup(wb)
    return wb


def _print_setup(wb: Workbook) -> None:
    """Printed or converted to PDF, each report sheet is one page wide (landscape A4, as many
    pages down as needed), so no column is cut off; the big data sheets behind the live
    simulator keep Excel's defaults."""
    for ws in wb.worksheets:
        if ws.title in ("Utilities", "Levels"):
            continue
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.5
        ws.oddFooter.center.text = "&A, page &P of &N"


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
