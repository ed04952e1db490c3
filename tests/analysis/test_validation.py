"""Predictive validation: hit rates and share errors of held-out choices against naive benchmarks.

Exact numbers on hand-made arrays (no sampling); the shared example fit (120 simulated
respondents with known part-worths, one holdout task) for the holdout route, and the same fit
without its holdout rows for the random-task split (one refit).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.data import ChoiceArrays, prepare_choice_data
from analysis.results import (
    FitValidation,
    fit_statistics,
    holdout_validation,
    validate_fit,
    validation_words,
)
from analysis.results.out_of_sample import COLUMNS, _held_mask, split_tasks
from analysis.results.validation import score_tasks
from winback.errors import ParameterError


def _arrays(tasks: list[tuple[str, int, str, int]]) -> ChoiceArrays:
    """One numeric column, alternatives worth 0, 1 and 2; rows (respondent, task, kind, y)."""
    ids = tuple(dict.fromkeys(r for r, *_ in tasks))
    n = len(tasks)
    x = np.tile(np.array([[0.0], [1.0], [2.0]]), (n, 1, 1))
    obs = pd.DataFrame(
        {
            "respondent_id": [t[0] for t in tasks],
            "task": [t[1] for t in tasks],
            "kind": [t[2] for t in tasks],
            "holdout": 1,
        }
    )
    return ChoiceArrays(
        x,
        np.array([t[3] for t in tasks]),
        np.ones((n, 3), dtype=bool),
        np.array([ids.index(t[0]) for t in tasks]),
        ids,
        ("value",),
        obs,
    )


def test_hit_rates_share_errors_and_benchmarks_by_hand() -> None:
    # A likes value (beta +1, predicts the 3rd), B dislikes it (beta -1, predicts the 1st).
    # A chose 3rd then 2nd (one hit), B chose 1st twice (two hits): hit rate 3/4.
    arrays = _arrays([("A", 1, "choice", 2), ("A", 2, "choice", 1),
                      ("B", 1, "choice", 0), ("B", 2, "choice", 0)])  # fmt: skip
    beta = np.array([[[1.0], [-1.0]]] * 2)  # two identical draws
    tasks, alts = score_tasks(
        arrays, beta, beta[0], arrays.resp, keys=("kind",), labels={"choice": ["1", "2", "3"]}
    )
    row = tasks.iloc[0]
    e = np.exp([0.0, 1.0, 2.0])
    p_a = e / e.sum()
    pred = (p_a + p_a[::-1]) / 2  # average over the four tasks, two of each respondent
    observed = np.array([0.5, 0.25, 0.25])
    want = {
        "hit_rate": 0.75,
        "hit_rate_draws": 0.75,
        "hit_rate_chance": 1 / 3,
        "hit_rate_most_popular": 0.5,  # always the 1st: B's two choices
        "share_mae": float(np.abs(pred - observed).mean()),
        "share_mae_equal": (1 / 6 + 1 / 12 + 1 / 12) / 3,
    }
    for key, value in want.items():
        assert row[key] == pytest.approx(value, abs=1e-12), f"{key}: {row[key]} vs {value}"
    assert row["most_popular"] == "1" and row["n_tasks"] == 4 and row["n_respondents"] == 2
    assert alts["predicted_share"].to_numpy() == pytest.approx(pred, abs=1e-12)
    assert alts["observed_share"].to_numpy() == pytest.approx(observed)


def test_split_holds_out_one_task_per_respondent_with_its_follow_up() -> None:
    tasks = [("r1", t, "choice", 0) for t in (1, 2, 3)] + [("r2", 1, "choice", 0)]
    tasks += [("r3", t, "choice", 0) for t in (1, 2)]
    tasks += [(r, t, "dual", 0) for r, t, *_ in list(tasks)]
    arrays = _arrays(tasks)
    held = split_tasks(arrays, random_seed=5)
    assert sorted(held["respondent_id"]) == ["r1", "r3"], held  # r2 has one task: kept
    mask = _held_mask(arrays, held)
    assert mask.sum() == 4, f"{mask.sum()} observations held out, want 2 tasks x 2 kinds"
    kinds = arrays.obs.loc[mask, "kind"].value_counts().to_dict()
    assert kinds == {"choice": 2, "dual": 2}, kinds
    assert held.equals(split_tasks(arrays, random_seed=5)), "not reproducible by seed"
    seen = {tuple(split_tasks(arrays, random_seed=s)["task"]) for s in range(20)}
    assert len(seen) > 2, f"the held-out tasks never vary with the seed: {seen}"
    two = split_tasks(arrays, tasks_per_respondent=2, random_seed=5)
    assert two["respondent_id"].tolist() == ["r1", "r1"], two
    with pytest.raises(ParameterError, match="tasks_per_respondent must be a whole number"):
        split_tasks(arrays, tasks_per_respondent=0)


def test_words_read_the_table_in_plain_language() -> None:
    table = pd.DataFrame(
        [["split", "all", "", "choice", 100, 100, 4, 0.62, 0.58, 0.25, 0.41, "4", 0.031,
          0.084]],
        columns=list(COLUMNS),
    )  # fmt: skip
    words = validation_words(table, "one random task per respondent.")
    assert words[0] == (
        "The model picks the chosen option in 62% of 100 held-out tasks, against 25% by chance "
        "and 41% by always picking the most popular option (the one shown fourth)."
    ), words[0]
    assert "off by 3.1 percentage points on average, against 8.4 for equal shares" in words[1]
    assert words[2].startswith("That is 21 points better than the better naive rule (more "
                               "than luck gives with 100 tasks, about 10 points)"), words  # fmt: skip
    close = validation_words(table.assign(hit_rate=0.47))  # 2 x sqrt(.47 x .53 / 100) = 0.10
    assert "only 6 points better" in close[2] and "weak evidence" in close[2], close
    assert words[-1] == "Held out: one random task per respondent."
    weak = table.assign(hit_rate=0.40, method="holdouts", most_popular="none")
    words = validation_words(weak)
    assert "(none of them)" in words[0] and words[2].startswith("Caution"), words
    assert validation_words(table.iloc[:0], note="Not validated: x.") == ["Not validated: x."]
    dual = table.assign(kind="dual", hit_rate=0.8, hit_rate_most_popular=0.7, most_popular="1")
    words = validation_words(pd.concat([table, dual], ignore_index=True))
    assert words[3] == (
        "In the follow-up (would they really take the option they chose?) it predicts the "
        "answer in 80% of tasks, against 70% by always giving the most common answer."
    ), words


def test_a_bad_method_is_an_error_naming_the_valid_ones(example_fit, tmp_path) -> None:
    with pytest.raises(ParameterError) as err:
        validate_fit(example_fit[0], method="loo")
    text = str(err.value)
    assert "'loo'" in text and all(m in text for m in ("auto", "holdouts", "split", "none")), text
    from winback.pipeline import run_fit

    with pytest.raises(ParameterError, match="'loo'"):  # before reading or fitting anything
        run_fit(example_fit[0].study, "no-such.csv", tmp_path / "out", validation="loo")


def _true_hits(arrays: ChoiceArrays, truth: pd.DataFrame) -> np.ndarray:
    """First-choice hits of the simulated respondents' true part-worths."""
    beta = truth.loc[list(arrays.respondent_ids), list(arrays.names)].to_numpy()
    u = np.einsum("ojk,ok->oj", arrays.x, beta[arrays.resp])
    u = np.where(arrays.avail, u, -np.inf)
    hits: np.ndarray = u.argmax(axis=1) == arrays.y
    return hits


