"""flag_quality: speeders, straight-liners, always-none, random responders (RLH), repeated
holdouts and duplicates; flags never exclude anyone and never change the input."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset
from surveys.quality import FLAG_COLUMNS, flag_quality
from tests.conftest import SMALL_HOLDOUT, SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import WinbackError
from winback.example import make_example_study

# heterogeneity: 0.5 on each part-worth, 0.01 per unit of price (a scalar sd would apply 0.5 to
# the price slope too, making many respondents choose none in every task)
SD = {**{k: 0.5 for k in SMALL_TRUTH}, "price": 0.01}

REPEATED_HOLDOUT = (
    SMALL_HOLDOUT
    + """
[[holdouts]]
name = "h1_again"
alternatives = [
  { plan = "Premium", speed = "1 Gbps", support = "Priority", price = 60.0 },
  { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 },
  { plan = "Basic", speed = "100 Mbps", support = "Standard", price = 30.0 },
]
"""
)


def _choose(responses: pd.DataFrame, rid: str, task: int, alt: str) -> None:
    """Make respondent ``rid`` choose ``alt`` in ``task`` (in place, on a test's own frame)."""
    rows = (responses["respondent_id"] == rid) & (responses["task"] == task)
    responses.loc[rows, "chosen"] = (responses.loc[rows, "alt"] == alt).astype(int)


# --------------------------------------------------------------------------------------------
# Acceptance: random responders found by RLH against simulated random respondents
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_sample():
    """540 real respondents plus 60 (10%) random responders on the example study.

    The example study as shipped (3 alternatives + none, 12 estimation tasks + 1 holdout, a
    30-version balanced-overlap design) and its true part-worths, which give real respondents
    an RLH of about 0.55 under their own true part-worths (0.25 for random answering), typical
    of CBC/HB studies. Random responders answer with all part-worths zero, i.e. uniformly at
    random among the 4 alternatives.
    """
    ex = make_example_study()
    design = make_design(ex.study)
    assert design.method == "balanced_overlap" and design.n_versions == 30
    names = parameter_names(ex.study)
    rng = np.random.default_rng(2024)
    n_real, n_random = 540, 60
    n = n_real + n_random
    mean = np.array([ex.true_means[k] for k in names])
    sd = np.array([ex.true_sd[k] for k in names])
    betas = mean + rng.standard_normal((n, len(names))) * sd
    is_random = np.zeros(n, dtype=bool)
    is_random[rng.choice(n, n_random, replace=False)] = True
    betas[is_random] = 0.0
    ids = [f"r{i + 1:03d}" for i in range(n)]
    truth = pd.DataFrame(betas, index=ids, columns=names)
    responses = simulate_choices(design, truth, 7)
    data = make_dataset(responses, ex.study, design=design)
    random_ids = {r for r, flag in zip(ids, is_random, strict=True) if flag}
    return data, design, random_ids


def test_rlh_finds_random_responders_with_few_false_positives(mixed_sample):
    data, _, random_ids = mixed_sample
    start = time.perf_counter()
    flagged = flag_quality(data, random_seed=3)
    seconds = time.perf_counter() - start
    f = flagged.flags.set_index("respondent_id")
    is_random = f.index.isin(sorted(random_ids))
    n_random, n_real = int(is_random.sum()), int((~is_random).sum())
    tp = int(f.loc[is_random, "random_responder"].sum())
    fp = int(f.loc[~is_random, "random_responder"].sum())
    rate, fpr = tp / n_random, fp / n_real
    msg = (
        f"found {tp}/{n_random} random ({rate:.0%}), false positives {fp}/{n_real} ({fpr:.1%}), "
        f"cutoff RLH {f.attrs['rlh_cutoff']:.3f}, {seconds:.2f} s"
    )
    print(msg)
    assert (n_random, n_real) == (60, 540), msg
    assert rate >= 0.80, msg
    assert fpr <= 0.05, msg
    # speed is a benchmark matter (0.7 s here for 600 respondents); only a hang would fail this
    assert seconds < 60.0, msg


def test_rlh_cutoff_is_the_upper_tail_of_random_respondents(mixed_sample):
    data, _, random_ids = mixed_sample
    f = flag_quality(data, random_seed=3).flags
    cutoff = f.attrs["rlh_cutoff"]
    # random answering scores low: the cutoff lies above the random median and below 1
    assert f.attrs["rlh_random_median"] < cutoff < 1.0, (
        f"random median {f.attrs['rlh_random_median']:.3f}, cutoff {cutoff:.3f}"
    )
    # flagged exactly when below the cutoff; above it only 5% of random respondents remain
    below = (f["rlh"] < cutoff).to_numpy(dtype=bool)
    assert (f["random_responder"].to_numpy(dtype=bool) == below).all()
    share = f.loc[~f["random_responder"].to_numpy(dtype=bool), "rlh_random_share"]
    assert (share <= 0.05 + 1e-9).all(), f"unflagged with random share up to {share.max():.3f}"
    # RLH lies between 0 and 1, and real respondents fit better than random ones
    is_random = f["respondent_id"].isin(sorted(random_ids))
    med_real = float(f.loc[~is_random, "rlh"].median())
    med_random = float(f.loc[is_random, "rlh"].median())
    assert 0 < med_random < med_real < 1, f"median RLH real {med_real:.3f}, random {med_random:.3f}"


def test_same_seed_same_flags_and_design_gives_the_same_cutoff_scale(mixed_sample):
    data, design, _ = mixed_sample
    a = flag_quality(data, random_seed=11).flags
    b = flag_quality(data, random_seed=11).flags
    pd.testing.assert_frame_equal(a, b)
    with_design = flag_quality(data, design=design, random_seed=11).flags
    assert with_design.attrs["rlh_random_answered"] == "the design's versions, dealt in turn"
    diff = abs(with_design.attrs["rlh_cutoff"] - a.attrs["rlh_cutoff"])
    assert diff < 0.02, (
        f"cutoff {with_design.attrs['rlh_cutoff']:.3f} from the design vs {a.attrs['rlh_cutoff']:.3f}"
    )


def test_a_design_of_another_shape_is_refused(mixed_sample):
    data, _, _ = mixed_sample
    other = make_design(make_example_study().study.replace_design(tasks=8), method="random")
    with pytest.raises(WinbackError, match="is it the design they saw"):
        flag_quality(data, design=other)


# --------------------------------------------------------------------------------------------
# Hand-made respondents
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    study = make_study(SMALL_STUDY + REPEATED_HOLDOUT)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=20, sd=SD)
    return study, design, responses


