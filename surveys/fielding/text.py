"""Exports for fielding the questionnaire elsewhere: Qualtrics, any platform, or by hand.

- :func:`write_qualtrics_questions`: the questionnaire in Qualtrics' Advanced Format TXT import,
  the conjoint tasks driven by embedded data (the contract below).
- :func:`write_qualtrics_embedded_data`: the values of those embedded-data fields, one row per
  design version.
- :func:`write_versions_csv`: a pre-randomised versions table any survey platform can take.
- :func:`write_question_list`: a Markdown question list to paste anywhere.

The Sawtooth and Qualtrics-conjoint *design* files are in :mod:`conjoint.export`.

Embedded-data contract (Qualtrics)
----------------------------------
``CBC_VERSION``
    The design version (1..V) the respondent sees.
``CBC_T{t}_A{j}_{attribute}``
    The level label shown for ``attribute`` (its name in the study) in alternative ``j`` (1..J)
    of task ``t`` (1..T, the design's task numbers: holdout tasks are the last ones). The label
    is the design.csv label (numbers without a trailing ``.0``), so
    ``Attribute.index_of(label)`` turns it back into a level.
``CBC_SQ_{attribute}``
    Only with a status-quo alternative: its level label (the same in every task). A fixed
    status quo (``[status_quo] levels``) has the same value for everyone and is in the
    embedded-data table. One filled per respondent (``[status_quo] plans``) differs between
    respondents: set it in the survey flow after the ``previous_plan`` (and ``price_paid``)
    questions, one branch per rule of :func:`qualtrics_status_quo_rules`, or load it with the
    contact list (:func:`qualtrics_status_quo_data`). The response export then holds what each
    respondent saw, which the Qualtrics importer reads.

Questions and answers: task ``t`` is the single-answer question ``CBC_T{t}``; its choices are
``1..J`` for the designed alternatives, then ``J+1`` for the status quo (if any), then the none
option (``J+1`` without a status quo: "None of these"). With dual-response none each task has a
follow-up ``CBC_T{t}_DR``: 1 = yes, I would take it; 2 = no.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign
from surveys.questionnaire import Code, ConjointSpec, Question, Questionnaire
from winback._io import atomic_write_text, write_csv
from winback.errors import WinbackError
from winback.study import Study, format_level

BLOCK_TITLES = {
    "screener": "Screener",
    "previous": "Your previous service",
    "reasons": "Reasons for leaving",
    "return": "Coming back",
    "consent": "Consent",
    "conjoint": "Choice tasks",
}
_TYPE_WORDS = {
    "single": "single choice",
    "multi": "multiple choice",
    "number": "number",
    "text": "open text",
    "scale": "scale",
    "yes_no": "yes / no",
    "conjoint": "choice tasks",
}


# --------------------------------------------------------------------------------------------
# Embedded-data names
# --------------------------------------------------------------------------------------------


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
    labels = [np.asarray(a.level_labels(), dtype=object) for a in study.attributes]
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


# --------------------------------------------------------------------------------------------
# Qualtrics Advanced Format TXT
# --------------------------------------------------------------------------------------------


def _line(text: str) -> str:
    """One line of TXT: no line breaks (HTML breaks instead), no stray [[tags]]."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip().replace("\n", "<br>")
    return text.replace("[[", "[ [").replace("]]", "] ]")


def _with_unit(q: Question) -> str:
    if q.unit and q.unit not in q.text:
        return f"{q.text} ({q.unit})"
    return q.text


def _scale_labels(q: Question) -> list[str]:
    lo, hi = q.codes[0], q.codes[-1]
    out = []
    for c in q.codes:
        lab = q.label(c) if c in (lo, hi) else ""
        out.append(f"{c} - {lab}" if lab and lab != str(c) else str(c))
    return out


def _qualtrics_question(q: Question) -> list[str]:
    text = _line(_with_unit(q))
    if q.type == "single" or q.type == "yes_no":
        return [
            "[[Question:MC:SingleAnswer:Vertical]]",
            f"[[ID:{q.id}]]",
            text,
            "[[Choices]]",
            *(_line(lab) for _, lab in q.options),
        ]
    if q.type == "multi":
        return [
            "[[Question:MC:MultipleAnswer:Vertical]]",
            f"[[ID:{q.id}]]",
            text,
            "[[Choices]]",
            *(_line(lab) for _, lab in q.options),
        ]
    if q.type == "scale":
        return [
            "[[Question:MC:SingleAnswer:Horizontal]]",
            f"[[ID:{q.id}]]",
            text,
            "[[Choices]]",
            *(_line(lab) for lab in _scale_labels(q)),
        ]
    if q.type == "number":
        return ["[[Question:TE:SingleLine]]", f"[[ID:{q.id}]]", text]
    return ["[[Question:TE:Essay]]", f"[[ID:{q.id}]]", text]


