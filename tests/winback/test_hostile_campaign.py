"""Hostile inputs to the campaign commands (``winback target``, ``winback outcomes``), as a user
types them.

Each case runs the real entry point (``winback.cli.main``) on a real run folder and asserts the
exit status, a message naming the file or option, the bad value and what is valid, no
traceback, and that nothing was written or changed. The expensive steps (loading the fit and
scoring the customers) are replaced by a tripwire: a case that reaches them has failed to check
its input first.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.winback.test_hostile_cli import ExpensiveWork, _tree
from tests.winback.test_target import run_dir  # noqa: F401  (the module's run folder fixture)
from winback.cli import main

pytestmark = pytest.mark.hostile


@pytest.fixture(scope="module")
def campaign_run(run_dir: Path, tmp_path_factory) -> Path:  # noqa: F811
    """A copy of the run folder with a campaign planned in ``target/`` and a good results file."""
    import pandas as pd

    from surveys._csv import read_csv_text

    run = tmp_path_factory.mktemp("hostile_campaign") / "run"
    shutil.copytree(run_dir, run)
    argv = ["target", str(run / "study.toml"), str(run), "--customers"]
    argv += [str(run / "crm" / "lost_customers.csv"), "--out", str(run / "target")]
    assert main([*argv, "--segment", "main_reason", "--draws", "20"]) == 0
    plan = read_csv_text(run / "target" / "campaign.csv")
    held = plan["control"] == "True"
    contact = plan["contact"] == "True"
    results = pd.DataFrame(
        {
            "customer_id": plan["customer_id"],
            "action": plan["action"].where(contact, "control"),
            "contacted": contact.astype(int),
            "returned": (plan.index % 3 == 0).astype(int),
        }
    )[contact | held]
    assert len(results) > 20, plan[["action", "contact", "control"]]
    from winback._io import write_csv

    write_csv(results, run / "results.csv")
    return run


@pytest.fixture(autouse=True)
def tripwire(monkeypatch):
    """Neither the fit nor the scoring may start in any of these cases."""

    def expensive(*args, **kwargs):
        raise ExpensiveWork("the expensive part started before the input was checked")

    import winback.pipeline.outcomes as outcomes
    import winback.pipeline.target as target

    monkeypatch.setattr(target, "score_customers", expensive)
    monkeypatch.setattr(target, "load_fit_for", expensive)
    for name in ("score_customers", "load_fit_for", "measure_outcomes"):
        if hasattr(outcomes, name):
            monkeypatch.setattr(outcomes, name, expensive)


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path, Path], list[str]]
    pattern: str  # what stderr must say (regex, case-insensitive)
    status: int = 1
    setup: Callable[[Path, Path], None] | None = None


def _target(*extra: str, customers: str | None = None) -> Callable[[Path, Path], list[str]]:
    def argv(run: Path, tmp: Path) -> list[str]:
        crm = str(tmp / customers) if customers else str(run / "crm" / "lost_customers.csv")
        out = ["target", str(run / "study.toml"), str(run), "--customers", crm]
        return [*out, "--out", str(tmp / "out"), *extra]

    return argv


def _outcomes(*extra: str, results: str | None = None) -> Callable[[Path, Path], list[str]]:
    def argv(run: Path, tmp: Path) -> list[str]:
        res = str(tmp / results) if results else str(run / "results.csv")
        out = ["outcomes", str(run / "study.toml"), str(run), res]
        return [*out, "--out", str(tmp / "out"), *extra]

    return argv


def _file(name: str, content: str | bytes) -> Callable[[Path, Path], None]:
    def setup(run: Path, tmp: Path) -> None:
        p = tmp / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")

    return setup


def _crm_edit(edit: Callable[[str], str]) -> Callable[[Path, Path], None]:
    """A copy of the CRM list, its text changed."""

    def setup(run: Path, tmp: Path) -> None:
        text = (run / "crm" / "lost_customers.csv").read_text(encoding="utf-8")
        (tmp / "crm.csv").write_text(edit(text), encoding="utf-8")

    return setup


def _results_edit(edit: Callable[[list[str]], list[str]]) -> Callable[[Path, Path], None]:
    """A copy of the results file, its lines changed (header first, CRLF kept)."""

    def setup(run: Path, tmp: Path) -> None:
        lines = (run / "results.csv").read_text(encoding="utf-8").splitlines()
        (tmp / "res.csv").write_text("\r\n".join(edit(lines)) + "\r\n", encoding="utf-8")

    return setup


def _row(lines: list[str], i: int, column: int, value: str) -> list[str]:
    cells = lines[i].split(",")
    cells[column] = value
    return [*lines[:i], ",".join(cells), *lines[i + 1 :]]


def _header_row(text: str) -> tuple[str, str]:
    head, _, rest = text.partition("\n")
    return head, rest


TARGET_CASES = [
    # numbers on the command line: usage errors (exit 2) naming the option and what is valid
    Case("target:--max-contacts negative", _target("--max-contacts", "-5"), r"max-contacts", 2),
    Case(
        "target:--max-contacts not a number", _target("--max-contacts", "ten"), r"max-contacts", 2
    ),
    Case("target:--budget nan", _target("--budget", "nan"), r"budget", 2),
    Case("target:--budget negative", _target("--budget", "-1"), r"budget", 2),
    Case("target:--control-share 1", _target("--control-share", "1"), r"control-share", 2),
    Case("target:--control-share nan", _target("--control-share", "nan"), r"control-share", 2),
    Case("target:--draws 0", _target("--draws", "0"), r"draws", 2),
    Case("target:--band 1.5", _target("--band", "1.5"), r"band", 2),
    Case("target:--seed text", _target("--seed", "x"), r"seed", 2),
    # the CRM list
    Case(
        "target:no CRM list",
        _target(customers="nowhere.csv"),
        r"nowhere\.csv",
    ),
    Case(
        "target:CRM list is a folder",
        _target(customers="afolder"),
        r"afolder",
        setup=lambda run, tmp: (tmp / "afolder").mkdir(),
    ),
    Case("target:empty CRM list", _target(customers="e.csv"), r"e\.csv", setup=_file("e.csv", "")),
    Case(
        "target:CRM list with a header only",
        _target(customers="h.csv"),
        r"h\.csv.*(no customers|no rows|empty)",
        setup=lambda run, tmp: (tmp / "h.csv").write_text(
            (run / "crm" / "lost_customers.csv").read_text().partition("\n")[0] + "\n"
        ),
    ),
    Case(
        "target:CRM list not UTF-8",
        _target(customers="crm.csv"),
        r"crm\.csv.*UTF-8",
        setup=lambda run, tmp: (tmp / "crm.csv").write_bytes(
            (run / "crm" / "lost_customers.csv").read_bytes().replace(b"C000005", b"C\xe9005")
        ),
    ),
    Case(
        "target:CRM list with a NUL byte",
        _target(customers="crm.csv"),
        r"crm\.csv.*(NUL|null)",
        setup=_crm_edit(lambda t: t.replace("\n", "\n\x00", 3)),
    ),
    Case(
        "target:CRM list without customer_id",
        _target(customers="crm.csv"),
        r"crm\.csv.*customer_id",
        setup=_crm_edit(lambda t: t.replace("customer_id", "client", 1)),
    ),
    Case(
        "target:CRM list with a blank customer_id",
        _target(customers="crm.csv"),
        r"crm\.csv.*customer_id.*row",
        setup=_crm_edit(
            lambda t: "\n".join(
                (",".join(["", *ln.split(",")[1:]]) if i == 3 else ln)
                for i, ln in enumerate(t.split("\n"))
            )
        ),
    ),
    Case(
        "target:CRM list with a ragged row",
        _target(customers="crm.csv"),
        r"crm\.csv.*(row|line) \d+",
        setup=_crm_edit(
            lambda t: "\n".join(
                (ln + ",extra" if i == 5 else ln) for i, ln in enumerate(t.split("\n"))
            )
        ),
    ),
    Case(
        "target:unknown --segment",
        _target("--segment", "main_raeson"),
        r"main_raeson.*main_reason",
    ),
    Case(
        "target:--segment latent_class without a latent class fit",
        _target("--segment", "latent_class"),
        r"latent.class",
    ),
    Case(
        "target:--calibration file missing",
        _target("--calibration", "/nonexistent/calibration.toml"),
        r"calibration\.toml",
    ),
    Case(
        "target:--calibration file without [calibration]",
        lambda run, tmp: _target("--calibration", str(tmp / "c.toml"))(run, tmp),
        r"c\.toml.*calibration",
        setup=_file("c.toml", "[study]\nname = 'x'\n"),
    ),
    Case(
        "target:--calibration with a bad value",
        lambda run, tmp: _target("--calibration", str(tmp / "c.toml"))(run, tmp),
        r"c\.toml.*scale",
        setup=_file("c.toml", '[calibration]\nkind = "outcomes"\nscale = -2\n'),
    ),
    Case(
        "target:--calibration and --no-calibration",
        lambda run, tmp: _target("--no-calibration", "--calibration", str(tmp / "c.toml"))(
            run, tmp
        ),
        r"--calibration FILE and --no-calibration contradict",
        setup=_file("c.toml", "[calibration]\nscale = 1\n"),
    ),
    Case(
        "target:study without [business]",
        lambda run, tmp: ["target", str(tmp / "s.toml"), *_target()(run, tmp)[2:]],
        r"business",
        setup=lambda run, tmp: (tmp / "s.toml").write_text(
            (run / "study.toml").read_text().split("[business]")[0]
        ),
    ),
    Case(
        "target:run folder missing",
        lambda run, tmp: [
            "target",
            str(run / "study.toml"),
            str(tmp / "norun"),
            "--customers",
            str(run / "crm" / "lost_customers.csv"),
            "--out",
            str(tmp / "out"),
        ],
        r"norun",
    ),
]

OUTCOME_CASES = [
    Case("outcomes:--band 0", _outcomes("--band", "0"), r"band", 2),
    Case("outcomes:--adjust unknown", _outcomes("--adjust", "shift"), r"adjust", 2),
    Case("outcomes:no results file", _outcomes(results="none.csv"), r"none\.csv"),
    Case(
        "outcomes:empty results file",
        _outcomes(results="res.csv"),
        r"res\.csv",
        setup=_file("res.csv", ""),
    ),
    Case(
        "outcomes:results not UTF-8",
        _outcomes(results="res.csv"),
        r"res\.csv.*UTF-8",
        setup=_file(
            "res.csv", "customer_id,action,contacted,returned\r\nC\xe9,,1,1\r\n".encode("latin-1")
        ),
    ),
    Case(
        "outcomes:results with a NUL byte",
        _outcomes(results="res.csv"),
        r"res\.csv.*(NUL|null)",
        setup=_results_edit(lambda ls: [ls[0], ls[1] + "\x00", *ls[2:]]),
    ),
    Case(
        "outcomes:results without 'returned'",
        _outcomes(results="res.csv"),
        r"res\.csv.*returned",
        setup=_results_edit(lambda ls: [ls[0].replace("returned", "won"), *ls[1:]]),
    ),
    Case(
        "outcomes:returned is 2",
        _outcomes(results="res.csv"),
        r"res\.csv.*'returned' must be 0 or 1.*row 3 \('2'\)",
        setup=_results_edit(lambda ls: _row(ls, 2, 3, "2")),
    ),
    Case(
        "outcomes:contacted is 'yes please'",
        _outcomes(results="res.csv"),
        r"res\.csv.*'contacted'.*row 2 \('yes please'\)",
        setup=_results_edit(lambda ls: _row(ls, 1, 2, "yes please")),
    ),
    Case(
        "outcomes:a customer twice",
        _outcomes(results="res.csv"),
        r"res\.csv.*repeated",
        setup=_results_edit(lambda ls: [*ls, ls[1]]),
    ),
    Case(
        "outcomes:an action the plan does not have",
        _outcomes(results="res.csv"),
        r"res\.csv.*action.*Free beer",
        setup=_results_edit(lambda ls: _row(ls, 1, 1, "Free beer")),
    ),
    Case(
        "outcomes:run folder without target/",
        lambda run, tmp: [
            "outcomes",
            str(run / "study.toml"),
            str(tmp / "norun"),
            str(run / "results.csv"),
            "--out",
            str(tmp / "out"),
        ],
        r"target",
        setup=lambda run, tmp: (tmp / "norun").mkdir(),
    ),
    Case(
        "outcomes:--out is a file",
        lambda run, tmp: [*_outcomes()(run, tmp)[:-2], "--out", str(tmp / "f")],
        r"is a file, not a folder",
        setup=_file("f", "x"),
    ),
]

CASES = TARGET_CASES + OUTCOME_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_campaign_command(case: Case, campaign_run: Path, tmp_path, capsys):
    if case.setup is not None:
        case.setup(campaign_run, tmp_path)
    before_tmp, before_run = _tree(tmp_path), _tree(campaign_run)
    argv = case.argv(campaign_run, tmp_path)
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
    assert _tree(campaign_run) == before_run, f"{case.name}: files changed in the run folder"
