"""The header of a Qualtrics export: its records with their file lines, the header rows (names,
question texts, ImportId JSON), and which column holds what (``_Layout``), every missing,
repeated, misspelt or unknown choice-task column reported at once.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from surveys._csv import sniff_separator
from surveys.formats._common import read_text
from surveys.formats.qualtrics.columns import _LABELS, _METADATA_NAMES, DURATION_COLUMN
from surveys.questionnaire import OPTIONAL_COLUMNS, RESPONDENT_COLUMNS
from surveys.validation import ProblemReport
from winback._io import unescape_cell
from winback.errors import ResponseError, did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from surveys.questionnaire import Questionnaire

log = logging.getLogger("winback")


_IMPORT_ID_RE = re.compile(r"""^\s*\{\s*["']ImportId["']\s*:""")
_TASK_RE = re.compile(r"^CBC_T(\d+)$")
_DR_RE = re.compile(r"^CBC_T(\d+)_DR$")
_FIELD_RE = re.compile(r"^CBC_T(\d+)_A(\d+)_(.+)$")
_SQ_RE = re.compile(r"^CBC_SQ_(.+)$")


def _norm(name: str) -> str:
    return re.sub(r"[\s_()]+", "_", str(name).strip().lower()).strip("_")


def _excel_column(i: int) -> str:
    """Spreadsheet letters of a 0-based column index (0 -> A, 26 -> AA)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _records(path: Path) -> list[tuple[int, list[str]]]:
    """CSV records with the file line each starts on; blank lines skipped."""
    text = read_text(
        path,
        "file",
        "not UTF-8 text at byte {byte}; export from Qualtrics as CSV (UTF-8), or save the file "
        "as CSV UTF-8",
    )
    if not text.strip():
        raise ResponseError([("empty", "the file is empty")], source=str(path))
    # a ";" or tab in place of the comma: Excel in many European locales re-saves exports so
    sep = sniff_separator(text[:65536].encode("utf-8", errors="replace"))
    if sep != ",":
        log.warning(
            "%s: read as %r-separated, as saved by Excel in many European locales", path, sep
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out: list[tuple[int, list[str]]] = []
    prev = 0
    try:
        for cells in reader:
            start = prev + 1
            prev = reader.line_num
            if cells and any(c.strip() for c in cells):
                out.append((start, [unescape_cell(c) for c in cells]))
    except csv.Error as exc:
        raise ResponseError(
            [("not a CSV table", f"line {reader.line_num}: {exc}")], source=str(path)
        ) from None
    return out


def _is_import_id_row(cells: Sequence[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return bool(filled) and sum(bool(_IMPORT_ID_RE.match(c)) for c in filled) * 2 >= len(filled)


def _is_label_row(cells: Sequence[str], names: Sequence[str], id_idx: int | None) -> bool:
    """Row 2 of a Qualtrics export: question texts (embedded data: the field name)."""
    if _is_import_id_row(cells):
        return False
    hits = [
        c.strip() in (n, _LABELS.get(n, n)) for c, n in zip(cells, names, strict=False) if c.strip()
    ]
    if id_idx is not None and id_idx < len(cells):
        idc = cells[id_idx].strip()
        if idc and idc in (names[id_idx], _LABELS.get(names[id_idx], ""), "Response ID"):
            return True
    return bool(hits) and sum(hits) * 10 >= 3 * len(hits)


class _Layout:
    """Which column holds what (indices into a record)."""

    def __init__(self) -> None:
        self.id: int | None = None
        self.finished: int | None = None
        self.duration: int | None = None
        self.version: int | None = None
        self.tasks: dict[int, int] = {}
        self.dual: dict[int, int] = {}
        self.fields: dict[tuple[int, int, str], int] = {}
        self.sq: dict[str, int] = {}
        self.people: dict[str, int] = {}  # file column -> index (respondent answers)


def _respondent_targets(questionnaire: Questionnaire | None) -> list[str]:
    if questionnaire is None:
        return [*RESPONDENT_COLUMNS[1:], *OPTIONAL_COLUMNS]
    cols = questionnaire.columns(optional=True)
    return [c for c in cols if c != "respondent_id"]


def _layout(
    names: list[str],
    study: Study,
    rep: ProblemReport,
    *,
    id_column: str,
    targets: Sequence[str],
    multi: Mapping[str, tuple[str, str, str]],
    keep_columns: Sequence[str],
    ignore_columns: Sequence[str],
) -> _Layout:
    lay = _Layout()
    attrs = study.attribute_names
    n_alts = study.design.alternatives
    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        positions.setdefault(n, []).append(i)

    needed: dict[str, str] = {}  # name -> role, for duplicate and near-miss reports
    wanted_id = id_column
    if id_column == "ResponseId" and "ResponseId" not in positions and "ResponseID" in positions:
        wanted_id = "ResponseID"  # the legacy export's spelling
    needed[wanted_id] = "respondent id"
    for n in ("Finished", DURATION_COLUMN):
        needed[n] = "metadata"
    for n in targets:
        needed[n] = "respondent answer"
    for n in multi:
        needed[n] = "respondent answer"
    for n in keep_columns:
        needed[n] = "kept column"

    def place(name: str) -> int | None:
        idx = positions.get(name, [])
        if len(idx) > 1:
            where = ", ".join(f"{_excel_column(i)} (#{i + 1})" for i in idx)
            rep.add(
                "repeated column",
                f"column {name!r} appears {len(idx)} times (columns {where}); it is needed, so "
                "which one holds the answers is ambiguous: rename or delete the extra column "
                "(Qualtrics repeats a name when two questions share an export tag)",
            )
            return None
        return idx[0] if idx else None

    cbc_patterns = (
        "CBC_VERSION, CBC_T{t}, CBC_T{t}_DR, CBC_T{t}_A{j}_{attribute}, CBC_SQ_{attribute}"
    )
    for name in positions:
        if name in ignore_columns:
            continue
        if name == "CBC_VERSION":
            lay.version = place(name)
        elif m := _TASK_RE.match(name):
            pos = place(name)
            if pos is not None:
                lay.tasks[int(m.group(1))] = pos
        elif m := _DR_RE.match(name):
            pos = place(name)
            if pos is not None:
                lay.dual[int(m.group(1))] = pos
        elif m := _FIELD_RE.match(name):
            t, j, a = int(m.group(1)), int(m.group(2)), m.group(3)
            if a not in attrs:
                rep.add(
                    "unknown column",
                    f"column {name!r}: unknown attribute {a!r}.{did_you_mean(a, attrs)} "
                    f"Attributes: {list_valid(attrs)}",
                )
            elif not 1 <= j <= n_alts:
                rep.add(
                    "unknown column",
                    f"column {name!r}: alternative {j} is outside 1..{n_alts} (the study shows "
                    f"{n_alts} alternatives per task)",
                )
            else:
                pos = place(name)
                if pos is not None:
                    lay.fields[(t, j, a)] = pos
        elif m := _SQ_RE.match(name):
            a = m.group(1)
            if study.status_quo is None:
                rep.add(
                    "unknown column",
                    f"column {name!r}: the study has no status-quo alternative ([status_quo])",
                )
            elif a not in attrs:
                rep.add(
                    "unknown column",
                    f"column {name!r}: unknown attribute {a!r}.{did_you_mean(a, attrs)} "
                    f"Attributes: {list_valid(attrs)}",
                )
            else:
                pos = place(name)
                if pos is not None:
                    lay.sq[a] = pos
        elif name.strip().upper().startswith("CBC_"):
            rep.add(
                "unknown column",
                f"column {name!r} looks like a choice-task column but is not one of "
                f"{cbc_patterns} (names are case-sensitive; pass ignore_columns=[{name!r}] "
                "if it is something else)",
            )
        elif name == wanted_id:
            lay.id = place(name)
        elif name == "Finished":
            lay.finished = place(name)
        elif name == DURATION_COLUMN:
            lay.duration = place(name)
        elif name in targets or name in multi or name in keep_columns:
            pos = place(name)
            if pos is not None:
                lay.people[name] = pos
        elif name not in _METADATA_NAMES:
            near = [n for n in needed if _norm(n) == _norm(name)]
            if near:
                rep.add(
                    "header",
                    f"column {name!r} looks like {near[0]!r} ({needed[near[0]]}): fix the "
                    "spelling of the header",
                )
    if "duration_seconds" in lay.people and lay.duration is not None:
        rep.add(
            "header",
            f"both 'duration_seconds' and {DURATION_COLUMN!r}: keep one of them",
        )
    if lay.id is None and wanted_id not in positions:
        hint = "" if id_column != "ResponseId" else " (or name the id column with id_column=)"
        rep.add(
            "header",
            f"missing column {id_column!r}, the respondent id{hint}."
            f"{did_you_mean(id_column, list(positions))}",
        )
    for n in keep_columns:
        if n not in positions:
            rep.add(
                "header",
                f"keep_columns: no column {n!r}.{did_you_mean(n, list(positions))}",
            )

    # -- the choice-task columns must be complete -------------------------------------------
    if not lay.tasks and not any(_TASK_RE.match(n) for n in positions):
        rep.add(
            "header",
            "no choice questions: expected columns CBC_T1, CBC_T2, ... (the survey written by "
            "surveys.fielding.write_qualtrics_questions)",
        )
        return lay
    found = sorted(lay.tasks)
    if found:
        n_tasks = max(found)
        gaps = [
            t
            for t in range(1, n_tasks + 1)
            if t not in lay.tasks and len(positions.get(f"CBC_T{t}", [])) < 2
        ]
        if gaps:
            rep.add(
                "header",
                f"missing choice question column(s) {list_valid(f'CBC_T{t}' for t in gaps)} "
                f"(found CBC_T1..CBC_T{n_tasks} otherwise)",
            )
        task_set = range(1, n_tasks + 1)
        # a labelled study's alternative-specific attribute needs no column where it is absent
        applies = study.applies()
        missing = [
            f"CBC_T{t}_A{j}_{a}"
            for t in task_set
            for j in range(1, n_alts + 1)
            for ai, a in enumerate(attrs)
            if applies[j - 1][ai]
            and (t, j, a) not in lay.fields
            and not len(positions.get(f"CBC_T{t}_A{j}_{a}", [])) > 1
        ]
        if missing:
            rep.add(
                "header",
                f"missing {len(missing)} embedded-data column(s) with the levels shown, e.g. "
                f"{list_valid(missing[:5])}; every task needs CBC_T{{t}}_A{{j}}_{{attribute}} "
                f"for j = 1..{n_alts} and attributes {list_valid(attrs)}",
            )
        extra_t = sorted({t for (t, _, _) in lay.fields if t not in lay.tasks})
        if extra_t:
            rep.add(
                "header",
                f"levels for task(s) {list_valid(extra_t)} but no choice question "
                f"{list_valid(f'CBC_T{t}' for t in extra_t)}",
            )
        if study.dual_response_none:
            lacking = [f"CBC_T{t}_DR" for t in task_set if t not in lay.dual]
            if lacking:
                rep.add(
                    "header",
                    f"missing dual-response column(s) {list_valid(lacking)}: the study has "
                    "dual_response_none = true",
                )
        elif lay.dual:
            rep.add(
                "header",
                f"column(s) {list_valid(f'CBC_T{t}_DR' for t in sorted(lay.dual))}: the "
                "study has no dual-response none (dual_response_none = true)",
            )
    return lay
