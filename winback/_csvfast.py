"""Large tables as CSV bytes fast, byte for byte what ``DataFrame.to_csv`` writes.

``pandas.DataFrame.to_csv`` turns every cell into a Python string and hands each row to the
``csv`` module: about 20 MB/s, most of a big import's writing time. Yet the columns of a
response file hold few distinct values (levels, alternatives, 0/1, ids repeated over a
respondent's rows), so here each column becomes integer codes into its distinct values, only
the distinct values go through pandas and the ``csv`` module (so every value is formatted,
guarded and quoted exactly as before), and a numba kernel copies each row's encoded cells into
one buffer, in threads over blocks of rows.

Distinct means distinct as written: floats are told apart by their bits (``-0.0`` is not
``0.0``), an object column is coded only when all its values are text (pandas would merge
``1``, ``1.0`` and ``True``), and a dtype whose text is not a function of the value alone
(datetimes print without a time when all are midnight) is left to pandas. :func:`table_bytes`
returns None for a table it does not handle, and the caller writes it with ``to_csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
from numba import njit

from winback._numba_cache import install as _check_numba_cache

_check_numba_cache()  # damaged compiled-code cache entries are compiled anew, never loaded

__all__ = ["table_bytes", "write_table"]

#: rows per block of the copy (the same blocks whatever the thread count)
BLOCK = 1 << 16


@dataclass
class _Plan:
    """A table's rows as codes into its distinct cells' bytes (:func:`_plan`)."""

    codes: np.ndarray  # (columns, rows) codes into each column's distinct cells
    base: np.ndarray  # column c's cells start at base[c] in offsets
    offsets: np.ndarray  # cell e's bytes are blob[offsets[e]:offsets[e + 1]]
    blob: np.ndarray
    head: bytes
    starts: np.ndarray  # row r's bytes start at starts[r] (after the header); n + 1 entries


def table_bytes(
    df: pd.DataFrame,
    header: str,
    line_end: str,
    guard: Callable[[pd.DataFrame], pd.DataFrame],
) -> np.ndarray | None:
    """``header`` then the rows of ``df`` as ``guard(df).to_csv(index=False, header=False,
    lineterminator=line_end)`` writes them (QUOTE_MINIMAL), UTF-8 bytes in a uint8 array; None
    when a column's dtype is not one handled here. ``df`` needs at least two columns (a one-column row of one empty
    cell is quoted by the ``csv`` module: its text depends on the row)."""
    plan = _plan(df, header, line_end, guard)
    if plan is None:
        return None
    n = plan.codes.shape[1]
    out = np.empty(int(plan.starts[-1]), dtype=np.uint8)
    out[: len(plan.head)] = np.frombuffer(plan.head, dtype=np.uint8)
    _in_blocks(
        n,
        lambda a, b: _fill_at(
            plan.codes, plan.base, plan.offsets, plan.blob, plan.starts, out, 0, a, b
        ),
    )
    return out


def write_table(
    fh: BinaryIO,
    df: pd.DataFrame,
    header: str,
    line_end: str,
    guard: Callable[[pd.DataFrame], pd.DataFrame],
) -> bool:
    """:func:`table_bytes` written to ``fh`` block by block through one reused buffer; False
    (nothing written) when the table is not one handled here.

    The same bytes, without a buffer the size of the file: on a large import that buffer was
    hundreds of MB of memory touched for the first time, which costs more than the copy itself
    (benchmarks/RESULTS.md, "what this machine's memory does to the ratio")."""
    plan = _plan(df, header, line_end, guard)
    if plan is None:
        return False
    n = plan.codes.shape[1]
    fh.write(plan.head)
    n_threads = max(1, min(numba.get_num_threads(), -(-n // BLOCK)))
    # one round = one block of rows per thread, filled into its own part of the buffer
    rounds = [(a, min(a + BLOCK * n_threads, n)) for a in range(0, n, BLOCK * n_threads)]
    size = max((int(plan.starts[b] - plan.starts[a]) for a, b in rounds), default=0)
    buf = np.empty(size, dtype=np.uint8)
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        for a, b in rounds:
            spans = [(lo, min(lo + BLOCK, b)) for lo in range(a, b, BLOCK)]
            # starts relative to this round's first byte: the kernel writes buf[starts[r] - s0]
            s0 = int(plan.starts[a])

            def fill(span: tuple[int, int], s0: int = s0) -> None:
                _fill_at(
                    plan.codes, plan.base, plan.offsets, plan.blob, plan.starts, buf, s0, *span
                )

            if pool is None:
                for span in spans:
                    fill(span)
            else:
                list(pool.map(fill, spans))
            fh.write(memoryview(buf)[: int(plan.starts[b]) - s0])
    finally:
        if pool is not None:
            pool.shutdown()
    return True


def _plan(
    df: pd.DataFrame,
    header: str,
    line_end: str,
    guard: Callable[[pd.DataFrame], pd.DataFrame],
) -> _Plan | None:
    if df.shape[1] < 2:
        return None
    n = len(df)
    # each column's codes from 0 (missing, -1, included), kept small until all are known
    shifted: list[tuple[int, np.ndarray]] = []
    for i in range(df.shape[1]):
        raw = _raw_codes(df.iloc[:, i])
        if raw is None:
            return None
        lo = int(raw.min()) if n else 0
        span = int(raw.max()) - lo if n else 0
        small = np.uint8 if span < 1 << 8 else np.uint16 if span < 1 << 16 else np.int32
        shifted.append((span, np.subtract(raw, lo, dtype=np.int64).astype(small)))
        del raw
    # one table of codes, two bytes a cell when every column has at most 65,536 values
    top = max(span for span, _ in shifted)
    codes = np.empty((len(shifted), n), dtype=np.uint16 if top < 1 << 16 else np.int32)
    for c, (_, part) in enumerate(shifted):
        codes[c] = part
    spans = [span for span, _ in shifted]
    shifted.clear()
    cells: list[np.ndarray] = []
    base = np.zeros(len(spans), dtype=np.int64)
    at = 0
    for c, span in enumerate(spans):
        # a code no row has is given row 0's value, which no row then prints
        first = np.full(span + 1 if n else 0, n, dtype=np.int64)
        _first_rows(codes[c], first)
        first[first == n] = 0
        base[c] = at
        sep = line_end if c == len(spans) - 1 else ","
        uniques = df.iloc[first, [c]].reset_index(drop=True).set_axis(["value"], axis=1)
        text = _cell_texts(uniques, guard)
        if not _is_number(uniques["value"].dtype):  # numbers hold no comma, quote or line end
            text = _quoted(text, line_end)
        cells.append(text + sep)
        at += len(text)
    # every distinct cell's bytes in one buffer (Arrow encodes the texts without a loop)
    encoded = pa.array(np.concatenate(cells), type=pa.large_string())
    _, offsets_buf, data_buf = encoded.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[: len(encoded) + 1]
    lengths = np.diff(offsets)
    blob = np.zeros(1, np.uint8) if data_buf is None else np.frombuffer(data_buf, np.uint8)
    row_len = np.empty(n, dtype=np.int64)
    _in_blocks(n, lambda a, b: _row_lengths(codes, base, lengths, row_len, a, b))
    head = header.encode("utf-8")
    starts = np.empty(n + 1, dtype=np.int64)
    starts[0] = len(head)
    np.cumsum(row_len, out=starts[1:])
    starts[1:] += len(head)
    return _Plan(codes, base, offsets, blob, head, starts)


_NULLABLE_INTS = (
    pd.Int8Dtype,
    pd.Int16Dtype,
    pd.Int32Dtype,
    pd.Int64Dtype,
    pd.UInt8Dtype,
    pd.UInt16Dtype,
    pd.UInt32Dtype,
)


def _raw_codes(s: pd.Series) -> np.ndarray | None:
    """Integer codes of a column's cells, equal exactly when the cells print the same way
    (from -1); None for a dtype left to pandas."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if _raw_codes(pd.Series(dtype.categories)) is None:
            return None
        return np.asarray(s.cat.codes)  # int8 to int32: as they are
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":  # by the bits: -0.0 and 0.0 print differently
            return _factorize(np.ascontiguousarray(s.to_numpy()).view(f"i{dtype.itemsize}"))
        if dtype.kind in "iub":
            values = s.to_numpy()
            if dtype.kind == "b":
                return values.astype(np.int64)
            lo = int(values.min()) if len(values) else 0
            small = dtype.kind == "i" and len(values) and int(values.max()) - lo < 1 << 16
            if small:  # whole numbers in a short range: as
                return values.astype(np.int64) - lo  # they are (equal numbers print alike)
            return _factorize(values)
        if dtype.kind == "O" and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return _factorize(s)  # every missing value (None, NaN, NA) prints empty
        return None  # other objects (1, 1.0 and True are one value to pandas), datetimes, ...
    if isinstance(dtype, pd.StringDtype):
        return _factorize(s)
    missing = s.isna().to_numpy()
    if isinstance(dtype, pd.Float32Dtype | pd.Float64Dtype):
        bits = s.to_numpy(dtype=np.float64, na_value=0.0).view(np.int64)
    elif isinstance(dtype, _NULLABLE_INTS):
        bits = s.to_numpy(dtype=np.int64, na_value=0)
    elif isinstance(dtype, pd.BooleanDtype):
        bits = s.to_numpy(dtype=np.int64, na_value=0)
    else:
        return None
    return _factorize(bits) * 2 + missing


