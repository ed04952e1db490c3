"""Output folders: replaced whole or not at all (kill -9 included), checked before any work."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback._folders import (
    KILL_ENV,
    LOCK_NAME,
    check_output_dir,
    check_output_file,
    exchange,
    recover,
    staged_output,
)
from winback.errors import WinbackError


def _winback_exe() -> list[str]:
    exe = Path(sys.executable).parent / "winback"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "winback.cli"]


def _content(p: Path) -> bytes:
    """A file's bytes; a run.json without the time it was written (it differs run to run)."""
    if p.name != "run.json":
        return p.read_bytes()
    record = json.loads(p.read_text(encoding="utf-8"))
    record.pop("written")
    return json.dumps(record, sort_keys=True).encode()


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(_content(p)).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != LOCK_NAME)


# --------------------------------------------------------------------------------------------
# staged_output
# --------------------------------------------------------------------------------------------


def test_staged_folder_is_all_or_nothing(tmp_path):
    """The staging folder becomes the target only when the block succeeds; results that a
    killed run had moved aside are put back; stale staging folders are removed."""
    target = tmp_path / "results"
    old = tmp_path / ".results.old-abc" / "results"
    old.mkdir(parents=True)
    (old / "a.txt").write_text("old")
    (tmp_path / ".results.staging-zzz").mkdir()  # left by a killed run
    with pytest.raises(WinbackError, match="refusing to overwrite earlier results"):
        with staged_output(target, force=False):
            pass
    assert (target / "a.txt").read_text() == "old"
    assert _siblings(target) == ["results"]
    with pytest.raises(RuntimeError), staged_output(target, force=True) as stage:
        (stage / "a.txt").write_text("new")
        raise RuntimeError("a stage failed")
    assert (target / "a.txt").read_text() == "old"
    with staged_output(target, force=True) as stage:
        (stage / "a.txt").write_text("new")
        (stage / "b.txt").write_text("new")
    assert (target / "a.txt").read_text() == "new" and (target / "b.txt").exists()
    assert _siblings(target) == ["results"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's private 0o700


def test_staged_folder_keeps_what_it_does_not_own(tmp_path):
    """Replacing an import folder keeps the fit folder and notes inside it (hard links), and
    drops the command's own earlier files that the new run did not write."""
    target = tmp_path / "wave1"
    (target / "fit").mkdir(parents=True)
    (target / "fit" / "fit.nc").write_bytes(b"posterior")
    (target / "notes.txt").write_text("mine")
    (target / "responses.csv").write_text("old")
    (target / "quality.csv").write_text("old, not written again")
    owned = ("responses.csv", "quality.csv")
    with pytest.raises(WinbackError, match=r"quality.csv, responses.csv"):
        check_output_dir(target, force=False, owned=owned)
    inode = (target / "fit" / "fit.nc").stat().st_ino
    with staged_output(target, force=True, owned=owned) as stage:
        (stage / "responses.csv").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["fit", "notes.txt", "responses.csv"]
    assert (target / "responses.csv").read_text() == "new"
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "fit" / "fit.nc").read_bytes() == b"posterior"
    assert (target / "fit" / "fit.nc").stat().st_ino == inode  # linked, not copied
    # a folder holding only other things is no earlier result: no --force needed
    other = tmp_path / "other"
    other.mkdir()
    (other / "readme.md").write_text("x")
    with staged_output(other, force=False, owned=owned) as stage:
        (stage / "responses.csv").write_text("new")
    assert sorted(p.name for p in other.iterdir()) == ["readme.md", "responses.csv"]


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_recover_puts_back_an_old_folder(tmp_path):
    target = tmp_path / "fit"
    aside = tmp_path / ".fit.old-123" / "fit"
    aside.mkdir(parents=True)
    (aside / "fit.nc").write_text("old")
    recover(target)
    assert (target / "fit.nc").read_text() == "old"
    assert _siblings(target) == ["fit"]


# --------------------------------------------------------------------------------------------
# Checks before the work
# --------------------------------------------------------------------------------------------


