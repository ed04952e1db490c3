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


def test_the_web_survey_leaves_the_maxdiff_out_for_now():
    from surveys.web.flow import plan_pages

    pages = plan_pages(make_study(STUDY).questionnaire, 2)
    plain = plan_pages(make_study(SMALL_STUDY).questionnaire, 2)
    assert [p.key for p in pages] == [p.key for p in plain]
    assert all(q.type != "maxdiff" for p in pages for q in p.questions)
