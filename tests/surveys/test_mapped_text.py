"""The reader's text without a copy of the file: a memory map read like ``bytes`` (every method
the reader uses answers as ``bytes`` does, scans in blocks included), a file that cannot be
mapped read as bytes, and Arrow's parse in parts giving the frame of one parse."""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveys._csv as reader
import surveys._mapped as mapped
from surveys._mapped import MappedText, open_text
from winback.errors import ResponseError

pytestmark = pytest.mark.unit

BYTES = st.lists(
    st.sampled_from([b"a", b"\n", b"\r", b'"', b",", b"\x00", "é".encode(), "😀".encode(),
                     b"\xff", b"\xe2\x82", b"\x80", b"\xef\xbb\xbf"]),
    max_size=40,
).map(b"".join)  # fmt: skip


@contextmanager
def _mapped(tmp_path: Path, raw: bytes) -> Iterator[MappedText]:
    path = tmp_path / "t.bin"
    path.write_bytes(raw + b"#")  # a file of at least one byte (an empty one is not mapped)
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    text = MappedText(mm)
    try:
        yield text
    finally:
        text.close()


def _utf8_error(raw: bytes) -> int | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=BYTES, lo=st.integers(0, 3), at=st.integers(0, 45), end=st.integers(0, 45))
def test_a_mapped_text_answers_as_its_bytes(tmp_path, monkeypatch, raw, lo, at, end):
    monkeypatch.setattr(mapped, "_SCAN", 5)  # scans of many blocks: characters cut between them
    with _mapped(tmp_path, raw) as whole:
        lo = min(lo, len(whole))  # (the reader skips a byte-order mark it found)
        text = whole.after(lo)
        ref = (raw + b"#")[lo:]
        assert len(text) == len(ref)
        assert text[at:end] == ref[at:end] and text[:end] == ref[:end] and text[at:] == ref[at:]
        for sub in (b"\n", b"\x00", b'"', b"\r", b"a\n"):
            assert text.find(sub) == ref.find(sub), sub
            assert text.find(sub, at) == ref.find(sub, at), (sub, at)
            assert text.find(sub, at, end) == ref.find(sub, at, end), (sub, at, end)
            assert text.rfind(sub, 0, at) == ref.rfind(sub, 0, at), (sub, at)
            assert (sub in text) == (sub in ref), sub
        for sub in (b"\n", b"\r", b"\x00"):
            assert text.count(sub, at) == ref.count(sub, at), (sub, at)
            assert text.count(sub, 0, end) == ref.count(sub, 0, end), (sub, end)
        assert text.isascii() == ref.isascii()
        assert text.startswith(ref[:at]) and text.endswith(ref[at:])
        assert text.startswith(b"\xef\xbb\xbf") == ref.startswith(b"\xef\xbb\xbf")
        assert text.utf8_error() == _utf8_error(ref), ref
        assert hashlib.sha256(text).hexdigest() == hashlib.sha256(ref).hexdigest()
        assert np.frombuffer(text, dtype=np.uint8).tobytes() == ref
        del text


@pytest.mark.parametrize(
    "raw",
    [
        "id,name\nr1,Zoë\nr2,caf".encode() + b"\xe9\nr3,x\n",  # Latin-1 after UTF-8
        b"\xef\xbb\xbfid,name\nr1,a\x00b\n" + b"r2,b\n" * 2000,  # a stray NUL, after a BOM
        b"id,name\n" + "r,é\n".encode() * 3000 + b"r,\xc3\n",  # cut at the file's end
    ],
)
def test_a_mapped_file_is_refused_as_its_bytes_are(tmp_path, monkeypatch, raw):
    monkeypatch.setattr(mapped, "_SCAN", 7)
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    with pytest.raises(ResponseError) as from_map:
        reader.read_table(path)
    with pytest.raises(ResponseError) as from_bytes:
        reader.check_encoding(
            raw, path, "save the file as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
        )
    assert str(from_map.value) == str(from_bytes.value)


def test_a_file_that_cannot_be_mapped_is_read_as_bytes(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    raw = "\ufeffid,level\nr1,'=1\nr2,b\r\nr3,é\n".encode()
    path.write_bytes(raw)
    mapped_frame = reader.read_table(path, categorical=True)

    def refuse(*args: object, **kwargs: object) -> mmap.mmap:
        raise OSError(19, "No such device")  # a file system without memory maps

    monkeypatch.setattr(mapped.mmap, "mmap", refuse)
    with open_text(path) as text:
        assert isinstance(text, bytes) and text == raw
    read = reader.read_table(path, categorical=True)
    pd.testing.assert_frame_equal(read, mapped_frame)
    assert read.attrs == mapped_frame.attrs
    assert read.attrs["sha256"] == hashlib.sha256(raw).hexdigest()
    assert read["level"].tolist() == ["=1", "b", "é"], read["level"].tolist()


def test_an_empty_file_is_refused_whether_mapped_or_not(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"")
    with pytest.raises(ResponseError, match="the file is empty"):
        reader.read_table(path)


@pytest.mark.parametrize("crlf", [False, True])
def test_arrow_in_parts_gives_the_frame_of_one_parse(tmp_path, monkeypatch, crlf):
    """Parts of a few lines: each part's own dictionaries numbered as one column (in order of
    first appearance), codes in the type pandas keeps them in, blank lines skipped."""
    end = "\r\n" if crlf else "\n"
    rows = [f"r{i // 7:04d},{'ab'[i % 2]}{i % 3},'=x{i % 200}" for i in range(4000)]
    rows[1234] = ""  # a blank line
    path = tmp_path / "t.csv"
    path.write_bytes(("id,level,formula" + end + end.join(rows) + end).encode())
    whole = reader.read_table(path, categorical=True)
    monkeypatch.setattr(reader, "_ARROW_PART", 100)
    parts = reader.read_table(path, categorical=True)
    pd.testing.assert_frame_equal(parts, whole)
    for c in ("id", "level", "formula"):
        assert list(parts[c].cat.categories) == list(pd.unique(parts[c].astype(object))), c
    assert parts["id"].cat.codes.dtype == np.int16, parts["id"].cat.codes.dtype  # 572 ids
    assert parts["level"].cat.codes.dtype == np.int8
    assert parts["formula"].iloc[3] == "=x3" and parts["_row"].iloc[1234] == 1237
    with monkeypatch.context() as m:
        m.setattr(reader, "_arrow_frame", lambda *a: None)
        slow = reader.read_table(path, categorical=True)
    for c in parts.columns:
        assert parts[c].astype(object).tolist() == slow[c].astype(object).tolist(), c
