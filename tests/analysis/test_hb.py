"""HB-MNL: data preparation (fast), real data with published results, recovery of known truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import arrays_from_long, prepare_choice_data
from analysis.hb import HBSettings, fit_arrays
from conjoint import make_design, parameter_names, simulate_choices
from surveys import make_dataset
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import WinbackError

DATA = Path(__file__).parents[1] / "data"


# -- data preparation: no sampling ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 4, n_respondents=12, sd=0.2)
    return study, design, responses, make_dataset(responses, study, design=design)


def test_arrays_match_the_long_table_row_by_row(small):
    study, design, responses, data = small
    arr = prepare_choice_data(data)
    assert arr.x.shape == (12 * 8, 4, 7)
    assert arr.names == tuple(parameter_names(study))
    # the first task of the first respondent, alternative by alternative
    first = responses[(responses["respondent_id"] == "r01") & (responses["task"] == 1)]
    for j, (_, row) in enumerate(first.iterrows()):
        x = arr.x[0, j]
        if row["alt"] == "none":
            assert x.tolist() == [0, 0, 0, 0, 0, 0, 1]
            continue
        assert x[5] == row["price"]
        assert x[0] == (row["plan"] == "Standard") and x[1] == (row["plan"] == "Premium")
        assert x[6] == 0
    assert arr.y[0] == int(np.flatnonzero(first["chosen"].to_numpy())[0])
    assert arr.avail.all() and arr.resp[:8].tolist() == [0] * 8


def test_excluded_respondents_and_holdouts_are_left_out(small):
    study, design, responses, data = small
    out = data.exclude(["r03", "r07"], "test")
    arr = prepare_choice_data(out)
    assert arr.n_respondents == 10 and "r03" not in arr.respondent_ids
    assert arr.n_obs == 10 * 8
    with pytest.raises(WinbackError, match="no holdout tasks"):
        prepare_choice_data(data, holdouts=True)


def test_dual_response_adds_the_follow_up_as_a_binary_choice(small):
    study, _, _, _ = small
    dual = replace(study, none_option=False, dual_response_none=True)
    design = make_design(dual, method="shortcut")
    responses = simulate_choices(design, SMALL_TRUTH, 1, n_respondents=5)
    arr = prepare_choice_data(make_dataset(responses, dual, design=design))
    assert arr.n_obs == 2 * 5 * 8
    follow = arr.obs["kind"] == "dual"
    assert follow.sum() == 40
    assert arr.avail[follow.to_numpy()].sum(axis=1).tolist() == [2] * 40
    chosen = responses[responses["chosen"] == 1]
    assert ((arr.y[follow.to_numpy()] == 0) == (chosen["would_buy"].to_numpy() == 1)).all()


def test_covariates_are_centred_and_checked(small):
    study, design, responses, data = small
    cov = pd.DataFrame({"respondent_id": data.respondent_ids, "tenure": np.arange(12.0)})
    arr = prepare_choice_data(data, covariates=cov)
    assert arr.covariate_names == ("tenure",)
    assert arr.covariates is not None and abs(arr.covariates.mean()) < 1e-12
    with pytest.raises(WinbackError, match="lack 1 respondent"):
        prepare_choice_data(data, covariates=cov.iloc[1:])
    with pytest.raises(WinbackError, match="numeric"):
        prepare_choice_data(data, covariates=cov.assign(tenure="long"))


# -- real data with published results -------------------------------------------------------------

# Train's electricity data; published mixed-logit estimates (independent normal coefficients)
PUBLISHED = {
    "mlogit": {
        "mu": [-0.973, -0.206, 2.076, 1.476, -9.053, -9.104],
        "sd": [0.220, 0.378, 1.483, 1.000, 2.289, 1.181],
    },
    "xlogit": {
        "mu": [-1.000, -0.236, 2.231, 1.625, -9.607, -9.789],
        "sd": [0.236, 0.403, 1.926, 1.219, 2.335, 1.420],
    },
}
ELECTRICITY = ["pf", "cl", "loc", "wk", "tod", "seas"]


@pytest.mark.recovery
def test_electricity_matches_published_mixed_logit_estimates():
    """Independent normal heterogeneity on Train's electricity data lands near or between the
    published mlogit and xlogit estimates: for all six means and standard deviations the 94%
    posterior interval overlaps the published range and the posterior mean is within 20% of
    the nearest published value (posterior means of sds sit above maximum simulated
    likelihood estimates, as expected of a skewed posterior)."""
    df = pd.read_csv(DATA / "electricity.csv.gz")
    arr = arrays_from_long(df, respondent="id", task="chid", choice="choice", columns=ELECTRICITY)
    assert (arr.n_respondents, arr.n_obs) == (361, 4308)
    fit = fit_arrays(
        arr, HBSettings(covariance="diagonal", draws=500, tune=500, chains=2, random_seed=1)
    )
    post = fit.idata_["posterior"]
    lines, failures = [], []
    for what in ("mu", "sd"):
        mean = post[what].mean(("chain", "draw")).to_numpy()
        lo = post[what].quantile(0.03, ("chain", "draw")).to_numpy()
        hi = post[what].quantile(0.97, ("chain", "draw")).to_numpy()
        for i, name in enumerate(ELECTRICITY):
            a, b = PUBLISHED["mlogit"][what][i], PUBLISHED["xlogit"][what][i]
            pub_lo, pub_hi = min(a, b), max(a, b)
            nearest = a if abs(mean[i] - a) < abs(mean[i] - b) else b
            rel = abs(mean[i] - nearest) / abs(nearest)
            ok = hi[i] >= pub_lo and lo[i] <= pub_hi and rel <= 0.20
            lines.append(
                f"{what}.{name}: winback {mean[i]:.3f} [{lo[i]:.3f}, {hi[i]:.3f}]  "
                f"mlogit {a:.3f}  xlogit {b:.3f}  ({rel:.0%} from nearest)"
            )
            if not ok:
                failures.append(lines[-1])
    print("\n".join(lines))
    assert not failures, "\n".join(["outside the published range:", *failures, "", *lines])


# -- simulated truth --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.recovery
def test_population_means_recovered_within_94_percent_intervals():
    """300 respondents x 12 tasks x (3 alternatives + none), linear price, 10 parameters."""
    from analysis import fit
    from surveys.fieldwork import simulate_fieldwork
    from winback.example import make_example_study

    ex = make_example_study()
    design = make_design(ex.study)
    choices, people, truth, _ = simulate_fieldwork(
        design,
        ex.true_means,
        ex.true_sd,
        300,
        random_seed=21,
        random_share=0.0,
        speeder_share=0.0,
    )
    data = make_dataset(choices, ex.study, design=design, respondents=people)
    model = fit(data, draws=1000, tune=1000, chains=2, random_seed=5)
    post = model.idata_["posterior"]
    lo = post["mu"].quantile(0.03, ("chain", "draw")).to_numpy()
    hi = post["mu"].quantile(0.97, ("chain", "draw")).to_numpy()
    mean = post["mu"].mean(("chain", "draw")).to_numpy()
    # the truth of this sample: the mean of its respondents' part-worths
    sample_mean = truth.loc[list(model.respondent_ids), model.names].mean().to_numpy()
    lines = [
        f"{n}: truth {t:.3f}  est {m:.3f} [{a:.3f}, {b:.3f}]"
        for n, t, m, a, b in zip(model.names, sample_mean, mean, lo, hi, strict=True)
    ]
    outside = [
        ln for ln, t, a, b in zip(lines, sample_mean, lo, hi, strict=True) if not a <= t <= b
    ]
    print("\n".join(lines))
    # 12 intervals at 94%: allow one miss (P(>= 2 misses) is about 0.16 if all were independent)
    assert len(outside) <= 1, "\n".join(["truth outside the 94% interval:", *outside, "", *lines])
    est = model.beta_mean()
    corr = {n: float(np.corrcoef(truth.loc[est.index, n], est[n])[0, 1]) for n in model.names}
    assert min(corr.values()) > 0.3, f"individual recovery too weak: {corr}"


def test_sign_and_order_constraints_are_exact():
    from analysis import fit

    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap", versions=4)
    sd = {**dict.fromkeys(SMALL_TRUTH, 0.3), "price": 0.01}
    responses = simulate_choices(design, SMALL_TRUTH, 3, n_respondents=80, sd=sd)
    data = make_dataset(responses, study, design=design)
    model = fit(data, draws=200, tune=200, chains=2, constraints="preferences", random_seed=2)
    assert dict(model.settings.constraints) == {
        "price": "negative",
        "speed": "increasing",
        "support": "increasing",
    }
    b = model.beta_draws()
    col = model.names.index
    assert b[..., col("price")].max() < 0, "a price slope was not negative"
    assert (b[..., col("speed[1 Gbps]")] >= b[..., col("speed[500 Mbps]")]).all()
    assert (b[..., col("speed[500 Mbps]")] > 0).all() and (
        b[..., col("support[Priority]")] > 0
    ).all()
    mu = model.idata_["posterior"]["mu"].mean(("chain", "draw")).to_dataframe()["mu"]
    assert mu["price"] == pytest.approx(-0.05, abs=0.015), (
        f"price mean {mu['price']:.4f}, truth -0.05"
    )
    assert mu["none"] == pytest.approx(-1.0, abs=0.4), f"none mean {mu['none']:.3f}, truth -1.0"


def test_an_earlier_wave_as_prior_pulls_a_small_new_wave_towards_it(example_fit):
    from analysis import fit
    from surveys.fieldwork import simulate_fieldwork

    wave1, _, design = example_fit
    study = wave1.study
    means = {k: v * 0.5 for k, v in wave1_truth_means(study).items()}
    sd = dict.fromkeys(means, 0.3)
    choices, people, _, _ = simulate_fieldwork(
        design, means, sd, 15, random_seed=8, random_share=0.0, speeder_share=0.0
    )
    small = make_dataset(choices, study, design=design, respondents=people)
    free = fit(small, draws=200, tune=200, chains=2, random_seed=1)
    anchored = fit(
        small, draws=200, tune=200, chains=2, random_seed=1, prior=wave1, prior_widen=1.0
    )
    m1 = wave1.idata_["posterior"]["mu"].mean(("chain", "draw")).to_numpy()
    mf = free.idata_["posterior"]["mu"].mean(("chain", "draw")).to_numpy()
    ma = anchored.idata_["posterior"]["mu"].mean(("chain", "draw")).to_numpy()
    d_free, d_anchored = np.abs(mf - m1).mean(), np.abs(ma - m1).mean()
    assert d_anchored < d_free, (
        f"mean distance to wave 1: with its prior {d_anchored:.3f}, without {d_free:.3f}"
    )


def wave1_truth_means(study):
    from winback.example import make_example_study

    return make_example_study().true_means


def _callbacks(compiled):
    """nutpie's C callbacks of a compiled model as Python functions of a point."""
    import ctypes

    user = ctypes.c_void_p(compiled.user_data.ctypes.data)
    n, m = compiled.n_dim, compiled.n_expanded

    def logp(x):
        grad, lp = np.zeros(n), np.zeros(1)
        dp = ctypes.POINTER(ctypes.c_double)
        code = compiled.compiled_logp_func.ctypes(
            n, x.ctypes.data_as(dp), grad.ctypes.data_as(dp), lp.ctypes.data_as(dp), user
        )
        return code, lp[0], grad

    def expand(x):
        out = np.zeros(m)
        dp = ctypes.POINTER(ctypes.c_double)
        code = compiled.compiled_expand_func.ctypes(
            n, m, x.ctypes.data_as(dp), out.ctypes.data_as(dp), user
        )
        return code, out

    return logp, expand


