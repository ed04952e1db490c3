"""Hostile inputs to the quality flags: each case gets a clear WinbackError naming what is wrong
and what is valid, or exactly the right flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset
from surveys.quality import FLAG_COLUMNS, flag_quality, quality_report, rlh_calibration
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import ResponseError, WinbackError

pytestmark = pytest.mark.hostile

SD = {**{k: 0.5 for k in SMALL_TRUTH}, "price": 0.01}


@pytest.fixture(scope="module")
def base():
    """SMALL_STUDY, a 10-version balanced-overlap design, 40 respondents (8 tasks each)."""
    study = make_study(SMALL_STUDY, method="balanced_overlap", versions=10)
    design = make_design(study)
    responses = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=40, sd=SD)
    return study, design, responses


def _ids(flags: pd.DataFrame, column: str) -> list[str]:
    return flags.loc[flags[column].fillna(False).to_numpy(dtype=bool), "respondent_id"].tolist()


# --------------------------------------------------------------------------------------------
# Degenerate answers: exactly the right flags
# --------------------------------------------------------------------------------------------


def test_every_respondent_answers_none(base):
    study, design, responses = base
    r = responses.assign(chosen=(responses["alt"] == "none").astype(int))
    f = flag_quality(make_dataset(r, study, design=design)).flags
    n = len(f)
    assert _ids(f, "always_none") == f["respondent_id"].tolist(), "all 40 always chose none"
    assert (f["none_share"] == 1.0).all()
    # consistent answers are not random ones: RLH near 1, nobody below the cutoff
    assert f["rlh"].min() > 0.99, f["rlh"].describe()
    assert _ids(f, "random_responder") == [], f.attrs["rlh_cutoff"]
    # none has no screen position: not straight-lining
    assert _ids(f, "straight_liner") == []
    # the same answers in the same version are duplicates (10 versions: 30 copies)
    assert int(f["duplicate"].sum()) == n - 10, int(f["duplicate"].sum())
    assert "always_none 40" in quality_report(f)


def test_every_respondent_picks_the_first_alternative(base):
    study, design, responses = base
    r = responses.assign(chosen=(responses["alt"] == "1").astype(int))
    f = flag_quality(make_dataset(r, study, design=design)).flags
    assert _ids(f, "straight_liner") == f["respondent_id"].tolist()
    assert (f["same_position_share"] == 1.0).all()
    assert _ids(f, "always_none") == []
    # one copy per version is an original, the 30 others repeat it exactly
    assert int(f["duplicate"].sum()) == 30
    first = f.set_index("respondent_id")["duplicate_of"]
    assert first["r11"] == "r01" and pd.isna(first["r01"]), first.head(12).tolist()
    assert f["random_responder"].notna().all(), "RLH is still computed"


def test_a_single_respondent_is_not_checked_for_random_answering(base, caplog):
    study, design, responses = base
    one = responses[responses["respondent_id"] == "r01"]
    with caplog.at_level("WARNING", logger="winback"):
        f = flag_quality(make_dataset(one, study, design=design)).flags
    assert len(f) == 1
    assert pd.isna(f.loc[0, "rlh"]) and pd.isna(f.loc[0, "random_responder"])
    note = f.attrs["rlh_note"]
    assert note == (
        "RLH needs at least 2 respondents with choice tasks (the shrinkage is estimated across "
        "respondents); there is 1"
    ), note
    assert note in caplog.text
    assert f.attrs["rlh_cutoff"] is None
    assert f"Random responders (RLH): not checked: {note}." in quality_report(f)
    # the other flags still work on one interview
    assert f.loc[0, "straight_liner"] in (True, False) and f.loc[0, "n_flags"] >= 0
    assert rlh_calibration(f)["rlh_cutoff"] is None


def test_one_task_each_cannot_tell_random_from_genuine(caplog):
    study = make_study(SMALL_STUDY, tasks=1, versions=8, method="balanced_overlap")
    design = make_design(study)
    r = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=100, sd=SD)
    with caplog.at_level("WARNING", logger="winback"):
        f = flag_quality(make_dataset(r, study, design=design), design=design).flags
    a = f.attrs
    assert a["rlh_detection"] < 0.5, f"detection {a['rlh_detection']:.0%} from one task"
    assert a["rlh_warning"].startswith(
        f"this design cannot tell random answering from genuine answers: only "
        f"{a['rlh_detection']:.0%} of simulated random responders would be caught"
    )
    assert "cannot tell random answering" in caplog.text
    # one task: straight-lining needs at least two
    assert _ids(f, "straight_liner") == []
    assert a["rlh_false_flag_simulated"] <= 0.05


def test_a_sample_of_random_answers_only_warns(base):
    """Nobody answers genuinely: the data cannot describe genuine answering, and say so."""
    study, design, _ = base
    zero = dict.fromkeys(parameter_names(study), 0.0)
    r = simulate_choices(design, zero, 9, n_respondents=200)
    f = flag_quality(make_dataset(r, study, design=design)).flags
    a = f.attrs
    assert a["rlh_genuine_source"].startswith("estimated from the data")
    assert a["rlh_detection"] < 0.2, a["rlh_detection"]
    assert a["rlh_warning"] is not None
    # the flag still keeps to its false-flag rate: about 5% of them fall below the cutoff
    assert f["random_responder"].mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200), a


def test_every_respondent_excluded_still_gets_flags(base):
    study, design, responses = base
    data = make_dataset(responses, study, design=design)
    data = data.exclude(data.respondent_ids, "pilot interviews")
    f = flag_quality(data).flags
    assert len(f) == 40 and f["rlh"].notna().all() and f["random_responder"].notna().all()
    assert data.flags is None, "the input dataset is unchanged"


# --------------------------------------------------------------------------------------------
# Incomplete or malformed interviews: clear errors
# --------------------------------------------------------------------------------------------


def test_respondents_with_missing_tasks_are_named(base):
    study, design, responses = base
    gone = responses["respondent_id"].isin(["r03", "r07"]) & (responses["task"] == 8)
    with pytest.raises(ResponseError, match=r"respondent 'r03' has 7 tasks, others 8") as err:
        make_dataset(responses[~gone], study)
    assert "respondent 'r07'" in str(err.value)
    gap = (responses["respondent_id"] == "r05") & (responses["task"] == 4)
    with pytest.raises(ResponseError, match=r"respondent 'r05': tasks \[1, 2, 3, 5"):
        make_dataset(responses[~gap], study, design=design)


def test_nan_timings_leave_speeding_unknown(base):
    study, design, responses = base
    ids = list(responses["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": ids, "duration_seconds": np.nan})
    r = responses.assign(seconds=np.nan)
    f = flag_quality(make_dataset(r, study, design=design, respondents=people)).flags
    assert f["duration_seconds"].isna().all() and f["duration_source"].isna().all()
    assert f["speeder"].isna().all(), "no known duration: speeding cannot be told"
    assert f.attrs["median_duration_seconds"] is None
    assert (f["n_flags"] == f[list(FLAG_COLUMNS)].fillna(False).astype(int).sum(axis=1)).all()


@pytest.mark.parametrize(
    ("value", "shown"), [(np.inf, "inf"), (-30.0, "-30.0"), ("12 minutes", "'12 minutes'")]
)
def test_impossible_durations_are_named(base, value, shown):
    study, design, responses = base
    ids = list(responses["respondent_id"].unique())
    people = pd.DataFrame({"respondent_id": ids, "duration_seconds": [value] + [300.0] * 39})
    data = make_dataset(responses, study, design=design, respondents=people)
    with pytest.raises(WinbackError, match="must hold finite numbers >= 0") as err:
        flag_quality(data)
    assert f"r01 ({shown})" in str(err.value), str(err.value)


# --------------------------------------------------------------------------------------------
# Bad settings and bad genuine part-worths: clear errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"false_flag": 0.0}, r"false_flag must be a share .* between 0 and 0.5 .* got 0.0"),
        ({"false_flag": float("nan")}, r"false_flag must be a share .* got nan"),
        ({"false_flag": "5%"}, r"false_flag must be a share .* got '5%'"),
        ({"false_flag": True}, r"false_flag must be a share .* got True"),
        ({"n_genuine": 50.5}, r"n_genuine must be a whole number of at least 100 .* got 50.5"),
        ({"genuine": "truth"}, r"genuine='truth' .* Valid: auto, part_worths, priors, data"),
    ],
)
def test_bad_settings_name_the_value_and_the_valid_ones(base, kwargs, match):
    study, design, responses = base
    with pytest.raises(WinbackError, match=match):
        flag_quality(make_dataset(responses, study, design=design), **kwargs)


def _draws(study, n: int = 500) -> pd.DataFrame:
    names = parameter_names(study)
    return pd.DataFrame([[SMALL_TRUTH[k] for k in names]] * n, columns=names)


def test_part_worths_with_a_misspelt_or_missing_column(base):
    study, design, responses = base
    data = make_dataset(responses, study, design=design)
    pw = _draws(study).rename(columns={"speed[1 Gbps]": "speed[1 gbps]"})
    with pytest.raises(WinbackError) as err:
        flag_quality(data, part_worths=pw)
    msg = str(err.value)
    assert "missing speed[1 Gbps]" in msg and "unknown speed[1 gbps]" in msg, msg
    assert "Did you mean 'speed[1 Gbps]'?" in msg and "parameters: plan[Standard]" in msg, msg


def test_part_worths_with_nan_or_text_or_no_rows(base):
    study, design, responses = base
    data = make_dataset(responses, study, design=design)
    pw = _draws(study)
    pw.loc[3, "price"] = np.nan
    with pytest.raises(WinbackError, match=r"1 value\(s\) are NaN or infinite \(in price\)"):
        flag_quality(data, part_worths=pw)
    text = _draws(study).astype(object)
    text.loc[0, "none"] = "strong"
    with pytest.raises(WinbackError, match="part_worths must hold numbers"):
        flag_quality(data, part_worths=text)
    with pytest.raises(WinbackError, match="part_worths has no rows"):
        flag_quality(data, part_worths=_draws(study, 0))


def test_part_worths_of_the_wrong_kind(base):
    study, design, responses = base
    data = make_dataset(responses, study, design=design)
    with pytest.raises(WinbackError, match=r"part_worths must be a DataFrame .* got dict"):
        flag_quality(data, part_worths=dict(SMALL_TRUTH))
    with pytest.raises(WinbackError, match=r'part_worths were given but genuine="data"'):
        flag_quality(data, part_worths=_draws(study), genuine="data")


def test_quality_report_of_something_else(base):
    study, design, responses = base
    data = make_dataset(responses, study, design=design)
    with pytest.raises(WinbackError, match=r"needs the flags of surveys.flag_quality .* NoneType"):
        quality_report(data.flags)
    with pytest.raises(WinbackError, match="rlh_calibration needs the flags"):
        rlh_calibration(data.respondents)
