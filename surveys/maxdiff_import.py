"""A study's MaxDiff answers beside its choice data: :func:`read_study_maxdiff` reads them (long
or per-set layout, :func:`~surveys.maxdiff.read_maxdiff_answers`), checks them against the
study's MaxDiff design and ties them to the respondents of the import.

What ``winback import --maxdiff FILE`` does before it writes ``IMPORT/maxdiff.csv``: answers of
a respondent id that is not in ``respondents.csv`` are an error (listed, first few with a
count); respondents without MaxDiff answers are allowed and counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from conjoint.maxdiff import MaxDiffDesign
from surveys.maxdiff import MaxDiffAnswers, read_maxdiff_answers
from winback.errors import ResponseError, WinbackError, list_valid
from winback.study import Study

#: the answers file an import writes, and a web export holds
MAXDIFF_FILE = "maxdiff.csv"


@dataclass(frozen=True)
class MaxDiffImport:
    """MaxDiff answers read for an import.

    Attributes
    ----------
    answers : MaxDiffAnswers
    n_without : int
        Respondents of the import (``respondents.csv``) with no MaxDiff answers.
    design_source : str
        Where the design the answers were checked against came from.
    """

    answers: MaxDiffAnswers
    n_without: int
    design_source: str

    def summary(self) -> dict[str, object]:
        """For ``import.json``."""
        a = self.answers
        return {
            "source": a.source,
            "n_respondents": a.n_respondents,
            "n_sets_answered": a.n_answers,
            "n_respondents_without": self.n_without,
            "items": list(a.items),
            "design": self.design_source,
        }

    def report(self) -> str:
        a = self.answers
        text = (
            f"MaxDiff: {a.n_respondents} respondents answered {a.n_answers} sets of "
            f"{a.per_set} of {len(a.items)} reasons (checked against {self.design_source})"
        )
        if self.n_without:
            text += f"; {self.n_without} respondent(s) without MaxDiff answers"
        return text


def read_study_maxdiff(
    source: str | Path | pd.DataFrame,
    study: Study,
    *,
    design: MaxDiffDesign,
    respondent_ids: Iterable[str],
    design_source: str = "the study's [maxdiff]",
) -> MaxDiffImport:
    """Read a study's MaxDiff answers and tie them to the import's respondents.

    Parameters
    ----------
    source : path or DataFrame
        ``maxdiff.csv``: the long layout (``respondent_id, version, set, position, item, best,
        worst``) or the per-set one (``respondent_id, version, set, best, worst`` with the
        labels chosen); docs/maxdiff.md.
    study : Study
        With a ``[maxdiff]`` table (its items, in order).
    design : MaxDiffDesign
        What was shown (``maxdiff_design.csv``): every set must match it and every respondent
        answer every set of their version.
    respondent_ids : iterable of str
        The respondents of the import (``respondents.csv``).
    design_source : str
        Where ``design`` came from, for the report.

    Returns
    -------
    MaxDiffImport

    Raises
    ------
    ResponseError
        Every problem of the file at once (file line, respondent, set, value), and respondent
        ids that are not in ``respondents.csv``.

    Examples
    --------
    >>> md = read_study_maxdiff("maxdiff.csv", study, design=design,
    ...                         respondent_ids=data.respondent_ids)  # doctest: +SKIP
    """
    if study.maxdiff is None:
        raise WinbackError(
            f"study '{study.name}' has no [maxdiff] table, so MaxDiff answers cannot be read; "
            "add one (docs/study-file.md#maxdiff)."
        )
    answers = read_maxdiff_answers(source, study.maxdiff.items, design=design)
    known = set(str(r) for r in respondent_ids)
    unknown = [r for r in answers.respondent_ids if r not in known]
    if unknown:
        name = answers.source or "MaxDiff answers"
        raise ResponseError(
            [
                (
                    "respondent not in respondents.csv",
                    f"respondent_id {r!r} answered the MaxDiff but is not a respondent of the "
                    f"import (respondents.csv has {len(known)}, e.g. "
                    f"{list_valid(sorted(known)[:3])})",
                )
                for r in unknown
            ],
            source=name,
        )
    n_without = len(known - set(answers.respondent_ids))
    return MaxDiffImport(answers, n_without, design_source)
