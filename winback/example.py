"""The embedded example study, with known true part-worths, for tests, docs, the demo and users'
first notebook.

Customers who left a broadband + TV + mobile bundle ("FibreHome") over price rises, outages and
support. The true population part-worths below are what the simulated lost customers answer by.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from conjoint.design import make_design
from conjoint.export import write_design_csv
from surveys.fieldwork import simulate_fieldwork
from winback._io import atomic_write_text, check_outputs_free, write_csv
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


@dataclass(frozen=True)
class ExampleWaves:
    """A simulated study folder with survey waves whose true price sensitivity differs.

    Attributes
    ----------
    study_dir : Path
    waves : tuple of str
        Wave ids, in order.
    true_means : dict
        Wave id -> the true population means the wave's customers were drawn around.
    truth : dict
        Wave id -> the simulated customers' true part-worths (respondent x parameter; those who
        left over a price rise are 40% more price sensitive, so the sample mean of ``price`` is
        below ``true_means``).
    price_shift : float
        Each wave's mean price slope is the previous one's times this factor.
    """

    study_dir: Path
    waves: tuple[str, ...]
    true_means: dict[str, dict[str, float]]
    truth: dict[str, Any]
    price_shift: float

    def true_difference(self, parameter: str, wave_a: str, wave_b: str) -> float:
        """The difference of the simulated customers' mean part-worth, wave B minus wave A."""
        return float(self.truth[wave_b][parameter].mean() - self.truth[wave_a][parameter].mean())


def make_example_waves(
    study_dir: str | Path,
    *,
    n_respondents: int = 300,
    waves: tuple[str, ...] = ("w1", "w2"),
    price_shift: float = 1.5,
    random_share: float = 0.04,
    market: bool = True,
    maxdiff: bool = True,
    random_seed: int = 1,
    force: bool = False,
) -> ExampleWaves:
    """Write a study folder with simulated survey waves of the example study.

    ``study.toml`` (the example study), ``design/design.csv``, ``market.toml`` (the example
    market, unless ``market=False``) and, per wave, ``waves/<wave>/responses.csv``,
    ``respondents.csv`` and ``maxdiff.csv`` (the reasons' MaxDiff of the study's ``[maxdiff]``,
    unless ``maxdiff=False``): different lost customers answering the same conjoint. Each wave's true
    mean price slope is the previous wave's times ``price_shift`` (1.5: 50% more price
    sensitive); every other part-worth keeps its true mean. A share ``random_share`` of each
    wave answers at random, as in real fieldwork.

    Parameters
    ----------
    study_dir : str or Path
        The folder to write (created; refused if it holds a study unless ``force``).
    n_respondents : int
        Customers per wave.
    waves : tuple of str
    price_shift : float
    random_share : float
    market : bool
    maxdiff : bool
        Write each wave's MaxDiff answers (``winback run`` then fits the MaxDiff too).
    random_seed : int
    force : bool

    Returns
    -------
    ExampleWaves

    Examples
    --------
    >>> from winback.example import make_example_waves
    >>> ex = make_example_waves("broadband-study", n_respondents=300)  # doctest: +SKIP
    >>> ex.true_means["w2"]["price"] / ex.true_means["w1"]["price"]  # doctest: +SKIP
    1.5
    """
    study_dir = Path(study_dir)
    check_outputs_free([study_dir / "study.toml", *(study_dir / "waves" / w for w in waves)], force)
    ex = make_example_study()
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(study_dir / "study.toml", example_study_text())
    if market:
        text = resources.files("winback.examples").joinpath("broadband_market.toml")
        atomic_write_text(study_dir / "market.toml", text.read_text(encoding="utf-8"))
    design = make_design(ex.study, random_seed=ex.study.design.seed)
    write_design_csv(design, study_dir / "design" / "design.csv")
    means: dict[str, dict[str, float]] = {}
    truth: dict[str, Any] = {}
    factor = 1.0
    for i, wave in enumerate(waves):
        m = dict(ex.true_means)
        m["price"] = ex.true_means["price"] * factor
        factor *= price_shift
        work = simulate_fieldwork(
            design,
            m,
            ex.true_sd,
            n_respondents,
            random_seed=random_seed + 1000 * i,
            random_share=random_share,
        )
        choices, people, true_pw, _ = work
        folder = study_dir / "waves" / wave
        write_csv(choices, folder / "responses.csv")
        write_csv(people, folder / "respondents.csv")
        if maxdiff and work.maxdiff is not None:
            write_csv(work.maxdiff, folder / "maxdiff.csv")
        means[wave], truth[wave] = m, true_pw
    return ExampleWaves(study_dir, tuple(waves), means, truth, price_shift)
