"""Data-quality flags: ``flag_quality`` marks speeders, straight-liners, always-none answers,
random responders (RLH), failed repeated holdouts and duplicate interviews.

Flags are evidence, not verdicts: nobody is excluded here. The researcher reads the flags and
excludes with :meth:`surveys.ChoiceDataset.exclude`, which records the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from conjoint.encoding import Encoding, make_encoding
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, list_valid

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

log = logging.getLogger("winback")

#: the boolean flag columns counted in ``n_flags``
FLAG_COLUMNS = (
    "speeder",
    "straight_liner",
    "always_none",
    "random_responder",
    "failed_repeat",
    "duplicate",
)
#: respondent columns that describe the interview rather than answer a question; two copies of
#: one interview may differ in them, so they are left out of the duplicate comparison
PARADATA_COLUMNS = ("duration_seconds",)

#: empirical-Bayes updates of the shrinkage centre and spread (see ``_population``)
EB_UPDATES = 20

_SPECIAL_RANK = {"status_quo": 10_000, "none": 10_001}


# --------------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------------


def flag_quality(
    dataset: ChoiceDataset,
    *,
    design: ChoiceDesign | None = None,
    random_seed: int = 0,
    speeder_ratio: float = 0.4,
    rlh_false_positive: float = 0.05,
    n_random: int = 2000,
    duplicate_ignore: Sequence[str] = PARADATA_COLUMNS,
) -> ChoiceDataset:
    """Flag doubtful interviews; return the dataset with the flags attached (nobody excluded).

    Parameters
    ----------
    dataset : ChoiceDataset
    design : ChoiceDesign, optional
        When given, the simulated random respondents (see below) are dealt the design's versions
        in turn, exactly as fielded; otherwise each one answers the tasks a real respondent saw
        (cycling through the respondents, so the mix of versions is the sample's).
    random_seed : int
        Seeds the simulated random respondents: the same seed gives the same flags.
    speeder_ratio : float
        A respondent is a speeder when faster than ``speeder_ratio`` x the median duration (of
        the included respondents with choice tasks and a known duration).
    rlh_false_positive : float
        The share of genuinely random respondents allowed to pass as real (see Notes).
    n_random : int
        Number of simulated random respondents that set the RLH cutoff.
    duplicate_ignore : sequence of str
        Respondent columns left out of the duplicate comparison (interview paradata).

    Returns
    -------
    ChoiceDataset
        ``dataset.with_flags(flags)``; ``flags`` has one row per respondent (respondents without
        choice tasks included, with NA where nothing can be said) and the columns

        - ``duration_seconds``, ``duration_source`` ("respondents" when from
          ``respondents.duration_seconds``, "task seconds" when the sum of the per-task
          ``seconds``; NA when neither is known: durations are never guessed) and ``speeder``;
        - ``same_position_share`` (share of tasks answered at the most used screen position:
          ``alt_position`` when the file has it, else ``alt``) and ``straight_liner`` (the
          same position in every task; a none or status-quo answer has no screen position of
          its own, so always choosing none is ``always_none``, not straight-lining);
        - ``none_share`` and ``always_none`` (dual-response none: ``would_buy = 0``);
        - ``rlh``, ``rlh_random_share`` (share of simulated random respondents whose RLH is at
          least this high: a p-value for "answered at random") and ``random_responder``;
        - ``holdout_hit_rate`` (share of holdout tasks whose answer the respondent's own
          estimates predict: reported, not flagged), ``holdout_consistency`` (share of
          repeated holdout tasks, i.e. holdouts showing the same set of profiles, answered
          with the same profile as the first showing) and ``failed_repeat``;
        - ``duplicate_of`` (the first respondent, in dataset order, whose answers this one
          repeats) and ``duplicate`` (identical choices in every task and identical
          respondent answers, paradata aside; the first copy itself is not flagged);
        - ``n_flags``: how many of ``speeder, straight_liner, always_none, random_responder,
          failed_repeat, duplicate`` are true.

        Flags are nullable booleans: NA means "cannot be told" (no duration, no repeated
        holdout, no choice tasks). ``flags.attrs`` records the settings, the median duration
        and the RLH cutoff.

    Notes
    -----
    **RLH and random responders.** Each respondent's part-worths are estimated by a fast,
    deterministic individual-level MNL shrunk towards the sample: penalised maximum likelihood
    with a normal penalty, solved by vectorised Newton steps for all respondents at once. The
    penalty's centre starts at the aggregate MNL estimate and, with its per-parameter spread,
    is re-estimated from the respondents' own estimates (empirical Bayes: the mean of the
    estimates, and their variance plus the mean posterior variance), 20 times. With no
    tuning constant, the shrinkage adapts to how heterogeneous the sample is; an unshrunk
    individual MNL would fit 12 answers with 12 parameters perfectly, random or not.

    RLH (root likelihood) is the geometric mean of the probabilities of the chosen
    alternatives over the estimation tasks (holdouts excluded): 1 is a perfect fit, 1 / (number
    of alternatives) is what a model without information scores.

    The cutoff comes from ``n_random`` simulated random respondents answering the same tasks
    (uniform random choices; with dual-response none a uniform choice, then a coin for
    would-buy) and estimated by exactly the same procedure, with the same centre and spread.
    Random answers give *low* RLH, so the test asks whether a respondent's RLH is higher than
    random answering would plausibly give. The cutoff is the ``1 - rlh_false_positive``
    quantile of the random respondents' RLH: only ``rlh_false_positive`` of random respondents
    exceed it and pass as real (the false-positive rate of the test "is this respondent
    real?", whose null hypothesis is random answering). Respondents below the cutoff are
    indistinguishable from random and flagged; so about ``1 - rlh_false_positive`` of random
    responders are flagged.

    What this setting does not control is the share of real respondents flagged: it depends on
    how consistent they are and how much the design reveals, and no screen can push it below
    what the data allow. In winback's acceptance test (``tests/test_quality.py``: the example
    study, a balanced-overlap design, 12 estimation tasks of 3 alternatives + none, 540 real
    respondents with heterogeneous part-worths at 1.5 times the example's scale plus 60 random
    ones) the flag finds 58 of the 60 random respondents (97%) and flags 21 of the 540 real
    ones (3.9%); over six other simulation seeds, 88-98% and 2.6-3.5%. With the example's own,
    weaker part-worths, 7-11% of real respondents fall below the cutoff (an oracle knowing the
    true population does little better), and with a utility-balanced D-efficient design about
    30%: look at ``rlh`` before excluding anyone.

    Examples
    --------
    >>> from surveys.quality import flag_quality
    >>> data = flag_quality(data, design=design)  # doctest: +SKIP
    >>> data.flags.query("random_responder | speeder")  # doctest: +SKIP
    >>> flagged = data.flags.query("random_responder").respondent_id  # doctest: +SKIP
    >>> clean = data.exclude(flagged, "random responder (RLH)")  # doctest: +SKIP
    """
    if not 0.0 < speeder_ratio <= 1.0:
        raise WinbackError(f"speeder_ratio must be in (0, 1], got {speeder_ratio}.")
    if not 0.0 < rlh_false_positive < 1.0:
        raise WinbackError(f"rlh_false_positive must be in (0, 1), got {rlh_false_positive}.")
    if n_random < 100:
        raise WinbackError(f"n_random must be at least 100 to set a cutoff, got {n_random}.")

    people = dataset.respondents
    ids = pd.Index(people["respondent_id"].astype("string"), name="respondent_id")
    tasks = _task_arrays(dataset)
    if design is not None:
        _check_design(tasks, design, dataset)
    included = set(dataset.included_ids)

    out = pd.DataFrame(index=ids)
    attrs: dict[str, Any] = {
        "speeder_ratio": speeder_ratio,
        "rlh_false_positive": rlh_false_positive,
        "n_random": n_random,
        "random_seed": random_seed,
    }

    duration, source, median = _durations(dataset, people, tasks.ids, included)
    out["duration_seconds"] = duration.reindex(ids)
    out["duration_source"] = source.reindex(ids)
    speeder = pd.Series(pd.NA, index=ids, dtype="boolean")
    if median is not None:
        known = out["duration_seconds"].notna() & ids.isin(tasks.ids)
        speeder[known] = out.loc[known, "duration_seconds"] < speeder_ratio * median
    out["speeder"] = speeder
    attrs["median_duration_seconds"] = median

    pos = _positions(dataset, tasks.ids)
    for c in ("same_position_share", "straight_liner", "none_share", "always_none"):
        out[c] = pos[c].reindex(ids)

    rlh, attrs_rlh = _rlh(tasks, dataset, design, rlh_false_positive, n_random, random_seed)
    attrs.update(attrs_rlh)
    for c in ("rlh", "rlh_random_share", "random_responder", "holdout_hit_rate"):
        out[c] = rlh[c].reindex(ids)

    rep = _repeats(tasks)
    out["holdout_consistency"] = rep["holdout_consistency"].reindex(ids)
    out["failed_repeat"] = rep["failed_repeat"].reindex(ids)

    dup = _duplicates(dataset, people, tasks.ids, duplicate_ignore)
    out["duplicate_of"] = dup["duplicate_of"].reindex(ids)
    out["duplicate"] = dup["duplicate"].reindex(ids)

    out = _typed(out)
    out["n_flags"] = sum(out[c].fillna(False).astype(int) for c in FLAG_COLUMNS)
    flags = out.reset_index()
    flags.attrs = attrs
    log.info(
        "flag_quality: %s",
        ", ".join(f"{c} {int(flags[c].fillna(False).sum())}" for c in FLAG_COLUMNS),
    )
    return dataset.with_flags(flags)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    floats = [
        "duration_seconds",
        "same_position_share",
        "none_share",
        "rlh",
        "rlh_random_share",
        "holdout_hit_rate",
        "holdout_consistency",
    ]
    for c in floats:
        out[c] = pd.array(pd.to_numeric(out[c], errors="raise"), dtype="Float64")
    for c in FLAG_COLUMNS:
        out[c] = out[c].astype("boolean")
    for c in ("duration_source", "duplicate_of"):
        out[c] = out[c].astype("string")
    return out


# --------------------------------------------------------------------------------------------
# The choices as arrays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tasks:
    """Every respondent's tasks as arrays (respondents with choice tasks only).

    ``x``: (N, T, J, K) design rows of each task's alternatives in canonical order (designed
    alternatives, then status quo, then none); ``y``: (N, T) index of the chosen row; ``buy``:
    (N, T) would-buy answer under dual-response none, else None; ``holdout``: (N, T) bool;
    ``profile``: (N, T, J) hashable key of each row's profile (level indices, or the special
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
        vals = choices[a.name]
        lookup = {v: a.index_of(v) for v in pd.unique(vals.dropna())}
        cols.append(vals.map(lookup).fillna(-1).astype(int).to_numpy())
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
    profile = np.fromiter(map(tuple, idx.tolist()), dtype=object, count=len(ch))
    special = np.isin(alt, list(_SPECIAL_RANK))
    profile[special] = alt[special]

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


