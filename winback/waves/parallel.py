"""Running several survey waves in one call (``winback run --wave A --wave B``, ``--wave all``):
one after another in this process, or side by side on a Dask cluster (``--scheduler``).

Every wave is run by :func:`~winback.waves.run.run_wave`, so its results folder is built in a
staging folder and renamed into place by whoever runs it (this process, or a Dask worker): a
failing wave leaves its earlier results as they were and the other waves complete. The inputs
of all waves are checked before any wave starts.

A wave whose prior (``prior_from``) is another wave of the same call waits for it: on Dask its
task takes the other wave's task as an argument, so the scheduler starts it only when that one
has finished (and it is not run at all when that one failed). The workbook's wave comparison
of a wave run in a call is against the latest earlier wave that is not run in the call (its
results are final) or against the wave it waits for, so that the results do not depend on
which wave happens to finish first.

Dask workers must see the study folder at the same path (a shared file system): each worker
checks that the folder is there and that its ``study.toml`` is the one this process read.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import socket
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.contrasts import map_levels
from winback import __version__
from winback.errors import ParameterError, WinbackError, did_you_mean, list_valid
from winback.study import load_study
from winback.waves.folder import (
    LEVEL_MAP_FILE,
    RESPONSES_FILE,
    STUDY_FILE,
    WAVES_DIR,
    _level_map,
    _results,
    _sha,
    _study_dir,
    list_waves,
    wave_study_path,
    waves_with_results,
)
from winback.waves.run import WaveRun, _resolve_prior, check_wave, run_wave

log = logging.getLogger("winback")

#: ``waves=ALL``: every wave with responses
ALL = "all"
#: ``scheduler=LOCAL``: a Dask LocalCluster of worker processes on this machine
LOCAL = "local"
#: a scheduler address distributed can reach: ``[tcp|tls|ws|wss|ucx://]HOST[:PORT]``
_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?\Z"
)
_DASK_MISSING = (
    'Running waves on a Dask cluster needs Dask: pip install "winback[dask]" '
    '(or pip install "dask[distributed]").'
)


class WavesFailed(WinbackError):
    """Some waves of a :func:`run_waves` call failed.

    ``runs`` are the waves that completed (their results are in place); ``errors`` maps each
    failed wave to why (its earlier results, if any, are untouched).
    """

    def __init__(self, runs: list[WaveRun], errors: dict[str, str]):
        self.runs = list(runs)
        self.errors = dict(errors)
        done = list_valid(r.wave for r in self.runs) or "none"
        lines = "\n".join(
            f"  wave {w}: " + why.replace("\n", "\n    ") for w, why in self.errors.items()
        )
        super().__init__(
            f"{len(self.errors)} of {len(self.errors) + len(self.runs)} waves failed (their "
            f"earlier results are untouched):\n{lines}\nCompleted: {done}."
        )


@dataclass(frozen=True)
class _Job:
    """One wave of a call: its prior, the wave of the call it waits for, its comparison."""

    wave: str
    prior_from: str | None
    waits_for: str | None
    compare_with: str | None


@dataclass(frozen=True)
class _Outcome:
    wave: str
    run: WaveRun | None
    error: str | None
    where: str = ""


# --------------------------------------------------------------------------------------------
# Checks before any work
# --------------------------------------------------------------------------------------------


def _the_waves(study: Path, waves: str | Sequence[str]) -> list[str]:
    given = [waves] if isinstance(waves, str) else list(waves)
    if ALL in given:
        if len(given) > 1:
            raise ParameterError(f"wave '{ALL}' means every wave: give it alone, not with others.")
        found = [w for w in list_waves(study) if (study / WAVES_DIR / w / RESPONSES_FILE).is_file()]
        if not found:
            raise WinbackError(
                f"--wave all: no wave in {study / WAVES_DIR} has a {RESPONSES_FILE} yet."
            )
        return found
    if not given:
        raise ParameterError("no wave given: name one or more waves, or 'all'.")
    twice = sorted({w for w in given if given.count(w) > 1})
    if twice:
        raise ParameterError(f"wave(s) {list_valid(twice)} given twice; give each wave once.")
    return given


def _plan(study: Path, waves: list[str], prior_from: str | None) -> list[_Job]:
    """Each wave's prior and comparison, in an order where a wave comes after the one it waits
    for. ``previous``: the latest earlier wave with results or run in this call (none for
    the earliest wave of the call when no earlier wave has results)."""
    order = list_waves(study)
    done = set(waves_with_results(study))
    call = set(waves)
    jobs = []
    for wave in waves:
        before = order[: order.index(wave)] if wave in order else []
        if prior_from is None:
            prior = None
        elif prior_from == wave and len(waves) > 1:
            prior = None  # the wave the others take their prior from runs without one
        elif prior_from == "previous":
            earlier = [w for w in before if w in call or w in done]
            if earlier:
                prior = earlier[-1]
            elif before:  # earlier waves, none with results nor in the call: run_wave's error
                prior = _resolve_prior(study, wave, prior_from)
            else:
                prior = None  # the study's first wave has no previous one
        elif prior_from in call and prior_from != wave:
            prior = prior_from
        else:  # a wave outside the call: it must have results (run_wave's message)
            prior = _resolve_prior(study, wave, prior_from)
        waits = prior if prior in call else None
        partners = [w for w in before if (w in done and w not in call) or w == waits]
        jobs.append(_Job(wave, prior, waits, partners[-1] if partners else None))
    ordered: list[_Job] = []  # each wave after the one it waits for (no cycles: see _plan's doc)
    placed: set[str] = set()
    while len(ordered) < len(jobs):
        ready = [
            j
            for j in jobs
            if j.wave not in placed and (j.waits_for is None or j.waits_for in placed)
        ]
        if not ready:  # cannot happen (a wave's prior wave has no prior in the call): say so
            raise WinbackError(f"the waves' priors form a cycle: {jobs}")
        ordered.extend(ready)
        placed.update(j.wave for j in ready)
    return ordered


def _check_levels(study: Path, job: _Job, waves: set[str]) -> None:
    """The prior's levels map onto the wave's (the check run_wave makes once the prior's fit
    exists), from the study files: the prior wave's own when it runs in this call, else the
    copy in its results."""
    if job.prior_from is None:
        return
    prior = job.prior_from
    earlier = (
        wave_study_path(study, prior) if prior in waves else _results(study, prior) / STUDY_FILE
    )
    if not earlier.is_file():
        return  # results without a study copy: run_wave checks against the fit itself
    level_map, path = _level_map(study)
    map_levels(
        load_study(earlier),
        load_study(wave_study_path(study, job.wave)),
        level_map,
        wave_a=prior,
        wave_b=job.wave,
        source=str(path or study / LEVEL_MAP_FILE),
    )


#: the options of run_wave that run_waves passes on (the same for every wave)
_OPTIONS = tuple(
    n
    for n in inspect.signature(run_wave).parameters
    if n not in ("study_dir", "wave", "force", "prior_from", "compare_with")
)


def _check_options(options: dict[str, Any]) -> None:
    valid = _OPTIONS
    for name in options:
        if name not in valid:
            raise ParameterError(
                f"run_waves: unknown option {name!r}{did_you_mean(name, valid)} Valid: "
                f"{list_valid(valid)}."
            )


# --------------------------------------------------------------------------------------------
# One wave, wherever it runs
# --------------------------------------------------------------------------------------------


def _check_worker(study: Path, sha: str, version: str) -> None:
    """On a Dask worker: the study folder is the one the client read, and winback the same."""
    host = socket.gethostname()
    if version != __version__:
        raise WinbackError(
            f"the Dask worker on {host} has winback {__version__}, the client {version}: "
            "install the same version on every worker."
        )
    where = study / STUDY_FILE
    if not where.is_file():
        raise WinbackError(
            f"the Dask worker on {host} sees no study folder at {study} (no {where}): the "
            "workers need the study folder on a shared file system, at the same path as the "
            "client (see docs/waves.md, 'Many waves on a Dask cluster')."
        )
    got = _sha(where)
    if got != sha:
        raise WinbackError(
            f"the Dask worker on {host} sees a different {where} (SHA-256 {got[:12]}..., the "
            f"client read {sha[:12]}...): the workers need the client's study folder on a "
            "shared file system, at the same path (see docs/waves.md)."
        )


def _why(exc: BaseException) -> str:
    if isinstance(exc, WinbackError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _wave_task(
    study: str,
    sha: str,
    version: str,
    job: _Job,
    options: dict[str, Any],
    *after: _Outcome,
    on_worker: bool = True,
) -> _Outcome:
    """Run one wave (in this process or on a Dask worker); never raises: the outcome says."""
    where = f"{socket.gethostname()} (process {os.getpid()})"
    for dep in after:
        if dep.error is not None:
            return _Outcome(
                job.wave,
                None,
                f"not run: its prior is wave '{dep.wave}' of this call, which failed.",
                where,
            )
    try:
        if on_worker:
            _check_worker(Path(study), sha, version)
        run = run_wave(
            study,
            job.wave,
            prior_from=job.prior_from,
            compare_with=job.compare_with,
            **options,
        )
    except Exception as exc:  # one wave's failure is reported; the others go on
        if not isinstance(exc, WinbackError):
            log.error("wave %s failed:\n%s", job.wave, traceback.format_exc())
        return _Outcome(job.wave, None, _why(exc), where)
    return _Outcome(job.wave, run.detached() if on_worker else run, None, where)


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _dask_client(scheduler: str, workers: int, timeout: float) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or of a new LocalCluster."""
    try:  # lazy: Dask is optional and loads only when a scheduler is asked for
        import distributed
    except ImportError:
        raise WinbackError(_DASK_MISSING) from None
    with contextlib.ExitStack() as stack:
        if scheduler == LOCAL:
            n = workers
            log.info("starting a local Dask cluster of %d worker processes", n)
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",
                    memory_limit=0,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(
                distributed.Client(cluster, timeout=f"{timeout}s", set_as_default=False)
            )
        else:
            try:
                client = stack.enter_context(
                    distributed.Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
                )
            except ValueError as exc:  # an address distributed cannot parse
                raise WinbackError(
                    f"--scheduler {scheduler!r} is not a Dask scheduler address ({exc}); give "
                    "'local' or tcp://HOST:PORT. Nothing was run."
                ) from None
            except (OSError, TimeoutError) as exc:
                raise WinbackError(
                    f"could not reach a Dask scheduler at {scheduler} within {timeout:g} s "
                    f"({type(exc).__name__}: {exc}); nothing was run. Start one with "
                    "`dask scheduler` (and `dask worker ADDRESS` on each machine), or use "
                    "--scheduler local."
                ) from None
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError):
                raise WinbackError(
                    f"the Dask scheduler at {scheduler} has no workers (waited {timeout:g} s); "
                    "nothing was run. Start `dask worker "
                    f"{scheduler}` on the machines that share the study folder."
                ) from None
            n = len(client.scheduler_info().get("workers", {}))
            log.info("Dask scheduler %s: %d worker(s)", scheduler, n)
        yield client


