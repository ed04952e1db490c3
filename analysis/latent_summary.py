"""What sets latent classes apart, for the people reading them: each class's attribute
importances with bands (:func:`class_importances`) and the mix of classes by a respondent answer
such as the main reason for leaving (:func:`class_profile`).

Importances are those of :func:`analysis.importances`, computed from each class's part-worths
instead of each respondent's: an attribute's range of utility over its tested levels as a share
of the sum of ranges. The band comes from the part-worths' asymptotic normal
(:meth:`analysis.LatentClassResult.coef_draws`), the point is the importance at the estimates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.results._common import _ranges, importance_names
from winback.errors import ParameterError, WinbackError
from winback.settings import BAND, check_band

if TYPE_CHECKING:
    from analysis.latent_class import LatentClassResult

__all__ = ["class_importances", "class_profile"]


def class_importances(
    result: LatentClassResult,
    *,
    band: float = BAND,
    n_draws: int = 2000,
    random_seed: int = 1,
) -> pd.DataFrame:
    """Attribute importances (percent) of every class, with bands.

    Parameters
    ----------
    result : LatentClassResult
        Fitted through :func:`analysis.fit_latent_class` (it needs the study).
    band : float
        Probability of the band.
    n_draws, random_seed
        Samples of the part-worths for the band.

    Returns
    -------
    DataFrame
        ``class, label, attribute, importance, lower, upper``: one row per class and attribute,
        the importances of a class adding up to 100.

    Examples
    --------
    >>> class_importances(result).pivot(index="attribute", columns="label",
    ...                                 values="importance")  # doctest: +SKIP
    """
    band = check_band(band)
    if result.study is None:
        raise WinbackError(
            "class importances need the study: fit with fit_latent_class(dataset), "
            "not fit_latent_class_arrays."
        )
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 10:
        raise ParameterError(f"n_draws must be a whole number >= 10; got {n_draws!r}.")
    study, names = result.study, list(result.names)

    def shares(beta: np.ndarray) -> np.ndarray:
        r = _ranges(beta, study, names)
        total = r.sum(axis=-1, keepdims=True)
        return 100.0 * r / np.where(total > 0, total, 1.0)

    point = shares(result.coef)  # (C, A)
    draws = shares(result.coef_draws(n_draws, np.random.default_rng(random_seed)))  # (S, C, A)
    lo, hi = np.quantile(draws, [(1 - band) / 2, (1 + band) / 2], axis=0)
    attrs = importance_names(study)  # the labels last in a labelled design
    rows = []
    for c, (plain, label) in enumerate(
        zip(result.class_labels, result.readable_labels, strict=True)
    ):
        for j, a in enumerate(attrs):
            rows.append((plain, label, a, point[c, j], lo[c, j], hi[c, j]))
    return pd.DataFrame(
        rows, columns=["class", "label", "attribute", "importance", "lower", "upper"]
    )


def class_profile(result: LatentClassResult, column: str) -> pd.DataFrame:
    """The mix of classes within each value of a respondent answer (e.g. ``main_reason``).

    Each respondent counts with their posterior class probabilities (not only their most
    likely class), so a respondent who is 60/40 between two classes adds 0.6 and 0.4.

    Returns
    -------
    DataFrame
        ``value, respondents`` and one column per class (readable name): the share of that
        value's respondents in the class (rows add up to 1); the last row ``all``.
    """
    if result.respondents is None or column not in result.respondents.columns:
        have = [] if result.respondents is None else list(result.respondents.columns)
        raise WinbackError(
            f"no respondent column {column!r} with the latent class fit"
            + (f"; columns: {', '.join(map(str, have))}." if have else ".")
        )
    resp = result.respondents
    ids = resp["respondent_id"].astype(str) if "respondent_id" in resp.columns else resp.index
    values = pd.Series(resp[column].to_numpy(), index=pd.Index(ids.astype(str)))
    values = values.reindex(list(result.respondent_ids))
    key = values.fillna("").astype(str).str.strip().to_numpy()
    labels = result.readable_labels
    m = pd.DataFrame(result.membership, columns=labels)
    m["value"] = key
    m = m[m["value"] != ""]
    grouped = m.groupby("value", sort=False)
    out = grouped[labels].mean()
    out.insert(0, "respondents", grouped.size())
    out = out.sort_values("respondents", ascending=False, kind="stable")
    total = pd.DataFrame([[len(m), *m[labels].mean().to_numpy()]], columns=out.columns,
                         index=pd.Index(["all"]))  # fmt: skip
    return pd.concat([out, total]).rename_axis("value").reset_index()
