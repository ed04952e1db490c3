"""Aggregate MNL: a published table reproduced, the robust standard errors checked two ways,
recovery of a known truth, non-identified designs, the comparison with HB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    ChoiceArrays,
    MNLResult,
    arrays_from_long,
    compare_mnl_hb,
    fit_mnl,
    fit_mnl_arrays,
    prepare_choice_data,
)
from conjoint import make_design, simulate_choices
from surveys import make_dataset
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import ParameterError, WinbackError

DATA = Path(__file__).parents[1] / "data"
ELECTRICITY = ["pf", "cl", "loc", "wk", "tod", "seas"]

#: mlogit's pooled conditional logit on Train's electricity data, as printed
#: (estimate, std. error) to 6 decimals; log-likelihood -4958.6491
MLOGIT_ELECTRICITY = {
    "pf": (-0.625228, 0.023222),
    "cl": (-0.108299, 0.008244),
    "loc": (1.442243, 0.050557),
    "wk": (0.995504, 0.044780),
    "tod": (-5.462759, 0.183713),
    "seas": (-5.840031, 0.186678),
}
#: standard errors clustered by person (id) without small-sample factor, computed with
#: statsmodels 0.15.0 (see test_robust_standard_errors_match_statsmodels_cluster)
STATSMODELS_CLUSTER_SE = {
    "pf": 0.0334436546,
    "cl": 0.0139973064,
    "loc": 0.0787594063,
    "wk": 0.0637821564,
    "tod": 0.277769542,
    "seas": 0.272338602,
}


@pytest.fixture(scope="module")
def electricity() -> tuple[ChoiceArrays, MNLResult]:
    df = pd.read_csv(DATA / "electricity.csv.gz")
    arr = arrays_from_long(df, respondent="id", task="chid", choice="choice", columns=ELECTRICITY)
    return arr, fit_mnl_arrays(arr)


@pytest.mark.recovery
def test_electricity_reproduces_the_published_mlogit_table(electricity):
    """Train's electricity data (361 people, 4,308 tasks; pf, cl, loc, wk, tod, seas linear, no
    constant): the pooled conditional logit fitted by R's mlogit,
    ``mlogit(choice ~ pf + cl + loc + wk + tod + seas | 0, data)``, as printed in torch-choice's
    tutorial that reproduces it, github.com/gsbDBI/torch-choice
    ``tutorials/electricity/electricity.ipynb`` (commit be268aa8, section 2, "R/mlogit
    reference fit"; the same numbers to 17 digits in ``tutorials/electricity/mlogit_output.json``
    and script ``fit_mlogit.R``). Its log-likelihood -4958.6491 is also xlogit's for its
    MultinomialLogit on these data (github.com/arteagac/xlogit ``tests/estimations.py``:
    ``LL=-4958.6491193376105``). Estimates and classical standard errors agree to the 6
    printed decimals (half a unit in the last place), the log-likelihood to xlogit's 10."""
    arr, res = electricity
    assert (res.n_respondents, res.n_tasks) == (361, 4308)
    assert res.converged and res.names == tuple(ELECTRICITY)
    tab = res.table().set_index("parameter")
    lines, bad = [], []
    for name, (est, se) in MLOGIT_ELECTRICITY.items():
        got_est, got_se = float(tab.loc[name, "estimate"]), float(tab.loc[name, "classical_se"])
        ok = abs(got_est - est) <= 5e-7 and abs(got_se - se) <= 5e-7
        lines.append(
            f"{name}: winback {got_est:.6f} ({got_se:.6f})  mlogit {est:.6f} ({se:.6f})"
            + ("" if ok else "  <- differs")
        )
        if not ok:
            bad.append(lines[-1])
    assert not bad, "\n".join(["not the published table:", *lines])
    assert abs(res.log_likelihood - (-4958.6491193376105)) < 1e-6, (
        f"log-likelihood {res.log_likelihood:.10f}, published -4958.6491193376"
    )
    # equal shares: 4,308 tasks of 4 offers
    assert res.log_likelihood_null == pytest.approx(-4308 * np.log(4), rel=1e-12)
    assert res.rho2 == pytest.approx(1 - 4958.6491193376105 / (4308 * np.log(4)), rel=1e-9)
    assert res.aic == pytest.approx(2 * 6 + 2 * 4958.6491193376105, rel=1e-9)
    assert res.bic == pytest.approx(6 * np.log(4308) + 2 * 4958.6491193376105, rel=1e-9)


