"""The calibration a campaign's outcomes give: :func:`fit_outcome_calibration`.

The adjustment family is :mod:`analysis.calibration`'s: every utility times a scale ``s``, the
none utility plus a shift ``delta``. Here it is fitted to what the contacted customers did, by
maximum likelihood (Bernoulli): customer ``i``, contacted with action ``a_i``, came back
(``y_i = 1``) or not, with probability

    p_i(s, delta) = mean_d p_dia_i(s, delta)

the posterior predictive probability (the mean over the posterior draws ``d`` of the customer's
stated logit probability of returning, utilities times ``s`` and the markets' exponent, none
plus ``delta``: what the plan's ``p_return`` is, stated), and

    log L(s, delta) = sum_i y_i log p_i + (1 - y_i) log(1 - p_i)

maximised over ``(log s, delta)``. Its uncertainty is the inverse observed information (the
Hessian of ``-log L``, by central differences), the sampling error of the outcomes.

Why one adjustment for the posterior as a whole rather than one per draw: the calibration is
meant for the *next* run, on another set of draws (the next fit, the next survey wave), where
no draw of this fit exists to be paired with. Fitted against the posterior predictive, the
adjustment is exactly what a next run applies (the same scale and shift to every draw, each
draw's pair drawn from the fitted uncertainty: :func:`analysis.calibration.outcome_adjustments`),
and the posterior's uncertainty stays in the draws it is applied to, counted once. The outcomes
do not narrow the part-worths' posterior: bands after calibration are, if anything, wide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from analysis.campaign.scoring import CampaignScores, _Scorer
from winback.errors import ParameterError, WinbackError, list_valid
from winback.study import Calibration

__all__ = ["OutcomeCalibration", "fit_outcome_calibration", "mean_p"]

ADJUST = ("scale_and_none", "none_shift", "scale")
_STEP = 5e-3  # central differences of -log L in (log s, delta)
_LOG_S = (np.log(1e-3), np.log(20.0))
_SHIFT = (-30.0, 30.0)


@dataclass(frozen=True)
class OutcomeCalibration:
    """The scale and none shift that make the predicted probabilities match what the contacted
    customers did.

    Attributes
    ----------
    scale, none_shift : float
        Maximum-likelihood values (1 and 0: stated preference as it is).
    scale_sd, none_shift_sd, correlation : float
        Standard errors and the correlation of ``log scale`` and ``none shift`` (inverse
        observed information; ``scale_sd`` by the delta method, ``scale x sd(log scale)``).
    n, n_returned : int
        Contacted customers the fit used, and of them who came back.
    adjust : str
        What was fitted: ``scale_and_none``, ``none_shift`` or ``scale``.
    log_lik, log_lik_stated : float
        The log likelihood at the fitted values and at stated preference (s = 1, delta = 0).
    """

    scale: float
    none_shift: float
    scale_sd: float
    none_shift_sd: float
    correlation: float
    n: int
    n_returned: int
    adjust: str
    log_lik: float
    log_lik_stated: float

    @property
    def realised(self) -> float:
        return self.n_returned / self.n

    def calibration(self, source: str = "", availability: float = 1.0) -> Calibration:
        """As a study-file ``[calibration]`` (``kind = "outcomes"``) for the next run."""
        return Calibration(
            kind="outcomes",
            observed=(("winback", self.realised),),
            n=self.n,
            availability=availability,
            adjust=self.adjust,
            source=source,
            scale=self.scale,
            none_shift=self.none_shift,
            scale_sd=self.scale_sd,
            none_shift_sd=self.none_shift_sd,
            correlation=self.correlation,
        )

    def __repr__(self) -> str:
        return (
            f"OutcomeCalibration ({self.adjust}): scale {self.scale:.3f} (se "
            f"{self.scale_sd:.3f}), none shift {self.none_shift:+.3f} (se "
            f"{self.none_shift_sd:.3f}), correlation {self.correlation:+.2f}; from "
            f"{self.n:,} contacted customers, {self.n_returned:,} came back; log likelihood "
            f"{self.log_lik:,.1f} (stated preference {self.log_lik_stated:,.1f})"
        )


def mean_p(scorer: _Scorer, chosen: np.ndarray) -> np.ndarray:
    """Each customer's probability of returning with their ``chosen`` action (-1: not
    scored, NaN), the mean over the draws, with the scorer's calibration and reach."""
    n = len(chosen)
    out = np.full(n, np.nan)

    def keep(n0: int, dp: np.ndarray, dv: np.ndarray) -> tuple[int, np.ndarray]:
        return n0, dp.mean(axis=1)

    _, _, _, _, parts = scorer.run(False, chosen, np.zeros(n, np.int64), 1, keep)
    for part in parts:
        assert isinstance(part, tuple)
        n0, p = part
        out[n0 : n0 + len(p)] = p
    out[chosen < 0] = np.nan
    return out


def adjusted(scorer: _Scorer, scale: np.ndarray | float, shift: np.ndarray | float) -> _Scorer:
    """The scorer with stated utilities adjusted: times ``scale`` (and the markets' exponent),
    none plus ``shift`` (per draw or one value), no reach."""
    s = scorer.n_samples
    gain = scorer.exponent * np.broadcast_to(np.asarray(scale, dtype=float), (s,))
    return replace(
        scorer,
        gain=np.ascontiguousarray(gain),
        shift=np.ascontiguousarray(np.broadcast_to(np.asarray(shift, dtype=float), (s,))),
        reach=1.0,
    )


