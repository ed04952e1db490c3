"""The quality flags in words (``quality_report``) and their random-responder check as a plain
dict (``rlh_calibration``, for ``import.json``), both read from ``flags.attrs``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from surveys.quality.flags import FLAG_COLUMNS
from winback.errors import WinbackError

#: the keys of ``flags.attrs`` that describe the random-responder check
RLH_CHECK_KEYS = (
    "rlh_cutoff",
    "rlh_false_flag",
    "rlh_false_flag_simulated",
    "rlh_detection",
    "rlh_warning",
    "rlh_genuine_source",
    "rlh_n_genuine",
    "rlh_n_random",
    "rlh_simulated_answered",
    "rlh_flagged_share",
    "rlh_random_share_estimate",
    "rlh_note",
)


def rlh_calibration(flags: pd.DataFrame) -> dict[str, Any]:
    """The random-responder check of ``flags`` as a plain dict (for ``import.json``): the
    cutoff, the false-flag setting and its simulated rate, the detection rate, the warning,
    where the genuine part-worths came from and how many respondents were simulated.

    Examples
    --------
    >>> rlh_calibration(data.flags)["rlh_detection"]  # doctest: +SKIP
    0.961
    """
    _check_flags(flags, "rlh_calibration")
    return {k: flags.attrs[k] for k in RLH_CHECK_KEYS if k in flags.attrs}


def _check_flags(flags: Any, caller: str) -> None:
    if not isinstance(flags, pd.DataFrame) or "random_responder" not in flags.columns:
        raise WinbackError(
            f"{caller} needs the flags of surveys.flag_quality (dataset.flags), got "
            f"{type(flags).__name__}."
        )


def quality_report(flags: pd.DataFrame) -> str:
    """The quality flags in words: how many of each, and what the random-responder flag can do
    on this design (its cutoff, its false-flag rate, its detection rate, and a warning when the
    design cannot tell random answering from genuine answers).

    Parameters
    ----------
    flags : DataFrame
        ``dataset.flags`` from :func:`flag_quality`.

    Returns
    -------
    str

    Examples
    --------
    >>> print(quality_report(flag_quality(data).flags))  # doctest: +SKIP
    Random responders (RLH below 0.372): 31 of 600 respondents flagged.
      ...
    """
    _check_flags(flags, "quality_report")
    a = flags.attrs
    known = flags["random_responder"].notna()
    lines = []
    cutoff = a.get("rlh_cutoff")
    if cutoff is None:
        why = a.get("rlh_note") or "no respondent has estimation tasks"
        lines.append(f"Random responders (RLH): not checked: {why}.")
    else:
        n_flag = int(flags["random_responder"].fillna(False).sum())
        lines += [
            f"Random responders (RLH below {cutoff:.3f}): {n_flag} of {int(known.sum()):,} "
            "respondents flagged.",
            f"  The cutoff holds false flags at {a['rlh_false_flag']:.0%} or below: "
            f"{a['rlh_false_flag_simulated']:.1%} of {a['rlh_n_genuine']:,} simulated genuine "
            f"respondents fall below it (part-worths: {a['rlh_genuine_source']}).",
            f"  On this design it catches {a['rlh_detection']:.0%} of {a['rlh_n_random']:,} "
            "simulated random responders.",
        ]
        if a.get("rlh_warning"):
            lines.append(f"  Warning: {a['rlh_warning']}")
    others = [
        f"{c} {int(flags[c].fillna(False).sum())}" for c in FLAG_COLUMNS if c != "random_responder"
    ]
    lines.append("Other flags: " + ", ".join(others) + ".")
    return "\n".join(lines)
