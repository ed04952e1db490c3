"""The study file parser (winback.study): what is accepted, and how every kind of bad input is
reported. Fast: no design search, no sampling."""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pytest

from conjoint.encoding import parameter_names
from conjoint.priors import prior_draws
from tests.conftest import SMALL_STUDY, make_study
from winback.errors import StudyError, WinbackError
from winback.study import (
    DESIGN_METHODS,
    RESERVED_NAMES,
    DesignSettings,
    Study,
    load_study,
    parse_study,
)

# The minimum the spec says must be accepted, verbatim.
SPEC_MINIMAL = """\
[study]
name = "Broadband win-back, wave 1"
none_option = true
dual_response_none = false

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]
coding = "linear"

[design]
method = "d_efficient"
alternatives = 3
tasks = 12
versions = 1
seed = 1

[costs]
base = 12.0
plan = { Standard = 6.0, Premium = 14.0 }
"""

# The same without [costs], so that an error test sees only the problem it plants.
BASE = SPEC_MINIMAL.split("[costs]")[0]

SUPPORT = """
[[attributes]]
name = "support"
levels = ["Standard", "Priority"]
"""

# A holdout alternative as an inline table; {price} is filled in.
ALT = '{{ plan = "{plan}", price = {price} }}'


def variant(old: str, new: str, text: str = BASE) -> str:
    """``text`` with one exact snippet replaced (fails loudly if the snippet is not there)."""
    assert text.count(old) == 1, f"snippet not found once: {old!r}"
    return text.replace(old, new)


def problems(text: str) -> list[str]:
    """The problems a study text is rejected with."""
    with pytest.raises(StudyError) as info:
        parse_study(text)
    return info.value.problems


def expect(text: str, *substrings: str, count: int = 1) -> str:
    """Assert the text is rejected with ``count`` problems, one of them holding every substring.

    Returns that problem.
    """
    found = problems(text)
    assert len(found) == count, found
    hits = [msg for msg in found if all(s in msg for s in substrings)]
    assert hits, f"no problem contains all of {substrings}: {found}"
    return hits[0]


# --------------------------------------------------------------------------------------------
# Accepted files
# --------------------------------------------------------------------------------------------


def test_spec_minimal_file_is_accepted_with_the_right_types():
    study = parse_study(SPEC_MINIMAL)
    assert isinstance(study, Study)
    assert study.name == "Broadband win-back, wave 1"
    assert study.none_option is True
    assert study.dual_response_none is False
    assert study.has_none is True
    assert study.attribute_names == ["plan", "price"]

    plan, price = study.attributes
    assert plan.levels == ("Basic", "Standard", "Premium")
    assert all(isinstance(v, str) for v in plan.levels)
    assert plan.coding == "partworth"
    assert plan.reference == "Basic"
    assert not plan.numeric
    assert plan.preference is None

    assert price.levels == (30.0, 40.0, 50.0, 60.0)
    assert all(type(v) is float for v in price.levels)
    assert price.numeric
    assert price.coding == "linear"
    assert price.reference == 30.0
    assert price.level_labels() == ["30", "40", "50", "60"]

    assert study.price_attribute == "price"
    assert price.preference == "decreasing"

    d = study.design
    assert (d.method, d.alternatives, d.tasks, d.versions, d.seed) == ("d_efficient", 3, 12, 1, 1)
    # the keys not given keep their defaults
    defaults = DesignSettings()
    assert (d.algorithm, d.starts, d.max_seconds, d.unique_levels) == (
        defaults.algorithm,
        defaults.starts,
        defaults.max_seconds,
        (),
    )
    assert (d.no_dominated, d.shuffle, d.linear_as_partworth) == (False, True, True)

    assert study.costs is not None
    assert study.costs.base == 12.0
    # the reference level costs 0 unless stated; price has no cost entry
    assert study.costs.as_dict() == {"plan": (0.0, 6.0, 14.0)}

    assert study.prohibitions == ()
    assert study.holdouts == ()
    assert study.status_quo is None
    assert study.priors.kind == "null"
    assert study.currency == "USD"
    assert study.n_profiles == 12
    assert parameter_names(study) == ["plan[Standard]", "plan[Premium]", "price", "none"]


def test_whole_number_levels_become_floats_and_are_found_by_value():
    study = parse_study(variant("[30.0, 40.0, 50.0, 60.0]", "[30, 40, 50, 60]"))
    price = study.attribute("price")
    assert price.levels == (30.0, 40.0, 50.0, 60.0)
    assert all(type(v) is float for v in price.levels)
    assert price.index_of(40) == 1
    assert price.index_of("50") == 2
    assert price.index_of(45) == -1
    assert study.attribute("plan").index_of(" Premium ") == 2


