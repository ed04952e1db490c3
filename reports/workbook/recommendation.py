"""The recommended action on the leadership pages: where its customers come from, and what
its main change is worth to customers.

:func:`sources_top` writes the printed top of the ``Source of volume`` page: the recommended
action's takers of ``recommend/decision_sources.csv`` (from none, from competitors, from our own
products, net) with their bands, in a table and a native bar chart, the basis (calibrated or
stated) in the labels. :func:`wtp_choice` picks the one willingness to pay the ``Importances``
page states (:func:`wtp_top`): the recommended action's change of today's offer worth the most,
by the ratio method (why that one: :data:`WHY_RATIO`); :func:`wtp_explanation` writes on the
analyst ``WTP`` sheet why the three methods differ, with the run's own numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.workbook.basis import calibrated
from reports.workbook.context import _Ctx, _current_product, _label, _per, _present
from reports.workbook.decision import recommended, scale
from reports.workbook.styles import INT, PCT, _bar_chart, _Sheet, span_anchor
from winback.settings import band_label

__all__ = ["WHY_RATIO", "WtpChoice", "sources_top", "wtp_choice", "wtp_explanation", "wtp_top"]

#: the sources of volume in the order and words the page shows them
SOURCE_WORDS = {
    "gross": "take the recommended offers",
    "none": "from none (would have stayed away)",
    "competitor": "from competitors",
    "own": "from our own products (replaced or cannibalised)",
    "net": "net gain (from none + from competitors)",
}

#: rows of the sources' bar chart (about 8 cm)
SOURCE_CHART_ROWS = 15

#: why the leadership page states the ratio method
WHY_RATIO = (
    "the ratio method, what the typical (median) customer would pay for the change; the WTP "
    "sheet compares the three methods"
)


def sources_top(s: _Sheet, ctx: _Ctx) -> bool:
    """The recommended action's sources of volume with bands, a table and a bar chart; False
    (nothing written) for a run without ``decision_sources.csv``."""
    data = ctx.data
    src, d = data.decision_sources, data.decision
    need = {"action", "kind", "value", "lower", "upper"}
    if not _present(src) or src is None or d is None or not need <= set(src.columns):
        return False
    b = recommended(d.sort_values("rank", kind="stable") if "rank" in d.columns else d)
    mine = src[src["action"].astype(str) == str(b["action"])]
    if mine.empty:
        return False
    sc = scale(ctx)
    cal = calibrated(data)
    basis = "calibrated to observed take-up" if cal else "stated preferences, not calibrated"
    if sc.money:
        unit, fmt, axis = f"customers ({basis})", INT, "#,##0"
    else:
        unit, fmt, axis = f"share of lost customers ({basis})", PCT, "0%"
    bl = band_label(data.recommend_band)
    s.title(
        f"Where the customers come from: {b['action']}",
        f"Takers of the recommendation ({unit}) by where they would otherwise go, against "
        f"today's market, with {bl}s.",
    )
    order = {k: i for i, k in enumerate(SOURCE_WORDS)}
    mine = mine.assign(_o=mine["kind"].astype(str).map(order)).sort_values("_o", kind="stable")
    table = pd.DataFrame(
        {
            "source": [SOURCE_WORDS.get(str(k), str(r)) for k, r in
                       zip(mine["kind"], mine["source"], strict=True)],
            "value": mine["value"].astype(float).to_numpy(),
            "lower": mine["lower"].astype(float).to_numpy(),
            "upper": mine["upper"].astype(float).to_numpy(),
        }
    )  # fmt: skip
    h, first, last = s.table(
        table,
        formats=dict.fromkeys(("value", "lower", "upper"), fmt),
        labels={"source": "where they come from", "value": unit, "lower": f"{bl} from",
                "upper": f"{bl} to"},
    )  # fmt: skip
    net = mine[mine["kind"].astype(str) == "net"]
    if len(net):
        r = net.iloc[0]
        f = (lambda x: f"{x:,.0f}") if sc.money else (lambda x: f"{x:.1%}")
        who = "customers" if sc.money else "of lost customers"
        s.para(
            f"The campaign adds {f(r['value'])} {who} net ({bl} {f(r['lower'])} to "
            f"{f(r['upper'])}): the takers it wins from none and from competitors, not those "
            "who would have bought from us anyway.",
            bold=True,
        )
    chart = _bar_chart(
        s.ws,
        data_col=2,
        cat_col=1,
        header=h,
        last=last,
        title=f"Where the customers come from ({'customers' if sc.money else 'share'})",
        anchor=f"A{s.row}",
        horizontal=True,
        number_format=axis,
    )
    chart.anchor = span_anchor(1, s.row, 5, s.row + SOURCE_CHART_ROWS)
    s.row += SOURCE_CHART_ROWS + 1
    return True


@dataclass(frozen=True)
class WtpChoice:
    """The one willingness to pay the leadership page states: a change of today's offer that
    the recommended action makes, by the ratio method."""

    attribute: str
    from_level: str
    to_level: str
    wtp: float
    lower: float
    upper: float
    method: str = "ratio"


def _action_products(ctx: _Ctx) -> list[pd.Series]:
    """The recommended action's own products as table rows (the offer, the tiers or the entry
    offer), empty when the run has none."""
    data = ctx.data
    d = data.decision
    if not _present(d) or d is None:
        of = data.offers
        return [r for _, r in of.head(1).iterrows()] if of is not None and len(of) else []
    b = recommended(d.sort_values("rank", kind="stable") if "rank" in d.columns else d)
    kind, name = str(b.get("kind", "")), str(b["action"])
    if kind == "offer" and _present(data.offers) and data.offers is not None:
        rank = 1 if name == "New offer" else int(name.rsplit("no. ", 1)[-1])
        return [r for _, r in data.offers[data.offers["rank"].astype(int) == rank].iterrows()]
    if kind == "tiers" and _present(data.tiers) and data.tiers is not None:
        return [r for _, r in data.tiers.iterrows()]
    if kind == "entry" and _present(data.unbundling) and data.unbundling is not None:
        ub = data.unbundling
        return [r for _, r in ub[ub["offer"].astype(str) == "entry"].iterrows()]
    return []


def _same(a: object, b: object) -> bool:
    try:
        return math.isclose(float(a), float(b))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == str(b)


def wtp_choice(ctx: _Ctx) -> WtpChoice | None:
    """The change of today's offer that every product of the recommended action makes (the
    same new level), worth the most to customers by the ratio method (``simulate/wtp.csv``);
    None when there is no such change or no WTP table."""
    data = ctx.data
    w, today = data.wtp, _current_product(data)
    products = _action_products(ctx)
    if not _present(w) or w is None or today is None or not products:
        return None
    price = data.study.get("price_attribute")
    ratio = w[w["method"].astype(str) == "ratio"]
    best: WtpChoice | None = None
    for a in data.study.get("attributes", []):
        name = a["name"]
        if name == price or name not in today.index or any(name not in p for p in products):
            continue
        new = products[0][name]
        if _same(new, today[name]) or not all(_same(p[name], new) for p in products):
            continue
        hit = ratio[
            (ratio["attribute"].astype(str) == name)
            & (ratio["from_level"].astype(str) == str(today[name]))
            & (ratio["to_level"].astype(str) == str(new))
        ]
        if hit.empty or not np.isfinite(float(hit["wtp"].iloc[0])):
            continue
        r = hit.iloc[0]
        c = WtpChoice(name, str(r["from_level"]), str(r["to_level"]), float(r["wtp"]),
                      float(r["lower"]), float(r["upper"]))  # fmt: skip
        if best is None or c.wtp > best.wtp:
            best = c
    return best


def wtp_sentence(ctx: _Ctx, c: WtpChoice) -> str:
    """``Customers would pay about EUR 10.79 per month more for ...`` with the band."""
    cur = f"{ctx.currency} " if ctx.currency else ""
    per = _per(ctx.data) or ""
    bl = band_label(ctx.data.simulate_band)
    more = "more" if c.wtp >= 0 else "less"
    return (
        f"Customers would pay about {cur}{abs(c.wtp):,.2f}{per} {more} for "
        f"{_label(ctx.data, c.attribute)}: {c.to_level} instead of {c.from_level} ({bl} "
        f"{cur}{c.lower:,.2f} to {cur}{c.upper:,.2f})."
    )


def wtp_top(s: _Sheet, ctx: _Ctx) -> None:
    """The recommended change's willingness to pay in a sentence and a one-row table."""
    c = wtp_choice(ctx)
    if c is None:
        return
    bl = band_label(ctx.data.simulate_band)
    cur = f"{ctx.currency}{_per(ctx.data)}" if ctx.currency else "money"
    s.heading("What the recommended change is worth to customers")
    s.para(wtp_sentence(ctx, c), bold=True)
    s.note(f"One method, {WHY_RATIO}.")
    s.table(
        pd.DataFrame(
            [{"change": f"{_label(ctx.data, c.attribute)}: {c.from_level} to {c.to_level}",
              "wtp": c.wtp, "lower": c.lower, "upper": c.upper}]
        ),
        formats=dict.fromkeys(("wtp", "lower", "upper"), ctx.money),
        labels={"wtp": f"willingness to pay ({cur})", "lower": f"{bl} from",
                "upper": f"{bl} to"},
    )  # fmt: skip


