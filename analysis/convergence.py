"""Has the sampler converged? ``convergence_report(model)``: a verdict, reasons and advice.

The verdict gates everything downstream (the ``winback fit`` command exits with status 4 on
"fail"). It is computed with ArviZ 1.x (rank-normalised split R-hat, bulk and tail effective
sample sizes, E-BFMI) on the population means ``mu``, the population standard deviations ``sd``
and the individual part-worths ``beta`` (summarised by the worst respondent per parameter), and
on the sampler's statistics (divergences, maximum tree depth). A MaxDiff fit
(:meth:`analysis.MaxDiffModel.convergence`) is judged the same way; its report calls ``beta``
the individual utilities of the items, as docs/maxdiff.md does.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from analysis._mcmc import diagnose
from winback.errors import ParameterError

if TYPE_CHECKING:
    from analysis.model import HBModel

Verdict = Literal["pass", "warn", "fail"]
#: what was fitted: a choice-based conjoint (part-worths of levels) or a MaxDiff (utilities of
#: items)
FitKind = Literal["cbc", "maxdiff"]
_ORDER = {"pass": 0, "warn": 1, "fail": 2}

#: the parameter groups in words (a CBC fit's)
GROUPS = {
    "mu": "population means (mu)",
    "sd": "population standard deviations (sd)",
    "beta": "individual part-worths (beta, worst respondent)",
}
#: the groups in words per kind of fit: a MaxDiff's ``beta`` are utilities (docs/maxdiff.md)
_GROUPS_OF: dict[str, dict[str, str]] = {
    "cbc": GROUPS,
    "maxdiff": GROUPS | {"beta": "individual utilities (beta, worst respondent)"},
}
#: what to look at once the fit converged, per kind of fit
_NEXT_OF = {
    "cbc": "analysis.results (importances, willingness_to_pay, ...)",
    "maxdiff": "model.population(), model.scores()",
}


@dataclass(frozen=True)
class Thresholds:
    """Limits of the convergence verdict (the defaults are documented in docs/analysis.md).

    Population parameters (``mu``, ``sd``) pass with R-hat <= 1.01 and bulk and tail ESS
    >= 400 (Vehtari et al. 2021: 100 per chain for 4 chains); they fail with R-hat > 1.05 or
    an ESS < 100. The individual part-worths are judged on the worst of all respondents x
    parameters (often over 1,000 quantities, so the largest R-hat of a converged fit exceeds
    1.01 by chance): they pass with R-hat <= 1.02 and ESS >= 100, fail with R-hat > 1.05 or
    ESS < 50. Any divergence is a warning, 1% or more of the draws a failure. E-BFMI below
    0.3 in any chain and transitions that hit the maximum tree depth are warnings.
    """

    rhat_pass: float = 1.01
    rhat_fail: float = 1.05
    ess_pass: float = 400.0
    ess_fail: float = 100.0
    beta_rhat_pass: float = 1.02
    beta_rhat_fail: float = 1.05
    beta_ess_pass: float = 100.0
    beta_ess_fail: float = 50.0
    divergence_fail_share: float = 0.01
    ebfmi_pass: float = 0.3


@dataclass(frozen=True, eq=False)
class ConvergenceReport:
    """The convergence verdict of an HB fit.

    Attributes
    ----------
    verdict : {"pass", "warn", "fail"}
    reasons : tuple of str
        Every check that did not pass, in words with its numbers.
    advice : tuple of str
        What to do about them.
    table : DataFrame
        ``group, parameter, r_hat, ess_bulk, ess_tail, worst_respondent, status``: one row per
        parameter of ``mu``, ``sd`` and ``beta`` (``beta``: the worst respondent's R-hat and the
        smallest ESS over respondents; ``worst_respondent`` has the largest R-hat).
    divergences : int
    n_draws, n_chains : int
    ebfmi : tuple of float
        E-BFMI per chain (empty when the sampler recorded no energy).
    treedepth_hits : int or None
        Transitions that hit the maximum tree depth (None when not recorded).
    sampler : str
    thresholds : Thresholds
    kind : {"cbc", "maxdiff"}
        What was fitted: the report names ``beta`` part-worths (CBC) or utilities (MaxDiff).
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    advice: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)
    divergences: int
    n_chains: int
    n_draws: int
    ebfmi: tuple[float, ...]
    treedepth_hits: int | None
    sampler: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds, repr=False)
    kind: FitKind = "cbc"

    @property
    def n_transitions(self) -> int:
        return self.n_chains * self.n_draws

    def groups(self) -> pd.DataFrame:
        """Worst value per parameter group: ``group, r_hat_max, ess_bulk_min, ess_tail_min``."""
        g = self.table.groupby("group", sort=False)
        return pd.DataFrame(
            {
                "r_hat_max": g["r_hat"].max(),
                "ess_bulk_min": g["ess_bulk"].min(),
                "ess_tail_min": g["ess_tail"].min(),
            }
        ).reset_index()

    def _worst(self, groups: tuple[str, ...], col: str, how: str) -> float:
        v = self.table.loc[self.table["group"].isin(groups), col].to_numpy(dtype=float)
        if not len(v) or np.isnan(v).all():
            return math.nan
        return float(np.nanmax(v) if how == "max" else np.nanmin(v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``rhat_max``, ``ess_bulk_min``, ``ess_tail_min`` (population
        parameters mu and sd), the same for beta, ``divergences``, ``ebfmi_min``, the verdict,
        reasons and advice.
        """

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        pop = ("mu", "sd")
        return {
            "verdict": self.verdict,
            "rhat_max": num(self._worst(pop, "r_hat", "max")),
            "ess_bulk_min": num(self._worst(pop, "ess_bulk", "min")),
            "ess_tail_min": num(self._worst(pop, "ess_tail", "min")),
            "beta_rhat_max": num(self._worst(("beta",), "r_hat", "max")),
            "beta_ess_bulk_min": num(self._worst(("beta",), "ess_bulk", "min")),
            "beta_ess_tail_min": num(self._worst(("beta",), "ess_tail", "min")),
            "divergences": self.divergences,
            "divergence_share": self.divergences / max(1, self.n_transitions),
            "ebfmi_min": num(min(self.ebfmi)) if self.ebfmi else None,
            "ebfmi": [round(e, 6) for e in self.ebfmi],
            "treedepth_hits": self.treedepth_hits,
            "n_chains": self.n_chains,
            "n_draws": self.n_draws,
            "sampler": self.sampler,
            "reasons": list(self.reasons),
            "advice": list(self.advice),
            "thresholds": asdict(self.thresholds),
        }

    def report(self) -> str:
        """The verdict, the worst figures per group, reasons and advice, as text."""
        lines = [
            f"Convergence: {self.verdict.upper()} ({self.n_chains} chains x {self.n_draws} "
            f"draws{', ' + self.sampler if self.sampler else ''})"
        ]
        labels = _GROUPS_OF[self.kind]
        for _, row in self.groups().iterrows():
            lines.append(
                f"  {labels.get(str(row['group']), str(row['group']))}: "
                f"r_hat max {_fmt(row['r_hat_max'], 3)}, ESS bulk min "
                f"{_fmt(row['ess_bulk_min'], 0)}, tail min {_fmt(row['ess_tail_min'], 0)}"
            )
        eb = ", ".join(f"{e:.2f}" for e in self.ebfmi) if self.ebfmi else "not recorded"
        td = "not recorded" if self.treedepth_hits is None else str(self.treedepth_hits)
        lines.append(
            f"  divergences: {self.divergences} of {self.n_transitions}; E-BFMI per chain: {eb}; "
            f"maximum tree depth hits: {td}"
        )
        if self.reasons:
            lines.append("Reasons:")
            lines.extend(f"  - {r}" for r in self.reasons)
        if self.advice:
            lines.append("Advice:")
            lines.extend(f"  - {a}" for a in self.advice)
        if self.verdict == "pass":
            lines.append(f"  next: {_NEXT_OF[self.kind]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def _fmt(x: Any, digits: int) -> str:
    x = float(x)
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _diagnostics(da: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-hat, bulk and tail ESS of a (chain, draw, ...) DataArray; NaN where undefined.

    ArviZ's estimators (rank-normalised split R-hat, bulk and tail ESS), computed for all
    elements at once by :mod:`analysis._mcmc` (checked against ``arviz_stats`` in the tests).
    """
    dims = ("chain", "draw", *[d for d in da.dims if d not in ("chain", "draw")])
    values = da.transpose(*dims).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        # constant quantities (a correlation's diagonal, a fixed column) give 0/0: NaN is right
        r, eb, et = diagnose(values)
    return np.asarray(r, dtype=float), np.asarray(eb, dtype=float), np.asarray(et, dtype=float)


def _status(r: float, eb: float, et: float, rp: float, rf: float, ep: float, ef: float) -> str:
    ess = min(eb, et)
    if r > rf or ess < ef:
        return "fail"
    if r > rp or ess < ep or math.isnan(ess):
        return "warn"
    return "pass"


def convergence_report(
    model: HBModel, *, thresholds: Thresholds | None = None, kind: FitKind = "cbc"
) -> ConvergenceReport:
    """Judge the convergence of an HB fit: "pass", "warn" or "fail", with reasons and advice.

    Parameters
    ----------
    model : HBModel
    thresholds : Thresholds, optional
        The limits (defaults: see :class:`Thresholds`): population ``mu`` and ``sd`` pass with
        R-hat <= 1.01 and bulk/tail ESS >= 400, fail with R-hat > 1.05 or ESS < 100;
        individual ``beta`` (worst over respondents) pass with R-hat <= 1.02 and ESS >= 100,
        fail with R-hat > 1.05 or ESS < 50; any divergence warns, 1% of the draws fails;
        E-BFMI < 0.3 and maximum-tree-depth hits warn.
    kind : {"cbc", "maxdiff"}
        What ``model`` is: the reasons and the report name its ``beta`` part-worths (a CBC) or
        utilities (a MaxDiff, as :meth:`analysis.MaxDiffModel.convergence` asks).

    Returns
    -------
    ConvergenceReport

    Examples
    --------
    >>> from analysis.convergence import convergence_report
    >>> rep = convergence_report(model)  # doctest: +SKIP
    >>> rep.verdict, rep.to_dict()["rhat_max"]  # doctest: +SKIP
    ('pass', 1.004)
    >>> print(rep.report())  # doctest: +SKIP
    """
    import arviz as az

    if kind not in _GROUPS_OF:
        raise ParameterError(
            f"kind={kind!r} is not a kind of fit. Valid: {', '.join(map(repr, _GROUPS_OF))}."
        )
    th = thresholds or Thresholds()
    post = model.idata_["posterior"]
    stats = model.idata_["sample_stats"] if "sample_stats" in model.idata_.children else None
    n_chains, n_draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    names = list(model.names)
    rows: list[dict[str, Any]] = []
    for group in ("mu", "sd"):
        r, eb, et = _diagnostics(post[group])
        for j, p in enumerate(names):
            rows.append(
                {
                    "group": group,
                    "parameter": p,
                    "r_hat": r[j],
                    "ess_bulk": eb[j],
                    "ess_tail": et[j],
                    "worst_respondent": None,
                    "status": _status(
                        r[j], eb[j], et[j], th.rhat_pass, th.rhat_fail, th.ess_pass, th.ess_fail
                    ),
                }
            )
    r, eb, et = _diagnostics(post["beta"].transpose("chain", "draw", "respondent", "parameter"))
    ids = list(model.respondent_ids)
    for j, p in enumerate(names):
        rj = r[:, j]
        worst = int(np.nanargmax(rj)) if not np.isnan(rj).all() else 0
        rmax = float(np.nanmax(rj)) if not np.isnan(rj).all() else math.nan
        bmin, tmin = float(np.nanmin(eb[:, j])), float(np.nanmin(et[:, j]))
        rows.append(
            {
                "group": "beta",
                "parameter": p,
                "r_hat": rmax,
                "ess_bulk": bmin,
                "ess_tail": tmin,
                "worst_respondent": ids[worst],
                "status": _status(
                    rmax,
                    bmin,
                    tmin,
                    th.beta_rhat_pass,
                    th.beta_rhat_fail,
                    th.beta_ess_pass,
                    th.beta_ess_fail,
                ),
            }
        )
    table = pd.DataFrame(rows)

    divergences = 0
    ebfmi: tuple[float, ...] = ()
    treedepth: int | None = None
    if stats is not None:
        if "diverging" in stats:
            divergences = int(stats["diverging"].sum())
        if "energy" in stats:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                ebfmi = tuple(float(e) for e in np.atleast_1d(az.bfmi(stats["energy"])))
        for key in ("maxdepth_reached", "reached_max_treedepth"):
            if key in stats:
                treedepth = int(stats[key].sum())
                break

    reasons: list[str] = []
    advice: list[str] = []
    levels: list[Verdict] = ["pass"]
    tune = int(getattr(model.settings, "tune", n_draws))
    _judge_table(table, th, n_chains, n_draws, tune, reasons, advice, levels, _GROUPS_OF[kind])
    n_trans = n_chains * n_draws
    if divergences:
        share = divergences / n_trans
        bad = share >= th.divergence_fail_share
        levels.append("fail" if bad else "warn")
        reasons.append(
            f"{divergences} divergent transition(s) ({share:.1%} of {n_trans} draws"
            + (f", >= {th.divergence_fail_share:.0%}" if bad else "")
            + "): the sampler could not follow the posterior everywhere, results may be biased."
        )
        advice.append(
            "divergences: the population covariance is hard to sample; try "
            "covariance='diagonal' (--covariance diagonal) or more data (respondents, tasks); "
            "a longer tune (--tune 2000) sometimes helps."
        )
    low = [(i, e) for i, e in enumerate(ebfmi) if e < th.ebfmi_pass]
    if low:
        levels.append("warn")
        which = ", ".join(f"chain {i}: {e:.2f}" for i, e in low)
        reasons.append(
            f"E-BFMI below {th.ebfmi_pass} ({which}): the sampler explores the spread of the "
            "posterior poorly (usually the population standard deviations)."
        )
        advice.append(
            "low E-BFMI: increase tune (--tune 2000); if it persists, try "
            "covariance='diagonal' (--covariance diagonal)."
        )
    if treedepth:
        levels.append("warn")
        reasons.append(
            f"{treedepth} transition(s) ({treedepth / n_trans:.1%}) hit the maximum tree depth: "
            "sampling was inefficient (a strongly correlated or badly scaled posterior)."
        )
        advice.append(
            "maximum tree depth: check for levels shown rarely (design) or parameters with "
            "little information; covariance='diagonal' is easier to sample."
        )
    verdict: Verdict = max(levels, key=lambda s: _ORDER[s])
    return ConvergenceReport(
        verdict=verdict,
        reasons=tuple(reasons),
        advice=tuple(dict.fromkeys(advice)),
        table=table,
        divergences=divergences,
        n_chains=n_chains,
        n_draws=n_draws,
        ebfmi=ebfmi,
        treedepth_hits=treedepth,
        sampler=str(getattr(model.settings, "sampler", "")),
        thresholds=th,
        kind=kind,
    )


def _judge_table(
    table: pd.DataFrame,
    th: Thresholds,
    n_chains: int,
    n_draws: int,
    n_tune: int,
    reasons: list[str],
    advice: list[str],
    levels: list[Verdict],
    labels: dict[str, str],
) -> None:
    """Reasons and advice from the R-hat / ESS table (worst row of each group, named by
    ``labels``)."""
    if n_chains < 2:
        levels.append("warn")
        reasons.append("one chain only: R-hat (do chains agree?) cannot be computed.")
        advice.append("run 4 chains (chains=4, --chains 4) so that R-hat can compare them.")
    need_draws = False
    need_tune = False
    ess_min_seen, ess_goal = math.inf, 0.0
    target = 0.0
    for group in ("mu", "sd", "beta"):
        t = table[table["group"] == group]
        if t.empty:
            continue
        rp, rf = (
            (th.beta_rhat_pass, th.beta_rhat_fail)
            if group == "beta"
            else (th.rhat_pass, th.rhat_fail)
        )
        ep, ef = (
            (th.beta_ess_pass, th.beta_ess_fail) if group == "beta" else (th.ess_pass, th.ess_fail)
        )
        label = labels[group]
        r = t["r_hat"].to_numpy(dtype=float)
        if not np.isnan(r).all():
            i = int(np.nanargmax(r))
            rmax = float(r[i])
            if rmax > rp:
                bad = rmax > rf
                levels.append("fail" if bad else "warn")
                who = t["parameter"].iloc[i]
                if group == "beta":
                    who = f"{who}, respondent {t['worst_respondent'].iloc[i]}"
                reasons.append(
                    f"{label}: r_hat up to {rmax:.3f} ({who}) > {rf if bad else rp}: the chains "
                    + ("disagree; the results are not reliable." if bad else "do not yet agree.")
                )
                need_draws = need_tune = True
        for kind in ("bulk", "tail"):
            e = t[f"ess_{kind}"].to_numpy(dtype=float)
            if np.isnan(e).all():
                continue
            i = int(np.nanargmin(e))
            emin = float(e[i])
            if emin < ep:
                bad = emin < ef
                levels.append("fail" if bad else "warn")
                reasons.append(
                    f"{label}: {kind} ESS as low as {emin:.0f} ({t['parameter'].iloc[i]}) < "
                    f"{ef if bad else ep:.0f}: "
                    + (
                        "too few independent draws to summarise."
                        if bad
                        else ("intervals" if kind == "tail" else "means") + " are imprecise."
                    )
                )
                need_draws = True
                if emin > 0 and ep / emin > target:
                    target = ep / emin
                    ess_min_seen, ess_goal = emin, ep
    if need_draws:
        factor = target if target > 0 else 2.0
        draws = int(math.ceil(n_draws * min(max(factor, 2.0), 10.0) / 500.0) * 500)
        advice.append(
            f"run more draws (draws={draws}, --draws {draws})"
            + (
                f": the ESS furthest below its target is {ess_min_seen:.0f} (needs {ess_goal:.0f})"
                if math.isfinite(ess_min_seen)
                else ""
            )
            + (
                f"; with {n_chains} chains, 4 chains (--chains 4) add draws in parallel."
                if n_chains < 4
                else "."
            )
        )
    if need_tune:
        tune = max(1000, 2 * n_tune)
        advice.append(
            f"increase tune (tune={tune}, --tune {tune}) so that the chains settle before drawing."
        )
