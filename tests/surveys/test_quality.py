"""flag_quality: speeders, straight-liners, always-none, random responders (RLH), repeated
holdouts and duplicates; flags never exclude anyone and never change the input."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset
from surveys.quality import FLAG_COLUMNS, flag_quality, quality_report, rlh_calibration
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
# Acceptance: the random-responder cutoff holds false flags at 5% on the study's own design
# --------------------------------------------------------------------------------------------

FALSE_FLAG = 0.05


def _margin(rate: float, n_sample: int, n_simulated: int) -> float:
    """Monte Carlo margin of a rate measured on ``n_sample`` respondents against a cutoff set
    on ``n_simulated`` simulated ones: 3 standard errors of the difference of two binomial
    shares (each about ``rate``). For the false-flag rate at 5%, 540 respondents and 2,000
    simulated: 3 x sqrt(0.05 x 0.95 x (1/540 + 1/2000)) = 0.032."""
    return 3.0 * float(np.sqrt(rate * (1.0 - rate) * (1.0 / n_sample + 1.0 / n_simulated)))


def _mixed(study, design, means, sds, n_genuine, n_random, seed):
    """``n_genuine`` respondents answering by part-worths drawn from N(means, sds) and
    ``n_random`` answering uniformly at random (all part-worths 0), shuffled together.

    Returns (dataset, ids of the random ones, a DataFrame of 5,000 draws from the true
    population: the oracle's genuine part-worths)."""
    names = parameter_names(study)
    rng = np.random.default_rng(seed)
    n = n_genuine + n_random
    mean = np.array([means[k] for k in names])
    sd = np.array([sds.get(k, 0.0) for k in names])
    betas = mean + rng.standard_normal((n, len(names))) * sd
    is_random = np.zeros(n, dtype=bool)
    is_random[rng.choice(n, n_random, replace=False)] = True
    betas[is_random] = 0.0
    ids = [f"r{i + 1:04d}" for i in range(n)]
    truth = pd.DataFrame(betas, index=ids, columns=names)
    responses = simulate_choices(design, truth, seed + 1)
    data = make_dataset(responses, study, design=design)
    oracle = pd.DataFrame(mean + rng.standard_normal((5000, len(names))) * sd, columns=names)
    return data, {r for r, flag in zip(ids, is_random, strict=True) if flag}, oracle


def _rates(flags: pd.DataFrame, random_ids: set[str], column: str = "random_responder"):
    f = flags.set_index("respondent_id")
    is_random = f.index.isin(sorted(random_ids))
    flagged = f[column].to_numpy(dtype=bool)
    return (
        float(flagged[~is_random].mean()),
        float(flagged[is_random].mean()),
        int((~is_random).sum()),
        int(is_random.sum()),
    )


@pytest.fixture(scope="module")
def mixed_sample():
    """540 genuine respondents plus 60 (10%) random responders on the example study.

    The example study as shipped (3 alternatives + none, 12 estimation tasks + 1 holdout, a
    30-version balanced-overlap design; informative [priors]) and its true part-worths, which
    give genuine respondents an RLH of about 0.55 under their own true part-worths (0.25 for
    random answering), typical of CBC/HB studies.
    """
    ex = make_example_study()
    design = make_design(ex.study)
    assert design.method == "balanced_overlap" and design.n_versions == 30
    data, random_ids, oracle = _mixed(ex.study, design, ex.true_means, ex.true_sd, 540, 60, 2024)
    return data, design, random_ids, oracle


@pytest.fixture(scope="module")
def example_flags(mixed_sample):
    """The mixed sample flagged with each source of genuine part-worths (and the seconds)."""
    data, design, _, oracle = mixed_sample
    out = {}
    for source, kwargs in {
        "auto": {},
        "data": {"genuine": "data"},
        "truth": {"part_worths": oracle},
    }.items():
        start = time.perf_counter()
        flags = flag_quality(data, design=design, random_seed=3, **kwargs).flags
        out[source] = (flags, time.perf_counter() - start)
    return out


@pytest.mark.parametrize("source", ["auto", "data", "truth"])
def test_example_false_flags_at_most_5_percent_and_detection_as_reported(
    mixed_sample, example_flags, source
):
    _, _, random_ids, _ = mixed_sample
    flags, seconds = example_flags[source]
    a = flags.attrs
    false, caught, n_genuine, n_random = _rates(flags, random_ids)
    margin = _margin(FALSE_FLAG, n_genuine, a["rlh_n_genuine"])
    det_margin = _margin(a["rlh_detection"], n_random, a["rlh_n_random"])
    msg = (
        f"{source} ({a['rlh_genuine_source']}): {false:.1%} of {n_genuine} genuine flagged "
        f"(limit {FALSE_FLAG:.0%} + {margin:.1%}); caught {caught:.0%} of {n_random} random, "
        f"reported {a['rlh_detection']:.0%} +- {det_margin:.0%}; cutoff {a['rlh_cutoff']:.3f}; "
        f"{seconds:.1f} s"
    )
    print(msg)
    assert (n_genuine, n_random) == (540, 60), msg
    assert false <= FALSE_FLAG + margin, msg
    # on the simulated genuine respondents the cutoff holds the rate exactly
    assert a["rlh_false_flag_simulated"] <= FALSE_FLAG, msg
    assert abs(caught - a["rlh_detection"]) <= det_margin, msg
    # a design that tells them apart: most random responders are caught, no warning
    assert a["rlh_detection"] >= 0.9 and a["rlh_warning"] is None, msg
    # speed is a benchmark matter (about 2 s here for 600 respondents); only a hang fails
    assert seconds < 60.0, msg


def test_example_sources_are_named(example_flags):
    assert example_flags["auto"][0].attrs["rlh_genuine_source"] == (
        'the study\'s [priors] (kind = "normal")'
    )
    assert example_flags["truth"][0].attrs["rlh_genuine_source"] == "given part-worths"
    data_source = example_flags["data"][0].attrs
    assert data_source["rlh_genuine_source"].startswith("estimated from the data"), data_source
    # the shrinkage's population is attenuated (about 0.75 of the true means on this study) and
    # diluted by the 10% random responders; the fitted scale undoes both
    assert 1.1 < data_source["rlh_data_scale"] < 2.5, data_source["rlh_data_scale"]
    share = data_source["rlh_random_share_estimate"]
    assert 0.03 <= share <= 0.2, f"estimated share of random responders {share:.3f}, true 0.10"


def test_the_cutoff_is_the_lower_tail_of_genuine_respondents(mixed_sample, example_flags):
    _, _, random_ids, _ = mixed_sample
    f = example_flags["auto"][0]
    a = f.attrs
    cutoff = a["rlh_cutoff"]
    # flagged exactly when below the cutoff
    below = (f["rlh"] < cutoff).to_numpy(dtype=bool)
    assert (f["random_responder"].to_numpy(dtype=bool) == below).all()
    # the flagged are the ones genuine answering rarely produces
    flagged = f["random_responder"].to_numpy(dtype=bool)
    g_share = f.loc[flagged, "rlh_genuine_share"].astype(float)
    assert (g_share <= FALSE_FLAG + 1e-12).all(), f"flagged with genuine share {g_share.max()}"
    assert (f.loc[~flagged, "rlh_genuine_share"].astype(float) > 0).all()
    # genuine answers score higher than random ones; the cutoff lies between their medians
    assert a["rlh_random_median"] < cutoff < a["rlh_genuine_median"] < 1.0, a
    is_random = f["respondent_id"].isin(sorted(random_ids))
    med_real = float(f.loc[~is_random, "rlh"].median())
    med_random = float(f.loc[is_random, "rlh"].median())
    assert 0 < med_random < med_real < 1, f"median RLH real {med_real:.3f}, random {med_random:.3f}"
    # the report says what the flag can do on this design
    text = quality_report(f)
    assert f"RLH below {cutoff:.3f}" in text, text
    assert f"catches {a['rlh_detection']:.0%} of 2,000 simulated random responders" in text, text
    assert "false flags at 5% or below" in text and "Warning" not in text, text
    assert rlh_calibration(f)["rlh_detection"] == a["rlh_detection"]


def test_same_seed_same_flags_and_design_gives_the_same_cutoff_scale(mixed_sample):
    data, design, _, _ = mixed_sample
    a = flag_quality(data, random_seed=11).flags
    b = flag_quality(data, random_seed=11).flags
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    with_design = flag_quality(data, design=design, random_seed=11).flags
    assert with_design.attrs["rlh_simulated_answered"] == "the design's versions, dealt in turn"
    assert a.attrs["rlh_simulated_answered"] == "the tasks the respondents saw"
    diff = abs(with_design.attrs["rlh_cutoff"] - a.attrs["rlh_cutoff"])
    assert diff < 0.02, (
        f"cutoff {with_design.attrs['rlh_cutoff']:.3f} from the design vs {a.attrs['rlh_cutoff']:.3f}"
    )


def test_a_design_of_another_shape_is_refused(mixed_sample):
    data, _, _, _ = mixed_sample
    other = make_design(make_example_study().study.replace_design(tasks=8), method="random")
    with pytest.raises(WinbackError, match="is it the design they saw"):
        flag_quality(data, design=other)


# --------------------------------------------------------------------------------------------
# A weaker four-attribute study: 8 tasks, weak part-worths (issue 14: 29-47% false flags)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weak_sample():
    """SMALL_STUDY (plan, speed, support, price; 8 tasks of 3 alternatives + none, a
    2-version D-efficient design) answered with SMALL_TRUTH's weak part-worths (sd 0.5, price
    0.01): 1,000 genuine respondents and 250 random responders."""
    study = make_study(SMALL_STUDY)
    design = make_design(study)
    data, random_ids, oracle = _mixed(study, design, SMALL_TRUTH, SD, 1000, 250, 77)
    return data, design, random_ids, oracle


@pytest.mark.parametrize("source", ["data", "truth"])
def test_weak_study_false_flags_at_most_5_percent_and_detection_as_reported(weak_sample, source):
    data, design, random_ids, oracle = weak_sample
    kwargs = {"part_worths": oracle} if source == "truth" else {}
    flags = flag_quality(data, design=design, random_seed=5, **kwargs).flags
    a = flags.attrs
    false, caught, n_genuine, n_random = _rates(flags, random_ids)
    old_false, old_caught, _, _ = _rates(
        flags.assign(old_rule=flags["rlh_random_share"] > 0.05), random_ids, "old_rule"
    )
    margin = _margin(FALSE_FLAG, n_genuine, a["rlh_n_genuine"])
    det_margin = _margin(a["rlh_detection"], n_random, a["rlh_n_random"])
    msg = (
        f"{source} ({a['rlh_genuine_source']}): {false:.1%} of {n_genuine} genuine flagged "
        f"(limit {FALSE_FLAG:.0%} + {margin:.1%}); caught {caught:.0%} of {n_random} random, "
        f"reported {a['rlh_detection']:.0%} +- {det_margin:.0%}; old rule: {old_false:.0%} "
        f"genuine flagged, {old_caught:.0%} random caught"
    )
    print(msg)
    assert a["rlh_genuine_source"].startswith("estimated from the data" if not kwargs else "given")
    assert false <= FALSE_FLAG + margin, msg
    assert abs(caught - a["rlh_detection"]) <= det_margin, msg
    # the old rule (5% of random responders let through) flagged a third or more of them
    assert old_false >= 0.29, msg
    # this design separates them poorly: about half the random responders get through
    assert 0.3 <= a["rlh_detection"] <= 0.7, msg
    assert (a["rlh_warning"] is None) == (a["rlh_detection"] >= 0.5), msg


STATUS_QUO = """
[status_quo]
label = "Your previous plan"
levels = { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 50.0 }
"""


@pytest.mark.parametrize("layout", ["dual-response none", "status quo"])
@pytest.mark.parametrize("source", ["data", "truth"])
def test_other_layouts_keep_the_false_flag_rate(layout, source):
    """Dual-response none (a forced choice, then would-buy) and a status-quo alternative: the
    simulated respondents answer the same kind of task, so the rates hold there too."""
    if layout == "dual-response none":
        study = make_study(SMALL_STUDY.replace("none_option = true", "dual_response_none = true"))
        truth, sds = SMALL_TRUTH, SD
    else:
        study = make_study(SMALL_STUDY + STATUS_QUO)
        truth, sds = {**SMALL_TRUTH, "status_quo": 0.3}, {**SD, "status_quo": 0.5}
    design = make_design(study, method="balanced_overlap", versions=10)
    data, random_ids, oracle = _mixed(study, design, truth, sds, 800, 200, 31)
    kwargs = {"part_worths": oracle} if source == "truth" else {"genuine": "data"}
    flags = flag_quality(data, design=design, random_seed=4, **kwargs).flags
    a = flags.attrs
    false, caught, n_genuine, n_random = _rates(flags, random_ids)
    margin = _margin(FALSE_FLAG, n_genuine, a["rlh_n_genuine"])
    det_margin = _margin(a["rlh_detection"], n_random, a["rlh_n_random"])
    msg = (
        f"{layout}, {source}: {false:.1%} of {n_genuine} genuine flagged (limit "
        f"{FALSE_FLAG:.0%} + {margin:.1%}); caught {caught:.0%} of {n_random} random, reported "
        f"{a['rlh_detection']:.0%} +- {det_margin:.0%}"
    )
    print(msg)
    assert false <= FALSE_FLAG + margin, msg
    assert abs(caught - a["rlh_detection"]) <= det_margin, msg


def test_a_design_that_cannot_tell_them_apart_says_so(caplog):
    """Two tasks of weak part-worths: random answering cannot be told from genuine."""
    study = make_study(SMALL_STUDY, tasks=2, versions=4, method="balanced_overlap")
    design = make_design(study)
    data, _, _ = _mixed(study, design, SMALL_TRUTH, SD, 300, 30, 8)
    with caplog.at_level("WARNING", logger="winback"):
        flags = flag_quality(data, design=design).flags
    a = flags.attrs
    detection = a["rlh_detection"]
    assert detection < 0.5, f"detection {detection:.0%} on 2 tasks"
    expected = (
        "this design cannot tell random answering from genuine answers: only "
        f"{detection:.0%} of simulated random responders would be caught"
    )
    assert a["rlh_warning"].startswith(expected), a["rlh_warning"]
    assert expected in caplog.text, caplog.text
    assert f"Warning: {expected}" in quality_report(flags)
    assert a["rlh_false_flag_simulated"] <= FALSE_FLAG


# --------------------------------------------------------------------------------------------
# Settings: the false-flag rate, the source of genuine part-worths, the renamed argument
# --------------------------------------------------------------------------------------------


def test_a_higher_false_flag_rate_raises_the_cutoff_and_detection(weak_sample):
    data, design, _, _ = weak_sample
    low = flag_quality(data, design=design, false_flag=0.05).flags.attrs
    high = flag_quality(data, design=design, false_flag=0.2).flags.attrs
    msg = f"5%: {low['rlh_cutoff']:.3f}/{low['rlh_detection']:.0%}, 20%: {high['rlh_cutoff']:.3f}/{high['rlh_detection']:.0%}"
    assert high["rlh_cutoff"] > low["rlh_cutoff"], msg
    assert high["rlh_detection"] > low["rlh_detection"], msg
    assert high["rlh_false_flag_simulated"] <= 0.2 and high["rlh_false_flag"] == 0.2, msg


def test_the_old_argument_name_still_works_with_a_message(small, caplog):
    study, design, responses = small
    data = make_dataset(responses, study, design=design)
    with caplog.at_level("WARNING", logger="winback"):
        old = flag_quality(data, rlh_false_positive=0.1).flags
    new = flag_quality(data, false_flag=0.1).flags
    pd.testing.assert_frame_equal(old, new)
    assert "rlh_false_positive is deprecated, use false_flag" in caplog.text, caplog.text
    with pytest.raises(WinbackError, match="give false_flag only"):
        flag_quality(data, false_flag=0.1, rlh_false_positive=0.1)


def test_fitted_part_worths_are_drawn_from_the_posterior(small):
    """``analysis.respondent_draws`` on a fitted model (a hand-made posterior: no sampling)."""
    import xarray as xr

    from analysis import HBModel, HBSettings, prepare_choice_data, respondent_draws

    study, design, responses = small
    data = make_dataset(responses, study, design=design)
    arrays = prepare_choice_data(data)
    names, ids = list(arrays.names), list(arrays.respondent_ids)
    rng = np.random.default_rng(0)
    mean = np.array([SMALL_TRUTH[k] for k in names])
    beta = mean + 0.1 * rng.standard_normal((2, 50, len(ids), len(names)))
    post = xr.Dataset(
        {"beta": (("chain", "draw", "respondent", "parameter"), beta)},
        coords={"chain": [0, 1], "draw": np.arange(50), "respondent": ids, "parameter": names},
    )
    model = HBModel(
        study, HBSettings(), data, arrays, xr.DataTree.from_dict({"posterior": post}), 0.0
    )
    draws = respondent_draws(model, 3000, random_seed=1)
    assert draws.shape == (3000, len(names)) and list(draws.columns) == names
    assert set(draws.index.get_level_values("respondent_id")) <= set(ids)
    err = np.abs(draws.mean().to_numpy() - mean).max()
    assert err < 0.02, f"mean of the draws off the posterior's by {err:.3f}"
    flags = flag_quality(data, part_worths=draws, random_seed=2).flags
    assert flags.attrs["rlh_genuine_source"] == "given part-worths"
    assert flags.attrs["rlh_false_flag_simulated"] <= FALSE_FLAG
    with pytest.raises(WinbackError, match="n must be a whole number"):
        respondent_draws(model, 0)


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
        "rlh_genuine_share",
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
        ({"false_flag": 0.5}, "false_flag must be a share"),
        ({"rlh_false_positive": 1.0}, r"rlh_false_positive \(now false_flag\)"),
        ({"n_random": 10}, "n_random"),
        ({"n_genuine": 99}, "n_genuine"),
        ({"false_flag": 0.001, "n_genuine": 500}, "use n_genuine >= 999"),
        ({"genuine": "prior"}, "Did you mean 'priors'"),
        ({"genuine": "priors"}, 'kind = "null"'),
        ({"genuine": "part_worths"}, "needs part_worths"),
    ],
)
def test_bad_settings_are_refused(small, kwargs, match):
    study, design, responses = small
    with pytest.raises(WinbackError, match=match):
        flag_quality(make_dataset(responses, study, design=design), **kwargs)
