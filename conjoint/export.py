"""Design files: winback's ``design.csv`` and exports for fielding in Sawtooth and Qualtrics.

- ``design.csv``: ``version,task,alt,<attribute...>,holdout``; attribute cells hold the level
  label (or the value of numeric levels).
- Sawtooth (Lighthouse Studio "Import/Export CBC design"): ``Version,Task,Concept,Att1..AttN``
  with 1-based level codes; fixed (holdout) tasks are listed once as version 0.
- Qualtrics conjoint design: ``question_set,question,choice`` then one column per feature
  (the attribute's label) holding the level's 1-based recode value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign, design_from_frame
from winback._io import unescape_frame, write_csv
from winback.errors import DesignError
from winback.study import Study


def write_design_csv(design: ChoiceDesign, path: str | Path) -> Path:
    """Write ``design.csv`` atomically. Returns the path.

    Examples
    --------
    >>> write_design_csv(design, "design/design.csv")  # doctest: +SKIP
    """
    path = Path(path)
    write_csv(design.to_frame(), path)
    return path


def _read_csv(path: str | Path) -> pd.DataFrame:
    """A design CSV as text cells (a UTF-8 byte-order mark is fine; semicolons are not)."""
    path = Path(path)
    if not path.exists():
        raise DesignError(f"design file not found: {path}")
    if path.is_dir():
        raise DesignError(f"{path}: is a folder, not a design file.")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DesignError(f"{path}: the file is empty (not even a header row).") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DesignError(f"{path}: not a readable CSV file ({exc}).") from None
    df.columns = [c.strip() for c in df.columns]
    if len(df.columns) == 1 and ";" in df.columns[0]:
        raise DesignError(
            f"{path}: line 1 is {df.columns[0]!r}: the columns are separated by semicolons "
            "(as spreadsheets in some languages save CSV). Design files are comma-separated: "
            "save it as 'CSV (comma delimited)' or replace the semicolons with commas."
        )
    if df.empty:
        raise DesignError(f"{path}: the file has a header but no rows of alternatives.")
    return unescape_frame(df)


def read_design_csv(path: str | Path, study: Study) -> ChoiceDesign:
    """Read a ``design.csv`` written by winback (or by hand) for a study.

    ``path`` is the file or a folder holding ``design.csv`` (the folder ``winback design``
    writes). Errors name the file, row, column and value, and the valid levels.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "design.csv").is_file():
            raise DesignError(
                f"{path} is a folder, not a design file, and holds no design.csv: give the "
                "design file, or the folder `winback design` wrote."
            )
        path = path / "design.csv"
    df = _read_csv(path)
    return design_from_frame(df, study, source=str(path))


def sawtooth_frame(design: ChoiceDesign) -> pd.DataFrame:
    """The design in Sawtooth's CBC import/export layout (an alternative-specific attribute
    not shown on an alternative's label is level 0, as in Sawtooth's alternative-specific
    designs)."""
    study = design.study
    rand = np.flatnonzero(~design.holdout)
    rows = []
    for h_i, t in enumerate(np.flatnonzero(design.holdout), start=1):
        for j in range(design.n_alternatives):
            rows.append([0, h_i, j + 1, *(design.levels[0, t, j] + 1)])
    for v in range(design.n_versions):
        for t_i, t in enumerate(rand, start=1):
            for j in range(design.n_alternatives):
                rows.append([v + 1, t_i, j + 1, *(design.levels[v, t, j] + 1)])
    cols = ["Version", "Task", "Concept"] + [f"Att{a + 1}" for a in range(len(study.attributes))]
    return pd.DataFrame(rows, columns=cols).astype(int)


def write_sawtooth_design(design: ChoiceDesign, path: str | Path) -> Path:
    """Write the design for Sawtooth Lighthouse Studio's CBC design import."""
    path = Path(path)
    write_csv(sawtooth_frame(design), path)
    return path


