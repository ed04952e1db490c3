"""From preferences to a campaign (issue 18): a preference for every customer, scoring every
customer x action on every draw, allocation within limits with a bound, a stratified control
group, and, on a simulated CRM population whose real behaviour differs from what it states,
targeting that earns nearly what an oracle earns and more than any single offer."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numba
import numpy as np
import pandas as pd
import pytest

from analysis.calibration import CalibratedDraws
from analysis.campaign import (
    DO_NOT_CONTACT,
    CustomerPreferences,
    UpperLevel,
    allocate,
    control_group,
    customer_preferences,
    plan_campaign,
    read_customers,
    score_customers,
)
from analysis.campaign import scoring as scoring_module
from analysis.campaign.preferences import customer_covariates
from analysis.money import product_margin
from analysis.simulator import PartWorthDraws, encode_products
from conjoint.encoding import parameter_names
from winback.errors import ParameterError, WinbackError
from winback.example import TRUE_MEANS, make_example_study
from winback.example_crm import example_campaign_actions, example_market
from winback.study import Business, Calibration

STUDY = make_example_study().study
NAMES = parameter_names(STUDY)
K = len(NAMES)
MARKET = example_market(STUDY)
ACTIONS = example_campaign_actions(STUDY, MARKET)
BUSINESS = Business(
    lost_customers=1000, horizon_months=12, retention_months=18.0, contact_cost=1.2,
    incentive=25.0,
)  # fmt: skip
MEAN = np.array([TRUE_MEANS[n] for n in NAMES])
SD = np.array([0.03 if n == "price" else 1.0 if n == "none" else 0.5 for n in NAMES])


def _customers(n: int, seed: int = 1, **extra: object) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "tenure_years": np.round(rng.uniform(0.5, 8.0, n), 1),
            "main_reason": rng.choice(["moved", "outages", "price_rise"], n),
        }
    )
    for k, v in extra.items():
        frame[k] = v
    return frame


def _upper(n_draws: int = 1, *, seed: int = 0, constrained: bool = False) -> UpperLevel:
    """A known upper level: price more negative for price leavers, none falling with tenure;
    with ``n_draws`` > 1 the population mean varies over the draws (posterior uncertainty)."""
    rng = np.random.default_rng(seed)
    gamma = np.zeros((2, K))
    gamma[0, NAMES.index("none")] = -0.3  # per year of tenure
    gamma[1, NAMES.index("price")] = -0.05  # left over a price rise
    cov = np.diag(SD**2)
    up = UpperLevel.from_values(
        STUDY,
        MEAN,
        cov,
        gamma=gamma,
        covariate_names=["tenure_years", "main_reason[price_rise]"],
        covariate_means=[4.0, 0.3],
        covariate_levels={"main_reason": ("moved", "outages", "price_rise")},
        n_draws=n_draws,
    )
    mu = up.mu + rng.normal(0.0, 0.1, up.mu.shape) * (n_draws > 1)
    if not constrained:
        return UpperLevel(up.names, mu, up.chol, up.gamma, up.scale, (), *_cov_fields(up))
    # theta space with column scales; price = -exp(theta), speed levels ordered
    scale = rng.uniform(0.5, 2.0, K)
    price, speed = (
        NAMES.index("price"),
        [NAMES.index("speed[300 Mbps]"), NAMES.index("speed[1 Gbps]")],
    )
    mu = mu * scale
    mu[:, price] = math.log(0.09 * scale[price])
    mu[:, speed] = [-0.2, -0.6]
    chol = up.chol * scale[None, :, None]
    chol[:, price, :] = 0.0
    chol[:, price, price] = 0.3
    cons = (((price,), "negative"), (tuple(speed), "increasing"))
    return UpperLevel(up.names, mu, chol, up.gamma * scale, scale, cons, *_cov_fields(up))


def _cov_fields(up: UpperLevel) -> tuple:
    return up.covariate_names, up.covariate_means, up.covariate_levels


def _prefs(customers, upper: UpperLevel, respondents: np.ndarray | None = None, seed: int = 3):
    """Predicted customers, and (``respondents``: (sample, r, K)) the first r with own draws."""
    n = customers.n_customers
    who = np.full(n, -1, dtype=np.int64)
    rb = np.zeros((upper.n_samples, 0, K))
    if respondents is not None:
        who[: respondents.shape[1]] = np.arange(respondents.shape[1])
        rb = respondents
    return CustomerPreferences(
        STUDY,
        tuple(NAMES),
        customers.ids,
        who,
        rb,
        upper,
        customer_covariates(upper, customers),
        seed,
    )


def _reference(prefs, customers, actions, business, gain, shift, reach, incentives=None):
    """Scoring in plain NumPy from the materialised part-worths: (sample, customer, action)."""
    beta = prefs.beta()
    months = business.months_retained
    p_out, v_out = [], []
    for a in actions:
        x, _ = encode_products(STUDY, a.market.products)
        none = np.zeros((1, K))
        none[0, NAMES.index("none")] = 1.0
        u = beta @ np.vstack([x, none]).T * gain[:, None, None]
        u[..., -1] += shift[:, None]
        u -= u.max(axis=2, keepdims=True)
        prob = np.exp(u)
        prob /= prob.sum(axis=2, keepdims=True)
        inc = (incentives or {}).get(a.name, business.incentive)
        p = np.zeros(prob.shape[:2])
        v = np.zeros(prob.shape[:2])
        for j, prod in enumerate(a.market.products):
            if prod.own:
                m = np.where(
                    np.isnan(customers.margin),
                    product_margin(STUDY, business, prod),
                    customers.margin,
                )
                p += prob[..., j]
                v += prob[..., j] * (m * months - inc)
        p_out.append(reach * p)
        v_out.append(reach * (v - business.contact_cost))
    return np.stack(p_out, axis=2), np.stack(v_out, axis=2)


# -- the customer list ---------------------------------------------------------------------------


def test_a_bad_customer_list_gets_every_problem_with_file_column_and_row(tmp_path):
    frame = _customers(8)
    frame.loc[2, "customer_id"] = ""
    frame.loc[5, "customer_id"] = "c4"
    frame["monthly_margin"] = ["12.5", "", "cheap", "", "", "", "", ""]
    frame["contact_consent"] = ["1", "0", "1", "maybe", "1", "1", "", "1"]
    with pytest.raises(WinbackError) as err:
        read_customers(frame, name="lost_customers.csv", segment="reason")
    msg = str(err.value)
    for part in (
        "lost_customers.csv: ",
        "empty 'customer_id' in 1 row(s): row 4",
        "'customer_id' repeated in 2 row(s): row 6 ('c4'), row 7 ('c4')",
        "'monthly_margin' is not a number in 1 row(s): row 4 ('cheap')",
        "'contact_consent' must be 0 or 1 (or true/false, yes/no) in 1 row(s): row 5 ('maybe')",
        "no segment column 'reason'",
    ):
        assert part in msg, f"{part!r} not in {msg!r}"
    ok = read_customers(
        _customers(4, contact_consent=["1", "0", "", "1"], do_not_contact=[0, 0, 0, 1]),
        segment="main_reason",
    )
    # from a file: its lines, as an editor counts them
    path = tmp_path / "lost_customers.csv"
    path.write_text("customer_id,main_reason\nc1,moved\nc2,\n\nc1,outages\n", encoding="utf-8")
    with pytest.raises(WinbackError) as err:
        read_customers(path, segment="main_reason")
    msg = str(err.value)
    assert msg.startswith(
        "lost_customers.csv: 'customer_id' repeated in 2 row(s): row 2 ('c1'), "
        "row 5 ('c1'); blank segment 'main_reason' in 1 row(s): row 3"
    ), msg
    assert ok.contactable.tolist() == [True, False, False, False], ok.contactable
    assert ok.why_not == ("", "no contact consent", "no contact consent", "do-not-contact flag")


def test_covariates_the_fit_used_must_be_in_the_list_and_known():
    up = _upper()
    bad = _customers(6).astype({"tenure_years": object})
    bad.loc[1, "tenure_years"] = "long"
    bad.loc[3, "main_reason"] = "bankrupt"
    with pytest.raises(WinbackError) as err:
        customer_covariates(up, read_customers(bad, name="crm.csv"))
    msg = str(err.value)
    for part in (
        "crm.csv: covariate 'tenure_years' is blank or not a number in 1 row(s): row 3 ('long')",
        "'main_reason' has values the fit's respondents never gave (valid: moved, outages, "
        "price_rise) in 1 row(s): row 5 ('bankrupt')",
    ):
        assert part in msg, f"{part!r} not in {msg!r}"
    with pytest.raises(WinbackError, match=r"crm.csv: no column 'main_reason' \(the fit uses "):
        customer_covariates(
            up, read_customers(_customers(3).drop(columns="main_reason"), name="crm.csv")
        )
    w = customer_covariates(up, read_customers(_customers(3)))
    frame = _customers(3)
    want = np.c_[frame["tenure_years"] - 4.0, (frame["main_reason"] == "price_rise") - 0.3]
    assert np.allclose(w, want), (w, want)


# -- a preference for everyone ---------------------------------------------------------------------


def test_predictions_carry_the_covariate_effect_and_the_population_spread():
    n = 20_000
    frame = _customers(n).assign(tenure_years=6.0, main_reason="price_rise")
    customers = read_customers(frame)
    prefs = _prefs(customers, _upper())
    beta = prefs.beta()[0]  # one draw, 20,000 customers with the same covariates
    want = MEAN.copy()
    want[NAMES.index("none")] += -0.3 * (6.0 - 4.0)
    want[NAMES.index("price")] += -0.05 * (1.0 - 0.3)
    se = SD / math.sqrt(n)
    for k, name in enumerate(NAMES):
        got = beta[:, k].mean()
        assert abs(got - want[k]) < 4 * se[k], f"{name}: mean {got:.4f}, truth {want[k]:.4f}"
        sd = beta[:, k].std()
        assert abs(sd / SD[k] - 1) < 0.03, f"{name}: sd {sd:.4f}, truth {SD[k]:.4f}"
    # the same seed gives the same customers; another seed others
    again = _prefs(customers, _upper()).beta(np.arange(5))
    assert np.array_equal(again[0], beta[:5])
    other = _prefs(customers, _upper(), seed=4).beta(np.arange(5))
    assert not np.allclose(other[0], beta[:5])


def test_constrained_part_worths_are_rebuilt_as_in_the_fit():
    """price = -exp(theta) / scale: its mean is the lognormal's; ordered levels cumulate."""
    n = 40_000
    up = _upper(constrained=True)
    customers = read_customers(_customers(n).assign(tenure_years=4.0, main_reason="moved"))
    beta = _prefs(customers, up).beta()[0]
    price = NAMES.index("price")
    s2 = up.chol[0, price] @ up.chol[0, price]
    theta = up.mu[0, price] + up.gamma[0, 1, price] * (0.0 - 0.3)
    want = -math.exp(theta + s2 / 2) / up.scale[price]
    got = beta[:, price].mean()
    assert abs(got / want - 1) < 0.01, f"price mean {got:.5f}, lognormal {want:.5f}"
    assert (beta[:, price] < 0).all()
    s1, s2i = NAMES.index("speed[300 Mbps]"), NAMES.index("speed[1 Gbps]")
    assert (beta[:, s2i] * up.scale[s2i] > beta[:, s1] * up.scale[s1]).all()


