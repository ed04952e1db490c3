"""A live market simulator inside the workbook: pick levels from dropdowns, Excel computes shares.

Three sheets:

* ``Simulator``: one column per product; each attribute's level is picked from a dropdown (data
  validation over the tested levels; a linear attribute such as price takes any number in the
  tested range); the exponent; the stated preference share of every product and of none,
  computed by formulas (never calibrated: the survey's preferences as stated).
* ``Utilities``: one row per respondent, one column per level (posterior mean part-worths; the
  reference level is 0; a linear attribute's column holds its slope), then per product the
  formulas for its utility and the respondent's logit probabilities.
* ``Levels``: the level lists the dropdowns and lookups use.

Recalculated (Excel, LibreOffice or the ``formulas`` package) the shares equal
:func:`analysis.simulator.simulate` at the posterior mean part-worths with the logit rule, to
1e-6 (tested). Every text cell from a study or respondent is written as text, never as a formula.

Examples
--------
>>> from openpyxl import Workbook
>>> wb = Workbook()
>>> add_live_simulator(wb, draws.point(), market)  # doctest: +SKIP
>>> wb.save("simulator.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from analysis.simulator import Market, PartWorthDraws, encode_products
from conjoint.encoding import make_encoding
from winback.errors import WinbackError
from winback.study import format_level

__all__ = ["SHARE_LABEL", "add_live_simulator", "excel_text", "read_excel_text", "set_text"]

#: the label of the Simulator's share row: the survey's preferences as stated, never calibrated
SHARE_LABEL = "Stated preference share"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: characters a worksheet's XML cannot hold as they are (control characters, a carriage return,
#: which XML turns into a line feed, and the non-characters U+FFFE and U+FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
#: text that Excel would read as an escape (``_x000D_``): its underscore is escaped itself
_LOOKS_ESCAPED = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


#: Excel's most characters in a cell
EXCEL_CELL_MAX = 32_767


def _escape(value: str) -> str:
    value = _LOOKS_ESCAPED.sub("_x005F_", value)
    return _NOT_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value)


def cut_marker(n_shown: int, n_total: int) -> str:
    """What ends a text too long for one cell (the whole text stays in the CSV files)."""
    return (
        f" [... cut: the first {n_shown:,} of {n_total:,} characters; the whole text is in "
        "the CSV files]"
    )


def excel_text(value: str) -> str:
    """``value`` as a worksheet stores it so that Excel shows it exactly (ECMA-376's
    ``_xHHHH_`` escapes for characters XML cannot hold, and for text that looks like one).

    Text longer than a cell holds (32,767 characters, escapes counted) is cut and says so
    (:func:`cut_marker`); openpyxl would cut it silently.
    """
    out = _escape(value)
    if len(out) <= EXCEL_CELL_MAX:
        return out
    lo, hi = 0, len(value)  # the longest prefix that fits with the marker
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_escape(value[:mid])) + len(cut_marker(mid, len(value))) <= EXCEL_CELL_MAX:
            lo = mid
        else:
            hi = mid - 1
    return _escape(value[:lo]) + cut_marker(lo, len(value))


def read_excel_text(value: str) -> str:
    """The text Excel shows for a stored cell value: the inverse of :func:`excel_text`."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if "_x" in value else value


def set_text(cell: Any, value: Any) -> None:
    """Write ``value`` into ``cell``; text is always text (never a formula) and shows exactly
    as given (see :func:`excel_text`), numbers stay numbers."""
    if isinstance(value, str):
        cell.value = excel_text(value)
        cell.data_type = "s"  # openpyxl would otherwise treat a leading "=" as a formula
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    else:
        cell.value = value


def _level_value(v: Any) -> Any:
    return float(v) if isinstance(v, float) else str(v)


