"""Simulated MaxDiff answers of simulated lost customers, tied to why each of them left.

The rule (documented in docs/maxdiff.md, "Simulated fieldwork"): a respondent's true utility of
reason ``x`` on the logit scale is

    u_x = 1.5 * (ticked x) + 1.0 * (x is the main reason) + e_x,   e_x ~ Normal(0, 1)

where *ticked* is their ``reason_x`` answer (1/0) and the *main reason* their ``main_reason``
(which the fieldwork fills with the only reason ticked when the question was not shown). The
answers follow the sequential best-worst logit of :func:`conjoint.simulate_maxdiff`, the model
the estimation assumes; respondents the questionnaire does not show the MaxDiff (screened out)
have none. :func:`surveys.fieldwork.simulate_fieldwork` returns them with its other tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conjoint.maxdiff import MaxDiffDesign
from conjoint.maxdiff_io import make_study_maxdiff_design
from conjoint.maxdiff_simulate import simulate_maxdiff
from winback.study.maxdiff import MAXDIFF_QUESTION_ID
from winback.study.model import Study

#: utility of a ticked reason, the extra of the main reason, and the sd of the noise (logits)
TICKED = 1.5
MAIN = 1.0
NOISE_SD = 1.0
#: added to the fieldwork's seed for the MaxDiff draws, so the other tables stay as they were
SEED_OFFSET = 7919


class Fieldwork(tuple[Any, Any, Any, dict[str, list[str]]]):
    """What :func:`~surveys.fieldwork.simulate_fieldwork` returns: unpacks as before into
    ``(choices, respondents, truth, planted)``; with a study's ``[maxdiff]`` it also carries
    ``maxdiff`` (the answers, ``maxdiff.csv``'s long layout), ``maxdiff_truth`` (the true
    utilities, respondent x item) and ``maxdiff_design``; all None without one.
    """

    maxdiff: pd.DataFrame | None
    maxdiff_truth: pd.DataFrame | None
    maxdiff_design: MaxDiffDesign | None

    def __new__(
        cls,
        choices: Any,
        respondents: Any,
        truth: Any,
        planted: dict[str, list[str]],
        *,
        maxdiff: pd.DataFrame | None = None,
        maxdiff_truth: pd.DataFrame | None = None,
        maxdiff_design: MaxDiffDesign | None = None,
    ) -> Fieldwork:
        self = super().__new__(cls, (choices, respondents, truth, planted))
        self.maxdiff = maxdiff
        self.maxdiff_truth = maxdiff_truth
        self.maxdiff_design = maxdiff_design
        return self

    @property
    def choices(self) -> Any:
        return self[0]

    @property
    def respondents(self) -> Any:
        return self[1]


def reason_utilities(
    people: pd.DataFrame, items: tuple[str, ...], rng: np.random.Generator
) -> pd.DataFrame:
    """True MaxDiff utilities (respondent x item) from the reasons ticked and the main reason:
    the rule of the module's docstring."""
    n = len(people)
    ticked = np.column_stack(
        [
            pd.to_numeric(people[f"reason_{x}"], errors="coerce").fillna(0).to_numpy() == 1
            if f"reason_{x}" in people
            else np.zeros(n, dtype=bool)
            for x in items
        ]
    )
    main = (
        people["main_reason"].astype(object).to_numpy()
        if "main_reason" in people
        else np.full(n, None, dtype=object)
    )
    is_main = main[:, None] == np.asarray(items, dtype=object)[None, :]
    u = TICKED * ticked + MAIN * is_main + NOISE_SD * rng.standard_normal((n, len(items)))
    ids = pd.Index(people["respondent_id"].astype(str), name="respondent_id")
    return pd.DataFrame(u, index=ids, columns=list(items))


def simulate_reason_maxdiff(
    study: Study,
    people: pd.DataFrame,
    *,
    design: MaxDiffDesign | None = None,
    random_seed: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, MaxDiffDesign]:
    """MaxDiff answers of simulated respondents whose utilities follow their reasons.

    Parameters
    ----------
    study : Study
        With a ``[maxdiff]`` table.
    people : DataFrame
        respondents.csv-shaped answers (:func:`surveys.fieldwork.simulate_respondents`).
    design : MaxDiffDesign, optional
        Default: the study's (:func:`conjoint.make_study_maxdiff_design`).
    random_seed : int

    Returns
    -------
    (answers, truth, design)
        ``answers`` in the long layout of ``maxdiff.csv`` (versions dealt in turn over the
        respondents shown the question), ``truth`` the utilities (respondent x item).
    """
    if design is None:
        design = make_study_maxdiff_design(study)
    rng = np.random.default_rng(random_seed)
    truth = reason_utilities(people, design.items, rng)
    q = study.questionnaire
    if q is not None and MAXDIFF_QUESTION_ID in q:
        shown = q.shown(people)[MAXDIFF_QUESTION_ID].to_numpy()
        truth = truth.loc[shown]
    answers = simulate_maxdiff(design, truth, random_seed=int(rng.integers(2**31)))
    return answers, truth, design


def with_maxdiff(
    study: Study,
    tables: tuple[Any, Any, Any, dict[str, list[str]]],
    design: MaxDiffDesign | None,
    random_seed: int,
) -> Fieldwork:
    """The fieldwork's tables, with simulated MaxDiff answers when the study has
    ``[maxdiff]`` (drawn from their own seed, so the other tables do not change)."""
    choices, people, truth, planted = tables
    if study.maxdiff is None:
        return Fieldwork(choices, people, truth, planted)
    md, md_truth, md_design = simulate_reason_maxdiff(
        study, people, design=design, random_seed=random_seed + SEED_OFFSET
    )
    return Fieldwork(
        choices,
        people,
        truth,
        planted,
        maxdiff=md,
        maxdiff_truth=md_truth,
        maxdiff_design=md_design,
    )
