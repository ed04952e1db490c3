"""Why lost customers left: reason shares with intervals, by segment, and their own words.

``summarize_reasons`` reads the lost-customer questionnaire's reason questions from the
respondents table (``reason_<code>`` 0/1 columns, ``main_reason``, the open texts) and returns a
:class:`ReasonsSummary`; ``reason_covariates`` turns the same answers into numeric respondent
covariates for estimation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, did_you_mean, list_valid

#: reason codes of the questionnaire and their labels, in the questionnaire's order
REASON_LABELS: dict[str, str] = {
    "price_rise": "Price rise",
    "outages": "Outages or poor quality",
    "support": "Customer support",
    "competitor_offer": "A competitor's offer",
    "moved": "Moved home",
    "contract_terms": "Contract terms",
    "other": "Other",
}
#: open-text answers, reported verbatim
TEXT_COLUMNS = ("what_happened", "bring_back", "reason_other_text")
#: numeric respondent columns passed to estimation as covariates
NUMERIC_COVARIATES = ("tenure_months", "customer_value")
#: a numeric ``by`` column with more distinct values than this is cut into bands
MAX_CATEGORIES = 6
MISSING_GROUP = "(missing)"
SHARE_COLUMNS = ("reason", "label", "n_selected", "n", "share", "lower", "upper", "n_effective")


@dataclass(frozen=True, repr=False)
class ReasonsSummary:
    """Reasons for leaving, as tidy tables.

    Attributes
    ----------
    shares : DataFrame
        One row per reason (all that apply), largest share first: ``reason`` (code),
        ``label``, ``n_selected`` (respondents who gave it), ``n`` (respondents who answered the
        question: the denominator), ``share``, ``lower``, ``upper`` (interval at ``level``) and
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
    level : float
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
    level: float = 0.95
    notes: tuple[str, ...] = field(default_factory=tuple)

    def report(self) -> str:
        """The summary in words, for a researcher: why they left, largest reason first.

        Examples
        --------
        >>> print(summarize_reasons(data).report())  # doctest: +SKIP
        """
        pct = f"{self.level:.0%}"
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


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def summarize_reasons(
    dataset: ChoiceDataset,
    *,
    by: str | None = None,
    weight: str | None = None,
    level: float = 0.95,
    included_only: bool = True,
    bands: int | Sequence[float] = 3,
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
    level : float
        Interval coverage.
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
    if not 0.0 < level < 1.0:
        raise WinbackError(f"level must be between 0 and 1, got {level}.")
    people = dataset.respondents
    notes: list[str] = []
    if included_only:
        n_all = len(people)
        people = people[people["respondent_id"].isin(dataset.included_ids)].reset_index(drop=True)
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
    z = float(stats.norm.ppf(0.5 + level / 2.0))

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
        level=level,
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


# --------------------------------------------------------------------------------------------
# Reading the answers
# --------------------------------------------------------------------------------------------


def _reason_columns(people: pd.DataFrame, notes: list[str]) -> dict[str, str]:
    """Reason code -> column, questionnaire codes first, then extra ``reason_*`` columns."""
    cols = [
        c
        for c in people.columns
        if str(c).startswith("reason_")
        and str(c) not in TEXT_COLUMNS
        and not str(c).endswith("_text")
    ]
    found = {str(c)[len("reason_") :]: str(c) for c in cols}
    out = {code: found[code] for code in REASON_LABELS if code in found}
    extra = {code: col for code, col in found.items() if code not in REASON_LABELS}
    for code, col in extra.items():
        notes.append(f"Extra reason column {col} read as the reason '{_label(code)}'.")
    out.update(extra)
    return out


def _label(code: str) -> str:
    return REASON_LABELS.get(code, code.replace("_", " ").strip().capitalize())


def _ordered(codes: set[str]) -> list[str]:
    known = [c for c in REASON_LABELS if c in codes]
    return known + sorted(codes - set(known))


def _shown(people: pd.DataFrame, bad: pd.Series, col: str) -> str:
    ids = people.loc[bad, "respondent_id"].astype(str).tolist()
    vals = people.loc[bad, col].tolist()
    listed = ", ".join(f"{r} ({v!r})" for r, v in zip(ids[:5], vals[:5], strict=True))
    return listed + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def _binary(people: pd.DataFrame, col: str, problems: list[str]) -> pd.Series:
    """A 0/1 answer as floats (NaN = not answered); other values are problems."""
    raw = people[col]
    blank = _blank(raw)
    text = raw.astype("string").str.strip().str.lower()
    text = text.replace({"true": "1", "false": "0"})
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & ~num.isin([0, 1])
    if bad.any():
        problems.append(
            f"column '{col}': {int(bad.sum())} value(s) are not 0 or 1: {_shown(people, bad, col)}."
        )
    return pd.Series(num.where(~bad).to_numpy(dtype=float), index=people.index)


def _number(people: pd.DataFrame, col: str, problems: list[str]) -> pd.Series:
    raw = people[col]
    blank = _blank(raw)
    num = pd.to_numeric(raw.astype("string").str.strip().where(~blank), errors="coerce")
    bad = ~blank & num.isna()
    if bad.any():
        problems.append(
            f"column '{col}': {int(bad.sum())} value(s) are not numbers: {_shown(people, bad, col)}."
        )
    return pd.Series(num.to_numpy(dtype=float), index=people.index)


def _main_reasons(people: pd.DataFrame, codes: list[str], problems: list[str]) -> pd.Series:
    """Main reason codes (NA when not given); a label is accepted for its code."""
    raw = people["main_reason"]
    blank = _blank(raw)
    valid = list(dict.fromkeys([*REASON_LABELS, *codes]))
    lookup = {c.lower(): c for c in valid} | {_label(c).lower(): c for c in valid}
    key = raw.astype("string").str.strip().str.lower()
    code = key.map(lambda k: lookup.get(k, pd.NA) if isinstance(k, str) else pd.NA)
    bad = ~blank & code.isna()
    if bad.any():
        problems.append(
            f"column 'main_reason': {int(bad.sum())} unknown reason(s): "
            f"{_shown(people, bad, 'main_reason')}. Valid: {list_valid(valid)}."
        )
    return pd.Series(code.where(~blank).to_numpy(dtype=object), index=people.index).astype("string")


def _weights(people: pd.DataFrame, col: str, problems: list[str]) -> np.ndarray | None:
    if col not in people.columns:
        cols = [c for c in people.columns if c != "respondent_id"]
        problems.append(
            f"unknown weight column {col!r}.{did_you_mean(col, cols)} Columns: {list_valid(cols)}."
        )
        return None
    raw = people[col]
    blank = _blank(raw)
    num = pd.to_numeric(raw.astype("string").str.strip().where(~blank), errors="coerce")
    bad = blank | num.isna() | (num < 0)
    if bad.any():
        problems.append(
            f"weight column '{col}': {int(bad.sum())} respondent(s) without a weight >= 0: "
            f"{_shown(people, bad, col)}. Give them a weight, or exclude them with "
            "dataset.exclude(...)."
        )
        return None
    w = num.to_numpy(dtype=float)
    if len(w) and w.sum() <= 0:
        problems.append(f"weight column '{col}': the weights sum to 0.")
        return None
    return w


# --------------------------------------------------------------------------------------------
# Shares and intervals
# --------------------------------------------------------------------------------------------


def wilson_interval(share: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval of a share observed on ``n`` (possibly effective) respondents.

    Examples
    --------
    >>> lo, hi = wilson_interval(0.3, 100, 1.959964)
    >>> round(lo, 3), round(hi, 3)
    (0.219, 0.396)
    """
    if n <= 0 or math.isnan(share):
        return math.nan, math.nan
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (share + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(share * (1.0 - share), 0.0) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _share_row(code: str, x: np.ndarray, w: np.ndarray | None, z: float) -> dict[str, object]:
    """x: 1/0 per respondent, NaN when not answered."""
    answered = ~np.isnan(x)
    xa = x[answered]
    n = int(answered.sum())
    k = int(xa.sum())
    if w is None:
        share = k / n if n else math.nan
        n_eff = float(n)
    else:
        wa = w[answered]
        sw = wa.sum()
        share = float((wa * xa).sum() / sw) if sw > 0 else math.nan
        n_eff = float(sw**2 / (wa**2).sum()) if sw > 0 else 0.0
    lo, hi = wilson_interval(share, n_eff, z)
    return {
        "reason": code,
        "label": _label(code),
        "n_selected": k,
        "n": n,
        "share": share,
        "lower": lo,
        "upper": hi,
        "n_effective": n_eff,
    }


def _empty_shares() -> pd.DataFrame:
    return _typed_shares(pd.DataFrame({c: [] for c in SHARE_COLUMNS}))


def _typed_shares(df: pd.DataFrame) -> pd.DataFrame:
    df = df[list(SHARE_COLUMNS)].copy()
    for c in ("reason", "label"):
        df[c] = df[c].astype("string")
    for c in ("n_selected", "n"):
        df[c] = df[c].astype("int64")
    for c in ("share", "lower", "upper", "n_effective"):
        df[c] = df[c].astype("float64")
    return df


def _sorted(df: pd.DataFrame, sort: bool) -> pd.DataFrame:
    if not sort or df.empty:
        return df.reset_index(drop=True)
    order = df.assign(_o=np.arange(len(df)), _s=df["share"].fillna(-1.0))
    return (
        order.sort_values(["_s", "_o"], ascending=[False, True])
        .drop(columns=["_o", "_s"])
        .reset_index(drop=True)
    )


def _shares(
    answers: dict[str, pd.Series], w: np.ndarray | None, z: float, sort: bool = True
) -> pd.DataFrame:
    if not answers:
        return _empty_shares()
    rows = [_share_row(code, x.to_numpy(dtype=float), w, z) for code, x in answers.items()]
    return _sorted(_typed_shares(pd.DataFrame(rows)), sort)


def _main_table(
    main: pd.Series, codes: list[str], w: np.ndarray | None, z: float, sort: bool = True
) -> pd.DataFrame:
    given = main.notna().to_numpy()
    rows = []
    for code in codes:
        x = np.where(given, (main == code).fillna(False).to_numpy(dtype=float), np.nan)
        rows.append(_share_row(code, x, w, z))
    if not rows:
        return _empty_shares()
    return _sorted(_typed_shares(pd.DataFrame(rows)), sort)


# --------------------------------------------------------------------------------------------
# Groups, verbatims, dummies
# --------------------------------------------------------------------------------------------


def _round2(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, 1 - math.floor(math.log10(abs(x))))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _groups(col: pd.Series, name: str, bands: int | Sequence[float]) -> tuple[pd.Series, str]:
    """Group labels as an ordered categorical; numeric columns with many values are banded."""
    blank = _blank(col)
    text = col.astype("string").str.strip()
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    numeric = bool((~blank).any()) and bool(num[~blank].notna().all())
    note = ""
    if numeric and num.nunique() > MAX_CATEGORIES:
        if isinstance(bands, int):
            if bands < 2:
                raise WinbackError(f"bands must be at least 2, got {bands}.")
            qs = np.quantile(num.dropna().to_numpy(dtype=float), np.arange(1, bands) / bands)
            edges = sorted({_round2(float(q)) for q in qs})
        else:
            edges = sorted(float(e) for e in bands)
        lo, hi = float(num.min()), float(num.max())
        edges = [e for e in edges if lo < e <= hi] or [_round2(float(num.median()))]
        labels = [f"under {_fmt(edges[0])}"]
        labels += [f"{_fmt(a)} to under {_fmt(b)}" for a, b in itertools.pairwise(edges)]
        labels.append(f"{_fmt(edges[-1])} and over")
        cut = pd.cut(num, [-np.inf, *edges, np.inf], right=False, labels=labels)
        groups = cut.astype(object).where(num.notna(), MISSING_GROUP)
        cats = labels
        note = (
            f"'{name}' cut into bands at {list_valid(_fmt(e) for e in edges)} (closed on the left)."
        )
    else:
        groups = text.astype(object).where(~blank, MISSING_GROUP)
        present = [g for g in pd.unique(groups) if g != MISSING_GROUP]
        if numeric:
            present = sorted(present, key=lambda g: float(g))
        else:
            present = sorted(present, key=str)
        cats = present
    if (groups == MISSING_GROUP).any():
        cats = [*cats, MISSING_GROUP]
    used = [c for c in cats if (groups == c).any()]
    return pd.Series(pd.Categorical(groups, categories=used), index=col.index), note


def _verbatims(people: pd.DataFrame) -> pd.DataFrame:
    texts = [c for c in TEXT_COLUMNS if c in people.columns]
    cols = ["respondent_id", *(["main_reason"] if "main_reason" in people.columns else []), *texts]
    if not texts:
        return people.loc[[], cols].reset_index(drop=True)
    wrote = np.zeros(len(people), dtype=bool)
    for c in texts:
        wrote |= ~_blank(people[c]).to_numpy()
    return people.loc[wrote, cols].reset_index(drop=True)


def _dummies(values: pd.Series, prefix: str) -> pd.DataFrame:
    levels = (
        _ordered(set(values.dropna()))
        if prefix == "main_reason"
        else sorted(set(values.dropna()), key=str)
    )
    given = values.notna().to_numpy()
    out = {}
    for v in levels:
        d = (values == v).fillna(False).to_numpy(dtype=int)
        out[f"{prefix}[{v}]"] = pd.array(np.where(given, d, 0), dtype="Int64")
        out[f"{prefix}[{v}]"][~given] = pd.NA
    return pd.DataFrame(out, index=values.index)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


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
