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

from analysis.campaign.allocation import Allocation, allocate
from analysis.campaign.control import control_group
from analysis.campaign.customers import Customers, read_customers
from analysis.campaign.outcome_fit import OutcomeCalibration, fit_outcome_calibration
from analysis.campaign.outcomes import Outcomes, measure_outcomes
from analysis.campaign.plan import Campaign, plan_campaign
from analysis.campaign.preferences import CustomerPreferences, UpperLevel, customer_preferences
from analysis.campaign.results import CampaignResults, read_results
from analysis.campaign.scoring import DO_NOT_CONTACT, CampaignScores, score_customers

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
