"""The flags read straight from the answers, without a model: interview durations (speeders),
screen positions (straight-liners, always none), repeated holdout tasks and duplicate
interviews.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from surveys._text import member
from surveys.quality.tasks import _SPECIAL_RANK, _Tasks
from winback.errors import WinbackError, list_valid
from winback.study import Study


def _numeric_answers(people: pd.DataFrame, column: str) -> pd.Series:
    """A numeric respondent column; blanks become NA, anything else that is not a finite number
    >= 0 is an error naming the respondents."""
    raw = people[column]
    text = raw.astype("string").str.strip()
    blank = raw.isna() | (text == "")
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & (num.isna() | (num < 0) | np.isinf(num.astype(float)))
    if bad.any():
        shown = [
            f"{r} ({v!r})" for r, v in zip(people["respondent_id"][bad], raw[bad], strict=True)
        ]
        raise WinbackError(
            f"respondents column '{column}' must hold finite numbers >= 0; {int(bad.sum())} do "
            "not: "
            f"{list_valid(shown[:5])}" + (" ..." if bad.sum() > 5 else "") + "."
        )
    return pd.Series(num.to_numpy(dtype=float), index=people["respondent_id"].astype("string"))


def _kahan_rows(values: np.ndarray) -> np.ndarray:
    """Row sums of a 2-D array, added left to right with Kahan's compensation (as pandas'
    grouped sum adds)."""
    total = np.zeros(len(values))
    comp = np.zeros(len(values))
    for col in values.T:
        y = col - comp
        t = total + y
        comp = t - total - y
        comp[comp != comp] = 0.0  # an infinite value: no compensation (pandas GH#53606)
        total = t
    return total


def _durations(
    tasks: _Tasks, people: pd.DataFrame, included: set[str]
) -> tuple[pd.Series, pd.Series, float | None]:
    ids = people["respondent_id"].astype("string")
    duration = pd.Series(np.nan, index=ids, dtype=float)
    source = pd.Series(pd.NA, index=ids, dtype="string")
    if "duration_seconds" in people.columns:
        d = _numeric_answers(people, "duration_seconds").to_numpy()
        known = ~np.isnan(d)
        duration[known] = d[known]
        source[known] = "respondents"
    if tasks.seconds is not None and tasks.n:
        # a task's time is the largest value on its rows (files repeat it on every row or put
        # it on one); a respondent's total is known only when every task's time is
        complete = ~np.isnan(tasks.seconds).any(axis=1)
        total = pd.Series(_kahan_rows(tasks.seconds[complete]), index=np.array(tasks.ids)[complete])
        fill = duration.isna().to_numpy() & member(ids, total.index)
        duration[fill] = total.reindex(duration.index[fill]).to_numpy()
        source[fill] = "task seconds"
    pool = duration[member(duration.index, tasks.ids) & duration.notna().to_numpy()]
    counted = member(pool.index, list(included))
    if counted.any():
        pool = pool[counted]
    median = float(pool.median()) if len(pool) else None
    return duration, source, median


def _positions(tasks: _Tasks, study: Study) -> pd.DataFrame:
    """Screen positions of the chosen alternatives (``alt_position`` when known, else the
    alternative), straight-lining and none answers, per respondent with tasks."""
    n, t = tasks.y.shape
    alts = np.asarray(tasks.alt, dtype=object)
    chosen_alt = alts[tasks.y] if n else np.zeros((0, t), dtype=object)
    special = np.isin(chosen_alt, list(_SPECIAL_RANK))
    # a none or status-quo answer has no screen position of its own: its own code
    screen = tasks.y.astype(float) if tasks.position is None else tasks.position.copy()
    screen[special] = -1.0 - tasks.y[special]
    ordered = np.sort(screen, axis=1)
    change = np.concatenate(
        (np.ones((n, 1), dtype=bool), ordered[:, 1:] != ordered[:, :-1]), axis=1
    )
    n_distinct = change.sum(axis=1)
    top = np.zeros(n, dtype=np.int64)  # the longest run of one position in the sorted row
    run = np.zeros(n, dtype=np.int64)
    for c in range(t):
        run = np.where(change[:, c], 1, run + 1)
        top = np.maximum(top, run)
    none = chosen_alt == "none"
    if study.dual_response_none:
        assert tasks.would_buy is not None
        none = tasks.would_buy == 0  # NaN (unknown) is not a no
    out = pd.DataFrame(index=pd.Index(tasks.ids, dtype="string", name="respondent_id"))
    out["same_position_share"] = top / t if t else np.nan
    out["straight_liner"] = (n_distinct == 1) & ~special.any(axis=1) & (t >= 2)
    out["none_share"] = none.sum(axis=1) / t if t else np.nan
    out["always_none"] = none.all(axis=1) if study.has_none else False
    return out


def _set_keys(profile: np.ndarray) -> np.ndarray:
    """Each task's set of profiles (order and repeats ignored) as a sorted row of codes."""
    keys = np.sort(profile, axis=-1)
    repeat = np.zeros(keys.shape, dtype=bool)
    repeat[..., 1:] = keys[..., 1:] == keys[..., :-1]
    keys = np.where(repeat, np.iinfo(np.int64).max, keys)  # a repeat counts once
    return np.sort(keys, axis=-1)


