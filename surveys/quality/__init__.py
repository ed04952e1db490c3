"""Data-quality flags (moved into a package; split into modules in the next commit)."""

from surveys.quality.calibration import (
    FLAG_COLUMNS,
    flag_quality,
    quality_report,
    rlh_calibration,
)

__all__ = ["FLAG_COLUMNS", "flag_quality", "quality_report", "rlh_calibration"]
