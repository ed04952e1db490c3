"""Text columns of large tables built and looked up fast: :func:`text_array` (a pandas string
array from codes into a few distinct texts, its bytes copied by a numba kernel in threads
instead of one Python string per cell) and :func:`member` (which texts are in a set, by one
hash table). numba loads with the first :func:`text_array`, not with ``import surveys``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from winback import _numba_cache

__all__ = ["member", "text_array"]

#: rows per block of the copy (the same blocks whatever the thread count)
BLOCK = 1 << 18


def text_array(texts: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``texts[codes]`` as a pandas ``"string"`` array (Arrow large strings); a negative code is
    a missing value. The same array as casting a dictionary array to ``large_string``."""
    codes = np.asarray(codes, dtype=np.int64)
    absent = np.array([t is None for t in texts] + [True], dtype=bool)
    codes = np.where(absent[codes], -1, codes)  # a missing text is a missing value
    encoded = [b"" if t is None else str(t).encode("utf-8") for t in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    valid = codes >= 0
    n = len(codes)
    row_len = np.zeros(n, dtype=np.int64)
    row_len[valid] = lengths[codes[valid]]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_len, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    copy = _compiled()
    _in_blocks(n, lambda a, b: copy(codes, starts, blob, offsets, data, a, b))
    missing = int(n - valid.sum())
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if missing else None
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, missing
    )
    return pd.array(array, dtype="string")


def member(values: object, pool: object) -> np.ndarray:
    """Which of ``values`` are in ``pool`` (exact text), by one hash table: pandas' ``isin`` on
    text takes a third of a second for 50,000 ids."""
    table = pd.Index(np.asarray(pool, dtype=object)).unique()
    return np.asarray(table.get_indexer(np.asarray(values, dtype=object)) >= 0)


def _in_blocks(n: int, work: Callable[[int, int], object]) -> None:
    import numba  # with the kernel: numba loads on first use, not with `import surveys`

    spans = [(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]
    n_threads = max(1, min(numba.get_num_threads(), len(spans)))
    if n_threads == 1:
        for a, b in spans:
            work(a, b)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda ab: work(*ab), spans))


@functools.cache
def _compiled() -> Any:
    """:func:`_copy_texts` compiled (numba loads on first use, not with ``import surveys``)."""
    import numba

    _numba_cache.install()
    return numba.njit(cache=True, nogil=True)(_copy_texts)


def _copy_texts(codes, starts, blob, offsets, data, r0, r1):  # pragma: no cover - compiled
    for r in range(r0, r1):
        c = codes[r]
        if c < 0:
            continue
        pos = offsets[r]
        for t in range(starts[c], starts[c + 1]):
            data[pos] = blob[t]
            pos += 1
