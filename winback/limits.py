"""Sizes winback refuses, each with its reason (docs/limits.md).

A study, response file or market beyond these is almost surely a mistake (a price typed as
5,000 separate levels, a task column that counts rows), and past them the work would run for
hours or exhaust memory instead of failing: every limit is checked when the input is read,
before any work, and the error says which limit and why.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """A ceiling on one size, with the reason a researcher can act on."""

    what: str
    maximum: int
    why: str

    def message(self, value: int, where: str = "") -> str:
        at = f"{where}: " if where else ""
        return (
            f"{at}{value:,} {self.what} is more than winback's limit of {self.maximum:,}: "
            f"{self.why}"
        )

    def exceeded(self, value: int) -> bool:
        return value > self.maximum


LEVELS = Limit(
    "levels of one attribute",
    100,
    "each level needs enough appearances to be estimated (about 500 shows per level for a "
    "usable part-worth), so an attribute with more levels than that cannot be measured with any "
    "realistic sample; group the levels, or make a numeric attribute linear "
    '(coding = "linear") with a few tested values.',
)
ATTRIBUTES = Limit(
    "attributes",
    50,
    "respondents cannot weigh more than a handful of attributes per concept (choice-based "
    "conjoint practice keeps to 10 or fewer; Sawtooth CBC allows up to 100 with partial "
    "profiles, which winback does not do); split the study.",
)
PARAMETERS = Limit(
    "model parameters",
    300,
    "HB estimates a full covariance of the part-worths (p (p + 1) / 2 terms: 45,150 at 300) "
    "and needs many more choices per respondent than parameters to move off the population "
    "mean; use fewer levels or linear coding.",
)
ALTERNATIVES = Limit(
    "alternatives per task",
    20,
    "nobody compares more than a screenful of concepts (commercial CBC tools stop at about 16 "
    "per task); show fewer alternatives per task.",
)
TASKS = Limit(
    "choice tasks per respondent",
    100,
    "answers after a few dozen tasks are driven by fatigue (the literature finds quality "
    "falling beyond 20-30); check that the task column numbers tasks, not rows, or split the "
    "questionnaire into versions.",
)
VERSIONS = Limit(
    "design versions",
    10_000,
    "more versions than any sample has respondents add nothing to a design; use fewer "
    "versions (one per respondent is the most that helps).",
)
PRODUCTS = Limit(
    "products in a market",
    500,
    "a simulated market is a choice set a customer faces; the searches evaluate every "
    "product for every respondent and draw; keep to the products that compete.",
)
