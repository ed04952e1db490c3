"""The live simulator's hidden sheets: ``Levels`` (lists, tables, product rows, respondents) and
``Utilities`` (the stored draws, one row per draw and respondent, and the per-draw block).

What the formulas compute, for stored draw ``d``, respondent ``i`` and product ``j`` on the
market (``x_j`` its design row from the levels picked on the ``Simulator``, ``b_di`` the stored
part-worths: calibrated and times the exponent, see :meth:`LiveSample.stored_beta`):

- ``Utilities``: ``e_dij = EXP(b_di . x_j)`` with ``x_j``'s none entry ``-1`` (the utility
  relative to none), 0 for a product switched off, and ``1 / (1 + sum_j e_dij)``;
- the per-draw block: ``p_dj = a_j sum_i w_i e_dij / (1 + sum_k e_dik) / sum_i w_i`` over the
  respondents in view (``a_j``: the availability for our products when calibrated, else 1),
  none ``1 - sum_j p_dj``, our products together, and customers, revenue and profit per year
  (``docs/decision.md``) or the objective per lost customer.

This is the logit rule of :func:`analysis.simulate` and the calibrated shares of
:meth:`analysis.CalibratedDraws.share_draws` on the stored draws.
"""

from __future__ import annotations

from typing import Any

from conjoint.encoding import make_encoding
from reports.live_layout import (
    LEVELS,
    SIMULATOR,
    LiveLayout,
    cell,
    col,
    sorted_levels,
    span,
)
from reports.live_sample import ALL, LiveSample
from reports.live_text import set_text, text_is_plain

__all__ = ["write_levels", "write_utilities"]


def _owner(enc: Any, n_attr: int) -> dict[int, int]:
    """Parameter index -> the attribute whose levels set it."""
    out: dict[int, int] = {}
    for a in range(n_attr):
        for k in (enc.tables[a] != 0).any(axis=0).nonzero()[0]:
            out[int(k)] = a
    return out


def _interp(value_range: str, pos: str, weight: str | None) -> str:
    """A table column at a level position (``weight``: interpolated with the next level)."""
    if weight is None:
        return f"INDEX({value_range},{pos})"
    return f"(INDEX({value_range},{pos})*(1-{weight})+INDEX({value_range},{pos}+1)*{weight})"


