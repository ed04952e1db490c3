"""The stored sample of individual draws behind the live simulator sheet.

The decision (``recommend/decision.csv``, :func:`analysis.decide`) scores every candidate on
every posterior draw of every respondent's part-worths, calibrated draw by draw when the run is
calibrated. The live sheet (:mod:`reports.live_sheet`) reproduces it with spreadsheet formulas
from a stored sample of ``S`` of those draws (``S x R`` rows, one per draw and respondent).
:class:`LiveSample` is that sample and everything the sheet shows besides:

- **the calibration**, refitted on today's market with the run's recorded seed exactly as
  ``winback recommend`` fitted it (:func:`analysis.calibrate`): each stored draw carries the
  same scale and none shift as in the decision; the stored part-worths are the calibrated ones
  (:meth:`analysis.CalibratedDraws.adjusted`) times the market's exponent, and the
  availability multiplies our products' shares in the sheet as in the decision;
- **the opening scenario**, the recommended action's market rebuilt from ``decision.csv`` and
  the search tables (the offer, the tier menu or the entry menu replacing today's product; the
  products it takes off the market stay in the sheet, switched off), checked against the
  decision's own figures;
- **the draws**: the posterior draws sorted by the opening scenario's value (profit per year,
  or the objective per lost customer), cut into ``S`` equal strata and one draw taken at random
  from each, so the sample's mean and band of that scenario are close to the full posterior's;
  :func:`mc_error` estimates the Monte Carlo error of any scenario from the sample itself
  (successive differences in stratum order), the sheet does the same live;
- **the segments** (a respondent answer, by default the main reason for leaving) and weights.

:meth:`LiveSample.figures` computes on the stored draws what the sheet computes, with the
simulator of :mod:`analysis` (calibrated or stated shares, customers and money).

Examples
--------
>>> sample = make_live_sample(draws, today, decision=decision_csv, settings=settings)  # doctest: +SKIP
>>> sample.figures(sample.market())["own"].mean()  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.calibration import CalibratedDraws, calibrate
from analysis.money import money_draws
from analysis.offers.objectives import price_of, unit_cost
from analysis.simulator import Market, PartWorthDraws, Product, respondent_weights, simulate
from reports.live_scenario import columns, segments
from reports.live_scenario import opening as opening_of
from surveys.reasons import REASON_LABELS
from winback._io import unescape_frame
from winback.errors import WinbackError
from winback.run_folder import IMPORT, RECOMMEND, RunFolder
from winback.settings import BAND, check_band, default_objective
from winback.study import Study, load_study

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = [
    "ALL",
    "DIGITS",
    "ROW_BUDGET",
    "LiveSample",
    "make_live_sample",
    "mc_error",
    "n_stored_draws",
    "read_live_sample",
    "scenario_figures",
    "stratified_draws",
]

#: the most rows (draws x respondents) the sheet stores: about 7 MB per 50,000 rows and a
#: recalculation of seconds in LibreOffice
ROW_BUDGET = 50_000
#: the fewest draws stored (more rows than the budget for a very large sample of respondents)
MIN_DRAWS = 20
#: the most draws stored: beyond, the stratified sample's Monte Carlo error is already small
#: against the posterior's spread, and every row costs file size and recalculation time
MAX_DRAWS = 200
#: significant digits of the stored part-worths (a share moves by less than 1e-5)
DIGITS = 6
#: the segment filter's choice for every respondent
ALL = "All lost customers"


def n_stored_draws(n_posterior: int, n_respondents: int, budget: int = ROW_BUDGET) -> int:
    """How many posterior draws the sheet stores: as many as ``budget`` rows allow, at least
    :data:`MIN_DRAWS`, at most :data:`MAX_DRAWS` and all of them.

    Examples
    --------
    >>> n_stored_draws(4000, 460)
    108
    >>> n_stored_draws(600, 120)
    200
    """
    rows = max(MIN_DRAWS, budget // max(n_respondents, 1))
    return int(min(n_posterior, MAX_DRAWS, rows))


def stratified_draws(values: np.ndarray, n: int, *, random_seed: int = 1) -> np.ndarray:
    """Indices of ``n`` draws: the draws sorted by ``values``, cut into ``n`` equal strata,
    one draw at random from each, in stratum order (all draws, sorted, when ``n`` is not
    smaller than their number).

    Examples
    --------
    >>> stratified_draws(np.array([5.0, 1.0, 3.0, 2.0]), 2, random_seed=1).tolist()
    [1, 0]
    """
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    if n >= len(values):
        return order
    edges = np.linspace(0, len(values), n + 1).round().astype(int)
    rng = np.random.default_rng(random_seed)
    return np.array([order[rng.integers(edges[h], edges[h + 1])] for h in range(n)])


def mc_error(values: np.ndarray, n_posterior: int) -> float:
    """Monte Carlo error of the stored sample's mean against the full posterior's: two
    standard errors, from the successive differences of ``values`` in stratum order (the
    variance estimator of a systematic sample, which is conservative when the values follow
    the strata) with the finite population correction ``1 - S / D``; 0 when every draw is
    stored.

    ``var = (1 - S/D) * sum_h (x_{h+1} - x_h)^2 / (2 S (S - 1))``; the sheet computes the same
    for whatever scenario is on it.

    Examples
    --------
    >>> round(mc_error(np.array([1.0, 2.0, 3.0, 4.0]), 400), 4)
    0.7036
    """
    x = np.asarray(values, dtype=float)
    s = len(x)
    if s < 2 or s >= n_posterior:
        return 0.0
    var = (1.0 - s / n_posterior) * float(np.sum(np.diff(x) ** 2)) / (2.0 * s * (s - 1))
    return 2.0 * math.sqrt(var)


def _objective_draws(study: Study, market: Market, s: np.ndarray, objective: str) -> np.ndarray:
    """The objective per lost customer of all our products (as the decision without
    ``[business]``): share, revenue or profit per month."""
    total = np.zeros(s.shape[0])
    for j, p in enumerate(market.products):
        if p.own:
            if objective == "share":
                m = 1.0
            else:
                price = price_of(study, p)
                cost = (
                    unit_cost(study, p.levels, market.extrapolate) if objective == "profit" else 0
                )
                m = price - cost
            total = total + s[:, j] * m
    return total


def scenario_figures(
    draws: PartWorthDraws,
    calibration: CalibratedDraws | None,
    market: Market,
    *,
    objective: str,
    weights: np.ndarray,
    random_seed: int = 1,
) -> dict[str, np.ndarray]:
    """A market's figures on every draw, as the decision computes them.

    ``shares`` (draw, alternative: products then none; calibrated with the availability
    applied, or stated preference shares with the market's rule), ``own`` (our products
    together), and with the study's ``[business]`` ``customers``, ``revenue_year`` and
    ``profit_year`` (all lost customers in scope); ``value`` is the decision's scale: profit
    per year with ``[business]``, the ``objective`` per lost customer without.
    ``weights`` (one per respondent) need not add up to one: the lost customers in scope are
    ``N`` times their sum (a segment's share of the weight).
    """
    study = draws.study
    part = float(np.sum(weights))
    w = respondent_weights(draws, weights)
    if calibration is not None:
        s = calibration.share_draws(market, weights=w)
        reach = calibration.calibration.availability
    else:
        s = simulate(draws, market, weights=w, random_seed=random_seed).share_draws
        reach = 1.0
    own = [j for j, p in enumerate(market.products) if p.own]
    out = {"shares": s, "own": s[:, own].sum(axis=1)}
    business = study.business
    if business is not None and own:
        total = money_draws(s, market.products, study, business, reach=reach)["total"]
        for key in ("customers", "revenue_year", "profit_year"):
            out[key] = total[key] * part
        out["value"] = out["profit_year"]
    else:
        out["value"] = _objective_draws(study, market, s, objective)
    return out


@dataclass(frozen=True)
class LiveSample:
    """The stored draws of the live simulator sheet and what it opens on.

    Attributes
    ----------
    draws : PartWorthDraws
        The ``S`` stored posterior draws (uncalibrated), in stratum order; its study carries
        the run's ``[costs]``, ``[business]`` and ``[calibration]``.
    calibration : CalibratedDraws or None
        The calibration on the stored draws (each draw's scale and none shift, as in the
        decision); None for stated preference shares.
    today : Market
        Today's market (its exponent, none and rule are the sheet's).
    products, on : tuple
        The sheet's product columns (unique names) and which are on the market at opening.
    scenario, description, kind : str
        The opening scenario: the recommended action's name, what it is, its kind.
    note : str
        What the sheet opens on and why, in words.
    weights : ndarray (respondent,)
        Respondent weights adding up to one (the run's ``weights`` column, else equal).
    segment : str or None
        The respondent answer the segment filter uses; ``segments`` holds each respondent's
        value in words.
    objective : str
        The decision's scale without ``[business]``.
    band : float
    draw_index : ndarray (S,)
        Which posterior draws are stored (positions among all chains' draws, flattened).
    n_posterior : int
        All posterior draws.
    full : dict of str to float
        The opening scenario on every posterior draw (the decision page's figures): ``own``,
        ``value``, ... with ``_lower`` / ``_upper``.
    notes : tuple of str
        What could not be reproduced, in words.
    """

    draws: PartWorthDraws
    calibration: CalibratedDraws | None
    today: Market
    products: tuple[Product, ...]
    on: tuple[bool, ...]
    scenario: str
    description: str
    kind: str
    note: str
    weights: np.ndarray
    segment: str | None
    segments: tuple[str, ...]
    objective: str
    band: float
    draw_index: np.ndarray
    n_posterior: int
    full: Mapping[str, float]
    notes: tuple[str, ...] = ()

    @property
    def study(self) -> Study:
        return self.draws.study

    @property
    def n_draws(self) -> int:
        return self.draws.n_samples

    @property
    def basis(self) -> str:
        """``calibrated`` or ``stated``."""
        return "calibrated" if self.calibration is not None else "stated"

    @property
    def reach(self) -> float:
        """The share of lost customers the offer reaches (the availability; 1 when stated)."""
        return self.calibration.calibration.availability if self.calibration is not None else 1.0

    def stored_beta(self) -> np.ndarray:
        """(draw, respondent, parameter): what the sheet stores, the part-worths calibrated
        (times the draw's scale, none plus the draw's shift over the exponent) times the
        market's exponent, to :data:`DIGITS` significant digits."""
        d = self.calibration.adjusted() if self.calibration is not None else self.draws
        b = np.asarray(d.beta, dtype=float) * self.today.exponent
        flat = np.array([float(f"{v:.{DIGITS}g}") for v in b.ravel().tolist()])
        return flat.reshape(b.shape)

    def market(self, on: Sequence[bool] | None = None, **levels: Mapping[str, Any]) -> Market:
        """The market of a state of the sheet: the products switched on (``on``; the opening
        state by default), any of them with changed levels (``levels``: product name to
        ``{attribute: level}``); the logit rule with today's exponent."""
        on = self.on if on is None else tuple(on)
        prods = []
        for p, keep in zip(self.products, on, strict=True):
            if keep:
                change = levels.get(p.name, {})
                prods.append(replace(p, levels={**dict(p.levels), **change}))
        return replace(self.today, products=tuple(prods), rule="logit", calibration=None)

    def segment_weights(self, segment: str | None = None) -> np.ndarray:
        """The respondents' weights within ``segment`` (a value of :attr:`segments`, or None
        and :data:`ALL` for everyone), the others 0; they add up to the segment's part."""
        if segment is None or segment == ALL:
            return self.weights.copy()
        mask = np.array([s == segment for s in self.segments])
        if not mask.any():
            raise WinbackError(
                f"no respondent in segment {segment!r}; segments: {sorted(set(self.segments))}."
            )
        return np.where(mask, self.weights, 0.0)

    def figures(self, market: Market, segment: str | None = None) -> dict[str, np.ndarray]:
        """The market's figures on every stored draw (:func:`scenario_figures`), for everyone
        or one segment: what the sheet shows."""
        return scenario_figures(
            self.draws,
            self.calibration,
            market,
            objective=self.objective,
            weights=self.segment_weights(segment),
        )

    def __repr__(self) -> str:
        return (
            f"LiveSample: {self.n_draws} of {self.n_posterior} posterior draws x "
            f"{self.draws.n_respondents} respondents ({self.basis} shares), opening on "
            f"{self.scenario!r}"
        )


# -- the sample ---------------------------------------------------------------------------------


def _band_stats(x: np.ndarray, band: float, prefix: str) -> dict[str, float]:
    lo = (1.0 - band) / 2.0
    return {
        prefix: float(x.mean()),
        f"{prefix}_lower": float(np.quantile(x, lo)),
        f"{prefix}_upper": float(np.quantile(x, 1.0 - lo)),
    }


def make_live_sample(
    draws: PartWorthDraws,
    today: Market,
    *,
    decision: pd.DataFrame | None = None,
    tables: Mapping[str, pd.DataFrame | None] | None = None,
    settings: Mapping[str, Any] | None = None,
    segment_labels: Mapping[str, str] | None = None,
    budget: int = ROW_BUDGET,
) -> LiveSample:
    """The live sheet's stored sample of a run.

    Parameters
    ----------
    draws : PartWorthDraws
        Every posterior draw (``PartWorthDraws.from_model``), its study carrying the run's
        ``[costs]``, ``[business]`` and ``[calibration]`` (the study file given to
        ``recommend``).
    today : Market
        Today's market (``market.toml``): the baseline and the calibration's market.
    decision : DataFrame, optional
        ``recommend/decision.csv``: the recommended action opens the sheet and its figures
        are checked; without it the sheet opens on today's market with stated shares.
    tables : dict, optional
        ``offers``, ``tiers``, ``unbundling``: the search tables the action is rebuilt from.
    settings : dict, optional
        ``recommend/run.json``'s settings: ``basis``, ``random_seed``, ``weights``,
        ``segment``, ``objective``, ``band``, ``product``.
    segment_labels : dict, optional
        Words for the segment values (the reasons' labels of ``import/reasons.csv``).
    budget : int
        The most rows (draws x respondents) to store (:func:`n_stored_draws`).

    Returns
    -------
    LiveSample
    """
    settings = dict(settings or {})
    study = draws.study
    notes: list[str] = []
    seed = int(settings.get("random_seed", 1) or 1)
    band = check_band(settings.get("band", BAND) or BAND)
    objective = str(settings.get("objective") or default_objective(study))
    weights_col = settings.get("weights")
    w = respondent_weights(draws, weights_col if weights_col else None)
    basis = settings.get("basis")
    if basis is None and decision is not None and "basis" in decision.columns and len(decision):
        basis = str(decision["basis"].iloc[0])
    cal = None
    observed = today.calibration or study.calibration
    if basis == "calibrated":
        if observed is None:
            notes.append(
                "The decision was calibrated, but the study and market files no longer have "
                "a [calibration]: the simulator shows stated preference shares."
            )
        else:
            cal = calibrate(draws, today, observed, random_seed=seed)
    opening = opening_of(study, today, settings.get("product"), decision, dict(tables or {}))
    products, on = columns(opening)
    full_draws = scenario_figures(
        draws, cal, opening.market, objective=objective, weights=w, random_seed=seed
    )
    full: dict[str, float] = {}
    for key in ("own", "customers", "revenue_year", "profit_year", "value"):
        if key in full_draws:
            full.update(_band_stats(full_draws[key], band, key))
    if decision is not None and "action" in decision.columns:
        hit = decision[decision["action"].astype(str) == opening.name]
        if len(hit):
            want, got = float(hit["value"].iloc[0]), full["value"]
            if not math.isclose(want, got, rel_tol=1e-6, abs_tol=1e-9):
                notes.append(
                    f"The opening scenario gives {got:,.6g} on the posterior where the decision "
                    f"says {want:,.6g}: the study, market or fit changed after `winback "
                    "recommend` (rerun it for a simulator that agrees)."
                )
    if today.rule != "logit" and cal is None:
        notes.append(
            f"The market's rule is {today.rule!r}; the sheet computes the logit rule, so its "
            "shares differ from the decision's."
        )
    n = n_stored_draws(draws.n_samples, draws.n_respondents, budget)
    idx = stratified_draws(full_draws["value"], n, random_seed=seed)
    stored = replace(draws, beta=draws.beta[idx])
    stored_cal = None
    if cal is not None:
        stored_cal = replace(
            cal, draws=stored, scale=cal.scale[idx], shift=cal.shift[idx], targets=cal.targets[idx]
        )
    column, segs = segments(draws, settings.get("segment"), dict(segment_labels or {}))
    return LiveSample(
        draws=stored,
        calibration=stored_cal,
        today=today,
        products=products,
        on=on,
        scenario=opening.name,
        description=opening.description,
        kind=opening.kind,
        note=opening.note,
        weights=w,
        segment=column,
        segments=segs,
        objective=objective,
        band=band,
        draw_index=idx,
        n_posterior=draws.n_samples,
        full=full,
        notes=tuple(notes),
    )


# -- from a run folder ------------------------------------------------------------------------


def _csv(path: Path) -> pd.DataFrame | None:
    """A table winback wrote (text unescaped), or None when the file is not there."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise WinbackError(f"{path} is not a readable CSV table ({exc}).") from None
    return unescape_frame(frame)


def read_live_sample(
    run: RunFolder, model: HBModel, market: Market, *, budget: int = ROW_BUDGET
) -> LiveSample:
    """The live sheet's stored sample of a run folder: the fit's posterior draws (``fit.nc``),
    the study file ``winback recommend`` used (its ``run.json`` records it; else the run's
    ``study.toml``) for ``[costs]``, ``[business]`` and ``[calibration]``, ``recommend/run.json``'s settings (calibration, seed, weights,
    band, objective), ``decision.csv`` and the search tables for the opening scenario, and the
    reasons' labels for the segment filter. Folders written before any of these still give a
    sample (stated preference shares, opening on today's market)."""
    record = run.record(RECOMMEND)
    settings = dict(record.settings) if record is not None else {}
    study = model.study
    recorded = run.folder(RECOMMEND) / str(settings.get("study") or "")
    study_file = recorded if settings.get("study") and recorded.is_file() else run.study_file
    if study_file.is_file():  # the study file recommend used, else the run's
        given = load_study(study_file)
        study = replace(
            study, costs=given.costs, business=given.business, calibration=given.calibration
        )
    draws = replace(PartWorthDraws.from_model(model), study=study)
    if draws.respondents is None and run.has(IMPORT, "respondents.csv"):
        people = pd.read_csv(run.file(IMPORT, "respondents.csv"), dtype=str, keep_default_na=False)
        if "respondent_id" in people.columns:
            draws = replace(draws, respondents=people.set_index("respondent_id"))
    labels = dict(REASON_LABELS)
    reasons = _csv(run.file(IMPORT, "reasons.csv"))
    if reasons is not None and {"reason", "label"} <= set(reasons.columns):
        labels.update(zip(reasons["reason"].astype(str), reasons["label"].astype(str), strict=True))
    segment = settings.get("segment")
    return make_live_sample(
        draws,
        market,
        decision=_csv(run.file(RECOMMEND, "decision.csv")),
        tables={
            name: _csv(run.file(RECOMMEND, f"{name}.csv"))
            for name in ("offers", "tiers", "unbundling")
        },
        settings=settings,
        segment_labels=labels if segment in (None, "main_reason") else {},
        budget=budget,
    )
