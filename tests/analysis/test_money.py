"""Customers and money from share draws under [business] (issue 16, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.money import money_table
from analysis.simulator import Product
from tests.conftest import SMALL_STUDY, make_study
from winback.errors import WinbackError
from winback.study import Business

STUDY = make_study(SMALL_STUDY)  # [costs]: base 12, Standard +6, Premium +14
OURS = Product("Ours", {"plan": "Standard", "speed": "500 Mbps", "support": "Standard",
                        "price": 40.0}, own=True)  # fmt: skip
LITE = Product("Lite", {"plan": "Basic", "speed": "100 Mbps", "support": "Standard",
                        "price": 30.0}, own=True)  # fmt: skip
THEIRS = Product("Theirs", {"plan": "Premium", "speed": "1 Gbps", "support": "Priority",
                            "price": 55.0})  # fmt: skip
BUSINESS = Business(
    lost_customers=1000, horizon_months=12, retention_months=20, contact_cost=1.5, incentive=10,
    margin=(("Ours", 31.0),),
)  # fmt: skip


def test_money_by_hand() -> None:
    draws = np.array([[0.20, 0.05, 0.10, 0.65], [0.30, 0.05, 0.10, 0.55]])
    t = money_table(draws, [OURS, LITE, THEIRS], STUDY, BUSINESS, band=0.5).set_index("product")
    months = (1 - 0.95**12) / 0.05  # 9.1928 months paid within the year, 20 months' retention
    assert t.loc["Ours", "customers"] == pytest.approx(250.0), t.loc["Ours"]
    # Ours: [business] margin 31 a month; Lite: price 30 - [costs] 12 = 18 a month
    ours = 250 * (31 * months - 10)
    lite = 50 * (18 * months - 10)
    assert t.loc["Ours", "profit_year"] == pytest.approx(ours), (
        f"{t.loc['Ours', 'profit_year']} != {ours}"
    )
    assert t.loc["Lite", "profit_year"] == pytest.approx(lite)
    total = ours + lite - 1.5 * 1000  # contact costs for everyone reached, charged to the total
    assert t.loc["total", "profit_year"] == pytest.approx(total), (
        f"{t.loc['total', 'profit_year']} != {total}"
    )
    assert t.loc["total", "revenue_year"] == pytest.approx(250 * 40 * months + 50 * 30 * months)
    assert t.loc["total", "customers"] == pytest.approx(300.0)
    # band 0.5 over two draws: the 25% and 75% quantiles (linear): 225 and 275 customers of Ours
    assert (t.loc["Ours", "customers_lower"], t.loc["Ours", "customers_upper"]) == pytest.approx(
        (225, 275)
    )
    assert "Theirs" not in t.index, "competitors' customers are not ours"


def test_horizon_and_reach() -> None:
    two_years = Business(
        lost_customers=1000, horizon_months=24, retention_months=20, contact_cost=2
    )
    draws = np.array([[0.2, 0.0, 0.1, 0.7]])
    t = money_table(draws, [OURS, LITE, THEIRS], STUDY, two_years, reach=0.5).set_index("product")
    months = (1 - 0.95**24) / 0.05
    margin = 40 - 18  # price minus [costs] 12 + 6
    per_year = (200 * margin * months - 2 * 1000 * 0.5) * 12 / 24
    assert t.loc["total", "profit_year"] == pytest.approx(per_year)
    assert t.loc["total", "profit_horizon"] == pytest.approx(per_year * 2)


def test_money_errors_name_the_fix() -> None:
    no_costs = make_study(SMALL_STUDY.split("[costs]")[0])
    with pytest.raises(
        WinbackError, match=r"no monthly margin for 'Lite': give it in \[business\] margin"
    ):
        money_table(np.array([[0.2, 0.1, 0.1, 0.6]]), [OURS, LITE, THEIRS], no_costs, BUSINESS)
    with pytest.raises(WinbackError, match="no own product"):
        money_table(np.array([[0.2, 0.8]]), [THEIRS], STUDY, BUSINESS)
