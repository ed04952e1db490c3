"""``write``: a dataset as a Sawtooth ``.cho`` file, with its ``.att`` labels and, when
respondents are renumbered, the id map beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from winback._io import atomic_write_text, check_outputs_free, write_csv
from winback.errors import WinbackError, did_you_mean, list_valid

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign
    from surveys.dataset import ChoiceDataset

log = logging.getLogger("winback")


def _number(v: object) -> str:
    x = float(v)  # type: ignore[arg-type]
    return str(int(x)) if x.is_integer() else repr(x)


def _is_number(v: object) -> bool:
    if v is None or v is pd.NA:
        return False
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(x))


def write(
    dataset: ChoiceDataset,
    path: str | Path,
    *,
    design: ChoiceDesign | None = None,
    att: bool = True,
    extra_columns: Sequence[str] | None = None,
    renumber: bool = False,
    force: bool = False,
) -> list[Path]:
    """Write a dataset as a Sawtooth ``.cho`` file (and its ``.att`` labels beside it).

    Parameters
    ----------
    dataset : ChoiceDataset
    path : str or Path
        The ``.cho`` file; the labels go to the same name with ``.att``.
    design : ChoiceDesign, optional
        Not needed (accepted for symmetry with the other formats).
    att : bool
        Also write the ``.att`` label file.
    extra_columns : sequence of str, optional
        Respondents-frame columns written as extra variables (numbers only, no blanks).
        Default: every respondents column other than ``respondent_id`` whose values are all
        numbers; other columns are not written (a warning names them).
    renumber : bool
        Number respondents 1..N (Sawtooth needs whole numbers) and write the ids to
        ``<name>.ids.csv`` (``sawtooth_id,respondent_id``; read it back with ``id_map=``).
        Without it every respondent id must already be a whole number.
    force : bool
        Replace existing files.

    Returns
    -------
    list of Path
        The ``.cho`` file, then the ``.att`` and id map when written.

    Raises
    ------
    WinbackError
        Respondent ids that are not whole numbers (without ``renumber``), a status-quo
        alternative, extra columns that are not numbers.

    Examples
    --------
    >>> write(dataset, "export/study_cbc.cho")  # doctest: +SKIP
    """
    path = Path(path)
    study = dataset.study
    att_path = path.with_suffix(".att")
    ids_path = path.with_suffix(".ids.csv")
    outputs = [path] + ([att_path] if att else []) + ([ids_path] if renumber else [])
    check_outputs_free(outputs, force)
    if study.status_quo is not None:
        raise WinbackError(
            "format='sawtooth': a .cho file has no place for the status-quo alternative; "
            "use winback's format (surveys.write_responses)."
        )
    ch = dataset.choices
    people = dataset.respondents
    with_tasks = set(ch["respondent_id"])
    skipped = [r for r in people["respondent_id"] if r not in with_tasks]
    if skipped:
        log.warning(
            "%s: %d respondent(s) without choice tasks not written (a .cho file lists tasks "
            "only): %s",
            path,
            len(skipped),
            ", ".join(map(str, skipped[:10])),
        )
    ids = [r for r in people["respondent_id"] if r in with_tasks]
    if renumber:
        numbers = {r: str(i) for i, r in enumerate(ids, start=1)}
    else:
        bad = [r for r in ids if not (str(r).isdigit() and str(int(str(r))) == str(r))]
        if bad:
            raise WinbackError(
                f"Sawtooth respondent numbers are whole numbers; ids {list_valid(bad[:5])}"
                + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
                + " are not. Pass renumber=True to number them 1..N (the ids are written to "
                f"{ids_path.name})."
            )
        numbers = {r: str(r) for r in ids}

    candidates = [c for c in people.columns if c != "respondent_id"]
    if extra_columns is None:
        extras = [c for c in candidates if len(people) and people[c].map(_is_number).all()]
        left = [c for c in candidates if c not in extras]
        if left:
            log.warning(
                "%s: respondents column(s) %s are not all numbers and are not written as extra "
                "variables",
                path,
                ", ".join(left),
            )
    else:
        extras = list(extra_columns)
        for c in extras:
            if c not in people.columns:
                raise WinbackError(
                    f"extra_columns: no respondents column {c!r}.{did_you_mean(c, candidates)}"
                    f" Columns: {list_valid(candidates)}."
                )
            if not people[c].map(_is_number).all():
                raise WinbackError(
                    f"extra_columns: {c!r} must hold numbers only (no blanks) to be a Sawtooth "
                    "extra variable."
                )
    flag = 2 if study.dual_response_none else (1 if study.none_option else 0)
    attrs = list(study.attributes)
    extra_rows = people.set_index("respondent_id")
    lines: list[str] = []
    by_resp = dict(list(ch.groupby("respondent_id", sort=False)))
    rounded = False
    for rid in ids:
        g = by_resp[rid]
        tasks = sorted(g["task"].unique())
        lines.append(f"{numbers[rid]} {len(extras)} {len(attrs)} {len(tasks)} {flag}")
        lines.append(" ".join(_number(extra_rows.loc[rid, c]) for c in extras))
        for t in tasks:
            task = g[g["task"] == t]
            designed = task[task["alt"].str.isdigit()].sort_values(
                "alt", key=lambda s: s.astype(int)
            )
            lines.append(f"{len(designed)} 1")
            for _, r in designed.iterrows():
                lines.append(" ".join(str(a.index_of(r[a.name]) + 1) for a in attrs))
            chosen_rows = task[task["chosen"] == 1]
            code = "0"
            buy = "0"
            if len(chosen_rows):
                alt = str(chosen_rows["alt"].iloc[0])
                code = str(len(designed) + 1) if alt == "none" else alt
                if flag == 2:
                    wb = chosen_rows["would_buy"].iloc[0]
                    buy = "0" if pd.isna(wb) else ("1" if int(wb) == 1 else "2")
            seconds = "0"
            if "seconds" in task.columns and task["seconds"].notna().any():
                s = float(task["seconds"].dropna().iloc[0])
                rounded |= not s.is_integer()
                seconds = str(round(s))
            lines.append(f"{code} {seconds}" + (f" {buy} 0" if flag == 2 else ""))
    if rounded:
        log.warning("%s: task durations rounded to whole seconds", path)
    atomic_write_text(path, "\r\n".join(lines) + "\r\n")
    if att:
        att_lines: list[str] = []
        for a in attrs:
            att_lines.append(a.display)
            att_lines.extend(a.level_labels())
            att_lines.append("")
        atomic_write_text(att_path, "\r\n".join(att_lines))
    if renumber:
        write_csv(
            pd.DataFrame({"sawtooth_id": [numbers[r] for r in ids], "respondent_id": ids}),
            ids_path,
        )
    return outputs