def read_sawtooth_design(path: str | Path, study: Study) -> ChoiceDesign:
    """Read a Sawtooth CBC design CSV; version-0 tasks become holdouts after the random tasks."""
    df = _read_csv(path)
    n_attr = len(study.attributes)
    cols = ["Version", "Task", "Concept"] + [f"Att{a + 1}" for a in range(n_attr)]
    renamed = {c: c.replace(" ", "") for c in df.columns}
    df = df.rename(columns=renamed)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DesignError(
            f"{path}: missing Sawtooth column(s) {', '.join(missing)}; expected {', '.join(cols)}."
        )
    extra_att = [c for c in df.columns if c.startswith("Att") and c not in cols]
    if extra_att:
        raise DesignError(
            f"{path}: column(s) {', '.join(extra_att)}, but study '{study.name}' has {n_attr} "
            f"attributes (Att1..Att{n_attr}: {', '.join(study.attribute_names)}); is the design "
            "for another study?"
        )
    nums = {}
    for c in cols:
        num_c = pd.to_numeric(df[c].str.strip(), errors="coerce")
        bad = np.flatnonzero(num_c.isna() | (num_c != num_c.round()))
        if len(bad):
            i = int(bad[0])
            more = f" ({len(bad)} such cells in {c})" if len(bad) > 1 else ""
            raise DesignError(
                f"{path}: row {i + 2}, column {c}: {df[c].iloc[i]!r} is not a whole number; "
                f"Sawtooth design cells are whole numbers{more}."
            )
        nums[c] = num_c.astype(int)
    num = pd.DataFrame(nums)
    neg = np.flatnonzero(num["Version"] < 0)
    if len(neg):
        i = int(neg[0])
        raise DesignError(
            f"{path}: row {i + 2}, column Version: {num['Version'].iloc[i]}; valid: 0 (fixed "
            "tasks) or a version number 1, 2, ..."
        )
    for a, attr in enumerate(study.attributes):
        col = num[f"Att{a + 1}"]
        # 0: an alternative-specific attribute not shown (checked against the labels later)
        low = 0 if attr.applies_to else 1
        bad = np.flatnonzero((col < low) | (col > attr.n_levels))
        if len(bad):
            i = int(bad[0])
            raise DesignError(
                f"{path}: row {i + 2}, column Att{a + 1} ({attr.name}): level code {col.iloc[i]} "
                f"outside {low}..{attr.n_levels}."
            )
    fixed = num[num["Version"] == 0]
    rand = num[num["Version"] > 0]
    if rand.empty:
        raise DesignError(
            f"{path}: only fixed tasks (Version 0); a design needs random tasks in versions "
            "1, 2, ..."
        )
    n_rand = int(rand["Task"].max())
    frames = []
    versions = sorted(rand["Version"].unique())
    for v in versions:
        part = rand[rand["Version"] == v].copy()
        part["holdout"] = 0
        fx = fixed.copy()
        fx["Version"] = v
        fx["Task"] = fx["Task"] + n_rand
        fx["holdout"] = 1
        frames.append(pd.concat([part, fx]))
    long = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame({"version": long["Version"], "task": long["Task"], "alt": long["Concept"]})
    for a, attr in enumerate(study.attributes):
        out[attr.name] = [attr.levels[c - 1] if c else None for c in long[f"Att{a + 1}"]]
    out["holdout"] = long["holdout"].to_numpy()
    return design_from_frame(out, study, source=str(path), method="sawtooth")


def qualtrics_frame(design: ChoiceDesign) -> pd.DataFrame:
    """The design in Qualtrics' conjoint design import layout (holdouts excluded; an
    alternative-specific attribute not shown on an alternative's label is 0)."""
    study = design.study
    rand = np.flatnonzero(~design.holdout)
    rows = []
    for v in range(design.n_versions):
        for q, t in enumerate(rand, start=1):
            for j in range(design.n_alternatives):
                rows.append([v + 1, q, j + 1, *(design.levels[v, t, j] + 1)])
    cols = ["question_set", "question", "choice"] + [a.display for a in study.attributes]
    return pd.DataFrame(rows, columns=cols).astype(int)


def write_qualtrics_design(design: ChoiceDesign, path: str | Path) -> Path:
    """Write the design for Qualtrics' conjoint design import (fixed holdouts are separate
    questions there, so they are not in this file)."""
    path = Path(path)
    write_csv(qualtrics_frame(design), path)
    return path


def read_qualtrics_design(path: str | Path, study: Study) -> ChoiceDesign:
    """Read a Qualtrics conjoint design CSV (feature columns by label or attribute name)."""
    df = _read_csv(path)
    base = ["question_set", "question", "choice"]
    missing = [c for c in base if c not in df.columns]
    if missing:
        raise DesignError(f"{path}: missing Qualtrics column(s) {', '.join(missing)}.")
    out = pd.DataFrame({"version": df["question_set"], "task": df["question"], "alt": df["choice"]})
    for attr in study.attributes:
        col = attr.display if attr.display in df.columns else attr.name
        if col not in df.columns:
            names = (
                attr.display if attr.display == attr.name else f"{attr.display}' or '{attr.name}"
            )
            raise DesignError(
                f"{path}: no column for feature '{names}'. Columns: "
                f"{', '.join(df.columns)}; expected question_set, question, choice and one per "
                f"feature: {', '.join(a.display for a in study.attributes)}."
            )
        codes = pd.to_numeric(df[col], errors="coerce")
        low = 0 if attr.applies_to else 1  # 0: not shown on this alternative's label
        bad = np.flatnonzero(codes.isna() | (codes < low) | (codes > attr.n_levels))
        if len(bad):
            i = int(bad[0])
            raise DesignError(
                f"{path}: row {i + 2}, column '{col}': {df[col].iloc[i]!r} is not a recode value "
                f"{low}..{attr.n_levels}."
            )
        out[attr.name] = [attr.levels[int(c) - 1] if c else None for c in codes]
    out["holdout"] = 0
    return design_from_frame(out, study, source=str(path), method="qualtrics")