def _on_dask(
    client: Any, study: Path, sha: str, jobs: list[_Job], options: dict[str, Any]
) -> dict[str, _Outcome]:
    import distributed  # lazy: Dask is optional (already loaded by _dask_client)

    futures: dict[str, Any] = {}
    for job in jobs:  # in dependency order: a wave's prior wave is submitted before it
        after = [futures[job.waits_for]] if job.waits_for else []
        futures[job.wave] = client.submit(
            _wave_task,
            str(study),
            sha,
            __version__,
            job,
            options,
            *after,
            key=f"winback-wave-{job.wave}-{os.getpid()}-{time.time_ns()}",
            pure=False,
            retries=0,
        )
    wave_of = {f.key: w for w, f in futures.items()}
    out: dict[str, _Outcome] = {}
    for fut in distributed.as_completed(list(futures.values()), loop=client.loop):
        wave = wave_of[fut.key]
        try:
            outcome = fut.result()
        except Exception as exc:  # the worker died, the task was cancelled, ...
            outcome = _Outcome(wave, None, f"the Dask task failed: {_why(exc)}")
        out[wave] = outcome
        if outcome.error is None:
            log.info("wave %s: done on %s", wave, outcome.where)
        else:
            log.info("wave %s: failed on %s", wave, outcome.where or "the cluster")
    return out


