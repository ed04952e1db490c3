"""Response formats: round trips for every format, and what only each format can get wrong."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset, read_responses
from surveys.formats import cbctools, qualtrics, sawtooth
from surveys.responses import NO_TASKS_REASON
from tests.conftest import BENCH_STUDY, SMALL_HOLDOUT, SMALL_STUDY, make_study
from winback.errors import ResponseError, WinbackError

STATUS_QUO = """
[status_quo]
label = "Your previous plan"
levels = { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 }
"""
VARIANTS = {
    "none": SMALL_STUDY,
    "dual": SMALL_STUDY.replace("none_option = true", "dual_response_none = true"),
    "holdout": SMALL_STUDY + SMALL_HOLDOUT,
    "forced": BENCH_STUDY,
    "status_quo": SMALL_STUDY + STATUS_QUO,
}
#: which variants each format can hold
SUPPORTED = {
    "qualtrics": ("none", "dual", "holdout", "forced", "status_quo"),
    "sawtooth": ("none", "dual", "holdout", "forced"),
    "cbctools": ("none", "holdout", "forced"),
}
N = 24


def _truth(study) -> dict[str, float]:
    names = parameter_names(study)
    out = {n: 0.4 * ((i % 3) - 1) + 0.2 for i, n in enumerate(names)}
    if "price" in out:
        out["price"] = -0.05
    if "none" in out:
        out["none"] = -1.5
    if "status_quo" in out:
        out["status_quo"] = 0.3
    return out


def _simulate(variant: str, seed: int = 3, n: int = N, prefix: str = ""):
    study = make_study(VARIANTS[variant], method="balanced_overlap", versions=2)
    design = make_design(study)
    responses = simulate_choices(design, _truth(study), seed, n_respondents=n, sd=0.8)
    # Sawtooth needs whole-number respondent ids: "r07" -> "7" (prefix for other formats)
    responses["respondent_id"] = prefix + responses["respondent_id"].str[1:].astype(int).astype(str)
    return study, design, responses


def _people(responses: pd.DataFrame, fmt: str, extra: bool = True) -> pd.DataFrame | None:
    ids = list(pd.unique(responses["respondent_id"]))
    k = np.arange(len(ids))
    if fmt == "qualtrics":
        people = pd.DataFrame(
            {
                "respondent_id": ids,
                "was_customer": 1,
                "tenure_months": 6 + k % 30,
                "what_happened": ["The price went up, again." if i % 2 else "" for i in k],
                "wave": "2024-Q1",
                "duration_seconds": 300.0 + 7.5 * k,
            }
        )
        if extra:  # screened out: answered the questionnaire, no choice tasks
            people.loc[len(people)] = ["999", 0, 1, "moved away", "2024-Q1", 41.0]
        return people
    if fmt == "sawtooth":
        return pd.DataFrame(
            {"respondent_id": ids, "tenure_months": 6 + k % 30, "duration_seconds": 300 + 7 * k}
        )
    return None


READ_OPTIONS = {
    "qualtrics": {},
    "sawtooth": {"extra_names": ["tenure_months", "duration_seconds"]},
    "cbctools": {},
}
FILE_NAMES = {"qualtrics": "export.csv", "sawtooth": "study_cbc.cho", "cbctools": "choices.csv"}
MODULES = {"qualtrics": qualtrics, "sawtooth": sawtooth, "cbctools": cbctools}


@pytest.mark.parametrize(
    ("fmt", "variant"),
    [(f, v) for f, vs in SUPPORTED.items() for v in vs],
)
def test_round_trip(tmp_path, fmt, variant):
    study, design, responses = _simulate(variant)
    people = _people(responses, fmt)
    original = make_dataset(responses, study, design=design, respondents=people)
    paths = MODULES[fmt].write(original, tmp_path / FILE_NAMES[fmt])
    before = {p: p.read_bytes() for p in paths}
    back = read_responses(paths[0], study, format=fmt, design=design, **READ_OPTIONS[fmt])
    assert original.equals(back), original.difference(back)
    assert {p: p.read_bytes() for p in paths} == before, "reading changed the file"
    assert str(paths[0]) in back.sources and len(back.sources[str(paths[0])]) == 64

    chosen = back.choices.query("chosen == 1")
    n_tasks = design.n_tasks
    assert len(chosen) == N * n_tasks, f"{len(chosen)} chosen rows, expected {N} x {n_tasks}"
    if study.none_option:  # the none path is exercised, not only the designed alternatives
        n_none = int((chosen["alt"] == "none").sum())
        assert 0 < n_none < len(chosen), f"none chosen {n_none} of {len(chosen)} times"
    if study.dual_response_none:
        n_no = int((chosen["would_buy"] == 0).sum())
        assert 0 < n_no < len(chosen), f"would not buy {n_no} of {len(chosen)} times"
    if study.holdouts:
        n_h = back.choices.loc[back.choices["holdout"] == 1, "task"].nunique()
        assert n_h == 1, f"{n_h} holdout tasks, expected 1"
    if study.status_quo is not None:
        n_sq = int((chosen["alt"] == "status_quo").sum())
        assert n_sq > 0, f"status quo chosen {n_sq} times"
    if fmt == "qualtrics":
        assert back.excluded_ids == ["999"], back.excluded_ids
        assert back.n_respondents == N + 1, f"{back.n_respondents} respondents, expected {N + 1}"


@pytest.mark.parametrize(
    ("fmt", "variant"),
    [("cbctools", "dual"), ("cbctools", "status_quo"), ("sawtooth", "status_quo")],
)
def test_what_a_format_cannot_hold_is_refused_not_dropped(tmp_path, fmt, variant):
    study, design, responses = _simulate(variant, n=4)
    data = make_dataset(responses, study, design=design)
    word = "dual-response" if variant == "dual" else "status-quo"
    with pytest.raises(WinbackError, match=word):
        MODULES[fmt].write(data, tmp_path / FILE_NAMES[fmt])
    assert not (tmp_path / FILE_NAMES[fmt]).exists()


def test_writers_refuse_to_overwrite(tmp_path):
    study, design, responses = _simulate("none", n=3)
    data = make_dataset(responses, study, design=design)
    for fmt, module in MODULES.items():
        path = tmp_path / FILE_NAMES[fmt]
        module.write(data, path)
        with pytest.raises(WinbackError, match="refusing to overwrite"):
            module.write(data, path)
        module.write(data, path, force=True)


def test_unknown_read_option_is_named_with_the_valid_ones(tmp_path):
    study, design, responses = _simulate("none", n=3)
    data = make_dataset(responses, study, design=design)
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    with pytest.raises(WinbackError, match=r"unknown option 'id_colum'.*Did you mean 'id_column'"):
        read_responses(path, study, format="qualtrics", design=design, id_colum="x")


# --------------------------------------------------------------------------------------------
# Qualtrics
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qsetup():
    study, design, responses = _simulate("none", seed=5, n=12, prefix="R_")
    people = _people(responses, "qualtrics")
    data = make_dataset(responses, study, design=design, respondents=people)
    return study, design, data


def _records(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def _write_records(path, records, bom=True) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(records)
    path.write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode())


def _line_of(path, respondent_id: str) -> int:
    """File line (1-based) of a respondent's record, found by its unique ResponseId cell."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if f",{respondent_id}," in line]
    assert len(hits) == 1, hits
    return hits[0]