def wtp_explanation(s: _Sheet, ctx: _Ctx) -> None:
    """Why the three methods differ, with this run's numbers (the widest disagreement)."""
    w = ctx.data.wtp
    if not _present(w) or w is None or "method" not in w.columns:
        return
    keys = ["attribute", "from_level", "to_level"]
    wide = w.pivot_table(index=keys, columns="method", values="wtp", sort=False)
    s.heading("Why the three methods differ")
    cur = f"{ctx.currency} " if ctx.currency else ""
    lines = [
        "Ratio: for each respondent, the utility of the change divided by their price "
        "sensitivity, the median over respondents (on each posterior draw). It is what a "
        "typical customer would pay for the change, whether or not they would choose our offer.",
        "Compensating variation: the change in the whole market's expected utility (the "
        "log-sum over our offer, the competitors and none) in money, averaged over respondents. "
        "A customer who would pick a competitor or nothing anyway gains little from a change "
        "of our offer: their gain is about the ratio times their probability of choosing it. "
        "With a small share, this method is a small fraction of the ratio.",
        "Simulated: the price change that keeps our offer's share what it is today after the "
        "change, solved on each draw within the tested prices. It speaks for the customers at "
        "the margin of choosing us (heterogeneity weighs it towards them), and it is blank "
        "where the price would have to leave the tested range (the column of draws outside the "
        "tested prices): an improvement of an offer already at the highest tested price.",
    ]
    if {"ratio", "compensating_variation"} <= set(wide.columns):
        cvb = w[w["method"].astype(str) == "compensating_variation"].set_index(keys)
        inside = (cvb["wtp"] >= cvb["lower"]) & (cvb["wtp"] <= cvb["upper"])
        both = wide.dropna(subset=["ratio", "compensating_variation"])
        # where the mean is inside its band and has the ratio's sign (see the next point)
        both = both[
            (both["compensating_variation"].abs() > 1e-9)
            & (np.sign(both["ratio"]) == np.sign(both["compensating_variation"]))
            & inside.reindex(both.index).fillna(False).to_numpy(dtype=bool)
        ]
        if len(both):
            fold = (both["ratio"] / both["compensating_variation"]).abs()
            k = fold.idxmax()
            r = both.loc[k]
            lines.append(
                f"In this run the widest gap is {_label(ctx.data, str(k[0]))} from {k[1]} to "
                f"{k[2]}: ratio {cur}{r['ratio']:,.2f}, compensating variation "
                f"{cur}{r['compensating_variation']:,.2f} ({fold.max():,.0f}-fold)."
            )
    cv = w[w["method"].astype(str) == "compensating_variation"].dropna(subset=["wtp"])
    off = cv[(cv["wtp"] < cv["lower"]) | (cv["wtp"] > cv["upper"])]
    if len(off):
        lines.append(
            f"For {len(off)} of {len(cv)} changes the compensating variation's mean lies "
            "outside its band: on a few draws some respondents' price sensitivity is near "
            "zero, their money value explodes and pulls the mean over draws; read its band."
        )
    s.bullets(lines)
