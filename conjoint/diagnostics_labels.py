"""Level balance and overlap of a labelled design (``[design] labels``), per label.

In a labelled design alternative j of every task is the j-th label, and an alternative-specific
attribute (``applies_to``) is absent (level index -1) on the other labels' alternatives. Balance
is therefore judged per label over the attributes that label shows, and overlap per attribute
over the alternatives that show it (one alternative: no overlap is possible).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from winback.study import Study


def labelled_balance(
    study: Study, est: np.ndarray
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float, list[str]]:
    """Level balance rows (with a ``label`` column), overlap rows, the worst least/most count
    ratio over (label, attribute) and the levels a label never shows.

    Parameters
    ----------
    study : Study
        A labelled study.
    est : ndarray, shape (versions, tasks, alternatives, attributes)
        The estimation tasks' level indices (-1 where an attribute is absent).
    """
    applies = np.asarray(study.applies(), dtype=bool)  # (J, A)
    bal_rows: list[dict[str, Any]] = []
    ov_rows: list[dict[str, Any]] = []
    worst = 1.0
    never: list[str] = []
    for ai, attr in enumerate(study.attributes):
        for j, label in enumerate(study.labels):
            if not applies[j, ai]:
                continue
            counts = np.bincount(est[..., j, ai].ravel(), minlength=attr.n_levels)
            total = max(int(counts.sum()), 1)
            for lv, c in zip(attr.level_labels(), counts, strict=True):
                bal_rows.append(
                    {
                        "label": label,
                        "attribute": attr.name,
                        "level": lv,
                        "count": int(c),
                        "share": float(c / total),
                    }
                )
                if c == 0:
                    never.append(f"{attr.name} = {lv} on {label}")
            worst = min(worst, float(counts.min() / counts.max()) if counts.max() else 0.0)
        shown = np.flatnonzero(applies[:, ai])
        col = est[..., shown, ai].reshape(-1, len(shown))
        repeats = np.array([len(np.unique(r)) < len(shown) for r in col])
        ov_rows.append(
            {
                "attribute": attr.name,
                "overlap_share": float(repeats.mean()) if len(shown) > 1 else 0.0,
                "forced": attr.n_levels < len(shown),
            }
        )
    return bal_rows, ov_rows, worst, never
