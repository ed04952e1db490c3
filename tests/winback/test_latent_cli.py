"""Latent classes from the command line: ``winback fit --model latent-class``, its folder read
back exactly, bad ``--classes`` values, the classes as the segment ``latent_class`` of
``simulate`` (beside an HB fit, and as the simulator itself) and of the CRM list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.cli import main

MARKET = """
[[products]]
name = "A"
plan = "Premium"
speed = "1 Gbps"
support = "Priority"
price = 60.0
own = true

[[products]]
name = "B"
plan = "Basic"
speed = "100 Mbps"
support = "Standard"
price = 30.0
"""


@pytest.fixture(scope="module")
def lc_inputs(tmp_path_factory):
    """SMALL_STUDY answered by 60 respondents of two classes: the price leavers' class
    (price -0.12, no taste for Premium) is more likely for those who left for a price rise
    (0.85 against 0.15). Ids carry a leading zero and a comma to test they read back."""
    from conjoint import make_design, simulate_choices
    from surveys import simulate_respondents
    from winback._io import write_csv

    root = tmp_path_factory.mktemp("lc_inputs")
    (root / "study.toml").write_text(SMALL_STUDY, encoding="utf-8")
    (root / "market.toml").write_text(MARKET, encoding="utf-8")
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap", versions=4)
    n = 60
    ids = [f"0{i:02d},x" for i in range(n)]
    people = simulate_respondents(study, ids, random_seed=5)
    rng = np.random.default_rng(2)
    price = people["reason_price_rise"].astype(int).to_numpy()
    cls = (rng.random(n) < np.where(price == 1, 0.85, 0.15)).astype(int)
    truth = pd.DataFrame([SMALL_TRUTH] * n, index=ids)
    truth.loc[cls == 1, "price"] = -0.12
    truth.loc[cls == 1, "plan[Premium]"] = 0.0
    write_csv(simulate_choices(design, truth, 5), root / "responses.csv")
    write_csv(people, root / "respondents.csv")
    return root


def _fit_argv(root: Path, out: Path) -> list[str]:
    return [
        "fit",
        str(root / "study.toml"),
        str(root / "responses.csv"),
        "--respondents",
        str(root / "respondents.csv"),
        "--model",
        "latent-class",
        "--out",
        str(out),
    ]


@pytest.fixture(scope="module")
def lc_folder(lc_inputs):
    out = lc_inputs / "latent_class"
    argv = _fit_argv(lc_inputs, out)
    code = main(
        ["-q", *argv, "--classes", "1..2", "--starts", "2", "--covariates", "reason_price_rise"]
    )
    assert code == 0
    return out


def test_fit_latent_class_writes_the_whole_folder_and_reads_back(lc_inputs, lc_folder):
    from analysis import load_latent_class
    from surveys._csv import read_csv_text

    names = sorted(p.name for p in lc_folder.iterdir())
    assert names == sorted(
        [
            "classes.csv",
            "class_sizes.csv",
            "memberships.csv",
            "class_selection.csv",
            "class_covariates.csv",
            "latent_class.json",
            "latent_class.txt",
            "run.json",
        ]
    ), names
    sel = pd.read_csv(lc_folder / "class_selection.csv")
    assert sel["classes"].tolist() == [1, 2]
    assert sel.loc[sel["chosen"], "classes"].tolist() == [
        int(sel.loc[sel["bic"].idxmin(), "classes"])
    ]
    text = (lc_folder / "latent_class.txt").read_text(encoding="utf-8")
    assert "chosen by BIC" in text and "CAIC" in text and "entropy" in text, text
    record = json.loads((lc_folder / "run.json").read_text(encoding="utf-8"))
    assert record["settings"]["model"] == "latent-class" and record["settings"]["classes"] == [1, 2]
    # ids and text read back exactly (leading zero, comma)
    members = read_csv_text(lc_folder / "memberships.csv").drop(columns="_row")
    people = read_csv_text(lc_inputs / "respondents.csv")
    assert members["respondent_id"].tolist() == people["respondent_id"].tolist()
    lc = load_latent_class(lc_folder)
    assert lc.n_classes == 2 and lc.class_model is not None
    assert list(lc.respondent_ids) == members["respondent_id"].tolist()
    got = members[["class 1", "class 2"]].astype(float).to_numpy()
    assert np.array_equal(got, lc.membership), "memberships.csv and latent_class.json differ"
    assert (
        members["label"]
        == lc.memberships()["modal_class"].map(
            dict(zip(lc.class_labels, lc.readable_labels, strict=True))
        )
    ).all()
    # the reloaded fit simulates what the fitted one would (same draws to the bit)
    assert np.isfinite(lc.cov).all() and lc.draws(n_draws=5).beta.shape == (5, 60, 7)
    cov = pd.read_csv(lc_folder / "class_covariates.csv")
    assert cov["term"].tolist() == ["intercept", "reason_price_rise"], cov


def test_classes_options_are_checked_before_any_work(lc_inputs, tmp_path, capsys):
    argv = _fit_argv(lc_inputs, tmp_path / "o")
    for bad, why in (
        ("0", "at least 1"),
        ("3..2", "is empty"),
        ("two", "expected a number of classes"),
        ("2..x", "expected a number of classes"),
        ("2..40", "at most 20"),
    ):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--classes", bad])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert why in err, err
    # --classes without --model latent-class, HB options with it: clear errors, nothing written
    hb = [a for a in argv if a not in ("--model", "latent-class")]
    assert main([*hb, "--classes", "2"]) == 1
    assert "--classes is an option of --model latent-class" in capsys.readouterr().err
    assert main([*argv, "--draws", "50", "--prior", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "--draws" in err and "--prior" in err and "HB option" in err, err
    assert not (tmp_path / "o").exists()
    # --out first: a file in the way is named before the options
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*_fit_argv(lc_inputs, blocker), "--draws", "50"]) == 1
    assert "is a file" in capsys.readouterr().err


def test_the_command_line_starts_are_the_functions():
    from analysis.latent_class import STARTS
    from winback.cli.latent_options import STARTS as CLI_STARTS

    assert CLI_STARTS == STARTS, (CLI_STARTS, STARTS)


def test_simulate_with_a_latent_class_fit_as_the_simulator(lc_inputs, lc_folder, tmp_path):
    out = tmp_path / "sim"
    argv = ["-q", "simulate", str(lc_inputs / "study.toml"), str(lc_folder)]
    argv += ["--market", str(lc_inputs / "market.toml"), "--out", str(out)]
    assert main([*argv, "--segment", "latent_class"]) == 0
    shares = pd.read_csv(out / "shares.csv")
    segs = set(shares["segment"]) - {"all"}
    assert len(segs) == 2 and all(s.startswith("class ") for s in segs), segs
    by = shares.groupby("segment")["share"].sum()
    assert np.allclose(by, 1.0), by
    price = shares[(shares["product"] == "none")].set_index("segment")["share"]
    leavers = next(s for s in segs if "price-sensitive" in s and "less" not in s)
    # the price leavers choose none more often than the others (both offers cost 30 or more)
    other = next(s for s in segs if s != leavers)
    assert price[leavers] > price[other], price


def test_simulate_segment_latent_class_beside_an_hb_fit(tmp_path, example_fit, capsys):
    """The HB draws stay the model; the classes (a latent class fit in the run folder's
    latent_class/, or --classes-from) become the respondent column latent_class."""
    from analysis import fit_latent_class, save_latent_class
    from analysis.io import save_model
    from winback.example import example_study_text

    model = example_fit[0]
    run = tmp_path / "run"
    (run / "fit").mkdir(parents=True)
    save_model(model, run / "fit" / "fit.nc")
    (run / "study.toml").write_text(example_study_text(), encoding="utf-8")
    lc = fit_latent_class(model.dataset_, 2, starts=1, random_seed=1)
    elsewhere = tmp_path / "classes"
    elsewhere.mkdir()
    save_latent_class(lc, elsewhere / "latent_class.json")
    market = Path(__import__("winback").__file__).parent / "examples" / "broadband_market.toml"
    base = ["-q", "simulate", str(run / "study.toml"), str(run / "fit"), "--market", str(market)]
    base += ["--segment", "latent_class"]
    assert main([*base, "--out", str(tmp_path / "s0")]) == 1
    assert "No respondent column 'latent_class'" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "s1"), "--classes-from", str(elsewhere)]) == 0
    shares = pd.read_csv(tmp_path / "s1" / "shares.csv")
    want = set(lc.segments()["latent_class"])
    assert set(shares["segment"]) - {"all"} == want, (set(shares["segment"]), want)
    n = shares.drop_duplicates("segment").set_index("segment")["n_respondents"]
    counts = lc.segments()["latent_class"].value_counts()
    assert all(n[s] == counts[s] for s in want), (n, counts)
    # found in the run folder without --classes-from
    (run / "latent_class").mkdir()
    save_latent_class(lc, run / "latent_class" / "latent_class.json")
    assert main([*base, "--out", str(tmp_path / "s2")]) == 0
    again = pd.read_csv(tmp_path / "s2" / "shares.csv")
    assert set(again["segment"]) == set(shares["segment"])


def test_crm_customers_get_their_class(lc_inputs, lc_folder, tmp_path):
    """Respondents keep their modal class; other customers get the covariate model's most
    probable class (price leavers the price-sensitive class)."""
    from analysis import load_latent_class
    from analysis.campaign import read_customers
    from winback.pipeline.classes import customers_with_classes

    lc = load_latent_class(lc_folder)
    first = lc.respondent_ids[0]
    crm = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "respondent_id": [first, "", ""],
            "reason_price_rise": ["0", "1", "0"],
        }
    )
    path = tmp_path / "crm.csv"
    crm.to_csv(path, index=False)
    frame = customers_with_classes(path, lc)
    modal = lc.segments().set_index("respondent_id")["latent_class"]
    assert frame["latent_class"].iloc[0] == modal[first]
    probs = lc.class_probabilities(crm.iloc[1:])
    assert frame["latent_class"].iloc[1:].tolist() == probs["label"].tolist()
    sensitive = next(lab for lab in lc.readable_labels if "(price-sensitive)" in lab)
    assert frame["latent_class"].iloc[1] == sensitive, frame
    customers = read_customers(frame, segment="latent_class", name="crm.csv")
    assert customers.segments().tolist() == frame["latent_class"].tolist()
    with pytest.raises(Exception, match="no latent class fit here"):
        customers_with_classes(path, None, missing="no latent class fit here")
    bad = crm.assign(reason_price_rise=["0", "x", ""])
    with pytest.raises(Exception, match="reason_price_rise"):
        lc.class_probabilities(bad)