def test_straight_liners_and_always_none_are_found_exactly(small):
    study, design, responses = small
    r = responses.copy()
    for t in range(1, 11):
        _choose(r, "r01", t, "1")  # first alternative every time
        _choose(r, "r02", t, "none")  # none every time
    for t in range(1, 10):
        _choose(r, "r03", t, "2")  # second alternative in all but the last task
    _choose(r, "r03", 10, "3")
    data = make_dataset(r, study, design=design)
    f = flag_quality(data).flags.set_index("respondent_id")
    assert f.index[f["straight_liner"].to_numpy(dtype=bool)].tolist() == ["r01"]
    assert f.index[f["always_none"].to_numpy(dtype=bool)].tolist() == ["r02"]
    assert f.loc["r01", "same_position_share"] == 1.0
    assert f.loc["r03", "same_position_share"] == pytest.approx(0.9), (
        f"r03 chose alt 2 in 9 of 10 tasks, share {f.loc['r03', 'same_position_share']}"
    )
    assert f.loc["r02", "none_share"] == 1.0
    assert not f.loc["r02", "straight_liner"]  # always none is its own flag


def test_straight_lining_follows_the_screen_position_when_known(small):
    study, design, responses = small
    r = responses.copy()
    rng = np.random.default_rng(0)
    # concepts shown in a shuffled order; the none option sits after them (position 4)
    pos = np.zeros(len(r), dtype=int)
    for _, idx in r.groupby(["respondent_id", "task"]).groups.items():
        pos[r.index.get_indexer(idx)] = [*(rng.permutation(3) + 1), 4]
    r["alt_position"] = pos
    for t in range(1, 11):
        # r04 always clicks the concept shown second on screen, whichever it is
        rows = (r["respondent_id"] == "r04") & (r["task"] == t)
        r.loc[rows, "chosen"] = (r.loc[rows, "alt_position"] == 2).astype(int)
        _choose(r, "r01", t, "1")  # always alt 1, but it moves around the screen
    data = make_dataset(r, study, design=design)
    f = flag_quality(data).flags.set_index("respondent_id")
    assert f.index[f["straight_liner"].to_numpy(dtype=bool)].tolist() == ["r04"]


