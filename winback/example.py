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
# price per EUR/month). Chosen so that about a quarter choose "none" at typical prices.
TRUE_MEANS: dict[str, float] = {
    "speed[300 Mbps]": 0.6,
    "speed[1 Gbps]": 1.0,
    "tv[TV Essentials]": 0.3,
    "tv[TV Essentials + Sports]": 0.4,
    "mobile[SIM 20 GB]": 0.4,
    "mobile[SIM Unlimited]": 0.7,
    "contract[12 months]": 0.4,
    "contract[No contract]": 0.8,
    "support[24/7 priority]": 0.5,
    "outage_credit[Automatic credit]": 0.7,
    "price": -0.06,
    "none": -2.2,
}

# Standard deviations of individual part-worths around the means (independent normal).
TRUE_SD: dict[str, float] = {
    **{k: 0.5 for k in TRUE_MEANS if k not in ("price", "none")},
    "price": 0.02,
    "none": 1.0,
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
