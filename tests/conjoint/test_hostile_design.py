"""Hostile inputs to the design stage: study files, priors, design files (issue 14).

Each case expects a clear :class:`~winback.errors.WinbackError` subclass whose message names the
file, the place, the bad value and what is valid, or the exact right result.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conjoint import (
    inspect_design,
    make_design,
    read_design_csv,
    read_qualtrics_design,
    read_sawtooth_design,
    write_design_csv,
    write_qualtrics_design,
    write_sawtooth_design,
)
from tests.conftest import SMALL_STUDY, make_study
from winback.errors import DesignError, StudyError, WinbackError
from winback.study import load_study

pytestmark = pytest.mark.hostile

SQ_PLANS = """
[status_quo]
price_from_paid = true
[status_quo.plans]
Basic = { plan = "Basic", speed = "100 Mbps", support = "Standard" }
Standard = { plan = "Standard", speed = "500 Mbps", support = "Standard" }
Premium = { plan = "Premium", speed = "1 Gbps", support = "Priority" }
"""


def _load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _refused(tmp_path: Path, text: str, *parts: str) -> str:
    """Load a study file that must be refused; every part must be in the message."""
    path = _load(tmp_path, text)
    with pytest.raises(StudyError) as info:
        load_study(path)
    msg = str(info.value)
    assert str(path) in msg, f"the file is not named: {msg}"
    for part in parts:
        assert part in msg, f"{part!r} not in: {msg}"
    return msg


# -- study files: the status quo --------------------------------------------------------------

STATUS_QUO_CASES = {
    "sq_without_a_profile": (
        '[status_quo]\nlabel = "Your old plan"\n',
        [
            "[status_quo]",
            "neither 'levels' nor 'plans'",
            "levels = {",
            "[status_quo.plans]",
            "price_from_paid = true",
            "enabled = false",
        ],
    ),
    "sq_with_levels_and_plans": (
        '[status_quo]\nlevels = { plan = "Basic", speed = "100 Mbps", support = "Standard", '
        'price = 30 }\n[status_quo.plans]\nBasic = { plan = "Basic" }\n',
        ["[status_quo]", "either 'levels'", "not both"],
    ),
    "sq_plan_for_an_unknown_answer": (
        SQ_PLANS.replace("Premium = {", "Premiun = {"),
        [
            "[status_quo] plans",
            "'Premiun' is not an answer to previous_plan",
            "Did you mean 'Premium'?",
            "Answers: Basic, Standard, Premium",
            "no profile for the previous_plan answer(s) Premium",
        ],
    ),
    "sq_plan_missing_for_an_answer": (
        SQ_PLANS.split("Premium = {")[0],
        ["no profile for the previous_plan answer(s) Premium", '"Premium" = { ... }'],
    ),
    "sq_plan_profile_missing_an_attribute": (
        SQ_PLANS.replace(', support = "Priority"', ""),
        ["[status_quo] plans.Premium", "missing levels for support"],
    ),
    "sq_plan_profile_with_an_unknown_level": (
        SQ_PLANS.replace('speed = "1 Gbps"', 'speed = "10 Gbps"'),
        [
            "[status_quo] plans.Premium",
            "unknown level '10 Gbps' for attribute 'speed'",
            "Valid levels: 100 Mbps, 500 Mbps, 1 Gbps",
        ],
    ),
    "sq_price_in_a_profile_with_price_from_paid": (
        SQ_PLANS.replace('support = "Priority" }', 'support = "Priority", price = 60 }'),
        ["[status_quo] plans.Premium", "'price' = 60 is not used", "price_from_paid = false"],
    ),
    "sq_price_from_paid_with_fixed_levels": (
        '[status_quo]\nprice_from_paid = true\nlevels = { plan = "Basic", speed = "100 Mbps", '
        'support = "Standard", price = 30 }\n',
        ["[status_quo]", "price_from_paid = true fills the price", "Remove one of them"],
    ),
    "sq_previous_plan_excluded": (
        SQ_PLANS + '[questionnaire]\nexclude = ["previous_plan"]\n',
        [
            "[status_quo] plans",
            "'previous_plan'",
            "does not ask it",
            "remove 'previous_plan' from [questionnaire] exclude",
        ],
    ),
    "sq_price_paid_excluded": (
        SQ_PLANS + '[questionnaire]\nexclude = ["price_paid"]\n',
        ["'price_paid'", "does not ask it", "or set price_from_paid = false"],
    ),
    "sq_plans_not_a_table": (
        '[status_quo]\nplans = "Basic"\n',
        ["[status_quo]", "'plans' must be a table", "'Basic'"],
    ),
    "sq_plans_empty": (
        "[status_quo]\nplans = {}\n",
        ["[status_quo]", "'plans' must be a table answer = {"],
    ),
    "sq_plan_profile_not_a_table": (
        SQ_PLANS.replace(
            'Basic = { plan = "Basic", speed = "100 Mbps", support = "Standard" }',
            'Basic = "Basic"',
        ),
        ["[status_quo] plans.Basic", "a profile must be a table of attribute = level", "'Basic'"],
    ),
    "sq_misspelt_key": (
        '[status_quo]\nlevel = { plan = "Basic" }\n',
        [
            "[status_quo]: unknown key 'level'",
            "Did you mean 'levels'?",
            "Valid keys: enabled, label, levels, plans, price_from_paid",
        ],
    ),
    "sq_enabled_not_a_boolean": (
        '[status_quo]\nenabled = "yes"\n',
        ["[status_quo]: 'enabled' must be true or false, got 'yes'"],
    ),
}


@pytest.mark.parametrize(("text", "parts"), STATUS_QUO_CASES.values(), ids=STATUS_QUO_CASES.keys())
def test_status_quo_problems_are_refused_when_the_study_is_loaded(tmp_path, text, parts):
    _refused(tmp_path, SMALL_STUDY + text, *parts)


def test_sq_not_a_table(tmp_path):
    _refused(tmp_path, 'status_quo = "yes"\n' + SMALL_STUDY, "[status_quo] must be a table")


def test_sq_price_from_paid_without_a_price_attribute(tmp_path):
    text = SMALL_STUDY.replace('name = "price"', 'name = "fee"') + SQ_PLANS
    _refused(tmp_path, text, "price_from_paid = true needs a price attribute", "has none")


def test_sq_plans_when_previous_plan_is_open_text(tmp_path):
    study = SMALL_STUDY.replace('name = "plan"', 'name = "tier"').replace("plan = {", "tier = {")
    text = study + SQ_PLANS.replace("plan = ", "tier = ")
    _refused(
        tmp_path,
        text,
        "'previous_plan' must be a single question",
        "got a text question",
        'previous_plan_attribute = "<attribute>"',
    )


def test_sq_every_problem_is_reported_at_once(tmp_path):
    text = (
        SMALL_STUDY
        + SQ_PLANS.replace('speed = "1 Gbps"', 'speed = "2 Gbps"')
        + ("[priors]\nsd = { plan = -1.0 }\n")
    )
    msg = _refused(tmp_path, text, "2 problems", "'2 Gbps'", "plan[Standard] = -1.0")
    assert msg.count("\n  - ") == 2


@pytest.mark.parametrize("paid", ["-5", "abc", float("inf")], ids=["negative", "text", "infinite"])
def test_sq_unusable_price_paid_names_the_value(paid):
    sq = make_study(SMALL_STUDY + SQ_PLANS).status_quo
    assert sq is not None
    with pytest.raises(WinbackError, match=r"price_paid answer, a number >= 0; got"):
        sq.profile_for("Basic", paid)


# -- study files: priors ----------------------------------------------------------------------

PRIOR_CASES = {
    "prior_list_of_the_wrong_length": (
        "[priors]\nmean = { plan = [0.1, 0.2, 0.3] }\n",
        ["[priors] mean.plan", "a list of 2 numbers", "[0.1, 0.2, 0.3]"],
    ),
    "prior_sd_negative": (
        "[priors]\nsd = { speed = -0.5 }\n",
        [
            "[priors]",
            "every sd must be positive and finite",
            "speed[500 Mbps] = -0.5, speed[1 Gbps] = -0.5",
        ],
    ),
    "prior_sd_zero": ("[priors]\nsd = 0.0\n", ["every sd must be positive", "price = 0.0"]),
    "prior_mean_nan": (
        "[priors]\nmean = { price = nan }\n",
        ["[priors]", "every mean must be a finite number", "price = nan"],
    ),
    "prior_sd_infinite": (
        "[priors]\nsd = { none = inf }\n",
        ["every sd must be positive and finite", "none = inf"],
    ),
    "prior_mean_unknown_level": (
        "[priors]\nmean = { plan = { Platinum = 1.0 } }\n",
        [
            "[priors] mean.plan",
            "unknown level 'Platinum'",
            "Valid levels: Basic, Standard, Premium",
        ],
    ),
    "prior_mean_for_the_reference_level": (
        "[priors]\nmean = { plan = { Basic = 1.0 } }\n",
        ["'Basic' is the reference level (fixed at 0)", "Standard, Premium"],
    ),
    "prior_correlation_of_the_wrong_size": (
        '[priors]\nkind = "correlated"\ncorrelation = [[1.0, 0.0], [0.0, 1.0]]\n',
        ["[priors]", "'correlation' must be a 7 x 7 matrix"],
    ),
    "prior_correlation_not_positive_definite": (
        '[priors]\nkind = "correlated"\ncorrelation = ['
        + ", ".join(
            "[" + ", ".join("1.0" if i == j or {i, j} == {0, 1} else "0.0" for j in range(7)) + "]"
            for i in range(7)
        )
        + "]\n",
        ["[priors]", "'correlation' is not positive definite"],
    ),
    "prior_draws_zero": (
        "[priors]\nmean = 0.1\ndraws = 0\n",
        ["[priors]: 'draws' = 0", "at least 1"],
    ),
    "prior_for_an_unknown_attribute": (
        "[priors]\nmean = { prise = -0.05 }\n",
        ["[priors] mean: unknown attribute 'prise'", "Did you mean 'price'?"],
    ),
}


@pytest.mark.parametrize(("text", "parts"), PRIOR_CASES.values(), ids=PRIOR_CASES.keys())
def test_prior_problems_are_refused_when_the_study_is_loaded(tmp_path, text, parts):
    _refused(tmp_path, SMALL_STUDY + text, *parts)


# -- design files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    study = make_study(SMALL_STUDY, method="balanced_overlap", versions=2)
    return study, make_design(study)


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "design.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _design_error(read, path: Path, study, *parts: str) -> str:
    with pytest.raises(DesignError) as info:
        read(path, study)
    msg = str(info.value)
    assert str(path) in msg, f"the file is not named: {msg}"
    for part in parts:
        assert part in msg, f"{part!r} not in: {msg}"
    return msg


def test_design_csv_with_a_repeated_row(tmp_path, small):
    study, design = small
    f = design.to_frame()
    f = pd.concat([f.iloc[:1], f]).reset_index(drop=True)
    _design_error(
        read_design_csv, _csv(tmp_path, f), study, "version/task/alt repeated at rows 2, 3"
    )


def test_design_csv_with_a_missing_attribute_column(tmp_path, small):
    study, design = small
    f = design.to_frame().drop(columns="speed")
    _design_error(
        read_design_csv, _csv(tmp_path, f), study, "missing column(s) speed", "A design needs"
    )


def test_design_csv_with_an_unknown_level(tmp_path, small):
    study, design = small
    f = design.to_frame()
    f.loc[4, "plan"] = "Platinum"
    _design_error(
        read_design_csv,
        _csv(tmp_path, f),
        study,
        "row 6, column 'plan': unknown level 'Platinum'",
        "Valid levels: Basic, Standard, Premium",
    )


def test_design_csv_with_a_missing_alternative(tmp_path, small):
    study, design = small
    f = design.to_frame().drop(index=7).reset_index(drop=True)
    _design_error(read_design_csv, _csv(tmp_path, f), study, "found 47 rows", "(48 rows)")


def test_design_csv_with_a_byte_order_mark_reads_the_same_design(tmp_path, small):
    study, design = small
    path = tmp_path / "design.csv"
    write_design_csv(design, path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    back = read_design_csv(path, study)
    np.testing.assert_array_equal(back.levels, design.levels)


def test_design_csv_with_semicolons(tmp_path, small):
    study, design = small
    path = tmp_path / "design.csv"
    design.to_frame().to_csv(path, index=False, sep=";")
    _design_error(
        read_design_csv,
        path,
        study,
        "line 1 is 'version;task;alt;",
        "separated by semicolons",
        "comma-separated",
    )


def test_design_csv_empty_and_header_only(tmp_path, small):
    study, _ = small
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _design_error(read_design_csv, empty, study, "the file is empty")
    header = tmp_path / "header.csv"
    header.write_text("version,task,alt,plan,speed,support,price,holdout\n")
    _design_error(read_design_csv, header, study, "has a header but no rows")


def test_design_file_not_found_or_a_folder(tmp_path, small):
    study, _ = small
    with pytest.raises(DesignError, match=r"design file not found: .*nowhere\.csv"):
        read_design_csv(tmp_path / "nowhere.csv", study)
    _design_error(read_design_csv, tmp_path, study, "is a folder, not a design file")


def test_a_task_showing_one_profile_twice_is_unusable(tmp_path, small):
    study, design = small
    f = design.to_frame()
    f.loc[1, study.attribute_names] = f.loc[0, study.attribute_names]  # task 1: alt 2 = alt 1
    diag = inspect_design(read_design_csv(_csv(tmp_path, f), study))
    assert diag.verdict == "Unusable"
    assert "1 tasks show the same profile twice." in diag.reasons


def test_a_duplicated_task_is_noted_with_its_place(tmp_path, small):
    study, design = small
    f = design.to_frame()
    first = f[(f["version"] == 2) & (f["task"] == 1)][study.attribute_names].to_numpy()
    f.loc[(f["version"] == 2) & (f["task"] == 5), study.attribute_names] = first[::-1]
    diag = inspect_design(read_design_csv(_csv(tmp_path, f), study))
    assert diag.summary["n_repeated_tasks"] == 1
    assert any("version 2: task 5 repeats task 1" in n for n in diag.notes), diag.notes


def test_sawtooth_design_problems(tmp_path, small):
    study, design = small
    path = tmp_path / "design_sawtooth.csv"
    write_sawtooth_design(design, path)
    good = pd.read_csv(path)
    bad = good.drop(columns="Att3")
    _design_error(
        read_sawtooth_design,
        _csv(tmp_path, bad, "s1.csv"),
        study,
        "missing Sawtooth column(s) Att3",
        "expected Version, Task, Concept, Att1, Att2, Att3, Att4",
    )
    extra = good.assign(Att5=1)
    _design_error(
        read_sawtooth_design,
        _csv(tmp_path, extra, "s2.csv"),
        study,
        "column(s) Att5",
        "has 4 attributes",
        "plan, speed, support, price",
    )
    out = good.copy()
    out.loc[3, "Att4"] = 5
    _design_error(
        read_sawtooth_design,
        _csv(tmp_path, out, "s3.csv"),
        study,
        "row 5, column Att4 (price): level code 5 outside 1..4",
    )
    text = good.astype(str)
    text.loc[2, "Att1"] = "two"
    _design_error(
        read_sawtooth_design,
        _csv(tmp_path, text, "s4.csv"),
        study,
        "row 4, column Att1: 'two' is not a whole number",
    )
    neg = good.copy()
    neg.loc[0, "Version"] = -1
    _design_error(
        read_sawtooth_design,
        _csv(tmp_path, neg, "s5.csv"),
        study,
        "row 2, column Version: -1",
        "valid: 0 (fixed tasks) or a version number",
    )
    fixed = good.assign(Version=0)
    _design_error(read_sawtooth_design, _csv(tmp_path, fixed, "s6.csv"), study, "only fixed tasks")


def test_qualtrics_design_problems(tmp_path, small):
    study, design = small
    path = tmp_path / "design_qualtrics.csv"
    write_qualtrics_design(design, path)
    good = pd.read_csv(path)
    _design_error(
        read_qualtrics_design,
        _csv(tmp_path, good.drop(columns="speed"), "q1.csv"),
        study,
        "no column for feature 'speed'",
        "expected question_set, question, choice",
        "plan, speed, support, price",
    )
    out = good.copy()
    out.loc[2, "plan"] = 4
    _design_error(
        read_qualtrics_design,
        _csv(tmp_path, out, "q2.csv"),
        study,
        "row 4, column 'plan': '4' is not a recode value 1..3",
    )


def test_more_alternatives_than_distinct_profiles(tmp_path):
    text = """
    [study]
    name = "tiny"
    [[attributes]]
    name = "x"
    levels = ["a", "b"]
    [design]
    alternatives = 3
    """
    _refused(
        tmp_path, text, "[design]: 3 alternatives per task, but only 2 distinct profiles exist"
    )
