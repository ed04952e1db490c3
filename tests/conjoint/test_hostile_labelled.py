"""Hostile study files of labelled designs (issue 20 item 5): every key of a labelled study
used wrongly, and every combination docs/labelled.md says is refused, goes through `winback
design` and is refused with the file, the place, the bad value and what is valid; nothing is
written."""

from __future__ import annotations

import pytest

from tests.conjoint.test_labelled import LABELLED
from winback.cli import main

pytestmark = pytest.mark.hostile

LABELS = 'labels = ["own", "rival_a", "rival_b"]'
TV = 'applies_to = ["own"]'
PRICE = '[[attributes]]\nname = "price"'
PROMO = (
    '[[attributes]]\nname = "promo"\nlevels = ["none", "3 months free"]\n'
    'applies_to = ["rival_a"]\n\n' + PRICE
)

NEVER = '[[prohibitions]]\ntv = "TV Sports"\npromo = "3 months free"'

#: name: ((old, new) replacements or text to append, parts the message must hold)
CASES: dict[str, tuple[list[tuple[str, str]] | str, list[str]]] = {
    "unknown_label_in_applies_to": (
        [(TV, 'applies_to = ["owm"]')],
        ["[[attributes]] 'tv'", "unknown label 'owm'", "Did you mean 'own'", "own, rival_a"],
    ),
    "applies_to_without_labels": (
        [(LABELS, "alternatives = 3")],
        ["[[attributes]] 'tv'", "needs a labelled design", "[design] labels"],
    ),
    "applies_to_empty": ([(TV, "applies_to = []")], ["'tv'", "'applies_to' is empty"]),
    "applies_to_not_a_list": ([(TV, "applies_to = 3")], ["'applies_to' must be a list", "3"]),
    "applies_to_twice": (
        [(TV, 'applies_to = ["own", "own"]')],
        ["applies_to lists own twice"],
    ),
    "labels_with_a_status_quo": (
        '\n[status_quo]\nlevels = { speed = "100 Mbps", tv = "TV Essentials", price = 40.0 }\n',
        ["[status_quo] with [design] labels is not supported yet", "Remove [status_quo]"],
    ),
    "labels_with_holdouts": (
        '\n[[holdouts]]\nalternatives = [\n  { speed = "1 Gbps", tv = "TV Sports", price = 40.0 },\n'
        '  { speed = "100 Mbps", tv = "TV Sports", price = 30.0 },\n'
        '  { speed = "300 Mbps", tv = "TV Sports", price = 50.0 },\n]\n',
        ["[[holdouts]]", "with [design] labels are not supported yet"],
    ),
    "interaction_with_a_specific_attribute": (
        '\n[[interactions]]\nattributes = ["tv", "price"]\n',
        ["[[interactions]]", "'tv' exists only on own", "not supported yet"],
    ),
    "no_dominated": (
        [("seed = 4", "seed = 4\nno_dominated = true")],
        ["no_dominated = true does not apply to a labelled design"],
    ),
    "unique_levels_on_a_specific_attribute": (
        [("seed = 4", 'seed = 4\nunique_levels = ["tv"]')],
        ["unique_levels: 'tv' exists only on own", "every alternative shows"],
    ),
    "prohibition_that_can_never_apply": (
        [(PRICE, PROMO), ("starts = 2", "starts = 2\n\n" + NEVER)],
        [
            "[[prohibitions]] #1",
            "never appear on the same alternative",
            "tv on own",
            "promo on rival_a",
        ],
    ),
    "alternatives_other_than_the_labels": (
        [("tasks = 8", "tasks = 8\nalternatives = 2")],
        ["alternatives = 2, but a labelled design", "3 labels", "alternatives = 3"],
    ),
    "one_label": ([(LABELS, 'labels = ["own"]')], ["at least two labels"]),
    "a_label_twice": ([(LABELS, 'labels = ["own", "rival_a", "own"]')], ["'own'", "listed twice"]),
    "reserved_label_none": ([(LABELS, 'labels = ["own", "none", "x"]')], ["'none' is reserved"]),
    "reserved_label_label": ([(LABELS, 'labels = ["own", "label", "x"]')], ["'label' is reserved"]),
    "label_with_a_space": (
        [(LABELS, 'labels = ["own", "rival a", "rival_b"]')],
        ["label 'rival a'", "must start with a letter", "underscores"],
    ),
    "label_starting_with_a_digit": (
        [(LABELS, 'labels = ["own", "2nd", "rival_b"]')],
        ["label '2nd'", "must start with a letter"],
    ),
    "labels_not_a_list": ([(LABELS, 'labels = "own"')], ["'labels' must be a list", "'own'"]),
    "label_names_unknown_label": (
        [(LABELS, LABELS + '\nlabel_names = { own = "FibreHome", rivl_a = "Rival A" }')],
        ["label_names names the unknown label 'rivl_a'", "Did you mean 'rival_a'"],
    ),
    "label_names_twice_the_same": (
        [(LABELS, LABELS + '\nlabel_names = { rival_a = "Rival", rival_b = "Rival" }')],
        ["label_names shows Rival for more than one label"],
    ),
    "label_names_empty": (
        [(LABELS, LABELS + '\nlabel_names = { own = " " }')],
        ["label_names.own must be a non-empty text"],
    ),
    "label_names_without_labels": (
        [(LABELS, 'alternatives = 3\nlabel_names = { own = "FibreHome" }'), (TV, "")],
        ["'label_names' needs 'labels'"],
    ),
    "label_names_not_a_table": (
        [(LABELS, LABELS + '\nlabel_names = ["FibreHome"]')],
        ["'label_names' must be a table of label = text"],
    ),
    "label_constant_prior_of_the_wrong_length": (
        "\n[priors]\nmean = { label = [0.3] }\n",
        ["[priors] mean.label", "a list of 2 numbers", "[0.3]"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_labelled_study_file_used_wrongly_is_refused_by_winback_design(case, tmp_path, capsys):
    change, parts = CASES[case]
    text = LABELLED
    if isinstance(change, str):
        text += change
    else:
        for old, new in change:
            assert old in text, (case, old)
            text = text.replace(old, new)
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "design"
    assert main(["design", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err, f"the file is not named: {err}"
    for part in parts:
        assert part in err, f"{case}: {part!r} not in: {err}"
    assert not out.exists(), f"{case}: {out} was written"
    assert list(tmp_path.iterdir()) == [path], list(tmp_path.iterdir())
