"""The ``Summary`` sheet: page one of the leadership workbook.

Its printed part is the decision (:mod:`~reports.workbook.page_one`: one box with what to offer,
to whom, at what price, the expected customers and profit with their band, the cost, how sure we
are and the next step; then why). Below it, not printed, the detail for analysts: the key
numbers as number cells with their bands (labelled with the probability the run used), the
runners-up, the answer in brief, the offers side by side, the caveats in plain words and where
to find the details. A run written before the one recommendation gets the former answer (what
each search found) and prints whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from reports.live_layout import SIMULATOR
from reports.workbook.basis import (
    basis_sentence,
    calibrated,
    names,
    own_after,
    own_today,
    replaced_product,
    share_word,
    today_own_share,
)
from reports.workbook.context import (
    _and,
    _attribute_columns,
    _bool_series,
    _Ctx,
    _current_product,
    _describe,
    _exclusion_counts,
    _flag_columns,
    _fmt_level,
    _label,
    _measure,
    _per,
    _present,
    _price_col,
    _verdict_words,
    _with_derived_bands,
)
from reports.workbook.decision import decision_table, recommended, summary_decision
from reports.workbook.facts import ReportData, labelled_searches
from reports.workbook.page_one import page_one
from reports.workbook.styles import PCT, _Sheet
from winback.settings import band_label


def _key_number_bands(data: ReportData, *, today: bool, searches: bool) -> str:
    """The key numbers' band label (``with their 80% bands`` for band 0.8): today's offer has
    the market simulation's band (``simulate/``), every other key number the searches'
    (``recommend/``); both are named when they differ."""
    sim, rec = data.simulate_band, data.recommend_band
    if today and searches and sim != rec:
        return (
            f"with their bands: {band_label(rec, '')} for the offers found, "
            f"{band_label(sim, '')} for today's offer"
        )
    return f"with their {band_label(sim if today and not searches else rec)}s"


def _today_on_search_basis(data: ReportData) -> tuple[float, float, float, str, bool] | None:
    """Today's own products' share together on the searches' basis, their names, and whether
    the figure comes from the market simulation (its band then has the simulation's
    probability): the tier search's "current market", else the unbundling's "own products'
    share, current", else ``simulate/shares.csv`` when the searches' shares are stated too."""
    today = own_today(data)
    m = _measure(data.tiers_summary, "our share, current market")
    if m is not None:
        return float(m["value"]), float(m["lower"]), float(m["upper"]), names(today), False
    us = data.unbundling_summary
    if _present(us) and us is not None and "measure" in us.columns:
        hit = us[us["measure"].astype(str).str.startswith("own products' share, current")]
        if len(hit):
            r = hit.iloc[0]
            label = str(r["measure"]).split("(", 1)[-1].rstrip(")")
            return float(r["value"]), float(r["lower"]), float(r["upper"]), label, False
    if calibrated(data):
        return None  # today's market is simulated with stated shares only: not like for like
    t = today_own_share(data)
    if t is None:
        return None
    return t[0], t[1], t[2], names(t[3]), True


