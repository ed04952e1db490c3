"""The ``Campaign`` sheet: the plan of ``winback target`` as leadership reads it.

Present only when the run folder has ``target/`` (:func:`has_campaign`). The page shows, from
``target/campaign_summary.csv`` (the totals and the figures by segment and action, with their
bands) and ``target/campaign.csv`` (one row per customer: why those not contacted are not):

* one box: whom to contact, the control group held out and why, the expected customers won
  back and profit with their bands (calibrated or stated, said in the label), who is not
  contacted and why, the limits and how close the plan comes to the best possible within them,
  how the campaign's effect will be measured and the next step;
* the figures by segment (display labels: reasons for leaving by the study's labels) with a
  native bar chart of the expected profit, and by segment and action with bands;
* each action in plain words with what it is expected to do;
* below the printed part, the first customers to contact (ids written as text, never as
  formulas).

Profit is the plan's: what customers won back pay over the ``[business]`` horizon after they
return, minus incentives and contact costs (``docs/campaign.md``); the totals are exactly
``campaign_summary.csv``'s total row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from analysis.campaign.scoring import DO_NOT_CONTACT
from reports.workbook.context import _Ctx, _present
from reports.workbook.decision import big_money, count
from reports.workbook.facts import ReportData
from reports.workbook.styles import (
    _BODY,
    _BOLD,
    INT,
    LINE_HEIGHT,
    PCT,
    _bar_chart,
    _Sheet,
    lines_needed,
)
from surveys.reasons import REASON_LABELS
from winback.settings import band_label

__all__ = [
    "SHEET_TITLE",
    "campaign_headline",
    "campaign_total",
    "has_campaign",
    "plain_description",
    "segment_labels",
]

SHEET_TITLE = "Campaign"
#: the columns of ``campaign_summary.csv`` the page needs
_SUMMARY_COLUMNS = {
    "segment", "action", "customers", "contacted", "control", "won_back", "won_back_lower",
    "won_back_upper", "profit", "profit_lower", "profit_upper",
}  # fmt: skip
#: why a customer is not contacted, in words (the plan's short phrases, docs/campaign.md)
_WHY_NOT = {
    "no action pays (expected profit at most 0)": "no offer is expected to pay for itself",
    "no contact consent": "have not agreed to be contacted",
    "do-not-contact flag": "are marked do not contact in the CRM",
    "beyond the contact limit": "are beyond the contact limit",
    "beyond the contact limit or budget": "are beyond the contact limit or the incentive budget",
    "beyond the incentive budget": "are beyond the incentive budget",
}
_TOTAL = ("All customers", "All actions")
#: the box's look (page one's)
_BOX_FILL = PatternFill("solid", fgColor="DDEBF7")
_EDGE = Side(style="thin", color="1F4E79")
_BOX_BORDER = Border(left=_EDGE, right=_EDGE, top=_EDGE, bottom=_EDGE)
#: the columns' widths (tables may widen them for big numbers): one A4 landscape page wide,
#: printed at 9 pt or more in Excel and in LibreOffice
_WIDTHS = (26, 22, 9, 9, 9, 9, 13, 13, 13)
#: the chart's width and height (cm)
_CHART_CM = (16.0, 5.5)
#: the printed height of an A4 landscape page within the margins (points), and how many units
#: of column width it holds at full size with the share it may be off by: Excel (7 pixels a
#: unit at 96 dpi) and LibreOffice (measured: its units print wider, so its pages are scaled
#: down more and hold more rows)
_PAGE_POINTS = 595.3 - 2 * 0.5 * 72
_PAGE_UNITS = ((143.0, 0.02), (108.0, 0.06))
#: rows of the list of first customers to contact (below the printed part)
_FIRST = 10


def has_campaign(data: ReportData) -> bool:
    """The run has a campaign plan the page can show (``target/campaign_summary.csv``)."""
    s = data.campaign_summary
    return _present(s) and s is not None and _SUMMARY_COLUMNS <= set(s.columns)


def campaign_total(data: ReportData) -> pd.Series | None:
    """The plan's total row (the last of ``campaign_summary.csv``), None without a plan."""
    if not has_campaign(data):
        return None
    return _summary(data).iloc[-1]


