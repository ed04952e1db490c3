"""One compiled HB model per family (issue 19, item 1): studies of other structures share it
(with or without respondent covariates, a diagonal covariance or an earlier wave's prior), its
log density and gradient equal PyTensor's own graph
of the model as it was written before (constants, indexed constraints, covariates only when
present), and damaged cache entries are compiled anew."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from analysis import prepare_choice_data
from analysis.hb import HBSettings, constraint_plan
from conjoint import make_design, simulate_choices
from surveys import make_dataset
from tests.analysis.test_hb import _callbacks
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study

# another structure: four plans, no none option, three alternatives
OTHER_STUDY = SMALL_STUDY.replace(
    'levels = ["Basic", "Standard", "Premium"]', 'levels = ["Basic", "Standard", "Premium", "Max"]'
).replace("none_option = true", "none_option = false")
OTHER_TRUTH = {**{k: v for k, v in SMALL_TRUTH.items() if k != "none"}, "plan[Max]": 1.4}
# designs whose codes need another width (analysis._kernels.pack_design): prices in cents
# (int16 codes) and prices on no grid at all (float64)
CENTS_STUDY = SMALL_STUDY.replace("[30.0, 40.0, 50.0, 60.0]", "[29.99, 41.37, 53.1, 60.0]")
NO_GRID_STUDY = SMALL_STUDY.replace(
    "[30.0, 40.0, 50.0, 60.0]", "[30.0, 42.42640687119285, 50.0, 60.0]"
)


def _arrays(text, truth, n, covariates=0):
    study = make_study(text)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, truth, 5, n_respondents=n, sd=0.2)
    arrays = prepare_choice_data(make_dataset(responses, study, design=design))
    if not covariates:
        return arrays
    w = np.random.default_rng(n).normal(size=(n, covariates))
    names = tuple(f"w{j}" for j in range(covariates))
    return dataclasses.replace(
        arrays, covariates=w - w.mean(axis=0), covariate_names=names, covariate_means=w.mean(0)
    )


def _reference_logp(arrays, settings):
    """PyTensor's own log density and gradient (Python implementations, no numba) of
    :func:`_reference_model`. Takes and returns points in the compiled model's layout (mu, the
    packed factor, z, gamma)."""
    import pytensor
    import pytensor.tensor as pt

    m = _reference_model(arrays, settings)
    k = arrays.n_parameters
    diagonal = settings.covariance == "diagonal"
    n_off = k * (k - 1) // 2
    values = [m.rvs_to_values[v] for v in m.free_RVs]
    logp = m.logp()
    fn = pytensor.function(values, [logp, *pt.grad(logp, values)], mode="FAST_COMPILE")
    shapes = [m.initial_point()[v.name].shape for v in values]
    # the compiled model's packed factor (log of its diagonal): its diagonal entries are the
    # reference's log standard deviations, the others its off-diagonal entries
    on_diag = np.zeros(k * (k + 1) // 2, dtype=bool)
    on_diag[np.cumsum(np.arange(1, k + 1)) - 1] = True

    def to_reference(x):
        if not diagonal:
            return x
        packed = x[k : k + len(on_diag)]
        return np.concatenate([x[:k], packed[on_diag], packed[~on_diag], x[k + len(on_diag) :]])

    def from_reference(g):
        if not diagonal:
            return g
        packed = np.empty(len(on_diag))
        packed[on_diag], packed[~on_diag] = g[k : 2 * k], g[2 * k : 2 * k + n_off]
        return np.concatenate([g[:k], packed, g[2 * k + n_off :]])

    def unshifted(x):
        parts, start, xr = [], 0, to_reference(x)
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(xr[start : start + size].reshape(shape))
            start += size
        out = fn(*parts)
        return float(out[0]), from_reference(np.concatenate([np.ravel(g) for g in out[1:]]))

    # the compiled model samples mu' = A mu and, with a full covariance, L' = A L (A = I -
    # e_none w^T, the none constant against the average alternative): the reference is
    # evaluated at mu = A^-1 mu', L = A^-1 L' (a shear with determinant 1, the diagonal and z
    # unchanged), its gradient carried back by the chain rule
    plan = constraint_plan(list(arrays.names), settings.constraints)
    w, none = _none_shift_by_hand(arrays, [i for idx, _ in plan for i in idx])
    rows, cols = np.tril_indices(k)
    diag = rows == cols
    n_chol = len(rows)

    def evaluate(x):
        if none is None:
            return unshifted(x)
        x = np.array(x, dtype=float)
        mu_p, chol_p = x[:k].copy(), x[k : k + n_chol].copy()
        entries = np.where(diag, np.exp(chol_p), chol_p)  # L' from its unconstrained values
        none_row = (rows == none) & ~diag
        xu = x.copy()
        xu[none] += w @ mu_p
        if not diagonal:
            col_sum = np.bincount(cols, weights=w[rows] * entries, minlength=k)
            xu[k : k + n_chol][none_row] += col_sum[cols[none_row]]
        lp, g = unshifted(xu)
        g = g.copy()
        g_mu = g[:k].copy()
        g[:k] = g_mu + w * g_mu[none]
        if not diagonal:
            g_chol = g[k : k + n_chol].copy()
            # entry (r, j) of L' adds w_r L'_rj to L_(none, j), j < none
            g_none_row = np.zeros(k)
            g_none_row[cols[none_row]] = g_chol[none_row]
            g[k : k + n_chol] = g_chol + w[rows] * g_none_row[cols] * np.where(diag, entries, 1.0)
        return lp, g

    return evaluate


def _reference_model(arrays, settings, *, off_diagonal=True):
    """The model as build_model wrote it before model families: sizes, prior scales and constrained
    columns as constants of the graph, covariates only in a study that has them, an earlier
    wave's prior as an ``MvNormal``, the diagonal covariance as independent ``HalfNormal``
    standard deviations, plus, for the diagonal, the N(0, 1) prior-only off-diagonal entries of
    the one compiled model's packed factor (``off_diagonal``)."""
    import pymc as pm
    import pytensor.tensor as pt

    from analysis._kernels import mnl_beta_loglik, pack_design, packed_chol_matmul

    k, scale, names = arrays.n_parameters, arrays.column_scale(), list(arrays.names)
    plan = constraint_plan(names, settings.constraints)
    mu_sigma, sd_sigma = np.full(k, settings.mu_scale), np.full(k, settings.sd_scale)
    for idx, _ in plan:
        mu_sigma[idx] = sd_sigma[idx] = 1.0
    diagonal = settings.covariance == "diagonal"
    n_off = k * (k - 1) // 2
    with pm.Model(coords={"parameter": names, "respondent": list(arrays.respondent_ids)}) as m:
        if settings.prior_mean is not None:
            constrained = np.zeros(k, dtype=bool)
            for idx, _ in plan:
                constrained[idx] = True
            d = np.where(constrained, 1.0, scale)
            m0 = np.where(constrained, settings.prior_mean + np.log(scale), settings.prior_mean * d)
            c0 = settings.prior_cov * np.outer(d, d)
            mu = pm.MvNormal("mu_scaled", mu=m0, cov=c0, dims="parameter")
        else:
            mu = pm.Normal("mu_scaled", 0.0, mu_sigma, dims="parameter")
        if diagonal:
            sd = pm.HalfNormal("sd_scaled", sd_sigma, dims="parameter")
            if off_diagonal:
                pm.Normal("off_diagonal", 0.0, 1.0, shape=n_off)
        else:
            pm.LKJCholeskyCov(
                "chol", n=k, eta=settings.lkj_eta, sd_dist=pm.HalfNormal.dist(sd_sigma, shape=k)
            )
        z = pm.Normal("z", 0.0, 1.0, dims=("respondent", "parameter"))
        beta = theta = mu + (z * sd if diagonal else packed_chol_matmul(z, m["chol"]))
        if arrays.covariates is not None:
            m.add_coord("covariate", list(arrays.covariate_names))
            gamma = pm.Normal("gamma", 0.0, settings.gamma_scale, dims=("covariate", "parameter"))
            beta = theta = theta + arrays.covariates @ gamma
        for idx, kind in plan:
            col = pt.exp(theta[:, idx])
            if kind in ("increasing", "decreasing"):
                col = pt.cumsum(col, axis=1)
            sign = -1.0 if kind in ("negative", "decreasing") else 1.0
            beta = pt.set_subtensor(beta[:, idx], sign * col)
        p = pack_design(arrays.x, arrays.resp, arrays.y, arrays.avail, arrays.n_respondents)
        pm.Potential(
            "loglik", mnl_beta_loglik(beta * (p.step / scale), p.codes, p.ptr, p.y, p.mask)
        )
    return m


