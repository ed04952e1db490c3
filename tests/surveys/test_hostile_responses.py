"""Hostile response files, in every format: a clear error naming file, row and value, or the exact data.

Each case is one named function; the single test below runs them all (``-m hostile``). A case
either reads the file back *exactly* (kept values compared cell by cell) or expects a
:class:`~winback.errors.WinbackError` subclass whose message names the file and the fragments
listed (row or line, value, what is valid). Any other exception (a bare ``KeyError``,
``ValueError``, ``IndexError`` ...) fails the case, and so does a changed input file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conjoint import make_design, simulate_choices
from surveys import make_dataset, read_responses, write_responses
from surveys.formats import cbctools, qualtrics, sawtooth
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import ResponseError, WinbackError

CASES: dict[str, Callable[[dict, Path], None]] = {}


def case(fn: Callable[[dict, Path], None]) -> Callable[[dict, Path], None]:
    CASES[fn.__name__] = fn
    return fn


@pytest.fixture(scope="module")
def env() -> dict:
    study = make_study(SMALL_STUDY, method="balanced_overlap", versions=2)
    design = make_design(study)
    responses = simulate_choices(design, SMALL_TRUTH, 4, n_respondents=6, sd=0.5)
    responses["respondent_id"] = responses["respondent_id"].str[1:].astype(int).astype(str)
    ids = list(pd.unique(responses["respondent_id"]))
    people = pd.DataFrame(
        {
            "respondent_id": ids,
            "tenure_months": np.arange(len(ids)) + 3,
            "what_happened": ["The price went up, again." if i % 2 else "" for i in range(6)],
        }
    )
    data = make_dataset(responses, study, design=design, respondents=people)
    return {"study": study, "design": design, "data": data, "people": people}


def _winback(env: dict, folder: Path, data=None) -> Path:
    write_responses(data or env["data"], folder, force=True)
    return folder / "responses.csv"


def _read(env: dict, path: Path, fmt: str = "winback", **kw):
    return read_responses(path, env["study"], format=fmt, design=env["design"], **kw)


def _fails(env: dict, path: Path, *fragments: str, fmt: str = "winback", **kw) -> str:
    """The read raises a WinbackError naming the file and every fragment; the file unchanged."""
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(WinbackError) as err:
        _read(env, path, fmt, **kw)
    msg = str(err.value)
    assert path.name in msg, f"the message does not name the file {path.name}:\n{msg}"
    for f in fragments:
        assert f in msg, f"expected {f!r} in:\n{msg}"
    if before is not None:
        assert path.read_bytes() == before, "reading changed the file"
    return msg


def _same(env: dict, path: Path, fmt: str = "winback", original=None, **kw):
    back = _read(env, path, fmt, **kw)
    want = original or env["data"]
    assert want.equals(back), want.difference(back)
    return back


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _put(path: Path, lines: list[str], end: str = "\r\n") -> None:
    path.write_bytes((end.join(lines) + end).encode("utf-8"))


def _records(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def _write_records(path: Path, records: list[list[str]], sep: str = ",", bom: bool = False):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(records)
    path.write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8"))


def _with_people(env: dict, people: pd.DataFrame):
    ch = env["data"].choices
    return make_dataset(ch, env["study"], design=env["design"], respondents=people)


# --------------------------------------------------------------------------------------------
# winback's responses.csv / respondents.csv: encodings, separators, line ends
# --------------------------------------------------------------------------------------------


@case
def winback_utf16_with_bom(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(path.read_text().encode("utf-16"))
    _fails(env, path, "UTF-16", "CSV UTF-8")


@case
def winback_utf16_without_bom(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(path.read_text().encode("utf-16-le"))
    _fails(env, path, "NUL byte", "UTF-16")


@case
def winback_latin1_open_answer_in_respondents(env, tmp):
    people = env["people"].assign(what_happened="Service was très bad")
    path = _winback(env, tmp, _with_people(env, people))
    people_csv = tmp / "respondents.csv"
    people_csv.write_bytes(people_csv.read_text().encode("latin-1"))
    with pytest.raises(ResponseError) as err:
        _read(env, path)
    msg = str(err.value)
    assert "respondents.csv" in msg and "line 2: not UTF-8 text" in msg, msg
    assert "très" in msg, msg  # the line as Windows-1252 would read it


@case
def winback_utf8_bom_is_harmless(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    _same(env, path)


@case
def winback_double_bom_is_harmless(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + path.read_bytes())
    _same(env, path)  # an encoding artefact at the start of the file, not part of a name


@case
def winback_semicolon_separated_is_read_and_recorded(env, tmp):
    path = _winback(env, tmp)
    _write_records(path, _records(path), sep=";")
    back = _same(env, path)
    assert back.notes == (f"{path} read as semicolon-separated (';')",), back.notes
    assert back.summary()["notes"] == list(back.notes)


@case
def winback_tab_separated_is_read_and_recorded(env, tmp):
    path = _winback(env, tmp)
    _write_records(path, _records(path), sep="\t")
    _write_records(tmp / "respondents.csv", _records(tmp / "respondents.csv"), sep="\t")
    back = _same(env, path)
    assert len(back.notes) == 2 and all("tab-separated" in n for n in back.notes), back.notes


@case
def winback_semicolon_with_decimal_comma_is_named(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    k = recs[0].index("price")
    recs[1][k] = recs[1][k].replace(".", ",").replace(",0", ",5") or "40,5"
    recs[1][k] = "40,5"
    _write_records(path, recs, sep=";")
    _fails(env, path, "row 2, column 'price': unknown level '40,5'", "decimal comma", "30, 40")


@case
def winback_cr_only_line_ends(env, tmp):
    path = _winback(env, tmp)
    _put(path, _lines(path), end="\r")
    _same(env, path)


@case
def winback_lf_line_ends(env, tmp):
    path = _winback(env, tmp)
    _put(path, _lines(path), end="\n")
    _same(env, path)


@case
def winback_line_numbers_after_a_multiline_answer(env, tmp):
    people = env["people"].copy()
    people.loc[0, "what_happened"] = 'line one\r\nline "two"\rthree\nfour'
    people.loc[3, "respondent_id"] = people.loc[2, "respondent_id"]  # listed twice
    data = env["data"]
    path = _winback(env, tmp)
    from winback._io import write_csv

    write_csv(people, tmp / "respondents.csv")
    del data
    # the multi-line cell spans lines 2-5, so the respondents on rows 3 and 4 of the frame are
    # on file lines 7 and 8
    msg = _fails(env, path, "respondents.csv row 7", "respondents.csv row 8", "listed more than")
    assert "unknown respondent" in msg  # the one left out is reported too


@case
def winback_repeated_column(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs = [[*r, r[recs[0].index("chosen")]] for r in recs]
    _write_records(path, recs)
    k = recs[0].index("chosen") + 1
    _fails(env, path, f"column 'chosen' appears 2 times (columns #{k}, #{len(recs[0])})")


@case
def winback_duplicated_respondent(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    first = [x for x in lines[1:] if x.startswith("1,")]
    _put(path, [*lines, *first])
    _fails(env, path, "duplicated respondent: 1", "respondent '1' appears twice")


@case
def winback_duplicated_task_row(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    _put(path, [*lines[:5], lines[3], *lines[5:]])
    _fails(env, path, "row 4: respondent '1' task 1 alt 3 appears more than once")


@case
def winback_missing_alternative(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    _put(path, [lines[0], *lines[2:]])
    _fails(env, path, "respondent '1' task 1 (from row 2): 2 alternatives; the study shows 3")


@case
def winback_absurd_task_number(env, tmp):
    """A task numbered 1,000,000 (a typo or a broken export): refused, naming the row and the
    tasks the study has, without allocating anything of that size."""
    path = _winback(env, tmp)
    recs = _records(path)
    recs[5][recs[0].index("task")] = "1000000"
    _write_records(path, recs)
    _fails(env, path, "row 6", "1000000")


@case
def winback_ten_thousand_alternatives_in_a_task(env, tmp):
    """10,000 alternatives in one task: one clear problem for that task, not a hang."""
    path = _winback(env, tmp)
    recs = _records(path)
    first = recs[1]
    alt = recs[0].index("alt")
    extra = [[*first[:alt], str(4 + i), *first[alt + 1 :]] for i in range(10_000)]
    _write_records(path, [recs[0], recs[1], *extra, *recs[2:]])
    _fails(
        env, path, "bad alt: 10000 (1 respondent(s))", "row 3, column 'alt': '4'; valid: 1, 2, 3"
    )


@case
def winback_extra_alternative(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    extra = lines[1].split(",")
    extra[3] = "4"
    _put(path, [*lines[:2], ",".join(extra), *lines[2:]])
    _fails(env, path, "row 3, column 'alt': '4'; valid: 1, 2, 3, none")


@case
def winback_unknown_level(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[5][recs[0].index("plan")] = "Platinum"
    _write_records(path, recs)
    _fails(
        env,
        path,
        "row 6, column 'plan': unknown level 'Platinum'. Valid levels: Basic, Standard, Premium",
    )


@case
def winback_chosen_out_of_range(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[2][recs[0].index("chosen")] = "2"
    _write_records(path, recs)
    _fails(env, path, "row 3, column 'chosen': '2'; valid: 0, 1")


@case
def winback_empty_file(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(b"")
    _fails(env, path, "the file is empty")


@case
def winback_blank_lines_only(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(b"\r\n  \r\n\t\n")
    _fails(env, path, "the file is empty")


@case
def winback_header_only(env, tmp):
    path = _winback(env, tmp)
    _put(path, _lines(path)[:1])
    _fails(env, path, "no rows")


@case
def winback_id_with_leading_space_is_kept_and_named(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    for r in recs[1:]:
        if r[0] == "2":
            r[0] = " 2"
    _write_records(path, recs)
    _fails(
        env,
        path,
        "respondent ' 2' is not in",
        "respondents.csv has '2', which differs only in white space or apostrophes",
    )


@case
def winback_id_with_only_spaces(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[3][0] = "   "
    _write_records(path, recs)
    _fails(env, path, "row 4: respondent_id '   ' is only white space")


@case
def winback_ids_with_apostrophes_and_formula_triggers_read_back_exactly(env, tmp):
    new = {
        "1": "'17",
        "2": "=1+1",
        "3": "+31 6 1234",
        "4": "-5",
        "5": "@sum",
        "6": "''=x",
    }
    ch = env["data"].choices.assign(respondent_id=lambda d: d["respondent_id"].map(new))
    people = env["people"].assign(respondent_id=lambda d: d["respondent_id"].map(new))
    data = make_dataset(ch, env["study"], design=env["design"], respondents=people)
    path = _winback(env, tmp, data)
    back = _same(env, path, original=data)
    assert back.respondent_ids == list(new.values()), back.respondent_ids


@case
def winback_leading_apostrophe_without_trigger_is_data(env, tmp):
    path = _winback(env, tmp)
    people_csv = tmp / "respondents.csv"
    recs = _records(people_csv)
    recs[1][recs[0].index("what_happened")] = "'tis a pity"
    _write_records(people_csv, recs)
    back = _read(env, path)
    assert back.respondents.loc[0, "what_happened"] == "'tis a pity"


@case
def winback_very_long_open_answer(env, tmp):
    long = 'ä,"x"\n' * 50_000
    people = env["people"].assign(what_happened=long)
    data = _with_people(env, people)
    path = _winback(env, tmp, data)
    back = _same(env, path, original=data)
    assert back.respondents.loc[5, "what_happened"] == long


@case
def winback_task_nan_and_inf(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[1][recs[0].index("task")] = "nan"
    recs[40][recs[0].index("task")] = "inf"
    _write_records(path, recs)
    _fails(
        env,
        path,
        "row 2, column 'task': 'nan' is not a whole number >= 1",
        "row 41, column 'task': 'inf' is not a whole number >= 1",
    )


@case
def winback_price_inf_is_an_unknown_level(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[1][recs[0].index("price")] = "inf"
    _write_records(path, recs)
    _fails(env, path, "row 2, column 'price': unknown level 'inf'. Valid levels: 30, 40, 50, 60")


@case
def winback_seconds_inf_and_negative(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    recs[0].append("seconds")
    for i, r in enumerate(recs[1:]):
        r.append({0: "inf", 40: "-3"}.get(i, "5"))
    _write_records(path, recs)
    _fails(
        env,
        path,
        "row 2, column 'seconds': 'inf' is not a number >= 0",
        "row 42, column 'seconds': '-3' is not a number >= 0",
    )


@case
def winback_row_with_too_few_cells(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    lines[4] = lines[4].rsplit(",", 1)[0]
    _put(path, lines)
    n = lines[0].count(",") + 1
    _fails(env, path, f"line 5 has {n - 1} cells, the header has {n}")


@case
def winback_row_with_too_many_cells(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    lines[1] = lines[1] + ",x"
    lines[9] = lines[9] + ",y"
    _put(path, lines)
    n = lines[0].count(",") + 1
    _fails(env, path, f"line 2 has {n + 1} cells, the header has {n}", f"line 10 has {n + 1} cells")


@case
def winback_unclosed_quote(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    lines[7] = lines[7].replace(",Basic,", ',"Basic,', 1).replace(",Standard,", ',"Standard,', 1)
    lines[7] = lines[7].replace(",Premium,", ',"Premium,', 1)
    _put(path, lines)
    _fails(env, path, "line 8: a quoted cell", "never closed")


@case
def winback_level_with_spaces_is_reported_not_trimmed(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    k = recs[0].index("plan")
    recs[1][k] = " " + recs[1][k]
    _write_records(path, recs)
    _fails(env, path, "level with white space: 1", f"row 2, column 'plan': {recs[1][k]!r} starts")


@case
def winback_many_problems_in_many_respondents_one_report(env, tmp):
    path = _winback(env, tmp)
    recs = _records(path)
    col = {n: i for i, n in enumerate(recs[0])}
    for r in recs[1:]:
        if r[0] in ("1", "2", "3") and r[col["alt"]] == "1":
            r[col["plan"]] = "Gold"  # 8 tasks each: 24 rows, 3 respondents
        if r[0] == "3" and r[col["alt"]] == "2" and r[col["task"]] == "1":
            r[col["chosen"]] = "yes"
        if r[0] == "4" and r[col["task"]] == "2":
            r[col["chosen"]] = "0"  # nothing chosen in task 2
    recs[0].append("colour")  # an unknown column too
    for r in recs[1:]:
        r.append("red")
    _write_records(path, recs)
    msg = _fails(
        env,
        path,
        "in 4 kind(s), 4 respondent(s) affected",
        "unknown level: 24 (3 respondent(s))",
        "(+7 more rows of respondent '1')",
        "bad chosen: 1 (1 respondent(s))",
        "no alternative chosen: 1 (1 respondent(s))",
        "unknown column 'colour'",
    )
    assert msg.count("unknown level 'Gold'") == 3, msg  # one row shown per respondent


@case
def winback_repeated_header_inside(env, tmp):
    path = _winback(env, tmp)
    lines = _lines(path)
    _put(path, [*lines[:20], lines[0], *lines[20:]])
    _fails(env, path, "row 21 repeats the header")


@case
def winback_binary_file(env, tmp):
    path = _winback(env, tmp)
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    _fails(env, path, "NUL byte", ".xlsx")


@case
def winback_folder_instead_of_file(env, tmp):
    (tmp / "responses.csv").mkdir()
    with pytest.raises(WinbackError, match="is a folder, not a CSV file"):
        _read(env, tmp / "responses.csv")


@case
def winback_missing_file(env, tmp):
    with pytest.raises(WinbackError, match=r"file not found: .*nothing\.csv"):
        _read(env, tmp / "nothing.csv")


@case
def winback_apostrophe_ids_are_distinct_respondents(env, tmp):
    new = {"1": "17", "2": "'17"}
    ch = env["data"].choices.assign(respondent_id=lambda d: d["respondent_id"].replace(new))
    people = env["people"].assign(respondent_id=lambda d: d["respondent_id"].replace(new))
    data = make_dataset(ch, env["study"], design=env["design"], respondents=people)
    back = _same(env, _winback(env, tmp, data), original=data)
    assert back.respondent_ids[:2] == ["17", "'17"], back.respondent_ids


@case
def winback_padded_numbers_in_respondents_stay_text(env, tmp):
    path = _winback(env, tmp)
    people_csv = tmp / "respondents.csv"
    recs = _records(people_csv)
    recs[1][recs[0].index("tenure_months")] = " 3"
    _write_records(people_csv, recs)
    back = _read(env, path)
    assert back.respondents["tenure_months"].tolist()[:2] == [" 3", "4"]


@case
def winback_respondents_header_missing_id(env, tmp):
    path = _winback(env, tmp)
    people_csv = tmp / "respondents.csv"
    recs = _records(people_csv)
    recs[0][0] = "Respondent ID"
    _write_records(people_csv, recs)
    _fails(env, path, "missing column 'respondent_id' (found 'Respondent ID': fix the header)")


# --------------------------------------------------------------------------------------------
# Qualtrics exports
# --------------------------------------------------------------------------------------------


def _qualtrics(env: dict, tmp: Path, data=None) -> Path:
    return qualtrics.write(data or env["data"], tmp / "export.csv", force=True)[0]


def _qline(path: Path, k: int) -> int:
    """The file line record ``k`` starts on (the question texts span several lines)."""
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    prev = 0
    for i, _ in enumerate(reader):
        if i == k:
            return prev + 1
        prev = reader.line_num
    raise AssertionError(k)


def _qdata(env: dict):
    """The dataset as a Qualtrics export gives it back (every respondent present)."""
    return env["data"]


@case
def qualtrics_utf16(env, tmp):
    path = _qualtrics(env, tmp)
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("utf-16"))
    _fails(env, path, "UTF-16", fmt="qualtrics")


@case
def qualtrics_latin1(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    recs[4][recs[0].index("what_happened")] = "prix élevé"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(recs)
    path.write_bytes(buf.getvalue().encode("latin-1"))
    line = 4 + 9  # record 4, after 8 question texts of two lines each
    _fails(
        env,
        path,
        f"line {line}: not UTF-8 text",
        "prix élevé",
        "export from Qualtrics as CSV (UTF-8)",
        fmt="qualtrics",
    )


@case
def qualtrics_semicolon_from_european_excel(env, tmp):
    path = _qualtrics(env, tmp)
    _write_records(path, _records(path), sep=";", bom=True)
    _same(env, path, fmt="qualtrics")


@case
def qualtrics_cr_only_line_ends(env, tmp):
    path = _qualtrics(env, tmp)
    text = path.read_bytes().decode("utf-8")
    recs = _records(path)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r", quoting=csv.QUOTE_ALL).writerows(recs)
    path.write_bytes(buf.getvalue().encode())
    assert text  # the original had CRLF
    _same(env, path, fmt="qualtrics")


@case
def qualtrics_repeated_needed_column(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    k = recs[0].index("CBC_T2")
    recs = [[*r, r[k]] for r in recs]
    _write_records(path, recs, bom=True)
    _fails(env, path, "column 'CBC_T2' appears 2 times", fmt="qualtrics")


@case
def qualtrics_unknown_level(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    k = recs[0].index("CBC_T1_A2_plan")
    recs[3][k] = "Gold"
    _write_records(path, recs, bom=True)
    _fails(
        env,
        path,
        f"line {_qline(path, 3)}, column 'CBC_T1_A2_plan': unknown level 'Gold'",
        "Valid levels: Basic, Standard, Premium",
        fmt="qualtrics",
    )


@case
def qualtrics_choice_out_of_range(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    recs[4][recs[0].index("CBC_T3")] = "9"
    _write_records(path, recs, bom=True)
    _fails(
        env,
        path,
        f"line {_qline(path, 4)}, column 'CBC_T3': '9' is not an alternative",
        "1 (Option 1), 2 (Option 2), 3 (Option 3), 4 (None of these)",
        fmt="qualtrics",
    )


@case
def qualtrics_empty_file(env, tmp):
    path = tmp / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    _fails(env, path, "the file is empty", fmt="qualtrics")


@case
def qualtrics_headers_only(env, tmp):
    path = _qualtrics(env, tmp)
    _write_records(path, _records(path)[:3], bom=True)
    _fails(env, path, "no rows", fmt="qualtrics")


@case
def qualtrics_ragged_row(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    recs[5] = recs[5][:-2]
    _write_records(path, recs, bom=True)
    n = len(recs[0])
    line = _qline(path, 5)
    _fails(env, path, f"line {line} has {n - 2} cells, the header has {n}", fmt="qualtrics")


@case
def qualtrics_id_with_leading_space_is_kept(env, tmp):
    path = _qualtrics(env, tmp)
    recs = _records(path)
    k = recs[0].index("ResponseId")
    recs[3][k] = " " + recs[3][k]
    _write_records(path, recs, bom=True)
    back = _read(env, path, "qualtrics")
    assert back.respondent_ids[0] == " 1", back.respondent_ids


@case
def qualtrics_multiline_quoted_open_answer(env, tmp):
    people = env["people"].assign(what_happened='said "no",\r\nthen\rleft\n')
    data = _with_people(env, people)
    path = _qualtrics(env, tmp, data)
    back = _same(env, path, fmt="qualtrics", original=data)
    assert back.respondents.loc[0, "what_happened"] == 'said "no",\r\nthen\rleft\n'


@case
def qualtrics_formula_guarded_id(env, tmp):
    new = {r: f"=R_{r}" for r in env["data"].respondent_ids}
    ch = env["data"].choices.assign(respondent_id=lambda d: d["respondent_id"].map(new))
    people = env["people"].assign(respondent_id=lambda d: d["respondent_id"].map(new))
    data = make_dataset(ch, env["study"], design=env["design"], respondents=people)
    path = _qualtrics(env, tmp, data)
    assert "'=R_1" in path.read_text(encoding="utf-8-sig")
    back = _same(env, path, fmt="qualtrics", original=data)
    assert back.respondent_ids[0] == "=R_1"


# --------------------------------------------------------------------------------------------
# Sawtooth .cho
# --------------------------------------------------------------------------------------------


def _cho(env: dict, tmp: Path) -> Path:
    return sawtooth.write(env["data"], tmp / "study_cbc.cho", force=True)[0]


def _sawtooth_people(env: dict):
    return make_dataset(env["data"].choices, env["study"], design=env["design"])


@case
def sawtooth_utf16(env, tmp):
    path = _cho(env, tmp)
    path.write_bytes(path.read_text().encode("utf-16"))
    _fails(env, path, "UTF-16", fmt="sawtooth")


@case
def sawtooth_empty(env, tmp):
    path = _cho(env, tmp)
    path.write_bytes(b"")
    _fails(env, path, fmt="sawtooth")


@case
def sawtooth_cr_only_line_ends(env, tmp):
    path = _cho(env, tmp)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
    _same(env, path, fmt="sawtooth", original=_sawtooth_people(env))


@case
def sawtooth_level_code_out_of_range(env, tmp):
    path = _cho(env, tmp)
    lines = path.read_text().splitlines()
    codes = lines[3].split()
    codes[0] = "9"
    lines[3] = " ".join(codes)
    path.write_text("\n".join(lines) + "\n")
    _fails(env, path, "line 4: respondent 1", "level code 9 is outside 1..3", fmt="sawtooth")


@case
def sawtooth_word_where_a_number_belongs(env, tmp):
    path = _cho(env, tmp)
    lines = path.read_text().splitlines()
    lines[3] = "one " + " ".join(lines[3].split()[1:])
    path.write_text("\n".join(lines) + "\n")
    _fails(env, path, "line 4", "'one'", fmt="sawtooth")


@case
def sawtooth_truncated(env, tmp):
    path = _cho(env, tmp)
    text = path.read_text()
    path.write_text(text[: len(text) // 3].rsplit("\n", 2)[0])
    _fails(env, path, "the file ends", fmt="sawtooth")


@case
def sawtooth_choice_out_of_range(env, tmp):
    path = _cho(env, tmp)
    lines = path.read_text().splitlines()
    parts = lines[6].split()
    parts[0] = "7"
    lines[6] = " ".join(parts)
    path.write_text("\n".join(lines) + "\n")
    _fails(env, path, "line 7", "7", fmt="sawtooth")


# --------------------------------------------------------------------------------------------
# cbcTools / logitr
# --------------------------------------------------------------------------------------------


def _cbc(env: dict, tmp: Path) -> Path:
    return cbctools.write(env["data"], tmp / "choices.csv", force=True)[0]


def _cbc_data(env: dict):
    return make_dataset(env["data"].choices, env["study"], design=env["design"])


@case
def cbctools_semicolon(env, tmp):
    path = _cbc(env, tmp)
    _write_records(path, _records(path), sep=";")
    _same(env, path, fmt="cbctools", original=_cbc_data(env))


@case
def cbctools_latin1(env, tmp):
    path = _cbc(env, tmp)
    path.write_bytes(path.read_bytes().replace(b"Basic", b"B\xe1sic", 1))
    _fails(env, path, "line 3: not UTF-8 text", "(b'\\xe1sic')", "Básic,1 Gbps", fmt="cbctools")


@case
def cbctools_choice_out_of_range(env, tmp):
    path = _cbc(env, tmp)
    recs = _records(path)
    recs[1][recs[0].index("choice")] = "2"
    _write_records(path, recs)
    _fails(env, path, "row 2", "'2'; valid: 0, 1", fmt="cbctools")


@case
def cbctools_repeated_column(env, tmp):
    path = _cbc(env, tmp)
    recs = _records(path)
    recs = [[*r, r[recs[0].index("plan")]] for r in recs]
    _write_records(path, recs)
    _fails(env, path, "column 'plan' appears 2 times", fmt="cbctools")


@case
def cbctools_empty(env, tmp):
    path = _cbc(env, tmp)
    path.write_bytes(b"")
    _fails(env, path, "the file is empty", fmt="cbctools")


@case
def cbctools_id_with_leading_space_is_kept(env, tmp):
    path = _cbc(env, tmp)
    recs = _records(path)
    k = recs[0].index("respID")
    for r in recs[1:]:
        if r[k] == "1":
            r[k] = " 1"
    _write_records(path, recs)
    back = _read(env, path, "cbctools")
    assert back.respondent_ids[0] == " 1", back.respondent_ids


@case
def cbctools_unknown_level(env, tmp):
    path = _cbc(env, tmp)
    recs = _records(path)
    recs[1][recs[0].index("speed")] = "10 Gbps"
    _write_records(path, recs)
    _fails(env, path, "'10 Gbps'", "100 Mbps, 500 Mbps, 1 Gbps", fmt="cbctools")


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile(env, tmp_path, name):
    CASES[name](env, tmp_path)


def test_there_are_at_least_50_hostile_cases_in_every_format():
    assert len(CASES) >= 50, len(CASES)
    for fmt in ("winback", "qualtrics", "sawtooth", "cbctools"):
        n = sum(name.startswith(fmt) for name in CASES)
        assert n >= 5, f"{fmt}: {n} cases"


# --------------------------------------------------------------------------------------------
# Round trip of arbitrary text (hypothesis)
# --------------------------------------------------------------------------------------------

NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from([*"\r\n\t\",;'=+-@ ", "é", "漢", "😀", "\ufeff"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    min_size=1,
    max_size=40,
)

#: long answers of any character but NUL (a NUL byte is refused on reading: see docs/responses.md)
LONG = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1000,
    max_size=1500,
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(
    ids=st.lists(NASTY, min_size=6, max_size=6, unique=True).filter(
        lambda xs: all(x.strip() for x in xs) and "respondent_id" not in [x.strip() for x in xs]
    ),
    answers=st.lists(st.one_of(NASTY, LONG), min_size=6, max_size=6),
)
def test_winback_round_trip_of_arbitrary_text(env, tmp_path_factory, ids, answers):
    mapping = dict(zip(env["data"].respondent_ids, ids, strict=True))
    ch = env["data"].choices.assign(respondent_id=lambda d: d["respondent_id"].map(mapping))
    people = env["people"].assign(
        respondent_id=lambda d: d["respondent_id"].map(mapping), what_happened=answers
    )
    data = make_dataset(ch, env["study"], design=env["design"], respondents=people)
    folder = tmp_path_factory.mktemp("rt")
    write_responses(data, folder)
    back = read_responses(folder / "responses.csv", env["study"], design=env["design"])
    assert back.respondent_ids == ids
    got = [None if pd.isna(g) else g for g in back.respondents["what_happened"]]
    kept = [None if pd.isna(g) else g for g in data.respondents["what_happened"]]
    assert got == kept, (got, kept)
    if not pd.api.types.is_numeric_dtype(data.respondents["what_happened"]):
        assert got == [a if a != "" else None for a in answers]  # texts exactly as typed
    assert data.equals(back), data.difference(back)
    assert not re.search(r"^[=+\-@]", (folder / "responses.csv").read_text(), re.M)