def _summary(data: ReportData) -> pd.DataFrame:
    s = data.campaign_summary
    assert s is not None, "has_campaign() first"
    return s


def _rows(data: ReportData) -> pd.DataFrame:
    """The summary's rows by segment and action (without the total)."""
    return _summary(data).iloc[:-1]


def _code_words(text: str) -> str:
    """A code such as ``price_rise`` in words (``Price rise``); other text as it is."""
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+|[a-z]+", text):
        return text.replace("_", " ").capitalize()
    return text


def segment_labels(ctx: _Ctx) -> dict[str, str]:
    """Words for the plan's segments: reasons for leaving by the study's labels (those of
    ``import/reasons.csv``), any other code in words; the segment ``all`` (no segment column)
    reads "All customers"."""
    labels = {str(k): str(v) for k, v in REASON_LABELS.items()}
    rs = ctx.data.reasons
    if _present(rs) and rs is not None and {"reason", "label"} <= set(rs.columns):
        labels.update(zip(rs["reason"].astype(str), rs["label"].astype(str), strict=True))
    segment = str(ctx.data.campaign_settings.get("segment") or "main_reason")
    if segment != "main_reason":
        labels = {}
    values = {str(v) for v in _summary(ctx.data)["segment"]}
    out = {v: labels.get(v) or _code_words(v) for v in values}
    if values == {"all"}:
        out["all"] = "All customers"
    return out


def _segment_what(ctx: _Ctx) -> str:
    segment = ctx.data.campaign_settings.get("segment")
    if not segment or segment == "main_reason":
        return "reason for leaving" if segment else "segment"
    return _code_words(str(segment)).lower()


def _period(ctx: _Ctx) -> str:
    """The period the plan's profit covers: ``a year`` for a 12-month horizon."""
    biz = ctx.data.study.get("business") or {}
    h = ctx.data.campaign_settings.get("horizon_months") or biz.get("horizon_months")
    if not isinstance(h, int | float) or h <= 0:
        return "over the study's horizon"
    h = int(h)
    if h == 12:
        return "over the first year after they return"
    if h % 12 == 0:
        return f"over the first {h // 12} years after they return"
    return f"over the first {h} months after they return"


def _basis_label(ctx: _Ctx) -> tuple[str, str]:
    """The expected result's label (calibrated or stated) and what the basis adds."""
    basis = str(ctx.data.campaign_settings.get("basis") or "")
    if basis == "calibrated":
        return "Expected result (calibrated to observed take-up)", ""
    if basis == "stated":
        return (
            "Expected result (stated preferences, not calibrated)",
            " Survey answers overstate real take-up: a pilot or an observed win-back rate "
            "would calibrate these figures.",
        )
    return "Expected result", ""


def _band_words(ctx: _Ctx, total: pd.Series, key: str, f: Any) -> str:
    lo, hi = total.get(f"{key}_lower"), total.get(f"{key}_upper")
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in (lo, hi)):
        return ""
    return f" ({band_label(ctx.data.campaign_band)} {f(lo)} to {f(hi)})"


def campaign_headline(ctx: _Ctx) -> str | None:
    """One line for page one: ``Of the 1,500 lost customers on the CRM list, contact 1,080,
    expected 771 won back (90% band 759 to 786), calibrated: see the Campaign page.``; None
    without a plan. It names its own population (the CRM list, not the lost customers in scope
    of the decision's figures) and its basis."""
    total = campaign_total(ctx.data)
    if total is None:
        return None
    basis = {"calibrated": ", calibrated", "stated": ", stated preference"}
    basis_words = basis.get(str(ctx.data.campaign_settings.get("basis")), "")
    return (
        f"Of the {count(total['customers'])} lost customers on the CRM list, contact "
        f"{count(total['contacted'])}, expected {count(total['won_back'])} won back"
        f"{_band_words(ctx, total, 'won_back', count)}{basis_words}: see the Campaign page."
    )


def _action_counts(rows: pd.DataFrame, key: str) -> pd.Series:
    contact = rows[rows["action"].astype(str) != DO_NOT_CONTACT]
    return contact.groupby("action", sort=False)[key].sum().sort_values(ascending=False)


