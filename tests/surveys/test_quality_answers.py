"""The task arrays and the answer flags (durations, positions, repeated holdouts, duplicates),
rewritten on integer arrays, give what the pandas code before them gave (``quality_spec``),
on exports with screen positions, task times (some unknown), dual-response none, a status
quo, repeated holdouts, planted duplicates and straight-liners, and rows out of order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, simulate_choices
from surveys import make_dataset
from surveys.dataset import ChoiceDataset
from surveys.quality import answers as new
from surveys.quality.tasks import _task_arrays
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from tests.surveys import quality_spec as old
from tests.surveys.test_import_reference import REPEATED_HOLDOUT, SD, STATUS_QUO

pytestmark = pytest.mark.unit


def _export(layout: str, seed: int) -> ChoiceDataset:
    text = SMALL_STUDY + REPEATED_HOLDOUT
    truth = SMALL_TRUTH
    if layout == "dual":
        text = text.replace("none_option = true", "dual_response_none = true")
    if layout == "status quo":
        text, truth = text + STATUS_QUO, {**SMALL_TRUTH, "status_quo": 0.3}
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    sd = {**SD, "status_quo": 0.5}
    ch = simulate_choices(design, truth, seed, n_respondents=60, sd={k: sd[k] for k in truth})
    rng = np.random.default_rng(seed)
    designed = ch["alt"].str.isdigit()
    # screen positions: the designed alternatives shuffled on screen
    ch["alt_position"] = pd.array(
        np.where(designed, rng.integers(1, 4, len(ch)), np.nan), dtype="Float64"
    )
    # task times, repeated on the task's rows; some tasks' unknown
    key = ch["respondent_id"] + ":" + ch["task"].astype(str)
    per_task = pd.Series(rng.gamma(2.0, 6.0, key.nunique()).round(1), index=key.unique())
    per_task[rng.random(len(per_task)) < 0.02] = np.nan
    ch["seconds"] = key.map(per_task).to_numpy()
    ids = list(pd.unique(ch["respondent_id"]))
    # r02 repeats r01 (every choice and answer), r03 always takes the first alternative
    copy = ch["respondent_id"] == ids[1]
    ch.loc[copy, ch.columns] = ch[ch["respondent_id"] == ids[0]].to_numpy()
    ch.loc[copy, "respondent_id"] = ids[1]
    r3 = ch["respondent_id"] == ids[2]
    ch.loc[r3, "chosen"] = (ch.loc[r3, "alt"] == "1").astype(int)
    if layout == "dual":
        ch.loc[r3, "would_buy"] = np.where(ch.loc[r3, "alt"] == "1", 1.0, np.nan)
    people = pd.DataFrame(
        {
            "respondent_id": ids,
            "duration_seconds": rng.choice([120.0, 300.0, np.nan, 45.0], len(ids)),
            "segment": rng.choice(["a", "b", None], len(ids)),
            "score": rng.choice([1, 2, 3], len(ids)),
        }
    )
    people.loc[1, ["segment", "score"]] = people.loc[0, ["segment", "score"]].to_numpy()
    people.loc[people.index[:10], "duration_seconds"] = np.nan  # from the task times
    return make_dataset(ch, study, design=design, respondents=people)


def _shuffled(data: ChoiceDataset, seed: int) -> ChoiceDataset:
    """The same dataset with its choice rows out of canonical order."""
    ch = data.choices.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return ChoiceDataset(data.study, ch, data.respondents, data.exclusions, None, {})


def _same(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series, what: str) -> None:
    a, b = a.astype(object), b.astype(object)
    assert list(a.index) == list(b.index), what
    pa, pb = a.isna().to_numpy(), b.isna().to_numpy()
    assert (pa == pb).all(), f"{what}: missing values differ"
    va, vb = a.to_numpy()[~pa], b.to_numpy()[~pb]
    assert list(va) == list(vb), f"{what}: {list(va)[:10]} vs {list(vb)[:10]}"


@pytest.mark.parametrize("layout", ["plain", "dual", "status quo"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_task_arrays_and_answer_flags_are_as_before(layout, shuffle):
    data = _export(layout, seed=3 if layout == "plain" else 4)
    if shuffle:
        data = _shuffled(data, 9)
    want, got = old._task_arrays(data), _task_arrays(data)
    assert want.ids == got.ids and want.alt == got.alt
    for name in ("x", "y", "holdout", "profile"):
        assert np.array_equal(getattr(want, name), getattr(got, name)), name
    assert (want.buy is None) == (got.buy is None)
    if want.buy is not None:
        assert np.array_equal(want.buy, got.buy)
    people = data.respondents
    included = set(data.included_ids)
    d_old, s_old, m_old = old._durations(data, people, got.ids, included)
    d_new, s_new, m_new = new._durations(got, people, included)
    _same(d_old, d_new, "duration")
    _same(s_old, s_new, "duration source")
    assert m_old == m_new, f"median {m_new} vs {m_old}"
    assert s_new.eq("task seconds").any() and d_new.isna().any(), "the export exercises both"
    _same(old._positions(data, got.ids), new._positions(got, data.study), "positions")
    rep_old, rep_new = old._repeats(got), new._repeats(got)
    _same(rep_old, rep_new, "repeats")
    assert rep_new["failed_repeat"].notna().any()
    dup_old = old._duplicates(data, people, got.ids, ("duration_seconds",))
    dup_new = new._duplicates(got, people, ("duration_seconds",))
    _same(dup_old, dup_new, "duplicates")
    assert dup_new["duplicate"].sum() >= 1, "the planted duplicate is found"


@pytest.mark.parametrize("layout", ["plain", "dual", "status quo"])
def test_the_summary_from_codes_is_the_summary_from_text(layout):
    """A dataset from make_dataset carries validation's codes; its summary is the one the
    text columns give (a dataset built without codes, rows in another order)."""
    data = _export(layout, seed=5)
    assert data._codes is not None
    other = _shuffled(data, 2)
    assert other._codes is None
    assert data.summary() == other.summary()
    flagged = data.exclude([data.respondent_ids[0]], "test")
    assert flagged._codes is data._codes


def test_codes_of_another_table_are_not_used():
    """``dataclasses.replace(data, _choices=...)`` gives a dataset whose codes describe another
    table: they are ignored, and everything is computed from the table it has."""
    import dataclasses

    data = _export("plain", seed=6)
    table = data.choices
    kept = table[table["holdout"] == 0].reset_index(drop=True)
    swapped = dataclasses.replace(data, _choices=kept)
    assert data._coded is not None and swapped._coded is None
    pd.testing.assert_frame_equal(swapped.choices, kept)
    assert swapped.summary()["n_holdout_tasks"] == 0
    tasks = _task_arrays(swapped)
    assert tasks.x.shape[1] == data.n_tasks - data.summary()["n_holdout_tasks"]
