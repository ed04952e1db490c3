"""The candidate actions of a decision: :class:`Action` (the market after it and what it puts
there) and its builders from the searches' results (offers, tiers, entry offer with add-ons),
today's offer and no campaign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.offers.objectives import price_of
from analysis.simulator import Market, Product
from winback.errors import WinbackError, list_valid
from winback.study import Study, format_level

if TYPE_CHECKING:
    from analysis.offers import OfferSearch
    from analysis.tiers import TierSearch, Unbundling

KINDS = ("offer", "tiers", "entry", "keep", "no campaign")
#: the layout version of :func:`action_records` (a reader refuses a newer one)
ACTIONS_FORMAT = 1
_OPTIONS = (
    "rule",
    "exponent",
    "none",
    "rfc_draws",
    "attribute_variability",
    "product_variability",
    "extrapolate",
)


@dataclass(frozen=True)
class Action:
    """A candidate action: the market after it and what it puts there.

    Attributes
    ----------
    name : str
        Short label ("New offer", "Good / better / best", ...), unique among the candidates.
    kind : {"offer", "tiers", "entry", "keep", "no campaign"}
    market : Market or None
        The market after the action (``None`` for no campaign: nobody is contacted).
    products : tuple of str
        The own products the action puts on the market (names in ``market``).
    description : str
        What it is, in words: levels and prices.
    search : str
        How it was found ("best of 12,960 offers, every one evaluated").
    proven : bool
        Best of its kind over everything its search considered (an exhaustive search).
    """

    name: str
    kind: str
    market: Market | None
    products: tuple[str, ...]
    description: str
    search: str = ""
    proven: bool = True


def _levels_text(study: Study, levels: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    parts = []
    for a in study.attributes:
        if a.name == study.price_attribute or a.name in skip:
            continue
        parts.append(f"{a.name} {format_level(levels[a.name])}")
    return ", ".join(parts)


def _price_text(study: Study, product: Product) -> str:
    price = price_of(study, product)
    return "" if np.isnan(price) else f" at {study.currency} {format_level(price)}/month"


def keep_action(market: Market) -> Action:
    """Today's offers, unchanged (the campaign offers what we sell today)."""
    own = tuple(p.name for p in market.products if p.own)
    return Action(
        "Today's offer",
        "keep",
        market,
        own,
        "win-back contact with today's " + ", ".join(own) + " unchanged",
        "the status quo",
    )


def no_campaign_action() -> Action:
    """No campaign: nobody is contacted, no customer won back, no cost (the zero line)."""
    return Action("No campaign", "no campaign", None, (), "contact nobody", "the zero line")


def offer_actions(search: OfferSearch, market: Market, *, n: int | None = None) -> list[Action]:
    """The offers an offer search listed (``n``: the first ``n``), each replacing the product it
    searched for; an offer identical to today's is left out (it is :func:`keep_action`)."""
    if search.study is None:
        raise WinbackError("the offer search carries no study; run it with optimize_offer.")
    study = search.study
    today = dict(market.product(search.product).levels)
    how = (
        f"best of {search.n_candidates:,} offers, every one evaluated"
        if search.exhaustive
        else f"heuristic over {search.n_candidates:,} offers (within {search.gap:.1%} of the bound)"
    )
    out = []
    rows = search.offers if n is None else search.offers.head(n)
    for row in rows.itertuples(index=False):
        d = row._asdict()
        levels = {a: d[a] for a in study.attribute_names}
        if all(_same(levels[a], today[a]) for a in study.attribute_names):
            continue
        prod = Product(search.product, levels, own=True)
        rank = int(d["rank"])
        name = "New offer" if rank == 1 else f"Offer no. {rank}"
        out.append(
            Action(
                name,
                "offer",
                market.with_product(prod),
                (prod.name,),
                f"{prod.name} as {_levels_text(study, levels)}{_price_text(study, prod)}",
                how if rank == 1 else f"no. {rank} of the same search",
                search.exhaustive,
            )
        )
    return out