def _whom(ctx: _Ctx, total: pd.Series) -> str:
    by_action = _action_counts(_rows(ctx.data), "contacted")
    parts = [f"{count(n)} {a}" for a, n in by_action.items() if n > 0]
    text = (
        f"{count(total['contacted'])} of the {count(total['customers'])} lost customers on the "
        "CRM list, each with the action expected to earn the most from them"
    )
    return text + (f": {', '.join(parts)}." if parts else ".")


def _control(ctx: _Ctx, total: pd.Series) -> str:
    share = ctx.data.campaign_settings.get("control_share")
    planned = float(total["contacted"]) + float(total["control"])
    if not isinstance(share, int | float):
        share = float(total["control"]) / planned if planned else 0.0
    return (
        f"{count(total['control'])} customers ({share:.0%} of those the plan would contact), "
        "drawn at random within each segment and action and not contacted: how many of them "
        "come back by themselves is what the campaign's result is measured against."
    )


def _result(ctx: _Ctx, total: pd.Series) -> tuple[str, str]:
    label, extra = _basis_label(ctx)
    money = lambda x: big_money(ctx.currency, x)  # noqa: E731
    text = (
        f"{count(total['won_back'])} customers won back"
        f"{_band_words(ctx, total, 'won_back', count)} and a profit of "
        f"{money(total['profit'])} {_period(ctx)}{_band_words(ctx, total, 'profit', money)}, "
        "after incentives and contact costs (the contacted customers, not the control group)."
    )
    return label, text + extra


def _not_contacted(ctx: _Ctx) -> str | None:
    t = ctx.data.campaign
    rows = _rows(ctx.data)
    n = int(rows.loc[rows["action"].astype(str) == DO_NOT_CONTACT, "customers"].sum())
    if n == 0:
        return None
    text = f"{count(n)} customers"
    if _present(t) and t is not None and {"action", "reason"} <= set(t.columns):
        why = t.loc[t["action"].astype(str) == DO_NOT_CONTACT, "reason"].astype(str)
        counts = why.value_counts(sort=True)
        parts = [f"{count(k)} {_WHY_NOT.get(r, r)}" for r, k in counts.items()]
        if parts:
            text += ": " + "; ".join(parts)
    return text + "."


def _limit_setting(settings: dict[str, Any], key: str) -> Any:
    for where in (settings.get("limits"), settings.get("allocation"), settings):
        if isinstance(where, dict) and where.get(key) is not None:
            return where[key]
    return None


def _limits(ctx: _Ctx) -> str | None:
    """The limits and how close the plan comes to the best within them (None without)."""
    st = ctx.data.campaign_settings
    contacts, budget = _limit_setting(st, "max_contacts"), _limit_setting(st, "budget")
    if contacts is None and budget is None:
        return None
    money = lambda x: big_money(ctx.currency, x)  # noqa: E731
    parts = []
    if contacts is not None:
        parts.append(f"at most {count(contacts)} customers contacted (control group included)")
    if budget is not None:
        parts.append(f"at most {money(budget)} of incentives expected to be paid")
    text = " and ".join(parts) + "."
    text = text[0].upper() + text[1:]
    gap, bound = _limit_setting(st, "gap"), _limit_setting(st, "upper_bound")
    if isinstance(gap, int | float) and isinstance(bound, int | float) and bound > 0:
        if gap <= 1e-9 * max(1.0, abs(bound)):
            text += " The plan is the best possible within these limits."
        else:
            text += (
                f" The plan earns at most {money(gap)} ({gap / bound:.1%}) less than the best "
                "possible within these limits."
            )
    return text


def _next_step() -> str:
    return (
        "Hand the list (target/campaign.csv: every customer with the action, or control group) "
        "to the CRM team and run the campaign. Afterwards record who came back, contacted or "
        "not, and run winback outcomes: it measures the uplift against the control group and "
        "recalibrates the next plan to what customers really did."
    )


def _box_row(s: _Sheet, label: str, text: str, *, bold: bool = False) -> None:
    """A row of the box: the label in column A, the text over B to the last column."""
    head = s.put(s.row, 1, label)
    head.font, head.fill, head.border = _BOLD, _BOX_FILL, _BOX_BORDER
    head.alignment = Alignment(wrap_text=True, vertical="top")
    s.wrap(head, label)
    cell = s.put(s.row, 2, text)
    cell.font = _BOLD if bold else _BODY
    s.ws.merge_cells(start_row=s.row, start_column=2, end_row=s.row, end_column=len(_WIDTHS))
    for c in range(2, len(_WIDTHS) + 1):
        s.ws.cell(s.row, c).border = _BOX_BORDER
    s.wrap(cell, text)
    s.row += 1