@pytest.mark.integration
def test_faster_nutpie_compilation_agrees_with_nutpies_own(small):
    """analysis/_nutpie.py compiles nutpie's callbacks faster, for any number of respondents,
    and caches them: its log density, gradient and expansion equal nutpie's own at random
    points (to rounding: the graph is the same but its shapes are symbolic), and a cached
    compilation samples exactly as a fresh one."""
    import nutpie
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    from analysis._nutpie import applicable
    from analysis.hb import build_model, compile_nutpie, numba_mode

    if not applicable():
        pytest.skip(f"nutpie {nutpie.__version__}: its own compilation is used")
    _, _, _, data = small
    arrays = prepare_choice_data(data)
    compiled, draws = [], []
    with numba_mode():
        for faster in (True, True, False):  # the second loads the first's callbacks
            model, _ = build_model(arrays, HBSettings())
            compiled.append(compile_nutpie(model, faster=faster))
            if faster:
                trace = nutpie.sample(
                    compiled[-1], draws=30, tune=30, chains=1, seed=9, progress_bar=False
                )
                draws.append(trace["posterior"]["z"].to_numpy())
    assert [p.name for p in NUMBA_CACHE_PATH.glob("*logp_numba*.nbi")], NUMBA_CACHE_PATH
    assert np.array_equal(draws[0], draws[1]), "fresh and cached callbacks sample differently"
    (mine, mine_x), (cached, cached_x), (theirs, theirs_x) = map(_callbacks, compiled)
    rng = np.random.default_rng(4)
    for scale in (0.3, 1.0, 3.0):
        for _ in range(10):
            x = rng.normal(size=compiled[0].n_dim) * scale
            a, b, c = mine(x), cached(x), theirs(x)
            assert a[0] == b[0] == c[0] == 0, (a[0], b[0], c[0])
            assert a[1] == b[1] and np.array_equal(a[2], b[2]), "cached callback differs"
            assert a[1] == pytest.approx(c[1], rel=1e-13), (a[1], c[1])
            assert np.allclose(a[2], c[2], rtol=1e-11, atol=1e-11), np.abs(a[2] - c[2]).max()
            ea, ec = mine_x(x), theirs_x(x)
            assert ea[0] == ec[0] == 0 and np.allclose(ea[1], ec[1], rtol=1e-13, atol=0)
    # other data of the same study (fewer respondents): served from the cache, nothing new
    files = sorted(p.name for p in NUMBA_CACHE_PATH.glob("*_numba-*"))
    fewer = arrays.subset(arrays.resp < arrays.resp.max())
    fewer = replace(fewer, respondent_ids=fewer.respondent_ids[:-1])
    with numba_mode():
        model, _ = build_model(fewer, HBSettings())
        other = compile_nutpie(model)
    assert other.n_dim == compiled[0].n_dim - arrays.n_parameters, (other.n_dim, compiled[0].n_dim)
    assert sorted(p.name for p in NUMBA_CACHE_PATH.glob("*_numba-*")) == files, (
        "new data of the same study compiled new callbacks"
    )


