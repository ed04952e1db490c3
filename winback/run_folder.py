"""The run folder: the one contract of the hand-off between stages.

A run folder holds the study (``study.toml``), the market (``market.toml``) and one folder per
stage: ``design/``, ``fieldwork/``, ``import/``, ``maxdiff/`` (the MaxDiff of reasons),
``fit/``, ``latent_class/``, ``simulate/``, ``recommend/``, ``crm/`` (the demo's CRM list),
``target/`` (the campaign), ``outcomes/`` (what the campaign did), ``report/``. Every stage
writes its files and a ``run.json`` that records what made them (the command, its settings, the
study's SHA-256, winback's version, the time), and reads the stages before it through
:class:`RunFolder`, which knows every file name. A stage folder may also be written on its own
(``winback fit --out my-fit``); it carries its ``run.json`` all the same. See
``docs/architecture.md``.

Examples
--------
>>> run = RunFolder("winback-demo")
>>> run.file(FIT, "fit.nc")
PosixPath('winback-demo/fit/fit.nc')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from winback import __version__
from winback._io import write_json
from winback.errors import WinbackError, list_valid

if TYPE_CHECKING:
    from winback.study import Study

#: the version of the run-folder layout (``run.json`` and the stage files); a reader refuses a
#: newer one instead of misreading it
RUN_FORMAT = 1
#: the record every stage folder carries
RECORD = "run.json"
STUDY_FILE = "study.toml"
MARKET_FILE = "market.toml"


@dataclass(frozen=True)
class Stage:
    """One stage's folder in a run: its name and every file it may write (beside run.json)."""

    name: str
    files: tuple[str, ...]

    @property
    def owned(self) -> tuple[str, ...]:
        """What the stage replaces when it is rerun: its files and its record."""
        return (*self.files, RECORD)


DESIGN = Stage(
    "design",
    (
        "design.csv",
        "design_sawtooth.csv",
        "design_qualtrics.csv",
        "diagnostics.json",
        "diagnostics.txt",
        "level_balance.csv",
        "versions.csv",
        "qualtrics_questions.txt",
        "qualtrics_embedded_data.csv",
        "questionnaire.md",
        "qualtrics_status_quo_rules.csv",
        STUDY_FILE,
        "assignments.csv",
        "maxdiff_design.csv",
        "maxdiff_diagnostics.txt",
    ),
)
FIELDWORK = Stage("fieldwork", ("responses.csv", "respondents.csv", "maxdiff.csv"))
IMPORT = Stage(
    "import",
    (
        "responses.csv",
        "respondents.csv",
        "exclusions.csv",
        "quality.csv",
        "counts.csv",
        "reasons.csv",
        "reasons.txt",
        "import.json",
        "maxdiff.csv",
    ),
)
#: the MaxDiff of reasons for leaving (``winback fit`` when the import folder holds
#: ``maxdiff.csv``; fitted before the CBC, whose covariates ``maxdiff_<item>`` it supplies)
MAXDIFF = Stage(
    "maxdiff",
    (
        "population.csv",
        "scores.csv",
        "utilities.csv",
        "counts.csv",
        "convergence.json",
        "convergence.txt",
    ),
)
FIT = Stage(
    "fit",
    (
        "partworths.csv",
        "fit.nc",
        "diagnostics.json",
        "convergence.txt",
        "importances.csv",
        "population.csv",
        "validation.csv",
    ),
)
#: a latent class fit (``winback fit --model latent-class``; in a run folder beside ``fit/``,
#: whose HB draws stay the simulator's model while the classes become a respondent column)
LATENT_CLASS = Stage(
    "latent_class",
    (
        "classes.csv",
        "class_sizes.csv",
        "memberships.csv",
        "class_selection.csv",
        "class_covariates.csv",
        "latent_class.json",
        "latent_class.txt",
    ),
)
#: what a fit replaces in its folder: a fit folder holds one fit, HB or latent classes, never
#: both (either kind refuses to replace the other without --force)
FIT_OWNED = (*FIT.owned, *LATENT_CLASS.files)
SIMULATE = Stage(
    "simulate",
    (
        "shares.csv",
        "source_of_volume.csv",
        "price_curves.csv",
        "elasticities.csv",
        "wtp.csv",
        "calibrated_shares.csv",
        "calibration.csv",
        "money.csv",
    ),
)
RECOMMEND = Stage(
    "recommend",
    (
        "offers.csv",
        "segments.csv",
        "tiers.csv",
        "upgrade_paths.csv",
        "cannibalisation.csv",
        "tiers_summary.csv",
        "unbundling.csv",
        "unbundling_summary.csv",
        "addons.csv",
        "decision.csv",
        "decision_sources.csv",
        "calibration.csv",
        "recommend.txt",
        "decision_actions.json",
    ),
)
REPORT = Stage(
    "report",
    (
        "winback_report.xlsx",
        "importances.png",
        "price_curves.png",
        "tier_shares.png",
        "winback_report.pdf",
    ),
)
#: the CRM list of lost customers (the demo's simulated one; yours is wherever you keep it)
CRM = Stage("crm", ("lost_customers.csv", "campaign_results.csv"))
#: the campaign plan for the CRM list (``winback target``)
TARGET = Stage("target", ("campaign.csv", "campaign_summary.csv", "actions.csv", "actions.json"))
#: what a campaign's outcome says, and the calibration it gives (``winback outcomes``)
OUTCOMES = Stage(
    "outcomes",
    (
        "outcomes_by_action.csv",
        "outcomes_by_segment.csv",
        "calibration_curve.csv",
        "uplift.csv",
        "calibration.toml",
        "outcomes_summary.csv",
        "outcomes.txt",
    ),
)
STAGES = (
    DESIGN,
    FIELDWORK,
    IMPORT,
    MAXDIFF,
    FIT,
    LATENT_CLASS,
    SIMULATE,
    RECOMMEND,
    CRM,
    TARGET,
    OUTCOMES,
    REPORT,
)
_BY_NAME = {s.name: s for s in STAGES}


