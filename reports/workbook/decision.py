"""The one recommendation: the Summary's headline, and the scale every figure is on.

``winback recommend`` scores every candidate action (the new offer and the other offers listed,
the good/better/best tiers, the entry offer with add-ons, today's offer, no campaign) on one
scale and recommends one (``recommend/decision.csv``, see ``docs/decision.md``): expected profit
per year with ``[business]`` in the study, else the search's objective per lost customer.
:func:`summary_decision` writes it at the top of the Summary (what to do, customers and money
with bands, what it costs, the net gain against today's offer like for like, where the
customers come from, how sure, the runners-up); :mod:`~reports.workbook.decision_sheet` writes
the ``Decision`` sheet on the same scale. Runs written before the one recommendation have no
``decision.csv``: the Summary keeps its former answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from reports.workbook.basis import (
    basis_sentence,
    calibrated,
    calibration_record,
    share_word,
)
from reports.workbook.context import _bool_series, _Ctx, _per, _present, relabel
from reports.workbook.facts import ReportData
from reports.workbook.styles import INT, PCT, _Sheet
from winback.settings import band_label


def big_money(currency: str, x: float) -> str:
    """Money for a sentence: ``EUR 1.97m``, ``EUR 752k``, ``EUR 9,440`` (sign kept)."""
    cur = f"{currency} " if currency else ""
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if a >= 1e6:
        return f"{sign}{cur}{a / 1e6:.2f}m"
    if a >= 1e4:
        return f"{sign}{cur}{a / 1e3:.0f}k"
    return f"{sign}{cur}{a:,.0f}"


def count(x: float) -> str:
    """A number of customers for a sentence: ``11,672``."""
    return f"{float(x):,.0f}"


@dataclass(frozen=True)
class Scale:
    """The decision's scale: profit per year (with ``[business]``) or the objective per lost
    customer, with its unit for headers, its number format and its words for sentences."""

    money: bool
    unit: str
    fmt: str
    currency: str
    per: str

    def short(self, x: float) -> str:
        """A value without its period (for bands)."""
        if self.money:
            return big_money(self.currency, x)
        if self.fmt == PCT:
            return f"{float(x):.1%}"
        return f"{self.currency} {float(x):,.2f}".strip()

    def words(self, x: float) -> str:
        if self.money:
            return f"{big_money(self.currency, x)} a year"
        if self.fmt == PCT:
            return f"{float(x):.1%} of lost customers"
        cur = f"{self.currency} " if self.currency else ""
        return f"{cur}{float(x):,.2f}{self.per} per lost customer"


def scale(ctx: _Ctx) -> Scale:
    """The scale of ``decision.csv``: money per year when it has ``profit_year``."""
    d = ctx.data.decision
    cur = ctx.currency
    if d is not None and "profit_year" in d.columns:
        return Scale(True, f"{cur or 'money'}/year", ctx.money0, cur, "")
    objective = str(ctx.data.recommend_settings.get("objective") or "objective")
    per = _per(ctx.data)
    if objective == "share":
        return Scale(False, "share of lost customers", PCT, cur, per)
    money = " ".join(x for x in (cur, per.strip()) if x)  # "EUR per month"
    unit = f"{objective} per lost customer" + (f" ({money})" if money else "")
    return Scale(False, unit, ctx.money, cur, per)


def decision_table(data: ReportData) -> pd.DataFrame | None:
    """``decision.csv`` best first (None when absent or empty)."""
    d = data.decision
    if not _present(d) or d is None or not {"action", "value"} <= set(d.columns):
        return None
    return d.sort_values("rank", kind="stable") if "rank" in d.columns else d


def recommended(d: pd.DataFrame) -> pd.Series:
    if "recommended" in d.columns:
        hit = d[_bool_series(d["recommended"])]
        if len(hit):
            return hit.iloc[0]
    return d.iloc[0]


def _get(row: pd.Series, key: str) -> float:
    v = row.get(key, math.nan)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _with_band(bl: str, lo: float, hi: float, f: Callable[[float], str]) -> str:
    """`` (90% band a to b)``, or nothing for a band that is not there."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f" ({bl} {f(lo)} to {f(hi)})"


