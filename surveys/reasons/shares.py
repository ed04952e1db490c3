"""Reason shares with their intervals: Wilson score intervals, weighted shares with Kish's
effective sample size, and the tidy share tables (all that apply, main reason), largest first.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from surveys.reasons.answers import _label

SHARE_COLUMNS = ("reason", "label", "n_selected", "n", "share", "lower", "upper", "n_effective")


def wilson_interval(share: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval of a share observed on ``n`` (possibly effective) respondents.

    Examples
    --------
    >>> lo, hi = wilson_interval(0.3, 100, 1.959964)
    >>> round(lo, 3), round(hi, 3)
    (0.219, 0.396)
    """
    if n <= 0 or math.isnan(share):
        return math.nan, math.nan
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (share + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(share * (1.0 - share), 0.0) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _share_row(code: str, x: np.ndarray, w: np.ndarray | None, z: float) -> dict[str, object]:
    """x: 1/0 per respondent, NaN when not answered."""
    answered = ~np.isnan(x)
    xa = x[answered]
    n = int(answered.sum())
    k = int(xa.sum())
    if w is None:
        share = k / n if n else math.nan
        n_eff = float(n)
    else:
        wa = w[answered]
        sw = wa.sum()
        share = float((wa * xa).sum() / sw) if sw > 0 else math.nan
        n_eff = float(sw**2 / (wa**2).sum()) if sw > 0 else 0.0
    lo, hi = wilson_interval(share, n_eff, z)
    return {
        "reason": code,
        "label": _label(code),
        "n_selected": k,
        "n": n,
        "share": share,
        "lower": lo,
        "upper": hi,
        "n_effective": n_eff,
    }


def _empty_shares() -> pd.DataFrame:
    return _typed_shares(pd.DataFrame({c: [] for c in SHARE_COLUMNS}))


def _typed_shares(df: pd.DataFrame) -> pd.DataFrame:
    df = df[list(SHARE_COLUMNS)].copy()
    for c in ("reason", "label"):
        df[c] = df[c].astype("string")
    for c in ("n_selected", "n"):
        df[c] = df[c].astype("int64")
    for c in ("share", "lower", "upper", "n_effective"):
        df[c] = df[c].astype("float64")
    return df


def _sorted(df: pd.DataFrame, sort: bool) -> pd.DataFrame:
    if not sort or df.empty:
        return df.reset_index(drop=True)
    order = df.assign(_o=np.arange(len(df)), _s=df["share"].fillna(-1.0))
    return (
        order.sort_values(["_s", "_o"], ascending=[False, True])
        .drop(columns=["_o", "_s"])
        .reset_index(drop=True)
    )


def _shares(
    answers: dict[str, pd.Series], w: np.ndarray | None, z: float, sort: bool = True
) -> pd.DataFrame:
    if not answers:
        return _empty_shares()
    rows = [_share_row(code, x.to_numpy(dtype=float), w, z) for code, x in answers.items()]
    return _sorted(_typed_shares(pd.DataFrame(rows)), sort)


def _main_table(
    main: pd.Series, codes: list[str], w: np.ndarray | None, z: float, sort: bool = True
) -> pd.DataFrame:
    given = main.notna().to_numpy()
    rows = []
    for code in codes:
        x = np.where(given, (main == code).fillna(False).to_numpy(dtype=float), np.nan)
        rows.append(_share_row(code, x, w, z))
    if not rows:
        return _empty_shares()
    return _sorted(_typed_shares(pd.DataFrame(rows)), sort)
