"""simulate_choices: the canonical response layout and recovery of known part-worths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from conjoint import make_design, parameter_names, simulate_choices
from conjoint.encoding import make_encoding
from tests.conftest import SMALL_TRUTH
from winback.errors import WinbackError


def _mnl_fit(study, responses: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate MNL by maximum likelihood on the long table (none rows = none constant)."""
    enc = make_encoding(study)
    k = enc.n_parameters
    rows = np.zeros((len(responses), k))
    is_none = (responses["alt"] == "none").to_numpy()
    for a, attr in enumerate(study.attributes):
        idx = np.array(
            [
                attr.index_of(v) if not n else 0
                for v, n in zip(responses[attr.name], is_none, strict=True)
            ]
        )
        rows += np.where(is_none[:, None], 0.0, enc.tables[a][idx])
    rows[is_none, enc.none_index] = 1.0
    n_alt = responses.groupby(["respondent_id", "task"]).size().iloc[0]
    x = rows.reshape(-1, n_alt, k)
    y = responses["chosen"].to_numpy().reshape(-1, n_alt)

    def nll(b):
        u = x @ b
        u -= u.max(axis=1, keepdims=True)
        lp = u - np.log(np.exp(u).sum(axis=1, keepdims=True))
        p = np.exp(lp)
        grad = -np.einsum("tj,tjk->k", y - p, x)
        return -(y * lp).sum(), grad

    res = optimize.minimize(nll, np.zeros(k), jac=True, method="BFGS")
    u = x @ res.x
    p = np.exp(u - u.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    xbar = np.einsum("tj,tjk->tk", p, x)
    xc = x - xbar[:, None, :]
    info = np.einsum("tj,tjk,tjl->kl", p, xc, xc)
    return res.x, np.sqrt(np.diag(np.linalg.inv(info)))


def test_layout_one_choice_per_task_none_rows_and_holdouts(small_study):
    design = make_design(small_study, method="balanced_overlap")
    resp = simulate_choices(design, SMALL_TRUTH, 5, n_respondents=20, sd=0.3)
    assert list(resp.columns) == [
        "respondent_id",
        "version",
        "task",
        "alt",
        "plan",
        "speed",
        "support",
        "price",
        "chosen",
        "holdout",
    ]
    assert (resp.groupby(["respondent_id", "task"])["chosen"].sum() == 1).all()
    none = resp[resp["alt"] == "none"]
    assert len(none) == 20 * 8
    assert none[["plan", "speed", "support", "price"]].isna().all().all()
    assert set(resp.loc[resp["alt"] != "none", "alt"]) == {"1", "2", "3"}
    # versions dealt in turn
    assert resp.groupby("respondent_id")["version"].first().value_counts().to_dict() == {
        1: 10,
        2: 10,
    }


def test_dual_response_none_adds_would_buy_on_the_chosen_row(small_study):
    study = replace(small_study, none_option=False, dual_response_none=True)
    design = make_design(study, method="shortcut")
    resp = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=50)
    assert "none" not in set(resp["alt"])
    chosen = resp[resp["chosen"] == 1]
    assert chosen["would_buy"].notna().all() and set(chosen["would_buy"]) <= {0, 1}
    assert resp.loc[resp["chosen"] == 0, "would_buy"].isna().all()
    share = chosen["would_buy"].mean()
    assert 0.2 < share < 0.98, f"would_buy share {share:.2f} implausible for none = -1"


@pytest.mark.recovery
def test_recovers_known_part_worths_by_maximum_likelihood(small_study):
    design = make_design(small_study)
    resp = simulate_choices(design, SMALL_TRUTH, 2026, n_respondents=600)
    est, se = _mnl_fit(small_study, resp)
    names = parameter_names(small_study)
    truth = np.array([SMALL_TRUTH[n] for n in names])
    z = (est - truth) / se
    report = ", ".join(
        f"{n}: truth {t:.3f} est {e:.3f} (se {s:.3f})"
        for n, t, e, s in zip(names, truth, est, se, strict=True)
    )
    assert np.all(np.abs(z) < 4), f"estimates far from truth: {report}"
    assert np.mean(z**2) < 3, f"mean squared z {np.mean(z**2):.2f} too large: {report}"


@pytest.mark.recovery
def test_individual_part_worths_and_truth_returned(small_study):
    design = make_design(small_study, method="random")
    resp, truth = simulate_choices(
        design, SMALL_TRUTH, 3, n_respondents=40, sd=0.5, return_part_worths=True
    )
    assert list(truth.columns) == parameter_names(small_study)
    assert truth.shape == (40, 7)
    again = simulate_choices(design, truth, 4)
    assert sorted(again["respondent_id"].unique()) == sorted(truth.index)
    same = simulate_choices(design, SMALL_TRUTH, 3, n_respondents=40, sd=0.5)
    pd.testing.assert_frame_equal(resp, same)


def test_bad_part_worths_are_clear_errors(small_study):
    design = make_design(small_study, method="random")
    with pytest.raises(WinbackError, match="plan\\[Premium\\]"):
        simulate_choices(
            design,
            {k: v for k, v in SMALL_TRUTH.items() if k != "plan[Premium]"},
            1,
            n_respondents=5,
        )
    bad = {**SMALL_TRUTH, "plan[Platinum]": 1.0}
    with pytest.raises(WinbackError, match="Platinum"):
        simulate_choices(design, bad, 1, n_respondents=5)
    with pytest.raises(WinbackError, match="n_respondents"):
        simulate_choices(design, SMALL_TRUTH, 1)
