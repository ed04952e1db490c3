"""Pure data preparation for estimation: ChoiceDataset -> arrays with documented shapes.

No PyMC here: everything is testable in milliseconds. The model builder (``analysis.hb``) takes a
:class:`ChoiceArrays`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from conjoint.encoding import make_encoding
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study

log = logging.getLogger("winback")


@dataclass(frozen=True)
class ChoiceArrays:
    """Choice observations as arrays.

    Attributes
    ----------
    x : ndarray, shape (n_obs, n_alts, n_parameters)
        Design rows of every alternative of every observation (padding rows are zero).
    y : ndarray of int, shape (n_obs,)
        Index of the chosen alternative.
    avail : ndarray of bool, shape (n_obs, n_alts)
        Which alternatives exist (False on padding: dual-response follow-ups have two).
    resp : ndarray of int, shape (n_obs,)
        Respondent index of each observation (into ``respondent_ids``).
    respondent_ids : tuple of str
    names : tuple of str
        Parameter names (columns of ``x``).
    obs : DataFrame
        One row per observation: ``respondent_id``, ``task``, ``kind`` ("choice" or
        "dual": the would-you-buy follow-up), ``holdout``.
    covariates : ndarray, shape (n_respondents, n_covariates), optional
        Centred: each column minus its mean over the respondents.
    covariate_names : tuple of str
    covariate_means : ndarray, shape (n_covariates,), optional
        The means the covariates were centred by (what a prediction for a new customer
        subtracts from theirs); None in fits saved before they were recorded.
    """

    x: np.ndarray
    y: np.ndarray
    avail: np.ndarray
    resp: np.ndarray
    respondent_ids: tuple[str, ...]
    names: tuple[str, ...]
    obs: pd.DataFrame = field(repr=False)
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] = ()
    covariate_means: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_respondents(self) -> int:
        return len(self.respondent_ids)

    @property
    def n_parameters(self) -> int:
        return len(self.names)

    def subset(self, mask: np.ndarray) -> ChoiceArrays:
        """Observations where ``mask`` is true (respondents kept as they are)."""
        return ChoiceArrays(
            self.x[mask],
            self.y[mask],
            self.avail[mask],
            self.resp[mask],
            self.respondent_ids,
            self.names,
            self.obs[mask].reset_index(drop=True),
            self.covariates,
            self.covariate_names,
            self.covariate_means,
        )

    def column_scale(self) -> np.ndarray:
        """Standard deviation of each column over the alternatives shown (1 where constant)."""
        rows = self.x[self.avail]
        sd = rows.std(axis=0)
        return np.where(sd > 1e-12, sd, 1.0)


def prepare_choice_data(
    dataset: ChoiceDataset,
    *,
    holdouts: bool = False,
    covariates: pd.DataFrame | None = None,
) -> ChoiceArrays:
    """Arrays of the included respondents' estimation tasks (or, with ``holdouts``, holdouts).

    Excluded respondents are left out. Alternatives are ordered as designed (``1..J``), then the
    status quo, then none; a none row holds only the none constant. In a labelled design
    alternative j carries its label's constant and an alternative-specific attribute counts
    only on the labels it applies to. With dual-response none each
    task adds a follow-up observation: the chosen alternative against none.

    Parameters
    ----------
    dataset : ChoiceDataset
    holdouts : bool
        Return the holdout tasks instead of the estimation tasks.
    covariates : DataFrame, optional
        Respondent covariates indexed by (or with a column) ``respondent_id``, numeric columns
        only; they are centred so the population mean stays the mean of an average respondent.

    Examples
    --------
    >>> arrays = prepare_choice_data(dataset)  # doctest: +SKIP
    >>> arrays.x.shape  # doctest: +SKIP
    (3600, 4, 10)
    """
    study = dataset.study
    enc = make_encoding(study)
    ids = dataset.included_ids
    ch = dataset.choices
    ch = ch[ch["respondent_id"].isin(ids) & (ch["holdout"] == (1 if holdouts else 0))]
    if ch.empty:
        raise WinbackError(
            "no " + ("holdout" if holdouts else "estimation") + " tasks among the included "
            f"respondents ({len(ids)} included)."
        )
    _check_status_quo_levels(ch, study)
    special = ch["alt"].isin(["none", "status_quo"])
    k = enc.n_parameters
    rows = np.zeros((len(ch), k))
    blank = np.zeros(len(ch), dtype=bool)
    alt = ch["alt"].to_numpy(dtype=str)
    pos = _designed_position(alt, study.design.alternatives)
    for a, attr in enumerate(study.attributes):
        # each distinct value looked up once (2,000 respondents x 15 tasks x 5 alternatives x
        # 9 attributes were 1.35 million Python look-ups); missing values are -1
        codes, uniques = pd.factorize(ch[attr.name], use_na_sentinel=True)
        lut = np.array([attr.index_of(v) for v in uniques] + [-1], dtype=int)
        idx = lut[codes]  # code -1 (missing) takes the last entry, -1
        ok = idx >= 0
        if enc.applies is not None:  # an alternative-specific attribute counts where it applies
            ok &= (pos >= 0) & enc.applies[np.maximum(pos, 0), a] | (pos < 0)
        blank |= ~ok
        rows[ok] += enc.tables[a][idx[ok]]
    enc.complete(rows, blank)
    for j, col_j in enumerate(enc.label_index):  # a labelled design's label constants
        if col_j is not None:
            rows[pos == j, col_j] = 1.0
    if enc.none_index is not None:
        rows[alt == "none"] = 0.0
        rows[alt == "none", enc.none_index] = 1.0
    if enc.sq_index is not None:
        rows[alt == "status_quo", enc.sq_index] = 1.0
    del special

    order = {r: i for i, r in enumerate(ids)}
    key = ch["respondent_id"].map(order).to_numpy() * 10_000 + ch["task"].to_numpy()
    _, counts = np.unique(key, return_counts=True)
    n_alt = int(counts.max())
    if (counts != n_alt).any():
        raise WinbackError("tasks with different numbers of alternatives; validate the data first.")
    # rows are already in canonical order within each task (validate_responses sorts them)
    sort = np.argsort(key, kind="stable")
    x: np.ndarray = rows[sort].reshape(-1, n_alt, k)
    chosen = ch["chosen"].to_numpy()[sort].reshape(-1, n_alt)
    y = chosen.argmax(axis=1)
    resp = np.array([order[r] for r in ch["respondent_id"].to_numpy()[sort][::n_alt]])
    tasks = ch["task"].to_numpy()[sort][::n_alt]
    avail = np.ones(x.shape[:2], dtype=bool)
    obs = pd.DataFrame(
        {
            "respondent_id": [ids[i] for i in resp],
            "task": tasks,
            "kind": "choice",
            "holdout": int(holdouts),
        }
    )
    if study.dual_response_none:
        wb = ch["would_buy"].to_numpy()[sort].reshape(-1, n_alt)
        buy = np.array([wb[i, y[i]] for i in range(len(y))], dtype=float)
        x2 = np.zeros_like(x)
        x2[:, 0] = x[np.arange(len(y)), y]
        x2[:, 1, enc.none_index] = 1.0
        avail2 = np.zeros_like(avail)
        avail2[:, :2] = True
        y2 = np.where(buy == 1, 0, 1)
        x = np.concatenate([x, x2])
        avail = np.concatenate([avail, avail2])
        y = np.concatenate([y, y2])
        resp = np.concatenate([resp, resp])
        obs = pd.concat([obs, obs.assign(kind="dual")], ignore_index=True)
    cov, cov_names, cov_means = _covariates(covariates, ids)
    return ChoiceArrays(
        x.astype(float),
        y.astype(int),
        avail,
        resp.astype(int),
        tuple(ids),
        tuple(enc.names),
        obs,
        cov,
        cov_names,
        cov_means,
    )


def _designed_position(alt: np.ndarray, n_alts: int) -> np.ndarray:
    """0-based position of each designed alternative (``alt`` 1..J); -1 for none, status quo."""
    out = np.full(len(alt), -1, dtype=int)
    for j in range(n_alts):
        out[alt == str(j + 1)] = j
    return out


def respondent_covariates(dataset: ChoiceDataset, columns: Sequence[str]) -> pd.DataFrame:
    """Covariates of the population mean from respondent columns, named as in
    ``respondents.csv`` (what ``winback fit --covariates a,b`` and ``fit(covariates=[...])``
    use).

    A numeric column is used as it is (the estimation centres it). A text column becomes 0/1
    indicators ``column[value]``, one per value but the first in sorted order, which is the
    reference. Only the included respondents count: a value no included respondent has makes
    no indicator, and a column with one value among them explains nothing and is left out
    (with a warning; the model's ``settings.covariates`` lists what was used).

    Parameters
    ----------
    dataset : ChoiceDataset
    columns : sequence of str
        Columns of ``dataset.respondents``.

    Returns
    -------
    DataFrame
        ``respondent_id`` and one numeric column per covariate, one row per included
        respondent.

    Raises
    ------
    WinbackError
        Every unknown column (with a "did you mean"), and every column with missing values
        among the included respondents (with how many and which), in one message.

    Examples
    --------
    >>> cov = respondent_covariates(dataset, ["tenure_months", "main_reason"])  # doctest: +SKIP
    >>> list(cov.columns)  # doctest: +SKIP
    ['respondent_id', 'tenure_months', 'main_reason[outages]', 'main_reason[price_rise]']
    """
    names = [str(c).strip() for c in columns]
    people = dataset.respondents
    people = people.assign(respondent_id=people["respondent_id"].astype(str))
    people = people.set_index("respondent_id").loc[list(dataset.included_ids)]
    valid = [c for c in people.columns if not str(c).startswith("_")]
    problems: list[str] = []
    seen: set[str] = set()
    for c in names:
        if c in seen:
            problems.append(f"'{c}' is named twice")
        elif c == "respondent_id":
            problems.append("'respondent_id' names the respondents; it is not a covariate")
        elif c not in valid:
            problems.append(f"'{c}' is not a respondent column{_hint(c, valid)}")
            if c.startswith(MAXDIFF_PREFIX):
                problems.append(_MAXDIFF_SOURCE)
        elif people[c].isna().any():
            missing = people.index[people[c].isna().to_numpy()].tolist()
            problems.append(
                f"'{c}' is missing for {len(missing)} of {len(people)} included respondents "
                f"(e.g. {list_valid(missing[:5])})"
                + (_MAXDIFF_MISSING if c.startswith(MAXDIFF_PREFIX) else "")
            )
        seen.add(c)
    if not names:
        problems.append("no columns were named")
    if problems:
        raise WinbackError(
            "covariates: " + "; ".join(problems) + f". Respondent columns: {list_valid(valid)}."
        )
    out = pd.DataFrame({"respondent_id": people.index.astype(str)})
    for c in names:
        col = people[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            values = [col.to_numpy(dtype=float)]
            labels = [c]
        else:
            text = col.astype(str).str.strip()
            levels = sorted(text.unique())
            labels = [f"{c}[{v}]" for v in levels[1:]]
            values = [(text == v).to_numpy(dtype=float) for v in levels[1:]]
        if len(pd.unique(col)) < 2:
            log.warning(
                "covariate '%s' has one value among the %d included respondents: it cannot "
                "tell them apart and is left out",
                c,
                len(people),
            )
            continue
        for label, v in zip(labels, values, strict=True):
            out[label] = v
    return out


#: the MaxDiff covariates' prefix (``analysis.maxdiff_scores``) and what the errors add
MAXDIFF_PREFIX = "maxdiff_"
_MAXDIFF_SOURCE = (
    "maxdiff_ covariates come from a MaxDiff fit: winback fit adds them when maxdiff.csv is "
    "beside the responses, the Python API with analysis.add_maxdiff_covariates(dataset, "
    "maxdiff_model)"
)
_MAXDIFF_MISSING = (
    ": they have no MaxDiff answers, and a maxdiff_ covariate needs every included "
    "respondent's (none is imputed): exclude them or leave the covariate out"
)


def _hint(value: str, valid: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, to sit inside a longer sentence."""
    hint = did_you_mean(value, valid).strip()
    return f" ({hint[0].lower()}{hint[1:]})" if hint else ""


def _check_status_quo_levels(ch: pd.DataFrame, study: Study) -> None:
    """A status quo filled per respondent must carry the profile each respondent saw.

    Its rows without levels would leave only the status-quo constant, which cannot stand in
    for profiles that differ between respondents (a fixed profile is absorbed by the constant).
    """
    sq = study.status_quo
    if sq is None or not sq.per_respondent:
        return
    rows = ch[ch["alt"] == "status_quo"]
    blank = rows[study.attribute_names].isna().any(axis=1)
    if not blank.any():
        return
    ids = list(pd.unique(rows.loc[blank, "respondent_id"]))
    raise WinbackError(
        f"the status-quo rows of {len(ids)} respondent(s) lack levels (e.g. "
        f"{list_valid(ids[:5])}); this study shows each respondent their own previous plan "
        "([status_quo] plans), so the responses must hold the profile each one saw: the web "
        "survey stores it, a Qualtrics export holds it in the CBC_SQ_<attribute> fields set by "
        "the survey flow (see surveys.fielding.qualtrics_status_quo_rules), a responses.csv in "
        "the attribute columns of its status_quo rows."
    )


def _covariates(
    frame: pd.DataFrame | None, ids: Sequence[str]
) -> tuple[np.ndarray | None, tuple[str, ...], np.ndarray | None]:
    """The covariates centred, their names and the means they were centred by (constant
    columns left out)."""
    if frame is None:
        return None, (), None
    f = frame.copy()
    if "respondent_id" in f.columns:
        f = f.set_index("respondent_id")
    f.index = f.index.astype(str)
    missing = [r for r in ids if r not in f.index]
    if missing:
        raise WinbackError(
            f"covariates lack {len(missing)} respondent(s), e.g. {list_valid(missing[:5])}."
        )
    f = f.loc[list(ids)]
    bad = [c for c in f.columns if not pd.api.types.is_numeric_dtype(f[c])]
    if bad:
        raise WinbackError(f"covariates must be numeric; not numeric: {list_valid(bad)}.")
    if f.isna().any().any():
        cols = [c for c in f.columns if f[c].isna().any()]
        raise WinbackError(f"covariates have missing values in {list_valid(cols)}.")
    values = f.to_numpy(dtype=float)
    means = values.mean(axis=0)
    values = values - means
    keep = values.std(axis=0) > 0
    names = tuple(c for c, k in zip(f.columns, keep, strict=True) if k)
    return values[:, keep], names, means[keep]


def arrays_from_long(
    frame: pd.DataFrame,
    *,
    respondent: str,
    task: str,
    choice: str,
    columns: Sequence[str],
) -> ChoiceArrays:
    """Arrays from any long table (one row per alternative) with numeric columns, e.g. published
    data sets. Tasks may have different numbers of alternatives and respondents different
    numbers of tasks.
    """
    flag = frame[choice].astype(str).str.strip().str.upper()
    chosen = flag.isin(["1", "TRUE", "T", "YES"]).to_numpy()
    r_codes, r_ids = pd.factorize(frame[respondent].astype(str))
    t_codes, t_values = pd.factorize(frame[task], sort=True)
    ids = [str(r) for r in r_ids]
    # rows grouped by (respondent, task), in their order within a task (as groupby would)
    order = np.lexsort((np.arange(len(frame)), t_codes, r_codes))
    r_sorted, t_sorted = r_codes[order], t_codes[order]
    new_task = np.ones(len(order), dtype=bool)
    new_task[1:] = (r_sorted[1:] != r_sorted[:-1]) | (t_sorted[1:] != t_sorted[:-1])
    starts = np.flatnonzero(new_task)
    group = np.cumsum(new_task) - 1
    pos = np.arange(len(order)) - starts[group]
    n = len(starts)
    n_alt = int(pos.max()) + 1 if len(pos) else 0
    k = len(columns)
    x = np.zeros((n, n_alt, k))
    x[group, pos] = frame[list(columns)].to_numpy(dtype=float)[order]
    avail = np.zeros((n, n_alt), dtype=bool)
    avail[group, pos] = True
    picked = chosen[order]
    n_chosen = np.bincount(group, weights=picked, minlength=n).astype(int)
    bad = np.flatnonzero(n_chosen != 1)
    if len(bad):
        i = int(bad[0])
        raise WinbackError(
            f"respondent {ids[r_sorted[starts[i]]]!r} task {t_values[t_sorted[starts[i]]]}: "
            f"{n_chosen[i]} chosen rows."
        )
    y = np.zeros(n, dtype=int)
    y[group[picked]] = pos[picked]
    resp = r_sorted[starts].astype(int)
    tasks = list(t_values[t_sorted[starts]])
    obs = pd.DataFrame(
        {"respondent_id": [ids[r] for r in resp], "task": tasks, "kind": "choice", "holdout": 0}
    )
    return ChoiceArrays(x, y, avail, resp, tuple(ids), tuple(columns), obs)
