"""Reading the reason answers from the respondents table: the reason codes and their labels,
0/1 answers (blank is "not answered", never "no"), main reasons given as codes or labels,
numbers, weights, the groups of a ``by`` column (numeric ones cut into bands), the verbatims
and dummy columns for estimation. Every problem is collected, naming respondents and values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from winback.errors import WinbackError, did_you_mean, list_valid

#: reason codes of the questionnaire and their labels, in the questionnaire's order
REASON_LABELS: dict[str, str] = {
    "price_rise": "Price rise",
    "outages": "Outages or poor quality",
    "support": "Customer support",
    "competitor_offer": "A competitor's offer",
    "moved": "Moved home",
    "contract_terms": "Contract terms",
    "other": "Other",
}
#: open-text answers, reported verbatim
TEXT_COLUMNS = ("what_happened", "bring_back", "reason_other_text")
#: numeric respondent columns passed to estimation as covariates
NUMERIC_COVARIATES = ("tenure_months", "customer_value")
#: a numeric ``by`` column with more distinct values than this is cut into bands
MAX_CATEGORIES = 6
MISSING_GROUP = "(missing)"


def _reason_columns(people: pd.DataFrame, notes: list[str]) -> dict[str, str]:
    """Reason code -> column, questionnaire codes first, then extra ``reason_*`` columns."""
    cols = [
        c
        for c in people.columns
        if str(c).startswith("reason_")
        and str(c) not in TEXT_COLUMNS
        and not str(c).endswith("_text")
    ]
    found = {str(c)[len("reason_") :]: str(c) for c in cols}
    out = {code: found[code] for code in REASON_LABELS if code in found}
    extra = {code: col for code, col in found.items() if code not in REASON_LABELS}
    for code, col in extra.items():
        notes.append(f"Extra reason column {col} read as the reason '{_label(code)}'.")
    out.update(extra)
    return out


def _label(code: str) -> str:
    return REASON_LABELS.get(code, code.replace("_", " ").strip().capitalize())


def _ordered(codes: set[str]) -> list[str]:
    known = [c for c in REASON_LABELS if c in codes]
    return known + sorted(codes - set(known))


def _shown(people: pd.DataFrame, bad: pd.Series, col: str) -> str:
    ids = people.loc[bad, "respondent_id"].astype(str).tolist()
    vals = people.loc[bad, col].tolist()
    listed = ", ".join(f"{r} ({v!r})" for r, v in zip(ids[:5], vals[:5], strict=True))
    return listed + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def _binary(people: pd.DataFrame, col: str, problems: list[str]) -> pd.Series:
    """A 0/1 answer as floats (NaN = not answered); other values are problems."""
    raw = people[col]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        # numbers already (validation types answers that are all numbers): as they are
        blank = raw.isna()
        num = pd.Series(raw.to_numpy(dtype=float, na_value=np.nan), index=raw.index)
    else:
        blank = _blank(raw)
        text = raw.astype("string").str.strip().str.lower()
        text = text.replace({"true": "1", "false": "0"})
        num = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & ~num.isin([0, 1])
    if bad.any():
        problems.append(
            f"column '{col}': {int(bad.sum())} value(s) are not 0 or 1: {_shown(people, bad, col)}."
        )
    return pd.Series(num.where(~bad).to_numpy(dtype=float), index=people.index)


def _number(people: pd.DataFrame, col: str, problems: list[str]) -> pd.Series:
    raw = people[col]
    blank = _blank(raw)
    num = pd.to_numeric(raw.astype("string").str.strip().where(~blank), errors="coerce")
    bad = ~blank & num.isna()
    if bad.any():
        problems.append(
            f"column '{col}': {int(bad.sum())} value(s) are not numbers: {_shown(people, bad, col)}."
        )
    return pd.Series(num.to_numpy(dtype=float), index=people.index)


def _main_reasons(people: pd.DataFrame, codes: list[str], problems: list[str]) -> pd.Series:
    """Main reason codes (NA when not given); a label is accepted for its code."""
    raw = people["main_reason"]
    blank = _blank(raw)
    valid = list(dict.fromkeys([*REASON_LABELS, *codes]))
    lookup = {c.lower(): c for c in valid} | {_label(c).lower(): c for c in valid}
    key = raw.astype("string").str.strip().str.lower()
    # each distinct answer looked up once
    k_codes, k_uniques = pd.factorize(key, use_na_sentinel=True)
    table = [lookup.get(k, pd.NA) if isinstance(k, str) else pd.NA for k in k_uniques]
    code = pd.Series(np.array([*table, pd.NA], dtype=object)[k_codes], index=key.index)
    bad = ~blank & code.isna()
    if bad.any():
        problems.append(
            f"column 'main_reason': {int(bad.sum())} unknown reason(s): "
            f"{_shown(people, bad, 'main_reason')}. Valid: {list_valid(valid)}."
        )
    return pd.Series(code.where(~blank).to_numpy(dtype=object), index=people.index).astype("string")


def _weights(people: pd.DataFrame, col: str, problems: list[str]) -> np.ndarray | None:
    if col not in people.columns:
        cols = [c for c in people.columns if c != "respondent_id"]
        problems.append(
            f"unknown weight column {col!r}.{did_you_mean(col, cols)} Columns: {list_valid(cols)}."
        )
        return None
    raw = people[col]
    blank = _blank(raw)
    num = pd.to_numeric(raw.astype("string").str.strip().where(~blank), errors="coerce")
    bad = blank | num.isna() | (num < 0)
    if bad.any():
        problems.append(
            f"weight column '{col}': {int(bad.sum())} respondent(s) without a weight >= 0: "
            f"{_shown(people, bad, col)}. Give them a weight, or exclude them with "
            "dataset.exclude(...)."
        )
        return None
    w = num.to_numpy(dtype=float)
    if len(w) and w.sum() <= 0:
        problems.append(f"weight column '{col}': the weights sum to 0.")
        return None
    return w


def _round2(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 1 - math.floor(math.log10(abs(x))))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _groups(col: pd.Series, name: str, bands: int | Sequence[float]) -> tuple[pd.Series, str]:
    """Group labels as an ordered categorical; numeric columns with many values are banded."""
    blank = _blank(col)
    text = col.astype("string").str.strip()
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    numeric = bool((~blank).any()) and bool(num[~blank].notna().all())
    note = ""
    if numeric and num.nunique() > MAX_CATEGORIES:
        if isinstance(bands, int):
            if bands < 2:
                raise WinbackError(f"bands must be at least 2, got {bands}.")
            qs = np.quantile(num.dropna().to_numpy(dtype=float), np.arange(1, bands) / bands)
            edges = sorted({_round2(float(q)) for q in qs})
        else:
            edges = sorted(float(e) for e in bands)
        lo, hi = float(num.min()), float(num.max())
        edges = [e for e in edges if lo < e <= hi] or [_round2(float(num.median()))]
        labels = [f"under {_fmt(edges[0])}"]
        labels += [f"{_fmt(a)} to under {_fmt(b)}" for a, b in itertools.pairwise(edges)]
        labels.append(f"{_fmt(edges[-1])} and over")
        cut = pd.cut(num, [-np.inf, *edges, np.inf], right=False, labels=labels)
        groups = cut.astype(object).where(num.notna(), MISSING_GROUP)
        cats = labels
        note = (
            f"'{name}' cut into bands at {list_valid(_fmt(e) for e in edges)} (closed on the left)."
        )
    else:
        groups = text.astype(object).where(~blank, MISSING_GROUP)
        present = [g for g in pd.unique(groups) if g != MISSING_GROUP]
        if numeric:
            present = sorted(present, key=lambda g: float(g))
        else:
            present = sorted(present, key=str)
        cats = present
    if (groups == MISSING_GROUP).any():
        cats = [*cats, MISSING_GROUP]
    used = [c for c in cats if (groups == c).any()]
    return pd.Series(pd.Categorical(groups, categories=used), index=col.index), note


def _verbatims(people: pd.DataFrame) -> pd.DataFrame:
    texts = [c for c in TEXT_COLUMNS if c in people.columns]
    cols = ["respondent_id", *(["main_reason"] if "main_reason" in people.columns else []), *texts]
    if not texts:
        return people.loc[[], cols].reset_index(drop=True)
    wrote = np.zeros(len(people), dtype=bool)
    for c in texts:
        wrote |= ~_blank(people[c]).to_numpy()
    return people.loc[wrote, cols].reset_index(drop=True)


def _dummies(values: pd.Series, prefix: str) -> pd.DataFrame:
    levels = (
        _ordered(set(values.dropna()))
        if prefix == "main_reason"
        else sorted(set(values.dropna()), key=str)
    )
    given = values.notna().to_numpy()
    out = {}
    for v in levels:
        d = (values == v).fillna(False).to_numpy(dtype=int)
        out[f"{prefix}[{v}]"] = pd.array(np.where(given, d, 0), dtype="Int64")
        out[f"{prefix}[{v}]"][~given] = pd.NA
    return pd.DataFrame(out, index=values.index)