def fit_outcome_calibration(
    scores: CampaignScores,
    chosen: np.ndarray,
    returned: np.ndarray,
    *,
    adjust: str = "scale_and_none",
) -> OutcomeCalibration:
    """Fit the scale and none shift to the contacted customers' outcomes (Bernoulli maximum
    likelihood over the posterior predictive probability; see the module notes).

    Parameters
    ----------
    scores : CampaignScores
        :func:`analysis.campaign.score_customers` of the plan (stated or calibrated: the fit
        starts from the stated utilities either way).
    chosen : ndarray of int (customer,)
        The action index (of ``scores.actions``) each customer was contacted with; -1 for the
        customers left out (not contacted, no outcome).
    returned : ndarray of bool (customer,)
        Whether each customer came back.
    adjust : {"scale_and_none", "none_shift", "scale"}

    Returns
    -------
    OutcomeCalibration
    """
    if adjust not in ADJUST:
        raise ParameterError(f"adjust = {adjust!r} is not valid; valid: {list_valid(ADJUST)}.")
    if scores.scorer is None:
        raise WinbackError("these scores carry no scorer; make them with score_customers.")
    chosen = np.asarray(chosen, dtype=np.int64)
    y = np.asarray(returned, dtype=bool)
    used = chosen >= 0
    n, k = int(used.sum()), int(y[used].sum())
    if n == 0:
        raise WinbackError("no contacted customer with an outcome: nothing to calibrate on.")
    if k in (0, n):
        what = "none" if k == 0 else "every one"
        raise WinbackError(
            f"of the {n:,} contacted customers {what} came back: the outcomes cannot fix a scale "
            "and none shift (the likelihood is largest at an infinite shift). Calibrate on a "
            "campaign with returns and non-returns."
        )
    yu = y[used]
    stated = scores.scorer

    def nll(theta: np.ndarray) -> float:
        p = mean_p(adjusted(stated, np.exp(theta[0]), theta[1]), chosen)[used]
        p = np.clip(p, 1e-12, 1.0 - 1e-12)
        return -float(np.sum(np.where(yu, np.log(p), np.log1p(-p))))

    from scipy.optimize import minimize, minimize_scalar  # about 0.3 s: only when fitting

    free = {"scale_and_none": [0, 1], "none_shift": [1], "scale": [0]}[adjust]
    theta = np.zeros(2)
    if adjust in ("scale_and_none", "none_shift"):  # the shift alone first: a good start
        r = minimize_scalar(lambda d: nll(np.array([0.0, d])), bounds=_SHIFT, method="bounded",
                            options={"xatol": 1e-6})  # fmt: skip
        theta[1] = r.x
    if adjust == "scale":
        r = minimize_scalar(lambda ls: nll(np.array([ls, 0.0])), bounds=_LOG_S, method="bounded",
                            options={"xatol": 1e-6})  # fmt: skip
        theta[0] = r.x
    if adjust == "scale_and_none":
        simplex = theta + np.array([[0.0, 0.0], [0.3, 0.0], [0.0, 0.3]])
        res = minimize(
            nll,
            theta,
            method="Nelder-Mead",
            bounds=[_LOG_S, _SHIFT],
            options={"xatol": 1e-6, "fatol": 1e-8, "initial_simplex": simplex},
        )
        theta = res.x
    f0 = nll(theta)
    hess = np.zeros((2, 2))
    h = _STEP
    for a in free:
        for b in free:
            if a == b:
                e = np.zeros(2)
                e[a] = h
                hess[a, a] = (nll(theta + e) - 2 * f0 + nll(theta - e)) / h**2
            elif a < b:
                ea, eb = np.eye(2)[a] * h, np.eye(2)[b] * h
                v = (
                    nll(theta + ea + eb) - nll(theta + ea - eb) - nll(theta - ea + eb)
                    + nll(theta - ea - eb)
                ) / (4 * h**2)  # fmt: skip
                hess[a, b] = hess[b, a] = v
    sub = hess[np.ix_(free, free)]
    if not np.all(np.linalg.eigvalsh(sub) > 0):
        raise WinbackError(
            "the outcomes do not identify the adjustment (the likelihood is flat or not at a "
            f'maximum: information {np.round(sub, 3).tolist()}); try adjust = "none_shift".'
        )
    cov = np.zeros((2, 2))
    cov[np.ix_(free, free)] = np.linalg.inv(sub)
    sd = np.sqrt(np.diag(cov))
    rho = float(cov[0, 1] / (sd[0] * sd[1])) if sd.all() else 0.0
    scale = float(np.exp(theta[0]))
    return OutcomeCalibration(
        scale=scale,
        none_shift=float(theta[1]),
        scale_sd=float(scale * sd[0]),
        none_shift_sd=float(sd[1]),
        correlation=rho,
        n=n,
        n_returned=k,
        adjust=adjust,
        log_lik=-f0,
        log_lik_stated=-nll(np.zeros(2)),
    )