def stage(name: str | Stage) -> Stage:
    """The stage called ``name`` (or ``name`` itself when it is a :class:`Stage`)."""
    if isinstance(name, Stage):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise WinbackError(f"unknown stage {name!r}; valid: {list_valid(_BY_NAME)}.") from None


def study_sha256(study: Study) -> str:
    """SHA-256 of the study's content (its tables as canonical JSON): the same for the same
    study whatever the file's comments, spacing or key order."""
    text = json.dumps(dict(study.raw), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """What made a stage folder: the ``run.json`` beside its files.

    ``settings`` holds every choice that shapes the numbers (band, rule, objective, seed,
    draws, ...), under the names of the Python API.
    """

    command: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    study_sha256: str | None = None
    winback_version: str = __version__
    written: str = ""
    format: int = RUN_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "command": self.command,
            "settings": dict(self.settings),
            "study_sha256": self.study_sha256,
            "winback_version": self.winback_version,
            "written": self.written,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = RECORD) -> RunRecord:
        fmt = d.get("format")
        if not isinstance(fmt, int) or fmt < 1:
            raise WinbackError(f"{source}: 'format' must be a whole number >= 1, got {fmt!r}.")
        if fmt > RUN_FORMAT:
            raise WinbackError(
                f"{source} was written by a newer winback (run format {fmt}; this winback "
                f"{__version__} reads up to {RUN_FORMAT}): upgrade winback to read it."
            )
        settings = d.get("settings") or {}
        if not isinstance(settings, Mapping):
            raise WinbackError(f"{source}: 'settings' must be a table, got {settings!r}.")
        return cls(
            command=str(d.get("command", "")),
            settings=dict(settings),
            study_sha256=d.get("study_sha256"),
            winback_version=str(d.get("winback_version", "")),
            written=str(d.get("written", "")),
            format=fmt,
        )


def write_record(
    folder: str | Path,
    command: str,
    settings: Mapping[str, Any],
    study: Study | None,
    *,
    paths: Mapping[str, str | Path | None] | None = None,
) -> RunRecord:
    """Write ``run.json`` into ``folder`` (a stage's staging folder) and return it.

    ``paths`` (inputs such as the market file or the fit folder) are recorded relative to the
    stage folder, so they stay right when the staging folder, which sits beside the target,
    is renamed into place.
    """
    folder = Path(folder)
    rel = {
        k: None if v is None else os.path.relpath(Path(v).absolute(), folder.absolute())
        for k, v in (paths or {}).items()
    }
    rec = RunRecord(
        command=command,
        settings={**{k: _plain(v) for k, v in settings.items()}, **rel},
        study_sha256=None if study is None else study_sha256(study),
        written=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    write_json(rec.to_dict(), folder / RECORD)
    return rec


def read_record(folder: str | Path) -> RunRecord | None:
    """The ``run.json`` of a stage folder, or None for a folder written before records."""
    path = Path(folder) / RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WinbackError(f"{path} is not valid JSON ({exc}); rerun the stage.") from None
    if not isinstance(data, Mapping):
        raise WinbackError(f"{path} must hold a JSON object; rerun the stage.")
    return RunRecord.from_dict(data, source=str(path))


def _plain(v: Any) -> Any:
    """A setting as JSON can hold it (paths as text, tuples as lists)."""
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class RunFolder:
    """A run folder: where each stage's files are, and what made them.

    Parameters
    ----------
    root : str or Path
        The run folder (``winback demo``'s, or one the commands wrote into).

    Examples
    --------
    >>> run = RunFolder("winback-demo")
    >>> run.file("simulate", "shares.csv")
    PosixPath('winback-demo/simulate/shares.csv')
    """

    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    @property
    def study_file(self) -> Path:
        return self.root / STUDY_FILE

    @property
    def market_file(self) -> Path:
        return self.root / MARKET_FILE

    def folder(self, name: str | Stage) -> Path:
        """The folder of a stage."""
        return self.root / stage(name).name

    def file(self, name: str | Stage, filename: str) -> Path:
        """The path of one of a stage's files (a name the stage does not write is an error)."""
        st = stage(name)
        if filename not in st.owned:
            raise WinbackError(
                f"the {st.name} stage writes no file {filename!r}; its files: "
                f"{list_valid(st.owned)}."
            )
        return self.root / st.name / filename

    def has(self, name: str | Stage, filename: str | None = None) -> bool:
        """Whether the stage's folder (or one of its files) is there."""
        if filename is None:
            return self.folder(name).is_dir()
        return self.file(name, filename).is_file()

    def record(self, name: str | Stage) -> RunRecord | None:
        """The stage's ``run.json`` (None when the stage is missing or older than records)."""
        return read_record(self.folder(name))

    def setting(self, name: str | Stage, key: str, default: Any = None) -> Any:
        """One setting the stage was run with, ``default`` when it was not recorded."""
        rec = self.record(name)
        if rec is None:
            return default
        return rec.settings.get(key, default)

    def __repr__(self) -> str:
        present = [s.name for s in STAGES if self.folder(s).is_dir()]
        return f"RunFolder({str(self.root)!r}: {', '.join(present) or 'no stages yet'})"