# --------------------------------------------------------------------------------------------
# Durations, positions, repeats, duplicates
# --------------------------------------------------------------------------------------------


def _numeric_answers(people: pd.DataFrame, column: str) -> pd.Series:
    """A numeric respondent column; blanks become NA, anything else that is not a number >= 0
    is an error naming the respondents."""
    raw = people[column]
    text = raw.astype("string").str.strip()
    blank = raw.isna() | (text == "")
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & (num.isna() | (num < 0))
    if bad.any():
        shown = [
            f"{r} ({v!r})" for r, v in zip(people["respondent_id"][bad], raw[bad], strict=True)
        ]
        raise WinbackError(
            f"respondents column '{column}' must hold numbers >= 0; {int(bad.sum())} do not: "
            f"{list_valid(shown[:5])}" + (" ..." if bad.sum() > 5 else "") + "."
        )
    return pd.Series(num.to_numpy(dtype=float), index=people["respondent_id"].astype("string"))


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
    if tasks.n == 0:
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
    choice_key = cell.groupby(chosen["respondent_id"].to_numpy(), sort=False).agg(";".join)
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


# --------------------------------------------------------------------------------------------
# Individual MNL shrunk towards the sample, RLH and the random-respondent cutoff
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Situations:
    """Choice situations for estimation: (n, S, J, K) rows, (n, S, J) availability,
    (n, S) chosen index, (n, S) weight (1 estimation, 0 holdout)."""

    x: np.ndarray
    avail: np.ndarray
    y: np.ndarray
    w: np.ndarray


