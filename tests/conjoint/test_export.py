"""Design files: round trips for every format, clear errors, formula safety, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import (
    make_design,
    read_design_csv,
    read_qualtrics_design,
    read_sawtooth_design,
    write_design_csv,
    write_qualtrics_design,
    write_sawtooth_design,
)
from tests.conftest import SMALL_HOLDOUT, SMALL_STUDY, make_study
from winback.errors import DesignError


@pytest.fixture
def study():
    return make_study(SMALL_STUDY + SMALL_HOLDOUT)


def test_design_csv_round_trip(tmp_path, study):
    design = make_design(study, method="balanced_overlap", versions=3)
    path = write_design_csv(design, tmp_path / "design.csv")
    back = read_design_csv(path, study)
    assert np.array_equal(back.levels, design.levels)
    assert np.array_equal(back.holdout, design.holdout)
    text = path.read_text()
    assert text.splitlines()[0] == "version,task,alt,plan,speed,support,price,holdout"
    assert ",1 Gbps," in text or ",1 Gbps\n" in text
    assert ",30.0," in text  # numeric levels written as values


def test_sawtooth_round_trip_keeps_holdouts_as_version_0(tmp_path, study):
    design = make_design(study, method="shortcut", versions=2)
    path = write_sawtooth_design(design, tmp_path / "sawtooth.csv")
    df = pd.read_csv(path)
    assert list(df.columns[:3]) == ["Version", "Task", "Concept"]
    assert (df["Version"] == 0).sum() == 3  # the holdout, listed once
    assert df["Att1"].between(1, 3).all() and df["Att4"].between(1, 4).all()
    back = read_sawtooth_design(path, study)
    assert np.array_equal(back.levels, design.levels)
    assert np.array_equal(back.holdout, design.holdout)


def test_qualtrics_round_trip_of_random_tasks(tmp_path, study):
    design = make_design(study, method="random", versions=2)
    path = write_qualtrics_design(design, tmp_path / "qualtrics.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == [
        "question_set",
        "question",
        "choice",
        "plan",
        "speed",
        "support",
        "price",
    ]
    back = read_qualtrics_design(path, study)
    assert np.array_equal(back.levels, design.estimation_levels())


def test_unknown_level_error_names_file_row_column_and_valid_levels(tmp_path, study):
    design = make_design(study, method="random")
    frame = design.to_frame()
    frame.loc[4, "plan"] = "Platinum"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DesignError) as err:
        read_design_csv(path, study)
    msg = str(err.value)
    assert "bad.csv" in msg and "row 6" in msg and "'plan'" in msg and "Platinum" in msg
    assert "Basic, Standard, Premium" in msg


def test_many_problems_reported_at_once(tmp_path, study):
    frame = make_design(study, method="random").to_frame().astype({"price": object, "task": object})
    frame.loc[0, "speed"] = "2 Gbps"
    frame.loc[1, "price"] = "35"
    frame.loc[2, "task"] = "x"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DesignError) as err:
        read_design_csv(path, study)
    msg = str(err.value)
    assert "3 problem(s)" in msg and "2 Gbps" in msg and "'35'" in msg and "'x'" in msg


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (lambda f: f.drop(columns=["speed"]), "missing column"),
        (lambda f: f.assign(colour="red"), "unexpected column"),
        (lambda f: pd.concat([f, f.iloc[[0]]]), "repeated"),
        (lambda f: f.iloc[1:], "expected every version"),
        (lambda f: f.assign(holdout=7), "'holdout'"),
    ],
)
def test_malformed_design_files(tmp_path, study, mutate, expect):
    frame = mutate(make_design(study, method="random").to_frame())
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    with pytest.raises(DesignError, match=expect):
        read_design_csv(path, study)
    assert path.read_bytes() == before, "the input file was modified"


def test_bom_and_formula_like_labels(tmp_path):
    text = SMALL_STUDY.replace(
        '"Basic", "Standard", "Premium"', '"=Basic", "+Standard", "@Premium"'
    )
    text = text.replace("plan = { Standard = 6.0, Premium = 14.0 }", "")
    study = make_study(text)
    design = make_design(study, method="random")
    path = write_design_csv(design, tmp_path / "design.csv")
    raw = path.read_text()
    assert "'=Basic" in raw and "'@Premium" in raw and ",=Basic" not in raw
    back = read_design_csv(path, study)
    assert np.array_equal(back.levels, design.levels)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert np.array_equal(read_design_csv(bom, study).levels, design.levels)


def test_atomic_write_leaves_no_temporary_files(tmp_path, study):
    design = make_design(study, method="random")
    write_design_csv(design, tmp_path / "design.csv")
    write_design_csv(design, tmp_path / "design.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["design.csv"]
