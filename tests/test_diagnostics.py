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
