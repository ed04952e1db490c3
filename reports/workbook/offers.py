"""What to offer and what it would do: the ``Offers``, ``Tiers``, ``Source of volume`` and
``Price curves`` sheets.

The searches of ``recommend/`` (the ranked offers, the best offer per segment, unbundling with
its add-ons; the good/better/best tiers with upgrade paths and cannibalisation) and the market
simulation of ``simulate/`` (where an offer's customers come from, today's shares, demand and
revenue against price, elasticities), each table with its bands and native charts. Band labels
carry the probability each folder was written with.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
from openpyxl.chart import LineChart, Reference
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.workbook.basis import (
    STATED,
    calibrated,
    calibration_words,
    names,
    own_after,
    own_today,
    replaced_product,
    share_word,
)
from reports.workbook.compact import offers_top, tiers_top, unbundling_top
from reports.workbook.context import _Ctx, _present, _price_col, _with_derived_bands
from reports.workbook.decision_sheet import calibrated_shares_table
from reports.workbook.facts import labelled_searches
from reports.workbook.images import add_figure, column_at, price_curves_figure
from reports.workbook.price_curve import price_page, recommended_price_curve
from reports.workbook.recommendation import sources_top
from reports.workbook.styles import (
    INT,
    NUM2,
    PCT,
    _bar_chart,
    _chart_style,
    _chart_text,
    _missing,
    _Sheet,
)
from surveys.reasons import REASON_LABELS
from winback.settings import band_label


def _offer_formats(ctx: _Ctx, df: pd.DataFrame) -> dict[str, str]:
    price = _price_col(ctx.data, df)
    f = {
        c: PCT
        for c in ("share", "lower", "upper", "current_share", "gain_lower", "gain_upper",
                  "prob_beats_current", "prob_best", "take_rate", "joint_share")
    }  # fmt: skip
    f |= {
        c: ctx.money
        for c in ("revenue", "profit", "revenue_lower", "revenue_upper", "profit_lower",
                  "profit_upper", "margin", "margin_lower", "margin_upper", "joint_revenue",
                  "joint_profit")
    }  # fmt: skip
    if price:
        f[price] = ctx.money
    f["n_respondents"] = INT
    return f


_OFFER_LABELS = {
    "lower": "share from",
    "upper": "share to",
    "prob_beats_current": "P(beats today's offer)",
    "prob_best": "P(best of the list)",
    "revenue_lower": "revenue from",
    "revenue_upper": "revenue to",
    "profit_lower": "profit from",
    "profit_upper": "profit to",
    "worth_winning": "worth winning back",
}


def _offer_labels(ctx: _Ctx, share: str | None = None) -> dict[str, str]:
    """Column headers of offer tables: attribute labels from the study, words for the rest;
    ``share`` names what the share column is (by default the searches' basis:
    ``calibrated share`` or ``stated preference share``)."""
    attrs = {a["name"]: str(a["label"]) for a in ctx.data.study.get("attributes", [])}
    sw = share or share_word(ctx.data)
    shares = {
        "share": sw,
        "lower": f"{sw} from",
        "upper": f"{sw} to",
        "current_share": f"{sw}, today",
    }
    return {**_OFFER_LABELS, **shares, **attrs}


def _measure_format(ctx: _Ctx) -> Callable[[pd.Series], str | None]:
    def f(r: pd.Series) -> str | None:
        m = str(r.get("measure", ""))
        return ctx.money if ("revenue" in m or "profit" in m) else PCT

    return f


def _summary_rows(ctx: _Ctx, table: pd.DataFrame, after: list[str]) -> pd.DataFrame:
    """A tier or unbundling summary with its measures in words: every share named by its basis
    and every figure by the own products it covers (today's and those after the change)."""
    sw = share_word(ctx.data)
    today = names(own_today(ctx.data))
    menu = names(after)
    fixed = {
        "share, bundle alone (current)": f"{sw} of the bundle alone, today",
        "share, entry menu": f"{sw} of the entry menu's offers together",
        "lost customers brought back by the menu beyond the bundle": (
            f"the menu's {sw} minus the bundle's (not net of what it takes from our other "
            "own products)"
        ),
    }

    def words(m: str) -> str:
        if m in fixed:
            return fixed[m]
        hit = re.fullmatch(r"our (share|revenue|profit), (.+)", m)
        if hit is None:
            return m.replace("own products' share", f"own products' {sw}")
        what, when = hit.groups()
        what = f"own products' {sw}" if what == "share" else f"our {what} per lost customer"
        if when in ("tier menu", "with the menu"):
            return f"{what}, with the {'tier' if when == 'tier menu' else 'entry'} menu ({menu})"
        if when in ("current market", "current"):
            return f"{what}, today ({today})"
        if when == "change":
            return f"{what}, change ({menu} against {today})"
        return m

    out = table.copy()
    out["measure"] = [words(m) for m in out["measure"].astype(str)]
    return out


def _missing_search(s: _Sheet, ctx: _Ctx, what: str, folder: str) -> None:
    """No search in the run: a labelled study says why (the searches do not support it)."""
    if ctx.data.study.get("labels"):
        s.note(f"Not available: {labelled_searches(ctx.data.study)}")
    else:
        _missing(s, what, folder)


def _sheet_offers(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    sw = share_word(data)
    today = own_today(data)
    s.title(
        "Win-back offers",
        "The best offers found by searching every combination of levels and prices (replacing "
        "today's own offer), ranked by the objective, each with its "
        f"{band_label(data.recommend_band)}, the probability that it beats today's offer and "
        f"that it is the best of the list. Shares are {sw}s"
        + (f" ({calibration_words(data, plain=True)})" if calibrated(data) else "")
        + "; the Decision sheet puts every candidate on one scale.",
    )
    offers_top(s, ctx)
    of = data.offers
    if _present(of) and of is not None:
        t, derived = _with_derived_bands(data, of)
        label = f"own products' {sw}" if len(today) > 1 else sw
        s.table(t, formats=_offer_formats(ctx, t), labels=_offer_labels(ctx, label), freeze=True)
        if len(today) > 1:
            s.note(
                f"{label}: all our own products together ({names(own_after(data, today[:1]))}), "
                f"the offer in place of {replaced_product(data)}: the same products as today."
            )
        if derived:
            s.note(
                "Revenue and profit bands follow from the share band (each offer's price is "
                "fixed); revenue and profit are per lost customer surveyed."
            )
    else:
        _missing_search(s, ctx, "offer search", "recommend/offers.csv")
    sg = data.segments
    if _present(sg) and sg is not None:
        s.heading("The best offer for each segment")
        s.note(
            "margin: expected profit per lost customer of the segment (revenue without costs); "
            "worth winning back: margin above zero and the share gain's band above zero."
        )
        label = f"own products' {sw}" if len(today) > 1 else sw
        if "segment" in sg.columns:  # reasons for leaving by their labels, not their codes
            sg = sg.assign(segment=[REASON_LABELS.get(str(x), str(x)) for x in sg["segment"]])
        s.table(sg, formats=_offer_formats(ctx, sg), labels=_offer_labels(ctx, label))
    s.finish()


def _sheet_unbundling(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Unbundling: an entry offer with add-ons instead of the bundle",
        "The bundle without some of its parts at a lower entry price, the parts sold as "
        f"add-ons; {share_word(data)}s with {band_label(data.recommend_band)}s, against "
        "today's market (all our own products, named).",
    )
    unbundling_top(s, ctx)
    ub = data.unbundling
    if _present(ub) and ub is not None:
        s.table(ub, formats=_offer_formats(ctx, ub), labels=_offer_labels(ctx))
        us = data.unbundling_summary
        if _present(us) and us is not None and "measure" in us.columns:
            menu = [str(o) for o in ub["offer"] if not str(o).startswith("bundle")]
            s.table(
                _summary_rows(ctx, us, own_after(data, menu)),
                labels={"lower": "band from", "upper": "band to"},
                row_format=(("value", "lower", "upper"), _measure_format(ctx)),
            )
        ad = data.addons
        if _present(ad) and ad is not None:
            s.heading("Add-on take rates among the menu's takers")
            s.table(
                ad,
                formats={"price": ctx.money, "take_rate": PCT, "lower": PCT, "upper": PCT},
                labels={"lower": "band from", "upper": "band to"},
            )
    elif _present(data.offers):
        s.note("No unbundling in this run (no components to take out of the bundle).")
    else:
        _missing_search(s, ctx, "unbundling search", "recommend/unbundling.csv")
    s.finish()


def _sheet_tiers(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Good / better / best tiers",
        "The tier menu that maximises the objective: each higher tier has at least the lower "
        "tier's level on every feature and a higher price. "
        f"{share_word(data).capitalize()}s with {band_label(data.recommend_band)}s; then where "
        "each added tier's takers come from and what the tiers take from each other.",
    )
    tiers_top(s, ctx)
    t = data.tiers
    if not _present(t) or t is None:
        _missing_search(s, ctx, "tier search", "recommend/tiers.csv")
        s.finish()
        return
    h, first, last = s.table(
        t, formats=_offer_formats(ctx, t), labels=_offer_labels(ctx), freeze=True
    )
    cols = list(t.columns)
    chart_row = s.row
    s.row += 20  # room for the chart below the tiers
    _bar_chart(
        s.ws,
        data_col=1 + cols.index("share"),
        cat_col=1 + cols.index("tier"),
        header=h,
        last=last,
        title=f"{share_word(data).capitalize()} by tier",
        anchor=f"A{chart_row}",
        number_format="0%",
    )
    ts = data.tiers_summary
    if _present(ts) and ts is not None:
        s.heading("The menu against today's market (all our own products, named)")
        s.table(
            _summary_rows(ctx, ts, own_after(data, [str(x) for x in t["tier"]])),
            labels={"lower": "band from", "upper": "band to"},
            row_format=(("value", "lower", "upper"), _measure_format(ctx)),
        )
    up = data.upgrade_paths
    if _present(up) and up is not None:
        s.heading("Upgrade paths: where each added tier's takers come from")
        s.table(
            up,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"menu_before": "menu before", "share_moved": f"{share_word(data)} moved",
                    "lower": "band from", "upper": "band to", "fraction": "fraction of the gain"},
        )  # fmt: skip
    ca = data.cannibalisation
    if _present(ca) and ca is not None:
        s.heading("Cannibalisation: what each tier takes from our other tiers")
        s.table(
            ca,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"share_moved": f"{share_word(data)} moved", "lower": "band from",
                    "upper": "band to", "fraction": "fraction of the tier's share"},
        )  # fmt: skip
    s.finish()


