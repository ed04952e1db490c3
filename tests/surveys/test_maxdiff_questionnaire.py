"""The MaxDiff question in the questionnaire's exports: the question list describes its screens,
the Qualtrics TXT leaves it out, simulated respondents fill no column for it."""

from __future__ import annotations

import pytest

from surveys.fielding.text import qualtrics_txt, question_list_markdown
from surveys.fieldwork import simulate_respondents
from tests.conftest import SMALL_STUDY, make_study

pytestmark = pytest.mark.unit

STUDY = SMALL_STUDY + '\n[maxdiff]\nitems = ["price_rise", "outages", "moved", "support"]\n'


def test_the_question_list_shows_one_screen_per_set_with_the_reasons():
    study = make_study(STUDY)
    text = question_list_markdown(study.questionnaire)
    assert (
        "**11. Of these, which mattered MOST and which LEAST in your decision to leave?**" in text
    )
    assert "`maxdiff`: MaxDiff (best-worst), required" in text
    assert "6 screens, one per set, each showing 2 of these 4 reasons" in text, text
    assert "- I moved home [`moved`]" in text
    # the list numbers every later question one further than without [maxdiff]
    plain = question_list_markdown(make_study(SMALL_STUDY).questionnaire)
    assert "**11. In your own words" in plain and "**12. In your own words" in text


def test_the_qualtrics_txt_and_respondents_are_as_without_it():
    study, plain = make_study(STUDY), make_study(SMALL_STUDY)
    assert qualtrics_txt(study.questionnaire) == qualtrics_txt(plain.questionnaire)
    a = simulate_respondents(study, 30, random_seed=3)
    b = simulate_respondents(plain, 30, random_seed=3)
    assert a.equals(b)


def test_the_web_survey_asks_one_page_per_set_after_the_reasons():
    from surveys.web.flow import plan_pages

    q = make_study(STUDY).questionnaire
    plain = [p.key for p in plan_pages(make_study(SMALL_STUDY).questionnaire, 2)]
    # without the design's number of sets (a survey stored without a MaxDiff): left out
    assert [p.key for p in plan_pages(q, 2)] == plain
    pages = plan_pages(q, 2, maxdiff_sets=3)
    at = plain.index("reasons-2") + 1
    # the sets follow main_reason; what_happened, after them in the block, gets its own page
    assert [p.key for p in pages] == [
        *plain[:at], "maxdiff-1", "maxdiff-2", "maxdiff-3", "reasons-3", *plain[at:]
    ]  # fmt: skip
    assert [q.id for q in pages[at + 3].questions] == ["what_happened"]
    assert [p.maxdiff_set for p in pages[at : at + 3]] == [1, 2, 3]
