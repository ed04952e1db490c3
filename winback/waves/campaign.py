"""The campaign step of a survey wave (``winback run``): with a CRM list of the wave's lost
customers (``waves/<W>/lost_customers.csv``), a market and a ``[business]`` table, the wave
also plans the campaign into ``results/target/`` exactly as ``winback target`` does."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from analysis.campaign import read_customers
from winback import pipeline
from winback.errors import WinbackError
from winback.waves.folder import MARKET_FILE, STUDY_FILE

#: the wave's CRM list of lost customers (optional)
CUSTOMERS_FILE = "lost_customers.csv"


def check_campaign(
    wave_dir: Path,
    wave: str,
    wave_study: Any,
    has_market: bool,
    no_search: str | None,
    *,
    segment: str | None,
    max_contacts: int | None,
    budget: float | None,
    control_share: float,
) -> Path | None:
    """The wave's CRM list, checked before any work (its format, and that the wave can plan a
    campaign: a market and ``[business]``), or None when the wave has none."""
    customers = wave_dir / CUSTOMERS_FILE
    limits = [
        f"{name}={value!r}"
        for name, value in (("max_contacts", max_contacts), ("budget", budget))
        if value is not None
    ]
    if not customers.is_file():
        if limits:
            raise WinbackError(
                f"{', '.join(limits)}: wave '{wave}' has no {CUSTOMERS_FILE} (the CRM list of "
                f"its lost customers, expected at {customers}), so there is no campaign to limit."
            )
        return None
    missing = []
    if not has_market:
        missing.append(f"a {MARKET_FILE} in the study folder (the offers to choose from)")
    if wave_study.business is None:
        missing.append(f"a [business] table in the wave's {STUDY_FILE} (margins, incentive)")
    if no_search is not None:
        missing.append(f"the recommend step, which this study cannot have ({no_search})")
    if missing:
        raise WinbackError(
            f"wave '{wave}' has {customers}, but planning its campaign needs "
            + " and ".join(missing)
            + f"; add it, or move {CUSTOMERS_FILE} out of the wave folder."
        )
    if max_contacts is not None and max_contacts < 0:
        raise WinbackError(f"max_contacts must be 0 or more, got {max_contacts}.")
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise WinbackError(f"budget must be a finite number >= 0, got {budget}.")
    if not 0 <= control_share < 1:
        raise WinbackError(f"control_share must be in [0, 1), got {control_share}.")
    if segment is not None:  # a segment the CRM list lacks plans no campaign: say so now
        read_customers(customers, segment=segment)
    else:
        read_customers(customers)
    return customers


def run_campaign(
    stage: Path,
    customers: Path,
    *,
    segment: str | None,
    max_contacts: int | None,
    budget: float | None,
    control_share: float,
    random_seed: int,
) -> Any:
    """``winback target`` on the wave's staged run folder, into ``stage/target``."""
    return pipeline.run_target(
        stage / STUDY_FILE,
        stage,
        customers,
        stage / "target",
        max_contacts=max_contacts,
        budget=budget,
        control_share=control_share,
        segment=segment,
        seed=random_seed,
    )
