"""From preferences to a campaign: whom to win back, with which offer (issue 18).

- :func:`read_customers`: the CRM list of lost customers, checked;
- :func:`customer_preferences`: a preference for everyone (respondents' own posterior
  part-worths, everyone else's predicted from the upper-level covariate model);
- :func:`score_customers`: every customer x candidate action on every draw: probability of
  returning, second lifetime value, expected incremental profit;
- :func:`allocate`: the best action per customer, optionally under contact and incentive limits
  (with the gap to a computed upper bound);
- :func:`control_group`: a random holdout, stratified by segment, to measure the uplift later;
- :func:`plan_campaign`: all of it, with bands per customer and totals by segment and action;
- :func:`read_results`, :func:`measure_outcomes`: what the campaign did against what it
  predicted (by action and segment, a calibration curve, the Brier score, the uplift against
  the control group) and the calibration the outcomes give the next run
  (:func:`fit_outcome_calibration`).

See ``docs/campaign.md`` for the formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from analysis.campaign.allocation import Allocation, allocate
    from analysis.campaign.control import control_group
    from analysis.campaign.customers import Customers, read_customers
    from analysis.campaign.outcome_fit import OutcomeCalibration, fit_outcome_calibration
    from analysis.campaign.outcomes import Outcomes, measure_outcomes
    from analysis.campaign.plan import Campaign, plan_campaign
    from analysis.campaign.preferences import CustomerPreferences, UpperLevel, customer_preferences
    from analysis.campaign.results import CampaignResults, read_results
    from analysis.campaign.scoring import DO_NOT_CONTACT, CampaignScores, score_customers

#: where each name lives; a name loads its module on first use, so that reading a customer
#: list (``analysis.campaign.customers``, which ``winback simulate`` and ``target`` import) does
#: not load the scoring, the allocation and the outcomes
_MODULE_OF = {
    "Allocation": "analysis.campaign.allocation",
    "allocate": "analysis.campaign.allocation",
    "control_group": "analysis.campaign.control",
    "Customers": "analysis.campaign.customers",
    "read_customers": "analysis.campaign.customers",
    "OutcomeCalibration": "analysis.campaign.outcome_fit",
    "fit_outcome_calibration": "analysis.campaign.outcome_fit",
    "Outcomes": "analysis.campaign.outcomes",
    "measure_outcomes": "analysis.campaign.outcomes",
    "Campaign": "analysis.campaign.plan",
    "plan_campaign": "analysis.campaign.plan",
    "CustomerPreferences": "analysis.campaign.preferences",
    "UpperLevel": "analysis.campaign.preferences",
    "customer_preferences": "analysis.campaign.preferences",
    "CampaignResults": "analysis.campaign.results",
    "read_results": "analysis.campaign.results",
    "DO_NOT_CONTACT": "analysis.campaign.scoring",
    "CampaignScores": "analysis.campaign.scoring",
    "score_customers": "analysis.campaign.scoring",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)


__all__ = [
    "DO_NOT_CONTACT",
    "Allocation",
    "Campaign",
    "CampaignResults",
    "CampaignScores",
    "CustomerPreferences",
    "Customers",
    "OutcomeCalibration",
    "Outcomes",
    "UpperLevel",
    "allocate",
    "control_group",
    "customer_preferences",
    "fit_outcome_calibration",
    "measure_outcomes",
    "plan_campaign",
    "read_customers",
    "read_results",
    "score_customers",
]