def test_qualtrics_header_styles_and_bom_give_the_same_dataset(tmp_path, qsetup):
    study, design, data = qsetup
    seen = []
    for rows in (3, 2, 1):
        for bom in (True, False):
            path = tmp_path / f"export_{rows}_{bom}.csv"
            qualtrics.write(data, path, header_rows=rows, bom=bom)
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf") == bom
            if rows == 3:
                third = _records(path)[2]
                assert third[8] == '{"ImportId":"_recordId"}', third[8]
                assert re.fullmatch(r'\{"ImportId":"QID\d+"\}', third[names_index(path, "CBC_T1")])
            back = read_responses(path, study, format="qualtrics", design=design)
            assert data.equals(back), (rows, bom, data.difference(back))
            seen.append(back)
    assert all(seen[0].equals(b) for b in seen[1:])


def test_qualtrics_legacy_export_spelling(tmp_path, qsetup):
    """Older exports: ``ResponseID`` and single-quoted ``{'ImportId': 'responseId'}`` cells."""
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    rec[0][rec[0].index("ResponseId")] = "ResponseID"
    rec[1][rec[0].index("ResponseID")] = "ResponseID"
    rec[2] = [c.replace('{"ImportId":"', "{'ImportId': '").replace('"', "'") for c in rec[2]]
    _write_records(path, rec)
    assert rec[2][8] == "{'ImportId': '_recordId'}", rec[2][8]
    back = read_responses(path, study, format="qualtrics", design=design)
    assert data.equals(back), data.difference(back)


