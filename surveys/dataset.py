"""The ``ChoiceDataset``: validated, immutable answers; the only input ``analysis`` accepts."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from surveys._text import member, text_array
from winback.errors import WinbackError, list_valid
from winback.study import Study

#: canonical columns of the long choice table, in order (attributes go between alt and chosen)
ID_COLUMNS = ("respondent_id", "version", "task", "alt")
#: optional columns of the long choice table
OPTIONAL_COLUMNS = ("would_buy", "holdout", "task_position", "alt_position", "seconds")
EXCLUSION_COLUMNS = ("respondent_id", "reason", "source")
#: the exclusion reason of respondents listed without any choice task
NO_TASKS_REASON = "no choice tasks (screened out or did not reach the conjoint)"
#: a respondents-frame column through which a reader gives its own exclusion reason
EXCLUDE_REASON = "_exclude_reason"


@dataclass(frozen=True)
class ChoiceCodes:
    """The choice table's text columns as integer codes, row by row, as validation found them.

    The quality flags (and whoever else walks millions of rows) read these instead of hashing
    the same texts again. ``respondent``: codes into ``respondent_ids`` (numbered in order of
    appearance); ``alt``: codes into ``alt_labels``; ``levels``: each attribute's level index
    (-1 where the row shows none).
    """

    respondent: np.ndarray
    respondent_ids: tuple[str, ...]
    alt: np.ndarray
    alt_labels: tuple[str, ...]
    levels: Mapping[str, np.ndarray]
    #: the table's columns held as categories of these codes until someone reads them as text
    text_columns: tuple[str, ...] = ()
    #: the table these codes describe (the very object): a dataset whose table is another one
    #: (``dataclasses.replace(data, _choices=...)``) does not use them
    table: pd.DataFrame | None = field(default=None, repr=False, compare=False)


def text_table(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``df`` with the categorical ``columns`` as text (pandas ``"string"``, Arrow large
    strings), each column's bytes copied from its categories by a kernel."""
    out = df.copy(deep=False)
    for c in columns:
        cat = df[c].cat
        out[c] = text_array(np.asarray(cat.categories, dtype=object), np.asarray(cat.codes))
    return out


