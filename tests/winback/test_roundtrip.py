"""Every text value survives every writer -> reader pair exactly (property-based).

Text as respondents type it: carriage returns alone or with line feeds (an answer typed on a
phone), quotes, delimiters, tabs, leading ``= + - @`` and apostrophes, non-ASCII, very long.
The formula guard (an apostrophe in front of text a spreadsheet would run) is added by every
CSV writer and removed by every reader; in a workbook text is stored with ECMA-376 escapes
where XML cannot hold it, which Excel (and :func:`reports.live_sheet.read_excel_text`) undoes.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winback._io import (
    FORMULA_TRIGGERS,
    csv_text,
    escape_cell,
    unescape_cell,
    unescape_frame,
    write_csv,
)

#: the characters that broke or could break a round trip, mixed with arbitrary text
PIECES = [
    "\r",
    "\n",
    "\r\n",
    '"',
    '""',
    ",",
    ";",
    "\t",
    "=",
    "+",
    "-",
    "@",
    "'",
    "''=",
    " ",
    "é",
    "ß",
    "—",
    "中文",
    "😀",
    "\u2028",
    "\ufeff",
    "_x000D_",
    '=HYPERLINK("http://x","y")',
    "NA",
    "None",
    "nan",
    "",
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=12).map(
    "".join
) | st.builds(lambda s, n: s * n, st.sampled_from(["ab\r", "x", "'="]), st.integers(1, 20_000))

# the importers refuse a NUL byte anywhere in a file (no spreadsheet or database keeps it, and
# the web survey refuses it when typed), so text that reaches their reader holds none
IMPORTABLE = TEXT.map(lambda t: t.replace("\x00", ""))

# a CSV's header names text too; pandas renames duplicates, so names are unique here
NAMES = st.lists(TEXT, min_size=1, max_size=4, unique=True).filter(
    lambda names: all(n.strip() for n in names)
)


def _tmp() -> Path:
    return Path(tempfile.mkdtemp()) / "t.csv"


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_formula_guard_is_reversible(value):
    assert unescape_cell(escape_cell(value)) == value
    guarded = escape_cell(value)
    assert not guarded.startswith(FORMULA_TRIGGERS), guarded


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(IMPORTABLE, min_size=1, max_size=8), IMPORTABLE)
def test_write_csv_then_read_csv_text(values, name):
    """winback._io.write_csv -> surveys.responses.read_csv_text (the importers' reader)."""
    from surveys.responses import read_csv_text
    from surveys.validation import ROW_COLUMN

    df = pd.DataFrame({"id": [str(i) for i in range(len(values))], "text": values})
    if name.strip() and name not in ("id", ROW_COLUMN):
        df = df.rename(columns={"text": name})
    path = _tmp()
    write_csv(df, path)
    back = read_csv_text(path).drop(columns=ROW_COLUMN)
    assert back.columns.tolist() == df.columns.tolist()
    assert back.iloc[:, 1].tolist() == values


def test_nul_byte_anywhere_is_refused_with_its_line():
    """A stray NUL past the first 64 KiB is refused, naming its line, not read as text."""
    from surveys.responses import read_csv_text
    from winback.errors import WinbackError

    path = _tmp()
    rows = "".join(f"{i},answer {i}\r\n" for i in range(10_000))
    path.write_bytes(("id,text\r\n" + rows + "10000,bad\x00here\r\n").encode())
    with pytest.raises(WinbackError) as info:
        read_csv_text(path)
    msg = str(info.value)
    assert "line 10002 holds a NUL byte" in msg and str(path) in msg, msg


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_write_csv_then_every_other_reader(values):
    """write_csv -> the design reader, the workbook's reader and the waves' reader."""
    from conjoint.export import _read_csv
    from reports.workbook import _read_table
    from winback.waves.compare import _read_table as read_wave_table

    df = pd.DataFrame({"verbatim": values, "n": range(len(values))})
    path = _tmp()
    write_csv(df, path)
    assert _read_csv(path)["verbatim"].tolist() == values
    table = _read_table(path, all_text=True)
    assert table is not None and table["verbatim"].tolist() == values
    assert read_wave_table(path)["verbatim"].tolist() == values


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_csv_text_is_read_back_by_pandas_and_csv(values):
    """The web survey's export text (csv_text) read by pandas and by Python's csv module."""
    import csv

    text = csv_text(pd.DataFrame({"answer": values}))
    back = pd.read_csv(io.StringIO(text, newline=""), dtype=str, keep_default_na=False)
    assert unescape_frame(back)["answer"].tolist() == values
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [unescape_cell(r[0]) for r in rows[1:]] == values


def test_an_answer_of_spaces_alone_is_not_a_blank_line():
    """Found by hypothesis: a one-column export whose answer is a single space was a record of
    one space, which pandas skips as a blank line (the answer was lost)."""
    values = [" ", "\t", "a", "  "]
    text = csv_text(pd.DataFrame({"answer": values}))
    back = pd.read_csv(io.StringIO(text, newline=""), dtype=str, keep_default_na=False)
    assert unescape_frame(back)["answer"].tolist() == values, text


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_workbook_text_cells_read_back_exactly(values):
    """Text written into a workbook cell shows exactly as given (never a formula)."""
    from openpyxl import Workbook, load_workbook

    from reports.live_sheet import EXCEL_CELL_MAX, _escape, read_excel_text, set_text

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for i, v in enumerate(values, start=1):
        set_text(ws.cell(i, 1), v)
    path = _tmp().with_suffix(".xlsx")
    wb.save(path)
    back = load_workbook(path).active
    assert back is not None
    cells = [back.cell(i, 1) for i in range(1, len(values) + 1)]
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    for cell, v in zip(cells, values, strict=True):
        shown = read_excel_text(cell.value or "")
        if len(_escape(v)) <= EXCEL_CELL_MAX:
            assert shown == v
        else:  # too long for a cell: cut where it says so, never silently
            head, _, tail = shown.partition(" [... cut: the first ")
            assert v.startswith(head) and tail.endswith("the whole text is in the CSV files]")
            assert len(cell.value) <= EXCEL_CELL_MAX


# --------------------------------------------------------------------------------------------
# The winback response format and Qualtrics: whole files written and read back
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    """A dataset of the small study with an open-text column in the respondents' answers."""
    from conjoint import make_design, simulate_choices
    from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study

    study = make_study(SMALL_STUDY, method="random", versions=2)
    design = make_design(study)
    choices = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=6)
    ids = sorted(choices["respondent_id"].unique().tolist())
    people = pd.DataFrame({"respondent_id": ids, "what_happened": ["x"] * len(ids)})
    return study, choices, people


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(IMPORTABLE, min_size=6, max_size=6))
def test_winback_format_round_trip(answered, values):
    """write_responses -> read_responses: every open answer comes back exactly."""
    from surveys import make_dataset, read_responses
    from surveys.responses import write_responses

    study, choices, people = answered
    people = people.assign(what_happened=values)
    data = make_dataset(choices, study, respondents=people)
    folder = _tmp().parent
    write_responses(data, folder, force=True)
    back = read_responses(folder / "responses.csv", study)
    got = back.respondents.set_index("respondent_id")["what_happened"]
    # an empty cell is an unanswered question (CSV cannot tell "" from missing); anything
    # else, spaces alone included, is an answer and comes back exactly
    want = people.set_index("respondent_id")["what_happened"]
    expected = [None if v == "" else v for v in want]
    assert [None if pd.isna(v) else v for v in got.reindex(want.index)] == expected
    assert len(back.choices) == len(choices)


