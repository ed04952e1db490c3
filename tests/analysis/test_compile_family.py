"""One compiled HB model per family (issue 19, item 1): studies of other structures share it
(with or without respondent covariates), its log density and gradient equal PyTensor's own graph
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
    """PyTensor's own log density and gradient (Python implementations, no numba) of the
    model as build_model wrote it before model families: sizes, prior scales and constrained
    columns as constants of the graph, covariates only in a study that has them."""
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    from analysis._kernels import mnl_beta_loglik, pack_design, packed_chol_matmul

    k, scale, names = arrays.n_parameters, arrays.column_scale(), list(arrays.names)
    plan = constraint_plan(names, settings.constraints)
    mu_sigma, sd_sigma = np.full(k, settings.mu_scale), np.full(k, settings.sd_scale)
    for idx, _ in plan:
        mu_sigma[idx] = sd_sigma[idx] = 1.0
    with pm.Model(coords={"parameter": names, "respondent": list(arrays.respondent_ids)}) as m:
        mu = pm.Normal("mu_scaled", 0.0, mu_sigma, dims="parameter")
        pm.LKJCholeskyCov(
            "chol", n=k, eta=settings.lkj_eta, sd_dist=pm.HalfNormal.dist(sd_sigma, shape=k)
        )
        z = pm.Normal("z", 0.0, 1.0, dims=("respondent", "parameter"))
        beta = theta = mu + packed_chol_matmul(z, m["chol"])
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
    values = [m.rvs_to_values[v] for v in m.free_RVs]
    logp = m.logp()
    fn = pytensor.function(values, [logp, *pt.grad(logp, values)], mode="FAST_COMPILE")
    shapes = [m.initial_point()[v.name].shape for v in values]
    w, none = _none_shift_by_hand(arrays, [i for idx, _ in plan for i in idx])

    def evaluate(x):
        parts, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(x[start : start + size].reshape(shape))
            start += size
        # the compiled model samples mu' = A mu and L' = A L (A = I - e_none w^T): the
        # reference is evaluated at mu = A^-1 mu', L = A^-1 L' (a shear with determinant 1, the
        # diagonal and z unchanged), its gradient carried back by the chain rule
        mu_p, chol_p = parts[0], parts[1]
        rows, cols = np.tril_indices(k)
        diag = rows == cols
        entries = np.where(diag, np.exp(chol_p), chol_p)  # L' from its unconstrained values
        none_row = rows == none if none is not None else np.zeros(len(rows), dtype=bool)
        col_sum = np.bincount(cols, weights=w[rows] * entries, minlength=k)
        parts[0] = mu_p.copy()
        parts[1] = chol_p.copy()
        if none is not None:
            parts[0][none] += w @ mu_p
            parts[1][none_row & ~diag] += col_sum[cols[none_row & ~diag]]
        out = fn(*parts)
        grads = [np.array(g, dtype=float) for g in out[1:]]
        g_mu, g_chol = grads[0].copy(), grads[1].copy()
        if none is not None:
            grads[0] = g_mu + w * g_mu[none]
            # entry (r, j) of L' adds w_r L'_rj to L_(none, j), j < none
            g_none_row = np.zeros(k)
            g_none_row[cols[none_row]] = g_chol[none_row]
            g_none_row[none] = 0.0
            grads[1] = g_chol + w[rows] * g_none_row[cols] * np.where(diag, entries, 1.0)
        return float(out[0]), np.concatenate([np.ravel(g) for g in grads])

    return evaluate


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
    """Two study structures (7 parameters with a none option, an order and a sign constraint;
    8 parameters without one, other constraints and two respondent covariates) compile to the
    same PyTensor cache key, the second without compiling a callback of its own; each one's log
    density and gradient equal PyTensor's own graph of the model written with constants at
    random points; a damaged cache entry of the callbacks is compiled anew."""
    import nutpie
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, NUMBA_CACHE_PATH

    from analysis._nutpie import applicable
    from analysis.hb import build_model, compile_nutpie, numba_mode

    if not applicable():
        pytest.skip(f"nutpie {nutpie.__version__}: its own compilation is used")
    cases = [
        (_arrays(SMALL_STUDY, SMALL_TRUTH, 10), {"speed": "increasing", "price": "negative"}),
        (
            _arrays(OTHER_STUDY, OTHER_TRUTH, 7, covariates=2),
            {"plan": "decreasing", "support[Priority]": "positive"},
        ),
    ]
    keys, files, damaged = [], None, None
    rng = np.random.default_rng(11)
    for i, (arrays, constraints) in enumerate(cases):
        settings = HBSettings(constraints=constraints, covariates=arrays.covariate_names)
        with numba_mode():
            model, _ = build_model(arrays, settings)
            compiled = compile_nutpie(model)
        keys.append(CACHED_SRC_FUNCTIONS.get(compiled.logp_func.vm.jit_fn.py_func))
        now = sorted(p.name for p in NUMBA_CACHE_PATH.glob("*_numba-*"))
        if i == 1:
            assert now == files, "another structure compiled callbacks of its own"
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
    assert keys[0] is not None and keys[0] == keys[1], keys
