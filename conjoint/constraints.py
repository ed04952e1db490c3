"""Prohibitions (within a profile) and constraints across the alternatives of a task.

Profiles are arrays of level indices, one per attribute. Every design method asks the same
:class:`Rules` object whether a profile or a task is allowed, so prohibitions and task constraints
hold for all of them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from winback.study import Study

FULL_FACTORIAL_LIMIT = 50_000


@dataclass(frozen=True)
class Rules:
    n_levels: tuple[int, ...]
    prohibited_masks: tuple[tuple[tuple[int, np.ndarray], ...], ...]
    unique_attrs: tuple[int, ...]
    no_dominated: bool
    # rank[a][level] for attributes with a known preference order; None where unordered
    ranks: tuple[np.ndarray | None, ...]

    @classmethod
    def from_study(cls, study: Study) -> Rules:
        names = study.attribute_names
        masks = []
        for pr in study.prohibitions:
            entry = []
            for an, idx in pr.levels:
                a = names.index(an)
                m = np.zeros(study.attributes[a].n_levels, dtype=bool)
                m[list(idx)] = True
                entry.append((a, m))
            masks.append(tuple(entry))
        ranks: list[np.ndarray | None] = []
        for attr in study.attributes:
            # numeric levels are ordered by value, text levels by the order listed
            base = (
                np.argsort(np.argsort(np.asarray(attr.levels, dtype=float)))
                if attr.numeric
                else np.arange(attr.n_levels)
            )
            if attr.preference == "increasing":
                ranks.append(base)
            elif attr.preference == "decreasing":
                ranks.append(base.max() - base)
            else:
                ranks.append(None)
        return cls(
            n_levels=tuple(a.n_levels for a in study.attributes),
            prohibited_masks=tuple(masks),
            unique_attrs=tuple(names.index(n) for n in study.design.unique_levels),
            no_dominated=study.design.no_dominated,
            ranks=tuple(ranks),
        )

    # -- profiles ------------------------------------------------------------------------------
    def allowed(self, profiles: np.ndarray) -> np.ndarray:
        """Boolean mask: which profiles (..., n_attributes) break no prohibition."""
        profiles = np.asarray(profiles)
        ok = np.ones(profiles.shape[:-1], dtype=bool)
        for entry in self.prohibited_masks:
            hit = np.ones(profiles.shape[:-1], dtype=bool)
            for a, m in entry:
                idx = profiles[..., a]
                hit &= m[idx] & (idx >= 0)  # an absent attribute (-1) matches no prohibition
            ok &= ~hit
        return ok

    def candidates(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Allowed profiles: the full factorial when small enough, else a large random sample."""
        total = math.prod(self.n_levels)
        if total <= FULL_FACTORIAL_LIMIT:
            grid = np.array(
                list(itertools.product(*(range(n) for n in self.n_levels))), dtype=np.int16
            )
        else:
            rng = rng or np.random.default_rng(0)
            grid = np.column_stack(
                [rng.integers(0, n, size=FULL_FACTORIAL_LIMIT) for n in self.n_levels]
            ).astype(np.int16)
            grid = np.unique(grid, axis=0)
        return grid[self.allowed(grid)]

    # -- tasks ---------------------------------------------------------------------------------
    def dominates(self, x: np.ndarray, y: np.ndarray) -> bool:
        """True when profile x is at least as good as y on every attribute and better on one.

        Attributes without a preference order must be equal for dominance to be decided.
        """
        strictly = False
        for a, r in enumerate(self.ranks):
            if r is None:
                if x[a] != y[a]:
                    return False
            else:
                if r[x[a]] < r[y[a]]:
                    return False
                if r[x[a]] > r[y[a]]:
                    strictly = True
        return strictly

    def task_ok(self, task: np.ndarray, changed: int | None = None) -> bool:
        """Check a task (n_alternatives, n_attributes); ``changed`` limits checks to one row."""
        rows = range(task.shape[0]) if changed is None else (changed,)
        for j in rows:
            for k in range(task.shape[0]):
                if k == j:
                    continue
                if np.array_equal(task[j], task[k]):
                    return False
                if self.no_dominated and (
                    self.dominates(task[j], task[k]) or self.dominates(task[k], task[j])
                ):
                    return False
        for a in self.unique_attrs:
            col = task[:, a]
            if len(np.unique(col)) != len(col):
                return False
        return True

    def n_dominated(self, task: np.ndarray) -> int:
        """Number of alternatives in a task dominated by another alternative."""
        n = 0
        for j in range(task.shape[0]):
            if any(self.dominates(task[k], task[j]) for k in range(task.shape[0]) if k != j):
                n += 1
        return n

    @property
    def has_order(self) -> bool:
        return any(r is not None for r in self.ranks)