def _task_table(spec: ConjointSpec, t: int) -> str:
    """The HTML table of task t, every cell piped from embedded data."""
    esc = html.escape
    head = "".join(f"<th>Option {j}</th>" for j in range(1, spec.alternatives + 1))
    if spec.status_quo_label is not None:
        head += f"<th>{esc(spec.status_quo_label)}</th>"
    rows = []
    for name, label, unit in spec.attributes:
        heading = esc(f"{label} ({unit})" if unit else label)
        cells = "".join(
            f"<td>${{e://Field/{cbc_field(t, j, name)}}}</td>"
            for j in range(1, spec.alternatives + 1)
        )
        if spec.status_quo_label is not None:
            cells += f"<td>${{e://Field/CBC_SQ_{name}}}</td>"
        rows.append(f"<tr><th>{heading}</th>{cells}</tr>")
    return f'<table class="cbc"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _conjoint_questions(q: Question, spec: ConjointSpec) -> list[str]:
    lines = ["[[Question:DB]]", f"[[ID:{q.id}_intro]]", _line(q.text), "", "[[PageBreak]]", ""]
    choices = spec.choice_labels()
    for t in range(1, spec.tasks + 1):
        lines += [
            "[[Question:MC:SingleAnswer:Horizontal]]",
            f"[[ID:CBC_T{t}]]",
            _line(
                f"Screen {t} of {spec.tasks}: which of these offers would you choose?<br>"
                + _task_table(spec, t)
            ),
            "[[Choices]]",
            *(_line(c) for c in choices),
            "",
        ]
        if spec.dual_response_none:
            lines += [
                "[[Question:MC:SingleAnswer:Vertical]]",
                f"[[ID:CBC_T{t}_DR]]",
                _line(spec.dual_text),
                "[[Choices]]",
                _line(spec.dual_yes),
                _line(spec.dual_no),
                "",
            ]
        lines += ["[[PageBreak]]", ""]
    return lines


def qualtrics_txt(questionnaire: Questionnaire) -> str:
    """The questionnaire as Qualtrics Advanced Format TXT; see :func:`write_qualtrics_questions`."""
    lines = ["[[AdvancedFormat]]", ""]
    spec = questionnaire.conjoint
    has_cbc = spec is not None and any(q.type == "conjoint" for q in questionnaire)
    if has_cbc and spec is not None:
        lines += [f"[[ED:{name}]]" for name in qualtrics_embedded_fields(spec)]
        lines.append("")
    for block in questionnaire.blocks():
        lines += [f"[[Block:{BLOCK_TITLES.get(block, block)}]]", ""]
        for q in questionnaire:
            if q.block != block:
                continue
            if q.type == "conjoint":
                assert spec is not None  # a Questionnaire with a conjoint question has its spec
                lines += _conjoint_questions(q, spec)
                continue
            lines += [*_qualtrics_question(q), "", "[[PageBreak]]", ""]
    while lines and lines[-1] in ("", "[[PageBreak]]"):
        lines.pop()
    return "\n".join(lines) + "\n"


