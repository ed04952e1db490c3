"""``winback target``: the campaign for the CRM list of lost customers (issue 18).

From a run folder (``fit/``, ``market.toml``, ``recommend/``) and the CRM list: a preference for
every customer (respondents their own, everyone else predicted from the fit's covariates), every
candidate action of the decision scored for every customer on every posterior draw, the best
action per customer within the limits, a control group, and the files a CRM loads:
``campaign.csv`` (:attr:`analysis.campaign.Campaign.table`), ``campaign_summary.csv``
(:attr:`~analysis.campaign.Campaign.summary`) and ``actions.csv`` (each candidate's products,
levels, price, incentive and contact cost). See ``docs/campaign.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.campaign import (
    Campaign,
    CampaignScores,
    Customers,
    customer_preferences,
    plan_campaign,
    read_customers,
    score_customers,
)
from analysis.decision import Action, actions_from_records
from analysis.simulator import PartWorthDraws, read_market
from winback._folders import check_output_dir, staged_output
from winback._io import write_csv, write_json
from winback.errors import ParameterError, WinbackError
from winback.pipeline.classes import SEGMENT, customers_with_classes, find_classes, load_fit_for
from winback.pipeline.market import (
    ACTIONS_FILE,
    _calibration_settings,
    _override,
    market_calibration,
)
from winback.run_folder import FIT, LATENT_CLASS, RECOMMEND, TARGET, RunFolder, write_record
from winback.settings import BAND, band_label, check_band
from winback.study import Study, format_level, load_study

#: the files of a target folder
TARGET_FILES = TARGET.files
#: fixed columns of actions.csv (an attribute of the same name is written as ``<name>_level``)
ACTION_COLUMNS = ("action", "kind", "recommended", "product", "price")
ACTION_TAIL = ("incentive", "contact_cost", "description")


@dataclass(frozen=True)
class TargetRun:
    """What ``run_target`` planned and wrote."""

    campaign: Campaign
    scores: CampaignScores
    customers: Customers
    actions: pd.DataFrame  # actions.csv
    recommended: str | None
    n_predicted: int
    out: Path
    files: tuple[Path, ...]
    candidates: tuple[Action, ...] = ()  # the scored actions, as actions.json rebuilds them

    def report(self) -> str:
        """The plan in words: whom to contact with what, what to expect, what was held out."""
        c = self.campaign
        t = c.table
        total = c.summary.iloc[-1]
        b = band_label(c.band)
        basis = (
            "calibrated to observed behaviour"
            if c.basis == "calibrated"
            else "stated preference, not calibrated to behaviour"
        )
        n = len(t)
        lines = [
            f"Campaign for {n:,} lost customers of {self.customers.source} ({basis}):",
            f"  {n - self.n_predicted:,} survey respondents keep their own part-worths, "
            f"{self.n_predicted:,} are predicted from the fit's population model",
            f"  contact {int(total['contacted']):,}; hold out {int(total['control']):,} as the "
            f"control group ({c.control_share:.0%} of those planned, to measure the uplift)",
            f"  expected {total['won_back']:,.0f} won back [{total['won_back_lower']:,.0f}, "
            f"{total['won_back_upper']:,.0f}] and profit {total['profit']:,.0f} "
            f"[{total['profit_lower']:,.0f}, {total['profit_upper']:,.0f}] over the horizon, "
            f"after incentives and contact costs ({b})",
            f"  {c.allocation!r}",
            "",
            "By action (customers planned; contacted; mean probability of returning):",
        ]
        groups = dict(tuple(t.groupby("action", sort=False)))
        for action in self.scores.actions:
            if action not in groups:
                continue
            g = groups[action]
            star = " (the recommendation)" if action == self.recommended else ""
            p = g["p_return"].mean()
            pr = "" if math.isnan(p) else f"; p_return {p:.1%}"
            lines.append(f"  {action}{star}: {len(g):,}; {int(g['contact'].sum()):,} contacted{pr}")
        lines.append("")
        lines.append("Why (customers):")
        for reason, k in t["reason"].value_counts().items():
            lines.append(f"  {reason}: {int(k):,}")
        return "\n".join(lines)


def _check_limits(
    max_contacts: int | None, budget: float | None, control_share: float, n_draws: int | None
) -> None:
    if max_contacts is not None and (
        isinstance(max_contacts, bool) or int(max_contacts) != max_contacts or max_contacts < 0
    ):
        raise ParameterError(f"max_contacts must be a whole number >= 0, got {max_contacts!r}.")
    if budget is not None and not (math.isfinite(float(budget)) and float(budget) >= 0):
        raise ParameterError(f"budget must be a number >= 0, got {budget!r}.")
    if not (0.0 <= float(control_share) < 1.0):
        raise ParameterError(f"control_share must be in [0, 1), got {control_share!r}.")
    if n_draws is not None and (isinstance(n_draws, bool) or int(n_draws) < 1):
        raise ParameterError(f"n_draws must be a whole number >= 1, got {n_draws!r}.")


def _run_inputs(run_dir: str | Path, study_path: str | Path) -> tuple[RunFolder, Path]:
    """The run folder's fit, market and recommend files, each missing one named with the
    command that makes it."""
    root = Path(run_dir)
    if not root.exists():
        raise WinbackError(
            f"RUN_DIR {root} does not exist: give the run folder that `winback demo` or "
            "`winback run` wrote (holding fit/, market.toml and recommend/)."
        )
    if not root.is_dir():
        raise WinbackError(
            f"RUN_DIR {root} is a file, not a run folder (a folder holding fit/, market.toml "
            "and recommend/)."
        )
    run = RunFolder(root)
    fit = run.folder(FIT)
    rec = run.folder(RECOMMEND)
    problems = []
    if not (fit / "fit.nc").is_file():
        problems.append(
            f"no fit in {fit}/ (fit.nc): make it with `winback fit {study_path} RESPONSES "
            f"--out {fit}`"
        )
    if not run.market_file.is_file():
        what = "is a folder" if run.market_file.is_dir() else "is missing"
        problems.append(
            f"the market file {run.market_file} {what}: copy the market file (market.toml) "
            "there, the one `winback recommend` used"
        )
    if not rec.is_dir():
        problems.append(
            f"no {rec}/: make it with `winback recommend {study_path} {fit} --market "
            f"{run.market_file} --out {rec}`"
        )
    elif not (rec / ACTIONS_FILE).is_file():
        problems.append(
            f"{rec}/ has no {ACTIONS_FILE} (the decision's candidate actions, written by "
            "`winback recommend` of this version when the market includes none): rerun "
            f"`winback recommend {study_path} {fit} --market {run.market_file} --out {rec} "
            "--force`"
        )
    if problems:
        raise WinbackError(f"{root} is not a complete run folder: " + "; ".join(problems) + ".")
    return run, rec / ACTIONS_FILE


#: the plan's candidate actions as the target stage scored them (a copy of recommend's
#: decision_actions.json: ``winback outcomes`` rebuilds them from it even after recommend reran)
PLAN_ACTIONS_FILE = "actions.json"


def read_actions_file(
    path: Path, study: Study, today: Any
) -> tuple[list[Action], str | None, dict[str, Any]]:
    """The candidate actions stored in ``path`` (``recommend/decision_actions.json`` or
    ``target/actions.json``), rebuilt on today's market; the recommended one's name; the data."""
    if not path.is_file():
        raise WinbackError(
            f"no actions file at {path}: rerun `winback target` (or `winback recommend`) with "
            "this winback."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WinbackError(f"{path} is not valid JSON ({exc}); rerun winback recommend.") from None
    if not isinstance(data, dict):
        raise WinbackError(f"{path} must hold a JSON object; rerun winback recommend.")
    actions = actions_from_records(data, study, today, source=str(path))
    rec = data.get("recommended")
    return actions, None if rec is None else str(rec), data


def actions_table(
    scores: CampaignScores,
    actions: list[Action],
    study: Study,
    recommended: str | None = None,
) -> pd.DataFrame:
    """``actions.csv``: one row per scored action and own product (one row for "Do not
    contact"): ``action, kind, recommended, product, price``, one column per other attribute
    (its level as the study writes it), ``incentive`` (per customer won back),
    ``contact_cost`` (per customer contacted: the cost times the share reached) and
    ``description``."""
    by_name = {a.name: a for a in actions}
    attrs = [a.name for a in study.attributes if a.name != study.price_attribute]
    fixed = set(ACTION_COLUMNS) | set(ACTION_TAIL)
    col = {a: f"{a}_level" if a in fixed else a for a in attrs}
    rows: list[dict[str, Any]] = []
    for j, name in enumerate(scores.actions):
        act = by_name.get(name)
        base = {
            "action": name,
            "kind": scores.kinds[j],
            "recommended": name == recommended,
        }
        tail = {
            "incentive": float(scores.incentive[j]),
            "contact_cost": float(scores.contact_cost) if act is not None else 0.0,
            "description": scores.descriptions[j],
        }
        if act is None or act.market is None:
            rows.append(
                {**base, "product": "", "price": np.nan, **dict.fromkeys(col.values(), ""), **tail}
            )
            continue
        for prod in scores.products[j]:
            p = act.market.product(prod)
            price = float(p.levels[study.price_attribute]) if study.price_attribute else np.nan
            levels = {col[a]: format_level(p.levels[a]) for a in attrs}
            rows.append({**base, "product": prod, "price": price, **levels, **tail})
    return pd.DataFrame(rows, columns=[*ACTION_COLUMNS, *col.values(), *ACTION_TAIL])


def run_target(
    study_file: str | Path,
    run_dir: str | Path,
    customers_csv: str | Path,
    out: str | Path,
    *,
    max_contacts: int | None = None,
    budget: float | None = None,
    control_share: float = 0.1,
    band: float | None = None,
    seed: int = 1,
    calibration: bool = True,
    calibration_file: str | Path | None = None,
    segment: str | None = None,
    n_draws: int | None = None,
    force: bool = False,
    classes_from: str | Path | None = None,
) -> TargetRun:
    """``winback target``: whom to win back, with which action, and a control group.

    Parameters
    ----------
    study_file : str or Path
        The study file (its ``[business]`` gives margins, months retained, incentive and
        contact cost; required).
    run_dir : str or Path
        A run folder with ``fit/``, ``market.toml`` and ``recommend/`` (as ``winback demo``
        or ``winback run`` write, or the commands into one folder).
    customers_csv : str or Path
        The CRM list of lost customers (:func:`analysis.campaign.read_customers`): with the
        covariates the fit used and, for respondents, their ``respondent_id``.
    out : str or Path
        The folder to write (e.g. ``RUN_DIR/target``).
    max_contacts, budget : optional
        At most this many customers contacted; at most this much expected incentive paid.
    control_share : float
        Share of the customers to contact held out as the control group (0.1).
    band : float, optional
        Probability of every band (default ``winback.settings.BAND``).
    seed : int
        Seed of the predicted customers' part-worths, the calibration and the control group.
    calibration : bool
        Use the ``[calibration]`` of the market file, else the study file's (as ``winback
        recommend``); False: stated preference.
    segment : str, optional
        A column of the CRM list: the control group's strata and the summary's rows.
        ``"latent_class"`` when the list has no such column: each customer's latent class
        (``classes_from``, else the run folder's ``latent_class/``): a survey respondent's
        modal class, everyone else's most probable class from the covariate model.
    n_draws : int, optional
        Use this many posterior draws, evenly thinned (default all).
    force : bool
        Replace earlier results in ``out``.
    classes_from : str or Path, optional
        A latent class fit folder for ``segment="latent_class"``.

    Returns
    -------
    TargetRun

    Raises
    ------
    WinbackError
        Before any scoring: ``out`` unusable or holding earlier results without ``force``; the
        run folder incomplete (naming the command that makes what is missing); the CRM list's
        problems (file, column, rows, values); covariates missing or unknown; a study without
        ``[business]``; a market that changed since ``recommend``.

    Examples
    --------
    >>> run = run_target("study.toml", "winback-demo", "lost_customers.csv",
    ...                  "winback-demo/target", segment="main_reason")  # doctest: +SKIP
    >>> print(run.report())  # doctest: +SKIP
    """
    band = check_band(BAND if band is None else band)
    _check_limits(max_contacts, budget, control_share, n_draws)
    out = check_output_dir(out, force=force, owned=TARGET.owned)
    override = _override(calibration_file, calibration)
    run, actions_file = _run_inputs(run_dir, study_file)
    business = load_study(study_file).business  # the fit's copy is replaced by it, below
    if business is None:
        raise WinbackError(
            f"{study_file} has no [business] table: a campaign needs the margin, months "
            "retained, incentive and contact cost (see docs/decision.md)."
        )
    if segment == SEGMENT:
        hint = (
            f"--segment {SEGMENT}: the CRM list has no column '{SEGMENT}' and there is no latent "
            f"class fit in {run.folder(LATENT_CLASS)}/; fit one with `winback fit {study_file} "
            f"RESPONSES --model latent-class --out {run.folder(LATENT_CLASS)}` or give "
            "--classes-from FIT_DIR."
        )
        classes = find_classes(run.folder(FIT), classes_from)
        crm = customers_with_classes(customers_csv, classes, missing=hint)
        customers = read_customers(crm, segment=segment, name=Path(customers_csv).name)
    else:
        customers = read_customers(customers_csv, segment=segment)
    model = load_fit_for(study_file, run.folder(FIT))
    study = model.study
    today = read_market(run.market_file, study)
    actions, recommended, records = read_actions_file(actions_file, study, today)
    prefs = customer_preferences(model, customers, n_draws=n_draws, random_seed=seed)
    draws = PartWorthDraws.from_model(model, n_draws)
    cal = market_calibration(
        draws, today, study, use=calibration, random_seed=seed, override=override
    )
    # the expensive part: every customer x action on every draw, then the plan's bands
    scores = score_customers(prefs, customers, actions, business, calibration=cal, band=band)
    campaign = plan_campaign(
        scores,
        max_contacts=max_contacts,
        budget=budget,
        control_share=control_share,
        random_seed=seed,
        band=band,
    )
    table = actions_table(scores, actions, study, recommended)
    settings = {
        "band": band,
        **_calibration_settings(cal),
        "max_contacts": max_contacts,
        "budget": budget,
        "control_share": control_share,
        "segment": segment,
        "n_draws": n_draws,
        "n_samples": prefs.n_samples,
        "random_seed": seed,
        "n_customers": customers.n_customers,
        "n_respondents": prefs.n_customers - prefs.n_predicted,
        "n_predicted": prefs.n_predicted,
        "actions": list(scores.actions),
        "recommended": recommended,
        "allocation": {
            "method": campaign.allocation.method,
            "profit": campaign.allocation.profit,
            "upper_bound": campaign.allocation.upper_bound,
            "gap": campaign.allocation.gap,
        },
    }
    inputs = {
        "study": study_file,
        "fit": run.folder(FIT),
        "market": run.market_file,
        "recommend": run.folder(RECOMMEND),
        "customers": customers_csv,
        **({"classes_from": classes_from} if classes_from is not None else {}),
        **({"calibration_file": calibration_file} if calibration_file is not None else {}),
    }
    tables = {
        "campaign.csv": campaign.table,
        "campaign_summary.csv": campaign.summary,
        "actions.csv": table,
    }
    with staged_output(out, force=force, owned=TARGET.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        write_json(records, stage / PLAN_ACTIONS_FILE)
        write_record(stage, "target", settings, study, paths=inputs)
    return TargetRun(
        campaign,
        scores,
        customers,
        table,
        recommended,
        prefs.n_predicted,
        out,
        tuple(out / n for n in tables),
        tuple(actions),
    )
