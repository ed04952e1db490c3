"""Stated against revealed: what a campaign's outcomes say about its plan, and the calibration
they give the next run (:func:`measure_outcomes`).

For the contacted customers with an outcome (``results.csv``, :func:`read_results`):

- predicted against realised win-back by action and by segment: the prediction with its band
  over the plan's posterior draws (the draws' sums over the group's customers, so the band
  carries the uncertainty the customers share), the realised share with a Wilson score
  interval (binomial);
- a calibration curve: the contacted customers in bins of equal count by predicted
  probability, the mean prediction against the realised share (Wilson interval) and the count;
- the Brier score ``mean_i (p_i - y_i)^2`` of the plan's predictions, of the predictions after
  the outcomes calibration, and of the realised rate given to everyone (the base rate's,
  ``ybar (1 - ybar)``: a prediction that knows nothing about customers);
- the uplift against the control group: per stratum (the plan's segment x planned action, as
  the control group was drawn) the difference of the shares who came back among the contacted
  and the held out; by action, by segment and overall the strata's differences weighted by the
  strata's planned customers (so contacted and held-out are compared like for like), with a
  normal band whose variance is the sum of the strata's, each arm's share adjusted as Agresti and
  Caffo do (one return and one non-return added, for the variance only: an arm where nobody came
  back does not get a band of width 0);
- the calibration the outcomes give (:func:`fit_outcome_calibration`), and every prediction
  again with it.

See ``docs/campaign.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.calibration import outcome_adjustments
from analysis.campaign.outcome_fit import (
    OutcomeCalibration,
    adjusted,
    fit_outcome_calibration,
    mean_p,
)
from analysis.campaign.plan import Campaign
from analysis.campaign.results import CampaignResults
from analysis.campaign.scoring import DO_NOT_CONTACT, CampaignScores
from winback.errors import WinbackError
from winback.settings import BAND, band_label, check_band

__all__ = ["Outcomes", "measure_outcomes", "wilson"]

_BINS = 10


def wilson(k: np.ndarray, n: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``k`` successes in ``n`` (NaN where ``n`` is 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    # lazy: scipy.special (about 0.3 s to import, with scipy.linalg) loads when a band is made
    from scipy.special import ndtri

    z = ndtri(0.5 + band / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        mid = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return mid - half, mid + half


@dataclass(frozen=True)
class Outcomes:
    """What a campaign's outcomes say.

    Attributes
    ----------
    by_action, by_segment : DataFrame
        ``action`` (or ``segment``), ``contacted, returned, realised, realised_lower,
        realised_upper`` (Wilson), ``predicted, predicted_lower, predicted_upper`` (the plan's,
        band over the draws), ``calibrated, calibrated_lower, calibrated_upper`` (after the
        outcomes calibration), ``revenue, months_retained`` (means over those who came back,
        where the results give them).
    curve : DataFrame
        ``bin, n, predicted, calibrated, realised, realised_lower, realised_upper``.
    uplift : DataFrame
        ``level`` (stratum, action, segment, all), ``segment, action, contacted,
        contacted_returned, control, control_returned, rate_contacted, rate_control, uplift,
        uplift_lower, uplift_upper``.
    summary : DataFrame
        ``measure, value, lower, upper``: counts, rates, the Brier scores, the overall uplift,
        the calibration.
    calibration : OutcomeCalibration
    brier, brier_calibrated, brier_base_rate : float
    band : float
    counts : dict
        Customers of the results not in the plan, planned contacts without an outcome, planned
        contacts not reached, held-out customers contacted anyway.
    """

    by_action: pd.DataFrame = field(repr=False)
    by_segment: pd.DataFrame = field(repr=False)
    curve: pd.DataFrame = field(repr=False)
    uplift: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    calibration: OutcomeCalibration
    brier: float
    brier_calibrated: float
    brier_base_rate: float
    band: float
    basis: str
    counts: dict[str, int] = field(default_factory=dict)
    p_calibrated: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def report(self) -> str:
        """Stated against revealed, in plain words."""
        b = band_label(self.band)
        tot = self.by_action.iloc[-1]
        c = self.calibration
        lines = [
            f"{int(tot['contacted']):,} customers contacted with an outcome; "
            f"{int(tot['returned']):,} came back: {tot['realised']:.1%} "
            f"[{tot['realised_lower']:.1%}, {tot['realised_upper']:.1%}] (Wilson, {b}).",
            f"The plan ({self.basis} predictions) expected {tot['predicted']:.1%} "
            f"[{tot['predicted_lower']:.1%}, {tot['predicted_upper']:.1%}].",
            "",
            "By action: predicted (plan) -> realised; after the outcomes calibration",
        ]
        for r in self.by_action.iloc[:-1].itertuples(index=False):
            lines.append(
                f"  {r.action:<24} {int(r.contacted):>7,} contacted  {r.predicted:6.1%} -> "
                f"{r.realised:6.1%} [{r.realised_lower:.1%}, {r.realised_upper:.1%}];  "
                f"calibrated {r.calibrated:6.1%}"
            )
        lines += [
            "",
            f"Brier score {self.brier:.4f} (plan), {self.brier_calibrated:.4f} (after "
            f"calibration, on the same outcomes), {self.brier_base_rate:.4f} (the realised rate "
            "for everyone); lower is better.",
        ]
        up = self.uplift[self.uplift["level"] == "all"]
        if len(up) and np.isfinite(up.iloc[0]["uplift"]):
            u = up.iloc[0]
            lines.append(
                f"Uplift against the control group: {u['uplift']:+.1%} "
                f"[{u['uplift_lower']:+.1%}, {u['uplift_upper']:+.1%}] ({b}; "
                f"{u['rate_contacted']:.1%} of {int(u['contacted']):,} contacted came back, "
                f"{u['rate_control']:.1%} of {int(u['control']):,} held out)."
            )
        else:
            lines.append("Uplift: no stratum has both contacted and held-out customers.")
        lines += [
            "",
            f"Calibration from the outcomes: real utility = {c.scale:.3f} (se {c.scale_sd:.3f}) x "
            f"stated, none {c.none_shift:+.3f} (se {c.none_shift_sd:.3f}) more attractive; log "
            f"likelihood {c.log_lik:,.1f} against {c.log_lik_stated:,.1f} for stated "
            "preference. Give it to the next simulate / recommend / target (--calibration "
            "outcomes/calibration.toml) or copy it into the next wave's study file.",
        ]
        notes = {
            "not_in_plan": "customers in the results are not in the plan (left out)",
            "no_outcome": "planned contacts have no row in the results",
            "not_reached": "planned contacts were not reached (contacted = 0; left out)",
            "control_contacted": "held-out customers were contacted anyway (counted as contacted)",
        }
        for key, text in notes.items():
            if self.counts.get(key):
                lines.append(f"Note: {self.counts[key]:,} {text}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def _groups(values: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Names, index per customer, and the group index (-1 where not chosen)."""
    names, idx = np.unique(values.astype(str), return_inverse=True)
    return names, idx, np.where(chosen >= 0, idx, -1)


