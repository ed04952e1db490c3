"""The status-quo alternative end to end: each respondent's own previous plan (issue 14).

Study file -> design information -> simulation -> web survey (shown and stored) -> import ->
HB data, and the Qualtrics rules that do the same in a survey flow.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from conjoint import inspect_design, make_design, parameter_names, simulate_choices
from conjoint.information import TaskModel
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import WinbackError
from winback.study import StatusQuo

PLANS = {
    "Basic": ("100 Mbps", "Standard"),
    "Standard": ("500 Mbps", "Standard"),
    "Premium": ("1 Gbps", "Priority"),
}


def own_plan(price_from_paid: bool = True) -> str:
    """A [status_quo] table filling SMALL_STUDY's status quo from previous_plan (+ price_paid)."""
    lines = ['[status_quo]\nlabel = "Your plan with us"\n']
    if price_from_paid:
        lines.append("price_from_paid = true\n")
    lines.append("[status_quo.plans]\n")
    for plan, (speed, support) in PLANS.items():
        price = "" if price_from_paid else f", price = {30 + 10 * list(PLANS).index(plan)}"
        lines.append(
            f'{plan} = {{ plan = "{plan}", speed = "{speed}", support = "{support}"{price} }}\n'
        )
    return "".join(lines)


OWN = SMALL_STUDY + own_plan()


# -- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "price"),
    [
        ("34.99", 30.0),  # nearest
        (35, 30.0),  # a midpoint goes to the lower price
        ("35.01", 40.0),
        (44.99, 40.0),
        (0, 30.0),  # below the tested range: the lowest (clipped)
        ("120", 60.0),  # above: the highest (clipped)
    ],
)
def test_the_price_shown_is_the_tested_price_nearest_to_what_was_paid(paid, price):
    study = make_study(OWN)
    sq = study.status_quo
    assert sq is not None
    profile = sq.profile_for("Standard", paid)
    shown = {a.name: a.levels[i] for a, i in zip(study.attributes, profile, strict=True)}
    assert shown == {"plan": "Standard", "speed": "500 Mbps", "support": "Standard", "price": price}


@pytest.mark.parametrize("paid", [None, "", "abc", "-5", float("nan"), "44,99"])
def test_a_missing_or_unusable_price_paid_is_an_error_naming_it(paid):
    sq = make_study(OWN).status_quo
    assert sq is not None
    with pytest.raises(WinbackError, match="price_paid answer, a number >= 0; got"):
        sq.profile_for("Basic", paid)


def test_an_answer_without_a_plan_is_an_error_listing_the_plans():
    sq = make_study(OWN).status_quo
    assert sq is not None
    with pytest.raises(WinbackError, match=r"'Premiun'.*Did you mean 'Premium'.*Basic, Standard"):
        sq.profile_for("Premiun", 40)


def test_fixed_levels_ignore_the_answers():
    sq = StatusQuo(levels=(1, 2))
    assert sq.profile_for(None) == (1, 2) and not sq.per_respondent
    assert sq.profiles() == (((1, 2), 1.0),)


# -- design information -----------------------------------------------------------------------


def test_information_is_the_mean_over_the_plans_profiles_to_1e_12():
    own = make_study(SMALL_STUDY + own_plan(price_from_paid=False))
    model = TaskModel.from_study(own)
    assert model.sq_mixture and model.sq_weights == pytest.approx([1 / 3] * 3)
    tasks = make_design(own, method="random").levels[0]
    beta = np.array([[0.6, 1.1, 0.4, 0.9, 0.5, -0.05, -1.0, 0.3], [0.0] * 8])
    got = model.information(model.rows(tasks), beta)
    want = np.zeros_like(got)
    for plan, (speed, support) in PLANS.items():
        price = 30 + 10 * list(PLANS).index(plan)
        fixed = make_study(
            SMALL_STUDY + f'[status_quo]\nlevels = {{ plan = "{plan}", speed = "{speed}", '
            f'support = "{support}", price = {price} }}\n'
        )
        m = TaskModel.from_study(fixed)
        want += m.information(m.rows(tasks), beta) / 3
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_price_from_paid_averages_over_every_tested_price():
    model = TaskModel.from_study(make_study(OWN))
    assert len(model.sq_rows) == 3 * 4
    assert model.sq_weights == pytest.approx([1 / 12] * 12)


