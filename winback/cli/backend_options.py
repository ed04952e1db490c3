"""The command line's ``--sampler`` and ``--backend`` options of ``winback fit`` and ``winback
run``: the sampler, and what nutpie compiles the HB model with, numba (default) or jax (see
``docs/cli.md`` and docs/analysis.md, "Backends")."""

from __future__ import annotations

import argparse
import importlib.util

from winback.errors import ParameterError

#: the choices of ``--backend`` (analysis.fit's ``backend``), the default first
BACKENDS = ("numba", "jax")


def add_sampler_options(group: argparse._ArgumentGroup) -> None:
    """``--sampler {nutpie,pymc,advi}`` and ``--backend {numba,jax}`` in the HB options'
    group."""
    group.add_argument(
        "--sampler",
        choices=["nutpie", "pymc", "advi"],
        default="nutpie",
        help="nutpie's NUTS (default), PyMC's NUTS, or a quick ADVI preview",
    )
    group.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default=BACKENDS[0],
        help="what the model is compiled with: numba (default, fastest on a CPU) or jax "
        '(for a GPU; needs pip install "winback[jax]")',
    )


def check_backend(args: argparse.Namespace) -> None:
    """``--backend jax`` without jax, or with a sampler other than nutpie: an error naming
    the fix, before any work."""
    if getattr(args, "backend", BACKENDS[0]) != "jax":
        return
    if importlib.util.find_spec("jax") is None:
        raise ParameterError(
            '--backend jax needs jax, which is not installed: pip install "winback[jax]" '
            "(CPU), or jax with CUDA for a GPU; or leave --backend out (numba)."
        )
    if args.sampler != "nutpie":
        raise ParameterError(
            f"--backend jax runs nutpie's sampler; --sampler {args.sampler} needs the default "
            "--backend numba."
        )
