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

__all__ = ["money_draws", "money_table", "product_margin"]


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


def money_draws(
    share_draws: np.ndarray,
    products: Sequence[Product],
    study: Study,
    business: Business,
    *,
    reach: float = 1.0,
) -> dict[str, dict[str, np.ndarray]]:
    """Customers won back, revenue and profit on every draw, per own product and ``total``.

    Same arguments as :func:`money_table`. Returns ``{product: {"customers", "revenue_year",
    "profit_year", "profit_horizon"}}``, each an array over the draws; contact costs are
    charged to ``total`` only.
    """
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
    zeros = np.zeros(s.shape[0])
    out: dict[str, dict[str, np.ndarray]] = {}
    total = {"customers": zeros, "revenue": zeros, "gross": zeros}
    for j in own:
        p = products[j]
        cust = n_lost * s[:, j]
        price = price_of(study, p)
        margin = product_margin(study, business, p)
        rev = cust * (0.0 if np.isnan(price) else price) * months
        gross = cust * (margin * months - business.incentive)
        out[p.name] = {
            "customers": cust,
            "revenue_year": rev * per_year,
            "profit_year": gross * per_year,
            "profit_horizon": gross,
        }
        total = {
            "customers": total["customers"] + cust,
            "revenue": total["revenue"] + rev,
            "gross": total["gross"] + gross,
        }
    profit = total["gross"] - contact  # contact costs are the campaign's: the total only
    out["total"] = {
        "customers": total["customers"],
        "revenue_year": total["revenue"] * per_year,
        "profit_year": profit * per_year,
        "profit_horizon": profit,
    }
    return out


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
    lo = (1.0 - band) / 2.0
    rows = []
    for name, figs in money_draws(share_draws, products, study, business, reach=reach).items():
        row: dict[str, float | str] = {"product": name}
        for key, x in figs.items():
            row[key] = float(x.mean())
            row[f"{key}_lower"] = float(np.quantile(x, lo))
            row[f"{key}_upper"] = float(np.quantile(x, 1.0 - lo))
        rows.append(row)
    return pd.DataFrame(rows)