def _compare(
    key: str,
    names: np.ndarray,
    idx: np.ndarray,
    used: np.ndarray,
    y: np.ndarray,
    p_plan: np.ndarray,
    p_cal: np.ndarray,
    draws_plan: np.ndarray,
    draws_cal: np.ndarray,
    extra: dict[str, np.ndarray],
    band: float,
) -> pd.DataFrame:
    """Predicted against realised per group and in total; ``draws_*`` the predicted rate per
    group and draw, the total's last (group + 1, sample)."""
    lo = (1.0 - band) / 2.0
    rows = []
    for g, name in [*enumerate(names), (-1, "all")]:
        m = used & (idx == g) if g >= 0 else used
        n, k = int(m.sum()), int(y[m].sum())
        if n == 0:
            continue
        rl, ru = wilson(np.array([k]), np.array([n]), band)
        dp, dc = draws_plan[g], draws_cal[g]
        row: dict[str, object] = {
            key: name,
            "contacted": n,
            "returned": k,
            "realised": k / n,
            "realised_lower": float(rl[0]),
            "realised_upper": float(ru[0]),
            "predicted": float(p_plan[m].mean()),
            "predicted_lower": float(np.quantile(dp, lo)),
            "predicted_upper": float(np.quantile(dp, 1 - lo)),
            "calibrated": float(p_cal[m].mean()),
            "calibrated_lower": float(np.quantile(dc, lo)),
            "calibrated_upper": float(np.quantile(dc, 1 - lo)),
        }
        for col, v in extra.items():
            back = m & y & np.isfinite(v)
            row[col] = float(v[back].mean()) if back.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _curve(p: np.ndarray, pc: np.ndarray, y: np.ndarray, band: float) -> pd.DataFrame:
    n_bins = int(max(1, min(_BINS, len(p) // 30)))
    order = np.argsort(p, kind="stable")
    rows = []
    for b, part in enumerate(np.array_split(order, n_bins)):
        k, n = int(y[part].sum()), len(part)
        rl, ru = wilson(np.array([k]), np.array([n]), band)
        rows.append(
            {
                "bin": b + 1,
                "n": n,
                "predicted_from": float(p[part].min()),
                "predicted_to": float(p[part].max()),
                "predicted": float(p[part].mean()),
                "calibrated": float(pc[part].mean()),
                "realised": k / n,
                "realised_lower": float(rl[0]),
                "realised_upper": float(ru[0]),
            }
        )
    return pd.DataFrame(rows)


def _uplift(
    seg: np.ndarray,
    planned: np.ndarray,
    treated: np.ndarray,
    held: np.ndarray,
    y: np.ndarray,
    band: float,
) -> pd.DataFrame:
    """Contacted against held out within the plan's strata (segment x planned action)."""
    # lazy: scipy.special (about 0.3 s to import, with scipy.linalg) loads when a band is made
    from scipy.special import ndtri

    z = ndtri(0.5 + band / 2.0)
    frame = pd.DataFrame(
        {
            "segment": seg,
            "action": planned,
            "n": 1,
            "t": treated.astype(int),
            "ty": (treated & y).astype(int),
            "c": held.astype(int),
            "cy": (held & y).astype(int),
        }
    )
    frame = frame[frame["action"] != DO_NOT_CONTACT]
    st = frame.groupby(["segment", "action"], sort=True).sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        st["r1"] = st["ty"] / st["t"]
        st["r0"] = st["cy"] / st["c"]
        a1 = (st["ty"] + 1) / (st["t"] + 2)
        a0 = (st["cy"] + 1) / (st["c"] + 2)
        st["var"] = a1 * (1 - a1) / (st["t"] + 2) + a0 * (1 - a0) / (st["c"] + 2)
    ok = (st["t"] > 0) & (st["c"] > 0)
    rows = []

    def row(level: str, seg_name: str, act: str, part: pd.DataFrame) -> None:
        good = part[ok.loc[part.index]]
        out: dict[str, object] = {
            "level": level,
            "segment": seg_name,
            "action": act,
            "strata": len(part),
            "strata_measured": len(good),
            "contacted": int(good["t"].sum()),
            "contacted_returned": int(good["ty"].sum()),
            "control": int(good["c"].sum()),
            "control_returned": int(good["cy"].sum()),
        }
        if len(good):
            w = good["n"] / good["n"].sum()
            r1 = float((w * good["r1"]).sum())
            r0 = float((w * good["r0"]).sum())
            se = float(np.sqrt((w**2 * good["var"]).sum()))
            out.update(rate_contacted=r1, rate_control=r0, uplift=r1 - r0,
                       uplift_lower=r1 - r0 - z * se, uplift_upper=r1 - r0 + z * se)  # fmt: skip
        else:
            out.update(rate_contacted=np.nan, rate_control=np.nan, uplift=np.nan,
                       uplift_lower=np.nan, uplift_upper=np.nan)  # fmt: skip
        rows.append(out)

    for i in st.index:
        row("stratum", str(st.at[i, "segment"]), str(st.at[i, "action"]), st.loc[[i]])
    for act, part in st.groupby("action", sort=True):
        row("action", "all", str(act), part)
    for s, part in st.groupby("segment", sort=True):
        row("segment", str(s), "all", part)
    row("all", "all", "all", st)
    return pd.DataFrame(rows)


def measure_outcomes(
    campaign: Campaign | pd.DataFrame,
    scores: CampaignScores,
    results: CampaignResults,
    *,
    adjust: str = "scale_and_none",
    band: float | None = None,
    random_seed: int = 1,
) -> Outcomes:
    """Compare what the plan predicted with what the customers did, and fit the calibration
    the outcomes give.

    Parameters
    ----------
    campaign : Campaign or DataFrame
        :func:`plan_campaign`, or its ``table`` (``campaign.csv``: ``customer_id, action,
        control, contact``).
    scores : CampaignScores
        The scores the plan was made from (:func:`score_customers`, the same customer list in
        the same order): its predictions and their draws.
    results : CampaignResults
        :func:`read_results`.
    adjust : {"scale_and_none", "none_shift", "scale"}
        The adjustment fitted (:func:`fit_outcome_calibration`).
    band : float, optional
        Default: the campaign's band.
    random_seed : int
        Seed of the calibration's per-draw adjustments (as the next run draws them).

    Returns
    -------
    Outcomes

    Examples
    --------
    >>> results = read_results("results.csv", actions=scores.actions)  # doctest: +SKIP
    >>> outcomes = measure_outcomes(campaign, scores, results)  # doctest: +SKIP
    >>> print(outcomes.report())  # doctest: +SKIP
    """
    if isinstance(campaign, Campaign):
        band = campaign.band if band is None else band
        table = campaign.table
    else:
        table = campaign
    band = check_band(BAND if band is None else band)
    ids = table["customer_id"].astype(str).to_numpy(dtype=object)
    if tuple(ids) != tuple(scores.customers.ids):
        raise WinbackError(
            "the scores were made for another customer list than the campaign's (ids differ); "
            "pass the scores the plan was made from."
        )
    if scores.scorer is None:
        raise WinbackError("these scores carry no scorer; make them with score_customers.")
    n = len(ids)
    pos = pd.Series(np.arange(n), index=pd.Index(ids))
    res = results.frame
    known = res["customer_id"].isin(pos.index).to_numpy()
    r = res[known]
    at = pos.loc[r["customer_id"]].to_numpy()
    has = np.zeros(n, dtype=bool)
    has[at] = True
    contacted = np.zeros(n, dtype=bool)
    contacted[at] = r["contacted"].to_numpy(dtype=bool)
    y = np.zeros(n, dtype=bool)
    y[at] = r["returned"].to_numpy(dtype=bool)
    act_name = np.full(n, "", dtype=object)
    act_name[at] = r["action"].to_numpy(dtype=object)
    index = {a: j for j, a in enumerate(scores.actions) if a != DO_NOT_CONTACT}
    bad = sorted({a for a in act_name[contacted] if a not in index})
    if bad:
        raise WinbackError(
            f"{results.source}: action(s) {bad} are not actions of these scores "
            f"({', '.join(index)})."
        )
    chosen = np.full(n, -1, dtype=np.int64)
    chosen[contacted] = [index[a] for a in act_name[contacted]]
    extra = {}
    for col in ("revenue", "months_retained"):
        v = np.full(n, np.nan)
        v[at] = r[col].to_numpy(dtype=float)
        if np.isfinite(v).any():
            extra[col] = v
    plan_contact = table["contact"].to_numpy(dtype=bool)
    plan_control = table["control"].to_numpy(dtype=bool)
    counts = {
        "not_in_plan": int((~known).sum()),
        "no_outcome": int((plan_contact & ~has).sum()),
        "not_reached": int((plan_contact & has & ~contacted).sum()),
        "control_contacted": int((plan_control & contacted).sum()),
    }
    used = chosen >= 0
    if not used.any():
        raise WinbackError(
            f"{results.source}: no customer of the plan was contacted (contacted = 1)."
        )

    cal = fit_outcome_calibration(scores, chosen, y, adjust=adjust)
    scale, shift = outcome_adjustments(
        cal.calibration(), scores.scorer.n_samples, random_seed=random_seed
    )
    cal_scorer = adjusted(scores.scorer, scale, shift)
    # the outcomes are of customers the contact reached: the plan's probability given reached
    # (its p_return is per contact attempt, times the calibration's availability)
    reach = float(scores.scorer.reach)
    plan_scorer = replace(scores.scorer, reach=1.0)
    p_return = scores.p_return[np.arange(n), np.maximum(chosen, 0)] / reach
    p_plan = np.where(used, p_return, np.nan)
    p_cal = mean_p(cal_scorer, chosen)

    tables = {}
    for key, values in (("action", act_name), ("segment", scores.customers.segments())):
        names, idx, group = _groups(np.asarray(values), chosen)
        g = np.where(group >= 0, group, 0).astype(np.int64)
        cnt = np.bincount(g[used], minlength=len(names)).astype(float)
        draws = []
        for sc in (plan_scorer, cal_scorer):
            # the draws' sums over each group's customers, and over all: rates per draw
            _, _, tot, _, _ = sc.run(False, chosen, g, len(names))
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = tot / cnt[:, None]
            draws.append(np.vstack([rate, tot.sum(axis=0) / cnt.sum()]))
        tables[key] = _compare(
            key, names, idx, used, y, p_plan, p_cal, draws[0], draws[1], extra, band
        )

    yu = y[used].astype(float)
    base = float(yu.mean())
    brier = float(np.mean((p_plan[used] - yu) ** 2))
    brier_cal = float(np.mean((p_cal[used] - yu) ** 2))
    brier_base = float(np.mean((base - yu) ** 2))
    curve = _curve(p_plan[used], p_cal[used], y[used], band)
    held = plan_control & has & ~contacted
    uplift = _uplift(
        scores.customers.segments().astype(str),
        table["action"].astype(str).to_numpy(dtype=object),
        contacted & (table["action"].astype(str).to_numpy() != DO_NOT_CONTACT),
        held,
        y,
        band,
    )
    summary = _summary(tables["action"], uplift, cal, brier, brier_cal, brier_base, counts)
    return Outcomes(
        by_action=tables["action"],
        by_segment=tables["segment"],
        curve=curve,
        uplift=uplift,
        summary=summary,
        calibration=cal,
        brier=brier,
        brier_calibrated=brier_cal,
        brier_base_rate=brier_base,
        band=band,
        basis=scores.basis,
        counts=counts,
        p_calibrated=p_cal,
    )


def _summary(
    by_action: pd.DataFrame,
    uplift: pd.DataFrame,
    cal: OutcomeCalibration,
    brier: float,
    brier_cal: float,
    brier_base: float,
    counts: dict[str, int],
) -> pd.DataFrame:
    tot = by_action.iloc[-1]
    nan = np.nan
    rows = [
        ("contacted", tot["contacted"], nan, nan),
        ("returned", tot["returned"], nan, nan),
        ("realised win-back", tot["realised"], tot["realised_lower"], tot["realised_upper"]),
        ("predicted win-back (plan)", tot["predicted"], tot["predicted_lower"],
         tot["predicted_upper"]),
        ("predicted win-back (calibrated)", tot["calibrated"], tot["calibrated_lower"],
         tot["calibrated_upper"]),
        ("Brier score (plan)", brier, nan, nan),
        ("Brier score (calibrated)", brier_cal, nan, nan),
        ("Brier score (base rate)", brier_base, nan, nan),
    ]  # fmt: skip
    up = uplift[uplift["level"] == "all"]
    if len(up):
        u = up.iloc[0]
        rows.append(("uplift", u["uplift"], u["uplift_lower"], u["uplift_upper"]))
    z = 1.0  # the calibration's rows give +- one standard error
    rows += [
        ("calibration scale", cal.scale, cal.scale - z * cal.scale_sd, cal.scale + z * cal.scale_sd),
        ("calibration none shift", cal.none_shift, cal.none_shift - z * cal.none_shift_sd,
         cal.none_shift + z * cal.none_shift_sd),
        ("calibration correlation", cal.correlation, nan, nan),
        ("log likelihood (calibrated)", cal.log_lik, nan, nan),
        ("log likelihood (stated)", cal.log_lik_stated, nan, nan),
    ]  # fmt: skip
    rows += [(k.replace("_", " "), v, nan, nan) for k, v in counts.items()]
    return pd.DataFrame(rows, columns=["measure", "value", "lower", "upper"])
