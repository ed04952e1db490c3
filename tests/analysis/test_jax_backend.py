"""``backend="jax"``: the HB model's Ops in JAX equal the numba kernels, a JAX fit's posterior
equals the default's within Monte Carlo error, and a missing jax is named before any work."""

from __future__ import annotations

import numpy as np
import pytest

from winback.errors import ParameterError, WinbackError


def test_the_ops_in_jax_equal_the_numba_kernels_with_their_gradients():
    pytest.importorskip("jax")
    import pytensor
    import pytensor.tensor as pt

    import analysis._jax  # noqa: F401  (registers the JAX implementations)
    from analysis._constrain import constrain_columns, constraint_arrays
    from analysis._kernels import mnl_beta_loglik, pack_design, packed_chol_matmul

    rng = np.random.default_rng(5)
    n_resp, n_obs, j, k = 7, 30, 4, 5
    x = rng.integers(-1, 2, size=(n_obs, j, k)).astype(float)
    resp = rng.integers(0, n_resp, size=n_obs)
    resp[:n_resp] = np.arange(n_resp)
    avail = np.ones((n_obs, j), dtype=bool)
    avail[::3, 2] = False
    y = np.where(avail[:, 0], 0, 1)
    y[1::2] = 3
    packed = pack_design(x, resp, y, avail, n_resp)
    sign, prev = constraint_arrays(k, [([1, 2, 3], "decreasing"), ([4], "negative")])
    z = pt.dmatrix("z")
    chol = pt.dvector("chol")
    beta = constrain_columns(packed_chol_matmul(z, chol), sign, prev)
    ll = mnl_beta_loglik(beta, packed.codes, packed.ptr, packed.y, packed.mask)
    outs = [ll, *pt.grad(ll, [z, chol])]
    zv = rng.normal(size=(n_resp, k))
    cv = rng.normal(scale=0.5, size=k * (k + 1) // 2)
    got = {mode: pytensor.function([z, chol], outs, mode=mode)(zv, cv) for mode in ("NUMBA", "JAX")}
    for name, a, b in zip(("loglik", "d z", "d chol"), got["NUMBA"], got["JAX"], strict=True):
        err = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        assert err < 1e-9, f"{name}: JAX differs from numba by {err:.2e}"


def test_a_jax_fit_has_the_default_fits_posterior_within_monte_carlo_error():
    pytest.importorskip("jax")
    import arviz as az

    from analysis import fit
    from conjoint import make_design
    from surveys import make_dataset
    from surveys.fieldwork import simulate_fieldwork
    from winback.example import make_example_study

    ex = make_example_study()
    design = make_design(ex.study, versions=10)
    choices, people, _, _ = simulate_fieldwork(
        design, ex.true_means, ex.true_sd, 40, random_seed=11, random_share=0.0, speeder_share=0.0
    )
    data = make_dataset(choices, ex.study, design=design, respondents=people)
    fits = {
        b: fit(data, draws=200, tune=200, chains=2, random_seed=3, backend=b, constraints="price")
        for b in ("numba", "jax")
    }
    assert fits["jax"].settings.backend == "jax"
    mean, mcse = {}, {}
    for b, m in fits.items():
        mu = m.idata_["posterior"]["mu"]
        mean[b] = mu.mean(("chain", "draw")).to_numpy()
        mcse[b] = az.mcse(m.idata_["posterior"].to_dataset(), var_names=["mu"])["mu"].to_numpy()
    diff = np.abs(mean["jax"] - mean["numba"])
    limit = 4 * np.hypot(mcse["jax"], mcse["numba"])
    worst = int(np.argmax(diff / limit))
    assert (diff < limit).all(), (
        f"population mean {fits['jax'].names[worst]}: jax {mean['jax'][worst]:.3f} vs numba "
        f"{mean['numba'][worst]:.3f}, |diff| {diff[worst]:.3f} >= 4 x combined MCSE "
        f"{limit[worst]:.3f}"
    )


def test_a_backend_without_jax_or_unknown_is_named_before_any_work(monkeypatch, tmp_path, capsys):
    import argparse
    import importlib.util

    import analysis.hb
    from analysis import fit
    from winback.cli import main
    from winback.cli.backend_options import check_backend
    from winback.example import example_study_text

    with pytest.raises(WinbackError, match=r"backend must be 'numba' or 'jax', got 'cuda'"):
        fit(None, backend="cuda")  # type: ignore[arg-type]
    with pytest.raises(WinbackError, match=r"sampler 'advi' needs backend 'numba'"):
        fit(None, backend="jax", sampler="advi")  # type: ignore[arg-type]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    with pytest.raises(WinbackError, match=r'pip install "winback\[jax\]"'):
        analysis.hb.require_jax()
    with pytest.raises(ParameterError, match=r"--backend jax needs jax"):
        check_backend(argparse.Namespace(backend="jax", sampler="nutpie"))
    study = tmp_path / "study.toml"
    study.write_text(example_study_text(), encoding="utf-8")
    (tmp_path / "r.csv").write_text("respondent_id\n", encoding="utf-8")
    argv = ["fit", str(study), str(tmp_path / "r.csv"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--backend", "jax"]) != 0
    err = capsys.readouterr().err
    assert 'pip install "winback[jax]"' in err, err
    assert not (tmp_path / "o").exists(), "a fit folder was started before the check"
