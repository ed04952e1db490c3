"""``ProblemReport``: the problems found in one source, collected so that one
:class:`~winback.errors.ResponseError` lists them all, grouped by kind with counts, the
respondents each kind affects and the first few spelled out. The response readers
(:mod:`surveys.formats`) and :func:`~surveys.validation.validate_responses` share it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

import numpy as np
import pandas as pd

from winback.errors import ResponseError

#: problems spelled out per kind (the rest are counted)
SHOWN = 5


class ProblemReport:
    """Problems found in one source, collected so that one error can list them all.

    ``add`` records a problem of a kind (the message is shown; an empty message only counts),
    ``add_rows`` one per offending row (the first few spelled out), and ``raise_if_any`` raises a
    :class:`~winback.errors.ResponseError` with every problem, grouped by kind with counts and,
    where known, the number of respondents each kind affects. The response readers
    (:mod:`surveys.formats`) and :func:`validate_responses` share it.

    Examples
    --------
    >>> rep = ProblemReport("responses.csv")
    >>> rep.add("unknown level", "line 3, column 'plan': 'Platinum'", respondents=["r1"])
    >>> bool(rep), rep.counts
    (True, {'unknown level': 1})
    >>> rep.raise_if_any()  # doctest: +SKIP
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str]] = []  # shown problems
        self.counts: dict[str, int] = {}
        self.affected: dict[str, set[Hashable]] = {}  # kind -> respondents

    def add(self, kind: str, msg: str, respondents: Iterable[Hashable] = ()) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if msg:
            self.items.append((kind, msg))
        self._affect(kind, respondents)

    def add_many(
        self, kind: str, n: int, messages: Iterable[str], respondents: Iterable[Hashable] = ()
    ) -> None:
        """Count ``n`` problems of a kind; ``messages`` are the first few, spelled out."""
        if n <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + n
        self.items.extend((kind, m) for m in messages)
        self._affect(kind, respondents)

    def _affect(self, kind: str, respondents: Iterable[Hashable]) -> None:
        ids = self.affected.setdefault(kind, set())
        ids.update(respondents)

    def add_rows(
        self,
        kind: str,
        rows: pd.DataFrame,
        fmt: Callable[..., str],
        limit: int = SHOWN,
        id_column: str | None = None,
    ) -> None:
        """Count one problem per offending row; only the first ``limit`` are spelled out.

        With ``id_column``, the rows shown are the first of each of the first ``limit``
        respondents (a respondent with many such rows is shown once, with how many more).
        """
        if len(rows) == 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)
        if id_column is None or id_column not in rows.columns:
            for _, r in rows.head(limit).iterrows():
                self.items.append((kind, fmt(r)))
            return
        ids = rows[id_column]
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        self._affect(kind, (u for u in uniques if not pd.isna(u)))
        per = np.bincount(codes[codes >= 0], minlength=len(uniques))
        first = pd.Series(np.arange(len(codes))).groupby(codes, sort=False).first()
        shown = 0
        for code, pos in first.items():
            if shown >= limit:
                break
            msg = fmt(rows.iloc[pos])
            more = int(per[code]) - 1 if code >= 0 else 0
            if more:
                msg += (
                    f" (+{more} more row{'s' if more > 1 else ''} of respondent {uniques[code]!r})"
                )
            self.items.append((kind, msg))
            shown += 1

    def __bool__(self) -> bool:
        return bool(self.counts)

    def raise_if_any(self) -> None:
        if self.counts:
            per_kind = {k: len(v) for k, v in self.affected.items() if v}
            every: set[Hashable] = set().union(*self.affected.values()) if self.affected else set()
            raise ResponseError(
                self.items,
                counts=self.counts,
                source=self.source,
                respondents=per_kind,
                n_affected=len(every) or None,
            )
