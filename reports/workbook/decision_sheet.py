"""The ``Decision`` sheet: every candidate action on one scale.

Every row of ``recommend/decision.csv`` (best first) with its bands and units, today's own
products (the baseline of every comparison) said once, the source of volume of the
recommendation (with a chart) and of every candidate (``decision_sources.csv``), today's offer
in customers and money (``simulate/money.csv``), and the calibration: the observation in words,
what was fitted and today's stated and calibrated shares side by side. A run written before the
one recommendation gets a note instead.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from reports.workbook.basis import basis_sentence, calibrated, calibration_words, share_word
from reports.workbook.context import _Ctx, _present
from reports.workbook.decision import Scale, decision_table, recommended, scale
from reports.workbook.facts import labelled_searches
from reports.workbook.styles import INT, NUM2, PCT, _bar_chart, _missing, _Sheet
from winback.settings import band_label

#: the kinds of action in words, as the Decision sheet lists them
KIND_WORDS = {
    "offer": "a new offer",
    "tiers": "good / better / best tiers",
    "entry": "entry offer + add-ons",
    "keep": "today's offer",
    "no campaign": "no campaign",
}


_BASE_LABELS = {
    "rank": "rank",
    "action": "action",
    "kind": "kind",
    "recommended": "recommended",
    "description": "what it is",
    "own_before": "own products before",
    "own_after": "own products after",
    "search": "how it was found",
    "proven": "best of its search proven",
    "prob_recommended_better": "P(recommendation better)",
}


def _decision_columns(ctx: _Ctx, sc: Scale) -> tuple[list[str], dict[str, str], dict[str, str]]:
    d = ctx.data.decision
    assert d is not None
    sw = share_word(ctx.data)
    cal = calibrated(ctx.data)
    labels = dict(_BASE_LABELS)
    fmts: dict[str, str] = {"share_before": PCT, "share_after": PCT, "prob_recommended_better": PCT}
    labels["share_before"] = f"{sw} before"
    labels["share_after"] = f"{sw} after"
    cols = ["rank", "action", "recommended", "kind", "description", "own_before", "share_before",
            "own_after", "share_after"]  # fmt: skip
    triples: list[tuple[str, str, str]] = []
    if sc.money:
        who = "customers won back" if cal else "customers choosing our offers"
        triples += [("customers", f"{who} (N x {sw})", INT),
                    ("revenue_year", f"revenue ({sc.unit})", sc.fmt),
                    ("profit_year", f"profit ({sc.unit})", sc.fmt)]  # fmt: skip
    else:
        triples.append(("value", sc.unit, sc.fmt))
    triples += [
        ("net_gain", f"net gain vs today's offer ({sc.unit})", sc.fmt),
        ("net_volume", "net volume (" + ("customers" if sc.money else "share of lost customers")
         + ")", INT if sc.money else PCT),
        ("gap", f"gap to the recommendation ({sc.unit})", sc.fmt),
    ]  # fmt: skip
    for key, label, fmt in triples:
        if key not in d.columns:
            continue
        short = label.split(" (")[0]
        for c, lab in ((key, label), (f"{key}_lower", f"{short} from"),
                       (f"{key}_upper", f"{short} to")):  # fmt: skip
            if c in d.columns:
                cols.append(c)
                labels[c] = lab
                fmts[c] = fmt
    cols += ["prob_recommended_better", "search", "proven"]
    return [c for c in cols if c in d.columns], labels, fmts


def _yes(v: object) -> str:
    return "yes" if str(v).strip().lower() in ("true", "1", "yes") else ""


def _sheet_decision(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    d = decision_table(data)
    sc = scale(ctx)
    scale_words = (
        f"expected profit per year ({sc.unit}) under the study's [business] settings"
        if sc.money
        else f"the search's objective, {sc.unit}"
    )
    s.title(
        "The decision: every candidate on one scale",
        "Every candidate action (the new offer and the other offers listed, the good / better "
        "/ best tiers, the entry offer with add-ons, today's offer, no campaign) scored on one "
        f"scale: {scale_words}; best first, each with its {band_label(data.recommend_band)}, "
        "the net gain against today's offer, the net volume (from none and competitors, net of "
        "what it takes from our own products), the gap to the recommendation and the "
        "probability that the recommendation is better (over the same posterior draws).",
    )
    if d is None and data.study.get("labels"):
        s.note(f"Not available: {labelled_searches(data.study)}")
        s.finish()
        return
    if d is None:
        _missing(s, "single recommendation", "recommend/decision.csv: rerun winback recommend")
        s.finish()
        return
    s.note(basis_sentence(data))
    cols, labels, fmts = _decision_columns(ctx, sc)
    if {"own_before", "share_before"} <= set(d.columns) and d["own_before"].nunique() == 1:
        # one baseline for every candidate: said once, not repeated on every row
        s.para(
            f"Today (the baseline of every comparison): our own products {d['own_before'].iloc[0]}, "
            f"{share_word(data)} {float(d['share_before'].iloc[0]):.1%}; each candidate is "
            "compared with all of them (like for like), its own products after named.",
            bold=True,
        )
        cols = [c for c in cols if c not in ("own_before", "share_before")]
    t = d[cols].copy()
    for c in ("recommended", "proven"):
        if c in t.columns:
            t[c] = t[c].map(_yes)
    if "kind" in t.columns:
        t["kind"] = t["kind"].map(lambda k: KIND_WORDS.get(str(k), str(k)))
    s.table(t, formats=fmts, labels=labels, freeze=True)
    _sources_tables(s, ctx, d, sc)
    _money_table(s, ctx)
    _calibration_tables(s, ctx)
    s.finish()


def _sources_tables(s: _Sheet, ctx: _Ctx, d: pd.DataFrame, sc: Scale) -> None:
    src = ctx.data.decision_sources
    if not _present(src) or src is None or not {"action", "kind", "value"} <= set(src.columns):
        return
    b = recommended(d)
    unit = "customers" if sc.money else "share of lost customers"
    fmt = INT if sc.money else PCT
    mine = src[src["action"].astype(str) == str(b["action"])]
    if len(mine):
        s.heading(f"Where the recommendation's customers come from ({unit})")
        s.note(
            "Against today's market, on every posterior draw: takers of the action's offers, "
            "from none (lost customers who would otherwise stay away), from competitors, from "
            "our own products (cannibalised or replaced); net = from none + from competitors."
        )
        t = mine[["source", "value", "lower", "upper"]]
        h, first, last = s.table(
            t,
            formats={"value": fmt, "lower": fmt, "upper": fmt},
            labels={"value": unit, "lower": "band from", "upper": "band to"},
        )
        _bar_chart(
            s.ws,
            data_col=2,
            cat_col=1,
            header=h,
            last=last,
            title=f"Where the recommendation's customers come from ({unit})",
            anchor=f"F{h}",
            horizontal=True,
            number_format="#,##0" if sc.money else "0%",
        )
        s.row = max(s.row, h + 19)
    wide = src.pivot_table(index="action", columns="kind", values="value", sort=False)
    order = [a for a in d["action"].astype(str) if a in wide.index]
    kinds = [k for k in ("gross", "none", "competitor", "own", "net") if k in wide.columns]
    if order and kinds:
        s.heading(f"Source of volume of every candidate ({unit}, means)")
        t = wide.loc[order, kinds].reset_index()
        s.table(
            t,
            formats=dict.fromkeys(kinds, fmt),
            labels={"gross": "take its offers", "none": "from none",
                    "competitor": "from competitors", "own": "from our own products",
                    "net": "net (none + competitors)"},
        )  # fmt: skip


def _money_table(s: _Sheet, ctx: _Ctx) -> None:
    m = ctx.data.money
    if not _present(m) or m is None or "customers" not in m.columns:
        return
    basis = str(m["basis"].iloc[0]) if "basis" in m.columns else "stated"
    sw = "calibrated share" if basis == "calibrated" else "stated preference share"
    unit = f"{ctx.currency or 'money'}/year"
    s.heading(f"Today's offer in customers and money (from {sw}s)")
    s.note(
        "A campaign offering today's own products unchanged (simulate/money.csv): customers = "
        f"lost customers in scope x {sw}; revenue and profit per year; the total's profit "
        "carries the contact costs."
    )
    fmts = {"customers": INT, "customers_lower": INT, "customers_upper": INT}
    labels = {"customers": f"customers (N x {sw})", "customers_lower": "customers from",
              "customers_upper": "customers to"}  # fmt: skip
    for k in ("revenue_year", "profit_year", "profit_horizon"):
        word = k.split("_")[0]
        for suffix, lab in (("", f"{word} ({unit})"), ("_lower", f"{word} from"),
                            ("_upper", f"{word} to")):  # fmt: skip
            fmts[k + suffix] = ctx.money0
            labels[k + suffix] = lab
    labels["profit_horizon"] = f"profit over the horizon ({ctx.currency or 'money'})"
    cols = [c for c in m.columns if c != "basis"]
    s.table(m[cols], formats=fmts, labels=labels)


def calibration_format(r: pd.Series) -> str:
    m = str(r.get("measure", ""))
    if m.startswith("observed") or m == "availability":
        return PCT
    if m in ("n", "draws beyond reach"):
        return INT
    return NUM2


def calibrated_shares_table(s: _Sheet, ctx: _Ctx) -> None:
    """Today's market: stated and calibrated shares side by side (``calibrated_shares.csv``)."""
    cs = ctx.data.calibrated_shares
    if not _present(cs) or cs is None or "stated" not in cs.columns:
        return
    bl = band_label(ctx.data.simulate_band)
    s.heading("Today's market: stated preference and calibrated shares side by side")
    s.table(
        cs,
        formats={"stated": PCT, "share": PCT, "lower": PCT, "upper": PCT},
        labels={"stated": "stated preference share", "share": "calibrated share",
                "lower": f"calibrated share from ({bl})", "upper": "calibrated share to"},
    )  # fmt: skip


def _calibration_tables(s: _Sheet, ctx: _Ctx) -> None:
    data = ctx.data
    cal = data.calibration if _present(data.calibration) else data.simulate_calibration
    words = calibration_words(data)
    if words is None and not _present(cal):
        return
    s.heading("Calibration: what the shares are anchored to")
    if words:
        s.para(words[0].upper() + words[1:] + ".")
    if _present(cal) and cal is not None:
        s.table(
            cal,
            labels={"lower": "band from", "upper": "band to"},
            row_format=(("value", "lower", "upper"), calibration_format),
        )
    calibrated_shares_table(s, ctx)
