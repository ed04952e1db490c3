"""The study folder of survey waves: its layout (``study.toml``, ``waves/<W>/responses.csv``,
``waves/<W>/results/``, ``comparisons/``), the waves found in it and the level map between
waves.
"""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any

from surveys._csv import file_sha256
from winback.errors import WinbackError, did_you_mean, list_valid

log = logging.getLogger("winback")

STUDY_FILE = "study.toml"
MARKET_FILE = "market.toml"
LEVEL_MAP_FILE = "level_map.toml"
WAVES_FILE = "waves.toml"
WAVES_DIR = "waves"
RESULTS_DIR = "results"
COMPARISONS_DIR = "comparisons"
RESPONSES_FILE = "responses.csv"
RESPONDENTS_FILE = "respondents.csv"
DESIGN_FILE = "design.csv"
WAVE_RECORD = "wave.json"
COMPARISON_FILES = (
    "partworths.csv",
    "importances.csv",
    "wtp.csv",
    "reasons.csv",
    "offers.csv",
    "comparison.txt",
    "comparison.xlsx",
    "comparison.json",
)

_WAVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


# --------------------------------------------------------------------------------------------
# The study folder
# --------------------------------------------------------------------------------------------


def _natural_key(text: str) -> list[Any]:
    return [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", text) if t]


def _study_dir(study_dir: str | Path) -> Path:
    p = Path(study_dir)
    if not p.is_dir():
        raise WinbackError(
            f"no study folder at {p}: expected a folder holding {STUDY_FILE} and "
            f"{WAVES_DIR}/<wave>/{RESPONSES_FILE} (see docs/waves.md)."
        )
    if not (p / STUDY_FILE).is_file():
        raise WinbackError(
            f"{p} holds no {STUDY_FILE}: a study folder needs the study file at its top "
            f"({p / STUDY_FILE})."
        )
    return p


def _found_waves(study: Path) -> list[str]:
    root = study / WAVES_DIR
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if p.is_dir() and _WAVE_ID.match(p.name)]


def list_waves(study_dir: str | Path) -> list[str]:
    """The study folder's waves, in order.

    Every folder under ``waves/`` (names of letters, digits, ``.``, ``_`` and ``-``; hidden
    folders are ignored), in natural order (``w2`` before ``w10``) or in the order of
    ``waves.toml`` (``order = ["spring", "autumn"]``), which must then list every wave.

    Examples
    --------
    >>> from winback.waves import list_waves
    >>> list_waves("broadband-study")  # doctest: +SKIP
    ['w1', 'w2']
    """
    study = _study_dir(study_dir)
    found = sorted(_found_waves(study), key=_natural_key)
    path = study / WAVES_FILE
    if not path.is_file():
        return found
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WinbackError(f"{path} is not valid TOML: {exc}") from None
    unknown = [k for k in data if k != "order"]
    if unknown:
        raise WinbackError(
            f"{path}: unknown key(s) {list_valid(unknown)}"
            + did_you_mean(unknown[0], ["order"])
            + "; valid: order."
        )
    order = data.get("order")
    if not isinstance(order, list) or not all(isinstance(w, str) for w in order):
        raise WinbackError(f'{path}: order must be a list of wave ids, e.g. order = ["w1", "w2"].')
    problems = []
    missing = [w for w in order if w not in found]
    if missing:
        problems.append(
            f"it lists {list_valid(missing)}, which have no folder under {study / WAVES_DIR}"
        )
    unlisted = [w for w in found if w not in order]
    if unlisted:
        problems.append(f"it does not list {list_valid(unlisted)}")
    if len(set(order)) != len(order):
        problems.append("it lists a wave twice")
    if problems:
        raise WinbackError(
            f"{path}: " + "; ".join(problems) + f". Waves found: {list_valid(found) or 'none'}."
        )
    return list(order)


def _results(study: Path, wave: str) -> Path:
    return study / WAVES_DIR / wave / RESULTS_DIR


def waves_with_results(study_dir: str | Path) -> list[str]:
    """The waves (in order) whose ``results/`` are complete (hold ``wave.json``)."""
    study = _study_dir(study_dir)
    return [w for w in list_waves(study) if (_results(study, w) / WAVE_RECORD).is_file()]


def _wave_dir(study: Path, wave: str) -> Path:
    waves = list_waves(study)
    if not _WAVE_ID.match(wave):
        raise WinbackError(
            f"'{wave}' is not a valid wave id: use letters, digits, '.', '_' and '-' (not "
            f"first). Waves in {study / WAVES_DIR}: {list_valid(waves) or 'none'}."
        )
    if wave not in waves:
        raise WinbackError(
            f"no wave '{wave}' in {study}: expected the folder {study / WAVES_DIR / wave} "
            f"holding {RESPONSES_FILE}."
            + did_you_mean(wave, waves)
            + f" Waves: {list_valid(waves) or 'none yet'}."
        )
    return study / WAVES_DIR / wave


def wave_study_path(study_dir: str | Path, wave: str) -> Path:
    """The study file a wave uses: its own ``waves/<W>/study.toml``, else the study folder's."""
    study = _study_dir(study_dir)
    own = study / WAVES_DIR / wave / STUDY_FILE
    return own if own.is_file() else study / STUDY_FILE


def read_level_map(path: str | Path) -> dict[str, dict[str, str]]:
    """Read ``level_map.toml``: one table per attribute, ``"old label" = "new label"``.

    ``"old label" = ""`` says the level was dropped in a later wave. Labels are matched as
    text (numbers as the study writes them: ``"30"``, ``"1.5"``).

    Examples
    --------
    >>> read_level_map("level_map.toml")  # doctest: +SKIP
    {'support': {'24/7': '24/7 priority'}}
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise WinbackError(f"level map not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WinbackError(f"{path} is not valid TOML: {exc}") from None
    problems = []
    out: dict[str, dict[str, str]] = {}
    for attr, table in data.items():
        if not isinstance(table, dict):
            problems.append(
                f"'{attr}' must be a table of renamed levels, e.g. [{attr}] "
                f'"old label" = "new label"; got {table!r}'
            )
            continue
        out[attr] = {}
        for old, new in table.items():
            if isinstance(new, int | float) and not isinstance(new, bool):
                new = str(new)
            if not isinstance(new, str):
                problems.append(f'[{attr}] "{old}" must map to a label (text), got {new!r}')
                continue
            out[attr][str(old)] = new
    if problems:
        raise WinbackError(f"{path}: " + "; ".join(problems) + ".")
    return out


def _level_map(study: Path) -> tuple[dict[str, dict[str, str]], Path | None]:
    path = study / LEVEL_MAP_FILE
    return (read_level_map(path), path) if path.is_file() else ({}, None)


def _sha(path: Path) -> str:

    return file_sha256(path)


def _rel(path: Path, study: Path) -> str:
    try:
        return path.relative_to(study).as_posix()
    except ValueError:
        return str(path)
