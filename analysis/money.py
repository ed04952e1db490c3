"""Customers and money from share draws: what an offer means under the ``[business]`` settings.

For every posterior draw ``d`` and own product ``j`` with share ``p_dj`` among the lost customers
in scope (``N = lost_customers``; calibrated shares already carry the availability):

- customers won back ``C_dj = N p_dj``;
- revenue over the horizon ``R_dj = C_dj x price_j x M``, with ``M`` the expected months a
  returning customer pays within the horizon (``Business.months_retained``);
- profit over the horizon
  ``P_dj = C_dj x (margin_j x M - incentive) - contact_cost x N x reach``,
  with ``margin_j`` from ``[business] margin`` or price minus the study's ``[costs]``, and the
  contact cost paid for every customer reached (``reach``: the availability, 1 without
  calibration);
- per year: the horizon figures times ``12 / horizon_months``.

Each figure is reported as its posterior mean with a band over the draws. See
``docs/decision.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.offers.objectives import price_of, unit_cost
from analysis.simulator import Product
from winback.errors import WinbackError
from winback.settings import BAND, check_band
from winback.study import Business, Study

__all__ = ["money_table", "product_margin"]


def product_margin(study: Study, business: Business, product: Product) -> float:
    """Monthly margin of a product: ``[business] margin`` if named there, else its price minus
    the study's ``[costs]`` (an error naming both ways when neither is there)."""
    given = business.margin_of(product.name)
    if given is not None:
        return given
    price = price_of(study, product)
    cost = unit_cost(study, product.levels)
    if np.isnan(price) or np.isnan(cost):
        raise WinbackError(
            f"no monthly margin for '{product.name}': give it in [business] margin "
            f'(margin = {{ "{product.name}" = 25.0 }}) or give the study [costs] and a price '
            "attribute (margin = price - cost)."
        )
    return price - cost


def money_table(
    share_draws: np.ndarray,
    products: Sequence[Product],
    study: Study,
    business: Business,
    *,
    reach: float = 1.0,
    band: float = BAND,
) -> pd.DataFrame:
    """Customers won back, revenue and profit per own product and in total, with bands.

    Parameters
    ----------
    share_draws : ndarray (sample, alternative)
        Shares of ``products`` (then none, if present) among the lost customers in scope, per
        draw: calibrated (:meth:`analysis.CalibratedDraws.share_draws`) or stated
        (``Simulation.share_draws``).
    products : sequence of Product
        The market's products, in the order of the share columns.
    study, business
        The study (prices, ``[costs]``) and its ``[business]`` settings.
    reach : float
        Share of the lost customers the offer reaches (contact costs are paid for them).
    band : float
        Probability of the bands.

    Returns
    -------
    DataFrame
        One row per own product and a ``total`` row: ``product``, then for each of
        ``customers``, ``revenue_year``, ``profit_year``, ``profit_horizon`` its mean and
        ``_lower`` / ``_upper``.
    """
    band = check_band(band)
    s = np.asarray(share_draws, dtype=float)
    if s.ndim != 2 or s.shape[1] < len(products):
        raise WinbackError(
            f"share draws need shape (sample, {len(products)}+ alternatives), got {s.shape}."
        )
    own = [j for j, p in enumerate(products) if p.own]
    if not own:
        raise WinbackError("no own product in the market (own = true): nothing to win back with.")
    n_lost = business.lost_customers
    months = business.months_retained
    per_year = 12.0 / business.horizon_months
    contact = business.contact_cost * n_lost * reach
    rows = {}
    cust_total = np.zeros(s.shape[0])
    rev_total = np.zeros(s.shape[0])
    gross_total = np.zeros(s.shape[0])
    for j in own:
        p = products[j]
        cust = n_lost * s[:, j]
        price = price_of(study, p)
        margin = product_margin(study, business, p)
        rev = cust * (0.0 if np.isnan(price) else price) * months
        gross = cust * (margin * months - business.incentive)
        rows[p.name] = (cust, rev, gross)
        cust_total += cust
        rev_total += rev
        gross_total += gross
    rows["total"] = (cust_total, rev_total, gross_total)
    lo = (1.0 - band) / 2.0

    def summary(name: str, x: np.ndarray) -> dict[str, float]:
        return {
            name: float(x.mean()),
            f"{name}_lower": float(np.quantile(x, lo)),
            f"{name}_upper": float(np.quantile(x, 1.0 - lo)),
        }

    out = []
    for name, (cust, rev, gross) in rows.items():
        # contact costs are the campaign's: charged to the total only
        profit = gross - (contact if name == "total" else 0.0)
        out.append(
            {
                "product": name,
                **summary("customers", cust),
                **summary("revenue_year", rev * per_year),
                **summary("profit_year", profit * per_year),
                **summary("profit_horizon", profit),
            }
        )
    return pd.DataFrame(out)
