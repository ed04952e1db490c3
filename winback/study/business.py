"""The study file's ``[business]`` and ``[calibration]`` tables: what turns preference shares
into customers and money, and what anchors them to observed behaviour.

``[business]`` says how many lost customers the decision concerns and what a customer won back
is worth: monthly margin (per product, or price minus ``[costs]``), how long a returning customer
stays, what contacting one costs and what incentive a returning one receives, over which
horizon. ``[calibration]`` gives what the researcher has observed (the win-back rate of a past
campaign, or the take-up of today's offers), with its sample size, and the share of lost
customers an offer will actually reach. See ``docs/study-file.md`` and ``docs/decision.md``.

Examples
--------
>>> study = parse_study(text)  # doctest: +SKIP
>>> study.business.lost_customers, study.calibration.kind  # doctest: +SKIP
(48000, 'winback_rate')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from winback.errors import WinbackError, list_valid
from winback.study.checks import _check_keys, _get, _Problems

BUSINESS_KEYS = (
    "lost_customers",
    "horizon_months",
    "retention_months",
    "contact_cost",
    "incentive",
    "margin",
)
CALIBRATION_KEYS = ("kind", "observed", "n", "availability", "adjust", "source")
#: what a calibration observation is
CALIBRATION_KINDS = ("winback_rate", "take_up")
#: how the stated utilities are adjusted to reproduce it (on every posterior draw)
ADJUSTMENTS = ("auto", "none_shift", "scale", "scale_and_none")


@dataclass(frozen=True)
class Business:
    """The business settings of a decision (``[business]``).

    Attributes
    ----------
    lost_customers : int
        Lost customers in scope: the population the shares apply to.
    horizon_months : int
        The period money is counted over (12: a year).
    retention_months : float
        Expected months a customer who comes back stays (a monthly churn of 1 / this).
    contact_cost : float
        Cost of contacting one lost customer (per customer reached).
    incentive : float
        One-off incentive per customer won back.
    margin : tuple of (product, monthly margin)
        Monthly margin of named products of the market; products not named take price minus
        the study's ``[costs]``.
    """

    lost_customers: int
    horizon_months: int = 12
    retention_months: float = 24.0
    contact_cost: float = 0.0
    incentive: float = 0.0
    margin: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    @property
    def monthly_churn(self) -> float:
        return 1.0 / self.retention_months

    @property
    def months_retained(self) -> float:
        """Expected months a returning customer pays within the horizon: the sum over months
        1..H of the probability of still being a customer, with monthly churn c:
        ``(1 - (1 - c)^H) / c``."""
        c = self.monthly_churn
        if c >= 1.0:
            return 1.0
        return (1.0 - (1.0 - c) ** self.horizon_months) / c

    def margin_of(self, product: str) -> float | None:
        """The monthly margin ``[business]`` gives a product, or None (then price - costs)."""
        return dict(self.margin).get(product)


@dataclass(frozen=True)
class Calibration:
    """What was observed, to anchor stated preference to behaviour (``[calibration]``).

    Attributes
    ----------
    kind : {"winback_rate", "take_up"}
        ``winback_rate``: the share of lost customers contacted in a past campaign who came back
        (``observed`` one number). ``take_up``: today's offers' observed shares among lost
        customers (``observed`` a table product = share, none included as ``none``).
    observed : tuple of (name, share)
        ``(("winback", rate),)`` or one entry per product.
    n : int
        Lost customers the observation is based on (its sampling error enters the bands).
    availability : float
        Share of lost customers the offer will reach (1: all).
    adjust : {"auto", "none_shift", "scale", "scale_and_none"}
        The adjustment fitted on every draw: a shift of the none utility, a scale factor of
        all utilities, or both; ``auto``: the none shift for one observed number, both for
        several.
    source : str
        Where the observation comes from, in words (shown beside calibrated figures).
    """

    kind: str
    observed: tuple[tuple[str, float], ...]
    n: int
    availability: float = 1.0
    adjust: str = "auto"
    source: str = ""

    @property
    def n_observed(self) -> int:
        return len(self.observed)

    @property
    def resolved_adjust(self) -> str:
        """The adjustment actually fitted (``auto`` resolved)."""
        if self.adjust != "auto":
            return self.adjust
        return "none_shift" if self.n_observed == 1 else "scale_and_none"


def _share(value: Any) -> str | None:
    if not (0.0 < value < 1.0) or math.isnan(value):
        return "must be a share strictly between 0 and 1 (e.g. 0.18 for 18%)."
    return None


def _positive(value: Any) -> str | None:
    return None if value > 0 and math.isfinite(value) else "must be positive."


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 and math.isfinite(value) else "must be 0 or more."


def parse_business(raw: Any, p: _Problems) -> Business | None:
    """``[business]``, every problem added to ``p``."""
    if raw is None:
        return None
    where = "[business]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    _check_keys(raw, BUSINESS_KEYS, where, p)
    if "lost_customers" not in raw:
        p.add(f"{where}: 'lost_customers' is required: how many lost customers the decision "
              "concerns (e.g. lost_customers = 48000).")  # fmt: skip
    n = _get(
        raw, "lost_customers", int, 1, where, p, lambda v: None if v >= 1 else "must be at least 1."
    )
    horizon = _get(raw, "horizon_months", int, 12, where, p,
                   lambda v: None if 1 <= v <= 120 else "must be 1 to 120 months.")  # fmt: skip
    retention = _get(raw, "retention_months", float, 24.0, where, p,
                     lambda v: None if v >= 1 and math.isfinite(v) else "must be at least 1 month.")  # fmt: skip
    contact = _get(raw, "contact_cost", float, 0.0, where, p, _not_negative)
    incentive = _get(raw, "incentive", float, 0.0, where, p, _not_negative)
    margins: list[tuple[str, float]] = []
    m = raw.get("margin")
    if m is not None:
        if not isinstance(m, dict):
            p.add(f"{where}: 'margin' must be a table product = monthly margin, got {m!r}.")
        else:
            for name, v in m.items():
                if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                    p.add(f"{where} margin.{name}: must be a number (monthly margin), got {v!r}.")
                    continue
                margins.append((str(name), float(v)))
    return Business(
        lost_customers=n,
        horizon_months=horizon,
        retention_months=retention,
        contact_cost=contact,
        incentive=incentive,
        margin=tuple(margins),
    )


def parse_calibration(raw: Any, p: _Problems) -> Calibration | None:
    """``[calibration]``, every problem added to ``p``."""
    if raw is None:
        return None
    where = "[calibration]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    _check_keys(raw, CALIBRATION_KEYS, where, p)
    kind = _get(raw, "kind", str, "winback_rate", where, p,
                lambda v: None if v in CALIBRATION_KINDS else f"is not valid. Valid: {list_valid(CALIBRATION_KINDS)}.")  # fmt: skip
    adjust = _get(raw, "adjust", str, "auto", where, p,
                  lambda v: None if v in ADJUSTMENTS else f"is not valid. Valid: {list_valid(ADJUSTMENTS)}.")  # fmt: skip
    if "n" not in raw:
        p.add(f"{where}: 'n' is required: how many lost customers the observation is based "
              "on (its sampling error widens the bands).")  # fmt: skip
    n = _get(raw, "n", int, 1, where, p, lambda v: None if v >= 1 else "must be at least 1.")
    availability = _get(raw, "availability", float, 1.0, where, p,
                        lambda v: None if 0.0 < v <= 1.0 else "must be a share in (0, 1].")  # fmt: skip
    source = _get(raw, "source", str, "", where, p)
    observed: list[tuple[str, float]] = []
    obs = raw.get("observed")
    if obs is None:
        p.add(f"{where}: 'observed' is required: the win-back rate (kind = \"winback_rate\", "
              "e.g. observed = 0.18) or the take-up of today's offers (kind = \"take_up\", "
              'e.g. observed = { "FibreHome bundle" = 0.12, none = 0.80 }).')  # fmt: skip
    elif kind == "winback_rate":
        if isinstance(obs, int | float) and not isinstance(obs, bool):
            msg = _share(float(obs))
            if msg:
                p.add(f"{where}: 'observed' = {obs!r} {msg}")
            else:
                observed.append(("winback", float(obs)))
        else:
            p.add(f"{where}: with kind = \"winback_rate\", 'observed' is one share, got {obs!r}.")
    elif kind == "take_up":
        if not isinstance(obs, Mapping) or not obs:
            p.add(f"{where}: with kind = \"take_up\", 'observed' is a table product = share "
                  f"(none included as none), got {obs!r}.")  # fmt: skip
        else:
            for name, v in obs.items():
                if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
                    p.add(f"{where} observed.{name}: must be a share in [0, 1], got {v!r}.")
                    continue
                observed.append((str(name), float(v)))
            total = sum(v for _, v in observed)
            if observed and total > 1.0 + 1e-9:
                p.add(f"{where}: the observed shares add up to {total:.3f}, more than 1.")
    if not observed:
        return None
    return Calibration(
        kind=kind,
        observed=tuple(observed),
        n=n,
        availability=availability,
        adjust=adjust,
        source=source,
    )


def read_calibration(raw: Any, source: str) -> Calibration | None:
    """A ``[calibration]`` table outside the study file (a market file's), checked as the study
    file's: every problem listed in one :class:`~winback.errors.WinbackError` naming ``source``."""
    p = _Problems()
    cal = parse_calibration(raw, p)
    if p.items:
        raise WinbackError(f"{len(p.items)} problem(s) in {source}:\n  - " + "\n  - ".join(p.items))
    return cal