def _by_segment(ctx: _Ctx, labels: dict[str, str]) -> pd.DataFrame:
    """Customers, contacts and the expected figures by segment (sums of the expected values
    over the segment's actions: exact; their bands do not add up, see the detail table)."""
    rows = _rows(ctx.data)
    keys = ["customers", "contacted", "control", "won_back", "profit"]
    out = rows.groupby("segment", sort=False)[keys].sum().reset_index()
    out.insert(4, "not_contacted", out["customers"] - out["contacted"] - out["control"])
    out["segment"] = [labels.get(str(s), str(s)) for s in out["segment"]]
    return out.sort_values("profit", ascending=False, kind="stable")


def _detail(ctx: _Ctx, labels: dict[str, str]) -> pd.DataFrame:
    """By segment and action, the actions contacting someone, with bands; the total last."""
    cols = [
        "segment", "action", "contacted", "won_back", "won_back_lower", "won_back_upper",
        "profit", "profit_lower", "profit_upper",
    ]  # fmt: skip
    out = _summary(ctx.data)[cols].copy()
    out["segment"] = [labels.get(str(s), str(s)) for s in out["segment"]]
    out["action"] = out["action"].astype(str)
    out.iloc[-1, :2] = _TOTAL
    keep = out["action"] != DO_NOT_CONTACT
    keep.iloc[-1] = True
    return out[keep]


def _heights(s: _Sheet) -> list[float]:
    """The heights (points) of the rows written so far, as :meth:`_Sheet.finish` will set
    them (rows with wrapped text tall enough for it)."""
    merged = {(m.min_row, m.min_col): m.max_col - m.min_col + 1 for m in s.ws.merged_cells.ranges}
    need: dict[int, float] = {}
    for r, c, text in s._wrapped:
        width = s._span_width(merged.get((r, c), 1), first=c)
        need[r] = max(need.get(r, 0.0), LINE_HEIGHT * lines_needed(text, width) + 3)
    out = []
    for r in range(1, s.row):
        set_ = s.ws.row_dimensions[r].height
        out.append(max(set_ or LINE_HEIGHT, need.get(r, 0.0)))
    return out


def _unbroken(s: _Sheet, height_cm: float) -> None:
    """Move :attr:`_Sheet.row` down (blank rows) so that a chart ``height_cm`` tall anchored
    there is not cut by a page break, in Excel or in LibreOffice.

    Fit-to-width printing ignores manual page breaks, so the chart goes where no automatic one
    can fall: a page holds :data:`_PAGE_POINTS` divided by the print scale, which is the page's
    width in units of column width (:data:`_PAGE_UNITS`: Excel's, and LibreOffice's, whose
    units print wider and which rounds, known within a margin) over the columns' total width
    (final: the sheet is written twice, see :func:`_sheet_campaign`).
    """
    top = sum(_heights(s))
    chart = height_cm / 2.54 * 72
    width = sum(
        s.ws.column_dimensions[get_column_letter(c)].width or 8.43
        for c in range(1, len(_WIDTHS) + 1)
    )
    spans = []  # where the k-th page break may fall, per renderer: (earliest, latest)
    for units, margin in _PAGE_UNITS:
        page = _PAGE_POINTS / min(1.0, units / width)
        spans += [(k * page * (1 - margin), k * page * (1 + margin)) for k in range(1, 12)]
    start = top
    while any(start < hi and start + chart > lo for lo, hi in spans) and start < top + 2000:
        start += LINE_HEIGHT
    s.row += math.ceil((start - top) / LINE_HEIGHT - 1e-9)


def _descriptions(ctx: _Ctx) -> dict[str, str]:
    """Each action's description, in words with the study's labels."""
    out: dict[str, str] = {}
    for t in (ctx.data.campaign_actions, ctx.data.campaign):
        if _present(t) and t is not None and {"action", "description"} <= set(t.columns):
            pairs = t[["action", "description"]].drop_duplicates("action")
            for a, d in zip(pairs["action"].astype(str), pairs["description"], strict=True):
                if a not in out and isinstance(d, str) and d.strip():
                    out[a] = plain_description(ctx, d.strip())
    return out


