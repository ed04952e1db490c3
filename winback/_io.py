"""Safe file output: atomic writes, no overwrite without consent, no formulas in CSV cells."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from winback._folders import checkpoint
from winback.errors import WinbackError

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def atomic_write_bytes(path: str | Path, data: bytes | np.ndarray) -> None:
    """Write a file so that readers see the old content or the new, never a partial file."""
    atomic_write_with(path, lambda fh: fh.write(data))


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """:func:`atomic_write_bytes` of what ``write`` writes to the open file (in parts, say)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        checkpoint("write")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


#: a guarded cell: the apostrophe winback added in front of a formula trigger
_TRIGGER_CLASS = r"[=+\-@\t\r]"  # FORMULA_TRIGGERS as a regex class (tested to agree)
_GUARDED = "'+" + _TRIGGER_CLASS
#: every CSV winback writes ends its records with CRLF (RFC 4180). Python 3.12's csv writer
#: quotes a field only for the characters of the line terminator, so with "\n" alone a bare
#: carriage return inside a text value (an answer typed on a phone) went out unquoted and the
#: record split in two when read back.
CSV_LINE_END = "\r\n"


def escape_cell(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    Text that starts with apostrophes followed by a trigger gets one more too, so
    :func:`unescape_cell` gives back exactly what was written (the formula guard, docs/responses.md).
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell`: drop the one apostrophe it put in front of a trigger."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value.lstrip("'").startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]
    return value


def _text_columns(df: pd.DataFrame) -> list[Any]:
    return [c for c in df.columns if _is_text(df[c].dtype)]


def _is_text(dtype: Any) -> bool:
    """Text, or categories of text (a categorical column is written as its categories)."""
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        plain_object = isinstance(cats.dtype, np.dtype) and cats.dtype.kind == "O"
        return pd.api.types.is_string_dtype(cats.dtype) and (
            not plain_object or pd.api.types.infer_dtype(cats, skipna=True) == "string"
        )
    is_object = isinstance(dtype, np.dtype) and dtype.kind == "O"
    return bool(is_object or pd.api.types.is_string_dtype(dtype))


def _guard_column(s: pd.Series, pattern: str, *, add: bool) -> pd.Series:
    """``s`` with an apostrophe added (``add``) or removed where ``pattern`` matches."""
    if isinstance(s.dtype, pd.CategoricalDtype):  # on the categories, each once
        cats = pd.Series(s.cat.categories.to_numpy(dtype=object), dtype=object)
        new = _guard_column(cats, pattern, add=add)
        if new is cats:
            return s
        if new.duplicated().any():  # two categories become one text: as plain text
            return _guard_column(s.astype(object), pattern, add=add)
        return s.cat.rename_categories(new.to_numpy(dtype=object))
    hit = _matches(s, pattern)
    if hit is None:  # an object column without any text
        return s
    if not hit.any():
        return s
    out = s.copy()
    out[hit] = "'" + s[hit] if add else s[hit].str.slice(1)
    return out


def _matches(s: pd.Series, pattern: str) -> pd.Series | None:
    """Which cells match ``pattern`` at their start (cells that are not text never do); None
    for a column without any text. Text is matched by Arrow's regular expressions (one call,
    not one Python call per cell); a column that is not all text, cell by cell by pandas."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    except (ImportError, pa.ArrowException, TypeError, ValueError):
        pass  # not all text: pandas, cell by cell
    else:
        hit = pc.match_substring_regex(values, "^(?:" + pattern + ")").fill_null(False)
        return pd.Series(hit.to_numpy(zero_copy_only=False), index=s.index)
    try:
        return s.str.match(pattern, na=False)  # cells that are not text give NA: never matched
    except AttributeError:
        return None


#: text a spreadsheet would run (a trigger first), or text that looks guarded already (any
#: apostrophes, then a trigger): guarding all of these with one more apostrophe, and unguarding
#: exactly the cells of the form ``'+`` then a trigger, gives back every text as it was
_NEEDS_GUARD = "'*" + _TRIGGER_CLASS


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of a frame whose text cells (and column names) cannot become formulas."""
    out = df.copy()
    for c in _text_columns(out):
        out[c] = _guard_column(out[c], _NEEDS_GUARD, add=True)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def unescape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`safe_frame` (column by column, vectorised: a 200 MB export stays fast)."""
    out = df.copy()
    for c in _text_columns(out):
        out[c] = _guard_column(out[c], _GUARDED, add=False)
    out.columns = [unescape_cell(str(c)) for c in out.columns]
    return out


#: tables with at least this many rows (and two columns) go through the fast writer
#: (:mod:`winback._csvfast`); smaller ones are written by pandas directly
FAST_ROWS = 20_000


def csv_text(df: pd.DataFrame) -> str:
    """A frame as formula-safe CSV text that every CSV reader gives back exactly.

    A one-column frame quotes its text: otherwise an answer of spaces alone would be a record
    of spaces alone, which readers (pandas among them) skip as a blank line.
    """
    return str(memoryview(csv_bytes(df)), "utf-8")


def csv_bytes(df: pd.DataFrame) -> bytes | np.ndarray:
    """:func:`csv_text` as UTF-8 bytes (a uint8 array for a large table).

    A large table is written by :func:`winback._csvfast.table_bytes`: the same bytes as
    pandas' ``to_csv``, each column's distinct values formatted once.
    """
    header = _fast_header(df)
    if header is not None:
        # lazy: the fast writer's numba kernels (0.4 s to import) load only for large tables
        from winback._csvfast import table_bytes

        fast = table_bytes(df, header, CSV_LINE_END, safe_frame)
        if fast is not None:
            return fast
    return pandas_csv_text(df).encode("utf-8")


def _fast_header(df: pd.DataFrame) -> str | None:
    """The header line of a table large enough for the fast writer (:data:`FAST_ROWS` rows and
    two columns); None for a table pandas writes directly."""
    if df.shape[1] < 2 or len(df) < FAST_ROWS:
        return None
    return str(safe_frame(df.iloc[:0]).to_csv(index=False, lineterminator=CSV_LINE_END))


def pandas_csv_text(df: pd.DataFrame) -> str:
    """:func:`csv_text` written by pandas' ``to_csv`` alone (small tables; the reference of the
    fast writer)."""
    quoting = csv.QUOTE_NONNUMERIC if df.shape[1] == 1 else csv.QUOTE_MINIMAL
    return str(safe_frame(df).to_csv(index=False, lineterminator=CSV_LINE_END, quoting=quoting))


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Atomically write a CSV whose text cells are formula-safe (:func:`csv_bytes`'s bytes; a
    large table streamed in blocks of rows, without a buffer the size of the file)."""
    header = _fast_header(df)
    if header is not None:
        # lazy: the fast writer's numba kernels (0.4 s to import) load only for large tables
        from winback._csvfast import write_table

        def write(fh: BinaryIO) -> None:
            if not write_table(fh, df, header, CSV_LINE_END, safe_frame):
                fh.write(pandas_csv_text(df).encode("utf-8"))

        atomic_write_with(path, write)
        return
    atomic_write_bytes(path, csv_bytes(df))


def write_json(obj: Any, path: str | Path) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default, allow_nan=True) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_outputs_free(paths: Iterable[str | Path], force: bool, hint: str = "--force") -> None:
    """Refuse to overwrite earlier results unless forced; name every file in the way."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not force:
        raise WinbackError(
            "refusing to overwrite earlier results: "
            + ", ".join(existing)
            + f". Choose another output folder or pass {hint} to replace them."
        )
