"""Hierarchical Bayes multinomial logit in PyMC, sampled with nutpie.

Model (on columns scaled to unit standard deviation, so priors are unit-free; results are
reported on the original scale):

    beta_i = mu + Gamma w_i + L z_i,   z_i ~ N(0, I)            (non-centred)
    L = cholesky(Sigma),  Sigma ~ LKJ(eta) with sd ~ HalfNormal(sd_scale)   (full covariance)
    or L = diag(sd), sd ~ HalfNormal(sd_scale)                               (independent)
    mu ~ N(0, mu_scale^2) or an earlier wave's N(m0, C0),
    Gamma ~ N(0, gamma_scale^2)                            (respondent covariates w_i, centred;
                                                            zero of them when a study has none)
    y_it ~ Categorical(softmax(X_it beta_i))                   (unavailable alternatives masked)

Sign and order constraints are exact: a parameter constrained negative is -exp(theta) with theta
in the multivariate normal; ordered levels are cumulative sums of exp(theta).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from analysis import _nutpie, _nutpie_trace
from analysis._none_shift import model_coordinates, shift_vector, unshift
from analysis._progress import (
    ProgressLog,
    advi_callback,
    nutpie_callback,
    pymc_callback,
    resolve_progress,
)
from analysis.data import ChoiceArrays
from winback import _numba_cache
from winback.errors import WinbackError

log = logging.getLogger("winback")

Constraint = Literal["negative", "positive", "increasing", "decreasing"]


def constraint_plan(
    names: list[str], constraints: Mapping[str, Constraint]
) -> list[tuple[list[int], Constraint]]:
    """Column groups and their constraint.

    ``negative`` / ``positive`` apply to one parameter (by name); ``increasing`` /
    ``decreasing`` apply to a part-worth attribute (by attribute name): its levels, after the
    reference, become cumulative sums of exp(theta), so each level is at least the one before.
    """
    plan: list[tuple[list[int], Constraint]] = []
    for key, kind in constraints.items():
        if kind in ("negative", "positive"):
            if key not in names:
                raise ValueError(
                    f"sign constraint on unknown parameter {key!r}; parameters: {names}"
                )
            plan.append(([names.index(key)], kind))
        elif kind in ("increasing", "decreasing"):
            idx = [i for i, n in enumerate(names) if n.startswith(f"{key}[")]
            if not idx:
                raise ValueError(
                    f"order constraint on {key!r}, which is not a part-worth attribute; "
                    f"parameters: {names}"
                )
            plan.append((idx, kind))
        else:
            raise ValueError(
                f"unknown constraint {kind!r} for {key!r}; valid: negative, positive, "
                "increasing, decreasing"
            )
    used = [i for idx, _ in plan for i in idx]
    if len(used) != len(set(used)):
        raise ValueError(f"a parameter is constrained twice: {dict(constraints)}")
    return plan


@dataclass(frozen=True)
class HBSettings:
    """Settings of an HB fit (all have defaults; ``random_seed`` makes it reproducible).

    ``covariates`` names the respondent covariates of the population mean (recorded by
    :func:`analysis.fit` from the arrays; the values travel in ``ChoiceArrays``). ``backend``:
    what nutpie compiles the model with, numba (default) or jax (:func:`compile_nutpie`).
    ``progress``:
    False, True (a bar on a terminal or in a notebook, plain log lines otherwise), ``"bar"`` or
    ``"log"``.
    """

    draws: int = 1000
    tune: int = 500
    chains: int = 4
    cores: int | None = None
    random_seed: int = 1
    covariance: Literal["full", "diagonal"] = "full"
    lkj_eta: float = 2.0
    mu_scale: float = 3.0
    sd_scale: float = 2.0
    gamma_scale: float = 1.0
    sampler: Literal["nutpie", "pymc", "advi"] = "nutpie"
    backend: Literal["numba", "jax"] = "numba"
    advi_iterations: int = 10_000
    constraints: Mapping[str, Constraint] = field(default_factory=dict)
    covariates: tuple[str, ...] = ()
    progress: bool | Literal["bar", "log"] = False
    prior_mean: np.ndarray | None = field(default=None, repr=False)  # on the original scale
    prior_cov: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # a list read back from fit.nc's JSON compares equal to the tuple it was
        object.__setattr__(self, "covariates", tuple(self.covariates))


def _mean_prior(
    settings: HBSettings,
    plan: list[tuple[list[int], Constraint]],
    scale: np.ndarray,
    mu_sigma: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Cholesky factor of the prior of the scaled population mean: an earlier wave's
    (``settings.prior_mean``, ``prior_cov``: its population mean of theta, unscaled and
    log-scale for constrained columns; scaled columns multiply, log-scale ones shift) or, with
    none, the default independent N(0, mu_sigma^2) (then unused: :func:`build_model`)."""
    k = len(mu_sigma)
    if settings.prior_mean is None:
        return np.zeros(k), np.diag(mu_sigma)
    constrained = np.zeros(k, dtype=bool)
    for idx, _ in plan:
        constrained[idx] = True
    d = np.where(constrained, 1.0, scale)
    m0 = np.where(constrained, settings.prior_mean + np.log(scale), settings.prior_mean * d)
    c0 = (
        settings.prior_cov * np.outer(d, d)
        if settings.prior_cov is not None
        else np.diag(mu_sigma**2)
    )
    try:
        chol0 = np.linalg.cholesky(c0)
    except np.linalg.LinAlgError:
        raise WinbackError(
            "the prior's covariance (prior_cov, an earlier wave's population covariance) is "
            "not positive definite; refit the earlier wave or give its prior without prior_cov."
        ) from None
    return m0, chol0