def plain_description(ctx: _Ctx, text: str) -> str:
    """An action's description with the study's labels: ``speed 300 Mbps`` reads ``Broadband
    speed: 300 Mbps`` (an attribute's name followed by one of its levels), and a code such as
    ``outage_credit`` its label; other words stay as written."""
    attrs = sorted(ctx.data.study.get("attributes", []), key=lambda a: -len(str(a["name"])))
    for a in attrs:
        name, label = str(a["name"]), str(a.get("label") or a["name"])
        levels = sorted((str(v) for v in a.get("levels", [])), key=len, reverse=True)
        if levels:
            alt = "|".join(re.escape(v) for v in levels)
            text = re.sub(rf"(?<![\w]){re.escape(name)} (?=(?:{alt})(?![\w.]))", f"{label}: ", text)
        if "_" in name:
            text = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", label, text)
    return text


def _action_lines(ctx: _Ctx) -> list[str]:
    rows = _rows(ctx.data)
    desc = _descriptions(ctx)
    sums = rows.groupby("action", sort=False)[["contacted", "won_back", "profit"]].sum()
    sums = sums.sort_values("contacted", ascending=False, kind="stable")
    out = []
    for action, r in sums.iterrows():
        a = str(action)
        if a == DO_NOT_CONTACT:
            continue
        what = desc.get(a)
        head = f"{a}: {what[0].upper()}{what[1:]}." if what else f"{a}."
        back = r["won_back"]
        back_words = f"about {count(back)}" if back >= 0.5 else "fewer than one customer"
        out.append(
            f"{head} {_customers(r['contacted'])} contacted, {back_words} expected back, "
            f"profit {big_money(ctx.currency, r['profit'])}."
        )
    return out


_ACTIONS_PRINTED = 4  # actions in words on the printed page (the most contacted first)


def _customers(n: float) -> str:
    """``1 customer``, ``1,080 customers``."""
    return f"{count(n)} customer" + ("" if round(float(n)) == 1 else "s")


def _first_customers(s: _Sheet, ctx: _Ctx, labels: dict[str, str]) -> None:
    t = ctx.data.campaign
    need = {"customer_id", "segment", "action", "contact", "p_return", "profit"}
    if not _present(t) or t is None or not need <= set(t.columns):
        return
    contact = t["contact"].astype(str).str.lower().isin(("true", "1", "yes"))
    top = t[contact].sort_values("profit", ascending=False, kind="stable").head(_FIRST)
    if top.empty:
        return
    cols = ["customer_id", "segment", "action", "p_return", "profit"]
    cols += [c for c in ("profit_lower", "profit_upper") if c in t.columns]
    top = top[cols].assign(segment=[labels.get(str(x), str(x)) for x in top["segment"]])
    s.heading(f"The first {len(top)} customers to contact (highest expected profit; not printed)")
    s.note("The whole list, one row per customer, is target/campaign.csv.")
    s.table(
        top,
        formats={"p_return": PCT, "profit": ctx.money0, "profit_lower": ctx.money0,
                 "profit_upper": ctx.money0},
        labels={"customer_id": "customer", "p_return": "chance of coming back",
                "profit": "expected profit", "profit_lower": "profit from",
                "profit_upper": "profit to"},
    )  # fmt: skip


def _box(ctx: _Ctx, total: pd.Series) -> list[tuple[str, str, bool]]:
    label, result = _result(ctx, total)
    box = [("Whom to contact", _whom(ctx, total), True)]
    box.append(("Control group", _control(ctx, total), False))
    box.append((label, result, True))
    dnc = _not_contacted(ctx)
    if dnc:
        box.append(("Not contacted", dnc, False))
    limits = _limits(ctx)
    if limits:
        box.append(("Limits", limits, False))
    box.append(
        (
            "How we will know",
            "After the campaign, the share of contacted customers who came back is compared "
            "with the share in the control group, segment by segment: the difference is what "
            "the campaign itself won back.",
            False,
        )
    )
    box.append(("Next step", _next_step(), True))
    return box