def write_levels(lv: Any, sample: LiveSample, lay: LiveLayout) -> None:
    """The ``Levels`` sheet: dropdown lists, encoding and cost tables, one design row per
    product (formulas of the ``Simulator``'s inputs), per-product money, the respondents."""
    study = sample.study
    enc = make_encoding(study)
    names = list(enc.names)
    costs = study.costs.as_dict() if study.costs is not None else {}
    set_text(lv.cell(1, 1), "attribute")
    set_text(lv.cell(1, 2), "levels (the dropdowns list these)")
    for a, attr in enumerate(study.attributes):
        set_text(lv.cell(lay.list_row(a), 1), attr.name)
        for j, v in enumerate(attr.levels):
            set_text(lv.cell(lay.list_row(a), 2 + j), float(v) if attr.numeric else str(v))
    segs = [ALL, *sorted(set(sample.segments))]
    set_text(lv.cell(lay.segment_list_row, 1), "segments (the filter's choices)")
    for j, s in enumerate(segs):
        set_text(lv.cell(lay.segment_list_row, 2 + j), s)

    # the encoding table: one row per level (numeric attributes ascending), the unit cost last
    head = lay.enc_rows[0][0] - 1
    set_text(lv.cell(head, 1), "attribute")
    set_text(lv.cell(head, 2), "level")
    for k, n in enumerate(names):
        set_text(lv.cell(head, lay.param_col(k)), n)
    set_text(lv.cell(head, lay.cost_col), "cost of the level")
    for a, attr in enumerate(study.attributes):
        level_cost = costs.get(attr.name) if attr.name != study.price_attribute else None
        for i, li in enumerate(sorted_levels(attr.levels, attr.numeric)):
            r = lay.enc_rows[a][0] + i
            v = attr.levels[li]
            set_text(lv.cell(r, 1), attr.name)
            set_text(lv.cell(r, 2), float(v) if attr.numeric else str(v))
            for k in range(len(names)):
                lv.cell(r, lay.param_col(k), float(enc.tables[a][li, k]))
            lv.cell(r, lay.cost_col, float(level_cost[li]) if level_cost else 0.0)

    # one design row per product, from the Simulator's inputs
    owner = _owner(enc, len(study.attributes))
    pr0 = lay.product_row0
    for c, text in (
        (1, "product"),
        (2, "on the market (1 = yes)"),
        (3, "share multiplier (ours: the availability)"),
    ):
        set_text(lv.cell(pr0, c), text)
    for k, n in enumerate(names):
        set_text(lv.cell(pr0, lay.x_col(k)), f"x: {n}")
    set_text(lv.cell(pr0, lay.unit_cost_col), "unit cost")
    for a, attr in enumerate(study.attributes):
        set_text(lv.cell(pr0, lay.helper_col(a)), f"{attr.name}: level position")
        if attr.numeric:
            set_text(lv.cell(pr0, lay.helper_col(a) + 1), f"{attr.name}: weight of the next")
    reach = cell(2, lay.business_rows["reach"], SIMULATOR)
    for p, prod in enumerate(sample.products):
        r = lay.product_row(p)
        pc = lay.product_col(p)
        set_text(lv.cell(r, 1), prod.name)
        lv.cell(r, 2, f'=IF({cell(pc, lay.on_row, SIMULATOR)}="Yes",1,0)')
        lv.cell(r, 3, f"={reach}" if prod.own else 1.0)
        pos: dict[int, tuple[str, str | None]] = {}
        for a, attr in enumerate(study.attributes):
            given = cell(pc, lay.attr_row(a), SIMULATOR)
            h = lay.helper_col(a)
            e0, e1 = lay.enc_rows[a]
            if attr.numeric:
                lvals = span(2, e0, 2, e1)
                lv.cell(r, h, f"=MIN(MATCH({given},{lvals},1),{attr.n_levels - 1})")
                hp = cell(h, r)
                lv.cell(
                    r,
                    h + 1,
                    f"=({given}-INDEX({lvals},{hp}))/(INDEX({lvals},{hp}+1)-INDEX({lvals},{hp}))",
                )
                pos[a] = (hp, cell(h + 1, r))
            else:
                lst = span(2, lay.list_row(a), 1 + attr.n_levels, lay.list_row(a))
                lv.cell(r, h, f"=MATCH({given},{lst},0)")
                pos[a] = (cell(h, r), None)
        for k, n in enumerate(names):
            if k in owner:
                a = owner[k]
                e0, e1 = lay.enc_rows[a]
                pc_k = lay.param_col(k)
                lv.cell(r, lay.x_col(k), "=" + _interp(span(pc_k, e0, pc_k, e1), *pos[a]))
            elif n == "none":
                lv.cell(r, lay.x_col(k), -1.0 if sample.today.none else 0.0)
            elif n == "status_quo":
                lv.cell(r, lay.x_col(k), 1.0 if prod.status_quo else 0.0)
            else:
                lv.cell(r, lay.x_col(k), 0.0)
        if study.costs is not None:
            terms = [repr(float(study.costs.base))]
            for a, attr in enumerate(study.attributes):
                if attr.name in costs and attr.name != study.price_attribute:
                    e0, e1 = lay.enc_rows[a]
                    terms.append(_interp(span(lay.cost_col, e0, lay.cost_col, e1), *pos[a]))
            lv.cell(r, lay.unit_cost_col, "=" + "+".join(terms))

    _per_product(lv, sample, lay)
    _respondents(lv, sample, lay)


def _price_cell(sample: LiveSample, lay: LiveLayout, p: int) -> str | None:
    pa = sample.study.price_attribute
    if pa is None:
        return None
    a = sample.study.attribute_names.index(pa)
    return cell(lay.product_col(p), lay.attr_row(a), SIMULATOR)