def test_diagnostics_say_how_they_treat_the_per_respondent_status_quo():
    study = make_study(OWN)
    diag = inspect_design(make_design(study, method="balanced_overlap"))
    assert diag.summary["status_quo"] == "each respondent's own plan"
    note = next(n for n in diag.notes if "own previous plan" in n)
    assert "averaged over the 3 profiles" in note and "4 tested prices" in note
    assert "status quo (each respondent's own plan)" in diag.report()


def test_a_d_efficient_search_runs_with_the_mixture():
    study = make_study(OWN, versions=1, starts=1, max_seconds=5.0)
    design = make_design(study)
    assert np.isfinite(design.search["db_error"])


# -- simulation -------------------------------------------------------------------------------


def test_simulated_respondents_see_their_own_plan_at_their_price():
    from surveys.questionnaire import simulate_respondents

    study = make_study(OWN)
    design = make_design(study, method="balanced_overlap")
    people = simulate_respondents(study, 40, random_seed=2)
    truth = {**SMALL_TRUTH, "status_quo": 0.4}
    ids = people["respondent_id"].astype(str)
    pw = pd.DataFrame([truth] * len(ids), index=ids)[parameter_names(study)]
    responses = simulate_choices(design, pw, 3, respondents=people)
    assert isinstance(responses, pd.DataFrame)
    sq = responses[responses["alt"] == "status_quo"].drop_duplicates("respondent_id")
    merged = sq.merge(people.astype({"respondent_id": str}), on="respondent_id")
    assert (merged["plan"] == merged["previous_plan"]).all()
    nearest = [
        min((30.0, 40.0, 50.0, 60.0), key=lambda x, p=p: (abs(x - p), x))
        for p in merged["price_paid"]
    ]
    assert merged["price"].tolist() == nearest


# -- the web survey ---------------------------------------------------------------------------

WEB_STUDY = """
[study]
name = "Web survey with the status quo"
currency = "EUR"

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "price"
unit = "EUR/month"
levels = [30.0, 40.0, 50.0]
coding = "linear"

[design]
method = "random"
alternatives = 2
tasks = 2
versions = 2
seed = 3

[status_quo]
label = "Keep your old plan"
price_from_paid = true
[status_quo.plans]
Basic = { plan = "Basic" }
Standard = { plan = "Standard" }
Premium = { plan = "Premium" }

[questionnaire]
exclude = ["tenure_months", "current_spend", "current_provider", "what_happened",
           "would_return", "bring_back", "satisfaction_before"]
"""


def test_the_web_survey_shows_and_stores_each_respondents_own_plan(tmp_path):
    from surveys import read_responses
    from surveys.web import make_app
    from surveys.web.bot import take_survey
    from surveys.web.server import running
    from tests.surveys.web_helpers import make_survey

    _, survey, tokens = make_survey(tmp_path, WEB_STUDY, 2)
    answers = [
        {"previous_plan": "Premium", "price_paid": "47.5"},
        {"previous_plan": "Basic", "price_paid": "12"},
    ]
    with running(make_app(survey)) as url:
        recs = [
            take_survey(url, tok, random_seed=i, prefer=a)
            for i, (tok, a) in enumerate(zip(tokens, answers, strict=True))
        ]
    want = [{"plan": "Premium", "price": "50"}, {"plan": "Basic", "price": "30"}]
    for rec, w in zip(recs, want, strict=True):
        assert rec.finished
        for task in rec.tasks.values():
            assert task["shown"]["status_quo"] == w, task["shown"]
    data = read_responses(str(tmp_path / "survey.db"), survey.study, format="db")
    sq = data.choices[data.choices["alt"] == "status_quo"]
    got = sq.groupby("respondent_id")[["plan", "price"]].agg(lambda s: sorted(set(s)))
    assert got["plan"].tolist() == [["Premium"], ["Basic"]], got
    assert got["price"].tolist() == [[50.0], [30.0]], got

    from analysis.data import prepare_choice_data

    arrays = prepare_choice_data(data)
    k = list(arrays.names)
    sq_row = arrays.x[0, -1]  # first task of the first respondent: status quo last
    assert sq_row[k.index("status_quo")] == 1.0 and sq_row[k.index("plan[Premium]")] == 1.0
    assert sq_row[k.index("price")] == 50.0


