"""What the demo's campaign would have done: simulated outcomes under a known real behaviour.

The demo's CRM population (:func:`winback.example_crm.crm_from_fieldwork`) holds every
customer's true *stated* part-worths, the ones the survey's answers were simulated from. Real
behaviour differs from stated in a known way, as it does in :mod:`winback.example_crm`: every
utility times :data:`REAL_SCALE` (real choices are noisier) and none :data:`REAL_NONE_SHIFT`
more attractive (saying "I would come back" costs nothing). :func:`simulate_campaign_results`
runs the plan of ``winback target`` against that behaviour and writes what a CRM team would
report afterwards (``results.csv`` for ``winback outcomes``): the contacted customers reached
with their planned action, the control group facing today's market, who came back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.campaign import CustomerPreferences, Customers, score_customers
from analysis.decision import Action
from analysis.simulator import PartWorthDraws
from winback.errors import WinbackError
from winback.study import Study

__all__ = ["REAL_NONE_SHIFT", "REAL_SCALE", "CampaignTruth", "simulate_campaign_results"]

#: real utilities are the stated ones times this
REAL_SCALE = 0.6
#: and the none alternative this much more attractive
REAL_NONE_SHIFT = 1.0


@dataclass(frozen=True)
class CampaignTruth:
    """A simulated campaign outcome and the truth behind it.

    Attributes
    ----------
    results : DataFrame
        ``results.csv``: ``customer_id, action`` (``control`` for the held out), ``contacted``
        (0/1: the contact reached the customer), ``returned`` (0/1).
    p_real : ndarray
        Each planned or held-out customer's real probability of returning, in ``results``'s
        order (their planned action if reached, today's market otherwise).
    real_scale, real_none_shift : float
    """

    results: pd.DataFrame
    p_real: np.ndarray
    real_scale: float
    real_none_shift: float


def simulate_campaign_results(
    study: Study,
    stated: pd.DataFrame,
    plan: pd.DataFrame,
    actions: list[Action],
    customers: Customers,
    *,
    reach: float | None = None,
    real_scale: float = REAL_SCALE,
    real_none_shift: float = REAL_NONE_SHIFT,
    random_seed: int = 1,
) -> CampaignTruth:
    """Run the plan ``plan`` (``campaign.csv``) against real behaviour.

    Parameters
    ----------
    study : Study
        With ``[business]``.
    stated : DataFrame
        Every customer's true stated part-worths (index ``customer_id``, the plan's customers).
    plan : DataFrame
        ``Campaign.table``: ``customer_id, action, control, contact``.
    actions : list of Action
        The plan's candidate actions (``target/actions.json``); one of kind ``keep`` (today's
        offer) is the market the control group and the customers not reached face.
    customers : Customers
        The CRM list the plan was made for (``TargetRun.customers``), in the plan's order.
    reach : float, optional
        Share of contacted customers the contact reaches (default: the study's calibration's
        availability, else 1).
    real_scale, real_none_shift : float
        Real behaviour: stated utilities times ``real_scale``, none plus ``real_none_shift``.
    random_seed : int

    Returns
    -------
    CampaignTruth

    Examples
    --------
    >>> truth = simulate_campaign_results(study, crm.stated, plan.table, actions,
    ...                                   run.customers)  # doctest: +SKIP
    >>> truth.results.to_csv("campaign_results.csv", index=False)  # doctest: +SKIP
    """
    if study.business is None:
        raise WinbackError("simulate_campaign_results needs the study's [business] table.")
    ids = plan["customer_id"].astype(str).tolist()
    missing = sorted(set(ids) - set(stated.index.astype(str)))
    if missing:
        raise WinbackError(
            f"no stated part-worths for {len(missing)} planned customers: {missing[:3]}"
        )
    real = stated.loc[ids].to_numpy(dtype=float) * real_scale
    names = list(stated.columns)
    if "none" in names:
        real[:, names.index("none")] += real_none_shift
    draws = PartWorthDraws.from_array(study, real, respondent_ids=ids)
    oracle = CustomerPreferences.from_draws(draws, ids)
    keep = [a for a in actions if a.kind == "keep"]
    if not keep:
        raise WinbackError("the plan's actions have no 'keep' action (today's offer).")
    if list(customers.ids) != ids:
        raise WinbackError("the customers are not the plan's (ids or their order differ).")
    truth = score_customers(oracle, customers, actions, study.business).p_return
    names_a = [a.name for a in actions]
    today = names_a.index(keep[0].name)
    contact = plan["contact"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    held = plan["control"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    col = np.array([names_a.index(a) if a in names_a else today for a in plan["action"]])
    cal = study.calibration
    r = reach if reach is not None else (cal.availability if cal is not None else 1.0)
    rng = np.random.default_rng(random_seed)
    reached = contact & (rng.random(len(ids)) < r)
    rows = np.arange(len(ids))
    p = np.where(reached, truth[rows, col], truth[:, today])
    returned = rng.random(len(ids)) < np.nan_to_num(p)
    keep_rows = contact | held
    results = pd.DataFrame(
        {
            "customer_id": plan["customer_id"].astype(str),
            "action": np.where(contact, plan["action"].astype(str), "control"),
            "contacted": reached.astype(int),
            "returned": returned.astype(int),
        }
    )[keep_rows].reset_index(drop=True)
    return CampaignTruth(results, p[keep_rows], real_scale, real_none_shift)
