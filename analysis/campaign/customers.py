"""The CRM list of lost customers, checked: :class:`Customers` and :func:`read_customers`.

One row per lost customer. Columns winback reads (others are kept and ignored):

- ``customer_id`` (required, unique, not empty);
- ``respondent_id`` (optional): the survey respondent this customer is; blank for the customers
  who did not answer. Respondents keep their own posterior part-worths;
- ``monthly_margin`` (optional): the customer's own monthly margin when won back (blank: the
  offer's margin);
- ``contact_consent`` and ``do_not_contact`` (optional, 0/1): a customer without consent (a
  blank consent counts as none) or with the do-not-contact flag is never contacted;
- the covariates the fit used (by their respondent column names) and the segment column.

Every problem of the table is reported at once, each with the file, the column, the row (the
line of the CSV file, the header being line 1) and the bad value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveys._csv import read_csv_text
from surveys.validation import ROW_COLUMN
from winback.errors import WinbackError, did_you_mean, list_valid

__all__ = ["Customers", "covariate_values", "read_customers"]

#: an indicator covariate ``column[value]``
INDICATOR = re.compile(r"^(?P<column>.+)\[(?P<level>.*)\]$")

ID = "customer_id"
RESPONDENT = "respondent_id"
MARGIN = "monthly_margin"
CONSENT = "contact_consent"
DO_NOT_CONTACT = "do_not_contact"
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_SHOWN = 5  # rows named per problem


@dataclass(frozen=True)
class Customers:
    """A checked CRM list of lost customers.

    Attributes
    ----------
    frame : DataFrame
        The table as given (a copy), one row per customer, in the file's order.
    source : str
        Where it came from (the file name in messages).
    ids : tuple of str
        ``customer_id`` of every row.
    respondent_ids : tuple of str or None
        The survey respondent of every row (None: not a respondent).
    margin : ndarray (customer,)
        ``monthly_margin`` (NaN where not given: the offer's margin applies).
    contactable : ndarray of bool (customer,)
        False for customers without consent or with the do-not-contact flag.
    why_not : tuple of str
        Why a customer cannot be contacted ("" when they can).
    segment : str or None
        The segment column (control-group strata, summaries).
    rows : ndarray of int
        The line of the file each row is on (header = line 1).
    """

    frame: pd.DataFrame = field(repr=False)
    source: str
    ids: tuple[str, ...] = field(repr=False)
    respondent_ids: tuple[str | None, ...] = field(repr=False)
    margin: np.ndarray = field(repr=False)
    contactable: np.ndarray = field(repr=False)
    why_not: tuple[str, ...] = field(repr=False)
    segment: str | None = None
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int), repr=False)

    @property
    def n_customers(self) -> int:
        return len(self.ids)

    @property
    def n_respondents(self) -> int:
        return sum(r is not None for r in self.respondent_ids)

    def segments(self) -> np.ndarray:
        """The segment of every customer as text (``"all"`` without a segment column)."""
        if self.segment is None:
            return np.full(self.n_customers, "all", dtype=object)
        return self.frame[self.segment].astype(str).str.strip().to_numpy(dtype=object)

    def __repr__(self) -> str:
        n_no = int((~self.contactable).sum())
        return (
            f"Customers from {self.source}: {self.n_customers:,} lost customers, "
            f"{self.n_respondents:,} of them survey respondents, {n_no:,} not to be contacted"
            + (f"; segments by '{self.segment}'" if self.segment else "")
        )


def _problem_rows(what: str, rows: np.ndarray, values: Sequence[object] | None = None) -> str:
    n = len(rows)
    shown = []
    for i in range(min(n, _SHOWN)):
        shown.append(f"row {int(rows[i])}" + (f" ({values[i]!r})" if values is not None else ""))
    more = f" and {n - _SHOWN:,} more" if n > _SHOWN else ""
    return f"{what} in {n:,} row(s): {', '.join(shown)}{more}"


def source_table(
    source: str | Path | pd.DataFrame, name: str | None, *, what: str, table: str
) -> tuple[pd.DataFrame, str, np.ndarray]:
    """A CSV file (read as text, exactly as written) or a table: the frame without the row
    column and with its column names stripped, the name messages use (``name``, else the
    file's, else ``table``) and each row's line in the file (data from line 2 for a table)."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        label = name or table
        rows = (
            frame[ROW_COLUMN].to_numpy(dtype=int)
            if ROW_COLUMN in frame.columns
            else np.arange(len(frame)) + 2
        )
    else:
        path = Path(source)
        if not path.is_file():
            raise WinbackError(f"no {what} at {path}.")
        frame = read_csv_text(path)
        label = name or path.name
        rows = frame[ROW_COLUMN].to_numpy(dtype=int)
    frame = frame.drop(columns=[ROW_COLUMN], errors="ignore").reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, label, rows


def _flag(
    col: pd.Series, name: str, rows: np.ndarray, problems: list[str], missing: bool
) -> np.ndarray:
    """A 0/1 column as bool (blank: ``missing``), bad cells reported."""
    text = col.astype("string").str.strip().str.lower()
    blank = text.isna() | (text == "")
    ok_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    ok_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = ~(ok_true | ok_false | blank.to_numpy(dtype=bool))
    if bad.any():
        problems.append(
            _problem_rows(
                f"'{name}' must be 0 or 1 (or true/false, yes/no)",
                rows[bad],
                col[bad].tolist(),
            )
        )
    return np.where(blank.to_numpy(dtype=bool), missing, ok_true)


def read_customers(
    source: str | Path | pd.DataFrame,
    *,
    segment: str | None = None,
    name: str | None = None,
) -> Customers:
    """Read and check the CRM list of lost customers.

    Parameters
    ----------
    source : str, Path or DataFrame
        A CSV file (read as text, exactly as written) or a table.
    segment : str, optional
        The column that divides customers into segments (the control group is stratified by
        it; summaries are by it), e.g. ``"main_reason"``.
    name : str, optional
        The name messages use (default: the file's name, or ``"customers"`` for a table).

    Returns
    -------
    Customers

    Raises
    ------
    WinbackError
        Every problem at once: no or empty ``customer_id``, repeated ids, a segment column
        missing or blank, margins that are not numbers, flags that are not 0/1, each with the
        rows (file lines) and values.

    Examples
    --------
    >>> from analysis.campaign import read_customers
    >>> customers = read_customers("lost_customers.csv", segment="main_reason")  # doctest: +SKIP
    """
    frame, label, rows = source_table(source, name, what="customer file", table="customers")
    columns = list(frame.columns)
    problems: list[str] = []
    if ID not in frame.columns:
        raise WinbackError(
            f"{label}: no '{ID}' column (one row per lost customer, each with its id).{did_you_mean(ID, columns)} "
            f"Columns: {list_valid(columns)}."
        )
    if len(frame) == 0:
        raise WinbackError(f"{label}: no customers (the table has a header only).")
    ids = frame[ID].astype("string").str.strip()
    empty = (ids.isna() | (ids == "")).to_numpy(dtype=bool)
    if empty.any():
        problems.append(_problem_rows(f"empty '{ID}'", rows[empty]))
    dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ~empty
    if dup.any():
        problems.append(_problem_rows(f"'{ID}' repeated", rows[dup], ids[dup].tolist()))
    resp: list[str | None] = [None] * len(frame)
    if RESPONDENT in frame.columns:
        r = frame[RESPONDENT].astype("string").str.strip()
        resp = [None if (pd.isna(v) or v == "") else str(v) for v in r]
        given = pd.Series([v for v in resp if v is not None])
        twice = given[given.duplicated()].unique().tolist()
        if twice:
            at = np.array([v in set(twice) for v in resp])
            problems.append(
                _problem_rows(
                    f"'{RESPONDENT}' given to more than one customer",
                    rows[at],
                    [v for v in resp if v in set(twice)],
                )
            )
    margin = np.full(len(frame), np.nan)
    if MARGIN in frame.columns:
        raw = frame[MARGIN]
        text = raw.astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
        num = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float)
        bad = ~blank & ~np.isfinite(num)
        if bad.any():
            problems.append(
                _problem_rows(f"'{MARGIN}' is not a number", rows[bad], raw[bad].tolist())
            )
        margin = np.where(blank | bad, np.nan, num)
    consent = (
        _flag(frame[CONSENT], CONSENT, rows, problems, missing=False)
        if CONSENT in frame.columns
        else np.ones(len(frame), dtype=bool)
    )
    dnc = (
        _flag(frame[DO_NOT_CONTACT], DO_NOT_CONTACT, rows, problems, missing=False)
        if DO_NOT_CONTACT in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    if segment is not None:
        if segment not in frame.columns:
            problems.append(
                f"no segment column '{segment}'{did_you_mean(segment, columns)} "
                f"(columns: {list_valid(columns)})"
            )
        else:
            seg = frame[segment].astype("string").str.strip()
            blank = (seg.isna() | (seg == "")).to_numpy(dtype=bool)
            if blank.any():
                problems.append(_problem_rows(f"blank segment '{segment}'", rows[blank]))
    if problems:
        raise WinbackError(f"{label}: " + "; ".join(problems) + ".")
    why = np.where(dnc, "do-not-contact flag", np.where(~consent, "no contact consent", ""))
    return Customers(
        frame=frame,
        source=label,
        ids=tuple(str(v) for v in ids),
        respondent_ids=tuple(resp),
        margin=margin,
        contactable=consent & ~dnc,
        why_not=tuple(str(v) for v in why),
        segment=segment,
        rows=rows,
    )


def covariate_values(
    frame: pd.DataFrame,
    names: Sequence[str],
    levels: Mapping[str, Sequence[str]],
    *,
    rows: np.ndarray | None = None,
    label: str = "customers",
) -> np.ndarray:
    """A fit's covariates (``names``) of every row of ``frame``, as numbers: (row, covariate).

    A covariate ``column`` is the customer table's number in that column; ``column[value]``
    is 1 where the customer's ``column`` is ``value`` (or the table's own 0/1 column of that
    name). Every missing column, blank cell, text in a number column and value the fit's
    respondents never gave is reported at once, with rows.
    """
    n = len(frame)
    rows = np.arange(2, n + 2) if rows is None else rows
    w = np.zeros((n, len(names)))
    problems: list[str] = []
    checked: set[str] = set()
    for j, name in enumerate(names):
        m = INDICATOR.match(name)
        if name in frame.columns or m is None:
            if name not in frame.columns:
                problems.append(
                    f"no column '{name}' (a covariate of the fit){did_you_mean(name, frame.columns)}"
                )
                continue
            text = frame[name].astype("string").str.strip()
            blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
            num = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(num)
            if bad.any():
                problems.append(
                    _problem_rows(
                        f"covariate '{name}' is blank or not a number",
                        rows[bad],
                        frame[name][bad].tolist(),
                    )
                )
            w[:, j] = np.where(bad, 0.0, num)
            continue
        column, level = m["column"], m["level"]
        if column not in frame.columns:
            if column not in checked:
                problems.append(
                    f"no column '{column}' (the fit uses {name}){did_you_mean(column, frame.columns)}"
                )
                checked.add(column)
            continue
        text = frame[column].astype("string").str.strip()
        if column not in checked:
            checked.add(column)
            blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
            if blank.any():
                problems.append(_problem_rows(f"covariate '{column}' is blank", rows[blank]))
            valid = levels.get(column)
            if valid:
                unknown = ~blank & ~text.isin(valid).fillna(False).to_numpy(dtype=bool)
                if unknown.any():
                    problems.append(
                        _problem_rows(
                            f"'{column}' has values the fit's respondents never gave (valid: "
                            f"{list_valid(valid)})",
                            rows[unknown],
                            frame[column][unknown].tolist(),
                        )
                    )
        w[:, j] = (text == level).fillna(False).to_numpy(dtype=float)
    if problems:
        raise WinbackError(f"{label}: " + "; ".join(problems) + ".")
    return w
