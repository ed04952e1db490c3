"""``winback fit`` with a MaxDiff in the import folder (issue 20 item 4): the MaxDiff fitted
first into ``maxdiff/``, its scores as CBC covariates ``maxdiff_<item>`` (the effect recovered
from known truth), the errors, and the command's report and exit status."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from analysis import add_maxdiff_covariates, covariate_effects, maxdiff_covariates
from analysis.data import respondent_covariates
from tests.conftest import MAXDIFF_EFFECT, MAXDIFF_ITEMS, MAXDIFF_TRUTH, SMALL_STUDY, make_study
from winback.errors import WinbackError
from winback.pipeline.maxdiff import check_maxdiff_covariates, read_maxdiff_inputs, run_maxdiff
from winback.run_folder import MAXDIFF, RunFolder

pytestmark = pytest.mark.integration


def test_the_maxdiff_folder_holds_every_file_and_its_record(maxdiff_run) -> None:
    run, fit_run, _, _ = maxdiff_run
    md = fit_run.maxdiff
    assert md is not None and md.out == run / "maxdiff", md
    rf = RunFolder(run)
    for name in MAXDIFF.files:
        assert rf.has(MAXDIFF, name), (
            f"maxdiff/{name} missing; has {sorted(p.name for p in md.out.iterdir())}"
        )
    assert {p.name for p in md.files} == set(MAXDIFF.files), md.files
    rec = rf.record(MAXDIFF)
    assert rec is not None and rec.command == "fit", rec
    s = rec.settings
    assert (s["draws"], s["tune"], s["chains"], s["random_seed"]) == (150, 150, 2, 3), s
    assert s["items"] == list(MAXDIFF_ITEMS) and s["per_set"] == 4 and s["n_respondents"] == 100
    assert s["answers"] == "../import/maxdiff.csv", s["answers"]
    assert s["design"] == "../design/maxdiff_design.csv", s["design"]
    # the fit records the MaxDiff it was fitted after, and used its covariate
    assert rf.setting("fit", "maxdiff") == "../maxdiff", rf.record("fit")
    assert rf.setting("fit", "covariates") == ["maxdiff_support"]


def test_scores_population_counts_and_verdict_as_written(maxdiff_run) -> None:
    run, fit_run, u, _ = maxdiff_run
    md = fit_run.maxdiff
    scores = pd.read_csv(run / "maxdiff" / "scores.csv", dtype={"respondent_id": str})
    assert list(scores.columns) == ["respondent_id", *MAXDIFF_ITEMS], list(scores.columns)
    sums = scores[list(MAXDIFF_ITEMS)].sum(axis=1)
    assert np.allclose(sums, 100.0, atol=1e-6), f"rows sum to {sums.min()}..{sums.max()}"
    pop = pd.read_csv(run / "maxdiff" / "population.csv")
    assert pop["score"].sum() == pytest.approx(100.0), pop["score"].sum()
    assert (pop["score_lower"] <= pop["score"]).all() and (pop["score"] <= pop["score_upper"]).all()
    assert pop.loc[pop["item"] == "support", "label"].item() == "Poor customer support"
    # the average score is the respondents' scores averaged
    mean_scores = scores[list(MAXDIFF_ITEMS)].mean().to_numpy()
    assert np.allclose(pop["score"], mean_scores, atol=1e-9), (pop["score"], mean_scores)
    rho = spearmanr(pop["score"], MAXDIFF_TRUTH).statistic
    assert rho >= 0.9, f"scores order the items as the truth with Spearman {rho:.2f} < 0.9"
    counts = pd.read_csv(run / "maxdiff" / "counts.csv")
    assert counts["shown"].sum() == 100 * 6 * 4, counts["shown"].sum()
    conv = json.loads((run / "maxdiff" / "convergence.json").read_text())
    assert conv["verdict"] == md.convergence.verdict and conv["n_respondents"] == 100, conv
    text = (run / "maxdiff" / "convergence.txt").read_text()
    assert "Poor customer support" in text and md.convergence.verdict.upper() in text.upper()
    # a MaxDiff's individual parameters are utilities (docs/maxdiff.md), not part-worths
    assert "individual utilities (beta, worst respondent): r_hat max" in text, text
    n = text.count("part-worth")
    assert n == 0, f"maxdiff/convergence.txt says part-worth {n} times:\n{text}"
    assert fit_run.verdict in ("pass", "warn", "fail")
    worst = max(
        fit_run.convergence.verdict, md.convergence.verdict, key=("pass", "warn", "fail").index
    )
    assert fit_run.verdict == worst


def test_the_covariate_is_the_zero_centred_utility(maxdiff_run) -> None:
    _, fit_run, u, _ = maxdiff_run
    md = fit_run.maxdiff.model
    cov = maxdiff_covariates(md).set_index("respondent_id")
    assert list(cov.columns) == [f"maxdiff_{i}" for i in MAXDIFF_ITEMS]
    assert np.allclose(cov.sum(axis=1), 0.0, atol=1e-9), "zero-centred per respondent"
    got = fit_run.model.dataset_.respondents.set_index("respondent_id")["maxdiff_support"]
    assert np.allclose(got.loc[cov.index], cov["maxdiff_support"]), "the fit used these values"
    true = u.sub(u.mean(axis=1), axis=0)["support"]
    r = np.corrcoef(cov["maxdiff_support"], true.loc[cov.index])[0, 1]
    assert r > 0.6, f"covariate vs true centred utility: correlation {r:.2f} <= 0.6"


def test_the_covariate_effect_is_recovered(maxdiff_run) -> None:
    """Part-worths of priority support rise by MAXDIFF_EFFECT per unit of the true centred
    MaxDiff utility of support: the fit's covariate effect has that sign and about that size."""
    _, fit_run, _, _ = maxdiff_run
    eff = covariate_effects(fit_run.model, band=0.9).set_index(["covariate", "parameter"])
    r = eff.loc[("maxdiff_support", "support[Priority]")]
    mean, lo, hi = r["effect"], r["lower"], r["upper"]
    assert lo > 0, f"effect {mean:.2f} [{lo:.2f}, {hi:.2f}]: its band does not exclude 0"
    print(f"maxdiff_support on support[Priority]: {mean:.3f} [{lo:.3f}, {hi:.3f}]")
    assert 0.5 * MAXDIFF_EFFECT <= mean <= 1.6 * MAXDIFF_EFFECT, (
        f"effect {mean:.2f} [{lo:.2f}, {hi:.2f}] not within half to 1.6 times the truth "
        f"{MAXDIFF_EFFECT}"
    )
    # no effect where there is none: the other part-worths' 99% bands hold 0
    wide = covariate_effects(fit_run.model, band=0.99).set_index("parameter")
    for name, o in wide.drop(index="support[Priority]").iterrows():
        assert o["lower"] < 0 < o["upper"], (
            f"{name}: effect band [{o['lower']:.2f}, {o['upper']:.2f}] excludes 0"
        )