@pytest.mark.recovery
def test_robust_standard_errors_match_statsmodels_cluster(electricity):
    """No published clustered standard errors exist for this model; the reference is an
    independent implementation: statsmodels 0.15.0, ``ConditionalLogit(y, X, groups=chid)``
    fitted by Newton, its per-task scores ``score_grp`` and its (numerical) Hessian given to
    ``statsmodels.stats.sandwich_covariance.cov_cluster(..., group=id, use_correction=False)``.
    winback applies the small-sample factor G/(G-1) (Stata's ``vce(cluster)``, logitr), so its
    values are these times sqrt(361/360)."""
    _, res = electricity
    factor = np.sqrt(361 / 360)
    robust = res.robust_se
    assert robust is not None
    lines = [
        f"{n}: winback {r / factor:.9f} (x{factor:.5f} = {r:.6f})  statsmodels {ref:.9f}"
        for n, r, ref in zip(res.names, robust, STATSMODELS_CLUSTER_SE.values(), strict=True)
    ]
    rel = np.abs(robust / factor / np.array(list(STATSMODELS_CLUSTER_SE.values())) - 1)
    assert rel.max() < 1e-6, "\n".join(["clustered standard errors differ:", *lines])
    # a respondent's 12 tasks are alike: the clustered errors are about 1.5 times the classical
    assert ((robust / res.classical_se) > 1.3).all(), lines


def _brute_force_sandwich(arr: ChoiceArrays, beta: np.ndarray) -> np.ndarray:
    """Clustered sandwich from finite differences of the log-likelihood, respondent by
    respondent (no analytic derivative anywhere)."""

    def loglik(b: np.ndarray, rows: np.ndarray) -> float:
        total = 0.0
        for i in rows:
            v = arr.x[i][arr.avail[i]] @ b
            total += v[arr.y[i]] - np.log(np.exp(v).sum())
        return total

    k = len(beta)
    # steps of about 1e-4 (Hessian) and 1e-6 (scores) in utility, whatever a column's units
    eye = np.eye(k) / np.abs(arr.x).max(axis=(0, 1))
    h, h1 = 1e-4, 1e-6
    all_rows = np.arange(arr.n_obs)
    hess = np.zeros((k, k))
    for a in range(k):
        for c in range(k):
            hess[a, c] = (
                (
                    loglik(beta + h * (eye[a] + eye[c]), all_rows)
                    - loglik(beta + h * (eye[a] - eye[c]), all_rows)
                    - loglik(beta - h * (eye[a] - eye[c]), all_rows)
                    + loglik(beta - h * (eye[a] + eye[c]), all_rows)
                )
                / (4 * h * h)
                / (np.linalg.norm(eye[a]) * np.linalg.norm(eye[c]))
            )
    groups = np.unique(arr.resp)
    meat = np.zeros((k, k))
    for g in groups:
        rows = np.flatnonzero(arr.resp == g)
        s = np.array(
            [
                (loglik(beta + h1 * eye[a], rows) - loglik(beta - h1 * eye[a], rows))
                / (2 * h1 * np.linalg.norm(eye[a]))
                for a in range(k)
            ]
        )
        meat += np.outer(s, s)
    bread = np.linalg.inv(-hess)
    return len(groups) / (len(groups) - 1) * bread @ meat @ bread


def test_robust_standard_errors_match_a_brute_force_sandwich():
    """30 respondents with their own part-worths, 8 tasks each: the analytic clustered sandwich
    equals one built from finite differences of the log-likelihood (to 1e-5, what the
    differences can tell)."""
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(
        design, SMALL_TRUTH, 5, n_respondents=30, sd={n: 0.8 for n in SMALL_TRUTH if n != "price"}
    )
    data = make_dataset(responses, study, design=design)
    res = fit_mnl(data)
    arr = prepare_choice_data(data)
    brute = _brute_force_sandwich(arr, res.coef)
    assert res.robust_cov is not None
    got, want = np.sqrt(np.diag(res.robust_cov)), np.sqrt(np.diag(brute))
    msg = "\n".join(
        f"{n}: analytic {a:.7f}  finite differences {b:.7f}"
        for n, a, b in zip(res.names, got, want, strict=True)
    )
    assert np.allclose(got, want, rtol=1e-5), msg
    # covariances relative to the standard errors (correlations) agree to 1e-5 too
    diff = (res.robust_cov - brute) / np.outer(want, want)
    assert np.abs(diff).max() < 1e-5, f"{np.abs(diff).max():.2g}\n{msg}"