def test_a_questionnaire_that_cannot_fill_the_status_quo_is_refused_by_the_survey(tmp_path):
    from surveys.questionnaire import default_questionnaire
    from surveys.web import open_survey

    study = make_study(WEB_STUDY)
    q = default_questionnaire(study)
    from dataclasses import replace

    without = replace(q, questions=tuple(x for x in q.questions if x.id != "price_paid"))
    with pytest.raises(WinbackError, match="does not ask it; remove 'price_paid'"):
        open_survey(str(tmp_path / "s.db"), study, questionnaire=without, create=True)


def test_a_fixed_status_quo_keeps_its_survey_fingerprint():
    from surveys.web import schema
    from surveys.web.survey import study_fingerprint

    study = make_study(
        SMALL_STUDY
        + '[status_quo]\nlevels = { plan = "Basic", speed = "100 Mbps", support = "Standard", '
        "price = 30 }\n"
    )
    key = {
        "name": study.name,
        "attributes": [[a.name, a.level_labels()] for a in study.attributes],
        "alternatives": study.design.alternatives,
        "none_option": study.none_option,
        "dual_response_none": study.dual_response_none,
        "status_quo": ["Your previous plan", [0, 0, 0, 0]],
    }
    assert study_fingerprint(study) == hashlib.sha256(schema.dumps(key).encode()).hexdigest()
    # the plans are part of a per-respondent survey's fingerprint
    other = OWN.replace(
        'speed = "1 Gbps", support = "Priority"', 'speed = "500 Mbps", support = "Priority"'
    )
    assert study_fingerprint(make_study(OWN)) != study_fingerprint(make_study(other))


# -- fielding elsewhere -----------------------------------------------------------------------


def _evaluate_rules(rules: pd.DataFrame, plan: str, paid: float) -> dict[str, str]:
    """What a survey flow following the rules sets for one respondent."""
    out: dict[str, str] = {}
    for r in rules.itertuples():
        if r.question == "previous_plan" and r.answer == plan:
            out[r.field] = r.value
        if r.question == "price_paid":
            above = float(r.paid_above) if r.paid_above else -np.inf
            up_to = float(r.paid_up_to) if r.paid_up_to else np.inf
            if above < paid <= up_to:
                assert r.field not in out, f"two price branches match {paid}"
                out[r.field] = r.value
    return out


def test_qualtrics_rules_set_what_the_web_survey_would_show():
    from surveys.fielding import qualtrics_embedded_data, qualtrics_status_quo_rules

    study = make_study(OWN)
    rules = qualtrics_status_quo_rules(study)
    assert list(rules.columns) == [
        "question",
        "answer",
        "paid_above",
        "paid_up_to",
        "field",
        "value",
    ]
    price_rows = rules[rules["question"] == "price_paid"]
    assert price_rows[["paid_above", "paid_up_to", "value"]].values.tolist() == [
        ["", "35", "30"],
        ["35", "45", "40"],
        ["45", "55", "50"],
        ["55", "", "60"],
    ]
    sq = study.status_quo
    assert sq is not None
    for plan in PLANS:
        for paid in (0.0, 29.99, 35.0, 35.01, 44.5, 45.0, 55.0, 55.01, 300.0):
            profile = sq.profile_for(plan, paid)
            want = {
                f"CBC_SQ_{a.name}": a.level_labels()[i]
                for a, i in zip(study.attributes, profile, strict=True)
            }
            assert _evaluate_rules(rules, plan, paid) == want, (plan, paid)
    ed = qualtrics_embedded_data(make_design(study, method="random"))
    assert not any(c.startswith("CBC_SQ_") for c in ed.columns)


def test_qualtrics_status_quo_data_from_a_customer_list_names_bad_lines():
    from surveys.fielding import qualtrics_status_quo_data

    study = make_study(OWN)
    customers = pd.DataFrame(
        {
            "respondent_id": ["c1", "c2"],
            "previous_plan": ["Standard", "Premium"],
            "price_paid": [41, 58.5],
        }
    )
    out = qualtrics_status_quo_data(study, customers)
    assert out.to_dict("records") == [
        {
            "respondent_id": "c1",
            "CBC_SQ_plan": "Standard",
            "CBC_SQ_speed": "500 Mbps",
            "CBC_SQ_support": "Standard",
            "CBC_SQ_price": "40",
        },
        {
            "respondent_id": "c2",
            "CBC_SQ_plan": "Premium",
            "CBC_SQ_speed": "1 Gbps",
            "CBC_SQ_support": "Priority",
            "CBC_SQ_price": "60",
        },
    ]
    bad = customers.assign(previous_plan=["Gold", "Premium"], price_paid=[41, None])
    with pytest.raises(WinbackError) as info:
        qualtrics_status_quo_data(study, bad, source="crm.csv")
    msg = str(info.value)
    assert "crm.csv: 2 customer(s)" in msg and "line 2 (respondent_id 'c1')" in msg
    assert "'Gold'" in msg and "line 3 (respondent_id 'c2')" in msg


