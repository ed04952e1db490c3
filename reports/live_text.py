"""Text in a worksheet exactly as given: never a formula, escapes where XML cannot hold it.

Answers typed by respondents and names from study and market files are written with
:func:`set_text`: a text cell (a leading ``=``, ``+``, ``-`` or ``@`` gets a quote prefix, so no
spreadsheet runs it), with ECMA-376's ``_xHHHH_`` escapes for characters a worksheet's XML
cannot hold (:func:`excel_text`, undone by :func:`read_excel_text`).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "EXCEL_CELL_MAX",
    "cut_marker",
    "excel_text",
    "read_excel_text",
    "set_text",
    "text_is_plain",
]

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


def text_is_plain(value: str) -> bool:
    """``value`` can be stored as it is: no formula start, nothing to escape or cut."""
    return not value.startswith(_FORMULA_START) and excel_text(value) == value