def _repeats(tasks: _Tasks) -> pd.DataFrame:
    """Holdout tasks shown twice (the same set of profiles): is the same profile chosen?

    Each holdout task whose set of profiles an earlier holdout task of the respondent showed
    is a repeat; it is answered the same when the same profile (and, with dual-response none,
    the same would-buy answer) is chosen as at that set's first showing.
    """
    out = pd.DataFrame(
        {"holdout_consistency": np.nan, "failed_repeat": pd.NA},
        index=pd.Index(tasks.ids, dtype="string"),
    )
    if tasks.n == 0 or not tasks.holdout.any():
        return out
    n = tasks.n
    shown = np.flatnonzero(tasks.holdout.any(axis=0))  # tasks that are anyone's holdout
    keys = _set_keys(tasks.profile[:, shown].astype(np.int64))
    answer = np.take_along_axis(tasks.profile, tasks.y[..., None], axis=2)[..., 0][:, shown]
    if tasks.buy is not None:
        answer = answer * 2 + tasks.buy[:, shown]
    holdout = tasks.holdout[:, shown]
    n_rep = np.zeros(n, dtype=np.int64)
    n_same = np.zeros(n, dtype=np.int64)
    for later in range(len(shown)):
        first = np.full(n, -1)  # the first earlier holdout showing the same set
        for earlier in range(later - 1, -1, -1):
            same_set = holdout[:, earlier] & (keys[:, earlier] == keys[:, later]).all(axis=1)
            first = np.where(same_set, earlier, first)
        rep = holdout[:, later] & (first >= 0)
        seen = answer[np.arange(n), np.maximum(first, 0)]
        n_rep += rep
        n_same += rep & (seen == answer[:, later])
    with np.errstate(invalid="ignore", divide="ignore"):
        cons = np.where(n_rep > 0, n_same / np.maximum(n_rep, 1), np.nan)
    out["holdout_consistency"] = cons
    fail = pd.array(n_same < n_rep, dtype="boolean")
    fail[n_rep == 0] = pd.NA  # no repeated holdout: cannot be told
    out["failed_repeat"] = fail
    return out


def _duplicates(tasks: _Tasks, people: pd.DataFrame, ignore: Sequence[str]) -> pd.DataFrame:
    """Interviews repeated: identical choices in every task (version, task, alternative and
    would-buy answer) and identical respondent answers (paradata aside); each copy names the
    first respondent, in dataset order, it repeats."""
    n, t = tasks.y.shape
    idx = pd.Index(tasks.ids, dtype="string")
    # the choices: one integer per distinct (version, task, alternative, would-buy) cell, then
    # one per distinct row of them
    parts = [tasks.version, tasks.task_no, tasks.y]
    if tasks.would_buy is not None:
        parts.append(np.where(np.isnan(tasks.would_buy), -1.0, tasks.would_buy))
    cells = np.zeros((n, t), dtype=np.int64)
    for part in parts:
        codes, uniques = pd.factorize(np.asarray(part).ravel())
        cells = cells * len(uniques) + codes.reshape(n, t)
        cells = pd.factorize(cells.ravel())[0].reshape(n, t)  # keeps the product small
    choice = _row_classes(cells)
    # the respondents' answers, compared as text (as they were given), missing as missing
    answer_cols = [c for c in people.columns if c != "respondent_id" and c not in set(ignore)]
    pid = people["respondent_id"].astype("string")
    at = pd.Index(pid.to_numpy(dtype=object)).get_indexer(np.asarray(tasks.ids, dtype=object))
    answers = np.zeros((n, len(answer_cols)), dtype=np.int64)
    for c, col in enumerate(answer_cols):
        text = people[col].astype("string")
        codes = np.asarray(pd.factorize(text, use_na_sentinel=True)[0], dtype=np.int64)
        answers[:, c] = np.where(at >= 0, codes[np.maximum(at, 0)], -2)  # -2: not listed
    answer = _row_classes(answers) if answer_cols else np.zeros(n, dtype=np.int64)
    key = pd.factorize(choice * (int(answer.max(initial=0)) + 1) + answer)[0]
    first = np.unique(key, return_index=True)[1]  # keys 0, 1, ... in order of appearance
    is_dup = first[key] != np.arange(n)
    duplicate_of = np.asarray(tasks.ids, dtype=object)[first[key]]
    duplicate_of[~is_dup] = pd.NA
    return pd.DataFrame({"duplicate_of": duplicate_of, "duplicate": is_dup}, index=idx)


def _row_classes(matrix: np.ndarray) -> np.ndarray:
    """One integer per distinct row of an integer matrix (numbered in order of appearance):
    the columns folded in one at a time, the running codes renumbered after each."""
    codes = np.zeros(matrix.shape[0], dtype=np.int64)
    for col in matrix.T:
        values, n_values = pd.factorize(col)
        codes = pd.factorize(codes * (len(n_values) + 1) + values)[0].astype(np.int64)
    return codes