def _without_maxdiff(data):
    """The dataset with its maxdiff_ respondent columns taken off."""
    people = data.respondents
    extra = [c for c in people.columns if c.startswith("maxdiff_")]
    return replace(data, _respondents=people.drop(columns=extra))


def test_a_respondent_without_maxdiff_answers_is_an_error(maxdiff_run) -> None:
    _, fit_run, _, _ = maxdiff_run
    data = _without_maxdiff(fit_run.model.dataset_)
    md = fit_run.maxdiff.model
    short = data.with_respondent_columns(maxdiff_covariates(md).iloc[3:])
    ids = list(data.respondents["respondent_id"].astype(str)[:3])
    with pytest.raises(WinbackError) as err:
        respondent_covariates(short, ["maxdiff_support"])
    msg = str(err.value)
    assert "missing for 3 of 100 included respondents" in msg and all(i in msg for i in ids), msg
    assert "no MaxDiff answers" in msg and "none is imputed" in msg, msg
    # excluded, they are no trouble
    fine = respondent_covariates(short.exclude(ids, "no MaxDiff"), ["maxdiff_support"])
    assert len(fine) == 97, len(fine)
    # a MaxDiff covariate that was never added says where they come from
    with pytest.raises(WinbackError, match="maxdiff_ covariates come from a MaxDiff fit"):
        respondent_covariates(data, ["maxdiff_support"])
    # the covariates already there cannot be added twice
    with pytest.raises(WinbackError, match="already has column"):
        add_maxdiff_covariates(fit_run.model.dataset_, md)


