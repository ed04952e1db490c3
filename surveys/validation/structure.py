"""The checks on whole tasks and respondents, on integer arrays: duplicated rows and
respondents, one chosen alternative per task, the number of alternatives, tasks without gaps,
one version per respondent, holdout marks; then the rows against what the design shows, and the
holdout tasks inferred from the study when the table does not mark them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from surveys.validation.cells import ROW_COLUMN, SPECIAL_ALTS
from surveys.validation.report import SHOWN, ProblemReport
from winback import _numba_cache
from winback.study import Study, format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign


class _Structure:
    """The checks on whole tasks and respondents, on integer arrays (rows in file order)."""

    def __init__(
        self,
        rep: ProblemReport,
        study: Study,
        *,
        rows: np.ndarray,
        rid: np.ndarray,
        rid_text: np.ndarray,
        task: np.ndarray,
        version: np.ndarray,
        alt: np.ndarray,
        chosen: np.ndarray,
        holdout: np.ndarray | None,
    ) -> None:
        self.rep, self.study = rep, study
        self.rows, self.task, self.version, self.alt, self.chosen = rows, task, version, alt, chosen
        self.holdout = holdout
        # respondents numbered in order of appearance
        codes, uniq = _appearance_codes(np.asarray(rid, dtype=np.int64))
        self.r = codes
        self.names = rid_text[uniq] if len(uniq) else rid_text[:0]
        self.appearance = self.r
        #: how many tasks every respondent answered, when the check found them all alike
        self.tasks_each: int | None = None
        #: whether the one compiled pass found the rows in order and nothing to report
        self.sound = False

    def _name(self, r: int) -> str:
        return repr(self.names[r])

    def check(self) -> np.ndarray:
        """Run the structure checks; the rows to keep (first copy of duplicated rows)."""
        rep, study = self.rep, self.study
        n_alts = study.design.alternatives
        r, task, alt = self.r, self.task, self.alt
        keep = np.ones(len(r), dtype=bool)
        self._keep = keep
        if not len(r):
            self.holdout = None
            return keep
        sound = _sound_in_order(
            r,
            task,
            alt,
            self.chosen,
            self.version,
            n_alts,
            study.none_option,
            study.status_quo is not None,
            self.holdout,
        )
        if sound is not None:  # canonical order and nothing to report: the checks' results
            self.appearance = self.r
            self._g, self._keep = sound[0], keep
            self._g_r, self._g_t, self._n_g = sound[1], sound[2], len(sound[1])
            self.tasks_each = len(sound[1]) // (int(r[-1]) + 1)  # all alike
            self.sound = True  # holdout marks (when given) checked too; rows in order
            return keep
        n_r = int(r.max()) + 1
        t_code, n_t = _task_codes(task)
        key = (r * n_t + t_code) * (n_alts + 2) + alt
        # a file in canonical order has increasing keys: no hashing to find none repeated
        dup = _duplicated(key, keep=False)
        if dup.any():
            per_resp = np.bincount(r[dup], minlength=n_r)
            full = np.bincount(r, minlength=n_r)
            whole = np.flatnonzero((per_resp == full) & (per_resp > 0))
            rep.add_many(
                "duplicated respondent",
                len(whole),
                [
                    f"respondent {self._name(w)} appears twice (every task repeated)"
                    for w in whole[:SHOWN]
                ],
                self.names[whole],
            )
            rest = dup & ~np.isin(r, whole)
            rp = np.flatnonzero(rest)
            first_per = pd.unique(r[rp])[:SHOWN]
            msgs = []
            for w in first_per:
                mine = rp[r[rp] == w]
                i, k = mine[0], len(mine) - 1
                msgs.append(
                    f"row {self.rows[i]}: respondent {self._name(w)} task {task[i]} alt "
                    f"{_alt_name(alt[i], n_alts)} appears more than once"
                    + (
                        f" (+{k} more row{'s' if k > 1 else ''} of respondent {self._name(w)})"
                        if k
                        else ""
                    )
                )
            rep.add_many("duplicated row", len(rp), msgs, self.names[np.unique(r[rp])])
            keep = ~_duplicated(key, keep="first")
        r, task, alt, chosen = r[keep], task[keep], alt[keep], self.chosen[keep]
        version, rows = self.version[keep], self.rows[keep]
        t_code = np.asarray(t_code)[keep]

        # tasks: (respondent, task) groups in order of first appearance
        g = _pair_codes(r, t_code, n_t)
        n_g = int(g.max()) + 1 if len(g) else 0
        first_pos = _first_positions(g)
        g_r, g_t = r[first_pos], task[first_pos]
        if len(rows) < 2 or (np.diff(rows) >= 0).all():  # file lines in order: the first is least
            g_row = rows[first_pos].astype(np.int64)
        else:
            g_row = np.full(n_g, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(g_row, g, rows.astype(np.int64))

        def task_problem(kind: str, bad: np.ndarray, what: Callable[..., str]) -> None:
            where = np.flatnonzero(bad)
            rep.add_many(
                kind,
                len(where),
                [
                    f"respondent {self._name(g_r[k])} task {g_t[k]} (from row {g_row[k]}): {what(k)}"
                    for k in where[:SHOWN]
                ],
                self.names[np.unique(g_r[where])],
            )

        n_chosen = np.bincount(g, weights=chosen, minlength=n_g).astype(np.int64)
        task_problem("no alternative chosen", n_chosen == 0, lambda k: "0 rows with chosen = 1")
        task_problem(
            "several alternatives chosen",
            n_chosen > 1,
            lambda k: f"{n_chosen[k]} rows with chosen = 1",
        )
        designed = alt < n_alts
        n_designed = np.bincount(g[designed], minlength=n_g)
        task_problem(
            "wrong number of alternatives",
            (n_designed != n_alts) & (n_designed > 0),
            lambda k: f"{n_designed[k]} alternatives; the study shows {n_alts}",
        )
        for special_alt, code, needed in (
            ("none", n_alts + 1, study.none_option),
            ("status_quo", n_alts, study.status_quo is not None),
        ):
            if needed:
                has = np.bincount(g[alt == code], minlength=n_g)
                task_problem(
                    f"missing {special_alt} row", has == 0, lambda k, s=special_alt: f"no '{s}' row"
                )

        # respondents: one version, tasks 1..T without gaps, as many tasks as the others
        n_r = int(r.max()) + 1
        mixed = np.flatnonzero(_varies(r, version, n_r))
        rep.add_many(
            "mixed versions",
            len(mixed),
            [f"respondent {self._name(w)} has rows of several versions" for w in mixed[:SHOWN]],
            self.names[mixed],
        )
        n_tasks = np.bincount(g_r, minlength=n_r)
        t_max = np.zeros(n_r, dtype=np.int64)
        np.maximum.at(t_max, g_r, g_t)
        t_min = np.full(n_r, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(t_min, g_r, g_t)
        present = n_tasks > 0
        gaps = present & ((t_min != 1) | (t_max != n_tasks))
        where = np.flatnonzero(gaps)
        msgs = []
        for w in where[:SHOWN]:
            ts = sorted(set(g_t[g_r == w].tolist()))
            skipped = sorted(set(range(1, max(ts) + 1)) - set(ts))
            msgs.append(f"respondent {self._name(w)}: tasks {ts} skip {skipped}")
        rep.add_many("task gaps", len(where), msgs, self.names[where])
        expected_t = int(n_tasks.max()) if n_r else 0
        short = np.flatnonzero(present & ~gaps & (n_tasks != expected_t))
        rep.add_many(
            "incomplete respondent",
            len(short),
            [
                f"respondent {self._name(w)} has {n_tasks[w]} tasks, others {expected_t}; remove "
                "or complete partial interviews before import"
                for w in short[:SHOWN]
            ],
            self.names[short],
        )
        self.appearance = self.r
        self._g, self._keep = g, keep
        self._g_r, self._g_t, self._n_g = g_r, g_t, n_g
        return keep

    def check_holdouts(self) -> None:
        assert self.holdout is not None
        h = self.holdout[self._keep]
        valid = np.isin(h, [0.0, 1.0])
        g = self._g[valid]
        where = np.flatnonzero(_varies(g, h[valid].astype(np.int64), self._n_g))
        self.rep.add_many(
            "bad holdout",
            len(where),
            [
                f"respondent {self._name(self._g_r[k])} task {self._g_t[k]}: holdout differs "
                "between rows"
                for k in where[:SHOWN]
            ],
            self.names[np.unique(self._g_r[where])],
        )


def _sound_in_order(
    r: np.ndarray,
    task: np.ndarray,
    alt: np.ndarray,
    chosen: np.ndarray,
    version: np.ndarray,
    n_alts: int,
    none: bool,
    status_quo: bool,
    holdout: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For rows in canonical order (respondents as numbered, tasks, alternatives: each key
    greater than the one before) of which :meth:`_Structure.check` (and, with ``holdout``,
    :meth:`_Structure.check_holdouts`) would report nothing, in one compiled pass: ``(g, g_r,
    g_t)``, each row's task group and each group's respondent and task; None otherwise (out of
    order, or something to report: the checks then say what).
    """
    g = np.empty(len(r), dtype=np.int64)
    marks = np.zeros(0) if holdout is None else np.ascontiguousarray(holdout, dtype=np.float64)
    n_g = _structure_pass()(
        np.ascontiguousarray(r, dtype=np.int64),
        np.ascontiguousarray(task, dtype=np.int64),
        np.ascontiguousarray(alt),  # validation's one-byte codes, as they are
        np.ascontiguousarray(chosen, dtype=np.int64),
        np.ascontiguousarray(version, dtype=np.int64),
        n_alts,
        none,
        status_quo,
        marks,
        g,
    )
    if n_g < 0:
        return None
    starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))
    return g, r[starts].astype(np.int64), task[starts]