def _same(a: object, b: object) -> bool:
    try:
        return bool(np.isclose(float(a), float(b)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == str(b)


def tier_action(tiers: TierSearch, study: Study, replaced: str) -> Action:
    """The good / better / best menu (replacing ``replaced``)."""
    names = tuple(str(t) for t in tiers.tiers["tier"])
    prods = [tiers.market.product(t) for t in names]
    attrs = [a.name for a in study.attributes if a.name != study.price_attribute]
    common = [a for a in attrs if len({str(p.levels[a]) for p in prods}) == 1]
    parts = []
    for t, prod in zip(names, prods, strict=True):
        differs = _levels_text(study, prod.levels, skip=common)
        parts.append(f"{t}{_price_text(study, prod)}" + (f" ({differs})" if differs else ""))
    varying = [a for a in attrs if a not in common]
    shared = f"; every tier: {_levels_text(study, prods[0].levels, skip=varying)}" if common else ""
    how = (
        f"best of {tiers.n_candidates:,} menus, every one evaluated"
        if tiers.proven_optimal
        else f"{tiers.n_candidates:,} menus searched, the best re-scored with {tiers.rule}"
    )
    return Action(
        "Good / better / best",
        "tiers",
        tiers.market,
        names,
        f"{replaced} replaced by the tiers " + "; ".join(parts) + shared,
        how,
        tiers.proven_optimal,
    )


def entry_action(unb: Unbundling, study: Study, bundle: str) -> Action | None:
    """The entry offer with add-ons; ``None`` when unbundling keeps the bundle."""
    if not unb.stripped:
        return None
    names = tuple(p.name for p in unb.market.products if p.name.startswith("entry"))
    adds = ", ".join(f"{c} +{format_level(p)}" for c, p in unb.addon_prices.items())
    return Action(
        "Entry offer + add-ons",
        "entry",
        unb.market,
        names,
        f"{bundle} without {', '.join(unb.stripped)} at {study.currency} "
        f"{format_level(unb.entry_price)}/month, "
        f"add-ons {adds}",
        f"best of {unb.n_candidates:,} menus, every one evaluated",
        True,
    )


def _plain_level(v: Any) -> Any:
    """A level as JSON holds it: numbers as numbers, labels as text."""
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v)
    return str(v)


def _product_record(p: Product) -> dict[str, Any]:
    return {
        "name": p.name,
        "own": bool(p.own),
        "status_quo": bool(p.status_quo),
        **{str(k): _plain_level(v) for k, v in p.levels.items()},
    }


def action_records(
    actions: Sequence[Action], today: Market, recommended: str | None = None
) -> dict[str, Any]:
    """The candidate actions as JSON-ready data, complete enough to rebuild them exactly
    (:func:`actions_from_records`): each action's name, kind, description, search, own
    products and its whole market (every product with its levels, as in a market file), with
    today's market options (``recommend/decision_actions.json``)."""
    return {
        "format": ACTIONS_FORMAT,
        "options": {k: getattr(today, k) for k in _OPTIONS},
        "today": [_product_record(p) for p in today.products],
        "recommended": recommended,
        "actions": [
            {
                "name": a.name,
                "kind": a.kind,
                "products": list(a.products),
                "description": a.description,
                "search": a.search,
                "proven": bool(a.proven),
                "market": None
                if a.market is None
                else [_product_record(p) for p in a.market.products],
            }
            for a in actions
        ],
    }


def actions_from_records(
    data: Mapping[str, Any], study: Study, today: Market, *, source: str = "decision_actions.json"
) -> list[Action]:
    """Rebuild the actions :func:`action_records` wrote, on today's market ``today`` (its
    options and calibration; refused when the market differs from the one the actions were
    made on). Every product's levels are checked against ``study`` as a market file's are."""
    fmt = data.get("format") if isinstance(data, Mapping) else None
    if not isinstance(fmt, int) or fmt < 1:
        raise WinbackError(f"{source}: no valid 'format'; rerun winback recommend.")
    if fmt > ACTIONS_FORMAT:
        raise WinbackError(
            f"{source} was written by a newer winback (format {fmt}; this one reads up to "
            f"{ACTIONS_FORMAT}): upgrade winback to read it."
        )
    options = dict(data.get("options") or {})
    mine = {k: getattr(today, k) for k in _OPTIONS}
    then = Market.from_dict({"products": list(data.get("today") or []), "options": options}, study)
    if then.products != today.products or options != mine:
        raise WinbackError(
            f"{source} was made on another market than today's (products "
            f"{list_valid(then.names)}, options {options}; today: products "
            f"{list_valid(today.names)}, options {mine}): rerun winback recommend on this "
            "market file."
        )
    out = []
    for i, rec in enumerate(data.get("actions") or [], start=1):
        name = str(rec.get("name", ""))
        kind = str(rec.get("kind", ""))
        if kind not in KINDS:
            raise WinbackError(
                f"{source}: action {i} ({name!r}) has kind {kind!r}; valid: {list_valid(KINDS)}."
            )
        market = None
        if rec.get("market") is not None:
            parsed = Market.from_dict(
                {"products": list(rec["market"]), "options": options},
                study,
                source=f"{source}: action '{name}'",
            )
            market = replace(parsed, calibration=today.calibration)
        out.append(
            Action(
                name,
                kind,
                market,
                tuple(str(p) for p in rec.get("products") or ()),
                str(rec.get("description", "")),
                str(rec.get("search", "")),
                bool(rec.get("proven", True)),
            )
        )
    if not out:
        raise WinbackError(f"{source}: no actions; rerun winback recommend.")
    return out