def test_output_checks_name_the_problem(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    with pytest.raises(WinbackError, match=r"--out .*a_file is a file, not a folder"):
        check_output_dir(f, force=True)
    with pytest.raises(WinbackError, match=r"is a file, so no folder can be made inside it"):
        check_output_dir(f / "sub" / "out", force=True)
    with pytest.raises(WinbackError, match=r"not enough free disk space .* needed, .* free"):
        check_output_dir(tmp_path / "out", force=False, need_bytes=1 << 60)
    d = tmp_path / "a_dir"
    d.mkdir()
    with pytest.raises(WinbackError, match=r"--out .*a_dir is a folder; give a file path"):
        check_output_file(d, force=True)
    with pytest.raises(WinbackError, match=r"refusing to overwrite earlier results: .*a_file"):
        check_output_file(f, force=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_checks_unwritable_parent(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(WinbackError, match=r"cannot write in .*ro \(permission denied\)"):
            check_output_dir(ro / "out", force=False)
    finally:
        ro.chmod(0o755)


# --------------------------------------------------------------------------------------------
# kill -9 of the real command at several points of its write
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def import_inputs(tmp_path_factory):
    """A study and two different response files (an old and a new import)."""
    from conjoint import make_design, simulate_choices
    from winback._io import write_csv

    root = tmp_path_factory.mktemp("kill")
    (root / "study.toml").write_text(SMALL_STUDY)
    design = make_design(make_study(SMALL_STUDY, method="random", versions=2))
    for name, seed in (("old.csv", 1), ("new.csv", 2)):
        choices = simulate_choices(design, SMALL_TRUTH, seed, n_respondents=40)
        write_csv(choices, root / name)
    return root


def _import(root: Path, responses: str, out: Path, env: dict[str, str] | None = None):
    cmd = [
        *_winback_exe(),
        "-q",
        "import",
        str(root / "study.toml"),
        str(root / responses),
        "--out",
        str(out),
        "--force",
    ]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300
    )


# every point of a staged write: made, each file of the import written, complete, swapped
KILL_POINTS = ["staged", "write:1", "write:3", "write:6", "swap", "swapped"]


def test_kill_9_leaves_old_or_new_import_folder(import_inputs, tmp_path):
    root = import_inputs
    ref = tmp_path / "reference"
    r = _import(root, "new.csv", ref)
    assert r.returncode == 0, r.stderr
    new = _hashes(ref)
    out = tmp_path / "wave1"
    r = _import(root, "old.csv", out)
    assert r.returncode == 0, r.stderr
    old = _hashes(out)
    assert old != new
    seen = []
    for point in KILL_POINTS:
        r = _import(root, "new.csv", out, env={KILL_ENV: point})
        assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr[-2000:])
        now = _hashes(out)
        assert now in (old, new), f"killed at {point}: a mix of old and new files in {out}"
        seen.append("new" if now == new else "old")
        if now == new:  # put the old folder back for the next point
            assert _import(root, "old.csv", out).returncode == 0
    # before the swap the old folder stays; after it the new one is there, whole
    assert seen == ["old", "old", "old", "old", "old", "new"], seen
    # the next run cleans up what the killed ones left and completes
    assert _import(root, "new.csv", out).returncode == 0
    assert _hashes(out) == new
    assert _siblings(out) == ["reference", "wave1"]


def test_kill_9_at_random_moments(import_inputs, tmp_path):
    """kill -9 from outside at moments spread over a whole import: never a mix."""
    root = import_inputs
    out = tmp_path / "wave1"
    assert _import(root, "old.csv", out).returncode == 0
    old = _hashes(out)
    ref = tmp_path / "ref"
    t0 = time.perf_counter()
    assert _import(root, "new.csv", ref).returncode == 0
    whole = time.perf_counter() - t0
    new = _hashes(ref)
    for frac in (0.3, 0.6, 0.8, 0.9, 0.95, 0.99):
        cmd = [*_winback_exe(), "-q", "import", str(root / "study.toml"), str(root / "new.csv")]
        proc = subprocess.Popen(
            [*cmd, "--out", str(out), "--force"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(frac * whole)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = _hashes(out)
        assert now in (old, new), f"killed at {frac:.0%} of {whole:.1f} s: a mix in {out}"
        if now == new:
            assert _import(root, "old.csv", out).returncode == 0
    assert _import(root, "new.csv", out).returncode == 0 and _hashes(out) == new


def test_kill_9_during_a_fit_write(import_inputs, tmp_path):
    """The fit folder (fit.nc, part-worths, diagnostics) is replaced whole or not at all."""
    root = import_inputs

    def fit(out: Path, responses: str, env: dict[str, str] | None = None):
        cmd = [
            *_winback_exe(),
            "-q",
            "fit",
            str(root / "study.toml"),
            str(root / responses),
            "--out",
            str(out),
            "--draws",
            "50",
            "--tune",
            "50",
            "--chains",
            "2",
            "--force",
        ]
        return subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600
        )

    out = tmp_path / "fit"
    r = fit(out, "old.csv")
    assert r.returncode in (0, 4), r.stderr
    old = _hashes(out)
    for point in ("write:2", "swap"):
        r = fit(out, "new.csv", env={KILL_ENV: point})
        assert r.returncode == -signal.SIGKILL, (point, r.stderr[-2000:])
        assert _hashes(out) == old, f"killed at {point}: the old fit folder changed"
    r = fit(out, "new.csv", env={KILL_ENV: "swapped"})
    assert r.returncode == -signal.SIGKILL
    now = _hashes(out)
    assert now != old and set(now) == set(old), sorted(now)
    r = fit(out, "new.csv")
    assert r.returncode in (0, 4), r.stderr
    assert _siblings(out) == ["fit"]


MARKET = """
[[products]]
name = "Ours"
own = true
plan = "Standard"
speed = "500 Mbps"
support = "Standard"
price = {price}

[[products]]
name = "Theirs"
plan = "Premium"
speed = "1 Gbps"
support = "Priority"
price = 55
"""


@pytest.mark.parametrize("command", ["design", "simulate"])
def test_kill_9_during_design_and_simulate_writes(import_inputs, tmp_path, command):
    """The design folder, and a simulate folder, are replaced whole or not at all."""
    root = import_inputs
    study = root / "study.toml"
    if command == "simulate":  # a small fit to simulate from, and a market of two offers
        fit_dir = tmp_path / "fit"
        r = subprocess.run(
            [*_winback_exe(), "-q", "fit", str(study), str(root / "old.csv"), "--out",
             str(fit_dir), "--draws", "50", "--tune", "50", "--chains", "1"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert r.returncode in (0, 4), r.stderr
        markets = {}
        for name, price in (("old", 30), ("new", 40)):
            m = tmp_path / f"{name}.toml"
            m.write_text(MARKET.format(price=price))
            markets[name] = m

    def run(version: str, env: dict[str, str] | None = None):
        if command == "design":
            args = ["design", str(study), "--method", "random", "--seed", version]
        else:
            args = ["simulate", str(study), str(fit_dir), "--market", str(markets[version])]
        return subprocess.run(
            [*_winback_exe(), "-q", *args, "--out", str(out), "--force"],
            capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600,
        )  # fmt: skip

    out = tmp_path / command
    old_v, new_v = ("1", "2") if command == "design" else ("old", "new")
    assert run(new_v).returncode == 0
    new = _hashes(out)
    assert run(old_v).returncode == 0, "could not write the old folder"
    old = _hashes(out)
    assert old != new
    for point in ("staged", "write:1", "write:2", "swap"):
        r = run(new_v, env={KILL_ENV: point})
        assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr[-2000:])
        assert _hashes(out) == old, f"{command} killed at {point}: the old folder changed"
    r = run(new_v, env={KILL_ENV: "swapped"})
    assert r.returncode == -signal.SIGKILL
    now = _hashes(out)
    if command == "design":  # diagnostics.json records the seconds the search took
        now.pop("diagnostics.json"), new.pop("diagnostics.json")
    assert now == new, f"{command} killed after the swap: not the whole new folder"