def test_speeders_from_known_durations(small):
    study, design, responses = small
    ids = list(responses["respondent_id"].unique())
    durations = {rid: 600.0 for rid in ids}
    durations.update({"r05": 100.0, "r06": 300.0, "r07": None})
    people = pd.DataFrame({"respondent_id": ids, "duration_seconds": [durations[i] for i in ids]})
    data = make_dataset(responses, study, design=design, respondents=people)
    f = flag_quality(data, speeder_ratio=0.4).flags.set_index("respondent_id")
    # median of the 19 known durations is 600 s: speeders are faster than 240 s
    assert f.attrs["median_duration_seconds"] == 600.0
    assert f.index[f["speeder"].fillna(False).to_numpy(dtype=bool)].tolist() == ["r05"]
    assert pd.isna(f.loc["r07", "speeder"]), "unknown duration must stay unknown"
    assert pd.isna(f.loc["r07", "duration_seconds"])
    assert f.loc["r06", "speeder"] is np.False_ or f.loc["r06", "speeder"] == False  # noqa: E712
    assert f.loc["r05", "duration_source"] == "respondents"


def test_speeders_from_task_seconds_when_no_total(small):
    study, design, responses = small
    r = responses.copy()
    r["seconds"] = 30.0  # per task, repeated on each of its rows
    r.loc[r["respondent_id"] == "r08", "seconds"] = 5.0
    r.loc[(r["respondent_id"] == "r09") & (r["task"] == 3), "seconds"] = np.nan
    data = make_dataset(r, study, design=design)
    f = flag_quality(data).flags.set_index("respondent_id")
    assert f.loc["r01", "duration_seconds"] == 300.0, "10 tasks x 30 s"
    assert f.loc["r08", "duration_seconds"] == 50.0
    assert pd.isna(f.loc["r09", "duration_seconds"]), "a task without seconds: total unknown"
    assert f.loc["r01", "duration_source"] == "task seconds"
    assert f.index[f["speeder"].fillna(False).to_numpy(dtype=bool)].tolist() == ["r08"]


def test_bad_durations_are_named(small):
    study, design, responses = small
    ids = list(responses["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": ids, "duration_seconds": ["5m20s"] + ["300"] * 19})
    data = make_dataset(responses, study, design=design, respondents=people)
    with pytest.raises(WinbackError, match=r"duration_seconds.*r01 \('5m20s'\)"):
        flag_quality(data)


def test_repeated_holdout_answered_differently_fails(small):
    study, design, responses = small
    r = responses.copy()
    # tasks 9 and 10 show the same three profiles in a different order: A B C, then B C A
    _choose(r, "r10", 9, "1")  # A
    _choose(r, "r10", 10, "3")  # A again: consistent
    _choose(r, "r11", 9, "1")  # A
    _choose(r, "r11", 10, "1")  # B: a different answer
    _choose(r, "r12", 9, "none")
    _choose(r, "r12", 10, "none")  # none twice: consistent
    data = make_dataset(r, study, design=design)
    f = flag_quality(data).flags.set_index("respondent_id")
    assert f.loc["r10", "holdout_consistency"] == 1.0
    assert f.loc["r11", "holdout_consistency"] == 0.0
    assert f.loc["r12", "holdout_consistency"] == 1.0
    assert bool(f.loc["r11", "failed_repeat"]) and not bool(f.loc["r10", "failed_repeat"])
    rates = f["holdout_hit_rate"].astype(float)
    assert rates.between(0, 1).all() and rates.notna().all(), rates.describe()


def test_without_repeated_holdouts_consistency_is_unknown():
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=12, sd=SD)
    f = flag_quality(make_dataset(responses, study, design=design)).flags
    assert f["holdout_consistency"].isna().all() and f["failed_repeat"].isna().all()
    assert f["holdout_hit_rate"].isna().all(), "no holdout tasks: nothing to predict"


def test_duplicates_need_identical_choices_and_answers(small):
    study, design, responses = small
    copy = responses[responses["respondent_id"] == "r13"].assign(respondent_id="r13_again")
    near = responses[responses["respondent_id"] == "r14"].assign(respondent_id="r14_again")
    r = pd.concat([responses, copy, near], ignore_index=True)
    ids = list(r["respondent_id"].unique())
    people = pd.DataFrame(
        {
            "respondent_id": ids,
            "segment": ["a"] * len(ids),
            "what_happened": [f"story {i}" for i in ids],
            "duration_seconds": 400.0,
        }
    )
    people.loc[people["respondent_id"] == "r13_again", "what_happened"] = "story r13"
    people.loc[people["respondent_id"] == "r13_again", "duration_seconds"] = 90.0  # paradata
    people.loc[people["respondent_id"] == "r14_again", "what_happened"] = "story r14, edited"
    data = make_dataset(r, study, design=design, respondents=people)
    f = flag_quality(data).flags.set_index("respondent_id")
    assert f.index[f["duplicate"].to_numpy(dtype=bool)].tolist() == ["r13_again"]
    assert f.loc["r13_again", "duplicate_of"] == "r13"
    assert pd.isna(f.loc["r13", "duplicate_of"]) and not f.loc["r13", "duplicate"]
    assert not f.loc["r14_again", "duplicate"], "a different answer: not a duplicate"


