"""MaxDiff on the way in: `winback design` writes the study's MaxDiff design, `winback import`
reads the answers (--maxdiff, or maxdiff.csv beside the responses) into IMPORT/maxdiff.csv, and
simulated fieldwork answers it from the reasons each respondent ticked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conjoint import make_design, make_study_maxdiff_design, read_maxdiff_design
from surveys.fieldwork import simulate_fieldwork
from surveys.fieldwork_maxdiff import MAIN, TICKED
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback._io import write_csv
from winback.cli import main
from winback.errors import DesignError, ResponseError, WinbackError

pytestmark = pytest.mark.integration

MAXDIFF = """
[maxdiff]
items = ["price_rise", "outages", "support", "competitor_offer", "moved"]
per_set = 3
sets = 5
versions = 4
seed = 3
"""
STUDY = SMALL_STUDY + MAXDIFF


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """STUDY, its designs (winback design), 60 simulated respondents' responses.csv,
    respondents.csv and maxdiff.csv (the simulated fieldwork's)."""
    root = tmp_path_factory.mktemp("maxdiff_inputs")
    (root / "study.toml").write_text(STUDY, encoding="utf-8")
    assert main(["-q", "design", str(root / "study.toml"), "--out", str(root / "design"),
                 "--method", "random"]) == 0  # fmt: skip
    study = make_study(STUDY)
    design = make_design(study, method="random")
    means = dict(SMALL_TRUTH)
    sd = {k: 0.3 for k in means}
    work = simulate_fieldwork(design, means, sd, 60, random_seed=4)
    field = root / "field"
    field.mkdir()
    write_csv(work.choices, field / "responses.csv")
    write_csv(work.respondents, field / "respondents.csv")
    write_csv(work.maxdiff, field / "maxdiff.csv")
    return root, study, work


def test_design_writes_the_maxdiff_design_and_prints_its_diagnostics(tmp_path, capsys):
    (tmp_path / "study.toml").write_text(STUDY, encoding="utf-8")
    out = tmp_path / "design"
    assert (
        main(["design", str(tmp_path / "study.toml"), "--out", str(out), "--method", "random"]) == 0
    )
    printed = capsys.readouterr().out
    assert "MaxDiff design: 5 items, 3 per set, 5 sets, 4 version(s)" in printed
    frame = pd.read_csv(out / "maxdiff_design.csv")
    assert list(frame.columns) == ["version", "set", "position", "item"]
    assert len(frame) == 4 * 5 * 3, len(frame)
    study = make_study(STUDY)
    back = read_maxdiff_design(out, study)
    made = make_study_maxdiff_design(study)
    assert back.items == made.items and (back.sets == made.sets).all()
    assert (out / "maxdiff_diagnostics.txt").read_text().startswith("MaxDiff design:")


def test_a_design_that_does_not_fit_the_study_is_refused(tmp_path):
    study = make_study(STUDY)
    other = make_study(STUDY.replace("per_set = 3", "per_set = 2"))
    write_csv(make_study_maxdiff_design(other).frame(), tmp_path / "maxdiff_design.csv")
    with pytest.raises(
        DesignError, match=r"5 sets of 2 items, but the study.s \[maxdiff\] asks for 5 sets of 3"
    ):
        read_maxdiff_design(tmp_path, study)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DesignError, match=r"holds no maxdiff_design\.csv"):
        read_maxdiff_design(tmp_path / "empty", study)


def test_import_picks_up_maxdiff_csv_beside_the_responses(inputs, capsys):
    root, study, work = inputs
    out = root / "imported"
    argv = ["import", str(root / "study.toml"), str(root / "field" / "responses.csv"),
            "--out", str(out), "--design", str(root / "design")]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "MaxDiff: 60 respondents answered 300 sets of 3 of 5 reasons" in printed, printed
    written = pd.read_csv(out / "maxdiff.csv", dtype={"respondent_id": str})
    assert list(written.columns) == [
        "respondent_id",
        "version",
        "set",
        "position",
        "item",
        "best",
        "worst",
    ]
    assert len(written) == 60 * 5 * 3 and written["best"].sum() == 300
    summary = json.loads((out / "import.json").read_text())["maxdiff"]
    assert summary["n_respondents"] == 60 and summary["n_respondents_without"] == 0
    assert summary["design"].endswith("maxdiff_design.csv"), summary


def test_import_reads_the_compact_layout_and_counts_respondents_without_answers(inputs, tmp_path):
    root, study, work = inputs
    long = work.maxdiff
    keep = long[~long["respondent_id"].isin(["r01", "r02", "r03"])]
    chosen = keep.groupby(["respondent_id", "version", "set"], sort=False)
    compact = pd.DataFrame(
        {
            "best": chosen.apply(
                lambda g: g.loc[g["best"] == 1, "item"].iloc[0], include_groups=False
            ),
            "worst": chosen.apply(
                lambda g: g.loc[g["worst"] == 1, "item"].iloc[0], include_groups=False
            ),
        }
    ).reset_index()
    write_csv(compact, tmp_path / "answers.csv")
    out = tmp_path / "imported"
    argv = ["-q", "import", str(root / "study.toml"), str(root / "field" / "responses.csv"),
            "--out", str(out), "--maxdiff", str(tmp_path / "answers.csv")]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "import.json").read_text())["maxdiff"]
    assert summary["n_respondents"] == 57 and summary["n_respondents_without"] == 3, summary
    assert summary["design"] == "the design of the study's [maxdiff]"
    written = pd.read_csv(out / "maxdiff.csv", dtype={"respondent_id": str})
    pd.testing.assert_frame_equal(
        written, keep.reset_index(drop=True).astype(written.dtypes.to_dict()), check_dtype=False
    )


