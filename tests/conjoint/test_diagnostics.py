"""Design diagnostics: Street-Burgess worked examples, errors, precision, sample size, verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conjoint import design_from_frame, inspect_design, make_design
from conjoint.diagnostics import (
    street_burgess_efficiency,
    street_burgess_information,
    street_burgess_optimum,
)
from tests.conftest import SMALL_STUDY, make_study

# -- Street & Burgess (2007): optimal main-effects designs and hand-derived examples -----------


def test_two_by_two_foldover_is_100_percent_with_the_textbook_information_matrix():
    sets = [[[0, 0], [1, 1]], [[0, 1], [1, 0]]]
    c = street_burgess_information(np.array(sets), [2, 2])
    np.testing.assert_allclose(c, np.eye(2) / 4, atol=1e-15)
    assert street_burgess_optimum([2, 2], 2) == pytest.approx(1 / 16)
    assert street_burgess_efficiency(sets, [2, 2]) == pytest.approx(1.0, abs=1e-12)


def test_two_cubed_foldover_is_100_percent():
    # the 2^(3-1) fraction {000, 011, 101, 110} with generator 111
    base = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    sets = np.stack([base, 1 - base], axis=1)
    assert street_burgess_efficiency(sets, [2, 2, 2]) == pytest.approx(1.0, abs=1e-12)


def test_all_pairs_of_a_three_level_attribute_is_optimal_and_a_subset_is_not():
    all_pairs = [[[0], [1]], [[1], [2]], [[0], [2]]]
    assert street_burgess_efficiency(all_pairs, [3]) == pytest.approx(1.0, abs=1e-12)
    # {(0,1),(1,2)}: C = diag(1/8, 3/8) in orthonormal contrasts, optimum det 1/16
    two_pairs = [[[0], [1]], [[1], [2]]]
    assert street_burgess_efficiency(two_pairs, [3]) == pytest.approx(math.sqrt(3 / 4), abs=1e-12)


@pytest.mark.parametrize(
    ("levels", "m", "s"),
    [(2, 2, 1), (2, 3, 2), (3, 3, 3), (4, 3, 3), (3, 4, 5), (2, 4, 4), (5, 2, 1)],
)
def test_optimum_matches_the_s_q_formula(levels, m, s):
    # single attribute: det C_opt = (2 S / (m^2 (l - 1)))^(l - 1)
    want = (2 * s / (m * m * (levels - 1))) ** (levels - 1)
    assert street_burgess_optimum([levels], m) == pytest.approx(want)


def test_latin_square_choice_sets_of_three_level_attributes_are_optimal():
    # 3 attributes, 3 levels, m = 3: each set shows every level of every attribute once
    sets = []
    for shift_b in range(3):
        for shift_c in range(3):
            sets.append([[i, (i + shift_b) % 3, (i + shift_c) % 3] for i in range(3)])
    assert street_burgess_efficiency(sets, [3, 3, 3]) == pytest.approx(1.0, abs=1e-12)


def test_a_constant_attribute_gives_zero_efficiency():
    sets = [[[0, 0], [0, 1]], [[1, 0], [1, 1]]]
    assert street_burgess_efficiency(sets, [2, 2]) == 0.0


# -- inspect_design ----------------------------------------------------------------------------


def _frame(study, rows):
    names = study.attribute_names
    return pd.DataFrame(rows, columns=["version", "task", "alt", *names])


def test_unidentified_design_is_unusable_with_reasons(small_study):
    # price never varies and "Premium" is never shown
    rows = []
    for t in range(1, 5):
        for j, plan in enumerate(["Basic", "Standard", "Basic"], start=1):
            speed = ["100 Mbps", "500 Mbps", "1 Gbps"][(t + j) % 3]
            rows.append([1, t, j, plan, speed, ["Standard", "Priority"][(t + j) % 2], 30.0])
    design = design_from_frame(_frame(small_study, rows), small_study)
    diag = inspect_design(design)
    assert diag.verdict == "Unusable"
    text = " ".join(diag.reasons)
    assert "not all identified" in text
    assert "plan = Premium" in text


def test_standard_errors_shrink_with_sqrt_n_and_min_respondents_meets_target(small_study):
    design = make_design(small_study)
    d100 = inspect_design(design, n_respondents=100)
    d400 = inspect_design(design, n_respondents=400)
    ratio = d100.standard_errors["se"] / d400.standard_errors["se"]
    np.testing.assert_allclose(ratio, 2.0, rtol=1e-9)
    n = d100.summary["min_respondents"]
    at_n = inspect_design(design, n_respondents=n)
    assert at_n.summary["max_se"] <= 0.05 + 1e-12, (
        f"at the advised {n} respondents the largest SE is {at_n.summary['max_se']:.4f}"
    )
    below = inspect_design(design, n_respondents=max(n - 5, 1))
    assert below.summary["max_se"] > 0.05 * 0.99


def test_johnson_orme_rule(small_study):
    design = make_design(small_study, method="balanced_overlap")
    diag = inspect_design(design)
    # 500 * c / (t * a): c = 4 levels (price), t = 8 tasks, a = 3 alternatives
    assert diag.summary["johnson_orme_n"] == math.ceil(500 * 4 / (8 * 3))


def test_dominated_alternatives_are_counted_and_warned(small_study):
    rows = []
    for t in range(1, 13):
        for j in range(1, 4):
            plan = ["Basic", "Standard", "Premium"][(t + j) % 3]
            speed = ["100 Mbps", "500 Mbps", "1 Gbps"][(2 * t + j) % 3]
            support = ["Standard", "Priority"][(t * j) % 2]
            price = [30.0, 40.0, 50.0, 60.0][(t + 2 * j) % 4]
            rows.append([1, t, j, plan, speed, support, price])
    # task 1: alternative 1 dominates alternative 2 (same plan, better on every ordered one)
    rows[0] = [1, 1, 1, "Basic", "1 Gbps", "Priority", 30.0]
    rows[1] = [1, 1, 2, "Basic", "100 Mbps", "Standard", 60.0]
    design = design_from_frame(_frame(small_study, rows), small_study)
    diag = inspect_design(design)
    assert diag.summary["n_dominated"] >= 1
    assert any("dominated" in r for r in diag.reasons)


def test_d_errors_and_street_burgess_reported_and_consistent(small_study):
    design = make_design(small_study)
    diag = inspect_design(design, n_respondents=2000)
    s = diag.summary
    assert 0 < s["d0_error"] < 10 and math.isfinite(s["a_error"])
    assert 0.5 < s["sb_efficiency"] <= 1.0 + 1e-12
    assert diag.verdict in ("OK", "Warning")
    assert set(diag.level_balance.columns) == {"attribute", "level", "count", "share"}
    d = diag.to_dict()
    assert d["verdict"] == diag.verdict and len(d["standard_errors"]) == s["n_parameters"]
    assert "Street-Burgess" in diag.report()


def test_null_prior_d_error_matches_hand_computation():
    study = make_study(
        """
        [study]
        name = "tiny"
        [[attributes]]
        name = "x"
        levels = ["a", "b"]
        [design]
        alternatives = 2
        tasks = 1
        """
    )
    frame = pd.DataFrame({"version": [1, 1], "task": [1, 1], "alt": [1, 2], "x": ["a", "b"]})
    design = design_from_frame(frame, study)
    # one binary task at beta = 0: information p(1-p) = 1/4, D-error = 4
    assert inspect_design(design).summary["d0_error"] == pytest.approx(4.0)


def test_inspect_needs_no_prior_for_a_null_study():
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="shortcut")
    diag = inspect_design(design)
    assert diag.summary["prior"] == "null"
    assert diag.summary["db_error"] == diag.summary["d0_error"]


# -- the stated prior mean (issue 14): Dp, A-error and standard errors ---------------------------

PRIOR_STUDY = """
[study]
name = "prior mean"
[[attributes]]
name = "a"
levels = ["a1", "a2", "a3"]
[[attributes]]
name = "b"
levels = ["b1", "b2"]
[design]
alternatives = 2
tasks = 4
seed = 5
[priors]
kind = "normal"
draws = 3
mean = { a = [0.8, -0.4], b = 1.2 }
sd = 2.0
"""
#: four tasks of two alternatives: (a, b) level indices
PRIOR_TASKS = [
    [(0, 0), (1, 1)],
    [(1, 0), (2, 1)],
    [(2, 0), (0, 1)],
    [(0, 1), (2, 0)],
]


def _hand_information(beta: np.ndarray) -> np.ndarray:
    """Sum over tasks of X'(diag p - p p')X with dummy columns a2, a3, b2 (plain numpy)."""
    info = np.zeros((3, 3))
    for task in PRIOR_TASKS:
        x = np.array([[a == 1, a == 2, b == 1] for a, b in task], dtype=float)
        u = x @ beta
        p = np.exp(u - u.max())
        p /= p.sum()
        info += x.T @ (np.diag(p) - np.outer(p, p)) @ x
    return info


def _prior_design():
    from conjoint import prior_draws

    study = make_study(PRIOR_STUDY)
    rows = [
        [1, t, j, f"a{a + 1}", f"b{b + 1}"]
        for t, task in enumerate(PRIOR_TASKS, start=1)
        for j, (a, b) in enumerate(task, start=1)
    ]
    design = design_from_frame(_frame(study, rows), study)
    return study, design, prior_draws(study, seed=5)


def test_dp_a_error_and_standard_errors_use_the_stated_prior_mean_to_1e_10():
    study, design, draws = _prior_design()
    diag = inspect_design(design, n_respondents=100, random_seed=5)
    s = diag.summary
    stated = np.array([0.8, -0.4, 1.2])
    info = _hand_information(stated)
    dp = np.linalg.det(info) ** (-1 / 3)
    cov = np.linalg.inv(info)
    assert s["prior_mean"] == pytest.approx(stated.tolist(), abs=1e-15)
    assert abs(s["dp_error"] - dp) < 1e-10, f"Dp {s['dp_error']!r} != hand {dp!r}"
    assert abs(s["a_error"] - np.trace(cov) / 3) < 1e-10, (
        f"A-error {s['a_error']!r} != hand {np.trace(cov) / 3!r}"
    )
    np.testing.assert_allclose(
        diag.standard_errors["se"], np.sqrt(np.diag(cov) / 100), rtol=0, atol=1e-10
    )
    # the three draws' mean is far from the stated mean, and Dp there is noticeably different
    draw_mean = draws.mean(axis=0)
    dp_draws = np.linalg.det(_hand_information(draw_mean)) ** (-1 / 3)
    assert np.abs(draw_mean - stated).max() > 0.3, f"draw mean {draw_mean} too close to {stated}"
    assert abs(dp_draws - dp) / dp > 0.01, f"Dp at the draw mean {dp_draws} vs stated {dp}"
    assert abs(s["dp_error"] - dp_draws) > 0.01 * dp
    # DB-error stays the average D-error over the draws
    db = np.mean([np.linalg.det(_hand_information(b)) ** (-1 / 3) for b in draws])
    assert abs(s["db_error"] - db) < 1e-10, f"DB {s['db_error']!r} != hand {db!r}"


def test_prior_mean_of_a_sign_prior_is_the_half_normal_mean_and_matches_many_draws():
    from conjoint import prior_draws, prior_mean

    study = make_study(
        SMALL_STUDY
        + """
