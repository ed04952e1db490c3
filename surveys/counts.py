"""Counts: how often each level was chosen when it was shown (Sawtooth's "counts").

The first look at choice data, before any model: for every attribute level, the share of the
times an alternative showing it was chosen, with a Wilson score interval; the none share (and
the status quo's). Under equal utilities every share is about 1 / (alternatives per task, none
included); a level chosen more often than that is liked, less often disliked. Counts are
marginal: a level that appeared mostly beside unattractive levels looks better than it is, which
a balanced design keeps small and a model removes.

``analysis.counts`` is this function (it lives here, below ``analysis``, so that
``winback import`` writes ``counts.csv`` without loading the estimation code).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from surveys.dataset import ChoiceDataset
from surveys.reasons.shares import wilson_interval
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.settings import BAND, check_band
from winback.study import Attribute, format_level

#: the columns of :func:`counts`' table (and of ``counts.csv``)
COUNT_COLUMNS = (
    "segment",
    "respondents",
    "attribute",
    "level",
    "shown",
    "chosen",
    "share",
    "lower",
    "upper",
)
#: the ``segment`` of the rows over every included respondent
ALL = "all"
#: the ``segment`` of respondents without a value in the segment column
MISSING = "(missing)"


def counts(
    dataset: ChoiceDataset, *, segment: str | None = None, band: float = BAND
) -> pd.DataFrame:
    """The share of times each level was chosen when shown, with Wilson intervals.

    Estimation tasks of the included respondents only (holdouts and exclusions left out). Each
    appearance of a level on a designed alternative counts once in ``shown``, and once in
    ``chosen`` when that alternative was chosen. The status quo's rows are not in the level
    counts (its profile is the respondent's own plan); it has a row of its own, as has the
    none alternative: shown once per task, chosen when picked (with dual-response none, when
    the respondent would not buy the alternative chosen).

    Parameters
    ----------
    dataset : ChoiceDataset
    segment : str, optional
        A respondent column (as in ``respondents.csv``): the table is repeated for each of its
        values after the rows over everyone (``segment`` "all"); respondents without a value
        are segment "(missing)".
    band : float
        Probability of the Wilson score intervals.

    Returns
    -------
    DataFrame
        ``segment, respondents, attribute, level, shown, chosen, share, lower, upper``; levels
        in the study file's order, then ``none`` and ``status_quo`` (attribute and level both
        named so). A level never shown has ``shown`` 0 and an empty share.

    Notes
    -----
    The interval treats every appearance as an independent trial. A respondent's choices are
    alike, so the true uncertainty is larger when respondents differ; read the intervals as a
    lower bound on it.

    Examples
    --------
    >>> counts(dataset).head(3)  # doctest: +SKIP
      segment  respondents attribute     level  shown  chosen     share  lower  upper
    0     all          300      plan     Basic   2400     430  0.179167    ...    ...
    """
    band = check_band(band)
    z = float(ndtri(0.5 + band / 2.0))
    study = dataset.study
    ids = dataset.included_ids
    ch = dataset.included_choices()
    if ch.empty:
        raise WinbackError(f"no estimation tasks among the {len(ids)} included respondents.")
    groups: list[tuple[str, np.ndarray]] = [(ALL, np.ones(len(ch), dtype=bool))]
    n_people = {ALL: len(ids)}
    if segment is not None:
        values = _segment_values(dataset, segment, ids)
        row_value = ch["respondent_id"].astype(str).map(values).to_numpy()
        order = sorted(v for v in set(values.values()) if v != MISSING)
        if MISSING in values.values():
            order.append(MISSING)
        for v in order:
            groups.append((v, row_value == v))
            n_people[v] = sum(1 for x in values.values() if x == v)
    alt = ch["alt"].astype(str).to_numpy()
    designed = ~np.isin(alt, ["none", "status_quo"])
    chosen = ch["chosen"].to_numpy() == 1
    level_index = {a.name: _level_index(ch[a.name], a) for a in study.attributes}
    rows: list[dict[str, object]] = []
    for name, mask in groups:
        m = mask & designed
        for a in study.attributes:
            idx = level_index[a.name][m]
            picked = chosen[m]
            shown = np.bincount(idx[idx >= 0], minlength=a.n_levels)
            won = np.bincount(idx[(idx >= 0) & picked], minlength=a.n_levels)
            for i, v in enumerate(a.levels):
                rows.append(_row(name, n_people[name], a.name, format_level(v), shown[i], won[i], z))
        n_tasks = int((chosen & mask).sum())  # one chosen row per task
        if study.none_option:
            k = int((chosen & mask & (alt == "none")).sum())
            rows.append(_row(name, n_people[name], "none", "none", n_tasks, k, z))
        elif study.dual_response_none:
            wb = pd.to_numeric(ch["would_buy"], errors="coerce").to_numpy(dtype=float)
            answered = mask & chosen & ~np.isnan(wb)
            k = int((wb[answered] == 0).sum())
            rows.append(_row(name, n_people[name], "none", "none", int(answered.sum()), k, z))
        if study.status_quo is not None:
            k = int((chosen & mask & (alt == "status_quo")).sum())
            rows.append(_row(name, n_people[name], "status_quo", "status_quo", n_tasks, k, z))
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def _row(
    segment: str, people: int, attribute: str, level: str, shown: int, chosen: int, z: float
) -> dict[str, object]:
    share = chosen / shown if shown else float("nan")
    lo, hi = wilson_interval(share, shown, z)
    return {
        "segment": segment,
        "respondents": people,
        "attribute": attribute,
        "level": level,
        "shown": int(shown),
        "chosen": int(chosen),
        "share": share,
        "lower": lo,
        "upper": hi,
    }


def _level_index(column: pd.Series, attribute: Attribute) -> np.ndarray:
    """Each row's level index (-1 where the row shows none), one lookup per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    lookup = np.array([attribute.index_of(u) for u in uniques] + [-1], dtype=np.int64)
    return lookup[np.where(codes < 0, len(uniques), codes)]


def _segment_values(dataset: ChoiceDataset, column: str, ids: list[str]) -> dict[str, str]:
    """Each included respondent's value of the segment column, as text."""
    people = dataset.respondents
    valid = [c for c in people.columns if c != "respondent_id" and not str(c).startswith("_")]
    if column not in valid:
        raise WinbackError(
            f"segment: '{column}' is not a respondent column.{did_you_mean(column, valid)} "
            f"Respondent columns: {list_valid(valid)}."
        )
    people = people.assign(respondent_id=people["respondent_id"].astype(str))
    col = people.set_index("respondent_id")[column].reindex(ids)
    text = col.astype("string").str.strip()
    return {r: (MISSING if pd.isna(v) or v == "" else str(v)) for r, v in text.items()}
