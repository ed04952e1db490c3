"""Experimental designs for choice-based conjoint: :func:`make_design` and :class:`ChoiceDesign`."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conjoint.encoding import linear_to_partworth, partworth_study
from winback.errors import DesignError, list_valid
from winback.study import DESIGN_METHODS, Study, format_level

log = logging.getLogger("winback")

DESIGN_COLUMNS = ("version", "task", "alt")


@dataclass(frozen=True, repr=False)
class ChoiceDesign:
    """A choice-task design: every version's tasks, as level indices.

    Attributes
    ----------
    study : Study
    levels : ndarray, shape (n_versions, n_tasks_total, n_alternatives, n_attributes)
        Level index (0 = reference level) of every attribute of every alternative shown.
    holdout : ndarray of bool, shape (n_tasks_total,)
        Which task positions are fixed holdout tasks (left out of estimation).
    method : str
    seed : int
        The seed the design was made with; a design read from a file has the study's
        ``[design] seed``, which then seeds the diagnostics' prior draws and the assignments.
    search : dict
        How the design was found (starts run, seconds, DB-error per version, time-budget stop).
    """

    study: Study
    levels: np.ndarray
    holdout: np.ndarray
    method: str
    seed: int
    search: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.levels.setflags(write=False)
        self.holdout.setflags(write=False)

    @property
    def n_versions(self) -> int:
        return int(self.levels.shape[0])

    @property
    def n_tasks(self) -> int:
        """Tasks per version, holdouts included."""
        return int(self.levels.shape[1])

    @property
    def n_holdouts(self) -> int:
        return int(self.holdout.sum())

    @property
    def n_alternatives(self) -> int:
        return int(self.levels.shape[2])

    def estimation_levels(self) -> np.ndarray:
        """Levels of the tasks used for estimation (holdouts removed)."""
        return self.levels[:, ~self.holdout]

    def to_frame(self) -> pd.DataFrame:
        """The long design table written as ``design.csv``.

        One row per alternative shown: ``version, task, alt``, one column per attribute holding
        the level label (or value for numeric levels), and ``holdout`` (1 for fixed holdout
        tasks). In a labelled design alternative j is the j-th label, and an
        alternative-specific attribute's cell is empty on the labels it does not apply to.
        """
        v, t, j, _ = self.levels.shape
        vv, tt, jj = np.meshgrid(
            np.arange(1, v + 1), np.arange(1, t + 1), np.arange(1, j + 1), indexing="ij"
        )
        data: dict[str, Any] = {
            "version": vv.ravel(),
            "task": tt.ravel(),
            "alt": jj.ravel(),
        }
        flat = self.levels.reshape(-1, self.levels.shape[-1])
        for a, attr in enumerate(self.study.attributes):
            values = np.asarray(attr.levels, dtype=object)[np.maximum(flat[:, a], 0)]
            absent = flat[:, a] < 0  # an alternative-specific attribute on another label: empty
            if attr.numeric:
                data[attr.name] = np.where(absent, np.nan, values.astype(float))
            else:
                data[attr.name] = np.where(absent, None, values.astype(str))
        data["holdout"] = (
            np.repeat(self.holdout.astype(int)[None, :, None], v, 0).repeat(j, 2).ravel()
        )
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        s = self.study
        lines = [
            f"ChoiceDesign '{s.name}': {self.method}, {self.n_versions} version(s) x "
            f"{self.n_tasks} tasks ({self.n_holdouts} holdout) x {self.n_alternatives} "
            f"alternatives"
            + (" + none" if s.none_option else "")
            + (" (dual-response none)" if s.dual_response_none else "")
            + (
                ""
                if s.status_quo is None
                else " + status quo (each respondent's own plan)"
                if s.status_quo.per_respondent
                else " + status quo"
            ),
            "  attributes: "
            + "; ".join(
                f"{a.name} ({a.n_levels}, ref {format_level(a.reference)})" for a in s.attributes
            ),
            f"  seed {self.seed}",
        ]
        if "db_error" in self.search:
            lines.append(
                f"  search: {self.search.get('algorithm')}, {self.search.get('starts_run')} "
                f"start(s), {self.search.get('seconds', 0):.1f} s, DB-error "
                f"{self.search['db_error']:.4g}"
                + (" (stopped by time budget)" if self.search.get("stopped_by_time") else "")
            )
        lines.append("  next: conjoint.inspect_design(design, n_respondents=...)")
        return "\n".join(lines)


def make_design(
    study: Study,
    *,
    method: str | None = None,
    versions: int | None = None,
    random_seed: int | None = None,
    max_seconds: float | None = None,
    progress: bool = False,
) -> ChoiceDesign:
    """Build a choice design for a study.

    Parameters
    ----------
    study : Study
        The study; its ``[design]`` table gives the defaults.
    method : {"random", "shortcut", "balanced_overlap", "d_efficient"}, optional
        Overrides ``[design] method``.
    versions : int, optional
        Overrides ``[design] versions``.
    random_seed : int, optional
        Overrides ``[design] seed``. The same seed gives the same design.
    max_seconds : float, optional
        Time budget of a d-efficient search (overrides ``[design] max_seconds``); the best design
        found so far is returned when it runs out, and the design's ``search`` says so.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ChoiceDesign

    Examples
    --------
    >>> from winback.study import load_study
    >>> from conjoint import make_design
    >>> design = make_design(load_study("study.toml"))  # doctest: +SKIP
    >>> design.to_frame().head()  # doctest: +SKIP
    """
    d = study.design
    method = method or d.method
    if method not in DESIGN_METHODS:
        raise DesignError(f"Unknown design method '{method}'. Valid: {list_valid(DESIGN_METHODS)}.")
    n_versions = versions if versions is not None else d.versions
    seed = random_seed if random_seed is not None else d.seed
    budget = max_seconds if max_seconds is not None else d.max_seconds
    if n_versions < 1:
        raise DesignError(f"versions must be at least 1, got {n_versions}.")

    # lazy: the search, the information matrix and the priors load here, not with the module:
    # the stages that read a design (winback import, fit, ...) need ChoiceDesign only
    from conjoint.constraints import Rules
    from conjoint.design_search import d_efficient_version, greedy_version, random_version
    from conjoint.information import TaskModel
    from conjoint.priors import prior_draws

    rng = np.random.default_rng(seed)
    rules = Rules.from_study(study)
    cands = rules.candidates(rng)
    if len(cands) < d.alternatives:
        raise DesignError(
            f"Only {len(cands)} profiles are allowed by the prohibitions; a task needs "
            f"{d.alternatives} different ones. Remove some [[prohibitions]]."
        )
    if study.design.no_dominated and not rules.has_order:
        raise DesignError(
            "[design] no_dominated = true, but no attribute has a preference order; set "
            'preference = "increasing" or "decreasing" on the attributes where more is better '
            'or worse (the price attribute defaults to "decreasing").'
        )
    for h in study.holdouts:
        task = np.asarray(h.alternatives)
        if not rules.allowed(task).all():
            raise DesignError(f"Holdout '{h.name}' shows a prohibited profile.")

    search: dict[str, Any] = {"method": method}
    out = np.zeros((n_versions, d.tasks, d.alternatives, len(study.attributes)), dtype=np.int16)
    t0 = time.perf_counter()
    bar = _progress(progress, n_versions * (d.starts if method == "d_efficient" else 1))
    try:
        if method == "random":
            for v in range(n_versions):
                out[v] = random_version(rules, cands, d.tasks, d.alternatives, rng)
                bar.update(1)
        elif method in ("shortcut", "balanced_overlap"):
            weights = (
                {"overlap_weight": 1e3, "pair_weight": 0.0}
                if method == "shortcut"
                else {"overlap_weight": 1.0, "pair_weight": 0.5}
            )
            for v in range(n_versions):
                out[v] = greedy_version(
                    rules,
                    cands,
                    d.tasks,
                    d.alternatives,
                    rng,
                    per_position=bool(study.labels),
                    **weights,
                )
                bar.update(1)
        else:
            # Search with every attribute part-worth coded (unless asked otherwise): a linear
            # slope's D-optimum shows only the extreme prices, leaving the middle untested.
            if d.linear_as_partworth:
                model = TaskModel.from_study(partworth_study(study))
                beta = prior_draws(study, seed=seed) @ linear_to_partworth(study).T
            else:
                model = TaskModel.from_study(study)
                beta = prior_draws(study, seed=seed)
            errors, starts_run, stopped = [], 0, False
            for v in range(n_versions):
                remaining = budget - (time.perf_counter() - t0)
                per_version = max(remaining / (n_versions - v), 1e-3)
                res = d_efficient_version(
                    model,
                    beta,
                    rules,
                    cands,
                    d.tasks,
                    d.alternatives,
                    rng,
                    algorithm=d.algorithm,
                    starts=d.starts,
                    seconds=per_version,
                    on_start=lambda: bar.update(1),
                )
                out[v] = res.version
                errors.append(res.db_error)
                starts_run += res.starts_run
                stopped = stopped or res.stopped_by_time
            if stopped:
                log.warning(
                    "design search stopped by its time budget (%.1f s); starts run: %d of %d",
                    budget,
                    starts_run,
                    d.starts * n_versions,
                )
            search.update(
                algorithm=d.algorithm,
                prior=study.priors.kind,
                prior_draws=int(beta.shape[0]),
                starts_run=starts_run,
                starts_requested=d.starts * n_versions,
                stopped_by_time=stopped,
                db_error=float(np.mean(errors)),
                db_error_by_version=[float(e) for e in errors],
            )
    finally:
        bar.close()
    search["seconds"] = time.perf_counter() - t0

    if study.alternative_specific:
        # an alternative-specific attribute is absent (-1) on the other labels' alternatives
        applies = np.asarray(study.applies(), dtype=bool)
        out = np.where(applies, out, -1).astype(np.int16)
    if d.shuffle:
        out = _shuffle(out, rng, alternatives=not study.labels)
    levels, holdout = _add_holdouts(out, study)
    return ChoiceDesign(study, levels, holdout, method, seed, search)


def _shuffle(
    levels: np.ndarray, rng: np.random.Generator, *, alternatives: bool = True
) -> np.ndarray:
    """Randomise task order and (unless ``alternatives`` is false: a labelled design, whose
    alternative j is the j-th label) alternative positions within each version."""
    out = levels.copy()
    for v in range(out.shape[0]):
        out[v] = out[v][rng.permutation(out.shape[1])]
        if not alternatives:
            continue
        for t in range(out.shape[1]):
            out[v, t] = out[v, t][rng.permutation(out.shape[2])]
    return out


def _add_holdouts(levels: np.ndarray, study: Study) -> tuple[np.ndarray, np.ndarray]:
    if not study.holdouts:
        return levels, np.zeros(levels.shape[1], dtype=bool)
    h = np.asarray([hd.alternatives for hd in study.holdouts], dtype=np.int16)  # (H, J, A)
    hv = np.broadcast_to(h, (levels.shape[0], *h.shape))
    full = np.concatenate([levels, hv], axis=1)
    mask = np.zeros(full.shape[1], dtype=bool)
    mask[levels.shape[1] :] = True
    return full, mask


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(show: bool, total: int) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="design search", unit="start")


# --------------------------------------------------------------------------------------------
# Reading a design back
# --------------------------------------------------------------------------------------------


def design_from_frame(
    frame: pd.DataFrame, study: Study, *, source: str = "design", method: str = "imported"
) -> ChoiceDesign:
    """Rebuild a :class:`ChoiceDesign` from the long design table (the ``design.csv`` layout).

    Every problem is reported at once with its row (1-based file row, header = row 1), column
    and value, and the valid choices.
    """
    df = frame.copy()
    names = study.attribute_names
    required = [*DESIGN_COLUMNS, *names]
    missing = [c for c in required if c not in df.columns]
    problems: list[str] = []
    if missing:
        raise DesignError(
            f"{source}: missing column(s) {list_valid(missing)}. A design needs "
            f"{list_valid(required)} (and optionally holdout)."
        )
    extra = [c for c in df.columns if c not in (*required, "holdout")]
    if extra:
        raise DesignError(
            f"{source}: unexpected column(s) {list_valid(extra)}; attributes of this study: "
            f"{list_valid(names)}."
        )
    for c in DESIGN_COLUMNS:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = df.index[num.isna() | (num != num.round()) | (num < 1)]
        for i in bad[:5]:
            problems.append(
                f"row {i + 2}, column '{c}': {df.at[i, c]!r} is not a whole number >= 1."
            )
        if len(bad) > 5:
            problems.append(f"... and {len(bad) - 5} more bad value(s) in column '{c}'.")
        df[c] = num
    codes = np.zeros((len(df), len(names)), dtype=np.int16)
    shows = _shows(df, study)
    for a, attr in enumerate(study.attributes):
        col = df[attr.name]
        idx = np.array([attr.index_of(v) for v in col])
        if shows is not None:
            empty = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy()
            for i in np.flatnonzero(~shows[:, a] & ~empty)[:5]:
                problems.append(
                    f"row {i + 2}, column '{attr.name}': {col.iloc[i]!r} on alternative "
                    f"{df['alt'].iloc[i]} ({_label_at(study, df['alt'].iloc[i])}), but "
                    f"'{attr.name}' exists only on {list_valid(attr.applies_to)}; leave it empty."
                )
            idx = np.where(shows[:, a], idx, -2)  # -2: absent as it should be
        bad = np.flatnonzero(idx == -1)
        for i in bad[:5]:
            problems.append(
                f"row {i + 2}, column '{attr.name}': unknown level {col.iloc[i]!r}. Valid "
                f"levels: {list_valid(attr.level_labels())}."
            )
        if len(bad) > 5:
            problems.append(f"... and {len(bad) - 5} more unknown level(s) in '{attr.name}'.")
        codes[:, a] = np.where(idx == -2, -1, np.maximum(idx, 0))
    if problems:
        raise DesignError(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    v = df["version"].astype(int).to_numpy()
    t = df["task"].astype(int).to_numpy()
    j = df["alt"].astype(int).to_numpy()
    nv, nt, nj = v.max(), t.max(), j.max()
    key = (v - 1) * nt * nj + (t - 1) * nj + (j - 1)
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)[:5] + 2
        raise DesignError(
            f"{source}: version/task/alt repeated at rows {list_valid(rows)}; each alternative "
            "must appear once."
        )
    if len(df) != nv * nt * nj:
        raise DesignError(
            f"{source}: expected every version 1..{nv} to have tasks 1..{nt} with alternatives "
            f"1..{nj} ({nv * nt * nj} rows), found {len(df)} rows; versions, tasks and "
            "alternatives must be complete and numbered from 1."
        )
    if study.labels and nj != len(study.labels):
        raise DesignError(
            f"{source}: alternatives 1..{nj}, but this labelled design shows one alternative "
            f"per label ({len(study.labels)}: {list_valid(study.labels)})."
        )
    levels = np.zeros((nv, nt, nj, len(names)), dtype=np.int16)
    levels[v - 1, t - 1, j - 1] = codes
    holdout = np.zeros(nt, dtype=bool)
    if "holdout" in df.columns:
        h = pd.to_numeric(df["holdout"], errors="coerce").fillna(-1).to_numpy()
        if not np.isin(h, (0, 1)).all():
            i = int(np.flatnonzero(~np.isin(h, (0, 1)))[0])
            raise DesignError(
                f"{source}: row {i + 2}, column 'holdout': {df['holdout'].iloc[i]!r}; valid: 0, 1."
            )
        per_task = pd.Series(h).groupby(t).agg(["min", "max"])
        mixed = per_task.index[per_task["min"] != per_task["max"]]
        if len(mixed):
            raise DesignError(
                f"{source}: task(s) {list_valid(mixed)} are marked holdout in some rows or "
                "versions only; a holdout task position is a holdout in every version."
            )
        holdout[per_task.index.to_numpy() - 1] = per_task["max"].to_numpy() == 1
    # a design read from a file has no seed of its own: the study's seeds what follows from it
    # (prior draws of the diagnostics, respondents' task orders), never a -1 stand-in
    return ChoiceDesign(study, levels, holdout, method, study.design.seed, {"source": source})


def _shows(df: pd.DataFrame, study: Study) -> np.ndarray | None:
    """(rows, attributes): which attributes each row's alternative shows; None when every
    alternative shows every attribute (or the alternative numbers are not valid yet)."""
    if not study.alternative_specific:
        return None
    alt = pd.to_numeric(df["alt"], errors="coerce")
    n = len(study.labels)
    if alt.isna().any() or not alt.between(1, n).all():
        return None  # reported by the checks of the alt column and the count of alternatives
    applies = np.asarray(study.applies(), dtype=bool)
    return applies[alt.to_numpy(dtype=int) - 1]


def _label_at(study: Study, alt: object) -> str:
    return f"label {study.labels[int(float(str(alt))) - 1]}"


def make_assignments(
    design: ChoiceDesign,
    respondents: int | Sequence[str],
    *,
    random_seed: int | None = None,
    shuffle_tasks: bool = True,
    shuffle_alternatives: bool = True,
) -> pd.DataFrame:
    """Assign versions to respondents and shuffle each respondent's task and concept order.

    Versions are dealt in turn (respondent i gets version i mod n_versions + 1), so versions are
    balanced. The returned long table records, for every respondent, version, task and alt, the
    position the task is shown in (``task_position``, holdouts keep their place) and the
    position of the concept on screen (``alt_position``).

    Examples
    --------
    >>> make_assignments(design, 300, random_seed=1).head()  # doctest: +SKIP
    """
    ids = (
        [f"r{i + 1:0{len(str(respondents))}d}" for i in range(respondents)]
        if isinstance(respondents, int)
        else [str(r) for r in respondents]
    )
    if len(set(ids)) != len(ids):
        raise DesignError("respondent ids must be unique.")
    rng = np.random.default_rng(design.seed if random_seed is None else random_seed)
    nt, nj = design.n_tasks, design.n_alternatives
    rows = []
    random_tasks = np.flatnonzero(~design.holdout)
    for i, rid in enumerate(ids):
        v = i % design.n_versions + 1
        order = np.arange(nt)
        if shuffle_tasks:
            order[random_tasks] = rng.permutation(random_tasks)
        for pos, t in enumerate(order, start=1):
            alt_order = rng.permutation(nj) if shuffle_alternatives else np.arange(nj)
            for apos, j in enumerate(alt_order, start=1):
                rows.append((rid, v, int(t) + 1, int(j) + 1, pos, apos))
    return pd.DataFrame(
        rows,
        columns=["respondent_id", "version", "task", "alt", "task_position", "alt_position"],
    )


def n_profiles(study: Study) -> int:
    return math.prod(a.n_levels for a in study.attributes)