def test_import_refuses_unknown_respondents_and_bad_answers_naming_them(inputs, tmp_path):
    from winback.pipeline import run_import

    root, study, work = inputs
    responses = root / "field" / "responses.csv"
    stray = work.maxdiff.copy()
    stray.loc[stray["respondent_id"] == "r05", "respondent_id"] = "zz9"
    with pytest.raises(ResponseError) as err:
        run_import(study, responses, tmp_path / "a", maxdiff=stray)
    assert "respondent_id 'zz9' answered the MaxDiff but is not a respondent" in str(err.value)
    bad = work.maxdiff.copy()
    bad.loc[1, "best"] = 1  # two best answers in r01's first set
    bad.loc[7, "item"] = "moving"
    with pytest.raises(ResponseError) as err:
        run_import(study, responses, tmp_path / "b", maxdiff=bad)
    text = str(err.value)
    assert "row 8: item 'moving'. Items: price_rise, outages" in text, text
    assert "row 1 (respondent 'r01', set 1): 2 rows marked best" in text, text
    plain = make_study(SMALL_STUDY)
    with pytest.raises(WinbackError, match=r"has no \[maxdiff\] table"):
        run_import(plain, responses, tmp_path / "c", maxdiff=work.maxdiff)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_study_without_maxdiff_imports_as_before(inputs, tmp_path):
    from winback.pipeline import run_import

    root, study, work = inputs
    plain = make_study(SMALL_STUDY)
    run = run_import(plain, root / "field" / "responses.csv", tmp_path / "out")
    assert run.maxdiff is None
    assert not (tmp_path / "out" / "maxdiff.csv").exists()
    assert "maxdiff" not in json.loads((tmp_path / "out" / "import.json").read_text())


def test_simulated_answers_follow_the_reasons_ticked(inputs):
    """The rule: u = 1.5 ticked + 1.0 main + N(0, 1); the answers its sequential logit."""
    root, study, work = inputs
    people = work.respondents.set_index("respondent_id")
    truth = work.maxdiff_truth
    ticked = np.column_stack([people.loc[truth.index, f"reason_{x}"].fillna(0).to_numpy() == 1
                              for x in truth.columns])  # fmt: skip
    main_ = people.loc[truth.index, "main_reason"].to_numpy()[:, None] == truth.columns.to_numpy()
    resid = truth.to_numpy() - TICKED * ticked - MAIN * main_
    n = resid.size
    assert abs(resid.mean()) < 3.5 / np.sqrt(n), f"noise mean {resid.mean():.3f} not 0"
    assert abs(resid.std() - 1.0) < 0.1, f"noise sd {resid.std():.3f} not 1"
    # the answers: best picks on ticked reasons, observed vs the sequential logit's expectation
    u = truth.to_numpy()
    col = {x: i for i, x in enumerate(truth.columns)}
    row = {r: i for i, r in enumerate(truth.index)}
    ans = work.maxdiff
    expected = var = observed = 0.0
    for (rid, _), g in ans.groupby(["respondent_id", "set"], sort=False):
        i = row[rid]
        idx = [col[x] for x in g["item"]]
        p = np.exp(u[i, idx]) / np.exp(u[i, idx]).sum()
        t = ticked[i, idx]
        q = float(p[t].sum())
        expected += q
        var += q * (1 - q)
        observed += float(t[g["best"].to_numpy() == 1].sum())
    z = (observed - expected) / np.sqrt(var)
    assert abs(z) < 3.5, (
        f"best on ticked reasons {observed:.0f}, expected {expected:.1f} (z {z:.2f})"
    )
    assert observed > 0.5 * len(ans) / 3, observed  # ticked reasons win most sets


def test_fieldwork_without_maxdiff_is_unchanged_and_unpacks_as_before():
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="random")
    means = dict(SMALL_TRUTH)
    sd = {k: 0.3 for k in means}
    plain = simulate_fieldwork(design, means, sd, 20, random_seed=2)
    with_md = simulate_fieldwork(
        make_design(make_study(STUDY), method="random"), means, sd, 20, random_seed=2
    )
    choices, people, truth, planted = plain
    assert plain.maxdiff is None and plain.maxdiff_truth is None
    pd.testing.assert_frame_equal(choices, with_md[0])
    pd.testing.assert_frame_equal(people, with_md[1])
    assert with_md.maxdiff is not None and with_md.maxdiff["respondent_id"].nunique() == 20
