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
from openpyxl.worksheet.worksheet import Worksheet

from reports.workbook.context import _Ctx, _label, _labelled_note, _present
from reports.workbook.images import add_figure_rows, importances_figure
from reports.workbook.maxdiff import has_maxdiff, maxdiff_block
from reports.workbook.recommendation import wtp_explanation, wtp_top
from reports.workbook.styles import (
    _HEADER_FILL,
    _HEADER_FONT,
    INT,
    NUM1,
    NUM3,
    PCT,
    _bar_chart,
    _missing,
    _Sheet,
)
from surveys.reasons import REASON_LABELS, TEXT_COLUMNS
from winback.settings import band_label

#: quotes per main reason on the printed Reasons page (all of them follow, not printed)
QUOTES_PER_REASON = 2
#: the width of the importances' plot with its intervals (cm; a printed page of its own)
IMPORTANCE_FIGURE_CM = 16.0


def _reason_labels(ctx: _Ctx) -> dict[str, str]:
    rs = ctx.data.reasons
    labels = dict(REASON_LABELS)
    if _present(rs) and rs is not None and {"reason", "label"} <= set(rs.columns):
        labels |= dict(zip(rs["reason"].astype(str), rs["label"].astype(str), strict=False))
    return labels


def _sheet_reasons(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws, span=6)
    ranked = (
        " then which reasons weighed most, each against the others;" if has_maxdiff(data) else ""
    )
    s.title(
        "Why customers left",
        "Share of respondents who named each reason (several answers allowed), with its "
        f"{band_label(data.reasons_band, 'interval')};{ranked} then the main reason, and what "
        "customers wrote in their own words.",
    )
    rs = data.reasons
    if _present(rs) and rs is not None:
        cols = [
            c for c in ("label", "n_selected", "n", "share", "lower", "upper") if c in rs.columns
        ]
        t = (
            rs[cols].sort_values("share", ascending=False, kind="stable")
            if "share" in cols
            else rs[cols]
        )
        h, first, last = s.table(
            t,
            formats={"share": PCT, "lower": PCT, "upper": PCT, "n_selected": INT, "n": INT},
            labels={"label": "reason for leaving", "n_selected": "respondents",
                    "n": "of", "lower": "interval from", "upper": "interval to"},
            freeze=True,
        )  # fmt: skip
        if "share" in cols and "label" in cols:
            chart = _bar_chart(
                s.ws,
                data_col=1 + cols.index("share"),
                cat_col=1 + cols.index("label"),
                header=h,
                last=last,
                title="Why they left (share of respondents)",
                anchor=f"A{s.row}",
                horizontal=True,
                number_format="0%",
            )
            chart.height = 6.5
            s.row += 14  # room for the chart
    else:
        _missing(s, "reasons for leaving", "import/reasons.csv")
    maxdiff_block(s, ctx)  # the MaxDiff of reasons, when the run has maxdiff/
    resp = data.respondents
    labels = _reason_labels(ctx)
    if resp is not None and "main_reason" in resp.columns:
        mr = resp["main_reason"].astype(str).str.strip()
        mr = mr[mr != ""]
        if len(mr):
            counts = mr.value_counts()
            t = pd.DataFrame(
                {
                    "main reason": [labels.get(k, k) for k in counts.index],
                    "respondents": counts.to_numpy(),
                    "share": counts.to_numpy() / counts.sum(),
                }
            )
            s.heading("The main reason (one per respondent)")
            s.table(t, formats={"share": PCT, "respondents": INT})
    if resp is not None:
        _verbatims(s, ctx, resp, labels)
    elif _present(rs):
        s.note("Verbatims: no import/respondents.csv in this run.")
    s.finish()


