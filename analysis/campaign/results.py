"""What a campaign did: the results file (``results.csv``), checked: :func:`read_results`.

One row per customer of the campaign (the contacted, the held-out control group, and any other
customer whose outcome is known). Columns winback reads (others are kept and ignored):

- ``customer_id`` (required, unique, not empty): the CRM id, as in ``campaign.csv``;
- ``action`` (required column): the action the customer was contacted with (an action of the
  plan), or blank / ``control`` for a customer who was not contacted (the held-out group);
- ``contacted`` (required, 0/1; also true/false, yes/no): whether the contact reached the
  customer;
- ``returned`` (required, 0/1): whether the customer came back (within the campaign's window);
- ``revenue``, ``months_retained`` (optional, numbers >= 0, blank where unknown).

Every problem is reported at once, with the file, the column, the rows (the CSV's lines, the
header being line 1) and the values, and what is valid. Ids the plan does not know are not an
error: they are listed (:attr:`CampaignResults.unknown_ids`) and left out of every comparison,
never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.campaign.customers import _FALSE, _TRUE, _problem_rows, source_table
from winback.errors import WinbackError, did_you_mean, list_valid

__all__ = ["CONTROL", "CampaignResults", "read_results"]

log = logging.getLogger("winback")

#: the ``action`` of a customer held out (blank says the same)
CONTROL = "control"
REQUIRED = ("customer_id", "action", "contacted", "returned")
NUMBERS = ("revenue", "months_retained")


@dataclass(frozen=True)
class CampaignResults:
    """A checked results file.

    Attributes
    ----------
    frame : DataFrame
        ``customer_id, action`` ("" for a customer not contacted with an action),
        ``contacted, returned`` (bool), ``revenue, months_retained`` (NaN where not given), in
        the file's order.
    source : str
        The file's name (for messages).
    rows : ndarray of int
        The line of the file each row is on.
    unknown_ids : tuple of str
        Ids of the file the plan does not have (left out of every comparison), when a plan was
        given.
    """

    frame: pd.DataFrame = field(repr=False)
    source: str
    rows: np.ndarray = field(repr=False)
    unknown_ids: tuple[str, ...] = ()

    @property
    def n_customers(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        f = self.frame
        unknown = f"; {len(self.unknown_ids):,} ids not in the plan" if self.unknown_ids else ""
        return (
            f"CampaignResults from {self.source}: {len(f):,} customers, "
            f"{int(f['contacted'].sum()):,} contacted, {int(f['returned'].sum()):,} came back"
            f"{unknown}"
        )


def _zero_one(col: pd.Series, name: str, rows: np.ndarray, problems: list[str]) -> np.ndarray:
    text = col.astype("string").str.strip().str.lower()
    yes = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    no = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = ~(yes | no)
    if bad.any():
        problems.append(
            _problem_rows(
                f"'{name}' must be 0 or 1 (or true/false, yes/no; not blank)",
                rows[bad],
                col[bad].fillna("").tolist(),
            )
        )
    return yes


def read_results(
    source: str | Path | pd.DataFrame,
    *,
    actions: Sequence[str] | None = None,
    plan_ids: Sequence[str] | None = None,
    name: str | None = None,
) -> CampaignResults:
    """Read and check a campaign's results file.

    Parameters
    ----------
    source : str, Path or DataFrame
        ``results.csv`` (read as text, exactly as written) or a table.
    actions : sequence of str, optional
        The plan's actions: an ``action`` must be one of them (or blank / ``control``).
    plan_ids : sequence of str, optional
        The plan's customer ids: ids not among them are listed in ``unknown_ids`` (and a
        warning says how many), not an error.
    name : str, optional
        The name messages use (default: the file's name, or ``"results"``).

    Returns
    -------
    CampaignResults

    Raises
    ------
    WinbackError
        Every problem at once: a required column missing, empty or repeated ids, flags that
        are not 0/1, an action the plan does not have, a customer contacted without an
        action, a revenue or months that is not a number >= 0; each with rows and values.

    Examples
    --------
    >>> from analysis.campaign import read_results
    >>> results = read_results("results.csv", actions=campaign.table["action"].unique())  # doctest: +SKIP
    """
    frame, label, rows = source_table(source, name, what="results file", table="results")
    columns = list(frame.columns)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        hints = "".join(did_you_mean(c, columns) for c in missing)
        raise WinbackError(
            f"{label}: no column {list_valid(missing)} (required: {list_valid(REQUIRED)}: the "
            "customer, the action contacted with or blank / control for the held-out, whether "
            f"the contact reached them (0/1), whether they came back (0/1)).{hints} "
            f"Columns: {list_valid(columns)}."
        )
    if len(frame) == 0:
        raise WinbackError(f"{label}: no customers (the table has a header only).")
    problems: list[str] = []
    ids = frame["customer_id"].astype("string").str.strip()
    empty = (ids.isna() | (ids == "")).to_numpy(dtype=bool)
    if empty.any():
        problems.append(_problem_rows("empty 'customer_id'", rows[empty]))
    dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ~empty
    if dup.any():
        problems.append(_problem_rows("'customer_id' repeated", rows[dup], ids[dup].tolist()))
    contacted = _zero_one(frame["contacted"], "contacted", rows, problems)
    returned = _zero_one(frame["returned"], "returned", rows, problems)
    raw_action = frame["action"].astype("string").str.strip().fillna("")
    held = (raw_action == "") | (raw_action.str.lower() == CONTROL)
    action = raw_action.where(~held, "").to_numpy(dtype=object)
    held_np = held.to_numpy(dtype=bool)
    if actions is not None:
        valid = [str(a) for a in actions]
        bad = ~held_np & ~np.isin(action, valid)
        if bad.any():
            problems.append(
                _problem_rows(
                    f"'action' is not an action of the plan (valid: {list_valid(valid)}; blank "
                    f"or {CONTROL} for a customer not contacted)",
                    rows[bad],
                    raw_action[bad].tolist(),
                )
            )
    no_action = contacted & held_np
    if no_action.any():
        problems.append(
            _problem_rows(
                "'contacted' is 1 but 'action' is blank or control (say which action reached "
                "the customer)",
                rows[no_action],
                raw_action[no_action].tolist(),
            )
        )
    numbers = {}
    for col in NUMBERS:
        if col not in columns:
            numbers[col] = np.full(len(frame), np.nan)
            continue
        text = frame[col].astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
        num = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float)
        bad = ~blank & ~(np.isfinite(num) & (num >= 0))
        if bad.any():
            problems.append(
                _problem_rows(
                    f"'{col}' is not a number >= 0 (or blank)", rows[bad], frame[col][bad].tolist()
                )
            )
        numbers[col] = np.where(blank | bad, np.nan, num)
    if problems:
        raise WinbackError(f"{label}: " + "; ".join(problems) + ".")
    out = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(dtype=object),
            "action": action,
            "contacted": contacted,
            "returned": returned,
            **numbers,
        }
    )
    unknown: tuple[str, ...] = ()
    if plan_ids is not None:
        known = set(map(str, plan_ids))
        unknown = tuple(v for v in out["customer_id"] if v not in known)
        if unknown:
            shown = ", ".join(unknown[:5]) + (
                f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
            )
            log.warning(
                "%s: %d customer(s) are not in the campaign plan (%s); they are left out of "
                "every comparison.",
                label,
                len(unknown),
                shown,
            )
    return CampaignResults(out, label, rows, unknown)