# -- the options every door shares (issue 16): constraints, covariates by name, progress --------


def test_every_constraint_kind_resolves_and_every_mistake_is_named_at_once(small_study):
    from analysis.model import CONSTRAINT_KINDS, resolve_constraints

    study = small_study
    got = resolve_constraints(
        study,
        {
            "price": "negative",  # a linear attribute's slope
            "speed": "increasing",  # an attribute's levels
            "support": "positive",  # a two-level attribute: its one parameter
            "plan[Premium]": "positive",  # one level by parameter name
            "none": "negative",  # a constant
        },
    )
    assert got == {
        "price": "negative",
        "speed": "increasing",
        "support[Priority]": "positive",
        "plan[Premium]": "positive",
        "none": "negative",
    }, got
    # an order on a linear attribute is the sign of its slope, recorded so
    assert resolve_constraints(study, {"price": "decreasing"}) == {"price": "negative"}
    assert resolve_constraints(study, {"plan": "decreasing"}) == {"plan": "decreasing"}
    assert resolve_constraints(study, "price") == {"price": "negative"}
    assert resolve_constraints(study, "preferences") == {
        "price": "negative",
        "speed": "increasing",
        "support": "increasing",
    }
    assert resolve_constraints(study, None) == resolve_constraints(study, "none") == {}
    with pytest.raises(WinbackError) as err:
        resolve_constraints(
            study,
            {
                "prise": "negative",
                "speed": "upwards",
                "plan": "positive",
                "none": "increasing",
            },
        )
    msg = str(err.value)
    for part in (
        "'prise': no such attribute or parameter (did you mean 'price'?)",
        "'speed': unknown kind 'upwards'",
        "'plan': a sign constrains one parameter and 'plan' has 2 (plan[Standard], plan[Premium])",
        "'none': increasing and decreasing order an attribute's levels",
        "Valid kinds: " + ", ".join(CONSTRAINT_KINDS),
        "Attributes: plan, speed, support, price",
    ):
        assert part in msg, f"{part!r} not in {msg!r}"
    with pytest.raises(WinbackError, match="constrained twice"):
        resolve_constraints(study, {"plan": "increasing", "plan[Premium]": "positive"})
    with pytest.raises(WinbackError, match="'support\\[Priority\\]' is constrained twice"):
        resolve_constraints(study, {"support": "positive", "support[Priority]": "negative"})
    with pytest.raises(WinbackError, match="'none', 'price', 'preferences' or a mapping"):
        resolve_constraints(study, "prices")


