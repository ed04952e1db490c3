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

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
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
CALIBRATION_KEYS = (
    "kind",
    "observed",
    "n",
    "availability",
    "adjust",
    "source",
    "scale",
    "none_shift",
    "scale_sd",
    "none_shift_sd",
    "correlation",
)
#: the keys of a calibration fitted from a campaign's outcomes (``kind = "outcomes"``) only
OUTCOME_KEYS = ("scale", "none_shift", "scale_sd", "none_shift_sd", "correlation")
#: what a calibration observation is
CALIBRATION_KINDS = ("winback_rate", "take_up", "outcomes")
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
    kind : {"winback_rate", "take_up", "outcomes"}
        ``winback_rate``: the share of lost customers contacted in a past campaign who came back
        (``observed`` one number). ``take_up``: today's offers' observed shares among lost
        customers (``observed`` a table product = share, none included as ``none``).
        ``outcomes``: the adjustment itself, fitted from a campaign's outcomes by ``winback
        outcomes`` (``scale`` and ``none_shift`` with their uncertainty; nothing left to fit).
    observed : tuple of (name, share)
        ``(("winback", rate),)`` or one entry per product (``outcomes``: the realised win-back
        rate of the contacted customers, for the record, or empty).
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
    scale, none_shift : float
        ``outcomes`` only: the fitted scale of every utility and shift of the none utility.
    scale_sd, none_shift_sd, correlation : float
        ``outcomes`` only: their uncertainty (standard errors; the correlation of the log scale
        and the none shift): every posterior draw gets its own pair from the normal
        distribution of ``(log scale, none shift)`` they describe (``analysis.calibrate``).
    """

    kind: str
    observed: tuple[tuple[str, float], ...]
    n: int
    availability: float = 1.0
    adjust: str = "auto"
    source: str = ""
    scale: float = 1.0
    none_shift: float = 0.0
    scale_sd: float = 0.0
    none_shift_sd: float = 0.0
    correlation: float = 0.0

    @property
    def n_observed(self) -> int:
        return len(self.observed)

    @property
    def resolved_adjust(self) -> str:
        """The adjustment actually fitted (``auto`` resolved)."""
        if self.adjust != "auto":
            return self.adjust
        if self.kind == "outcomes":
            return "scale_and_none"
        return "none_shift" if self.n_observed == 1 else "scale_and_none"

    @property
    def fitted(self) -> bool:
        """Whether the adjustment is given (``outcomes``) rather than fitted to an observation."""
        return self.kind == "outcomes"

    def to_toml(self) -> str:
        """The ``[calibration]`` table as TOML text (a study file, a market file or ``--calibration
        FILE`` reads it back as it is)."""
        lines = ["[calibration]", f"kind = {_toml_text(self.kind)}"]
        if self.kind == "take_up":
            inner = ", ".join(f"{_toml_text(k)} = {v!r}" for k, v in self.observed)
            lines.append(f"observed = {{ {inner} }}")
        elif self.observed:
            lines.append(f"observed = {self.observed[0][1]!r}")
        lines.append(f"n = {self.n}")
        if self.kind == "outcomes":
            for key in OUTCOME_KEYS:
                lines.append(f"{key} = {float(getattr(self, key))!r}")
        lines.append(f"availability = {self.availability!r}")
        lines.append(f"adjust = {_toml_text(self.adjust)}")
        if self.source:
            lines.append(f"source = {_toml_text(self.source)}")
        return "\n".join(lines) + "\n"


def _toml_text(v: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(v, ensure_ascii=False)


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
    if kind == "outcomes":
        return _parse_outcomes(raw, where, p, n, availability, adjust, source)
    given = [k for k in OUTCOME_KEYS if k in raw]
    if given:
        p.add(f"{where}: {list_valid(given)} belong to kind = \"outcomes\" (a calibration "
              "fitted by winback outcomes), not to kind = " + json.dumps(kind) + ".")  # fmt: skip
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


def _parse_outcomes(
    raw: Mapping[str, Any],
    where: str,
    p: _Problems,
    n: int,
    availability: float,
    adjust: str,
    source: str,
) -> Calibration | None:
    """``kind = "outcomes"``: the adjustment ``winback outcomes`` fitted, with its uncertainty."""
    missing = [k for k in ("scale", "none_shift") if k not in raw]
    if missing:
        p.add(f"{where}: with kind = \"outcomes\", {list_valid(missing)} required: the scale "
              "of the utilities and the shift of the none utility winback outcomes fitted "
              "(copy its outcomes/calibration.toml).")  # fmt: skip
    scale = _get(raw, "scale", float, 1.0, where, p,
                 lambda v: None if 0.0 < v <= 100.0 else "must be a positive number (at most 100).")  # fmt: skip
    shift = _get(raw, "none_shift", float, 0.0, where, p,
                 lambda v: None if abs(v) <= 60.0 else "must be a number in [-60, 60].")  # fmt: skip
    scale_sd = _get(raw, "scale_sd", float, 0.0, where, p, _not_negative)
    shift_sd = _get(raw, "none_shift_sd", float, 0.0, where, p, _not_negative)
    rho = _get(raw, "correlation", float, 0.0, where, p,
               lambda v: None if -1.0 < v < 1.0 else "must be strictly between -1 and 1.")  # fmt: skip
    if adjust == "none_shift" and (scale != 1.0 or scale_sd > 0.0):
        p.add(f'{where}: adjust = "none_shift" fits no scale: scale must be 1 and scale_sd 0.')
    if adjust == "scale" and (shift != 0.0 or shift_sd > 0.0):
        p.add(f"{where}: adjust = \"scale\" fits no none shift: none_shift and none_shift_sd "
              "must be 0.")  # fmt: skip
    observed: tuple[tuple[str, float], ...] = ()
    obs = raw.get("observed")
    if obs is not None:
        if isinstance(obs, int | float) and not isinstance(obs, bool) and 0.0 <= obs <= 1.0:
            observed = (("winback", float(obs)),)
        else:
            p.add(f"{where}: with kind = \"outcomes\", 'observed' is the realised win-back rate "
                  f"of the contacted customers, a share in [0, 1], got {obs!r}.")  # fmt: skip
    return Calibration(
        kind="outcomes",
        observed=observed,
        n=n,
        availability=availability,
        adjust=adjust,
        source=source,
        scale=scale,
        none_shift=shift,
        scale_sd=scale_sd,
        none_shift_sd=shift_sd,
        correlation=rho,
    )


def read_calibration_file(path: str | Path) -> Calibration:
    """The ``[calibration]`` table of a TOML file on its own (``--calibration FILE``: the
    ``outcomes/calibration.toml`` that ``winback outcomes`` writes, or any file with a
    ``[calibration]`` table), checked as the study file's."""
    path = Path(path)
    if not path.is_file():
        raise WinbackError(f"no calibration file at {path}.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WinbackError(f"{path} is not a valid TOML file: {exc}.") from None
    if "calibration" not in data:
        raise WinbackError(
            f"{path} has no [calibration] table (tables: {list_valid(list(data))}); give the "
            "outcomes/calibration.toml winback outcomes wrote, or a file with a [calibration] "
            "table as in a study file."
        )
    cal = read_calibration(data["calibration"], str(path))
    if cal is None:  # pragma: no cover - read_calibration raises on every way to get None
        raise WinbackError(f"{path}: the [calibration] table holds no observation.")
    return cal


def read_calibration(raw: Any, source: str) -> Calibration | None:
    """A ``[calibration]`` table outside the study file (a market file's), checked as the study
    file's: every problem listed in one :class:`~winback.errors.WinbackError` naming ``source``."""
    p = _Problems()
    cal = parse_calibration(raw, p)
    if p.items:
        raise WinbackError(f"{len(p.items)} problem(s) in {source}:\n  - " + "\n  - ".join(p.items))
    return cal
