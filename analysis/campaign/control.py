"""A control group by design: :func:`control_group`.

Of the customers the plan would contact, a random share is held out (not contacted), stratified:
every stratum (a segment, and the planned action within it) holds out ``floor(share x n_s)``
customers, and the customers the rounding leaves over go to the strata with the largest
remainders, so the whole holdout is ``round(share x n)`` and every stratum is within one customer
of its share. Within a stratum the customers are drawn at random (seeded). Comparing who comes
back among the contacted and among the held out, per stratum, measures the campaign's uplift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from winback.errors import ParameterError

__all__ = ["control_group"]


def control_group(
    strata: Sequence[object] | np.ndarray,
    eligible: np.ndarray,
    *,
    share: float = 0.1,
    random_seed: int = 1,
) -> np.ndarray:
    """Which customers are held out as the control group.

    Parameters
    ----------
    strata : sequence
        The stratum of every customer (e.g. segment and planned action joined).
    eligible : ndarray of bool
        The customers the plan would contact (only they can be held out).
    share : float
        The share held out, in [0, 1): 0.1 by default.
    random_seed : int

    Returns
    -------
    ndarray of bool
        True for the customers held out.

    Examples
    --------
    >>> import numpy as np
    >>> held = control_group(["a"] * 50 + ["b"] * 30, np.ones(80, bool), share=0.1)
    >>> int(held.sum()), int(held[:50].sum()), int(held[50:].sum())
    (8, 5, 3)
    """
    try:
        share = float(share)
    except (TypeError, ValueError):
        raise ParameterError(f"control share must be a number in [0, 1), got {share!r}.") from None
    if not 0.0 <= share < 1.0:
        raise ParameterError(f"control share must be in [0, 1) (0.1: 10%), got {share!r}.")
    key = np.asarray([str(s) for s in strata], dtype=object)
    eligible = np.asarray(eligible, dtype=bool)
    if len(key) != len(eligible):
        raise ParameterError(f"{len(key)} strata for {len(eligible)} customers.")
    out = np.zeros(len(key), dtype=bool)
    if share == 0.0 or not eligible.any():
        return out
    rng = np.random.default_rng(random_seed)
    names, inverse = np.unique(key[eligible], return_inverse=True)
    sizes = np.bincount(inverse, minlength=len(names))
    exact = share * sizes
    take = np.floor(exact).astype(int)
    left = round(share * int(eligible.sum())) - int(take.sum())
    if left > 0:  # largest remainders first, ties in a random order
        tie = rng.permutation(len(names))
        order = np.lexsort((tie, -(exact - take)))
        take[order[:left]] += 1
    where = np.flatnonzero(eligible)
    for s in range(len(names)):
        members = where[inverse == s]
        if take[s]:
            out[rng.choice(members, size=int(take[s]), replace=False)] = True
    return out
