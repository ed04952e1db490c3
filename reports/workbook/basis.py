"""What the workbook's shares are, and which own products a comparison covers.

A share from the survey is a *stated preference share*: what the lost customers surveyed chose
between offers. With ``[calibration]`` the searches and the decision use *calibrated shares*:
the stated preferences adjusted on every posterior draw so that today's market reproduces an
observed win-back rate or take-up. Every sheet names the basis of the shares it shows through
:func:`share_word` and, when calibrated, the observation through :func:`calibration_words`.

Every before/after compares the same set of own products, named: :func:`own_today` lists
today's own products, :func:`today_own_share` is their share together (never one of them
against several after a change), :func:`own_after` the own products after an action.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from reports.workbook.context import _bool_series, _present
from reports.workbook.facts import ReportData

STATED = "stated preference share"
CALIBRATED = "calibrated share"


def calibrated(data: ReportData) -> bool:
    """The searches and the decision (``recommend/``) use calibrated shares."""
    basis = data.recommend_settings.get("basis")
    if basis is None and _present(data.decision) and data.decision is not None:
        if "basis" in data.decision.columns:
            basis = str(data.decision["basis"].iloc[0])
    return basis == "calibrated"


def share_word(data: ReportData, stage: str = "recommend") -> str:
    """``"calibrated share"`` or ``"stated preference share"`` for the shares of ``stage``.

    ``simulate/shares.csv``, the price curves and the source of volume are stated preference
    shares whatever the run (``calibrated_shares.csv`` holds the calibrated ones); the
    searches and the decision of ``recommend/`` are calibrated when the run was.
    """
    return CALIBRATED if stage == "recommend" and calibrated(data) else STATED


def calibration_record(data: ReportData) -> dict[str, Any] | None:
    """The calibration the run used (``run.json``: the searches', else the simulation's)."""
    for settings in (data.recommend_settings, data.simulate_settings):
        if settings.get("basis") == "calibrated" and isinstance(settings.get("calibration"), dict):
            return dict(settings["calibration"])
    return None


def _pct(x: Any) -> str:
    return f"{float(x):.1%}"


def calibration_words(data: ReportData, *, plain: bool = False) -> str | None:
    """The observation the shares are calibrated to, in words (None without calibration);
    ``plain`` leaves out how it was fitted (for leadership pages)."""
    cal = calibration_record(data)
    if cal is None:
        return None
    observed = cal.get("observed") or {}
    n = cal.get("n")
    n_txt = f"{int(n):,} lost customers" if isinstance(n, int | float) else "an unknown number"
    if cal.get("kind") == "outcomes":
        what = f"to what {n_txt} contacted in a past campaign did (winback outcomes)"
        txt = f"calibrated {what}"
        if cal.get("source"):
            txt += f" (source: {cal['source']})"
        return txt
    if cal.get("kind") == "winback_rate" and len(observed) == 1:
        rate = next(iter(observed.values()))
        what = f"the observed win-back rate of {_pct(rate)} among {n_txt} contacted"
    else:
        parts = ", ".join(f"{k} {_pct(v)}" for k, v in observed.items())
        what = f"the observed take-up of today's offers ({parts}) among {n_txt}"
    txt = f"calibrated to {what}"
    if cal.get("source"):
        txt += f" (source: {cal['source']})"
    avail = cal.get("availability")
    if isinstance(avail, int | float) and avail < 1:
        txt += (
            f"; availability {_pct(avail)}: the share of lost customers the offer reaches (the "
            "others stay away)"
        )
    adjust = {"none_shift": "a shift of the none utility", "scale": "a scale factor",
              "scale_and_none": "a scale factor and a shift of the none utility"}  # fmt: skip
    if cal.get("adjust") in adjust and not plain:
        txt += f"; fitted on every posterior draw: {adjust[str(cal['adjust'])]}"
    return txt


def basis_sentence(data: ReportData) -> str:
    """One sentence saying what the shares of the searches and the decision are."""
    words = calibration_words(data)
    if calibrated(data) and words is not None:
        return (
            f"Shares are calibrated shares: the survey's stated preferences, {words}. They "
            "assume the conditions of that observation carry over (channel, timing, reach)."
        )
    return (
        "Shares are stated preference shares: what the lost customers surveyed chose between "
        "offers in the survey, not calibrated to observed behaviour. Real take-up is usually "
        "lower; a [calibration] table (an observed win-back rate or take-up) anchors them."
    )


def own_today(data: ReportData) -> list[str]:
    """Today's own products, named (the market file's, else ``simulate/shares.csv``'s)."""
    mp = data.market_products
    if _present(mp) and mp is not None and "own" in mp.columns:
        return [str(p) for p in mp.loc[_bool_series(mp["own"]), "product"]]
    sh = _overall_shares(data)
    if sh is not None and "own" in sh.columns:
        return [str(p) for p in sh.loc[_bool_series(sh["own"]), "product"]]
    return []


def _overall_shares(data: ReportData) -> pd.DataFrame | None:
    sh = data.shares
    if not _present(sh) or sh is None or "product" not in sh.columns:
        return None
    if "segment" in sh.columns:
        sh = sh[sh["segment"].astype(str) == "all"]
    return sh


def today_own_share(data: ReportData) -> tuple[float, float, float, list[str]] | None:
    """Today's own products' stated preference share together (``simulate/shares.csv``), its
    band (NaN for several own products: the band of a sum is not the sum of bands) and their
    names; None without the table."""
    sh = _overall_shares(data)
    if sh is None or "own" not in sh.columns:
        return None
    own = sh[_bool_series(sh["own"])]
    if own.empty:
        return None
    names = [str(p) for p in own["product"]]
    value = float(own["share"].astype(float).sum())
    if len(own) == 1 and {"lower", "upper"} <= set(own.columns):
        return value, float(own["lower"].iloc[0]), float(own["upper"].iloc[0]), names
    return value, math.nan, math.nan, names


def replaced_product(data: ReportData) -> str | None:
    """The own product the searches replaced (``recommend/run.json``: ``product``)."""
    p = data.recommend_settings.get("product")
    if p:
        return str(p)
    today = own_today(data)
    return today[0] if today else None


def own_after(data: ReportData, new: list[str]) -> list[str]:
    """Own products after a change that puts ``new`` in place of the replaced product."""
    gone = replaced_product(data)
    return [*new, *(p for p in own_today(data) if p != gone and p not in new)]


def names(items: list[str]) -> str:
    """Product names for a label: ``A, B, C`` (``our own products`` when unknown)."""
    return ", ".join(items) if items else "our own products"
