"""The study file (``study.toml``): a typed, closed schema.

Every table and key is known; an unknown key is an error with a "did you mean" hint, a bad value
is an error that names where it is and what is valid. All problems in a file are reported at once.
See ``docs/study-file.md`` for the reference.

The package is the foundation every stage builds on: :mod:`~winback.study.model` (the schema),
:mod:`~winback.study.checks` and :mod:`~winback.study.tables` (parsing the tables),
:mod:`~winback.study.parse` (:func:`load_study`), and the questionnaire the study file declares
(:mod:`~winback.study.questions`, :mod:`~winback.study.questionnaire_model`,
:mod:`~winback.study.questionnaire_defaults`, :mod:`~winback.study.questionnaire_table`).
"""

from __future__ import annotations

from winback.study.business import Business, Calibration, read_calibration, read_calibration_file
from winback.study.model import (
    ALGORITHMS,
    CODINGS,
    DESIGN_METHODS,
    PREFERENCES,
    PRIOR_KINDS,
    RESERVED_NAMES,
    SIGNS,
    STATUS_QUO_PLAN_QUESTION,
    STATUS_QUO_PRICE_QUESTION,
    Attribute,
    Coding,
    Costs,
    DesignSettings,
    FrozenDict,
    Holdout,
    Level,
    Priors,
    Prohibition,
    StatusQuo,
    Study,
    format_level,
)
from winback.study.parse import TOP_KEYS, load_study, parse_study, study_from_dict
from winback.study.tables import STATUS_QUO_KEYS, parameter_layout

__all__ = [
    "ALGORITHMS",
    "CODINGS",
    "DESIGN_METHODS",
    "PREFERENCES",
    "PRIOR_KINDS",
    "RESERVED_NAMES",
    "SIGNS",
    "STATUS_QUO_KEYS",
    "STATUS_QUO_PLAN_QUESTION",
    "STATUS_QUO_PRICE_QUESTION",
    "TOP_KEYS",
    "Attribute",
    "Business",
    "Calibration",
    "Coding",
    "Costs",
    "DesignSettings",
    "FrozenDict",
    "Holdout",
    "Level",
    "Priors",
    "Prohibition",
    "StatusQuo",
    "Study",
    "format_level",
    "load_study",
    "parameter_layout",
    "parse_study",
    "read_calibration",
    "read_calibration_file",
    "study_from_dict",
]
