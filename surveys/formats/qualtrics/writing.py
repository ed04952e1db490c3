"""``write``: a dataset as a Qualtrics response export (CSV, one, two or three header rows, codes
or choice texts), for round trips and test files.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from surveys.dataset import NO_TASKS_REASON
from surveys.formats.qualtrics.columns import (
    DURATION_COLUMN,
    METADATA,
    UNFINISHED_REASON,
    _alt_codes,
    _recodes,
)
from winback._io import atomic_write_text, check_outputs_free, escape_cell
from winback.errors import WinbackError
from winback.study import format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign
    from surveys.dataset import ChoiceDataset
    from surveys.questionnaire import Questionnaire

log = logging.getLogger("winback")


_QUESTION_TEXTS = {
    "was_customer": "Were you a customer of ours?",
    "status": "Which best describes you now?",
    "previous_plan": "Which plan did you have?",
    "price_paid": "How much did you pay per month?",
    "tenure_months": "How many months were you a customer?",
    "current_spend": "How much do you pay per month now?",
    "current_provider": "Who is your provider now?",
    "main_reason": "What was the main reason you left?",
    "what_happened": "What happened? Please tell us in your own words.",
    "would_return": "How likely are you to come back?",
    "bring_back": "What would bring you back?",
    "satisfaction_before": "How satisfied were you before you left?",
    "contact_consent": "May we contact you about your answers?",
}


def _cell(v: object) -> str:
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return format_level(v) if v.is_integer() else repr(v)
    return str(v)


def write(
    dataset: ChoiceDataset,
    path: str | Path,
    *,
    design: ChoiceDesign | None = None,
    header_rows: int = 3,
    bom: bool = True,
    answers: str = "codes",
    questionnaire: Questionnaire | None = None,
    force: bool = False,
) -> list[Path]:
    """Write a dataset as a Qualtrics response export (CSV), for round trips and test files.

    The layout is the current export: row 1 column names, row 2 question texts (the choice
    questions' text spans two lines, as real exports often do), row 3 ``{"ImportId": ...}``
    JSON; UTF-8 with a byte-order mark; CRLF line ends. Columns: the Qualtrics metadata
    (personal data left blank), the respondents' answers (respondents-frame columns),
    ``CBC_T{t}`` (and ``CBC_T{t}_DR``), then the embedded data ``CBC_VERSION``,
    ``CBC_T{t}_A{j}_{attribute}`` (and ``CBC_SQ_{attribute}``). Respondents without choice
    rows are written with blank choice columns, and ``Finished`` = 0 when they were excluded for
    not finishing. Other exclusions are not part of the format (a warning is logged).

    Parameters
    ----------
    dataset : ChoiceDataset
    path : str or Path
    design : ChoiceDesign, optional
        Not needed (accepted for symmetry with the other formats).
    header_rows : {3, 2, 1}
        3 = current export, 2 = the older names + texts form, 1 = names only.
    bom : bool
        Start the file with a UTF-8 byte-order mark, as Qualtrics does.
    answers : {"codes", "text"}
        Numeric values (default) or the recorded choice text ("Option 2", "None of these",
        "Yes, I would take it", Finished "True"/"False").
    questionnaire : Questionnaire, optional
        Translate winback's codes into Qualtrics choice numbers (the inverse of reading).
    force : bool
        Replace an existing file.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> write(dataset, "export.csv")  # doctest: +SKIP
    """
    if header_rows not in (1, 2, 3):
        raise WinbackError(f"header_rows must be 1, 2 or 3, got {header_rows!r}.")
    if answers not in ("codes", "text"):
        raise WinbackError(f"answers must be 'codes' or 'text', got {answers!r}.")
    path = Path(path)
    check_outputs_free([path], force)
    study = dataset.study
    text_mode = answers == "text"
    ch = dataset.choices
    people = dataset.respondents
    n_alts = study.design.alternatives
    n_tasks = int(ch["task"].max()) if len(ch) else 0
    codes = {alt: k for k, alt in _alt_codes(study).items()}
    sq = study.status_quo
    other = dataset.exclusions
    dropped = other[~other["reason"].isin([NO_TASKS_REASON, UNFINISHED_REASON])]
    if len(dropped):
        log.warning(
            "%s: %d exclusion(s) are not part of the Qualtrics format and are not written",
            path,
            len(dropped),
        )

    single, multi = _recodes(questionnaire)
    multi_back: dict[str, list[tuple[str, str, str]]] = {}  # contract column -> file columns
    for fcol, (q_id, ccol, lab) in multi.items():
        multi_back.setdefault(ccol, []).append((fcol, q_id, lab))

    # -- columns: (name, row-2 text, row-3 ImportId) ------------------------------------------
    tz = ',"timeZone":"UTC"'
    cols: list[tuple[str, str, str]] = []
    for name, label, iid in METADATA:
        zone = tz if name in ("StartDate", "EndDate", "RecordedDate") else ""
        cols.append((name, label, f'{{"ImportId":"{iid}"{zone}}}'))
    answer_cols = [c for c in people.columns if c not in ("respondent_id", "duration_seconds")]
    qid = 0
    for c in answer_cols:
        qid += 1
        if c in multi_back:
            for fcol, q_id, lab in multi_back[c]:
                k = fcol.rsplit("_", 1)[1]
                text = f"{_QUESTION_TEXTS.get(q_id, q_id)} - {lab}"
                cols.append((fcol, text, f'{{"ImportId":"QID{qid}_{k}"}}'))
        else:
            cols.append((c, _QUESTION_TEXTS.get(c, c), f'{{"ImportId":"QID{qid}"}}'))
    for t in range(1, n_tasks + 1):
        cols.append(
            (
                f"CBC_T{t}",
                f"Screen {t} of {n_tasks}: which of these offers would you choose?\n"
                "(the offers are shown in a table)",
                f'{{"ImportId":"QID{100 + t}"}}',
            )
        )
        if study.dual_response_none:
            cols.append(
                (
                    f"CBC_T{t}_DR",
                    "Would you really take the offer you chose?",
                    f'{{"ImportId":"QID{300 + t}"}}',
                )
            )
    embedded = ["CBC_VERSION"]
    for t in range(1, n_tasks + 1):
        for j in range(1, n_alts + 1):
            embedded += [f"CBC_T{t}_A{j}_{a}" for a in study.attribute_names]
    if sq is not None:
        embedded += [f"CBC_SQ_{a}" for a in study.attribute_names]
    cols += [(e, e, f'{{"ImportId":"{e}"}}') for e in embedded]
    names = [c[0] for c in cols]
    index = {n: i for i, n in enumerate(names)}

    # -- rows ---------------------------------------------------------------------------------
    by_resp = {r: g for r, g in ch.groupby("respondent_id", sort=False)}
    ex = dataset.exclusions
    unfinished_ids = set(ex.loc[ex["reason"] == UNFINISHED_REASON, "respondent_id"].astype(str))
    out_rows: list[list[str]] = []
    for _, person in people.iterrows():
        rid = str(person["respondent_id"])
        cells = [""] * len(names)
        g = by_resp.get(rid)
        has_tasks = g is not None and len(g) > 0
        cells[index["Status"]] = "IP Address" if text_mode else "0"
        cells[index["Progress"]] = "100" if has_tasks else ""
        finished = has_tasks or rid not in unfinished_ids
        fin = ("True" if finished else "False") if text_mode else ("1" if finished else "0")
        cells[index["Finished"]] = fin
        cells[index["ResponseId"]] = rid
        cells[index["DistributionChannel"]] = "anonymous"
        cells[index["UserLanguage"]] = "EN"
        if "duration_seconds" in people.columns:
            cells[index[DURATION_COLUMN]] = _cell(person["duration_seconds"])
        for c in answer_cols:
            v = _cell(person[c])
            if c in multi_back:
                for fcol, _, lab in multi_back[c]:
                    cells[index[fcol]] = (lab if text_mode else "1") if v == "1" else ""
                continue
            if c in single and v:
                rc = single[c]
                v = (rc.out_text if text_mode else rc.out_numeric).get(v, v)
            cells[index[c]] = v
        if has_tasks:
            assert g is not None
            cells[index["CBC_VERSION"]] = _cell(g["version"].iloc[0])
            for t, task in g.groupby("task", sort=True):
                chosen = task.loc[task["chosen"] == 1, "alt"]
                if len(chosen):
                    alt = str(chosen.iloc[0])
                    if text_mode:
                        ans = {"none": "None of these", "status_quo": sq.label if sq else ""}.get(
                            alt,
                            study.label_display(study.labels[int(alt) - 1])
                            if study.labels
                            else f"Option {alt}",
                        )
                    else:
                        ans = str(codes[alt])
                    cells[index[f"CBC_T{t}"]] = ans
                    if study.dual_response_none:
                        wb = task.loc[task["chosen"] == 1, "would_buy"].iloc[0]
                        if not pd.isna(wb):
                            yes = int(wb) == 1
                            if text_mode:
                                cells[index[f"CBC_T{t}_DR"]] = (
                                    "Yes, I would take it" if yes else "No, I would not"
                                )
                            else:
                                cells[index[f"CBC_T{t}_DR"]] = "1" if yes else "2"
                for _, r in task.iterrows():
                    alt = str(r["alt"])
                    for a in study.attributes:
                        v = r[a.name]
                        label = "" if pd.isna(v) else format_level(v)
                        if alt.isdigit():
                            cells[index[f"CBC_T{t}_A{alt}_{a.name}"]] = label
                        elif alt == "status_quo" and label:
                            cells[index[f"CBC_SQ_{a.name}"]] = label
        out_rows.append(cells)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([escape_cell(n) for n in names])
    if header_rows >= 2:
        w.writerow([escape_cell(c[1]) for c in cols])
    if header_rows >= 3:
        w.writerow([c[2] for c in cols])
    for cells in out_rows:
        w.writerow([escape_cell(c) for c in cells])
    atomic_write_text(path, ("\ufeff" if bom else "") + buf.getvalue())
    return [path]