def test_the_question_list_says_how_the_status_quo_is_filled():
    from surveys.fielding import question_list_markdown
    from surveys.questionnaire import default_questionnaire

    text = question_list_markdown(default_questionnaire(make_study(OWN)))
    assert 'status quo: "Your plan with us": each respondent\'s own previous plan' in text
    assert "nearest to their answer to price_paid" in text


# -- analysis ---------------------------------------------------------------------------------


def test_status_quo_rows_without_levels_are_refused_on_import():
    from analysis.data import prepare_choice_data
    from surveys import make_dataset

    study = make_study(OWN)
    design = make_design(study, method="balanced_overlap")
    r = simulate_choices(design, {**SMALL_TRUTH, "status_quo": 0.3}, 1, n_respondents=4)
    assert isinstance(r, pd.DataFrame)
    blank = r.copy()
    rows = (blank["alt"] == "status_quo") & (blank["respondent_id"] == "r2")
    for a in study.attribute_names:
        blank[a] = blank[a].astype(object)
        blank.loc[rows, a] = None
    # refused where the responses come in, every row named, before anything is fitted
    with pytest.raises(WinbackError) as info:
        make_dataset(blank, study, design=design)
    msg = str(info.value)
    n_rows = int(rows.sum()) * len(study.attribute_names)
    assert f"status quo without its levels: {n_rows} (1 respondent(s))" in msg, msg
    assert "column 'plan': empty; this study shows each respondent their own previous" in msg
    prepare_choice_data(make_dataset(r, study, design=design))  # with levels: fine


def test_the_status_quo_examples_in_the_study_file_reference_load():
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "study-file.md").read_text(encoding="utf-8")
    section = doc[doc.index("## `[status_quo]`") : doc.index("## `[priors]`")]
    fixed, own = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    complete = re.findall(r"```toml\n(.*?)```", doc[doc.index("## A complete annotated") :], re.S)
    broadband = complete[0].split("[[prohibitions]]")[0]
    study = make_study(broadband + fixed)
    assert study.status_quo is not None and not study.status_quo.per_respondent
    study = make_study(SMALL_STUDY + own)
    assert study.status_quo is not None and study.status_quo.plan_codes == tuple(PLANS)


def test_simulated_fieldwork_shows_each_lost_customer_the_plan_they_answered():
    from surveys.fieldwork import simulate_fieldwork

    study = make_study(OWN)
    design = make_design(study, method="balanced_overlap")
    names = parameter_names(study)
    means = {**SMALL_TRUTH, "status_quo": 0.3}
    choices, people, _, _ = simulate_fieldwork(
        design, means, dict.fromkeys(names, 0.2), 30, random_seed=4
    )
    sq = choices[choices["alt"] == "status_quo"].drop_duplicates("respondent_id")
    merged = sq.merge(people.astype({"respondent_id": str}), on="respondent_id")
    assert len(merged) == 30 and (merged["plan"] == merged["previous_plan"]).all()


def test_winback_design_writes_the_status_quo_rules_and_strict_json(tmp_path):
    import json

    from winback.pipeline import run_design

    study = make_study(OWN, method="balanced_overlap")
    run = run_design(study, tmp_path / "design")
    rules = pd.read_csv(tmp_path / "design" / "qualtrics_status_quo_rules.csv", dtype=str)
    assert len(rules) == 3 * 3 + 4, rules  # plan, speed, support per plan; 4 price branches
    assert tmp_path / "design" / "qualtrics_status_quo_rules.csv" in run.files

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in diagnostics.json")

    text = (tmp_path / "design" / "diagnostics.json").read_text()
    diag = json.loads(text, parse_constant=refuse)
    assert diag["status_quo"] == "each respondent's own plan"