def test_load_study_reads_a_file_and_records_its_source(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(SPEC_MINIMAL, encoding="utf-8")
    study = load_study(path)
    assert study.source == str(path)
    assert study == parse_study(SPEC_MINIMAL, source=str(path))
    assert load_study(str(path)).attribute_names == ["plan", "price"]


def test_the_shipped_example_file_loads():
    ref = resources.files("winback.examples").joinpath("broadband.toml")
    with resources.as_file(ref) as path:
        study = load_study(path)
    assert study.attribute_names == [
        "speed",
        "tv",
        "mobile",
        "contract",
        "support",
        "outage_credit",
        "price",
    ]
    assert study.currency == "EUR"
    assert study.price_attribute == "price"
    assert study.attribute("price").coding == "linear"
    assert study.attribute("speed").preference == "increasing"
    assert study.design.no_dominated is True
    assert study.design.max_seconds == 60.0
    assert [p.as_dict() for p in study.prohibitions] == [{"speed": (0,), "tv": (2,)}]
    (holdout,) = study.holdouts
    assert holdout.name == "bundle_vs_entry"
    assert holdout.alternatives[0] == (2, 2, 2, 0, 1, 1, 4)
    names = parameter_names(study)
    assert len(names) == len(study.priors.mean) == len(study.priors.sd) == 12
    mean = dict(zip(names, study.priors.mean, strict=True))
    assert mean["speed[1 Gbps]"] == 1.35
    assert mean["support[24/7 priority]"] == 0.75
    assert mean["price"] == -0.08
    assert mean["none"] == -3.0
    assert study.costs is not None
    assert study.costs.as_dict()["tv"] == (0.0, 7.0, 19.0)


def test_defaults_when_optional_tables_are_left_out():
    study = parse_study(
        '[study]\nname = "x"\n[[attributes]]\nname = "plan"\nlevels = ["A", "B", "C"]\n'
    )
    assert study.design == DesignSettings()
    assert study.design.method == "balanced_overlap"
    assert study.none_option is False and study.has_none is False
    assert study.price_attribute is None
    assert study.costs is None
    assert parameter_names(study) == ["plan[B]", "plan[C]"]


def test_dual_response_none_is_a_follow_up_question_not_an_alternative():
    study = parse_study(variant("dual_response_none = false", "dual_response_none = true"))
    assert study.dual_response_none is True
    assert study.none_option is False
    assert study.has_none is True
    assert parameter_names(study)[-1] == "none"


def test_explicit_price_attribute_and_preference_are_kept():
    text = variant('name = "price"', 'name = "fee"').replace(
        'coding = "linear"', 'coding = "linear"\npreference = "increasing"'
    )
    text = variant("dual_response_none = false", 'price_attribute = "fee"', text)
    study = parse_study(text)
    assert study.price_attribute == "fee"
    assert study.attribute("fee").preference == "increasing"


def test_unique_levels_all_means_every_attribute():
    study = parse_study(variant("seed = 1", 'seed = 1\nunique_levels = "all"'))
    assert study.design.unique_levels == ("plan", "price")


def test_status_quo_adds_its_constant():
    fixed = parse_study(
        BASE + '[status_quo]\nlabel = "Your old plan"\nlevels = { plan = "Standard", price = 40 }\n'
    )
    assert fixed.status_quo is not None and fixed.status_quo.levels == (1, 1)
    assert fixed.status_quo.label == "Your old plan"
    assert parameter_names(fixed)[-2:] == ["none", "status_quo"]
    own = parse_study(
        BASE
        + "[status_quo]\nprice_from_paid = true\n[status_quo.plans]\n"
        + "".join(f'{p} = {{ plan = "{p}" }}\n' for p in ("Basic", "Standard", "Premium"))
    )
    assert own.status_quo is not None and own.status_quo.per_respondent
    assert parameter_names(own)[-2:] == ["none", "status_quo"]
    assert parse_study(BASE + "[status_quo]\nenabled = false\n").status_quo is None


def test_status_quo_without_a_profile_is_refused_with_the_ways_to_give_one():
    (msg,) = problems(BASE + '[status_quo]\nlabel = "Your old plan"\n')
    for fix in ("levels = {", "[status_quo.plans]", "price_from_paid = true", "enabled = false"):
        assert fix in msg, f"{fix!r} not offered in: {msg}"


# --------------------------------------------------------------------------------------------
# Unknown keys
# --------------------------------------------------------------------------------------------


def test_unknown_top_level_key_gets_a_did_you_mean_hint():
    msg = expect(BASE + "[desing]\nstarts = 2\n", "top level", "'desing'")
    assert "Did you mean 'design'?" in msg
    assert "Valid keys:" in msg
    for key in ("study", "attributes", "design", "prohibitions", "priors", "costs"):
        assert key in msg


def test_unknown_key_in_study_table():
    msg = expect(variant("none_option = true", "none_opton = true"), "[study]", "'none_opton'")
    assert "Did you mean 'none_option'?" in msg
    assert "dual_response_none" in msg and "price_attribute" in msg


def test_unknown_key_in_design_table():
    msg = expect(variant("seed = 1", "seed = 1\nshufle = false"), "[design]", "'shufle'")
    assert "Did you mean 'shuffle'?" in msg
    assert "linear_as_partworth" in msg and "unique_levels" in msg


def test_unknown_key_in_an_attribute():
    msg = expect(variant('coding = "linear"', 'codng = "linear"'), "[[attributes]] #2", "'codng'")
    assert "Did you mean 'coding'?" in msg
    assert "levels" in msg and "preference" in msg


# --------------------------------------------------------------------------------------------
# Bad values and types
# --------------------------------------------------------------------------------------------


def test_bad_design_method_lists_the_valid_methods():
    msg = expect(
        variant('method = "d_efficient"', 'method = "d_optimal"'),
        "[design]",
        "'method'",
        "'d_optimal'",
        "is not valid",
    )
    for m in DESIGN_METHODS:
        assert m in msg
    msg = expect(
        variant('method = "d_efficient"', 'method = "d-efficient"'),
        "[design]",
        "'method'",
        "'d-efficient'",
    )
    assert "Did you mean 'd_efficient'?" in msg


def test_bad_algorithm_lists_the_valid_algorithms():
    msg = expect(
        variant("seed = 1", 'seed = 1\nalgorithm = "annealing"'),
        "[design]",
        "'algorithm'",
        "'annealing'",
    )
    assert "coordinate" in msg and "fedorov" in msg


@pytest.mark.parametrize(
    ("old", "new", "table", "key", "wanted", "value"),
    [
        ("tasks = 12", 'tasks = "twelve"', "[design]", "'tasks'", "a whole number", "'twelve'"),
        ("tasks = 12", "tasks = 12.5", "[design]", "'tasks'", "a whole number", "12.5"),
        ("seed = 1", "seed = true", "[design]", "'seed'", "a whole number", "True"),
        (
            "none_option = true",
            'none_option = "yes"',
            "[study]",
            "'none_option'",
            "true or false",
            "'yes'",
        ),
        (
            "seed = 1",
            'seed = 1\nmax_seconds = "60"',
            "[design]",
            "'max_seconds'",
            "a number",
            "'60'",
        ),
        ('name = "Broadband win-back, wave 1"', "name = 42", "[study]", "'name'", "text", "42"),
    ],
)
def test_wrong_types_name_table_key_expected_type_and_value(old, new, table, key, wanted, value):
    msg = expect(variant(old, new), table, key, value)
    assert f"must be {wanted}" in msg


def test_whole_number_is_accepted_where_a_number_is_expected():
    study = parse_study(variant("seed = 1", "seed = 1\nmax_seconds = 30"))
    assert study.design.max_seconds == 30.0
    assert isinstance(study.design.max_seconds, float)


@pytest.mark.parametrize(
    ("old", "new", "key", "minimum"),
    [
        ("alternatives = 3", "alternatives = 1", "'alternatives' = 1", "at least 2"),
        ("tasks = 12", "tasks = 0", "'tasks' = 0", "at least 1"),
        ("versions = 1", "versions = 0", "'versions' = 0", "at least 1"),
        ("seed = 1", "seed = -5", "'seed' = -5", "at least 0"),
    ],
)
def test_design_counts_below_their_minimum(old, new, key, minimum):
    expect(variant(old, new), "[design]", key, minimum)


def test_more_alternatives_than_distinct_profiles():
    text = variant('["Basic", "Standard", "Premium"]', '["Basic", "Standard"]')
    text = variant("[30.0, 40.0, 50.0, 60.0]", "[30.0, 40.0]", text)
    expect(
        variant("alternatives = 3", "alternatives = 5", text),
        "[design]",
        "5 alternatives",
        "only 4 distinct profiles",
    )


def test_missing_study_name_and_missing_study_table():
    expect(variant('name = "Broadband win-back, wave 1"\n', ""), "[study]", "'name' is required")
    expect(BASE.replace("[study]", "[studdy]"), "missing the [study] table", count=2)


# --------------------------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------------------------


def test_fewer_than_two_levels():
    msg = expect(
        variant('["Basic", "Standard", "Premium"]', '["Basic"]'),
        "[[attributes]] 'plan'",
        "at least two levels",
    )
    assert "['Basic']" in msg


def test_missing_levels():
    expect(
        variant('levels = ["Basic", "Standard", "Premium"]\n', ""),
        "[[attributes]] 'plan'",
        "'levels'",
        "at least two levels",
        "None",
    )


def test_duplicated_text_levels():
    msg = expect(
        variant('["Basic", "Standard", "Premium"]', '["Basic", "Standard", "Basic "]'),
        "[[attributes]] 'plan'",
        "duplicated levels",
    )
    assert "['Basic']" in msg


def test_duplicated_numeric_levels():
    expect(
        variant("[30.0, 40.0, 50.0, 60.0]", "[30.0, 40, 40.0, 60]"),
        "[[attributes]] 'price'",
        "duplicated levels",
        "['40']",
    )


def test_mixed_text_and_number_levels():
    msg = expect(
        variant('["Basic", "Standard", "Premium"]', '["Basic", 2, "Premium"]'),
        "[[attributes]] 'plan'",
        "all text or all numbers",
    )
    assert "'Basic'" in msg and "2" in msg


def test_text_levels_that_look_like_numbers_mixed_with_words():
    expect(
        variant('["Basic", "Standard", "Premium"]', '["100", "300", "Fast"]'),
        "[[attributes]] 'plan'",
        "look like numbers",
        "'100'",
        "'300'",
    )


def test_linear_coding_needs_numeric_levels():
    text = variant(
        'levels = ["Basic", "Standard", "Premium"]',
        'levels = ["Basic", "Standard", "Premium"]\ncoding = "linear"',
    )
    msg = expect(text, "[[attributes]] 'plan'", 'coding = "linear"', "numeric levels")
    assert "Basic" in msg


def test_bad_coding_and_bad_preference_list_the_valid_values():
    msg = expect(
        variant('coding = "linear"', 'coding = "dummy"'),
        "[[attributes]] 'price'",
        "'coding'",
        "'dummy'",
    )
    assert "partworth" in msg and "linear" in msg
    text = variant(
        'levels = ["Basic", "Standard", "Premium"]',
        'levels = ["Basic", "Standard", "Premium"]\npreference = "ascending"',
    )
    msg = expect(text, "[[attributes]] 'plan'", "'preference'", "'ascending'")
    assert "increasing" in msg and "decreasing" in msg


def test_price_attribute_must_be_numeric_and_must_exist():
    text = variant("[30.0, 40.0, 50.0, 60.0]", '["cheap", "dear"]').replace(
        'coding = "linear"\n', ""
    )
    expect(text, "'price'", "price attribute needs numeric levels")
    msg = expect(
        variant("dual_response_none = false", 'price_attribute = "prize"'),
        "[study]",
        "price_attribute 'prize'",
        "is not an attribute",
    )
    assert "Did you mean 'price'?" in msg and "plan, price" in msg


@pytest.mark.parametrize("reserved", ["chosen", "none", "respondent_id", "status_quo", "task"])
def test_reserved_attribute_names(reserved):
    msg = expect(
        variant('name = "plan"', f'name = "{reserved}"'),
        f"[[attributes]] '{reserved}'",
        f"'{reserved}' is reserved",
        "Reserved:",
    )
    assert all(r in msg for r in RESERVED_NAMES)


@pytest.mark.parametrize("bad", ["2plan", "monthly price", "plan-type", "_plan", "plän"])
def test_invalid_attribute_names(bad):
    expect(
        variant('name = "plan"', f'name = "{bad}"'),
        f"[[attributes]] '{bad}'",
        "must start with a letter",
        "letters, digits and underscores",
        "'label'",
    )


def test_duplicated_attribute_names():
    expect(
        BASE + SUPPORT.replace('"support"', '"plan"'),
        "[[attributes]] 'plan'",
        "the name is used twice",
    )


def test_no_attributes():
    expect('[study]\nname = "x"\n', "no [[attributes]]")


# --------------------------------------------------------------------------------------------
# Prohibitions
# --------------------------------------------------------------------------------------------


def test_prohibition_is_parsed_to_level_indices():
    study = parse_study(BASE + '[[prohibitions]]\nplan = "Basic"\nprice = [60, 50.0]\n')
    assert [p.as_dict() for p in study.prohibitions] == [{"plan": (0,), "price": (2, 3)}]


def test_prohibition_with_unknown_attribute():
    msg = expect(
        BASE + '[[prohibitions]]\nplna = "Basic"\nprice = 60\n',
        "[[prohibitions]] #1",
        "unknown attribute 'plna'",
    )
    assert "Did you mean 'plan'?" in msg
    assert "Attributes: plan, price" in msg


def test_prohibition_with_unknown_text_level_lists_valid_levels():
    msg = expect(
        BASE + '[[prohibitions]]\nplan = "Premum"\nprice = 60\n',
        "[[prohibitions]] #1",
        "unknown level 'Premum'",
        "'plan'",
    )
    assert "Did you mean 'Premium'?" in msg
    assert "Valid levels: Basic, Standard, Premium" in msg


def test_prohibition_with_unknown_numeric_level_lists_valid_levels():
    expect(
        BASE + '[[prohibitions]]\nplan = "Basic"\nprice = [60, 65]\n',
        "[[prohibitions]] #1",
        "unknown level 65",
        "'price'",
        "Valid levels: 30, 40, 50, 60",
    )


def test_prohibition_with_one_attribute():
    expect(
        BASE + '[[prohibitions]]\nplan = "Basic"\n\n[[prohibitions]]\nplan = "Premium"\n'
        "price = 30\n",
        "[[prohibitions]] #1",
        "at least two attributes",
        "'Basic'",
    )


def test_prohibition_with_an_empty_level_list():
    expect(
        BASE + "[[prohibitions]]\nplan = []\nprice = 30\n",
        "[[prohibitions]] #1",
        "no levels given for 'plan'",
    )


# --------------------------------------------------------------------------------------------
# Holdouts
# --------------------------------------------------------------------------------------------


def _holdout(*alts: str, name: str = "h1") -> str:
    return f'[[holdouts]]\nname = "{name}"\nalternatives = [{", ".join(alts)}]\n'


def test_holdout_is_parsed_to_level_indices():
    text = BASE + _holdout(
        ALT.format(plan="Basic", price=30),
        ALT.format(plan="Standard", price=40),
        ALT.format(plan="Premium", price="60.0"),
    )
    (h,) = parse_study(text).holdouts
    assert h.name == "h1"
    assert h.alternatives == ((0, 0), (1, 1), (2, 3))


def test_holdout_with_the_wrong_number_of_alternatives():
    text = BASE + _holdout(
        ALT.format(plan="Basic", price=30), ALT.format(plan="Standard", price=40)
    )
    expect(text, "[[holdouts]] #1", "exactly 3 alternatives")


def test_holdout_alternative_missing_an_attribute():
    text = BASE + _holdout(
        ALT.format(plan="Basic", price=30),
        '{ plan = "Standard" }',
        ALT.format(plan="Premium", price=60),
    )
    expect(text, "[[holdouts]] #1 alternative 2", "missing levels for price")


def test_holdout_with_unknown_level_or_attribute():
    text = BASE + _holdout(
        ALT.format(plan="Basic", price=30),
        ALT.format(plan="Gold", price=40),
        '{ plan = "Premium", price = 60, tv = "Yes" }',
    )
    found = problems(text)
    assert len(found) == 2, found
    assert any(
        "alternative 2" in m
        and "unknown level 'Gold'" in m
        and "Valid levels: Basic, Standard, Premium" in m
        for m in found
    )
    assert any("alternative 3" in m and "unknown attribute 'tv'" in m for m in found)


def test_holdout_with_identical_alternatives_and_duplicated_names():
    alts = (
        ALT.format(plan="Basic", price=30),
        ALT.format(plan="Basic", price=30),
        ALT.format(plan="Premium", price=60),
    )
    expect(BASE + _holdout(*alts), "[[holdouts]] #1", "two alternatives are identical")
    ok = (
        ALT.format(plan="Basic", price=30),
        ALT.format(plan="Standard", price=30),
        ALT.format(plan="Premium", price=60),
    )
    expect(BASE + _holdout(*ok) + _holdout(*ok), "[[holdouts]]", "'h1' is used twice")


# --------------------------------------------------------------------------------------------
# Design constraints
# --------------------------------------------------------------------------------------------


def test_unique_levels_on_an_attribute_with_fewer_levels_than_alternatives():
    text = variant("seed = 1", 'seed = 1\nunique_levels = ["plan", "support"]') + SUPPORT
    msg = expect(text, "[design]", "unique_levels", "'support'", "2 levels", "3 alternatives")
    assert "plan" not in msg


def test_unique_levels_with_unknown_attribute():
    msg = expect(
        variant("seed = 1", 'seed = 1\nunique_levels = ["plans"]'),
        "[design] unique_levels",
        "unknown attribute 'plans'",
    )
    assert "Did you mean 'plan'?" in msg


# --------------------------------------------------------------------------------------------
# Priors: errors
# --------------------------------------------------------------------------------------------


def test_prior_for_an_unknown_parameter():
    msg = expect(
        BASE + "[priors]\nmean = { plna = 0.5 }\n", "[priors] mean", "unknown attribute 'plna'"
    )
    assert "Did you mean 'plan'?" in msg
    assert "plan, price, none" in msg


def test_prior_for_status_quo_without_a_status_quo():
    expect(
        BASE + "[priors]\nsd = { status_quo = 0.5 }\n",
        "[priors] sd",
        "unknown attribute 'status_quo'",
        "plan, price, none",
    )


def test_prior_mean_for_the_reference_level():
    msg = expect(
        BASE + "[priors]\nmean = { plan = { Basic = 0.1, Premium = 1.0 } }\n",
        "[priors] mean.plan",
        "'Basic'",
        "reference level",
    )
    assert "Standard, Premium" in msg


def test_prior_mean_for_an_unknown_level():
    expect(
        BASE + "[priors]\nmean = { plan = { Gold = 1.0 } }\n",
        "[priors] mean.plan",
        "unknown level 'Gold'",
        "Valid levels: Basic, Standard, Premium",
    )


def test_prior_list_of_the_wrong_length():
    msg = expect(
        BASE + "[priors]\nmean = { plan = [0.5, 1.0, 1.5] }\n",
        "[priors] mean.plan",
        "a list of 2 numbers",
    )
    assert "[0.5, 1.0, 1.5]" in msg


def test_prior_sd_must_be_positive_and_kind_must_be_known():
    expect(
        BASE + '[priors]\nkind = "normal"\nsd = { price = 0.0 }\n',
        "[priors]",
        "every sd must be positive",
        "0.0",
    )
    msg = expect(BASE + '[priors]\nkind = "gaussian"\n', "[priors]", "'kind'", "'gaussian'")
    for kind in ("null", "normal", "sign", "correlated"):
        assert kind in msg


def test_correlated_prior_without_a_matrix_lists_the_parameter_order():
    expect(
        BASE + '[priors]\nkind = "correlated"\n',
        "[priors]",
        'kind = "correlated"',
        "'correlation'",
        "'covariance'",
        "4 x 4",
        "plan[Standard], plan[Premium], price, none",
    )


@pytest.mark.parametrize(
    ("matrix", "wanted"),
    [
        (
            "[[1.0, 0.9, 0.9, 0.0], [0.9, 1.0, -0.9, 0.0], [0.9, -0.9, 1.0, 0.0],"
            " [0.0, 0.0, 0.0, 1.0]]",
            "'correlation' is not positive definite",
        ),
        (
            "[[1.0, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0],"
            " [0.0, 0.0, 0.0, 1.0]]",
            "'correlation' is not symmetric",
        ),
        ("[[1.0, 0.0], [0.0, 1.0]]", "'correlation' must be a 4 x 4 matrix"),
        (
            "[[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0],"
            " [0.0, 0.0, 0.0, 2.0]]",
            "1 on its diagonal",
        ),
        (
            '[["a", 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]',
            "every entry of 'correlation' must be a finite number",
        ),
    ],
)
def test_correlated_prior_with_a_bad_matrix(matrix, wanted):
    expect(BASE + f'[priors]\nkind = "correlated"\ncorrelation = {matrix}\n', "[priors]", wanted)


def test_covariance_with_a_negative_variance_is_a_study_error():
    found = problems(
        BASE + '[priors]\nkind = "correlated"\n'
        "covariance = [[-1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]\n"
    )
    assert any("non-positive variance" in m and "-1.0" in m for m in found), found


def test_matrix_without_kind_correlated_and_sign_without_kind_sign():
    expect(
        BASE + '[priors]\nkind = "normal"\ncorrelation = [[1.0]]\n',
        "[priors]",
        'need kind = "correlated"',
        '"normal"',
    )
    expect(
        BASE + '[priors]\nkind = "normal"\nsign = { price = "negative" }\n',
        "[priors]",
        "'sign' needs kind = \"sign\"",
    )


def test_sign_prior_with_a_bad_sign_lists_the_valid_signs():
    msg = expect(
        BASE + '[priors]\nkind = "sign"\nsign = { price = "postive" }\n',
        "[priors] sign.price",
        "'postive'",
        "is not valid",
    )
    assert "Did you mean 'positive'?" in msg
    assert "positive, negative, increasing, decreasing" in msg


def test_sign_prior_without_a_sign_table_or_with_unknown_attribute():
    expect(BASE + '[priors]\nkind = "sign"\n', "[priors]", 'kind = "sign" needs a [priors.sign]')
    expect(
        BASE + '[priors]\nkind = "sign"\nsign = { prise = "negative" }\n',
        "[priors] sign",
        "unknown attribute 'prise'",
        "Did you mean 'price'?",
    )


# --------------------------------------------------------------------------------------------
# Costs, none option, TOML and file errors
# --------------------------------------------------------------------------------------------


def test_costs_for_an_unknown_level():
    text = variant("Premium = 14.0", "Platinum = 14.0", SPEC_MINIMAL)
    msg = expect(text, "[costs] plan", "unknown level 'Platinum'")
    assert "Valid levels: Basic, Standard, Premium" in msg


def test_costs_for_an_unknown_attribute_and_bad_cost_values():
    msg = expect(
        SPEC_MINIMAL + 'speed = { "1 Gbps" = 3.0 }\n', "[costs]", "unknown attribute 'speed'"
    )
    assert "'base'" in msg and "plan, price" in msg
    expect(
        variant("Premium = 14.0", 'Premium = "14"', SPEC_MINIMAL),
        "[costs] plan.Premium",
        "must be a number",
        "'14'",
    )
    expect(variant("base = 12.0", 'base = "12"', SPEC_MINIMAL), "[costs]", "'base'", "'12'")


def test_dual_response_none_with_none_option_false():
    text = variant(
        "none_option = true\ndual_response_none = false",
        "none_option = false\ndual_response_none = true",
    )
    expect(text, "[study]", "dual_response_none = true", "none_option cannot be false")


def test_invalid_toml_syntax_names_the_line(tmp_path):
    msg = expect(variant("tasks = 12", "tasks 12"), "not valid TOML", "line 18")
    assert msg.startswith("not valid TOML")
    path = tmp_path / "study.toml"
    path.write_text(variant("tasks = 12", "tasks 12"), encoding="utf-8")
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert str(path) in str(info.value)
    assert "line 18" in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "study.toml"
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert "file not found" in str(info.value)
    assert str(path) in str(info.value)
    # a StudyError is a WinbackError and a ValueError
    assert isinstance(info.value, WinbackError) and isinstance(info.value, ValueError)


def test_a_directory_is_a_study_error_not_an_os_error(tmp_path):
    with pytest.raises(StudyError) as info:
        load_study(tmp_path)
    assert "cannot read the file" in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "study.toml"
    path.write_bytes(SPEC_MINIMAL.replace("Premium", "Prémium").encode("latin-1"))
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert "not UTF-8" in str(info.value)
    assert str(path) in str(info.value)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "study.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SPEC_MINIMAL.encode("utf-8"))
    assert load_study(path).name == "Broadband win-back, wave 1"
    # text read without decoding the BOM away still parses
    assert parse_study("\ufeff" + SPEC_MINIMAL).name == "Broadband win-back, wave 1"


# --------------------------------------------------------------------------------------------
# All problems at once
# --------------------------------------------------------------------------------------------


def test_several_problems_are_reported_in_one_error():
    text = (
        variant("tasks = 12", 'tasks = "twelve"', SPEC_MINIMAL)
        .replace(
            'levels = ["Basic", "Standard", "Premium"]', 'levels = ["Basic", "Standard", "Basic"]'
        )
        .replace("Premium = 14.0", "Gold = 14.0")
        + '\n[desing]\nstarts = 2\n\n[[prohibitions]]\nplan = "Basic"\nprice = 35\n'
    )
    with pytest.raises(StudyError) as info:
        parse_study(text, source="study.toml")
    err = info.value
    found = err.problems
    assert len(found) == 5, found
    expected = [
        ("top level", "'desing'", "Did you mean 'design'?"),
        ("[design]", "'tasks'", "'twelve'"),
        ("[[attributes]] 'plan'", "duplicated levels", "['Basic']"),
        ("[[prohibitions]] #1", "unknown level 35", "Valid levels: 30, 40, 50, 60"),
        ("[costs] plan", "unknown level 'Gold'", "Valid levels: Basic, Standard, Basic"),
    ]
    for subs in expected:
        assert any(all(s in m for s in subs) for m in found), (subs, found)
    text_of_error = str(err)
    assert text_of_error.startswith("study.toml: 5 problems in the study file:")
    assert all(f"  - {m}" in text_of_error for m in found)
    assert err.source == "study.toml"


# --------------------------------------------------------------------------------------------
# Priors: where values land and what the draws look like
# --------------------------------------------------------------------------------------------


def test_prior_means_as_level_table_and_as_list_land_on_the_right_parameters():
    by_table = parse_study(
        BASE + "[priors]\ndraws = 20\n"
        "mean = { plan = { Premium = 1.2, Standard = 0.4 }, price = -0.05, none = -1.5 }\n"
        "sd = { plan = [0.3, 0.6], price = 0.01 }\n"
    )
    by_list = parse_study(
        BASE + "[priors]\ndraws = 20\n"
        "mean = { plan = [0.4, 1.2], price = -0.05, none = -1.5 }\n"
        "sd = { plan = { Standard = 0.3, Premium = 0.6 }, price = 0.01 }\n"
    )
    names = parameter_names(by_table)
    assert names == ["plan[Standard]", "plan[Premium]", "price", "none"]
    for study in (by_table, by_list):
        assert study.priors.kind == "normal"  # a mean without a kind means normal
        assert study.priors.draws == 20
        assert dict(zip(names, study.priors.mean, strict=True)) == {
            "plan[Standard]": 0.4,
            "plan[Premium]": 1.2,
            "price": -0.05,
            "none": -1.5,
        }
        # parameters not given keep sd 1
        assert dict(zip(names, study.priors.sd, strict=True)) == {
            "plan[Standard]": 0.3,
            "plan[Premium]": 0.6,
            "price": 0.01,
            "none": 1.0,
        }


def test_prior_scalar_applies_to_every_parameter():
    study = parse_study(BASE + '[priors]\nkind = "normal"\nmean = 0.25\nsd = 2\n')
    assert study.priors.mean == (0.25,) * 4
    assert study.priors.sd == (2.0,) * 4


def test_prior_draws_shapes():
    null = parse_study(BASE)
    assert np.array_equal(prior_draws(null), np.zeros((1, 4)))
    normal = parse_study(
        BASE + "[priors]\ndraws = 37\nmean = { price = -0.05 }\nsd = { price = 0.01 }\n"
    )
    draws = prior_draws(normal)
    assert draws.shape == (37, len(parameter_names(normal)))
    assert np.array_equal(draws, prior_draws(normal))  # same seed, same draws
    assert abs(draws[:, 2].mean() + 0.05) < 0.01


def test_sign_draws_have_the_stated_signs_and_increasing_orders_the_levels():
    study = parse_study(
        BASE + '[priors]\nkind = "sign"\ndraws = 300\n'
        'sign = { plan = "increasing", price = "negative", none = "negative" }\n'
    )
    draws = prior_draws(study)
    assert draws.shape == (300, 4)
    standard, premium, price, none = draws.T
    assert np.all(standard > 0)  # above the reference level (0)
    assert np.all(premium > standard)
    assert np.all(price < 0)
    assert np.all(none < 0)


def test_sign_draws_decreasing_and_positive():
    study = parse_study(
        BASE + '[priors]\nkind = "sign"\ndraws = 200\n'
        'sign = { plan = "decreasing", price = "positive" }\n'
    )
    standard, premium, price, none = prior_draws(study).T
    assert np.all(standard < 0)
    assert np.all(premium < standard)
    assert np.all(price > 0)
    assert np.any(none < 0) and np.any(none > 0)  # unsigned: plain normal


def test_correlated_draws_reproduce_the_stated_correlation():
    study = parse_study(
        BASE + '[priors]\nkind = "correlated"\ndraws = 2000\n'
        "mean = { price = -0.05 }\n"
        "sd = { plan = 0.5, price = 0.02, none = 2.0 }\n"
        "correlation = [[1.0, 0.6, -0.3, 0.0], [0.6, 1.0, 0.0, 0.0],"
        " [-0.3, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]\n"
    )
    stated = np.asarray(study.priors.correlation)
    draws = prior_draws(study)
    assert draws.shape == (2000, 4)
    assert np.allclose(np.corrcoef(draws.T), stated, atol=0.1)
    assert np.allclose(draws.std(axis=0), [0.5, 0.5, 0.02, 2.0], rtol=0.1)
    assert abs(draws[:, 2].mean() + 0.05) < 0.005


def test_covariance_is_split_into_sd_and_correlation():
    study = parse_study(
        BASE + '[priors]\nkind = "correlated"\n'
        "covariance = [[4.0, 1.0, 0, 0], [1.0, 1.0, 0, 0], [0, 0, 0.01, 0], [0, 0, 0, 1.0]]\n"
    )
    assert np.allclose(study.priors.sd, [2.0, 1.0, 0.1, 1.0])
    assert np.allclose(np.asarray(study.priors.correlation)[0, 1], 0.5)
    assert np.allclose(np.diag(study.priors.correlation), 1.0)


# --------------------------------------------------------------------------------------------
# Immutability
# --------------------------------------------------------------------------------------------


def test_study_is_frozen():
    study = parse_study(SPEC_MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.name = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.design.tasks = 4  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.attributes[0].levels = ("A", "B")  # type: ignore[misc]
    assert isinstance(study.attributes, tuple)
    assert isinstance(study.attributes[0].levels, tuple)
    assert hash(study) == hash(parse_study(SPEC_MINIMAL))


def test_replace_design_returns_a_changed_copy():
    study = parse_study(SPEC_MINIMAL)
    before = dataclasses.asdict(study.design)
    changed = study.replace_design(tasks=8, versions=3, method="random")
    assert changed is not study
    assert (changed.design.tasks, changed.design.versions, changed.design.method) == (
        8,
        3,
        "random",
    )
    assert changed.design.alternatives == study.design.alternatives
    assert changed.attributes == study.attributes
    assert changed.costs == study.costs
    assert dataclasses.asdict(study.design) == before
    assert study.design.tasks == 12
    with pytest.raises(TypeError, match="tsks"):
        study.replace_design(tsks=8)


# --------------------------------------------------------------------------------------------
# Checks added after review: nothing set is silently ignored
# --------------------------------------------------------------------------------------------


def test_questionnaire_table_is_checked_and_market_is_unknown():
    expect(BASE + "\n[questionnaire]\nscreener = true\n", "screener")
    expect(BASE + "\n[market]\nx = 1\n", "unknown key 'market'")
    study = parse_study(BASE + '\n[questionnaire]\ncompetitors = ["FastNet", "CityFibre"]\n')
    provider = study.questionnaire.question("current_provider")
    assert "FastNet" in [label for _, label in provider.options]
    assert parse_study(BASE).questionnaire is not None  # the default questionnaire


def test_prior_kind_follows_from_the_keys_given():
    study = parse_study(BASE + "\n[priors]\nsd = 0.5\n")
    assert study.priors.kind == "normal" and set(study.priors.sd) == {0.5}
    expect(BASE + '\n[priors]\nkind = "null"\nsd = 0.5\n', 'kind = "null" ignores', "normal")


def test_a_sign_prior_rejects_a_mean_for_the_same_parameter():
    prior = (
        '[priors]\nkind = "sign"\n[priors.mean]\nprice = -0.1\n[priors.sign]\nprice = "negative"\n'
    )
    text = BASE + "\n" + prior
    expect(text, "mean.price would be ignored")


def test_replace_design_validates_like_the_file():
    study = parse_study(BASE)
    with pytest.raises(StudyError, match="'alternatives' = 1"):
        study.replace_design(alternatives=1)
    with pytest.raises(StudyError, match="d_efficent"):
        study.replace_design(method="d_efficent")
    with pytest.raises(TypeError, match="Valid:"):
        study.replace_design(colour="red")


def test_holdout_showing_a_prohibited_profile_is_a_file_error():
    text = (
        BASE
        + """
[[prohibitions]]
plan = "Basic"
price = 60.0

[[holdouts]]
name = "h"
alternatives = [
  { plan = "Basic", price = 60.0 },
  { plan = "Standard", price = 40.0 },
  { plan = "Premium", price = 50.0 },
]
"""
    )
    expect(text, "'h' alternative 1 shows a prohibited combination", "plan = Basic", "price = 60")


def test_raw_table_of_a_study_is_read_only():
    study = parse_study(BASE)
    with pytest.raises(TypeError):
        study.raw["study"] = {}  # type: ignore[index]


# -- [business] and [calibration] ------------------------------------------------------------

BUSINESS = """
[business]
lost_customers = 48000
horizon_months = 12
retention_months = 20
contact_cost = 1.5
incentive = 10
margin = { "FibreHome bundle" = 31.0 }

[calibration]
kind = "winback_rate"
observed = 0.18
n = 2400
availability = 0.7
source = "autumn 2025 win-back mailing"
"""


def test_business_and_calibration_tables_are_read() -> None:
    study = make_study(SMALL_STUDY + BUSINESS)
    b, c = study.business, study.calibration
    assert b is not None and c is not None
    assert (b.lost_customers, b.horizon_months, b.contact_cost, b.incentive) == (48000, 12, 1.5, 10)
    assert b.margin_of("FibreHome bundle") == 31.0 and b.margin_of("other") is None
    # churn 1/20 a month: sum over 12 months of 0.95^(m-1) = (1 - 0.95^12) / 0.05
    assert b.months_retained == pytest.approx(9.19279825, abs=1e-8), b.months_retained
    assert (c.kind, c.observed, c.n, c.availability) == (
        "winback_rate",
        (("winback", 0.18),),
        2400,
        0.7,
    )
    assert c.resolved_adjust == "none_shift", "one observed number identifies one adjustment"
    take_up = make_study(
        SMALL_STUDY
        + '[calibration]\nkind = "take_up"\nn = 900\nobserved = { "Ours" = 0.12, none = 0.8 }\n'
    ).calibration
    assert take_up is not None and take_up.resolved_adjust == "scale_and_none"
    assert make_study(SMALL_STUDY).business is None


def test_business_and_calibration_problems_are_all_named() -> None:
    bad = (
        SMALL_STUDY
        + "[business]\nlost = 3\nhorizon_months = 0\nincentive = -2\n"
        + '[calibration]\nkind = "rate"\nobserved = 1.5\navailability = 0\n'
    )
    with pytest.raises(StudyError) as err:
        make_study(bad)
    msg = str(err.value)
    for fragment in (
        "[business]: unknown key 'lost'",
        "'lost_customers' is required",
        "'horizon_months' = 0 must be 1 to 120 months",
        "'incentive' = -2.0 must be 0 or more",
        "'kind' = 'rate' is not valid. Valid: winback_rate, take_up",
        "'observed' = 1.5 must be a share strictly between 0 and 1",
        "'availability' = 0.0 must be a share in (0, 1]",
        "'n' is required",
    ):
        assert fragment in msg, f"{fragment!r} not in:\n{msg}"
    with pytest.raises(StudyError, match=r"add up to 1\.100, more than 1"):
        make_study(
            SMALL_STUDY
            + '[calibration]\nkind = "take_up"\nn = 9\nobserved = { "A" = 0.5, none = 0.6 }\n'
        )