def _factorize(values: object) -> np.ndarray:
    return np.asarray(pd.factorize(values, use_na_sentinel=True)[0], dtype=np.int64)


def _cell_texts(uniques: pd.DataFrame, guard: Callable[[pd.DataFrame], pd.DataFrame]) -> np.ndarray:
    """The text ``to_csv`` gives each value of a one-column frame (before quoting): numbers
    as numpy prints them, text guarded, missing values empty."""
    s = uniques["value"]
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        values = s.to_numpy()
        text = values.astype(str).astype(object)
        if dtype.kind == "f":
            text[np.isnan(values)] = ""
        return text
    numbers = _NUMPY_OF.get(type(dtype))
    if numbers is not None:  # nullable numbers and booleans: as numpy prints them, NA empty
        missing = s.isna().to_numpy()
        text = s.to_numpy(dtype=numbers, na_value=numbers(0)).astype(str).astype(object)
        text[missing] = ""
        return text
    if isinstance(dtype, pd.StringDtype) or dtype.kind == "O" or _text_categories(dtype):
        text = guard(uniques)["value"].to_numpy(dtype=object, na_value=None)
        return np.array(["" if t is None else t for t in text], dtype=object)
    # other types (nullable numbers, categories of numbers): pandas' own text, read back
    marked = guard(uniques).assign(mark=0)  # a second cell: the row is never one lone cell
    csv_text = marked.to_csv(index=False, header=False, lineterminator="\r\n")
    rows = [row[0] for row in csv.reader(io.StringIO(csv_text, newline=""))]
    if len(rows) != len(uniques):  # pragma: no cover - to_csv and csv.reader disagree
        raise AssertionError("distinct values and their CSV cells do not match")
    return np.array(rows, dtype=object)