def test_maxdiff_covariates_without_a_maxdiff_fail_before_fitting(maxdiff_run, tmp_path) -> None:
    from winback.pipeline import run_fit

    run, fit_run, _, _ = maxdiff_run
    (tmp_path / "import").mkdir()
    for name in ("responses.csv", "respondents.csv"):
        (tmp_path / "import" / name).write_bytes((run / "import" / name).read_bytes())
    with pytest.raises(WinbackError, match=r"covariate\(s\) maxdiff_support need MaxDiff answers"):
        run_fit(make_study(SMALL_STUDY), tmp_path / "import" / "responses.csv", tmp_path / "fit",
                covariates=["maxdiff_support"])  # fmt: skip
    assert not (tmp_path / "fit").exists()
    with pytest.raises(WinbackError, match=r"unknown MaxDiff covariate\(s\) maxdiff_speed"):
        check_maxdiff_covariates(["tenure_months", "maxdiff_speed"], fit_run.maxdiff.model)


def test_the_design_file_checks_the_answers(maxdiff_run, tmp_path) -> None:
    run, _, _, _ = maxdiff_run
    answers = pd.read_csv(run / "import" / "maxdiff.csv", dtype={"respondent_id": str})
    wrong = answers.copy()
    first = wrong.index[:2]
    wrong.loc[first, "item"] = wrong.loc[first[::-1], "item"].to_numpy()
    study = make_study(SMALL_STUDY)
    design = run / "design" / "maxdiff_design.csv"
    with pytest.raises(WinbackError, match="design"):
        read_maxdiff_inputs(study, wrong, design)
    read_maxdiff_inputs(
        study, wrong.sort_values(["respondent_id", "set", "position"])
    )  # no design: fine
    with pytest.raises(WinbackError, match="refusing to overwrite"):
        run_maxdiff(study, run / "import" / "maxdiff.csv", run / "maxdiff", draws=5, tune=5)
    with pytest.raises(WinbackError, match="draws must be a whole number"):
        run_maxdiff(study, run / "import" / "maxdiff.csv", tmp_path / "md", draws=0)


def test_the_command_reports_both_verdicts_and_fails_on_either(
    maxdiff_run, monkeypatch, capsys
) -> None:
    import dataclasses

    import winback.pipeline.fit as fit_stage
    from winback.cli import main

    run, fit_run, _, _ = maxdiff_run
    md = fit_run.maxdiff
    for cbc, mdv, status in (("pass", "fail", 4), ("pass", "warn", 0), ("fail", "pass", 4)):
        fake = dataclasses.replace(
            fit_run,
            convergence=dataclasses.replace(fit_run.convergence, verdict=cbc),
            maxdiff=dataclasses.replace(
                md, convergence=dataclasses.replace(md.convergence, verdict=mdv)
            ),
        )
        monkeypatch.setattr(fit_stage, "run_fit", lambda *a, fake=fake, **k: fake)
        got = main(["fit", str(run / "study.toml"), str(run / "import" / "responses.csv"),
                    "--out", str(run / "fit")])  # fmt: skip
        out = capsys.readouterr().out
        assert got == status, f"CBC {cbc}, MaxDiff {mdv}: exit {got}, expected {status}"
        assert "MaxDiff of 8 reasons, 100 respondents" in out, out[:500]
        assert "maxdiff/" in out and "Poor customer support" in out, out[-800:]
