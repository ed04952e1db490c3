"""Counts: shares chosen when shown, by hand on a tiny dataset, and under equal utilities."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from analysis import counts as analysis_counts
from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset
from surveys.counts import COUNT_COLUMNS, counts
from tests.conftest import BENCH_STUDY, SMALL_HOLDOUT, SMALL_STUDY, make_study
from winback.errors import ParameterError, WinbackError

STATUS_QUO = """
[status_quo]
label = "Your previous plan"
levels = { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 }
"""

TINY = """
[study]
name = "tiny"
none_option = true

[[attributes]]
name = "plan"
levels = ["A", "B"]

[[attributes]]
name = "price"
levels = [10.0, 20.0]
coding = "linear"

[design]
alternatives = 2
tasks = 2
versions = 1
"""

#: (respondent, task, alternative) -> (plan, price); the chosen alternative of each task
SHOWN = {
    ("r1", 1): [("A", 10.0), ("B", 20.0)],
    ("r1", 2): [("B", 10.0), ("A", 20.0)],
    ("r2", 1): [("A", 20.0), ("B", 10.0)],
    ("r2", 2): [("B", 20.0), ("A", 10.0)],
    ("r3", 1): [("A", 10.0), ("B", 20.0)],
    ("r3", 2): [("A", 20.0), ("B", 10.0)],
}
CHOSEN = {("r1", 1): "1", ("r1", 2): "none", ("r2", 1): "2", ("r2", 2): "1"}
CHOSEN |= {("r3", 1): "1", ("r3", 2): "1"}


def _tiny():
    study = make_study(TINY)
    rows = []
    for (r, t), alts in SHOWN.items():
        for j, (plan, price) in enumerate(alts, start=1):
            chosen = int(CHOSEN[(r, t)] == str(j))
            rows.append((r, 1, t, str(j), plan, price, chosen))
        rows.append((r, 1, t, "none", None, None, int(CHOSEN[(r, t)] == "none")))
    choices = pd.DataFrame(
        rows, columns=["respondent_id", "version", "task", "alt", "plan", "price", "chosen"]
    )
    people = pd.DataFrame(
        {"respondent_id": ["r1", "r2", "r3"], "main_reason": ["price", "service", "price"]}
    )
    data = make_dataset(choices, study, respondents=people)
    return data.exclude(["r3"], "speeder")  # r3 is left out of every count


def _wilson(k: int, n: int, band: float) -> tuple[float, float]:
    """The Wilson score interval written out from its formula."""
    z = {0.9: 1.6448536269514722, 0.8: 1.2815515655446004}[band]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def test_counts_equal_a_hand_count():
    """r1 and r2, two tasks of two offers and none each (r3 excluded): counted by hand."""
    data = _tiny()
    tab = counts(data, segment="main_reason", band=0.8)
    assert tuple(tab.columns) == COUNT_COLUMNS
    # segment, attribute, level -> (shown, chosen), counted by hand from SHOWN and CHOSEN
    hand = {
        ("all", "plan", "A"): (4, 1),
        ("all", "plan", "B"): (4, 2),
        ("all", "price", "10"): (4, 2),
        ("all", "price", "20"): (4, 1),
        ("all", "none", "none"): (4, 1),
        ("price", "plan", "A"): (2, 1),
        ("price", "plan", "B"): (2, 0),
        ("price", "price", "10"): (2, 1),
        ("price", "price", "20"): (2, 0),
        ("price", "none", "none"): (2, 1),
        ("service", "plan", "A"): (2, 0),
        ("service", "plan", "B"): (2, 2),
        ("service", "price", "10"): (2, 1),
        ("service", "price", "20"): (2, 1),
        ("service", "none", "none"): (2, 0),
    }
    got = {(r.segment, r.attribute, r.level): (r.shown, r.chosen) for r in tab.itertuples()}
    assert got == hand, f"winback {got}\nby hand {hand}"
    assert tab.groupby("segment")["respondents"].first().to_dict() == {
        "all": 2,
        "price": 1,
        "service": 1,
    }
    for r in tab.itertuples():
        lo, hi = _wilson(r.chosen, r.shown, 0.8)
        assert r.share == pytest.approx(r.chosen / r.shown)
        assert (r.lower, r.upper) == pytest.approx((lo, hi), abs=1e-12), r
    # the same function from analysis, with the default band
    default = analysis_counts(data)
    assert set(default["segment"]) == {"all"}
    row = default.set_index(["attribute", "level"]).loc[("plan", "B")]
    assert (row["lower"], row["upper"]) == pytest.approx(_wilson(2, 4, 0.9), abs=1e-12)


def test_counts_refuse_unknown_segments_and_bands():
    data = _tiny()
    with pytest.raises(WinbackError, match=r"'main_reasn' is not a respondent column.*main_reason"):
        counts(data, segment="main_reasn")
    with pytest.raises(ParameterError, match="band must be a probability"):
        counts(data, band=1.5)


@pytest.mark.recovery
@pytest.mark.parametrize(
    "text, per_task",
    [(BENCH_STUDY, 3), (SMALL_STUDY, 4), (SMALL_STUDY + SMALL_HOLDOUT + STATUS_QUO, 5)],
    ids=["forced", "none", "status-quo-and-holdout"],
)
def test_equal_utilities_give_one_over_the_alternatives(text, per_task):
    """A balanced design answered at random (all part-worths 0): every level, the none and the
    status quo are chosen about 1 / (alternatives per task, none and status quo included) of
    the times shown; each share within 4 binomial standard errors of it. Holdout tasks are not
    counted, and the counts are the same from the table's text as from validation's codes."""
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    zero = np.zeros(len(parameter_names(study)))
    responses = simulate_choices(design, zero, 8, n_respondents=250)
    data = make_dataset(responses, study, design=design)
    tab = counts(data)
    from_text = counts(dataclasses.replace(data, _codes=None))
    pd.testing.assert_frame_equal(tab, from_text)
    p = 1 / per_task
    tab["z"] = (tab["share"] - p) / np.sqrt(p * (1 - p) / tab["shown"])
    text_tab = tab[["attribute", "level", "shown", "chosen", "share", "z"]].round(3).to_string()
    assert (tab["z"].abs() < 4).all(), f"shares far from 1/{per_task}:\n{text_tab}"
    assert tab["share"].mean() == pytest.approx(p, abs=0.01), text_tab
    tasks = 250 * (design.n_tasks - int(design.holdout.sum()))
    for const in ("none", "status_quo"):
        if const in set(tab["attribute"]):
            assert tab.set_index("attribute").loc[const, "shown"] == tasks, text_tab
    assert (tab.groupby("attribute")["shown"].sum() >= tasks).all()


def test_dual_response_none_counts_the_would_not_buy_answers():
    study = make_study(SMALL_STUDY.replace("none_option = true", "dual_response_none = true"))
    design = make_design(study, method="balanced_overlap")
    truth = dict.fromkeys(parameter_names(study), 0.0)
    truth["none"] = 1.0  # P(would buy) = 1 / (1 + e) = 0.269 under equal utilities
    responses = simulate_choices(design, truth, 2, n_respondents=150)
    tab = counts(make_dataset(responses, study, design=design)).set_index("attribute")
    none = tab.loc["none"]
    no = int((responses["would_buy"] == 0).sum())
    assert (none["shown"], none["chosen"]) == (150 * design.n_tasks, no)
    assert none["share"] == pytest.approx(1 - 1 / (1 + math.e), abs=0.03)
    # the forced choice: every level about 1/3
    assert tab.drop(index="none")["share"].between(0.28, 0.39).all()


def test_a_labelled_design_counts_each_label():
    """Each label's alternative is shown once per task: its row's ``shown`` is the number of
    estimation tasks, and the labels' and the none's choices add up to one per task. With
    equal utilities each is chosen about a quarter of the times (3 labels + none)."""
    from tests.conjoint.test_labelled import LABELLED

    study = make_study(LABELLED)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(
        design, np.zeros(len(parameter_names(study))), 8, n_respondents=120
    )
    tab = counts(make_dataset(responses, study, design=design))
    labels = tab[tab["attribute"] == "label"].set_index("level")
    assert list(labels.index) == ["own", "rival_a", "rival_b"], labels.index
    tasks = 120 * design.n_tasks
    assert (labels["shown"] == tasks).all(), labels[["shown", "chosen"]]
    none = int(tab.loc[tab["attribute"] == "none", "chosen"].iloc[0])
    total = int(labels["chosen"].sum()) + none
    assert total == tasks, f"labels' and none's choices {total} != tasks {tasks}"
    z = (labels["share"] - 0.25) / np.sqrt(0.25 * 0.75 / tasks)
    assert (z.abs() < 4).all(), f"label shares far from 1/4: {labels['share'].round(3).to_dict()}"
