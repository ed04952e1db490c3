"""Hostile options to ``winback fit --model latent-class`` and ``winback run --scheduler``, as a
user types them: each a clear error (exit 1) or a usage error (exit 2) naming the option, the
value and what is valid, before any fit starts and without writing anything.

The world (a study, a design, responses, a study folder with a wave) and the tripwire on the
expensive steps are those of ``test_hostile_cli.py``; the latent class search and the Dask
scheduler get tripwires of their own here.
"""

from __future__ import annotations

import re

import pytest

from tests.winback.test_hostile_cli import (  # noqa: F401  (fixtures: the world, the tripwire)
    Case,
    ExpensiveWork,
    World,
    _tree,
    tripwire,
    world,
)
from winback.cli import main

pytestmark = pytest.mark.hostile


@pytest.fixture(autouse=True)
def more_tripwires(monkeypatch):
    """The latent class search and handing waves to Dask must not start either."""

    def expensive(*args, **kwargs):
        raise ExpensiveWork("the expensive part started before the input was checked")

    monkeypatch.setattr("winback.pipeline.latent.choose_classes", expensive)
    monkeypatch.setattr("winback.waves.parallel.run_on_dask", expensive, raising=False)


def _lc(*extra: str):
    def argv(w: World, tmp) -> list[str]:
        out = ["fit", str(w.study), str(w.responses), "--model", "latent-class"]
        return [*out, "--out", str(tmp / "lc"), *extra]

    return argv


def _run(*extra: str):
    def argv(w: World, tmp) -> list[str]:
        return ["run", str(w.study_dir), "--wave", "w1", "--product", "NetLite", *extra]

    return argv


CASES = [
    Case("lc:--classes 0", _lc("--classes", "0"), r"--classes.*0", 2),
    Case("lc:--classes -3", _lc("--classes", "-3"), r"--classes.*-3", 2),
    Case("lc:--classes 5..2", _lc("--classes", "5..2"), r"--classes.*5\.\.2", 2),
    Case("lc:--classes a..b", _lc("--classes", "a..b"), r"--classes.*a\.\.b", 2),
    Case("lc:--classes 2..", _lc("--classes", "2.."), r"--classes", 2),
    Case("lc:--classes 1000", _lc("--classes", "1000"), r"--classes.*20.*1000", 2),
    Case("lc:--classes 2.5", _lc("--classes", "2.5"), r"--classes.*2\.5", 2),
    Case("lc:--starts 0", _lc("--starts", "0"), r"--starts.*0", 2),
    Case("lc:--starts many", _lc("--starts", "many"), r"--starts.*many", 2),
    Case("lc:--model unknown", _lc("--model", "mixture"), r"--model.*mixture", 2),
    Case(
        "lc:--covariates unknown column",
        _lc("--covariates", "tenure_yrs"),
        r"tenure_yrs",
    ),
    Case(
        "lc:--covariates empty name",
        _lc("--covariates", "a0,,a1"),
        r"covariates",
    ),
    Case("lc:HB option --draws", _lc("--draws", "50"), r"--draws"),
    Case("run:--scheduler ftp://x", _run("--scheduler", "ftp://x"), r"'ftp://x' is not an address"),
    Case("run:--scheduler with a space", _run("--scheduler", "my host"), r"'my host'.*'local'"),
    Case(
        "run:--scheduler port text", _run("--scheduler", "tcp://h:port"), r"'tcp://h:port' is not"
    ),
    Case("run:--workers 0", _run("--scheduler", "local", "--workers", "0"), r"--workers", 2),
    Case("run:--workers without --scheduler", _run("--workers", "2"), r"--workers.*--scheduler"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_fit_option(case: Case, world: World, tmp_path, capsys):  # noqa: F811
    if case.setup is not None:
        case.setup(world, tmp_path)
    before_tmp, before_world = _tree(tmp_path), _tree(world.root)
    try:
        status = main(case.argv(world, tmp_path))
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
