"""Scoring every customer x candidate action on every posterior draw: :func:`score_customers`.

For customer ``i``, action ``a`` (an own-product market: offer, tiers, entry menu, today's
offer) and draw ``d``, with ``P_dij`` the customer's logit probability of own product ``j`` of
the action's market (calibrated when a calibration is given: utilities times ``exponent x
s_d``, none plus ``delta_d``) and ``r`` the calibration's availability (1 without):

    p_dia = r sum_j P_dij                                       (probability of returning)
    LTV_ij = m_ij x M                                           (second lifetime value)
    V_dia = r (sum_j P_dij (LTV_ij - incentive_a) - contact_cost)   (expected incremental profit)

``m_ij`` the customer's own monthly margin where the CRM gives one, else the product's
(``[business] margin`` or price minus ``[costs]``); ``M`` the expected months a returning
customer pays within the horizon (``Business.months_retained``). "Do not contact" is 0 on every
draw. Customers who cannot be contacted are not scored (NaN). See ``docs/campaign.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.calibration import CalibratedDraws
from analysis.campaign.customers import Customers
from analysis.campaign.preferences import CustomerPreferences
from analysis.decision import Action
from analysis.money import product_margin
from analysis.offers.objectives import price_of
from analysis.simulator import NONE, Market, Product, encode_products
from winback.errors import ParameterError, WinbackError, list_valid
from winback.settings import BAND, check_band
from winback.study import Business, Study

__all__ = ["DO_NOT_CONTACT", "CampaignScores", "score_customers"]

DO_NOT_CONTACT = "Do not contact"
CHUNK = 1024  # customers per task: fixed, so sums are the same whatever the thread count


@dataclass(frozen=True)
class _Scorer:
    """Everything the kernel needs, prepared once (see ``analysis.campaign._kernels``)."""

    key: np.uint64
    n_samples: int
    who: np.ndarray
    rbeta: np.ndarray
    w: np.ndarray
    base: np.ndarray
    xg: np.ndarray
    xl: np.ndarray
    x: np.ndarray
    con_prev: np.ndarray
    con_sign: np.ndarray
    con_inv: np.ndarray
    xcon: np.ndarray
    gain: np.ndarray
    shift: np.ndarray
    none_row: int
    act_ptr: np.ndarray
    act_rows: np.ndarray
    own_ptr: np.ndarray
    own_rows: np.ndarray
    own_margin: np.ndarray
    act_inc: np.ndarray
    cust_margin: np.ndarray
    months: float
    reach: float
    contact: float
    exponent: float = 1.0  # the markets' exponent: the stated gain (uncalibrated)

    def run(
        self,
        every: bool,
        chosen: np.ndarray,
        group: np.ndarray,
        n_groups: int,
        reduce: Callable[[int, np.ndarray, np.ndarray], object] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[object]]:
        """Score every customer in chunks (threads over chunks). ``every``: all actions, the
        sums over draws per customer and action and the totals per action and draw; otherwise
        each customer's ``chosen`` action, the totals per ``group`` and draw, and ``reduce(n0,
        draw_p, draw_v)`` of every chunk's draws (e.g. per-customer bands)."""
        # lazy: numba (about 0.4 s to import) loads when customers are scored
        import numba

        from analysis.campaign._kernels import score_chunk

        n = len(self.who)
        n_act = len(self.act_ptr) - 1
        s = self.n_samples
        spans = [(a, min(a + CHUNK, n)) for a in range(0, n, CHUNK)]

        def one(
            span: tuple[int, int],
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, object]:
            n0, n1 = span
            m = n1 - n0
            sum_p = np.zeros((m, n_act) if every else (0, n_act))
            sum_v = np.zeros_like(sum_p)
            rows = n_act if every else n_groups
            tot_p = np.zeros((rows, s))
            tot_v = np.zeros((rows, s))
            draw_p = np.zeros((0, s) if every else (m, s))
            draw_v = np.zeros_like(draw_p)
            score_chunk(
                n0, n1, self.key, s, self.who, self.rbeta, self.w, self.base, self.xg,
                self.xl, self.x, self.con_prev, self.con_sign, self.con_inv, self.xcon,
                self.gain, self.shift, self.none_row, self.act_ptr, self.act_rows,
                self.own_ptr, self.own_rows, self.own_margin, self.act_inc, self.cust_margin,
                self.months, self.reach, self.contact, every, chosen, group, sum_p, sum_v,
                tot_p, tot_v, draw_p, draw_v,
            )  # fmt: skip
            extra = None if reduce is None or every else reduce(n0, draw_p, draw_v)
            return sum_p, sum_v, tot_p, tot_v, extra

        threads = max(1, min(numba.get_num_threads(), len(spans)))
        if threads == 1:
            parts = [one(sp) for sp in spans]
        else:
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(one, spans))
        sum_p = np.concatenate([p[0] for p in parts]) if every else np.zeros((0, n_act))
        sum_v = np.concatenate([p[1] for p in parts]) if every else np.zeros((0, n_act))
        tot_p = np.zeros_like(parts[0][2])
        tot_v = np.zeros_like(parts[0][3])
        for p in parts:  # in chunk order: the same sums on any number of threads
            tot_p += p[2]
            tot_v += p[3]
        return sum_p, sum_v, tot_p, tot_v, [p[4] for p in parts]


