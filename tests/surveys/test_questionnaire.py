"""The questionnaire as data: defaults, [questionnaire] table, simulated respondents, exports."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, simulate_choices
from surveys.fielding import (
    qualtrics_embedded_data,
    qualtrics_embedded_fields,
    qualtrics_recodes,
    write_qualtrics_embedded_data,
    write_qualtrics_questions,
    write_question_list,
    write_versions_csv,
)
from surveys.questionnaire import (
    DEFAULT_REASONS,
    RESPONDENT_COLUMNS,
    SEGMENTS,
    Logic,
    Question,
    Questionnaire,
    QuestionnaireError,
    default_questionnaire,
    make_segments,
    parse_questionnaire,
    simulate_respondents,
)
from tests.conftest import BENCH_STUDY, SMALL_HOLDOUT, SMALL_STUDY, make_study
from winback._io import unescape_cell
from winback.errors import WinbackError

# The respondents.csv contract, spelt out: other stages build on exactly these names.
CONTRACT = [
    "respondent_id",
    "was_customer",
    "status",
    "previous_plan",
    "price_paid",
    "tenure_months",
    "current_spend",
    "current_provider",
    "reason_price_rise",
    "reason_outages",
    "reason_support",
    "reason_competitor_offer",
    "reason_moved",
    "reason_contract_terms",
    "reason_other",
    "reason_other_text",
    "main_reason",
    "what_happened",
    "would_return",
    "bring_back",
    "satisfaction_before",
    "contact_consent",
]
OPTIONAL = ["customer_value", "wave", "duration_seconds"]


@pytest.fixture(scope="module")
def small():
    return make_study(SMALL_STUDY, method="balanced_overlap")


@pytest.fixture(scope="module")
def people(small):
    return simulate_respondents(small, 5000, random_seed=11)


# --------------------------------------------------------------------------------------------
# The default questionnaire
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [SMALL_STUDY, BENCH_STUDY])
def test_default_questionnaire_gives_the_contract_columns_in_order(text):
    q = default_questionnaire(make_study(text))
    assert q.columns() == CONTRACT
    assert list(RESPONDENT_COLUMNS) == CONTRACT
    assert q.columns(optional=True) == CONTRACT + OPTIONAL
    assert q.blocks() == ["screener", "previous", "reasons", "return", "consent", "conjoint"]
    assert q.ids[-1] == "cbc" and q.question("cbc").type == "conjoint"


def test_default_questions_and_logic(small):
    q = default_questionnaire(small)
    assert q.question("was_customer").codes == (1, 0)
    assert q.question("status").codes == ("left", "leaving")
    assert q.question("reason").codes == tuple(c for c, _ in DEFAULT_REASONS)
    assert q.question("main_reason").codes == q.question("reason").codes
    assert str(q.question("main_reason").logic) == "reason >= 2"
    assert str(q.question("reason_other_text").logic) == "reason in [other]"
    assert str(q.question("current_provider").logic) == "status == left"
    assert q.question("current_provider").codes == (
        "provider_a",
        "provider_b",
        "provider_c",
        "other",
    )
    wr = q.question("would_return")
    assert (wr.codes, wr.label(1), wr.label(5)) == ((1, 2, 3, 4, 5), "Definitely not", "Definitely")
    assert q.question("satisfaction_before").codes == tuple(range(11))
    assert q.question("price_paid").unit == "USD/month"
    assert [str(r) for r in q.screen_out] == ["was_customer == 0"]
    assert q.conjoint is not None and q.conjoint.tasks == 8 and q.conjoint.alternatives == 3
    assert "None of these" in q.question("cbc").text


def test_previous_plan_comes_from_the_plan_attribute(small):
    assert default_questionnaire(small).question("previous_plan").codes == (
        "Basic",
        "Standard",
        "Premium",
    )
    by_speed = default_questionnaire(small, previous_plan_attribute="speed")
    assert by_speed.question("previous_plan").codes == ("100 Mbps", "500 Mbps", "1 Gbps")
    bench = default_questionnaire(make_study(BENCH_STUDY))  # no plan attribute: open text
    assert bench.question("previous_plan").type == "text"
    with pytest.raises(
        QuestionnaireError, match=re.escape("unknown attribute 'spede'. Did you mean")
    ):
        default_questionnaire(small, previous_plan_attribute="spede")


def test_multi_select_columns_and_question_validation():
    q = Question(
        "reason",
        "multi",
        "Why?",
        options=(("price_rise", "Price"), ("outages", "Outages")),
        block="reasons",
    )
    assert q.columns() == ("reason_price_rise", "reason_outages")
    with pytest.raises(QuestionnaireError) as err:
        Question("Why", "singel", "x")
    msg = str(err.value)
    assert "must be snake_case" in msg and "Did you mean 'single'?" in msg
    with pytest.raises(QuestionnaireError, match="scale min 5 must be below max 1"):
        Question("s", "scale", "x", options=((5, "hi"), (1, "lo")))
    with pytest.raises(QuestionnaireError, match="codes 1 \\(yes\\) and 0 \\(no\\)"):
        Question("c", "yes_no", "x", options=((1, "Yes"), (2, "No")))
    with pytest.raises(QuestionnaireError, match="lower-case letters, digits and _"):
        Question("m", "multi", "x", options=(("Price Rise", "a"), ("b", "b")))
    with pytest.raises(
        QuestionnaireError, match=re.escape("op '=>' is not valid. Valid: ==, !=, in")
    ):
        Logic("reason", "=>", 2)


def test_questionnaire_checks_order_ids_and_columns():
    a = Question("a", "yes_no", "A?", block="screener")
    b = Question("b", "text", "B?", logic=Logic("a", "==", 1))
    q = Questionnaire((a, b))
    assert q.columns() == ["respondent_id", "a", "b"]
    with pytest.raises(QuestionnaireError, match="comes after 'b'"):
        Questionnaire((b, a))
    with pytest.raises(QuestionnaireError, match="'a' is used twice"):
        Questionnaire((a, a))
    with pytest.raises(
        QuestionnaireError, match=re.escape("2 is not an answer of 'a'. Valid: 1, 0.")
    ):
        Questionnaire((a, Question("c", "text", "C?", logic=Logic("a", "==", 2))))
    with pytest.raises(KeyError, match=re.escape("Unknown question 'bb'. Did you mean 'b'?")):
        q.question("bb")


def test_shown_follows_logic_and_screen_out(small):
    q = default_questionnaire(small)
    answers = pd.DataFrame(
        {
            "was_customer": [1, 1, 0],
            "status": ["left", "leaving", None],
            "reason_price_rise": [1, 1, None],
            "reason_outages": [1, 0, None],
            "reason_other": [0, 1, None],
        }
    )
    shown = q.shown(answers)
    assert shown["status"].tolist() == [True, True, True]  # screener: still asked
    assert shown["current_provider"].tolist() == [True, False, False]
    assert shown["main_reason"].tolist() == [True, True, False]
    assert shown["reason_other_text"].tolist() == [False, True, False]
    assert shown["would_return"].tolist() == [True, True, False]  # screened out


def test_repr_states_counts_and_next_step(small):
    text = repr(default_questionnaire(small))
    assert "16 questions in 6 blocks, 22 respondents.csv columns" in text
    assert "main_reason: single (7 options, if reason >= 2)" in text
    assert "screen out if was_customer == 0" in text
    assert "next:" in text


# --------------------------------------------------------------------------------------------
# The [questionnaire] table
# --------------------------------------------------------------------------------------------


def test_no_table_gives_the_default(small):
    q, problems = parse_questionnaire(None, small)
    assert problems == [] and q == default_questionnaire(small)


def test_overrides_and_extra_questions(small):
    table = {
        "reasons": [
            {"code": "price_rise", "label": "Too expensive"},
            {"code": "speed", "label": "Too slow"},
        ],
        "competitors": ["BT Broadband", "Sky"],
        "previous_plan_attribute": "speed",
        "exclude": ["bring_back", "what_happened"],
        "questions": [
            {
                "id": "nps",
                "type": "scale",
                "text": "How likely are you to recommend us?",
                "options": [{"code": 0, "label": "Not at all"}, {"code": 10, "label": "Very"}],
                "show_if": {"question": "would_return", "op": ">=", "value": 3},
            },
            {"id": "services", "type": "multi", "text": "Which?", "options": ["TV", "Mobile"]},
            {"id": "age", "type": "number", "text": "Age?", "block": "screener", "min": 18},
        ],
    }
    snapshot = repr(table)
    q, problems = parse_questionnaire(table, small)
    assert problems == []
    assert repr(table) == snapshot  # the caller's table is not changed
    assert q.question("previous_plan").codes == ("100 Mbps", "500 Mbps", "1 Gbps")
    assert q.question("current_provider").codes == ("bt_broadband", "sky", "other")
    assert "reason_other_text" not in q  # no 'other' reason, no follow-up
    assert q.columns() == [
        "respondent_id",
        "was_customer",
        "status",
        "age",  # end of its block
        "previous_plan",
        "price_paid",
        "tenure_months",
        "current_spend",
        "current_provider",
        "reason_price_rise",
        "reason_speed",
        "main_reason",
        "would_return",
        "satisfaction_before",
        "nps",
        "services_tv",
        "services_mobile",
        "contact_consent",
    ]
    assert q.question("nps").min == 0 and q.question("nps").max == 10
    assert q.question("services").required and not q.question("would_return").logic


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"reasns": []}, ["unknown key 'reasns'. Did you mean 'reasons'? Valid keys: reasons,"]),
        ("text", ["[questionnaire] must be a table, got 'text'."]),
        (
            {"reasons": [{"code": "Price Rise", "label": "x"}, {"code": "b", "labl": "y"}]},
            [
                "code 'Price Rise' must be lower-case letters, digits and _",
                "e.g. 'price_rise'",
                "reasons #2: unknown key 'labl'. Did you mean 'label'? Valid keys: code, label.",
            ],
        ),
        (
            {"reasons": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]},
            ["codes ['a'] are used twice"],
        ),
        ({"reasons": "price"}, ["reasons: must be a non-empty list of { code = ..., label"]),
        ({"competitors": "Sky"}, ["competitors: must be a list of provider names (text), got"]),
        ({"competitors": ["Other"]}, ["'Other' would clash with the built-in 'other' option"]),
        (
            {"previous_plan_attribute": "plna"},
            ["unknown attribute 'plna'. Did you mean 'plan'? Attributes: plan, speed, support"],
        ),
        ({"previous_plan_attribute": 3}, ["'previous_plan_attribute' must be text"]),
        (
            {"exclude": ["reasonn"]},
            ["exclude: unknown question 'reasonn'. Did you mean 'reason'? Default questions:"],
        ),
        (
            {"exclude": ["status"]},
            ["'status' is needed by the show_if of current_spend, current_provider; exclude"],
        ),
        ({"exclude": "bring_back"}, ["'exclude' must be a list of question ids"]),
        ({"questions": {"id": "x"}}, ["'questions' must be an array of tables"]),
        (
            {"questions": [{"id": "NPS", "type": "scael", "text": "x", "block": "retrun"}]},
            [
                "'NPS': id 'NPS' must be snake_case",
                "type 'scael' is not valid. Did you mean 'scale'? Valid: single, multi, number,",
                "block 'retrun' is not valid. Did you mean 'return'? Valid: screener, previous,",
            ],
        ),
        (
            {"questions": [{"id": "x", "type": "conjoint", "text": "x"}]},
            ["type 'conjoint' is the built-in conjoint block"],
        ),
        (
            {"questions": [{"id": "status", "type": "text", "text": "x"}]},
            ["question id 'status' is used twice"],
        ),
        (
            {"questions": [{"id": "segment", "type": "text", "text": "x"}]},
            ["id 'segment' is reserved. Reserved: respondent_id, customer_value, wave"],
        ),
        (
            {"questions": [{"id": "reason_moved", "type": "yes_no", "text": "x"}]},
            ["gives the column 'reason_moved', which question 'reason' already gives"],
        ),
        (
            {"questions": [{"id": "x", "type": "text", "text": "x", "required": "yes"}]},
            ["'required' must be true or false, got 'yes'."],
        ),
        (
            {"questions": [{"id": "x", "type": "number", "text": "x", "min": "a", "unti": "€"}]},
            ["'min' must be a number, got 'a'.", "unknown key 'unti'. Did you mean 'unit'?"],
        ),
        (
            {"questions": [{"id": "x", "type": "single", "text": "x"}]},
            ["a single question needs 'options'"],
        ),
        (
            {
                "questions": [
                    {
                        "id": "x",
                        "type": "text",
                        "text": "x",
                        "show_if": {"question": "would_retrun", "op": "==", "value": 3},
                    }
                ]
            },
            ["unknown question 'would_retrun'. Did you mean 'would_return'? Earlier questions:"],
        ),
        (
            {
                "questions": [
                    {
                        "id": "x",
                        "type": "text",
                        "text": "x",
                        "block": "screener",
                        "show_if": {"question": "reason", "op": "in", "value": ["other"]},
                    }
                ]
            },
            ["'reason' comes after 'x'; a show-if can only look at an earlier question"],
        ),
        (
            {
                "questions": [
                    {
                        "id": "x",
                        "type": "text",
                        "text": "x",
                        "show_if": {"question": "status", "op": "=>", "value": "gone"},
                    }
                ]
            },
            ["show_if: op '=>' is not valid. Valid: ==, !=, in, >=, <=."],
        ),
        (
            {
                "questions": [
                    {
                        "id": "x",
                        "type": "text",
                        "text": "x",
                        "show_if": {"question": "status", "op": "==", "value": "gone"},
                    }
                ]
            },
            ["'gone' is not an answer of 'status'. Valid: left, leaving."],
        ),
        (
            {"questions": [{"id": "x", "type": "text", "text": "x", "show_if": {"q": "a"}}]},
            ["show_if: unknown key 'q'", "missing question, op, value"],
        ),
    ],
)
def test_bad_tables_are_reported_not_raised(small, table, expected):
    q, problems = parse_questionnaire(table, small)
    assert q is None
    text = "\n".join(problems)
    for part in expected:
        assert part in text, f"{part!r} not in:\n{text}"


def test_every_problem_is_reported_at_once(small):
    table = {
        "reasns": [],
        "competitors": 3,
        "exclude": ["nope"],
        "questions": [1, {"id": "a", "type": "bad", "text": "x"}],
    }
    q, problems = parse_questionnaire(table, small)
    assert q is None
    assert len(problems) == 5, problems
    assert problems[-1].startswith("[questionnaire] exclude: unknown question 'nope'")


# --------------------------------------------------------------------------------------------
# Simulated respondents
# --------------------------------------------------------------------------------------------


def test_simulation_is_reproducible(small):
    a = simulate_respondents(small, 300, random_seed=5)
    b = simulate_respondents(small, 300, random_seed=5)
    c = simulate_respondents(small, 300, random_seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_simulated_columns_types_and_ranges(small, people):
    assert list(people.columns) == CONTRACT + OPTIONAL + ["segment"]
    assert len(people) == 5000 and people["respondent_id"].is_unique
    assert people["respondent_id"].iloc[0] == "r0001"
    assert (people["was_customer"] == 1).all()
    assert set(people["status"]) == {"left", "leaving"}
    assert set(people["previous_plan"]) == {"Basic", "Standard", "Premium"}
    assert people["price_paid"].between(25, 70).all(), people["price_paid"].describe()
    assert people["tenure_months"].between(1, 240).all()
    assert str(people["tenure_months"].dtype) == "Int64"
    left = people["status"] == "left"
    assert people.loc[left, "current_provider"].notna().all()
    assert people.loc[~left, "current_provider"].isna().all()
    assert people.loc[~left, "current_spend"].isna().all()
    reasons = people[[f"reason_{c}" for c, _ in DEFAULT_REASONS]]
    assert set(np.unique(reasons.to_numpy(dtype=int))) == {0, 1}
    assert (reasons.sum(axis=1) >= 1).all()
    assert people["would_return"].between(1, 5).all()
    assert people["satisfaction_before"].between(0, 10).all()
    assert set(people["contact_consent"]) == {0, 1}
    assert set(people["segment"]) == set(SEGMENTS)
    value = (people["price_paid"] * people["tenure_months"]).round(2)
    assert np.allclose(people["customer_value"], value)
    expected = make_segments(people["tenure_months"], people["customer_value"], 45.0)
    assert (people["segment"].to_numpy() == expected).all()  # median price level 45


def test_reason_shares_are_sensible(people):
    bands = {
        "price_rise": (0.50, 0.60),
        "outages": (0.26, 0.35),
        "support": (0.21, 0.29),
        "competitor_offer": (0.16, 0.25),
        "moved": (0.05, 0.11),
        "contract_terms": (0.08, 0.14),
        "other": (0.03, 0.08),
    }
    for code, (lo, hi) in bands.items():
        share = float(people[f"reason_{code}"].mean())
        assert lo <= share <= hi, f"reason_{code}: share {share:.3f} outside [{lo}, {hi}]"
    r = people[["reason_outages", "reason_support"]].astype(float).corr().iloc[0, 1]
    assert r > 0.1, f"outages and support should go together, correlation {r:.3f}"
    consent = float(people["contact_consent"].mean())
    assert 0.55 <= consent <= 0.65, f"contact_consent share {consent:.3f} outside [0.55, 0.65]"
    by_return = people.groupby("would_return")["contact_consent"].mean()
    assert by_return.loc[5] > by_return.loc[1], by_return.to_dict()


def test_main_reason_is_always_a_chosen_reason(people):
    assert people["main_reason"].notna().all()
    chosen = np.array([people.at[i, f"reason_{m}"] == 1 for i, m in people["main_reason"].items()])
    assert chosen.all(), f"{(~chosen).sum()} respondents with a main reason they did not tick"
    other = people["reason_other"] == 1
    assert people.loc[other, "reason_other_text"].notna().all()
    assert people.loc[~other, "reason_other_text"].isna().all()


def test_open_text_is_formula_safe_and_plausible(people):
    for col in ("what_happened", "bring_back", "reason_other_text", "previous_plan"):
        text = people[col].dropna()
        bad = text[text.str.match(r"^[=+\-@\t\r]")]
        assert bad.empty, f"{col}: {bad.head().tolist()}"
    answered = float(people["what_happened"].notna().mean())
    assert 0.80 <= answered <= 0.90, f"what_happened answered by {answered:.3f}"
    outages = people.loc[people["main_reason"] == "outages", "what_happened"].dropna()
    assert outages.str.contains("connection|outage|dropped", case=False).mean() > 0.7


def test_simulated_ids_join_simulate_choices(small):
    design = make_design(small)
    responses = simulate_choices(
        design,
        {
            "plan[Standard]": 0.5,
            "plan[Premium]": 0.9,
            "speed[500 Mbps]": 0.3,
            "speed[1 Gbps]": 0.6,
            "support[Priority]": 0.4,
            "price": -0.05,
            "none": -1.0,
        },
        1,
        n_respondents=40,
    )
    people = simulate_respondents(small, 40, random_seed=1)
    assert set(responses["respondent_id"]) == set(people["respondent_id"])
    ids = ["a", "b", "c"]
    assert simulate_respondents(small, ids, 1)["respondent_id"].tolist() == ids
    with pytest.raises(WinbackError, match="unique; repeated: a"):
        simulate_respondents(small, ["a", "a"], 1)
    with pytest.raises(WinbackError, match="at least 1"):
        simulate_respondents(small, 0, 1)


def test_simulation_follows_a_custom_questionnaire(small):
    q, problems = parse_questionnaire(
        {
            "competitors": ["Sky", "BT"],
            "exclude": ["bring_back"],
            "questions": [
                {
                    "id": "nps",
                    "type": "scale",
                    "text": "Recommend?",
                    "options": [{"code": 0, "label": "No"}, {"code": 10, "label": "Yes"}],
                    "show_if": {"question": "would_return", "op": ">=", "value": 4},
                }
            ],
        },
        small,
    )
    assert problems == []
    people = simulate_respondents(small, 500, 2, questionnaire=q)
    assert "bring_back" not in people.columns
    assert set(people["current_provider"].dropna()) <= {"sky", "bt", "other"}
    high = people["would_return"] >= 4
    assert people.loc[high, "nps"].between(0, 10).all()
    assert people.loc[~high, "nps"].isna().all()


def test_make_segments():
    out = make_segments([3, 11, 12, 40, 40, None], [90, 500, 600, 1600, 1000, 100], 40.0)
    assert out.tolist() == ["new", "new", "established", "loyal", "established", "established"]


# --------------------------------------------------------------------------------------------
# Fielding exports
# --------------------------------------------------------------------------------------------


def _questions_in(txt: str) -> dict[str, list[str]]:
    """Question id -> its choices, from an Advanced Format TXT."""
    out: dict[str, list[str]] = {}
    for chunk in re.split(r"\n(?=\[\[Question:)", txt):
        m = re.search(r"\[\[ID:([^\]]+)\]\]", chunk)
        if not m:
            continue
        choices: list[str] = []
        if "[[Choices]]" in chunk:
            after = chunk.split("[[Choices]]\n", 1)[1]
            choices = after.split("\n\n", 1)[0].strip().splitlines()
        out[m.group(1)] = choices
    return out


@pytest.mark.parametrize(
    ("extra", "n_choices", "dual"),
    [
        ("", 4, False),  # 3 alternatives + none
        ("dual", 3, True),
        ("forced", 3, False),
    ],
)
def test_qualtrics_txt_has_every_question_and_task(tmp_path, extra, n_choices, dual):
    text = SMALL_STUDY + SMALL_HOLDOUT
    if extra == "dual":
        text = text.replace("none_option = true", "dual_response_none = true")
    elif extra == "forced":
        text = text.replace("none_option = true", "none_option = false")
    study = make_study(text, method="balanced_overlap")
    q = default_questionnaire(study)
    path = write_qualtrics_questions(q, tmp_path / "qualtrics.txt")
    assert path == tmp_path / "qualtrics.txt"
    assert list(tmp_path.iterdir()) == [path]  # written atomically, no temp file left
    txt = path.read_text()
    assert txt.startswith("[[AdvancedFormat]]\n")
    found = _questions_in(txt)
    for qid in q.ids:
        if qid != "cbc":
            assert qid in found, qid
    n_tasks = 8 + 1  # tasks + the holdout
    tasks = [k for k in found if re.fullmatch(r"CBC_T\d+", k)]
    assert tasks == [f"CBC_T{t}" for t in range(1, n_tasks + 1)]
    for t in range(1, n_tasks + 1):
        assert len(found[f"CBC_T{t}"]) == n_choices, (t, found[f"CBC_T{t}"])
        assert found[f"CBC_T{t}"][:3] == ["Option 1", "Option 2", "Option 3"]
        assert (f"CBC_T{t}_DR" in found) is dual
        if dual:
            assert found[f"CBC_T{t}_DR"] == ["Yes, I would take it", "No, I would not"]
        assert f"${{e://Field/CBC_T{t}_A3_price}}" in txt
    if n_choices == 4:
        assert found["CBC_T1"][3].startswith("None of these")
    assert found["reason"] == [label for _, label in DEFAULT_REASONS]
    assert found["would_return"] == ["1 - Definitely not", "2", "3", "4", "5 - Definitely"]
    assert "[[Question:MC:MultipleAnswer:Vertical]]\n[[ID:reason]]" in txt
    assert "[[Question:TE:Essay]]\n[[ID:what_happened]]" in txt
    assert "[[Question:TE:SingleLine]]\n[[ID:price_paid]]" in txt
    assert txt.count("[[Block:") == 6
    declared = re.findall(r"^\[\[ED:([^\]]+)\]\]$", txt, flags=re.M)
    assert declared == qualtrics_embedded_fields(q.conjoint)
    assert declared[0] == "CBC_VERSION" and len(declared) == 1 + n_tasks * 3 * 4


def test_qualtrics_recodes_and_embedded_data(tmp_path, small):
    q = default_questionnaire(small)
    rec = qualtrics_recodes(q)
    assert rec["was_customer"] == {1: 1, 2: 0}
    assert rec["satisfaction_before"][1] == 0 and rec["satisfaction_before"][11] == 10
    assert rec["reason"][7] == "other"
    design = make_design(small)
    ed = qualtrics_embedded_data(design)
    assert list(ed.columns) == qualtrics_embedded_fields(q.conjoint)
    assert ed["CBC_VERSION"].tolist() == [1, 2]
    plan = small.attribute("plan")
    assert ed.loc[1, "CBC_T3_A2_plan"] == plan.levels[design.levels[1, 2, 1, 0]]
    path = write_qualtrics_embedded_data(design, tmp_path / "ed.csv")
    back = pd.read_csv(path, dtype=str)
    assert back.loc[0, "CBC_T1_A1_price"] in {"30", "40", "50", "60"}


def test_versions_csv_round_trips_to_the_design(tmp_path):
    study = make_study(SMALL_STUDY + SMALL_HOLDOUT, method="balanced_overlap", versions=3)
    design = make_design(study)
    path = write_versions_csv(design, tmp_path / "versions.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(df.columns[:4]) == ["version", "task", "holdout", "alt1_plan"]
    assert len(df.columns) == 3 + design.n_alternatives * len(study.attributes)
    assert len(df) == design.n_versions * design.n_tasks
    back = np.zeros_like(design.levels)
    for row in df.itertuples(index=False):
        v, t = int(row.version) - 1, int(row.task) - 1
        for j in range(design.n_alternatives):
            for a, attr in enumerate(study.attributes):
                back[v, t, j, a] = attr.index_of(getattr(row, f"alt{j + 1}_{attr.name}"))
    assert np.array_equal(back, design.levels)
    holdout = df.groupby("task")["holdout"].first().astype(int).to_numpy().astype(bool)
    assert np.array_equal(holdout, design.holdout)
    assert ",60," in path.read_text() or ",60\n" in path.read_text()  # numbers without .0


def test_versions_csv_is_formula_safe(tmp_path):
    text = """
    [study]
    name = "formula"

    [[attributes]]
    name = "deal"
    levels = ["=1+1", "@home", "plain"]

    [[attributes]]
    name = "price"
    levels = [10.0, 20.0]
    """
    study = make_study(text, method="random", alternatives=2, tasks=3)
    path = write_versions_csv(make_design(study), tmp_path / "v.csv")
    df = pd.read_csv(path, dtype=str)
    cells = df[["alt1_deal", "alt2_deal"]].to_numpy().ravel()
    assert not any(c.startswith(("=", "@")) for c in cells)
    assert {unescape_cell(c) for c in cells} <= {"=1+1", "@home", "plain"}


def test_question_list_is_readable(tmp_path, small):
    q = default_questionnaire(small)
    path = write_question_list(q, tmp_path / "questionnaire.md")
    md = Path(path).read_text()
    assert md.startswith("# Broadband win-back, wave 1: questionnaire")
    assert "**1. Have you been a customer of ours in the last 12 months?**" in md
    assert "**16. " in md and "**17. " not in md
    assert "*Shown if at least 2 answers are ticked at reason.*" in md
    assert "*Shown if 'Something else' is ticked at reason.*" in md
    assert "*Shown if status is 'I have left'.*" in md
    assert "*Screen-out: end the interview if was_customer is 'No'.*" in md
    assert "- The price went up [`price_rise`]" in md
    assert "8 choice tasks, each showing 3 offers" in md
    assert 'Every task also offers "None of these' in md
