"""Calibration: anchoring stated preference shares to observed behaviour, on every draw.

Stated choices in a survey overstate what lost customers then do. What the researcher has seen
(``[calibration]`` in the study file: the win-back rate of a past campaign, or the take-up of
today's offers) fixes, for every posterior draw ``d``, an adjustment of the utilities:

- a shift ``delta_d`` of the none utility (everybody's "stay away" gets more attractive), and/or
- a scale ``s_d`` of every utility (choices noisier than stated: ``s < 1``),

so that the simulated baseline market reproduces the observation exactly on that draw:
``sum_i w_i P_i(observed alternatives | s_d, delta_d) = observed``. These are the adjustments
Sawtooth's and Displayr's simulators document (scale factor, none or alternative-specific
constants). Every share simulated with the adjusted draws is then a *calibrated* share, with
bands from the draws and the observation's own sampling error (a binomial draw of the observed
rate per posterior draw). Logit rule only. See ``docs/decision.md``.

A calibration learned from a campaign's outcomes (``kind = "outcomes"``, written by ``winback
outcomes``) carries the scale and none shift themselves, with their uncertainty: nothing is
fitted, every draw gets its own pair (:func:`outcome_adjustments`). See ``docs/campaign.md``.

Examples
--------
>>> cal = calibrate(draws, today, study.calibration)  # doctest: +SKIP
>>> cal.shares(new_market)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.simulator import Market, PartWorthDraws, respondent_weights
from analysis.simulator.market import NONE, encode_products
from analysis.simulator.rules import utilities
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, check_band
from winback.study import Calibration

__all__ = ["CalibratedDraws", "calibrate", "outcome_adjustments"]

_NONE = "none"


def _alt_probs(u: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """Logit probabilities (respondent, alternative) of utilities (respondent, alternative),
    the last alternative being none: scaled by ``scale``, none shifted by ``shift``."""
    v = u * scale
    v[:, -1] += shift
    v -= v.max(axis=1, keepdims=True)
    np.exp(v, out=v)
    v /= v.sum(axis=1, keepdims=True)
    return v


@dataclass(frozen=True)
class CalibratedDraws:
    """Part-worth draws with the calibration fitted on each draw.

    Attributes
    ----------
    draws : PartWorthDraws
    scale, shift : ndarray (sample,)
        The scale of all utilities and the shift of the none utility, per draw.
    calibration : Calibration
    targets : ndarray (sample, observed)
        The observed shares each draw was fitted to (the observation with its sampling error).
    """

    draws: PartWorthDraws
    scale: np.ndarray
    shift: np.ndarray
    calibration: Calibration
    targets: np.ndarray = field(repr=False)
    n_beyond: int = 0  # draws whose target no none shift reaches (none left out on them)
    exponent: float = 1.0  # the exponent of the market the calibration was fitted in
    adjust: str = "none_shift"  # the adjustment fitted ("auto" resolved)
    n_scaled: int = 0  # draws no none shift reaches, fitted by a scale instead ("auto")

    def adjusted(self) -> PartWorthDraws:
        """The part-worth draws with the calibration applied: every part-worth of draw ``d``
        times ``scale[d]``, the none constant plus ``shift[d] / exponent``.

        Any logit simulation or search run on these draws gives calibrated shares (before
        availability, which multiplies the own products' shares afterwards): the offer, tier
        and unbundling searches find the best offer under calibrated behaviour.
        """
        names = list(self.draws.names)
        if NONE not in names:
            raise WinbackError("calibration needs a model with a none constant.")
        beta = self.draws.beta * self.scale[:, None, None]
        beta[:, :, names.index(NONE)] += (self.shift / self.exponent)[:, None]
        return replace(self.draws, beta=beta)

    def summary(self, *, band: float = BAND) -> pd.DataFrame:
        """What was fitted, in one table: ``measure, value, lower, upper`` (the observation and
        its sample size, the availability, the scale and none shift over the draws, the draws
        no none shift could reach)."""
        band = check_band(band)
        lo = (1.0 - band) / 2.0
        cal = self.calibration
        rows = [
            {"measure": f"observed {name}", "value": share, "lower": np.nan, "upper": np.nan}
            for name, share in cal.observed
        ]
        rows.append({"measure": "n", "value": float(cal.n), "lower": np.nan, "upper": np.nan})
        rows.append(
            {"measure": "availability", "value": cal.availability, "lower": np.nan, "upper": np.nan}
        )
        for name, x in (("scale", self.scale), ("none shift", self.shift)):
            rows.append(
                {
                    "measure": name,
                    "value": float(x.mean()),
                    "lower": float(np.quantile(x, lo)),
                    "upper": float(np.quantile(x, 1.0 - lo)),
                }
            )
        rows.append(
            {
                "measure": "draws beyond reach",
                "value": float(self.n_beyond),
                "lower": np.nan,
                "upper": np.nan,
            }
        )
        return pd.DataFrame(rows)

    def share_draws(
        self,
        market: Market,
        *,
        weights: str | np.ndarray | None = None,
        availability: bool = True,
        stated: bool = False,
    ) -> np.ndarray:
        """Calibrated (or, with ``stated``, uncalibrated) shares of the market's alternatives
        (products, then none) on every draw: (sample, alternative).

        ``availability``: the own products' shares times the calibration's availability (the
        share of lost customers the offer reaches; the others stay with none).
        """
        if not market.none:
            raise WinbackError("calibrated shares need a market with none (none = true).")
        x, _ = encode_products(self.draws.study, market.products, extrapolate=market.extrapolate)
        u = utilities(self.draws, x, none=True) * self.exponent  # (sample, respondent, alt.)
        w = respondent_weights(self.draws, weights)
        if not stated:  # all draws at once: scale every utility, shift none, logit
            u *= self.scale[:, None, None]
            u[:, :, -1] += self.shift[:, None]
        u -= u.max(axis=2, keepdims=True)
        np.exp(u, out=u)
        u /= u.sum(axis=2, keepdims=True)
        out = np.einsum("r,sra->sa", w, u)
        own = np.array([p.own for p in market.products] + [False])
        if availability and not stated and self.calibration.availability < 1.0:
            reach = self.calibration.availability
            moved = out[:, own].sum(axis=1) * (1.0 - reach)
            out[:, own] *= reach
            out[:, -1] += moved
        return out

    def shares(
        self,
        market: Market,
        *,
        weights: str | np.ndarray | None = None,
        band: float = BAND,
        availability: bool = True,
        share_draws: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Calibrated shares of a market's alternatives (logit), with bands over the draws.

        Columns: ``product, own, stated, share, lower, upper`` (``stated`` the uncalibrated
        mean, for the side-by-side the reports show); ``availability`` as in
        :meth:`share_draws`. ``share_draws``: what :meth:`share_draws` returned for the same
        market, weights and availability, when the caller has it already (not computed again).
        """
        band = check_band(band)
        cal = (
            self.share_draws(market, weights=weights, availability=availability)
            if share_draws is None
            else share_draws
        )
        stated = self.share_draws(market, weights=weights, stated=True)
        names = [*market.names, _NONE]
        own = np.array([p.own for p in market.products] + [False])
        lo = (1.0 - band) / 2.0
        return pd.DataFrame(
            {
                "product": names,
                "own": own,
                "stated": stated.mean(axis=0),
                "share": cal.mean(axis=0),
                "lower": np.quantile(cal, lo, axis=0),
                "upper": np.quantile(cal, 1.0 - lo, axis=0),
            }
        )


def outcome_adjustments(
    calibration: Calibration, n_draws: int, *, random_seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The scale and none shift of every posterior draw for a calibration fitted from a
    campaign's outcomes (``kind = "outcomes"``): draw ``d`` gets its own pair from the normal
    distribution of ``(log scale, none shift)`` with the fitted values as mean and the standard
    errors and correlation the calibration carries (``scale_sd`` taken to the log scale by the
    delta method: ``sd(log s) = scale_sd / scale``), seeded by ``random_seed``. Without
    uncertainty every draw gets the fitted values."""
    if calibration.kind != "outcomes":
        raise WinbackError(
            f"a calibration of kind {calibration.kind!r} is fitted to its observation "
            "(analysis.calibrate), not given."
        )
    sd = np.array([calibration.scale_sd / calibration.scale, calibration.none_shift_sd])
    mean = np.array([np.log(calibration.scale), calibration.none_shift])
    if not sd.any():
        return np.full(n_draws, calibration.scale), np.full(n_draws, calibration.none_shift)
    rho = calibration.correlation
    # a lower Cholesky factor of the 2 x 2 covariance, written out (one of the sds may be 0)
    chol = np.array([[sd[0], 0.0], [rho * sd[1], np.sqrt(1.0 - rho**2) * sd[1]]])
    z = np.random.default_rng(random_seed).standard_normal((n_draws, 2))
    x = mean + z @ chol.T
    return np.exp(x[:, 0]), x[:, 1]


def _targets(cal: Calibration, market: Market, n_draws: int, seed: int) -> tuple[list, np.ndarray]:
    """Which alternatives each observed share refers to, and the shares each draw is fitted
    to: the observation plus its binomial (multinomial) sampling error at ``n``."""
    names = [*market.names, _NONE]
    own = [j for j, p in enumerate(market.products) if p.own]
    groups: list[list[int]] = []
    observed = []
    if cal.kind == "winback_rate":
        if not own:
            raise WinbackError("a win-back rate calibrates the own products: mark them own = true.")
        groups.append(own)
        observed.append(cal.observed[0][1])
    else:
        for name, share in cal.observed:
            if name not in names:
                raise WinbackError(
                    f"[calibration] observed: no alternative {name!r} in the market; valid: "
                    f"{list_valid(names)}."
                )
            groups.append([names.index(name)])
            observed.append(share)
    rng = np.random.default_rng(seed)
    obs = np.asarray(observed)
    if len(obs) == 1:
        t = rng.binomial(cal.n, obs[0], size=n_draws)[:, None] / cal.n
    else:
        rest = max(0.0, 1.0 - obs.sum())
        t = rng.multinomial(cal.n, np.append(obs, rest), size=n_draws)[:, :-1] / cal.n
    # a draw of 0 (or 1) cannot be reproduced by a logit: keep it inside (0, 1)
    eps = 0.5 / cal.n
    return groups, np.clip(t, eps, 1.0 - eps)


def calibrate(
    source: PartWorthDraws,
    market: Market,
    calibration: Calibration,
    *,
    weights: str | np.ndarray | None = None,
    random_seed: int = 1,
) -> CalibratedDraws:
    """Fit the calibration on every draw so that ``market`` (the market of the observation:
    today's offers, or the past campaign's) reproduces what was observed.

    Parameters
    ----------
    source : PartWorthDraws
    market : Market
        Must include none. For ``winback_rate`` the own products are what customers came back
        to; for ``take_up`` every observed name is a product of the market or ``none``.
    calibration : Calibration
        ``study.calibration``. A calibration fitted from a campaign's outcomes (``kind =
        "outcomes"``) is not fitted again: every draw gets its adjustment from
        :func:`outcome_adjustments` (``market`` gives only the exponent).
    weights : str or array, optional
        Respondent weights (as in :func:`analysis.simulate`).
    random_seed : int
        Seed of the observation's sampling error.

    Returns
    -------
    CalibratedDraws
    """
    if not market.none:
        raise WinbackError("calibration needs a market with none (none = true).")
    draws = source
    if calibration.fitted:  # kind = "outcomes": the adjustment is given, with its uncertainty
        n = draws.beta.shape[0]
        scale, shift = outcome_adjustments(calibration, n, random_seed=random_seed)
        return CalibratedDraws(
            draws,
            scale,
            shift,
            calibration,
            np.zeros((n, 0)),
            exponent=market.exponent,
            adjust=calibration.resolved_adjust,
        )
    x, _ = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    u = utilities(draws, x, none=True) * market.exponent
    w = respondent_weights(draws, weights)
    n_draws = u.shape[0]
    groups, targets = _targets(calibration, market, n_draws, random_seed)
    how = calibration.resolved_adjust
    if how != "none_shift" and len(groups) < 2 and how != "scale":
        raise WinbackError(
            f"[calibration] adjust = {how!r} needs two or more observed shares (take-up of "
            "several offers); one observed number identifies one adjustment: none_shift or scale."
        )
    scale, shift, beyond = _fit_draws(u, w, groups, targets, how)
    if beyond and calibration.adjust == "auto":
        # draws on which our offers are less attractive than the observed rate even if nobody
        # chose none: "auto" fits a scale (choices noisier than stated) on those draws instead
        try:
            s_b, _, _ = _fit_draws(u[beyond], w, groups, targets[beyond], "scale")
        except WinbackError:
            raise WinbackError(
                f"[calibration] observed {calibration.observed[0][1]:.3f} is more than this "
                f"market's offers can reach by a none shift alone on {len(beyond)} of "
                f"{n_draws} posterior draws (even if nobody chose none), and no scale of the "
                "utilities reproduces it there either: is the market the one the observation "
                "was made in, and the rate a share of all lost customers reached?"
            ) from None
        scale[beyond], shift[beyond] = s_b, 0.0
        n_scaled, beyond = len(beyond), []
    else:
        n_scaled = 0
    if len(beyond) > 0.05 * n_draws:
        raise WinbackError(
            f"[calibration] observed {calibration.observed[0][1]:.3f} is more than this market's "
            f"offers can reach by a none shift alone on {len(beyond)} of {n_draws} posterior "
            "draws (even if nobody chose none): is the market the one the observation was made "
            "in, and the rate a share of all lost customers reached? A scale adjustment "
            '(adjust = "scale") may fit instead.'
        )
    return CalibratedDraws(
        draws,
        scale,
        shift,
        calibration,
        targets,
        n_beyond=len(beyond),
        exponent=market.exponent,
        adjust=how,
        n_scaled=n_scaled,
    )


def _fit_draws(
    u: np.ndarray,
    w: np.ndarray,
    groups: list[list[int]],
    targets: np.ndarray,
    how: str,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The adjustment ``how`` on every draw: scales, none shifts, and the draws whose target no
    none shift reaches."""
    from scipy.optimize import brentq  # loads in about 0.3 s: only when calibrating

    n_draws = u.shape[0]
    scale = np.ones(n_draws)
    shift = np.zeros(n_draws)
    beyond: list[int] = []  # draws whose target lies beyond what a none shift can reach
    for d in range(n_draws):
        ud = u[d]

        def fitted(s: float, delta: float, g: list[int], ud: np.ndarray = ud) -> float:
            return float(w @ _alt_probs(ud.copy(), s, delta)[:, g].sum(axis=1))

        if how == "none_shift":
            g, t = groups[0], targets[d, 0]
            top = fitted(1.0, -60.0, g)
            if t >= top:  # this draw cannot reach its target: nobody chooses none
                beyond.append(d)
                shift[d] = -60.0
                continue
            shift[d] = brentq(lambda z, g=g, t=t: fitted(1.0, z, g) - t, -60.0, 60.0)
        elif how == "scale":
            g, t = groups[0], targets[d, 0]
            f0, f1 = fitted(1e-3, 0.0, g) - t, fitted(20.0, 0.0, g) - t
            if f0 * f1 > 0:
                raise WinbackError(
                    f"[calibration] no scale of the utilities reproduces the observed {t:.3f} "
                    'on this market; use adjust = "none_shift".'
                )
            scale[d] = brentq(lambda z, g=g, t=t: fitted(z, 0.0, g) - t, 1e-3, 20.0)
        else:  # scale and none: the none shift fits the total, the scale the split
            prev = (float(np.log(scale[d - 1])), float(shift[d - 1])) if d else (0.0, 0.0)
            scale[d], shift[d] = _fit_scale_and_none(ud, w, groups, targets[d], prev)
    return scale, shift, beyond


def _fit_scale_and_none(
    u: np.ndarray,
    w: np.ndarray,
    groups: list[list[int]],
    target: np.ndarray,
    start: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, float]:
    """Least squares in log shares over (log scale, none shift): a bounded trust-region fit
    (scale in [0.001, 20], shift in [-60, 60]) from ``start`` (the previous draw's answer)."""
    from scipy.optimize import least_squares  # loads in about 0.3 s: only when calibrating

    def resid(th: np.ndarray) -> np.ndarray:
        p = w @ _alt_probs(u.copy(), float(np.exp(th[0])), float(th[1]))
        got = np.array([p[g].sum() for g in groups])
        return np.log(np.clip(got, 1e-300, None)) - np.log(target)

    lo, hi = [np.log(1e-3), -60.0], [np.log(20.0), 60.0]
    x0 = np.clip(np.asarray(start, dtype=float), np.add(lo, 1e-9), np.subtract(hi, 1e-9))
    fit = least_squares(resid, x0, bounds=(lo, hi), xtol=1e-10, ftol=1e-10)
    if x0.any() and fit.cost > 1e-12:  # a warm start can stop in a worse basin: start afresh
        again = least_squares(resid, np.zeros(2), bounds=(lo, hi), xtol=1e-10, ftol=1e-10)
        fit = again if again.cost < fit.cost else fit
    return float(np.exp(fit.x[0])), float(fit.x[1])
