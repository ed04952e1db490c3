"""Running the web survey: in the foreground (``winback field serve``) or in a thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from surveys.web.app import SECURITY_HEADERS
from winback.errors import WinbackError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now.

    Examples
    --------
    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _secured_h11() -> type:
    """uvicorn's h11 protocol, with the security headers on the 400 it sends itself.

    A request that is not valid HTTP (a Content-Length that is not a number, HTTP/1.1 without
    Host, a broken request line) never reaches the application: uvicorn answers it alone, and
    its answer would otherwise be the one response without the survey's security headers.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    secured = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    class SecuredH11Protocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            text = (
                f"{msg} The request was not valid HTTP, so the survey did not read it. Please "
                "open your survey link in a web browser.\n"
            )
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"connection", b"close"),
                *secured,
            ]
            event = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
            for out in (event, h11.Data(data=text.encode("ascii")), h11.EndOfMessage()):
                self.transport.write(self.conn.send(out) or b"")
            self.transport.close()

    return SecuredH11Protocol


def _config(app: Any, host: str, port: int, log_level: str) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_secured_h11(),
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        backlog=512,
    )


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve the app until interrupted (Ctrl+C); answers are already saved page by page.

    Examples
    --------
    >>> serve(make_app(survey), port=8000)  # doctest: +SKIP
    """
    import uvicorn

    server = uvicorn.Server(_config(app, host, port, log_level))
    server.run()


@contextmanager
def running(
    app: Any, *, host: str = "127.0.0.1", port: int | None = None, timeout: float = 20.0
) -> Iterator[str]:
    """Serve the app in a background thread; yields its base URL and stops it on exit.

    Examples
    --------
    >>> with running(make_app(survey)) as url:  # doctest: +SKIP
    ...     print(url)
    http://127.0.0.1:49152
    """
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port, "warning"))
    thread = threading.Thread(target=server.run, name="winback-survey", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise WinbackError(f"the survey server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextmanager
def serve_subprocess(
    study: str,
    db: str,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """``winback field serve`` in a child process; yields the base URL, stops it on exit.

    ``extra_args`` are added to the command, e.g. ``["--limit", "submit-per-ip=off"]``.

    Examples
    --------
    >>> with serve_subprocess("study.toml", "survey.db") as url:  # doctest: +SKIP
    ...     ...
    """
    import subprocess
    import sys
    import urllib.request

    port = port or free_port(host)
    cmd = [sys.executable, "-m", "winback.cli", "-q", "field", "serve", study, "--db", db,
           "--host", host, "--port", str(port), *extra_args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise WinbackError(
                    f"the survey server stopped: {proc.stderr.read()[-800:] if proc.stderr else ''}"
                )
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise WinbackError(f"the survey server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
