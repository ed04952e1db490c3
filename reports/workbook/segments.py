"""The ``Segments`` page: latent classes as segments leadership can name (``latent_class/`` of
the run folder, written by ``winback fit --model latent-class``).

What the page says, in order: how many segments and how they were chosen; each segment's size
with its band, how many respondents most likely belong to it, what sets it apart (its name, and
the attributes that matter more to it than to the others) and what matters most to it; then,
on a printed page of their own, each segment's attribute importances and the mix of segments
within each main reason for leaving; not printed, how the number of segments was chosen and
how the later stages use the segments. The page is there only when the run has a
latent class fit (:func:`has_segments`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from analysis.latent_summary import class_importances, class_profile
from reports.workbook.context import _Ctx, _label
from reports.workbook.preferences import _reason_labels
from reports.workbook.styles import INT, PCT, _Sheet
from winback.settings import band_label

__all__ = ["SHEET_TITLE", "has_segments", "segment_lines"]

SHEET_TITLE = "Segments"


def has_segments(data: Any) -> bool:
    """A latent class fit of more than one class is in the run (the page is written)."""
    lc = getattr(data, "latent_class", None)
    return lc is not None and lc.n_classes > 1 and lc.study is not None


def _short(label: str) -> str:
    """``class 2 (price-sensitive)`` -> ``price-sensitive`` for text; the plain name as is."""
    return label.split("(", 1)[1].rstrip(")") if "(" in label else label


def segment_lines(data: Any) -> list[str]:
    """One line per segment for other pages: ``class 3 (price-sensitive): 11% (8% to 14%)``."""
    if not has_segments(data):
        return []
    lc = data.latent_class
    sizes = lc.sizes()
    return [
        f"{r.label}: {r.share:.0%} ({r.lower:.0%} to {r.upper:.0%})"
        for r in sizes.itertuples(index=False)
    ]


def _apart(imp: pd.DataFrame, data: Any) -> dict[str, str]:
    """Per class: the (up to two) attributes whose importance is most above the other classes'
    average, at least one point above, with both numbers."""
    wide = imp.pivot(index="attribute", columns="class", values="importance")
    out = {}
    for c in wide.columns:
        others = wide.drop(columns=[c]).mean(axis=1)
        gap = (wide[c] - others).sort_values(ascending=False, kind="stable")
        more = [
            f"{_label(data, str(a))} ({wide.loc[a, c]:.0f}% against {others[a]:.0f}%)"
            for a in gap.index[:2]
            if gap[a] >= 1.0
        ]
        out[str(c)] = " and ".join(more) if more else "no attribute by a point or more"
    return out


def _sheet_segments(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    lc = data.latent_class
    s = _Sheet(ws, span=7, max_width=28)
    settings = data.latent_class_settings or {}
    tried = settings.get("classes") or []
    how = (
        f"{lc.n_classes} segments, the number chosen by BIC among {min(tried)} to {max(tried)}"
        if len(tried) > 1
        else f"{lc.n_classes} segments (the number set by the analyst)"
    )
    band = float(settings.get("band", lc.band))
    s.title(
        "Segments: lost customers who choose alike",
        f"A latent class choice model groups the {lc.n_respondents:,} respondents by how they "
        f"traded features against price in the conjoint: {how}. Sizes are shares of the lost "
        f"customers with their {band_label(band, 'interval')}; they are stated preferences of "
        "the respondents, not counts of the customer base.",
    )
    sizes = lc.sizes()
    imp = class_importances(lc, band=band)
    apart = _apart(imp, data)
    top = imp.loc[imp.groupby("class")["importance"].idxmax()].set_index("class")
    table = pd.DataFrame(
        {
            "segment": sizes["label"],
            "share": sizes["share"],
            "lower": sizes["lower"],
            "upper": sizes["upper"],
            "respondents": sizes["respondents"],
        }
    )
    h, _, last = s.table(
        table,
        formats={"share": PCT, "lower": PCT, "upper": PCT, "respondents": INT},
        labels={"share": "share of lost customers", "lower": "band from", "upper": "band to",
                "respondents": "respondents most likely in it"},
    )  # fmt: skip
    _top(s, h, last, table.shape[1])
    s.row -= 1
    s.bullets(
        [
            f"{label} cares more than the other segments about {apart[c]}; "
            f"{_label(data, str(top.loc[c, 'attribute']))} decides most "
            f"({top.loc[c, 'importance']:.0f}%)."
            for c, label in zip(sizes["class"], sizes["label"], strict=True)
        ]
    )
    s.row += 1

    s.ws.row_breaks.append(Break(id=s.row - 1))  # the two tables on a printed page of their own
    s.heading("What decides for each segment (importance: share of the utility range)")
    wide = imp.pivot(index="label", columns="attribute", values="importance")
    order = [a["name"] for a in data.study.get("attributes", []) if a["name"] in wide.columns]
    wide = wide.reindex(index=list(sizes["label"]), columns=order or list(wide.columns)) / 100
    names = {a: _label(data, str(a)) for a in wide.columns}
    wide = wide.rename(columns=names)
    wide.insert(0, "segment", list(wide.index))
    h, _, last = s.table(wide.reset_index(drop=True), formats=dict.fromkeys(names.values(), PCT))
    _top(s, h, last, wide.shape[1])

    resp = lc.respondents
    if resp is not None and "main_reason" in resp.columns:
        prof = class_profile(lc, "main_reason")
        labels = _reason_labels(ctx)
        heads = [
            f"all respondents ({n:,})" if v == "all" else f"{labels.get(str(v), str(v))} ({n:,})"
            for v, n in zip(prof["value"], prof["respondents"], strict=True)
        ]
        mix = prof[list(sizes["label"])].T
        mix.columns = heads
        mix.insert(0, "segment", list(mix.index))
        s.heading(
            "The segments within each main reason for leaving (share of its respondents, "
            "their number in brackets)"
        )
        h, _, last = s.table(mix.reset_index(drop=True), formats=dict.fromkeys(heads, PCT))
        _top(s, h, last, mix.shape[1])
    s.end_print()
    _how_used(s, lc, data.latent_class_selection)
    s.finish()


def _top(s: _Sheet, header: int, last: int, n_cols: int) -> None:
    """A table's numbers on the first line of a wrapped segment name beside them."""
    for row in s.ws.iter_rows(min_row=header + 1, max_row=last, max_col=n_cols):
        for cell in row:
            cell.alignment = Alignment(wrap_text=cell.alignment.wrap_text, vertical="top")