def warm_up() -> None:
    """Load the structure pass's compiled code now (and with it numba: its import, LLVM and
    its typing set-up, about 0.4 s once per process)."""
    one = np.ones(1, dtype=np.int64)
    alt = np.zeros(1, dtype=np.int8)  # as validation codes the alternatives
    _structure_pass()(one - 1, one, alt, one, one, 1, False, False, np.zeros(1), one - 1)


@functools.cache
def _structure_pass() -> Any:
    """:func:`_structure_pass_py` compiled (numba loads on first use, not with ``import
    surveys``)."""
    import numba

    _numba_cache.install()
    return numba.njit(cache=True, nogil=True)(_structure_pass_py)


def _structure_pass_py(
    r, task, alt, chosen, version, n_alts, none, status_quo, holdout, g
):  # pragma: no cover
    """The number of task groups (each row's group in ``g``), or -1 when the rows are not in
    canonical order or :meth:`_Structure.check` would report a problem (or, when ``holdout``
    holds the rows' marks, :meth:`_Structure.check_holdouts`: a mark other than 0 or 1, or
    marks that differ within a task)."""
    n = len(r)
    if n == 0 or r[0] != 0:
        return -1
    marks = len(holdout) == n
    group = -1
    tasks = 0  # tasks of the current respondent so far
    n_tasks = -1  # every respondent's number of tasks
    n_chosen = n_designed = has_none = has_sq = 0
    for i in range(n + 1):
        new_resp = i == 0 or i == n or r[i] != r[i - 1]
        new_group = new_resp or task[i] != task[i - 1]
        if i > 0 and new_group:  # the task group of row i - 1 is complete
            if n_chosen != 1 or (n_designed != 0 and n_designed != n_alts):
                return -1
            if (none and has_none == 0) or (status_quo and has_sq == 0):
                return -1
        if i > 0 and new_resp:  # so is its respondent: as many tasks as the others
            if n_tasks < 0:
                n_tasks = tasks
            elif tasks != n_tasks:
                return -1
        if i == n:
            break
        if i > 0:
            if new_resp:
                if r[i] != r[i - 1] + 1:  # respondents numbered as they first appear
                    return -1
            elif task[i] < task[i - 1] or (task[i] == task[i - 1] and alt[i] <= alt[i - 1]):
                return -1  # out of order, or a row repeated
            elif version[i] != version[i - 1]:
                return -1
        if marks:
            if holdout[i] != 0.0 and holdout[i] != 1.0:
                return -1
            if not new_group and holdout[i] != holdout[i - 1]:
                return -1
        if new_resp:
            tasks = 0
        if new_group:
            group += 1
            tasks += 1
            if task[i] != tasks:  # tasks 1, 2, ... without gaps
                return -1
            n_chosen = n_designed = has_none = has_sq = 0
        g[i] = group
        n_chosen += chosen[i]
        if alt[i] < n_alts:
            n_designed += 1
        elif alt[i] == n_alts:
            has_sq += 1
        else:
            has_none += 1
    return group + 1