def headline(ctx: _Ctx) -> str | None:
    """The Summary's headline sentence: what to do, customers and profit with their bands."""
    d = decision_table(ctx.data)
    if d is None:
        return None
    b = recommended(d)
    sc = scale(ctx)
    bl = band_label(ctx.data.recommend_band)
    cal = calibrated(ctx.data)
    txt = f"Recommendation: {b['action']}: {relabel(ctx.data, str(b['description']))}."
    if b.get("kind") == "no campaign":
        return txt + " No candidate is expected to pay back its incentives and contact costs."
    txt += " Expected" + ("" if cal else " at stated preference shares") + ": "
    if sc.money and "customers" in b.index:
        txt += (
            f"{count(b['customers'])} customers{' won back' if cal else ''}"
            + _with_band(bl, _get(b, "customers_lower"), _get(b, "customers_upper"), count)
            + f" and a profit of {sc.words(b['profit_year'])}"
            + _with_band(bl, _get(b, "profit_year_lower"), _get(b, "profit_year_upper"), sc.short)
            + " after incentives and contact costs"
        )
        if "revenue_year" in b.index:
            txt += f"; revenue {sc.words(b['revenue_year'])}"
    else:
        txt += sc.words(b["value"]) + _with_band(
            bl, _get(b, "value_lower"), _get(b, "value_upper"), sc.short
        )
        if "share_after" in b.index:
            txt += (
                f"; own products' {share_word(ctx.data)} after: {float(b['share_after']):.1%} "
                f"({b['own_after']})"
            )
    txt += "."
    if not cal:
        txt += " Not calibrated to observed behaviour: real take-up is usually lower."
    return txt


def _costs(ctx: _Ctx, b: pd.Series) -> str | None:
    """What the recommendation costs, in words: the incentives and contact costs inside its
    profit (per year)."""
    if "profit_year" not in b.index:
        return None
    biz = ctx.data.study.get("business")
    if b.get("kind") == "no campaign":
        return "What it costs: nothing (nobody is contacted)."
    if not biz:
        return (
            "What it costs: the incentives and contact costs of the [business] settings are "
            "inside the profit (the Methods sheet has the formula)."
        )
    per_year = 12.0 / float(biz["horizon_months"])
    cal = calibration_record(ctx.data)
    reach = float(cal.get("availability", 1.0)) if cal else 1.0
    contacted = biz["lost_customers"] * reach
    contact = biz["contact_cost"] * contacted * per_year
    incentive = biz["incentive"] * float(b.get("customers", 0.0)) * per_year
    cur = ctx.currency
    money = ctx.fmt_money
    return (
        f"What it costs (inside the profit above): incentives of {money(biz['incentive'])} per "
        f"returning customer, {big_money(cur, incentive)} a year for the expected "
        f"{count(b.get('customers', 0.0))}; contact costs of {money(biz['contact_cost'])} per "
        f"lost customer reached, {big_money(cur, contact)} a year for {count(contacted)} "
        f"reached ({count(biz['lost_customers'])} lost customers in scope"
        + (f" x {reach:.0%} reach" if reach < 1 else "")
        + ")."
    )


def _against_today(ctx: _Ctx, d: pd.DataFrame, b: pd.Series) -> str:
    sc = scale(ctx)
    sw = share_word(ctx.data)
    keep = d[d["kind"].astype(str) == "keep"] if "kind" in d.columns else d.iloc[:0]
    txt = "Against today's offer"
    if len(keep):
        txt += f" ({keep.iloc[0]['description']}: {sc.words(keep.iloc[0]['value'])})"
    if {"net_gain", "net_gain_lower"} <= set(b.index) and b.get("kind") != "keep":
        bl = band_label(ctx.data.recommend_band)
        txt += f": net gain {sc.words(b['net_gain'])}" + _with_band(
            bl, _get(b, "net_gain_lower"), _get(b, "net_gain_upper"), sc.short
        )
    if {"own_before", "own_after"} <= set(b.index):
        txt += (
            f". Like for like, all our own products: before {b['own_before']} ({sw} "
            f"{float(b['share_before']):.1%}), after {b['own_after']} ({sw} "
            f"{float(b['share_after']):.1%})"
        )
    return txt + "."


def _sources(ctx: _Ctx, b: pd.Series) -> str | None:
    src = ctx.data.decision_sources
    if not _present(src) or src is None or b.get("kind") in ("keep", "no campaign"):
        return None
    mine = src[src["action"].astype(str) == str(b["action"])].set_index("kind")
    if not {"gross", "none", "competitor", "own", "net"} <= set(mine.index):
        return None
    money = "customers" in b.index

    def f(k: str) -> str:
        v = float(mine.loc[k, "value"])
        return count(v) if money else f"{v:.1%}"

    unit = "" if money else " of lost customers"
    net = "won back" if calibrated(ctx.data) else "at stated preference shares"
    return (
        f"Where they come from: {f('gross')}{unit} take the new offer(s): {f('none')} would "
        f"otherwise have stayed away (none), {f('competitor')} come from competitors, "
        f"{f('own')} from our own products (cannibalised or replaced); net {f('net')} {net} "
        "(from none and competitors)."
    )


