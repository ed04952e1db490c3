"""The ``Summary`` sheet: page 1 of the leadership workbook.

The answer in brief (who answered, why they left, what to offer, the tiers, the unbundled entry
offer, how sure we are), the key numbers with their bands (labelled with the probability the run
used), the offers side by side, the caveats in plain words and where to find the details.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from reports.workbook.context import (
    _and,
    _attribute_columns,
    _bool_series,
    _Ctx,
    _current_product,
    _current_share,
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
from reports.workbook.facts import ReportData
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


def _sheet_summary(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    for c, w in zip("ABCDEF", (46, 20, 20, 20, 20, 20), strict=True):
        ws.column_dimensions[c].width = w
    s = _Sheet(ws, span=6)
    name = data.study.get("name") or Path(data.run_dir).name or "Win-back study"
    s.title(
        f"{name}: why lost customers left and what would win them back",
        "Page 1 of the leadership workbook: the answer, the key numbers and the caveats. "
        "The other sheets hold the detail.",
    )
    ws.freeze_panes = "A2"
    if data.study.get("description"):
        s.note(str(data.study["description"]))

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
    cur_share = _current_share(data)
    offers = data.offers
    if _present(offers) and offers is not None:
        offers_b, derived = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        price = _price_col(data, offers_b)
        txt = f"What to offer: {_describe(data, best)}"
        if price is not None:
            txt += f", at {ctx.fmt_money(float(best[price]))}{_per(data)}"
        txt += (
            f". Expected to win back {best['share']:.1%} of lost customers (band "
            f"{best['lower']:.1%} to {best['upper']:.1%})"
        )
        if cur_share is not None:
            txt += f", against {float(cur_share['share']):.1%} for today's offer"
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
        brief.append(txt + ".")
    else:
        brief.append("What to offer: no offer search in this run (no recommend/offers.csv).")
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
            txt += (
                f" would win back {float(menu['value']):.1%} of lost customers together (band "
                f"{float(menu['lower']):.1%} to {float(menu['upper']):.1%})"
            )
        prof = _measure(data.tiers_summary, "our profit, tier menu")
        if prof is not None:
            txt += f", profit {ctx.fmt_money(float(prof['value']))} per lost customer"
        brief.append(txt + ". Tiers sheet: where each tier's takers come from.")
    ub = data.unbundling
    if _present(ub) and ub is not None and "offer" in ub.columns:
        entry = ub[ub["offer"].astype(str) == "entry"]
        bundle = _current_product(data)
        if len(entry):
            e = entry.iloc[0]
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
            back = _measure(
                data.unbundling_summary, "lost customers brought back by the menu beyond the bundle"
            )
            if back is not None:
                txt += (
                    f": brings back {float(back['value']):.1%} more lost customers than the "
                    f"bundle alone (band {float(back['lower']):.1%} to {float(back['upper']):.1%})"
                )
            change = _measure(data.unbundling_summary, "our profit, change")
            if change is not None:
                txt += (
                    f"; profit changes by {ctx.fmt_money(float(change['value']))} per lost customer"
                )
            brief.append(txt + ".")
    fd = data.fit_diagnostics
    if fd and fd.get("verdict"):
        brief.append("How sure are we: " + _verdict_words(str(fd["verdict"])))
    s.bullets(brief)
    s.blank()

    # -- key numbers ---------------------------------------------------------------------------
    rows: list[tuple[str, float, float, float, str]] = []
    if _present(offers) and offers is not None:
        offers_b, derived = _with_derived_bands(data, offers)
        best = offers_b.iloc[0]
        rows.append(("Recommended offer: share of lost customers won back", best["share"],
                     best["lower"], best["upper"], PCT))  # fmt: skip
        for what in ("revenue", "profit"):
            if what in best.index:
                lo = best.get(f"{what}_lower", np.nan)
                hi = best.get(f"{what}_upper", np.nan)
                rows.append((f"Recommended offer: {what} per lost customer", best[what], lo, hi,
                             ctx.money))  # fmt: skip
    if cur_share is not None:
        rows.append(("Today's offer: share of lost customers won back", cur_share["share"],
                     cur_share["lower"], cur_share["upper"], PCT))  # fmt: skip
    for measure, label, fmt in (
        ("our share, tier menu", "Tier menu: share of lost customers won back", PCT),
        ("our revenue, tier menu", "Tier menu: revenue per lost customer", ctx.money),
        ("our profit, tier menu", "Tier menu: profit per lost customer", ctx.money),
    ):
        m = _measure(data.tiers_summary, measure)
        if m is not None:
            rows.append((label, m["value"], m["lower"], m["upper"], fmt))
    for measure, label, fmt in (
        ("share, entry menu", "Entry menu: share of lost customers won back", PCT),
        (
            "lost customers brought back by the menu beyond the bundle",
            "Entry menu: extra lost customers won back vs the bundle",
            PCT,
        ),
        ("our profit, change", "Entry menu: profit change per lost customer", ctx.money),
    ):
        m = _measure(data.unbundling_summary, measure)
        if m is not None:
            rows.append((label, m["value"], m["lower"], m["upper"], fmt))
    if rows:
        today = cur_share is not None
        bands = _key_number_bands(data, today=today, searches=len(rows) > int(today))
        s.heading(f"Key numbers ({bands})")
        frame = pd.DataFrame(rows, columns=["measure", "estimate", "band_from", "band_to", "_f"])
        fmts = frame.pop("_f")
        s.table(
            frame,
            labels={"band_from": "band from", "band_to": "band to"},
            row_format=(("estimate", "band_from", "band_to"), lambda r: str(fmts[r.name])),
        )
        if _present(offers) and offers is not None and _with_derived_bands(data, offers)[1]:
            s.note(
                "Revenue and profit bands of a single offer follow from its share band (its "
                "price is fixed). Shares, revenue and profit are per lost customer surveyed; "
                "money is per period of the price (e.g. per month)."
            )

    # -- offers side by side --------------------------------------------------------------------
    cols: dict[str, pd.Series] = {}
    cur = _current_product(data)
    if cur is not None:
        cols["Today's offer"] = cur
    if _present(offers) and offers is not None:
        cols["Recommended offer"] = offers.iloc[0]
    if _present(tiers) and tiers is not None:
        for _, r in tiers.iterrows():
            cols[f"Tier: {r['tier']}"] = r
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
    cav.append(
        "Shares are shares of preference among the lost customers surveyed, from their "
        "choices between offers in the survey; they are not a forecast of market take-up, "
        "which also depends on awareness, timing and how the offer reaches customers."
    )
    cav.extend(data.notes)
    cav.extend(ctx.notes)
    s.bullets(cav)
    s.blank()
    s.heading("Where to find the details")
    s.pairs(
        [
            ("Reasons", "why they left, with the customers' own words", None),
            ("Part-worths / Importances", "what each feature and price level is worth to them", None),
            ("WTP", "willingness to pay for each change of our offer", None),
            ("Offers / Tiers", "the best offers, by reason for leaving too; tiers; unbundling", None),
            ("Source of volume / Price curves", "where customers come from; demand at each price", None),
            ("Design & quality / Diagnostics", "how good the survey design and data are; convergence", None),
            ("Methods", "what was done, with formulas and references", None),
            ("Simulator", "try your own offers: pick levels, the shares recalculate", None),
        ]
    )  # fmt: skip
    s.finish()
