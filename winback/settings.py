"""One vocabulary for the settings every stage shares: the band, the objective.

The probability of a posterior band is called ``band`` everywhere (Python arguments, command-line
options ``--band``, file columns and workbook labels), defaults to :data:`BAND` and is checked
by :func:`check_band`; labels are derived from the value actually used (:func:`band_label`), never
written as literals. The objective of an offer search is one of :data:`OBJECTIVES`, defaulting
to :func:`default_objective` of the study.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

from winback.errors import ParameterError, did_you_mean, list_valid

if TYPE_CHECKING:
    from winback.study import Study

#: probability of every posterior band winback reports unless asked for another
BAND = 0.9

#: what an offer, tier or price search maximises
OBJECTIVES = ("share", "revenue", "profit")


def check_band(band: object, name: str = "band") -> float:
    """``band`` as a float strictly between 0 and 1, or a :class:`ParameterError`.

    Examples
    --------
    >>> check_band(0.8)
    0.8
    """
    try:
        value = float(band)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be a probability between 0 and 1, such as {BAND}; got {band!r}."
        ) from None
    if isinstance(band, bool) or not (0.0 < value < 1.0) or math.isnan(value):
        raise ParameterError(
            f"{name} must be a probability between 0 and 1 (exclusive), such as {BAND}; "
            f"got {band!r}."
        )
    return value


def resolve_band(band: object, interval: object = None, *, where: str = "band") -> float:
    """The band probability of a call: ``band``, or the value given under its former name
    ``interval`` (with a ``DeprecationWarning``); checked by :func:`check_band`."""
    if interval is not None:
        warnings.warn(
            f"{where}: 'interval' is now called 'band' (the probability of the posterior "
            "band); the old name will go in a later version.",
            DeprecationWarning,
            stacklevel=3,
        )
        band = interval
    return check_band(band)


def band_label(band: float, noun: str = "band") -> str:
    """The label of a band of probability ``band``: ``"90% band"``, ``"95.5% band"``.

    Examples
    --------
    >>> band_label(0.9), band_label(0.945, "interval")
    ('90% band', '94.5% interval')
    """
    pct = 100.0 * check_band(band)
    text = f"{pct:.0f}" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}".rstrip("0")
    return f"{text}% {noun}" if noun else f"{text}%"


def check_objective(objective: object, study: Study | None = None) -> str:
    """``objective`` if it is one of :data:`OBJECTIVES` and ``study`` can compute it (profit
    needs ``[costs]``, revenue and profit a price attribute); else a :class:`ParameterError`.

    Examples
    --------
    >>> check_objective("share")
    'share'
    """
    if objective not in OBJECTIVES:
        raise ParameterError(
            f"objective {objective!r} is not valid{did_you_mean(str(objective), OBJECTIVES)}. "
            f"Valid: {list_valid(OBJECTIVES)}."
        )
    if study is not None and objective == "profit" and study.costs is None:
        raise ParameterError(
            "objective 'profit' needs unit costs, but the study has no [costs] table; add one "
            "(base = ..., and a cost per level) or use objective 'revenue' or 'share'."
        )
    if study is not None and objective in ("revenue", "profit") and study.price_attribute is None:
        raise ParameterError(
            f"objective {objective!r} needs a price attribute; the study has none "
            "(set price_attribute in [study])."
        )
    return str(objective)


def default_objective(study: Study) -> str:
    """Profit when the study has ``[costs]`` (a margin can be computed), revenue otherwise."""
    return "profit" if getattr(study, "costs", None) is not None else "revenue"