def _how_used(s: _Sheet, lc: Any, selection: pd.DataFrame | None) -> None:
    """Not printed: how the segments were chosen and how the later stages use them."""
    s.heading("How the number of segments was chosen")
    if selection is not None and not selection.empty:
        cols = [c for c in ("classes", "log_likelihood", "n_parameters", "bic", "caic",
                            "entropy_r2", "smallest_class", "chosen") if c in selection.columns]  # fmt: skip
        s.table(
            selection[cols],
            formats={"log_likelihood": "#,##0.0", "bic": "#,##0.0", "caic": "#,##0.0",
                     "entropy_r2": "0.00", "smallest_class": PCT},
            labels={"log_likelihood": "log-likelihood", "n_parameters": "parameters",
                    "bic": "BIC", "caic": "CAIC", "entropy_r2": "entropy R²",
                    "smallest_class": "smallest segment"},
        )  # fmt: skip
    stats = lc.statistics()
    s.para(
        f"Chosen: {lc.n_classes} segments (BIC {stats['bic']:,.1f}, CAIC {stats['caic']:,.1f}); "
        f"entropy R² {stats['entropy_r2']:.2f} says how cleanly respondents fall into one "
        "segment (1: each surely in one; below about 0.6 the segments overlap and a "
        "respondent's segment is a guess). Each segment is named after the part-worth that "
        "differs most from the other segments; read the part-worths (latent_class/classes.csv) "
        "before giving a segment a name of your own."
    )
    covs = getattr(getattr(lc, "class_model", None), "covariate_names", None)
    s.para(
        "The later stages take the segments as the respondent column latent_class: winback "
        "simulate, recommend and target --segment latent_class give shares, offers and the "
        "campaign per segment, the HB part-worths staying the simulator's model."
        + (
            " Customers of the CRM list who were not surveyed get the segment most probable "
            f"for their {', '.join(map(str, covs))} (a multinomial logit of the segment sizes "
            "on them, estimated with the segments)."
            if covs
            else " Without a model of the segment sizes on customer data, customers who were "
            "not surveyed get the largest segment."
        )
    )
    if not np.isfinite(stats["entropy_r2"]):
        s.note("Entropy R² could not be computed for this fit.")
