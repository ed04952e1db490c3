"""Progress of a fit: the sampler's bar on a terminal or in a notebook, plain log lines where
nobody watches a screen (CI, a log file), nothing when not asked.

``progress=True`` (what ``winback fit`` passes unless ``--no-progress``) chooses by the stream
the bar would be drawn on: a bar redrawn in place is noise in a log file, and nothing at all
leaves a long CI fit looking hung.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, TextIO

from winback.errors import WinbackError

log = logging.getLogger("winback")

Progress = Literal["bar", "log"]

#: the values ``analysis.fit(progress=...)`` takes
PROGRESS_VALUES = (False, True, "bar", "log")


def check_progress(progress: object) -> None:
    """Raise a WinbackError unless ``progress`` is False, True, ``"bar"`` or ``"log"``."""
    if progress is None or isinstance(progress, bool) or progress in ("bar", "log"):
        return
    raise WinbackError(
        f"progress must be False, True (a bar on a terminal or in a notebook, log lines "
        f"otherwise), 'bar' or 'log', got {progress!r}."
    )


def interactive(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr) is shown to a person as it is written: a terminal,
    or a Jupyter kernel's output (not a terminal, yet it draws the sampler's bar)."""
    stream = sys.stderr if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # a closed or a stand-in stream
        return False
    return type(stream).__module__.split(".")[0] == "ipykernel"


def resolve_progress(progress: bool | str | None, stream: TextIO | None = None) -> Progress | None:
    """How a fit shows its progress: ``"bar"``, ``"log"`` or ``None`` (not at all).

    ``True`` means a bar when ``stream`` (default stderr) is interactive (see
    :func:`interactive`), plain log lines otherwise; ``"bar"`` and ``"log"`` force either.

    Examples
    --------
    >>> import io
    >>> resolve_progress(True, stream=io.StringIO())
    'log'
    >>> resolve_progress(False) is None
    True
    """
    check_progress(progress)
    if progress is None or progress is False:
        return None
    if progress is True:
        return "bar" if interactive(stream) else "log"
    return "bar" if progress == "bar" else "log"


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


class ProgressLog:
    """Plain log lines of a sampler's progress, through the ``winback`` logger at INFO.

    A line at every tenth of the work (warm-up and draws of every chain) and, when a tenth
    takes longer, at least every ``every_seconds``; a last line when sampling is done. Times
    count from the first update (the sampler's first report: compiling is over)::

        fit: chain 2 of 4, draw 500 of 1500 (warm-up), 12 s
        fit: chains 1-4 of 4, draw 750 of 1500 (sampling), 20 s, 50% done
        fit: sampling done: 4 chains x 1500 (500 warm-up + 1000 draws), 41 s

    :meth:`update` takes each chain's finished iterations (warm-up included) and whether it is
    still warming up; it is thread-safe (nutpie calls it from its own thread).
    """

    def __init__(
        self,
        *,
        chains: int,
        tune: int,
        draws: int,
        every_seconds: float = 30.0,
        advi: bool = False,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.chains, self.tune, self.draws = chains, tune, draws
        self.per_chain = tune + draws
        self.every_seconds = every_seconds
        self.advi = advi
        self._clock = clock
        self._log = logger
        self._t0: float | None = None  # the first update: sampling began (compiled)
        self._last = 0.0
        self._next_tenth = 1
        self._done = False
        self._lock = threading.Lock()
        self.lines: list[str] = []

    def update(self, state: Sequence[tuple[int, bool]]) -> None:
        """Log a line if a tenth of the work is done, or ``every_seconds`` passed, since the
        last one. ``state``: (finished iterations, still warming up) per chain."""
        with self._lock:
            if self._done:
                return
            now = self._clock()
            if self._t0 is None:
                self._t0 = self._last = now
            done = sum(min(int(f), self.per_chain) for f, _ in state)
            tenth = (10 * done) // (self.chains * self.per_chain)
            if done >= self.chains * self.per_chain:
                self._finish(now)
            elif tenth >= self._next_tenth or now - self._last >= self.every_seconds:
                self._emit(self._line(state, done, now - self._t0))
                self._next_tenth = tenth + 1
                self._last = now

    def finish(self) -> None:
        """The last line (once), when the sampler has returned."""
        with self._lock:
            if not self._done:
                self._finish(self._clock())

    def _finish(self, now: float) -> None:
        self._done = True
        t0 = now if self._t0 is None else self._t0
        if self.advi:
            self._emit(f"fit: ADVI done: {self.draws} iterations, {_seconds(now - t0)}")
            return
        self._emit(
            f"fit: sampling done: {self.chains} chain{'s' if self.chains > 1 else ''} x "
            f"{self.per_chain} ({self.tune} warm-up + {self.draws} draws), "
            f"{_seconds(now - t0)}"
        )

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        self._log.info("%s", line)

    def _line(self, state: Sequence[tuple[int, bool]], done: int, elapsed: float) -> str:
        share = done / (self.chains * self.per_chain)
        if self.advi:
            return (
                f"fit: ADVI iteration {done} of {self.draws}, {_seconds(elapsed)}, {share:.0%} done"
            )
        running = [i for i, (f, _) in enumerate(state) if 0 < f < self.per_chain]
        if not running:  # between chains: the one just finished (or the first, not started)
            running = [max((i for i, (f, _) in enumerate(state) if f > 0), default=0)]
        if len(running) == 1:
            who = f"chain {running[0] + 1} of {self.chains}"
        elif running == list(range(running[0], running[-1] + 1)):
            who = f"chains {running[0] + 1}-{running[-1] + 1} of {self.chains}"
        else:
            who = f"chains {', '.join(str(i + 1) for i in running)} of {self.chains}"
        draw = min(int(state[i][0]) for i in running)
        warm = any(state[i][1] for i in running)
        return (
            f"fit: {who}, draw {draw} of {self.per_chain} "
            f"({'warm-up' if warm else 'sampling'}), {_seconds(elapsed)}, {share:.0%} done"
        )


def nutpie_callback(progress: ProgressLog) -> Callable[[Sequence[object]], None]:
    """nutpie's ``progress_callback``: its ``ChainProgress`` objects to :meth:`update`."""

    def callback(chains: Sequence[object]) -> None:
        progress.update([(c.finished_draws, c.tuning) for c in chains])  # type: ignore[attr-defined]

    return callback


def pymc_callback(progress: ProgressLog) -> Callable[..., None]:
    """PyMC's per-draw ``callback`` (chains one after another with ``cores=1``)."""
    state = [(0, True)] * progress.chains

    def callback(trace: object, draw: object) -> None:
        chain, idx, tuning = draw.chain, draw.draw_idx, draw.tuning  # type: ignore[attr-defined]
        state[chain] = (idx + 1, bool(tuning))
        progress.update(state)

    return callback


def advi_callback(progress: ProgressLog, iterations: int) -> Callable[..., None]:
    """PyMC's ADVI ``callbacks`` entry, for a ``ProgressLog(chains=1, tune=0,
    draws=iterations, advi=True)``."""

    def callback(approx: object, losses: object, i: int) -> None:
        progress.update([(min(i + 1, iterations), False)])

    return callback
