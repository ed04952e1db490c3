"""The campaign's limits on the command line, shared by ``winback target`` and ``winback run``:
``--max-contacts``, ``--budget`` and ``--control-share`` (docs/cli.md)."""

from __future__ import annotations

import argparse

from winback.cli._types import _number


def _count(text: str) -> int:
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {v}")
    return v


def _share(text: str) -> float:
    v = _number(text, float)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {v}")
    return v


def add_campaign_limits(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--max-contacts``, ``--budget`` and ``--control-share`` (target, run)."""
    p.add_argument("--max-contacts", type=_count, metavar="N", help="contact at most N customers")
    p.add_argument(
        "--budget", type=_amount, metavar="X", help="at most X expected incentive paid (no limit)"
    )
    p.add_argument(
        "--control-share",
        type=_share,
        default=0.1,
        metavar="S",
        help="share of the customers to contact held out as the control group (0.1)",
    )


def _amount(text: str) -> float:
    v = _number(text, float)
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return v