def _per_product(lv: Any, sample: LiveSample, lay: LiveLayout) -> None:
    """Per product, in the Simulator's column order: ours (1/0), the money per customer of the
    formulas of docs/decision.md, the objective per lost customer."""
    rows = lay.per_product_rows
    set_text(lv.cell(rows["own"] - 1, 1), "per product (the Simulator's columns)")
    labels = {
        "own": "ours (1 = yes)",
        "profit": "ours: margin x months paid - incentive",
        "revenue": "ours: price x months paid",
        "value": f"ours: {sample.objective} per customer per month",
    }
    for k, r in rows.items():
        set_text(lv.cell(r, 1), labels[k])
    bus = lay.business_rows
    for p, prod in enumerate(sample.products):
        c = 2 + p
        set_text(lv.cell(rows["own"] - 1, c), prod.name)
        lv.cell(rows["own"], c, 1.0 if prod.own else 0.0)
        price = _price_cell(sample, lay, p)
        cost = cell(lay.unit_cost_col, lay.product_row(p))
        if not prod.own:
            for k in ("profit", "revenue", "value"):
                lv.cell(rows[k], c, 0.0)
            continue
        if lay.money:
            months = cell(2, bus["months_retained"], SIMULATOR)
            margin = cell(lay.product_col(p), lay.margin_row, SIMULATOR)
            incentive = cell(2, bus["incentive"], SIMULATOR)
            lv.cell(rows["profit"], c, f"={margin}*{months}-{incentive}")
            lv.cell(rows["revenue"], c, f"={price}*{months}" if price else 0.0)
        if sample.objective == "share" or price is None:
            lv.cell(rows["value"], c, 1.0 if sample.objective == "share" else 0.0)
        elif sample.objective == "revenue" or sample.study.costs is None:
            lv.cell(rows["value"], c, f"={price}")
        else:
            lv.cell(rows["value"], c, f"={price}-{cost}")


def _respondents(lv: Any, sample: LiveSample, lay: LiveLayout) -> None:
    h = lay.resp_head
    for c, text in enumerate(
        ("respondent_id", sample.segment or "segment", "weight", "weight in view"), start=1
    ):
        set_text(lv.cell(h, c), text)
    set_text(lv.cell(h, 5), "weight in view, all")
    set_text(lv.cell(h + 1, 5), "respondents in view")
    r0, r1 = lay.resp_rows
    lv.cell(h, 6, f"=SUM({span(4, r0, 4, r1)})")
    lv.cell(h + 1, 6, f'=COUNTIF({span(4, r0, 4, r1)},">0")')
    seg = cell(2, lay.segment_row, SIMULATOR)
    for i, rid in enumerate(sample.draws.respondent_ids):
        r = r0 + i
        set_text(lv.cell(r, 1), str(rid))
        lv.cell(r, 3, float(sample.weights[i]))
        if sample.segments:
            set_text(lv.cell(r, 2), sample.segments[i])
            lv.cell(r, 4, f'=IF(OR({seg}="{ALL}",B{r}={seg}),C{r},0)')
        else:
            lv.cell(r, 4, f"=C{r}")