# -- scoring ---------------------------------------------------------------------------------------


def test_scoring_one_customer_by_hand():
    """One customer who knows their mind: p = the own product's logit share, LTV = margin x
    months retained, profit = p (LTV - incentive) - contact cost."""
    beta = MEAN.copy()
    draws = PartWorthDraws.from_array(STUDY, beta[None, None, :], respondent_ids=["c0"])
    customers = read_customers(pd.DataFrame({"customer_id": ["c0"]}))
    keep = ACTIONS[0]
    sc = score_customers(CustomerPreferences.from_draws(draws, ["c0"]), customers, [keep], BUSINESS)
    x, _ = encode_products(STUDY, keep.market.products)
    u = np.append(x @ beta, beta[NAMES.index("none")])
    p = math.exp(u[0]) / np.exp(u).sum()
    margin = 75.0 - (18 + 8 + 19 + 9)  # price - [costs]: 21 a month
    months = (1 - (1 - 1 / 18) ** 12) * 18  # 9.19 months paid in the year
    ltv = margin * months
    profit = p * (ltv - 25.0) - 1.2
    assert abs(sc.p_return[0, 0] - p) < 1e-12, (sc.p_return[0, 0], p)
    assert abs(sc.ltv[0, 0] - ltv) < 1e-9, (sc.ltv[0, 0], ltv)
    assert abs(sc.profit[0, 0] - profit) < 1e-9, (
        f"profit {sc.profit[0, 0]:.6f}, by hand {profit:.6f}"
    )
    assert sc.actions == ("Today's offer", DO_NOT_CONTACT) and sc.profit[0, 1] == 0.0