# --------------------------------------------------------------------------------------------
# Contract: flags only, one row per respondent, input unchanged
# --------------------------------------------------------------------------------------------


def test_flags_never_exclude_and_never_change_the_input(small):
    study, design, responses = small
    r = responses.copy()
    for t in range(1, 11):
        _choose(r, "r02", t, "none")
    ids = list(r["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": [*ids, "screened_out"], "duration_seconds": 500.0})
    data = make_dataset(r, study, design=design, respondents=people)
    data = data.exclude(["r03"], "did not finish the screener properly")
    before_choices, before_people = data.choices, data.respondents
    before_excluded = data.excluded_ids
    out = flag_quality(data)
    assert data.flags is None, "the input dataset must not gain flags"
    pd.testing.assert_frame_equal(data.choices, before_choices)
    pd.testing.assert_frame_equal(data.respondents, before_people)
    assert out.excluded_ids == before_excluded == ["r03", "screened_out"], out.excluded_ids
    assert out.equals(data), out.difference(data)
    f = out.flags
    assert f["respondent_id"].tolist() == data.respondent_ids  # one row each, same order
    gone = f.set_index("respondent_id").loc["screened_out"]
    assert all(pd.isna(gone[c]) for c in FLAG_COLUMNS), gone
    assert gone["n_flags"] == 0
    assert f.set_index("respondent_id").loc["r02", "n_flags"] >= 1
    assert list(f.columns) == [
        "respondent_id",
        "duration_seconds",
        "duration_source",
        "speeder",
        "same_position_share",
        "straight_liner",
        "none_share",
        "always_none",
        "rlh",
        "rlh_random_share",
        "random_responder",
        "holdout_hit_rate",
        "holdout_consistency",
        "failed_repeat",
        "duplicate_of",
        "duplicate",
        "n_flags",
    ]
    assert all(str(f[c].dtype) == "boolean" for c in FLAG_COLUMNS)
    # the researcher decides: excluding by flag is one explicit call
    clean = out.exclude(f.query("always_none").respondent_id, "always chose none")
    assert "r02" in clean.excluded_ids


def test_dual_response_none_uses_would_buy():
    text = SMALL_STUDY.replace("none_option = true", "dual_response_none = true")
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    r = simulate_choices(design, SMALL_TRUTH, 2, n_respondents=30, sd=SD)
    chosen = (r["respondent_id"] == "r01") & (r["chosen"] == 1)
    r.loc[chosen, "would_buy"] = 0
    f = flag_quality(make_dataset(r, study, design=design)).flags.set_index("respondent_id")
    assert f.index[f["always_none"].to_numpy(dtype=bool)].tolist() == ["r01"]
    assert f["rlh"].notna().all() and f["rlh"].between(0, 1).all()


def test_status_quo_alternative_is_estimated():
    text = (
        SMALL_STUDY
        + """
[status_quo]
label = "Your previous plan"
levels = { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 50.0 }
"""
    )
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    truth = {**SMALL_TRUTH, "status_quo": 0.3}
    r = simulate_choices(design, truth, 2, n_respondents=30, sd=SD)
    data = make_dataset(r, study, design=design)
    f = flag_quality(data).flags
    f2 = flag_quality(data, design=design).flags
    assert "status_quo" in f.attrs["rlh_centre"]
    assert f["rlh"].between(0, 1).all() and f2["rlh"].between(0, 1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speeder_ratio": 0.0}, "speeder_ratio"),
        ({"rlh_false_positive": 1.0}, "rlh_false_positive"),
        ({"n_random": 10}, "n_random"),
    ],
)
def test_bad_settings_are_refused(small, kwargs, match):
    study, design, responses = small
    with pytest.raises(WinbackError, match=match):
        flag_quality(make_dataset(responses, study, design=design), **kwargs)
