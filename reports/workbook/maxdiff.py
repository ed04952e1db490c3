"""The MaxDiff of reasons on the ``Reasons`` page, and page one's words about it.

When the run folder has ``maxdiff/`` (``winback fit`` with ``maxdiff.csv`` in the import
folder), the ``Reasons`` page adds which reasons weighed most when customers ranked them
against each other: each reason's average probability score (the scores share 100 points, a
ratio scale) with its band, a bar chart, the share of respondents ranking it first, a one-line
reading, the number of respondents and whether the estimate can be relied on; page one's "Why
they left" line names the reason that weighed most.
"""

from __future__ import annotations

import math

import pandas as pd
from openpyxl.worksheet.pagebreak import Break

from reports.workbook.context import _Ctx, _present
from reports.workbook.facts import ReportData
from reports.workbook.styles import NUM1, PCT, _bar_chart, _Sheet
from surveys.reasons import REASON_LABELS
from winback.settings import band_label

#: what population.csv must hold for the block
NEEDED = ("item", "score", "score_lower", "score_upper", "first_share", "rank")
#: the bar chart's least height and its height per reason (cm), and a row's default (cm)
CHART_CM = 6.5
BAR_CM = 0.55
ROW_CM = 15 / 72 * 2.54


def has_maxdiff(data: ReportData) -> bool:
    """Whether the run has a MaxDiff to show (``maxdiff/population.csv`` with its columns)."""
    pop = data.maxdiff_population
    return _present(pop) and pop is not None and set(NEEDED) <= set(pop.columns)


def _labels(data: ReportData) -> dict[str, str]:
    """Each item's label: as the reasons' table of the import names the reason (the same words
    as the shares above it), else as ``population.csv`` has it, else winback's default."""
    pop = data.maxdiff_population
    assert pop is not None
    out = {str(i): REASON_LABELS.get(str(i), str(i)) for i in pop["item"]}
    if "label" in pop.columns:
        out |= {str(i): str(x) for i, x in zip(pop["item"], pop["label"], strict=True) if str(x)}
    rs = data.reasons
    if _present(rs) and rs is not None and {"reason", "label"} <= set(rs.columns):
        known = dict(zip(rs["reason"].astype(str), rs["label"].astype(str), strict=True))
        out |= {i: known[i] for i in out if known.get(i)}
    return out


def maxdiff_table(data: ReportData) -> pd.DataFrame:
    """The reasons by average score, most important first: ``label, score, score_lower,
    score_upper, first_share`` (labels by :func:`_labels`)."""
    pop = data.maxdiff_population
    assert pop is not None
    t = pop.sort_values(["rank", "score"], ascending=[True, False], kind="stable").copy()
    labels = _labels(data)
    t["label"] = [labels[str(i)] for i in t["item"]]
    cols = ["label", "score", "score_lower", "score_upper", "first_share"]
    return t[cols].reset_index(drop=True)


def _n_respondents(data: ReportData) -> int | None:
    for source in (data.maxdiff_convergence or {}, data.maxdiff_settings):
        n = source.get("n_respondents")
        if isinstance(n, int | float):
            return int(n)
    return None


def verdict_words(data: ReportData) -> str:
    """Whether the MaxDiff's estimate can be relied on, in plain words."""
    v = str((data.maxdiff_convergence or {}).get("verdict", "")).lower()
    if v == "pass":
        return "The estimate is stable: every check of the sampling passed."
    if v == "warn":
        return (
            "The estimate is usable, but some checks of the sampling gave warnings: check "
            "them before a final decision."
        )
    if v == "fail":
        return (
            "NOT reliable yet: the sampling did not settle. Rerun the fit with more draws "
            "before relying on these scores."
        )
    return "Whether the estimate settled is not recorded in this run."


def reading(t: pd.DataFrame) -> str:
    """The one-line reading of the scores: what a ratio scale means, with this run's numbers."""
    n = len(t)
    top, low = t.iloc[0], t.iloc[-1]
    line = (
        f"The scores share 100 points among the {n} reasons ({100 / n:.1f} each if all weighed "
        "the same), on a ratio scale: a score of 20 weighed twice as much as a score of 10."
    )
    if float(low["score"]) > 0:
        ratio = float(top["score"]) / float(low["score"])
        line += (
            f" {top['label']} ({top['score']:.1f}) weighed about {ratio:.1f} times as much as "
            f"{_lower_first(str(low['label']))} ({low['score']:.1f})."
        )
    return line


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def maxdiff_block(s: _Sheet, ctx: _Ctx) -> None:
    """The MaxDiff block of the ``Reasons`` page (nothing when the run has no MaxDiff)."""
    data = ctx.data
    if not has_maxdiff(data):
        return
    t = maxdiff_table(data)
    band = band_label(data.maxdiff_band, "band")
    # the block on a printed page of its own (its chart is not cut by a page break)
    s.ws.row_breaks.append(Break(id=s.row - 1))
    s.heading(f"Which reasons weighed most, each against the others (average score, {band})")
    s.para(
        "Customers saw the reasons a few at a time and picked the most and the least important "
        "of each set; their choices give each reason a score per customer. " + reading(t)
    )
    h, _, last = s.table(
        t,
        formats={"score": NUM1, "score_lower": NUM1, "score_upper": NUM1, "first_share": PCT},
        labels={"label": "reason for leaving", "score": "average score (of 100)",
                "score_lower": "band from", "score_upper": "band to",
                "first_share": "share ranking it first"},
    )  # fmt: skip
    chart = _bar_chart(
        s.ws,
        data_col=2,
        cat_col=1,
        header=h,
        last=last,
        title="Which reasons weighed most (average score of 100)",
        anchor=f"A{s.row}",
        horizontal=True,
        number_format="0",
    )
    chart.x_axis.tickLblSkip = 1  # every reason named, however many
    chart.height = max(CHART_CM, BAR_CM * len(t) + 2.0)
    s.row += math.ceil(chart.height / ROW_CM) + 1
    n = _n_respondents(data)
    who = f"From {n:,} respondents' choices. " if n is not None else ""
    s.note(who + verdict_words(data))
    s.ws.row_breaks.append(Break(id=s.row - 1))  # the main reason and the quotes follow


def maxdiff_why(data: ReportData) -> str | None:
    """Page one's sentence on the reason that weighed most (None without a MaxDiff)."""
    if not has_maxdiff(data):
        return None
    top = maxdiff_table(data).iloc[0]
    text = (
        f"Ranked against each other, {_lower_first(str(top['label']))} weighed most (score "
        f"{top['score']:.0f} of 100; first for {top['first_share']:.0%} of customers)"
    )
    v = str((data.maxdiff_convergence or {}).get("verdict", "")).lower()
    return text + (", an estimate not yet reliable." if v == "fail" else ".")