#: the numpy type of each nullable dtype's values
_NUMPY_OF: dict[type, type] = {
    pd.Float64Dtype: np.float64,
    pd.BooleanDtype: np.bool_,
    **dict.fromkeys(_NULLABLE_INTS, np.int64),
}


def _text_categories(dtype: object) -> bool:
    return isinstance(dtype, pd.CategoricalDtype) and (
        isinstance(dtype.categories.dtype, pd.StringDtype)
        or pd.api.types.infer_dtype(dtype.categories, skipna=True) in ("string", "empty")
    )


def _is_number(dtype: object) -> bool:
    return (isinstance(dtype, np.dtype) and dtype.kind in "fiub") or type(dtype) in _NUMPY_OF


def _quoted(text: np.ndarray, line_end: str) -> np.ndarray:
    """Cells quoted as the ``csv`` module quotes them (QUOTE_MINIMAL): in quotes, with quotes
    doubled, when they hold the separator, a quote or a character of the line end."""
    s = pd.Series(text, dtype=object)
    special = "[" + re.escape(',"' + line_end) + "]"
    need = s.str.contains(special, regex=True).to_numpy(dtype=bool)
    if not need.any():
        return text
    out = text.copy()
    out[need] = '"' + s[need].str.replace('"', '""', regex=False) + '"'
    return out


def _in_blocks(n: int, work: Callable[[int, int], object]) -> None:
    spans = [(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]
    n_threads = max(1, min(numba.get_num_threads(), len(spans)))
    if n_threads == 1:
        for a, b in spans:
            work(a, b)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda ab: work(*ab), spans))


@njit(cache=True, nogil=True)
def _first_rows(codes, first):  # pragma: no cover - compiled
    for r in range(len(codes) - 1, -1, -1):
        first[codes[r]] = r


@njit(cache=True, nogil=True)
def _row_lengths(codes, base, lengths, row_len, r0, r1):  # pragma: no cover - compiled
    for r in range(r0, r1):
        total = 0
        for c in range(codes.shape[0]):
            total += lengths[base[c] + codes[c, r]]
        row_len[r] = total


@njit(cache=True, nogil=True)
def _fill_at(codes, base, offsets, blob, starts, out, s0, r0, r1):  # pragma: no cover - compiled
    for r in range(r0, r1):
        pos = starts[r] - s0
        for c in range(codes.shape[0]):
            e = base[c] + codes[c, r]
            for t in range(offsets[e], offsets[e + 1]):
                out[pos] = blob[t]
                pos += 1