def _none_shift_by_hand(arrays, constrained):
    """The none shift's ``w`` (scale of none x each scaled column's mean over the designed
    alternatives shown, zero from the none column on and on constrained columns) and the none
    column, written out from the definition."""
    names = list(arrays.names)
    k, scale = len(names), arrays.column_scale()
    if "none" not in names:
        return np.zeros(k), None
    none = names.index("none")
    w = np.zeros(k)
    if none in constrained:
        return w, none
    shown = [
        arrays.x[o, a] / scale
        for o in range(arrays.n_obs)
        for a in range(arrays.x.shape[1])
        if arrays.avail[o, a] and arrays.x[o, a, none] == 0
    ]
    for j in range(none):
        if j not in constrained:
            w[j] = scale[none] * np.mean([row[j] for row in shown])
    return w, none


def test_constraint_columns_equal_indexed_constraints_and_their_gradient():
    """The ConstrainColumns Op (Python implementation) against sign * cumsum(exp(theta[:, idx]))
    and finite differences."""
    from analysis._constrain import _np_constrain, _np_constrain_grad, constraint_arrays

    rng = np.random.default_rng(3)
    theta = rng.normal(size=(5, 7))
    plan = [([1, 2, 3], "decreasing"), ([5], "negative"), ([6], "positive")]
    sign, prev = constraint_arrays(7, plan)
    got = _np_constrain(theta, sign, prev)
    want = theta.copy()
    want[:, [1, 2, 3]] = -np.cumsum(np.exp(theta[:, [1, 2, 3]]), axis=1)
    want[:, 5], want[:, 6] = -np.exp(theta[:, 5]), np.exp(theta[:, 6])
    assert np.array_equal(got, want), np.abs(got - want).max()
    g = rng.normal(size=theta.shape)
    grad = _np_constrain_grad(theta, sign, prev, g)
    eps = 1e-6
    for j in range(7):
        step = np.zeros_like(theta)
        step[:, j] = eps
        num = (
            (_np_constrain(theta + step, sign, prev) - _np_constrain(theta - step, sign, prev)) * g
        ).sum(axis=1) / (2 * eps)
        assert np.allclose(grad[:, j], num, rtol=1e-6, atol=1e-8), (j, grad[:, j], num)


