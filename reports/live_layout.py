"""Where every cell of the live simulator sits: one :class:`LiveLayout` computed from the sample.

The three sheets refer to each other's cells (the ``Simulator``'s inputs drive ``Levels``' product
rows, which drive the per-row formulas of ``Utilities``, whose per-draw block the ``Simulator``
summarises), so their row and column numbers are decided here, once, before any cell is written.
Tests use the same layout to find the input and result cells.

``Simulator`` (the page the reader uses): products in columns from B, none of these after them;
``Levels`` (hidden): the dropdown lists, the encoding and cost tables, one row per product (its
design row, computed from the inputs), the per-product money rows, the respondents with their
segment and weight; ``Utilities`` (hidden): one row per stored draw and respondent, then the
per-draw block at the right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from openpyxl.utils import get_column_letter

from conjoint.encoding import make_encoding
from reports.live_sample import LiveSample
from winback.errors import WinbackError

__all__ = ["LEVELS", "SIMULATOR", "UTILITIES", "LiveLayout", "cell", "col"]

SIMULATOR, UTILITIES, LEVELS = "Simulator", "Utilities", "Levels"


def col(c: int) -> str:
    """Column letter of column number ``c`` (1 = A)."""
    return get_column_letter(c)


def cell(c: int, r: int, sheet: str | None = None, *, fixed: bool = True) -> str:
    """A cell reference (``Levels!$C$12``; ``fixed=False``: ``C12``)."""
    ref = f"${col(c)}${r}" if fixed else f"{col(c)}{r}"
    return f"{sheet}!{ref}" if sheet else ref


def span(c0: int, r0: int, c1: int, r1: int, sheet: str | None = None) -> str:
    """A fixed range reference (``Utilities!$C$2:$C$101``)."""
    ref = f"${col(c0)}${r0}:${col(c1)}${r1}"
    return f"{sheet}!{ref}" if sheet else ref


#: the measures of "our products together", in order (key, the sample's figure key)
_MONEY = ("customers", "revenue_year", "profit_year")


@dataclass(frozen=True)
class LiveLayout:
    """Row and column numbers of the live simulator's three sheets (1-based)."""

    n_products: int
    n_attributes: int
    n_params: int
    n_draws: int
    n_respondents: int
    none: bool
    money: bool  # [business]: customers, revenue and profit per year
    # Simulator
    segment_row: int = 5
    n_view_row: int = 6
    head_row: int = 8
    on_row: int = 9
    ours_row: int = 10
    attr_row0: int = 11
    margin_row: int = 0
    share_row: int = 0
    total_rows: dict[str, int] = field(default_factory=dict)
    decision_rows: dict[str, int] = field(default_factory=dict)
    business_rows: dict[str, int] = field(default_factory=dict)
    notes_row: int = 0
    # Levels
    list_row0: int = 2
    segment_list_row: int = 0
    enc_rows: tuple[tuple[int, int], ...] = ()  # per attribute: first and last row
    product_row0: int = 0
    per_product_rows: dict[str, int] = field(default_factory=dict)
    resp_head: int = 0

    @classmethod
    def of(cls, sample: LiveSample) -> LiveLayout:
        """The layout of ``sample``'s sheets."""
        study = sample.study
        enc = make_encoding(study)
        if list(enc.names) != list(sample.draws.names):
            raise WinbackError("The part-worths do not belong to this study (parameters differ).")
        n_attr = len(study.attributes)
        money = study.business is not None and any(p.own for p in sample.products)
        attr_end = 11 + n_attr
        margin_row = attr_end if money else 0
        share_row = (margin_row or attr_end - 1) + 2
        r = share_row + 4  # share, lower, upper; a blank row
        total_rows = {"own": r + 1}
        keys = (*_MONEY,) if money else ("value",)
        for i, k in enumerate(keys):
            total_rows[k] = r + 2 + i
        r = max(total_rows.values()) + 2
        decision_rows = {k: r + 1 + i for i, k in enumerate(total_rows)}
        r = max(decision_rows.values()) + 2
        bkeys = ("lost_customers", "months_retained", "horizon_months", "incentive",
                 "contact_cost") if money else ()  # fmt: skip
        business_rows = {k: r + 1 + i for i, k in enumerate((*bkeys, "reach"))}
        notes_row = max(business_rows.values()) + 2
        # Levels
        seg_list = 2 + n_attr + 1
        enc_rows = []
        e = seg_list + 3
        for a in study.attributes:
            enc_rows.append((e, e + a.n_levels - 1))
            e += a.n_levels
        product_row0 = e + 3
        pp = product_row0 + len(sample.products) + 2
        per_product = {k: pp + 1 + i for i, k in enumerate(("own", "profit", "revenue", "value"))}
        resp_head = max(per_product.values()) + 3
        return cls(
            n_products=len(sample.products),
            n_attributes=n_attr,
            n_params=len(enc.names),
            n_draws=sample.n_draws,
            n_respondents=sample.draws.n_respondents,
            none=bool(sample.today.none),
            money=money,
            margin_row=margin_row,
            share_row=share_row,
            total_rows=total_rows,
            decision_rows=decision_rows,
            business_rows=business_rows,
            notes_row=notes_row,
            segment_list_row=seg_list,
            enc_rows=tuple(enc_rows),
            product_row0=product_row0,
            per_product_rows=per_product,
            resp_head=resp_head,
        )

    # -- Simulator ---------------------------------------------------------------------------
    def product_col(self, p: int) -> int:
        return 2 + p

    @property
    def none_col(self) -> int:
        return 2 + self.n_products

    def attr_row(self, a: int) -> int:
        return self.attr_row0 + a

    @property
    def lower_row(self) -> int:
        return self.share_row + 1

    @property
    def upper_row(self) -> int:
        return self.share_row + 2

    # -- Levels --------------------------------------------------------------------------------
    def list_row(self, a: int) -> int:
        return self.list_row0 + a

    def param_col(self, k: int) -> int:
        """Column of parameter ``k`` in the encoding table (cost follows the last)."""
        return 3 + k

    @property
    def cost_col(self) -> int:
        return 3 + self.n_params

    def product_row(self, p: int) -> int:
        return self.product_row0 + 1 + p

    def x_col(self, k: int) -> int:
        """Column of parameter ``k`` in a product's design row (``K`` then the unit cost)."""
        return 4 + k

    @property
    def unit_cost_col(self) -> int:
        return 4 + self.n_params

    def helper_col(self, a: int) -> int:
        """Attribute ``a``'s level position (numeric: the lower tested value) in a product row;
        its interpolation weight is in the next column."""
        return 5 + self.n_params + 2 * a

    @property
    def resp_row0(self) -> int:
        return self.resp_head + 1

    @property
    def resp_rows(self) -> tuple[int, int]:
        return self.resp_row0, self.resp_row0 + self.n_respondents - 1

    @property
    def weight_sum_cell(self) -> str:
        return cell(6, self.resp_head, LEVELS)

    @property
    def count_cell(self) -> str:
        return cell(6, self.resp_head + 1, LEVELS)

    # -- Utilities -----------------------------------------------------------------------------
    def data_row(self, s: int, r: int) -> int:
        """Row of stored draw ``s``, respondent ``r`` (0-based)."""
        return 2 + s * self.n_respondents + r

    def beta_col(self, k: int) -> int:
        return 3 + k

    def exp_col(self, p: int) -> int:
        return 3 + self.n_params + p

    @property
    def inv_col(self) -> int:
        return 3 + self.n_params + self.n_products

    @property
    def draw_col0(self) -> int:
        """First column of the per-draw block (draw no., posterior draw, scale, none shift,
        then the shares, none, our products, the money or the objective)."""
        return self.inv_col + 2

    def draw_share_col(self, p: int) -> int:
        return self.draw_col0 + 4 + p

    @property
    def draw_none_col(self) -> int:
        return self.draw_col0 + 4 + self.n_products

    def draw_measure_col(self, key: str) -> int:
        keys = ["own", *(_MONEY if self.money else ("value",))]
        return self.draw_none_col + 1 + keys.index(key)

    @property
    def draw_rows(self) -> tuple[int, int]:
        return 2, 1 + self.n_draws

    def draw_range(self, c: int) -> str:
        r0, r1 = self.draw_rows
        return span(c, r0, c, r1, UTILITIES)


def sorted_levels(values: tuple[object, ...], numeric: bool) -> np.ndarray:
    """The order the encoding table lists an attribute's levels: ascending for a numeric
    attribute (interpolation looks them up in order), as in the study otherwise."""
    if numeric:
        return np.argsort(np.asarray(values, dtype=float), kind="stable")
    return np.arange(len(values))
