"""Plots of a win-back study's results, from the tidy tables the pipeline writes.

Every function takes a ``DataFrame`` (the same columns as the CSV files of ``winback fit``,
``winback simulate`` and ``winback recommend``) and returns a :class:`matplotlib.figure.Figure`.
Figures are made without ``pyplot`` (no global state, no GUI backend): they work on a server
or in a test run, and ``fig.savefig("x.png")`` writes them. In a notebook, display ``fig``.

Examples
--------
>>> import pandas as pd
>>> from reports.plots import plot_importances
>>> imp = pd.DataFrame(
...     {"attribute": ["speed", "price"], "mean": [40.0, 60.0], "lower": [35.0, 55.0],
...      "upper": [45.0, 65.0]}
... )
>>> fig = plot_importances(imp)
>>> len(fig.axes)
1
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from winback.errors import WinbackError, list_valid

__all__ = [
    "plot_importances",
    "plot_partworth_distributions",
    "plot_posterior_bands",
    "plot_price_curves",
    "plot_tier_shares",
]

_COLOR = "#1F4E79"
_BAND = "#9DC3E6"


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise WinbackError(
            f"{what} needs the column(s) {list_valid(missing)}; the table has "
            f"{list_valid(list(df.columns))}."
        )
    if df.empty:
        raise WinbackError(f"{what}: the table is empty, nothing to plot.")


def _has_bands(df: pd.DataFrame, lower: str, upper: str) -> bool:
    return (
        lower in df.columns
        and upper in df.columns
        and bool(df[[lower, upper]].notna().to_numpy().all())
    )


def _error_bars(est: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    # matplotlib wants distances from the estimate; clip at 0 in case a band misses its mean
    return np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])


def plot_posterior_bands(
    df: pd.DataFrame,
    *,
    label: str = "parameter",
    estimate: str = "mean",
    lower: str = "lower",
    upper: str = "upper",
    title: str = "Posterior estimates with bands",
    xlabel: str = "estimate",
    percent: bool = False,
    zero_line: bool = True,
) -> Figure:
    """Any estimate with its band: one row per item, a point and a horizontal interval.

    Parameters
    ----------
    df : DataFrame
        One row per item with the columns named by ``label``, ``estimate``, ``lower`` and
        ``upper`` (e.g. ``fit/population.csv``: ``parameter, mean, lower, upper``).
    label, estimate, lower, upper : str
        Column names.
    title, xlabel : str
    percent : bool
        Show fractions as percentages on the axis.
    zero_line : bool
        Draw a vertical line at zero (where a part-worth or a gain changes sign).

    Returns
    -------
    Figure
        One axes; one error-bar container with a marker per row.

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"parameter": ["a", "b"], "mean": [0.5, -0.2],
    ...                     "lower": [0.3, -0.4], "upper": [0.7, 0.0]})
    >>> fig = plot_posterior_bands(pop)
    >>> len(fig.axes[0].containers)
    1
    """
    _require(df, [label, estimate, lower, upper], "plot_posterior_bands")
    d = df.reset_index(drop=True)
    y = np.arange(len(d))[::-1]
    est = d[estimate].to_numpy(dtype=float)
    lo = d[lower].to_numpy(dtype=float)
    hi = d[upper].to_numpy(dtype=float)
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * len(d)), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(
        est,
        y,
        xerr=_error_bars(est, lo, hi),
        fmt="o",
        color=_COLOR,
        ecolor=_BAND,
        elinewidth=3,
        capsize=0,
    )
    if zero_line:
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(y, [str(v) for v in d[label]])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def plot_importances(
    importances: pd.DataFrame, *, title: str = "What matters most: attribute importance"
) -> Figure:
    """Attribute importances (percent of the total range), largest on top, with bands if the
    table has ``lower`` and ``upper``.

    Parameters
    ----------
    importances : DataFrame
        ``attribute, mean[, lower, upper]`` as in ``fit/importances.csv`` (percent).
    title : str

    Returns
    -------
    Figure
        One axes with one bar per attribute (and error bars when bands are given).

    Examples
    --------
    >>> import pandas as pd
    >>> imp = pd.DataFrame({"attribute": ["speed", "price"], "mean": [40.0, 60.0]})
    >>> len(plot_importances(imp).axes[0].patches)
    2
    """
    _require(importances, ["attribute", "mean"], "plot_importances")
    d = importances.sort_values("mean", ascending=True).reset_index(drop=True)
    fig = Figure(figsize=(7.5, 1.0 + 0.4 * len(d)), layout="constrained")
    ax = fig.add_subplot()
    est = d["mean"].to_numpy(dtype=float)
    xerr = None
    if _has_bands(d, "lower", "upper"):
        xerr = _error_bars(est, d["lower"].to_numpy(float), d["upper"].to_numpy(float))
    ax.barh(
        [str(a) for a in d["attribute"]],
        est,
        xerr=xerr,
        color=_COLOR,
        error_kw={"ecolor": "black", "capsize": 3, "elinewidth": 1},
    )
    ax.set_xlabel("importance (% of the total utility range)")
    ax.set_title(title)
    ax.set_xlim(left=0)
    return fig


def plot_partworth_distributions(
    partworths: pd.DataFrame,
    *,
    attributes: Sequence[str] | None = None,
    ncols: int = 2,
    title: str = "Part-worths across respondents",
) -> Figure:
    """How respondents differ: for each attribute, a box per level of the individual
    (posterior mean) part-worths.

    Parameters
    ----------
    partworths : DataFrame
        ``respondent_id, attribute, level, utility`` as in ``fit/partworths.csv`` (reference
        levels are 0 for everyone).
    attributes : sequence of str, optional
        Attributes to show, in this order (default: every attribute of the table, ``none``
        included, in the table's order).
    ncols : int
        Panels per row.
    title : str

    Returns
    -------
    Figure
        One axes per attribute (unused grid cells are removed).

    Examples
    --------
    >>> import pandas as pd
    >>> pw = pd.DataFrame({"respondent_id": ["1", "1", "2", "2"], "attribute": ["a"] * 4,
    ...                    "level": ["x", "y", "x", "y"], "utility": [0.0, 1.0, 0.0, 0.5]})
    >>> len(plot_partworth_distributions(pw).axes)
    1
    """
    _require(
        partworths,
        ["respondent_id", "attribute", "level", "utility"],
        "plot_partworth_distributions",
    )
    have = list(dict.fromkeys(partworths["attribute"].astype(str)))
    attrs = list(attributes) if attributes is not None else have
    unknown = [a for a in attrs if a not in have]
    if unknown:
        raise WinbackError(
            f"plot_partworth_distributions: unknown attribute(s) {list_valid(unknown)}; "
            f"valid: {list_valid(have)}."
        )
    if ncols < 1:
        raise WinbackError(f"ncols must be at least 1, got {ncols}.")
    ncols = min(ncols, len(attrs))
    nrows = -(-len(attrs) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 2.8 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    pw = partworths.assign(attribute=partworths["attribute"].astype(str))
    for i, attr in enumerate(attrs):
        ax = axes[i // ncols][i % ncols]
        sub = pw[pw["attribute"] == attr]
        levels = list(dict.fromkeys(sub["level"].astype(str)))
        data = [
            sub.loc[sub["level"].astype(str) == lv, "utility"].to_numpy(dtype=float)
            for lv in levels
        ]
        ax.boxplot(
            data,
            orientation="horizontal",
            tick_labels=levels,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": _BAND},
        )
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(attr)
        ax.set_xlabel("utility")
    for j in range(len(attrs), nrows * ncols):
        fig.delaxes(axes[j // ncols][j % ncols])
    fig.suptitle(title)
    return fig


def plot_price_curves(
    curves: pd.DataFrame,
    *,
    measure: str = "share",
    products: Sequence[str] | None = None,
    currency: str = "",
    title: str | None = None,
) -> Figure:
    """Demand (or revenue) against price, one line per product with its band.

    Parameters
    ----------
    curves : DataFrame
        ``product, price, share, lower, upper[, revenue, revenue_lower, revenue_upper]`` as in
        ``simulate/price_curves.csv`` (without ``product``: one curve).
    measure : {"share", "revenue"}
        Plot the stated preference share (bands ``lower``/``upper``) or revenue per lost customer
        (bands ``revenue_lower``/``revenue_upper``).
    products : sequence of str, optional
        Products to draw (default: all).
    currency : str
        Shown on the price axis.
    title : str, optional

    Returns
    -------
    Figure
        One axes; one line and one shaded band per product.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"product": ["A"] * 3, "price": [30.0, 40.0, 50.0],
    ...                   "share": [0.5, 0.4, 0.3], "lower": [0.45, 0.35, 0.25],
    ...                   "upper": [0.55, 0.45, 0.35]})
    >>> len(plot_price_curves(c).axes[0].lines)
    1
    """
    if measure not in ("share", "revenue"):
        raise WinbackError(f"measure must be 'share' or 'revenue', got {measure!r}.")
    lo_col, hi_col = (
        ("lower", "upper") if measure == "share" else ("revenue_lower", "revenue_upper")
    )
    _require(curves, ["price", measure], "plot_price_curves")
    d = curves if "product" in curves.columns else curves.assign(product=measure)
    have = list(dict.fromkeys(d["product"].astype(str)))
    chosen = list(products) if products is not None else have
    unknown = [p for p in chosen if p not in have]
    if unknown:
        raise WinbackError(
            f"plot_price_curves: unknown product(s) {list_valid(unknown)}; valid: "
            f"{list_valid(have)}."
        )
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for prod in chosen:
        sub = d[d["product"].astype(str) == prod].sort_values("price")
        x = sub["price"].to_numpy(dtype=float)
        (line,) = ax.plot(x, sub[measure].to_numpy(dtype=float), marker=".", label=prod)
        if _has_bands(sub, lo_col, hi_col):
            ax.fill_between(
                x,
                sub[lo_col].to_numpy(float),
                sub[hi_col].to_numpy(float),
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
    unit = f" ({currency})" if currency else ""
    ax.set_xlabel(f"price{unit}")
    if measure == "share":
        ax.set_ylabel("stated preference share")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.set_ylabel(f"revenue per lost customer{unit}")
    ax.set_title(
        title or ("Demand against price" if measure == "share" else "Revenue against price")
    )
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_tier_shares(
    tiers: pd.DataFrame,
    *,
    currency: str = "",
    title: str | None = None,
    share_label: str = "share of lost customers",
) -> Figure:
    """Each tier's share of lost customers with its band, price in the label.

    Parameters
    ----------
    tiers : DataFrame
        ``tier, share[, lower, upper, price]`` as in ``recommend/tiers.csv``.
    currency : str
        Shown with the price.
    title : str, optional
        Default ``Good / better / best: <share_label> by tier``.
    share_label : str
        What the shares are: ``"stated preference share"`` or ``"calibrated share"``
        (:func:`reports.workbook.basis.share_word` of the run) for the axis and the title.

    Returns
    -------
    Figure
        One axes with one bar per tier.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"tier": ["Good", "Better"], "price": [40.0, 50.0],
    ...                   "share": [0.2, 0.25], "lower": [0.18, 0.22], "upper": [0.22, 0.28]})
    >>> len(plot_tier_shares(t).axes[0].patches)
    2
    """
    _require(tiers, ["tier", "share"], "plot_tier_shares")
    d = tiers.reset_index(drop=True)
    est = d["share"].to_numpy(dtype=float)
    yerr = None
    if _has_bands(d, "lower", "upper"):
        yerr = _error_bars(est, d["lower"].to_numpy(float), d["upper"].to_numpy(float))
    labels = [str(t) for t in d["tier"]]
    if "price" in d.columns:
        cur = f" {currency}" if currency else ""
        labels = [
            f"{t}\n{p:,.2f}{cur}" for t, p in zip(labels, d["price"].astype(float), strict=True)
        ]
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(labels, est, yerr=yerr, color=_COLOR, capsize=4)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(share_label)
    ax.set_title(title or f"Good / better / best: {share_label} by tier")
    ax.grid(axis="y", alpha=0.3)
    return fig
