"""``read``: a Sawtooth ``.cho`` choice file into winback's canonical long layout (as text),
every structural problem named by respondent, task, concept and line; with ``design=``, each
respondent's version is the one whose tasks match what the file shows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from surveys._csv import file_sha256
from surveys.formats._common import check_options, choice_columns, read_csv_source
from surveys.formats.sawtooth.att import _att_mapping, _read_text, read_att
from surveys.validation import ROW_COLUMN, ProblemReport
from winback.errors import ResponseError, WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

log = logging.getLogger("winback")


OPTIONS = ("att", "extra_names", "id_map", "map_by_labels")
_INT_RE = re.compile(r"^-?\d+$")
_NUM_RE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


class _Lines:
    """Non-blank lines of a .cho file as (line number, tokens)."""

    def __init__(self, text: str) -> None:
        self.items = [
            (i, line.split()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()
        ]
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.items)

    def next(self) -> tuple[int, list[str]] | None:
        if self.done():
            return None
        item = self.items[self.pos]
        self.pos += 1
        return item


class _Stop(Exception):
    """The file's structure is broken: stop reading (the problem is already reported)."""


def _ints(tokens: list[str], line: int, what: str, rep: ProblemReport) -> list[int]:
    bad = [t for t in tokens if not _INT_RE.match(t)]
    if bad:
        rep.add("not a .cho file", f"line {line}: {what} must be whole numbers, got {bad[0]!r}")
        raise _Stop
    return [int(t) for t in tokens]


