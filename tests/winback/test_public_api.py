"""The public API is what the docs say: every import in docs/, the README and the notebooks
works, and each package's ``__all__`` lists what it exports."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("winback", "conjoint", "surveys", "analysis", "reports")
_FENCE = re.compile(r"```(?:python|py|pycon)?\n(.*?)```", re.S)


def _code_blocks() -> list[tuple[str, str]]:
    """(where, code) of every Python snippet in the docs, the README and the notebooks."""
    out = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(_FENCE.findall(md.read_text(encoding="utf-8"))):
            code = "\n".join(
                line[4:] if line.startswith((">>> ", "... ")) else line
                for line in block.splitlines()
            )
            out.append((f"{md.name} block {i + 1}", code))
    for src in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        out.append((f"notebooks/src/{src.name}", src.read_text(encoding="utf-8")))
    return out


def _imports() -> list[tuple[str, str, str | None]]:
    """(where, module, name or None) of every import of a winback package in those snippets."""
    found = set()
    for where, code in _code_blocks():
        lines = [ln for ln in code.splitlines() if re.match(r"\s*(from|import)\s", ln)]
        for line in lines:
            try:
                tree = ast.parse(line.strip())
            except SyntaxError:  # a multi-line import: take its first line's module only
                m = re.match(r"\s*from\s+([\w.]+)\s+import", line)
                if m and m.group(1).split(".")[0] in PACKAGES:
                    found.add((where, m.group(1), None))
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    if node.module.split(".")[0] in PACKAGES:
                        for a in node.names:
                            found.add((where, node.module, a.name))
                elif isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.split(".")[0] in PACKAGES:
                            found.add((where, a.name, None))
    return sorted(found, key=lambda t: (t[0], t[1], t[2] or ""))


IMPORTS = _imports()


def test_the_docs_import_something() -> None:
    assert len(IMPORTS) > 30, f"only {len(IMPORTS)} imports found in the docs: is the scan broken?"


@pytest.mark.parametrize(("where", "module", "name"), IMPORTS, ids=lambda x: str(x))
def test_every_documented_import_works(where: str, module: str, name: str | None) -> None:
    mod = importlib.import_module(module)
    if name is not None and name != "*":
        assert hasattr(mod, name), f"{where}: `from {module} import {name}` fails"


@pytest.mark.parametrize("package", PACKAGES)
def test_all_lists_every_public_name_and_nothing_else(package: str) -> None:
    mod = importlib.import_module(package)
    listed = set(getattr(mod, "__all__", ()))
    assert listed, f"{package} has no __all__"
    missing = sorted(n for n in listed if not hasattr(mod, n))
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
    public = {
        n
        for n, v in vars(mod).items()
        if not n.startswith("_")
        and callable(v)  # functions and classes (constants may stay unlisted)
        and (getattr(v, "__module__", None) or "").split(".")[0] in PACKAGES
    }
    unlisted = sorted(public - listed)
    assert not unlisted, f"{package} exports names missing from __all__: {unlisted}"


VERBS = {
    "conjoint": ["make_design", "inspect_design", "simulate_choices", "write_design_csv"],
    "surveys": ["read_responses", "make_dataset", "flag_quality", "write_responses"],
    "analysis": ["fit", "simulate", "optimize_offer", "optimize_tiers", "read_market"],
    "reports": ["write_workbook", "read_run_folder"],
    "winback": ["load_study", "parse_study"],
}


@pytest.mark.parametrize("package", sorted(VERBS))
def test_each_package_exports_its_verbs(package: str) -> None:
    mod = importlib.import_module(package)
    missing = [v for v in VERBS[package] if v not in getattr(mod, "__all__", ())]
    assert not missing, f"`from {package} import ...` lacks {missing}"


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], ["fit", "--help"], ["field", "--help"]]
)
def test_cli_answers_without_heavy_imports(argv: list[str]) -> None:
    """``winback --version`` and ``--help`` answer at once: no pandas, scipy, pymc, numba or
    SQLAlchemy is imported for them (issue 19 item 5; 3.4 s before, about 0.06 s after)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from winback.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}\n"
        "               & {'pandas', 'scipy', 'pymc', 'pytensor', 'numba', 'sqlalchemy', 'numpy'})\n"
        "print('HEAVY', ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    heavy = out.rsplit("HEAVY", 1)[1].strip()
    assert heavy == "", f"`winback {' '.join(argv)}` imported {heavy}"


