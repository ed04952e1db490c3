"""The printed tops of the ``Offers``, ``Tiers`` and ``Unbundling`` pages: offers side by side.

A board reads offers as columns (today's offer against the new ones) with a row per feature in
the study's words, the price, the share with its band and, where the search has them, revenue
and profit per lost customer. Each function writes that table at the top of its sheet and ends
the sheet's print area after it; the full tables of the search follow, in the workbook but not
printed (they keep every column and every offer).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from reports.workbook.basis import share_word
from reports.workbook.context import _Ctx, _current_product, _fmt_level, _label, _present
from reports.workbook.images import add_figure_rows, tier_shares_figure
from reports.workbook.styles import PCT, _Sheet
from winback.settings import band_label

__all__ = ["offers_top", "tiers_top", "unbundling_top"]

#: how many of the ranked offers the printed page shows
TOP_OFFERS = 3
#: the width of the tiers' plot with its bands on the printed page (cm; a page of its own)
TIER_FIGURE_CM = 16.0


def _today(ctx: _Ctx) -> tuple[str, pd.Series] | None:
    """Today's own product, with its share on the searches' basis when the unbundling search
    has it (its ``bundle (current)`` row)."""
    ub = ctx.data.unbundling
    if _present(ub) and ub is not None and "offer" in ub.columns:
        hit = ub[ub["offer"].astype(str).str.startswith("bundle")]
        if len(hit):
            cur = _current_product(ctx.data)
            name = str(cur["product"]) if cur is not None and "product" in cur.index else "bundle"
            return f"Today: {name}", hit.iloc[0]
    cur = _current_product(ctx.data)
    if cur is None:
        return None
    return f"Today: {cur.get('product', 'our offer')}", cur


def _side_by_side(
    s: _Sheet, ctx: _Ctx, columns: Sequence[tuple[str, pd.Series]], *, money: bool = True
) -> None:
    """Products as columns, a row per feature (study labels), the price, the share and its band,
    and revenue and profit per lost customer when every product has them."""
    data = ctx.data
    price = data.study.get("price_attribute")
    attrs = [a["name"] for a in data.study.get("attributes", [])]
    sw = share_word(data)
    bl = band_label(data.recommend_band)
    per = "per lost customer"
    rows: list[tuple[str, str, str | None]] = [(_label(data, a), a, None) for a in attrs]
    if price in attrs:
        p = str(price)
        rows = [r for r in rows if r[1] != p] + [(_label(data, p), p, ctx.money)]
    rows += [(sw, "share", PCT), (f"{bl} from", "lower", PCT), (f"{bl} to", "upper", PCT)]
    if money:
        rows += [(f"revenue {per}", "revenue", ctx.money), (f"profit {per}", "profit", ctx.money)]
    rows.append(("chance it beats today's", "prob_beats_current", PCT))
    keep = [r for r in rows if any(r[1] in p.index and pd.notna(p[r[1]]) for _, p in columns)]
    table = pd.DataFrame(
        {
            "": [r[0] for r in keep],
            **{
                name: [
                    (
                        (float(p[key]) if fmt else _fmt_level(p[key]))
                        if key in p.index and pd.notna(p[key])
                        else None
                    )
                    for _, key, fmt in keep
                ]
                for name, p in columns
            },
        }
    )
    fmts = {r[0]: r[2] for r in keep}
    s.table(
        table,
        row_format=([name for name, _ in columns], lambda r: fmts.get(str(r[""]))),
    )


def _end(s: _Sheet, what: str) -> None:
    s.row -= 1
    s.note(f"{what} follow below in the workbook (not printed).")
    s.end_print()
    s.blank()


def offers_top(s: _Sheet, ctx: _Ctx) -> None:
    """Today's offer and the best :data:`TOP_OFFERS` offers of the search side by side."""
    of = ctx.data.offers
    if not _present(of) or of is None:
        return
    cols: list[tuple[str, pd.Series]] = []
    today = _today(ctx)
    if today is not None:
        cols.append(today)
    for i, (_, r) in enumerate(of.head(TOP_OFFERS).iterrows()):
        cols.append(("Best offer" if i == 0 else f"Offer no. {r.get('rank', i + 1)}", r))
    s.heading("The best offers against today's")
    _side_by_side(s, ctx, cols)
    _end(s, "Every offer found, the best offer for each reason for leaving and the bands")


def tiers_top(s: _Sheet, ctx: _Ctx) -> None:
    """Today's offer and the good / better / best tiers side by side."""
    t = ctx.data.tiers
    if not _present(t) or t is None or "tier" not in t.columns:
        return
    cols: list[tuple[str, pd.Series]] = []
    today = _today(ctx)
    if today is not None:
        cols.append(today)
    cols += [(f"Tier: {r['tier']}", r) for _, r in t.iterrows()]
    s.heading("The tiers against today's offer")
    _side_by_side(s, ctx, cols)
    add_figure_rows(s, tier_shares_figure(ctx.data, ctx.currency), TIER_FIGURE_CM, new_page=True)
    _end(s, "The tiers' full table, the menu against today's market, upgrade paths and "
            "cannibalisation")  # fmt: skip


def unbundling_top(s: _Sheet, ctx: _Ctx) -> None:
    """Today's bundle, the entry offer and the entry offer with each add-on side by side."""
    ub = ctx.data.unbundling
    if not _present(ub) or ub is None or "offer" not in ub.columns:
        return
    cols = []
    for _, r in ub.iterrows():
        name = str(r["offer"])
        if name.startswith("bundle"):
            today = _today(ctx)
            name = today[0] if today is not None else "Today: the bundle"
        else:
            name = name.replace("entry", "Entry offer", 1)
            for a in ctx.data.study.get("attributes", []):
                name = name.replace(f"+ {a['name']}", f"+ {a['label']}")
        cols.append((name, r))
    s.heading("The entry offer and its add-ons against today's bundle")
    _side_by_side(s, ctx, cols)
    ad = ctx.data.addons
    if _present(ad) and ad is not None and {"component", "take_rate"} <= set(ad.columns):
        s.para(
            "Add-ons taken by those who choose the entry offer: "
            + ", ".join(
                f"{_label(ctx.data, str(r['component']))} {r['take_rate']:.0%}"
                for _, r in ad.iterrows()
            )
            + "."
        )
        s.blank()
    _end(s, "The full tables, the menu against today's market and the add-ons' bands")
