"""Qualtrics embedded data: the field names of the contract (``CBC_VERSION``,
``CBC_T{t}_A{j}_{attribute}``, ``CBC_SQ_{attribute}``), their values per design version, the
survey-flow rules and contact-list values of a status quo filled per respondent, and the recodes
of the questionnaire's answers.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign
from surveys.questionnaire import Code, ConjointSpec, Questionnaire
from winback._io import write_csv
from winback.errors import WinbackError
from winback.study import Study, format_level


def cbc_field(task: int, alternative: int, attribute: str) -> str:
    """Embedded-data field of one cell of a task: ``CBC_T{task}_A{alternative}_{attribute}``.

    Examples
    --------
    >>> cbc_field(3, 2, "price")
    'CBC_T3_A2_price'
    """
    return f"CBC_T{task}_A{alternative}_{attribute}"


def qualtrics_embedded_fields(spec: ConjointSpec) -> list[str]:
    """Every embedded-data field the conjoint block reads, ``CBC_VERSION`` first.

    Examples
    --------
    >>> fields = qualtrics_embedded_fields(questionnaire.conjoint)  # doctest: +SKIP
    >>> fields[:2]  # doctest: +SKIP
    ['CBC_VERSION', 'CBC_T1_A1_plan']
    """
    out = ["CBC_VERSION"]
    for t in range(1, spec.tasks + 1):
        for j in range(1, spec.alternatives + 1):
            out.extend(cbc_field(t, j, name) for name, _, _ in spec.attributes)
    if spec.status_quo_label is not None:
        out.extend(f"CBC_SQ_{name}" for name, _, _ in spec.attributes)
    return out


def qualtrics_embedded_data(design: ChoiceDesign) -> pd.DataFrame:
    """The embedded-data values of every version: one row per version.

    Columns ``CBC_VERSION`` then ``CBC_T{t}_A{j}_{attribute}`` (level labels), plus
    ``CBC_SQ_{attribute}`` when the study has a status quo with fixed levels. Paste a row into
    a survey-flow "Set Embedded Data" element inside a randomizer (one branch per version), or
    load the table as a contact list or supplemental data source keyed on ``CBC_VERSION``.
    A status quo filled per respondent is not a property of the version: its
    ``CBC_SQ_{attribute}`` fields come from :func:`qualtrics_status_quo_rules` (or
    :func:`qualtrics_status_quo_data`).

    Examples
    --------
    >>> ed = qualtrics_embedded_data(design)  # doctest: +SKIP
    >>> ed.loc[0, "CBC_T1_A1_plan"]  # doctest: +SKIP
    'Standard'
    """
    study = design.study
    # a trailing "" is what index -1 (absent on this alternative's label) picks: empty
    labels = [np.asarray([*a.level_labels(), ""], dtype=object) for a in study.attributes]
    data: dict[str, object] = {"CBC_VERSION": np.arange(1, design.n_versions + 1)}
    for t in range(design.n_tasks):
        for j in range(design.n_alternatives):
            for a, attr in enumerate(study.attributes):
                data[cbc_field(t + 1, j + 1, attr.name)] = labels[a][design.levels[:, t, j, a]]
    sq = study.status_quo
    if sq is not None and sq.levels is not None:
        for a, attr in enumerate(study.attributes):
            data[f"CBC_SQ_{attr.name}"] = [labels[a][sq.levels[a]]] * design.n_versions
    return pd.DataFrame(data)


def write_qualtrics_embedded_data(design: ChoiceDesign, path: str | Path) -> Path:
    """Write :func:`qualtrics_embedded_data` as a (formula-safe) CSV atomically. Returns the path.

    Examples
    --------
    >>> write_qualtrics_embedded_data(design, "fielding/embedded_data.csv")  # doctest: +SKIP
    """
    path = Path(path)
    write_csv(qualtrics_embedded_data(design), path)
    return path


STATUS_QUO_RULE_COLUMNS = ("question", "answer", "paid_above", "paid_up_to", "field", "value")


def qualtrics_status_quo_rules(study: Study) -> pd.DataFrame:
    """How a survey flow sets each respondent's status quo from their answers (Qualtrics).

    For a status quo filled per respondent (``[status_quo] plans``): after the block with
    ``previous_plan`` (and ``price_paid``), add one branch per group of rows with the same
    condition, each setting the embedded data ``field = value`` of its rows.

    - ``question = previous_plan``: if the answer is ``answer``, set the plan's profile (one
      row per attribute; not the price with ``price_from_paid``).
    - ``question = price_paid`` (with ``price_from_paid``): if the amount paid is greater than
      ``paid_above`` (empty: no lower bound) and at most ``paid_up_to`` (empty: no upper
      bound), set ``CBC_SQ_{price}`` to ``value``: the tested price nearest to the amount, the
      lower one at a midpoint, the lowest or highest outside the tested range; the same rule
      as :meth:`winback.study.StatusQuo.profile_for` and the web survey.

    Values are level labels, as in the ``CBC_T{t}_A{j}_{attribute}`` fields.

    Parameters
    ----------
    study : Study

    Returns
    -------
    DataFrame
        Columns ``question, answer, paid_above, paid_up_to, field, value`` (all text).

    Raises
    ------
    WinbackError
        The study has no status quo filled per respondent.

    Examples
    --------
    >>> rules = qualtrics_status_quo_rules(study)  # doctest: +SKIP
    >>> rules.iloc[0].tolist()  # doctest: +SKIP
    ['previous_plan', 'Basic', '', '', 'CBC_SQ_plan', 'Basic']
    """
    sq = study.status_quo
    if sq is None or not sq.per_respondent:
        raise WinbackError(
            f"study '{study.name}': qualtrics_status_quo_rules is for a status quo filled per "
            "respondent ([status_quo] plans); "
            + (
                "this study has none."
                if sq is None
                else "this one has fixed levels, which are in qualtrics_embedded_data."
            )
        )
    rows: list[tuple[str, ...]] = []
    for code, profile in sq.plans:
        for a, attr in enumerate(study.attributes):
            if profile[a] >= 0:
                value = attr.level_labels()[profile[a]]
                rows.append(("previous_plan", code, "", "", f"CBC_SQ_{attr.name}", value))
    if sq.price_from_paid:
        assert sq.price_position is not None
        price = study.attributes[sq.price_position]
        order = sorted(range(len(sq.price_levels)), key=lambda i: sq.price_levels[i])
        cuts = [(sq.price_levels[i] + sq.price_levels[j]) / 2 for i, j in itertools.pairwise(order)]
        labels = price.level_labels()
        for n, i in enumerate(order):
            above = format_level(cuts[n - 1]) if n > 0 else ""
            up_to = format_level(cuts[n]) if n < len(cuts) else ""
            rows.append(("price_paid", "", above, up_to, f"CBC_SQ_{price.name}", labels[i]))
    return pd.DataFrame(rows, columns=list(STATUS_QUO_RULE_COLUMNS), dtype=str)


def write_qualtrics_status_quo_rules(study: Study, path: str | Path) -> Path:
    """Write :func:`qualtrics_status_quo_rules` as a CSV atomically. Returns the path.

    Examples
    --------
    >>> write_qualtrics_status_quo_rules(study, "fielding/status_quo_rules.csv")  # doctest: +SKIP
    """
    path = Path(path)
    write_csv(qualtrics_status_quo_rules(study), path)
    return path


def qualtrics_status_quo_data(
    study: Study, customers: pd.DataFrame, *, id_column: str = "respondent_id", source: str = ""
) -> pd.DataFrame:
    """Each customer's ``CBC_SQ_{attribute}`` values, from a customer list (Qualtrics contacts).

    When the customer records hold the previous plan and the price paid, the status quo can
    come with the contact list instead of the survey flow: upload the returned columns as
    embedded data of the contacts.

    Parameters
    ----------
    study : Study
        With a status quo filled per respondent (``[status_quo] plans``).
    customers : DataFrame
        ``id_column``, ``previous_plan`` (answer codes of that question) and, with
        ``price_from_paid``, ``price_paid``.
    id_column : str
    source : str
        The customer list's name, for messages.

    Returns
    -------
    DataFrame
        ``id_column`` then ``CBC_SQ_{attribute}`` for every attribute (level labels).

    Raises
    ------
    WinbackError
        Missing columns; every customer whose plan or price cannot be used, with its line.

    Examples
    --------
    >>> qualtrics_status_quo_data(study, customers).columns[:2].tolist()  # doctest: +SKIP
    ['respondent_id', 'CBC_SQ_plan']
    """
    sq = study.status_quo
    name = source or "customer list"
    if sq is None or not sq.per_respondent:
        raise WinbackError(
            f"study '{study.name}': qualtrics_status_quo_data is for a status quo filled per "
            "respondent ([status_quo] plans)."
        )
    need = [id_column, "previous_plan"] + (["price_paid"] if sq.price_from_paid else [])
    missing = [c for c in need if c not in customers.columns]
    if missing:
        raise WinbackError(
            f"{name}: missing column(s) {', '.join(missing)}; the status quo is filled from "
            f"{', '.join(need[1:])}. Columns: {', '.join(map(str, customers.columns))}."
        )
    out: dict[str, list[str]] = {id_column: []}
    for attr in study.attributes:
        out[f"CBC_SQ_{attr.name}"] = []
    problems: list[str] = []
    for i, rec in enumerate(customers.reset_index(drop=True).to_dict("records")):
        paid = rec.get("price_paid")
        try:
            profile = sq.profile_for(
                rec["previous_plan"], None if paid is None or pd.isna(paid) else paid
            )
        except WinbackError as exc:
            problems.append(f"line {i + 2} ({id_column} {rec[id_column]!r}): {exc}")
            continue
        out[id_column].append(str(rec[id_column]))
        for attr, lv in zip(study.attributes, profile, strict=True):
            out[f"CBC_SQ_{attr.name}"].append(attr.level_labels()[lv])
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WinbackError(
            f"{name}: {len(problems)} customer(s) without a usable status quo:\n  {shown}{more}"
        )
    return pd.DataFrame(out)


def qualtrics_recodes(questionnaire: Questionnaire) -> dict[str, dict[int, Code]]:
    """How Qualtrics numbers the choices of each question, mapped to winback's codes.

    The TXT import gives choice ``k`` (1-based, in the order listed) the recode value ``k``;
    winback's codes differ (yes/no is 1/0, a 0..10 scale starts at 0, choice codes are text).
    Single, multi, yes_no and scale questions are listed; for the conjoint tasks see the module
    docstring.

    Examples
    --------
    >>> qualtrics_recodes(questionnaire)["was_customer"]  # doctest: +SKIP
    {1: 1, 2: 0}
    """
    out: dict[str, dict[int, Code]] = {}
    for q in questionnaire:
        if q.type in ("single", "multi", "yes_no", "scale"):
            out[q.id] = {k: code for k, code in enumerate(q.codes, start=1)}
    return out