def test_kernel_equals_numpy_with_respondents_constraints_calibration_and_margins():
    s, n = 64, 300
    up = _upper(s, seed=2, constrained=True)
    margin = np.where(np.arange(n) % 7 == 0, 14.0, np.nan)
    frame = _customers(n, monthly_margin=margin)
    customers = read_customers(frame, segment="main_reason")
    rng = np.random.default_rng(8)
    own = MEAN + rng.normal(0, 0.3, (s, 40, K))
    prefs = _prefs(customers, up, respondents=own)
    cal = CalibratedDraws(
        PartWorthDraws.from_array(STUDY, np.zeros((s, 1, K))),
        rng.uniform(0.5, 0.8, s),
        rng.uniform(0.5, 1.5, s),
        Calibration("winback_rate", (("winback", 0.05),), 1000, availability=0.7),
        np.zeros((s, 1)),
    )
    inc = {"Entry offer": 10.0}
    sc = score_customers(prefs, customers, ACTIONS, BUSINESS, calibration=cal, incentives=inc)
    p, v = _reference(prefs, customers, ACTIONS, BUSINESS, cal.scale, cal.shift, 0.7, inc)
    n_act = len(ACTIONS)
    assert np.abs(sc.p_return[:, :n_act] - p.mean(axis=0)).max() < 1e-12
    assert np.abs(sc.profit[:, :n_act] - v.mean(axis=0)).max() < 1e-9
    assert np.abs(sc.total_profit[:, :n_act] - v.sum(axis=1)).max() < 1e-6
    assert sc.basis == "calibrated" and sc.contact_cost == pytest.approx(0.7 * 1.2)
    # the plan's bands and totals are the same draws again, for each customer's action
    plan = plan_campaign(sc, control_share=0.2, band=0.8)
    act = plan.allocation.action
    contact = act != n_act
    mine = v[:, np.arange(n), np.minimum(act, n_act - 1)]
    lo, hi = np.quantile(mine, [0.1, 0.9], axis=0)
    t = plan.table
    assert np.allclose(t["profit_lower"][contact], lo[contact]), "per-customer band"
    assert np.allclose(t["profit_upper"][contact], hi[contact]), "per-customer band"
    total = mine[:, t["contact"].to_numpy()].sum(axis=1)
    assert np.allclose(plan.profit_draws, total), "campaign total per draw"
    row = plan.summary.iloc[-1]
    assert row["contacted"] == int(t["contact"].sum()) and row["control"] == int(t["control"].sum())
    assert abs(row["profit"] - t.loc[t["contact"], "profit"].sum()) < 1e-6 * abs(row["profit"])


