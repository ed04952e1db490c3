"""Several waves in one call (`winback run --wave A --wave B`, `winback.waves.run_waves`): the
plan (priors as dependencies), the checks before any work, and one small run on a local Dask
cluster of two worker processes against the same waves run in this process."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.winback.test_waves import _diff, _snapshot
from winback.cli import main
from winback.errors import WinbackError

TINY = ["--draws", "60", "--tune", "60", "--chains", "1", "--seed", "5"]


@pytest.fixture(autouse=True)
def _restore_logging():
    log = logging.getLogger("winback")
    saved = (list(log.handlers), log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]


@pytest.fixture(scope="module")
def tiny_waves(tmp_path_factory) -> Path:
    """Three waves of 24 simulated lost customers each, no market (import, fit, report)."""
    from winback.example import make_example_waves

    root = tmp_path_factory.mktemp("dask") / "study"
    make_example_waves(
        root, n_respondents=24, waves=("w1", "w2", "w3"), market=False, maxdiff=False
    )
    return root


@pytest.fixture
def study(tiny_waves, tmp_path) -> Path:
    copy = tmp_path / "study"
    shutil.copytree(tiny_waves, copy)
    return copy


# --------------------------------------------------------------------------------------------
# The plan and the checks (no sampling)
# --------------------------------------------------------------------------------------------


def test_plan_makes_a_prior_in_the_call_a_dependency(tiny_waves):
    from winback.waves.parallel import _plan

    def plan(waves, prior):
        return {
            j.wave: (j.prior_from, j.waits_for, j.compare_with)
            for j in _plan(tiny_waves, waves, prior)
        }

    assert plan(["w1", "w2", "w3"], None) == {w: (None, None, None) for w in ("w1", "w2", "w3")}
    # previous: a chain; the study's first wave has none
    got = plan(["w3", "w2", "w1"], "previous")
    assert got == {"w1": (None, None, None), "w2": ("w1", "w1", "w1"), "w3": ("w2", "w2", "w2")}
    # a named wave: every other wave waits for it; it runs without a prior
    got = plan(["w2", "w3", "w1"], "w1")
    assert got == {"w1": (None, None, None), "w2": ("w1", "w1", "w1"), "w3": ("w1", "w1", "w1")}
    order = [j.wave for j in _plan(tiny_waves, ["w3", "w2", "w1"], "previous")]
    assert order == ["w1", "w2", "w3"], order  # each after the wave it waits for
    with pytest.raises(WinbackError, match=r"no results for wave 'w1'"):
        _plan(tiny_waves, ["w2", "w3"], "w1")  # outside the call and without results
    with pytest.raises(WinbackError, match=r"no wave before 'w2' has results"):
        _plan(tiny_waves, ["w2"], "previous")
    with pytest.raises(WinbackError, match=r"cannot be its own prior"):
        _plan(tiny_waves, ["w2"], "w2")


def test_wave_all_is_every_wave_with_responses(study):
    from winback.waves.parallel import _the_waves

    assert _the_waves(study, "all") == ["w1", "w2", "w3"]
    (study / "waves" / "w2" / "responses.csv").unlink()
    assert _the_waves(study, ["all"]) == ["w1", "w3"]
    assert _the_waves(study, ["w3", "w1"]) == ["w3", "w1"]  # as given; the plan orders them


def test_every_wave_is_checked_before_any_work(study, monkeypatch, capsys):
    from winback.waves import run_waves

    def never(*args, **kwargs):
        raise AssertionError("a wave started before every wave was checked")

    monkeypatch.setattr("winback.waves.parallel.run_wave", never)
    (study / "waves" / "w3" / "responses.csv").unlink()
    before = _snapshot(study)
    with pytest.raises(WinbackError, match=r"wave 'w3' has no responses.csv"):
        run_waves(study, ["w1", "w2", "w3"], draws=10)
    for argv, msg in [
        (["--wave", "w1", "--wave", "w9"], "no wave 'w9'"),
        (["--wave", "w1", "--wave", "w1"], "given twice"),
        (["--wave", "all", "--wave", "w1"], "give it alone"),
        (["--wave", "w1", "--wave", "w2", "--workers", "2"], "--scheduler local"),
        (["--wave", "w1", "--wave", "w2", "--scheduler", "no such host"], "is not an address"),
        (["--wave", "w1", "--wave", "w2", "--product", "x"], "needs a market"),
    ]:
        assert main(["run", str(study), *argv]) == 1, argv
        assert msg in capsys.readouterr().err, (argv, msg)
    with pytest.raises(WinbackError, match=r"unknown option 'draw'.*Did you mean 'draws'"):
        run_waves(study, ["w1", "w2"], draw=10)
    assert _diff(before, _snapshot(study)) == []


def test_without_dask_the_scheduler_names_the_extra(study, monkeypatch):
    from winback.waves import run_waves

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(WinbackError, match=r'pip install "winback\[dask\]"'):
        run_waves(study, ["w1", "w2"], scheduler="local")
    assert not (study / "waves" / "w1" / "results").exists()


def test_a_scheduler_that_does_not_answer_is_a_clear_error_before_any_work(study):
    pytest.importorskip("distributed")
    from winback.waves import run_waves

    before = _snapshot(study)
    t0 = time.perf_counter()
    with pytest.raises(WinbackError) as exc:
        run_waves(study, ["w1", "w2"], scheduler="tcp://127.0.0.1:9", connect_timeout=2)
    seconds = time.perf_counter() - t0
    msg = str(exc.value)
    assert "could not reach a Dask scheduler at tcp://127.0.0.1:9 within 2 s" in msg, msg
    assert "nothing was run" in msg, msg
    assert seconds < 10, f"the error took {seconds:.1f} s (timeout 2 s)"
    assert _diff(before, _snapshot(study)) == []


def test_a_failed_prior_wave_stops_the_waves_waiting_for_it(study, monkeypatch):
    """In turn (no scheduler): w1 fails, w2 (prior w1) is not run, w3 (no prior) lands."""
    from winback.waves import WavesFailed, parallel, run_waves

    ran = []

    def fake(study_dir, wave, **kwargs):
        ran.append((wave, kwargs["prior_from"]))
        if wave == "w1":
            raise WinbackError("responses.csv, row 3: unknown level")
        return parallel.WaveRun(wave, Path(study_dir), Path(study_dir), None, None)

    monkeypatch.setattr(parallel, "run_wave", fake)
    with pytest.raises(WavesFailed) as exc:
        run_waves(study, ["w1", "w2"], prior_from="w1")
    assert ran == [("w1", None)], ran
    assert exc.value.errors == {
        "w1": "responses.csv, row 3: unknown level",
        "w2": "not run: its prior is wave 'w1' of this call, which failed.",
    }
    assert "2 of 2 waves failed" in str(exc.value)


# --------------------------------------------------------------------------------------------
# A local Dask cluster of two worker processes
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_scheduler():
    """The address of a local Dask cluster of two worker processes (one thread each)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        memory_limit=0,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.integration
