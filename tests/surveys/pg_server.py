"""A throw-away PostgreSQL server on a free loopback port, for tests and benchmarks.

``temporary_postgres()`` runs ``initdb`` into a temporary folder and ``pg_ctl start`` with
trust authentication on 127.0.0.1 only, yields a URL and removes everything afterwards. As root
(PostgreSQL refuses to run as root) the server runs as the ``postgres`` user through
``runuser``. When no server can be started, :class:`PostgresUnavailable` says why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (the reason is the message)."""


def _bindir() -> Path:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(Path(cand) / "initdb", os.X_OK):
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no 'postgres' user") from None
    if runuser is None:
        raise PostgresUnavailable("running as root and runuser is missing")
    return [runuser, "-u", "postgres", "--"]


@contextmanager
def temporary_postgres(timeout: float = 60.0) -> Iterator[str]:
    """Start a temporary PostgreSQL cluster; yields ``postgresql://postgres@127.0.0.1:PORT/postgres``."""
    bindir = _bindir()
    run_as = _runner()
    root = Path(tempfile.mkdtemp(prefix="winback-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if run_as:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run_as, *cmd], capture_output=True, text=True, timeout=timeout, cwd=root
        )

    try:
        res = run(
            str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        if res.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {res.stderr.strip()[-500:]}")
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} "
            "-c fsync=off -c max_connections=200 -c shared_buffers=64MB"
        )
        res = run(
            str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
            "-w", "-t", str(int(timeout)), "start",
        )  # fmt: skip
        if res.returncode != 0:
            log = (
                (root / "log").read_text(errors="replace")[-800:] if (root / "log").exists() else ""
            )
            raise PostgresUnavailable(f"pg_ctl start failed: {res.stderr.strip()} {log}")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
