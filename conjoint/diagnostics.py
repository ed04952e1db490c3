"""Design diagnostics: efficiency, precision, balance, overlap, sample size and a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conjoint.constraints import Rules
from conjoint.design import ChoiceDesign
from conjoint.diagnostics_labels import labelled_balance
from conjoint.encoding import orthonormal_contrasts, parameter_attribute, parameter_names
from conjoint.information import TaskModel, d_error, log_det
from conjoint.priors import prior_draws, prior_mean

VERDICTS = ("OK", "Warning", "Unusable")


def street_burgess_optimum(n_levels: list[int] | tuple[int, ...], m: int) -> float:
    """det of the optimal main-effects information matrix C (Street & Burgess 2007, Thm 6.3.1).

    For attribute q with l_q levels in choice sets of size m, S_q is the largest possible number
    of attribute-q differences summed over the pairs of a choice set.
    """
    big_l = math.prod(n_levels)
    det = 1.0
    for q in n_levels:
        if q == 2:
            s = (m * m - 1) / 4 if m % 2 else m * m / 4
        elif q <= m:
            x, y = divmod(m, q)
            s = (m * m - (q * x * x + 2 * x * y + y)) / 2
        else:
            s = m * (m - 1) / 2
        det *= (2 * s / (m * m * (q - 1) * (big_l / q))) ** (q - 1)
    return det


def street_burgess_information(
    sets: np.ndarray, n_levels: list[int] | tuple[int, ...]
) -> np.ndarray:
    """Main-effects information matrix C = B Lambda B' of choice sets (null prior).

    ``sets`` has shape (N, m, n_attributes) of level indices; B holds orthonormal contrasts
    normalised over the full factorial, as in Street & Burgess (2007).
    """
    sets = np.asarray(sets)
    n, m, _ = sets.shape
    big_l = math.prod(n_levels)
    blocks = [
        orthonormal_contrasts(q)[sets[..., a]] / math.sqrt(big_l / q)
        for a, q in enumerate(n_levels)
    ]
    z = np.concatenate(blocks, axis=-1)  # (N, m, p)
    w = m * np.eye(m) - np.ones((m, m))
    return np.einsum("sjk,jl,slp->kp", z, w, z) / (m * m * n)


def street_burgess_efficiency(sets: np.ndarray, n_levels: list[int] | tuple[int, ...]) -> float:
    """Street-Burgess D-efficiency (0..1) of choice sets for main effects under a null prior.

    Examples
    --------
    >>> foldover = [[[0, 0], [1, 1]], [[0, 1], [1, 0]]]
    >>> round(street_burgess_efficiency(foldover, [2, 2]), 6)
    1.0
    """
    sets = np.asarray(sets)
    c = street_burgess_information(sets, n_levels)
    p = c.shape[0]
    # C is symmetric positive semi-definite: decide singularity by its eigenvalues with a
    # relative tolerance (the sign of a rounding-level determinant is noise)
    eig = np.linalg.eigvalsh((c + c.T) / 2)
    if eig.max() <= 0 or eig.min() <= 1e-10 * eig.max():
        return 0.0
    log_det = float(np.sum(np.log(eig)))
    log_opt = math.log(street_burgess_optimum(n_levels, sets.shape[1]))
    return float(math.exp((log_det - log_opt) / p))


@dataclass(frozen=True, repr=False)
class DesignDiagnostics:
    """Result of :func:`inspect_design`: two views, tidy tables and a summary dict."""

    verdict: str
    reasons: tuple[str, ...]
    summary: dict[str, Any]
    standard_errors: pd.DataFrame
    level_balance: pd.DataFrame
    overlap: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``diagnostics.json``).

        Figures that do not exist for this design (an error or standard error of parameters
        that are not identified, the sample size for the target then) are ``null``, never a
        number standing in for "none" (no -1, no Infinity/NaN, which are not JSON); the
        ``*_note`` fields say why in words.
        """
        out = {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            **self.summary,
            "standard_errors": self.standard_errors.to_dict(orient="records"),
            "level_balance": self.level_balance.to_dict(orient="records"),
            "overlap": self.overlap.to_dict(orient="records"),
        }
        return _finite_or_none(out)

    def report(self) -> str:
        """Plain-text report for the terminal and ``diagnostics.txt``."""
        s = self.summary
        if s["min_respondents"] is None:
            sample = s["min_respondents_note"]
        else:
            sample = str(s["min_respondents"])
        if s["max_se"] is None:
            largest = "none: the parameters are not identified"
        else:
            largest = f"largest: {s['max_se']:.3f} for {s['max_se_parameter']}"
        lines = [
            f"Design diagnostics: {self.verdict}",
            *(f"  ! {r}" for r in self.reasons),
            "",
            f"  versions x tasks x alternatives: {s['n_versions']} x {s['n_tasks']} "
            f"({s['n_holdout_tasks']} holdout) x {s['n_alternatives']}"
            + (" + none" if s["none_option"] else "")
            + (f" + status quo ({s['status_quo']})" if s.get("status_quo") else ""),
            f"  parameters: {s['n_parameters']}",
            f"  D0-error (null prior): {_fmt(s['d0_error'])}",
            f"  Dp-error (prior mean): {_fmt(s['dp_error'])}",
            f"  DB-error ({s['prior']} prior, {s['prior_draws']} draws): {_fmt(s['db_error'])}",
            f"  A-error (prior mean): {_fmt(s['a_error'])}",
            "  Street-Burgess efficiency (main effects, null prior): "
            + (
                "not defined for a labelled design"
                if s["sb_efficiency"] is None or not math.isfinite(s["sb_efficiency"])
                else f"{_pct(s['sb_efficiency'])} pooled over versions, "
                f"{_pct(s['sb_efficiency_mean_version'])} mean per version"
            ),
            f"  level balance (min/max count, worst attribute): {s['worst_balance']:.2f}",
            f"  dominated alternatives: {s['n_dominated']}"
            + ("" if s["dominance_known"] else " (no preference orders given: not checked)"),
            f"  Johnson-Orme rule of thumb: at least {s['johnson_orme_n']} respondents",
            f"  respondents for standard errors <= {s['target_se']}: {sample}",
            f"  standard errors at {s['n_respondents']} respondents ({largest}):",
        ]
        for r in self.standard_errors.itertuples():
            se = f"{r.se:8.4f}" if np.isfinite(r.se) else "not identified"
            lines.append(f"    {r.parameter:<32} {se}")
        if len(self.overlap):
            lines.append("  overlap (share of tasks where a level repeats):")
            for r in self.overlap.itertuples():
                lines.append(f"    {r.attribute:<32} {r.overlap_share:6.1%}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def _fmt(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "none (not identified: the information matrix is singular)"
    return f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _finite_or_none(obj: Any) -> Any:
    """A copy of nested dicts/lists with every non-finite float (inf, NaN) as None."""
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_none(v) for v in obj]
    if isinstance(obj, float | np.floating) and not math.isfinite(float(obj)):
        return None
    return obj


