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

from analysis.decision.actions import (
    ACTIONS_FORMAT,
    KINDS,
    Action,
    action_records,
    actions_from_records,
    entry_action,
    keep_action,
    no_campaign_action,
    offer_actions,
    tier_action,
)
from analysis.decision.result import Decision
from analysis.decision.scoring import decide

__all__ = [
    "ACTIONS_FORMAT",
    "KINDS",
    "Action",
    "Decision",
    "action_records",
    "actions_from_records",
    "decide",
    "entry_action",
    "keep_action",
    "no_campaign_action",
    "offer_actions",
    "tier_action",
]