@dataclass(frozen=True)
class CampaignScores:
    """Every customer x candidate action, scored on every posterior draw.

    Attributes
    ----------
    actions : tuple of str
        Action names, "Do not contact" last.
    kinds : tuple of str
        Their kinds (``offer``, ``tiers``, ``entry``, ``keep``, ``no campaign``).
    descriptions : tuple of str
    customers : Customers
    p_return : ndarray (customer, action)
        Probability of returning (posterior mean over the draws; NaN for customers who cannot
        be contacted).
    profit : ndarray (customer, action)
        Expected incremental profit (mean over the draws; NaN for customers who cannot be
        contacted; 0 for "Do not contact").
    ltv : ndarray (customer, action)
        Second lifetime value of a customer won back by the action (margin x months retained;
        the probability-weighted mean over the action's own products).
    incentive : ndarray (action,)
        Incentive per customer won back.
    contact_cost : float
        Per contact (times the availability: paid for customers reached).
    total_p, total_profit : ndarray (sample, action)
        If every contactable customer got the action: customers won back and profit, per draw.
    basis : {"calibrated", "stated"}
    band : float
    products : tuple of tuple of str
        Each action's own products.
    levels : tuple of str
        Each action's own products and their levels as JSON text (:func:`levels_json`; ``""``
        for "Do not contact").
    prices : ndarray (action,)
        The monthly price of an action that offers one product (NaN for a menu of several,
        for "Do not contact" and without a price attribute).
    """

    actions: tuple[str, ...]
    kinds: tuple[str, ...]
    descriptions: tuple[str, ...]
    customers: Customers = field(repr=False)
    p_return: np.ndarray = field(repr=False)
    profit: np.ndarray = field(repr=False)
    ltv: np.ndarray = field(repr=False)
    incentive: np.ndarray = field(repr=False)
    contact_cost: float
    total_p: np.ndarray = field(repr=False)
    total_profit: np.ndarray = field(repr=False)
    basis: str
    band: float = BAND
    products: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    scorer: _Scorer | None = field(default=None, repr=False)
    levels: tuple[str, ...] = field(default=(), repr=False)
    prices: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def n_customers(self) -> int:
        return int(self.p_return.shape[0])

    @property
    def expected_incentive(self) -> np.ndarray:
        """Expected incentive paid (customer, action): incentive x probability of returning."""
        return self.p_return * self.incentive[None, :]

    def table(self) -> pd.DataFrame:
        """Long table: ``customer_id, action, p_return, ltv, profit`` for every customer and
        action."""
        n, a = self.p_return.shape
        return pd.DataFrame(
            {
                "customer_id": np.repeat(np.asarray(self.customers.ids, dtype=object), a),
                "action": np.tile(np.asarray(self.actions, dtype=object), n),
                "p_return": self.p_return.ravel(),
                "ltv": self.ltv.ravel(),
                "profit": self.profit.ravel(),
            }
        )

    def everyone(self, *, band: float | None = None) -> pd.DataFrame:
        """What each action would give if every contactable customer got it: ``action,
        customers, customers_lower, customers_upper, profit, profit_lower, profit_upper``."""
        band = check_band(self.band if band is None else band)
        lo = (1.0 - band) / 2.0
        rows = []
        for j, name in enumerate(self.actions):
            row: dict[str, object] = {"action": name, "kind": self.kinds[j]}
            for key, x in (("customers", self.total_p[:, j]), ("profit", self.total_profit[:, j])):
                row[key] = float(x.mean())
                row[f"{key}_lower"] = float(np.quantile(x, lo))
                row[f"{key}_upper"] = float(np.quantile(x, 1.0 - lo))
            rows.append(row)
        return pd.DataFrame(rows).sort_values("profit", ascending=False, kind="stable")

    def __repr__(self) -> str:
        n_ok = int(self.customers.contactable.sum())
        return (
            f"CampaignScores ({self.basis}): {self.n_customers:,} customers "
            f"({n_ok:,} contactable) x {len(self.actions)} actions "
            f"({', '.join(self.actions)}); next: analysis.campaign.plan_campaign(scores)"
        )


