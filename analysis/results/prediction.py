"""Predicted choice probabilities of the fitted respondents on any choice sets.

The canonical long table (or a ChoiceDataset's choices) coded as the estimation's design
rows, and each alternative's posterior mean logit probability within its task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.data import _designed_position
from analysis.results._common import _chunks, _flat_beta, _respondent_index
from conjoint.encoding import make_encoding
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from analysis.model import HBModel


def _design_rows(study: Study, frame: pd.DataFrame, source: str) -> np.ndarray:
    """Model rows of a canonical long table (one row per alternative), as the estimation."""
    enc = make_encoding(study)
    rows = np.zeros((len(frame), enc.n_parameters))
    alt = frame["alt"].astype("string").fillna("").to_numpy(dtype=str)
    special = np.isin(alt, ["none", "status_quo"])
    problems: list[str] = []
    blank = np.zeros(len(frame), dtype=bool)
    pos = _designed_position(alt, study.design.alternatives)
    for a, attr in enumerate(study.attributes):
        col = frame[attr.name]
        idx = np.array([-1 if pd.isna(v) else attr.index_of(v) for v in col], dtype=int)
        if enc.applies is not None:  # absent on the other labels' alternatives: left out
            absent = (pos >= 0) & ~enc.applies[np.maximum(pos, 0), a]
            idx[absent] = -1
            special = special | absent
        blank |= idx < 0
        bad = (idx < 0) & ~col.isna().to_numpy() | ((idx < 0) & ~special)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(
                f"Unknown or missing level {col.iloc[i]!r} for attribute '{attr.name}' "
                f"({int(bad.sum())} row(s), first: row {i + 1} of {source}). Valid levels: "
                f"{list_valid(attr.level_labels())}."
            )
        ok = idx >= 0
        rows[ok] += enc.tables[a][idx[ok]]
    if problems:
        raise WinbackError("\n".join(problems))
    enc.complete(rows, blank)
    for j, col_j in enumerate(enc.label_index):  # a labelled design's label constants
        if col_j is not None:
            rows[pos == j, col_j] = 1.0
    if (alt == "none").any():
        if enc.none_index is None:
            raise WinbackError(f"{source} has 'none' rows but the study has no none option.")
        rows[alt == "none"] = 0.0
        rows[alt == "none", enc.none_index] = 1.0
    if (alt == "status_quo").any():
        if enc.sq_index is None:
            raise WinbackError(f"{source} has 'status_quo' rows but the study has no status quo.")
        rows[alt == "status_quo", enc.sq_index] = 1.0
    return rows


def predict(model: HBModel, data: pd.DataFrame | ChoiceDataset) -> pd.DataFrame:
    """Predicted choice probability of every alternative for the fitted respondents.

    Each alternative's probability is the posterior mean over draws of its logit probability
    among the alternatives of the same task (``respondent_id, task``) at that respondent's
    part-worths. With dual-response none, the table's rows (without the follow-up) are the
    choice set.

    Parameters
    ----------
    model : HBModel
    data : DataFrame or ChoiceDataset
        The canonical long table (``respondent_id, task, alt`` and one column per attribute,
        empty on the none row), e.g. new scenarios for fitted respondents; a ChoiceDataset
        gives its included respondents' choices, holdouts included.

    Returns
    -------
    DataFrame
        A copy of the table with a column ``probability`` (adding to 1 within each task).

    Raises
    ------
    WinbackError
        For respondents the model was not fitted to (named), unknown levels, missing columns.

    Examples
    --------
    >>> pred = predict(model, dataset)  # doctest: +SKIP
    >>> pred.groupby(["respondent_id", "task"])["probability"].sum()  # doctest: +SKIP
    """
    study = model.study
    if isinstance(data, ChoiceDataset):
        frame = data.included_choices(holdouts=True)
        source = "the dataset's choices"
    else:
        frame = data.copy()
        source = "the table"
    need = ["respondent_id", "task", "alt", *study.attribute_names]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise WinbackError(
            f"predict: {source} lacks column(s) {list_valid(missing)}; it needs {list_valid(need)}."
        )
    out = frame.reset_index(drop=True) if isinstance(data, ChoiceDataset) else frame
    if out.empty:
        return out.assign(probability=pd.Series(dtype=float))
    ids = out["respondent_id"].astype(str).to_numpy()
    known = set(model.respondent_ids)
    unknown = list(dict.fromkeys(r for r in ids if r not in known))
    if unknown:
        raise WinbackError(
            f"predict: {len(unknown)} respondent(s) unknown to the fit: "
            f"{list_valid(unknown[:10])}" + (" ..." if len(unknown) > 10 else "") + ". "
            "Only fitted respondents can be predicted (new respondents would need the "
            "population distribution)."
        )
    x = _design_rows(study, out, source)
    resp = _respondent_index(model, list(ids))
    group = pd.factorize(pd.MultiIndex.from_arrays([ids, out["task"].to_numpy()]))[0]
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    gidx = np.cumsum(np.r_[False, g_sorted[1:] != g_sorted[:-1]])
    xs, rs = x[order], resp[order]
    beta = _flat_beta(model)
    total = np.zeros(len(out))
    for sl in _chunks(beta.shape[0], len(out) * 2):
        util = np.einsum("rk,srk->sr", xs, beta[sl][:, rs, :])
        m = np.maximum.reduceat(util, starts, axis=1)
        e = np.exp(util - m[:, gidx])
        p = e / np.add.reduceat(e, starts, axis=1)[:, gidx]
        total += p.sum(axis=0)
    prob = np.empty(len(out))
    prob[order] = total / beta.shape[0]
    out = out.copy()
    out["probability"] = prob
    return out
