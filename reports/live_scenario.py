"""The scenario the live simulator sheet opens on, and its segments.

The recommended action of ``recommend/decision.csv`` is rebuilt as a market from the search
tables (``offers.csv``, ``tiers.csv``, ``unbundling.csv``): the offer, the tier menu or the
entry menu in place of today's product, which stays in the sheet switched off. The segment
filter's values are a respondent answer in words (the reasons' labels for the main reason).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from analysis.simulator import Market, PartWorthDraws, Product
from winback.errors import WinbackError
from winback.study import Study

__all__ = ["NO_ANSWER", "Opening", "columns", "opening", "segments"]

NO_ANSWER = "(no answer)"


def _levels(study: Study, row: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in study.attributes:
        if a.name not in row:
            raise WinbackError(f"{where}: no column {a.name!r}.")
        v = row[a.name]
        if a.numeric:
            out[a.name] = float(v)
            continue
        i = a.index_of(str(v))
        if i < 0:
            raise WinbackError(f"{where}: {a.name} = {v!r} is not a level of the study.")
        out[a.name] = a.levels[i]
    return out


def _is_true(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Opening:
    """The recommended action as the sheet opens on it."""

    name: str
    kind: str
    description: str
    market: Market
    off: tuple[Product, ...]  # today's products the action takes off the market
    note: str


def opening(
    study: Study,
    today: Market,
    product: str | None,
    decision: pd.DataFrame | None,
    tables: Mapping[str, pd.DataFrame | None],
) -> Opening:
    """The recommended action's market, rebuilt from the decision and the search tables."""
    own = [p for p in today.products if p.own]
    if decision is None or decision.empty or "recommended" not in decision.columns:
        return Opening(
            "Today's offer", "keep", "today's market", today, (),
            "This run has no decision (recommend/decision.csv): the sheet opens on today's "
            "market.",
        )  # fmt: skip
    rec = decision[decision["recommended"].map(_is_true)].iloc[0]
    name, kind = str(rec["action"]), str(rec["kind"])
    desc = str(rec.get("description", ""))
    replaced = product or (own[0].name if own else None)
    if kind in ("keep", "no campaign") or replaced is None:
        note = f"The sheet opens on the recommendation: {name} ({desc})."
        if kind == "no campaign":  # the sheet shows today's offers, as the decision does
            keep = decision[decision["kind"].astype(str) == "keep"]
            name = str(keep["action"].iloc[0]) if len(keep) else "Today's offer"
            note = (
                "The recommendation is no campaign; the sheet opens on today's offers (the "
                f"campaign's alternative, '{name}' on the decision page)."
            )
        return Opening(name, kind, desc, today, (), note)
    old = today.product(replaced)
    if kind == "offer":
        offers = tables.get("offers")
        rank = 1 if name == "New offer" else int(name.rsplit("no. ", 1)[-1])
        if offers is None or "rank" not in offers.columns:
            raise WinbackError("recommend/offers.csv is missing: the recommended offer is unknown.")
        row = offers[offers["rank"].astype(int) == rank].iloc[0]
        new = Product(replaced, _levels(study, row, f"offers.csv rank {rank}"), own=True)
        market = today.with_product(new)
        what = "the recommended offer in place of today's"
    elif kind == "tiers":
        tiers = tables.get("tiers")
        if tiers is None or "tier" not in tiers.columns:
            raise WinbackError("recommend/tiers.csv is missing: the recommended tiers are unknown.")
        market = today.without(replaced)
        for row in tiers.to_dict("records"):
            lv = _levels(study, row, f"tiers.csv tier {row['tier']}")
            market = market.with_product(Product(str(row["tier"]), lv, own=True))
        what = "the recommended tiers (good, better, best) in place of today's offer"
    elif kind == "entry":
        unb = tables.get("unbundling")
        if unb is None or "offer" not in unb.columns:
            raise WinbackError("recommend/unbundling.csv is missing: the entry menu is unknown.")
        market = today.without(replaced)
        for row in unb.to_dict("records"):
            if str(row["offer"]).startswith("entry"):
                lv = _levels(study, row, f"unbundling.csv {row['offer']}")
                market = market.with_product(Product(str(row["offer"]), lv, own=True))
        what = "the recommended entry offer and its add-on menu in place of today's bundle"
    else:
        raise WinbackError(f"decision.csv: unknown kind {kind!r} of the recommended action.")
    note = (
        f"The sheet opens on the recommendation, {name}: {what}. Today's {replaced} is in the "
        "last of our columns, switched off (set 'On the market' to compare)."
    )
    return Opening(name, kind, desc, market, (old,), note)


def columns(opening: Opening) -> tuple[tuple[Product, ...], tuple[bool, ...]]:
    """The sheet's product columns: the scenario's own products, today's products it takes off
    (switched off, renamed when the name is taken), then the competitors."""
    scen = opening.market.products
    names = {p.name for p in scen}
    off = []
    for p in opening.off:
        name = p.name if p.name not in names else f"{p.name} (today)"
        off.append(replace(p, name=name))
    prods = [p for p in scen if p.own] + off + [p for p in scen if not p.own]
    on = (
        [True] * sum(p.own for p in scen)
        + [False] * len(off)
        + [True] * sum(not p.own for p in scen)
    )
    return tuple(prods), tuple(on)


def segments(
    draws: PartWorthDraws, column: str | None, labels: Mapping[str, str]
) -> tuple[str | None, tuple[str, ...]]:
    resp = draws.respondents
    if column is None and resp is not None and "main_reason" in resp.columns:
        column = "main_reason"
    if column is None or resp is None or column not in resp.columns:
        return None, ()
    values = draws.column(column)

    def word(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            return NO_ANSWER
        text = str(v).strip()
        return str(labels.get(text, text))

    return column, tuple(word(v) for v in values)
