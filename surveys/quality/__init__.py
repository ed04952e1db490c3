"""Data-quality flags: ``flag_quality`` marks speeders, straight-liners, always-none answers,
random responders (RLH), failed repeated holdouts and duplicate interviews.

Flags are evidence, not verdicts: nobody is excluded here. The researcher reads the flags and
excludes with :meth:`surveys.ChoiceDataset.exclude`, which records the reason.

The package: :mod:`~surveys.quality.flags` (``flag_quality`` and its settings),
:mod:`~surveys.quality.report` (``quality_report``, ``rlh_calibration``),
:mod:`~surveys.quality.tasks` (the choices as arrays), :mod:`~surveys.quality.answers`
(durations, positions, repeats, duplicates), :mod:`~surveys.quality.fit` (individual MNL fits
shrunk towards the sample, RLH) and :mod:`~surveys.quality.calibration` (the random-responder
cutoff calibrated by simulation).
"""

from surveys.quality.calibration import (
    MAX_RANDOM_SHARE,
    MIN_DETECTION,
    MIN_RESPONDENTS_RLH,
    N_SCALE_FIT,
    SCALE_GRID,
    SCALE_RANGE,
    SCALE_REFINE,
)
from surveys.quality.fit import EB_SAMPLE, EB_UPDATES
from surveys.quality.flags import (
    DEFAULT_FALSE_FLAG,
    FLAG_COLUMNS,
    GENUINE_SOURCES,
    PARADATA_COLUMNS,
    RLH_COLUMNS,
    flag_quality,
)
from surveys.quality.report import RLH_CHECK_KEYS, quality_report, rlh_calibration

__all__ = [
    "DEFAULT_FALSE_FLAG",
    "EB_SAMPLE",
    "EB_UPDATES",
    "FLAG_COLUMNS",
    "GENUINE_SOURCES",
    "MAX_RANDOM_SHARE",
    "MIN_DETECTION",
    "MIN_RESPONDENTS_RLH",
    "N_SCALE_FIT",
    "PARADATA_COLUMNS",
    "RLH_CHECK_KEYS",
    "RLH_COLUMNS",
    "SCALE_GRID",
    "SCALE_RANGE",
    "SCALE_REFINE",
    "flag_quality",
    "quality_report",
    "rlh_calibration",
]
