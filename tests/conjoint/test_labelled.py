"""Labelled designs and alternative-specific attributes in the study file, the coding, the
design generators, the diagnostics, the design file and the simulated responses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import inspect_design, make_design, simulate_choices
from conjoint.design import design_from_frame
from conjoint.encoding import make_encoding, parameter_names
from surveys import make_dataset
from tests.conftest import make_study
from winback.errors import DesignError, ResponseError, StudyError
from winback.study import parse_study

LABELLED = """
[study]
name = "brands"
none_option = true

[[attributes]]
name = "speed"
levels = ["100 Mbps", "300 Mbps", "1 Gbps"]

[[attributes]]
name = "tv"
levels = ["TV Essentials", "TV Sports"]
applies_to = ["own"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0]
coding = "linear"

[design]
labels = ["own", "rival_a", "rival_b"]
method = "d_efficient"
tasks = 8
versions = 2
seed = 4
starts = 2
"""


def _bad(text: str) -> str:
    with pytest.raises(StudyError) as err:
        parse_study(text)
    return str(err.value)


@pytest.mark.unit
def test_the_study_file_declares_labels_and_alternative_specific_attributes():
    study = make_study(LABELLED)
    assert study.labels == ("own", "rival_a", "rival_b")
    assert study.design.alternatives == 3, study.design.alternatives
    assert study.label_constants == ("rival_a", "rival_b")
    assert study.applies() == (
        (True, True, True),
        (True, False, True),
        (True, False, True),
    ), study.applies()
    assert parameter_names(study) == [
        "speed[300 Mbps]",
        "speed[1 Gbps]",
        "tv[TV Sports]",
        "price",
        "label[rival_a]",
        "label[rival_b]",
        "none",
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('applies_to = ["own"]', 'applies_to = ["owm"]'),
            "unknown label 'owm'. Did you mean 'own'",
        ),
        (('applies_to = ["own"]', "applies_to = []"), "'applies_to' is empty"),
        (("tasks = 8", "tasks = 8\nalternatives = 2"), "alternatives = 2, but a labelled design"),
        (('labels = ["own", "rival_a", "rival_b"]', ""), "needs a labelled design"),
        (('labels = ["own", "rival_a", "rival_b"]', 'labels = ["own"]'), "at least two labels"),
        (('labels = ["own", "rival_a", "rival_b"]', 'labels = ["own", "own"]'), "listed twice"),
        (('labels = ["own", "rival_a", "rival_b"]', 'labels = ["own", "none"]'), "reserved"),
        (("seed = 4", "seed = 4\nno_dominated = true"), "no_dominated = true does not apply"),
    ],
)
def test_a_labelled_study_file_with_a_mistake_is_refused_clearly(change, message):
    text = LABELLED.replace(*change)
    assert text != LABELLED
    got = _bad(text)
    assert message in got, got


@pytest.mark.unit
def test_prohibitions_interactions_and_status_quo_that_cannot_apply_are_refused():
    rival_only = LABELLED.replace(
        '[[attributes]]\nname = "price"',
        '[[attributes]]\nname = "promo"\nlevels = ["none", "3 months free"]\n'
        'applies_to = ["rival_a"]\n\n[[attributes]]\nname = "price"',
    )
    got = _bad(rival_only + '\n[[prohibitions]]\ntv = "TV Sports"\npromo = "3 months free"\n')
    assert "never appear on the same alternative" in got, got
    got = _bad(LABELLED + '\n[[interactions]]\nattributes = ["tv", "price"]\n')
    assert "interactions with an alternative-specific attribute are not supported" in got, got
    got = _bad(
        LABELLED
        + '\n[status_quo]\nlevels = { speed = "100 Mbps", tv = "TV Essentials", price = 40.0 }\n'
    )
    assert "[status_quo] with [design] labels is not supported yet" in got, got


@pytest.mark.unit
def test_the_coding_sets_label_constants_and_leaves_absent_attributes_at_zero():
    study = make_study(LABELLED)
    enc = make_encoding(study)
    # every alternative at TV Sports (index 1), 1 Gbps, price 50
    task = np.array([[2, 1, 2]] * 3)
    x = enc.encode_tasks(task)
    names = enc.names
    want = {
        0: {"speed[1 Gbps]": 1, "tv[TV Sports]": 1, "price": 50},
        1: {"speed[1 Gbps]": 1, "price": 50, "label[rival_a]": 1},
        2: {"speed[1 Gbps]": 1, "price": 50, "label[rival_b]": 1},
    }
    for j, cols in want.items():
        row = np.zeros(len(names))
        for c, v in cols.items():
            row[names.index(c)] = v
        assert np.array_equal(x[j], row), f"alternative {j + 1}: {x[j]} != {row}"
    # an absent level (-1) contributes nothing
    no_label = x[1].copy()
    no_label[names.index("label[rival_a]")] = 0.0
    assert np.array_equal(enc.encode(np.array([2, -1, 2])), no_label)


@pytest.mark.unit
@pytest.mark.parametrize("method", ["random", "shortcut", "balanced_overlap", "d_efficient"])
def test_every_design_method_keeps_labels_in_order_and_absent_cells_empty(method):
    study = make_study(LABELLED)
    design = make_design(study, method=method)
    lv = design.levels
    tv = study.attribute_names.index("tv")
    assert (lv[:, :, 1:, tv] == -1).all(), "tv shown on a rival"
    assert (lv[:, :, 0, tv] >= 0).all(), "tv missing on own"
    others = np.delete(lv, tv, axis=-1)
    assert (others >= 0).all(), "a generic attribute absent"
    frame = design.to_frame()
    rivals = frame[frame["alt"] > 1]
    assert rivals["tv"].isna().all(), rivals["tv"].unique()
    back = design_from_frame(frame, study)
    assert np.array_equal(back.levels, design.levels), "the design file does not read back"
    # the file as written to disk: an empty cell is read back as absent
    csv = pd.read_csv(pd.io.common.StringIO(frame.to_csv(index=False)))
    assert np.array_equal(design_from_frame(csv, study).levels, design.levels)


@pytest.mark.unit
def test_the_design_file_refuses_a_level_on_an_absent_attribute():
    study = make_study(LABELLED)
    frame = make_design(study, method="random").to_frame()
    frame.loc[1, "tv"] = "TV Sports"  # alternative 2: rival_a
    with pytest.raises(DesignError, match="'tv' exists only on own; leave it empty"):
        design_from_frame(frame, study)


@pytest.mark.unit
def test_diagnostics_count_the_label_constants_and_balance_per_label():
    study = make_study(LABELLED)
    diag = inspect_design(make_design(study))
    s = diag.summary
    assert s["n_parameters"] == 7, s["n_parameters"]
    assert s["sb_efficiency"] != s["sb_efficiency"], "SB efficiency given for a labelled design"
    assert s["labels"] == ["own", "rival_a", "rival_b"]
    lb = diag.level_balance
    tv = lb[lb["attribute"] == "tv"]
    assert set(tv["label"]) == {"own"}, tv
    counts = lb.groupby(["label", "attribute"])["count"].sum()
    # 2 versions x 8 tasks: each label shows each of its attributes 16 times
    assert (counts == 16).all(), counts.to_dict()
    assert np.isfinite(s["d0_error"]), s["d0_error"]
    se = diag.standard_errors.set_index("parameter")["se"]
    assert np.isfinite(se["label[rival_a]"]), se.to_dict()
    assert "not defined for a labelled design" in diag.report()
    assert diag.to_dict()["sb_efficiency"] is None


@pytest.mark.unit
def test_simulated_responses_leave_absent_attributes_empty_and_validate():
    study = make_study(LABELLED)
    design = make_design(study, method="random")
    truth = {n: 0.0 for n in parameter_names(study)}
    r = simulate_choices(design, truth, 1, n_respondents=4)
    rivals = r[r["alt"].isin(["2", "3"])]
    assert rivals["tv"].isna().all()
    own = r[r["alt"] == "1"]
    assert own["tv"].notna().all()
    make_dataset(r, study, design=design)  # validates
    bad = r.copy()
    bad.loc[bad.index[1], "tv"] = "TV Sports"
    with pytest.raises(ResponseError, match="level of an absent attribute"):
        make_dataset(bad, study, design=design)
