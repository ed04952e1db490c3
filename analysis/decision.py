"""One recommendation: every candidate action on one scale, with its source of volume.

The searches (:func:`analysis.optimize_offer`, :func:`analysis.optimize_tiers`,
:func:`analysis.unbundle`) each find the best action of their kind. :func:`decide` puts them and
the status quo on one scale and picks one:

- the scale is expected profit per year under ``[business]`` (customers won back x margin x
  months retained, less incentives and contact costs), or, without ``[business]``, the search
  objective per lost customer;
- shares are calibrated when a calibration is given (``[calibration]``), stated preference
  shares otherwise, and every figure says which;
- every action is compared like for like with today's market: all own products before (named)
  against all own products after (named), and its volume is traced to its sources (from none,
  from competitors, from our own products) on every draw; the net gain (from none plus from
  competitors) is what ranks it;
- the runners-up carry the gap to the recommendation with a band and the probability that the
  recommendation is better (paired over the same posterior draws).

See ``docs/decision.md`` for the formulas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.calibration import CalibratedDraws
from analysis.money import money_draws
from analysis.offers import OfferSearch
from analysis.offers.objectives import price_of, unit_cost
from analysis.simulator import Market, PartWorthDraws, Product, respondent_weights, simulate
from analysis.tiers import TierSearch, Unbundling
from winback.errors import ParameterError, WinbackError
from winback.settings import BAND, band_label, check_band
from winback.study import Business, Study, format_level

__all__ = [
    "Action",
    "Decision",
    "decide",
    "entry_action",
    "keep_action",
    "no_campaign_action",
    "offer_actions",
    "tier_action",
]

#: kinds of action, in the order the table lists ties
KINDS = ("offer", "tiers", "entry", "keep", "no campaign")


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
    return "" if np.isnan(price) else f" at {format_level(price)}/month"


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
    parts = []
    for t in names:
        prod = tiers.market.product(t)
        parts.append(f"{t}{_price_text(study, prod)}")
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
        f"{replaced} replaced by the tiers " + ", ".join(parts),
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
        f"{bundle} without {', '.join(unb.stripped)} at {format_level(unb.entry_price)}/month, "
        f"add-ons {adds}",
        f"best of {unb.n_candidates:,} menus, every one evaluated",
        True,
    )


@dataclass
class Decision:
    """Result of :func:`decide`.

    Attributes
    ----------
    table : DataFrame
        One row per candidate, best first: ``rank, action, kind, recommended, description,
        search, proven``, the like-for-like ``own_before`` / ``own_after`` (the own products'
        names) with ``share_before`` / ``share_after`` (all own products together), ``value``
        (the scale: ``profit_year`` or the objective per lost customer) with its band, the
        ``customers``, ``revenue_year`` and ``profit_year`` with bands (with ``[business]``),
        ``net_gain`` (value against today's offer) with its band, ``net_volume`` (customers,
        or share of lost customers, won back net of what the action takes from our own products)
        with its band, ``gap`` (the
        recommendation's value minus this one's) with its band and ``prob_recommended_better``.
    sources : DataFrame
        For each action: ``action, source, kind`` (``none``, ``competitor``, ``own``, ``net``,
        ``gross``), ``value, lower, upper`` in ``unit`` (customers with ``[business]``, share of
        lost customers otherwise): where its volume comes from against today's market.
    recommended : str
        The recommended action's name.
    basis : {"calibrated", "stated"}
    scale : str
        ``"profit_year"`` or the objective per lost customer.
    unit : str
        The scale's unit in words.
    """

    table: pd.DataFrame
    sources: pd.DataFrame
    recommended: str
    basis: str
    scale: str
    unit: str
    band: float
    calibration: CalibratedDraws | None = field(default=None, repr=False)

    @property
    def best(self) -> pd.Series:
        return self.table.iloc[0]

    @property
    def proven(self) -> bool:
        """Every search behind the candidates was exhaustive, so the recommendation is the best
        of everything searched (on the scale it was chosen by)."""
        return bool(self.table["proven"].all())

    def __repr__(self) -> str:
        return self.text()

    def text(self) -> str:
        """The decision in words: what, how much with bands, how sure, the runners-up."""
        b = self.best
        share_word = "calibrated share" if self.basis == "calibrated" else "stated preference share"
        bl = band_label(self.band)
        money = "customers" in self.table.columns
        lines = [f"RECOMMENDATION: {b['action']}: {b['description']}."]
        if money:
            basis = (
                "calibrated to " + self._source()
                if self.basis == "calibrated"
                else "from stated preference shares, not calibrated to behaviour"
            )
            lines.append(
                f"  Expected customers won back: {_n(b['customers'])} "
                f"[{_n(b['customers_lower'])}, {_n(b['customers_upper'])}]; revenue "
                f"{_eur(b['revenue_year'])} a year; profit {_eur(b['profit_year'])} a year "
                f"[{_eur(b['profit_year_lower'])}, {_eur(b['profit_year_upper'])}], after "
                f"incentives and contact costs ({bl}s; {basis})."
            )
        else:
            lines.append(
                f"  {self.unit}: {b['value']:.4g} [{b['value_lower']:.4g}, "
                f"{b['value_upper']:.4g}] ({bl}s)."
            )
        lines.append(
            f"  Own products before: {b['own_before']} ({share_word} {b['share_before']:.1%}); "
            f"after: {b['own_after']} ({b['share_after']:.1%})."
        )
        if b["kind"] not in ("keep", "no campaign"):
            lines.append(
                f"  Net gain against today's offer: {self._fmt(b['net_gain'])} "
                f"[{self._fmt(b['net_gain_lower'])}, {self._fmt(b['net_gain_upper'])}]."
            )
            src = self.sources[self.sources["action"] == b["action"]].set_index("kind")
            if not src.empty:
                lines.append("  " + self._sources_text(src))
        rest = self.table.iloc[1:]
        if len(rest):
            p = float(rest["prob_recommended_better"].min())
            runner = rest.iloc[0]
            lines.append(
                f"  How sure: better than the runner-up ({runner['action']}) on {p:.0%} of the "
                f"posterior draws{'' if p >= 0.9 else ': not a clear winner'}; "
                + (
                    "the best of every candidate searched."
                    if self.proven
                    else "a search was not exhaustive, so better candidates may exist."
                )
            )
            lines.append(
                "  Runners-up (same scale, gap to the recommendation; the best of each kind, "
                "every candidate in decision.csv):"
            )
            shown = rest.drop_duplicates("kind").sort_values("rank")
            for r in shown.itertuples(index=False):
                d = r._asdict()
                lines.append(
                    f"    {d['rank']}. {d['action']}: {self._fmt(d['value'])}, gap "
                    f"{self._fmt(d['gap'])} [{self._fmt(d['gap_lower'])}, "
                    f"{self._fmt(d['gap_upper'])}], recommendation better on "
                    f"{d['prob_recommended_better']:.0%} of draws"
                )
        return "\n".join(lines)

    def _source(self) -> str:
        cal = self.calibration
        if cal is None:
            return "an observation"
        obs = ", ".join(f"{n} {v:.1%}" for n, v in cal.calibration.observed)
        src = f": {cal.calibration.source}" if cal.calibration.source else ""
        return f"{obs} (n = {cal.calibration.n:,}){src}"

    def _fmt(self, x: float) -> str:
        return _eur(x) + "/year" if self.scale == "profit_year" else f"{x:.4g}"

    def _sources_text(self, src: pd.DataFrame) -> str:
        unit = "customers" if self.scale == "profit_year" else "share of lost customers"

        def f(k: str) -> str:
            v = float(src.loc[k, "value"])
            return _n(v) if self.scale == "profit_year" else f"{v:.1%}"

        return (
            f"Source of volume ({unit}): {f('gross')} take the new offer(s): {f('none')} from "
            f"none, {f('competitor')} from competitors, {f('own')} from our own products; net "
            f"{f('net')}."
        )


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _eur(x: float) -> str:
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}EUR {x / 1e6:.2f}m"
    if x >= 1e4:
        return f"{sign}EUR {x / 1e3:.0f}k"
    return f"{sign}EUR {x:,.0f}"


def _share_draws(
    draws: PartWorthDraws,
    market: Market,
    calibration: CalibratedDraws | None,
    w: np.ndarray,
    random_seed: int,
) -> np.ndarray:
    """(sample, alternative): calibrated (logit, availability applied) or stated (the market's
    rule)."""
    if calibration is not None:
        return calibration.share_draws(market, weights=w)
    return simulate(draws, market, weights=w, random_seed=random_seed).share_draws


def _objective_draws(study: Study, market: Market, s: np.ndarray, objective: str) -> np.ndarray:
    total = np.zeros(s.shape[0])
    for j, p in enumerate(market.products):
        if not p.own:
            continue
        if objective == "share":
            m = 1.0
        else:
            price = price_of(study, p)
            cost = unit_cost(study, p.levels, market.extrapolate) if objective == "profit" else 0.0
            m = price - cost
        total = total + s[:, j] * m
    return total


def decide(
    draws: PartWorthDraws,
    today: Market,
    actions: Sequence[Action],
    *,
    business: Business | None = None,
    calibration: CalibratedDraws | None = None,
    objective: str = "revenue",
    weights: str | np.ndarray | None = None,
    band: float = BAND,
    random_seed: int = 1,
) -> Decision:
    """Score every candidate action on one scale and recommend one.

    Parameters
    ----------
    draws : PartWorthDraws
        The posterior draws (uncalibrated: a calibration applies itself).
    today : Market
        Today's market, the baseline of every comparison (it must include none).
    actions : sequence of Action
        The candidates (:func:`offer_actions`, :func:`tier_action`, :func:`entry_action`,
        :func:`keep_action`, :func:`no_campaign_action`). Today's offer is added if missing.
    business : Business, optional
        ``study.business``: the scale is then expected profit per year (customers won back,
        revenue and profit per year with bands); otherwise ``objective`` per lost customer.
    calibration : CalibratedDraws, optional
        :func:`analysis.calibrate` on today's market: shares are calibrated (logit rule, the
        availability applied); otherwise stated preference shares with the market's rule.
    objective : {"profit", "revenue", "share"}
        The scale without ``[business]``.
    weights : str or array, optional
    band : float
    random_seed : int

    Returns
    -------
    Decision
    """
    band = check_band(band)
    study = draws.study
    if not today.none:
        raise WinbackError(
            "a decision needs a market with none (none = true): the lost customers who stay "
            "away are the baseline of every comparison."
        )
    if calibration is not None and today.rule != "logit":
        raise ParameterError(
            f"calibration is fitted with the logit rule; the market's rule is {today.rule!r}. "
            'Set rule = "logit" in the market file, or leave the calibration out.'
        )
    names = [a.name for a in actions]
    if len(set(names)) != len(names):
        raise ParameterError(f"action names must be unique, got {names}.")
    acts = list(actions)
    if not any(a.kind == "keep" for a in acts):
        acts.append(keep_action(today))
    if business is None:
        acts = [a for a in acts if a.kind != "no campaign"]
    w = respondent_weights(draws, weights)
    reach = calibration.calibration.availability if calibration is not None else 1.0
    s_today = _share_draws(draws, today, calibration, w, random_seed)
    n_draws = s_today.shape[0]
    own_today = [j for j, p in enumerate(today.products) if p.own]
    if not own_today:
        raise WinbackError("no own product in today's market (own = true): nothing to decide.")
    comp_today = [j for j, p in enumerate(today.products) if not p.own]
    per = business.lost_customers if business is not None else 1.0  # sources in customers

    values: dict[str, np.ndarray] = {}
    money: dict[str, dict[str, np.ndarray]] = {}
    facts: dict[str, dict[str, object]] = {}
    src_rows = []
    net_volume: dict[str, dict[str, float]] = {}
    zero = np.zeros(n_draws)
    for a in acts:
        if a.market is None:  # no campaign
            s_after = None
            own_after_names: list[str] = []
            share_after = zero
            if business is not None:
                money[a.name] = {k: zero for k in ("customers", "revenue_year", "profit_year")}
                values[a.name] = zero
        else:
            if a.market.none is False:
                raise WinbackError(f"action '{a.name}': its market has no none alternative.")
            s_after = _share_draws(draws, a.market, calibration, w, random_seed)
            own_after = [j for j, p in enumerate(a.market.products) if p.own]
            own_after_names = [a.market.products[j].name for j in own_after]
            share_after = s_after[:, own_after].sum(axis=1)
            if business is not None:
                m = money_draws(s_after, a.market.products, study, business, reach=reach)
                money[a.name] = m["total"]
                values[a.name] = m["total"]["profit_year"]
            else:
                values[a.name] = _objective_draws(study, a.market, s_after, objective)
            # source of volume against today's market, on every draw
            comp_after = [j for j, p in enumerate(a.market.products) if not p.own]
            new = [j for j in own_after if a.market.products[j].name in a.products]
            kept = [j for j in own_after if a.market.products[j].name not in a.products]
            parts = {
                "gross": s_after[:, new].sum(axis=1),
                "none": s_today[:, -1] - s_after[:, -1],
                "competitor": s_today[:, comp_today].sum(axis=1)
                - s_after[:, comp_after].sum(axis=1),
                "own": s_today[:, own_today].sum(axis=1) - s_after[:, kept].sum(axis=1),
            }
            parts["net"] = parts["none"] + parts["competitor"]
            lo = (1.0 - band) / 2.0
            x = parts["net"] * per
            net_volume[a.name] = {
                "net_volume": float(x.mean()),
                "net_volume_lower": float(np.quantile(x, lo)),
                "net_volume_upper": float(np.quantile(x, 1.0 - lo)),
            }
            for kind, x in parts.items():
                x = x * per
                src_rows.append(
                    {
                        "action": a.name,
                        "kind": kind,
                        "source": {
                            "gross": "take the action's offers",
                            "none": "from none (would have stayed away)",
                            "competitor": "from competitors",
                            "own": "from our own products (cannibalised or replaced)",
                            "net": "net gain (from none + from competitors)",
                        }[kind],
                        "value": float(x.mean()),
                        "lower": float(np.quantile(x, lo)),
                        "upper": float(np.quantile(x, 1.0 - lo)),
                    }
                )
        facts[a.name] = {
            "own_after": ", ".join(own_after_names) if own_after_names else "(none contacted)",
            "share_after": float(share_after.mean()),
        }
    order = sorted(acts, key=lambda a: (-float(values[a.name].mean()), KINDS.index(a.kind), a.name))
    best = order[0]
    keep = next(a for a in acts if a.kind == "keep")
    lo = (1.0 - band) / 2.0

    def stats(prefix: str, x: np.ndarray) -> dict[str, float]:
        return {
            prefix: float(x.mean()),
            f"{prefix}_lower": float(np.quantile(x, lo)),
            f"{prefix}_upper": float(np.quantile(x, 1.0 - lo)),
        }

    own_before = ", ".join(today.products[j].name for j in own_today)
    share_before = float(s_today[:, own_today].sum(axis=1).mean())
    rows = []
    for rank, a in enumerate(order, start=1):
        v = values[a.name]
        row: dict[str, object] = {
            "rank": rank,
            "action": a.name,
            "kind": a.kind,
            "recommended": a is best,
            "description": a.description,
            "search": a.search,
            "proven": a.proven,
            "basis": "calibrated" if calibration is not None else "stated",
            "own_before": own_before,
            "share_before": share_before,
            **facts[a.name],
            **stats("value", v),
        }
        if business is not None:
            for k in ("customers", "revenue_year", "profit_year"):
                row.update(stats(k, money[a.name][k]))
        row.update(stats("net_gain", v - values[keep.name]))
        row.update(
            net_volume.get(
                a.name, {"net_volume": 0.0, "net_volume_lower": 0.0, "net_volume_upper": 0.0}
            )
        )
        gap = values[best.name] - v
        row.update(stats("gap", gap))
        row["prob_recommended_better"] = float(np.mean(gap > 0)) if a is not best else float("nan")
        rows.append(row)
    scale = "profit_year" if business is not None else objective
    unit = (
        "expected profit per year (EUR)"
        if business is not None
        else f"{objective} per lost customer"
        + (" (EUR/month)" if objective != "share" else " (share)")
    )
    return Decision(
        table=pd.DataFrame(rows),
        sources=pd.DataFrame(
            src_rows, columns=["action", "kind", "source", "value", "lower", "upper"]
        ),
        recommended=best.name,
        basis="calibrated" if calibration is not None else "stated",
        scale=scale,
        unit=unit,
        band=band,
        calibration=calibration,
    )
