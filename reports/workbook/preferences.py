"""What lost customers told us: the ``Reasons``, ``Part-worths``, ``Importances`` and ``WTP``
sheets.

Why they left (reason shares with their intervals, a bar chart, the main reason and their own
words), what each level is worth to them (part-worths across respondents and the population
estimates), which attributes matter most (importances with a bar chart) and what each change of
our offer is worth in money (willingness to pay, three ways).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.workbook.context import _Ctx, _label, _present
from reports.workbook.styles import _WRAP, INT, NUM1, NUM3, PCT, _bar_chart, _missing, _Sheet
from surveys.reasons import REASON_LABELS, TEXT_COLUMNS
from winback.settings import band_label


def _sheet_reasons(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Why customers left",
        "Share of respondents who named each reason (several answers allowed), with its "
        f"{band_label(data.reasons_band, 'interval')}; then the main reason, and what "
        "customers wrote in their own words.",
    )
    rs = data.reasons
    if _present(rs) and rs is not None:
        cols = [
            c
            for c in ("label", "reason", "n_selected", "n", "share", "lower", "upper")
            if c in rs.columns
        ]
        t = (
            rs[cols].sort_values("share", ascending=False, kind="stable")
            if "share" in cols
            else rs[cols]
        )
        h, first, last = s.table(
            t,
            formats={"share": PCT, "lower": PCT, "upper": PCT, "n_selected": INT, "n": INT},
            labels={"label": "reason for leaving", "reason": "code", "n_selected": "respondents",
                    "n": "of", "lower": "interval from", "upper": "interval to"},
            freeze=True,
        )  # fmt: skip
        if "share" in cols and "label" in cols:
            _bar_chart(
                s.ws,
                data_col=1 + cols.index("share"),
                cat_col=1 + cols.index("label"),
                header=h,
                last=last,
                title="Why they left (share of respondents)",
                anchor=f"{get_column_letter(len(cols) + 2)}{h}",
                horizontal=True,
                number_format="0%",
            )
    else:
        _missing(s, "reasons for leaving", "import/reasons.csv")
    resp = data.respondents
    if resp is not None and "main_reason" in resp.columns:
        labels = {}
        if _present(rs) and rs is not None and {"reason", "label"} <= set(rs.columns):
            labels = dict(zip(rs["reason"].astype(str), rs["label"].astype(str), strict=False))
        mr = resp["main_reason"].astype(str).str.strip()
        mr = mr[mr != ""]
        if len(mr):
            counts = mr.value_counts()
            t = pd.DataFrame(
                {
                    "main reason": [labels.get(k, REASON_LABELS.get(k, k)) for k in counts.index],
                    "code": list(counts.index),
                    "respondents": counts.to_numpy(),
                    "share": counts.to_numpy() / counts.sum(),
                }
            )
            s.heading("The main reason (one per respondent)")
            s.table(t, formats={"share": PCT, "respondents": INT})
    if resp is not None:
        text_cols = [c for c in resp.columns if c in TEXT_COLUMNS or c.endswith("_text")]
        if text_cols:
            keep = resp[text_cols].fillna("").astype(str).apply(lambda c: c.str.strip() != "")
            rows = resp[keep.any(axis=1)]
            s.heading(f"In their own words ({len(rows):,} respondents wrote something)")
            if len(rows):
                first_cols = [c for c in ("respondent_id", "main_reason") if c in resp.columns]
                s.table(
                    rows[first_cols + text_cols].fillna(""),
                    labels={
                        "what_happened": "what happened",
                        "bring_back": "what would bring them back",
                    },
                )
                for c in range(len(first_cols) + 1, len(first_cols) + len(text_cols) + 1):
                    s.widths[c] = 50
                    for r in range(s.row - len(rows) - 1, s.row - 1):
                        s.ws.cell(r, c).alignment = _WRAP
            else:
                s.note("Nobody wrote an answer to the open questions.")
    elif not _present(rs):
        pass
    else:
        s.note("Verbatims: no import/respondents.csv in this run.")
    s.finish()


def _sheet_partworths(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Part-worths: what each level is worth",
        "Utilities on the logit scale. The first level of each attribute is the reference "
        "(0 for everyone); a level's utility is its value relative to that reference. "
        "Higher is preferred; only differences within an attribute matter.",
    )
    pw = data.partworths.copy()
    pw["utility"] = pw["utility"].astype(float)
    rows = []
    for (attr, level), g in pw.groupby(["attribute", "level"], sort=False):
        u = g["utility"].to_numpy(dtype=float)
        rows.append(
            {
                "attribute": _label(data, str(attr)),
                "level": str(level),
                "mean": float(u.mean()),
                "sd": float(u.std(ddof=1)) if len(u) > 1 else 0.0,
                "p10": float(np.percentile(u, 10)),
                "median": float(np.median(u)),
                "p90": float(np.percentile(u, 90)),
                "share_positive": float((u > 0).mean()),
            }
        )
    table = pd.DataFrame(rows)
    s.heading(f"Across respondents ({pw['respondent_id'].nunique():,} individual part-worths)")
    s.table(
        table,
        formats={c: NUM3 for c in ("mean", "sd", "p10", "median", "p90")} | {"share_positive": PCT},
        labels={"sd": "sd across respondents", "p10": "10th percentile", "p90": "90th percentile",
                "share_positive": "respondents above the reference"},
        freeze=True,
    )  # fmt: skip
    s.note(
        "A numeric attribute coded linearly (such as price) shows slope x value at each tested "
        "value. Every respondent's part-worths: fit/partworths.csv and the Utilities sheet."
    )
    pop = data.population
    if _present(pop) and pop is not None:
        interval = band_label(data.fit_band, "interval")
        s.heading(f"Population estimates (posterior mean and {interval})")
        s.table(
            pop,
            formats={c: NUM3 for c in pop.columns if c != "parameter"},
            labels={"mean": "mean", "lower": "mean from", "upper": "mean to",
                    "sd_mean": "sd across people", "sd_lower": "sd from", "sd_upper": "sd to"},
        )  # fmt: skip
    s.finish()


def _sheet_importances(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "What matters most: attribute importance",
        "Importance = the range of an attribute's utilities (best minus worst level) as a share "
        "of the sum of all ranges, per respondent and posterior draw, then averaged; in percent, "
        f"with the {band_label(data.fit_band, 'interval')}.",
    )
    imp = data.importances
    if not _present(imp) or imp is None:
        _missing(s, "importances", "fit/importances.csv")
        s.finish()
        return
    t = imp.sort_values("mean", ascending=False, kind="stable").copy()
    t.insert(0, "label", [_label(data, str(a)) for a in t["attribute"]])
    h, first, last = s.table(
        t,
        formats={"mean": NUM1, "lower": NUM1, "upper": NUM1},
        labels={"label": "attribute", "attribute": "name", "mean": "importance (%)",
                "lower": "interval from", "upper": "interval to"},
        freeze=True,
    )  # fmt: skip
    cols = list(t.columns)
    _bar_chart(
        s.ws,
        data_col=1 + cols.index("mean"),
        cat_col=1,
        header=h,
        last=last,
        title="Attribute importance (%)",
        anchor=f"{get_column_letter(len(cols) + 2)}{h}",
        horizontal=True,
        number_format="0",
    )
    s.finish()


def _sheet_wtp(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Willingness to pay",
        "What each change of our offer is worth in money, three ways: ratio (utility difference "
        "/ minus the price slope, median over respondents), compensating variation (change in "
        "the market's log-sum / minus the price slope) and simulated (the price change that "
        "keeps the offer's share). Negative: the change is worth less than today's level.",
    )
    w = data.wtp
    if not _present(w) or w is None:
        _missing(s, "willingness-to-pay table", "simulate/wtp.csv: needs a price attribute")
        s.finish()
        return
    t = w.copy()
    if "attribute" in t.columns:
        t["attribute"] = [_label(data, str(a)) for a in t["attribute"]]
    s.table(
        t,
        formats={"wtp": ctx.money, "lower": ctx.money, "upper": ctx.money,
                 "positive_slope_share": PCT, "outside_range": PCT},
        labels={"from_level": "from (today)", "to_level": "to", "wtp": "willingness to pay",
                "lower": "band from", "upper": "band to",
                "positive_slope_share": "draws with a non-negative price slope",
                "outside_range": "draws outside the tested prices"},
        freeze=True,
    )  # fmt: skip
    s.finish()
