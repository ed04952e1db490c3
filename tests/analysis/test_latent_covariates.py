"""Class membership by covariate (the concomitant model): recovery of a covariate's effect on
the class shares, its standard errors, and class probabilities for customers not surveyed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from analysis import ChoiceArrays, fit_class_covariates_arrays, fit_latent_class_arrays
from winback.errors import WinbackError
from winback.settings import BAND

#: two classes' part-worths; class 2's log-odds are -0.3 + 1.2 z
COEF = np.array([[1.0, -0.5, 0.8, -1.0], [-0.6, 1.0, 0.0, -2.0]])
GAMMA = np.array([-0.3, 1.2])


def _data(n: int = 300, tasks: int = 8, seed: int = 4) -> tuple[ChoiceArrays, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    cls = (rng.random(n) < 1.0 / (1.0 + np.exp(-(GAMMA[0] + GAMMA[1] * z)))).astype(int)
    resp = np.repeat(np.arange(n), tasks)
    x = rng.normal(size=(n * tasks, 3, COEF.shape[1]))
    v = np.einsum("njk,nk->nj", x, COEF[cls[resp]])
    y = (v + rng.gumbel(size=v.shape)).argmax(axis=1)
    ids = tuple(f"r{i}" for i in range(n))
    obs = pd.DataFrame({"respondent_id": [ids[r] for r in resp], "task": 0, "kind": "choice"})
    names = tuple(f"x{j + 1}" for j in range(COEF.shape[1]))
    arrays = ChoiceArrays(x, y, np.ones(x.shape[:2], bool), resp, ids, names, obs)
    return arrays, pd.DataFrame({"respondent_id": ids, "z": z})


@pytest.mark.recovery
def test_a_covariates_effect_on_the_class_shares_is_recovered():
    """300 respondents x 8 tasks; class 2's log-odds -0.3 + 1.2 z: the intercept and the
    covariate's coefficient inside their 90% intervals (classes matched to the truth)."""
    arrays, cov = _data()
    res = fit_latent_class_arrays(arrays, 2, starts=3, random_seed=1)
    model = fit_class_covariates_arrays(res, arrays, cov)
    flipped = np.abs(res.coef[::-1] - COEF).sum() < np.abs(res.coef - COEF).sum()
    truth = -GAMMA if flipped else GAMMA  # class 1 is the reference: its log-odds flip sign
    est, se = model.coef[1], model.se[1]
    q = float(ndtri(0.5 + BAND / 2.0))
    for name, t, b, s in zip(model.terms, truth, est, se, strict=True):
        lo, hi = b - q * s, b + q * s
        assert lo <= t <= hi, f"{name}: truth {t:+.3f} outside band [{lo:+.3f}, {hi:+.3f}]\n{model}"
    assert model.covariate_names == ("z",)
    # the correction for the part-worths' uncertainty only widens the intervals
    fixed = np.sqrt(np.diag(model.cov_fixed))
    assert (np.sqrt(np.diag(model.cov)) >= fixed - 1e-12).all(), (model.cov, model.cov_fixed)
    stat, df, p = model.lr_test
    assert df == 1 and stat > 20 and p < 1e-4, model.lr_test
    # customers not surveyed: probabilities from their covariate, as the formula gives
    crm = pd.DataFrame({"customer_id": ["a", "b", "c"], "z": ["-1.5", "0", "2"]})
    probs = model.class_probabilities(crm)
    assert list(probs.columns) == [
        "customer_id",
        "class 1",
        "class 2",
        "most_probable_class",
        "label",
    ], probs.columns
    eta = est[0] + est[1] * np.array([-1.5, 0.0, 2.0])
    assert np.allclose(probs["class 2"], 1 / (1 + np.exp(-eta)), atol=1e-12), probs
    assert np.allclose(probs[["class 1", "class 2"]].sum(axis=1), 1.0)
    with pytest.raises(WinbackError, match=r"no column 'z'"):
        model.class_probabilities(crm.drop(columns="z"))
    with pytest.raises(WinbackError, match="not a number"):
        model.class_probabilities(crm.assign(z=["1", "x", "2"]))


def test_class_model_needs_the_same_respondents_and_two_classes():
    arrays, cov = _data(60, 4, seed=1)
    res = fit_latent_class_arrays(arrays, 1, starts=1)
    with pytest.raises(WinbackError, match="one class"):
        fit_class_covariates_arrays(res, arrays, cov)
    with pytest.raises(WinbackError, match="no covariate model"):
        res.class_probabilities(cov)
    with pytest.raises(WinbackError, match="covariates missing for 10 respondents"):
        two = fit_latent_class_arrays(arrays, 2, starts=1)
        fit_class_covariates_arrays(two, arrays, cov.iloc[10:])