def test_waves_on_a_dask_cluster_match_the_same_waves_in_turn(
    study, dask_scheduler, tmp_path, monkeypatch, capsys
):
    """w1, w2 and a broken w3 on the cluster's two worker processes (`--scheduler ADDRESS`):
    w1 and w2 land with the part-worths of the same waves run in this process with the same
    seed (nutpie draws the same numbers in any process for the same seed and data: equal to
    1e-9), w3 fails with its reason, leaves no results, and the command names it."""
    from winback.waves import run_waves

    reference = tmp_path / "reference"
    shutil.copytree(study, reference)
    (study / "waves" / "w3" / "responses.csv").write_text("respondent_id,nonsense\nr1,1\n")
    argv = ["run", str(study), "--wave", "w1", "--wave", "w2", "--wave", "w3", *TINY]
    rc = main([*argv, "--scheduler", dask_scheduler])
    out = capsys.readouterr()
    assert rc == 1, out.err
    assert "1 of 3 waves failed" in out.err and "wave w3:" in out.err, out.err
    assert "responses.csv" in out.err.split("  wave w3: ")[1], out.err
    assert "Completed: w1, w2" in out.err, out.err
    assert "wave w1: results in" in out.out and "wave w2: results in" in out.out, out.out
    assert not (study / "waves" / "w3" / "results").exists()
    for wave in ("w1", "w2"):
        rec = json.loads((study / "waves" / wave / "results" / "wave.json").read_text())
        assert rec["prior"] is None and rec["report"]["compared_with"] is None, rec

    # the same waves in this process (without the workbook, which does not change a fit)
    monkeypatch.setattr("winback.waves.run._report_step", lambda *a, **k: {})
    runs = run_waves(reference, ["w1", "w2"], draws=60, tune=60, chains=1, random_seed=5)
    assert [r.wave for r in runs] == ["w1", "w2"]
    for wave in ("w1", "w2"):
        got = pd.read_csv(study / "waves" / wave / "results" / "fit" / "partworths.csv")
        want = pd.read_csv(reference / "waves" / wave / "results" / "fit" / "partworths.csv")
        assert len(got) == len(want) > 0
        gap = (got["utility"] - want["utility"]).abs().max()
        assert gap < 1e-9, (
            f"wave {wave}: part-worths on Dask differ from in-process by up to {gap:.3g} "
            f"(mean utility {got['utility'].mean():.4f} vs {want['utility'].mean():.4f})"
        )


def test_on_dask_a_wave_waits_for_its_prior_wave(study):
    """`scheduler="local"` (one worker process): w2 takes w1 as its prior, so its task gets
    w1's outcome; w1 fails at import, so w2 is not run (no fit: quick)."""
    pytest.importorskip("distributed")
    from winback.waves import WavesFailed, run_waves

    (study / "waves" / "w1" / "responses.csv").write_text("respondent_id,nonsense\nr1,1\n")
    with pytest.raises(WavesFailed) as exc:
        run_waves(study, ["w2", "w1"], prior_from="w1", scheduler="local", workers=1, draws=10)
    errors = exc.value.errors
    assert list(errors) == ["w2", "w1"] and "responses.csv" in errors["w1"], errors
    assert errors["w2"] == "not run: its prior is wave 'w1' of this call, which failed.", errors
    assert exc.value.runs == []