def test_the_same_numbers_on_any_number_of_threads_and_chunks(monkeypatch):
    up = _upper(16, seed=5)
    customers = read_customers(_customers(2500))
    prefs = _prefs(customers, up)
    first = score_customers(prefs, customers, ACTIONS[:2], BUSINESS)
    threads = numba.get_num_threads()
    monkeypatch.setattr(scoring_module, "CHUNK", 300)
    numba.set_num_threads(1)
    try:
        again = score_customers(prefs, customers, ACTIONS[:2], BUSINESS)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(first.p_return, again.p_return)
    assert np.allclose(first.total_profit, again.total_profit, rtol=1e-12)


def test_scoring_refuses_what_it_cannot_score():
    customers = read_customers(_customers(3))
    prefs = _prefs(customers, _upper())
    with pytest.raises(ParameterError, match="incentives for unknown actions Entry"):
        score_customers(prefs, customers, ACTIONS, BUSINESS, incentives={"Entry": 5.0})
    rfc = ACTIONS[0].market.__class__(ACTIONS[0].market.products, rule="rfc")
    with pytest.raises(ParameterError, match="rule is 'rfc'; a customer's probability"):
        score_customers(prefs, customers, [replace(ACTIONS[0], market=rfc)], BUSINESS)
    other = read_customers(_customers(4))
    with pytest.raises(WinbackError, match="made for another customer list"):
        score_customers(prefs, other, ACTIONS, BUSINESS)


# -- allocation and the control group --------------------------------------------------------------


