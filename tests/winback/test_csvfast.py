"""The fast CSV writer writes byte for byte what pandas' ``to_csv`` writes (property-based).

Large tables go through :mod:`winback._csvfast` (each column's distinct values formatted once,
rows copied by a numba kernel); every writer/reader test elsewhere holds for it only if its
bytes are pandas' bytes, for any text (CR, LF, quotes, delimiters, formula triggers, non-ASCII)
and every column type a winback table holds (text, categories, integers, floats with signed
zeros and NaN, nullable numbers and booleans with NA).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winback._csvfast as csvfast
import winback._io as wio
from tests.winback.test_roundtrip import TEXT
from winback._csvfast import table_bytes, write_table

pytestmark = pytest.mark.unit

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e20, 0.1 + 0.2, 65.0, float("nan")]),
)


@st.composite
def columns(draw: st.DrawFn, n: int) -> pd.Series:
    kind = draw(
        st.sampled_from(
            [
                "text",
                "object",
                "string",
                "str",
                "category",
                "int",
                "float",
                "Float64",
                "Int64",
                "boolean",
                "bool",
                "mixed",
            ]
        )
    )
    # few distinct values, repeated (as in a response file), or all different
    pool = draw(st.lists(TEXT, min_size=1, max_size=5))
    text = [draw(st.sampled_from(pool)) for _ in range(n)]
    if kind == "text":
        return pd.Series(text, dtype=object)
    if kind == "object":  # text with missing values of every kind
        return pd.Series(
            [draw(st.sampled_from([t, None, np.nan, pd.NA])) for t in text], dtype=object
        )
    if kind in ("string", "str"):
        return pd.Series([draw(st.sampled_from([t, None])) for t in text], dtype=kind)
    if kind == "category":
        return pd.Series(pd.Categorical([draw(st.sampled_from([t, None])) for t in text]))
    if kind == "int":
        return pd.Series(draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n)))
    if kind == "float":
        return pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=float)
    if kind == "Float64":
        values = draw(st.lists(st.one_of(st.none(), FLOATS), min_size=n, max_size=n))
        return pd.Series(pd.array([v if v is None or v == v else None for v in values], "Float64"))
    if kind == "Int64":
        values = draw(
            st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=n, max_size=n)
        )
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind == "boolean":
        values = draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n))
        return pd.Series(pd.array(values, dtype="boolean"))
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    # objects pandas would merge (1, 1.0, True): left to pandas
    return pd.Series(
        draw(st.lists(st.sampled_from([1, 1.0, True, "1", None]), min_size=n, max_size=n)),
        dtype=object,
    )


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    k = draw(st.integers(2, 5))
    names = draw(st.lists(TEXT, min_size=k, max_size=k, unique=True))  # as safe_frame needs
    cols = [draw(columns(n)) for _ in range(k)]
    df = pd.concat(cols, axis=1)
    df.columns = names
    return df


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_the_fast_writer_writes_pandas_bytes(df):
    want = wio.pandas_csv_text(df).encode("utf-8")
    header = wio.safe_frame(df.iloc[:0]).to_csv(index=False, lineterminator=wio.CSV_LINE_END)
    got = table_bytes(df, header, wio.CSV_LINE_END, wio.safe_frame)
    if got is None:  # a column type left to pandas: only mixed objects are
        assert any(dt.kind == "O" for dt in df.dtypes), df.dtypes
        return
    assert got.tobytes() == want, (got.tobytes()[:300], want[:300])
    streamed = io.BytesIO()  # the same bytes written block by block through one buffer
    block = csvfast.BLOCK
    csvfast.BLOCK = 3  # rounds of 3 rows per thread: every frame spans several
    try:
        assert write_table(streamed, df, header, wio.CSV_LINE_END, wio.safe_frame)
    finally:
        csvfast.BLOCK = block
    assert streamed.getvalue() == want, (streamed.getvalue()[:300], want[:300])


def test_large_tables_go_through_the_fast_writer(monkeypatch, tmp_path):
    """csv_bytes and write_csv take the fast path from FAST_ROWS rows on: same file."""
    rng = np.random.default_rng(1)
    n = 50_000
    df = pd.DataFrame(
        {
            "respondent_id": pd.array([f"r{i // 13:05d}" for i in range(n)], dtype="string"),
            "level": rng.choice(["=SUM(A1)", "a,b", 'say "hi"', "line\r\nbreak", "é"], n),
            "price": pd.array(rng.choice([45.0, 55.0, None], n), dtype="Float64"),
            "chosen": rng.integers(0, 2, n),
            "share": rng.random(n),
        }
    )
    monkeypatch.setattr(csvfast, "BLOCK", 4096)  # many blocks, in threads
    calls = []
    real = wio.pandas_csv_text
    monkeypatch.setattr(wio, "pandas_csv_text", lambda d: calls.append(1) or real(d))
    wio.write_csv(df, tmp_path / "fast.csv")
    assert not calls, "the large table was written by pandas"
    assert (tmp_path / "fast.csv").read_bytes() == real(df).encode("utf-8")
    assert wio.csv_text(df) == real(df)


def test_categorical_text_is_guarded_and_read_back(tmp_path):
    """A categorical column of text is text: guarded like any other (it was written bare)."""
    from surveys.responses import read_csv_text

    values = ["=SUM(A1)", "'=x", "plain", None, "@user", "=SUM(A1)"]
    df = pd.DataFrame({"id": range(6), "answer": pd.Categorical(values)})
    text = wio.pandas_csv_text(df)
    assert "\r\n'=SUM(A1)," not in text and "'=SUM(A1)" in text, text
    path = tmp_path / "c.csv"
    wio.write_csv(df, path)
    back = read_csv_text(path)["answer"].tolist()
    assert back == [v if v is not None else "" for v in values], back


@pytest.mark.parametrize("fast_rows", [0, 10**9])
def test_the_choices_written_from_codes_are_the_choices(monkeypatch, fast_rows):
    """The import writes responses.csv from validation's codes (categoricals): the bytes of
    the text columns written as they are, by either writer, ids that need the guard included."""
    from conjoint import make_design, simulate_choices
    from surveys import make_dataset
    from surveys.responses import choices_for_csv
    from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study

    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    ch = simulate_choices(design, SMALL_TRUTH, 3, n_respondents=40)
    ch["respondent_id"] = ch["respondent_id"].map(lambda r: {"r01": "=1", "r02": "'@x"}.get(r, r))
    data = make_dataset(ch, study, design=design)
    monkeypatch.setattr(wio, "FAST_ROWS", fast_rows)
    coded = choices_for_csv(data)
    assert isinstance(coded["respondent_id"].dtype, pd.CategoricalDtype)
    assert bytes(memoryview(wio.csv_bytes(coded))) == wio.pandas_csv_text(data.choices).encode()
