"""Design construction: efficiency targets, constraints for every method, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from conjoint import make_assignments, make_design, street_burgess_efficiency
from conjoint.constraints import Rules
from conjoint.encoding import linear_to_partworth, parameter_names, partworth_study
from conjoint.information import TaskModel
from tests.conftest import BENCH_STUDY, SMALL_HOLDOUT, SMALL_STUDY, make_study
from winback.errors import DesignError

METHODS = ["random", "shortcut", "balanced_overlap", "d_efficient"]

CONSTRAINED = """
[study]
name = "constrained"
none_option = true

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium", "Ultra"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "500 Mbps", "1 Gbps"]
preference = "increasing"

[[attributes]]
name = "tv"
levels = ["No TV", "TV"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]

[design]
alternatives = 3
tasks = 10
versions = 3
seed = 3
starts = 2
unique_levels = ["plan"]
no_dominated = true

[[prohibitions]]
plan = "Basic"
speed = ["1 Gbps", "500 Mbps"]

[[prohibitions]]
tv = "TV"
price = 30.0
"""


@pytest.mark.recovery
def test_d_efficient_null_prior_reaches_98_percent_street_burgess(bench_study):
    design = make_design(bench_study)
    eff = street_burgess_efficiency(design.estimation_levels()[0], [4, 3, 3, 3, 2])
    assert eff >= 0.98, f"Street-Burgess efficiency {eff:.4f} < 0.98 (idefix CEA: 0.984)"


def test_fedorov_null_prior_reaches_98_percent(bench_study):
    study = bench_study.replace_design(algorithm="fedorov", starts=4)
    design = make_design(study)
    eff = street_burgess_efficiency(design.estimation_levels()[0], [4, 3, 3, 3, 2])
    assert eff >= 0.98, f"modified Fedorov: Street-Burgess efficiency {eff:.4f} < 0.98"


def test_balanced_overlap_30_versions_pooled_99_percent(bench_study):
    design = make_design(bench_study, method="balanced_overlap", versions=30)
    pooled = design.estimation_levels().reshape(-1, 3, 5)
    eff = street_burgess_efficiency(pooled, [4, 3, 3, 3, 2])
    assert eff >= 0.99, f"balanced overlap, 30 versions pooled: {eff:.4f} < 0.99"
    # modest overlap: some tasks repeat a level of an attribute that has enough levels not to
    overlap = [np.mean([len(set(t[:, a])) < 3 for t in pooled]) for a in range(4)]
    assert max(overlap) < 0.2, f"overlap shares {overlap} not modest"


def test_shortcut_has_minimal_overlap(bench_study):
    design = make_design(bench_study, method="shortcut", versions=5)
    sets = design.estimation_levels().reshape(-1, 3, 5)
    for a in range(4):  # 4 or 3 levels with 3 alternatives: never a repeat
        assert all(len(set(t[:, a])) == 3 for t in sets), f"attribute {a} repeats a level"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_respects_prohibitions_and_task_constraints(method):
    study = make_study(CONSTRAINED)
    design = make_design(study, method=method)
    rules = Rules.from_study(study)
    lv = design.levels
    assert rules.allowed(lv).all(), f"{method}: a prohibited profile was shown"
    for task in lv.reshape(-1, 3, 4):
        assert len({tuple(r) for r in task}) == 3, f"{method}: duplicate profile in {task}"
        assert len(set(task[:, 0])) == 3, f"{method}: plan repeats within a task {task}"
        assert rules.n_dominated(task) == 0, f"{method}: dominated alternative in {task}"
    # every level still shown
    for a, n in enumerate(rules.n_levels):
        assert set(np.unique(lv[..., a])) == set(range(n)), f"{method}: attribute {a} lacks a level"


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_design_and_other_seed_differs(method, small_study):
    a = make_design(small_study, method=method, random_seed=11)
    b = make_design(small_study, method=method, random_seed=11)
    c = make_design(small_study, method=method, random_seed=12)
    assert np.array_equal(a.levels, b.levels)
    assert not np.array_equal(a.levels, c.levels)


def test_holdouts_are_appended_identical_and_marked():
    text = SMALL_STUDY + SMALL_HOLDOUT
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    assert design.n_tasks == 9 and design.n_holdouts == 1
    assert design.holdout.tolist() == [False] * 8 + [True]
    for v in range(design.n_versions):
        assert design.levels[v, 8].tolist() == [[0, 0, 0, 0], [2, 2, 1, 3], [1, 1, 0, 1]]
    frame = design.to_frame()
    assert set(frame.loc[frame.task == 9, "holdout"]) == {1}
    assert set(frame.loc[frame.task < 9, "holdout"]) == {0}
    assert design.estimation_levels().shape == (2, 8, 3, 4)


def test_time_budget_stops_and_says_so(bench_study):
    study = bench_study.replace_design(starts=500)
    design = make_design(study, max_seconds=0.3)
    assert design.search["stopped_by_time"] is True
    assert design.search["starts_run"] < 500
    # the budget is 0.3 s; a generous bound so that a loaded machine does not fail the test
    assert design.search["seconds"] < 30


def test_infeasible_constraints_give_clear_error():
    text = (
        SMALL_STUDY.replace("[design]", "[design]\nunique_levels = []\n")
        + """
