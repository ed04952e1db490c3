"""A study's MaxDiff design and its file: :func:`make_study_maxdiff_design` (from the study's
``[maxdiff]`` table), :func:`write_maxdiff_design` and :func:`read_maxdiff_design`
(``maxdiff_design.csv``: ``version, set, position, item``, what ``winback design`` writes and
``winback import`` checks the answers against).
"""

from __future__ import annotations

from pathlib import Path

from conjoint.export import _read_csv
from conjoint.maxdiff import MaxDiffDesign, make_maxdiff_design, maxdiff_design_from_frame
from winback._io import write_csv
from winback.errors import DesignError, WinbackError, list_valid
from winback.study import Study

#: the design file ``winback design`` writes beside ``design.csv``
MAXDIFF_DESIGN_FILE = "maxdiff_design.csv"


def make_study_maxdiff_design(study: Study) -> MaxDiffDesign:
    """The MaxDiff design of a study's ``[maxdiff]`` table (its items, sizes, versions, seed).

    Same study, same design: ``winback design`` writes it, and simulated fieldwork makes the
    same one when it is not given.

    Raises
    ------
    WinbackError
        The study has no ``[maxdiff]`` table.

    Examples
    --------
    >>> design = make_study_maxdiff_design(study)  # doctest: +SKIP
    """
    md = study.maxdiff
    if md is None:
        raise WinbackError(
            f"study '{study.name}' has no [maxdiff] table, so no MaxDiff design; add one "
            "(docs/study-file.md#maxdiff)."
        )
    return make_maxdiff_design(
        md.items,
        per_set=md.per_set,
        n_sets=md.sets,
        versions=md.versions,
        random_seed=md.seed,
    )


def write_maxdiff_design(design: MaxDiffDesign, path: str | Path) -> Path:
    """Write ``maxdiff_design.csv`` (``design.frame()``) atomically. Returns the path."""
    path = Path(path)
    write_csv(design.frame(), path)
    return path


def read_maxdiff_design(path: str | Path, study: Study) -> MaxDiffDesign:
    """Read a study's ``maxdiff_design.csv`` and check it against the study's ``[maxdiff]``.

    Parameters
    ----------
    path : str or Path
        The file, or a folder holding ``maxdiff_design.csv`` (the folder ``winback design``
        wrote).
    study : Study
        With a ``[maxdiff]`` table: the design's items must be its items (each shown), and
        its items per set and sets per respondent the table's. The versions are the file's.

    Returns
    -------
    MaxDiffDesign
        Items in the study's order (the first is the reference of the estimation).

    Raises
    ------
    DesignError
        Naming the file and what differs: missing file, unknown items, holes, an item twice
        in a set, other sizes than the study's.
    """
    md = study.maxdiff
    if md is None:
        raise WinbackError(
            f"study '{study.name}' has no [maxdiff] table: there is no MaxDiff design to read."
        )
    path = Path(path)
    if path.is_dir():
        if not (path / MAXDIFF_DESIGN_FILE).is_file():
            raise DesignError(
                f"{path} holds no {MAXDIFF_DESIGN_FILE}; run `winback design` on a study with a "
                "[maxdiff] table, or give the MaxDiff design file."
            )
        path = path / MAXDIFF_DESIGN_FILE
    frame = _read_csv(path)
    try:
        design = maxdiff_design_from_frame(frame, md.items, random_seed=md.seed)
    except DesignError as exc:
        raise DesignError(f"{path}: {exc}") from None
    problems = []
    unseen = [x for i, x in enumerate(md.items) if not (design.sets == i).any()]
    if unseen:
        problems.append(f"item(s) {list_valid(unseen)} of [maxdiff] are never shown")
    if (design.per_set, design.n_sets) != (md.per_set, md.sets):
        problems.append(
            f"{design.n_sets} sets of {design.per_set} items, but the study's [maxdiff] asks "
            f"for {md.sets} sets of {md.per_set}"
        )
    if problems:
        raise DesignError(
            f"{path}: the MaxDiff design does not fit the study: " + "; ".join(problems) + "."
        )
    return design
