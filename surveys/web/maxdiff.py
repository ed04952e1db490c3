"""The MaxDiff question in the web survey: its design stored with the survey, what one set's
page shows, and the checking of one set's answer (pure: no web, no database).

A survey of a study with ``[maxdiff]`` stores the MaxDiff design it shows in its settings when
it is created (:func:`design_to_json`), deals its versions to the invites in turn as the
conjoint's are dealt, and asks one page per set, in the design's order, with the set's reasons
in the design's positions. An answer is one reason chosen as mattering most and another as
mattering least, both among the reasons shown (:func:`check_set`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from conjoint.maxdiff import MaxDiffDesign
from surveys.web.flow import PageResult
from surveys.web.schema import dumps
from winback.errors import WinbackError, list_valid
from winback.study import Study
from winback.study.maxdiff import MAXDIFF_QUESTION_ID, MaxDiffSettings

#: the survey setting (``winback_meta`` key) that holds the MaxDiff design shown
DESIGN_KEY = "maxdiff_design"
#: the form fields of a MaxDiff page
FIELDS = ("best", "worst")


def design_to_json(design: MaxDiffDesign) -> str:
    """The design as stored with the survey: items, seed and ``sets[version][set][position]``
    (indices into ``items``).

    Examples
    --------
    >>> from conjoint import make_maxdiff_design
    >>> d = make_maxdiff_design(["a", "b", "c", "d"], per_set=2, n_sets=2, versions=1)
    >>> sorted(json.loads(design_to_json(d)))
    ['items', 'seed', 'sets']
    """
    return dumps(
        {"items": list(design.items), "seed": design.random_seed, "sets": design.sets.tolist()}
    )


def design_from_json(text: str, study: Study, db: str) -> MaxDiffDesign:
    """The stored design, checked against the study's ``[maxdiff]`` and with its items in the
    study's order (the first is the reference of the estimation).

    Raises
    ------
    WinbackError
        The study has no ``[maxdiff]`` any more, or ranks other reasons, or other numbers of
        reasons per set or sets, than the survey shows.
    """
    data = json.loads(text)
    items = [str(x) for x in data["items"]]
    sets = np.asarray(data["sets"], dtype=int)
    md = study.maxdiff
    if md is None:
        raise WinbackError(
            f"{db}: the survey asks a MaxDiff of the reasons {list_valid(items)}, but the study "
            "file has no [maxdiff] table. Use the study file the survey was created with, or "
            "another --db for a new survey."
        )
    problems = []
    if set(items) != set(md.items):
        problems.append(
            f"the survey ranks the reasons {list_valid(items)}, the study's [maxdiff] "
            f"{list_valid(md.items)}"
        )
    if (sets.shape[2], sets.shape[1]) != (md.per_set, md.sets):
        problems.append(
            f"the survey shows {sets.shape[1]} sets of {sets.shape[2]}, the study's [maxdiff] "
            f"asks for {md.sets} sets of {md.per_set}"
        )
    if problems:
        raise WinbackError(
            f"{db}: the study's [maxdiff] is not the MaxDiff this survey shows: "
            + "; ".join(problems)
            + ". Use the study file the survey was created with, or another --db for a new "
            "survey."
        )
    order = [items.index(x) for x in md.items]  # study position -> stored index
    remap = np.empty(len(items), dtype=int)
    remap[order] = np.arange(len(items))
    return MaxDiffDesign(tuple(md.items), remap[sets], int(data.get("seed", 1)))


@dataclass(frozen=True)
class SetView:
    """What one MaxDiff page shows.

    Attributes
    ----------
    set : int
        The design's set number (from 1).
    version : int
        The respondent's MaxDiff version (from 1).
    items : tuple of (position, code, label)
        The reasons in screen order (positions from 1).
    """

    set: int
    version: int
    items: tuple[tuple[int, str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for _, code, _ in self.items)


def set_view(
    design: MaxDiffDesign, settings: MaxDiffSettings | None, version: int, set_number: int
) -> SetView:
    """The reasons of set ``set_number`` of ``version``, in the design's positions, with the
    questionnaire's labels.

    Examples
    --------
    >>> from conjoint import make_maxdiff_design
    >>> d = make_maxdiff_design(["a", "b", "c", "d"], per_set=2, n_sets=2, versions=1)
    >>> v = set_view(d, None, 1, 1)
    >>> [p for p, _, _ in v.items], len(v.codes)
    ([1, 2], 2)
    """
    shown = design.sets[version - 1, set_number - 1]
    codes = [design.items[int(i)] for i in shown]
    label = settings.label if settings is not None else str
    return SetView(
        set_number,
        version,
        tuple((p, code, label(code)) for p, code in enumerate(codes, start=1)),
    )


def check_set(
    view: SetView,
    form: Mapping[str, Sequence[str]],
    settings: MaxDiffSettings | None = None,
) -> PageResult:
    """Check one MaxDiff answer: one reason chosen most, another least, both shown.

    Returns a :class:`~surveys.web.flow.PageResult` whose ``answers`` are ``best`` and
    ``worst`` (item codes) and whose ``errors`` has one entry, ``"maxdiff"``, saying what to
    fix (empty when the answer is complete).

    Examples
    --------
    >>> v = SetView(1, 1, ((1, "moved", "I moved"), (2, "price_rise", "Price rise")))
    >>> check_set(v, {"best": ["moved"], "worst": ["moved"]}).errors["maxdiff"][:40]
    'Please choose two different reasons: one'
    >>> check_set(v, {"best": ["moved"], "worst": ["price_rise"]}).answers
    {'best': 'moved', 'worst': 'price_rise'}
    """
    most = settings.best_label if settings is not None else "Mattered most"
    least = settings.worst_label if settings is not None else "Mattered least"
    values = {f: [str(v) for v in form.get(f, [])] for f in FIELDS}
    best, worst = (values[f][0] if values[f] else "" for f in FIELDS)
    codes = set(view.codes)
    problems = []
    for given, column in ((best, most), (worst, least)):
        if not given:
            problems.append(f"Please choose one reason under \u201c{column}\u201d.")
        elif given not in codes:
            problems.append(
                f"Please choose a reason listed on this page under \u201c{column}\u201d."
            )
    if not problems and best == worst:
        problems.append(
            f"Please choose two different reasons: one that {_verb(most)} and another that "
            f"{_verb(least)}."
        )
    errors = {MAXDIFF_QUESTION_ID: " ".join(problems)} if problems else {}
    return PageResult({"best": best, "worst": worst}, errors, values)


def _verb(label: str) -> str:
    """``"Mattered most"`` -> ``"mattered most"`` (a column label inside a sentence)."""
    return label[:1].lower() + label[1:]