def levels_json(study: Study, products: Sequence[Product]) -> str:
    """Products and their levels in machine form: JSON text ``{"<product>": {"<attribute>":
    level, ...}, ...}`` in the study's attribute order, numbers as numbers, labels as text."""

    def plain(v: object) -> object:
        if isinstance(v, bool | np.bool_):
            return bool(v)
        if isinstance(v, int | np.integer):
            return int(v)
        if isinstance(v, float | np.floating):
            return float(v)
        return str(v)

    return json.dumps(
        {p.name: {a: plain(p.levels[a]) for a in study.attribute_names} for p in products},
        ensure_ascii=False,
    )


def _market_rows(prefs: CustomerPreferences, market: Market) -> tuple[np.ndarray, list[int], bool]:
    """Design rows of the market's alternatives (products, then none), which are own."""
    x, _ = encode_products(prefs.study, market.products, extrapolate=market.extrapolate)
    own = [j for j, p in enumerate(market.products) if p.own]
    if market.none:
        names = list(prefs.names)
        if NONE not in names:
            raise WinbackError("the market includes none, but the model has no none constant.")
        row = np.zeros((1, x.shape[1]))
        row[0, names.index(NONE)] = 1.0
        x = np.vstack([x, row])
    return x, own, market.none


def _upper_rows(prefs: CustomerPreferences, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``base, xg, xl`` (rows of theta per draw) and the constrained columns' arrays."""
    r, k = x.shape
    s = prefs.n_samples
    up = prefs.upper
    if up is None:
        return (
            np.zeros((r, s)), np.zeros((r, 0, s)), np.zeros((r, k, s)),
            np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros((r, 0)),
        )  # fmt: skip
    if up.n_samples != s:
        raise WinbackError(f"upper level has {up.n_samples} draws, the respondents' {s}.")
    con_cols: list[int] = []
    prev: list[int] = []
    sign: list[float] = []
    for idx, kind in up.constraints:
        for t, col in enumerate(idx):
            ordered = kind in ("increasing", "decreasing")
            prev.append(len(con_cols) - 1 if ordered and t > 0 else -1)
            sign.append(-1.0 if kind in ("negative", "decreasing") else 1.0)
            con_cols.append(col)
    unc = [c for c in range(k) if c not in set(con_cols)]
    xs = x[:, unc] / up.scale[unc]
    base = xs @ up.mu[:, unc].T  # (row, sample)
    xg = np.einsum("rk,sck->rcs", xs, up.gamma[:, :, unc])
    xl = np.einsum("rk,skq->rqs", xs, up.chol[:, unc, :])
    if con_cols:
        base = np.concatenate([base, up.mu[:, con_cols].T])
        xg = np.concatenate([xg, np.transpose(up.gamma[:, :, con_cols], (2, 1, 0))])
        xl = np.concatenate([xl, np.transpose(up.chol[:, con_cols, :], (1, 2, 0))])
    return (
        np.ascontiguousarray(base),
        np.ascontiguousarray(xg),
        np.ascontiguousarray(xl),
        np.asarray(prev, dtype=np.int64),
        np.asarray(sign),
        1.0 / up.scale[con_cols] if con_cols else np.zeros(0),
        np.ascontiguousarray(x[:, con_cols]),
    )


def score_customers(
    prefs: CustomerPreferences,
    customers: Customers,
    actions: Sequence[Action],
    business: Business,
    *,
    calibration: CalibratedDraws | None = None,
    incentives: Mapping[str, float] | None = None,
    band: float = BAND,
) -> CampaignScores:
    """Score every customer x candidate action on every posterior draw.

    Parameters
    ----------
    prefs : CustomerPreferences
        :func:`customer_preferences` (or :meth:`CustomerPreferences.from_draws`).
    customers : Customers
        The same CRM list (margins, who may be contacted).
    actions : sequence of Action
        The candidates (:mod:`analysis.decision`: offers, tiers, entry menu, today's offer),
        each an own-product market with the logit rule; "Do not contact" is added (a
        ``no_campaign_action`` is taken as it).
    business : Business
        ``study.business``: months retained, incentive, contact cost, margins.
    calibration : CalibratedDraws, optional
        :func:`analysis.calibrate`, fitted on the same draws as ``prefs``: every utility times
        its scale (and the calibration market's exponent), none shifted, the availability
        applied to returns and contact costs. Without it: stated preference.
    incentives : mapping, optional
        Incentive per customer won back by action name (default ``business.incentive``).
    band : float

    Returns
    -------
    CampaignScores

    Examples
    --------
    >>> scores = score_customers(prefs, customers, actions, study.business,
    ...                          calibration=cal)  # doctest: +SKIP
    >>> scores.everyone()  # doctest: +SKIP
    """
    band = check_band(band)
    if prefs.customer_ids != customers.ids:
        raise WinbackError(
            "the preferences were made for another customer list (ids differ); make them with "
            "customer_preferences(model, customers) for this list."
        )
    if prefs.upper is None and (prefs.who < 0).any():
        raise WinbackError(
            f"{int((prefs.who < 0).sum())} customers have no part-worth draws and there is no "
            "upper-level model to predict them: make the preferences with "
            "customer_preferences(model, customers)."
        )
    acts = [a for a in actions if a.market is not None]
    names = [a.name for a in acts]
    if len(set(names)) != len(names) or DO_NOT_CONTACT in names:
        raise ParameterError(f"action names must be unique and not '{DO_NOT_CONTACT}': {names}.")
    if not acts:
        raise ParameterError("no action with a market to score (only 'do not contact').")
    inc_map = dict(incentives or {})
    unknown = sorted(set(inc_map) - set(names))
    if unknown:
        raise ParameterError(
            f"incentives for unknown actions {list_valid(unknown)}; actions: {list_valid(names)}."
        )
    rows: dict[bytes, int] = {}
    x_rows: list[np.ndarray] = []
    act_rows: list[list[int]] = []
    own_rows: list[list[int]] = []
    own_margin: list[float] = []
    none_rows: set[int] = set()
    products: list[tuple[str, ...]] = []
    levels: list[str] = []
    prices: list[float] = []
    exponents = set()
    for a in acts:
        assert a.market is not None
        if a.market.rule != "logit":
            raise ParameterError(
                f"action '{a.name}': its market's rule is {a.market.rule!r}; a customer's "
                'probability of returning is a logit probability: use rule = "logit".'
            )
        if calibration is not None and not a.market.none:
            raise WinbackError(
                f"action '{a.name}': its market has no none alternative; a calibration shifts "
                "none, so every market must include it (none = true)."
            )
        exponents.add(a.market.exponent)
        x, own, has_none = _market_rows(prefs, a.market)
        if not own:
            raise WinbackError(f"action '{a.name}': no own product in its market (own = true).")
        idx = []
        for j, row in enumerate(x):
            key = np.round(row, 12).tobytes()
            if key not in rows:
                rows[key] = len(x_rows)
                x_rows.append(row)
            idx.append(rows[key])
            if has_none and j == len(x) - 1:
                none_rows.add(rows[key])
        act_rows.append(idx)
        own_rows.append([idx[j] for j in own])
        for j in own:
            own_margin.append(product_margin(prefs.study, business, a.market.products[j]))
        products.append(tuple(a.market.products[j].name for j in own))
        levels.append(levels_json(prefs.study, [a.market.products[j] for j in own]))
        one = len(own) == 1
        prices.append(price_of(prefs.study, a.market.products[own[0]]) if one else np.nan)
    if len(exponents) > 1 and calibration is None:
        raise ParameterError(
            f"the actions' markets have different exponents {sorted(exponents)}; use one."
        )
    x = np.asarray(x_rows)
    s = prefs.n_samples
    if calibration is not None:
        if len(calibration.scale) != s:
            raise WinbackError(
                f"the calibration was fitted on {len(calibration.scale)} draws, the customers' "
                f"preferences have {s}: fit it on the same draws "
                "(PartWorthDraws.from_model(model, n_draws) with the same n_draws)."
            )
        gain = calibration.exponent * np.asarray(calibration.scale, dtype=float)
        shift = np.asarray(calibration.shift, dtype=float)
        reach = float(calibration.calibration.availability)
    else:
        gain = np.full(s, float(next(iter(exponents))))
        shift = np.zeros(s)
        reach = 1.0
    base, xg, xl, con_prev, con_sign, con_inv, xcon = _upper_rows(prefs, x)
    inc = np.array([float(inc_map.get(n, business.incentive)) for n in names])
    scorer = _Scorer(
        key=prefs.key,
        n_samples=s,
        who=np.ascontiguousarray(prefs.who, dtype=np.int64),
        rbeta=np.ascontiguousarray(prefs.respondent_beta, dtype=float),
        w=np.ascontiguousarray(prefs.covariates, dtype=float).reshape(prefs.n_customers, -1),
        base=base,
        xg=xg,
        xl=xl,
        x=np.ascontiguousarray(x),
        con_prev=con_prev,
        con_sign=con_sign,
        con_inv=np.asarray(con_inv, dtype=float),
        xcon=xcon,
        gain=np.ascontiguousarray(gain),
        shift=np.ascontiguousarray(shift),
        none_row=next(iter(none_rows)) if none_rows else -1,
        act_ptr=np.cumsum([0, *(len(r) for r in act_rows)]).astype(np.int64),
        act_rows=np.asarray([i for r in act_rows for i in r], dtype=np.int64),
        own_ptr=np.cumsum([0, *(len(r) for r in own_rows)]).astype(np.int64),
        own_rows=np.asarray([i for r in own_rows for i in r], dtype=np.int64),
        own_margin=np.asarray(own_margin, dtype=float),
        act_inc=inc,
        cust_margin=np.asarray(customers.margin, dtype=float),
        months=float(business.months_retained),
        reach=reach,
        contact=float(business.contact_cost),
        exponent=float(calibration.exponent if calibration is not None else next(iter(exponents))),
    )
    if len(none_rows) > 1:  # pragma: no cover - one none row by construction
        raise WinbackError("more than one none row.")
    ok = np.asarray(customers.contactable, dtype=bool)
    chosen = np.where(ok, -2, -1).astype(np.int64)
    sum_p, sum_v, tot_p, tot_v, _ = scorer.run(True, chosen, np.zeros(len(ok), np.int64), 1)
    n_act = len(acts)
    p = np.full((len(ok), n_act + 1), np.nan)
    v = np.full((len(ok), n_act + 1), np.nan)
    p[:, :n_act] = np.where(ok[:, None], sum_p / s, np.nan)
    v[:, :n_act] = np.where(ok[:, None], sum_v / s, np.nan)
    p[:, n_act] = 0.0
    v[:, n_act] = 0.0
    inc_all = np.append(inc, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # E[V] = r (E[sum_j P_j LTV_j] - inc E[sum_j P_j] - c): the P-weighted LTV
        ltv = (v + reach * scorer.contact) / p + inc_all[None, :]
    ltv[:, n_act] = np.nan
    total_p = np.zeros((s, n_act + 1))
    total_v = np.zeros((s, n_act + 1))
    total_p[:, :n_act] = tot_p.T
    total_v[:, :n_act] = tot_v.T
    return CampaignScores(
        actions=(*names, DO_NOT_CONTACT),
        kinds=(*(a.kind for a in acts), "no campaign"),
        descriptions=(*(a.description for a in acts), "contact nobody"),
        customers=customers,
        p_return=p,
        profit=v,
        ltv=ltv,
        incentive=inc_all,
        contact_cost=scorer.contact * reach,
        total_p=total_p,
        total_profit=total_v,
        basis="calibrated" if calibration is not None else "stated",
        band=band,
        products=(*products, ()),
        scorer=scorer,
        levels=(*levels, ""),
        prices=np.array([*prices, np.nan], dtype=float),
    )