def _situations(
    x: np.ndarray, y: np.ndarray, buy: np.ndarray | None, holdout: np.ndarray, enc: Encoding
) -> _Situations:
    n, t, j, _ = x.shape
    avail = np.ones((n, t, j), dtype=bool)
    w = (~holdout).astype(float)
    if buy is None:
        return _Situations(x, avail, y, w)
    # dual-response none: the forced choice, then "would you buy it?" as a choice between the
    # chosen alternative and none
    x2 = np.zeros_like(x)
    x2[:, :, 0] = np.take_along_axis(x, y[:, :, None, None], axis=2)[:, :, 0]
    x2[:, :, 1] = enc.none_row()
    avail2 = np.zeros_like(avail)
    avail2[:, :, :2] = True
    y2 = np.where(buy == 1, 0, 1)
    return _Situations(
        np.concatenate([x, x2], axis=1),
        np.concatenate([avail, avail2], axis=1),
        np.concatenate([y, y2], axis=1),
        np.concatenate([w, w], axis=1),
    )


def _log_probs(b: np.ndarray, s: _Situations) -> np.ndarray:
    u = np.einsum("nsjk,nk->nsj", s.x, b)
    u = np.where(s.avail, u, -np.inf)
    u = u - u.max(axis=2, keepdims=True)
    lp = u - np.log(np.exp(u).sum(axis=2, keepdims=True))
    return np.where(s.avail, lp, -np.inf)