def _toy_scores(n: int, seed: int):
    """Scores of ``n`` customers from a known-truth population (one draw)."""
    rng = np.random.default_rng(seed)
    beta = MEAN + rng.normal(0, 1, (n, K)) * SD * 2
    draws = PartWorthDraws.from_array(STUDY, beta, respondent_ids=[f"c{i}" for i in range(n)])
    customers = read_customers(_customers(n), segment="main_reason")
    prefs = CustomerPreferences.from_draws(draws, customers.ids)
    return score_customers(prefs, customers, ACTIONS[:3], BUSINESS)


def test_allocation_is_exact_without_limits_and_bounded_with_them():
    sc = _toy_scores(8, seed=3)
    v = sc.profit
    c = sc.expected_incentive
    n, a = v.shape
    best = {}
    for cap, budget in (
        (3, None),
        (None, 0.5 * c.max(axis=1).sum()),
        (4, 0.3 * c.max(axis=1).sum()),
    ):
        opt = -np.inf
        for combo in itertools.product(range(a), repeat=n):
            pick = np.array(combo)
            contacted = pick != a - 1
            if cap is not None and contacted.sum() > cap:
                continue
            if budget is not None and c[np.arange(n), pick].sum() > budget + 1e-12:
                continue
            opt = max(opt, v[np.arange(n), pick].sum())
        plan = allocate(sc, max_contacts=cap, budget=budget)
        spent = c[np.arange(n), plan.action].sum()
        assert budget is None or spent <= budget + 1e-9, (spent, budget)
        assert plan.profit <= opt + 1e-9 <= plan.upper_bound + 2e-9, (plan.profit, opt, plan)
        best[(cap, budget)] = (plan.profit, opt, plan.upper_bound)
    plan, opt, _ = best[(3, None)]
    assert abs(plan - opt) < 1e-9, f"contact limit only: plan {plan:.4f}, optimum {opt:.4f}"
    free = allocate(sc)
    assert free.exact and np.array_equal(
        free.action, np.where(v[:, :-1].max(axis=1) > 0, v[:, :-1].argmax(axis=1), a - 1)
    )


def test_a_large_budget_allocation_is_within_a_small_stated_gap():
    sc = _toy_scores(4000, seed=4)
    free = allocate(sc)
    plan = allocate(sc, max_contacts=2500, budget=0.6 * free.incentive)
    assert plan.contacts <= 2500 and plan.incentive <= 0.6 * free.incentive + 1e-6
    assert plan.gap_share < 1e-3, (
        f"gap {plan.gap:.2f} = {plan.gap_share:.4%} of {plan.upper_bound:.0f}"
    )
    assert "Lagrangian" in plan.method and "within" in repr(plan)


def test_the_control_group_is_stratified_and_seeded():
    strata = np.array(["a"] * 503 + ["b"] * 91 + ["c"] * 7 + ["d"] * 400)
    eligible = np.ones(len(strata), dtype=bool)
    eligible[-400:] = False  # stratum d is not contacted: never held out
    held = control_group(strata, eligible, share=0.1, random_seed=7)
    counts = {s: int(held[strata == s].sum()) for s in "abcd"}
    assert sum(counts.values()) == round(0.1 * 601) == 60, counts
    for s, n in (("a", 503), ("b", 91), ("c", 7)):
        assert abs(counts[s] - 0.1 * n) < 1, f"stratum {s}: {counts[s]} held out of {n}"
    assert counts["d"] == 0
    assert np.array_equal(held, control_group(strata, eligible, share=0.1, random_seed=7))
    assert not np.array_equal(held, control_group(strata, eligible, share=0.1, random_seed=8))
    with pytest.raises(ParameterError, match="control share must be in \\[0, 1\\)"):
        control_group(strata, eligible, share=1.0)


# -- a simulated CRM population with known truth (an HB fit with covariates) ---------------------


@pytest.fixture(scope="module")
def crm_fit():
    """10,000 lost customers, 300 of whom answered; real behaviour is stated x 0.6 with none
    1.0 more attractive. A small HB fit with covariates, the price slope negative."""
    from analysis import fit
    from winback.example_crm import CRM_COVARIATES, make_example_crm

    crm = make_example_crm(10_000, 300, random_seed=1)
    model = fit(
        crm.dataset(),
        draws=250,
        tune=250,
        chains=2,
        covariance="diagonal",
        covariates=list(CRM_COVARIATES),
        constraints="price",
        random_seed=2,
    )
    customers = read_customers(crm.customers, name="lost_customers.csv", segment="main_reason")
    return crm, model, customers


