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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveys._text import member
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
#: the ``attribute`` of a labelled design's label rows (the label is the ``level``)
LABEL = "label"
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
        in the study file's order, then in a labelled design (``[design] labels``) one row per
        label (attribute ``label``, level the label: how often its alternative was chosen),
        then ``none`` and ``status_quo`` (attribute and level both named so). A level never
        shown has ``shown`` 0 and an empty share.

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
    # lazy: scipy.special (about 0.3 s to import, with scipy.linalg) loads when a band is made
    from scipy.special import ndtri

    z = float(ndtri(0.5 + band / 2.0))
    study = dataset.study
    ids = dataset.included_ids
    rows_of = _rows(dataset)
    resp, resp_ids = rows_of.respondent, rows_of.respondent_ids
    included = member(list(resp_ids), ids)
    ch = dataset._choices  # read only
    keep = included[resp] & (ch["holdout"].to_numpy() == 0)
    if not keep.any():
        raise WinbackError(f"no estimation tasks among the {len(ids)} included respondents.")
    # each respondent's group: 0 for everyone, then one per segment value
    groups: list[tuple[str, np.ndarray]] = [(ALL, keep)]
    n_people = {ALL: len(ids)}
    if segment is not None:
        values = _segment_values(dataset, segment, ids)
        order = sorted(v for v in set(values.values()) if v != MISSING)
        if MISSING in values.values():
            order.append(MISSING)
        code = {v: i for i, v in enumerate(order)}
        of_resp = np.array([code.get(values.get(r, ""), -1) for r in resp_ids], dtype=np.int64)
        row_group = of_resp[resp]
        for v in order:
            groups.append((v, keep & (row_group == code[v])))
            n_people[v] = sum(1 for x in values.values() if x == v)
    labels = np.asarray(rows_of.alt_labels, dtype=object)
    special = {name: np.flatnonzero(labels == name) for name in ("none", "status_quo")}
    is_none = np.isin(rows_of.alt, special["none"])
    is_sq = np.isin(rows_of.alt, special["status_quo"])
    designed = ~(is_none | is_sq)
    chosen = ch["chosen"].to_numpy() == 1
    rows: list[dict[str, object]] = []
    for name, mask in groups:
        m = mask & designed
        for a in study.attributes:
            idx = rows_of.levels[a.name]
            shown = np.bincount(idx[m & (idx >= 0)], minlength=a.n_levels)
            won = np.bincount(idx[m & chosen & (idx >= 0)], minlength=a.n_levels)
            for i, level in enumerate(a.levels):
                rows.append(
                    _row(name, n_people[name], a.name, format_level(level), shown[i], won[i], z)
                )
        # a labelled design: each label's alternative (shown once per task), as Sawtooth's
        # counts show brands
        for j, label in enumerate(study.design.labels, start=1):
            is_label = np.isin(rows_of.alt, np.flatnonzero(labels == str(j)))
            shown_j = int((m & is_label).sum())
            won_j = int((m & is_label & chosen).sum())
            rows.append(_row(name, n_people[name], LABEL, label, shown_j, won_j, z))
        n_tasks = int((chosen & mask).sum())  # one chosen row per task
        if study.none_option:
            k = int((chosen & mask & is_none).sum())
            rows.append(_row(name, n_people[name], "none", "none", n_tasks, k, z))
        elif study.dual_response_none:
            wb = pd.to_numeric(ch["would_buy"], errors="coerce").to_numpy(dtype=float)
            answered = mask & chosen & ~np.isnan(wb)
            k = int((wb[answered] == 0).sum())
            rows.append(_row(name, n_people[name], "none", "none", int(answered.sum()), k, z))
        if study.status_quo is not None:
            k = int((chosen & mask & is_sq).sum())
            rows.append(_row(name, n_people[name], "status_quo", "status_quo", n_tasks, k, z))
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


@dataclass(frozen=True)
class _Rows:
    """The choice table's rows as codes: respondent, alternative, each attribute's level."""

    respondent: np.ndarray
    respondent_ids: tuple[str, ...]
    alt: np.ndarray
    alt_labels: tuple[str, ...]
    levels: dict[str, np.ndarray]


def _rows(dataset: ChoiceDataset) -> _Rows:
    """Validation's codes when the dataset has them (no text hashed again), else codes made
    from the table's text."""
    coded = dataset._coded
    study = dataset.study
    if coded is not None:
        return _Rows(
            np.asarray(coded.respondent, dtype=np.int64),
            tuple(coded.respondent_ids),
            np.asarray(coded.alt, dtype=np.int64),
            tuple(str(a) for a in coded.alt_labels),
            {a.name: np.asarray(coded.levels[a.name], dtype=np.int64) for a in study.attributes},
        )
    ch = dataset._choices
    r_codes, r_ids = pd.factorize(ch["respondent_id"].astype(str))
    a_codes, a_labels = pd.factorize(ch["alt"].astype(str))
    return _Rows(
        np.asarray(r_codes, dtype=np.int64),
        tuple(str(r) for r in r_ids),
        np.asarray(a_codes, dtype=np.int64),
        tuple(str(a) for a in a_labels),
        {a.name: _level_index(ch[a.name], a) for a in study.attributes},
    )


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
