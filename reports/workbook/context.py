"""What every sheet builder gets, and the facts of a run the sheets and the summary share.

:class:`_Ctx` carries the run's :class:`~reports.workbook.facts.ReportData`, its currency and
money format, and the caveats found while writing (shown on the summary). The helpers below
answer small questions about a run in words or tables: an attribute's label, the price column,
an offer described in words, today's product and its share, revenue and profit bands derived
from a share band, quality-flag columns, exclusion counts and the convergence verdict in words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reports.workbook.facts import ReportData
from winback.study.labels import LABEL


@dataclass
class _Ctx:
    data: ReportData
    currency: str
    money: str
    notes: list[str] = field(default_factory=list)
    #: the workbook's pages in order, set by the writer before any sheet is built (the live
    #: simulator, the segments, the campaign and the wave comparison are there only in some
    #: runs): the summary names only these
    pages: tuple[str, ...] = ()

    def has_page(self, title: str) -> bool:
        """Whether the workbook has the page ``title``."""
        return title in self.pages

    @property
    def money0(self) -> str:
        """The money format without decimals (sums per year)."""
        return self.money.replace("#,##0.00", "#,##0", 1)

    def fmt_money(self, x: float) -> str:
        cur = f"{self.currency} " if self.currency else ""
        return f"{cur}{x:,.2f}"


def _present(df: pd.DataFrame | None) -> bool:
    return df is not None and not df.empty


def _attribute_columns(data: ReportData, df: pd.DataFrame) -> list[str]:
    names = [a["name"] for a in data.study.get("attributes", [])]
    if names:
        return [n for n in names if n in df.columns]
    known = {
        "rank", "share", "lower", "upper", "revenue", "profit", "prob_beats_current",
        "prob_best", "tier", "offer", "segment", "n_respondents", "margin", "margin_lower",
        "margin_upper", "current_share", "gain_lower", "gain_upper", "worth_winning",
        "revenue_lower", "revenue_upper", "profit_lower", "profit_upper",
    }  # fmt: skip
    return [c for c in df.columns if c not in known]


def _label(data: ReportData, attribute: str) -> str:
    for a in data.study.get("attributes", []):
        if a["name"] == attribute:
            return str(a["label"])
    if attribute == LABEL and data.study.get("labels"):
        return "label (brand)"
    return attribute


def _labelled_note(data: ReportData) -> str | None:
    """A labelled study's part-worths and importances in words (None for a generic study)."""
    labels = data.study.get("labels") or []
    if not labels:
        return None
    specific = [
        f"{a['label']} only on {', '.join(a['applies_to'])}"
        for a in data.study.get("attributes", [])
        if a.get("applies_to")
    ]
    return (
        f"A labelled study: every task showed one offer of each label ({', '.join(labels)}). "
        f"The label rows are each label's own value over {labels[0]} (the reference label, 0) "
        "for offers with the same features; in importances the labels count as one more "
        "attribute, the largest gap between two labels, as Sawtooth reports brand."
        + (
            " Features shown on some labels only are valued from those offers: "
            + "; ".join(specific)
            + "."
            if specific
            else ""
        )
    )


def _price_col(data: ReportData, df: pd.DataFrame) -> str | None:
    p = data.study.get("price_attribute")
    if p and p in df.columns:
        return str(p)
    return "price" if "price" in df.columns else None


def _describe(data: ReportData, rec: pd.Series, skip_price: bool = True) -> str:
    price = _price_col(data, rec.to_frame().T)
    parts = []
    for a in _attribute_columns(data, rec.to_frame().T):
        if skip_price and a == price:
            continue
        parts.append(f"{_label(data, a)}: {_fmt_level(rec[a])}")
    return "; ".join(parts)


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _per(data: ReportData) -> str:
    """' per month' for a price attribute with unit 'EUR/month'."""
    price = data.study.get("price_attribute")
    for a in data.study.get("attributes", []):
        unit = a.get("unit") or ""
        if a["name"] == price and "/" in unit:
            return f" per {unit.split('/', 1)[1].strip()}"
    return ""


def relabel(data: ReportData, text: str) -> str:
    """``text`` with every attribute's name followed by a level replaced by its label and a
    colon (``speed 300 Mbps`` reads ``Broadband speed: 300 Mbps``): descriptions written by the
    searches name attributes by their codes."""
    names = sorted(
        (a for a in data.study.get("attributes", []) if a.get("label")),
        key=lambda a: -len(a["name"]),
    )
    for a in names:
        text = re.sub(rf"(?<![\w]){re.escape(a['name'])} (?=\S)", f"{a['label']}: ", text)
    return text


def _fmt_level(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _with_derived_bands(data: ReportData, offers: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Revenue and profit bands of single offers, from the share band when the price is fixed.

    With one own product, revenue = share x price and profit = share x (price - unit cost) in
    every draw, so their bands are the share band times price (or margin). Only added when the
    table's revenue equals share x price (otherwise other own products count too).
    """
    out = offers.copy()
    price = _price_col(data, out)
    need = {"share", "lower", "upper", "revenue"}
    if price is None or not need <= set(out.columns) or "revenue_lower" in out.columns:
        return out, False
    share = out["share"].astype(float)
    if not np.allclose(out["revenue"].astype(float), share * out[price].astype(float), rtol=1e-6):
        return out, False
    for what in ("revenue", "profit"):
        if what not in out.columns:
            continue
        per_share = out[what].astype(float) / share.where(share > 0)
        out[f"{what}_lower"] = out["lower"].astype(float) * per_share
        out[f"{what}_upper"] = out["upper"].astype(float) * per_share
    return out, True


def _measure(df: pd.DataFrame | None, text: str) -> pd.Series | None:
    if df is None or "measure" not in df.columns:
        return None
    hit = df[df["measure"].astype(str) == text]
    return hit.iloc[0] if len(hit) else None


def _current_product(data: ReportData) -> pd.Series | None:
    mp = data.market_products
    if _present(mp):
        assert mp is not None
        own = mp[mp["own"].astype(bool)]
        if len(own):
            return own.iloc[0]
    ub = data.unbundling
    if _present(ub) and ub is not None and "offer" in ub.columns:
        hit = ub[ub["offer"].astype(str).str.startswith("bundle")]
        if len(hit):
            return hit.iloc[0]
    return None


def _bool_series(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(bool)
    return s.astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def _flag_columns(quality: pd.DataFrame) -> list[str]:
    out = []
    for c in quality.columns:
        vals = set(quality[c].dropna().astype(str).str.lower().unique())
        if vals and vals <= {"true", "false"} and c != "n_flags":
            out.append(c)
    return out


def _exclusion_counts(data: ReportData) -> pd.DataFrame | None:
    ex = data.exclusions
    if ex is None or "reason" not in ex.columns:
        return None
    counts = (
        ex.assign(reason=ex["reason"].astype(str))
        .groupby("reason", sort=False)
        .size()
        .rename("respondents")
        .reset_index()
        .sort_values("respondents", ascending=False, kind="stable")
    )
    return counts


def _verdict_words(verdict: str) -> str:
    v = verdict.lower()
    if v == "pass":
        return (
            "PASS: the estimation converged (every check passed), so the figures in this "
            "workbook are stable."
        )
    if v == "warn":
        return (
            "WARNING: the estimation converged with warnings (see the Diagnostics sheet). The "
            "figures are usable; check the warnings before a final decision."
        )
    if v == "fail":
        return (
            "FAIL: the estimation did NOT converge, so the figures are not reliable yet. "
            "Rerun the fit with more draws (advice on the Diagnostics sheet) before deciding."
        )
    return f"{verdict}: see the Diagnostics sheet."
