"""The options of ``winback run`` for several waves at once: ``--scheduler`` and ``--workers``
(see ``docs/waves.md``, 'Many waves on a Dask cluster')."""

from __future__ import annotations

import argparse


def _workers(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def add_parallel_options(p: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS|local`` and ``--workers N`` (several waves on Dask)."""
    g = p.add_argument_group("several waves at once (Dask; pip install 'winback[dask]')")
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the waves side by side on the dask.distributed scheduler at tcp://HOST:PORT "
        "(its workers must see STUDY_DIR at the same path), or 'local': a local cluster of "
        "worker processes (default: one wave after another in this process)",
    )
    g.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="worker processes of --scheduler local (default: the cores, at most one per wave)",
    )
