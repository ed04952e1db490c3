"""MaxDiff answers: the long and per-set layouts read, validated and round-tripped."""

from __future__ import annotations

import pandas as pd
import pytest

from conjoint import make_maxdiff_design, maxdiff_utilities, simulate_maxdiff
from surveys import MaxDiffAnswers, read_maxdiff_answers
from winback.errors import ResponseError, WinbackError

ITEMS = ["price", "outages", "speed", "support", "billing", "moved"]


@pytest.fixture(scope="module")
def design():
    return make_maxdiff_design(ITEMS, per_set=3, n_sets=4, versions=2, random_seed=2)


@pytest.fixture(scope="module")
def answers(design):
    u = maxdiff_utilities(ITEMS, [0, 1, -1, 0.5, 0, -0.5], n_respondents=6, random_seed=3)
    return simulate_maxdiff(design, u, random_seed=4)


def test_long_layout_round_trips_through_a_file(tmp_path, design, answers):
    path = tmp_path / "maxdiff.csv"
    answers.to_csv(path, index=False)
    read = read_maxdiff_answers(path, design=design)
    assert isinstance(read, MaxDiffAnswers)
    assert read.items == tuple(ITEMS) and read.source == str(path)
    assert (read.n_respondents, read.n_answers, read.per_set) == (6, 24, 3)
    pd.testing.assert_frame_equal(read.answers, answers, check_dtype=False)
    assert "reference item (utility 0): 'price'" in repr(read)


def test_per_set_layout_equals_the_long_one(design, answers):
    best = answers[answers["best"] == 1].set_index(["respondent_id", "set"])["item"]
    worst = answers[answers["worst"] == 1].set_index(["respondent_id", "set"])["item"]
    compact = answers.groupby(["respondent_id", "set"], sort=False)["version"].first()
    compact = compact.to_frame().assign(best=best, worst=worst).reset_index()
    read = read_maxdiff_answers(compact, design=design)
    pd.testing.assert_frame_equal(read.answers, answers, check_dtype=False)


def _problems(source, **kw) -> str:
    with pytest.raises(ResponseError) as err:
        read_maxdiff_answers(source, **kw)
    return str(err.value)


def test_per_set_errors_name_row_and_value(design):
    shown = [ITEMS[i] for i in design.sets[0, 0]]
    not_shown = next(x for x in ITEMS if x not in shown)
    rows = pd.DataFrame(
        {
            "respondent_id": ["r1", "r1", "r1", "r2"],
            "version": [1, 1, 1, 1],
            "set": [1, 2, 3, 1],
            "best": [not_shown, "", "pricee", shown[0]],
            "worst": [shown[1], ITEMS[design.sets[0, 1, 0]], "x", shown[0]],
        }
    )
    text = _problems(rows, design=design)
    assert f"row 1 (respondent 'r1', set 1): best '{not_shown}' was not shown" in text
    assert f"Shown: {', '.join(shown)}" in text
    assert "row 2 (respondent 'r1', set 2): no best answer" in text
    assert "Did you mean" in text  # 'pricee' for 'price' among the shown, when shown
    assert f"row 4 (respondent 'r2', set 1): best and worst are the same item '{shown[0]}'" in text


def test_per_set_layout_needs_the_design():
    frame = pd.DataFrame(
        {"respondent_id": ["a"], "version": [1], "set": [1], "best": ["x"], "worst": ["y"]}
    )
    with pytest.raises(WinbackError, match="needs the design"):
        read_maxdiff_answers(frame)


def test_long_layout_errors_all_at_once(tmp_path, design, answers):
    bad = answers.copy()
    sets = bad.groupby(["respondent_id", "set"], sort=False).ngroup()
    # set 0: no best; set 1: every row worst; set 2: one row best and worst; a bad flag; an unknown item
    bad.loc[sets == 0, "best"] = 0
    bad.loc[(sets == 1) & (bad["worst"] == 0), "worst"] = 1
    first2 = bad.index[sets == 2][0]
    bad.loc[sets == 2, ["best", "worst"]] = 0
    bad.loc[first2, ["best", "worst"]] = 1
    bad["best"] = bad["best"].astype(object)
    bad.loc[bad.index[sets == 3][0], "best"] = "yes"
    bad.loc[bad.index[-1], "item"] = "Outages"
    path = tmp_path / "maxdiff.csv"
    bad.to_csv(path, index=False)
    text = _problems(path, design=design)
    assert "line " in text and "best 'yes'; valid: 0 or 1" in text
    del text  # the flag problem stops the reading before the set checks
    bad.loc[bad.index[sets == 3][0], "best"] = 0
    bad.to_csv(path, index=False)
    text = _problems(path, design=design)
    assert "line 2 (respondent 'r001', set 1): no best answer (no row with 1)" in text
    assert "line 5 (respondent 'r001', set 2): 3 rows marked worst; one is valid" in text
    assert "is both best and worst" in text
    assert "item 'Outages'. Did you mean 'outages'?" in text


def test_answers_must_match_the_design_and_be_complete(design, answers):
    swapped = answers.copy()
    swapped.loc[0, "item"], swapped.loc[1, "item"] = answers.loc[1, "item"], answers.loc[0, "item"]
    text = _problems(swapped, design=design)
    assert "row 1 (respondent 'r001'): version 1 set 1 position 1 shows" in text
    short = answers[~((answers["respondent_id"] == "r002") & (answers["set"] == 3))]
    text = _problems(short, design=design)
    assert "respondent 'r002': no answers to set(s) 3 of 4" in text
    blank = answers.copy()
    blank.loc[5, "respondent_id"] = ""
    assert "row 6: no respondent_id" in _problems(blank, design=design)
    two = answers.copy()
    two.loc[two.index[0], "version"] = 2
    assert "has rows of versions 1, 2" in _problems(two, design=design)


def test_missing_columns_and_items_mismatch(design, answers):
    text = _problems(answers.drop(columns=["worst"]))
    assert "no column(s) worst" in text and "docs/maxdiff.md" in text
    with pytest.raises(WinbackError, match="differ from the design"):
        read_maxdiff_answers(answers, list(reversed(ITEMS)), design=design)