def test_targeting_earns_nearly_the_oracle_and_more_than_any_single_offer(crm_fit):
    from analysis import calibrate

    crm, model, customers = crm_fit
    business = crm.study.business
    prefs = customer_preferences(model, customers, random_seed=3)
    assert prefs.n_predicted == 10_000 - 300, prefs
    cal = calibrate(PartWorthDraws.from_model(model), crm.market, crm.calibration)
    scale, shift = float(cal.scale.mean()), float(cal.shift.mean())
    assert 0.45 < scale < 0.75 and 0.6 < shift < 1.4, (
        f"calibration: scale {scale:.3f} (truth 0.6), none shift {shift:.3f} (truth 1.0)"
    )
    actions = example_campaign_actions(crm.study, crm.market)
    scores = score_customers(prefs, customers, actions, business, calibration=cal)
    oracle_view = CustomerPreferences.from_draws(crm.real_draws(), customers.ids)
    truth = score_customers(oracle_view, customers, actions, business)
    ok = customers.contactable
    real = np.where(ok[:, None], truth.profit, 0.0)  # what each action really earns
    real[:, -1] = 0.0
    oracle = real.max(axis=1).sum()
    plan = allocate(scores)
    targeted = real[np.arange(len(ok)), plan.action].sum()
    single = real[:, :-1].sum(axis=0)
    best_single = scores.actions[int(single.argmax())]
    ratio = targeted / oracle
    stated_plan = allocate(score_customers(prefs, customers, actions, business))
    stated = real[np.arange(len(ok)), stated_plan.action].sum() / oracle
    assert stated < ratio, (
        f"targeting on stated predictions {stated:.3f} of the oracle, calibrated {ratio:.3f}"
    )
    print(
        f"targeting {targeted:,.0f} = {ratio:.3f} of the oracle's {oracle:,.0f}; the best single "
        f"offer ({best_single}) {single.max():,.0f} = {single.max() / oracle:.3f}; calibration "
        f"scale {scale:.3f}, none shift {shift:.3f}; p_return by action, predicted "
        f"{np.round(np.nanmean(scores.p_return[:, :-1], axis=0), 3)}, real "
        f"{np.round(np.nanmean(truth.p_return[:, :-1], axis=0), 3)}; on stated (uncalibrated) "
        f"predictions targeting earns {stated:.3f}"
    )
    assert ratio >= 0.9, (
        f"targeting earns {ratio:.3f} of the oracle ({targeted:,.0f} of {oracle:,.0f})"
    )
    assert targeted > single.max(), (
        f"targeting {targeted:,.0f} is not more than everyone getting {best_single} "
        f"({single.max():,.0f})"
    )
    # the calibrated probabilities of returning, on average per action, are the real ones
    pred = np.nanmean(scores.p_return[:, :-1], axis=0)
    real_p = np.nanmean(truth.p_return[:, :-1], axis=0)
    for name, a, b in zip(scores.actions, pred, real_p, strict=False):
        assert abs(a - b) < 0.03, f"{name}: predicted p_return {a:.3f}, real {b:.3f}"
    # limits: the plan holds them, the control group comes out of the contacts
    campaign = plan_campaign(scores, max_contacts=5000, control_share=0.1)
    t = campaign.table
    assert int((t["action"] != DO_NOT_CONTACT).sum()) == 5000
    assert int(t["control"].sum()) == 500 and int(t["contact"].sum()) == 4500
    assert (t.loc[~ok, "action"] == DO_NOT_CONTACT).all()
    assert set(t.loc[~ok, "reason"]) <= {"no contact consent", "do-not-contact flag"}
    assert campaign.allocation.exact, campaign.allocation


