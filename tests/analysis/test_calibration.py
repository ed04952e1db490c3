"""Calibration recovers real shares when real behaviour differs from stated choices by a known
scale and none shift (issue 16, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.calibration import calibrate
from analysis.simulator import Market, PartWorthDraws, Product
from conjoint.encoding import parameter_names
from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study
from winback.errors import WinbackError
from winback.study import Calibration

pytestmark = pytest.mark.recovery

STUDY = make_study(SMALL_STUDY)
NAMES = parameter_names(STUDY)
SD = {"plan[Standard]": 0.5, "plan[Premium]": 0.7, "speed[500 Mbps]": 0.4,
      "speed[1 Gbps]": 0.6, "support[Priority]": 0.4, "price": 0.02, "none": 1.0}  # fmt: skip


def _product(name: str, plan: str, speed: str, support: str, price: float, own=False):
    levels = {"plan": plan, "speed": speed, "support": support, "price": price}
    return Product(name, levels, own=own)


TODAY = Market(
    (
        _product("Ours", "Standard", "500 Mbps", "Standard", 45.0, own=True),
        _product("CableCo", "Premium", "1 Gbps", "Standard", 55.0),
        _product("Budget", "Basic", "100 Mbps", "Standard", 30.0),
    )
)
NEW = Market(  # our offer changed: better and cheaper; a second own product added
    (
        _product("Ours", "Premium", "1 Gbps", "Priority", 50.0, own=True),
        _product("Ours lite", "Basic", "500 Mbps", "Standard", 35.0, own=True),
        _product("CableCo", "Premium", "1 Gbps", "Standard", 55.0),
        _product("Budget", "Basic", "100 Mbps", "Standard", 30.0),
    )
)


def _population(n: int = 600, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mean = np.array([SMALL_TRUTH[k] for k in NAMES])
    sd = np.array([SD[k] for k in NAMES])
    return mean + rng.standard_normal((n, len(NAMES))) * sd


def _real_shares(beta: np.ndarray, market: Market, scale: float, shift: float) -> np.ndarray:
    """What lost customers really do: stated utilities x scale, none + shift, logit."""
    truth = PartWorthDraws.from_array(STUDY, beta)
    from analysis.calibration import _alt_probs
    from analysis.simulator.market import encode_products
    from analysis.simulator.rules import utilities

    x, _ = encode_products(STUDY, market.products)
    u = utilities(truth, x, none=True)[0]
    return _alt_probs(u.copy(), scale, shift).mean(axis=0)


def _stated_draws(beta: np.ndarray, n_draws: int = 40, seed: int = 5) -> PartWorthDraws:
    """Posterior-like draws around the stated part-worths (estimation noise: a fifth of the
    population sd of each parameter)."""
    rng = np.random.default_rng(seed)
    sd = np.array([SD[k] for k in NAMES])
    noisy = beta[None] + rng.standard_normal((n_draws, *beta.shape)) * 0.2 * sd
    return PartWorthDraws.from_array(STUDY, noisy)


def test_take_up_calibration_recovers_real_shares_of_a_new_market() -> None:
    beta = _population()
    scale, shift = 0.6, 1.0  # real choices noisier than stated, and more staying away
    real_today = _real_shares(beta, TODAY, scale, shift)
    observed = {"Ours": real_today[0], "CableCo": real_today[1], "Budget": real_today[2]}
    cal = Calibration("take_up", tuple(observed.items()), n=20_000)
    fitted = calibrate(_stated_draws(beta), TODAY, cal)
    assert abs(np.median(fitted.scale) - scale) < 0.1, (
        f"scale {np.median(fitted.scale):.3f}, truth {scale}"
    )
    assert abs(np.median(fitted.shift) - shift) < 0.25, (
        f"none shift {np.median(fitted.shift):.3f}, truth {shift}"
    )
    got = fitted.shares(NEW)
    real_new = _real_shares(beta, NEW, scale, shift)
    err = np.abs(got["share"].to_numpy() - real_new)
    assert err.max() < 0.03, (
        f"calibrated {np.round(got['share'].to_numpy(), 3)} vs real {np.round(real_new, 3)}: "
        f"largest error {err.max():.3f} (target 0.03)"
    )
    stated_err = np.abs(got["stated"].to_numpy() - real_new).max()
    assert stated_err > 0.08, f"the stated shares are off by only {stated_err:.3f}: a weak test"
    inside = (got["lower"] <= real_new + 0.01) & (real_new - 0.01 <= got["upper"])
    assert inside.all(), f"real {np.round(real_new, 3)} outside the bands\n{got}"


def test_winback_rate_calibration_recovers_the_none_shift() -> None:
    beta = _population(seed=11)
    shift = 1.5
    real_today = _real_shares(beta, TODAY, 1.0, shift)
    cal = Calibration("winback_rate", (("winback", real_today[0]),), n=50_000)
    fitted = calibrate(_stated_draws(beta, seed=12), TODAY, cal)
    assert fitted.calibration.resolved_adjust == "none_shift"
    assert abs(np.median(fitted.shift) - shift) < 0.2, (
        f"shift {np.median(fitted.shift):.3f}, truth {shift}"
    )
    got = fitted.shares(NEW)
    real_new = _real_shares(beta, NEW, 1.0, shift)
    err = np.abs(got["share"].to_numpy() - real_new).max()
    assert err < 0.03, f"calibrated {got['share'].round(3).tolist()} vs real {real_new.round(3)}"
    # a reach of 60%: 40% of our share goes to none
    reach = Calibration("winback_rate", (("winback", real_today[0]),), n=50_000, availability=0.6)
    reached = calibrate(_stated_draws(beta, seed=12), TODAY, reach).shares(NEW)
    own = reached["own"].to_numpy()
    assert np.allclose(reached["share"][own], 0.6 * got["share"][own], atol=0.005), reached


def test_calibration_errors_name_the_problem() -> None:
    beta = _population(n=50)
    bad = Calibration("take_up", (("Nobody", 0.1),), n=100)
    with pytest.raises(WinbackError, match="no alternative 'Nobody' in the market; valid: Ours"):
        calibrate(_stated_draws(beta, n_draws=2), TODAY, bad)
    far = Calibration("winback_rate", (("winback", 0.999),), n=10_000)
    with pytest.raises(WinbackError, match=r"observed 0\.999 is more than this market's offers"):
        calibrate(_stated_draws(beta, n_draws=2), TODAY, far)
    both = Calibration("winback_rate", (("winback", 0.2),), n=100, adjust="scale_and_none")
    with pytest.raises(WinbackError, match="needs two or more observed shares"):
        calibrate(_stated_draws(beta, n_draws=2), TODAY, both)


def test_auto_fits_a_scale_where_no_none_shift_reaches_the_observation() -> None:
    """An observed rate above what our offer reaches even if nobody chose none: "auto" fits a
    scale (choices noisier than stated) on those draws that reproduces it; an explicit none
    shift is refused."""
    beta = _population(seed=21)
    draws = _stated_draws(beta, seed=22)
    # our offer made unattractive: basic, slow and dear
    weak = Market((_product("Ours", "Basic", "100 Mbps", "Standard", 60.0, own=True),
                   *TODAY.products[1:]))  # fmt: skip
    from analysis.calibration import _alt_probs
    from analysis.simulator.market import encode_products
    from analysis.simulator.rules import utilities

    x, _ = encode_products(STUDY, weak.products)
    u = utilities(draws, x, none=True)
    # the share of Ours on each draw if nobody chose none
    top = max(float(_alt_probs(u[d].copy(), 1.0, -60.0)[:, 0].mean()) for d in range(len(u)))
    rate = top + 0.03  # beyond any none shift ...
    assert rate < 0.2, f"Ours reaches {top:.3f} without none: not a weak offer"  # ... below 1/4
    cal = Calibration("winback_rate", (("winback", rate),), n=100_000)
    fitted = calibrate(draws, weak, cal)
    # beyond any none shift on every draw: each draw gets a scale instead
    assert fitted.n_scaled == draws.n_samples and (fitted.shift == 0).all(), fitted.n_scaled
    assert (fitted.scale < 1).all(), f"scales {fitted.scale.min():.3f}-{fitted.scale.max():.3f}"
    got = fitted.shares(weak).set_index("product").loc["Ours", "share"]
    assert got == pytest.approx(rate, abs=0.005), f"calibrated {got:.4f}, observed {rate:.4f}"
    explicit = Calibration("winback_rate", (("winback", rate),), n=100_000, adjust="none_shift")
    with pytest.raises(WinbackError, match="none shift alone"):
        calibrate(draws, weak, explicit)
