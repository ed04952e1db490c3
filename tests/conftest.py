"""Shared fixtures: small studies written as users would write them."""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import pytest

from winback.study import Study, parse_study

BENCH_STUDY = """
[study]
name = "benchmark 4x3x3x3x2"

[[attributes]]
name = "a"
levels = ["a1", "a2", "a3", "a4"]

[[attributes]]
name = "b"
levels = ["b1", "b2", "b3"]

[[attributes]]
name = "c"
levels = ["c1", "c2", "c3"]

[[attributes]]
name = "d"
levels = ["d1", "d2", "d3"]

[[attributes]]
name = "e"
levels = ["e1", "e2"]

[design]
method = "d_efficient"
alternatives = 3
tasks = 12
versions = 1
seed = 1
"""

SMALL_STUDY = """
[study]
name = "Broadband win-back, wave 1"
none_option = true

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "speed"
levels = ["100 Mbps", "500 Mbps", "1 Gbps"]
preference = "increasing"

[[attributes]]
name = "support"
levels = ["Standard", "Priority"]
preference = "increasing"

[[attributes]]
name = "price"
levels = [30.0, 40.0, 50.0, 60.0]
coding = "linear"

[design]
method = "d_efficient"
alternatives = 3
tasks = 8
versions = 2
seed = 7
starts = 2

[costs]
base = 12.0
plan = { Standard = 6.0, Premium = 14.0 }
"""

#: part-worths for simulating choices in SMALL_STUDY (its parameters, none included)
SMALL_TRUTH = {
    "plan[Standard]": 0.6,
    "plan[Premium]": 1.1,
    "speed[500 Mbps]": 0.4,
    "speed[1 Gbps]": 0.9,
    "support[Priority]": 0.5,
    "price": -0.05,
    "none": -1.0,
}

#: one holdout task for SMALL_STUDY (append it to the study text)
SMALL_HOLDOUT = """
[[holdouts]]
name = "h1"
alternatives = [
  { plan = "Basic", speed = "100 Mbps", support = "Standard", price = 30.0 },
  { plan = "Premium", speed = "1 Gbps", support = "Priority", price = 60.0 },
  { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 },
]
"""


def make_study(text: str, **design: object) -> Study:
    """Parse a study text, overriding [design] keys given as keyword arguments."""
    study = parse_study(textwrap.dedent(text))
    if design:
        study = study.replace_design(**design)
    return study


@pytest.fixture
def bench_study() -> Study:
    return make_study(BENCH_STUDY)


@pytest.fixture
def small_study() -> Study:
    return make_study(SMALL_STUDY)


@pytest.fixture(scope="session")
def example_fit():
    """One small HB fit shared by the integration tests (example study, 120 respondents).

    Returns (model, truth, design): the fitted ``analysis.HBModel``, the simulated respondents'
    true part-worths (DataFrame indexed by respondent_id) and the design.
    """
    from analysis import fit
    from conjoint import make_design
    from surveys import make_dataset
    from surveys.fieldwork import simulate_fieldwork
    from winback.example import make_example_study

    ex = make_example_study()
    design = make_design(ex.study, versions=10)
    choices, people, truth, _ = simulate_fieldwork(
        design,
        ex.true_means,
        ex.true_sd,
        120,
        random_seed=11,
        random_share=0.0,
        speeder_share=0.0,
    )
    data = make_dataset(choices, ex.study, design=design, respondents=people)
    model = fit(data, draws=300, tune=300, chains=2, random_seed=3)
    return model, truth, design


#: the MaxDiff items of the shared MaxDiff run (reason codes) and their true mean utilities
MAXDIFF_ITEMS = (
    "price_rise",
    "outages",
    "support",
    "competitor_offer",
    "moved",
    "contract_terms",
    "slow_speed",
    "billing",
)
MAXDIFF_TRUTH = (0.0, 1.0, -0.5, 0.5, -1.0, -1.5, 1.5, 0.2)
#: the CBC part-worth that depends on the MaxDiff: support[Priority] = 0.5 + this x (the
#: respondent's true zero-centred utility of "support")
MAXDIFF_EFFECT = 1.0