@functools.cache
def _design_pass() -> Any:
    """:func:`_design_pass_py` compiled (numba loads on first use)."""
    import numba

    _numba_cache.install()
    return numba.njit(cache=True, nogil=True)(_design_pass_py)


def _design_pass_py(pos, alt, version, task, idx, levels, n_alts):  # pragma: no cover
    """Whether every designed row of ``pos`` is in the design (version, task, alternative)
    and shows the attribute's level the design has there (``levels``: (V, T, J)); a blank
    (negative) level is another check's business."""
    n_v, n_t, n_j = levels.shape
    for p in pos:
        j = alt[p]
        if j >= n_alts:
            continue
        v = int(version[p]) - 1
        t = int(task[p]) - 1
        if v < 0 or t < 0 or v >= n_v or t >= n_t or j >= n_j:
            return False
        if idx[p] >= 0 and idx[p] != levels[v, t, j]:
            return False
    return True


def _distinct_per(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``value`` in each group (hashing, no sort)."""
    if not len(group):
        return np.zeros(n_groups, dtype=np.int64)
    v_code, v_uniq = pd.factorize(value)
    pairs = pd.unique(group.astype(np.int64) * len(v_uniq) + v_code)
    return np.bincount(pairs // len(v_uniq), minlength=n_groups)


def _varies(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Whether ``value`` takes more than one value in each group (``group``: codes below
    ``n_groups``): some value differs from one of its group's values (whichever the
    assignment keeps: any member will do)."""
    if not len(group):
        return np.zeros(n_groups, dtype=bool)
    member = np.zeros(n_groups, dtype=value.dtype)
    member[group] = value
    return np.bincount(group[value != member[group]], minlength=n_groups) > 0


def _appearance_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize`` of integers: ``(codes, uniques)``, codes numbered in order of first
    appearance; without hashing when they are numbered so already (as the codes of a column
    read from a file are)."""
    if len(x) and x.min() >= 0:
        seen = np.maximum.accumulate(x)
        if x[0] == 0 and (x[1:] <= seen[:-1] + 1).all():  # each new value the next number
            return x, np.arange(int(seen[-1]) + 1)
    codes, uniques = pd.factorize(x)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)


def _task_codes(task: np.ndarray) -> tuple[np.ndarray, int]:
    """An integer per task number (0, 1, ...) and how many there can be."""
    if len(task) and 0 <= task.min() and task.max() < 1 << 20:
        lo = int(task.min())
        return task - lo, int(task.max()) - lo + 1
    codes, uniques = pd.factorize(task)
    return np.asarray(codes, dtype=np.int64), max(len(uniques), 1)


def _pair_codes(a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    """Codes of the pairs ``(a, b)`` (``0 <= b < n_b``) numbered in order of first appearance;
    without hashing when the rows are sorted by ``a``, then ``b``."""
    if not len(a):
        return np.zeros(0, dtype=np.int64)
    da, db = np.diff(a), np.diff(b)
    if ((da > 0) | ((da == 0) & (db >= 0))).all():
        new = np.concatenate(([0], (da != 0) | (db != 0)))
        return np.cumsum(new, dtype=np.int64)
    return np.asarray(pd.factorize(a * n_b + b)[0], dtype=np.int64)


def _first_positions(codes: np.ndarray) -> np.ndarray:
    """The row where each code first appears (codes that first appear in increasing order)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    before = np.concatenate(([-1], np.maximum.accumulate(codes)[:-1]))
    return np.flatnonzero(codes > before)


def _duplicated(key: np.ndarray, keep: str | bool) -> np.ndarray:
    """``pandas.Series.duplicated`` of integer keys; no hashing when they increase."""
    if len(key) < 2 or (np.diff(key) > 0).all():
        return np.zeros(len(key), dtype=bool)
    return np.asarray(pd.Series(key).duplicated(keep=keep))


def _alt_name(code: int, n_alts: int) -> str:
    if code < n_alts:
        return str(code + 1)
    return "status_quo" if code == n_alts else "none"


def _check_design(
    df: pd.DataFrame,
    pos: np.ndarray,
    study: Study,
    design: ChoiceDesign,
    level_idx: dict[str, np.ndarray],
    alt: np.ndarray,
    task: np.ndarray,
    version: np.ndarray,
    rep: ProblemReport,
    rid: np.ndarray,
    rid_text: np.ndarray,
    tasks_each: int | None = None,
) -> None:
    """Rows ``pos`` (typed, structure checked) against what the design shows; ``rid`` are the
    respondents' codes into ``rid_text``, row by row; ``tasks_each``: how many tasks every
    respondent answered, when the structure check found them all alike."""
    n_alts = study.design.alternatives
    if not len(pos):
        return
    if tasks_each is not None and tasks_each >= design.n_tasks:
        # one compiled pass per attribute; the checks below run only to say what disagrees
        agrees = _design_pass()
        rows = np.ascontiguousarray(pos, dtype=np.int64)
        a_codes = np.ascontiguousarray(alt)  # validation's one-byte codes: no int64 copies
        ver = np.ascontiguousarray(version, dtype=np.float64)
        tsk = np.ascontiguousarray(task, dtype=np.float64)
        if all(
            agrees(
                rows,
                a_codes,
                ver,
                tsk,
                np.ascontiguousarray(level_idx[attr.name]),
                np.ascontiguousarray(design.levels[..., a], dtype=np.int64),
                n_alts,
            )
            for a, attr in enumerate(study.attributes)
            if attr.name in level_idx
        ):
            return
    rid_codes, uniq_codes = _appearance_codes(np.asarray(rid, dtype=np.int64)[pos])
    uniq = rid_text[uniq_codes]
    # tasks per respondent: the (respondent, task) pairs, counted at their first rows
    t_code, n_t = _task_codes(np.asarray(task[pos], dtype=np.int64))
    pairs = _pair_codes(rid_codes, t_code, n_t)
    tasks_of = np.bincount(rid_codes[_first_positions(pairs)], minlength=len(uniq))
    short = np.flatnonzero(tasks_of < design.n_tasks)
    rep.add_many(
        "incomplete respondent",
        len(short),
        [
            f"respondent {uniq[r]!r} answered {tasks_of[r]} tasks; the design has "
            f"{design.n_tasks} per version (remove or complete partial interviews before import)"
            for r in short[:SHOWN]
        ],
        uniq[short],
    )
    d = pos[alt[pos] < n_alts]
    v = version[d].astype(np.int64) - 1
    t = task[d].astype(np.int64) - 1
    j = alt[d]
    out_v = v >= design.n_versions
    out_t = t >= design.n_tasks
    out_j = j >= design.n_alternatives
    for mask, what, n, col in (
        (out_v, "version", design.n_versions, "version"),
        (out_t, "task", design.n_tasks, "task"),
        (out_j, "alt", design.n_alternatives, "alt"),
    ):
        rep.add_rows(
            "not in the design",
            df.iloc[d[mask]],
            lambda r, what=what, n=n, col=col: (
                f"row {r[ROW_COLUMN]}: {what} {r[col]} is not in the design (it has {n})"
            ),
            id_column="respondent_id",
        )
    ok = ~(out_v | out_t | out_j)
    if not ok.any():
        return
    expected = design.levels[v[ok], t[ok], j[ok]]  # (n, A)
    d_ok = d[ok]
    for a, attr in enumerate(study.attributes):
        if attr.name not in level_idx:
            continue
        shown = level_idx[attr.name][d_ok]
        diff = (shown != expected[:, a]) & (shown >= 0)  # unknown levels are reported already
        diff &= expected[:, a] >= 0  # a level for an absent attribute: reported already
        if not diff.any():
            continue
        labels = np.array([format_level(x) for x in attr.levels], dtype=object)
        rows = df.iloc[d_ok[diff]].assign(
            _exp=labels[expected[diff, a]], _shown=labels[shown[diff]]
        )
        rep.add_rows(
            "disagrees with the design",
            rows,
            lambda r, attr=attr: (
                f"row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} version "
                f"{r['version']} task {r['task']} alt {r['alt']} shows {attr.name} = "
                f"{r['_shown']}, the design has {r['_exp']}"
            ),
            id_column="respondent_id",
        )


def _infer_holdouts(
    clean: pd.DataFrame,
    study: Study,
    design: ChoiceDesign | None,
    level_idx: dict[str, np.ndarray],
    pos: np.ndarray,
) -> np.ndarray:
    t = clean["task"].to_numpy() - 1
    if design is not None:
        marks = design.holdout.astype(np.int64)
        return np.where(t < len(marks), marks[np.minimum(t, len(marks) - 1)], 0)
    if not study.holdouts:
        return np.zeros(len(clean), dtype=np.int64)
    # a task is a holdout when its designed profiles are exactly one holdout's set
    sizes = [a.n_levels for a in study.attributes]
    profile = np.zeros(len(clean), dtype=np.int64)
    for a in study.attributes:
        profile = profile * a.n_levels + np.maximum(level_idx[a.name][pos], 0)
    designed = ~clean["alt"].isin(SPECIAL_ALTS).to_numpy()
    g, _ = pd.factorize(pd.MultiIndex.from_frame(clean[["respondent_id", "task"]]))
    g = np.asarray(g, dtype=np.int64)
    n_g = int(g.max()) + 1 if len(g) else 0
    is_h = np.zeros(n_g, dtype=bool)
    for h in study.holdouts:
        codes = set()
        for levels in h.alternatives:  # level indices, one per attribute
            code = 0
            for i, size in zip(levels, sizes, strict=True):
                code = code * size + int(i)
            codes.add(code)
        inside = designed & np.isin(profile, list(codes))
        n_in = np.bincount(g[inside], minlength=n_g)
        n_designed = np.bincount(g[designed], minlength=n_g)
        distinct = _distinct_per(g[inside], profile[inside], n_g)
        is_h |= (n_in == n_designed) & (distinct == len(codes)) & (n_designed > 0)
    return is_h[g].astype(np.int64)
