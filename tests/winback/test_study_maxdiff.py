"""The ``[maxdiff]`` table of a study file: parsing, defaults, every problem named, the MaxDiff
question in the questionnaire."""

from __future__ import annotations

from importlib import resources

import pytest

from conjoint import make_maxdiff_design
from tests.conftest import SMALL_STUDY
from winback.errors import StudyError
from winback.study import load_study, parse_study
from winback.study.maxdiff import MaxDiffSettings, resolve_maxdiff
from winback.study.questions import DEFAULT_REASONS

pytestmark = pytest.mark.unit


def _study(table: str, extra: str = ""):
    return parse_study(SMALL_STUDY + extra + "\n[maxdiff]\n" + table)


def test_a_study_without_maxdiff_has_none_and_no_question():
    study = parse_study(SMALL_STUDY)
    assert study.maxdiff is None
    assert "maxdiff" not in study.questionnaire
    assert study.questionnaire.maxdiff is None


def test_defaults_are_the_reasons_but_other_and_the_designs_rules():
    study = _study("")
    md = study.maxdiff
    codes = [c for c, _ in DEFAULT_REASONS if c != "other"]
    assert md.items == tuple(codes)
    assert md.labels == tuple(lab for c, lab in DEFAULT_REASONS if c != "other")
    # 6 items: half of them per set, ceil(3 * 6 / 3) sets (make_maxdiff_design's defaults)
    design = make_maxdiff_design(codes, versions=1, iterations=100)
    assert (md.per_set, md.sets) == (design.per_set, design.n_sets) == (3, 6)
    assert (md.versions, md.seed) == (10, 1)
    assert "maxdiff: 6 reasons, 3 per set, 6 sets" in repr(study)


def test_the_question_sits_after_the_reason_questions_and_fills_no_column():
    study = _study('items = ["price_rise", "outages", "moved", "support"]\nper_set = 2\n')
    q = study.questionnaire
    ids = q.ids
    assert ids.index("maxdiff") == ids.index("main_reason") + 1
    assert q.question("maxdiff").block == "reasons"
    assert q.question("maxdiff").columns() == ()
    assert q.maxdiff is study.maxdiff
    assert q.columns() == parse_study(SMALL_STUDY).questionnaire.columns()
    assert study.maxdiff.label("outages") == "Outages or an unreliable service"


def test_custom_reasons_and_wording_are_used():
    reasons = """
[questionnaire]
reasons = [
  { code = "price", label = "Too expensive" },
  { code = "speed", label = "Too slow" },
  { code = "billing", label = "Billing errors" },
  { code = "other", label = "Something else" },
]
"""
    study = _study('question = "Which weighed most?"\nbest_label = "Most"\n', reasons)
    assert study.maxdiff.items == ("price", "speed", "billing")
    assert study.maxdiff.per_set == 2 and study.maxdiff.sets == 5  # ceil(9 / 2)
    assert study.questionnaire.question("maxdiff").text == "Which weighed most?"
    assert (study.maxdiff.best_label, study.maxdiff.worst_label) == ("Most", "Mattered least")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        (
            'items = ["price_rse", "outages", "moved"]',
            "'price_rse' is not a reason code. Did you mean 'price_rise'?",
        ),
        ('items = ["price_rise", "outages"]', "at least 3 items"),
        ('items = ["moved", "outages", "moved"]', "listed more than once: moved"),
        ("items = []", "'items' is empty"),
        ("items = 3", "'items' must be a list of reason codes"),
        ("per_set = 1", "'per_set' = 1 must be at least 2"),
        ("per_set = 6", "per_set must be fewer than the 6 items"),
        ("per_set = 3\nsets = 1", "sets = 1 sets of 3 show 3 items, fewer than the 6 items"),
        ("versions = 0", "'versions' = 0 must be at least 1"),
        ('seed = "x"', "'seed' must be a whole number"),
        ('question = " "', "'question' must not be empty"),
        ('best_label = "x"\nworst_label = "x"', "best_label and worst_label are the same"),
        ("per_sett = 3", "unknown key 'per_sett'. Did you mean 'per_set'?"),
    ],
)
def test_bad_tables_are_refused_naming_the_value(table, words):
    with pytest.raises(StudyError) as err:
        _study(table)
    assert words in str(err.value), str(err.value)


def test_an_extra_question_cannot_be_a_maxdiff():
    extra = '\n[[questionnaire.questions]]\nid = "rank"\ntype = "maxdiff"\ntext = "Rank"\n'
    with pytest.raises(StudyError, match="type 'maxdiff' is the MaxDiff block"):
        parse_study(SMALL_STUDY + extra)


def test_resolving_twice_is_harmless():
    once, problems = resolve_maxdiff(MaxDiffSettings(per_set=2), DEFAULT_REASONS)
    assert problems == [] and once is not None
    twice, _ = resolve_maxdiff(once, DEFAULT_REASONS)
    assert twice == once


def test_the_shipped_example_ranks_its_six_reasons():
    ref = resources.files("winback.examples").joinpath("broadband.toml")
    with resources.as_file(ref) as path:
        study = load_study(path)
    md = study.maxdiff
    assert md is not None
    assert md.items == (
        "price_rise",
        "outages",
        "support",
        "competitor_offer",
        "moved",
        "contract_terms",
    )
    assert (md.per_set, md.sets, md.versions, md.seed) == (3, 6, 10, 2026)
