"""Qualtrics response exports (CSV) in, and out again for round trips.

The survey is the one :mod:`surveys.fielding` writes (its embedded-data contract):

``CBC_VERSION``
    The design version the respondent saw.
``CBC_T{t}_A{j}_{attribute}``
    The level label shown for ``attribute`` (the study's attribute name) in alternative ``j``
    of task ``t`` (embedded data, so the export holds exactly what was on screen).
``CBC_SQ_{attribute}``
    Only with a status-quo alternative: its level label (the same in every task).
``CBC_T{t}``
    The choice question of task ``t``: ``1..J`` the designed alternatives, then ``J+1`` the
    status quo (if any), then the none option ("None of these", ``J+1`` without a status quo).
    Exports with the recorded choice *text* are understood when unambiguous: ``Option 2``,
    ``Alternative 2``, ``Concept 2``, the status-quo label, any text starting with ``None``; other
    wordings can be given with ``choice_labels=``.
``CBC_T{t}_DR``
    Dual-response none only: 1 = yes, I would take it; 2 = no (or texts starting Yes / No).

File layout understood: the current export with three header rows (1: column names, 2: question
texts, 3: ``{"ImportId":"QID12"}`` JSON), the older two-row form (names, texts), a single header
row (names only), with or without a UTF-8 byte-order mark, CRLF or LF line ends, question texts
spanning several lines. Line numbers in messages are lines of the file as an editor shows them.
Qualtrics can export two columns with the same name: when it is a column this reader needs, that
is an error naming both positions; otherwise the columns are not used.

What is read
------------
- Choice rows (winback's canonical long layout) for every respondent who finished
  (``Finished`` = 1/True; all when there is no ``Finished`` column) and answered at least one
  choice question. Respondents who did not finish (unless ``keep_unfinished=True``) or answered
  no choice question get no choice rows but stay in the respondents frame, so
  :func:`surveys.make_dataset` records them as excluded ("no choice tasks"): nobody is dropped.
- The respondents frame: ``respondent_id`` (from ``ResponseId``, or ``id_column=``), every
  column named as in the respondents.csv contract (``was_customer``, ``status``, ...,
  ``wave``), ``duration_seconds`` from Qualtrics' ``Duration (in seconds)`` (when not all
  blank) and any ``keep_columns=``.
- Not read: Qualtrics metadata (``StartDate``, ``EndDate``, ``Status``, ``Progress``,
  ``RecordedDate``, ``DistributionChannel``, ``UserLanguage``, ...) and other questions.
  Personal data is never copied: ``IPAddress``, ``RecipientLastName``, ``RecipientFirstName``,
  ``RecipientEmail``, ``LocationLatitude``, ``LocationLongitude`` (and ``ExternalReference``
  unless it is the ``id_column``) are dropped on reading and left blank on writing.

Answers to the questionnaire's own questions are Qualtrics choice numbers (1..k in the order the
choices were listed), which are not winback's codes (yes/no is 1/2 in Qualtrics, 1/0 in
respondents.csv). Pass ``questionnaire=`` (the :class:`surveys.questionnaire.Questionnaire`
fielded) to translate them, multi-select columns ``<id>_<k>`` included; without it the values
are kept as exported and a warning is logged.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from surveys._csv import file_sha256, sniff_separator
from surveys.dataset import EXCLUDE_REASON, NO_TASKS_REASON
from surveys.formats._common import check_options, choice_columns, read_text
from surveys.questionnaire import OPTIONAL_COLUMNS, RESPONDENT_COLUMNS
from surveys.validation import ROW_COLUMN, ProblemReport
from winback._io import atomic_write_text, check_outputs_free, escape_cell, unescape_cell
from winback.errors import ResponseError, WinbackError, did_you_mean, list_valid
from winback.study import Study, format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign
    from surveys.dataset import ChoiceDataset
    from surveys.questionnaire import Questionnaire

log = logging.getLogger("winback")

#: Qualtrics metadata columns: (name, row-2 text, row-3 ImportId).
METADATA: tuple[tuple[str, str, str], ...] = (
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
)
#: Metadata never copied anywhere (personal data).
PERSONAL_COLUMNS = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
)
DURATION_COLUMN = "Duration (in seconds)"
OPTIONS = (
    "id_column",
    "keep_unfinished",
    "questionnaire",
    "choice_labels",
    "keep_columns",
    "ignore_columns",
)

_LABELS = {name: label for name, label, _ in METADATA} | {"ResponseID": "ResponseID"}
_METADATA_NAMES = frozenset(_LABELS)
_IMPORT_ID_RE = re.compile(r"""^\s*\{\s*["']ImportId["']\s*:""")
_TASK_RE = re.compile(r"^CBC_T(\d+)$")
_DR_RE = re.compile(r"^CBC_T(\d+)_DR$")
_FIELD_RE = re.compile(r"^CBC_T(\d+)_A(\d+)_(.+)$")
_SQ_RE = re.compile(r"^CBC_SQ_(.+)$")
_ALT_TEXT_RE = re.compile(
    r"(?:alternative|option|concept|offer|profile|choice)\s*#?\s*(\d+)", re.IGNORECASE
)
_TRUE = ("1", "true")
_FALSE = ("0", "false")


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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


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


class _Recode:
    """How one questionnaire question's answers look in a Qualtrics export."""

    def __init__(self, q: Any) -> None:
        self.numeric: dict[str, str] = {}  # choice number k -> winback code
        self.text: dict[str, str] = {}  # choice text (casefolded) -> winback code
        self.out_numeric: dict[str, str] = {}  # winback code -> choice number
        self.out_text: dict[str, str] = {}  # winback code -> choice text
        for k, code in enumerate(q.codes, start=1):
            c = str(code)
            if q.type == "scale":  # written by surveys.fielding as "0 - Not at all", "1", ...
                lab = q.label(code)
                shown = f"{c} - {lab}" if lab != c else c
                self.text[c.casefold()] = c
            else:
                shown = q.label(code)
            self.numeric[str(k)] = c
            self.text[shown.strip().casefold()] = c
            self.out_numeric[c] = str(k)
            self.out_text[c] = shown


def _recodes(
    questionnaire: Questionnaire | None,
) -> tuple[dict[str, _Recode], dict[str, tuple[str, str, str]]]:
    """Per question column its recode; multi-select file columns -> (id, contract column, text)."""
    if questionnaire is None:
        return {}, {}
    single: dict[str, _Recode] = {}
    multi: dict[str, tuple[str, str, str]] = {}
    for q in questionnaire:
        if q.type in ("single", "yes_no", "scale"):
            single[q.id] = _Recode(q)
        elif q.type == "multi":
            for k, (col, (_, lab)) in enumerate(zip(q.columns(), q.options, strict=True), 1):
                multi[f"{q.id}_{k}"] = (q.id, col, lab)
    return single, multi


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
        missing = [
            f"CBC_T{t}_A{j}_{a}"
            for t in task_set
            for j in range(1, n_alts + 1)
            for a in attrs
            if (t, j, a) not in lay.fields and not len(positions.get(f"CBC_T{t}_A{j}_{a}", [])) > 1
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


def _alt_codes(study: Study) -> dict[int, str]:
    n_alts = study.design.alternatives
    codes = {j: str(j) for j in range(1, n_alts + 1)}
    nxt = n_alts + 1
    if study.status_quo is not None:
        codes[nxt] = "status_quo"
        nxt += 1
    if study.none_option:
        codes[nxt] = "none"
    return codes


def _describe_codes(codes: Mapping[int, str]) -> str:
    parts = []
    for k, alt in codes.items():
        what = {"none": "None of these", "status_quo": "status quo"}.get(alt, f"Option {alt}")
        parts.append(f"{k} ({what})")
    return ", ".join(parts)


def _parse_choice(
    text: str, codes: Mapping[int, str], study: Study, labels: Mapping[str, object]
) -> str | None:
    """The alternative an answer names ("1".."J", "status_quo", "none"); None if not understood."""
    s = text.strip()
    key = s.casefold()
    for lab, target in labels.items():
        if str(lab).strip().casefold() == key:
            t = str(target).strip().lower()
            if t.isdigit():
                return codes.get(int(t))
            return t if t in codes.values() else None
    if re.fullmatch(r"\d+(\.0+)?", s):
        return codes.get(int(float(s)))
    if m := _ALT_TEXT_RE.fullmatch(s):
        j = int(m.group(1))
        return str(j) if 1 <= j <= study.design.alternatives else None
    hits = set()
    if key.startswith("none") and "none" in codes.values():
        hits.add("none")
    sq = study.status_quo
    if sq is not None and key == sq.label.strip().casefold():
        hits.add("status_quo")
    return hits.pop() if len(hits) == 1 else None


def _is_text_export(recs: Sequence[tuple[int, list[str]]], lay: _Layout) -> bool:
    """An export of choice texts rather than numbers (Finished True/False, 'Option 2')."""
    for _, cells in recs:
        if lay.finished is not None and lay.finished < len(cells):
            if cells[lay.finished].strip().lower() in ("true", "false"):
                return True
        for i in lay.tasks.values():
            if i < len(cells) and cells[i].strip() and not cells[i].strip().isdigit():
                return True
    return False


def _parse_dual(text: str) -> str | None:
    s = text.strip().casefold()
    if s in ("1", "1.0") or s.startswith("yes"):
        return "1"
    if s in ("2", "2.0") or s.startswith("no"):
        return "0"
    return None


def read(
    path: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read a Qualtrics response export into winback's canonical long layout (as text).

    Parameters
    ----------
    path : str or Path
        The CSV export (Data & Analysis > Export data > CSV; numeric values or choice text).
    study : Study
    design : ChoiceDesign, optional
        Not needed to read (the levels shown are in the file); validation uses it.
    respondents : None
        Not used: the export itself holds the respondents' answers (see ``keep_columns``).
    id_column : str, default "ResponseId"
        Column holding the respondent id (e.g. ``"ExternalReference"`` to key on your own ids).
        The legacy export's ``ResponseID`` is accepted for the default.
    keep_unfinished : bool, default False
        Also read the choices of respondents with ``Finished`` = 0/False.
    questionnaire : Questionnaire, optional
        The questionnaire fielded: translates Qualtrics choice numbers into winback's codes.
    choice_labels : mapping, optional
        Choice texts (or recode values) used in the survey -> alternative
        (``{"Plan A": 1, "Neither": "none", "9": "none"}``); checked before the usual ones.
    keep_columns : sequence of str
        Further columns to copy into the respondents frame.
    ignore_columns : sequence of str
        Columns starting with ``CBC_`` that are not choice-task columns.

    Returns
    -------
    (choices, respondents, sources)
        ``choices``: canonical long layout as text with ``_row`` (file line of the respondent);
        ``respondents``: one row per response, with ``_row``; ``sources``: {path: sha256}.

    Raises
    ------
    ResponseError
        Every problem of the file at once (header, repeated columns, unknown levels with line and
        column, answers that are not an alternative, ...).

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("export.csv", study, format="qualtrics",
    ...                       design=design)  # doctest: +SKIP
    """
    check_options(options, OPTIONS, "qualtrics")
    if respondents is not None:
        raise WinbackError(
            "format='qualtrics' takes the respondents' answers from the export itself; "
            "respondents= is not used (copy further columns with keep_columns=[...])."
        )
    path = Path(path)
    id_column = str(options.get("id_column", "ResponseId"))
    keep_unfinished = bool(options.get("keep_unfinished", False))
    questionnaire = options.get("questionnaire")
    choice_labels: Mapping[str, object] = dict(options.get("choice_labels") or {})
    keep_columns = [str(c) for c in options.get("keep_columns") or ()]
    ignore_columns = [str(c) for c in options.get("ignore_columns") or ()]
    for c in (*keep_columns, id_column):
        if c in PERSONAL_COLUMNS and c != id_column:
            raise WinbackError(f"keep_columns: {c!r} is personal data and is never copied.")

    rep = ProblemReport(str(path))
    recs = _records(path)
    names = recs[0][1]
    names = [n.strip("\ufeff") for n in names]
    targets = _respondent_targets(questionnaire)
    single, multi = _recodes(questionnaire)
    lay = _layout(
        names,
        study,
        rep,
        id_column=id_column,
        targets=targets,
        multi=multi,
        keep_columns=keep_columns,
        ignore_columns=ignore_columns,
    )
    rep.raise_if_any()
    assert lay.id is not None

    # header rows: names, [texts], [ImportId JSON]
    body = 1
    if body < len(recs) and _is_label_row(recs[body][1], names, lay.id):
        body += 1
    if body < len(recs) and _is_import_id_row(recs[body][1]):
        body += 1

    attrs = list(study.attributes)
    n_alts = study.design.alternatives
    codes = _alt_codes(study)
    n_tasks = max(lay.tasks)
    sq = study.status_quo
    rows: list[dict[str, object]] = []
    people: list[dict[str, object]] = []
    raw_people_cols = [c for c in lay.people if c not in multi]
    text_export = _is_text_export(recs[body:], lay)
    for line, cells in recs[body:]:
        if len(cells) != len(names):
            rep.add(
                "ragged row",
                f"line {line} has {len(cells)} cells, the header has {len(names)}",
            )
            continue
        rid = cells[lay.id]  # kept exactly as written: ' 17' and '17' are two ids
        if rid.strip() in (
            names[lay.id],
            _LABELS.get(names[lay.id], ""),
            "Response ID",
        ) or _is_import_id_row(cells):
            rep.add("repeated header", f"line {line} repeats a header row (files joined?)")
            continue
        if not rid.strip():
            rep.add(
                "missing respondent id",
                f"line {line}, column {names[lay.id]!r}: "
                + ("empty" if not rid else f"{rid!r} is only white space"),
            )
            continue
        finished = True
        if lay.finished is not None:
            f = cells[lay.finished].strip().lower()
            if f in _TRUE or f == "1.0":
                finished = True
            elif f in _FALSE or f == "0.0":
                finished = False
            else:
                rep.add(
                    "bad Finished",
                    f"line {line}, column 'Finished': {cells[lay.finished]!r}; valid: 1, 0, "
                    "True, False",
                )
                continue
        person: dict[str, object] = {"respondent_id": rid}
        for col in raw_people_cols:
            raw = cells[lay.people[col]]
            v = raw.strip() if col in single else raw  # typed answers are kept exactly
            if col in single and v:
                rc = single[col]
                numeric = re.fullmatch(r"\d+", v) is not None
                code = (rc.text if text_export or not numeric else rc.numeric).get(v.casefold())
                if code is None:
                    valid = list(rc.numeric) if not text_export else list(rc.out_text.values())
                    rep.add(
                        "bad answer",
                        f"line {line}, column {col!r}: {v!r} is not one of the question's "
                        f"choices; valid: {list_valid(valid)}",
                    )
                    code = v
                v = code
            person[col] = v
        if multi:
            by_q: dict[str, list[tuple[str, str]]] = {}
            for fcol, (qid, ccol, _) in multi.items():
                if fcol in lay.people:
                    by_q.setdefault(qid, []).append((ccol, cells[lay.people[fcol]].strip()))
            for items in by_q.values():
                answered = any(v for _, v in items)
                for ccol, v in items:
                    person[ccol] = "1" if v else ("0" if answered else "")
        if lay.duration is not None:
            person["duration_seconds"] = cells[lay.duration].strip()
        person[ROW_COLUMN] = line
        people.append(person)

        answers = {t: cells[i].strip() for t, i in lay.tasks.items()}
        duals = {t: cells[i].strip() for t, i in lay.dual.items()}
        if not (finished or keep_unfinished):
            person[EXCLUDE_REASON] = UNFINISHED_REASON
            continue
        if not any(answers.values()):
            continue  # recorded by make_dataset as having no choice tasks
        version = cells[lay.version].strip() if lay.version is not None else None
        for t in range(1, n_tasks + 1):
            ans = answers.get(t, "")
            chosen_alt = None
            if ans:
                chosen_alt = _parse_choice(ans, codes, study, choice_labels)
                if chosen_alt is None:
                    rep.add(
                        "bad answer",
                        f"line {line}, column 'CBC_T{t}': {ans!r} is not an alternative. "
                        f"Valid: {_describe_codes(codes)}, or the texts 'Option 1'.."
                        f"'Option {n_alts}'"
                        + (", 'None of these'" if study.none_option else "")
                        + "; name other wordings with choice_labels=",
                    )
            would = None
            if study.dual_response_none and ans:
                d = duals.get(t, "")
                would = _parse_dual(d) if d else ""
                if would is None:
                    rep.add(
                        "bad answer",
                        f"line {line}, column 'CBC_T{t}_DR': {d!r}; valid: 1 (yes, I would take "
                        "it), 2 (no), or texts starting Yes / No",
                    )
            for j in range(1, n_alts + 1):
                row = _base_row(rid, version, t, str(j), chosen_alt, would, line)
                for a in attrs:
                    fcol = f"CBC_T{t}_A{j}_{a.name}"
                    v = cells[lay.fields[(t, j, a.name)]].strip()
                    _check_level(v, a, fcol, line, rep)
                    row[a.name] = v
                rows.append(row)
            if sq is not None:
                row = _base_row(rid, version, t, "status_quo", chosen_alt, would, line)
                for a_i, a in enumerate(attrs):
                    if a.name in lay.sq:
                        v = cells[lay.sq[a.name]].strip()
                        if v:
                            _check_level(v, a, f"CBC_SQ_{a.name}", line, rep)
                    elif sq.levels is not None:
                        v = a.level_labels()[sq.levels[a_i]]
                    else:
                        v = ""
                    row[a.name] = v
                rows.append(row)
            if study.none_option:
                row = _base_row(rid, version, t, "none", chosen_alt, would, line)
                for a in attrs:
                    row[a.name] = ""
                rows.append(row)
    rep.raise_if_any()

    if questionnaire is None and any(c in lay.people for c in RESPONDENT_COLUMNS[1:]):
        log.warning(
            "%s: questionnaire answers are kept as exported (Qualtrics choice numbers); pass "
            "questionnaire= to translate them into winback's codes",
            path,
        )
    cols = choice_columns(study, version=lay.version is not None)
    choices = pd.DataFrame(rows, columns=cols)
    if lay.version is None and "version" in choices.columns:
        choices = choices.drop(columns="version")
    people_cols = ["respondent_id"]
    present = set().union(*(p.keys() for p in people)) if people else set()
    people_cols += [c for c in targets if c in present and c != "duration_seconds"]
    people_cols += [c for c in keep_columns if c not in people_cols]
    if lay.duration is not None and any(p.get("duration_seconds") for p in people):
        people_cols.append("duration_seconds")
    if EXCLUDE_REASON in present:
        people_cols.append(EXCLUDE_REASON)
    people_cols.append(ROW_COLUMN)
    frame = pd.DataFrame(people).reindex(columns=people_cols)
    return choices, frame, {str(path): file_sha256(path)}


UNFINISHED_REASON = "did not finish the survey (Qualtrics Finished = 0)"


def _base_row(
    rid: str,
    version: str | None,
    t: int,
    alt: str,
    chosen: str | None,
    would: str | None,
    line: int,
) -> dict[str, object]:
    row: dict[str, object] = {"respondent_id": rid, "task": str(t), "alt": alt}
    if version is not None:
        row["version"] = version
    row["chosen"] = "1" if chosen == alt else "0"
    if would is not None:
        row["would_buy"] = would if chosen == alt else ""
    row[ROW_COLUMN] = line
    return row


def _check_level(value: str, attr: Any, column: str, line: int, rep: ProblemReport) -> None:
    if not value:
        rep.add(
            "empty level",
            f"line {line}, column {column!r}: empty (the embedded data was not set). "
            f"Valid levels: {list_valid(attr.level_labels())}",
        )
    elif attr.index_of(value) < 0:
        labels = attr.level_labels()
        rep.add(
            "unknown level",
            f"line {line}, column {column!r}: unknown level {value!r} for attribute "
            f"{attr.name!r}.{did_you_mean(value, labels)} Valid levels: {list_valid(labels)}",
        )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

_QUESTION_TEXTS = {
    "was_customer": "Were you a customer of ours?",
    "status": "Which best describes you now?",
    "previous_plan": "Which plan did you have?",
    "price_paid": "How much did you pay per month?",
    "tenure_months": "How many months were you a customer?",
    "current_spend": "How much do you pay per month now?",
    "current_provider": "Who is your provider now?",
    "main_reason": "What was the main reason you left?",
    "what_happened": "What happened? Please tell us in your own words.",
    "would_return": "How likely are you to come back?",
    "bring_back": "What would bring you back?",
    "satisfaction_before": "How satisfied were you before you left?",
    "contact_consent": "May we contact you about your answers?",
}


def _cell(v: object) -> str:
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return format_level(v) if v.is_integer() else repr(v)
    return str(v)


def write(
    dataset: ChoiceDataset,
    path: str | Path,
    *,
    design: ChoiceDesign | None = None,
    header_rows: int = 3,
    bom: bool = True,
    answers: str = "codes",
    questionnaire: Questionnaire | None = None,
    force: bool = False,
) -> list[Path]:
    """Write a dataset as a Qualtrics response export (CSV), for round trips and test files.

    The layout is the current export: row 1 column names, row 2 question texts (the choice
    questions' text spans two lines, as real exports often do), row 3 ``{"ImportId": ...}``
    JSON; UTF-8 with a byte-order mark; CRLF line ends. Columns: the Qualtrics metadata
    (personal data left blank), the respondents' answers (respondents-frame columns),
    ``CBC_T{t}`` (and ``CBC_T{t}_DR``), then the embedded data ``CBC_VERSION``,
    ``CBC_T{t}_A{j}_{attribute}`` (and ``CBC_SQ_{attribute}``). Respondents without choice
    rows are written with blank choice columns, and ``Finished`` = 0 when they were excluded for
    not finishing. Other exclusions are not part of the format (a warning is logged).

    Parameters
    ----------
    dataset : ChoiceDataset
    path : str or Path
    design : ChoiceDesign, optional
        Not needed (accepted for symmetry with the other formats).
    header_rows : {3, 2, 1}
        3 = current export, 2 = the older names + texts form, 1 = names only.
    bom : bool
        Start the file with a UTF-8 byte-order mark, as Qualtrics does.
    answers : {"codes", "text"}
        Numeric values (default) or the recorded choice text ("Option 2", "None of these",
        "Yes, I would take it", Finished "True"/"False").
    questionnaire : Questionnaire, optional
        Translate winback's codes into Qualtrics choice numbers (the inverse of reading).
    force : bool
        Replace an existing file.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> write(dataset, "export.csv")  # doctest: +SKIP
    """
    if header_rows not in (1, 2, 3):
        raise WinbackError(f"header_rows must be 1, 2 or 3, got {header_rows!r}.")
    if answers not in ("codes", "text"):
        raise WinbackError(f"answers must be 'codes' or 'text', got {answers!r}.")
    path = Path(path)
    check_outputs_free([path], force)
    study = dataset.study
    text_mode = answers == "text"
    ch = dataset.choices
    people = dataset.respondents
    n_alts = study.design.alternatives
    n_tasks = int(ch["task"].max()) if len(ch) else 0
    codes = {alt: k for k, alt in _alt_codes(study).items()}
    sq = study.status_quo
    other = dataset.exclusions
    dropped = other[~other["reason"].isin([NO_TASKS_REASON, UNFINISHED_REASON])]
    if len(dropped):
        log.warning(
            "%s: %d exclusion(s) are not part of the Qualtrics format and are not written",
            path,
            len(dropped),
        )

    single, multi = _recodes(questionnaire)
    multi_back: dict[str, list[tuple[str, str, str]]] = {}  # contract column -> file columns
    for fcol, (q_id, ccol, lab) in multi.items():
        multi_back.setdefault(ccol, []).append((fcol, q_id, lab))

    # -- columns: (name, row-2 text, row-3 ImportId) ------------------------------------------
    tz = ',"timeZone":"UTC"'
    cols: list[tuple[str, str, str]] = []
    for name, label, iid in METADATA:
        zone = tz if name in ("StartDate", "EndDate", "RecordedDate") else ""
        cols.append((name, label, f'{{"ImportId":"{iid}"{zone}}}'))
    answer_cols = [c for c in people.columns if c not in ("respondent_id", "duration_seconds")]
    qid = 0
    for c in answer_cols:
        qid += 1
        if c in multi_back:
            for fcol, q_id, lab in multi_back[c]:
                k = fcol.rsplit("_", 1)[1]
                text = f"{_QUESTION_TEXTS.get(q_id, q_id)} - {lab}"
                cols.append((fcol, text, f'{{"ImportId":"QID{qid}_{k}"}}'))
        else:
            cols.append((c, _QUESTION_TEXTS.get(c, c), f'{{"ImportId":"QID{qid}"}}'))
    for t in range(1, n_tasks + 1):
        cols.append(
            (
                f"CBC_T{t}",
                f"Screen {t} of {n_tasks}: which of these offers would you choose?\n"
                "(the offers are shown in a table)",
                f'{{"ImportId":"QID{100 + t}"}}',
            )
        )
        if study.dual_response_none:
            cols.append(
                (
                    f"CBC_T{t}_DR",
                    "Would you really take the offer you chose?",
                    f'{{"ImportId":"QID{300 + t}"}}',
                )
            )
    embedded = ["CBC_VERSION"]
    for t in range(1, n_tasks + 1):
        for j in range(1, n_alts + 1):
            embedded += [f"CBC_T{t}_A{j}_{a}" for a in study.attribute_names]
    if sq is not None:
        embedded += [f"CBC_SQ_{a}" for a in study.attribute_names]
    cols += [(e, e, f'{{"ImportId":"{e}"}}') for e in embedded]
    names = [c[0] for c in cols]
    index = {n: i for i, n in enumerate(names)}

    # -- rows ---------------------------------------------------------------------------------
    by_resp = {r: g for r, g in ch.groupby("respondent_id", sort=False)}
    ex = dataset.exclusions
    unfinished_ids = set(ex.loc[ex["reason"] == UNFINISHED_REASON, "respondent_id"].astype(str))
    out_rows: list[list[str]] = []
    for _, person in people.iterrows():
        rid = str(person["respondent_id"])
        cells = [""] * len(names)
        g = by_resp.get(rid)
        has_tasks = g is not None and len(g) > 0
        cells[index["Status"]] = "IP Address" if text_mode else "0"
        cells[index["Progress"]] = "100" if has_tasks else ""
        finished = has_tasks or rid not in unfinished_ids
        fin = ("True" if finished else "False") if text_mode else ("1" if finished else "0")
        cells[index["Finished"]] = fin
        cells[index["ResponseId"]] = rid
        cells[index["DistributionChannel"]] = "anonymous"
        cells[index["UserLanguage"]] = "EN"
        if "duration_seconds" in people.columns:
            cells[index[DURATION_COLUMN]] = _cell(person["duration_seconds"])
        for c in answer_cols:
            v = _cell(person[c])
            if c in multi_back:
                for fcol, _, lab in multi_back[c]:
                    cells[index[fcol]] = (lab if text_mode else "1") if v == "1" else ""
                continue
            if c in single and v:
                rc = single[c]
                v = (rc.out_text if text_mode else rc.out_numeric).get(v, v)
            cells[index[c]] = v
        if has_tasks:
            assert g is not None
            cells[index["CBC_VERSION"]] = _cell(g["version"].iloc[0])
            for t, task in g.groupby("task", sort=True):
                chosen = task.loc[task["chosen"] == 1, "alt"]
                if len(chosen):
                    alt = str(chosen.iloc[0])
                    if text_mode:
                        ans = {"none": "None of these", "status_quo": sq.label if sq else ""}.get(
                            alt, f"Option {alt}"
                        )
                    else:
                        ans = str(codes[alt])
                    cells[index[f"CBC_T{t}"]] = ans
                    if study.dual_response_none:
                        wb = task.loc[task["chosen"] == 1, "would_buy"].iloc[0]
                        if not pd.isna(wb):
                            yes = int(wb) == 1
                            if text_mode:
                                cells[index[f"CBC_T{t}_DR"]] = (
                                    "Yes, I would take it" if yes else "No, I would not"
                                )
                            else:
                                cells[index[f"CBC_T{t}_DR"]] = "1" if yes else "2"
                for _, r in task.iterrows():
                    alt = str(r["alt"])
                    for a in study.attributes:
                        v = r[a.name]
                        label = "" if pd.isna(v) else format_level(v)
                        if alt.isdigit():
                            cells[index[f"CBC_T{t}_A{alt}_{a.name}"]] = label
                        elif alt == "status_quo" and label:
                            cells[index[f"CBC_SQ_{a.name}"]] = label
        out_rows.append(cells)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([escape_cell(n) for n in names])
    if header_rows >= 2:
        w.writerow([escape_cell(c[1]) for c in cols])
    if header_rows >= 3:
        w.writerow([c[2] for c in cols])
    for cells in out_rows:
        w.writerow([escape_cell(c) for c in cells])
    atomic_write_text(path, ("\ufeff" if bom else "") + buf.getvalue())
    return [path]
