"""winback's canonical response format, validation and the ChoiceDataset contract."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from conjoint import make_design, simulate_choices
from surveys import ChoiceDataset, make_dataset, read_responses, write_responses
from tests.conftest import SMALL_HOLDOUT, SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import ResponseError, WinbackError


@pytest.fixture(scope="module")
def setup():
    study = make_study(SMALL_STUDY + SMALL_HOLDOUT)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 3, n_respondents=40, sd=0.3)
    return study, design, responses


def _problems(exc: ResponseError) -> str:
    return str(exc)


def test_round_trip_through_csv_is_identical(tmp_path, setup):
    study, design, responses = setup
    people = pd.DataFrame(
        {"respondent_id": responses["respondent_id"].unique(), "tenure_months": 12}
    )
    data = make_dataset(responses, study, design=design, respondents=people)
    write_responses(data, tmp_path)
    back = read_responses(tmp_path / "responses.csv", study, design=design)
    assert data.equals(back), data.difference(back)
    assert set(back.sources) == {str(tmp_path / "responses.csv"), str(tmp_path / "respondents.csv")}
    assert all(len(h) == 64 for h in back.sources.values())
    # and without the design: the canonical file carries the levels shown
    assert data.equals(read_responses(tmp_path / "responses.csv", study))


def test_holdouts_are_marked_from_the_design_or_the_study(setup):
    study, design, responses = setup
    no_col = responses.drop(columns="holdout")
    with_design = make_dataset(no_col, study, design=design)
    from_study = make_dataset(no_col, study)
    h = with_design.choices.groupby("task")["holdout"].first()
    assert h.to_dict() == {**{t: 0 for t in range(1, 9)}, 9: 1}
    assert with_design.equals(from_study)
    assert len(with_design.holdout_choices()) == 40 * 4
    assert (with_design.included_choices()["holdout"] == 0).all()


def test_screened_out_respondents_are_recorded_not_dropped(setup):
    study, design, responses = setup
    ids = list(responses["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": [*ids, "s1", "s2"], "was_customer": 1})
    data = make_dataset(responses, study, design=design, respondents=people)
    assert data.n_respondents == 42
    assert data.excluded_ids == ["s1", "s2"]
    assert set(data.exclusions["reason"]) == {
        "no choice tasks (screened out or did not reach the conjoint)"
    }
    assert len(data.included_ids) == 40


def test_unknown_and_duplicated_respondents(setup):
    study, design, responses = setup
    ids = list(responses["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": [*ids[1:], ids[2]]})
    with pytest.raises(ResponseError) as err:
        make_dataset(responses, study, design=design, respondents=people)
    msg = str(err.value)
    assert "unknown respondent: 1" in msg and repr(ids[0]) in msg
    assert "duplicated respondent: 2" in msg and repr(ids[2]) in msg


def test_every_problem_is_reported_at_once_with_rows_and_valid_levels(setup):
    study, design, responses = setup
    bad = responses.astype({"speed": object, "chosen": object}).copy()
    r2 = bad["respondent_id"] == bad["respondent_id"].unique()[1]
    r3 = bad["respondent_id"] == bad["respondent_id"].unique()[2]
    first_r2 = bad.index[r2 & (bad["alt"] == "1")][0]
    bad.loc[first_r2, "speed"] = "2 Gbps"  # unknown level
    t1 = bad.index[r3 & (bad["task"] == 1)]
    bad.loc[t1, "chosen"] = 0  # nothing chosen in task 1
    t2 = bad.index[r3 & (bad["task"] == 2)]
    bad.loc[t2[:2], "chosen"] = 1  # two chosen in task 2
    before = bad.copy()
    with pytest.raises(ResponseError) as err:
        make_dataset(bad, study, design=design)
    e = err.value
    assert e.counts == {
        "unknown level": 1,
        "no alternative chosen": 1,
        "several alternatives chosen": 1,
    }, str(e)
    msg = str(e)
    assert f"row {first_r2 + 2}, column 'speed': unknown level '2 Gbps'" in msg
    assert "Valid levels: 100 Mbps, 500 Mbps, 1 Gbps" in msg
    pd.testing.assert_frame_equal(bad, before)  # the caller's frame is untouched


def test_design_disagreement_names_row_and_both_values(setup):
    study, design, responses = setup
    bad = responses.astype({"plan": object}).copy()
    i = bad.index[(bad["alt"] == "2") & (bad["task"] == 3)][0]
    shown = bad.at[i, "plan"]
    other = next(p for p in ("Basic", "Standard", "Premium") if p != shown)
    bad.at[i, "plan"] = other
    with pytest.raises(ResponseError) as err:
        make_dataset(bad, study, design=design)
    msg = str(err.value)
    assert "disagrees with the design: 1" in msg
    assert f"row {i + 2}" in msg and f"plan = {other}, the design has {shown}" in msg
    # without a design the same file is valid: the canonical file carries the levels shown
    make_dataset(bad, study)


@pytest.mark.parametrize(
    ("mutate", "kind"),
    [
        (
            lambda d: d.drop(index=d.index[(d["task"] == 2) & (d["alt"] == "1")][:1]),
            "wrong number of alternatives",
        ),
        (
            lambda d: d[~((d["task"] == 3) & (d["respondent_id"] == d["respondent_id"].iloc[0]))],
            "task gaps",
        ),
        (
            lambda d: d[~((d["alt"] == "none") & (d["task"] == 1))].assign(
                chosen=lambda x: x["chosen"]
            ),
            "missing none row",
        ),
        (
            lambda d: pd.concat([d, d[d["respondent_id"] == d["respondent_id"].iloc[0]]]),
            "duplicated respondent",
        ),
        (lambda d: pd.concat([d, d.iloc[[5]]]), "duplicated row"),
        (lambda d: d.rename(columns={"respondent_id": "Respondent ID"}), "header"),
        (lambda d: d.assign(colour="red"), "header"),
        (lambda d: d.assign(alt=d["alt"].replace({"none": "nothing"})), "bad alt"),
        (lambda d: d.assign(would_buy=1), "would_buy without dual-response none"),
        (lambda d: d.assign(task=d["task"].astype(str).replace({"4": "four"})), "bad task"),
    ],
)
def test_kinds_of_problems(setup, mutate, kind):
    study, design, responses = setup
    with pytest.raises(ResponseError) as err:
        make_dataset(mutate(responses.copy()), study, design=design)
    assert kind in err.value.counts, str(err.value)


def test_file_problems_bom_repeated_header_and_untouched_input(tmp_path, setup):
    study, design, responses = setup
    data = make_dataset(responses, study, design=design)
    write_responses(data, tmp_path)
    path = tmp_path / "responses.csv"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    # a BOM is harmless
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert data.equals(read_responses(path, study, design=design))
    # a second header in the middle (two files pasted together) is reported with its line
    path.write_text("".join([*lines[:10], lines[0], *lines[10:]]))
    before = path.read_bytes()
    with pytest.raises(ResponseError, match="row 11 repeats the header"):
        read_responses(path, study, design=design)
    assert path.read_bytes() == before


def test_formula_text_in_respondent_answers_stays_text(tmp_path, setup):
    study, design, responses = setup
    ids = responses["respondent_id"].unique()
    people = pd.DataFrame({"respondent_id": ids, "what_happened": '=HYPERLINK("http://x","y")'})
    data = make_dataset(responses, study, design=design, respondents=people)
    write_responses(data, tmp_path)
    raw = (tmp_path / "respondents.csv").read_text()
    assert "'=HYPERLINK" in raw
    back = read_responses(tmp_path / "responses.csv", study)
    assert set(back.respondents["what_happened"]) == {'=HYPERLINK("http://x","y")'}


def test_dual_response_none_would_buy(setup):
    study, _, _ = setup
    dual = replace(study, none_option=False, dual_response_none=True)
    design = make_design(dual, method="shortcut")
    responses = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=10)
    data = make_dataset(responses, dual, design=design)
    chosen = data.choices.query("chosen == 1")
    assert chosen["would_buy"].notna().all()
    with pytest.raises(ResponseError, match="missing column 'would_buy'"):
        make_dataset(responses.drop(columns="would_buy"), dual, design=design)


def test_dataset_is_immutable_and_exclusions_are_recorded(setup):
    study, design, responses = setup
    data = make_dataset(responses, study, design=design)
    view = data.choices
    view.loc[:, "chosen"] = 0
    assert data.choices["chosen"].sum() == 40 * 9
    ids = data.respondent_ids[:3]
    clean = data.exclude(ids, "speeder")
    assert data.excluded_ids == [] and clean.excluded_ids == sorted(ids)
    assert clean.exclusions["reason"].tolist() == ["speeder"] * 3
    assert len(clean.included_ids) == 37
    assert "3 for speeder" in repr(clean)
    with pytest.raises(WinbackError, match="unknown respondent"):
        data.exclude(["nobody"], "x")
    with pytest.raises(WinbackError, match="needs a reason"):
        data.exclude(ids, " ")
    with pytest.raises(AttributeError):
        data.study = study  # type: ignore[misc]
    assert isinstance(clean, ChoiceDataset)


def test_respondents_missing_design_tasks_are_reported(setup):
    study, design, responses = setup
    short = responses[responses["task"] < 9]  # everyone lacks the holdout task 9
    with pytest.raises(ResponseError) as err:
        make_dataset(short, study, design=design)
    assert err.value.counts == {"incomplete respondent": 40}, str(err.value)
    assert "answered 8 tasks; the design has 9" in str(err.value)


def test_dual_response_none_share_counts_the_no_answers(setup):
    study, _, _ = setup
    dual = replace(study, none_option=False, dual_response_none=True)
    design = make_design(dual, method="shortcut")
    responses = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=30)
    data = make_dataset(responses, dual, design=design)
    chosen = responses[responses["chosen"] == 1]
    want = float((chosen["would_buy"] == 0).mean())
    assert data.summary()["none_share"] == pytest.approx(want)
    assert 0 < want < 1