def _how_sure(ctx: _Ctx, d: pd.DataFrame) -> str:
    rest = d.iloc[1:]
    proven = "proven" not in d.columns or bool(_bool_series(d["proven"]).all())
    search = (
        "every search behind the candidates was exhaustive, so this is the best of every "
        "candidate searched"
        if proven
        else "a search was not exhaustive ("
        + ", ".join(str(a) for a in d.loc[~_bool_series(d["proven"]), "action"])
        + "), so better candidates may exist"
    )
    if rest.empty:
        return f"How sure: the only candidate; {search}."
    r = rest.iloc[0]
    p = _get(r, "prob_recommended_better")
    clear = "" if not math.isfinite(p) or p >= 0.9 else " (not a clear winner)"
    share = f"{p:.0%}" if math.isfinite(p) else "an unknown share"
    return (
        f"How sure: better than the runner-up ({r['action']}) on {share} of the posterior "
        f"draws{clear}; {search}."
    )


def summary_decision(s: _Sheet, ctx: _Ctx) -> bool:
    """The recommendation at the top of the Summary; False (nothing written) without
    ``decision.csv``."""
    d = decision_table(ctx.data)
    text = headline(ctx)
    if d is None or text is None:
        return False
    b = recommended(d)
    sc = scale(ctx)
    s.heading("The recommendation")
    s.para(text, bold=True)
    s.note(basis_sentence(ctx.data))
    rows = _key_rows(ctx, b, sc)
    if rows:
        s.heading(
            f"Key numbers of the recommendation (with their {band_label(ctx.data.recommend_band)}s)"
        )
        frame = pd.DataFrame(rows, columns=["measure", "estimate", "band_from", "band_to", "_f"])
        fmts = frame.pop("_f")
        s.table(
            frame,
            labels={"band_from": "band from", "band_to": "band to"},
            row_format=(("estimate", "band_from", "band_to"), lambda r: str(fmts[r.name])),
        )
    s.bullets([t for t in (_costs(ctx, b), _against_today(ctx, d, b), _sources(ctx, b),
                           _how_sure(ctx, d)) if t])  # fmt: skip
    s.blank()
    rest = d.iloc[1:]
    if "kind" in rest.columns:
        rest = rest.drop_duplicates("kind")
    if len(rest):
        s.heading("The runners-up, on the same scale (the best of each kind)")
        cols = ["rank", "action", "value", "gap", "gap_lower", "gap_upper",
                "prob_recommended_better"]  # fmt: skip
        t = rest[[c for c in cols if c in rest.columns]]
        s.table(
            t,
            formats={"value": sc.fmt, "gap": sc.fmt, "gap_lower": sc.fmt, "gap_upper": sc.fmt,
                     "prob_recommended_better": PCT},
            labels={"value": _value_label(ctx, sc), "gap": f"gap to the recommendation ({sc.unit})",
                    "gap_lower": "gap from", "gap_upper": "gap to",
                    "prob_recommended_better": "P(recommendation better)"},
        )  # fmt: skip
        s.note("Every candidate, with its bands, on the Decision sheet.")
    return True


def _value_label(ctx: _Ctx, sc: Scale) -> str:
    if sc.money:
        return f"profit after incentives and contact costs ({sc.unit})"
    return sc.unit


def _key_rows(ctx: _Ctx, b: pd.Series, sc: Scale) -> list[tuple[str, float, float, float, str]]:
    sw = share_word(ctx.data)
    cal = calibrated(ctx.data)
    rows: list[tuple[str, float, float, float, str]] = []

    def add(key: str, label: str, fmt: str) -> None:
        if key in b.index:
            rows.append(
                (label, _get(b, key), _get(b, f"{key}_lower"), _get(b, f"{key}_upper"), fmt)
            )

    if sc.money:
        add(
            "customers", f"customers {'won back' if cal else 'choosing our offers'} (N x {sw})", INT
        )
        add("revenue_year", f"revenue ({sc.unit})", sc.fmt)
        add("profit_year", f"profit after incentives and contact costs ({sc.unit})", sc.fmt)
    else:
        add("value", sc.unit, sc.fmt)
    add("net_gain", f"net gain against today's offer ({sc.unit})", sc.fmt)
    add("net_volume", "net volume: " + ("customers" if sc.money else "share of lost customers")
        + " from none and competitors (net of what it takes from our own products)",
        INT if sc.money else PCT)  # fmt: skip
    if "share_before" in b.index:
        rows.append((f"own products' {sw} before ({b['own_before']})", _get(b, "share_before"),
                     math.nan, math.nan, PCT))  # fmt: skip
        rows.append((f"own products' {sw} after ({b['own_after']})", _get(b, "share_after"),
                     math.nan, math.nan, PCT))  # fmt: skip
    return rows
