"""Text columns as categorical codes: Arrow's dictionary chunks numbered as one column, and the
column of text cells made from codes into its distinct texts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from winback._io import unescape_frame


def code_dtype(n_texts: int) -> type[np.signedinteger[Any]]:
    """The integer type pandas keeps the codes of ``n_texts`` categories in (so that
    :meth:`pandas.Categorical.from_codes` takes them without a copy)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_texts < np.iinfo(dtype).max:
            return dtype
    return np.int64


class ChunkCodes:
    """One column's codes built chunk by chunk from Arrow's dictionary arrays: the distinct texts
    numbered in order of first appearance (as :func:`pandas.factorize` numbers them), each
    chunk's codes kept in the smallest integer type, without an ``int64`` copy of the column."""

    def __init__(self) -> None:
        self._number: dict[str, int] = {}
        self._parts: list[np.ndarray] = []

    def add(self, chunk: Any) -> None:
        """Add a ``pyarrow.DictionaryArray`` without nulls (its dictionary in order of first
        appearance within the chunk, as Arrow's CSV reader builds it)."""
        number = self._number
        texts = chunk.dictionary.to_pylist()
        into = np.fromiter(
            (number.setdefault(t, len(number)) for t in texts), dtype=np.int64, count=len(texts)
        )
        self._parts.append(into.astype(code_dtype(len(number)))[np.asarray(chunk.indices)])

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, texts)``: the column's codes (the type :func:`code_dtype` gives) and its
        distinct texts; the chunks are let go."""
        parts, self._parts = self._parts, []
        dtype = code_dtype(len(self._number))
        codes = np.concatenate(parts, dtype=dtype) if parts else np.zeros(0, dtype=dtype)
        return codes, np.asarray(list(self._number), dtype=object)


def text_column(codes: np.ndarray, uniques: np.ndarray, categorical: bool) -> pd.Series:
    """A column of text cells from codes into its distinct texts, with the formula guard
    undone (on each distinct text once)."""
    u = pd.Series(uniques, dtype=object)
    unguarded = unescape_frame(pd.DataFrame({"u": u}))["u"]
    if not unguarded.equals(u):
        u = unguarded.astype(object)
        # a guarded text and the same text written unguarded are one value
        new_codes, u_vals = pd.factorize(u.to_numpy(dtype=object))
        codes = np.where(codes >= 0, new_codes[codes], -1)
        u = pd.Series(u_vals, dtype=object)
    if categorical:
        cat = pd.Categorical.from_codes(codes, categories=pd.Index(u.to_numpy(), dtype=object))
        return pd.Series(cat)
    vals = u.to_numpy(dtype=object)[codes] if len(u) else np.full(len(codes), "", dtype=object)
    return pd.Series(vals, dtype="str")