def _band_words(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    return f" (band {lo:.1%} to {hi:.1%})"


def _search_answers(ctx: _Ctx) -> list[str]:
    """What each search found (runs written before the one recommendation), every share named
    by its basis and compared with today's own products, the same products named."""
    data = ctx.data
    sw = share_word(data)
    out: list[str] = []
    today = _today_on_search_basis(data)
    against = f", against {today[0]:.1%} today ({today[3]})" if today is not None else ""
    offers = data.offers
    if _present(offers) and offers is not None:
        offers_b, _ = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        price = _price_col(data, offers_b)
        txt = f"What to offer: {_describe(data, best)}"
        if price is not None:
            txt += f", at {ctx.fmt_money(float(best[price]))}{_per(data)}"
        after = names(own_after(data, [replaced_product(data) or "the offer"]))
        txt += (
            f". Own products' {sw} with it ({after}): {best['share']:.1%}"
            + _band_words(float(best["lower"]), float(best["upper"]))
            + against
        )
        money = []
        for what in ("revenue", "profit"):
            if what in best.index and pd.notna(best[what]):
                band = ""
                if f"{what}_lower" in best.index and pd.notna(best[f"{what}_lower"]):
                    band = (
                        f" ({ctx.fmt_money(float(best[f'{what}_lower']))} to "
                        f"{ctx.fmt_money(float(best[f'{what}_upper']))})"
                    )
                money.append(f"{what} {ctx.fmt_money(float(best[what]))}{band}")
        if money:
            txt += "; " + " and ".join(money) + " per lost customer"
        out.append(txt + ".")
    elif data.study.get("labels"):
        out.append(f"What to offer: no offer search: {labelled_searches(data.study)}")
    else:
        out.append("What to offer: no offer search in this run (no recommend/offers.csv).")
    tiers = data.tiers
    if _present(tiers) and tiers is not None:
        price = _price_col(data, tiers)
        ladder = ", ".join(
            f"{r['tier']} {ctx.fmt_money(float(r[price]))}" if price else str(r["tier"])
            for _, r in tiers.iterrows()
        )
        txt = f"Good / better / best: a menu of {len(tiers)} tiers ({ladder})"
        menu = _measure(data.tiers_summary, "our share, tier menu")
        if menu is not None:
            after = names(own_after(data, [str(t) for t in tiers["tier"]]))
            txt += (
                f": own products' {sw} with the menu ({after}) {float(menu['value']):.1%}"
                + _band_words(float(menu["lower"]), float(menu["upper"]))
                + against
            )
        prof = _measure(data.tiers_summary, "our profit, tier menu")
        if prof is not None:
            txt += f"; profit {ctx.fmt_money(float(prof['value']))} per lost customer"
        out.append(txt + ". Tiers sheet: where each tier's takers come from.")
    entry = _entry_answer(ctx)
    if entry:
        out.append(entry)
    return out


def _entry_answer(ctx: _Ctx) -> str | None:
    data = ctx.data
    ub = data.unbundling
    if not _present(ub) or ub is None or "offer" not in ub.columns:
        return None
    entry = ub[ub["offer"].astype(str) == "entry"]
    if entry.empty:
        return None
    e = entry.iloc[0]
    bundle = _current_product(data)
    price = _price_col(data, ub)
    stripped = []
    if bundle is not None:
        stripped = [
            _label(data, a)
            for a in _attribute_columns(data, ub)
            if a != price and a in bundle.index and str(bundle[a]) != str(e[a])
        ]
    txt = "Unbundled entry offer: "
    txt += f"the bundle without {_and(stripped)}" if stripped else "an entry offer"
    if price is not None:
        txt += f" at {ctx.fmt_money(float(e[price]))}"
    ad = data.addons
    if _present(ad) and ad is not None and {"component", "price"} <= set(ad.columns):
        txt += ", with add-ons " + ", ".join(
            f"{_label(data, str(r['component']))} +{ctx.fmt_money(float(r['price']))}"
            for _, r in ad.iterrows()
        )
    us = data.unbundling_summary
    net = _measure_prefix(us, "net gain:")
    old = _measure(us, "lost customers brought back by the menu beyond the bundle")
    if net is not None:
        txt += (
            f": brings back {float(net['value']):.1%} of lost customers net of what the menu "
            "takes from our own products" + _band_words(float(net["lower"]), float(net["upper"]))
        )
    elif old is not None:
        txt += (
            f": the menu's {share_word(data)} minus the bundle's, {float(old['value']):.1%}"
            + _band_words(float(old["lower"]), float(old["upper"]))
            + " (not net of what it takes from our other own products)"
        )
    change = _measure(us, "our profit, change")
    if change is not None:
        txt += f"; profit changes by {ctx.fmt_money(float(change['value']))} per lost customer"
    return txt + "."


def _measure_prefix(df: pd.DataFrame | None, prefix: str) -> pd.Series | None:
    if df is None or "measure" not in df.columns:
        return None
    hit = df[df["measure"].astype(str).str.startswith(prefix)]
    return hit.iloc[0] if len(hit) else None


def _key_numbers(s: _Sheet, ctx: _Ctx) -> None:
    """The searches' key numbers with their bands (runs written before the one
    recommendation), every share named by its basis and its own products."""
    data = ctx.data
    sw = share_word(data)
    rows: list[tuple[str, float, float, float, str]] = []
    offers = data.offers
    derived = False
    if _present(offers) and offers is not None:
        offers_b, derived = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        after = names(own_after(data, [replaced_product(data) or "the offer"]))
        rows.append((f"Recommended offer: own products' {sw} ({after})", best["share"],
                     best["lower"], best["upper"], PCT))  # fmt: skip
        for what in ("revenue", "profit"):
            if what in best.index:
                lo = best.get(f"{what}_lower", np.nan)
                hi = best.get(f"{what}_upper", np.nan)
                rows.append((f"Recommended offer: {what} per lost customer", best[what], lo, hi,
                             ctx.money))  # fmt: skip
    today = _today_on_search_basis(data)
    if today is not None:
        rows.append((f"Today: own products' {sw} ({today[3]})", *today[:3], PCT))
    tiers_after = (
        names(own_after(data, [str(t) for t in data.tiers["tier"]]))
        if _present(data.tiers) and data.tiers is not None and "tier" in data.tiers.columns
        else "the tiers"
    )
    for measure, label, fmt in (
        ("our share, tier menu", f"Tier menu: own products' {sw} ({tiers_after})", PCT),
        ("our revenue, tier menu", "Tier menu: revenue per lost customer", ctx.money),
        ("our profit, tier menu", "Tier menu: profit per lost customer", ctx.money),
    ):
        m = _measure(data.tiers_summary, measure)
        if m is not None:
            rows.append((label, m["value"], m["lower"], m["upper"], fmt))
    us = data.unbundling_summary
    entry: tuple[tuple[pd.Series | None, str | None, str], ...] = (
        (_measure_prefix(us, "own products' share, with the menu"), None, PCT),
        (_measure(us, "share, entry menu") if _measure_prefix(us, "own products'") is None
         else None, f"Entry menu: the menu's {sw}", PCT),
        (_measure_prefix(us, "net gain:"),
         "Entry menu: net gain, share of lost customers (net of what it takes from our own "
         "products)", PCT),
        (_measure(us, "lost customers brought back by the menu beyond the bundle"),
         f"Entry menu: the menu's {sw} minus the bundle's (not net of our other products)", PCT),
        (_measure(us, "our profit, change"), "Entry menu: profit change per lost customer",
         ctx.money),
    )  # fmt: skip
    for m, given, fmt in entry:
        if m is not None:
            # None: "own products' share, with the menu (names)", its names kept
            what = (
                given or f"Entry menu: own products' {sw} (" + str(m["measure"]).split("(", 1)[-1]
            )
            rows.append((what, m["value"], m["lower"], m["upper"], fmt))
    if not rows:
        return
    from_sim = today is not None and today[4]
    bands = _key_number_bands(data, today=from_sim, searches=len(rows) > int(from_sim))
    s.heading(f"Key numbers ({bands})")
    frame = pd.DataFrame(rows, columns=["measure", "estimate", "band_from", "band_to", "_f"])
    fmts = frame.pop("_f")
    s.table(
        frame,
        labels={"band_from": "band from", "band_to": "band to"},
        row_format=(("estimate", "band_from", "band_to"), lambda r: str(fmts[r.name])),
    )
    if derived:
        s.note(
            "Revenue and profit bands of a single offer follow from its share band (its "
            "price is fixed). Shares, revenue and profit are per lost customer surveyed; "
            "money is per period of the price (e.g. per month)."
        )


def _side_by_side(ctx: _Ctx) -> dict[str, pd.Series]:
    """The offers to show side by side: today's own products, the best offer of the search
    (and the recommended one, when another), each tier and the entry offer; the recommended
    action's columns say so."""
    data = ctx.data
    d = decision_table(data)
    rec = recommended(d) if d is not None else None
    mark = " (recommended)"
    cols: dict[str, pd.Series] = {}
    mp = data.market_products
    if _present(mp) and mp is not None:
        for _, r in mp[_bool_series(mp["own"])].iterrows():
            cols[f"Today: {r['product']}"] = r
    else:
        cur = _current_product(data)
        if cur is not None:
            cols["Today's offer"] = cur
    offers = data.offers
    if _present(offers) and offers is not None:
        if rec is None:
            cols["Recommended offer"] = offers.iloc[0]
        else:
            cols["New offer" + (mark if rec["action"] == "New offer" else "")] = offers.iloc[0]
            if str(rec["action"]).startswith("Offer no. ") and "rank" in offers.columns:
                k = str(rec["action"]).removeprefix("Offer no. ")
                hit = offers[offers["rank"].astype(str) == k]
                if len(hit):
                    cols[f"{rec['action']}{mark}"] = hit.iloc[0]
    tiers = data.tiers
    if _present(tiers) and tiers is not None:
        tag = mark if rec is not None and rec.get("kind") == "tiers" else ""
        for _, r in tiers.iterrows():
            cols[f"Tier: {r['tier']}{tag}"] = r
    ub = data.unbundling
    if rec is not None and _present(ub) and ub is not None and "offer" in ub.columns:
        entry = ub[ub["offer"].astype(str) == "entry"]
        if len(entry):
            tag = mark if rec.get("kind") == "entry" else ""
            cols[f"Entry offer{tag}"] = entry.iloc[0]
    return cols


def _sheet_summary(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    # page one: a label column and six text columns, one A4 landscape page wide at full size
    for c, w in zip("ABCDEFG", (20, 16, 16, 16, 16, 16, 16), strict=True):
        ws.column_dimensions[c].width = w
    s = _Sheet(ws, span=7, max_width=16)
    name = data.study.get("name") or Path(data.run_dir).name or "Win-back study"
    has_decision = decision_table(data) is not None
    s.title(
        f"{name}: the decision" if has_decision else f"{name}: what would win lost customers back",
        str(data.study.get("description") or "") or None,
    )
    ws.freeze_panes = "A2"
    if page_one(s, ctx):
        s.blank()
        s.heading("Behind page one (for the analysts; not printed)")
        s.note(
            "The recommendation with every figure as a number, the runners-up, the offers side "
            "by side and the caveats. The hidden analyst pages hold the rest."
        )

    # -- the one recommendation (runs written before it: the searches' answers below) ---------
    decided = summary_decision(s, ctx)
    # -- the answer in brief -------------------------------------------------------------------
    s.heading("The answer in brief")
    brief: list[str] = []
    n_answered = len(data.respondents) if data.respondents is not None else None
    n_analysed = int(data.partworths["respondent_id"].nunique())
    ex = _exclusion_counts(data)
    n_excluded = int(ex["respondents"].sum()) if ex is not None else 0
    if n_answered is not None:
        brief.append(
            f"Who answered: {n_answered:,} lost customers took the survey; {n_analysed:,} are "
            f"in the analysis"
            + (f" ({n_excluded:,} left out, see the caveats below)." if n_excluded else ".")
        )
    else:
        brief.append(f"Who answered: {n_analysed:,} lost customers are in the analysis.")
    rs = data.reasons
    if _present(rs) and rs is not None and {"label", "share"} <= set(rs.columns):
        top = rs.sort_values("share", ascending=False, kind="stable").head(3)
        parts = [f"{r['label']} ({r['share']:.0%})" for _, r in top.iterrows()]
        brief.append(
            "Why they left: the most common reasons were "
            + ", ".join(parts[:-1])
            + (f" and {parts[-1]}" if len(parts) > 1 else parts[-1])
            + " (share of respondents naming each; several answers allowed)."
        )
    else:
        brief.append("Why they left: not in this run (no import/reasons.csv).")
    if decided:
        brief.append(
            "What to do: the recommendation above, chosen among every candidate on one scale "
            "(Decision sheet); the Offers and Tiers sheets hold each search's detail."
        )
    else:
        brief.extend(_search_answers(ctx))
    fd = data.fit_diagnostics
    if fd and fd.get("verdict"):
        brief.append("How sure are we: " + _verdict_words(str(fd["verdict"])))
    s.bullets(brief)
    s.blank()
    if not decided:
        _key_numbers(s, ctx)

    # -- offers side by side --------------------------------------------------------------------
    cols = _side_by_side(ctx)
    if len(cols) > 1 and data.study.get("attributes"):
        s.heading("The offers side by side")
        attrs = [a["name"] for a in data.study["attributes"]]
        price = data.study.get("price_attribute")
        table = pd.DataFrame(
            {
                "attribute": [_label(data, a) for a in attrs],
                **{
                    k: [
                        (float(v[a]) if a == price else _fmt_level(v[a])) if a in v.index else None
                        for a in attrs
                    ]
                    for k, v in cols.items()
                },
            }
        )
        h, first, last = s.table(table)
        if price in attrs:
            r = first + attrs.index(price)
            for j in range(2, 2 + len(cols)):
                ws.cell(r, j).number_format = ctx.money
                # left, like the level labels above it, so each price sits under its offer
                ws.cell(r, j).alignment = Alignment(horizontal="left")

    # -- caveats --------------------------------------------------------------------------------
    s.heading("Caveats, in plain words")
    cav: list[str] = []
    if ex is not None and len(ex):
        cav.append(
            f"{n_excluded:,} respondents were left out of the analysis: "
            + "; ".join(f"{r['reason']} ({r['respondents']:,})" for _, r in ex.iterrows())
            + "."
        )
    elif ex is not None:
        cav.append("No respondent was left out of the analysis.")
    q = data.quality
    if _present(q) and q is not None:
        flags = _flag_columns(q)
        counts = {f: int(_bool_series(q[f]).sum()) for f in flags}
        hit = {f: n for f, n in counts.items() if n}
        if hit:
            cav.append(
                "Data-quality flags (flagged, not necessarily left out): "
                + ", ".join(f"{f.replace('_', ' ')} {n:,}" for f, n in hit.items())
                + f" of {len(q):,} respondents. Design & quality sheet: details."
            )
        else:
            cav.append(f"No data-quality flag was raised on the {len(q):,} respondents.")
    if fd and fd.get("verdict"):
        cav.append(
            "Convergence of the estimation: "
            + _verdict_words(str(fd["verdict"]))
            + (
                f" ({len(fd.get('reasons') or [])} checks did not pass.)"
                if fd.get("reasons")
                else ""
            )
        )
    else:
        cav.append("Convergence of the estimation: not recorded (no fit/diagnostics.json).")
    dd = data.design_diagnostics
    if dd and dd.get("verdict"):
        reasons = "; ".join(str(x) for x in dd.get("reasons") or [])
        cav.append(
            f"Survey design verdict: {dd['verdict']}" + (f" ({reasons})" if reasons else "") + "."
        )
    cav.append(basis_sentence(data))
    if calibrated(data):
        cav.append(
            "Today's market on the Source of volume and Price curves sheets shows stated "
            "preference shares (the Decision and Source of volume sheets put stated and "
            "calibrated shares side by side)"
            + (
                f"; the live {SIMULATOR} shows calibrated shares, as the decision."
                if ctx.has_page(SIMULATOR)
                else "."
            )
        )
    cav.extend(data.notes)
    cav.extend(ctx.notes)
    s.bullets(cav)
    s.blank()
    s.heading("Where to find the details")
    s.pairs(_where_to_find(ctx))
    s.finish()


#: the guide at the foot of the summary: a heading (no pages), or the pages and what they hold
_GUIDE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Leadership pages", (), "printed: this page, then"),
    ("", ("Reasons",), "why they left, with the customers' own words"),
    ("", ("Importances",), "what matters most to them"),
    ("", ("Segments",), "groups of customers who choose alike, and what each wants"),
    ("", ("Offers", "Tiers", "Unbundling"), "the best offers, by reason for leaving too; tiers; the entry offer"),
    ("", ("Source of volume",), "where an offer's customers come from"),
    ("", ("Price curves",), "demand at each price"),
    ("", (SIMULATOR,), "try your own offers: pick levels, the shares recalculate"),
    ("", ("Campaign",), "whom to contact with which offer, whom not, and the control group"),
    ("", ("Wave comparison",), "what changed since the earlier wave, with bands"),
    ("Analyst pages", (), "hidden tabs (right-click a tab, Unhide), not printed:"),
    ("", ("Decision",), "every candidate on one scale, with bands; where customers come from"),
    ("", ("WTP", "Part-worths"), "willingness to pay, three ways; what each level is worth"),
    ("", ("Design & quality", "Diagnostics"), "how good the survey design and data are; convergence, with what to do"),
    ("", ("Methods",), "what was done, with formulas, references and a glossary"),
)  # fmt: skip


def _where_to_find(ctx: _Ctx) -> list[tuple[str, str, None]]:
    """The summary's guide to the other pages, naming only the pages the workbook has (the live
    ``Simulator`` is there only when the run has ``fit/fit.nc`` and ``market.toml``)."""
    rows: list[tuple[str, str, None]] = []
    for heading, pages, what in _GUIDE:
        here = [p for p in pages if ctx.has_page(p)]
        if heading or here:
            rows.append((heading or " / ".join(here), what, None))
    return rows
