"""Where one HB gradient goes at scale (issue 19 item 2).

The scale study of ``hb_vs_bayesm.py`` (2,000 respondents x 15 tasks x (4 + none), 20
parameters), the model of ``analysis.hb.build_model`` compiled as a fit compiles it, and
milliseconds per call (best of 5 x 300 calls) of: the whole log density and gradient through
nutpie's callback; the likelihood Op and its gradient alone; the packed Cholesky product and its
gradient; the N(0, 1) prior of z. Multiply the first by the leapfrog steps of a fit for its
sampling time.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/hb_gradient_parts.py [--respondents N]
[--workdir DIR]``. Installs nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))


def best_ms(f: Any, *args: Any, n: int = 300) -> float:
    f(*args)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            f(*args)
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e3


def main(argv: list[str] | None = None) -> int:
    import pytensor
    import pytensor.tensor as pt
    from hb_vs_bayesm import make_data, scale_study_toml

    from analysis._kernels import codes_by_width, mnl_beta_loglik, pack_design, packed_chol_matmul
    from analysis.data import prepare_choice_data
    from analysis.hb import HBSettings, build_model, compile_nutpie, numba_mode
    from surveys import read_responses

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--respondents", type=int, default=2000)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hb-gradient-"))
    study, _, _, responses = make_data(scale_study_toml(), args.respondents, None, None, work)
    arrays = prepare_choice_data(read_responses(responses, study))
    with numba_mode():
        model, _ = build_model(arrays, HBSettings())
        compiled = compile_nutpie(model)
    x = 0.1 * np.sin(np.arange(compiled.n_dim, dtype=float))
    grad, lp = np.zeros(compiled.n_dim), np.zeros(1)
    dp = ctypes.POINTER(ctypes.c_double)
    call = (compiled.n_dim, x.ctypes.data_as(dp), grad.ctypes.data_as(dp), lp.ctypes.data_as(dp))
    user = ctypes.c_void_p(compiled.user_data.ctypes.data)
    logp = compiled.compiled_logp_func.ctypes
    rows = {"whole log density and gradient": best_ms(logp, *call, user)}

    packed = pack_design(arrays.x, arrays.resp, arrays.y, arrays.avail, arrays.n_respondents)
    k, r = arrays.n_parameters, arrays.n_respondents
    b = pt.dmatrix("b")
    codes = [pytensor.shared(c) for c in codes_by_width(packed.codes)]
    design = [pytensor.shared(v) for v in (packed.ptr, packed.y, packed.mask)]
    ll = mnl_beta_loglik(b, codes, *design)
    f_ll = pytensor.function([b], [ll, pt.grad(ll, b)], mode="NUMBA")
    beta = np.random.default_rng(0).normal(size=(r, k)) * 0.3
    rows["likelihood Op and its gradient"] = best_ms(f_ll, beta)
    z, chol = pt.dmatrix("z"), pt.dvector("chol")
    cost = (packed_chol_matmul(z, chol) * beta).sum()
    f_chol = pytensor.function([z, chol], [cost, *pt.grad(cost, [z, chol])], mode="NUMBA")
    rows["packed Cholesky product and its gradient"] = best_ms(
        f_chol, beta, np.random.default_rng(1).normal(size=k * (k + 1) // 2)
    )
    prior = (-0.5 * z**2).sum()
    f_prior = pytensor.function([z], [prior, pt.grad(prior, z)], mode="NUMBA")
    rows["N(0, 1) prior of z and its gradient"] = best_ms(f_prior, beta)
    print(f"{r} respondents, {arrays.n_obs} observations, {compiled.n_dim} dimensions")
    for name, ms in rows.items():
        print(f"  {name:44s} {ms:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
