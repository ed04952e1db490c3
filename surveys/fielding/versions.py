"""A pre-randomised versions table any survey platform can take: one row per design version and
task, the level labels of every alternative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign
from winback._io import write_csv


def versions_frame(design: ChoiceDesign) -> pd.DataFrame:
    """The design as one row per version and task (see :func:`write_versions_csv`)."""
    study = design.study
    v, t = design.n_versions, design.n_tasks
    vv, tt = np.meshgrid(np.arange(1, v + 1), np.arange(1, t + 1), indexing="ij")
    data: dict[str, object] = {
        "version": vv.ravel(),
        "task": tt.ravel(),
        "holdout": np.tile(design.holdout.astype(int), v),
    }
    for j in range(design.n_alternatives):
        for a, attr in enumerate(study.attributes):
            # a trailing "" is what index -1 (absent on this label) picks: an empty cell
            labels = np.asarray([*attr.level_labels(), ""], dtype=object)
            data[f"alt{j + 1}_{attr.name}"] = labels[design.levels[:, :, j, a].ravel()]
    return pd.DataFrame(data)


def write_versions_csv(design: ChoiceDesign, path: str | Path) -> Path:
    """Write a generic pre-randomised versions CSV any survey platform can take. Returns the path.

    One row per version and task, in version then task order::

        version, task, holdout, alt1_<attribute>..., alt2_<attribute>..., ..., altJ_<attribute>...

    - ``version``: 1..V; deal versions to respondents in turn (respondent i gets version
      ``i mod V + 1``) and record the version with the answers.
    - ``task``: 1..T, the design's task number (holdout tasks are the last ones, the same in
      every version); show tasks in this order or record the order shown.
    - ``holdout``: 1 for fixed holdout tasks (left out of estimation), else 0.
    - ``alt{j}_{attribute}``: the level label of ``attribute`` in alternative ``j`` (numbers
      without a trailing ``.0``: ``30``, ``42.5``); alternatives are in the order to show them.
      A none option or status quo is the same in every task and is not listed; a status quo
      filled per respondent follows their answers (:func:`qualtrics_status_quo_rules` gives
      the rules for any platform).

    Text cells that a spreadsheet would run as formulas are prefixed with an apostrophe
    (``winback._io.write_csv``).

    Parameters
    ----------
    design : ChoiceDesign
    path : str or Path

    Returns
    -------
    Path

    Examples
    --------
    >>> write_versions_csv(design, "fielding/versions.csv")  # doctest: +SKIP
    >>> pd.read_csv("fielding/versions.csv").columns[:4].tolist()  # doctest: +SKIP
    ['version', 'task', 'holdout', 'alt1_plan']
    """
    path = Path(path)
    write_csv(versions_frame(design), path)
    return path