[[prohibitions]]
plan = ["Basic", "Standard", "Premium"]
speed = ["100 Mbps", "500 Mbps", "1 Gbps"]
"""
    )
    study = make_study(text)
    with pytest.raises(DesignError, match="profiles are allowed by the prohibitions"):
        make_design(study)


def test_no_dominated_without_any_order_is_an_error():
    from winback.errors import StudyError

    text = BENCH_STUDY.replace("seed = 1", "seed = 1\nno_dominated = true")
    with pytest.raises(StudyError, match="no attribute has a preference order"):
        make_study(text)
    with pytest.raises(StudyError, match="no attribute has a preference order"):
        make_study(BENCH_STUDY).replace_design(no_dominated=True)


def test_numeric_preference_follows_values_not_listing_order():
    text = SMALL_STUDY.replace("[30.0, 40.0, 50.0, 60.0]", "[60.0, 50.0, 40.0, 30.0]")
    rules = Rules.from_study(make_study(text))
    # price listed high to low: the cheapest (index 3) must rank best under "decreasing"
    assert rules.ranks[3].tolist() == [0, 1, 2, 3]
    x = np.array([0, 0, 0, 3])  # Basic, 100 Mbps, Standard, 30
    y = np.array([0, 0, 0, 0])  # same at 60
    assert rules.dominates(x, y) and not rules.dominates(y, x)


def test_linear_price_design_tests_every_price_level(small_study):
    design = make_design(small_study)
    counts = np.bincount(design.levels[..., 3].ravel(), minlength=4)
    assert counts.min() >= 0.5 * counts.max(), f"price levels unevenly tested: {counts}"


def test_linear_to_partworth_maps_slopes_exactly(small_study):
    t = linear_to_partworth(small_study)
    names_pw = parameter_names(partworth_study(small_study))
    beta = np.array(
        [0.5, 1.0, 0.2, 0.4, 0.3, -0.05, -1.0]
    )  # plan x2, speed x2, support, price, none
    assert parameter_names(small_study)[5] == "price"
    mapped = dict(zip(names_pw, t @ beta, strict=True))
    assert mapped["price[40]"] == pytest.approx(-0.5)
    assert mapped["price[60]"] == pytest.approx(-1.5)
    assert mapped["none"] == pytest.approx(-1.0)


def _exact_information(
    model: TaskModel, task_rows: np.ndarray, beta: np.ndarray, dual: bool, none_index: int | None
) -> np.ndarray:
    """Expected information by enumerating every outcome and its score vector."""
    u = task_rows @ beta
    p = np.exp(u - u.max())
    p /= p.sum()
    xbar = p @ task_rows
    info = np.zeros((len(beta), len(beta)))
    for j in range(len(p)):
        score = task_rows[j] - xbar
        if not dual:
            info += p[j] * np.outer(score, score)
            continue
        z = task_rows[j].copy()
        z[none_index] -= 1.0
        q = 1 / (1 + np.exp(-(u[j] - beta[none_index])))
        for buy, pb in ((1, q), (0, 1 - q)):
            s = score + (buy - q) * z
            info += p[j] * pb * np.outer(s, s)
    return info


@pytest.mark.parametrize("dual", [False, True])
def test_information_matches_enumerated_expected_score_outer_product(small_study, dual):
    from dataclasses import replace

    study = replace(small_study, dual_response_none=dual, none_option=not dual)
    model = TaskModel.from_study(study)
    rng = np.random.default_rng(0)
    beta = rng.normal(size=model.k)
    task = np.array([[0, 1, 0, 2], [2, 0, 1, 0], [1, 2, 1, 3]])
    rows = model.rows(task[None])[0]
    got = model.information(rows[None], beta[None])[0, 0]
    want = _exact_information(model, rows, beta, dual, model.encoding.none_index)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_assignments_balance_versions_and_shuffle_order(small_study):
    design = make_design(small_study, method="balanced_overlap")
    plan = make_assignments(design, 10, random_seed=3)
    per_resp = plan.groupby("respondent_id")
    assert plan.groupby("respondent_id")["version"].first().value_counts().tolist() == [5, 5]
    for _, g in per_resp:
        assert sorted(g["task_position"].unique()) == list(range(1, 9))
        for _, t in g.groupby("task"):
            assert sorted(t["alt_position"]) == [1, 2, 3]
    orders = {tuple(g.drop_duplicates("task")["task"]) for _, g in per_resp}
    assert len(orders) > 1, "task order was not shuffled between respondents"


def test_design_does_not_mutate_and_is_read_only(small_study):
    before = repr(small_study)
    design = make_design(small_study, method="random")
    assert repr(small_study) == before
    with pytest.raises(ValueError):
        design.levels[0, 0, 0, 0] = 1


@pytest.mark.parametrize("fixed", [True, False])
def test_status_quo_alternative_in_design_information_and_simulation(fixed):
    from conjoint import inspect_design, simulate_choices

    sq = '[status_quo]\nlabel = "Your previous plan"\n' + (
        'levels = { plan = "Premium", speed = "500 Mbps", support = "Standard", price = 60.0 }\n'
        if fixed
        else "price_from_paid = true\n[status_quo.plans]\n"
        + "".join(
            f'{p} = {{ plan = "{p}", speed = "500 Mbps", support = "Standard" }}\n'
            for p in ("Basic", "Standard", "Premium")
        )
    )
    study = make_study(SMALL_STUDY + sq)
    names = parameter_names(study)
    assert names[-2:] == ["none", "status_quo"]
    design = make_design(study)
    diag = inspect_design(design)
    assert np.isfinite(diag.summary["d0_error"]), diag.report()
    truth = dict.fromkeys(names, 0.0) | {"status_quo": 0.5, "price": -0.03}
    resp = simulate_choices(design, truth, 1, n_respondents=30)
    sq_rows = resp[resp["alt"] == "status_quo"]
    assert len(sq_rows) == 30 * 8
    if fixed:
        assert set(sq_rows["plan"]) == {"Premium"} and set(sq_rows["price"]) == {60.0}
    else:  # each respondent's own plan, drawn for the simulation
        assert sq_rows.groupby("respondent_id")["plan"].nunique().eq(1).all()
        assert set(sq_rows["plan"]) == {"Basic", "Standard", "Premium"}
        assert sq_rows[["plan", "price"]].notna().all().all()
    assert (resp.groupby(["respondent_id", "task"])["chosen"].sum() == 1).all()


PRIOR = """
[priors]
kind = "normal"
draws = 40
[priors.mean]
a = [-0.5, 0.0, 0.5]
b = [-0.5, 0.5]
c = [-0.5, 0.5]
d = [-0.5, 0.5]
e = 0.5
"""


def test_bayesian_design_beats_null_design_on_the_prior_and_diagnostics_agree():
    from conjoint import inspect_design, prior_draws
    from conjoint.information import d_error

    study = make_study(BENCH_STUDY + PRIOR, starts=4)
    bayes = make_design(study)
    null = make_design(study.replace_design(), random_seed=1)  # same settings...
    from dataclasses import replace

    from winback.study import Priors

    null = make_design(replace(study, priors=Priors()), random_seed=1)
    draws = prior_draws(study, seed=1)
    model = TaskModel.from_study(study)

    def db(design):
        info = model.information(model.rows(design.estimation_levels()[0]), draws).sum(axis=0)
        return float(d_error(info).mean())

    assert db(bayes) < db(null), f"Bayesian DB {db(bayes):.4f} not below null design {db(null):.4f}"
    assert bayes.search["db_error"] == pytest.approx(db(bayes), rel=1e-9)
    diag = inspect_design(bayes)
    assert diag.summary["db_error"] == pytest.approx(db(bayes), rel=1e-9)
    assert diag.summary["prior"] == "normal" and diag.summary["prior_draws"] == 40


def test_low_rank_coordinate_exchange_makes_the_same_moves_as_the_plain_one():
    from conjoint import prior_draws
    from conjoint.design_search import (
        coordinate_exchange,
        coordinate_exchange_lowrank,
        random_version,
    )

    attrs = "".join(
        f'\n[[attributes]]\nname = "x{i}"\nlevels = ["a", "b", "c", "d"]\n' for i in range(6)
    )
    text = (
        f'[study]\nname = "many parameters"\nnone_option = true\n{attrs}\n'
        '[design]\nalternatives = 3\ntasks = 10\n[priors]\nkind = "normal"\ndraws = 20\nsd = 0.5\n'
    )
    study = make_study(text)
    model = TaskModel.from_study(study)
    assert model.k == 19
    rules = Rules.from_study(study)
    beta = prior_draws(study, seed=2)
    start = random_version(rules, rules.candidates(), 10, 3, np.random.default_rng(4))
    plain, e1 = coordinate_exchange(model, beta, rules, start, deadline=1e12)
    fast, e2 = coordinate_exchange_lowrank(model, beta, rules, start, deadline=1e12)
    assert np.array_equal(plain, fast), "the low-rank search took different moves"
    assert e2 == pytest.approx(e1, rel=1e-9)
