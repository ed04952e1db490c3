"""Design construction algorithms on level-index arrays.

A version is an int array (tasks, alternatives, attributes). Every algorithm asks :class:`Rules`
whether a profile or task is allowed, so prohibitions and cross-alternative constraints hold for
all of them.

- random: uniformly drawn allowed profiles, no duplicate in a task.
- shortcut: each concept takes the levels least used so far in its task, then in its version.
- balanced_overlap: like shortcut, but balances two-way level pairs and allows a level to repeat
  within a task when the version's balance gains from it (modest overlap).
- d_efficient: (Bayesian) D-optimal search, coordinate exchange or modified Fedorov, from several
  random starts, minimising the DB-error averaged over prior draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from conjoint.constraints import Rules
from conjoint.information import TaskModel, db_error, log_det
from winback.errors import DesignError

MAX_TRIES = 2_000


# --------------------------------------------------------------------------------------------
# Random starts and the random method
# --------------------------------------------------------------------------------------------


def random_task(
    rules: Rules, cands: np.ndarray, n_alts: int, rng: np.random.Generator
) -> np.ndarray:
    """One allowed task drawn at random from the candidate profiles."""
    for _ in range(MAX_TRIES):
        task = cands[rng.choice(len(cands), size=n_alts, replace=len(cands) < n_alts)]
        if rules.task_ok(task):
            return task.copy()
    raise DesignError(
        f"Could not draw a task of {n_alts} alternatives satisfying the constraints in "
        f"{MAX_TRIES} tries ({len(cands)} allowed profiles). The prohibitions, unique_levels "
        "or no_dominated settings leave (almost) no valid task: relax them or show fewer "
        "alternatives."
    )


def random_version(
    rules: Rules, cands: np.ndarray, n_tasks: int, n_alts: int, rng: np.random.Generator
) -> np.ndarray:
    return np.stack([random_task(rules, cands, n_alts, rng) for _ in range(n_tasks)])


# --------------------------------------------------------------------------------------------
# Greedy balanced constructions (shortcut, balanced overlap)
# --------------------------------------------------------------------------------------------


def greedy_version(
    rules: Rules,
    cands: np.ndarray,
    n_tasks: int,
    n_alts: int,
    rng: np.random.Generator,
    *,
    overlap_weight: float,
    pair_weight: float,
    per_position: bool = False,
) -> np.ndarray:
    """Build a version concept by concept, each the allowed candidate of lowest cost.

    cost = sum over attributes of (overlap_weight * uses of the level in this task
           + uses of the level in this version so far)
           + pair_weight * sum over attribute pairs of uses of the level pair in this version.
    Ties are broken at random. A large overlap_weight gives minimal overlap (shortcut).
    ``per_position`` (a labelled design, whose alternative j is always the j-th label)
    balances the version's counts of each alternative position on its own.
    """
    n_attr = cands.shape[1]
    n_levels = rules.n_levels
    offsets = np.concatenate([[0], np.cumsum(n_levels)[:-1]]).astype(np.int64)
    flat = cands.astype(np.int64) + offsets  # candidate levels as global level ids
    total = int(sum(n_levels))
    n_counts = n_alts if per_position else 1
    version_counts = np.zeros((n_counts, total))
    pair_counts = np.zeros((n_counts, total, total))
    pairs = [(a, b) for a in range(n_attr) for b in range(a + 1, n_attr)]
    out = np.zeros((n_tasks, n_alts, n_attr), dtype=np.int16)
    # expected use of each level so far, to normalise counts of attributes with few levels
    inv_levels = np.concatenate([[1.0 / n] * n for n in n_levels])
    for t in range(n_tasks):
        task_count = np.zeros(total)
        chosen: list[np.ndarray] = []
        for pos in range(n_alts):
            version_count = version_counts[pos if per_position else 0]
            pair_count = pair_counts[pos if per_position else 0]
            cost = (overlap_weight * task_count[flat] + version_count[flat] * inv_levels[flat]).sum(
                axis=1
            )
            if pair_weight and pairs:
                for a, b in pairs:
                    cost += pair_weight * pair_count[flat[:, a], flat[:, b]]
            cost = cost + rng.random(len(cost)) * 1e-6
            order = np.argsort(cost)
            picked = None
            for idx in order[: min(len(order), MAX_TRIES)]:
                prof = cands[idx]
                trial = np.vstack([*chosen, prof]) if chosen else prof[None, :]
                if rules.task_ok(trial, changed=len(chosen)):
                    picked = idx
                    break
            if picked is None:
                raise DesignError(
                    "Could not complete a task under the constraints (prohibitions, "
                    "unique_levels, no_dominated); relax them or show fewer alternatives."
                )
            chosen.append(cands[picked])
            g = flat[picked]
            task_count[g] += 1
            version_count[g] += 1
            for a, b in pairs:
                pair_count[g[a], g[b]] += 1
        out[t] = np.stack(chosen)
    return out


# --------------------------------------------------------------------------------------------
# D-efficient search
# --------------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    version: np.ndarray
    db_error: float
    starts_run: int
    seconds: float
    stopped_by_time: bool
    start_errors: list[float]


def _objective(info: np.ndarray) -> np.ndarray:
    return db_error(info)


def _level_changes(
    rules: Rules, task: np.ndarray, j: int, a: int
) -> tuple[list[int], list[np.ndarray]]:
    """The other levels attribute ``a`` of alternative ``j`` can take with the task still allowed.

    Returns the levels and the changed tasks (copies of ``task``), in level order: the
    candidates of one coordinate-exchange step.
    """
    old = task[j, a]
    levels, tasks = [], []
    for lv in range(rules.n_levels[a]):
        if lv == old:
            continue
        trial = task.copy()
        trial[j, a] = lv
        if rules.allowed(trial[j]) and rules.task_ok(trial, changed=j):
            levels.append(lv)
            tasks.append(trial)
    return levels, tasks


def coordinate_exchange(
    model: TaskModel,
    beta: np.ndarray,
    rules: Rules,
    start: np.ndarray,
    deadline: float,
    max_passes: int = 50,
) -> tuple[np.ndarray, float]:
    """Improve one version attribute-by-attribute until no single change lowers the DB-error."""
    design = start.copy()
    n_tasks, n_alts, n_attr = design.shape
    x = model.rows(design)
    task_info = model.information(x, beta)  # (T, R, K, K)
    info = task_info.sum(axis=0)
    cur = float(_objective(info))
    for _ in range(max_passes):
        improved = False
        for s in range(n_tasks):
            for j in range(n_alts):
                for a in range(n_attr):
                    if not model.changeable(j, a):
                        continue
                    _, cands = _level_changes(rules, design[s], j, a)
                    if not cands:
                        continue
                    ct = np.stack(cands)
                    m = model.information(model.rows(ct), beta)  # (C, R, K, K)
                    trial = info[None] - task_info[s][None] + m
                    errs = _objective(trial)
                    b = int(np.argmin(errs))
                    if errs[b] < cur * (1 - 1e-10) or (
                        not np.isfinite(cur) and np.isfinite(errs[b])
                    ):
                        design[s] = ct[b]
                        info = trial[b]
                        task_info[s] = m[b]
                        cur = float(errs[b])
                        improved = True
            if time.perf_counter() > deadline:
                break
        # refresh the running sum to stop rounding drift
        info = task_info.sum(axis=0)
        cur = float(_objective(info))
        if not improved or time.perf_counter() > deadline:
            break
    return design, cur


LOWRANK_MIN_PARAMETERS = 16


def _softmax_rows(u: np.ndarray) -> np.ndarray:
    """Softmax over the alternatives axis (-2) of (..., J, R) utilities -> (..., R, J)."""
    u = np.swapaxes(u, -1, -2)
    u = u - u.max(axis=-1, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=-1, keepdims=True)


def _centering(p: np.ndarray) -> np.ndarray:
    """L = diag(sqrt p) (I - 1 p'): M = X' L' L X is a task's information. p: (..., J)."""
    j = p.shape[-1]
    c = np.eye(j) - p[..., None, :]  # rows: e_i - p
    return np.sqrt(p)[..., :, None] * c


def coordinate_exchange_lowrank(
    model: TaskModel,
    beta: np.ndarray,
    rules: Rules,
    start: np.ndarray,
    deadline: float,
    max_passes: int = 50,
) -> tuple[np.ndarray, float]:
    """Coordinate exchange with determinant-lemma updates, for many parameters.

    Changing one attribute of one alternative changes that task's information by a term of rank
    at most 2J', so det(I + V S V') = det(I) det(I_2J' + S V' I^-1 V) needs only J' x J' Gram
    matrices X A X' (A = I^-1) per prior draw instead of a K x K factorisation per candidate.
    Gives the same moves as :func:`coordinate_exchange` (up to rounding).
    """
    design = start.copy()
    n_tasks, n_alts, n_attr = design.shape
    k = model.k
    enc = model.encoding
    tables = enc.tables
    interacts = bool(enc.interactions)
    x_all = model.rows(design)  # (T, J', K)
    jp = x_all.shape[1]
    task_info = model.information(x_all, beta)
    info = task_info.sum(axis=0)  # (R, K, K)
    ld = log_det(info)
    if not np.all(np.isfinite(ld)):
        # a singular start: improve it the plain way first
        design, _ = coordinate_exchange(model, beta, rules, design, deadline, max_passes=1)
        x_all = model.rows(design)
        task_info = model.information(x_all, beta)
        info = task_info.sum(axis=0)
        ld = log_det(info)
        if not np.all(np.isfinite(ld)):
            return coordinate_exchange(model, beta, rules, design, deadline, max_passes)
    a_inv = np.linalg.inv(info)
    util = x_all @ beta.T  # (T, J', R)
    cur = float(np.exp(-ld / k).mean())
    s_sign = np.concatenate([np.ones(jp), -np.ones(jp)])
    eye2 = np.eye(2 * jp)
    for _ in range(max_passes):
        improved = False
        for s in range(n_tasks):
            for j in range(n_alts):
                g_oo = None
                for a in range(n_attr):
                    if not model.changeable(j, a):
                        continue
                    old = design[s, j, a]
                    levels, _ = _level_changes(rules, design[s], j, a)
                    if not levels:
                        continue
                    xs = x_all[s]  # (J', K)
                    if g_oo is None:
                        xa = np.einsum("jk,rkl->rjl", xs, a_inv)  # (R, J', K)
                        g_oo = xa @ xs.T  # (R, J', J')
                        p_o = _softmax_rows(util[s])  # (R, J')
                        l_o = _centering(p_o)  # (R, J', J')
                        b22 = l_o @ g_oo @ np.swapaxes(l_o, -1, -2)
                    if interacts:  # an interaction column moves with the other levels
                        prof = np.repeat(design[s, j][None], len(levels), axis=0)
                        prof[:, a] = levels
                        d = enc.encode(prof) - xs[j]
                    else:
                        d = tables[a][levels] - tables[a][old]  # (C, K) changes of the rows
                    nz = np.flatnonzero(np.any(d != 0, axis=0))
                    a_d = np.einsum("rkl,cl->crk", a_inv[:, :, nz], d[:, nz])  # (C, R, K)
                    xo_ad = np.einsum("jk,crk->crj", xs, a_d)  # (C, R, J')
                    dad = np.einsum("ck,crk->cr", d, a_d)  # (C, R)
                    ej = np.zeros(jp)
                    ej[j] = 1.0
                    g_no = g_oo[None] + ej[None, None, :, None] * xo_ad[:, :, None, :]
                    g_nn = (
                        g_no
                        + xo_ad[:, :, :, None] * ej[None, None, None, :]
                        + dad[:, :, None, None] * np.outer(ej, ej)
                    )
                    u_new = util[s][None].repeat(len(levels), 0)  # (C, J', R)
                    u_new[:, j, :] += d @ beta.T
                    p_n = _softmax_rows(u_new)  # (C, R, J')
                    l_n = _centering(p_n)  # (C, R, J', J')
                    lt_o = np.swapaxes(l_o, -1, -2)[None]
                    b11 = l_n @ g_nn @ np.swapaxes(l_n, -1, -2)
                    b12 = l_n @ g_no @ lt_o
                    top = np.concatenate([b11, b12], axis=-1)
                    bottom = np.concatenate(
                        [np.swapaxes(b12, -1, -2), np.broadcast_to(b22, b11.shape)], axis=-1
                    )
                    m = eye2 + s_sign[:, None] * np.concatenate([top, bottom], axis=-2)
                    sign, ld_ratio = np.linalg.slogdet(m)  # (C, R)
                    new_ld = np.where(sign > 0, ld[None] + ld_ratio, -np.inf)
                    with np.errstate(over="ignore"):
                        errs = np.exp(-new_ld / k).mean(axis=1)
                    b = int(np.argmin(errs))
                    if errs[b] < cur * (1 - 1e-10):
                        design[s, j, a] = levels[b]
                        x_all[s, j] += d[b]
                        util[s, j] += d[b] @ beta.T
                        m_new = model.information(x_all[s][None], beta)[0]
                        info = info - task_info[s] + m_new
                        task_info[s] = m_new
                        ld = new_ld[b]
                        a_inv = np.linalg.inv(info)
                        cur = float(errs[b])
                        improved = True
                        g_oo = None
            if time.perf_counter() > deadline:
                break
        info = task_info.sum(axis=0)
        ld = log_det(info)
        a_inv = np.linalg.inv(info)
        cur = float(np.exp(-ld / k).mean())
        if not improved or time.perf_counter() > deadline:
            break
    return design, cur


def modified_fedorov(
    model: TaskModel,
    beta: np.ndarray,
    rules: Rules,
    start: np.ndarray,
    cands: np.ndarray,
    deadline: float,
    max_passes: int = 30,
    chunk: int = 4096,
) -> tuple[np.ndarray, float]:
    """Improve one version profile-by-profile: swap each concept for the best candidate profile."""
    design = start.copy()
    n_tasks, n_alts, _ = design.shape
    task_info = model.information(model.rows(design), beta)
    info = task_info.sum(axis=0)
    cur = float(_objective(info))
    # rows of every candidate profile once
    for _ in range(max_passes):
        improved = False
        for s in range(n_tasks):
            for j in range(n_alts):
                others = np.delete(design[s], j, axis=0)
                # candidates that are allowed within this task
                ok = np.ones(len(cands), dtype=bool)
                for o in others:
                    ok &= np.any(cands != o, axis=1)
                idx = np.flatnonzero(ok)
                if rules.unique_attrs or rules.no_dominated:
                    keep = []
                    for i in idx:
                        task = design[s].copy()
                        task[j] = cands[i]
                        if rules.task_ok(task, changed=j):
                            keep.append(i)
                    idx = np.asarray(keep, dtype=int)
                if len(idx) == 0:
                    continue
                best_err, best_task, best_m = cur, None, None
                for lo in range(0, len(idx), chunk):
                    sub = idx[lo : lo + chunk]
                    tasks = np.repeat(design[s][None], len(sub), axis=0)
                    tasks[:, j] = cands[sub]
                    m = model.information(model.rows(tasks), beta)
                    errs = _objective(info[None] - task_info[s][None] + m)
                    b = int(np.argmin(errs))
                    if errs[b] < best_err * (1 - 1e-10) or (
                        not np.isfinite(best_err) and np.isfinite(errs[b])
                    ):
                        best_err, best_task, best_m = float(errs[b]), tasks[b], m[b]
                if best_task is not None and best_m is not None:
                    design[s] = best_task
                    task_info[s] = best_m
                    info = task_info.sum(axis=0)
                    cur = best_err
                    improved = True
            if time.perf_counter() > deadline:
                break
        info = task_info.sum(axis=0)
        cur = float(_objective(info))
        if not improved or time.perf_counter() > deadline:
            break
    return design, cur


def d_efficient_version(
    model: TaskModel,
    beta: np.ndarray,
    rules: Rules,
    cands: np.ndarray,
    n_tasks: int,
    n_alts: int,
    rng: np.random.Generator,
    *,
    algorithm: str,
    starts: int,
    seconds: float,
    on_start: Callable[[], None] | None = None,
) -> SearchResult:
    """Best of several random starts, each improved to a local optimum, within a time budget."""
    t0 = time.perf_counter()
    deadline = t0 + seconds
    best: np.ndarray | None = None
    best_err = np.inf
    errors = []
    run = 0
    for _ in range(starts):
        start = random_version(rules, cands, n_tasks, n_alts, rng)
        if algorithm == "fedorov":
            version, err = modified_fedorov(model, beta, rules, start, cands, deadline)
        elif model.k >= LOWRANK_MIN_PARAMETERS and not (model.dual_none or model.sq_mixture):
            version, err = coordinate_exchange_lowrank(model, beta, rules, start, deadline)
        else:
            version, err = coordinate_exchange(model, beta, rules, start, deadline)
        run += 1
        errors.append(err)
        if best is None or err < best_err:
            best, best_err = version, err
        if on_start is not None:
            on_start()
        if time.perf_counter() > deadline:
            break
    assert best is not None
    return SearchResult(
        version=best,
        db_error=float(best_err),
        starts_run=run,
        seconds=time.perf_counter() - t0,
        stopped_by_time=run < starts or time.perf_counter() > deadline,
        start_errors=errors,
    )
