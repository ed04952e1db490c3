"""The house's structure, kept by tests: layers, module sizes, no cycle dodged in a function.

The layer contract itself is import-linter's (``[tool.importlinter]`` in pyproject.toml, run by
``make lint``); the test here shows that it fails on a deliberate upward import.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("winback", "conjoint", "surveys", "analysis", "reports")
MAX_LINES = 600
#: a module longer than MAX_LINES says why in a comment near its top starting with this
SIZE_REASON = "# longer than 600 lines:"
#: a function-level import of a winback package says why on its line or the line above
LAZY_REASON = "# lazy:"

#: modules still being split (issue 15); each leaves this set when it is done
PENDING_SIZE = {}


#: modules whose function-level imports are still being sorted out (issue 15)
PENDING_IMPORTS = {}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_module_is_short_or_says_why(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) <= MAX_LINES:
        assert _rel(path) not in PENDING_SIZE, f"{_rel(path)} is short now: drop it from PENDING"
        return
    head = lines[:40]
    if any(line.startswith(SIZE_REASON) for line in head):
        return
    if _rel(path) in PENDING_SIZE:
        pytest.xfail(f"{_rel(path)}: {len(lines)} lines, being split")
    raise AssertionError(
        f"{_rel(path)} has {len(lines)} lines (> {MAX_LINES}): split it along its sections, or "
        f"say why near its top in a comment starting {SIZE_REASON!r}"
    )


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a winback package inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found.extend((node.lineno, n) for n in names if n.split(".")[0] in PACKAGES)
    return sorted(set(found))


def _says_lazy(lines: list[str], n: int) -> bool:
    """The import on line ``n`` (1-based), or the block of imports and comments it belongs to
    up to the line above the block, carries the ``# lazy:`` reason."""
    i = n - 1
    if LAZY_REASON in lines[i]:
        return True
    i -= 1
    while i >= 0:
        text = lines[i].strip()
        if LAZY_REASON in text:
            return True
        if not (text.startswith(("import ", "from ", "#", ")")) or text == "" or "," in text):
            return False
        i -= 1
    return False


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_no_function_level_import_without_a_reason(path: Path) -> None:
    """An import inside a function may keep start-up fast (``winback --version`` must not load
    PyMC) but never dodges a cycle: each one says why, ``# lazy: <reason>``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = [
        f"line {n}: {mod}" for n, mod in _function_level_imports(path) if not _says_lazy(lines, n)
    ]
    if _rel(path) in PENDING_IMPORTS:
        if not bad:
            raise AssertionError(f"{_rel(path)} is clean now: drop it from PENDING_IMPORTS")
        pytest.xfail(f"{_rel(path)}: {len(bad)} function-level imports being sorted out")
    assert not bad, (
        f"{_rel(path)}: imports inside functions without a reason (move the import to the top, "
        f"or the code to the layer it belongs to; a genuine lazy import says {LAZY_REASON!r} "
        "on its line or the one above):\n  " + "\n  ".join(bad)
    )


def test_pending_lists_name_existing_modules() -> None:
    gone = sorted(m for m in PENDING_SIZE | PENDING_IMPORTS if not (ROOT / m).exists())
    assert not gone, f"no longer exist, drop them from the PENDING sets: {gone}"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_layer_contract_holds_and_fails_on_an_upward_import(tmp_path: Path) -> None:
    if not (Path(sys.executable).parent / "lint-imports").exists():
        pytest.skip("import-linter is not installed (make install-test installs it)")
    ok = _lint_imports(ROOT)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    # the same packages with one deliberate upward import: the foundation importing a stage
    copy = tmp_path / "repo"
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, copy / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    errors = copy / "winback" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "\nimport reports  # upward\n")
    broken = _lint_imports(copy)
    out = broken.stdout + broken.stderr
    assert broken.returncode != 0, out[-3000:]
    assert "winback.errors is not allowed to import reports" in out, out[-3000:]