def test_covariates_by_column_name_numbers_as_they_are_text_as_indicators(small):
    from analysis.data import respondent_covariates
    from surveys import simulate_respondents

    study, design, responses, _ = small
    people = simulate_respondents(study, 12, random_seed=3)
    data = make_dataset(responses, study, design=design, respondents=people)
    data = data.exclude(["r01"], reason="test")
    cov = respondent_covariates(data, ["tenure_months", "segment"])
    kept = people.set_index("respondent_id").loc[data.included_ids]
    segments = sorted(kept["segment"].unique())
    assert list(cov.columns) == [
        "respondent_id",
        "tenure_months",
        *(f"segment[{s}]" for s in segments[1:]),
    ], (list(cov.columns), segments)
    assert list(cov["respondent_id"]) == data.included_ids
    assert cov["tenure_months"].tolist() == kept["tenure_months"].astype(float).tolist()
    for s in segments[1:]:
        want = (kept["segment"] == s).astype(float).tolist()
        assert cov[f"segment[{s}]"].tolist() == want, s
    arrays = prepare_choice_data(data, covariates=cov)
    assert arrays.covariate_names == tuple(cov.columns[1:])
    # every mistake at once, with the valid columns
    gappy = people.assign(tenure_months=people["tenure_months"].mask(people.index < 2))
    bad = make_dataset(responses, study, design=design, respondents=gappy)
    with pytest.raises(WinbackError) as err:
        respondent_covariates(bad, ["tenure_months", "segmnt", "respondent_id"])
    msg = str(err.value)
    assert "'tenure_months' is missing for 2 of 12 included respondents (e.g. r01, r02)" in msg, msg
    assert "'segmnt' is not a respondent column (did you mean 'segment'?)" in msg, msg
    assert "'respondent_id' names the respondents; it is not a covariate" in msg, msg
    assert "Respondent columns: " in msg and "customer_value" in msg, msg


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise():
    import io

    from analysis._progress import resolve_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_progress(True, stream=io.StringIO()) == "log"
    assert resolve_progress(True, stream=Terminal()) == "bar"
    assert resolve_progress("log", stream=Terminal()) == "log"
    assert resolve_progress("bar", stream=io.StringIO()) == "bar"
    assert resolve_progress(False, stream=Terminal()) is None
    closed = io.StringIO()
    closed.close()
    assert resolve_progress(True, stream=closed) == "log"
    with pytest.raises(WinbackError, match=r"progress must be False, True .* got 'yes'"):
        resolve_progress("yes")