#: every command's stage: what `winback CMD` imports before its own work starts
STAGES = [
    "winback.pipeline.design",
    "winback.pipeline.responses",  # winback import
    "winback.pipeline.fit",
    "winback.pipeline.latent",  # winback fit --model latent-class
    "winback.pipeline.market",  # winback simulate
    "winback.pipeline.recommend",
    "winback.pipeline.target",
    "winback.pipeline.outcomes",
    "winback.pipeline.report",
    "winback.waves.parallel",  # winback run (openpyxl: as it compares waves)
    "winback.waves.compare",  # winback compare-waves (openpyxl: as it writes)
]

#: libraries no stage imports at start: the samplers (PyMC, PyTensor, ArviZ, xarray: a fit is
#: read without them), scipy.special/stats/optimize/sparse (about 0.1 to 0.7 s; they load when
#: a band, a calibration, a diagnostic or the latent class EM is computed), numba (about 0.4 s;
#: the kernels load when they first run), plotting and workbook libraries (``winback report``
#: loads them once the run folder is read), SQLAlchemy (the web survey's database) and Dask
HEAVY = ["pymc", "pytensor", "arviz", "xarray", "scipy.special", "scipy.stats", "scipy.optimize",
         "scipy.fft", "scipy.sparse", "numba", "matplotlib", "openpyxl", "sqlalchemy", "dask"]  # fmt: skip

#: winback's own modules that are one command's work, or load where they compute: the stages
#: that may import them at start (every other stage must not)
LATE = {
    "analysis.latent_class": {"winback.pipeline.latent"},
    "analysis._latent_em": {"winback.pipeline.latent"},
    "analysis.campaign.scoring": {"winback.pipeline.target", "winback.pipeline.outcomes"},
    "analysis.campaign.outcomes": {"winback.pipeline.outcomes"},
    "analysis.offers.offer": {"winback.pipeline.recommend"},
    "analysis.tiers.good_better_best": {"winback.pipeline.recommend"},
    "analysis.decision.scoring": {"winback.pipeline.recommend"},
    "analysis.contrasts.posterior": {"winback.waves.parallel", "winback.waves.compare"},
    "surveys.fieldwork": {"winback.pipeline.design"},
    # the design search: `winback design`'s work (conjoint.design loads it in make_design)
    "conjoint.design_search": {"winback.pipeline.design"},
    "conjoint.information": {"winback.pipeline.design"},
    "conjoint.constraints": {"winback.pipeline.design"},
    # the HB estimation and its sampler: analysis.io loads them when it reads a fit; the fit
    # stages fit, and the others here reach them through analysis.model (latent, waves),
    # analysis.campaign.preferences (target, outcomes) or analysis.results (waves)
    **{
        m: {
            "winback.pipeline.fit",
            "winback.pipeline.latent",
            "winback.pipeline.target",
            "winback.pipeline.outcomes",
            "winback.waves.parallel",
            "winback.waves.compare",
        }
        for m in ("analysis.hb", "analysis._nutpie", "analysis._nutpie_trace")
    },
    "surveys.formats.qualtrics": set(),  # when that format is read
    "surveys.formats.sawtooth": set(),
    "surveys.formats.cbctools": set(),
    "winback.pipeline.fit": {"winback.pipeline.fit"},
    "winback.pipeline.latent": {"winback.pipeline.latent"},
    "winback.pipeline.recommend": {"winback.pipeline.recommend"},
    "winback.pipeline.target": {"winback.pipeline.target", "winback.pipeline.outcomes"},
    "reports.live_sheet": set(),  # as the workbook is written
    "reports.waves_sheet": set(),
    "reports.workbook.writer": set(),
}