def build_model(arrays: ChoiceArrays, settings: HBSettings) -> Any:
    """The PyMC model for ``arrays`` (returned with the column scale it used).

    Everything that differs between studies of one family enters the graph as shared data or
    as a model dimension of shared length: the number of parameters (``parameter``), of
    respondents, of covariates and of covariance entries, the priors' scales, the constraints
    (:mod:`analysis._constrain`), the covariates (a covariate dimension of length 0 when the
    study has none), the design and its column factors. The diagonal covariance and an earlier
    wave's prior are data too: the LKJ factor is always sampled, the diagonal model using only
    its diagonal (a data mask) under a prior swapped, by a term that data switch on, for
    independent ones (HalfNormal standard deviations, N(0, 1) prior-only off-diagonal entries),
    and an earlier wave's N(m0, C0) likewise swapped in for N(0, mu_scale^2). The design's codes
    take one of three arrays by their width (int8, int16 or float64; the others empty). The
    compiled model therefore depends on no property of the study, and PyTensor's cache serves
    it to every study (docs/analysis.md, "Compilation").
    """
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    # analysis._kernels imports PyTensor at its top (0.3-0.4 s of start-up)
    # lazy: keeps `import analysis` (load_model, results, simulator) from loading PyTensor
    from analysis._constrain import constrain_columns, constraint_arrays
    from analysis._kernels import (
        WIDTHS,
        codes_by_width,
        mnl_beta_loglik,
        pack_design,
        packed_chol_matmul,
    )

    k = arrays.n_parameters
    scale = arrays.column_scale()
    names = list(arrays.names)
    plan = constraint_plan(names, settings.constraints)
    # constrained columns live on the log scale: exp(theta) of a unit-scaled column is about 1,
    # so theta needs much tighter priors than an unconstrained part-worth
    mu_sigma = np.full(k, settings.mu_scale)
    sd_sigma = np.full(k, settings.sd_scale)
    for idx, _ in plan:
        mu_sigma[idx] = 1.0
        sd_sigma[idx] = 1.0
    coords = {
        "parameter": names,
        "respondent": list(arrays.respondent_ids),
        "chol_entry": list(range(k * (k + 1) // 2)),
        # zero covariates when the study has none: the same graph (the posterior drops the
        # empty gamma_scaled, _postprocess)
        "covariate": list(arrays.covariate_names) if arrays.covariates is not None else [],
    }
    covariates = (
        np.asarray(arrays.covariates, dtype=float)
        if arrays.covariates is not None
        else np.zeros((arrays.n_respondents, 0))
    )

    shared: dict[str, Any] = {}

    def data(name: str, value: Any) -> Any:
        # shared, not constant: a constant would make the compiled model specific to its value
        # (pm.Data would turn int8 codes into int32); one variable per name
        if name not in shared:
            shared[name] = pytensor.shared(np.asarray(value), name=name)
        return shared[name]

    with pm.Model(coords=coords) as model:
        n_par = model.dim_lengths["parameter"]
        mu = pm.Normal("mu_scaled", 0.0, data("mu_sigma", mu_sigma), dims="parameter")
        # n is the shared length of the parameter dimension; the packed factor's length a
        # dimension of its own, so that nothing in the graph is a function of k
        # (JAX needs static shapes: nutpie freezes the dimensions, which PyMC cannot do
        # to an LKJ factor whose size is one of them, so its size is the number itself)
        n_lkj = n_par if settings.backend == "numba" else k

        def lkj(name: str | None) -> Any:
            sd_dist = pm.HalfNormal.dist(data("sd_sigma", sd_sigma))
            if name is None:
                return pm.LKJCholeskyCov.dist(
                    n=n_lkj, eta=settings.lkj_eta, sd_dist=sd_dist, compute_corr=False
                )
            return pm.LKJCholeskyCov(
                name,
                n=n_lkj,
                eta=settings.lkj_eta,
                sd_dist=sd_dist,
                compute_corr=False,
                dims="chol_entry",
            )

        packed_chol = lkj("chol")
        diagonal = settings.covariance == "diagonal"
        # the population mean and Cholesky factor sampled with the none constant against the
        # average alternative (analysis/_none_shift.py), the prior kept exactly: from here on
        # mu and packed_chol are the model's own (unshifted), and the prior swaps below act on
        # them. A diagonal covariance shifts mu only (its factor's off-diagonal entries are
        # prior-only: shearing them would couple them to the standard deviations)
        mu, packed_chol = model_coordinates(
            arrays, plan, scale, mu, packed_chol, n_lkj, data, shift_chol=not diagonal
        )
        # an earlier wave's prior N(m0, C0) replaces the default N(0, mu_sigma^2) by a term
        # that data switch on (one graph for both, issue 19 item 1); switched off, the default
        # fits' log density and gradient equal the model's without it to rounding (1e-15)
        m0, chol0 = _mean_prior(settings, plan, scale, mu_sigma)
        earlier = (
            pm.logp(pm.MvNormal.dist(mu=data("prior_mean", m0), chol=data("prior_chol", chol0)), mu)
            - pm.logp(pm.Normal.dist(0.0, data("mu_sigma", mu_sigma)), mu).sum()
        )
        pm.Potential(
            "mu_prior_swap",
            pt.switch(data("has_prior", settings.prior_mean is not None), earlier, 0.0),
        )
        # the diagonal covariance in the same graph: only the factor's diagonal enters the
        # model (a data mask), and its LKJ prior is swapped, by a term switched on by data,
        # for independent ones: HalfNormal(sd_sigma) on the diagonal (the standard deviations,
        # sampled as log sd, as a HalfNormal's are) and N(0, 1) on the off-diagonal entries,
        # which then touch nothing else (prior-only)
        on_diagonal = np.zeros(k * (k + 1) // 2)
        on_diagonal[np.cumsum(np.arange(1, k + 1)) - 1] = 1.0
        entry_sigma = np.ones(k * (k + 1) // 2)
        entry_sigma[on_diagonal == 1.0] = sd_sigma
        independent = (
            pm.logp(pm.Normal.dist(0.0, data("chol_entry_sigma", entry_sigma)), packed_chol).sum()
            + np.log(2.0) * data("chol_on_diagonal", on_diagonal).sum()  # half-normal
        )
        pm.Potential(
            "chol_prior_swap",
            pt.switch(
                data("diagonal", diagonal), independent - pm.logp(lkj(None), packed_chol), 0.0
            ),
        )
        chol_mask = data("chol_mask", on_diagonal if diagonal else np.ones_like(on_diagonal))
        z = pm.Normal("z", 0.0, 1.0, dims=("respondent", "parameter"))
        theta = mu + packed_chol_matmul(z, packed_chol * chol_mask)
        gamma = pm.Normal(
            "gamma_scaled",
            0.0,
            data("gamma_sigma", settings.gamma_scale),
            dims=("covariate", "parameter"),
        )
        theta = theta + data("covariates", covariates) @ gamma
        # sign and order constraints as data: the same graph with or without them
        sign, prev = constraint_arrays(k, plan)
        beta = constrain_columns(
            theta, data("constraint_sign", sign), data("constraint_prev", prev)
        )
        # one fused kernel: utilities, log-likelihood and its gradient (analysis/_kernels.py),
        # on the design packed as small integer codes where exact: x_scaled[:, c] = codes[c] *
        # step[c] / scale[c], so the kernel takes beta * step / scale
        # the codes in one of three arrays by their width (int8, int16, float64; the others
        # empty): one compiled model for every design (issue 19 item 1)
        packed = pack_design(arrays.x, arrays.resp, arrays.y, arrays.avail, arrays.n_respondents)
        codes = [
            data(f"loglik_codes_{np.dtype(w).name}", c)
            for w, c in zip(WIDTHS, codes_by_width(packed.codes), strict=True)
        ]
        design = [
            data(f"loglik_{n}", v)
            for n, v in (("ptr", packed.ptr), ("y", packed.y), ("mask", packed.mask))
        ]
        factor = data("loglik_factor", packed.step / scale)
        pm.Potential("loglik", mnl_beta_loglik(beta * factor, codes, *design))
    return model, scale


@dataclass
class HBFit:
    """A fitted HB-MNL. Attributes ending in ``_`` exist once fitted."""

    settings: HBSettings
    arrays_: ChoiceArrays
    idata_: Any  # xarray.DataTree: posterior (mu, sd, corr, beta on the original scale)
    seconds_: float
    scale_: np.ndarray

    @property
    def names(self) -> list[str]:
        return list(self.arrays_.names)

    def individual_draws(self) -> np.ndarray:
        """(chain, draw, respondent, parameter) part-worths on the original scale."""
        return self.idata_["posterior"]["beta"].to_numpy()

    def individual_means(self) -> np.ndarray:
        return self.individual_draws().mean(axis=(0, 1))


def _postprocess(trace: Any, arrays: ChoiceArrays, settings: HBSettings, scale: np.ndarray) -> Any:
    """Add beta, mu, sd, corr on the original scale to the posterior group."""
    import xarray as xr

    post = trace["posterior"]
    names = list(arrays.names)
    plan = constraint_plan(names, settings.constraints)
    # sampled with the none constant against the average alternative: back to the model's
    # coordinates (analysis/_none_shift.py), also in the posterior's mu_scaled and chol (a
    # diagonal covariance's factor is not shifted: build_model)
    w = shift_vector(arrays, plan, scale)
    none_index = names.index("none") if "none" in names else None
    mu_s = post["mu_scaled"].to_numpy().copy()  # (c, d, K)
    z = post["z"].to_numpy()  # (c, d, N, K)
    k = arrays.n_parameters
    drop = ["z"]
    chol_flat = None
    if settings.covariance == "full":
        chol_flat = post["chol"].to_numpy().copy()  # (c, d, K*(K+1)/2)
    unshift(mu_s, chol_flat, w, none_index)
    if chol_flat is not None:
        c, d = chol_flat.shape[:2]
        tril = np.zeros((c, d, k, k))
        rows, cols = np.tril_indices(k)
        tril[..., rows, cols] = chol_flat
    else:
        if "sd_scaled" not in post.data_vars:
            # the standard deviations are the factor's diagonal; its off-diagonal entries were
            # prior-only (build_model): the posterior holds sd_scaled and no chol, as before
            packed = post["chol"].to_numpy()
            sd_s = packed[..., np.cumsum(np.arange(1, k + 1)) - 1]
            post = post.to_dataset().assign(sd_scaled=(("chain", "draw", "parameter"), sd_s))
            drop += ["chol"]
        sd_s = post["sd_scaled"].to_numpy()
        tril = np.einsum("cdk,kl->cdkl", sd_s, np.eye(k))
    # theta = mu + z L' (+ covariates), built in place: at 2,000 respondents x 20 parameters
    # x 4,000 draws each such array is 1.3 GB, and z is dropped below, so theta takes z's
    # buffer (a block of draws at a time) when the trace's array is writeable
    if z.flags.writeable and z.dtype == np.float64:
        theta = z
        for ci in range(z.shape[0]):
            for lo in range(0, z.shape[1], 64):
                hi = min(lo + 64, z.shape[1])
                theta[ci, lo:hi] = z[ci, lo:hi] @ np.swapaxes(tril[ci, lo:hi], -1, -2)
    else:
        theta = z @ np.swapaxes(tril, -1, -2)
    del z
    theta += mu_s[:, :, None, :]
    if arrays.covariates is not None:
        gamma = post["gamma_scaled"].to_numpy()
        theta += np.einsum("nm,cdmk->cdnk", arrays.covariates, gamma)
    for idx, kind in plan:
        col = np.exp(theta[..., idx])
        if kind in ("increasing", "decreasing"):
            col = np.cumsum(col, axis=-1)
        theta[..., idx] = (-1.0 if kind in ("negative", "decreasing") else 1.0) * col
    theta /= scale
    beta = theta
    cov_s = tril @ np.swapaxes(tril, -1, -2)
    sd_theta = np.sqrt(np.diagonal(cov_s, axis1=-2, axis2=-1))
    corr = cov_s / (sd_theta[..., :, None] * sd_theta[..., None, :])
    # population summaries on the original scale: of the part-worths themselves (draw-wise
    # moments over respondents for constrained parameters, exact otherwise)
    mu = mu_s / scale
    sd = sd_theta / scale
    for idx, _ in plan:
        mu[..., idx] = beta[..., idx].mean(axis=2)
        sd[..., idx] = beta[..., idx].std(axis=2)
    chain = post.coords["chain"].to_numpy()
    draw = post.coords["draw"].to_numpy()
    coords = {
        "chain": chain,
        "draw": draw,
        "respondent": list(arrays.respondent_ids),
        "parameter": names,
        "parameter_bis": names,
    }
    new = xr.Dataset(
        {
            "beta": (("chain", "draw", "respondent", "parameter"), beta),
            "mu": (("chain", "draw", "parameter"), mu),
            "sd": (("chain", "draw", "parameter"), sd),
            "corr": (("chain", "draw", "parameter", "parameter_bis"), corr),
        },
        coords=coords,
    )
    # z (respondent x parameter per draw, as large as beta) has served: beta holds it on the
    # original scale; dropping it halves the fit's memory and fit.nc
    post = post.to_dataset() if hasattr(post, "to_dataset") else post
    if arrays.covariates is None:
        # the model's covariate dimension has length 0 then (build_model): nothing to keep
        drop += [v for v in ("gamma_scaled", "covariate") if v in post.variables]
    if "chol" in drop and "chol_entry" in post.variables:
        drop.append("chol_entry")
    merged = post.drop_vars(drop).merge(new, compat="override")
    merged["mu_scaled"] = (merged["mu_scaled"].dims, mu_s)
    if chol_flat is not None:
        merged["chol"] = (merged["chol"].dims, chol_flat)
    trace["posterior"] = merged
    return trace


def fit_arrays(arrays: ChoiceArrays, settings: HBSettings | None = None) -> HBFit:
    """Fit the HB-MNL to prepared arrays (see :func:`analysis.fit` for datasets)."""
    settings = settings or HBSettings()
    with numba_mode():
        return _fit_arrays(arrays, settings)


@contextmanager
def numba_mode() -> Iterator[None]:
    """Every graph compiled with numba (nutpie's backend), never with PyTensor's C backend,
    which needs a system BLAS that pip installs lack; cache entries checked
    (:mod:`winback._numba_cache`)."""
    import warnings

    import pytensor

    _numba_cache.install()  # damaged compiled-code cache entries are compiled anew, never loaded
    with pytensor.config.change_flags(mode="NUMBA"), warnings.catch_warnings():
        # PyMC compiles its one-off initial-point function with the C backend whatever the
        # mode; without a system BLAS PyTensor warns, which is harmless for that function
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        yield


def require_jax() -> None:
    """Raise a :class:`~winback.errors.WinbackError` naming the install command when jax is
    missing (without importing it)."""
    from importlib.util import find_spec

    if find_spec("jax") is None:
        raise WinbackError(
            "backend 'jax' needs jax, which is not installed: pip install \"winback[jax]\" "
            "(CPU), or jax with CUDA for a GPU (https://docs.jax.dev/en/latest/installation.html)."
        )


def compile_nutpie(model: Any, *, faster: bool = True, backend: str = "numba") -> Any:
    """nutpie's compiled model, storing only the free variables :func:`_postprocess`
    needs (it derives beta, mu, sd and corr itself): the expand function nutpie compiles is
    smaller (about 30% less compile time) and the trace carries no deterministics. With
    ``faster`` (the default) its C callbacks compile faster and are cached
    (analysis/_nutpie.py); the draws are the same.

    ``backend="jax"``: nutpie's JAX backend, with the model's own Ops in JAX
    (:mod:`analysis._jax`) and JAX's gradient; XLA compiles it for the CPU or for a GPU when
    jax finds one, and keeps the compiled code in ``<base_compiledir>/jax`` for the next
    process (docs/analysis.md, "Backends")."""
    import nutpie

    var_names = [v.name for v in model.free_RVs]
    if backend == "jax":
        require_jax()
        # analysis._jax imports jax (over 1 s) and registers the Ops' JAX implementations
        # lazy: only a JAX fit needs jax, an optional dependency
        import analysis._jax  # noqa: F401

        return nutpie.compile_pymc_model(
            model, var_names=var_names, backend="jax", gradient_backend="jax"
        )
    if faster and _nutpie.applicable():
        return _nutpie.compile_model(model, var_names=var_names)
    return nutpie.compile_pymc_model(model, var_names=var_names)


def _fit_arrays(arrays: ChoiceArrays, settings: HBSettings) -> HBFit:
    t0 = time.perf_counter()
    show = resolve_progress(settings.progress)
    model, scale = build_model(arrays, settings)
    if settings.sampler == "advi":
        steps = ProgressLog(chains=1, tune=0, draws=settings.advi_iterations, advi=True)
    else:
        steps = ProgressLog(chains=settings.chains, tune=settings.tune, draws=settings.draws)
    if settings.sampler == "nutpie":
        if show == "log":
            log.info("fit: compiling the model (the first fit on this machine: about 2 minutes)")
        compiled = compile_nutpie(model, backend=settings.backend)
        if show == "log":
            log.info(
                "fit: compiled in %.0f s; sampling %d chains x (%d warm-up + %d draws)",
                time.perf_counter() - t0,
                settings.chains,
                settings.tune,
                settings.draws,
            )
        # nutpie.sample, its Arrow trace converted a chain at a time (the fit's peak memory)
        trace = _nutpie_trace.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            seed=settings.random_seed,
            progress_bar=show == "bar",
            progress_callback=nutpie_callback(steps) if show == "log" else None,
            progress_rate=500 if show == "log" else 100,
            save_warmup=False,
        )
    elif settings.sampler == "advi":
        # a quick preview: mean-field ADVI, then draws from the approximation (one "chain");
        # it understates uncertainty, so it is for exploring, not for reporting
        import pymc as pm

        with model:
            approx = pm.fit(
                n=settings.advi_iterations,
                method="advi",
                random_seed=settings.random_seed,
                progressbar=show == "bar",
                callbacks=[advi_callback(steps, settings.advi_iterations)]
                if show == "log"
                else None,
            )
            trace = approx.sample(settings.draws, random_seed=settings.random_seed)
    else:
        import pymc as pm

        with model:
            trace = pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=settings.cores or 1,
                random_seed=settings.random_seed,
                progressbar=show == "bar",
                callback=pymc_callback(steps) if show == "log" else None,
                nuts_sampler="pymc",
            )
    if show == "log":
        steps.finish()
    trace = _postprocess(trace, arrays, settings, scale)
    seconds = time.perf_counter() - t0
    return HBFit(settings, arrays, trace, seconds, scale)
