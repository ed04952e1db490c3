"""The quality flags' task arrays and answer flags as they were before they were rewritten on
integer arrays (issue 14 item 4): the specification ``test_quality_answers.py`` compares the
new code with, kept verbatim (apart from names)."""

# ruff: noqa
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from conjoint.encoding import make_encoding
from surveys.dataset import ChoiceDataset
from surveys.quality.answers import _numeric_answers
from surveys.quality.tasks import _SPECIAL_RANK, _Tasks
from winback.errors import WinbackError


def _level_indices(choices: pd.DataFrame, dataset: ChoiceDataset) -> np.ndarray:
    cols = []
    for a in dataset.study.attributes:
        codes, uniques = pd.factorize(choices[a.name])  # each distinct value looked up once
        lut = np.array([a.index_of(v) for v in uniques] + [-1], dtype=int)
        cols.append(lut[codes])  # code -1 (blank) takes the last entry, -1
    return np.column_stack(cols) if cols else np.zeros((len(choices), 0), dtype=int)


def _task_arrays(dataset: ChoiceDataset) -> _Tasks:
    study = dataset.study
    enc = make_encoding(study)
    ch = dataset.choices
    k = enc.n_parameters
    if ch.empty:
        empty = np.zeros((0, 0, 0, k))
        return _Tasks(
            [],
            empty,
            np.zeros((0, 0), int),
            None,
            np.zeros((0, 0), bool),
            np.zeros((0, 0, 0), object),
            [],
            enc,
            np.zeros((0, 0), np.int64),
            np.zeros((0, 0), np.int64),
        )
    # canonical order: respondents as they appear, tasks, designed alternatives, sq, none
    order = {r: i for i, r in enumerate(pd.unique(ch["respondent_id"]))}
    # each distinct alt label ranked once (a per-row map costs seconds on a 200 MB export)
    alt_codes, alt_labels = pd.factorize(ch["alt"])
    rank = np.array(
        [_SPECIAL_RANK.get(a, int(a) if str(a).isdigit() else 20_000) for a in alt_labels]
    )[alt_codes]
    ch = (
        ch.assign(_o=ch["respondent_id"].map(order), _a=rank)
        .sort_values(["_o", "task", "_a"], kind="stable")
        .reset_index(drop=True)
    )
    ids = list(order)
    n = len(ids)
    per_task = ch.groupby(["_o", "task"], sort=False).size()
    n_tasks = ch.groupby("_o")["task"].nunique()
    if per_task.nunique() != 1 or n_tasks.nunique() != 1:
        raise WinbackError(
            "every respondent needs the same number of tasks and of alternatives per task to "
            "flag quality; build the dataset with surveys.make_dataset or read_responses."
        )
    t, j = int(n_tasks.iloc[0]), int(per_task.iloc[0])
    alt = ch["alt"].astype(str).to_numpy()
    alts = list(alt[:j])
    if not (alt.reshape(n * t, j) == np.asarray(alts, dtype=object)).all():
        raise WinbackError(
            "tasks show different alternatives; flag_quality needs a complete dataset."
        )

    idx = _level_indices(ch, dataset)
    x = np.zeros((len(ch), k))
    for a, table in enumerate(enc.tables):
        padded = np.vstack([table, np.zeros((1, k))])  # index -1 (blank) adds nothing
        x += padded[idx[:, a]]
    if enc.none_index is not None:
        x[alt == "none", enc.none_index] = 1.0
    if enc.sq_index is not None:
        x[alt == "status_quo", enc.sq_index] = 1.0
    # one integer per distinct profile (none and status quo negative): equal profiles, equal
    # codes, without a Python tuple per row
    radix = [a.n_levels + 1 for a in study.attributes]  # level index + 1; 0 is blank
    if math.prod(radix) < 2**62:
        profile = np.zeros(len(ch), dtype=np.int64)
        for a, r in enumerate(radix):
            profile = profile * r + (idx[:, a] + 1)
    else:  # too many combinations for one integer: number the distinct rows instead
        profile = np.unique(idx, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    for code, name in enumerate(_SPECIAL_RANK, start=1):
        profile[alt == name] = -code

    chosen = ch["chosen"].to_numpy().reshape(n, t, j)
    y = chosen.argmax(axis=2)
    buy = None
    if study.dual_response_none:
        wb = ch["would_buy"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        wb = np.where(chosen.ravel() == 1, wb, np.nan).reshape(n, t, j)
        buy = np.nanmax(wb, axis=2).astype(int)
    holdout = ch["holdout"].to_numpy().reshape(n, t, j)[..., 0].astype(bool)
    return _Tasks(
        ids,
        x.reshape(n, t, j, k),
        y,
        buy,
        holdout,
        profile.reshape(n, t, j),
        alts,
        enc,
        np.zeros((n, t), np.int64),
        np.zeros((n, t), np.int64),
    )


def _durations(
    dataset: ChoiceDataset, people: pd.DataFrame, with_tasks: list[str], included: set[str]
) -> tuple[pd.Series, pd.Series, float | None]:
    ids = people["respondent_id"].astype("string")
    duration = pd.Series(np.nan, index=ids, dtype=float)
    source = pd.Series(pd.NA, index=ids, dtype="string")
    if "duration_seconds" in people.columns:
        d = _numeric_answers(people, "duration_seconds")
        duration[d.notna()] = d[d.notna()]
        source[d.notna()] = "respondents"
    ch = dataset.choices
    if "seconds" in ch.columns:
        # a task's time is the largest value on its rows (files repeat it on every row or put
        # it on one); a respondent's total is known only when every task's time is
        per_task = ch.groupby(["respondent_id", "task"])["seconds"].max()
        known = per_task.notna().groupby(level=0).all()
        total = per_task.groupby(level=0).sum()[known]
        fill = duration.isna() & ids.isin(total.index).to_numpy()
        duration[fill] = total.reindex(duration.index[fill]).to_numpy()
        source[fill] = "task seconds"
    pool = duration[duration.index.isin(with_tasks) & duration.notna()]
    if len(pool) and len(set(pool.index) & included):
        pool = pool[pool.index.isin(list(included))]
    median = float(pool.median()) if len(pool) else None
    return duration, source, median


def _positions(dataset: ChoiceDataset, with_tasks: list[str]) -> pd.DataFrame:
    ch = dataset.choices
    chosen = ch[ch["chosen"] == 1]
    study = dataset.study
    if "alt_position" in ch.columns:
        screen = chosen["alt_position"].astype("string")
    else:
        screen = chosen["alt"].astype("string")
    special = chosen["alt"].isin(list(_SPECIAL_RANK))
    screen = screen.where(~special, "<" + chosen["alt"].astype("string") + ">")
    g = pd.DataFrame({"respondent_id": chosen["respondent_id"], "pos": screen, "special": special})
    g["none"] = (chosen["alt"] == "none").to_numpy()
    if study.dual_response_none:
        g["none"] = (chosen["would_buy"] == 0).fillna(False).to_numpy()
    by = g.groupby("respondent_id", sort=False)
    n_tasks = by.size()
    top = g.groupby(["respondent_id", "pos"], sort=False).size().groupby(level=0).max()
    any_special = by["special"].any()
    one_position = g.groupby("respondent_id")["pos"].nunique() == 1
    out = pd.DataFrame(index=pd.Index(with_tasks, dtype="string", name="respondent_id"))
    out["same_position_share"] = (top / n_tasks).reindex(out.index)
    out["straight_liner"] = (one_position & ~any_special & (n_tasks >= 2)).reindex(out.index)
    out["none_share"] = by["none"].mean().reindex(out.index)
    out["always_none"] = by["none"].all().reindex(out.index) if study.has_none else False
    return out


def _repeats(tasks: _Tasks) -> pd.DataFrame:
    """Holdout tasks shown twice (the same set of profiles): is the same profile chosen?"""
    out = pd.DataFrame(
        {"holdout_consistency": np.nan, "failed_repeat": pd.NA},
        index=pd.Index(tasks.ids, dtype="string"),
    )
    if tasks.n == 0 or not tasks.holdout.any():
        return out
    cons = np.full(tasks.n, np.nan)
    for i in range(tasks.n):
        seen: dict[frozenset[Any], Any] = {}
        n_rep = n_same = 0
        for t in np.flatnonzero(tasks.holdout[i]):
            key = frozenset(tasks.profile[i, t])
            answer: Any = tasks.profile[i, t, tasks.y[i, t]]
            if tasks.buy is not None:
                answer = (answer, int(tasks.buy[i, t]))
            if key in seen:
                n_rep += 1
                n_same += int(seen[key] == answer)
            else:
                seen[key] = answer
        if n_rep:
            cons[i] = n_same / n_rep
    out["holdout_consistency"] = cons
    fail = pd.array([pd.NA if np.isnan(c) else bool(c < 1.0) for c in cons], dtype="boolean")
    out["failed_repeat"] = fail
    return out


def _duplicates(
    dataset: ChoiceDataset, people: pd.DataFrame, with_tasks: list[str], ignore: Sequence[str]
) -> pd.DataFrame:
    ch = dataset.choices
    chosen = ch[ch["chosen"] == 1].sort_values(["respondent_id", "task"], kind="stable")
    parts = [chosen["version"].astype(str), chosen["task"].astype(str), chosen["alt"].astype(str)]
    if "would_buy" in chosen.columns:
        parts.append(chosen["would_buy"].astype("string").fillna("<NA>"))
    cell = parts[0].str.cat(parts[1:], sep=":")
    resp = chosen["respondent_id"].to_numpy()
    r_codes, r_ids = pd.factorize(resp)
    counts = np.bincount(r_codes, minlength=len(r_ids))
    if len(r_ids) and (counts == counts[0]).all() and (np.diff(r_codes) >= 0).all():
        # the usual case: as many chosen rows per respondent, each respondent's rows together:
        # the choices as an integer matrix, one code per distinct row of it
        cells = pd.factorize(cell)[0].reshape(len(r_ids), counts[0])
        same = np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1)
        choice_key = pd.Series([f"c{c}" for c in same], index=r_ids)
    else:
        choice_key = cell.groupby(resp, sort=False).agg(";".join)
    answer_cols = [c for c in people.columns if c != "respondent_id" and c not in set(ignore)]
    pid = people["respondent_id"].astype("string")
    if answer_cols:
        ans = people[answer_cols].astype("string").fillna("<NA>")
        answer_key = ans[answer_cols[0]].str.cat([ans[c] for c in answer_cols[1:]], sep="\x1f")
        answer_key.index = pid
    else:
        answer_key = pd.Series("", index=pid)
    idx = pd.Index(with_tasks, dtype="string")
    key = choice_key.reindex(idx) + "\x1e" + answer_key.reindex(idx).fillna("<NA>")
    first_id = pd.Series(idx, index=idx).groupby(key.to_numpy(), sort=False).transform("first")
    is_dup = key.duplicated(keep="first")
    return pd.DataFrame(
        {
            "duplicate_of": first_id.where(is_dup.to_numpy(), pd.NA).to_numpy(),
            "duplicate": is_dup.to_numpy(),
        },
        index=idx,
    )