[priors]
kind = "sign"
draws = 4000
sign = { speed = "increasing", price = "negative", none = "negative" }
sd = { speed = 0.5, price = 0.03, none = 2.0 }
mean = { plan = [0.3, 0.6] }
"""
    )
    m = prior_mean(study)
    c = math.sqrt(2 / math.pi)
    # plan[Standard], plan[Premium], speed[500 Mbps], speed[1 Gbps], support, price, none
    want = [0.3, 0.6, 0.5 * c, 1.0 * c, 0.0, -0.03 * c, -2.0 * c]
    np.testing.assert_allclose(m, want, rtol=0, atol=1e-12)
    draws = prior_draws(study, seed=3)
    np.testing.assert_allclose(draws.mean(axis=0), want, rtol=0, atol=0.02)


def test_prior_mean_does_not_move_with_the_number_of_draws_or_the_seed():
    study, design, _ = _prior_design()
    few = inspect_design(design, random_seed=1)
    other = inspect_design(design, random_seed=2)
    assert few.summary["dp_error"] == other.summary["dp_error"]
    assert few.summary["db_error"] != other.summary["db_error"]


# -- no sentinels (issue 14): words in text, null in JSON -----------------------------------------


def test_an_unidentified_design_says_so_in_words_and_writes_null_not_minus_one(small_study):
    import json

    rows = []
    for t in range(1, 5):
        for j, plan in enumerate(["Basic", "Standard", "Basic"], start=1):
            speed = ["100 Mbps", "500 Mbps", "1 Gbps"][(t + j) % 3]
            rows.append([1, t, j, plan, speed, ["Standard", "Priority"][(t + j) % 2], 30.0])
    diag = inspect_design(design_from_frame(_frame(small_study, rows), small_study))
    s = diag.summary
    assert s["min_respondents"] is None and s["max_se"] is None and not s["identified"]
    assert "no sample size gives standard errors <= 0.05" in s["min_respondents_note"]
    assert "plan[Premium]" in s["unidentified_parameters"], s["unidentified_parameters"]
    text = json.dumps(diag.to_dict(), allow_nan=False)  # no Infinity/NaN: valid JSON
    back = json.loads(text)
    assert back["min_respondents"] is None and back["dp_error"] is None
    assert all(r["se"] is None for r in back["standard_errors"])
    report = diag.report()
    assert "-1" not in report and "inf" not in report.replace("information", ""), report
    assert "respondents for standard errors <= 0.05: not identified: some parameters" in report


def test_repeated_tasks_are_noted_with_where(small_study):
    rows = []
    for t in range(1, 13):
        src = 1 if t == 7 else t  # task 7 repeats task 1 (alternatives in another order)
        for j in range(1, 4):
            jj = 4 - j if t == 7 else j
            plan = ["Basic", "Standard", "Premium"][(src + jj) % 3]
            speed = ["100 Mbps", "500 Mbps", "1 Gbps"][(2 * src + jj) % 3]
            support = ["Standard", "Priority"][(src * jj) % 2]
            price = [30.0, 40.0, 50.0, 60.0][(src + 2 * jj) % 4]
            rows.append([1, t, j, plan, speed, support, price])
    diag = inspect_design(design_from_frame(_frame(small_study, rows), small_study))
    assert diag.summary["n_repeated_tasks"] == 1
    assert any("version 1: task 7 repeats task 1" in n for n in diag.notes), diag.notes
