"""Page one of the workbook: the decision in one box, and why, in plain words.

The box answers what a board asks, one line each: what to offer, to whom, at what price, the
expected customers and profit a year with their band (labelled calibrated or stated), what it
costs, how sure we are (in words: a convergence warning shows only as reduced confidence, the
detail and what to do is on the analyst pages) and the next step. Below it at most a few lines
of why: the main reasons customers left, what the offer changes for them and one willingness
to pay with its reading. Everything is written from ``recommend/decision.csv`` and the tables
the searches wrote, with the study's labels for attributes (never column names or codes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from openpyxl.styles import Alignment, Border, PatternFill, Side

from reports.live_layout import SIMULATOR
from reports.workbook.basis import calibrated, calibration_record
from reports.workbook.campaign import campaign_headline
from reports.workbook.context import (
    _and,
    _bool_series,
    _Ctx,
    _current_product,
    _fmt_level,
    _label,
    _per,
    _present,
    _price_col,
)
from reports.workbook.decision import big_money, count, decision_table, recommended, scale
from reports.workbook.maxdiff import maxdiff_why
from reports.workbook.styles import _BODY, _BOLD, _HEADER_FILL, _HEADER_FONT, _Sheet
from winback.settings import band_label

__all__ = ["ConfidenceWords", "confidence", "page_one", "plain_offer", "wtp_line"]

_BOX_FILL = PatternFill("solid", fgColor="DDEBF7")
_EDGE = Side(style="thin", color="1F4E79")
_BOX_BORDER = Border(left=_EDGE, right=_EDGE, top=_EDGE, bottom=_EDGE)
#: the box's text columns (B to G, merged)
_TEXT_SPAN = 6


@dataclass(frozen=True)
class ConfidenceWords:
    """How sure we are, in words: a level (``high``, ``moderate``, ``low``) and why."""

    level: str
    reasons: tuple[str, ...]

    def sentence(self) -> str:
        return f"{self.level.capitalize()} confidence. " + " ".join(self.reasons)


def _money(ctx: _Ctx, x: float) -> str:
    """A price for a sentence: ``EUR 45`` or ``EUR 44.99``."""
    cur = f"{ctx.currency} " if ctx.currency else ""
    x = float(x)
    return f"{cur}{x:,.0f}" if x.is_integer() else f"{cur}{x:,.2f}"


def _period(ctx: _Ctx) -> str:
    """`` a month`` for prices per month (the price attribute's unit), else nothing."""
    per = _per(ctx.data).strip()  # "per month"
    return f" a {per.removeprefix('per ').strip()}" if per else ""


def _products(ctx: _Ctx, b: pd.Series) -> list[tuple[str, pd.Series]]:
    """The own products the recommended action offers, named, each with its levels."""
    data = ctx.data
    kind = str(b.get("kind", ""))
    action = str(b.get("action", ""))
    if kind == "tiers" and _present(data.tiers) and data.tiers is not None:
        return [(str(r["tier"]), r) for _, r in data.tiers.iterrows()]
    if kind == "offer" and _present(data.offers) and data.offers is not None:
        offers = data.offers
        if action.startswith("Offer no. ") and "rank" in offers.columns:
            hit = offers[offers["rank"].astype(str) == action.removeprefix("Offer no. ")]
            if len(hit):
                return [(action, hit.iloc[0])]
        return [(action, offers.iloc[0])]
    if kind == "entry" and _present(data.unbundling) and data.unbundling is not None:
        ub = data.unbundling
        entry = ub[ub["offer"].astype(str) == "entry"]
        if len(entry):
            return [("Entry offer", entry.iloc[0])]
    if kind == "keep":
        today = _current_product(data)
        if today is not None:
            return [(str(today.get("product", "Today's offer")), today)]
    return []


def _attributes(ctx: _Ctx) -> list[str]:
    price = ctx.data.study.get("price_attribute")
    return [a["name"] for a in ctx.data.study.get("attributes", []) if a["name"] != price]


def _levels(ctx: _Ctx, row: pd.Series, names: list[str]) -> str:
    return ", ".join(
        f"{_label(ctx.data, a)}: {_fmt_level(row[a])}" for a in names if a in row.index
    )


def plain_offer(ctx: _Ctx, b: pd.Series) -> str:
    """What the recommended action offers, in the study's words (labels, never codes)."""
    products = _products(ctx, b)
    kind = str(b.get("kind", ""))
    if kind == "no campaign":
        return "No campaign: contact nobody (no candidate pays back its costs)."
    if not products:
        return str(b.get("description", b.get("action", "")))
    data = ctx.data
    price = _price_col(data, pd.DataFrame([products[0][1]]))
    names = [a for a in _attributes(ctx) if a in products[0][1].index]
    common = [a for a in names if len({str(p[a]) for _, p in products}) == 1]
    varying = [a for a in names if a not in common]
    today = _current_product(data)
    replaced = str(today["product"]) if today is not None and "product" in today.index else ""
    if kind == "tiers":
        parts = []
        for name, p in products:
            at = f" at {_money(ctx, p[price])}{_period(ctx)}" if price else ""
            parts.append(f"{name}{at} ({_levels(ctx, p, varying)})" if varying else name + at)
        txt = (
            f"Replace the {replaced or 'current offer'} with {len(products)} tiers: "
            + "; ".join(parts)
            + "."
        )
        if common:
            txt += " Every tier: " + _levels(ctx, products[0][1], common) + "."
        return txt
    name, p = products[0]
    if kind == "keep":
        return f"Offer today's {name} unchanged: {_levels(ctx, p, names)}."
    head = f"Replace the {replaced} with " if replaced else "Offer "
    what = "an entry offer" if kind == "entry" else "a new offer"
    txt = f"{head}{what}: {_levels(ctx, p, names)}."
    if kind == "entry":
        txt += _addons(ctx)
    return txt


def _addons(ctx: _Ctx) -> str:
    ad = ctx.data.addons
    if not _present(ad) or ad is None or not {"component", "price"} <= set(ad.columns):
        return ""
    return (
        " Add-ons: "
        + ", ".join(
            f"{_label(ctx.data, str(r['component']))} {_fmt_level(r.get('level', ''))} "
            f"+{_money(ctx, r['price'])}"
            for _, r in ad.iterrows()
        )
        + "."
    )


def _price_words(ctx: _Ctx, b: pd.Series) -> str | None:
    products = _products(ctx, b)
    if not products:
        return None
    price = _price_col(ctx.data, pd.DataFrame([products[0][1]]))
    if price is None:
        return None
    prices = [float(p[price]) for _, p in products if pd.notna(p.get(price))]
    if not prices:
        return None
    if len(prices) == 1:
        txt = f"{_money(ctx, prices[0])}{_period(ctx)}"
    else:
        txt = (
            ", ".join(_money(ctx, x) for x in prices[:-1])
            + f" and {_money(ctx, prices[-1])}{_period(ctx)}"
        )
    today = _current_product(ctx.data)
    if today is not None and price in today.index and b.get("kind") != "keep":
        txt += f" (today's {today.get('product', 'offer')}: {_money(ctx, today[price])}"
        txt += f"{_period(ctx)})"
    return txt + "."


def _to_whom(ctx: _Ctx) -> str:
    biz = ctx.data.study.get("business")
    cal = calibration_record(ctx.data) or {}
    reach = float(cal.get("availability", 1.0) or 1.0)
    if not biz:
        return "The lost customers the survey represents."
    n = int(biz["lost_customers"])
    if reach < 1:
        return (
            f"The {count(n)} lost customers in scope; the campaign can reach {count(n * reach)} "
            f"of them ({reach:.0%})."
        )
    return f"The {count(n)} lost customers in scope."


def _result(ctx: _Ctx, d: pd.DataFrame, b: pd.Series) -> tuple[str, str]:
    """The expected result's label (calibrated or stated, said in the label) and text."""
    cal = calibrated(ctx.data)
    sc = scale(ctx)
    bl = band_label(ctx.data.recommend_band)

    def band(key: str, f: object) -> str:
        lo, hi = b.get(f"{key}_lower"), b.get(f"{key}_upper")
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            return ""
        return f" ({bl} {f(lo)} to {f(hi)})"  # type: ignore[operator]

    if cal:
        label = "Expected result (calibrated to observed take-up)"
    else:
        label = "Expected result (stated preferences, not calibrated)"
    if sc.money and "customers" in b.index:
        who = "customers won back" if cal else "customers choosing the offer in the survey"
        txt = (
            f"{count(b['customers'])} {who}{band('customers', count)} and a profit of "
            f"{big_money(sc.currency, b['profit_year'])} a year"
            f"{band('profit_year', lambda x: big_money(sc.currency, x))}, after incentives and "
            "contact costs"
        )
        if "net_gain" in b.index and b.get("kind") != "keep" and math.isfinite(b["net_gain"]):
            txt += (
                f"; {big_money(sc.currency, b['net_gain'])} a year more than offering today's "
                "products unchanged"
            )
        if "revenue_year" in b.index:
            txt += f". Revenue {big_money(sc.currency, b['revenue_year'])} a year"
    else:
        txt = sc.words(b["value"]) + band("value", sc.short)
    if not cal:
        txt += ". Survey answers overstate real take-up; a pilot or an observed win-back rate "
        txt += "would calibrate them"
    return label, txt + "."


def _cost(ctx: _Ctx, b: pd.Series) -> str | None:
    biz = ctx.data.study.get("business")
    if "profit_year" not in b.index:
        return None
    if b.get("kind") == "no campaign":
        return "Nothing: nobody is contacted."
    if not biz:
        return "The incentives and contact costs are inside the profit."
    per_year = 12.0 / float(biz["horizon_months"])
    cal = calibration_record(ctx.data) or {}
    reach = float(cal.get("availability", 1.0) or 1.0)
    contacted = biz["lost_customers"] * reach
    contact = biz["contact_cost"] * contacted * per_year
    incentive = biz["incentive"] * float(b.get("customers", 0.0)) * per_year
    cur = ctx.currency
    return (
        f"{big_money(cur, contact + incentive)} a year, already taken off the profit: "
        f"incentives {big_money(cur, incentive)} ({_money(ctx, biz['incentive'])} per returning "
        f"customer) and contact costs {big_money(cur, contact)} "
        f"({_money(ctx, biz['contact_cost'])} for each of the {count(contacted)} lost customers "
        "contacted)."
    )


def confidence(ctx: _Ctx, d: pd.DataFrame) -> ConfidenceWords:
    """How sure we are, in words, from the runner-up's probability of losing, whether every
    search was exhaustive, the calibration and the estimation's convergence verdict (a warning
    reads as reduced confidence only; the analyst pages say what to do)."""
    reasons: list[str] = []
    level = 2  # 2 high, 1 moderate, 0 low
    rest = d.iloc[1:]
    if len(rest):
        r = rest.iloc[0]
        p = float(r.get("prob_recommended_better", math.nan))
        other = _short(ctx, r)
        if math.isfinite(p):
            reasons.append(
                f"It beats the next best option ({other}) in {p:.0%} of the simulated outcomes."
            )
            if p < 0.75:
                level = 0
                reasons.append("It is a close call.")
            elif p < 0.9:
                level = min(level, 1)
    if "proven" in d.columns and not _bool_series(d["proven"]).all():
        level = min(level, 1)
        reasons.append("Not every alternative could be checked, so a better one may exist.")
    elif "proven" in d.columns:
        reasons.append("Every alternative of each kind was checked.")
    if not calibrated(ctx.data):
        level = min(level, 1)
        reasons.append("Lower: the figures rest on survey answers alone, not on observed take-up.")
    fd = ctx.data.fit_diagnostics or {}
    verdict = str(fd.get("verdict", "")).lower()
    if verdict == "warn":
        level = min(level, 1)
        reasons.append(
            "Reduced: the statistical model's technical checks were not all met; the analysts "
            "are asked to confirm the figures."
        )
    elif verdict == "fail":
        level = 0
        reasons.append(
            "Low: the statistical model has not settled, so the figures may still change."
        )
    return ConfidenceWords(("low", "moderate", "high")[level], tuple(reasons))


def _short(ctx: _Ctx, r: pd.Series) -> str:
    """A candidate action named plainly: ``a single new offer at EUR 55 a month``."""
    kind = str(r.get("kind", ""))
    products = _products(ctx, r)
    price = _price_col(ctx.data, pd.DataFrame([products[0][1]])) if products else None
    if kind == "offer" and products and price:
        return f"a single new offer at {_money(ctx, products[0][1][price])}{_period(ctx)}"
    words = {
        "tiers": "good / better / best tiers",
        "entry": "an entry offer with add-ons",
        "keep": "today's offer unchanged",
        "no campaign": "no campaign",
    }
    return words.get(kind, str(r.get("action", "")))


def _next_step(ctx: _Ctx, b: pd.Series, sure: ConfidenceWords) -> str:
    verdict = str((ctx.data.fit_diagnostics or {}).get("verdict", "")).lower()
    if verdict == "fail":
        return (
            "Do not decide yet: the analysts rerun the estimation with more draws (their "
            "Diagnostics page says how) and this page is updated."
        )
    if b.get("kind") == "no campaign":
        return (
            "Revisit the incentive, the contact cost or the offers' prices: none of the options "
            "pays back as it stands."
        )
    cal = calibration_record(ctx.data) or {}
    n = cal.get("n")
    size = f"about {count(n)}" if isinstance(n, int | float) else "a random sample of"
    step = (
        f"Pilot first: make the offer to {size} lost customers chosen at random and check that "
        "take-up falls in the expected range before the full campaign."
    )
    if not calibrated(ctx.data):
        step = (
            "Pilot first: make the offer to a random sample of lost customers, then recalibrate "
            "these figures to the take-up observed before the full campaign."
        )
    if verdict == "warn":
        step += " Meanwhile the analysts rerun the estimation with more draws (Diagnostics page)."
    return step


def wtp_line(ctx: _Ctx, b: pd.Series | None = None) -> str | None:
    """One willingness to pay with its reading: the change of today's offer, among those the
    recommendation makes, worth most to the typical lost customer (ratio method: the median
    over respondents of the utility gained over minus the price slope), with its band."""
    w = ctx.data.wtp
    if not _present(w) or w is None or not {"attribute", "to_level", "wtp"} <= set(w.columns):
        return None
    t = w[w["method"].astype(str) == "ratio"] if "method" in w.columns else w
    t = t[t["wtp"].astype(float) > 0]
    if b is not None:
        changes = {
            (a, str(p[a])) for _, p in _products(ctx, b) for a in _attributes(ctx) if a in p.index
        }
        mine = t[
            [
                (str(a), str(lv)) in changes
                for a, lv in zip(t["attribute"], t["to_level"], strict=True)
            ]
        ]
        t = mine if len(mine) else t
    if t.empty:
        return None
    r = t.loc[t["wtp"].astype(float).idxmax()]
    band = ""
    if pd.notna(r.get("lower")) and pd.notna(r.get("upper")):
        band = (
            f" ({band_label(ctx.data.simulate_band)} {_money(ctx, round(r['lower'], 2))} to "
            f"{_money(ctx, round(r['upper'], 2))})"
        )
    change = f"{_label(ctx.data, str(r['attribute']))}: {r['to_level']}"
    if "from_level" in r.index and pd.notna(r["from_level"]):
        change += f" instead of {r['from_level']}"
    return (
        f"What it is worth to them: {change} is worth about "
        f"{_money(ctx, round(float(r['wtp']), 2))}{_period(ctx)}{band} to the typical lost "
        "customer, the most of any change in the offer: the price rise that would leave them "
        "as keen as without it."
    )


def _why_lines(ctx: _Ctx, b: pd.Series) -> list[str]:
    data = ctx.data
    out: list[str] = []
    rs = data.reasons
    ranked = maxdiff_why(data)  # the MaxDiff's reason that weighed most, when there is one
    if _present(rs) and rs is not None and {"label", "share"} <= set(rs.columns):
        top = rs.sort_values("share", ascending=False, kind="stable").head(3)
        out.append(
            "Why they left: "
            + _and([f"{str(r['label']).lower()} ({r['share']:.0%})" for _, r in top.iterrows()])
            + " were named most often (share of those surveyed; several answers allowed)."
            + (f" {ranked}" if ranked else "")
        )
    elif ranked:
        out.append(f"Why they left: {ranked}")
    changes = _changes(ctx, b)
    if changes:
        out.append("What the offer changes for them: " + _and(changes) + ".")
    line = wtp_line(ctx, b)
    if line:
        out.append(line)
    return out


def _changes(ctx: _Ctx, b: pd.Series) -> list[str]:
    """How the recommended offer differs from today's own product, in words."""
    today = _current_product(ctx.data)
    products = _products(ctx, b)
    if today is None or not products or b.get("kind") == "keep":
        return []
    out = []
    price = _price_col(ctx.data, pd.DataFrame([products[0][1]]))
    if price and price in today.index:
        prices = sorted({float(p[price]) for _, p in products})
        now = float(today[price])
        if all(x < now for x in prices):
            span = _money(ctx, prices[0]) + (
                f" to {_money(ctx, prices[-1])}" if len(prices) > 1 else ""
            )
            out.append(f"a lower price ({span}{_period(ctx)} against {_money(ctx, now)})")
    for a in _attributes(ctx):
        levels = {str(p[a]) for _, p in products if a in p.index}
        if a not in today.index or not levels or str(today[a]) in levels:
            continue
        if len(levels) == 1:
            out.append(f"{_label(ctx.data, a)}: {levels.pop()} instead of {today[a]}")
    return out


def _box_row(s: _Sheet, label: str, text: str, *, bold: bool = False) -> None:
    ws = s.ws
    head = s.put(s.row, 1, label)
    head.font = _BOLD
    head.fill = _BOX_FILL
    head.alignment = Alignment(wrap_text=True, vertical="top")
    head.border = _BOX_BORDER
    s.wrap(head, label)
    cell = s.put(s.row, 2, text)
    cell.font = _BOLD if bold else _BODY
    ws.merge_cells(start_row=s.row, start_column=2, end_row=s.row, end_column=1 + _TEXT_SPAN)
    for c in range(2, 2 + _TEXT_SPAN):
        ws.cell(s.row, c).border = _BOX_BORDER
    s.wrap(cell, text)
    s.row += 1


def page_one(s: _Sheet, ctx: _Ctx) -> bool:
    """The decision box and the lines of why at the top of the Summary, its print area ending
    after them; False (nothing written) without ``decision.csv``."""
    d = decision_table(ctx.data)
    if d is None:
        return False
    b = recommended(d)
    ws = s.ws
    top = s.put(s.row, 1, f"The decision: {b['action']}")
    top.font = _HEADER_FONT
    for c in range(1, 2 + _TEXT_SPAN):
        ws.cell(s.row, c).fill = _HEADER_FILL
    ws.row_dimensions[s.row].height = 20
    s.row += 1
    sure = confidence(ctx, d)
    rows = [("What to offer", plain_offer(ctx, b), True), ("To whom", _to_whom(ctx), False)]
    price = _price_words(ctx, b)
    if price:
        rows.append(("At what price", price, False))
    if b.get("kind") != "no campaign":
        label, text = _result(ctx, d, b)
        rows.append((label, text, True))
    cost = _cost(ctx, b)
    if cost:
        rows.append(("What it costs", cost, False))
    rows.append(("How sure we are", sure.sentence(), False))
    campaign = campaign_headline(ctx)  # the plan for the CRM list, when the run has one
    if campaign:
        rows.append(("Campaign", campaign, False))
    rows.append(("Next step", _next_step(ctx, b, sure), True))
    for label, text, bold in rows:
        _box_row(s, label, text, bold=bold)
    s.blank()
    why = _why_lines(ctx, b)
    if why:
        s.heading("Why")
        for line in why:
            s.para(f"•  {line}", span=1 + _TEXT_SPAN)
    # the live simulator only when the workbook has it (a run without fit/fit.nc or market.toml)
    last = "price, and a simulator to try other offers" if ctx.has_page(SIMULATOR) else "and price"
    s.para(
        "Next pages: why they left, what matters to them, the offers, the tiers, unbundling, "
        f"{last}. The analysts' pages (every option compared, methods and checks, with a "
        "glossary) are hidden tabs: right-click a tab and choose Unhide.",
        font=None,
        span=1 + _TEXT_SPAN,
    )
    s.end_print()
    return True