def write_utilities(ut: Any, sample: LiveSample, lay: LiveLayout) -> None:
    """The ``Utilities`` sheet: the stored draws (one row per draw and respondent) with each
    product's exponentiated utility relative to none, then the per-draw block."""
    names = list(sample.draws.names)
    n_k, n_p, n_r, n_s = lay.n_params, lay.n_products, lay.n_respondents, lay.n_draws
    header: list[Any] = ["stored draw", "respondent_id", *names]
    header += [f"exp(utility - none): {p.name}" for p in sample.products]
    header += ["1 / (1 + sum of exp)" if lay.none else "1 / sum of exp", None]
    block: list[Any] = ["stored draw", "posterior draw", "scale", "none shift"]
    block += [p.name for p in sample.products] + (["none"] if lay.none else [None])
    block += ["our products together"]
    block += (
        ["customers", "revenue per year", "profit per year"]
        if lay.money
        else [f"{sample.objective} per lost customer"]
    )
    for c, h in enumerate(header + block, start=1):
        if h is not None:
            set_text(ut.cell(1, c), h)

    beta = sample.stored_beta()
    ids = [str(i) for i in sample.draws.respondent_ids]
    plain = [text_is_plain(i) for i in ids]
    b_first, b_last = col(lay.beta_col(0)), col(lay.beta_col(n_k - 1))
    e_first, e_last = col(lay.exp_col(0)), col(lay.exp_col(n_p - 1))
    on = [cell(2, lay.product_row(p), LEVELS) for p in range(n_p)]
    xs = [span(lay.x_col(0), lay.product_row(p), lay.x_col(n_k - 1), lay.product_row(p), LEVELS)
          for p in range(n_p)]  # fmt: skip
    inv = "=1/(1+SUM({0}{1}:{2}{1}))" if lay.none else "=1/SUM({0}{1}:{2}{1})"
    draw_rows = _draw_block(sample, lay)
    for s in range(n_s):
        for i in range(n_r):
            r = lay.data_row(s, i)
            row: list[Any] = [s + 1, ids[i] if plain[i] else None, *beta[s, i].tolist()]
            row += [
                f"={on[p]}*EXP(SUMPRODUCT(${b_first}{r}:${b_last}{r},{xs[p]}))" for p in range(n_p)
            ]
            row.append(inv.format(e_first, r, e_last))
            if r - 2 < len(draw_rows):
                row += [None, *draw_rows[r - 2]]
            ut.append(row)
            if not plain[i]:
                set_text(ut.cell(r, 2), ids[i])


def _draw_block(sample: LiveSample, lay: LiveLayout) -> list[list[Any]]:
    """The per-draw rows: the draw's numbers, then its shares and figures (formulas)."""
    n_p = lay.n_products
    r0, r1 = lay.resp_rows
    w = span(4, r0, 4, r1, LEVELS)
    total_w = lay.weight_sum_cell
    bus = lay.business_rows
    pp = lay.per_product_rows
    cal = sample.calibration
    out = []
    for s in range(sample.n_draws):
        a, b = lay.data_row(s, 0), lay.data_row(s, lay.n_respondents - 1)
        r = 2 + s
        inv = f"${col(lay.inv_col)}${a}:${col(lay.inv_col)}${b}"
        row: list[Any] = [
            s + 1,
            int(sample.draw_index[s]) + 1,
            float(cal.scale[s]) if cal is not None else 1.0,
            float(cal.shift[s]) if cal is not None else 0.0,
        ]
        for p in range(n_p):
            e = f"${col(lay.exp_col(p))}${a}:${col(lay.exp_col(p))}${b}"
            mult = cell(3, lay.product_row(p), LEVELS)
            row.append(f"={mult}*SUMPRODUCT({w},{e},{inv})/{total_w}")
        shares = f"{col(lay.draw_share_col(0))}{r}:{col(lay.draw_share_col(n_p - 1))}{r}"
        row.append(f"=1-SUM({shares})" if lay.none else None)

        def per(key: str) -> str:
            return span(2, pp[key], 1 + n_p, pp[key], LEVELS)

        row.append(f"=SUMPRODUCT({shares},{per('own')})")
        if lay.money:
            n = cell(2, bus["lost_customers"], SIMULATOR)
            h = cell(2, bus["horizon_months"], SIMULATOR)
            contact = cell(2, bus["contact_cost"], SIMULATOR)
            reach = cell(2, bus["reach"], SIMULATOR)
            scope = f"{n}*{total_w}"
            own = f"{col(lay.draw_measure_col('own'))}{r}"
            row.append(f"={scope}*{own}")
            row.append(f"={scope}*SUMPRODUCT({shares},{per('revenue')})*12/{h}")
            row.append(
                f"=({scope}*SUMPRODUCT({shares},{per('profit')})-{contact}*{scope}*{reach})*12/{h}"
            )
        else:
            row.append(f"=SUMPRODUCT({shares},{per('value')})")
        out.append(row)
    return out