# --------------------------------------------------------------------------------------------
# Many waves
# --------------------------------------------------------------------------------------------


def run_waves(
    study_dir: str | Path,
    waves: str | Sequence[str],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    connect_timeout: float = 10.0,
    force: bool = False,
    prior_from: str | None = None,
    **options: Any,
) -> list[WaveRun]:
    """Run several survey waves: one after another here, or side by side on a Dask cluster.

    Each wave is run by :func:`run_wave` (its results folder staged and renamed into place by
    whoever runs it). The inputs of every wave are checked before any wave starts; a wave that
    fails then leaves its earlier results untouched and the others complete.

    Parameters
    ----------
    study_dir : str or Path
    waves : str or sequence of str
        Wave ids, or ``"all"``: every wave with a ``responses.csv``.
    scheduler : str, optional
        None: the waves run one after another in this process. ``"local"``: a Dask
        ``LocalCluster`` of ``workers`` processes (one thread each; default: the cores, at
        most one per wave). ``"tcp://HOST:PORT"``: the ``dask.distributed`` scheduler there,
        whose workers see the study folder at the same path (a shared file system).
    workers : int, optional
        Worker processes of the local cluster.
    connect_timeout : float
        Seconds to wait for the scheduler (and for a first worker) before giving up.
    force : bool
        Replace the waves' existing results.
    prior_from : str, optional
        As for :func:`run_wave`, for every wave: ``"previous"`` chains each wave to the latest
        earlier wave with results or run in this call (the study's first wave runs without a
        prior); a wave id gives every other wave that prior
        (the wave itself, if in the call, runs without one). A wave whose prior runs in the
        same call waits for it.
    **options
        Any other keyword argument of :func:`run_wave` (``draws``, ``random_seed``,
        ``exclude_flags``, ...), the same for every wave.

    Returns
    -------
    list of WaveRun
        In the order the waves were given. With a scheduler each is
        :meth:`WaveRun.detached`: the record and the results folder, without the posterior
        draws (load them with ``analysis.load_model(run.results / "fit" / "fit.nc")``).

    Raises
    ------
    WinbackError
        Before any work: a bad wave, option or input of any wave, Dask not installed, no
        scheduler at the address. After: :class:`WavesFailed` naming each failed wave and why
        (its ``runs`` are those that completed).

    Examples
    --------
    >>> from winback.waves import run_waves
    >>> runs = run_waves("broadband-study", "all", scheduler="local", draws=500)  # doctest: +SKIP
    >>> [r.verdict for r in runs]  # doctest: +SKIP
    ['ok', 'ok', 'ok']
    """
    study = _study_dir(study_dir).resolve()
    names = _the_waves(study, waves)
    _check_options(options)
    if scheduler is not None and scheduler != LOCAL and not _ADDRESS.match(scheduler):
        raise ParameterError(
            f"scheduler {scheduler!r} is not an address: use tcp://HOST:PORT (a running "
            "dask.distributed scheduler; tls://, ws://, wss:// or ucx:// also) or 'local'."
        )
    if workers is not None and (scheduler != LOCAL or workers < 1):
        raise ParameterError(
            f"workers={workers}: the number of worker processes of --scheduler local (at "
            "least 1); a remote cluster has its own workers."
        )
    if not connect_timeout > 0:
        raise ParameterError(f"connect_timeout must be positive, got {connect_timeout}.")
    checks = {
        k: options[k]
        for k in (
            "prior_widen",
            "exclude_flags",
            "constraints",
            "objective",
            "product",
            "segment",
            "max_contacts",
            "budget",
            "control_share",
        )
        if k in options
    }
    for wave in names:  # every wave's inputs before any work
        check_wave(study, wave, force=force, **checks)
    jobs = _plan(study, names, prior_from)
    for job in jobs:
        _check_levels(study, job, set(names))
    sha = _sha(study / STUDY_FILE)
    t0 = time.perf_counter()
    if scheduler is None:
        outcomes: dict[str, _Outcome] = {}
        for job in jobs:
            after = [outcomes[job.waits_for]] if job.waits_for else []
            outcomes[job.wave] = _wave_task(
                str(study), sha, __version__, job, options, *after, on_worker=False
            )
    else:
        remote = {**options, "progress": False}  # no progress bars from the workers
        n = workers or min(os.cpu_count() or 1, len(jobs))
        with _dask_client(scheduler, n, connect_timeout) as c:
            outcomes = _on_dask(c, study, sha, jobs, remote)
    log.info("%d wave(s) in %.0f s", len(names), time.perf_counter() - t0)
    runs = [o.run for w in names if (o := outcomes[w]).run is not None]
    errors = {w: str(outcomes[w].error) for w in names if outcomes[w].error is not None}
    if errors:
        raise WavesFailed(runs, errors)
    return runs
