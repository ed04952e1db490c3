"""reports.plots: every plot runs without a display and returns a Figure with the right parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from reports.plots import (
    plot_importances,
    plot_partworth_distributions,
    plot_posterior_bands,
    plot_price_curves,
    plot_tier_shares,
)
from winback.errors import WinbackError


def _partworths() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for r in range(30):
        for attr, levels in (("speed", ["100", "300", "1000"]), ("tv", ["No", "Yes"]),
                             ("price", ["30", "40", "50"])):  # fmt: skip
            for j, lv in enumerate(levels):
                rows.append((f"r{r}", attr, lv, 0.0 if j == 0 else rng.normal(j, 0.5)))
    return pd.DataFrame(rows, columns=["respondent_id", "attribute", "level", "utility"])


def test_importances_with_and_without_bands() -> None:
    imp = pd.DataFrame(
        {"attribute": ["speed", "tv", "price"], "mean": [30.0, 20.0, 50.0],
         "lower": [27.0, 18.0, 46.0], "upper": [33.0, 22.0, 54.0]}
    )  # fmt: skip
    fig = plot_importances(imp)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    # largest on top: barh draws the last row highest
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tv", "speed", "price"]
    plain = plot_importances(imp[["attribute", "mean"]]).axes[0]
    assert not any(isinstance(c, ErrorbarContainer) for c in plain.containers)


def test_partworth_distributions_one_panel_per_attribute() -> None:
    pw = _partworths()
    fig = plot_partworth_distributions(pw)
    assert len(fig.axes) == 3  # the empty fourth cell of the 2 x 2 grid is removed
    assert [ax.get_title() for ax in fig.axes] == ["speed", "tv", "price"]
    assert len(fig.axes[0].get_yticklabels()) == 3
    fig2 = plot_partworth_distributions(pw, attributes=["tv"], ncols=3)
    assert len(fig2.axes) == 1
    with pytest.raises(WinbackError, match=r"unknown attribute.*valid: speed, tv, price"):
        plot_partworth_distributions(pw, attributes=["colour"])


def test_price_curves_one_line_and_band_per_product() -> None:
    prices = np.linspace(30, 60, 7)
    frames = []
    for name, slope in (("Ours", -0.01), ("Theirs", -0.008)):
        share = 0.6 + slope * (prices - 30)
        frames.append(
            pd.DataFrame(
                {"product": name, "price": prices, "share": share, "lower": share - 0.02,
                 "upper": share + 0.02, "revenue": share * prices,
                 "revenue_lower": (share - 0.02) * prices, "revenue_upper": (share + 0.02) * prices}
            )
        )  # fmt: skip
    curves = pd.concat(frames, ignore_index=True)
    ax = plot_price_curves(curves, currency="EUR").axes[0]
    assert len(ax.lines) == 2
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    assert ax.get_xlabel() == "price (EUR)"
    rev = plot_price_curves(curves, measure="revenue", products=["Ours"]).axes[0]
    assert len(rev.lines) == 1
    with pytest.raises(WinbackError, match="measure must be"):
        plot_price_curves(curves, measure="profit")


def test_tier_shares_and_posterior_bands() -> None:
    tiers = pd.DataFrame(
        {"tier": ["Good", "Better", "Best"], "price": [45.0, 55.0, 65.0],
         "share": [0.2, 0.24, 0.16], "lower": [0.18, 0.22, 0.14], "upper": [0.22, 0.26, 0.18]}
    )  # fmt: skip
    ax = plot_tier_shares(tiers, currency="EUR").axes[0]
    assert len(ax.patches) == 3
    assert "45.00 EUR" in ax.get_xticklabels()[0].get_text()
    pop = pd.DataFrame(
        {"parameter": ["a", "b", "c"], "mean": [0.5, -0.2, 1.0],
         "lower": [0.3, -0.4, 0.8], "upper": [0.7, 0.0, 1.2]}
    )  # fmt: skip
    fig = plot_posterior_bands(pop)
    assert len(fig.axes) == 1 and len(fig.axes[0].containers) == 1
    with pytest.raises(WinbackError, match="needs the column"):
        plot_posterior_bands(pop.drop(columns="upper"))


def test_figures_save_as_png(tmp_path) -> None:
    fig = plot_importances(pd.DataFrame({"attribute": ["a"], "mean": [100.0]}))
    fig.savefig(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
