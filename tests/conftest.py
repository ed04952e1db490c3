"""Shared fixtures: small studies written as users would write them."""

from __future__ import annotations

import textwrap

import pytest

from winback.study import Study, parse_study

BENCH_STUDY = """
[study]
name = "benchmark 4x3x3x3x2"

[[attributes]]
name = "a"
levels = ["a1", "a2", "a3", "a4"]

[[attributes]]
name = "b"
levels = ["b1", "b2", "b3"]

[[attributes]]
name = "c"
levels = ["c1", "c2", "c3"]

[[attributes]]
name = "d"
levels = ["d1", "d2", "d3"]

[[attributes]]
name = "e"
levels = ["e1", "e2"]

[design]
method = "d_efficient"
alternatives = 3
tasks = 12
versions = 1
seed = 1
"""

SMALL_STUDY = """
[study]
name = "Broadband win-back, wave 1"
none_option = true

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "500 Mbps", "1 Gbps"]
preference = "increasing"

[[attributes]]
name = "support"
levels = ["Standard", "Priority"]
preference = "increasing"

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]
coding = "linear"

[design]
method = "d_efficient"
alternatives = 3
tasks = 8
versions = 2
seed = 7
starts = 2

[costs]
base = 12.0
plan = { Standard = 6.0, Premium = 14.0 }
"""

#: part-worths for simulating choices in SMALL_STUDY (its parameters, none included)
SMALL_TRUTH = {
    "plan[Standard]": 0.6,
    "plan[Premium]": 1.1,
    "speed[500 Mbps]": 0.4,
    "speed[1 Gbps]": 0.9,
    "support[Priority]": 0.5,
    "price": -0.05,
    "none": -1.0,
}

#: one holdout task for SMALL_STUDY (append it to the study text)
SMALL_HOLDOUT = """
[[holdouts]]
name = "h1"
alternatives = [
  { plan = "Basic", speed = "100 Mbps", support = "Standard", price = 30.0 },
  { plan = "Premium", speed = "1 Gbps", support = "Priority", price = 60.0 },
  { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 },
]
"""


def make_study(text: str, **design: object) -> Study:
    """Parse a study text, overriding [design] keys given as keyword arguments."""
    study = parse_study(textwrap.dedent(text))
    if design:
        study = study.replace_design(**design)
    return study


@pytest.fixture
def bench_study() -> Study:
    return make_study(BENCH_STUDY)


@pytest.fixture
def small_study() -> Study:
    return make_study(SMALL_STUDY)


@pytest.fixture(scope="session")
def example_fit():
    """One small HB fit shared by the integration tests (example study, 120 respondents).

    Returns (model, truth, design): the fitted ``analysis.HBModel``, the simulated respondents'
    true part-worths (DataFrame indexed by respondent_id) and the design.
    """
    from analysis import fit
    from conjoint import make_design
    from surveys import make_dataset
    from winback.example import make_example_study
    from winback.pipeline import simulate_fieldwork

    ex = make_example_study()
    design = make_design(ex.study, versions=10)
    choices, people, truth, _ = simulate_fieldwork(
        design,
        ex.true_means,
        ex.true_sd,
        120,
        random_seed=11,
        random_share=0.0,
        speeder_share=0.0,
    )
    data = make_dataset(choices, ex.study, design=design, respondents=people)
    model = fit(data, draws=300, tune=300, chains=2, random_seed=3)
    return model, truth, design
