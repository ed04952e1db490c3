"""Hostile inputs to the study file and to every command, as a user types them.

Each case runs the real ``winback`` entry point (``winback.cli.main``) and asserts the exit
status, a message naming the file or option, the bad value and what is valid, no traceback,
and that nothing was written or changed. The expensive steps (the HB fit, the design search)
are replaced by a tripwire: a case that reaches them has failed to check its input first.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.cli import main

pytestmark = pytest.mark.hostile


class ExpensiveWork(Exception):
    """Raised by the tripwire: a command started its expensive part before failing."""


def _tree(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _attrs(n: int, levels: int) -> str:
    return "".join(
        f'[[attributes]]\nname = "a{i}"\nlevels = [{", ".join(f"{chr(34)}l{j}{chr(34)}" for j in range(levels))}]\n'
        for i in range(n)
    )


MINI = '[study]\nname = "x"\n'


# --------------------------------------------------------------------------------------------
# The world the cases run in: a study, a design, responses, a fit, markets, a study folder
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    study: Path
    design: Path
    responses: Path
    fit: Path
    fit_study: Path
    market: Path
    market_two_own: Path
    market_bad_level: Path
    study_dir: Path
    a_file: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory, example_fit) -> World:
    from importlib.resources import files

    from analysis.io import save_model
    from conjoint import make_design, simulate_choices
    from conjoint.export import write_design_csv
    from winback._io import write_csv
    from winback.example import example_study_text

    root = tmp_path_factory.mktemp("hostile")
    study = root / "study.toml"
    study.write_text(SMALL_STUDY, encoding="utf-8")
    design_obj = make_design(make_study(SMALL_STUDY, method="random", versions=2))
    (root / "design").mkdir()
    write_design_csv(design_obj, root / "design" / "design.csv")
    choices = simulate_choices(design_obj, SMALL_TRUTH, 1, n_respondents=30)
    write_csv(choices, root / "responses.csv")
    fit = root / "fit"
    fit.mkdir()
    save_model(example_fit[0], fit / "fit.nc")
    fit_study = root / "example.toml"
    fit_study.write_text(example_study_text(), encoding="utf-8")
    market_text = files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8")
    market = root / "market.toml"
    market.write_text(market_text, encoding="utf-8")
    two = market_text.replace('name = "NetLite"', 'name = "NetLite"\nown = true')
    assert two != market_text
    (root / "market_two_own.toml").write_text(two, encoding="utf-8")
    bad = market_text.replace('speed = "300 Mbps"', 'speed = "3 Gbps"')
    (root / "market_bad_level.toml").write_text(bad, encoding="utf-8")
    # a study folder with one wave, the example study and a market with two own products
    sd = root / "study_dir"
    (sd / "waves" / "w1").mkdir(parents=True)
    (sd / "study.toml").write_text(example_study_text(), encoding="utf-8")
    (sd / "market.toml").write_text(two, encoding="utf-8")
    model = example_fit[0]
    write_csv(model.dataset_.choices, sd / "waves" / "w1" / "responses.csv")
    write_csv(model.dataset_.respondents, sd / "waves" / "w1" / "respondents.csv")
    a_file = root / "a_file.txt"
    a_file.write_text("not a folder")
    return World(
        root,
        study,
        root / "design",
        root / "responses.csv",
        fit,
        fit_study,
        market,
        root / "market_two_own.toml",
        root / "market_bad_level.toml",
        sd,
        a_file,
    )


@pytest.fixture(autouse=True)
def tripwire(monkeypatch):
    """The HB fit and the design search must not start in any of these cases."""

    def expensive(*args, **kwargs):
        raise ExpensiveWork("the expensive part started before the input was checked")

    # every place the fit and the design search are called from
    for where in ("winback.pipeline.fit", "winback.pipeline.demo", "winback.waves.run"):
        monkeypatch.setattr(f"{where}.fit", expensive)
    monkeypatch.setattr("winback.pipeline.design.make_design", expensive)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[World, Path], list[str]]
    pattern: str  # what stderr must say (regex, case-insensitive)
    status: int = 1
    setup: Callable[[World, Path], None] | None = None


def _study_case(name: str, text: str | bytes, pattern: str) -> Case:
    """A bad study file given to `winback design`."""

    def setup(w: World, tmp: Path) -> None:
        p = tmp / "study.toml"
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")

    return Case(
        f"study:{name}",
        lambda w, tmp: ["design", str(tmp / "study.toml"), "--out", str(tmp / "out")],
        pattern,
        setup=setup,
    )


SMALL_ATTRS = SMALL_STUDY.split("[design]")[0]
STUDY_CASES = [
    _study_case("empty file", "", r"study\.toml"),
    _study_case("not utf-8", "[study]\nname = 'caf\xe9'\n".encode("latin-1"), r"UTF-8"),
    _study_case("utf-16", SMALL_STUDY.encode("utf-16"), r"UTF-8|not .*TOML|study\.toml"),
    _study_case("binary garbage", bytes(range(256)) * 4, r"study\.toml"),
    _study_case("toml syntax error", MINI + "[[attributes]\nname = 'a'\n", r"line \d+"),
    _study_case("nul byte", MINI.encode() + b"\x00", r"study\.toml"),
    _study_case(
        "misspelt section", SMALL_STUDY.replace("[[attributes]]", "[[atributes]]", 1), "attributes"
    ),
    _study_case(
        "misspelt attribute key",
        SMALL_STUDY.replace("levels =", "levles =", 1),
        r"levles.*Did you mean 'levels'",
    ),
    _study_case("levels not a list", MINI + '[[attributes]]\nname = "a"\nlevels = "x"\n', "list"),
    _study_case("one level", MINI + '[[attributes]]\nname = "a"\nlevels = ["x"]\n', "at least two"),
    _study_case(
        "duplicated levels",
        MINI + '[[attributes]]\nname = "a"\nlevels = ["x", "x"]\n',
        r"duplicated levels \['x'\]",
    ),
    _study_case(
        "nan level", MINI + '[[attributes]]\nname = "a"\nlevels = [nan, 1.0]\n', "finite numbers"
    ),
    _study_case(
        "inf level", MINI + '[[attributes]]\nname = "a"\nlevels = [1.0, inf]\n', "finite numbers"
    ),
    _study_case(
        "mixed levels", MINI + '[[attributes]]\nname = "a"\nlevels = [1, "x"]\n', "all text or"
    ),
    _study_case("5,000 levels", MINI + _attrs(1, 5000), r"5,000 levels.*limit of 100"),
    _study_case("200 attributes", MINI + _attrs(200, 2), r"200 attributes.*limit of 50"),
    _study_case(
        "400 parameters", MINI + _attrs(5, 81), r"400 model parameters.*limit of 300.*covariance"
    ),
    _study_case(
        "a million tasks",
        SMALL_STUDY.replace("tasks = 8", "tasks = 1000000"),
        r"1,000,000 choice tasks.*limit of 100",
    ),
    _study_case(
        "ten thousand alternatives",
        SMALL_STUDY.replace("alternatives = 3", "alternatives = 10000"),
        r"10,000 alternatives per task.*limit of 20",
    ),
    _study_case(
        "100,000 versions",
        SMALL_STUDY.replace("versions = 2", "versions = 100000"),
        r"100,000 design versions.*limit of 10,000",
    ),
    _study_case(
        "reserved name",
        MINI + '[[attributes]]\nname = "none"\nlevels = ["x", "y"]\n',
        r"'none' is reserved",
    ),
    _study_case(
        "name with a space",
        MINI + '[[attributes]]\nname = "my plan"\nlevels = ["x", "y"]\n',
        r"letters, digits and underscores",
    ),
    _study_case("zero tasks", SMALL_STUDY.replace("tasks = 8", "tasks = 0"), r"'tasks' = 0"),
    _study_case(
        "tasks as text", SMALL_STUDY.replace("tasks = 8", 'tasks = "8"'), r"'tasks' must be"
    ),
    _study_case(
        "tasks as a boolean", SMALL_STUDY.replace("tasks = 8", "tasks = true"), r"'tasks' must be"
    ),
    _study_case("negative seed", SMALL_STUDY.replace("seed = 7", "seed = -1"), r"'seed' = -1"),
    _study_case(
        "int beyond toml",
        SMALL_STUDY.replace("tasks = 8", "tasks = 1000000000000000000000000000000"),
        r"study\.toml",
    ),
    _study_case(
        "unknown method",
        SMALL_STUDY.replace('method = "d_efficient"', 'method = "d-efficient"'),
        r"Did you mean 'd_efficient'",
    ),
    _study_case(
        "unknown price attribute",
        SMALL_STUDY.replace("[study]", '[study]\nprice_attribute = "prize"', 1),
        r"'prize' is not an attribute.*Did you mean 'price'",
    ),
    _study_case(
        "attribute used twice",
        SMALL_ATTRS + '[[attributes]]\nname = "plan"\nlevels = ["x", "y"]\n',
        r"'plan'.*used twice",
    ),
    Case(
        "study:missing file",
        lambda w, tmp: ["design", str(tmp / "nope.toml"), "--out", str(tmp / "out")],
        r"nope\.toml",
    ),
    Case(
        "study:a folder",
        lambda w, tmp: ["design", str(tmp), "--out", str(tmp / "out")],
        r"folder|directory|study file",
    ),
]


def _exists(w: World, tmp: Path) -> None:
    (tmp / "out").mkdir()
    for name in ("design.csv", "responses.csv", "partworths.csv", "shares.csv", "offers.csv"):
        (tmp / "out" / name).write_text("earlier results\n")


COMMAND_CASES = [
    # design
    Case(
        "design:--out is a file",
        lambda w, tmp: ["design", str(w.study), "--out", str(w.a_file)],
        r"a_file\.txt is a file, not a folder",
    ),
    Case(
        "design:--out inside a file",
        lambda w, tmp: ["design", str(w.study), "--out", str(w.a_file / "out")],
        r"is a file, so no folder can be made inside it",
    ),
    Case(
        "design:earlier results without --force",
        lambda w, tmp: ["design", str(w.study), "--out", str(tmp / "out")],
        r"refusing to overwrite earlier results in .*out \(design\.csv\).*--force",
        setup=_exists,
    ),
    Case(
        "design:--versions 0",
        lambda w, tmp: ["design", str(w.study), "--out", str(tmp / "o"), "--versions", "0"],
        r"must be at least 1, got 0",
        status=2,
    ),
    Case(
        "design:--max-seconds nan",
        lambda w, tmp: ["design", str(w.study), "--out", str(tmp / "o"), "--max-seconds", "nan"],
        r"must be positive",
        status=2,
    ),
    # inspect
    Case(
        "inspect:design file missing",
        lambda w, tmp: ["inspect", str(w.study), str(tmp / "nope.csv")],
        r"nope\.csv",
    ),
    Case(
        "inspect:--json is a folder",
        lambda w, tmp: ["inspect", str(w.study), str(w.design), "--json", str(tmp)],
        r"--json .* is a folder; give a file path",
    ),
    # import
    Case(
        "import:responses missing",
        lambda w, tmp: ["import", str(w.study), str(tmp / "nope.csv"), "--out", str(tmp / "o")],
        r"nope\.csv",
    ),
    Case(
        "import:responses is a folder",
        lambda w, tmp: ["import", str(w.study), str(tmp), "--out", str(tmp / "o")],
        r"folder|directory|not a file",
    ),
    Case(
        "import:--design missing",
        lambda w, tmp: [
            "import",
            str(w.study),
            str(w.responses),
            "--design",
            str(tmp / "nodesign"),
            "--out",
            str(tmp / "o"),
        ],
        r"nodesign",
    ),
    Case(
        "import:--out is a file",
        lambda w, tmp: ["import", str(w.study), str(w.responses), "--out", str(w.a_file)],
        r"a_file\.txt is a file, not a folder",
    ),
    Case(
        "import:earlier results without --force",
        lambda w, tmp: ["import", str(w.study), str(w.responses), "--out", str(tmp / "out")],
        r"refusing to overwrite earlier results in .*responses\.csv",
        setup=_exists,
    ),
    Case(
        "import:unknown --format",
        lambda w, tmp: [
            "import",
            str(w.study),
            str(w.responses),
            "--out",
            str(tmp / "o"),
            "--format",
            "spss",
        ],
        r"invalid choice: 'spss'",
        status=2,
    ),
    Case(
        "import:another study's answers",
        lambda w, tmp: ["import", str(w.fit_study), str(w.responses), "--out", str(tmp / "o")],
        r"responses\.csv",
    ),
    # fit
    Case(
        "fit:--out is a file",
        lambda w, tmp: ["fit", str(w.study), str(w.responses), "--out", str(w.a_file)],
        r"a_file\.txt is a file, not a folder",
    ),
    Case(
        "fit:--out inside a file",
        lambda w, tmp: ["fit", str(w.study), str(w.responses), "--out", str(w.a_file / "fit")],
        r"is a file, so no folder can be made inside it",
    ),
    Case(
        "fit:earlier results without --force",
        lambda w, tmp: ["fit", str(w.study), str(w.responses), "--out", str(tmp / "out")],
        r"refusing to overwrite earlier results in .*partworths\.csv",
        setup=lambda w, tmp: (
            [
                _exists(w, tmp),
                (tmp / "out" / "partworths.csv").write_text("x"),
            ]
            and None
        ),
    ),
    Case(
        "fit:unknown --exclude flag",
        lambda w, tmp: [
            "fit",
            str(w.study),
            str(w.responses),
            "--out",
            str(tmp / "o"),
            "--exclude",
            "random_responders",
        ],
        r"unknown quality flag\(s\) random_responders; valid: .*random_responder",
    ),
    Case(
        "fit:--draws 0",
        lambda w, tmp: ["fit", str(w.study), str(w.responses), "--out", str(tmp), "--draws", "0"],
        r"must be at least 1, got 0",
        status=2,
    ),
    Case(
        "fit:--chains -2",
        lambda w, tmp: ["fit", str(w.study), str(w.responses), "--out", str(tmp), "--chains", "-2"],
        r"must be at least 1, got -2",
        status=2,
    ),
    Case(
        "fit:responses missing",
        lambda w, tmp: ["fit", str(w.study), str(tmp / "nope.csv"), "--out", str(tmp / "o")],
        r"nope\.csv",
    ),
    # predict
    Case(
        "predict:--out is a folder",
        lambda w, tmp: ["predict", str(w.fit), str(w.responses), "--out", str(tmp)],
        r"is a folder; give a file path",
    ),
    Case(
        "predict:fit missing",
        lambda w, tmp: ["predict", str(tmp / "nofit"), str(w.responses), "--out", str(tmp / "p")],
        r"nofit",
    ),
    # simulate
    Case(
        "simulate:fit folder missing",
        lambda w, tmp: [
            "simulate",
            str(w.fit_study),
            str(tmp / "nofit"),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
        ],
        r"nofit",
    ),
    Case(
        "simulate:market missing",
        lambda w, tmp: [
            "simulate",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(tmp / "nomarket.toml"),
            "--out",
            str(tmp / "o"),
        ],
        r"nomarket\.toml",
    ),
    Case(
        "simulate:market with an unknown level",
        lambda w, tmp: [
            "simulate",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market_bad_level),
            "--out",
            str(tmp / "o"),
        ],
        r"3 Gbps.*(valid|levels)",
    ),
    Case(
        "simulate:unknown --segment",
        lambda w, tmp: [
            "simulate",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
            "--segment",
            "main_reasn",
        ],
        r"main_reasn.*Available: .*main_reason",
    ),
    Case(
        "simulate:--out is a file",
        lambda w, tmp: [
            "simulate",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(w.a_file),
        ],
        r"a_file\.txt is a file, not a folder",
    ),
    Case(
        "simulate:study of another fit",
        lambda w, tmp: [
            "simulate",
            str(w.study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
        ],
        r"does not match the study the fit .* was made with",
    ),
    *[
        Case(
            f"simulate:market {what}",
            lambda w, tmp, name=name: [
                "simulate",
                str(w.fit_study),
                str(w.fit),
                "--market",
                str(tmp / name),
                "--out",
                str(tmp / "o"),
            ],
            pattern,
            setup=make,
        )
        for what, name, make, pattern in (
            (
                "not UTF-8",
                "m.toml",
                lambda w, tmp: (tmp / "m.toml").write_bytes(b"[[products]]\nname = 'caf\xe9'\n"),
                r"m\.toml: not UTF-8 text at byte \d+",
            ),
            (
                "is a folder",
                "m",
                lambda w, tmp: (tmp / "m").mkdir(),
                r"is a folder; give the market file",
            ),
            (
                "not TOML",
                "m.toml",
                lambda w, tmp: (tmp / "m.toml").write_text("[[products]\n"),
                r"m\.toml is not valid TOML",
            ),
            (
                "with 600 products",
                "m.toml",
                lambda w, tmp: (tmp / "m.toml").write_text(
                    "".join(f'[[products]]\nname = "p{i}"\n' for i in range(600))
                ),
                r"600 products in a market is more than winback's limit of 500",
            ),
        )
    ],
    # recommend
    Case(
        "recommend:two own products, no --product",
        lambda w, tmp: [
            "recommend",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market_two_own),
            "--out",
            str(tmp / "o"),
        ],
        r"2 own products \(FibreHome bundle, NetLite\)",
    ),
    Case(
        "recommend:--product not ours",
        lambda w, tmp: [
            "recommend",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
            "--product",
            "CableCo Max",
        ],
        r"'CableCo Max' is not one of our products.*FibreHome bundle",
    ),
    Case(
        "recommend:--product unknown",
        lambda w, tmp: [
            "recommend",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
            "--product",
            "FibreHome",
        ],
        r"FibreHome.*FibreHome bundle",
    ),
    Case(
        "recommend:unknown --weights",
        lambda w, tmp: [
            "recommend",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "o"),
            "--weights",
            "value",
        ],
        r"No respondent column 'value'",
    ),
    Case(
        "recommend:earlier results without --force",
        lambda w, tmp: [
            "recommend",
            str(w.fit_study),
            str(w.fit),
            "--market",
            str(w.market),
            "--out",
            str(tmp / "out"),
        ],
        r"refusing to overwrite earlier results in .*offers\.csv",
        setup=_exists,
    ),
    # report
    Case(
        "report:run folder without a fit",
        lambda w, tmp: ["report", str(tmp)],
        r"fit",
    ),
    Case(
        "report:--out is a folder",
        lambda w, tmp: ["report", str(w.root), "--out", str(tmp)],
        r"is a folder; give a file path",
    ),
    # run (survey waves)
    Case(
        "run:two own products, no --product",
        lambda w, tmp: ["run", str(w.study_dir), "--wave", "w1"],
        r"2 own products .*Pass --product NAME to winback run",
    ),
    Case(
        "run:--product not in the market",
        lambda w, tmp: ["run", str(w.study_dir), "--wave", "w1", "--product", "Nope"],
        r"Nope",
    ),
    Case(
        "run:unknown wave",
        lambda w, tmp: ["run", str(w.study_dir), "--wave", "w9", "--product", "NetLite"],
        r"w9.*w1",
    ),
    Case(
        "run:unknown --exclude-flags",
        lambda w, tmp: [
            "run",
            str(w.study_dir),
            "--wave",
            "w1",
            "--product",
            "NetLite",
            "--exclude-flags",
            "speedster",
        ],
        r"unknown quality flag\(s\) speedster; valid: ",
    ),
    Case(
        "run:unknown --segment",
        lambda w, tmp: [
            "run",
            str(w.study_dir),
            "--wave",
            "w1",
            "--product",
            "NetLite",
            "--segment",
            "main_raeson",
        ],
        r"--segment 'main_raeson'.*Did you mean 'main_reason'",
    ),
    Case(
        "run:not a study folder",
        lambda w, tmp: ["run", str(tmp / "nowhere"), "--wave", "w1"],
        r"no study folder",
    ),
    Case(
        "compare-waves:no waves with results",
        lambda w, tmp: ["compare-waves", str(w.study_dir)],
        r"wave",
    ),
    # demo
    Case(
        "demo:--out is a file",
        lambda w, tmp: ["demo", "--out", str(w.a_file)],
        r"a_file\.txt is a file, not a folder",
    ),
]

CASES = STUDY_CASES + COMMAND_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_command(case: Case, world: World, tmp_path, capsys):
    if case.setup is not None:
        case.setup(world, tmp_path)
    before_tmp, before_world = _tree(tmp_path), _tree(world.root)
    argv = case.argv(world, tmp_path)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    assert status == case.status, f"{case.name}: exit {status}, stderr: {err[-1500:]}"
    assert re.search(case.pattern, err, re.IGNORECASE | re.DOTALL), (
        f"{case.name}: stderr does not match {case.pattern!r}: {err[-1500:]}"
    )
    assert "Traceback" not in err
    assert _tree(tmp_path) == before_tmp, f"{case.name}: files changed in {tmp_path}"
    assert _tree(world.root) == before_world, f"{case.name}: files changed in {world.root}"
    shutil.rmtree(tmp_path, ignore_errors=True)