def add_live_simulator(
    wb: Any, draws: PartWorthDraws, market: Market, *, title: str = "Market simulator"
) -> None:
    """Add the ``Simulator``, ``Utilities`` and ``Levels`` sheets to an openpyxl workbook.

    ``draws`` should be one sample (``PartWorthDraws.point()``: the posterior means); with more
    samples their mean is used. The market gives the starting products (their levels fill the
    dropdowns); the logit rule with the market's exponent is used (the workbook states it).
    """
    study = draws.study
    enc = make_encoding(study)
    names = list(draws.names)
    if list(enc.names) != names:
        raise WinbackError("The part-worths do not belong to this study (parameters differ).")
    beta = draws.beta.mean(axis=0)  # (R, K)
    n_resp = beta.shape[0]
    encode_products(study, market.products)  # checks every level up front
    if market.extrapolate:
        raise WinbackError("The live simulator sheet keeps numeric levels inside the tested range.")

    # -- Levels sheet: one row per attribute ---------------------------------------------------
    lv = wb.create_sheet("Levels")
    set_text(lv.cell(1, 1), "attribute")
    set_text(lv.cell(1, 2), "levels (the dropdowns list these)")
    for a, attr in enumerate(study.attributes, start=2):
        set_text(lv.cell(a, 1), attr.name)
        for j, v in enumerate(attr.levels, start=2):
            set_text(lv.cell(a, j), _level_value(v))

    # -- Utilities sheet: respondent x level ---------------------------------------------------
    ut = wb.create_sheet("Utilities")
    set_text(ut.cell(1, 1), "respondent_id")
    col = 2
    starts: dict[str, int] = {}
    for a, attr in enumerate(study.attributes):
        starts[attr.name] = col
        table = enc.tables[a]  # (levels, K): the part-worth of level l is table[l] @ beta
        if attr.coding == "linear":
            set_text(ut.cell(1, col), f"{attr.name} (per unit)")
            j = names.index(attr.name)  # a linear attribute's one parameter bears its name
            for r in range(n_resp):
                ut.cell(r + 2, col, float(beta[r, j]))
            col += 1
        else:
            vals = beta @ table.T  # (R, levels)
            for li, v in enumerate(attr.levels):
                set_text(ut.cell(1, col + li), f"{attr.name}: {format_level(v)}")
                for r in range(n_resp):
                    ut.cell(r + 2, col + li, float(vals[r, li]))
            col += attr.n_levels
    none_col = None
    if market.none:
        none_col = col
        set_text(ut.cell(1, col), "none")
        for r in range(n_resp):
            ut.cell(r + 2, col, float(beta[r, names.index("none")]))
        col += 1
    last_level_col = get_column_letter(col - 1)
    for r, rid in enumerate(draws.respondent_ids):
        set_text(ut.cell(r + 2, 1), str(rid))

    # -- Simulator sheet -------------------------------------------------------------------------
    ws = wb.create_sheet("Simulator", 0)
    set_text(ws.cell(1, 1), title)
    set_text(
        ws.cell(2, 1),
        "Pick each product's levels from the dropdowns; the stated preference shares (logit "
        "rule, posterior mean part-worths of every respondent; not calibrated to observed "
        "behaviour) recalculate below.",
    )
    set_text(ws.cell(4, 1), "Attribute")
    n_prod = len(market.products)
    first_attr_row = 5
    attr_rows: dict[str, int] = {}
    for p, prod in enumerate(market.products):
        set_text(ws.cell(4, 2 + p), prod.name)
    for a, attr in enumerate(study.attributes):
        row = first_attr_row + a
        attr_rows[attr.name] = row
        set_text(ws.cell(row, 1), attr.display)
        lv_row = a + 2
        lv_range = f"Levels!$B${lv_row}:${get_column_letter(1 + attr.n_levels)}${lv_row}"
        if attr.coding == "linear":
            lo = min(float(v) for v in attr.levels)
            hi = max(float(v) for v in attr.levels)
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1=str(lo),
                formula2=str(hi),
                allow_blank=False,
                showErrorMessage=True,
                error=f"{attr.display}: a number from {format_level(lo)} to {format_level(hi)}",
            )
        else:
            dv = DataValidation(type="list", formula1=f"={lv_range}", allow_blank=False)
            dv.error = f"Pick one of the tested levels of {attr.display}"
            dv.showErrorMessage = True
        ws.add_data_validation(dv)
        for p, prod in enumerate(market.products):
            cell = ws.cell(row, 2 + p)
            value = prod.levels[attr.name]
            if attr.coding != "linear":
                value = attr.levels[attr.index_of(value)]
            set_text(cell, _level_value(value))
            dv.add(cell)
    exp_row = first_attr_row + len(study.attributes) + 1
    set_text(ws.cell(exp_row, 1), "Exponent (scale of the logit rule)")
    ws.cell(exp_row, 2, float(market.exponent))
    # hidden helper rows: the position of each chosen level in its list
    pos_row0 = exp_row + 2
    set_text(ws.cell(pos_row0 - 1, 1), "level positions (helper rows)")
    for a, attr in enumerate(study.attributes):
        if attr.coding == "linear":
            continue
        row = pos_row0 + a
        set_text(ws.cell(row, 1), f"position: {attr.name}")
        lv_row = a + 2
        lv_range = f"Levels!$B${lv_row}:${get_column_letter(1 + attr.n_levels)}${lv_row}"
        for p in range(n_prod):
            c = get_column_letter(2 + p)
            ws.cell(row, 2 + p, f"=MATCH({c}${attr_rows[attr.name]},{lv_range},0)")
        ws.row_dimensions[row].hidden = True

    # per-respondent formulas on Utilities: utility, then probabilities
    u_col0 = col
    p_col0 = u_col0 + n_prod + 2
    for p, prod in enumerate(market.products):
        set_text(ut.cell(1, u_col0 + p), f"utility: {prod.name}")
        set_text(ut.cell(1, p_col0 + p), f"probability: {prod.name}")
    max_col = u_col0 + n_prod
    set_text(ut.cell(1, max_col), "max utility")
    denom_col = max_col + 1
    set_text(ut.cell(1, denom_col), "sum of exp")
    none_p_col = p_col0 + n_prod
    if none_col is not None:
        set_text(ut.cell(1, none_p_col), "probability: none")
    e = f"Simulator!$B${exp_row}"
    for r in range(n_resp):
        row = r + 2
        rng_ = f"$B{row}:${last_level_col}{row}"
        for p in range(n_prod):
            pc = get_column_letter(2 + p)
            terms = []
            for a, attr in enumerate(study.attributes):
                start = starts[attr.name] - 1  # offset inside B..last
                if attr.coding == "linear":
                    terms.append(f"INDEX({rng_},1,{start})*Simulator!${pc}${attr_rows[attr.name]}")
                else:
                    terms.append(f"INDEX({rng_},1,{start - 1}+Simulator!${pc}${pos_row0 + a})")
            ut.cell(row, u_col0 + p, f"={e}*(" + "+".join(terms) + ")")
        ucells = [f"{get_column_letter(u_col0 + p)}{row}" for p in range(n_prod)]
        if none_col is not None:
            ucells.append(f"{e}*{get_column_letter(none_col)}{row}")
        ut.cell(row, max_col, f"=MAX({','.join(ucells)})")
        mx = f"${get_column_letter(max_col)}{row}"
        ut.cell(row, denom_col, "=" + "+".join(f"EXP({u}-{mx})" for u in ucells))
        dn = f"${get_column_letter(denom_col)}{row}"
        for p, u in enumerate(ucells[:n_prod]):
            ut.cell(row, p_col0 + p, f"=EXP({u}-{mx})/{dn}")
        if none_col is not None:
            ut.cell(row, none_p_col, f"=EXP({ucells[-1]}-{mx})/{dn}")

    share_row = pos_row0 + len(study.attributes) + 1
    set_text(ws.cell(share_row, 1), SHARE_LABEL)
    last = n_resp + 1
    for p in range(n_prod):
        pcol = get_column_letter(p_col0 + p)
        c = ws.cell(share_row, 2 + p, f"=AVERAGE(Utilities!{pcol}2:{pcol}{last})")
        c.number_format = "0.0%"
    if none_col is not None:
        set_text(ws.cell(share_row + 1, 1), "None of these (stay where they are)")
        pcol = get_column_letter(none_p_col)
        c = ws.cell(share_row + 1, 2, f"=AVERAGE(Utilities!{pcol}2:{pcol}{last})")
        c.number_format = "0.0%"
    ws.column_dimensions["A"].width = 38
    for p in range(n_prod):
        ws.column_dimensions[get_column_letter(2 + p)].width = 24
    ws.freeze_panes = "B5"
    ut.freeze_panes = "B2"
