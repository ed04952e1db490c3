"""Malformed response files: every corruption gives the original dataset or a clear ResponseError.

A valid file is corrupted at random (hypothesis, derandomized: the same examples every run) and
read back. The reader may either return a dataset equal to the uncorrupted one (harmless
corruptions: a byte-order mark, CRLF line ends, padded cells, shuffled rows) or raise
:class:`ResponseError` whose message names the problem. Any other exception, a dataset that
differs from the original without an error, or a changed input file fails the test.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conjoint import make_design, simulate_choices
from surveys import make_dataset, read_responses, write_responses
from surveys.formats import qualtrics
from tests.conftest import SMALL_HOLDOUT, SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import ResponseError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Corruption:
    """What was done, and what an error about it must say (any one of ``mentions``)."""

    what: str
    records: list[list[str]]
    harmless: bool = False
    mentions: tuple[str, ...] = ()
    bom: bool = False
    crlf: bool = False


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _render(c: Corruption) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if c.crlf else "\n").writerows(c.records)
    return ("\ufeff" if c.bom else "").encode() + buf.getvalue().encode()


def _check(read: Callable[[], object], original, path, c: Corruption) -> None:
    """Equal to the original, or a ResponseError naming the problem; the file untouched."""
    before = path.read_bytes()
    try:
        back = read()
    except ResponseError as exc:
        msg = str(exc)
        assert not c.harmless, f"{c.what}: a harmless change was reported:\n{msg}"
        assert any(m in msg for m in c.mentions), (
            f"{c.what}: the error does not name the problem (expected one of {c.mentions}):\n{msg}"
        )
    else:
        assert original.equals(back), (
            f"{c.what}: read without an error but the dataset differs: {original.difference(back)}"
        )
    assert path.read_bytes() == before, f"{c.what}: reading changed the file"


# --------------------------------------------------------------------------------------------
# winback's canonical responses.csv
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    study = make_study(SMALL_STUDY + SMALL_HOLDOUT)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 11, n_respondents=8, sd=0.5)
    ids = list(pd.unique(responses["respondent_id"]))
    people = pd.DataFrame({"respondent_id": ids, "tenure_months": np.arange(len(ids)) + 3})
    data = make_dataset(responses, study, design=design, respondents=people)
    folder = tmp_path_factory.mktemp("canonical")
    write_responses(data, folder)
    text = (folder / "responses.csv").read_text()
    return study, design, data, _parse(text), (folder / "respondents.csv").read_bytes()


REQUIRED = ("respondent_id", "task", "alt", "plan", "speed", "support", "price", "chosen")


@st.composite
def canonical_corruption(draw, base: list[list[str]]) -> Corruption:
    header, rows = list(base[0]), [list(r) for r in base[1:]]
    col = {name: i for i, name in enumerate(header)}
    kind = draw(
        st.sampled_from(
            [
                "drop required column",
                "drop holdout column",
                "rename header",
                "unknown level",
                "duplicated row",
                "repeated header",
                "bom",
                "crlf",
                "blank lines",
                "padded cells",
                "shuffled rows",
                "bad chosen",
                "mixed types",
                "extra none row",
                "removed row",
                "other version",
                "swapped levels",
            ]
        )
    )
    full = [k for k, r in enumerate(rows) if len(r) == len(header)]  # not blank lines
    i = full[draw(st.integers(0, len(full) - 1))] if full else 0
    needs = {
        "drop required column": [],
        "drop holdout column": ["holdout"],
        "unknown level": ["alt"],
        "bad chosen": ["chosen"],
        "mixed types": ["task", "version", "holdout"],
        "extra none row": ["alt"],
        "other version": ["version"],
        "swapped levels": ["plan", "speed", "support", "price"],
    }.get(kind, [])
    if any(n not in col for n in needs) or not any(n in col for n in REQUIRED) or not full:
        # an earlier corruption removed what this one changes (several corruptions at once)
        return Corruption("(nothing)", [header, *rows], harmless=True)
    if kind == "drop required column":
        name = draw(st.sampled_from([n for n in REQUIRED if n in col]))
        k = col[name]
        recs = [[c for j, c in enumerate(r) if j != k] for r in [header, *rows]]
        return Corruption(f"dropped {name!r}", recs, mentions=(f"missing column '{name}'",))
    if kind == "drop holdout column":
        k = col["holdout"]
        recs = [[c for j, c in enumerate(r) if j != k] for r in [header, *rows]]
        return Corruption("dropped 'holdout' (taken from the design)", recs, harmless=True)
    if kind == "rename header":
        name = draw(st.sampled_from(header))
        how = draw(st.sampled_from(["upper", "title", "spaces", "leading space", "trailing space"]))
        new = {
            "upper": name.upper(),
            "title": name.replace("_", " ").title(),
            "spaces": name.replace("_", " "),
            "leading space": " " + name,
            "trailing space": name + " ",
        }[how]
        header[col[name]] = new
        return Corruption(
            f"header {name!r} -> {new!r}",
            [header, *rows],
            harmless=new == name,
            mentions=(repr(new),),
        )
    if kind == "unknown level":
        name = draw(st.sampled_from(["plan", "speed", "support", "price"]))
        value = draw(st.sampled_from(["Platinum", "2 Gbps", "99", "basic", "n/a", "30 EUR"]))
        rows[i][col[name]] = value
        return Corruption(
            f"line {i + 2} {name} = {value!r}", [header, *rows], mentions=(f"'{value}'",)
        )
    if kind == "duplicated row":
        rows.insert(i + 1, list(rows[i]))
        return Corruption(
            f"line {i + 2} duplicated",
            [header, *rows],
            mentions=("appears more than once", "appears twice"),
        )
    if kind == "repeated header":
        rows.insert(i, list(header))
        return Corruption(
            f"header repeated at line {i + 2}", [header, *rows], mentions=("repeats the header",)
        )
    if kind == "bom":
        return Corruption("byte-order mark", [header, *rows], harmless=True, bom=True)
    if kind == "crlf":
        return Corruption("CRLF line ends", [header, *rows], harmless=True, crlf=True)
    if kind == "blank lines":
        for k in sorted(draw(st.lists(st.integers(0, len(rows)), min_size=1, max_size=3))):
            rows.insert(k, [])
        return Corruption("blank lines", [header, *rows], harmless=True)
    if kind == "padded cells":
        name = draw(st.sampled_from([h for h in header]))
        for r in rows[i : i + 5]:
            if len(r) == len(header) and r[col[name]]:
                r[col[name]] = f"  {r[col[name]]} "
        # numbers (task, version, alt codes, chosen) read the same with spaces around them; ids
        # and level labels are text and are never trimmed: the padding is reported
        exact = name == "respondent_id" or name in ("plan", "speed", "support", "price")
        return Corruption(
            f"cells of {name!r} padded with spaces",
            [header, *rows],
            harmless=not exact,
            mentions=("white space",),
        )
    if kind == "shuffled rows":
        seed = draw(st.integers(0, 2**16))
        order = np.random.default_rng(seed).permutation(len(rows))
        return Corruption("rows shuffled", [header, *[rows[k] for k in order]], harmless=True)
    if kind == "bad chosen":
        value = draw(st.sampled_from(["2", "yes", "Yes", "-1", "0.5", "", "true", "1 1"]))
        rows[i][col["chosen"]] = value
        return Corruption(
            f"line {i + 2} chosen = {value!r}", [header, *rows], mentions=("column 'chosen'",)
        )
    if kind == "mixed types":
        name = draw(st.sampled_from(["task", "version", "holdout"]))
        value = draw(st.sampled_from(["three", "1st", "", "2.5", "0", "v1", "NaN"]))
        rows[i][col[name]] = value
        return Corruption(
            f"line {i + 2} {name} = {value!r}",
            [header, *rows],
            mentions=(f"column '{name}'", "repeats the header"),
        )
    if kind == "extra none row":
        nones = [k for k, r in enumerate(rows) if len(r) == len(header) and r[col["alt"]] == "none"]
        if not nones:
            return Corruption("(nothing)", [header, *rows], harmless=True)
        k = nones[i % len(nones)]
        rows.insert(k + 1, list(rows[k]))
        return Corruption(
            f"none row of line {k + 2} repeated",
            [header, *rows],
            mentions=("appears more than once",),
        )
    if kind == "removed row":
        del rows[i]
        return Corruption(
            f"line {i + 2} removed",
            [header, *rows],
            mentions=("the study shows", "no 'none' row", "rows with chosen = 1"),
        )
    if kind == "other version":
        rows[i][col["version"]] = "2" if rows[i][col["version"]] == "1" else "1"
        return Corruption(
            f"line {i + 2} version changed",
            [header, *rows],
            mentions=("several versions", "disagrees with the design"),
        )
    # swapped levels: two alternatives of a task exchange one attribute's level
    name = draw(st.sampled_from(["plan", "speed", "support", "price"]))
    k = i - i % 4  # the canonical file has 4 rows per task: alternatives 1..3, then none
    a = min(k + draw(st.integers(0, 2)), len(rows) - 1)
    b = min(k + draw(st.integers(0, 2)), len(rows) - 1)
    if len(rows[a]) != len(header) or len(rows[b]) != len(header):
        return Corruption("(nothing)", [header, *rows], harmless=True)
    rows[a][col[name]], rows[b][col[name]] = rows[b][col[name]], rows[a][col[name]]
    return Corruption(
        f"{name} swapped between lines {a + 2} and {b + 2}",
        [header, *rows],
        mentions=("disagrees with the design",),
    )


@SETTINGS
@given(data=st.data())
def test_corrupted_canonical_responses(canonical, tmp_path_factory, data):
    study, design, original, base, respondents = canonical
    c = data.draw(canonical_corruption(base), label="corruption")
    folder = tmp_path_factory.mktemp("case")
    path = folder / "responses.csv"
    path.write_bytes(_render(c))
    (folder / "respondents.csv").write_bytes(respondents)
    _check(lambda: read_responses(path, study, design=design), original, path, c)


@SETTINGS
@given(data=st.data())
def test_several_corruptions_at_once(canonical, tmp_path_factory, data):
    """Several problems: still equal or a ResponseError (never another exception)."""
    study, design, original, base, respondents = canonical
    records = base
    parts = []
    harmless = True
    for _ in range(data.draw(st.integers(2, 4), label="how many")):
        c = data.draw(canonical_corruption(records))
        records = c.records
        parts.append(c)
        harmless &= c.harmless
    c = Corruption(
        " + ".join(p.what for p in parts),
        records,
        harmless=harmless,
        mentions=tuple(m for p in parts for m in p.mentions) or ("problem",),
        bom=any(p.bom for p in parts),
        crlf=any(p.crlf for p in parts),
    )
    folder = tmp_path_factory.mktemp("multi")
    path = folder / "responses.csv"
    path.write_bytes(_render(c))
    (folder / "respondents.csv").write_bytes(respondents)
    _check(lambda: read_responses(path, study, design=design), original, path, c)


# --------------------------------------------------------------------------------------------
# Qualtrics exports
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    study = make_study(SMALL_STUDY + SMALL_HOLDOUT)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 12, n_respondents=8, sd=0.5)
    responses["respondent_id"] = "R_" + responses["respondent_id"].str[1:]
    ids = list(pd.unique(responses["respondent_id"]))
    people = pd.DataFrame(
        {
            "respondent_id": [*ids, "R_screened"],
            "was_customer": [1] * len(ids) + [0],
            "tenure_months": [*(np.arange(len(ids)) + 3), 1],
            "duration_seconds": [*(300.0 + 10 * np.arange(len(ids))), 40.0],
        }
    )
    data = make_dataset(responses, study, design=design, respondents=people)
    folder = tmp_path_factory.mktemp("qualtrics")
    bases = {}
    for rows in (3, 2, 1):
        path = qualtrics.write(data, folder / f"export_{rows}.csv", header_rows=rows, bom=False)[0]
        bases[rows] = _parse(path.read_text())
    return study, design, data, bases, ids


@st.composite
def qualtrics_corruption(draw, bases: dict[int, list[list[str]]], ids: list[str]) -> Corruption:
    n_header = draw(st.sampled_from([3, 2, 1]))
    recs = [list(r) for r in bases[n_header]]
    names = recs[0]
    col = {n: i for i, n in enumerate(names)}
    body = recs[n_header:]
    bom = draw(st.booleans())
    crlf = draw(st.booleans())
    style = f"{n_header} header row(s), bom={bom}, crlf={crlf}"
    kind = draw(
        st.sampled_from(
            [
                "style only",
                "blank lines",
                "shuffled respondents",
                "padded levels",
                "repeated unneeded column",
                "drop needed column",
                "rename header",
                "unknown level",
                "bad answer",
                "duplicated respondent",
                "repeated header row",
                "bad finished",
                "repeated needed column",
            ]
        )
    )
    who = draw(st.sampled_from(ids))
    row = next(r for r in body if r[col["ResponseId"]] == who)

    def done(what: str, harmless: bool = False, mentions: tuple[str, ...] = ()) -> Corruption:
        return Corruption(f"{style}: {what}", recs, harmless, mentions, bom, crlf)

    if kind == "style only":
        return done("nothing else", harmless=True)
    if kind == "blank lines":
        recs.insert(draw(st.integers(n_header, len(recs))), [])
        return done("a blank line", harmless=True)
    if kind == "shuffled respondents":
        seed = draw(st.integers(0, 2**16))
        order = np.random.default_rng(seed).permutation(len(body))
        recs[n_header:] = [body[k] for k in order]
        return done("respondents shuffled", harmless=True)
    if kind == "padded levels":
        for name in names:
            if name.startswith("CBC_T1_A") and row[col[name]]:
                row[col[name]] = f" {row[col[name]]}  "
        return done("level cells padded with spaces", harmless=True)
    if kind == "repeated unneeded column":
        names[col["RecipientEmail"]] = "IPAddress"
        return done("RecipientEmail renamed IPAddress (not read)", harmless=True)
    if kind == "drop needed column":
        name = draw(
            st.sampled_from(
                ["ResponseId", "CBC_VERSION", "CBC_T3", "CBC_T9", "CBC_T2_A3_price", "Finished"]
            )
        )
        k = col[name]
        recs[:] = [[c for j, c in enumerate(r) if j != k] for r in recs]
        mentions = {
            "ResponseId": ("'ResponseId'",),
            "CBC_VERSION": ("'version'",),
            "CBC_T3": ("CBC_T3",),
            "CBC_T9": ("CBC_T9",),
            "CBC_T2_A3_price": ("embedded-data column",),
        }.get(name, ())
        # without Finished everybody counts as finished: the screened-out respondent has no
        # choice answers, so the dataset is the same
        return done(f"dropped {name!r}", harmless=name == "Finished", mentions=mentions)
    if kind == "rename header":
        name = draw(
            st.sampled_from(
                ["ResponseId", "Finished", "CBC_T4", "CBC_T1_A1_plan", "tenure_months", "StartDate"]
            )
        )
        how = draw(st.sampled_from(["lower", "upper", "spaces"]))
        new = {"lower": name.lower(), "upper": name.upper(), "spaces": name.replace("_", " ")}[how]
        names[col[name]] = new
        return done(
            f"header {name!r} -> {new!r}",
            harmless=new == name or name == "StartDate",
            mentions=(repr(new),),
        )
    if kind == "unknown level":
        name = draw(st.sampled_from([n for n in names if n.startswith("CBC_T") and "_A" in n]))
        value = draw(st.sampled_from(["Platinum", "2 Gbps", "99", "basic", "$40"]))
        row[col[name]] = value
        line = _line_of(recs, row)
        return done(
            f"{who} {name} = {value!r}", mentions=(f"line {line}, column '{name}': unknown level",)
        )
    if kind == "bad answer":
        t = draw(st.integers(1, 9))
        value = draw(st.sampled_from(["yes", "7", "0", "Option 9", "both", "1,2"]))
        row[col[f"CBC_T{t}"]] = value
        return done(f"{who} CBC_T{t} = {value!r}", mentions=(f"column 'CBC_T{t}'",))
    if kind == "duplicated respondent":
        recs.append(list(row))
        return done(f"{who} twice", mentions=("more than once", "appears twice"))
    if kind == "repeated header row":
        which = draw(st.integers(0, n_header - 1))
        at = draw(st.integers(n_header, len(recs)))
        recs.insert(at, list(recs[which]))
        line_text = recs[which][col["ResponseId"]]
        # a repeated question-text row of embedded data is indistinguishable from data only when
        # it follows the header directly (then it *is* the header's second row)
        harmless = at == n_header and which == 0 and n_header == 1
        return done(
            f"header row {which + 1} ({line_text!r}) repeated at record {at + 1}",
            harmless=harmless,
            mentions=("repeats a header row",),
        )
    if kind == "bad finished":
        value = draw(st.sampled_from(["maybe", "2", "yes", ""]))
        row[col["Finished"]] = value
        return done(f"{who} Finished = {value!r}", mentions=("column 'Finished'",))
    # repeated needed column
    name = draw(st.sampled_from(["CBC_T2", "CBC_VERSION", "tenure_months", "ResponseId"]))
    names[col["UserLanguage"]] = name
    return done(f"UserLanguage renamed {name!r}", mentions=(f"column '{name}' appears 2 times",))


def _line_of(recs: list[list[str]], row: list[str]) -> int:
    """The file line a record starts on (question texts in row 2 span several lines)."""
    line = 1
    for r in recs:
        if r is row:
            return line
        line += 1 + sum(c.count("\n") for c in r)
    raise AssertionError("record not found")


@SETTINGS
@given(data=st.data())
def test_corrupted_qualtrics_exports(exported, tmp_path_factory, data):
    study, design, original, bases, ids = exported
    c = data.draw(qualtrics_corruption(bases, ids), label="corruption")
    path = tmp_path_factory.mktemp("qx") / "export.csv"
    path.write_bytes(_render(c))
    _check(
        lambda: read_responses(path, study, format="qualtrics", design=design), original, path, c
    )


def test_line_numbers_count_blank_lines(canonical, tmp_path):
    """Messages point at the file's line even after blank lines (pandas skips them)."""
    study, design, _, base, respondents = canonical
    header, rows = base[0], [list(r) for r in base[1:]]
    rows[9][header.index("plan")] = "Platinum"
    records = [header, *rows[:3], [], [], *rows[3:]]
    c = Corruption("blank lines, then an unknown level", records)
    path = tmp_path / "responses.csv"
    path.write_bytes(_render(c))
    (tmp_path / "respondents.csv").write_bytes(respondents)
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, design=design)
    line = 1 + 1 + 9 + 2  # header, then the 10th data row after two blank lines
    assert path.read_text().splitlines()[line - 1].split(",")[header.index("plan")] == "Platinum"
    assert f"row {line}, column 'plan': unknown level 'Platinum'" in str(err.value), str(err.value)