def _unidentified(info: np.ndarray, names: list[str]) -> list[str]:
    """Parameters involved in the singular directions of an information matrix."""
    sym = (info + info.T) / 2
    eig, vec = np.linalg.eigh(sym)
    top = max(float(eig.max()), 1e-300)
    null = vec[:, eig <= 1e-10 * top]
    if null.shape[1] == 0:
        return []
    load = np.abs(null).max(axis=1)
    return [n for n, x in zip(names, load, strict=True) if x > 1e-6]


def _repeated_tasks(est: np.ndarray) -> list[tuple[int, int, int]]:
    """(version, task, earlier task) for estimation tasks whose set of profiles repeats, 1-based.

    Task numbers count estimation tasks only (holdouts removed).
    """
    out = []
    for v, tasks in enumerate(est):
        seen: dict[tuple[tuple[int, ...], ...], int] = {}
        for t, task in enumerate(tasks):
            key = tuple(sorted(tuple(int(x) for x in row) for row in task))
            if key in seen:
                out.append((v + 1, t + 1, seen[key]))
            else:
                seen[key] = t + 1
    return out


NOT_IDENTIFIED_SAMPLE = (
    "not identified: some parameters cannot be estimated from this design, so no sample size "
    "gives standard errors <= {target}"
)


def inspect_design(
    design: ChoiceDesign,
    *,
    n_respondents: int = 300,
    target_se: float = 0.05,
    random_seed: int | None = None,
) -> DesignDiagnostics:
    """Diagnose a design: efficiency, precision at a sample size, balance, overlap, verdict.

    Parameters
    ----------
    design : ChoiceDesign
    n_respondents : int
        Planned sample size, for the standard errors and the verdict.
    target_se : float
        Wanted standard error of each part-worth (aggregate logit); a linear attribute's slope
        is judged by its effect between adjacent tested levels. 0.05 is the usual rule (Orme);
        the none and status-quo constants are reported but not targeted.
    random_seed : int, optional
        Seed of the prior draws (default: the design's seed).

    Returns
    -------
    DesignDiagnostics
        ``verdict`` is "OK", "Warning" or "Unusable", with ``reasons`` in words.

    Examples
    --------
    >>> diag = inspect_design(design, n_respondents=400)  # doctest: +SKIP
    >>> diag.verdict  # doctest: +SKIP
    'OK'
    """
    study = design.study
    rules = Rules.from_study(study)
    model = TaskModel.from_study(study)
    est = design.estimation_levels()  # (V, T, J, A)
    v, t, j, n_attr = est.shape
    names = parameter_names(study)
    owners = parameter_attribute(study)
    k = len(names)
    seed = design.seed if random_seed is None else random_seed

    def avg_info(beta: np.ndarray) -> np.ndarray:
        """Per-respondent information averaged over versions: (R, K, K)."""
        x = model.rows(est.reshape(v * t, j, n_attr))
        m = model.information(x, beta)  # (V*T, R, K, K)
        return m.reshape(v, t, *m.shape[1:]).sum(axis=1).mean(axis=0)

    zero = np.zeros((1, k))
    info0 = avg_info(zero)[0]
    draws = prior_draws(study, seed=seed)
    # Dp, A and the standard errors at the prior mean as stated, not the mean of the draws
    # (which moves with the number of draws and the seed); DB averages over the draws
    mean = prior_mean(study)[None, :]
    info_p = avg_info(mean)[0]
    d0 = float(d_error(info0))
    dp = float(d_error(info_p))
    db = float(d_error(avg_info(draws)).mean()) if study.priors.kind != "null" else d0
    identified = bool(np.isfinite(log_det(info_p)))
    if identified:
        cov1 = np.linalg.inv(info_p)
        a_err = float(np.trace(cov1) / k)
        se1 = np.sqrt(np.clip(np.diag(cov1), 0, None))
        unidentified: list[str] = []
    else:
        a_err = math.inf
        se1 = np.full(k, math.inf)
        unidentified = _unidentified(info_p, names)

    # a linear slope is judged by its effect between adjacent tested levels (mean step), which
    # is comparable with a part-worth contrast between two levels
    scale = np.ones(k)
    inter_owner = {i.name: i.attributes for i in study.interactions}
    for i, owner in enumerate(owners):
        # an interaction with a linear attribute shifts its slope: judged per step too
        for name in inter_owner.get(owner, (owner,)):
            if name in study.attribute_names:
                a = study.attribute(name)
                if a.coding == "linear":
                    x = np.asarray(a.levels, dtype=float)
                    scale[i] *= (x.max() - x.min()) / (a.n_levels - 1)
    se_n = se1 / math.sqrt(n_respondents)
    with np.errstate(invalid="ignore", over="ignore"):
        need = np.ceil((se1 * scale / target_se) ** 2)
    # the rule is about part-worths; the none / status-quo constants are reported, not targeted
    is_pw = np.array([o in study.attribute_names for o in owners])
    min_resp: int | None = int(np.max(need[is_pw])) if identified else None
    min_resp_note = "" if identified else NOT_IDENTIFIED_SAMPLE.format(target=target_se)
    # not identified: no standard error exists (NaN in the table, null in JSON, words in text)
    se_table = pd.DataFrame(
        {
            "parameter": names,
            "se": se_n if identified else np.full(k, np.nan),
            "se_one_respondent": se1 if identified else np.full(k, np.nan),
            "respondents_for_target": need if identified else np.full(k, np.nan),
        }
    )

    # Street-Burgess efficiency: designed alternatives only, every attribute categorical; it
    # is defined for generic alternatives only (not for a labelled design)
    n_levels = [a.n_levels for a in study.attributes]
    sets_all = est.reshape(v * t, j, n_attr)
    labelled = bool(study.labels)
    sb_pooled = math.nan if labelled else street_burgess_efficiency(sets_all, n_levels)
    sb_versions = [
        math.nan if labelled else street_burgess_efficiency(est[i], n_levels) for i in range(v)
    ]

    # level balance and overlap over estimation tasks (per label in a labelled design)
    bal_rows: list[dict[str, Any]] = []
    ov_rows: list[dict[str, Any]] = []
    worst = 1.0
    never: list[str] = []
    if labelled:
        bal_rows, ov_rows, worst, never = labelled_balance(study, est)
    for ai, attr in enumerate(() if labelled else study.attributes):
        counts = np.bincount(est[..., ai].ravel(), minlength=attr.n_levels)
        total = counts.sum()
        for lv, c in zip(attr.level_labels(), counts, strict=True):
            bal_rows.append(
                {"attribute": attr.name, "level": lv, "count": int(c), "share": float(c / total)}
            )
            if c == 0:
                never.append(f"{attr.name} = {lv}")
        worst = min(worst, float(counts.min() / counts.max()) if counts.max() else 0.0)
        col = est[..., ai].reshape(-1, j)
        repeats = np.array([len(np.unique(r)) < j for r in col])
        ov_rows.append(
            {
                "attribute": attr.name,
                "overlap_share": float(repeats.mean()),
                "forced": attr.n_levels < j,
            }
        )
    n_dom = 0
    if rules.has_order and not labelled:  # labels differ by a constant of unknown sign
        n_dom = sum(rules.n_dominated(task) for task in sets_all)
    n_prohibited = int((~rules.allowed(design.levels)).sum())
    n_dup = (
        0  # alternatives of different labels are never the same
        if labelled
        else sum(len({tuple(r) for r in task}) < j for task in design.levels.reshape(-1, j, n_attr))
    )
    repeated = _repeated_tasks(est)

    max_levels = max(n_levels)
    jo = math.ceil(500 * max_levels / (t * j))

    reasons: list[str] = []
    notes: list[str] = []
    verdict = "OK"
    if not np.isfinite(d0):
        verdict = "Unusable"
        which = _unidentified(info0, names)
        reasons.append(
            "the parameters are not all identified (the information matrix is singular): some "
            "levels never vary within tasks or are confounded"
            + (f" (involved: {', '.join(which)})" if which else "")
            + "; add tasks or versions."
        )
    elif not identified:
        verdict = "Warning"
        reasons.append(
            "at the prior mean the information matrix is singular (choice probabilities so "
            "close to 0 or 1 that the tasks tell nothing"
            + (f" about {', '.join(unidentified)}" if unidentified else "")
            + "): no standard errors or sample size can be given there; check the [priors] "
            "mean (its scale: a part-worth of 5 is already a 99% choice)."
        )
    if never:
        verdict = "Unusable"
        reasons.append(f"levels never shown: {', '.join(never)}.")
    if n_prohibited:
        verdict = "Unusable"
        reasons.append(f"{n_prohibited} alternatives show a prohibited combination of levels.")
    if n_dup:
        verdict = "Unusable"
        reasons.append(f"{n_dup} tasks show the same profile twice.")
    if verdict != "Unusable":
        sb_floor = 0.80 if study.prohibitions else 0.90
        if not labelled and sb_pooled < sb_floor:
            verdict = "Warning"
            reasons.append(
                f"Street-Burgess efficiency {sb_pooled:.1%} is below {sb_floor:.0%}: a "
                "d_efficient or balanced_overlap design would give more information per task."
            )
        if worst < 0.5:
            verdict = "Warning"
            reasons.append(
                f"levels are unevenly shown (least/most used = {worst:.2f}); see level_balance."
            )
        if n_dom:
            verdict = "Warning"
            reasons.append(
                f"{n_dom} dominated alternatives (a clearly worse concept wastes a choice); "
                "set no_dominated = true in [design]."
            )
        if min_resp is not None and min_resp > n_respondents:
            verdict = "Warning"
            reasons.append(
                f"{n_respondents} respondents give part-worth standard errors up to "
                f"{float(np.max((se_n * scale)[is_pw])):.3f} (target {target_se}); about "
                f"{min_resp} are needed."
            )
        if jo > n_respondents:
            verdict = "Warning"
            reasons.append(
                f"the Johnson-Orme rule of thumb asks for at least {jo} respondents "
                f"(planned: {n_respondents})."
            )
    if study.prohibitions:
        notes.append(
            "prohibitions make 100% Street-Burgess efficiency unattainable; compare designs "
            "by D-error."
        )
    if study.has_none or study.status_quo is not None:
        notes.append(
            "Street-Burgess efficiency counts the designed alternatives only; D-, DB- and "
            "A-errors and standard errors include the none/status-quo constants."
        )
    if labelled:
        notes.append(
            f"a labelled design ({', '.join(study.labels)}): the D-, DB- and A-errors and "
            "standard errors include the label constants; level balance is per label, over the "
            "attributes each label shows; Street-Burgess efficiency is defined for generic "
            "alternatives only and is not given."
        )
    if study.interactions:
        notes.append(
            "the model includes the declared interactions ("
            + ", ".join(i.name for i in study.interactions)
            + "): D-, DB- and A-errors count their parameters and their standard errors are "
            "listed; the sample size target is for the main effects (an interaction needs more "
            "respondents: see its respondents_for_target)."
        )
    if repeated:
        shown = "; ".join(
            f"version {vv}: task {tt} repeats task {first}" for vv, tt, first in repeated[:5]
        )
        more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
        notes.append(
            f"{len(repeated)} estimation task(s) show the same alternatives as an earlier task "
            f"of their version ({shown}{more}): a repeat tells less than a new task (use it "
            "only on purpose, e.g. as a holdout to check consistency)."
        )
    sq = study.status_quo
    sq_words = None
    if sq is not None:
        sq_words = "fixed profile" if not sq.per_respondent else "each respondent's own plan"
    if sq is not None and sq.per_respondent:
        n_plans = len(sq.plans)
        notes.append(
            f"the status quo shows each respondent's own previous plan: the information is "
            f"averaged over the {n_plans} profiles of [status_quo.plans], each plan equally "
            "common"
            + (
                f", and over the {len(sq.price_levels)} tested prices, each equally likely, "
                "for the price they paid"
                if sq.price_from_paid
                else ""
            )
            + "; a sample dominated by one plan can differ."
        )
    imax = int(np.argmax(np.where(is_pw, se_n * scale, -np.inf))) if identified else None
    summary: dict[str, Any] = {
        "method": design.method,
        "n_versions": v,
        "n_tasks": design.n_tasks,
        "n_holdout_tasks": design.n_holdouts,
        "n_alternatives": j,
        "none_option": study.none_option,
        "dual_response_none": study.dual_response_none,
        "n_parameters": k,
        "parameters": names,
        "prior": study.priors.kind,
        "prior_draws": int(draws.shape[0]),
        "status_quo": sq_words,
        "prior_mean": [float(x) for x in mean[0]],
        "d0_error": d0,
        "dp_error": dp,
        "db_error": db,
        "a_error": a_err,
        "sb_efficiency": sb_pooled,
        "sb_efficiency_mean_version": float(np.mean(sb_versions)),
        "sb_efficiency_by_version": sb_versions,
        "worst_balance": worst,
        "n_dominated": int(n_dom),
        "dominance_known": rules.has_order and not labelled,
        "labels": list(study.labels),
        "n_prohibited_shown": n_prohibited,
        "n_repeated_tasks": len(repeated),
        "johnson_orme_n": jo,
        "target_se": target_se,
        "identified": identified,
        "unidentified_parameters": unidentified,
        "min_respondents": min_resp,
        "min_respondents_note": min_resp_note,
        "n_respondents": n_respondents,
        "max_se": None if imax is None else float(se_n[imax] * scale[imax]),
        "max_se_parameter": None if imax is None else names[imax],
        "search": dict(design.search),
    }
    return DesignDiagnostics(
        verdict=verdict,
        reasons=tuple(reasons),
        summary=summary,
        standard_errors=se_table,
        level_balance=pd.DataFrame(bal_rows),
        overlap=pd.DataFrame(ov_rows),
        notes=tuple(notes),
    )
