"""Output folders replaced whole or not at all, and checked before the work starts.

Every command that writes a folder (``design``, ``import``, ``fit``, ``simulate``,
``recommend``, ``report``, ``demo``, a wave's ``results/``, a comparison) writes it through
:func:`staged_output`: the new folder is built in a hidden staging folder beside the target
and swapped into place when complete. On Linux the swap is one atomic ``renameat2(...,
RENAME_EXCHANGE)``, so at every moment the target is either the complete old folder or the
complete new one, even under ``kill -9``. Elsewhere (or on a file system without it) the old
folder is first renamed aside and the new one renamed in; a run killed between those two renames
leaves the old folder under ``.NAME.old-*`` and the next run or :func:`recover` puts it back.

Entries of an existing folder that the command does not write itself (``fit/`` inside an import
folder, a note the researcher saved there) are carried into the new folder as hard links (copies
where hard links are impossible), so replacing a folder never deletes anything but the command's
own earlier files.

:func:`check_output_dir` is the cheap check every command runs before its expensive part: the
target is not a file, earlier results are not replaced without ``force``, the nearest existing
parent is writable, and the disk has room for what the command will write.

``WINBACK_KILL_AT`` (for the kill -9 tests only) makes the process kill itself at a named point
of a staged write: ``staged`` (staging folder made), ``write:N`` (the N-th file written inside a
staging folder), ``swap`` (complete, before the swap), ``swapped`` (after it, before the old
folder is removed).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from winback.errors import WinbackError

log = logging.getLogger("winback")

KILL_ENV = "WINBACK_KILL_AT"
LOCK_NAME = ".winback.lock"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_writes = 0


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL at ``point`` when ``WINBACK_KILL_AT`` names it (tests)."""
    want = os.environ.get(KILL_ENV)
    if not want:
        return
    global _writes
    if point == "write":
        _writes += 1
        point = f"write:{_writes}"
    if want == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _staging_prefix(target: Path) -> str:
    return f".{target.name}.staging-"


def _old_prefix(target: Path) -> str:
    return f".{target.name}.old-"


def _is_ours(name: str, target: Path) -> bool:
    """Hidden entries winback itself keeps beside or inside a folder (locks, staging)."""
    return name == LOCK_NAME or name.startswith((_staging_prefix(target), _old_prefix(target)))


# --------------------------------------------------------------------------------------------
# Checks before the work
# --------------------------------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"  # pragma: no cover