def _chosen_lp(lp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.take_along_axis(lp, y[..., None], axis=2)[..., 0]


def _modes(
    s: _Situations,
    centre: np.ndarray,
    prec: np.ndarray,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised ML for every row of ``s`` at once: maximise
    sum_s w log p(y) - (b - centre)' diag(prec) (b - centre) / 2 by damped Newton steps.

    Returns the modes (n, K) and the negative Hessians at the modes (n, K, K).
    """
    n, _, _, k = s.x.shape
    b = np.tile(centre, (n, 1)) if start is None else start.copy()
    xf = s.x.reshape(n, -1, k)

    def objective(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lp = _log_probs(b, s)
        d = b - centre
        return (s.w * _chosen_lp(lp, s.y)).sum(axis=1) - 0.5 * (d * d * prec).sum(axis=1), lp

    f, lp = objective(b)
    eye = np.diag(prec)
    hess = np.zeros((n, k, k))
    for _ in range(max_iter):
        p = np.exp(lp)  # 0 where unavailable
        y1 = np.zeros_like(p)
        np.put_along_axis(y1, s.y[..., None], 1.0, axis=2)
        wr = s.w[..., None]
        grad = np.einsum("nsj,nsjk->nk", wr * (y1 - p), s.x) - prec * (b - centre)
        xbar = np.einsum("nsj,nsjk->nsk", p, s.x)
        pw = (p * wr).reshape(n, -1, 1)
        hess = (
            np.matmul((xf * pw).transpose(0, 2, 1), xf)
            - np.matmul((xbar * s.w[..., None]).transpose(0, 2, 1), xbar)
            + eye
        )
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        size = np.ones(n)
        for _ in range(30):  # halve the step where the objective would fall
            f_new, _ = objective(b + size[:, None] * step)
            worse = f_new < f - 1e-10 * np.abs(f)
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        b = b + size[:, None] * step
        f, lp = objective(b)
        if np.abs(size[:, None] * step).max(initial=0.0) < tol:
            break
    return b, hess


def _column_scale(s: _Situations) -> np.ndarray:
    """Range of each design column among the alternatives shown (1 when constant)."""
    k = s.x.shape[-1]
    rows = s.x[s.avail].reshape(-1, k)
    rng = rows.max(axis=0) - rows.min(axis=0) if len(rows) else np.ones(k)
    return np.where(rng > 0, rng, 1.0)


def _population(s: _Situations, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and precision of the penalty (empirical Bayes), and every respondent's mode."""
    scale = _column_scale(s)
    pooled = _Situations(
        s.x[pop].reshape(1, -1, *s.x.shape[2:]),
        s.avail[pop].reshape(1, -1, s.avail.shape[2]),
        s.y[pop].reshape(1, -1),
        s.w[pop].reshape(1, -1),
    )
    # aggregate MNL; a weak penalty (sd 10 per unit of column range) keeps it finite when a
    # level is never chosen
    k = s.x.shape[-1]
    agg, _ = _modes(pooled, np.zeros(k), (scale / 10.0) ** 2)
    centre = agg[0]
    var = (1.0 / scale) ** 2  # start: sd 1 per unit of column range
    floor = (0.01 / scale) ** 2
    b = None
    # Empirical-Bayes (EM) updates of the centre and spread. EM for variance components
    # creeps towards its fixed point, but the ranking of respondents' RLH settles within a few
    # updates, so a fixed number keeps the run time predictable (and the result deterministic).
    for _ in range(EB_UPDATES):
        # a few Newton steps from the previous modes suffice between updates of the penalty
        b, hess = _modes(s, centre, 1.0 / var, start=b, max_iter=3)
        post_var = np.diagonal(np.linalg.inv(hess[pop]), axis1=1, axis2=2)
        centre = b[pop].mean(axis=0)
        var = np.maximum(((b[pop] - centre) ** 2).mean(axis=0) + post_var.mean(axis=0), floor)
    b, _ = _modes(s, centre, 1.0 / var, start=b)
    return centre, 1.0 / var, b


def _rlh_of(b: np.ndarray, s: _Situations) -> np.ndarray:
    n_est = s.w.sum(axis=1)
    ll = (s.w * _chosen_lp(_log_probs(b, s), s.y)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_est > 0, np.exp(ll / np.maximum(n_est, 1)), np.nan)


def _check_design(tasks: _Tasks, design: ChoiceDesign, dataset: ChoiceDataset) -> None:
    """The design must be the one the respondents answered (same attributes and shape)."""
    study = dataset.study
    if design.study.attribute_names != study.attribute_names:
        raise WinbackError(
            f"the design's attributes {list_valid(design.study.attribute_names)} are not the "
            f"dataset's {list_valid(study.attribute_names)}."
        )
    if tasks.n == 0:
        return
    t = tasks.x.shape[1]
    j = sum(a.isdigit() for a in tasks.alt)
    if (design.n_tasks, design.n_alternatives) != (t, j):
        raise WinbackError(
            f"the design has {design.n_tasks} tasks of {design.n_alternatives} alternatives; "
            f"the respondents answered {t} tasks of {j}: is it the design they saw?"
        )


def _random_templates(
    tasks: _Tasks, design: ChoiceDesign | None, dataset: ChoiceDataset, n_random: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Task rows and holdout masks of the simulated random respondents."""
    if design is None:
        pick = np.arange(n_random) % tasks.n
        return tasks.x[pick], tasks.holdout[pick], "the tasks the respondents saw"
    study = dataset.study
    sq = study.status_quo
    if sq is not None and sq.levels is None:
        pick = np.arange(n_random) % tasks.n
        return (
            tasks.x[pick],
            tasks.holdout[pick],
            "the tasks the respondents saw (the status quo differs by respondent)",
        )
    enc = tasks.encoding
    per_version = []
    for v in range(design.n_versions):
        rows = [enc.encode(np.asarray(design.levels[v]))]
        t_, k = rows[0].shape[0], enc.n_parameters
        if "status_quo" in tasks.alt and enc.sq_index is not None:
            sq_row = np.zeros(k)
            sq_row[enc.sq_index] = 1.0
            if sq is not None and sq.levels is not None:
                sq_row += enc.encode(np.asarray(sq.levels))
            rows.append(np.broadcast_to(sq_row, (t_, 1, k)))
        if "none" in tasks.alt:
            rows.append(np.broadcast_to(enc.none_row(), (t_, 1, k)))
        per_version.append(np.concatenate(rows, axis=1))
    pick = np.arange(n_random) % design.n_versions
    x = np.stack(per_version)[pick]
    holdout = np.broadcast_to(
        np.asarray(design.holdout, dtype=bool), (n_random, design.n_tasks)
    ).copy()
    return x, holdout, "the design's versions, dealt in turn"


def _rlh(
    tasks: _Tasks,
    dataset: ChoiceDataset,
    design: ChoiceDesign | None,
    false_positive: float,
    n_random: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    idx = pd.Index(tasks.ids, dtype="string")
    out = pd.DataFrame(
        {
            "rlh": np.nan,
            "rlh_random_share": np.nan,
            "random_responder": pd.array([pd.NA] * tasks.n, dtype="boolean"),
            "holdout_hit_rate": np.nan,
        },
        index=idx,
    )
    info: dict[str, Any] = {"rlh_cutoff": None}
    if tasks.n == 0 or not (~tasks.holdout).any():
        return out, info
    s = _situations(tasks.x, tasks.y, tasks.buy, tasks.holdout, tasks.encoding)
    included = set(dataset.included_ids)
    pop = np.array([r in included for r in tasks.ids])
    if pop.sum() < 2:
        pop = np.ones(tasks.n, dtype=bool)
    centre, prec, b = _population(s, pop)
    rlh = _rlh_of(b, s)

    rng = np.random.default_rng(seed)
    x_r, h_r, what = _random_templates(tasks, design, dataset, n_random)
    y_r = rng.integers(0, x_r.shape[2], size=x_r.shape[:2])
    buy_r = rng.integers(0, 2, size=x_r.shape[:2]) if tasks.buy is not None else None
    s_r = _situations(x_r, y_r, buy_r, h_r, tasks.encoding)
    b_r, _ = _modes(s_r, centre, prec)
    rlh_r = np.sort(_rlh_of(b_r, s_r))
    rlh_r = rlh_r[~np.isnan(rlh_r)]
    cutoff = float(np.quantile(rlh_r, 1.0 - false_positive))
    out["rlh"] = rlh
    out["rlh_random_share"] = 1.0 - np.searchsorted(rlh_r, rlh, side="left") / len(rlh_r)
    out["random_responder"] = pd.array(rlh < cutoff, dtype="boolean")

    # holdout tasks predicted by the respondent's own estimates (first choice; with
    # dual-response none, the would-buy answer too)
    if tasks.holdout.any():
        u = np.einsum("ntjk,nk->ntj", tasks.x, b)
        pred = u.argmax(axis=2)
        hit = pred == tasks.y
        if tasks.buy is not None:
            u_pred = np.take_along_axis(u, pred[..., None], axis=2)[..., 0]
            u_none = b @ tasks.encoding.none_row()
            hit &= (u_pred > u_none[:, None]).astype(int) == tasks.buy
        n_h = tasks.holdout.sum(axis=1)
        with np.errstate(invalid="ignore"):
            rate = np.where(n_h > 0, (hit & tasks.holdout).sum(axis=1) / np.maximum(n_h, 1), np.nan)
        out["holdout_hit_rate"] = rate
    info.update(
        rlh_cutoff=cutoff,
        rlh_spread_updates=EB_UPDATES,
        rlh_random_median=float(np.median(rlh_r)),
        rlh_random_answered=what,
        rlh_centre=dict(zip(tasks.encoding.names, centre.round(6).tolist(), strict=True)),
        rlh_spread=dict(
            zip(tasks.encoding.names, np.sqrt(1.0 / prec).round(6).tolist(), strict=True)
        ),
    )
    return out, info
