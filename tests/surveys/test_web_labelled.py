"""A labelled study in winback's own web survey and the questionnaire documents: each offer
under its label's name, an absent attribute's cell a dash (never a level), and the stored answers
imported back with the attribute absent."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from conjoint import make_design
from surveys import read_responses
from surveys.fielding import qualtrics_txt, question_list_markdown
from surveys.questionnaire import default_questionnaire
from surveys.web import make_app
from surveys.web.bot import _Form, answer_page, fetch, take_survey
from surveys.web.server import running
from tests.surveys.web_helpers import COMPACT_STUDY, make_survey
from winback.cli import main
from winback.study import parse_study

LABELLED_WEB = (
    COMPACT_STUDY.replace('name = "Web survey load test"', 'name = "Web survey labelled"')
    .replace(
        '[[attributes]]\nname = "price"',
        '[[attributes]]\nname = "tv"\nlabel = "TV package"\nlevels = ["TV Essentials", '
        '"TV Sports"]\napplies_to = ["own"]\n\n[[attributes]]\nname = "price"',
    )
    .replace(
        'method = "random"\nalternatives = 2',
        'method = "random"\nlabels = ["own", "rival"]\n'
        'label_names = { own = "FibreHome", rival = "Rival Net" }',
    )
)


def _take_keeping_task_pages(url: str, token: str) -> list[str]:
    """Take the survey behind one link as the bot does, keeping every task page's HTML."""
    rng = random.Random(3)
    status, html = fetch(f"{url}/s/{token}")
    pages = []
    for _ in range(50):
        assert status == 200, html[:300]
        page = _Form()
        page.feed(html)
        if "_csrf" not in page.hidden:
            return pages
        if page.task:
            pages.append(html)
        status, _ = fetch(f"{url}/s/{token}", {**page.hidden, **answer_page(page, rng, {})})
        assert status == 303
        status, html = fetch(f"{url}/s/{token}")
    raise AssertionError("the survey did not end")


@pytest.mark.integration
def test_a_labelled_task_shows_label_names_and_a_dash_for_an_absent_attribute(tmp_path, capsys):
    study_file, survey, tokens = make_survey(tmp_path, LABELLED_WEB, 3)
    study = survey.study
    with running(make_app(survey)) as url:
        pages = _take_keeping_task_pages(url, tokens[0])
        bots = [take_survey(url, t, random_seed=i) for i, t in enumerate(tokens[1:])]
    assert len(pages) == 3, f"{len(pages)} task pages, expected 3"
    for html in pages:
        assert '<th scope="col" id="col-1">FibreHome</th>' in html, html
        assert '<th scope="col" id="col-2">Rival Net</th>' in html, html
        assert "Option 1" not in html and "Choose Rival Net" in html
        rival_tv = html.split('data-alt="2" data-attribute="tv"')[1].split("</td>")[0]
        assert 'data-level=""' in rival_tv and "&mdash;" in rival_tv, rival_tv
        assert "TV" not in rival_tv, f"the rival shows a TV level: {rival_tv}"
    for bot in bots:  # what the bots saw: tv on the own brand only
        for t, task in bot.tasks.items():
            shown = task["shown"]  # {alt: {attribute: level}}
            assert shown["2"]["tv"] == "", (t, shown)
            assert shown["1"]["tv"] in ("TV Essentials", "TV Sports"), (t, shown)

    out = tmp_path / "imported"
    argv = ["import", str(study_file), str(tmp_path / "survey.db"), "--format", "db"]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    back = read_responses(out / "responses.csv", study)
    choices = back.choices
    assert back.n_respondents == 3, back
    rivals = choices[choices["alt"] == "2"]
    assert rivals["tv"].isna().all(), rivals["tv"].unique()
    assert choices.loc[choices["alt"] == "1", "tv"].notna().all()
    # what was stored is what the bots chose and saw
    chosen = choices[choices["chosen"] == 1].groupby("respondent_id")["alt"].apply(list)
    got = sorted(chosen.tolist())
    want = sorted([bot.tasks[t]["chosen"] for t in sorted(bot.tasks)] for bot in bots)
    assert all(g in got for g in want), (got, want)


@pytest.mark.unit
def test_questionnaire_documents_name_the_labels_and_the_specific_attribute():
    study = parse_study(LABELLED_WEB)
    q = default_questionnaire(study)
    txt = qualtrics_txt(q)
    assert "<th>FibreHome</th><th>Rival Net</th>" in txt, txt
    choices = txt.split("[[ID:CBC_T1]]")[1].split("[[PageBreak]]")[0]
    assert "FibreHome\nRival Net\n" in choices and "Option 1" not in choices, choices
    md = question_list_markdown(q)
    assert 'one offer of each of "FibreHome", "Rival Net"' in md, md
    assert "TV package is shown only on the offers of FibreHome" in md, md


@pytest.mark.unit
def test_the_web_survey_of_a_labelled_study_is_another_survey():
    """A labelled study's fingerprint differs from the same study without labels (its stored
    answers mean other things), and a generic study keeps its fingerprint."""
    from surveys.web.survey import study_fingerprint

    labelled = parse_study(LABELLED_WEB)
    generic = parse_study(
        LABELLED_WEB.replace('applies_to = ["own"]\n', "").replace(
            'labels = ["own", "rival"]\nlabel_names = { own = "FibreHome", rival = "Rival Net" }',
            "alternatives = 2",
        )
    )
    assert study_fingerprint(labelled) != study_fingerprint(generic)
    design = make_design(labelled)
    assert pd.isna(design.to_frame().query("alt == 2")["tv"]).all()
