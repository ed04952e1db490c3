"""``summarize_reasons`` and its :class:`ReasonsSummary` (the tables, and the summary in words
for a researcher), and ``reason_covariates`` (the same answers as numeric respondent covariates
for estimation).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from surveys._text import member
from surveys.dataset import ChoiceDataset
from surveys.reasons.answers import (
    NUMERIC_COVARIATES,
    _binary,
    _dummies,
    _groups,
    _main_reasons,
    _number,
    _ordered,
    _reason_columns,
    _verbatims,
    _weights,
)
from surveys.reasons.shares import SHARE_COLUMNS, _empty_shares, _main_table, _shares
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.settings import BAND, band_label, resolve_band


@dataclass(frozen=True, repr=False)
class ReasonsSummary:
    """Reasons for leaving, as tidy tables.

    Attributes
    ----------
    shares : DataFrame
        One row per reason (all that apply), largest share first: ``reason`` (code),
        ``label``, ``n_selected`` (respondents who gave it), ``n`` (respondents who answered the
        question: the denominator), ``share``, ``lower``, ``upper`` (interval at ``band``) and
        ``n_effective`` (``n``, or Kish's effective sample size when weighted).
    main : DataFrame
        The same columns for the single main reason.
    by_segment : DataFrame or None
        With ``by``: one row per group, question and reason: the ``by`` column (group label),
        ``question`` ("reasons" for all that apply, "main_reason"), then the share columns.
    verbatims : DataFrame
        ``respondent_id, main_reason`` and the open texts (``what_happened``, ``bring_back``,
        ``reason_other_text``, those present) of every respondent who wrote something,
        exactly as given.
    n : int
        Respondents summarised.
    by, weight : str or None
    band : float
        Probability of the intervals (``level``: its former name, still readable).
    notes : tuple of str
        What a reader must know: weighting, missing answers, excluded respondents, bands.
    """

    shares: pd.DataFrame
    main: pd.DataFrame
    by_segment: pd.DataFrame | None
    verbatims: pd.DataFrame
    n: int
    by: str | None = None
    weight: str | None = None
    band: float = BAND
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def level(self) -> float:
        """Former name of :attr:`band` (deprecated)."""
        warnings.warn("ReasonsSummary.level is now .band", DeprecationWarning, stacklevel=2)
        return self.band

    def report(self) -> str:
        """The summary in words, for a researcher: why they left, largest reason first.

        Examples
        --------
        >>> print(summarize_reasons(data).report())  # doctest: +SKIP
        """
        pct = band_label(self.band, "")
        lines = [
            f"Why they left: {self.n} lost customers"
            + (f", weighted by {self.weight}" if self.weight else "")
        ]
        lead = _lead_sentence(self.shares if len(self.shares) else self.main, pct, self.weight)
        if lead:
            lines += ["", lead]
        for title, table in (
            ("Reasons given (all that apply)", self.shares),
            ("Main reason", self.main),
        ):
            if len(table):
                lines += ["", f"{title}, largest first ({pct} intervals):"]
                lines += _table_lines(table)
        if self.by_segment is not None and len(self.by_segment):
            lines += ["", f"By {self.by} (share of each group, n in brackets):"]
            lines += _segment_lines(self.by_segment, self.by or "")
        if len(self.verbatims):
            lines += [
                "",
                f"In their own words: {len(self.verbatims)} respondents wrote something "
                "(see .verbatims).",
            ]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        import html

        parts = [f"<pre>{html.escape(self.report())}</pre>"]
        return "\n".join(parts)


def summarize_reasons(
    dataset: ChoiceDataset,
    *,
    by: str | None = None,
    weight: str | None = None,
    band: float = BAND,
    included_only: bool = True,
    bands: int | Sequence[float] = 3,
    level: float | None = None,
) -> ReasonsSummary:
    """Summarise why lost customers left.

    Parameters
    ----------
    dataset : ChoiceDataset
        Its respondents table holds the answers: ``reason_<code>`` (0/1, all that apply; the
        codes are those of :data:`REASON_LABELS`, other ``reason_*`` columns are read as extra
        reasons labelled from their name), ``main_reason`` (a code, or its label), and the open
        texts ``what_happened``, ``bring_back``, ``reason_other_text``.
    by : str, optional
        A respondent column to cross-tabulate by (``segment``, ``tenure_months``,
        ``previous_plan``, ``customer_value`` ...). A numeric column with more than
        :data:`MAX_CATEGORIES` distinct values is cut into labelled bands; respondents without a
        value form the group "(missing)".
    weight : str, optional
        A respondent column of non-negative weights (e.g. ``customer_value``: shares of lost
        revenue rather than of lost customers). Shares become weighted shares; the intervals
        are Wilson intervals with Kish's effective sample size ``(sum w)^2 / sum w^2``, an
        approximation the notes state.
    band : float
        Probability of the intervals (``winback.settings.BAND``, 0.9; ``level``: its former
        name, deprecated).
    included_only : bool
        Summarise included respondents only (the default), leaving out those excluded with
        :meth:`ChoiceDataset.exclude`; the notes say how many.
    bands : int or sequence of float
        For a numeric ``by``: the number of bands at sample quantiles (edges rounded to two
        significant digits), or the band edges themselves (bands are closed on the left:
        ``12 to under 24``).

    Returns
    -------
    ReasonsSummary

    Raises
    ------
    WinbackError
        Answers that are not 0/1, unknown main reasons, bad or missing weights, an unknown
        ``by`` column: every problem at once, naming respondents and values.

    Notes
    -----
    A blank answer is "not answered", never "no": each reason's denominator ``n`` counts the
    respondents who answered it. Unweighted intervals are Wilson score intervals.

    Examples
    --------
    >>> from surveys.reasons import summarize_reasons
    >>> why = summarize_reasons(data, by="segment")  # doctest: +SKIP
    >>> print(why.report())  # doctest: +SKIP
    >>> why.shares  # doctest: +SKIP
    """
    band = resolve_band(band, level, where="summarize_reasons")
    people = dataset.respondents
    notes: list[str] = []
    if included_only:
        n_all = len(people)
        kept = member(people["respondent_id"], dataset.included_ids)
        people = people[kept].reset_index(drop=True)
        if len(people) < n_all:
            notes.append(
                f"{n_all - len(people)} excluded respondent(s) not counted "
                "(included_only=False counts them)."
            )
    problems: list[str] = []
    reasons = _reason_columns(people, notes)
    answers = {code: _binary(people, col, problems) for code, col in reasons.items()}
    main = (
        _main_reasons(people, list(reasons), problems) if "main_reason" in people.columns else None
    )
    w = _weights(people, weight, problems) if weight is not None else None
    if by is not None and by not in people.columns:
        cols = [c for c in people.columns if c != "respondent_id"]
        problems.append(
            f"unknown respondents column by={by!r}.{did_you_mean(by, cols)} Columns: "
            f"{list_valid(cols)}."
        )
    if by is not None and (by in SHARE_COLUMNS or by == "question"):
        problems.append(f"by={by!r} clashes with a column of the summary; rename it first.")
    if problems:
        raise WinbackError(
            f"{len(problems)} problem(s) in the reason answers:\n  " + "\n  ".join(problems)
        )
    if w is not None:
        notes.append(
            f"Shares weighted by '{weight}'; intervals are Wilson intervals with Kish's effective "
            "sample size (n_effective), an approximation."
        )
    if not reasons:
        notes.append("No reason_<code> columns: the reasons question was not asked or not read.")
    blanks = {reasons[code]: int(x.isna().sum()) for code, x in answers.items()}
    blanks = {col: k for col, k in blanks.items() if k}
    if blanks:
        listed = ", ".join(f"{col} {k}" for col, k in blanks.items())
        notes.append(
            f"Not answered (left out of that reason's share, not counted as 'no'): {listed}."
        )
    codes = list(reasons)
    if main is not None:
        codes += [c for c in _ordered(set(main.dropna())) if c not in codes]
        blank = int(main.isna().sum())
        if blank:
            notes.append(f"{blank} respondent(s) gave no main reason.")
    # lazy: scipy.special (about 0.3 s to import, with scipy.linalg) loads when a band is made
    from scipy.special import ndtri

    z = float(ndtri(0.5 + band / 2.0))

    shares = _shares(answers, w, z)
    main_table = _main_table(main, codes, w, z) if main is not None else _empty_shares()

    by_segment = None
    if by is not None:
        groups, note = _groups(people[by], by, bands)
        if note:
            notes.append(note)
        frames = []
        for g in groups.cat.categories:
            mask = (groups == g).to_numpy()
            wg = None if w is None else w[mask]
            sub = _shares({c: x[mask] for c, x in answers.items()}, wg, z, sort=False)
            frames.append(sub.assign(question="reasons", **{by: g}))
            if main is not None:
                m = _main_table(main[mask], codes, wg, z, sort=False)
                frames.append(m.assign(question="main_reason", **{by: g}))
        by_segment = pd.concat(frames, ignore_index=True) if frames else _empty_shares()
        by_segment[by] = pd.Categorical(
            by_segment.get(by, pd.Series(dtype=object)), categories=groups.cat.categories
        )
        by_segment = by_segment[[by, "question", *SHARE_COLUMNS]]

    verbatims = _verbatims(people)
    return ReasonsSummary(
        shares=shares,
        main=main_table,
        by_segment=by_segment,
        verbatims=verbatims,
        n=len(people),
        by=by,
        weight=weight,
        band=band,
        notes=tuple(notes),
    )


def reason_covariates(dataset: ChoiceDataset) -> pd.DataFrame:
    """Respondent covariates from the reason questions, for estimation.

    Parameters
    ----------
    dataset : ChoiceDataset

    Returns
    -------
    DataFrame
        One row per respondent (all of them, in dataset order: select
        ``dataset.included_ids`` for estimation): ``respondent_id``; the ``reason_<code>``
        columns as 0/1 (``Int64``, NA when not answered); ``main_reason[<code>]`` dummies for
        every main reason given (all levels: estimation picks its own reference), NA when no
        main reason was given; ``tenure_months`` and ``customer_value`` as numbers
        (``Float64``); ``segment[<value>]`` dummies for every segment present.

    Examples
    --------
    >>> from surveys.reasons import reason_covariates
    >>> cov = reason_covariates(data)  # doctest: +SKIP
    >>> cov.set_index("respondent_id").loc[data.included_ids]  # doctest: +SKIP
    """
    people = dataset.respondents
    problems: list[str] = []
    notes: list[str] = []
    reasons = _reason_columns(people, notes)
    out = pd.DataFrame({"respondent_id": people["respondent_id"].astype("string")})
    for col in reasons.values():
        out[col] = pd.array(_binary(people, col, problems), dtype="Int64")
    if "main_reason" in people.columns:
        main = _main_reasons(people, list(reasons), problems)
        out = pd.concat([out, _dummies(main, "main_reason")], axis=1)
    for col in NUMERIC_COVARIATES:
        if col in people.columns:
            out[col] = pd.array(_number(people, col, problems), dtype="Float64")
    if "segment" in people.columns:
        seg = people["segment"].astype("string").str.strip()
        seg = seg.where(seg != "", pd.NA)
        out = pd.concat([out, _dummies(seg, "segment")], axis=1)
    if problems:
        raise WinbackError(
            f"{len(problems)} problem(s) in the respondent answers:\n  " + "\n  ".join(problems)
        )
    return out


def _pc(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.0%}"


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:]


def _lead_sentence(table: pd.DataFrame, pct: str, weight: str | None) -> str:
    t = table[table["n"] > 0]
    if t.empty:
        return ""
    top = t.iloc[0]
    text = (
        f"The most common reason for leaving was {_lower_first(str(top['label']))}: "
        f"{_pc(top['share'])} of {int(top['n'])} respondents"
        + (f" weighted by {weight}" if weight else "")
        + f" ({pct} interval "
        f"{_pc(top['lower'])} to {_pc(top['upper'])})"
    )
    rest = [
        f"{_lower_first(str(r['label']))} ({_pc(r['share'])})" for _, r in t.iloc[1:3].iterrows()
    ]
    if rest:
        text += ", followed by " + " and ".join(rest)
    return text + "."


def _table_lines(table: pd.DataFrame) -> list[str]:
    width = max(len(str(x)) for x in table["label"])
    lines = []
    for _, r in table.iterrows():
        lines.append(
            f"  {r['label']:<{width}}  {_pc(r['share']):>4}  [{_pc(r['lower'])}, {_pc(r['upper'])}]"
            f"  {int(r['n_selected'])} of {int(r['n'])}"
        )
    return lines


def _segment_lines(table: pd.DataFrame, by: str) -> list[str]:
    lines: list[str] = []
    for question, sub in table.groupby("question", sort=False, observed=True):
        title = "reasons (all that apply)" if question == "reasons" else "main reason"
        wide = sub.pivot_table(
            index="label", columns=by, values="share", sort=False, observed=True, dropna=False
        )
        ns = sub.groupby(by, observed=True)["n"].max()
        head = [f"{g} ({int(ns.get(g, 0))})" for g in wide.columns]
        width = max(len(str(x)) for x in wide.index)
        cols = [max(len(h), 4) for h in head]
        lines.append(f"  {title}:")
        lines.append(
            "    "
            + " " * width
            + "  "
            + "  ".join(h.rjust(c) for h, c in zip(head, cols, strict=True))
        )
        for label, row in wide.iterrows():
            cells = "  ".join(_pc(float(v)).rjust(c) for v, c in zip(row, cols, strict=True))
            lines.append(f"    {label!s:<{width}}  {cells}")
    return lines