def check_output_dir(
    out: str | Path,
    *,
    force: bool,
    owned: Iterable[str] | None = None,
    need_bytes: int = 0,
    option: str = "--out",
) -> Path:
    """Refuse an unusable output folder before any expensive work; return it as a Path.

    Parameters
    ----------
    out : str or Path
        The folder a command will write (it need not exist).
    force : bool
        Whether earlier results in ``out`` may be replaced.
    owned : iterable of str, optional
        The names the command writes into ``out``. Earlier results are only in the way when one
        of these exists (other entries are kept, see the module notes). ``None``: the whole
        folder is the command's (any existing non-empty folder is in the way).
    need_bytes : int
        About how much the command will write: refused when the disk has less free space.
    option : str
        How the user named the folder (for the messages).

    Raises
    ------
    WinbackError
        ``out`` is a file; earlier results would be replaced without ``force`` (naming them);
        the folder or its nearest existing parent is not writable; the disk is too full.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WinbackError(
            f"{option} {out} is a file, not a folder; give a folder path (it is created if "
            "missing)."
        )
    base = _nearest_existing(out.parent if not out.exists() else out)
    if not base.is_dir():
        raise WinbackError(
            f"{option} {out}: {base} is a file, so no folder can be made inside it; choose "
            "another path."
        )
    if out.exists():
        entries = [e.name for e in out.iterdir() if not _is_ours(e.name, out)]
        mine = entries if owned is None else [n for n in entries if n in set(owned)]
        if mine and not force:
            shown = ", ".join(sorted(mine)[:8]) + (" ..." if len(mine) > 8 else "")
            raise WinbackError(
                f"refusing to overwrite earlier results in {out} ({shown}). Choose another "
                f"output folder or pass --force to replace them (the new results replace the "
                "old as a whole once complete)."
            )
    # the folder is built beside the target, so the parent must take a new entry
    parent = _nearest_existing(out.parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WinbackError(
            f"{option} {out}: cannot write in {parent} (permission denied); choose a folder you "
            "can write to."
        )
    if need_bytes > 0:
        free = shutil.disk_usage(parent).free
        if free < need_bytes:
            raise WinbackError(
                f"{option} {out}: not enough free disk space in {parent}: about "
                f"{_fmt_bytes(need_bytes)} needed, {_fmt_bytes(free)} free. Free some space or "
                "choose a folder on another disk."
            )
    return out


# --------------------------------------------------------------------------------------------
# The staged write
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time per parent folder: an advisory lock the OS frees on exit."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Windows
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fh = open(path, "a+")  # held for the whole block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WinbackError(
                f"another winback run is writing in {folder} right now; wait for it to finish."
            ) from None
        try:
            yield
        finally:
            # no lock file left in the user's folder; a run that opened it just before is
            # refused or locks the unlinked file, and either way every swap stays atomic
            path.unlink(missing_ok=True)
    finally:
        fh.close()


def recover(target: str | Path) -> None:
    """Finish what a killed run left beside ``target``: put back an old folder moved aside
    just before the new one was renamed in, and remove staging folders (never complete
    results: a staging folder is only ever a partial new folder or, after an exchange, the
    replaced old one)."""
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    for old in sorted(parent.glob(f"{_old_prefix(target)}*")):
        inner = old / target.name
        if not target.exists() and inner.exists():
            os.replace(inner, target)
            log.warning("restored %s (a run was killed while replacing it)", target)
        shutil.rmtree(old, ignore_errors=True)
    for p in parent.glob(f"{_staging_prefix(target)}*"):
        if p.is_dir():
            log.info("removing %s, left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)


def _libc_renameat2() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``RENAME_EXCHANGE``); False if unsupported."""
    if _renameat2 is None:
        return False
    rc = _renameat2(  # type: ignore[operator]
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE
    )
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_tree(src: Path, dst: Path) -> None:
    """``src`` recreated at ``dst`` with hard links (copies where a link is impossible)."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir()
        shutil.copystat(src, dst)
        for child in src.iterdir():
            _link_tree(child, dst / child.name)
    else:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. not permitted on this platform
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged_output(
    target: str | Path, *, force: bool, owned: Iterable[str] | None = None
) -> Iterator[Path]:
    """A hidden folder beside ``target`` that replaces ``target`` as a whole when the block ends.

    Write everything into the folder yielded. On any error (or Ctrl+C) it is removed and
    ``target`` is untouched. Entries of an existing ``target`` that the block did not write and
    that are not among ``owned`` (the command's own names; ``None``: the whole folder is the
    command's) are carried into the new folder. See the module notes for ``kill -9``.

    Examples
    --------
    >>> with staged_output("results/fit", force=True, owned=FIT_FILES) as stage:  # doctest: +SKIP
    ...     write_csv(partworths, stage / "partworths.csv")
    """
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    owned_set = None if owned is None else set(owned)
    with _locked(parent):
        recover(target)
        check_output_dir(target, force=force, owned=owned_set)  # again, under the lock
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), dir=parent))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)  # mkdtemp's folder is private; results are not
        try:
            checkpoint("staged")
            yield staging
            if target.exists():
                for entry in target.iterdir():
                    name = entry.name
                    if _is_ours(name, target) or (staging / name).exists():
                        continue
                    if owned_set is None or name in owned_set:
                        continue  # the command's own earlier file, not written this time
                    _link_tree(entry, staging / name)
                    log.info("kept %s in %s (not written by this command)", name, target)
            _fsync_dir(staging)
            checkpoint("swap")
            if target.exists() and exchange(staging, target):
                _fsync_dir(parent)
                checkpoint("swapped")
                shutil.rmtree(staging, ignore_errors=True)  # now the old folder
            else:
                old = None
                if target.exists():
                    old = Path(tempfile.mkdtemp(prefix=_old_prefix(target), dir=parent))
                    os.replace(target, old / target.name)
                os.replace(staging, target)
                _fsync_dir(parent)
                checkpoint("swapped")
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def check_output_file(path: str | Path, *, force: bool, option: str = "--out") -> Path:
    """Refuse an unusable output file before any work (a folder in its place, an existing file
    without ``force``, a parent that cannot be written); return it as a Path."""
    path = Path(path)
    if path.is_dir():
        raise WinbackError(f"{option} {path} is a folder; give a file path.")
    if path.exists() and not force:
        raise WinbackError(
            f"refusing to overwrite earlier results: {path}. Choose another output file or "
            "pass --force to replace it."
        )
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise WinbackError(
            f"{option} {path}: {base} is a file, so nothing can be written inside it."
        )
    if not os.access(base, os.W_OK | os.X_OK):
        raise WinbackError(
            f"{option} {path}: cannot write in {base} (permission denied); choose a folder you "
            "can write to."
        )
    return path
