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

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
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

#: where each name lives; a name loads its module on first use, so that the campaign (which
#: needs an action) does not load the decision's scoring
_MODULE_OF = {
    "ACTIONS_FORMAT": "analysis.decision.actions",
    "KINDS": "analysis.decision.actions",
    "Action": "analysis.decision.actions",
    "action_records": "analysis.decision.actions",
    "actions_from_records": "analysis.decision.actions",
    "entry_action": "analysis.decision.actions",
    "keep_action": "analysis.decision.actions",
    "no_campaign_action": "analysis.decision.actions",
    "offer_actions": "analysis.decision.actions",
    "tier_action": "analysis.decision.actions",
    "Decision": "analysis.decision.result",
    "decide": "analysis.decision.scoring",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

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