# --------------------------------------------------------------------------------------------
# Web answer -> database -> import -> responses.csv -> workbook
# --------------------------------------------------------------------------------------------

WEB_STUDY_EXCLUDE = (
    '"previous_plan", "price_paid", "tenure_months", "current_spend", "current_provider", '
    '"would_return", "bring_back", "satisfaction_before"'
)


@pytest.fixture(scope="module")
def web_survey(tmp_path_factory):
    from surveys.web import make_app
    from surveys.web.server import running
    from tests.surveys.web_helpers import COMPACT_STUDY, make_survey

    text = COMPACT_STUDY.replace(
        'exclude = ["previous_plan", "price_paid", "tenure_months", "current_spend", '
        '"current_provider",\n           "what_happened", "would_return", "bring_back", '
        '"satisfaction_before"]',
        f"exclude = [{WEB_STUDY_EXCLUDE}]",
    )
    assert text != COMPACT_STUDY
    folder = tmp_path_factory.mktemp("web")
    study_file, survey, tokens = make_survey(folder, text, 40)
    with running(make_app(survey, admin_secret="s" * 24)) as url:
        yield folder, study_file, survey, tokens, url


WEB_TEXT = TEXT.filter(lambda t: "\x00" not in t and len(t) <= 4000 and t.strip() != "")


