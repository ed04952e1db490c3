"""Number arguments of the command line: argparse types that name the value and what is valid."""

from __future__ import annotations

import argparse


def _number[T: (int, float)](text: str, cast: type[T]) -> T:
    """``text`` as a whole number (``int``) or a number (``float``), else argparse's error."""
    try:
        return cast(text)
    except ValueError:
        what = "a whole number" if cast is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