def _sheet_source_of_volume(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    top = sources_top(s, ctx)  # the recommendation's, printed; today's bundle's follow
    what = (
        "Where today's offer's customers would otherwise go (the market without it against the "
        "market with it), in stated preference shares: none = lost customers who would "
        "otherwise stay away, competitor = taken from a competitor, own = taken from another "
        "of our offers. The Decision sheet has the source of volume of every candidate action."
    )
    if top:
        s.end_print()
        s.heading("Today's offer: source of volume and market shares (not printed)")
        s.note(what)
    else:
        s.title("Source of volume and market shares", what)
    sv = data.source_of_volume
    if _present(sv) and sv is not None:
        h, first, last = s.table(
            sv,
            formats={"share_moved": PCT, "lower": PCT, "upper": PCT, "fraction": PCT},
            labels={"share_moved": f"{STATED} moved", "lower": "band from",
                    "upper": "band to", "fraction": "fraction of the product's share"},
            freeze=True,
        )  # fmt: skip
        cols = list(sv.columns)
        if "kind" in cols and (sv["kind"].astype(str) != "total").any():
            body = sv[sv["kind"].astype(str) != "total"]
            chart_data = pd.DataFrame(
                {
                    "from": [f"{r['product']}: {r['source']}" for _, r in body.iterrows()],
                    f"{STATED} moved": body["share_moved"].to_numpy(dtype=float),
                }
            )
            anchor_col = len(cols) + 2
            s2_row = s.row
            s.row = h
            hh, ff, ll = s.table(chart_data, formats={f"{STATED} moved": PCT}, col=anchor_col)
            s.row = max(s2_row, s.row)
            _bar_chart(
                s.ws,
                data_col=anchor_col + 1,
                cat_col=anchor_col,
                header=hh,
                last=ll,
                title=f"Where the offer's customers come from ({STATED}s)",
                anchor=f"{get_column_letter(anchor_col + 3)}{hh}",
                horizontal=True,
                number_format="0.0%",
            )
    else:
        _missing(s, "source of volume", "simulate/source_of_volume.csv")
    sh = data.shares
    if _present(sh) and sh is not None:
        s.heading(f"{STATED.capitalize()}s in today's market (overall = segment 'all')")
        s.table(
            sh,
            formats={"share": PCT, "lower": PCT, "upper": PCT, "n_respondents": INT},
            labels={"share": STATED, "lower": "band from", "upper": "band to"},
        )
    if _present(data.calibrated_shares):
        calibrated_shares_table(s, ctx)
        words = calibration_words(data)
        if words:
            s.note(words[0].upper() + words[1:] + ".")
    s.finish()


def _sheet_price_curves(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    sample = data.simulator_draws
    curve = recommended_price_curve(sample) if sample is not None else None
    if curve is not None:
        price_page(s, ctx, curve)
    else:
        s.title(
            "Demand and revenue against price",
            f"Each product's {STATED} and revenue per lost customer at each price, every "
            f"other product held fixed, with {band_label(data.simulate_band)}s; then price "
            "elasticities.",
        )
    pc = data.price_curves
    if not _present(pc) or pc is None or not {"price", "share"} <= set(pc.columns):
        _missing(s, "price curves", "simulate/price_curves.csv: needs a price attribute")
        s.finish()
        return
    prod = pc["product"].astype(str) if "product" in pc.columns else pd.Series("share", pc.index)
    wide = (
        pc.assign(product=prod)
        .pivot_table(index="price", columns="product", values="share", sort=False)
        .sort_index()
    )
    wide = wide[list(dict.fromkeys(prod))].reset_index()
    s.heading(f"Today's products: {STATED} by price (chart data)")
    h, first, last = s.table(
        wide,
        formats={"price": ctx.money} | {c: PCT for c in wide.columns if c != "price"},
        freeze=curve is None,
    )
    chart = LineChart()
    _chart_style(chart, f"{STATED.capitalize()} against price", STATED, "price")
    chart.add_data(
        Reference(s.ws, min_col=2, max_col=wide.shape[1], min_row=h, max_row=last),
        titles_from_data=True,
    )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
    chart.y_axis.numFmt = "0%"
    chart.legend.txPr = _chart_text()
    # below the table (beside it, the page would print below 9 pt), the bands beside it
    s.ws.add_chart(chart, f"A{s.row}")
    fig = price_curves_figure(data, ctx.currency)
    if fig is not None:
        add_figure(s.ws, fig, f"{get_column_letter(column_at(s, 18.5))}{s.row}", 15.0)
    s.row += 20
    if curve is None:
        s.end_print()  # the chart is the page; every point follows, not printed
    s.heading("Every point with its band")
    s.table(
        pc,
        formats={"price": ctx.money, "share": PCT, "lower": PCT, "upper": PCT,
                 "revenue": ctx.money, "revenue_lower": ctx.money, "revenue_upper": ctx.money},
        labels={"share": STATED, "lower": f"{STATED} from", "upper": f"{STATED} to",
                "revenue_lower": "revenue from", "revenue_upper": "revenue to"},
    )  # fmt: skip
    el = data.elasticities
    if _present(el) and el is not None:
        s.heading("Price elasticities (% change of share per 1% change of price)")
        s.table(
            el,
            formats={"elasticity": NUM2, "lower": NUM2, "upper": NUM2},
            labels={"price_of": "price of", "share_of": "share of", "lower": "band from",
                    "upper": "band to"},
        )  # fmt: skip
    s.finish()