@pytest.mark.recovery
def test_mnl_recovers_known_part_worths_within_three_standard_errors():
    """400 respondents sharing SMALL_TRUTH (no heterogeneity), 8 tasks of 3 offers + none: each
    estimate within 3 robust standard errors of the truth, and robust and classical standard
    errors alike (nothing to cluster when everyone is the same)."""
    study = make_study(SMALL_STUDY)
    design = make_design(study)
    responses = simulate_choices(design, SMALL_TRUTH, 3, n_respondents=400)
    res = fit_mnl(make_dataset(responses, study, design=design))
    tab = res.table().set_index("parameter")
    lines = []
    for name, truth in SMALL_TRUTH.items():
        est, se = tab.loc[name, "estimate"], tab.loc[name, "se"]
        lines.append(
            f"{name}: truth {truth:.3f}  est {est:.3f} (se {se:.3f}), {(est - truth) / se:+.2f} se"
        )
    off = [
        ln
        for ln, (n, t) in zip(lines, SMALL_TRUTH.items(), strict=True)
        if abs(tab.loc[n, "estimate"] - t) > 3 * tab.loc[n, "se"]
    ]
    assert not off, "\n".join(["beyond 3 standard errors:", *off, "", *lines])
    ratio = tab["robust_se"] / tab["classical_se"]
    assert ratio.between(0.85, 1.15).all(), f"robust / classical: {ratio.round(3).to_dict()}"
    assert res.study is study and "Broadband" in repr(res)


def _arrays(x: np.ndarray, names: tuple[str, ...]) -> ChoiceArrays:
    rng = np.random.default_rng(0)
    n, j, _ = x.shape
    resp = np.arange(n) // 4
    obs = pd.DataFrame({"respondent_id": resp.astype(str), "task": np.arange(n), "kind": "choice"})
    ids = tuple(str(r) for r in np.unique(resp))
    return ChoiceArrays(x, rng.integers(0, j, n), np.ones((n, j), bool), resp, ids, names, obs)


def test_non_identified_designs_name_the_parameters():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, (40, 3, 4)).astype(float)
    names = ("a", "b", "c", "d")
    ok = fit_mnl_arrays(_arrays(x, names))
    assert ok.converged
    # a level never shown: its column is 0 everywhere
    never = x.copy()
    never[..., 1] = 0.0
    with pytest.raises(WinbackError, match=r"'b' never differ between the alternatives"):
        fit_mnl_arrays(_arrays(never, names))
    # a column equal on every alternative of each task (a constant in an unlabelled design)
    same = x.copy()
    same[..., 3] = rng.normal(size=(40, 1))
    with pytest.raises(WinbackError, match=r"'d' never differ"):
        fit_mnl_arrays(_arrays(same, names))
    # d = a + c: the three are collinear, b is not named
    combo = x.copy()
    combo[..., 3] = combo[..., 0] + combo[..., 2]
    with pytest.raises(WinbackError, match=r"'a', 'c', 'd' are collinear") as err:
        fit_mnl_arrays(_arrays(combo, names))
    assert "'b'" not in str(err.value) and "Hessian is singular" in str(err.value)


def test_no_finite_estimate_and_bad_settings_are_reported(caplog):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3, 2))
    arr = _arrays(x, ("a", "b"))
    with caplog.at_level("WARNING", logger="winback"):
        res = fit_mnl_arrays(arr, max_iterations=1)
    assert not res.converged and res.iterations == 1
    assert "did not converge in 1 Newton iterations" in caplog.text
    assert "NOT converged" in repr(res)
    with pytest.raises(ParameterError, match="band must be a probability"):
        fit_mnl_arrays(arr, band=90)
    with pytest.raises(ParameterError, match="max_iterations must be at least 1; got 0"):
        fit_mnl_arrays(arr, max_iterations=0)
    classical = fit_mnl_arrays(arr, robust=False)
    assert classical.robust_cov is None and np.isnan(classical.table()["robust_se"]).all()
    assert np.allclose(classical.table()["se"], classical.classical_se)


def test_compare_with_hb_puts_the_population_means_on_the_mnl_scale(example_fit):
    """The shared HB fit (120 respondents with heterogeneous part-worths): its population means
    are larger than the MNL's coefficients by one factor, and once divided by it they agree with
    them."""
    model, _, _ = example_fit
    mnl = fit_mnl(model.dataset_)
    cmp = compare_mnl_hb(mnl, model)
    scale = float(cmp["scale"].iloc[0])
    text = cmp.round(3).to_string()
    assert list(cmp["parameter"]) == model.names
    assert 1.0 < scale < 3.0, f"HB means / MNL coefficients {scale:.2f}, expected above 1\n{text}"
    assert np.corrcoef(cmp["mnl"], cmp["hb_mean"])[0, 1] > 0.95, text
    assert (np.sign(cmp["mnl"]) == np.sign(cmp["hb_mean"])).mean() >= 0.8, text