def names_index(path, name: str) -> int:
    return _records(path)[0].index(name)


def test_qualtrics_text_answers_are_understood(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "text.csv", answers="text")[0]
    rec = _records(path)
    col = rec[0].index("CBC_T1")
    answers = {r[col] for r in rec[3:] if r[col]}
    assert answers <= {"Option 1", "Option 2", "Option 3", "None of these"}, answers
    assert data.equals(read_responses(path, study, format="qualtrics", design=design))
    # other wordings by choice_labels; unknown wordings are reported with the valid ones
    for r in rec[3:]:
        if r[col] == "None of these":
            r[col] = "I'd rather keep what I have"
    _write_records(path, rec)
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, format="qualtrics", design=design)
    msg = str(err.value)
    assert "column 'CBC_T1': \"I'd rather keep what I have\" is not an alternative" in msg, msg
    assert "4 (None of these)" in msg and "choice_labels=" in msg
    back = read_responses(
        path,
        study,
        format="qualtrics",
        design=design,
        choice_labels={"I'd rather keep what I have": "none"},
    )
    assert data.equals(back), data.difference(back)


def test_qualtrics_unknown_level_names_line_column_value_and_valid_levels(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    rid = "R_4"
    row = next(r for r in rec if rid in r)
    row[rec[0].index("CBC_T3_A2_plan")] = "Platinum"
    _write_records(path, rec)
    line = _line_of(path, rid)
    # the question texts of row 2 span two lines each: the line is not the record number
    assert line > rec.index(row) + 1
    before = path.read_bytes()
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, format="qualtrics", design=design)
    msg = str(err.value)
    assert err.value.counts == {"unknown level": 1}, msg
    assert (
        f"line {line}, column 'CBC_T3_A2_plan': unknown level 'Platinum' for attribute 'plan'"
        in msg
    ), msg
    assert "Valid levels: Basic, Standard, Premium" in msg
    assert path.read_bytes() == before