def test_progress_log_lines_at_every_tenth_and_after_a_silence():
    from analysis._progress import ProgressLog, pymc_callback

    now = [0.0]
    p = ProgressLog(chains=2, tune=50, draws=100, every_seconds=30, clock=lambda: now[0])
    p.update([(0, True), (0, True)])  # nothing done yet: no line
    now[0] = 3.0
    p.update([(20, True), (12, True)])  # 32 of 300: past the first tenth
    now[0] = 4.0
    p.update([(25, True), (20, True)])  # 45 of 300: still the second tenth, 1 s later
    now[0] = 40.0
    p.update([(26, True), (21, True)])  # no tenth, but 36 s of silence
    now[0] = 50.0
    p.update([(150, False), (80, False)])  # 230 of 300: the seventh tenth
    now[0] = 61.0
    p.update([(150, False), (150, False)])
    p.update([(150, False), (150, False)])  # done once
    p.finish()
    assert p.lines == [
        "fit: chains 1-2 of 2, draw 12 of 150 (warm-up), 3 s, 11% done",
        "fit: chains 1-2 of 2, draw 21 of 150 (warm-up), 40 s, 16% done",
        "fit: chain 2 of 2, draw 80 of 150 (sampling), 50 s, 77% done",
        "fit: sampling done: 2 chains x 150 (50 warm-up + 100 draws), 61 s",
    ], p.lines
    # PyMC's chains one after another (cores=1): the running chain by its number
    now[0] = 0.0
    q = ProgressLog(chains=4, tune=500, draws=1000, clock=lambda: now[0])
    step = pymc_callback(q)

    class Draw:
        def __init__(self, chain: int, idx: int) -> None:
            self.chain, self.draw_idx, self.tuning = chain, idx, idx < 500

    for chain in range(4):
        for idx in range(1500):
            now[0] += 0.002
            step(None, Draw(chain, idx))
    # 6,000 iterations in all, 600 a tenth, 2 ms each
    assert q.lines[:5] == [
        "fit: chain 1 of 4, draw 600 of 1500 (sampling), 1 s, 10% done",
        "fit: chain 1 of 4, draw 1200 of 1500 (sampling), 2 s, 20% done",
        "fit: chain 2 of 4, draw 300 of 1500 (warm-up), 4 s, 30% done",
        "fit: chain 2 of 4, draw 900 of 1500 (sampling), 5 s, 40% done",
        "fit: chain 2 of 4, draw 1500 of 1500 (sampling), 6 s, 50% done",
    ], q.lines
    assert q.lines[-1] == "fit: sampling done: 4 chains x 1500 (500 warm-up + 1000 draws), 12 s"
    assert len(q.lines) == 10, q.lines


