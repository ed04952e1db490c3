"""MaxDiff designs (balanced incomplete block designs) and simulated best-worst answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conjoint import (
    inspect_maxdiff_design,
    make_maxdiff_design,
    maxdiff_design_from_frame,
    maxdiff_utilities,
    simulate_maxdiff,
)
from conjoint.maxdiff_diagnostics import bibd_parameters
from winback.errors import DesignError, ParameterError


@pytest.mark.parametrize(
    ("v", "k", "b", "lam"),
    [(7, 3, 7, 1), (9, 3, 12, 1), (13, 4, 13, 1), (11, 5, 11, 2), (16, 4, 20, 1)],
)
def test_known_bibds_are_found(v, k, b, lam):
    """(7, 3, 7) is the Fano plane (each pair exactly once); the others are the projective
    plane of order 3, the biplane of order 3, the affine planes of orders 3 and 4."""
    design = make_maxdiff_design(v, per_set=k, n_sets=b, versions=1)
    diag = inspect_maxdiff_design(design)
    assert diag.bibd_possible
    assert diag.is_bibd, (
        f"({v}, {k}, {b}): pairs {diag.pair_min:g}-{diag.pair_max:g}, expected all {lam}"
    )
    assert (diag.pair_min, diag.pair_max, diag.pair_sd) == (lam, lam, 0.0)
    r = b * k // v
    assert (diag.items["shown"] == r).all(), diag.items
    # positions as even as the item counts allow: each count within one of r / k
    assert diag.position_max_deviation < 1.0 + 1e-9, diag.positions


def test_balance_of_a_design_without_a_bibd():
    """8 items, 4 per set, 6 sets (no BIBD: lambda = 18/7): one-way balance exact in every
    version, pair counts over 10 versions within one of each other, positions within 1.5 of
    even, no item in two consecutive sets more than once per version on average."""
    design = make_maxdiff_design(8, per_set=4, n_sets=6, versions=10, random_seed=3)
    diag = inspect_maxdiff_design(design)
    assert not diag.bibd_possible and not diag.is_bibd
    assert (diag.items[["shown_min", "shown_max"]] == 3).all().all(), diag.items
    assert (diag.items["shown"] == 30).all()
    # 10 versions x 6 sets x 6 pairs = 360 pairs over 28 pairs of items: 12.86 on average
    assert diag.pair_mean == pytest.approx(360 / 28)
    assert diag.pair_max - diag.pair_min <= 2, (
        f"pair frequencies {diag.pair_min:g}-{diag.pair_max:g} (sd {diag.pair_sd:.2f})"
    )
    assert diag.pair_sd < 0.6, f"pair frequency sd {diag.pair_sd:.3f} >= 0.6"
    assert diag.position_max_deviation <= 1.5, diag.positions
    assert diag.consecutive <= 10 * 6, f"{diag.consecutive} items in consecutive sets"
    sets = design.sets
    assert all(len(set(row)) == 4 for row in sets.reshape(-1, 4).tolist())
    text = diag.report()
    assert "no BIBD exists" in text and "one-way" in text
    assert set(diag.summary()["measure"]) >= {"pair frequency, sd", "is a BIBD"}


def test_design_is_reproducible_and_round_trips():
    a = make_maxdiff_design(["x", "y", "z", "w", "v", "u"], per_set=3, versions=3, random_seed=5)
    b = make_maxdiff_design(["x", "y", "z", "w", "v", "u"], per_set=3, versions=3, random_seed=5)
    assert (a.sets == b.sets).all()
    assert a.n_sets == 6  # ceil(3 * 6 / 3), Sawtooth's rule
    frame = a.frame()
    assert list(frame.columns) == ["version", "set", "position", "item"]
    back = maxdiff_design_from_frame(frame, a.items)
    assert (back.sets == a.sets).all() and back.items == a.items


def test_default_sets_and_per_set():
    d = make_maxdiff_design(20, versions=1, iterations=100)
    assert (d.per_set, d.n_sets) == (4, 15)  # 3 * 20 / 4
    assert make_maxdiff_design(6, versions=1, iterations=100).per_set == 3


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"items": 8, "per_set": 1}, "per_set must be at least 2; got 1"),
        ({"items": 8, "per_set": 8}, "per_set must be fewer than the 8 items"),
        ({"items": 8, "per_set": 4, "n_sets": 1}, "use at least 2 sets"),
        ({"items": 2}, "at least 3 items"),
        ({"items": ["a", "b", "a"]}, "listed more than once: ['a']"),
        ({"items": 8, "versions": 0}, "versions must be at least 1; got 0"),
        ({"items": 8, "per_set": 2.5}, "per_set must be a whole number; got 2.5"),
        ({"items": "abc"}, "not one text"),
    ],
)
def test_impossible_settings_are_refused(kwargs, words):
    items = kwargs.pop("items")
    with pytest.raises(ParameterError) as err:
        make_maxdiff_design(items, **kwargs)
    assert words in str(err.value)


def test_design_frame_errors():
    frame = make_maxdiff_design(6, per_set=3, n_sets=4, versions=1).frame()
    with pytest.raises(DesignError, match="unknown item"):
        maxdiff_design_from_frame(frame, ["a", "b", "c", "d", "e", "f"])
    bad = frame.copy()
    bad.loc[1, "item"] = bad.loc[0, "item"]
    with pytest.raises(DesignError, match="twice in a set"):
        maxdiff_design_from_frame(bad)


def test_bibd_parameters():
    assert bibd_parameters(7, 3, 7) == (3.0, 1.0, True)
    r, lam, possible = bibd_parameters(8, 4, 6)
    assert (r, possible) == (3.0, False) and lam == pytest.approx(9 / 7)


def test_simulated_answers_follow_the_sequential_logit():
    """Pairs (two items per set): the share chosen best is the logit probability
    ``1 / (1 + exp(u_j - u_i))`` within 3 standard errors, and the other item is the worst."""
    design = make_maxdiff_design(["a", "b", "c"], per_set=2, n_sets=3, versions=1)
    u = np.array([0.0, 1.0, -0.5])
    util = maxdiff_utilities(design.items, u, n_respondents=4000, sd=0.0)
    ans = simulate_maxdiff(design, util, random_seed=2)
    assert (ans.groupby(["respondent_id", "set"])[["best", "worst"]].sum() == 1).all().all()
    assert not (ans["best"] & ans["worst"]).any()
    # each pair is shown once per respondent: P(best = i | {i, j}) = logistic(u_i - u_j)
    for _, g in ans.groupby("set"):
        first, second = g["item"].unique()  # the same pair for every respondent
        ui, uj = (u[design.items.index(x)] for x in (first, second))
        p = 1 / (1 + np.exp(uj - ui))
        obs = g.loc[g["item"] == first, "best"].mean()
        se = np.sqrt(p * (1 - p) / 4000)
        assert abs(obs - p) < 3 * se, f"best share of {first} vs {second}: {obs:.3f}, p {p:.3f}"


def test_worst_is_chosen_among_the_rest_by_negative_utility():
    """Four items in one set: P(worst = w | best = b) = exp(-u_w) / sum over the rest."""
    design = make_maxdiff_design(["a", "b", "c", "d", "e"], per_set=4, n_sets=5, versions=1)
    u = np.array([0.0, 1.0, -1.0, 0.5, 0.2])
    util = maxdiff_utilities(design.items, u, n_respondents=6000, sd=0.0)
    ans = simulate_maxdiff(design, util, random_seed=4)
    one = ans[ans["set"] == 1]
    shown = list(one["item"].iloc[:4])
    us = np.array([u[design.items.index(x)] for x in shown])
    pb = np.exp(us) / np.exp(us).sum()
    best = one[one["best"] == 1]["item"].value_counts(normalize=True).reindex(shown).fillna(0)
    for x, p in zip(shown, pb, strict=True):
        se = np.sqrt(p * (1 - p) / 6000)
        assert abs(best[x] - p) < 3.5 * se, f"best {x}: {best[x]:.3f} vs {p:.3f}"
    # worst given the most frequent best
    top = shown[int(np.argmax(pb))]
    chose_top = one.loc[(one["best"] == 1) & (one["item"] == top), "respondent_id"]
    sets = one[one["respondent_id"].isin(chose_top)]
    rest = [x for x in shown if x != top]
    ur = np.array([u[design.items.index(x)] for x in rest])
    pw = np.exp(-ur) / np.exp(-ur).sum()
    n = sets["respondent_id"].nunique()
    worst = sets[sets["worst"] == 1]["item"].value_counts(normalize=True).reindex(rest)
    for x, p in zip(rest, pw, strict=True):
        se = np.sqrt(p * (1 - p) / n)
        assert abs(worst[x] - p) < 3.5 * se, (
            f"worst {x} given best {top}: {worst[x]:.3f} vs {p:.3f}"
        )


def test_simulation_input_errors():
    design = make_maxdiff_design(["a", "b", "c", "d"], per_set=2, n_sets=4, versions=2)
    with pytest.raises(ParameterError, match="missing: d"):
        simulate_maxdiff(design, pd.DataFrame({"a": [0.0], "b": [0.0], "c": [0.0]}))
    with pytest.raises(ParameterError, match=r"shape \(n_respondents, 4\)"):
        simulate_maxdiff(design, np.zeros((3, 5)))
    with pytest.raises(ParameterError, match="unknown item"):
        maxdiff_utilities(design.items, {"z": 1.0}, n_respondents=3)
    ans = simulate_maxdiff(design, np.zeros((3, 4)))
    assert ans.groupby("respondent_id")["version"].first().tolist() == [1, 2, 1]
