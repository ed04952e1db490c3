"""summarize_reasons and reason_covariates: shares with Wilson intervals checked by hand,
weighted shares, cross-tabs, verbatims kept exactly, and the input left unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, simulate_choices
from surveys import make_dataset, read_responses, write_responses
from surveys.reasons import (
    REASON_LABELS,
    ReasonsSummary,
    reason_covariates,
    summarize_reasons,
    wilson_interval,
)
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import WinbackError

VERBATIMS = [
    '=HYPERLINK("http://example.com")',
    "+49 30 1234567 call me",
    "-- they never called back",
    "@support was useless",
    "  leading and trailing spaces  ",
    "line one\nline two",
    'the "loyalty" discount, ended',
    "Zu teuer – Preiserhöhung um 20 % 😠",
    "\ttab first",
]


@pytest.fixture(scope="module")
def setup():
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    return study, design


def _dataset(setup, people: pd.DataFrame):
    study, design = setup
    responses = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=len(people))
    ids = list(responses["respondent_id"].unique())
    people = people.copy()
    people.insert(0, "respondent_id", ids)
    return make_dataset(responses, study, design=design, respondents=people)


def _hundred() -> pd.DataFrame:
    """100 respondents with known answers."""
    main = ["price_rise"] * 40 + ["outages"] * 25 + ["support"] * 20 + ["moved"] * 5 + [None] * 10
    return pd.DataFrame(
        {
            "reason_price_rise": [1] * 30 + [0] * 70,
            "reason_outages": [1] * 45 + [0] * 55,
            "reason_support": [None] * 5 + [1] * 20 + [0] * 75,
            "main_reason": main,
            "segment": ["family"] * 60 + ["single"] * 40,
            "tenure_months": np.arange(1, 101),
            "customer_value": 50.0,
        }
    )


def test_shares_and_wilson_intervals_by_hand(setup):
    data = _dataset(setup, _hundred())
    s = summarize_reasons(data, band=0.95)  # the by-hand figures use z at 95%
    assert isinstance(s, ReasonsSummary) and s.n == 100
    t = s.shares.set_index("reason")
    # 30 of 100 -> 0.30 [0.219, 0.396] (Wilson, 95%)
    got = tuple(round(float(t.loc["price_rise", c]), 3) for c in ("share", "lower", "upper"))
    assert got == (0.300, 0.219, 0.396), f"price_rise {got}, by hand (0.300, 0.219, 0.396)"
    # 20 of the 95 who answered (5 blanks are not 'no')
    sup = t.loc["support"]
    assert (int(sup["n_selected"]), int(sup["n"])) == (20, 95)
    assert round(float(sup["share"]), 4) == round(20 / 95, 4)
    # largest first, labels from the questionnaire
    assert s.shares["reason"].tolist() == ["outages", "price_rise", "support"]
    assert s.shares["label"].tolist() == [
        "Outages or poor quality",
        "Price rise",
        "Customer support",
    ]
    assert list(s.shares.columns) == [
        "reason",
        "label",
        "n_selected",
        "n",
        "share",
        "lower",
        "upper",
        "n_effective",
    ]
    assert any("not counted as 'no'): reason_support 5." in n for n in s.notes), s.notes


def test_wilson_interval_against_hand_computed_values():
    z = 1.959963984540054
    for (share, n), (lo, hi) in {
        (0.3, 100): (0.219, 0.396),
        (12 / 40, 40): (0.181, 0.454),
        (0.25, 20): (0.112, 0.469),
    }.items():
        got = tuple(round(v, 3) for v in wilson_interval(share, n, z))
        assert got == (lo, hi), f"{share:.3f} of {n}: {got}, by hand ({lo}, {hi})"
    assert wilson_interval(0.0, 10, z)[0] == 0.0
    assert all(np.isnan(wilson_interval(float("nan"), 0, z)))


def test_main_reason_shares_with_intervals(setup):
    data = _dataset(setup, _hundred())
    m = summarize_reasons(data, band=0.95).main.set_index("reason")
    # 90 gave a main reason: price_rise 40/90, outages 25/90, support 20/90, moved 5/90
    assert m["n"].unique().tolist() == [90]
    assert m["n_selected"].to_dict() == {"price_rise": 40, "outages": 25, "support": 20, "moved": 5}
    lo, hi = wilson_interval(40 / 90, 90, 1.959963984540054)
    assert (round(m.loc["price_rise", "lower"], 3), round(m.loc["price_rise", "upper"], 3)) == (
        round(lo, 3),
        round(hi, 3),
    )
    assert m.loc["moved", "label"] == "Moved home"


def test_weighted_shares_by_hand(setup):
    people = pd.DataFrame({"reason_price_rise": [1, 0, 1, 0, 1], "customer_value": [1, 1, 2, 2, 4]})
    data = _dataset(setup, people)
    s = summarize_reasons(data, weight="customer_value", band=0.95)
    row = s.shares.set_index("reason").loc["price_rise"]
    # share = (1 + 2 + 4) / 10 = 0.7; Kish n = 10^2 / (1 + 1 + 4 + 4 + 16) = 3.846
    # Wilson(0.7, 3.846) = [0.261, 0.939]
    got = tuple(round(float(row[c]), 3) for c in ("share", "n_effective", "lower", "upper"))
    assert got == (0.7, 3.846, 0.261, 0.939), f"weighted {got}, by hand (0.7, 3.846, 0.261, 0.939)"
    assert int(row["n_selected"]) == 3 and int(row["n"]) == 5
    assert any("weighted by 'customer_value'" in n and "Kish" in n for n in s.notes), s.notes
    assert "weighted by customer_value" in s.report()


def test_bad_weights_and_answers_are_named_all_at_once(setup):
    people = pd.DataFrame(
        {
            "reason_price_rise": [1, "yes", 0, 2],
            "main_reason": ["price_rise", "prices", None, "Outages or poor quality"],
            "customer_value": [10.0, None, -1.0, 5.0],
        }
    )
    data = _dataset(setup, people)
    with pytest.raises(WinbackError) as err:
        summarize_reasons(data, weight="customer_value")
    msg = str(err.value)
    assert "3 problem(s)" in msg, msg
    assert "r2 ('yes')" in msg and "r4 (2)" in msg, msg
    assert "r2 ('prices')" in msg and "Valid: price_rise, outages" in msg, msg
    assert "weight column 'customer_value'" in msg and "r3 (-1.0)" in msg, msg
    with pytest.raises(WinbackError, match="unknown respondents column by='segmnet'"):
        summarize_reasons(_dataset(setup, _hundred()), by="segmnet")


def test_by_segment_cross_tab_and_numeric_bands(setup):
    data = _dataset(setup, _hundred())
    s = summarize_reasons(data, by="segment")
    seg = s.by_segment
    assert list(seg.columns[:2]) == ["segment", "question"]
    pr = seg[(seg["question"] == "reasons") & (seg["reason"] == "price_rise")].set_index("segment")
    # price_rise: the first 30 respondents, all in 'family' (the first 60)
    assert pr["n_selected"].to_dict() == {"family": 30, "single": 0}
    assert pr["n"].to_dict() == {"family": 60, "single": 40}
    assert round(float(pr.loc["family", "share"]), 3) == 0.5
    banded = summarize_reasons(data, by="tenure_months", bands=[12, 24])
    groups = banded.by_segment["tenure_months"].cat.categories.tolist()
    assert groups == ["under 12", "12 to under 24", "24 and over"], groups
    n = banded.by_segment.query("question == 'reasons' and reason == 'outages'")["n"].tolist()
    assert n == [11, 12, 77], f"tenure 1-11, 12-23, 24-100: {n}"
    quantile_bands = summarize_reasons(data, by="tenure_months").by_segment
    assert quantile_bands["tenure_months"].cat.categories.tolist() == [
        "under 34",
        "34 to under 67",
        "67 and over",
    ]
    assert any("cut into bands" in n for n in summarize_reasons(data, by="tenure_months").notes)


def test_missing_group_is_shown_not_dropped(setup):
    people = _hundred()
    people.loc[:9, "segment"] = None
    s = summarize_reasons(_dataset(setup, people), by="segment")
    groups = s.by_segment["segment"].cat.categories.tolist()
    assert groups == ["family", "single", "(missing)"], groups
    total = s.by_segment.query("question == 'reasons' and reason == 'price_rise'")["n"].sum()
    assert total == 100


def test_verbatims_are_kept_exactly_also_through_csv(setup, tmp_path):
    n = len(VERBATIMS) + 2
    people = pd.DataFrame(
        {
            "main_reason": ["other"] * n,
            "what_happened": [*VERBATIMS, None, ""],
            "bring_back": ["=1+1", *[None] * (n - 1)],
            "reason_other_text": ["-5 EUR/month more", *[""] * (n - 1)],
        }
    )
    data = _dataset(setup, people)
    v = summarize_reasons(data).verbatims
    assert list(v.columns) == [
        "respondent_id",
        "main_reason",
        "what_happened",
        "bring_back",
        "reason_other_text",
    ]
    assert v["what_happened"].tolist() == VERBATIMS, v["what_happened"].tolist()
    assert v.loc[0, "bring_back"] == "=1+1" and v.loc[0, "reason_other_text"] == "-5 EUR/month more"
    assert len(v) == len(VERBATIMS), "the two respondents who wrote nothing are not verbatims"
    write_responses(data, tmp_path)
    back = read_responses(tmp_path / "responses.csv", data.study)
    vb = summarize_reasons(back).verbatims
    assert vb["what_happened"].tolist() == VERBATIMS, vb["what_happened"].tolist()
    assert vb.loc[0, "bring_back"] == "=1+1"


def test_excluded_respondents_are_left_out_and_said_so(setup):
    data = _dataset(setup, _hundred())
    data = data.exclude([f"r{i:03d}" for i in range(1, 11)], "speeder")
    s = summarize_reasons(data)
    assert s.n == 90
    row = s.shares.set_index("reason").loc["price_rise"]
    assert (int(row["n_selected"]), int(row["n"])) == (20, 90)
    assert any("10 excluded respondent(s) not counted" in n for n in s.notes), s.notes
    assert summarize_reasons(data, included_only=False).n == 100


def test_report_says_why_they_left_largest_first(setup):
    s = summarize_reasons(_dataset(setup, _hundred()), by="segment")
    text = s.report()
    assert text.startswith("Why they left: 100 lost customers")
    assert "The most common reason for leaving was outages or poor quality: 45% of 100" in text
    lines = text.splitlines()
    start = lines.index("Reasons given (all that apply), largest first (90% intervals):")
    assert lines[start + 1].split()[:2] == ["Outages", "or"]
    assert lines[start + 2].split()[:2] == ["Price", "rise"]
    # Wilson 90%: 0.3 +- 1.645 ... on 100 gives [23.1%, 38.0%]
    assert "30 of 100" in lines[start + 2] and "[23%, 38%]" in lines[start + 2]
    assert "By segment" in text and repr(s) == text
    assert "<pre>" in s._repr_html_()


def test_input_dataset_is_unchanged(setup):
    data = _dataset(setup, _hundred())
    before = data.respondents
    summarize_reasons(data, by="tenure_months", weight="customer_value")
    reason_covariates(data)
    pd.testing.assert_frame_equal(data.respondents, before)


def test_reason_covariates_for_estimation(setup):
    people = _hundred()
    people.loc[95:, "segment"] = None
    data = _dataset(setup, people)
    cov = reason_covariates(data)
    assert cov["respondent_id"].tolist() == data.respondent_ids
    assert list(cov.columns) == [
        "respondent_id",
        "reason_price_rise",
        "reason_outages",
        "reason_support",
        "main_reason[price_rise]",
        "main_reason[outages]",
        "main_reason[support]",
        "main_reason[moved]",
        "tenure_months",
        "customer_value",
        "segment[family]",
        "segment[single]",
    ]
    assert int(cov["reason_price_rise"].sum()) == 30
    assert cov["reason_support"].isna().sum() == 5, "unanswered stays NA"
    assert int(cov["main_reason[price_rise]"].sum()) == 40
    assert cov["main_reason[moved]"].isna().sum() == 10, "no main reason: NA dummies"
    assert cov["segment[single]"].isna().sum() == 5
    assert str(cov["tenure_months"].dtype) == "Float64" and cov["tenure_months"].iloc[-1] == 100
    assert set(REASON_LABELS) >= {"price_rise", "outages", "support", "moved"}
