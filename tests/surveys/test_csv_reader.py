"""The CSV reader parses with Arrow (in threads) what every reader parses alike, and gives the
frame pandas' parser gave, cell for cell; anything else (quotes not as RFC 4180 has them, blank
lines of spaces, an empty header name, a second byte-order mark) still goes to pandas, so the
errors and messages are those of before (property-based over texts built from the hard
pieces: quotes, separators, CR, LF, CRLF, blank lines, formula guards, non-ASCII)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveys._csv as reader
from winback.errors import ResponseError

pytestmark = pytest.mark.unit

PLAIN = st.text(alphabet=st.sampled_from(list("ab 1=+-@'\t;é中😀_x")), min_size=0, max_size=6)
QUOTED = st.text(alphabet=st.sampled_from(list('ab ,;"\r\n=é')), max_size=8).map(
    lambda t: '"' + t.replace('"', '""') + '"'
)
ODD = st.sampled_from(['a"b', '"a"b', 'x""', '"a""', '""'])  # quotes RFC 4180 does not have
CELL = st.one_of(PLAIN, PLAIN, QUOTED, ODD)
END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    k = draw(st.integers(1, 4))
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    names = draw(st.lists(st.one_of(PLAIN, QUOTED), min_size=k, max_size=k, unique=True))
    lines = [sep.join(names)]
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))  # a blank line
            continue
        n = k if draw(st.integers(0, 9)) else draw(st.integers(1, 5))  # sometimes ragged
        lines.append(sep.join(draw(st.lists(CELL, min_size=n, max_size=n))))
    text = "".join(line + draw(END) for line in lines)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return text.encode("utf-8")


def _read(path: Path, arrow: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        if not arrow:
            m.setattr(reader, "_arrow_frame", lambda *a: None)
        try:
            return reader.read_table(path, categorical=True)
        except ResponseError as err:
            return ("error", str(err))


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(csv_texts())
def test_arrow_reads_what_pandas_read(tmp_path, monkeypatch, raw):
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    fast, slow = _read(path, True, monkeypatch), _read(path, False, monkeypatch)
    if isinstance(slow, tuple) or isinstance(fast, tuple):
        assert fast == slow, (raw, fast, slow)
        return
    assert isinstance(fast, pd.DataFrame) and isinstance(slow, pd.DataFrame)
    assert list(fast.columns) == list(slow.columns), raw
    assert fast.attrs == slow.attrs
    for c in fast.columns:
        assert str(fast[c].dtype) == str(slow[c].dtype), (c, raw)
        assert fast[c].astype(object).tolist() == slow[c].astype(object).tolist(), (c, raw)
        if isinstance(fast[c].dtype, pd.CategoricalDtype):
            assert list(fast[c].cat.categories) == list(slow[c].cat.categories), (c, raw)


@pytest.mark.parametrize("breaks", [False, True])
def test_large_files_are_read_by_arrow_in_blocks(tmp_path, monkeypatch, breaks):
    """A file of many blocks: Arrow's frame, pandas' cells. With line breaks inside cells it
    goes to pandas: Arrow 26 loses the LF of a quoted CRLF at one of its block boundaries."""
    gap = "\r\n" if breaks else " "
    rows = [
        f'r{i:05d},"line {i}{gap}next, ""quoted""",{i % 7},\'=SUM(A{i})\r\n' for i in range(60_000)
    ]
    path = tmp_path / "big.csv"
    path.write_bytes(("id,text,n,formula\r\n" + "".join(rows)).encode())
    monkeypatch.setattr(reader, "_ARROW_BLOCK", 1 << 16)
    calls = []
    real = reader._pandas_frame
    monkeypatch.setattr(reader, "_pandas_frame", lambda *a: calls.append(1) or real(*a))
    fast = reader.read_table(path, categorical=True)
    assert bool(calls) == breaks, "pandas parsed the file" if calls else "Arrow parsed it"
    slow = _read(path, False, monkeypatch)
    assert isinstance(slow, pd.DataFrame)
    for c in fast.columns:
        assert fast[c].astype(object).tolist() == slow[c].astype(object).tolist(), c
    assert fast["text"].iloc[56_879] == f'line 56879{gap}next, "quoted"'
    assert fast["formula"].iloc[3] == "=SUM(A3)" and fast["_row"].iloc[2] == 4 + 2 * breaks
