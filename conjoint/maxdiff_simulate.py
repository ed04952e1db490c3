"""Simulated respondents answering a MaxDiff design, from known utilities: for tests, power
checks, the docs and (later) the demo's fieldwork.

The answer model is the sequential best-worst logit, the model the estimation assumes
(:mod:`analysis.maxdiff`): in a set ``S`` a respondent with utilities ``u`` picks the best
item with probability ``exp(u_i) / sum_{j in S} exp(u_j)``, then the worst among the rest with
probability ``exp(-u_w) / sum_{j in S, j != best} exp(-u_j)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from conjoint.maxdiff import MaxDiffDesign
from winback.errors import ParameterError, list_valid

#: the columns of winback's MaxDiff answers table (one row per item shown)
ANSWER_COLUMNS = ("respondent_id", "version", "set", "position", "item", "best", "worst")


def maxdiff_utilities(
    items: Sequence[str],
    mean: Mapping[str, float] | Sequence[float] | np.ndarray,
    *,
    n_respondents: int,
    sd: float | Sequence[float] | np.ndarray = 1.0,
    random_seed: int = 1,
) -> pd.DataFrame:
    """Individual utilities drawn around a population mean: ``u_i = mean + sd * z_i``.

    Parameters
    ----------
    items : sequence of str
    mean : mapping item -> utility, or one number per item
        Items missing from a mapping get 0.
    n_respondents : int
    sd : float or one per item
        Standard deviation of the individual utilities around the mean (independent normal).
    random_seed : int

    Returns
    -------
    DataFrame
        One row per respondent (index ``respondent_id``: ``r001``, ``r002``, ...), one column
        per item.

    Examples
    --------
    >>> u = maxdiff_utilities(["a", "b", "c"], {"b": 1.0}, n_respondents=2)
    >>> u.shape
    (2, 3)
    """
    labels = [str(i) for i in items]
    if isinstance(mean, Mapping):
        unknown = [k for k in mean if str(k) not in labels]
        if unknown:
            raise ParameterError(
                f"mean names unknown item(s) {list_valid(unknown)}; items: {list_valid(labels)}."
            )
        mu = np.array([float(mean.get(i, 0.0)) for i in labels])
    else:
        mu = np.asarray(mean, dtype=float)
        if mu.shape != (len(labels),):
            raise ParameterError(
                f"mean needs one number per item ({len(labels)}); got shape {mu.shape}."
            )
    s = np.broadcast_to(np.asarray(sd, dtype=float), (len(labels),))
    if (s < 0).any() or not np.isfinite(s).all():
        raise ParameterError(f"sd must be finite and not negative; got {sd!r}.")
    if isinstance(n_respondents, bool) or not isinstance(n_respondents, int | np.integer):
        raise ParameterError(f"n_respondents must be a whole number; got {n_respondents!r}.")
    if n_respondents < 1:
        raise ParameterError(f"n_respondents must be at least 1; got {n_respondents}.")
    rng = np.random.default_rng(random_seed)
    u = mu + s * rng.standard_normal((int(n_respondents), len(labels)))
    width = len(str(int(n_respondents)))
    ids = pd.Index([f"r{i + 1:0{max(3, width)}d}" for i in range(int(n_respondents))])
    return pd.DataFrame(u, index=ids.rename("respondent_id"), columns=labels)


def simulate_maxdiff(
    design: MaxDiffDesign,
    utilities: pd.DataFrame | np.ndarray,
    *,
    random_seed: int = 1,
) -> pd.DataFrame:
    """Best and worst answers of respondents with known utilities (sequential best-worst
    logit, see the module's docstring).

    Versions are dealt in turn: respondent ``i`` (from 0) answers version ``i mod versions +
    1``, as :func:`conjoint.make_assignments` deals CBC versions.

    Parameters
    ----------
    design : MaxDiffDesign
    utilities : DataFrame or ndarray, shape (n_respondents, n_items)
        A DataFrame has one column per item (by label, any order) and the respondent ids as its
        index; an array has the items in the design's order and gets ids ``r001``, ...
    random_seed : int

    Returns
    -------
    DataFrame
        winback's MaxDiff answers table: ``respondent_id, version, set, position, item, best,
        worst``, one row per item shown, ``best`` and ``worst`` 1 on one row of each set.

    Examples
    --------
    >>> from conjoint.maxdiff import make_maxdiff_design
    >>> d = make_maxdiff_design(6, per_set=3, n_sets=4, versions=2)
    >>> u = maxdiff_utilities(d.items, [0, 1, 2, 0, -1, 0.5], n_respondents=10)
    >>> answers = simulate_maxdiff(d, u)
    >>> int(answers["best"].sum()), int(answers["worst"].sum())
    (40, 40)
    """
    items = list(design.items)
    if isinstance(utilities, pd.DataFrame):
        cols = [str(c) for c in utilities.columns]
        missing = [i for i in items if i not in cols]
        extra = [c for c in cols if c not in items]
        if missing or extra:
            raise ParameterError(
                "utilities need one column per item of the design"
                + (f"; missing: {list_valid(missing)}" if missing else "")
                + (f"; not items: {list_valid(extra)}" if extra else "")
                + f". Items: {list_valid(items)}."
            )
        u = utilities.set_axis(cols, axis=1)[items].to_numpy(dtype=float)
        ids = [str(i) for i in utilities.index]
    else:
        u = np.asarray(utilities, dtype=float)
        if u.ndim != 2 or u.shape[1] != len(items):
            raise ParameterError(
                f"utilities must have shape (n_respondents, {len(items)}); got {u.shape}."
            )
        ids = [f"r{i + 1:0{max(3, len(str(len(u))))}d}" for i in range(len(u))]
    if len(set(ids)) != len(ids):
        raise ParameterError("respondent ids (the utilities' index) must be unique.")
    if not np.isfinite(u).all():
        raise ParameterError("utilities must be finite numbers.")
    n, b, k = len(u), design.n_sets, design.per_set
    rng = np.random.default_rng(random_seed)
    version = np.arange(n) % design.versions
    shown = design.sets[version]  # (n, b, k) item indices
    util = np.take_along_axis(u[:, None, :], shown.reshape(n, 1, b * k), axis=2).reshape(n, b, k)
    # Gumbel maxima: the argmax of u + Gumbel noise is a draw from softmax(u)
    best = np.argmax(util + rng.gumbel(size=util.shape), axis=2)
    neg = -util + rng.gumbel(size=util.shape)
    np.put_along_axis(neg, best[..., None], -np.inf, axis=2)
    worst = np.argmax(neg, axis=2)
    pos = np.arange(k)
    return pd.DataFrame(
        {
            "respondent_id": np.repeat(ids, b * k),
            "version": np.repeat(version + 1, b * k),
            "set": np.tile(np.repeat(np.arange(1, b + 1), k), n),
            "position": np.tile(pos + 1, n * b),
            "item": np.asarray(items, dtype=object)[shown.ravel()],
            "best": (pos[None, None, :] == best[..., None]).astype(int).ravel(),
            "worst": (pos[None, None, :] == worst[..., None]).astype(int).ravel(),
        }
    )
