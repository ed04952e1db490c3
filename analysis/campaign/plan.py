"""The campaign plan: :func:`plan_campaign` allocates, holds out the control group and scores each
customer's planned action again on every draw for the bands (per customer, and the totals by
segment and action: the draws' sums over customers, so the bands carry the posterior's
uncertainty shared by all customers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.campaign.allocation import Allocation, allocate
from analysis.campaign.control import control_group
from analysis.campaign.scoring import DO_NOT_CONTACT, CampaignScores
from winback.errors import WinbackError
from winback.settings import band_label, check_band

__all__ = ["Campaign", "plan_campaign"]


@dataclass(frozen=True)
class Campaign:
    """A campaign plan.

    Attributes
    ----------
    table : DataFrame
        One row per customer, in the CRM list's order: ``customer_id, segment, action, kind,
        products, levels`` (JSON: each own product's levels), ``price`` (of a one-product
        action), ``description, control, contact`` (contacted: an action and not held out),
        ``p_return`` with ``_lower`` / ``_upper``, ``ltv``, ``profit`` with ``_lower`` /
        ``_upper`` (the planned action's; blank for "Do not contact"), ``reason``.
    summary : DataFrame
        By segment and action (and a total): ``customers`` planned, ``contacted``, ``control``,
        expected customers ``won_back`` and ``profit`` of the contacted, with bands.
    allocation : Allocation
    band : float
    basis : {"calibrated", "stated"}
    """

    table: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    allocation: Allocation
    band: float
    basis: str
    control_share: float
    won_back_draws: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    profit_draws: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def __repr__(self) -> str:
        total = self.summary.iloc[-1]
        b = band_label(self.band)
        return (
            f"Campaign ({self.basis}): {int(total['contacted']):,} customers contacted, "
            f"{int(total['control']):,} held out as the control group "
            f"({self.control_share:.0%}); expected {total['won_back']:,.0f} won back "
            f"[{total['won_back_lower']:,.0f}, {total['won_back_upper']:,.0f}] and profit "
            f"{total['profit']:,.0f} [{total['profit_lower']:,.0f}, "
            f"{total['profit_upper']:,.0f}] ({b}); {self.allocation!r}"
        )


def plan_campaign(
    scores: CampaignScores,
    *,
    max_contacts: int | None = None,
    budget: float | None = None,
    control_share: float = 0.1,
    random_seed: int = 1,
    band: float | None = None,
) -> Campaign:
    """Allocate every customer an action, hold out a control group and state what to expect.

    Parameters
    ----------
    scores : CampaignScores
        :func:`score_customers`.
    max_contacts, budget : optional
        Limits (see :func:`allocate`); the control group is drawn from the allocated
        customers, so the contacts are at most ``max_contacts``.
    control_share : float
        Share of the customers to contact held out, stratified by segment and planned action.
    random_seed : int
        Seed of the control group.
    band : float, optional
        Default: the scores' band.

    Returns
    -------
    Campaign

    Examples
    --------
    >>> campaign = plan_campaign(scores, max_contacts=20000)  # doctest: +SKIP
    >>> campaign.table.head()  # doctest: +SKIP
    """
    band = check_band(scores.band if band is None else band)
    if scores.scorer is None:
        raise WinbackError("these scores carry no scorer; make them with score_customers.")
    alloc = allocate(scores, max_contacts=max_contacts, budget=budget)
    dnc = scores.actions.index(DO_NOT_CONTACT)
    planned = alloc.action != dnc
    segments = scores.customers.segments()
    names = np.asarray(scores.actions, dtype=object)
    strata = np.char.add(np.char.add(segments.astype(str), " | "), names[alloc.action].astype(str))
    held = control_group(strata, planned, share=control_share, random_seed=random_seed)
    contacted = planned & ~held

    # groups: segment x action x held out, for the totals on every draw
    seg_names, seg_idx = np.unique(segments.astype(str), return_inverse=True)
    n_act = len(scores.actions)
    group = (seg_idx * n_act + alloc.action) * 2 + held.astype(np.int64)
    n_groups = len(seg_names) * n_act * 2
    chosen = np.where(planned, alloc.action, -1).astype(np.int64)
    lo = (1.0 - band) / 2.0
    s = scores.scorer.n_samples

    # where every own product of the planned action is worth the same to the customer (one
    # product, or the CRM's margin), profit on a draw is worth x p_return - contact cost: its
    # band is the same affine map of p_return's (quantiles commute with it)
    sc = scores.scorer
    n_own = np.diff(sc.own_ptr)
    one = np.where(n_own == 1, sc.own_margin[sc.own_ptr[:-1]], np.nan)
    contact_act = np.minimum(alloc.action, len(n_own) - 1)
    margin = np.where(np.isnan(sc.cust_margin), one[contact_act], sc.cust_margin)
    worth = margin * sc.months - scores.incentive[contact_act]
    affine = planned & np.isfinite(worth)
    q = [lo, 1.0 - lo]
    # lazy: numba (about 0.4 s to import) loads when a campaign is planned
    from analysis.campaign._kernels import bands_of

    def bands(n0: int, dp: np.ndarray, dv: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        # in the worker thread, without the GIL (np.quantile holds it)
        here = slice(n0, n0 + len(dp))
        pb = np.full((len(dp), 2), np.nan)
        vb = np.full((len(dp), 2), np.nan)
        todo = planned[here]
        bands_of(dp, todo, q[0], q[1], pb)
        bands_of(dv, todo & ~affine[here], q[0], q[1], vb)
        return n0, pb, vb

    _, _, tot_p, tot_v, parts = scores.scorer.run(False, chosen, group, n_groups, bands)
    n = len(chosen)
    p_band = np.full((n, 2), np.nan)
    v_band = np.full((n, 2), np.nan)
    for part in parts:
        assert isinstance(part, tuple)
        n0, pb, vb = part
        p_band[n0 : n0 + len(pb)] = pb
        v_band[n0 : n0 + len(vb)] = vb
    ends = worth[:, None] * p_band - scores.contact_cost
    ends = np.where(worth[:, None] < 0, ends[:, ::-1], ends)
    v_band[affine] = ends[affine]
    p_band[~planned] = np.nan
    v_band[~planned] = np.nan
    rows = np.arange(n)
    p = np.where(planned, scores.p_return[rows, alloc.action], np.nan)
    v = np.where(planned, scores.profit[rows, alloc.action], np.nan)
    ltv = np.where(planned, scores.ltv[rows, alloc.action], np.nan)
    products = np.asarray([", ".join(x) for x in scores.products], dtype=object)
    descriptions = np.asarray(scores.descriptions, dtype=object)
    n_a = len(scores.actions)
    levels = np.asarray(scores.levels if scores.levels else [""] * n_a, dtype=object)
    prices = scores.prices if len(scores.prices) == n_a else np.full(n_a, np.nan)
    reason = np.asarray(alloc.reason, dtype=object)
    reason = np.where(held, "control group (held out to measure the uplift)", reason)
    table = pd.DataFrame(
        {
            "customer_id": np.asarray(scores.customers.ids, dtype=object),
            "segment": segments,
            "action": names[alloc.action],
            "kind": np.asarray(scores.kinds, dtype=object)[alloc.action],
            "products": products[alloc.action],
            "levels": levels[alloc.action],
            "price": prices[alloc.action],
            "description": descriptions[alloc.action],
            "control": held,
            "contact": contacted,
            "p_return": p,
            "p_return_lower": p_band[:, 0],
            "p_return_upper": p_band[:, 1],
            "ltv": ltv,
            "profit": v,
            "profit_lower": v_band[:, 0],
            "profit_upper": v_band[:, 1],
            "reason": reason,
        }
    )
    tp = tot_p.reshape(len(seg_names), n_act, 2, s)
    tv = tot_v.reshape(len(seg_names), n_act, 2, s)
    summary = []

    def stats(key: str, x: np.ndarray) -> dict[str, float]:
        return {
            key: float(x.mean()),
            f"{key}_lower": float(np.quantile(x, lo)),
            f"{key}_upper": float(np.quantile(x, 1.0 - lo)),
        }

    for si, seg in enumerate(seg_names):
        for a in range(n_act):
            here = (seg_idx == si) & (alloc.action == a)
            if not here.any():
                continue
            summary.append(
                {
                    "segment": seg,
                    "action": scores.actions[a],
                    "customers": int(here.sum()),
                    "contacted": int((here & contacted).sum()),
                    "control": int((here & held).sum()),
                    **stats("won_back", tp[si, a, 0]),
                    **stats("profit", tv[si, a, 0]),
                }
            )
    won = tp[:, :, 0].sum(axis=(0, 1))
    prof = tv[:, :, 0].sum(axis=(0, 1))
    summary.append(
        {
            "segment": "all",
            "action": "all",
            "customers": n,
            "contacted": int(contacted.sum()),
            "control": int(held.sum()),
            **stats("won_back", won),
            **stats("profit", prof),
        }
    )
    return Campaign(
        table=table,
        summary=pd.DataFrame(summary),
        allocation=alloc,
        band=band,
        basis=scores.basis,
        control_share=float(control_share),
        won_back_draws=won,
        profit_draws=prof,
    )
