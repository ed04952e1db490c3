"""Who gets which action: :func:`allocate`, with optional contact and incentive limits.

Without limits every customer gets the action with the highest expected incremental profit,
"Do not contact" where none is positive: that is the optimum. With a limit on contacts ``C``
and/or on the expected incentive paid ``B`` (the incentive times the probability of returning,
summed over the customers contacted), the problem is a multiple-choice knapsack; its Lagrangian
dual gives both a plan and a bound. For a multiplier ``lambda >= 0`` on the budget, with
``g_i(lambda) = max_a (V_ia - lambda c_ia)`` over the contact actions,

    h(lambda) = sum of the C largest positive g_i(lambda)  +  lambda B

is an upper bound on the best plan's expected profit (the contact limit's own multiplier is
minimised out exactly: it is the (C+1)-th largest g). ``h`` is convex; a bisection finds the
smallest ``lambda`` whose plan (the C customers with the largest positive ``g_i``, each with
its maximising action) keeps the budget; a greedy pass then spends what is left on the best
upgrades. The gap between ``min h`` and the plan's profit is stated. With a contact limit only
(``lambda = 0``) the plan is exact: the C customers with the highest positive best profit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.campaign.scoring import DO_NOT_CONTACT, CampaignScores
from winback.errors import ParameterError

__all__ = ["Allocation", "allocate"]


@dataclass(frozen=True)
class Allocation:
    """The action of every customer and what it is worth.

    Attributes
    ----------
    action : ndarray of int (customer,)
        Index into ``actions``.
    actions : tuple of str
    profit : float
        Expected incremental profit of the plan (sum of the customers' posterior means).
    upper_bound : float
        No plan within the limits earns more (the Lagrangian bound; the profit itself when the
        plan is exact).
    contacts : int
    incentive : float
        Expected incentive paid.
    max_contacts, budget : int or float or None
        The limits.
    method : str
        How the plan was found, in words.
    multiplier : float
        The budget's multiplier (0 without a budget).
    reason : tuple of str
        Why each customer got their action, in a short phrase.
    """

    action: np.ndarray = field(repr=False)
    actions: tuple[str, ...]
    profit: float
    upper_bound: float
    contacts: int
    incentive: float
    max_contacts: int | None
    budget: float | None
    method: str
    multiplier: float = 0.0
    reason: tuple[str, ...] = field(default=(), repr=False)

    @property
    def gap(self) -> float:
        """Upper bound minus the plan's profit (0: proven optimal)."""
        return max(0.0, self.upper_bound - self.profit)

    @property
    def gap_share(self) -> float:
        return self.gap / self.upper_bound if self.upper_bound > 0 else 0.0

    @property
    def exact(self) -> bool:
        return self.gap <= 1e-9 * max(1.0, abs(self.upper_bound))

    def counts(self) -> pd.Series:
        """Customers per action."""
        names = np.asarray(self.actions, dtype=object)[self.action]
        return pd.Series(names).value_counts().reindex(list(self.actions), fill_value=0)

    def __repr__(self) -> str:
        limits = []
        if self.max_contacts is not None:
            limits.append(f"at most {self.max_contacts:,} contacts")
        if self.budget is not None:
            limits.append(f"expected incentives at most {self.budget:,.0f}")
        how = (
            "proven optimal"
            if self.exact
            else f"within {self.gap:,.1f} ({self.gap_share:.3%}) of the upper bound "
            f"{self.upper_bound:,.0f}"
        )
        return (
            f"Allocation: {self.contacts:,} customers contacted, expected profit "
            f"{self.profit:,.0f}, expected incentives {self.incentive:,.0f}"
            + (f" ({'; '.join(limits)})" if limits else "")
            + f"; {how} ({self.method})"
        )


def _best(v: np.ndarray, c: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per customer the best contact action under multiplier ``lam`` and its value."""
    adj = v - lam * c if lam > 0 else v
    a = np.argmax(adj, axis=1)
    return a, adj[np.arange(len(a)), a]


def _pick(g: np.ndarray, cap: int | None) -> np.ndarray:
    """Customers contacted: positive ``g``, the ``cap`` largest (ties: first in the list)."""
    pos = g > 0
    if cap is None or pos.sum() <= cap:
        return pos
    order = np.argsort(-g, kind="stable")[:cap]
    out = np.zeros(len(g), dtype=bool)
    out[order] = True
    return out & pos


def _dual(g: np.ndarray, cap: int | None, lam: float, budget: float | None) -> float:
    pos = np.sort(g[g > 0])[::-1]
    top = pos if cap is None else pos[:cap]
    return float(top.sum()) + (lam * budget if budget is not None else 0.0)


def allocate(
    scores: CampaignScores,
    *,
    max_contacts: int | None = None,
    budget: float | None = None,
) -> Allocation:
    """Give every customer the action with the highest expected incremental profit, within
    optional limits.

    Parameters
    ----------
    scores : CampaignScores
        :func:`score_customers`.
    max_contacts : int, optional
        At most this many customers contacted (e.g. the call centre's capacity).
    budget : float, optional
        At most this much expected incentive paid (incentive x probability of returning,
        summed).

    Returns
    -------
    Allocation
        With the plan's profit, an upper bound on any plan within the limits and the gap.

    Examples
    --------
    >>> plan = allocate(scores, max_contacts=5000)  # doctest: +SKIP
    >>> plan.gap  # doctest: +SKIP
    0.0
    """
    if max_contacts is not None:
        if isinstance(max_contacts, bool) or int(max_contacts) != max_contacts or max_contacts < 0:
            raise ParameterError(
                f"max_contacts must be a whole number of at least 0, got {max_contacts!r}."
            )
        max_contacts = int(max_contacts)
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise ParameterError(f"budget must be a number of at least 0, got {budget!r}.")
    dnc = scores.actions.index(DO_NOT_CONTACT)
    contact = [j for j in range(len(scores.actions)) if j != dnc]
    ok = np.asarray(scores.customers.contactable, dtype=bool)
    v = np.where(ok[:, None], scores.profit[:, contact], -np.inf)
    c = np.where(ok[:, None], scores.expected_incentive[:, contact], 0.0)
    n = len(ok)

    lam = 0.0
    best, g = _best(v, c, 0.0)
    chosen = _pick(g, max_contacts)
    cost = float(c[np.arange(n), best][chosen].sum())
    upper = _dual(g, max_contacts, 0.0, budget)
    if budget is not None and cost > budget:
        # the smallest multiplier whose plan keeps the budget, by bisection on h's subgradient
        ratio = np.where(c > 0, v / np.where(c > 0, c, 1.0), 0.0)
        hi = float(max(ratio.max(initial=0.0), 0.0)) * 2.0 + 1.0
        lo = 0.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            b, gm = _best(v, c, mid)
            pick = _pick(gm, max_contacts)
            upper = min(upper, _dual(gm, max_contacts, mid, budget))
            if float(c[np.arange(n), b][pick].sum()) <= budget:
                hi = mid
            else:
                lo = mid
            if hi - lo <= 1e-12 * max(1.0, hi):
                break
        lam = hi
        best, g = _best(v, c, lam)
        chosen = _pick(g, max_contacts)
        upper = min(upper, _dual(g, max_contacts, lam, budget))
        best, chosen = _fill(v, c, best, chosen, budget, max_contacts)
        method = "Lagrangian relaxation, then a greedy pass over the remaining budget"
    elif max_contacts is not None:
        method = "exact: the customers with the highest positive expected profit" + (
            " (the budget is not binding)" if budget is not None else ""
        )
    else:
        method = "exact: the best action of every customer" + (
            " (the budget is not binding)" if budget is not None else ""
        )
    action = np.full(n, dnc, dtype=np.int64)
    action[chosen] = np.asarray(contact)[best[chosen]]
    profit = float(scores.profit[chosen, action[chosen]].sum())
    incentive = float(scores.expected_incentive[chosen, action[chosen]].sum())
    if budget is None or cost <= budget:
        upper = profit  # exact: the contact limit's plan is its own dual bound
    reason = _reasons(scores, ok, action, dnc, contact, v, chosen, max_contacts, budget)
    return Allocation(
        action=action,
        actions=scores.actions,
        profit=profit,
        upper_bound=max(upper, profit),
        contacts=int(chosen.sum()),
        incentive=incentive,
        max_contacts=max_contacts,
        budget=budget,
        method=method,
        multiplier=lam,
        reason=reason,
    )


def _fill(
    v: np.ndarray,
    c: np.ndarray,
    best: np.ndarray,
    chosen: np.ndarray,
    budget: float,
    cap: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Spend what the budget has left on the upgrades with the most profit (a customer not
    contacted yet needs a free contact), each customer upgraded at most once."""
    n = len(best)
    rows = np.arange(n)
    cur_v = np.where(chosen, v[rows, best], 0.0)
    cur_c = np.where(chosen, c[rows, best], 0.0)
    left = budget - float(cur_c.sum())
    slots = None if cap is None else cap - int(chosen.sum())
    gain = v - cur_v[:, None]
    extra = c - cur_c[:, None]
    gain[~np.isfinite(gain)] = -np.inf
    move = np.argmax(np.where(extra <= left, gain, -np.inf), axis=1)
    d_v = gain[rows, move]
    order = np.argsort(-d_v, kind="stable")
    best = best.copy()
    chosen = chosen.copy()
    for i in order:
        if not d_v[i] > 0:
            break
        a = move[i]
        if extra[i, a] > left or (not chosen[i] and slots is not None and slots <= 0):
            continue
        if not chosen[i]:
            if slots is not None:
                slots -= 1
            chosen[i] = True
        left -= extra[i, a]
        best[i] = a
    return best, chosen


def _reasons(
    scores: CampaignScores,
    ok: np.ndarray,
    action: np.ndarray,
    dnc: int,
    contact: list[int],
    v: np.ndarray,
    chosen: np.ndarray,
    cap: int | None,
    budget: float | None,
) -> tuple[str, ...]:
    """Why each customer got their action, in a short phrase."""
    why = scores.customers.why_not
    best = np.max(v, axis=1, initial=-np.inf)
    top_action = np.asarray(contact)[np.argmax(v, axis=1)]
    out = []
    for i in range(len(action)):
        if not ok[i]:
            out.append(why[i])
        elif action[i] != dnc:
            top = action[i] == top_action[i]
            out.append("highest expected profit" if top else "best within the incentive budget")
        elif best[i] <= 0:
            out.append("no action pays (expected profit at most 0)")
        elif cap is not None and not chosen[i]:
            out.append(
                "beyond the contact limit"
                if budget is None
                else "beyond the contact limit or budget"
            )
        else:
            out.append("beyond the incentive budget")
    return tuple(out)
