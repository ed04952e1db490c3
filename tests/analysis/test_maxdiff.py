"""MaxDiff estimation: the coding, Sawtooth's probability scores, the counts and the pooled
MNL, and a small HB fit recovering known utilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from analysis import fit_maxdiff, maxdiff_counts, prepare_maxdiff_data, probability_scores
from conjoint import make_maxdiff_design, maxdiff_utilities, simulate_maxdiff
from surveys import read_maxdiff_answers
from winback.errors import ParameterError

ITEMS = ["price", "outages", "speed", "support", "billing", "moved", "competitor", "contract"]
TRUTH = np.array([0.0, 1.0, -0.5, 0.5, -1.0, -1.5, 1.5, 0.2])


def _answers(n_respondents, sd, seed, versions=10):
    design = make_maxdiff_design(ITEMS, per_set=4, n_sets=6, versions=versions)
    u = maxdiff_utilities(ITEMS, TRUTH, n_respondents=n_respondents, sd=sd, random_seed=seed)
    frame = simulate_maxdiff(design, u, random_seed=seed + 1)
    return read_maxdiff_answers(frame, design=design), u


def test_probability_scores_follow_sawtooths_formula():
    """exp(u) / (exp(u) + a - 1) on zero-centred utilities, rescaled to sum 100."""
    u = np.array([0.0, 1.0, -0.5, 2.0])
    c = u - u.mean()
    p = np.exp(c) / (np.exp(c) + 4 - 1)
    expected = 100 * p / p.sum()
    got = probability_scores(u, 4)
    assert np.allclose(got, expected, atol=1e-12), f"{got} vs {expected}"
    assert np.allclose(probability_scores(u + 7.0, 4), got)  # any origin
    big = probability_scores(np.array([[0.0, 800.0, -800.0]]), 3)
    assert np.isfinite(big).all() and big.sum() == pytest.approx(100.0)
    with pytest.raises(ParameterError, match="per_set must be a whole number of at least 2"):
        probability_scores(u, 1)


def test_best_and_worst_become_two_choices():
    answers, _ = _answers(3, 1.0, 1, versions=1)
    arr = prepare_maxdiff_data(answers)
    a = answers.answers
    assert arr.x.shape == (36, 4, 7) and arr.names == tuple(ITEMS[1:])
    assert list(arr.obs["kind"][:2]) == ["best", "worst"]
    first = a.iloc[:4]
    best_pos = int(np.argmax(first["best"].to_numpy()))
    worst_pos = int(np.argmax(first["worst"].to_numpy()))
    assert (arr.y[0], arr.y[1]) == (best_pos, worst_pos)
    assert arr.avail[0].all() and arr.avail[1].sum() == 3 and not arr.avail[1, best_pos]
    for p, item in enumerate(first["item"]):
        row = np.zeros(7)
        if item != ITEMS[0]:
            row[ITEMS.index(item) - 1] = 1.0
        assert (arr.x[0, p] == row).all() and (arr.x[1, p] == -row).all()


def test_counts_and_pooled_mnl():
    """Counts by hand; without heterogeneity the pooled MNL recovers the utilities (each
    within its 99% interval, 2,000 respondents) and the count scores order the items as the
    truth does."""
    answers, _ = _answers(2000, 0.0, 5)
    c = maxdiff_counts(answers, band=0.99)
    a = answers.answers
    for item in ("outages", "moved"):
        rows = a[a["item"] == item]
        got = c.set_index("item").loc[item]
        assert got["shown"] == len(rows)
        assert got["count_score"] == pytest.approx(
            (rows["best"].sum() - rows["worst"].sum()) / len(rows)
        )
    assert c["score"].sum() == pytest.approx(100.0)
    lines = [
        f"{i}: truth {t:+.2f}, MNL {e:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for i, t, e, lo, hi in zip(
            ITEMS, TRUTH, c["utility"], c["utility_lower"], c["utility_upper"], strict=True
        )
    ]
    inside = (c["utility_lower"] <= TRUTH + 1e-12) & (TRUTH - 1e-12 <= c["utility_upper"])
    assert inside.all(), "\n".join(lines)
    rho = spearmanr(c["count_score"], TRUTH).statistic
    assert rho == pytest.approx(1.0), f"count scores order the items with rho {rho:.3f}"


@pytest.mark.recovery
def test_hb_recovers_known_utilities():
    """150 respondents, 8 items, 4 per set, 6 sets (each item 3 times), utilities normal
    around the truth with sd 1: every population mean inside its 99% band, the mean
    per-respondent correlation of estimated and true utilities above 0.7, the population
    scores and first-choice shares ordered as the truth's, the count scores too (rho >= 0.95),
    every respondent's scores summing to 100."""
    answers, u = _answers(150, 1.0, 2)
    model = fit_maxdiff(answers, draws=300, tune=300, chains=2, random_seed=1)
    pop = model.population(band=0.99)
    lines = [
        f"{i}: truth {t:+.2f}, HB {e:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for i, t, e, lo, hi in zip(
            ITEMS, TRUTH, pop["utility"], pop["utility_lower"], pop["utility_upper"], strict=True
        )
    ]
    print("\n".join(lines))
    inside = (pop["utility_lower"] <= TRUTH) & (TRUTH <= pop["utility_upper"])
    assert inside[1:].all(), "population means outside their 99% bands:\n" + "\n".join(lines)

    est = model.utilities().to_numpy()
    true = u.loc[model.respondent_ids].to_numpy()
    true = true - true.mean(axis=1, keepdims=True)
    r = np.array([np.corrcoef(e, t)[0, 1] for e, t in zip(est, true, strict=True)])
    print(f"mean individual correlation {r.mean():.3f}")
    assert r.mean() > 0.7, f"mean individual correlation {r.mean():.3f} <= 0.7"

    scores = model.scores()
    assert np.allclose(scores.sum(axis=1), 100.0)
    true_scores = probability_scores(true, 4).mean(axis=0)
    rho = spearmanr(pop["score"], true_scores).statistic
    assert rho >= 0.95, f"population scores order the items with rho {rho:.3f} < 0.95"
    assert pop.loc[pop["score"].idxmax(), "item"] == "competitor", pop
    true_first = np.bincount(true.argmax(axis=1), minlength=8) / len(true)
    rho = spearmanr(pop["first_share"], true_first).statistic
    assert rho >= 0.8, (
        f"first-choice shares {pop['first_share'].round(3).tolist()} vs truth "
        f"{true_first.round(3).tolist()}: rho {rho:.3f} < 0.8"
    )
    assert pop["first_share"].sum() == pytest.approx(1.0)

    counts = maxdiff_counts(answers)
    rho = spearmanr(counts["count_score"], TRUTH).statistic
    assert rho >= 0.95, f"count scores order the items with rho {rho:.3f} < 0.95"
    assert model.convergence().verdict in ("pass", "warn", "fail")
    assert "150 respondents" in repr(model)
