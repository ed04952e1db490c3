"""The lost-customer questionnaire, as data: one definition drives every export and the web survey.

A :class:`Questionnaire` is an ordered tuple of :class:`Question` objects (plus the screen-out
rules and the conjoint block). :func:`default_questionnaire` gives sensible win-back defaults for
a study; :func:`parse_questionnaire` reads the optional ``[questionnaire]`` table of a study file;
:func:`simulate_respondents` makes realistic lost customers answering it. See
``docs/questionnaire.md``.

The questionnaire is part of the study file, so its model and parser live with the study in the
foundation layer (``winback.study.questions``, ``questionnaire_model``, ``questionnaire_defaults``,
``questionnaire_table``); simulated answers are fieldwork (:mod:`surveys.fieldwork`). This module
is the survey stage's single place to import them from.

The ``respondents.csv`` contract (column names other stages build on)::

    respondent_id, was_customer, status, previous_plan, price_paid, tenure_months,
    current_spend, current_provider, reason_price_rise, reason_outages, reason_support,
    reason_competitor_offer, reason_moved, reason_contract_terms, reason_other,
    reason_other_text, main_reason, what_happened, would_return, bring_back,
    satisfaction_before, contact_consent
    (optional, from the sample or CRM) customer_value, wave, duration_seconds
"""

from __future__ import annotations

from surveys.fieldwork import make_segments, simulate_fieldwork, simulate_respondents
from winback.study.questionnaire_defaults import default_questionnaire, slug, status_quo_problems
from winback.study.questionnaire_model import ConjointSpec, Questionnaire, evaluate_logic
from winback.study.questionnaire_table import (
    EXTRA_QUESTION_KEYS,
    OPTION_KEYS,
    QUESTIONNAIRE_KEYS,
    SHOW_IF_KEYS,
    parse_questionnaire,
)
from winback.study.questions import (
    BLOCKS,
    CONJOINT_QUESTION_ID,
    DEFAULT_REASONS,
    LOGIC_OPS,
    OPTIONAL_COLUMNS,
    QUESTION_TYPES,
    RESERVED_IDS,
    RESPONDENT_COLUMNS,
    SEGMENTS,
    Code,
    Logic,
    LogicValue,
    Question,
    QuestionnaireError,
)

__all__ = [
    "BLOCKS",
    "CONJOINT_QUESTION_ID",
    "DEFAULT_REASONS",
    "EXTRA_QUESTION_KEYS",
    "LOGIC_OPS",
    "OPTIONAL_COLUMNS",
    "OPTION_KEYS",
    "QUESTIONNAIRE_KEYS",
    "QUESTION_TYPES",
    "RESERVED_IDS",
    "RESPONDENT_COLUMNS",
    "SEGMENTS",
    "SHOW_IF_KEYS",
    "Code",
    "ConjointSpec",
    "Logic",
    "LogicValue",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "default_questionnaire",
    "evaluate_logic",
    "make_segments",
    "parse_questionnaire",
    "simulate_fieldwork",
    "simulate_respondents",
    "slug",
    "status_quo_problems",
]