def _through_the_web(web_survey, answers: list[str], out: Path) -> None:
    """Type each answer into the live survey with its own token, then follow it through the
    database, `winback import`, responses.csv and the workbook's verbatim table."""
    import sqlalchemy as sa
    from openpyxl import Workbook, load_workbook

    from reports.live_sheet import read_excel_text
    from reports.workbook import _Sheet
    from surveys import read_responses
    from surveys.web import schema
    from surveys.web.bot import take_survey
    from winback.pipeline import run_import

    folder, study_file, survey, tokens, url = web_survey
    assert len(tokens) >= len(answers), f"the fixture has {len(tokens)} tokens left"
    with survey.engine.begin() as conn:
        ids = {
            t: r
            for t, r in conn.execute(
                sa.select(schema.invites.c.token, schema.invites.c.respondent_id)
            )
        }
    typed: dict[str, str] = {}  # respondent id -> what was typed
    for answer in answers:
        token = tokens.pop()
        take_survey(url, token, random_seed=1, prefer={"what_happened": answer})
        typed[ids[token]] = answer
    db = read_responses(str(folder / "survey.db"), survey.study, format="db").respondents
    by_token = dict(zip(db["respondent_id"], db["what_happened"], strict=True))
    assert {t: by_token.get(t) for t in typed} == typed, "the database changed an answer"
    run_import(survey.study, str(folder / "survey.db"), out / "import", format="db")
    back = read_responses(out / "import" / "responses.csv", survey.study).respondents
    back = back[back["respondent_id"].isin(list(typed))]
    got = dict(zip(back["respondent_id"], back["what_happened"], strict=True))
    assert got == typed, "responses.csv changed an answer"
    wb = Workbook()
    assert wb.active is not None
    _Sheet(wb.active).table(back[["respondent_id", "what_happened"]])  # as the Reasons sheet writes
    wb.save(out / "v.xlsx")
    ws = load_workbook(out / "v.xlsx").active
    assert ws is not None
    shown = {
        read_excel_text(r[0].value): read_excel_text(r[1].value) for r in ws.iter_rows(min_row=2)
    }
    assert shown == typed, "the workbook changed an answer"


def test_web_answer_to_workbook(web_survey, tmp_path):
    """Named hostile answers, one per property the writers must keep."""
    fixed = ["a\rb", "a\r\nb", "=1+1", "'=1", "''@x", "\t lead", "trail \r", "é😀", "x" * 4000]
    more = ['say "no", twice', "a,b;c\td", "_x000D_ literal", "+49 30 1234", "-5 €", "@home\n2nd"]
    _through_the_web(web_survey, fixed + more, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(answers=st.lists(WEB_TEXT, min_size=1, max_size=4, unique=True))
def test_web_answer_to_workbook_any_text(web_survey, answers):
    """Any text typed into the web survey (hypothesis) comes back unchanged at every step."""
    with tempfile.TemporaryDirectory() as tmp:
        _through_the_web(web_survey, answers, Path(tmp))
