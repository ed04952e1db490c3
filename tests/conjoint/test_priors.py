"""The prior draws' scrambled Halton points: scipy's numbers without importing scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest

from conjoint.priors import _halton, _primes


def test_primes() -> None:
    first = _primes(12)
    assert first == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37], f"first 12 primes: {first}"
    assert _primes(170)[-1] == 1013, f"170th prime {_primes(170)[-1]}, expected 1013"


@pytest.mark.parametrize(
    ("n", "k", "seed"),
    [(1, 1, 0), (5, 3, 1), (100, 12, 7), (2000, 12, 123456), (500, 30, 2**31 - 2), (50, 170, 5)],
)
def test_halton_is_scipys_bit_for_bit(n: int, k: int, seed: int) -> None:
    from scipy.stats import qmc

    want = qmc.Halton(d=k, scramble=True, seed=seed).random(n)
    got = _halton(n, k, seed)
    diff = float(np.abs(got - want).max())
    assert got.shape == want.shape, f"shape {got.shape}, scipy {want.shape}"
    assert np.array_equal(got, want), f"n={n} k={k} seed={seed}: max difference {diff:.3g}"
