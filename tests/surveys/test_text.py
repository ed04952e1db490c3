"""Text columns built by the kernel are the arrays Arrow's cast built (property-based), and
ids are looked up exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surveys._text as text
from surveys._text import member, text_array

pytestmark = pytest.mark.unit


def _cast(texts: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """How validation built its text columns before: a dictionary array cast by Arrow."""
    mask = codes < 0
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask),
        pa.array(list(texts), type=pa.large_string()),
    )
    return pd.array(dictionary.cast(pa.large_string()), dtype="string")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=12), st.none()), min_size=1, max_size=6),
    st.lists(st.integers(-1, 5), max_size=60),
)
def test_text_array_is_the_cast_array(texts, raw_codes):
    t = np.array([*texts, None], dtype=object)[:-1]  # an object array, even of one text
    codes = np.array([c if c < len(texts) else -1 for c in raw_codes], dtype=np.int64)
    want, got = _cast(t, codes), text_array(t, codes)
    assert got.dtype == want.dtype
    assert got._pa_array.equals(want._pa_array), (got, want)


def test_many_blocks(monkeypatch):
    monkeypatch.setattr(text, "BLOCK", 1000)
    t = np.array(["1 Gbps", "é中", "", None, "TV Essentials + Sports"], dtype=object)
    codes = np.random.default_rng(2).integers(-1, 5, 25_000)
    assert text_array(t, codes)._pa_array.equals(_cast(t, codes)._pa_array)


def test_member_is_exact():
    pool = ["r1", " r1", "r2", "r2"]
    assert member(["r1", "r1 ", "'r1", "r2", " r1"], pool).tolist() == [
        True,
        False,
        False,
        True,
        True,
    ]
    assert member(pd.Series(["a"], dtype="string"), pd.Index([], dtype=object)).tolist() == [False]