def _sheet_campaign(ws: Worksheet, ctx: _Ctx) -> None:
    """The Campaign sheet (see the module's description); a note when the plan is unreadable.

    Written twice: first on a scratch sheet to learn the columns' final widths (tables widen
    them for their numbers), then here with those widths, so that the chart is placed where no
    page break cuts it (:func:`_unbroken`).
    """
    scratch = Workbook().active
    assert scratch is not None
    _write(scratch, ctx, _WIDTHS)
    widths = [
        scratch.column_dimensions[get_column_letter(c)].width or w
        for c, w in enumerate(_WIDTHS, start=1)
    ]
    _write(ws, ctx, widths)


def _write(ws: Worksheet, ctx: _Ctx, widths: Sequence[float]) -> None:
    data = ctx.data
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    s = _Sheet(ws, span=len(_WIDTHS), max_width=26)
    s.title(
        "Campaign: whom to win back, with which offer",
        "The plan for the CRM list of lost customers: each customer gets the action expected to "
        "earn the most from them, or is not contacted; a control group is held out to measure "
        "what the campaign achieves.",
    )
    total = campaign_total(data)
    if total is None:
        s.note("Not available: target/campaign_summary.csv is missing or incomplete.")
        s.finish()
        return
    labels = segment_labels(ctx)
    bl = band_label(data.campaign_band)
    what = _segment_what(ctx)
    for name, text, bold in _box(ctx, total):
        _box_row(s, name, text, bold=bold)
    s.blank()

    money0 = ctx.money0
    s.heading(f"By {what}")
    seg = _by_segment(ctx, labels)
    h, _, last = s.table(
        seg,
        formats={**dict.fromkeys(("customers", "contacted", "control", "not_contacted",
                                  "won_back"), INT),
                 "profit": money0},
        labels={"segment": what, "control": "control group", "won_back": "expected won back",
                "profit": "expected profit"},
    )  # fmt: skip
    s.row -= 1
    lines = _action_lines(ctx)
    if lines:
        s.heading("The actions")
        shown = lines[:_ACTIONS_PRINTED]
        if len(lines) > len(shown):
            rest = len(lines) - len(shown)
            shown.append(
                f"{rest} more action{'s' if rest > 1 else ''} with fewer customers: see the "
                "table by action below (not printed)."
            )
        s.bullets(shown)
    s.blank()
    # tall enough for every segment's name (LibreOffice skips labels that do not fit)
    height = max(_CHART_CM[1], 2.5 + 0.8 * (last - h))
    _unbroken(s, height)
    chart = _bar_chart(
        ws,
        data_col=1 + list(seg.columns).index("profit"),
        cat_col=1,
        header=h,
        last=last,
        title=f"Expected profit by {what} ({ctx.currency or 'money'})",
        anchor=f"A{s.row}",
        horizontal=True,
        number_format="#,##0",
    )
    chart.width, chart.height = _CHART_CM[0], height
    chart.x_axis.tickLblSkip = 1  # every segment named, however many
    s.row += math.ceil(height / 2.54 * 72 / LINE_HEIGHT) + 1

    s.note(
        f"Expected won back and profit by {what} and action, each with its {bl}, follow below "
        "in the workbook (not printed)."
    )
    s.end_print()  # the page prints on at most two pages; the detail is for the analyst
    s.blank()
    s.heading(f"By {what} and action, with {bl}s (not printed)")
    detail = _detail(ctx, labels)
    h, first, last = s.table(
        detail,
        formats={
            **dict.fromkeys(("contacted", "won_back", "won_back_lower", "won_back_upper"), INT),
            **dict.fromkeys(("profit", "profit_lower", "profit_upper"), money0),
        },
        labels={"segment": what, "won_back": "expected won back",
                "won_back_lower": "won back from", "won_back_upper": "won back to",
                "profit": "expected profit", "profit_lower": "profit from",
                "profit_upper": "profit to"},
    )  # fmt: skip
    for c in range(1, detail.shape[1] + 1):
        ws.cell(last, c).font = _BOLD
    s.row -= 1
    s.note(
        f"From / to: the {bl} of each figure. Profit: what the customers won back pay "
        f"{_period(ctx)}, minus incentives and contact costs; the control group's is not "
        "counted. The total's band is that of the total itself, not the sum of the rows' "
        "bands."
    )
    s.blank()
    _first_customers(s, ctx, labels)
    s.finish()