@pytest.mark.recovery
def test_holdout_hit_rate_is_near_the_truths_and_above_naive_benchmarks(example_fit) -> None:
    model, truth, _ = example_fit
    v = validate_fit(model)
    assert v.method == "holdouts" and list(v.table.columns) == list(COLUMNS), v.table
    row = v.headline()
    assert row is not None and row["n_tasks"] == 120
    arrays = prepare_choice_data(model.dataset_, holdouts=True)
    true = float(_true_hits(arrays, truth)[(arrays.obs["kind"] == "choice").to_numpy()].mean())
    hit, pop, chance = row["hit_rate"], row["hit_rate_most_popular"], row["hit_rate_chance"]
    msg = f"hit rate {hit:.3f}, truth {true:.3f}, most popular {pop:.3f}, chance {chance:.3f}"
    assert true - 0.12 <= hit <= true + 0.05, msg
    assert chance == pytest.approx(0.25) and hit > chance + 0.3, msg
    assert hit > pop + 0.05, msg
    mae, equal = row["share_mae"], row["share_mae_equal"]
    assert mae < equal / 3, f"share error {mae:.4f} vs equal shares {equal:.4f}"
    # the per-task row is holdout_validation's, with the benchmarks added there too
    hv = holdout_validation(model).iloc[0]
    task = v.table.iloc[1]
    for key in ("hit_rate", "hit_rate_most_popular", "share_mae", "share_mae_equal"):
        assert task[key] == pytest.approx(hv[key]), key
    assert task["holdout"] == hv["holdout"] == "bundle_vs_entry"
    assert "bundle_vs_entry" in v.description and v.held_out.empty
    json.dumps(v.to_dict())
    assert v.to_dict()["hit_rate"] == pytest.approx(hit, abs=1e-6)