def write_qualtrics_questions(questionnaire: Questionnaire, path: str | Path) -> Path:
    """Write the questionnaire in Qualtrics' Advanced Format TXT import syntax. Returns the path.

    Import it in Qualtrics under *Tools > Import/Export > Import survey*. Each question gets its
    id as ``[[ID:...]]`` (so the response export has winback's column names), each block a
    ``[[Block:...]]``, each question its own page. Single choice and yes/no become
    ``MC:SingleAnswer:Vertical``, multiple choice ``MC:MultipleAnswer:Vertical``, scales
    ``MC:SingleAnswer:Horizontal`` (choices ``1 - Definitely not`` .. ``5 - Definitely``), numbers
    ``TE:SingleLine`` and open text ``TE:Essay``. Qualtrics numbers the choices 1..k in the order
    listed; :func:`qualtrics_recodes` maps them back to winback's codes.

    The conjoint question becomes an intro text (``cbc_intro``) and, for every task
    ``t = 1..T`` (holdouts last, as in the design), a single-answer question ``CBC_T{t}`` whose
    text is a table of the alternatives piped from embedded data
    (``${e://Field/CBC_T{t}_A{j}_{attribute}}``) and whose choices are ``Option 1..J``, then
    the status quo (if any), then the none option ("None of these: ...", choice ``J+1``
    without a status quo). With dual-response none a follow-up ``CBC_T{t}_DR`` asks "Would you
    really take the offer you chose?" (1 = yes, I would take it; 2 = no).

    The embedded-data fields are declared at the top (``[[ED:...]]``): ``CBC_VERSION`` and
    ``CBC_T{t}_A{j}_{attribute}`` (plus ``CBC_SQ_{attribute}`` with a status quo). The survey
    flow must set them from the design: see :func:`write_qualtrics_embedded_data`; a status quo
    filled per respondent from their answers: see :func:`qualtrics_status_quo_rules`.

    What the TXT format cannot carry, to set up in Qualtrics after import: show-if logic
    (display logic; :func:`write_question_list` gives it in words), the screen-out
    (``was_customer`` = No ends the survey), forced response for required questions, number
    validation (``min``/``max``), and the randomizer that deals versions.

    Parameters
    ----------
    questionnaire : Questionnaire
    path : str or Path

    Returns
    -------
    Path

    Examples
    --------
    >>> from surveys.questionnaire import default_questionnaire
    >>> write_qualtrics_questions(default_questionnaire(study), "qualtrics.txt")  # doctest: +SKIP
    """
    path = Path(path)
    atomic_write_text(path, qualtrics_txt(questionnaire))
    return path


# --------------------------------------------------------------------------------------------
# Versions CSV for any platform
# --------------------------------------------------------------------------------------------


def versions_frame(design: ChoiceDesign) -> pd.DataFrame:
    """The design as one row per version and task (see :func:`write_versions_csv`)."""
    study = design.study
    v, t = design.n_versions, design.n_tasks
    vv, tt = np.meshgrid(np.arange(1, v + 1), np.arange(1, t + 1), indexing="ij")
    data: dict[str, object] = {
        "version": vv.ravel(),
        "task": tt.ravel(),
        "holdout": np.tile(design.holdout.astype(int), v),
    }
    for j in range(design.n_alternatives):
        for a, attr in enumerate(study.attributes):
            labels = np.asarray(attr.level_labels(), dtype=object)
            data[f"alt{j + 1}_{attr.name}"] = labels[design.levels[:, :, j, a].ravel()]
    return pd.DataFrame(data)


def write_versions_csv(design: ChoiceDesign, path: str | Path) -> Path:
    """Write a generic pre-randomised versions CSV any survey platform can take. Returns the path.

    One row per version and task, in version then task order::

        version, task, holdout, alt1_<attribute>..., alt2_<attribute>..., ..., altJ_<attribute>...

    - ``version``: 1..V; deal versions to respondents in turn (respondent i gets version
      ``i mod V + 1``) and record the version with the answers.
    - ``task``: 1..T, the design's task number (holdout tasks are the last ones, the same in
      every version); show tasks in this order or record the order shown.
    - ``holdout``: 1 for fixed holdout tasks (left out of estimation), else 0.
    - ``alt{j}_{attribute}``: the level label of ``attribute`` in alternative ``j`` (numbers
      without a trailing ``.0``: ``30``, ``42.5``); alternatives are in the order to show them.
      A none option or status quo is the same in every task and is not listed; a status quo
      filled per respondent follows their answers (:func:`qualtrics_status_quo_rules` gives
      the rules for any platform).

    Text cells that a spreadsheet would run as formulas are prefixed with an apostrophe
    (``winback._io.write_csv``).

    Parameters
    ----------
    design : ChoiceDesign
    path : str or Path

    Returns
    -------
    Path

    Examples
    --------
    >>> write_versions_csv(design, "fielding/versions.csv")  # doctest: +SKIP
    >>> pd.read_csv("fielding/versions.csv").columns[:4].tolist()  # doctest: +SKIP
    ['version', 'task', 'holdout', 'alt1_plan']
    """
    path = Path(path)
    write_csv(versions_frame(design), path)
    return path


