"""Scoring every candidate on one scale, :func:`decide`: shares (calibrated or stated) on every
draw, money or the objective per lost customer, source of volume against today's market, the
ranking and the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.calibration import CalibratedDraws
from analysis.decision.actions import (
    KINDS,
    Action,
    keep_action,
)
from analysis.decision.result import Decision
from analysis.money import money_draws
from analysis.offers.objectives import price_of, unit_cost
from analysis.simulator import Market, PartWorthDraws, respondent_weights, simulate
from winback.errors import ParameterError, WinbackError
from winback.settings import BAND, check_band
from winback.study import Business, Study


def _share_draws(
    draws: PartWorthDraws,
    market: Market,
    calibration: CalibratedDraws | None,
    w: np.ndarray,
    random_seed: int,
) -> np.ndarray:
    """(sample, alternative) among the lost customers the offer reaches: calibrated (logit;
    availability not applied) or stated (the market's rule)."""
    if calibration is not None:
        return calibration.share_draws(market, weights=w, availability=False)
    return simulate(draws, market, weights=w, random_seed=random_seed).share_draws


def _reached(s: np.ndarray, market: Market, reach: float) -> np.ndarray:
    """Shares among all lost customers: the own products' times the reach, the customers not
    reached staying away (none), as :meth:`CalibratedDraws.share_draws` with availability."""
    if reach >= 1.0:
        return s
    out = s.copy()
    own = [j for j, p in enumerate(market.products) if p.own]
    out[:, -1] += out[:, own].sum(axis=1) * (1.0 - reach)
    out[:, own] *= reach
    return out


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
    # sources of volume among the customers reached (nothing changes for the others), times
    # the reach; money and like-for-like shares among all lost customers
    s_today_r = _share_draws(draws, today, calibration, w, random_seed)
    s_today = _reached(s_today_r, today, reach)
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
            s_after_r = _share_draws(draws, a.market, calibration, w, random_seed)
            s_after = _reached(s_after_r, a.market, reach)
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
            t, r = s_today_r, s_after_r
            parts = {
                "gross": r[:, new].sum(axis=1) * reach,
                "none": (t[:, -1] - r[:, -1]) * reach,
                "competitor": (t[:, comp_today].sum(axis=1) - r[:, comp_after].sum(axis=1)) * reach,
                "own": (t[:, own_today].sum(axis=1) - r[:, kept].sum(axis=1)) * reach,
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
        f"expected profit per year ({study.currency})"
        if business is not None
        else f"{objective} per lost customer"
        + (f" ({study.currency}/month)" if objective != "share" else " (share)")
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
        currency=study.currency,
        lost_customers=business.lost_customers if business is not None else None,
        reach=reach,
    )