@pytest.mark.integration
def test_studies_of_other_structures_share_one_compiled_model_that_equals_pytensors_own():
    """Six study structures and settings compile to the same PyTensor cache key, the later
    ones without compiling a callback of their own: 7 parameters with a none option, an order
    and a sign constraint; 8 parameters without one, other constraints and two respondent
    covariates; the first study with a diagonal covariance; the second with an earlier wave's
    prior on the population mean; the first with prices in cents (a design packed as int16
    codes, not int8) and with prices on no grid (float64). Each one's log density and gradient equal PyTensor's own graph
    of the model written with constants (the diagonal covariance as independent standard
    deviations, the prior as an MvNormal) at random points; a damaged cache entry of the
    callbacks is compiled anew."""
    import nutpie
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, NUMBA_CACHE_PATH

    from analysis._kernels import pack_design
    from analysis._nutpie import applicable
    from analysis.hb import build_model, compile_nutpie, numba_mode

    if not applicable():
        pytest.skip(f"nutpie {nutpie.__version__}: its own compilation is used")
    first = _arrays(SMALL_STUDY, SMALL_TRUTH, 10)
    other = _arrays(OTHER_STUDY, OTHER_TRUTH, 7, covariates=2)
    k = other.n_parameters
    cases = [
        (first, {"constraints": {"speed": "increasing", "price": "negative"}}),
        (other, {"constraints": {"plan": "decreasing", "support[Priority]": "positive"}}),
        (first, {"constraints": {"price": "negative"}, "covariance": "diagonal"}),
        (
            other,
            {
                "prior_mean": np.linspace(-0.5, 0.5, k),
                "prior_cov": np.eye(k) * 0.25 + 0.05,
            },
        ),
        (_arrays(CENTS_STUDY, SMALL_TRUTH, 6), {"constraints": {"price": "negative"}}),
        (_arrays(NO_GRID_STUDY, SMALL_TRUTH, 5), {}),
    ]
    widths = [
        pack_design(a.x, a.resp, a.y, a.avail, a.n_respondents).codes.dtype.name for a, _ in cases
    ]
    assert widths == ["int8"] * 4 + ["int16", "float64"], widths
    keys, files, damaged = [], None, None
    rng = np.random.default_rng(11)
    for i, (arrays, options) in enumerate(cases):
        settings = HBSettings(covariates=arrays.covariate_names, **options)
        with numba_mode():
            model, _ = build_model(arrays, settings)
            compiled = compile_nutpie(model)
        keys.append(CACHED_SRC_FUNCTIONS.get(compiled.logp_func.vm.jit_fn.py_func))
        now = sorted(p.name for p in NUMBA_CACHE_PATH.glob("*_numba-*"))
        if i >= 1:
            assert now == files, f"case {i} ({options}) compiled callbacks of its own"
            assert damaged is not None and len(damaged.read_bytes()) > 100, "not written anew"
        files = now
        logp, _ = _callbacks(compiled)
        reference = _reference_logp(arrays, settings)
        for s in (0.3, 1.0, 2.0):
            x = rng.normal(size=compiled.n_dim) * s
            code, lp, grad = logp(x)
            want_lp, want_grad = reference(x)
            assert code == 0 and lp == pytest.approx(want_lp, rel=1e-12), (i, s, lp, want_lp)
            err = np.abs(grad - want_grad).max()
            assert np.allclose(grad, want_grad, rtol=1e-10, atol=1e-10), (i, s, err)
        if i == 0:
            # damage the log-density callback's cache entry: the second structure, whose
            # callback it is too, compiles it anew (and still equals PyTensor's own)
            index = Path(compiled.compiled_logp_func._cache._cache_file._index_path)
            (damaged,) = index.parent.glob(index.name.removesuffix("nbi") + "*.nbc")
            damaged.write_bytes(damaged.read_bytes()[:100])
    assert keys[0] is not None and len(set(keys)) == 1, keys