@pytest.mark.integration
def test_a_fit_reports_progress_in_log_lines_when_stderr_is_not_a_terminal(small, monkeypatch):
    import io
    import logging
    import sys

    from analysis import fit

    _, _, _, data = small
    monkeypatch.setattr("sys.stderr", io.StringIO())  # CI, a log file
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("winback")
    # only this handler (`winback` commands run earlier leave theirs on their own streams)
    handlers, level = logger.handlers[:], logger.level
    logger.handlers[:] = [Keep()]
    logger.setLevel(logging.INFO)
    try:
        fit(data, draws=100, tune=100, chains=2, random_seed=1, progress=True)
        quiet = len(lines)
        fit(data, draws=100, tune=100, chains=2, random_seed=1)
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    steps = [ln for ln in lines[:quiet] if ln.startswith("fit: ")]
    assert steps[0].startswith("fit: compiling the model"), steps
    assert steps[1].startswith("fit: compiled in "), steps
    assert steps[-1].startswith("fit: sampling done: 2 chains x 200 (100 warm-up + 100 draws)")
    assert all("fit: " not in ln for ln in lines[quiet:]), lines[quiet:]
    # nothing drawn on the stream: no bar, no carriage returns
    assert sys.stderr.getvalue() == "", sys.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("covariance", ["full", "diagonal", "diagonal packed"])
