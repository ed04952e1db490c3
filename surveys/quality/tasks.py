"""The choices as arrays: every respondent's tasks as design rows, chosen indices, would-buy
answers, holdout marks and integer profile codes (``_Tasks``), the input of every flag that
looks at the choices.
"""

from __future__ import annotations

import math
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
    alternative's name); ``alt``: (J,) alt labels.
    """

    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    buy: np.ndarray | None
    holdout: np.ndarray
    profile: np.ndarray
    alt: list[str]
    encoding: Encoding

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
    )