@pytest.fixture(scope="module")
def no_holdouts(example_fit):
    """The example fit as if the study had no holdout tasks, and its split validation."""
    model = example_fit[0]
    ch = model.dataset_.choices
    data = dataclasses.replace(model.dataset_, _choices=ch[ch["holdout"] == 0])
    bare = dataclasses.replace(model, dataset_=data)
    return bare, validate_fit(bare)


@pytest.mark.recovery
def test_without_holdouts_a_refit_on_random_tasks_predicts_near_the_truth(
    example_fit, no_holdouts
) -> None:
    model, truth, _ = example_fit
    bare, v = no_holdouts
    assert v.method == "split" and v.requested == "auto", v
    assert len(v.held_out) == 120 and v.held_out["respondent_id"].is_unique, v.held_out
    assert v.random_seed == model.settings.random_seed and v.refit_seconds > 0
    row = v.headline()
    assert row is not None and row["n_tasks"] == 120
    arrays = model.arrays_.subset(_held_mask(model.arrays_, v.held_out))
    true = float(_true_hits(arrays, truth).mean())
    hit, pop, chance = row["hit_rate"], row["hit_rate_most_popular"], row["hit_rate_chance"]
    msg = f"hit rate {hit:.3f}, truth {true:.3f}, most popular {pop:.3f}, chance {chance:.3f}"
    assert true - 0.15 <= hit <= true + 0.05, msg
    assert hit > chance + 0.3 and hit > pop + 0.2, msg
    # comparable with the holdout figure, and honest: below the in-sample hit rate
    holdout = validate_fit(model).headline()
    assert holdout is not None
    assert abs(hit - holdout["hit_rate"]) < 0.15, f"{msg}; holdout {holdout['hit_rate']:.3f}"
    inside = fit_statistics(model, summary=True).set_index("statistic")["value"]["hit_rate"]
    assert hit < inside - 0.05, f"{msg}; in-sample {inside:.3f}: a leak into the refit?"
    assert row["share_mae"] < row["share_mae_equal"], msg
    words = v.words()
    assert words[0].startswith(f"The model picks the chosen option in {hit:.0%} of 120"), words
    assert any("refitted on the remaining tasks" in w for w in words), words
    assert math.isclose(v.shares["predicted_share"].sum(), 1.0), v.shares


def test_auto_skips_the_refit_for_large_data_and_says_how_to_ask(no_holdouts) -> None:
    bare, _ = no_holdouts
    v = validate_fit(bare, max_observations=100)
    assert v.method == "none" and v.table.empty and isinstance(v, FitValidation)
    assert "1,440 estimation tasks > 100" in v.note and "'split'" in v.note, v.note
    assert v.words() == [v.note]
    none = validate_fit(bare, method="holdouts")
    assert none.method == "none" and "no holdout tasks" in none.note, none.note
    off = validate_fit(bare, method="none")
    assert off.method == "none" and off.to_dict()["hit_rate"] is None


def test_the_fit_folder_records_the_split_and_a_skipped_validation(no_holdouts, tmp_path):
    """write_fit writes validation.csv and records what was held out in run.json; a skipped
    validation writes no table, and its note reaches the workbook."""
    from openpyxl import load_workbook

    from reports.workbook import read_run_folder, write_workbook
    from winback.pipeline import write_fit

    bare, v = no_holdouts
    run = write_fit(bare, tmp_path / "split" / "fit", validation=v)
    assert run.validation is v and (run.out / "validation.csv") in run.files
    table = pd.read_csv(run.out / "validation.csv")
    assert table["method"].tolist() == ["split"] and table["n_tasks"].tolist() == [120], table
    held = json.loads((run.out / "run.json").read_text())["settings"]["held_out"]
    assert held["method"] == "split" and held["tasks_per_respondent"] == 1, held
    assert held["random_seed"] == bare.settings.random_seed and "hit_rate" not in held, held
    text = (run.out / "convergence.txt").read_text()
    assert "Predictive validation: random held-out tasks" in text and v.words()[0] in text
    assert run.report() == text.rstrip("\n")

    skipped = validate_fit(bare, max_observations=100)
    run = write_fit(bare, tmp_path / "none" / "fit", validation=skipped)
    assert not (run.out / "validation.csv").exists()
    held = json.loads((run.out / "run.json").read_text())["settings"]["held_out"]
    assert held["method"] == "none" and held["note"] == skipped.note, held
    wb = load_workbook(write_workbook(tmp_path / "r.xlsx", read_run_folder(tmp_path / "none")))
    cells = [str(c.value) for row in wb["Diagnostics"].iter_rows() for c in row if c.value]
    assert skipped.note in cells, cells