def test_qualtrics_unfinished_responses_are_recorded_as_excluded(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    fin = rec[0].index("Finished")
    gone = ["R_2", "R_7"]
    for r in rec[3:]:
        if r[rec[0].index("ResponseId")] in gone:
            r[fin] = "0"
    _write_records(path, rec)
    back = read_responses(path, study, format="qualtrics", design=design)
    assert back.n_respondents == data.n_respondents, (back.n_respondents, data.n_respondents)
    assert back.excluded_ids == sorted([*gone, "999"]), back.excluded_ids
    reasons = dict(zip(back.exclusions["respondent_id"], back.exclusions["reason"], strict=True))
    assert reasons["R_2"] == reasons["R_7"] == "did not finish the survey (Qualtrics Finished = 0)"
    assert reasons["999"] == NO_TASKS_REASON
    assert not back.choices["respondent_id"].isin(gone).any()
    assert len(back.included_ids) == len(data.included_ids) - 2
    # their answers are still there, and keep_unfinished reads their choices too
    assert set(back.respondents["respondent_id"]) == set(data.respondents["respondent_id"])
    kept = read_responses(path, study, format="qualtrics", design=design, keep_unfinished=True)
    assert data.equals(kept), data.difference(kept)
    # written back, the unfinished stay unfinished
    again = qualtrics.write(back, tmp_path / "again.csv")[0]
    assert back.equals(read_responses(again, study, format="qualtrics", design=design))


def test_qualtrics_repeated_column_names(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    # a repeated name we do not need is ignored
    rec[0][rec[0].index("RecipientEmail")] = "IPAddress"
    _write_records(path, rec)
    assert data.equals(read_responses(path, study, format="qualtrics", design=design))
    # a repeated name we need is reported with both positions
    i = rec[0].index("CBC_T5")
    rec[0][rec[0].index("UserLanguage")] = "CBC_T5"
    _write_records(path, rec)
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, format="qualtrics", design=design)
    msg = str(err.value)
    assert "column 'CBC_T5' appears 2 times" in msg and f"(#{i + 1})" in msg, msg


def test_qualtrics_header_problems_are_named(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    names = rec[0]
    names[names.index("CBC_T2_A1_speed")] = "CBC_T2_A1_sped"
    names[names.index("ResponseId")] = "responseid"
    names[names.index("tenure_months")] = "Tenure Months"
    _write_records(path, rec)
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, format="qualtrics", design=design)
    msg = str(err.value)
    assert "column 'CBC_T2_A1_sped': unknown attribute 'sped'. Did you mean 'speed'?" in msg
    assert "column 'responseid' looks like 'ResponseId'" in msg
    assert "column 'Tenure Months' looks like 'tenure_months'" in msg


def test_qualtrics_id_column_and_keep_columns(tmp_path, qsetup):
    study, design, data = qsetup
    path = qualtrics.write(data, tmp_path / "export.csv")[0]
    rec = _records(path)
    ext, rid = rec[0].index("ExternalReference"), rec[0].index("ResponseId")
    lang = rec[0].index("UserLanguage")
    for r in rec[3:]:
        r[ext] = "crm-" + r[rid]
    _write_records(path, rec)
    back = read_responses(
        path,
        study,
        format="qualtrics",
        design=design,
        id_column="ExternalReference",
        keep_columns=["UserLanguage"],
    )
    ids = sorted("crm-" + r for r in data.respondent_ids)
    assert sorted(back.respondent_ids) == ids, back.respondent_ids
    assert set(back.respondents["UserLanguage"]) == {rec[3][lang]}
    assert "IPAddress" not in back.respondents.columns
    with pytest.raises(WinbackError, match="personal data"):
        read_responses(path, study, format="qualtrics", keep_columns=["IPAddress"])


def test_qualtrics_questionnaire_recodes_round_trip(tmp_path, qsetup):
    from surveys.questionnaire import default_questionnaire

    study, design, data = qsetup
    questionnaire = default_questionnaire(study)
    yes_no = next(q.id for q in questionnaire if q.type == "yes_no")
    people = data.respondents.assign(**{yes_no: [1, 0] * (data.n_respondents // 2) + [1]})
    people = people[["respondent_id", yes_no, "duration_seconds"]]
    ids = people["respondent_id"]
    with_q = make_dataset(
        data.choices[data.choices["respondent_id"].isin(ids)],
        study,
        design=design,
        respondents=people,
    )
    path = qualtrics.write(with_q, tmp_path / "export.csv", questionnaire=questionnaire)[0]
    rec = _records(path)
    col = rec[0].index(yes_no)
    assert {r[col] for r in rec[3:]} == {"1", "2"}  # Qualtrics numbers its choices 1, 2
    back = read_responses(
        path, study, format="qualtrics", design=design, questionnaire=questionnaire
    )
    assert with_q.equals(back), with_q.difference(back)


# --------------------------------------------------------------------------------------------
# Sawtooth
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ssetup():
    study, design, responses = _simulate("none", seed=8, n=10)
    return study, design, make_dataset(responses, study, design=design)


def test_cho_layout(tmp_path, ssetup):
    _, design, data = ssetup
    cho, att = sawtooth.write(data, tmp_path / "study_cbc.cho")
    lines = cho.read_text().splitlines()
    assert lines[0] == f"1 0 4 {design.n_tasks} 1", lines[0]  # id, extras, attributes, tasks, none
    assert lines[1] == ""  # no extra variables
    assert lines[2] == "3 1"  # 3 concepts, depth 1
    assert all(re.fullmatch(r"\d \d \d \d", x) for x in lines[3:6]), lines[3:6]
    assert re.fullmatch(r"[1-4] 0", lines[6]), lines[6]  # concept chosen (4 = none), seconds
    assert att.read_text().splitlines()[:5] == ["plan", "Basic", "Standard", "Premium", ""]


def test_cho_level_code_out_of_range_names_respondent_task_and_line(tmp_path, ssetup):
    study, design, data = ssetup
    cho = sawtooth.write(data, tmp_path / "study_cbc.cho")[0]
    lines = cho.read_text().splitlines()
    starts = [i for i, x in enumerate(lines) if re.fullmatch(r"\d+ 0 4 \d+ 1", x)]
    head = starts[2]  # respondent 3
    assert lines[head].startswith("3 ")
    # respondent header, extras line, then per task: "3 1", 3 concept lines, choice line
    concept = head + 2 + 5 * 1 + 1 + 1  # task 2, concept 2
    codes = lines[concept].split()
    codes[1] = "7"  # speed has 3 levels
    lines[concept] = " ".join(codes)
    cho.write_text("\r\n".join(lines) + "\r\n")
    with pytest.raises(ResponseError) as err:
        read_responses(cho, study, format="sawtooth", design=design)
    msg = str(err.value)
    assert err.value.counts == {"level code out of range": 1}, msg
    assert (
        f"line {concept + 1}: respondent 3 (line {head + 1}) task 2 concept 2, attribute 2 "
        "(speed): level code 7 is outside 1..3" in msg
    ), msg
    assert "Levels: 100 Mbps, 500 Mbps, 1 Gbps" in msg


def test_cho_structure_problems(tmp_path, ssetup):
    study, design, data = ssetup
    cho = sawtooth.write(data, tmp_path / "study_cbc.cho")[0]
    good = cho.read_text()
    # truncated file
    cho.write_text(good[: len(good) // 2].rsplit("\n", 3)[0])
    with pytest.raises(ResponseError, match="the file ends"):
        read_responses(cho, study, format="sawtooth", design=design)
    # a header that does not fit the study
    cho.write_text(good.replace(f"0 4 {design.n_tasks} 1", f"0 4 {design.n_tasks} 0", 1))
    with pytest.raises(ResponseError, match=r"none option 0 \(no none option\), but the study"):
        read_responses(cho, study, format="sawtooth", design=design)
    # tasks that match no version of the design
    lines = good.splitlines()
    lines[3], lines[4] = lines[4], lines[3]  # respondent 1 task 1: concepts 1 and 2 swapped
    cho.write_text("\n".join(lines))
    with pytest.raises(ResponseError, match=r"respondent 1 \(line 1\): the levels shown match no"):
        read_responses(cho, study, format="sawtooth", design=design)


def test_att_labels_must_match_the_study(tmp_path, ssetup):
    study, design, data = ssetup
    cho, att = sawtooth.write(data, tmp_path / "study_cbc.cho")
    text = att.read_text()
    att.write_text(text.replace("Basic\nStandard", "Standard\nBasic"))  # read_text: \n
    with pytest.raises(ResponseError) as err:
        read_responses(cho, study, format="sawtooth", design=design)
    msg = str(err.value)
    assert "line 1: attribute 1 'plan' has levels Standard, Basic, Premium" in msg, msg
    assert "map_by_labels=True" in msg
    # att=False skips the check (level codes by position)
    back = read_responses(cho, study, format="sawtooth", design=design, att=False)
    assert data.equals(back), data.difference(back)


def test_att_map_by_labels_reads_reordered_attributes(tmp_path, ssetup):
    """'Standard' is a level of plan and of support: the level sets still tell them apart."""
    study, design, data = ssetup
    cho, att = sawtooth.write(data, tmp_path / "study_cbc.cho")
    blocks = [b for b in att.read_text().split("\n\n") if b.strip()]
    order = [3, 2, 0, 1]  # price, support, plan, speed
    att.write_text("\n\n".join(blocks[i] for i in order) + "\n")
    lines = cho.read_text().splitlines()
    out = []
    for x in lines:
        t = x.split()
        # concept lines hold 4 codes; headers hold 5, task lines 2, choice lines 2
        out.append(" ".join(t[i] for i in order) if len(t) == 4 else x)
    cho.write_text("\n".join(out) + "\n")
    with pytest.raises(ResponseError, match="attribute 1 'price' has levels 30, 40, 50, 60"):
        read_responses(cho, study, format="sawtooth", design=design)
    back = read_responses(cho, study, format="sawtooth", design=design, map_by_labels=True)
    assert data.equals(back), data.difference(back)


YES_NO = """
[study]
name = "extras"
none_option = true

[[attributes]]
name = "install"
levels = ["No", "Yes"]

[[attributes]]
name = "router"
levels = ["No", "Yes"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0]

[design]
method = "balanced_overlap"
alternatives = 2
tasks = 4
versions = 1
"""


def test_att_ambiguous_labels_are_reported(tmp_path):
    study = make_study(YES_NO)
    design = make_design(study)
    responses = simulate_choices(design, _truth(study), 1, n_respondents=3)
    responses["respondent_id"] = responses["respondent_id"].str[1:].astype(int).astype(str)
    data = make_dataset(responses, study, design=design)
    cho, att = sawtooth.write(data, tmp_path / "x.cho")
    att.write_text("Free installation\nNo\nYes\n\nWi-Fi router\nNo\nYes\n\nPrice\n30\n40\n50\n")
    # by position the labels fit: read as usual
    assert data.equals(read_responses(cho, study, format="sawtooth", design=design))
    # by labels, 'No'/'Yes' fit both install and router: reported, not guessed
    with pytest.raises(ResponseError) as err:
        read_responses(cho, study, format="sawtooth", design=design, map_by_labels=True)
    msg = str(err.value)
    assert err.value.counts == {"ambiguous labels": 2}, msg
    assert "attribute 1 'Free installation' (levels No, Yes) could be any of the study's " in msg
    assert "attributes install, router; labels used by several attributes: No, Yes" in msg
    # naming the attributes as in the study resolves it
    att.write_text("router\nNo\nYes\n\ninstall\nNo\nYes\n\nprice\n30\n40\n50\n")
    lines = cho.read_text().splitlines()
    swapped = [" ".join([t[1], t[0], t[2]]) if len(t := x.split()) == 3 else x for x in lines]
    cho.write_text("\n".join(swapped))
    back = read_responses(cho, study, format="sawtooth", design=design, map_by_labels=True)
    assert data.equals(back), data.difference(back)


def test_cho_renumbers_text_ids_with_an_id_map(tmp_path):
    study, design, responses = _simulate("dual", n=6, prefix="R_")
    data = make_dataset(responses, study, design=design)
    with pytest.raises(WinbackError, match="ids R_1, R_2, R_3, R_4, R_5 and 1 more"):
        sawtooth.write(data, tmp_path / "x.cho")
    cho, _, ids = sawtooth.write(data, tmp_path / "x.cho", renumber=True)
    assert ids.name == "x.ids.csv"
    back = read_responses(cho, study, format="sawtooth", design=design, id_map=ids)
    assert data.equals(back), data.difference(back)
    first = cho.read_text().splitlines()[0].split()
    assert first[-1] == "2", first  # dual-response none is flag 2


# --------------------------------------------------------------------------------------------
# cbcTools / logitr
# --------------------------------------------------------------------------------------------


def test_cbctools_layout_and_dummy_coded_and_logitr_style(tmp_path):
    study, design, responses = _simulate("none", n=5)
    data = make_dataset(responses, study, design=design)
    path = cbctools.write(data, tmp_path / "choices.csv")[0]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(df.columns) == [
        "profileID",
        "respID",
        "qID",
        "altID",
        "obsID",
        "blockID",
        "plan",
        "speed",
        "support",
        "price",
        "no_choice",
        "choice",
    ]
    none = df[df["no_choice"] == "1"]
    assert set(none["altID"]) == {"4"} and set(none["plan"]) == {"NA"}
    assert df["obsID"].nunique() == 5 * design.n_tasks
    # cbc_encode(coding = "dummy"): <attribute><level> columns, the no-choice row all 0
    dummy = df.copy()
    for a in study.attributes:
        if not a.numeric:
            for lab in a.level_labels()[1:]:
                dummy[a.name + lab] = (dummy[a.name] == lab).astype(int).astype(str)
            dummy = dummy.drop(columns=a.name)
    dummy["price"] = dummy["price"].replace("NA", "0")
    dummy.to_csv(tmp_path / "dummy.csv", index=False)
    back = read_responses(tmp_path / "dummy.csv", study, format="cbctools", design=design)
    assert data.equals(back), data.difference(back)
    # logitr style: other names, no question or alternative numbers
    logitr = df.drop(columns=["qID", "altID", "profileID"]).rename(
        columns={"respID": "id", "blockID": "block"}
    )
    logitr.to_csv(tmp_path / "logitr.csv", index=False)
    back = read_responses(
        tmp_path / "logitr.csv",
        study,
        format="cbctools",
        design=design,
        id_column="id",
        block_column="block",
    )
    assert data.equals(back), data.difference(back)


def test_cbctools_problems_name_line_and_column(tmp_path):
    study, design, responses = _simulate("none", n=3)
    data = make_dataset(responses, study, design=design)
    path = cbctools.write(data, tmp_path / "choices.csv")[0]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = df.copy()
    i = int(np.flatnonzero(bad["no_choice"] == "1")[2])
    bad.loc[i, "plan"] = "Basic"  # a no-choice row that shows a level
    bad["colour"] = "red"  # an unknown column
    bad.to_csv(path, index=False)
    with pytest.raises(ResponseError, match=r"unknown column 'colour'.*ignore_columns="):
        read_responses(path, study, format="cbctools", design=design)
    with pytest.raises(ResponseError) as err:
        read_responses(path, study, format="cbctools", design=design, ignore_columns=["colour"])
    msg = str(err.value)
    assert f"line {i + 2}, column 'plan': the no-choice alternative shows no levels" in msg, msg
