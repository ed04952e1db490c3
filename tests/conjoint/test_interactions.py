"""Declared interactions ([[interactions]]): the study file's checks, the encoding's columns,
the design search optimising for them and the diagnostics reporting them."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from conjoint import inspect_design, make_design
from conjoint.encoding import (
    linear_to_partworth,
    make_encoding,
    parameter_names,
    partworth_study,
)
from tests.conftest import SMALL_STUDY, make_study
from winback.errors import StudyError

#: plan x speed x price, a none option; price linear (30 to 60)
BASE = """
[study]
name = "price by plan"
none_option = true

[[attributes]]
name = "plan"
levels = ["Basic", "Fibre", "Premium"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "500 Mbps", "1 Gbps"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]
coding = "linear"

[design]
method = "d_efficient"
alternatives = 3
tasks = 10
versions = 2
seed = 1
starts = 3
"""


def interactions(*pairs: tuple[str, str]) -> str:
    return "".join(f'\n[[interactions]]\nattributes = ["{a}", "{b}"]\n' for a, b in pairs)


def problems(text: str) -> str:
    with pytest.raises(StudyError) as exc:
        make_study(text)
    return str(exc.value)


@pytest.mark.unit
def test_columns_follow_the_main_effects_with_readable_names():
    study = make_study(BASE + interactions(("price", "plan"), ("plan", "speed")))
    names = parameter_names(study)
    main = ["plan[Fibre]", "plan[Premium]", "speed[500 Mbps]", "speed[1 Gbps]", "price"]
    assert names == [
        *main,
        # linear x part-worth: (3 - 1) slope shifts
        "price x plan=Fibre",
        "price x plan=Premium",
        # part-worth x part-worth: (3 - 1)(3 - 1)
        "plan=Fibre x speed=500 Mbps",
        "plan=Fibre x speed=1 Gbps",
        "plan=Premium x speed=500 Mbps",
        "plan=Premium x speed=1 Gbps",
        "none",
    ], names
    both_linear = make_study(
        BASE.replace(
            'levels = ["100 Mbps", "500 Mbps", "1 Gbps"]', "levels = [100, 500, 1000]"
        ).replace('name = "speed"\n', 'name = "speed"\ncoding = "linear"\n')
        + interactions(("speed", "price"))
    )
    assert parameter_names(both_linear)[-2:] == ["speed x price", "none"]
    # a study without the table is the study it was before
    plain = make_study(BASE)
    assert plain.interactions == () and parameter_names(plain) == [*main, "none"]
    assert "interactions" not in repr(plain) and "price x plan" in repr(study)


@pytest.mark.unit
def test_bad_interactions_are_named_with_what_is_valid():
    text = problems(
        BASE
        + interactions(
            ("price", "plann"),  # unknown (did you mean)
            ("plan", "plan"),  # the same attribute twice
            ("price", "none"),  # a constant
            ("price", "plan"),
            ("plan", "price"),  # the same pair again, reversed
        )
        + '\n[[interactions]]\nattributes = ["price", "plan", "speed"]\n'
        + '\n[[interactions]]\nattributes = ["speed", "price"]\nlabel = "x"\n'
    )
    for expected in (
        "[[interactions]] #1: unknown attribute 'plann'. Did you mean 'plan'? "
        "Attributes: plan, speed, price.",
        "[[interactions]] #2: 'plan' is named twice; an interaction is between two different "
        "attributes. Attributes: speed, price.",
        "[[interactions]] #3: 'none' is a constant (the none alternative), not an attribute",
        "[[interactions]] #5: plan x price is declared twice (also #4)",
        "[[interactions]] #6: 'attributes' must list exactly two attribute names",
        "[[interactions]] #7: unknown key 'label'.",
    ):
        assert expected in text, f"missing {expected!r} in:\n{text}"


@pytest.mark.unit
def test_an_interaction_the_design_cannot_estimate_is_refused():
    # 2 tasks x (3 alternatives + none - 1) = 6 comparisons; 5 + 4 + 1 = 10 parameters
    text = problems(
        BASE.replace("tasks = 10", "tasks = 2").replace("versions = 2", "versions = 1")
        + interactions(("plan", "speed"))
    )
    assert (
        "with the interactions the model has 10 parameters, but 1 version(s) x 2 tasks x 3 "
        "independent comparisons per task identify at most 6"
    ) in text, text
    text = problems(
        BASE
        + interactions(("plan", "speed"))
        + '\n[[prohibitions]]\nplan = "Premium"\nspeed = "1 Gbps"\n'
    )
    assert "never shows plan = Premium with speed = 1 Gbps" in text, text
    # a prohibition of the reference level leaves every interaction column estimable
    make_study(
        BASE + interactions(("plan", "speed")) + '\n[[prohibitions]]\nplan = "Basic"\nspeed = '
        '"1 Gbps"\n'
    )


@pytest.mark.unit
def test_priors_name_interaction_parameters_and_default_to_zero():
    study = make_study(
        BASE
        + interactions(("price", "plan"))
        + '\n[priors]\nmean = { price = -0.05, "price x plan=Premium" = 0.02 }\n'
        + 'sd = { "price x plan" = 0.01 }\n'
    )
    by = dict(zip(parameter_names(study), study.priors.mean, strict=True))
    sd = dict(zip(parameter_names(study), study.priors.sd, strict=True))
    assert by["price x plan=Premium"] == 0.02 and by["price x plan=Fibre"] == 0.0, by
    assert sd["price x plan=Fibre"] == sd["price x plan=Premium"] == 0.01, sd
    text = problems(
        BASE + interactions(("price", "plan")) + '\n[priors]\nmean = { "price x plan=Gold" = 1 }\n'
    )
    assert "unknown attribute 'price x plan=Gold'" in text and "price x plan=Premium" in text, text


@pytest.mark.unit
def test_the_encoding_multiplies_the_codes_and_maps_to_part_worths_exactly():
    study = make_study(BASE + interactions(("price", "plan"), ("plan", "speed")))
    enc = make_encoding(study)
    row = enc.encode(np.array([2, 2, 3]))  # Premium, 1 Gbps, 60
    got = dict(zip(enc.names, row, strict=True))
    # a linear code is the value less the reference value: 60 - 30
    assert got["price x plan=Premium"] == 30.0 and got["price x plan=Fibre"] == 0.0, got
    assert got["plan=Premium x speed=1 Gbps"] == 1.0 and got["plan=Fibre x speed=1 Gbps"] == 0.0
    # a blank row (a none row, a missing level) gets no interaction
    x = np.zeros((2, enc.n_parameters))
    x[:, enc.names.index("price")] = 40.0
    enc.complete(x, np.array([True, False]))
    assert x[0, 5:-1].sum() == 0.0
    # the design search's part-worth coding gives every profile the same utility (up to a
    # constant): the prior draws carry over exactly
    pw = make_encoding(partworth_study(study))
    t = linear_to_partworth(study)
    beta = np.random.default_rng(1).normal(size=enc.n_parameters)
    profiles = np.array(list(itertools.product(*(range(a.n_levels) for a in study.attributes))))
    diff = enc.encode(profiles) @ beta - pw.encode(profiles) @ (t @ beta)
    assert np.ptp(diff) < 1e-9, f"utilities differ by up to {np.ptp(diff):.3g} across profiles"


@pytest.mark.integration
def test_a_design_searched_for_the_interaction_estimates_it_better():
    """The D-error of the model with price x plan (null prior) is lower for the design
    searched with the interaction declared than for the one searched without it, and the
    other way round for the main-effects model; the interaction's standard errors are
    reported. Price part-worth coded: the search optimises the coding it reports (a linear
    price is searched part-worth coded, see docs/study-file.md)."""
    text = BASE.replace('coding = "linear"\n', "")
    main, inter = make_study(text), make_study(text + interactions(("price", "plan")))
    with_i, without = make_design(inter), make_design(main)
    d_with = inspect_design(with_i).summary["d0_error"]
    d_without = inspect_design(dataclasses.replace(without, study=inter)).summary["d0_error"]
    assert d_with < d_without * 0.99, (
        f"interaction model: D-error {d_with:.4f} searched with the interaction, "
        f"{d_without:.4f} searched without"
    )
    m_with = inspect_design(dataclasses.replace(with_i, study=main)).summary["d0_error"]
    m_without = inspect_design(without).summary["d0_error"]
    assert m_without < m_with, f"main effects: D-error {m_without:.4f} vs {m_with:.4f}"
    diag = inspect_design(with_i)
    se = diag.standard_errors.set_index("parameter")["se"]
    cols = [f"price=40 x plan={p}" for p in ("Fibre", "Premium")]
    assert all(np.isfinite(se[c]) and se[c] > 0 for c in cols), se
    assert diag.summary["n_parameters"] == 7 + 6 + 1  # main, price x plan, none
    assert "price=60 x plan=Premium" in diag.report()
    assert any("interactions (price x plan)" in n for n in diag.notes), diag.notes


@pytest.mark.unit
def test_old_studies_design_as_before():
    """Without [[interactions]] the design and its diagnostics are those of before (the
    encoding's new step is a no-op)."""
    study = make_study(SMALL_STUDY, starts=1, max_seconds=5)
    enc = make_encoding(study)
    assert enc.interactions == ()
    x = np.ones((3, enc.n_parameters))
    assert enc.complete(x) is x
