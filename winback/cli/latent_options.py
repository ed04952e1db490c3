"""The command line's latent class options: ``winback fit --model latent-class --classes 2..6``
and ``--classes-from FIT_DIR`` of ``simulate``, ``recommend`` and ``target`` (see
``docs/cli.md``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from winback.errors import ParameterError

#: the random starts of each latent class fit (analysis.latent_class.STARTS; a test keeps the
#: two equal)
STARTS = 12
#: the most classes ``--classes`` accepts
MAX_CLASSES = 20
#: HB options that mean nothing for latent classes, with their defaults
_HB_ONLY = {
    "draws": 1000,
    "tune": 500,
    "chains": 4,
    "covariance": "full",
    "sampler": "nutpie",
    "backend": "numba",
    "prior": None,
    "constrain": None,
    "validation": "auto",
}


def classes_option(text: str) -> list[int]:
    """``N`` or ``A..B``: the numbers of classes to fit (``2..6`` is 2, 3, 4, 5 and 6)."""
    first, dots, last = text.strip().partition("..")
    try:
        low = int(first)
        high = int(last) if dots else low
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of classes N or a range A..B (e.g. 3 or 2..6), got {text!r}"
        ) from None
    if low < 1:
        raise argparse.ArgumentTypeError(f"the number of classes must be at least 1, got {text!r}")
    if high < low:
        raise argparse.ArgumentTypeError(
            f"the range {text!r} is empty: give A..B with A at most B (e.g. 2..6)"
        )
    if high > MAX_CLASSES:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_CLASSES} classes, got {text!r} (segments leadership can name are "
            "few; try 2..6)"
        )
    return list(range(low, high + 1))


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--classes``, ``--starts`` of ``winback fit``."""
    g = p.add_argument_group("latent classes (--model latent-class)")
    g.add_argument(
        "--model",
        choices=["hb", "latent-class"],
        default="hb",
        help="hb: individual part-worths by hierarchical Bayes (default); latent-class: a few "
        "classes with their own part-worths, the number chosen by BIC",
    )
    g.add_argument(
        "--classes",
        type=classes_option,
        metavar="N|A..B",
        help="numbers of classes to try, e.g. 3 or 2..6 (default 2..6); the one with the "
        "lowest BIC is kept. --covariates: the class shares' covariates",
    )
    g.add_argument(
        "--starts",
        type=_positive,
        default=STARTS,
        help=f"random starts of each latent class fit ({STARTS})",
    )


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def add_classes_from(p: argparse.ArgumentParser) -> None:
    """``--classes-from FIT_DIR``: where ``--segment latent_class`` reads the classes."""
    p.add_argument(
        "--classes-from",
        type=Path,
        metavar="FIT_DIR",
        help="a latent class fit folder for --segment latent_class (default: the run folder's "
        "latent_class/ beside the fit)",
    )


def check_model_options(args: argparse.Namespace) -> None:
    """Options of the other model named by mistake: an error naming them, before any work."""
    if args.model == "hb":
        if args.classes is not None or args.starts != STARTS:
            name = "--classes" if args.classes is not None else "--starts"
            raise ParameterError(
                f"{name} is an option of --model latent-class; add --model latent-class, or "
                f"leave {name} out for an HB fit."
            )
        return
    given = [
        f"--{k.replace('_', '-')}"
        for k, default in _HB_ONLY.items()
        if getattr(args, k, default) != default
    ]
    if args.constraints not in (None, "none"):
        given.append("--constraints")
    if given:
        raise ParameterError(
            f"{', '.join(given)}: HB option(s) that a latent class fit does not have; leave them "
            "out with --model latent-class (its options: --classes, --starts, --seed, "
            "--covariates, --exclude)."
        )
