"""How cells are read: a column as integer codes into its distinct values (each looked at once,
the answer spread to its rows), numbers and whole numbers written as text, level labels (with
codes for unknown, blank and padded ones), blanks, and the special column and alternative names
of the canonical table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from winback.study import Attribute

SPECIAL_ALTS = ("none", "status_quo")
ROW_COLUMN = "_row"


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def _is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


class _Codes:
    """A column as integer codes into its distinct values (``-1``: missing)."""

    def __init__(self, s: pd.Series) -> None:
        if isinstance(s.dtype, pd.CategoricalDtype):
            self.codes = np.asarray(s.cat.codes)  # int8 to int32: cheap to look up with
            self.uniques = np.asarray(s.cat.categories, dtype=object)
        else:
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            self.codes = np.asarray(codes, dtype=np.int64)
            self.uniques = np.asarray(uniques, dtype=object)

    def map(self, fn: Callable[[Any], Any], dtype: Any) -> np.ndarray:
        """``fn`` of every cell (``None`` for a missing one), computed once per distinct value."""
        table = np.array([fn(u) for u in self.uniques] + [fn(None)], dtype=dtype)
        return table[self.codes]  # code -1 picks the last entry: fn(None)

    def map_small(self, fn: Callable[[Any], int]) -> np.ndarray:
        """:meth:`map` for whole-number answers, in the smallest integer type that holds them
        (a 200 MB export's level codes take one byte a row, not eight)."""
        table = np.array([fn(u) for u in self.uniques] + [fn(None)], dtype=np.int64)
        return table.astype(small_int_type(table))[self.codes]

    def text(self) -> np.ndarray:
        """Every cell as text (``None`` when missing), for building output columns."""
        return self.map(lambda u: None if _missing(u) else str(u), object)


def small_int_type(values: np.ndarray) -> type[np.signedinteger[Any]]:
    """The smallest signed integer type that holds ``values``."""
    lo, hi = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return dtype
    return np.int64


def _missing(u: Any) -> bool:
    return u is None or u is pd.NA or (isinstance(u, float) and math.isnan(u))


def _blank_value(v: object) -> bool:
    return _missing(v) or str(v).strip() == ""


_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _number(u: Any) -> float:
    """A cell's number (surrounding spaces allowed); NaN when it is not a finite number."""
    if _missing(u) or isinstance(u, bool | np.bool_):
        return math.nan
    if isinstance(u, int | float | np.integer | np.floating):
        x = float(u)
    else:
        text = str(u)
        if not _NUMBER.fullmatch(text):
            return math.nan
        x = float(text)
    return x if math.isfinite(x) else math.nan


def _whole(u: Any) -> float:
    """A cell's whole number, NaN if it is not one (``3``, ``3.0`` and `` 3`` are 3)."""
    x = _number(u)
    return x if (x == x and x == round(x) and abs(x) < 2**31) else math.nan


def _as_int(s: pd.Series) -> pd.Series:
    """Whole numbers of a column (NaN elsewhere); each distinct text parsed once."""
    return pd.Series(_Codes(s).map(_whole, float), index=s.index)


#: codes for levels that are not levels
_UNKNOWN, _BLANK, _PADDED = -1, -2, -3


def _level_code(attr: Attribute) -> Callable[[Any], int]:
    """Level index of a cell: exact label (or value), else -1 unknown, -2 blank, -3 padded."""
    labels = {label: i for i, label in enumerate(attr.level_labels())}
    if not attr.numeric:
        labels.update({str(v): i for i, v in enumerate(attr.levels)})

    def code(u: Any) -> int:
        if _missing(u):
            return _BLANK
        if attr.numeric and isinstance(u, int | float | np.integer | np.floating):
            return attr.index_of(float(u))
        text = str(u)
        if text in labels:
            return labels[text]
        if not text.strip():
            return _BLANK
        if attr.numeric:
            if text == text.strip() and _NUMBER.fullmatch(text):
                return attr.index_of(float(text))
            if text != text.strip() and attr.index_of(text.strip()) >= 0:
                return _PADDED
            return _UNKNOWN
        return _PADDED if text.strip() in labels else _UNKNOWN

    return code


def _padded_note(value: object) -> str:
    text = str(value)
    where = []
    if text != text.lstrip():
        where.append(f"starts with {text[: len(text) - len(text.lstrip())]!r}")
    if text != text.rstrip():
        where.append(f"ends with {text[len(text.rstrip()) :]!r}")
    return " and ".join(where)


def _plain_number(u: Any) -> bool:
    """A number, or text that is exactly a number (no white space around it)."""
    if isinstance(u, str):
        return u == u.strip() and _NUMBER.fullmatch(u) is not None
    return isinstance(u, int | float | np.integer | np.floating) and not isinstance(u, bool)


def _loose(text: str) -> str:
    return str(text).strip().lstrip("'").strip()