def test_postprocess_builds_beta_in_the_draws_buffer_with_the_same_numbers(small, covariance):
    # no sampling: a synthetic posterior; the in-place theta (z's buffer, a block of draws at a
    # time) equals mu + z L' / scale computed apart, and a read-only z takes the copying path
    import xarray as xr

    from analysis.hb import _postprocess

    arr = prepare_choice_data(small[3])
    assert arr.names[-1] == "none", arr.names
    n, k = arr.n_respondents, arr.n_parameters
    rng = np.random.default_rng(5)
    c, d = 2, 130  # more draws than one block (64)
    z = rng.normal(size=(c, d, n, k))
    mu = rng.normal(size=(c, d, k))
    if covariance == "full":
        lower = np.tril(rng.normal(size=(c, d, k, k)) * 0.3)
        lower[..., np.arange(k), np.arange(k)] = (
            np.abs(lower[..., np.arange(k), np.arange(k)]) + 0.5
        )
        extra = {"chol": (("chain", "draw", "chol_entry"), lower[..., *np.tril_indices(k)])}
    else:
        sd = np.abs(rng.normal(size=(c, d, k))) + 0.2
        lower = np.einsum("cdk,kl->cdkl", sd, np.eye(k))
        extra = {"sd_scaled": (("chain", "draw", "parameter"), sd)}
        if covariance == "diagonal packed":
            # the sampler's packed factor (build_model): sds on its diagonal, prior-only
            # off-diagonal entries that must not enter beta
            packed = np.tril(rng.normal(size=(c, d, k, k)), -1) + lower
            extra = {"chol": (("chain", "draw", "chol_entry"), packed[..., *np.tril_indices(k)])}
    scale = arr.column_scale()
    # the free variables hold mu' = A mu and L' = A L (the none constant against the average
    # alternative, analysis/_none_shift.py): the model's mu and L are A^-1 of them
    from analysis._none_shift import shift_vector

    w = shift_vector(arr, [], scale)
    assert w.any(), "the small study has none: the shift should not vanish"
    mu_o, lower_o = mu.copy(), lower.copy()
    mu_o[..., k - 1] += mu @ w
    if covariance == "full":
        lower_o[..., k - 1, :] += np.einsum("k,cdkj->cdj", w, lower)
    expect = (np.einsum("cdnj,cdkj->cdnk", z, lower_o) + mu_o[:, :, None, :]) / scale
    settings = HBSettings(covariance=covariance.split()[0])
    for writeable in (True, False):
        zz = z.copy()
        zz.flags.writeable = writeable
        post = xr.Dataset(
            {
                "z": (("chain", "draw", "respondent", "parameter"), zz),
                "mu_scaled": (("chain", "draw", "parameter"), mu),
                **extra,
            },
            coords={"chain": np.arange(c), "draw": np.arange(d)},
        )
        trace = _postprocess(xr.DataTree.from_dict({"posterior": post}), arr, settings, scale)
        beta = trace["posterior"]["beta"].to_numpy()
        err = float(np.abs(beta - expect).max())
        assert err < 1e-12, f"writeable={writeable}: beta off by {err:.3g} (allowed 1e-12)"
        assert "z" not in trace["posterior"].data_vars
        mu_err = float(np.abs(trace["posterior"]["mu_scaled"].to_numpy() - mu_o).max())
        assert mu_err < 1e-12, f"mu_scaled not turned back: off by {mu_err:.3g}"
        assert np.shares_memory(beta, zz) == writeable, f"writeable={writeable}: buffer reuse"
        if covariance != "full":
            # a diagonal fit reports as before: sd_scaled, no packed factor
            got = trace["posterior"]
            assert "chol" not in got.data_vars and "chol_entry" not in got.coords, list(got)
            err = float(np.abs(got["sd_scaled"].to_numpy() - sd).max())
            assert err == 0.0, f"sd_scaled off by {err:.3g}"
            corr = got["corr"].to_numpy()
            assert np.array_equal(corr, np.broadcast_to(np.eye(k), corr.shape)), "corr not I"
