"""The questionnaire written out as text: Qualtrics' Advanced Format TXT import (the choice
tasks driven by the embedded data of :mod:`surveys.fielding.embedded`) and a Markdown question
list to paste anywhere.
"""

from __future__ import annotations

import html
from pathlib import Path

from surveys.fielding.embedded import cbc_field, qualtrics_embedded_fields
from surveys.questionnaire import Code, ConjointSpec, Question, Questionnaire
from winback._io import atomic_write_text
from winback.errors import WinbackError
from winback.study import format_level
from winback.study.maxdiff import MaxDiffSettings

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
    "maxdiff": "MaxDiff (best-worst)",
}


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
    head = "".join(
        f"<th>{esc(spec.alternative_name(j))}</th>" for j in range(1, spec.alternatives + 1)
    )
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
            if q.type == "maxdiff":  # Qualtrics' MaxDiff is its own project type: not in TXT
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
            elif q.type == "maxdiff" and questionnaire.maxdiff is not None:
                out.append("")
                out += _maxdiff_words(questionnaire.maxdiff)
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
    if spec.alternative_names:
        lines.append(
            "- A labelled design: every task shows one offer of each of "
            + ", ".join(f'"{n}"' for n in spec.alternative_names)
            + ", in this order, under that name."
        )
    for attr, names in spec.only_on:
        lines.append(
            f"- {attr} is shown only on the offers of {', '.join(names)}; on the others its row "
            "is left empty (not part of that offer)."
        )
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


def _maxdiff_words(md: MaxDiffSettings) -> list[str]:
    lines = [
        f"{md.sets} screens, one per set, each showing {md.per_set} of these {md.n_items} "
        f'reasons with the question above; the respondent marks one "{md.best_label}" and '
        f'a different one "{md.worst_label}". Which reasons each screen shows, in which order, '
        f"is in `maxdiff_design.csv` ({md.versions} version(s), dealt to respondents in turn). "
        "The answers go to `maxdiff.csv` (one row per reason shown: `best`, `worst`), not to "
        "respondents.csv.",
        "",
    ]
    lines += [f"- {label} [`{item}`]" for item, label in zip(md.items, md.labels, strict=True)]
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
