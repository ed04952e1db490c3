# ruff: noqa
# surveys/validation/structure.py as it was before the integer fast paths (issue 14 item 4):
# the specification tests/surveys/test_validation_spec.py compares the new code with.
"""The checks on whole tasks and respondents, on integer arrays: duplicated rows and
respondents, one chosen alternative per task, the number of alternatives, tasks without gaps,
one version per respondent, holdout marks; then the rows against what the design shows, and the
holdout tasks inferred from the study when the table does not mark them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from surveys.validation.cells import ROW_COLUMN, SPECIAL_ALTS
from surveys.validation.report import SHOWN, ProblemReport
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
        codes, uniq = pd.factorize(rid)
        self.r = np.asarray(codes, dtype=np.int64)
        self.names = rid_text[np.asarray(uniq, dtype=np.int64)] if len(uniq) else rid_text[:0]
        self.appearance = self.r

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
        n_r = int(r.max()) + 1
        t_code, t_uniq = pd.factorize(task)
        n_t = len(t_uniq)
        key = (r * n_t + t_code) * (n_alts + 2) + alt
        dup = pd.Series(key).duplicated(keep=False).to_numpy()
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
            keep = ~pd.Series(key).duplicated(keep="first").to_numpy()
        r, task, alt, chosen = r[keep], task[keep], alt[keep], self.chosen[keep]
        version, rows = self.version[keep], self.rows[keep]
        t_code = np.asarray(t_code)[keep]

        # tasks: (respondent, task) groups in order of first appearance
        g, g_first = pd.factorize(r * n_t + t_code)
        g = np.asarray(g, dtype=np.int64)
        n_g = len(g_first)
        first_pos = np.full(n_g, len(g), dtype=np.int64)
        np.minimum.at(first_pos, g, np.arange(len(g)))
        g_r, g_t = r[first_pos], task[first_pos]
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
        n_versions = _distinct_per(r, version, n_r)
        mixed = np.flatnonzero(n_versions > 1)
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
        n_values = _distinct_per(g, h[valid].astype(np.int64), self._n_g)
        where = np.flatnonzero(n_values > 1)
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


def _distinct_per(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``value`` in each group (hashing, no sort)."""
    if not len(group):
        return np.zeros(n_groups, dtype=np.int64)
    v_code, v_uniq = pd.factorize(value)
    pairs = pd.unique(group.astype(np.int64) * len(v_uniq) + v_code)
    return np.bincount(pairs // len(v_uniq), minlength=n_groups)


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
) -> None:
    """Rows ``pos`` (typed, structure checked) against what the design shows."""
    n_alts = study.design.alternatives
    if not len(pos):
        return
    rid_codes, uniq = pd.factorize(df["respondent_id"].to_numpy()[pos])
    tasks_of = pd.Series(task[pos]).groupby(rid_codes, sort=False).nunique()
    short = tasks_of[tasks_of < design.n_tasks]
    rep.add_many(
        "incomplete respondent",
        len(short),
        [
            f"respondent {uniq[r]!r} answered {k} tasks; the design has {design.n_tasks} per "
            "version (remove or complete partial interviews before import)"
            for r, k in list(short.items())[:SHOWN]
        ],
        uniq[short.index.to_numpy()],
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