def _frozen(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.flags.allows_duplicate_labels = True
    return out


@dataclass(frozen=True, repr=False)
class ChoiceDataset:
    """Validated choice answers, respondent answers and the record of exclusions.

    Build it with :func:`surveys.read_responses` or :func:`surveys.make_dataset`; never edit its
    frames in place: the properties return copies, and :meth:`exclude` returns a new dataset.

    Attributes
    ----------
    study : Study
    choices : DataFrame
        Canonical long table: ``respondent_id, version, task, alt``, one column per attribute
        (level label, or value for numeric levels; empty on the none row), ``chosen`` (0/1),
        ``holdout`` (0/1) and, where present, ``would_buy``, ``task_position``,
        ``alt_position``, ``seconds``.
    respondents : DataFrame
        One row per respondent (``respondent_id`` first), with the questionnaire answers.
    exclusions : DataFrame
        ``respondent_id, reason, source`` for every respondent excluded from analysis.
    flags : DataFrame or None
        Data-quality flags from :func:`surveys.flag_quality`, one row per respondent.
    sources : mapping
        Input files and their SHA-256 hashes.
    notes : tuple of str
        How the input was read when it departed from winback's format (a semicolon or tab
        separator), so that the record says so.
    """

    study: Study
    _choices: pd.DataFrame = field(repr=False)
    _respondents: pd.DataFrame = field(repr=False)
    _exclusions: pd.DataFrame = field(repr=False)
    _flags: pd.DataFrame | None = field(default=None, repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: the choice table as codes (validation's), for code that walks every row; None when the
    #: dataset was built otherwise
    _codes: ChoiceCodes | None = field(default=None, repr=False, compare=False)

    # -- views (copies: the dataset itself cannot be changed) -----------------------------------
    @property
    def choices(self) -> pd.DataFrame:
        return self._text_choices.copy()

    @property
    def _coded(self) -> ChoiceCodes | None:
        """Validation's codes of this dataset's choice table (None when the table is not the
        one they describe)."""
        codes = self._codes
        return codes if codes is not None and codes.table is self._choices else None

    @functools.cached_property
    def _text_choices(self) -> pd.DataFrame:
        """The choice table with its text as text: validation leaves the text columns as
        categories of its codes (code that walks every row reads the codes), made text here,
        once, when someone reads the table."""
        codes = self._coded
        if codes is None or not codes.text_columns:
            return self._choices
        return text_table(self._choices, codes.text_columns)

    @property
    def respondents(self) -> pd.DataFrame:
        return self._respondents.copy()

    @property
    def exclusions(self) -> pd.DataFrame:
        return self._exclusions.copy()

    @property
    def flags(self) -> pd.DataFrame | None:
        return None if self._flags is None else self._flags.copy()

    @property
    def respondent_ids(self) -> list[str]:
        return self._respondents["respondent_id"].tolist()

    @property
    def n_respondents(self) -> int:
        return len(self._respondents)

    @property
    def excluded_ids(self) -> list[str]:
        return sorted(set(self._exclusions["respondent_id"]))

    @property
    def included_ids(self) -> list[str]:
        ex = set(self.excluded_ids)
        return [r for r in self.respondent_ids if r not in ex]

    @property
    def n_tasks(self) -> int:
        """Tasks per respondent (holdouts included)."""
        return self._tasks_per_respondent()

    def included_choices(self, *, holdouts: bool = False) -> pd.DataFrame:
        """Choice rows of included respondents; holdout tasks only when asked."""
        ch = self._text_choices
        keep = member(ch["respondent_id"], self.included_ids)
        if not holdouts:
            keep &= (ch["holdout"] == 0).to_numpy()
        return ch[keep].copy()

    def holdout_choices(self) -> pd.DataFrame:
        ch = self._text_choices
        keep = member(ch["respondent_id"], self.included_ids)
        return ch[keep & (ch["holdout"] == 1).to_numpy()].copy()

    # -- changes return new datasets ------------------------------------------------------------
    def exclude(
        self, respondent_ids: Iterable[str], reason: str, source: str = "analyst"
    ) -> ChoiceDataset:
        """A new dataset with these respondents excluded for ``reason`` (recorded, not dropped).

        Examples
        --------
        >>> flagged = dataset.flags.query("random_responder").respondent_id  # doctest: +SKIP
        >>> clean = dataset.exclude(flagged, "random responder (RLH)")  # doctest: +SKIP
        """
        ids = [str(r) for r in respondent_ids]
        unknown = sorted(set(ids) - set(self.respondent_ids))
        if unknown:
            raise WinbackError(
                f"cannot exclude unknown respondent(s) {list_valid(unknown[:10])}"
                + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
                + "."
            )
        if not reason or not reason.strip():
            raise WinbackError("an exclusion needs a reason, in words.")
        new = pd.DataFrame({"respondent_id": ids, "reason": reason, "source": source})
        ex = pd.concat([self._exclusions, new], ignore_index=True).drop_duplicates(
            ["respondent_id", "reason"]
        )
        return replace(self, _exclusions=ex.reset_index(drop=True))

    def with_flags(self, flags: pd.DataFrame) -> ChoiceDataset:
        ids = self._respondents["respondent_id"]
        missing = sorted(ids[~member(ids, flags["respondent_id"])].astype(str))
        if missing:
            raise WinbackError(f"flags lack respondent(s) {list_valid(missing[:10])}.")
        return replace(self, _flags=flags.copy())

    def with_respondent_columns(self, columns: pd.DataFrame) -> ChoiceDataset:
        """A new dataset whose respondents table has ``columns`` added (``respondent_id`` and
        the new columns; respondents it lacks get missing values, ids it has beyond the
        dataset's are ignored). A column the table already has is an error.

        Examples
        --------
        >>> extra = pd.DataFrame({"respondent_id": ["r001"], "score": [0.4]})  # doctest: +SKIP
        >>> dataset.with_respondent_columns(extra).respondents["score"]  # doctest: +SKIP
        """
        if "respondent_id" not in columns.columns:
            raise WinbackError("the columns to add need a 'respondent_id' column.")
        new = [str(c) for c in columns.columns if c != "respondent_id"]
        clash = [c for c in new if c in self._respondents.columns]
        if clash:
            raise WinbackError(
                f"the respondents table already has column(s) {list_valid(clash)}; rename "
                "them in respondents.csv."
            )
        extra = columns.assign(respondent_id=columns["respondent_id"].astype(str))
        if extra["respondent_id"].duplicated().any():
            dup = extra.loc[extra["respondent_id"].duplicated(), "respondent_id"].tolist()
            raise WinbackError(f"the columns to add repeat respondent(s) {list_valid(dup[:5])}.")
        extra = extra.set_index("respondent_id")
        ids = self._respondents["respondent_id"].astype(str)
        people = self._respondents.copy()
        for c in new:
            people[c] = extra[c].reindex(ids).to_numpy()
        return replace(self, _respondents=people)

    # -- comparison and display ------------------------------------------------------------------
    def equals(self, other: ChoiceDataset) -> bool:
        """Same study name, same choices and respondents (order-insensitive), same exclusions."""
        return self.difference(other) is None

    def difference(self, other: ChoiceDataset) -> str | None:
        """Where two datasets differ, in words; None when equal."""
        if self.study.name != other.study.name:
            return f"study '{self.study.name}' vs '{other.study.name}'"
        for name in ("_text_choices", "_respondents", "_exclusions"):
            a, b = _canonical(getattr(self, name)), _canonical(getattr(other, name))
            if list(a.columns) != list(b.columns):
                return f"{_TABLE[name]}: columns {list(a.columns)} vs {list(b.columns)}"
            if a.shape != b.shape:
                return f"{_TABLE[name]}: shape {a.shape} vs {b.shape}"
            for c in a.columns:
                x, y = a[c], b[c]
                if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
                    xv = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                    yv = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                    same = np.allclose(xv, yv, equal_nan=True, rtol=1e-12, atol=1e-12)
                else:
                    same = (
                        x.astype("string").fillna("<NA>") == y.astype("string").fillna("<NA>")
                    ).all()
                if not same:
                    return f"{_TABLE[name]}: column '{c}' differs"
        return None

    def summary(self) -> dict[str, Any]:
        ch = self._choices
        chosen = ch["chosen"].to_numpy() == 1
        return {
            "study": self.study.name,
            "n_respondents": self.n_respondents,
            "n_included": len(self.included_ids),
            "n_excluded": len(self.excluded_ids),
            "tasks_per_respondent": self._tasks_per_respondent(),
            "n_holdout_tasks": int(ch.loc[ch["holdout"] == 1, "task"].nunique()),
            "none_share": self._none_share(chosen),
            "exclusion_reasons": self._exclusions["reason"].value_counts().to_dict(),
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    def _tasks_per_respondent(self) -> int:
        """The most tasks any respondent answered."""
        ch = self._choices
        if not len(ch):
            return 0
        task = ch["task"].to_numpy()
        codes = self._coded
        if codes is not None:  # rows by respondent, then task: count where they change
            r = codes.respondent
            dr, dt = np.diff(r), np.diff(task)
            if ((dr > 0) | ((dr == 0) & (dt >= 0))).all():
                new = np.concatenate(([True], (dr != 0) | (dt != 0)))
                return int(np.bincount(r[new]).max())
        return int(ch.groupby("respondent_id")["task"].nunique().max())

    def _none_share(self, chosen: np.ndarray) -> float:
        """Share of tasks ending in "none": the none alternative, or a "no" to the dual
        follow-up (``chosen``: the chosen rows)."""
        if not chosen.any():
            return 0.0
        ch = self._choices
        if self.study.dual_response_none and "would_buy" in ch:
            return float((ch["would_buy"][chosen] == 0).mean())
        codes = self._coded
        if codes is not None:
            labels = np.asarray(codes.alt_labels, dtype=object)
            return float(np.mean(labels[codes.alt[chosen]] == "none"))
        return float((ch["alt"].to_numpy()[chosen] == "none").mean())

    def __repr__(self) -> str:
        s = self.summary()
        lines = [
            f"ChoiceDataset '{s['study']}': {s['n_respondents']} respondents "
            f"({s['n_included']} included, {s['n_excluded']} excluded), "
            f"{s['tasks_per_respondent']} tasks each ({s['n_holdout_tasks']} holdout)",
        ]
        if self.study.has_none:
            lines.append(f"  none chosen in {s['none_share']:.1%} of tasks")
        for reason, n in s["exclusion_reasons"].items():
            lines.append(f"  excluded: {n} for {reason}")
        if self._flags is not None:
            flag_cols = [
                c for c in self._flags.columns if pd.api.types.is_bool_dtype(self._flags[c])
            ]
            counts = ", ".join(f"{c} {int(self._flags[c].sum())}" for c in flag_cols)
            lines.append(f"  quality flags: {counts}")
        else:
            lines.append(
                "  next: surveys.flag_quality(dataset) to flag speeders and random responders"
            )
        src = ", ".join(self.sources)
        if src:
            lines.append(f"  sources: {src}")
        return "\n".join(lines)


_TABLE = {"_text_choices": "choices", "_respondents": "respondents", "_exclusions": "exclusions"}


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("respondent_id", "task", "alt", "reason") if c in df.columns]
    out = df.copy()
    if keys:
        out = out.sort_values(keys, kind="stable")
    return out.reset_index(drop=True)


def empty_exclusions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in EXCLUSION_COLUMNS})
