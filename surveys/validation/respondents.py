"""The respondents table checked against the choices: ids kept exactly as written, blanks as
unanswered, answers that are all plain numbers typed as numbers (open-text questions kept as
text), duplicated respondents, and respondents of the choices missing from the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveys.validation.cells import (
    ROW_COLUMN,
    _Codes,
    _loose,
    _missing,
    _norm,
    _number,
    _plain_number,
)
from surveys.validation.report import SHOWN, ProblemReport
from winback.study import Study


def _text_questions(study: Study) -> set[str]:
    """The respondents-file columns of the study's open (text) questions."""
    questionnaire = getattr(study, "questionnaire", None)
    if questionnaire is None:
        return set()
    return {q.id for q in questionnaire if q.type == "text"}


def _check_respondents(
    df: pd.DataFrame,
    live: np.ndarray,
    respondents: pd.DataFrame | None,
    study: Study,
    source: str,
    rep: ProblemReport,
    ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """The respondents table checked and typed; ``ids``: the choices' respondents (live rows,
    in order of appearance), when known already."""
    if ids is None:
        ids = pd.unique(df.loc[live, "respondent_id"].dropna())
    if respondents is None:
        return pd.DataFrame({"respondent_id": pd.array(ids, dtype="string")})
    people = respondents.copy()
    if ROW_COLUMN not in people.columns:
        people[ROW_COLUMN] = np.arange(len(people)) + 2
    if "respondent_id" not in people.columns:
        near = [c for c in people.columns if _norm(c) == "respondent_id"]
        hint = f" (found {near[0]!r}: fix the header)" if near else ""
        rep.add("header", f"{source}: missing column 'respondent_id'{hint}.")
        return people
    people = people.reset_index(drop=True)
    # ids kept exactly as written: ' 17' and '17' are two respondents
    pid = people["respondent_id"]
    if isinstance(pid.dtype, pd.StringDtype):  # text already (as read from a file)
        people["respondent_id"] = pid.astype("string")
    else:
        people["respondent_id"] = pd.array(
            [None if _missing(v) else str(v) for v in pid], dtype="string"
        )
    blank_pid = people["respondent_id"].isna() | (people["respondent_id"] == "")
    rep.add_rows(
        "missing respondent_id",
        people[blank_pid],
        lambda r: f"{source} row {r[ROW_COLUMN]}: empty respondent_id",
    )
    # an empty cell is an unanswered question: missing, not the empty text (other text, white
    # space included, is kept exactly as typed)
    for c in people.columns:
        if c in (ROW_COLUMN, "respondent_id"):
            continue
        if people[c].dtype == object or pd.api.types.is_string_dtype(people[c]):
            blank = people[c].isna() | (people[c].astype("string") == "")
            if blank.any():
                people[c] = people[c].astype(object).where(~blank, None)
    # answers that are all plain numbers become numbers (whatever the source: CSV text or a
    # frame); a column with any other text stays text, exactly as typed, and so does every
    # open (text) question: an answer "0" typed into a text box is the text "0"
    text = _text_questions(study)
    for c in people.columns:
        if (
            c in (ROW_COLUMN, "respondent_id")
            or c in text
            or str(c).endswith("_text")
            or pd.api.types.is_numeric_dtype(people[c])
        ):
            continue
        vals = people[c].dropna()
        if len(vals) == 0:
            continue
        codes = _Codes(vals)
        if not codes.map(_plain_number, bool).all():
            continue
        num = pd.Series(codes.map(_number, float), index=vals.index)
        if num.isna().any():  # inf, nan written as numbers: kept as text
            continue
        full = pd.Series(np.nan, index=people.index)
        full[vals.index] = num
        whole = bool((num == num.round()).all())
        people[c] = full.astype("Int64") if whole else full.astype("Float64")
    dup = people.duplicated("respondent_id", keep=False) & ~blank_pid
    rep.add_rows(
        "duplicated respondent",
        people[dup],
        lambda r: (
            f"{source} row {r[ROW_COLUMN]}: respondent {r['respondent_id']!r} is listed more than once"
        ),
    )
    known = pd.Index(people["respondent_id"].dropna().astype(object))
    unknown = pd.Index(ids).difference(known, sort=False)
    if len(unknown):
        by_stripped: dict[str, list[str]] = {}
        for k in known:
            by_stripped.setdefault(_loose(k), []).append(k)
        first_rows = (
            df.loc[live & df["respondent_id"].isin(unknown[:SHOWN]).to_numpy()]
            .groupby("respondent_id", sort=False)[ROW_COLUMN]
            .min()
        )
        msgs = []
        for r in unknown[:SHOWN]:
            near = [k for k in by_stripped.get(_loose(r), []) if k != r]
            why = ""
            if near:
                why = (
                    f"; {source} has {near[0]!r}, which differs only in white space or "
                    "apostrophes (ids are compared exactly: fix one of the files)"
                )
            msgs.append(f"row {int(first_rows[r])}: respondent {r!r} is not in {source}{why}")
        rep.add_many("unknown respondent", len(unknown), msgs, list(unknown))
    return people.drop(columns=[ROW_COLUMN]).reset_index(drop=True)