# --------------------------------------------------------------------------------------------
# Markdown question list
# --------------------------------------------------------------------------------------------


def question_list_markdown(questionnaire: Questionnaire) -> str:
    """The questionnaire as Markdown (see :func:`write_question_list`)."""
    title = questionnaire.title or "Questionnaire"
    out = [f"# {title}: questionnaire", ""]
    out.append(
        f"{len(questionnaire)} questions in {len(questionnaire.blocks())} blocks. Codes in "
        "brackets are what the data file holds (respondents.csv)."
    )
    out.append("")
    screen = {rule.question: rule for rule in questionnaire.screen_out}
    number = 0
    for block in questionnaire.blocks():
        out += [f"## {BLOCK_TITLES.get(block, block)}", ""]
        for q in questionnaire:
            if q.block != block:
                continue
            number += 1
            kind = _TYPE_WORDS.get(q.type, q.type)
            req = "required" if q.required else "optional"
            cols = ", ".join(f"`{c}`" for c in q.columns())
            out.append(f"**{number}. {_with_unit(q)}**")
            out.append("")
            meta = f"`{q.id}`: {kind}, {req}" + (f"; columns {cols}" if q.type == "multi" else "")
            if q.logic is not None:
                logic = q.describe_logic(questionnaire)
                meta += f". *{logic[:1].upper()}{logic[1:]}.*"
            out.append(meta)
            if q.type in ("single", "multi", "yes_no"):
                out.append("")
                out += [f"- {lab} [`{_code(c)}`]" for c, lab in q.options]
            elif q.type == "scale":
                lo, hi = q.options
                out.append("")
                out.append(f"Scale {lo[0]} ({lo[1]}) to {hi[0]} ({hi[1]}); record the number.")
            elif q.type == "number":
                rng = []
                if q.min is not None:
                    rng.append(f"at least {format_level(float(q.min))}")
                if q.max is not None:
                    rng.append(f"at most {format_level(float(q.max))}")
                out.append("")
                out.append(
                    "Number"
                    + (f" in {q.unit}" if q.unit else "")
                    + (f", {' and '.join(rng)}" if rng else "")
                    + "."
                )
            elif q.type == "conjoint" and questionnaire.conjoint is not None:
                out.append("")
                out += _conjoint_words(questionnaire.conjoint)
            if q.id in screen:
                rule = screen[q.id]
                out.append("")
                out.append(f"*Screen-out: end the interview if {rule.describe(q)}.*")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _code(c: Code) -> str:
    return str(c)


def _conjoint_words(spec: ConjointSpec) -> list[str]:
    attrs = ", ".join(label for _, label, _ in spec.attributes)
    lines = [
        f"{spec.tasks} choice tasks"
        + (
            f" (the last {spec.holdout_tasks} are fixed holdout tasks)"
            if spec.holdout_tasks
            else ""
        )
        + f", each showing {spec.alternatives} offers described by {attrs}; the respondent "
        "picks one. The offers of each version and task are in the versions CSV "
        "(`write_versions_csv`).",
        "",
    ]
    if spec.status_quo_label is not None:
        lines.append(
            f'- Every task also shows the status quo: "{spec.status_quo_label}"'
            + (f": {spec.status_quo_fill}." if spec.status_quo_fill else ".")
        )
    if spec.none_option:
        lines.append(f'- Every task also offers "{spec.none_label}".')
    if spec.dual_response_none:
        lines.append(
            f'- After each choice: "{spec.dual_text}" ({spec.dual_yes} = 1; {spec.dual_no} = 2).'
        )
    return lines


def write_question_list(questionnaire: Questionnaire, path: str | Path) -> Path:
    """Write a plain-text (Markdown) question list a researcher can paste anywhere.

    Numbered questions grouped by block, each with its id, type, whether it is required, its
    options with the codes stored in respondents.csv, the show-if condition in words ("Shown
    if 'Something else' is ticked at reason"), the screen-out rule and a description of the
    choice tasks. Returns the path.

    Examples
    --------
    >>> write_question_list(default_questionnaire(study), "questionnaire.md")  # doctest: +SKIP
    """
    if not isinstance(questionnaire, Questionnaire):
        raise WinbackError(
            f"write_question_list needs a Questionnaire, got {type(questionnaire).__name__}."
        )
    path = Path(path)
    atomic_write_text(path, question_list_markdown(questionnaire))
    return path