def read(
    path: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read a Sawtooth ``.cho`` file into winback's canonical long layout (as text).

    Parameters
    ----------
    path : str or Path
        The ``.cho`` file.
    study : Study
    design : ChoiceDesign, optional
        Gives each respondent's version (the ``.cho`` file has none): the version whose tasks
        match the levels shown. Without it no version is read.
    respondents : str or Path, optional
        A respondents.csv keyed by ``respondent_id`` = the Sawtooth respondent number (or the
        id given by ``id_map``).
    att : str, Path or False, optional
        The ``.att`` label file; default: the file beside the ``.cho`` with the same name, when
        there is one. ``False`` skips the check.
    extra_names : sequence of str, optional
        Names of the extra variables (line 2 of each respondent), in order; they go to the
        respondents frame. Unnamed extra variables are not read (a warning is logged).
    id_map : str or Path, optional
        A CSV ``sawtooth_id,respondent_id`` (as written by ``write(..., renumber=True)``)
        turning Sawtooth respondent numbers back into respondent ids.
    map_by_labels : bool, default False
        Map the ``.cho`` columns and level codes to the study by the ``.att`` labels instead of
        by position (for files whose attributes or levels are in another order). Attributes
        whose labels fit several of the study's attributes are reported as ambiguous.

    Returns
    -------
    (choices, respondents, sources)

    Raises
    ------
    ResponseError
        Naming the respondent, task, concept, line and value: level codes out of range, a
        header that does not fit the study, a truncated file, tasks that match no version.

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("study_cbc.cho", study, format="sawtooth",
    ...                       design=design)  # doctest: +SKIP
    """
    check_options(options, OPTIONS, "sawtooth")
    path = Path(path)
    sources = {str(path): file_sha256(path)} if path.exists() else {}
    text = _read_text(path, ".cho file")
    rep = ProblemReport(str(path))

    att_opt = options.get("att")
    att_path: Path | None = None
    if att_opt is None:
        for suffix in (".att", ".ATT", ".Att"):
            cand = path.with_suffix(suffix)
            if cand.exists() and cand != path:
                att_path = cand
                break
    elif att_opt is not False:
        att_path = Path(str(att_opt))
    attrs = list(study.attributes)
    n_attr = len(attrs)
    columns, level_maps = list(range(n_attr)), [list(range(a.n_levels)) for a in attrs]
    if att_path is not None:
        columns, level_maps = _att_mapping(
            read_att(att_path), study, str(att_path), bool(options.get("map_by_labels", False))
        )
        sources[str(att_path)] = file_sha256(att_path)

    extra_names = [str(n) for n in options.get("extra_names") or ()]
    if len(set(extra_names)) != len(extra_names) or "respondent_id" in extra_names:
        raise WinbackError(
            f"extra_names must be distinct and not 'respondent_id', got {extra_names!r}."
        )
    id_map: dict[str, str] | None = None
    if options.get("id_map") is not None:
        mp = read_csv_source(str(options["id_map"]), sources)
        need = ["sawtooth_id", "respondent_id"]
        if any(c not in mp.columns for c in need):
            raise ResponseError(
                [("header", f"the id map needs the columns {list_valid(need)}")],
                source=str(options["id_map"]),
            )
        id_map = dict(zip(mp["sawtooth_id"].str.strip(), mp["respondent_id"], strict=True))

    expected_flag = 2 if study.dual_response_none else (1 if study.none_option else 0)
    flag_words = {0: "no none option", 1: "a none option", 2: "dual-response none"}
    if study.status_quo is not None:
        raise WinbackError(
            "format='sawtooth': a status-quo alternative cannot be read from a .cho file "
            "(it is not a designed concept); export the responses in winback's format."
        )
    n_alts_study = study.design.alternatives
    applies = study.applies()
    lines = _Lines(text)
    rows: list[dict[str, object]] = []
    people: list[dict[str, object]] = []
    any_seconds = False
    unnamed_extras = 0
    shown_by_resp: dict[str, tuple[int, np.ndarray]] = {}
    try:
        while not lines.done():
            item = lines.next()
            assert item is not None
            hline, tokens = item
            head = _ints(tokens, hline, "a respondent's first line", rep)
            if len(head) != 5:
                rep.add(
                    "not a .cho file",
                    f"line {hline}: a respondent starts with 5 numbers (respondent number, "
                    f"extra variables, attributes, tasks, none option), got {len(head)}",
                )
                raise _Stop
            number, n_extra, n_att_file, n_tasks, flag = head
            rid = str(number)
            if id_map is not None:
                if rid not in id_map:
                    rep.add(
                        "unknown respondent",
                        f"line {hline}: respondent number {rid} is not in the id map",
                    )
                rid = id_map.get(rid, rid)
            who = f"respondent {rid} (line {hline})"
            if n_att_file != n_attr:
                rep.add(
                    "header",
                    f"{who}: {n_att_file} attributes; the study has {n_attr} "
                    f"({list_valid(study.attribute_names)})",
                )
                raise _Stop
            if flag not in (0, 1, 2):
                rep.add("header", f"{who}: none option {flag}; valid: 0, 1, 2 (dual response)")
                raise _Stop
            if flag != expected_flag:
                rep.add(
                    "header",
                    f"{who}: none option {flag} ({flag_words[flag]}), but the study has "
                    f"{flag_words[expected_flag]} (code {expected_flag})",
                )
            if n_extra < 0 or n_tasks < 0:
                rep.add("header", f"{who}: negative counts {head}")
                raise _Stop
            person: dict[str, object] = {"respondent_id": rid}
            if n_extra:
                item = lines.next()
                if item is None:
                    rep.add("truncated", f"{who}: the file ends before the extra variables")
                    raise _Stop
                eline, etoks = item
                if len(etoks) != n_extra or not all(_NUM_RE.match(t) for t in etoks):
                    rep.add(
                        "not a .cho file",
                        f"line {eline}: {who} has {n_extra} extra variable(s), the line holds "
                        f"{list_valid(etoks) or 'nothing'}",
                    )
                    raise _Stop
                if extra_names:
                    if len(extra_names) != n_extra:
                        rep.add(
                            "extra variables",
                            f"line {eline}: {who} has {n_extra} extra variable(s), extra_names "
                            f"gives {len(extra_names)} ({list_valid(extra_names)})",
                        )
                    for name, value in zip(extra_names, etoks, strict=False):
                        person[name] = value
                else:
                    unnamed_extras = max(unnamed_extras, n_extra)
            person[ROW_COLUMN] = hline
            people.append(person)

            shown = np.full((n_tasks, max(n_alts_study, 1), n_attr), -1, dtype=int)
            for t in range(1, n_tasks + 1):
                where = f"{who} task {t}"
                item = lines.next()
                if item is None:
                    rep.add("truncated", f"{where}: the file ends before the task")
                    raise _Stop
                tline, ttoks = item
                task_head = _ints(ttoks, tline, "a task's first line", rep)
                if not 1 <= len(task_head) <= 2 or task_head[0] < 1:
                    rep.add(
                        "not a .cho file",
                        f"line {tline}: {where} should start with 'concepts depth', got "
                        f"{' '.join(ttoks)!r}",
                    )
                    raise _Stop
                n_concepts = task_head[0]
                if len(task_head) == 2 and task_head[1] != 1:
                    rep.add(
                        "unsupported",
                        f"line {tline}: {where} has depth of preference {task_head[1]} "
                        "(ranking or best-worst); only single choices (depth 1) are supported",
                    )
                    raise _Stop
                if n_concepts != n_alts_study:
                    rep.add(
                        "wrong number of concepts",
                        f"line {tline}: {where} shows {n_concepts} concepts; the study shows "
                        f"{n_alts_study} per task (the none option is not a concept)",
                    )
                task_rows = []
                for c in range(1, n_concepts + 1):
                    item = lines.next()
                    if item is None:
                        rep.add("truncated", f"{where}: the file ends in concept {c}")
                        raise _Stop
                    cline, ctoks = item
                    codes = _ints(ctoks, cline, "level codes", rep)
                    if len(codes) != n_attr:
                        rep.add(
                            "not a .cho file",
                            f"line {cline}: {where} concept {c} has {len(codes)} level codes, "
                            f"the header says {n_attr} attributes",
                        )
                        raise _Stop
                    row: dict[str, object] = {
                        "respondent_id": rid,
                        "task": str(t),
                        "alt": str(c),
                        ROW_COLUMN: cline,
                    }
                    for col, code in enumerate(codes):
                        a_i = columns[col]
                        attr = attrs[a_i]
                        n_lev = len(level_maps[col])
                        if c <= len(applies) and not applies[c - 1][a_i]:
                            # an alternative-specific attribute on another label: code 0
                            if code != 0:
                                rep.add(
                                    "level of an absent attribute",
                                    f"line {cline}: {where} concept {c} (label "
                                    f"{study.label_of(c)!r}), attribute {col + 1} "
                                    f"({attr.name}): level code {code}; {attr.name!r} exists "
                                    f"only on {list_valid(attr.applies_to)}: code it 0 (not "
                                    "shown)",
                                )
                            row[attr.name] = ""
                            continue
                        if not 1 <= code <= n_lev:
                            extra = " (0 = attribute not shown: partial profiles are not supported)"
                            rep.add(
                                "level code out of range",
                                f"line {cline}: {where} concept {c}, attribute {col + 1} "
                                f"({attr.name}): level code {code} is outside 1..{n_lev}"
                                + (extra if code == 0 else "")
                                + f". Levels: {list_valid(attr.level_labels())}",
                            )
                            row[attr.name] = ""
                            continue
                        level = level_maps[col][code - 1]
                        row[attr.name] = attr.level_labels()[level]
                        if c <= shown.shape[1]:
                            shown[t - 1, c - 1, a_i] = level
                    task_rows.append(row)
                item = lines.next()
                if item is None:
                    rep.add("truncated", f"{where}: the file ends before the choice line")
                    raise _Stop
                chline, chtoks = item
                chosen_info = [t_ for t_ in chtoks]
                if not chosen_info or not _INT_RE.match(chosen_info[0]):
                    rep.add(
                        "not a .cho file",
                        f"line {chline}: {where}: the choice line should start with the concept "
                        f"chosen, got {' '.join(chtoks)!r}",
                    )
                    raise _Stop
                chosen = int(chosen_info[0])
                seconds = chosen_info[1] if len(chosen_info) > 1 else ""
                if seconds and not _NUM_RE.match(seconds):
                    rep.add(
                        "not a .cho file",
                        f"line {chline}: {where}: task duration {seconds!r} is not a number",
                    )
                    raise _Stop
                if seconds and float(seconds) != 0:
                    any_seconds = True
                n_valid = n_concepts + (1 if flag == 1 else 0)
                if not 0 <= chosen <= n_valid:
                    rep.add(
                        "bad choice",
                        f"line {chline}: {where}: concept chosen {chosen} is outside 0..{n_valid}"
                        + (
                            f" ({n_concepts + 1} = None)"
                            if flag == 1
                            else " (this file has no none option)"
                        ),
                    )
                would = ""
                if flag == 2:
                    buy = chosen_info[2] if len(chosen_info) > 2 else ""
                    if buy == "1":
                        would = "1"
                    elif buy == "2":
                        would = "0"
                    elif buy not in ("", "0"):
                        rep.add(
                            "bad choice",
                            f"line {chline}: {where}: dual-response answer {buy!r}; valid: 1 "
                            "(would buy), 2 (would not), 0 (not answered)",
                        )
                    elif chosen:
                        rep.add(
                            "bad choice",
                            f"line {chline}: {where}: no dual-response answer (expected "
                            "'concept duration answer duration', answer 1 = would buy, 2 = not)",
                        )
                for row in task_rows:
                    is_chosen = row["alt"] == str(chosen)
                    row["chosen"] = "1" if is_chosen else "0"
                    row["seconds"] = seconds
                    if flag == 2:
                        row["would_buy"] = would if is_chosen else ""
                    rows.append(row)
                if flag == 1:
                    none_row: dict[str, object] = {
                        "respondent_id": rid,
                        "task": str(t),
                        "alt": "none",
                        ROW_COLUMN: chline,
                        "chosen": "1" if chosen == n_concepts + 1 else "0",
                        "seconds": seconds,
                    }
                    for attr in attrs:
                        none_row[attr.name] = ""
                    rows.append(none_row)
            shown_by_resp[rid] = (hline, shown)
    except _Stop:
        pass
    rep.raise_if_any()
    if unnamed_extras:
        log.warning(
            "%s: %d extra variable(s) per respondent not read; name them with extra_names=[...]",
            path,
            unnamed_extras,
        )

    versions: dict[str, str] = {}
    if design is not None:
        versions = _versions(shown_by_resp, design, study, rep)
        rep.raise_if_any()
    cols = choice_columns(study, version=design is not None, seconds=any_seconds)
    choices = pd.DataFrame(rows)
    if design is not None and len(choices):
        choices["version"] = choices["respondent_id"].map(versions)
    choices = choices.reindex(columns=cols)

    people_frame = pd.DataFrame(people).reindex(columns=["respondent_id", *extra_names, ROW_COLUMN])
    if respondents is not None:
        given = read_csv_source(respondents, sources)
        if extra_names:
            clash = [n for n in extra_names if n in given.columns]
            if clash:
                raise ResponseError(
                    [
                        (
                            "header",
                            f"extra_names {list_valid(clash)} are also columns of the "
                            "respondents file; rename one of them",
                        )
                    ],
                    source=str(respondents),
                )
            if "respondent_id" in given.columns:
                extras = people_frame.drop(columns=ROW_COLUMN).set_index("respondent_id")
                extras = extras[~extras.index.duplicated()]
                key = given["respondent_id"].astype("string").str.strip()
                for n in extra_names:
                    given[n] = key.map(extras[n]).to_numpy()
        people_frame = given
    return choices, people_frame, sources


def _versions(
    shown_by_resp: Mapping[str, tuple[int, np.ndarray]],
    design: ChoiceDesign,
    study: Study,
    rep: ProblemReport,
) -> dict[str, str]:
    """Each respondent's design version: the one whose tasks show what the file shows."""
    out: dict[str, str] = {}
    attrs = study.attribute_names
    for rid, (line, shown) in shown_by_resp.items():
        n_t = shown.shape[0]
        if n_t == 0:
            continue
        if n_t > design.n_tasks or shown.shape[1] != design.n_alternatives:
            rep.add(
                "not in the design",
                f"respondent {rid} (line {line}): {n_t} tasks of {shown.shape[1]} concepts; the "
                f"design has {design.n_tasks} tasks of {design.n_alternatives} alternatives",
            )
            continue
        expected = design.levels[:, :n_t]  # (V, T, J, A)
        diff = expected != shown[None]
        n_diff = diff.reshape(design.n_versions, -1).sum(axis=1)
        best = int(np.argmin(n_diff))
        if n_diff[best] == 0:
            out[rid] = str(best + 1)
            continue
        t, j, a = (int(x) for x in np.argwhere(diff[best])[0])
        attr = study.attributes[a]
        got = shown[t, j, a]
        rep.add(
            "not in the design",
            f"respondent {rid} (line {line}): the levels shown match no version of the design; "
            f"closest is version {best + 1} ({int(n_diff[best])} cell(s) differ), first at task "
            f"{t + 1} concept {j + 1} {attrs[a]}: the file shows "
            f"{attr.level_labels()[got] if got >= 0 else 'nothing'!r}, the design "
            f"{attr.level_labels()[expected[best, t, j, a]]!r}",
        )
    return out
