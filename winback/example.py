"""The embedded example study, with known true part-worths, for tests, docs, the demo and users'
first notebook.

Customers who left a broadband + TV + mobile bundle ("FibreHome") over price rises, outages and
support. The true population part-worths below are what the simulated lost customers answer by.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from winback.study import Study, parse_study

EXAMPLE_FILE = "broadband.toml"

# True population means of the simulated lost customers (dummy coding, first level reference;
# price per EUR/month). Their size gives real respondents an average root likelihood (RLH) of
# about 0.55 on 3 alternatives + none, typical of CBC/HB studies, and about a quarter of choices
# go to "none" at typical prices.
TRUE_MEANS: dict[str, float] = {
    "speed[300 Mbps]": 0.9,
    "speed[1 Gbps]": 1.5,
    "tv[TV Essentials]": 0.45,
    "tv[TV Essentials + Sports]": 0.6,
    "mobile[SIM 20 GB]": 0.6,
    "mobile[SIM Unlimited]": 1.05,
    "contract[12 months]": 0.6,
    "contract[No contract]": 1.2,
    "support[24/7 priority]": 0.75,
    "outage_credit[Automatic credit]": 1.05,
    "price": -0.09,
    "none": -3.0,
}

# Standard deviations of individual part-worths around the means (independent normal).
TRUE_SD: dict[str, float] = {
    **{k: 0.75 for k in TRUE_MEANS if k not in ("price", "none")},
    "price": 0.03,
    "none": 1.5,
}


@dataclass(frozen=True)
class ExampleStudy:
    study: Study
    true_means: dict[str, float]
    true_sd: dict[str, float]


def example_study_text() -> str:
    """The example's ``study.toml`` text."""
    return resources.files("winback.examples").joinpath(EXAMPLE_FILE).read_text(encoding="utf-8")


def make_example_study() -> ExampleStudy:
    """The example study with its true part-worths.

    Examples
    --------
    >>> from winback.example import make_example_study
    >>> ex = make_example_study()
    >>> ex.study.name
    'Broadband win-back, wave 1'
    """
    study = parse_study(example_study_text(), source=f"<winback example {EXAMPLE_FILE}>")
    return ExampleStudy(study, dict(TRUE_MEANS), dict(TRUE_SD))