@pytest.fixture(scope="session")
def maxdiff_run(tmp_path_factory):
    """A run folder whose import folder holds a MaxDiff (``winback fit`` fits it first): the
    small study, 100 respondents answering 8 CBC tasks and 6 MaxDiff sets of 4 of 8 reasons
    (10 versions, design in ``design/maxdiff_design.csv``); each respondent's part-worth of
    priority support rises with their true MaxDiff utility of "support" (MAXDIFF_EFFECT), and
    the fit names ``maxdiff_support`` as a covariate (2 chains x 150 draws, seconds).

    Returns (run folder, FitRun, true MaxDiff utilities, true CBC part-worths).
    """
    from conjoint import make_design, make_maxdiff_design, maxdiff_utilities, simulate_maxdiff
    from conjoint.export import write_design_csv
    from conjoint.simulate import simulate_choices
    from winback._io import write_csv
    from winback.pipeline import run_fit

    study = make_study(SMALL_STUDY)
    run = tmp_path_factory.mktemp("maxdiff") / "run"
    (run / "design").mkdir(parents=True)
    (run / "import").mkdir()
    design = make_design(study)
    write_design_csv(design, run / "design" / "design.csv")
    md_design = make_maxdiff_design(list(MAXDIFF_ITEMS), per_set=4, n_sets=6, versions=10)
    write_csv(md_design.frame(), run / "design" / "maxdiff_design.csv")
    u = maxdiff_utilities(MAXDIFF_ITEMS, MAXDIFF_TRUTH, n_respondents=100, random_seed=4)
    write_csv(simulate_maxdiff(md_design, u, random_seed=5), run / "import" / "maxdiff.csv")
    centred = u.sub(u.mean(axis=1), axis=0)
    rng = np.random.default_rng(6)
    truth = pd.DataFrame(
        {k: v + 0.3 * rng.standard_normal(len(u)) for k, v in SMALL_TRUTH.items()},
        index=u.index,
    )
    truth["price"] = SMALL_TRUTH["price"]
    truth["support[Priority]"] = 0.5 + MAXDIFF_EFFECT * centred["support"]
    choices = simulate_choices(design, truth, 7)
    write_csv(choices, run / "import" / "responses.csv")
    people = pd.DataFrame({"respondent_id": list(u.index), "tenure_months": 12})
    write_csv(people, run / "import" / "respondents.csv")
    (run / "study.toml").write_text(textwrap.dedent(SMALL_STUDY), encoding="utf-8")
    fit_run = run_fit(
        study,
        run / "import" / "responses.csv",
        run / "fit",
        draws=150,
        tune=150,
        chains=2,
        random_seed=3,
        covariates=["maxdiff_support"],
        validation="none",
    )
    return run, fit_run, u, truth


# --------------------------------------------------------------------------------------------
# The hostile-input suite (tests marked ``hostile``, tests/test_hostile_*.py): every case must
# end in a clear error or the exact right result. A case running longer than HOSTILE_SECONDS is
# stopped and counted as a hang; the counts by outcome are printed at the end of the run.
# --------------------------------------------------------------------------------------------

HOSTILE_SECONDS = 120


class HostileHang(Exception):
    """A hostile-input case ran longer than HOSTILE_SECONDS."""


@pytest.fixture(autouse=True)
def _hostile_timeout(request):
    import signal
    import threading

    if request.node.get_closest_marker("hostile") is None or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def hang(signum, frame):
        raise HostileHang(f"{request.node.nodeid} ran longer than {HOSTILE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HOSTILE_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_HOSTILE: set[str] = set()


# The guide's three tiers. `recovery` (known truth, published numbers) is marked by hand; a test
# that samples a posterior, itself or through a fixture (the shared session fit included), is
# `integration`; every other test is `unit`. `pytest -m unit` runs the fast tier alone.
_SAMPLES = re.compile(
    r"\b(fit|run_fit|run_demo|run_wave|run_pipeline|fit_latent_class)\(|"
    r"[\"'](fit|demo|run)[\"'],|example_fit|main\(\[\s*[\"'](fit|demo|run)[\"']"
)


def _samples(func: Any) -> bool:
    try:
        return bool(_SAMPLES.search(inspect.getsource(func)))
    except (OSError, TypeError):
        return False


def _tier(item: pytest.Item) -> str:
    for tier in ("recovery", "integration", "unit"):  # marked by hand
        if item.get_closest_marker(tier):
            return tier
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        for defs in info.name2fixturedefs.values():
            funcs.extend(d.func for d in defs)
    return "integration" if any(_samples(f) for f in funcs if f is not None) else "unit"


def pytest_collection_modifyitems(items):
    _HOSTILE.update(item.nodeid for item in items if item.get_closest_marker("hostile"))
    for item in items:
        tier = _tier(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))


def _hostile_kind(report) -> str:
    """How a failed hostile case failed: a hang, a traceback (an exception that is not a
    clear error), or a wrong result (an assertion: silent change, lost rows, unclear text)."""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    message = getattr(crash, "message", "") or str(getattr(report, "longrepr", ""))
    if "HostileHang" in message:
        return "hang"
    if message.startswith(("AssertionError", "assert ", "Failed: DID NOT RAISE")):
        return "wrong result"
    return "traceback"


def pytest_terminal_summary(terminalreporter):
    outcome: dict[str, str] = {}
    for key in ("passed", "failed", "error", "skipped"):
        for rep in terminalreporter.stats.get(key, []):
            nodeid = getattr(rep, "nodeid", None)
            hostile = nodeid in _HOSTILE or "hostile" in (getattr(rep, "keywords", None) or {})
            if not hostile or getattr(rep, "when", "call") not in ("call", "setup"):
                continue
            if key == "passed" and rep.when == "setup":
                continue
            if key in ("failed", "error"):
                outcome[nodeid] = _hostile_kind(rep)
            else:
                outcome.setdefault(nodeid, key)
    if not outcome:
        return
    counts = {k: sum(v == k for v in outcome.values()) for k in set(outcome.values())}
    by_file: dict[str, int] = {}
    for nodeid in outcome:
        f = nodeid.split("::")[0].rsplit("/", 1)[-1]
        by_file[f] = by_file.get(f, 0) + 1
    terminalreporter.write_sep("=", "hostile-input suite")
    terminalreporter.write_line(
        f"{len(outcome)} cases: {counts.get('passed', 0)} clear error or exact result; "
        f"{counts.get('traceback', 0)} tracebacks, {counts.get('wrong result', 0)} wrong "
        f"results (silent change, lost rows, unclear error), {counts.get('hang', 0)} hangs, "
        f"{counts.get('skipped', 0)} skipped"
    )
    terminalreporter.write_line(
        "by file: " + ", ".join(f"{f} {n}" for f, n in sorted(by_file.items()))
    )