def _verbatims(s: _Sheet, ctx: _Ctx, resp: pd.DataFrame, labels: dict[str, str]) -> None:
    """A few quotes for the main reasons on the printed page, then every answer (not printed):
    the main reason, what happened, what would bring them back, other texts and the id."""
    text_cols = [c for c in resp.columns if c in TEXT_COLUMNS or c.endswith("_text")]
    if not text_cols:
        return
    keep = resp[text_cols].fillna("").astype(str).apply(lambda c: c.str.strip() != "")
    rows = resp[keep.any(axis=1)]
    s.heading(f"In their own words ({len(rows):,} respondents wrote something)")
    if rows.empty:
        s.note("Nobody wrote an answer to the open questions.")
        return
    main = rows["main_reason"].astype(str) if "main_reason" in rows.columns else None
    first = text_cols[0]
    if main is not None and first in rows.columns:
        for code in main.value_counts().index[:3]:
            said = rows.loc[(main == code) & keep.loc[rows.index, first], first].astype(str)
            for quote in said.drop_duplicates().head(QUOTES_PER_REASON):
                s.para(f"•  \u201c{quote.strip()}\u201d ({labels.get(code, code).lower()})")
    s.note("Every answer follows below in the workbook (not printed).")
    s.end_print()
    s.blank()
    # every answer: the main reason, then each open answer over merged columns
    spans = {"what_happened": (2, 4), "bring_back": (5, 6)}
    header = ["main reason", "what happened", None, None, "what would bring them back", None]
    others = [c for c in text_cols if c not in spans]
    header += [c.replace("_", " ") for c in others] + ["respondent id"]
    for j, text in enumerate(header, start=1):
        if text is None:
            continue
        c = s.put(s.row, j, text)
        c.font = _HEADER_FONT
        c.fill = _HEADER_FILL
    for a, b in spans.values():
        s.ws.merge_cells(start_row=s.row, start_column=a, end_row=s.row, end_column=b)
    s.row += 1
    extra = 7
    for _, r in rows.iterrows():
        code = str(r.get("main_reason", "") or "")
        s.put(s.row, 1, labels.get(code, code))
        for col, (a, b) in spans.items():
            if col in r.index:
                text = str(r[col] if pd.notna(r[col]) else "")
                cell = s.put(s.row, a, text)
                s.ws.merge_cells(start_row=s.row, start_column=a, end_row=s.row, end_column=b)
                s.wrap(cell, text)
        for j, col in enumerate(others, start=extra):
            text = str(r[col] if pd.notna(r[col]) else "")
            cell = s.put(s.row, j, text)
            s.widths[j] = max(s.widths.get(j, 0), 30)
            s.wrap(cell, text)
        s.put(s.row, extra + len(others), str(r.get("respondent_id", "")))
        s.row += 1


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
    if (labelled := _labelled_note(data)) is not None:
        s.note(labelled)
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
        "How much each feature sways the choice: the gap between its best and worst level as a "
        "share of all features' gaps, averaged over respondents; in percent, with the "
        f"{band_label(data.fit_band, 'interval')} (the Methods sheet has the formula).",
    )
    imp = data.importances
    if not _present(imp) or imp is None:
        _missing(s, "importances", "fit/importances.csv")
        s.finish()
        return
    t = imp.sort_values("mean", ascending=False, kind="stable").copy()
    t.insert(0, "label", [_label(data, str(a)) for a in t["attribute"]])
    t = t.drop(columns="attribute")
    h, first, last = s.table(
        t,
        formats={"mean": NUM1, "lower": NUM1, "upper": NUM1},
        labels={"label": "attribute", "mean": "importance (%)",
                "lower": "interval from", "upper": "interval to"},
        freeze=True,
    )  # fmt: skip
    if (labelled := _labelled_note(data)) is not None:
        s.note(labelled)
    wtp_top(s, ctx)
    # the intervals need the plot (a native bar chart draws the means only): its own page
    add_figure_rows(s, importances_figure(data), IMPORTANCE_FIGURE_CM, new_page=True)
    s.end_print()  # paragraphs no wider than the tables
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
    wtp_explanation(s, ctx)
    s.finish()