#: the independent model's posterior (as build_model wrote it before the one compiled model:
#: HalfNormal standard deviations, no factor) on the diagonal test's data, written once by
#: ``python -m tests.analysis.test_compile_family`` (nutpie, 4 chains x 4,000 draws): means and
#: Monte Carlo standard errors, so that the test samples the new model only
DIAGONAL_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "diagonal_reference.json"
_DIAGONAL = {"covariance": "diagonal", "draws": 1000, "tune": 400, "chains": 2, "random_seed": 4}


def _posterior_summary(posterior, names=("mu_scaled", "sd_scaled")):
    from analysis._mcmc import diagnose

    out = {}
    for name in names:
        x = posterior[name].to_numpy()
        out[name] = [
            [
                float(x[..., i].mean()),
                float(x[..., i].std() / np.sqrt(diagnose(x[..., i : i + 1])[1][0])),
            ]
            for i in range(x.shape[-1])
        ]
    return out


def write_diagonal_reference() -> None:
    """Sample the independent model as written before (once; the test reads the result)."""
    import json

    import nutpie

    from analysis.hb import compile_nutpie, numba_mode

    arrays = _arrays(SMALL_STUDY, SMALL_TRUTH, 40)
    settings = HBSettings(**_DIAGONAL)
    with numba_mode():
        compiled = compile_nutpie(_reference_model(arrays, settings, off_diagonal=False))
    ref = nutpie.sample(compiled, draws=4000, tune=1000, chains=4, seed=5, progress_bar=False)
    DIAGONAL_REFERENCE.write_text(json.dumps(_posterior_summary(ref["posterior"]), indent=1) + "\n")


@pytest.mark.integration
def test_diagonal_covariance_in_the_one_compiled_model_has_the_independent_models_posterior():
    """A diagonal fit (the LKJ factor's diagonal, its prior swapped for independent ones) and
    nutpie on the independent model as written before (HalfNormal standard deviations, no
    factor; its posterior stored in ``DIAGONAL_REFERENCE``) give the same population means and
    standard deviations to Monte Carlo error."""
    import json

    from analysis.hb import fit_arrays

    arrays = _arrays(SMALL_STUDY, SMALL_TRUTH, 40)
    fit = fit_arrays(arrays, HBSettings(**_DIAGONAL))
    got = _posterior_summary(fit.idata_["posterior"])
    ref = json.loads(DIAGONAL_REFERENCE.read_text())
    lines, bad = [], []
    for name in ("mu_scaled", "sd_scaled"):
        assert len(got[name]) == len(ref[name]), (name, len(got[name]), len(ref[name]))
        for i, ((a, se_a), (b, se_b)) in enumerate(zip(got[name], ref[name], strict=True)):
            gap, allowed = abs(a - b), 4 * np.hypot(se_a, se_b)
            lines.append(f"{name}[{i}]: {a:.3f} vs {b:.3f}")
            if gap > allowed:
                bad.append(f"{lines[-1]}: gap {gap:.3f} > 4 MCSE {allowed:.3f}")
    assert not bad, "\n".join(bad + lines)
    assert "chol" not in fit.idata_["posterior"].data_vars


if __name__ == "__main__":
    write_diagonal_reference()
