"""What sets latent classes apart: class importances with bands and the mix of classes by a
respondent answer (analysis.latent_summary)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.latent_summary import class_importances, class_profile
from winback.errors import WinbackError


@pytest.fixture(scope="module")
def two_classes(example_fit):
    from analysis import fit_latent_class

    model, _, _ = example_fit
    return fit_latent_class(model.dataset_, 2, starts=4, random_seed=3)


def test_class_importances_add_to_100_with_the_point_inside_its_band(two_classes) -> None:
    imp = class_importances(two_classes, band=0.9, n_draws=500)
    totals = imp.groupby("class")["importance"].sum()
    assert np.allclose(totals, 100.0), totals.to_dict()
    inside = (imp["lower"] <= imp["importance"] + 1e-9) & (imp["importance"] <= imp["upper"] + 1e-9)
    assert inside.mean() >= 0.85, imp[~inside]
    assert set(imp["label"]) == set(two_classes.readable_labels)
    # the price attribute's importance follows the price slope's size: larger where steeper
    price = imp[imp["attribute"] == "price"].set_index("class")["importance"]
    slope = dict(
        zip(
            two_classes.class_labels,
            np.abs(two_classes.coef[:, two_classes.names.index("price")]),
            strict=True,
        )
    )
    steep = max(slope, key=slope.get)
    assert price[steep] == price.max() or abs(slope[steep] - min(slope.values())) < 0.01, (
        price,
        slope,
    )


def test_class_profile_rows_add_to_one_and_all_is_the_class_sizes(two_classes) -> None:
    prof = class_profile(two_classes, "main_reason")
    labels = two_classes.readable_labels
    assert np.allclose(prof[labels].sum(axis=1), 1.0), prof
    total = prof[prof["value"] == "all"].iloc[0]
    assert total["respondents"] == two_classes.n_respondents
    # at the EM's fixed point the mean posterior membership is the class share
    got = total[labels].to_numpy(dtype=float)
    assert np.allclose(got, two_classes.shares, atol=2e-3), (got, two_classes.shares)
    with pytest.raises(WinbackError, match="no respondent column 'nope'"):
        class_profile(two_classes, "nope")