@pytest.mark.parametrize("stage", STAGES)
def test_command_stages_import_only_what_they_use(stage: str) -> None:
    """A command starts its own work at once (issue 19 item 5): its stage imports none of the
    heavy libraries (:data:`HEAVY`) and none of winback's modules that are another command's
    work or load where they compute (:data:`LATE`): ``winback simulate`` does not load the
    campaign's scoring, the offer search or the latent class EM, ``winback fit --model
    latent-class`` not the HB fit stage or scipy. Checked on ``sys.modules`` in a fresh
    interpreter (``benchmarks/startup_bench.py`` times it)."""
    import subprocess
    import sys

    watched = [*HEAVY, *LATE]
    code = f"import sys, {stage}\nprint('LOADED', ','.join(m for m in {watched!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    loaded = {m for m in out.rsplit("LOADED", 1)[1].strip().split(",") if m}
    heavy = sorted(loaded & set(HEAVY))
    assert not heavy, f"importing {stage} loaded {heavy}"
    early = sorted(m for m in loaded & set(LATE) if stage not in LATE[m])
    assert not early, f"importing {stage} loaded {early}, which are not its work at start-up"


#: modules that a stage imports for one thing (a design's type, reading a fit) and what they
#: load only where it is used
READ_ONLY = {
    "conjoint.design": [
        "conjoint.design_search",
        "conjoint.information",
        "conjoint.constraints",
        "conjoint.priors",
    ],
    "analysis.io": ["analysis.hb", "analysis._nutpie", "analysis._nutpie_trace", "analysis.model"],
}


@pytest.mark.parametrize("module", sorted(READ_ONLY))
def test_reading_a_design_or_a_fit_loads_no_search_or_sampler(module: str) -> None:
    """``conjoint.design`` (``ChoiceDesign``, imported by ``winback import`` and ``winback
    fit``) loads the design search and the priors in ``make_design``; ``analysis.io`` loads
    the HB estimation and nutpie's wrappers in ``load_model``. Checked on ``sys.modules`` in a
    fresh interpreter, then each public name still works."""
    import subprocess
    import sys

    watched = READ_ONLY[module]
    code = f"import sys, {module}\nprint('LOADED', ','.join(m for m in {watched!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    loaded = [m for m in out.rsplit("LOADED", 1)[1].strip().split(",") if m]
    assert not loaded, f"importing {module} loaded {loaded} ({len(loaded)} of {len(watched)})"
    from analysis import load_model, save_model
    from conjoint import ChoiceDesign, make_design

    assert callable(load_model) and callable(save_model) and callable(make_design)
    assert isinstance(ChoiceDesign, type)