def test_respondents_keep_their_draws_and_predictions_agree_with_the_fit(crm_fit):
    crm, model, customers = crm_fit
    prefs = customer_preferences(model, customers, random_seed=3)
    pos = np.flatnonzero(prefs.who >= 0)
    rid = [customers.respondent_ids[i] for i in pos]
    own = model.beta_draws().reshape(-1, len(model.respondent_ids), K)
    idx = [model.respondent_ids.index(r) for r in rid]
    assert np.array_equal(prefs.beta(pos), own[:, idx]), "respondents' own draws"
    # the same respondents, predicted from their covariates: the population they come from
    as_new = read_customers(crm.customers.iloc[pos].assign(respondent_id=None))
    predicted = customer_preferences(model, as_new, random_seed=3).beta().mean(axis=(0, 1))
    fitted = own[:, idx].mean(axis=(0, 1))
    sd = own[:, idx].mean(axis=0).std(axis=0)
    for k, name in enumerate(NAMES):
        assert abs(predicted[k] - fitted[k]) < 0.25 * sd[k] + 0.02, (
            f"{name}: predicted {predicted[k]:.3f}, respondents' posterior {fitted[k]:.3f}"
        )


def test_fits_record_their_centring_means_and_older_fits_still_predict(crm_fit, tmp_path):
    import xarray as xr

    from analysis.io import _engine, load_model, save_model
    from winback.example_crm import CRM_COVARIATES

    crm, model, customers = crm_fit
    people = crm.respondents.set_index("respondent_id").loc[model.respondent_ids]
    want = {
        "main_reason[outages]": (people["main_reason"] == "outages").mean(),
        "previous_plan[bundle]": (people["previous_plan"] == "bundle").mean(),
        "tenure_years": people["tenure_years"].mean(),
    }
    means = dict(zip(model.arrays_.covariate_names, model.arrays_.covariate_means, strict=True))
    for name, value in want.items():
        assert abs(means[name] - value) < 1e-12, (name, means[name], value)
    path = save_model(model, tmp_path / "fit.nc")
    assert np.array_equal(load_model(path).arrays_.covariate_means, model.arrays_.covariate_means)
    # a fit saved before the means were recorded: rebuilt from its respondents' answers
    tree = xr.load_datatree(path, engine=_engine())
    est = tree["winback/estimation"].to_dataset().drop_vars("covariate_means")
    tree["winback/estimation"] = xr.DataTree(est)
    tree.to_netcdf(tmp_path / "old.nc", engine=_engine())
    old = load_model(tmp_path / "old.nc", check_sources=False)
    assert old.arrays_.covariate_means is None
    small = read_customers(crm.customers.head(50))
    a = customer_preferences(model, small).beta()
    b = customer_preferences(old, small).beta()
    assert np.allclose(a, b, atol=1e-12), "an older fit predicts the same part-worths"
    assert set(CRM_COVARIATES) <= set(crm.customers.columns)


def test_an_older_fit_whose_means_cannot_be_rebuilt_says_to_refit(crm_fit):
    _, model, customers = crm_fit
    people = model.dataset_.respondents.drop(columns=["tenure_years"])
    old = replace(
        model,
        arrays_=replace(model.arrays_, covariate_means=None),
        dataset_=replace(model.dataset_, _respondents=people),
    )
    with pytest.raises(WinbackError, match="predates the recording of its covariates' centring"):
        customer_preferences(old, customers)


def test_the_bands_kernel_equals_numpys_quantiles():
    from analysis.campaign._kernels import bands_of

    rng = np.random.default_rng(1)
    cases = (
        rng.random((64, 4000)),
        np.round(rng.random((64, 4000)), 2),  # ties
        rng.random((64, 37)),  # short rows: sorted whole
        np.ones((3, 4000)),
        rng.standard_normal((64, 4001)) ** 3,  # heavy tails
        np.sort(rng.random((16, 4000)), axis=1),  # the sample sees ordered draws
    )
    for x in cases:
        for q in (0.05, 0.001, 0.25):
            out = np.full((len(x), 2), np.nan)
            rows = np.ones(len(x), dtype=bool)
            rows[0] = False
            bands_of(x, rows, q, 1 - q, out)
            ref = np.quantile(x[1:], [q, 1 - q], axis=1).T
            assert np.isnan(out[0]).all()
            assert np.abs(out[1:] - ref).max() < 1e-15, (x.shape, q, np.abs(out[1:] - ref).max())


def test_customer_ids_that_are_respondent_ids_get_a_hint(crm_fit, caplog):
    crm, model, _ = crm_fit
    frame = crm.respondents.rename(columns={"respondent_id": "customer_id"}).head(20)
    with caplog.at_level("WARNING", logger="winback"):
        prefs = customer_preferences(model, read_customers(frame, name="crm.csv"))
    assert prefs.n_predicted == 20
    assert "crm.csv has no respondent_id column, so every customer is predicted; 20" in caplog.text
