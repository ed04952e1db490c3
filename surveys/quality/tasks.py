"""The choices as arrays: every respondent's tasks as design rows, chosen indices, would-buy
answers, holdout marks and integer profile codes (``_Tasks``), the input of every flag that
looks at the choices.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from conjoint.encoding import Encoding, make_encoding
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError

_SPECIAL_RANK = {"status_quo": 10_000, "none": 10_001}


@dataclass(frozen=True)
class _Tasks:
    """Every respondent's tasks as arrays (respondents with choice tasks only).

    ``x``: (N, T, J, K) design rows of each task's alternatives in canonical order (designed
    alternatives, then status quo, then none); ``y``: (N, T) index of the chosen row; ``buy``:
    (N, T) would-buy answer under dual-response none, else None; ``holdout``: (N, T) bool;
    ``profile``: (N, T, J) integer key of each row's profile (level indices, or the special
    alternative's name); ``alt``: (J,) alt labels. The chosen rows' other cells, (N, T) each:
    ``task_no`` and ``version``; ``would_buy`` (NaN when missing; None without the column),
    ``position`` (``alt_position``, NaN when missing; None without the column); and
    ``seconds``, each task's largest ``seconds`` over its rows (NaN when none is known; None
    without the column).
    """

    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    buy: np.ndarray | None
    holdout: np.ndarray
    profile: np.ndarray
    alt: list[str]
    encoding: Encoding
    task_no: np.ndarray
    version: np.ndarray
    would_buy: np.ndarray | None = None
    position: np.ndarray | None = None
    seconds: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.ids)


def _level_indices(choices: pd.DataFrame, dataset: ChoiceDataset) -> np.ndarray:
    cols = []
    for a in dataset.study.attributes:
        codes, uniques = pd.factorize(choices[a.name])  # each distinct value looked up once
        lut = np.array([a.index_of(v) for v in uniques] + [-1], dtype=int)
        cols.append(lut[codes])  # code -1 (blank) takes the last entry, -1
    return np.column_stack(cols) if cols else np.zeros((len(choices), 0), dtype=int)


def _canonical_order(r: np.ndarray, task: np.ndarray, rank: np.ndarray) -> np.ndarray | None:
    """The rows sorted by respondent (order of appearance), task and alternative rank (a
    stable sort); None when they are in that order already (as validation leaves them)."""
    if len(r) < 2:
        return None
    dr, dt, da = np.diff(r), np.diff(task), np.diff(rank)
    if ((dr > 0) | ((dr == 0) & ((dt > 0) | ((dt == 0) & (da >= 0))))).all():
        return None
    return np.lexsort((rank, task, r))


def _task_arrays(dataset: ChoiceDataset) -> _Tasks:
    study = dataset.study
    enc = make_encoding(study)
    ch = dataset._choices  # read only
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
    # canonical order: respondents as they appear, tasks, designed alternatives, sq, none; on
    # integer codes (each distinct alt label ranked once)
    coded = dataset._coded  # validation's codes: no texts hashed again
    if coded is not None:
        r_codes, r_ids = coded.respondent, coded.respondent_ids
        alt_codes, alt_labels = coded.alt, coded.alt_labels
    else:
        r_codes, r_ids = pd.factorize(ch["respondent_id"])
        alt_codes, alt_labels = pd.factorize(ch["alt"])
    rank = np.array(
        [_SPECIAL_RANK.get(a, int(a) if str(a).isdigit() else 20_000) for a in alt_labels]
    )[alt_codes]
    task = np.asarray(ch["task"], dtype=np.int64)
    order = _canonical_order(np.asarray(r_codes, dtype=np.int64), task, rank)

    def rows(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    r_sorted, task = rows(np.asarray(r_codes)), rows(task)
    ids = [str(r) for r in r_ids]
    n = len(ids)
    # tasks: runs of one respondent and task
    starts = np.flatnonzero(
        np.concatenate(([True], (r_sorted[1:] != r_sorted[:-1]) | (task[1:] != task[:-1])))
    )
    per_task = np.diff(np.append(starts, len(task)))
    n_tasks = np.bincount(r_sorted[starts], minlength=n)
    if (per_task != per_task[0]).any() or (n_tasks != n_tasks[0]).any():
        raise WinbackError(
            "every respondent needs the same number of tasks and of alternatives per task to "
            "flag quality; build the dataset with surveys.make_dataset or read_responses."
        )
    t, j = int(n_tasks[0]), int(per_task[0])
    alt_code = rows(np.asarray(alt_codes))
    alts = [str(alt_labels[c]) for c in alt_code[:j]]
    if not (alt_code.reshape(n * t, j) == alt_code[:j]).all():
        raise WinbackError(
            "tasks show different alternatives; flag_quality needs a complete dataset."
        )
    # each row's alternative, as its index in alts (one byte a row: a 200 MB export has millions)
    alt_j = np.tile(np.arange(j, dtype=np.int8 if j < 127 else np.int64), n * t)

    def rows_of(name: str) -> np.ndarray:
        return alt_j == alts.index(name) if name in alts else np.zeros(len(alt_j), dtype=bool)

    # lazy: numba (0.4 s to import) loads when flags are computed, not with `import surveys`
    from surveys.quality._kernels import design_rows

    if coded is not None:
        levels = [coded.levels[a.name] for a in study.attributes]
        stacked = np.column_stack(levels) if levels else np.zeros((len(ch), 0), dtype=int)
        idx = rows(stacked.astype(np.int16, copy=False))  # level indices (-1: blank)
        del stacked
    else:
        idx = rows(_level_indices(ch, dataset))
    x = enc.complete(design_rows(idx, enc.tables), (idx < 0).any(axis=1))
    if enc.none_index is not None:
        x[rows_of("none"), enc.none_index] = 1.0
    if enc.sq_index is not None:
        x[rows_of("status_quo"), enc.sq_index] = 1.0
    # one integer per distinct profile (none and status quo negative): equal profiles, equal
    # codes, without a Python tuple per row
    radix = [a.n_levels + 1 for a in study.attributes]  # level index + 1; 0 is blank
    if math.prod(radix) < 2**62:
        profile = np.zeros(len(ch), dtype=np.int64)
        for a, r in enumerate(radix):
            profile *= r
            np.add(profile, idx[:, a], out=profile)  # (in place: no temporaries of N rows)
            profile += 1
    else:  # too many combinations for one integer: number the distinct rows instead
        profile = np.unique(idx, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    del idx
    for code, name in enumerate(_SPECIAL_RANK, start=1):
        profile[rows_of(name)] = -code

    chosen = rows(np.asarray(ch["chosen"])).reshape(n, t, j)
    y = chosen.argmax(axis=2)

    def at_chosen(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values.reshape(n, t, j), y[..., None], axis=2)[..., 0]

    def floats(column: str) -> np.ndarray | None:
        if column not in ch.columns:
            return None
        return rows(ch[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan))

    buy = None
    would_buy = floats("would_buy")
    if study.dual_response_none:
        assert would_buy is not None, "validation requires would_buy under dual-response none"
        wb = np.where(chosen.ravel() == 1, would_buy, np.nan).reshape(n, t, j)
        buy = np.nanmax(wb, axis=2).astype(int)
    holdout = rows(np.asarray(ch["holdout"])).reshape(n, t, j)[..., 0].astype(bool)
    position = floats("alt_position")
    seconds = floats("seconds")
    if seconds is not None:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a task without any time: NaN
            seconds = np.nanmax(seconds.reshape(n, t, j), axis=2)
    return _Tasks(
        ids,
        x.reshape(n, t, j, k),
        y,
        buy,
        holdout,
        profile.reshape(n, t, j),
        alts,
        enc,
        task_no=task.reshape(n, t, j)[..., 0],
        version=at_chosen(rows(np.asarray(ch["version"], dtype=np.int64))),
        would_buy=None if would_buy is None else at_chosen(would_buy),
        position=None if position is None else at_chosen(position),
        seconds=seconds,
    )