def test_startup_bench_flags_by_cpu_time_not_wall_time() -> None:
    """``benchmarks/startup_bench.py`` flags a command whose start takes over 1 s of CPU (user +
    system of the child), whatever its wall time on a loaded machine, and prints both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "startup_bench", ROOT / "benchmarks/startup_bench.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.LIMIT_CPU == 1.0, bench.LIMIT_CPU
    base = (0.50, 0.45)  # pandas: wall, CPU (s)
    # a loaded machine: 1.40 s wall but 0.62 s CPU is not over; 0.95 s wall with 1.20 s CPU is
    slow_wall = bench.stage_line("winback fit", 1.40, 0.62, 0.55, base, "pandas")
    busy_cpu = bench.stage_line("winback design", 0.95, 1.20, 1.05, base, "")
    assert slow_wall.split("loads:")[0].rstrip().endswith("ok"), slow_wall
    assert "over 1 s CPU" in busy_cpu and "over 1 s CPU" not in slow_wall, (slow_wall, busy_cpu)
    for part in (" 1.40 s  0.62 s        0.55 s", "over pandas: wall +0.90 s, CPU +0.17 s"):
        assert part in slow_wall, f"{part!r} not in {slow_wall!r}"
    assert "over pandas: wall +0.45 s, CPU +0.75 s" in busy_cpu, busy_cpu
    assert busy_cpu.endswith("loads: -"), busy_cpu
    assert (bench.flag(1.0), bench.flag(1.01)) == ("ok", "over 1 s CPU")


def test_late_modules_exist() -> None:
    """Each module :data:`LATE` names exists (a renamed one would pass the test above vacuously)."""
    import importlib.util

    names = [*LATE, *STAGES, *READ_ONLY, *(m for ms in READ_ONLY.values() for m in ms)]
    missing = [m for m in names if importlib.util.find_spec(m) is None]
    assert not missing, f"no such modules: {missing}"


def _lazy_packages() -> list[str]:
    """Every package whose names load on first use (its ``__init__`` calls the shared helper)."""
    found = []
    for pkg in PACKAGES:
        for init in sorted((ROOT / pkg).rglob("__init__.py")):
            if "_lazy_names(" in init.read_text(encoding="utf-8"):
                found.append(".".join(init.parent.relative_to(ROOT).parts))
    return found


LAZY_PACKAGES = _lazy_packages()


def test_every_lazy_package_uses_the_shared_helper() -> None:
    """One ``__getattr__`` for all lazy packages (:func:`winback._lazy.lazy_names`): no package
    keeps a copy of its own."""
    assert len(LAZY_PACKAGES) >= 10, f"only {LAZY_PACKAGES} found: is the scan broken?"
    own = []
    for pkg in PACKAGES:
        for init in sorted((ROOT / pkg).rglob("__init__.py")):
            if "def __getattr__" in init.read_text(encoding="utf-8"):
                own.append(init.relative_to(ROOT).as_posix())
    assert not own, f"packages with their own __getattr__ (use winback._lazy.lazy_names): {own}"


#: lazy packages that look a name up in its module every time (``keep=False``), as they did
#: before the shared helper: a name patched in its module is what the package gives
LOOKED_UP_EVERY_TIME = {"winback", "winback.pipeline", "surveys", "surveys.web"}


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_package_lists_and_loads_its_names(package: str) -> None:
    """``dir()`` lists every name of ``__all__``, each loads and is kept in the package (but in
    :data:`LOOKED_UP_EVERY_TIME`, see the next test); an unknown name is an AttributeError
    naming the package."""
    import importlib

    mod = importlib.import_module(package)
    unlisted = sorted(set(mod.__all__) - set(dir(mod)))
    assert not unlisted, f"dir({package}) lacks {unlisted}"
    for name in mod.__all__:
        value = getattr(mod, name)  # loads
        if package not in LOOKED_UP_EVERY_TIME:
            assert vars(mod).get(name) is value, f"{package}.{name} was not kept after loading"
    with pytest.raises(AttributeError, match=rf"module '{package}' has no attribute 'nope'"):
        _ = mod.nope


def test_a_stage_patched_in_its_module_is_what_the_pipeline_gives(monkeypatch) -> None:
    """``winback.pipeline`` looks a name up in its stage module every time: a test (or a
    notebook) replacing ``winback.pipeline.fit.run_fit`` gets it from ``winback.pipeline``,
    which the command line imports from, even after the name was looked up once."""
    import winback.pipeline
    import winback.pipeline.fit as fit_stage

    real = winback.pipeline.run_fit
    assert real is fit_stage.run_fit

    def fake(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(fit_stage, "run_fit", fake)
    assert winback.pipeline.run_fit is fake, "winback.pipeline kept the stage's former run_fit"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_no_public_name_is_also_a_submodule(package):
    """A lazy package's name that is also one of its modules would become the module once that
    module is imported (``from analysis import maxdiff_covariates`` gave a module, not the
    function): every public name must differ from the package's module names."""
    import importlib
    import pkgutil

    mod = importlib.import_module(package)
    modules = {m.name for m in pkgutil.iter_modules(mod.__path__)}
    clash = sorted(set(mod.__all__) & modules)
    assert not clash, f"{package}: public names that are also modules: {clash}"
