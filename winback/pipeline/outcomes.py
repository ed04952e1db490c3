"""``winback outcomes STUDY RUN_DIR results.csv --out DIR``: what a campaign did against what
its plan predicted, and the calibration it gives the next run.

Reads the plan (``RUN_DIR/target/campaign.csv`` with ``actions.json`` and the target stage's
``run.json``: its settings ``customers``, ``segment``, ``random_seed`` (of the preferences),
``n_draws``, ``basis``, ``calibration_file`` and ``band`` where recorded), the fit (``RUN_DIR/fit``) and the results file; scores the planned customers
again with :func:`analysis.campaign.score_customers` (the same customers, draws, seed and
calibration as the plan: the plan's predictions with their draws) and writes the ``outcomes``
stage (:data:`winback.run_folder.OUTCOMES`). See ``docs/campaign.md``.

The candidate actions are rebuilt exactly as the target stage scored them, from its
``actions.json`` (a copy of recommend's ``decision_actions.json``: every action's whole market).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.campaign import (
    Outcomes,
    customer_preferences,
    measure_outcomes,
    read_customers,
    read_results,
    score_customers,
)
from analysis.decision import Action
from analysis.simulator import PartWorthDraws, read_market
from surveys._csv import read_csv_text
from surveys.validation import ROW_COLUMN
from winback._folders import check_output_dir, staged_output
from winback._io import atomic_write_text, write_csv
from winback.errors import WinbackError, list_valid
from winback.pipeline.classes import load_fit_for
from winback.pipeline.market import market_calibration
from winback.pipeline.target import PLAN_ACTIONS_FILE, read_actions_file
from winback.run_folder import FIT, OUTCOMES, TARGET, RunFolder, write_record
from winback.settings import BAND, check_band

__all__ = ["OutcomesRun", "run_outcomes"]

log = logging.getLogger("winback")
PLAN_COLUMNS = ("customer_id", "segment", "action", "control", "contact", "p_return")


@dataclass(frozen=True)
class OutcomesRun:
    """What ``run_outcomes`` measured and wrote."""

    outcomes: Outcomes
    out: Path
    files: tuple[Path, ...]

    def report(self) -> str:
        return self.outcomes.report()


def _flag(values: pd.Series, what: str) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower()
    yes = text.isin(["1", "true", "yes"]).fillna(False).to_numpy(dtype=bool)
    no = text.isin(["0", "false", "no", ""]).fillna(True).to_numpy(dtype=bool)
    if not (yes | no).all():
        bad = values[~(yes | no)].tolist()[:5]
        raise WinbackError(f"{what} must be 0/1 (true/false), got {bad}.")
    return yes


def _read_plan(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise WinbackError(f"no campaign plan at {path}: run winback target first.")
    frame = read_csv_text(path).drop(columns=[ROW_COLUMN], errors="ignore")
    missing = [c for c in PLAN_COLUMNS if c not in frame.columns]
    if missing:
        raise WinbackError(f"{path}: no column {list_valid(missing)} (a winback target plan).")
    frame = frame.copy()
    frame["customer_id"] = frame["customer_id"].astype(str).str.strip()
    frame["control"] = _flag(frame["control"], f"{path}: 'control'")
    frame["contact"] = _flag(frame["contact"], f"{path}: 'contact'")
    frame["p_return"] = pd.to_numeric(frame["p_return"], errors="coerce")
    return frame


def run_outcomes(
    study_file: str | Path,
    run_dir: str | Path,
    results_csv: str | Path,
    out: str | Path,
    *,
    band: float | None = None,
    force: bool = False,
    customers: str | Path | None = None,
    actions: Sequence[Action] | None = None,
    adjust: str = "scale_and_none",
    random_seed: int = 1,
) -> OutcomesRun:
    """``winback outcomes``: stated against revealed, and the calibration for the next run.

    Parameters
    ----------
    study_file : str or Path
    run_dir : str or Path
        The run folder with ``fit/`` and ``target/`` (``campaign.csv``, ``actions.json``,
        ``run.json``).
    results_csv : str or Path
        What happened (:func:`analysis.campaign.read_results`).
    out : str or Path
        The outcomes folder to write.
    band : float, optional
        Default: the target stage's band, else ``winback.settings.BAND``.
    force : bool
        Replace earlier outcomes in ``out``.
    customers : str or Path, optional
        The CRM list the plan was made from (default: the one the target stage recorded).
    actions : sequence of Action, optional
        The plan's candidate actions (default: ``target/actions.json``).
    adjust : {"scale_and_none", "none_shift", "scale"}
    random_seed : int
        Seed of the calibration's per-draw adjustments.

    Returns
    -------
    OutcomesRun
    """
    run = RunFolder(run_dir)
    out = check_output_dir(out, force=force, owned=OUTCOMES.owned)
    rec = run.record(TARGET)
    settings = dict(rec.settings) if rec is not None else {}
    band = check_band(band if band is not None else settings.get("band", BAND))
    plan = _read_plan(run.file(TARGET, "campaign.csv"))
    cust_path = Path(customers) if customers is not None else None
    if cust_path is None and settings.get("customers"):
        cust_path = (run.folder(TARGET) / str(settings["customers"])).resolve()
    if cust_path is None:
        raise WinbackError(
            f"{run.folder(TARGET)}/run.json records no customer list: give it (customers=...)."
        )
    segment = settings.get("segment")
    crm = read_customers(cust_path, segment=segment)
    if tuple(plan["customer_id"]) != crm.ids:
        raise WinbackError(
            f"{cust_path} is not the customer list of the plan in {run.folder(TARGET)} (ids "
            "differ): give the list the plan was made from."
        )
    results = read_results(results_csv, actions=plan["action"].unique().tolist(),
                           plan_ids=plan["customer_id"].tolist())  # fmt: skip
    model = load_fit_for(study_file, run.folder(FIT))
    study = model.study
    today = read_market(run.market_file, study)
    acts = (
        list(actions)
        if actions is not None
        else read_actions_file(run.file(TARGET, PLAN_ACTIONS_FILE), study, today)[0]
    )
    n_draws = settings.get("n_draws")
    seed = int(settings.get("random_seed", 1))
    prefs = customer_preferences(model, crm, n_draws=n_draws, random_seed=seed)
    cal = None
    if settings.get("basis", "calibrated") == "calibrated":
        draws = PartWorthDraws.from_model(model, n_draws)
        given = settings.get("calibration_file")  # the plan's --calibration FILE, if any
        override = (run.folder(TARGET) / str(given)).resolve() if given else None
        cal = market_calibration(draws, today, study, random_seed=seed, override=override)
    if study.business is None:
        raise WinbackError(f"{study_file} has no [business] table: the plan needs one.")
    scores = score_customers(prefs, crm, acts, study.business, calibration=cal, band=band)
    names = {a: j for j, a in enumerate(scores.actions)}
    unknown = sorted(set(plan["action"]) - set(names))
    if unknown:
        raise WinbackError(
            f"campaign.csv plans actions {unknown} that {PLAN_ACTIONS_FILE} does not describe."
        )
    planned = plan["action"].map(names).to_numpy(dtype=int)
    rows = np.arange(len(plan))
    again = scores.p_return[rows, planned]
    have = plan["p_return"].to_numpy(dtype=float)
    both = np.isfinite(again) & np.isfinite(have)
    gap = float(np.abs(again[both] - have[both]).max()) if both.any() else 0.0
    if gap > 1e-6:
        log.warning(
            "the plan's p_return could not be reproduced exactly (largest difference %.2g): "
            "the comparison uses the scores made again.",
            gap,
        )
    outcomes = measure_outcomes(
        plan, scores, results, adjust=adjust, band=band, random_seed=random_seed
    )
    cal_out = outcomes.calibration.calibration(
        source=f"outcomes of the campaign in {Path(run_dir).name} ({Path(results_csv).name})"
    )
    tables = {
        "outcomes_by_action.csv": outcomes.by_action,
        "outcomes_by_segment.csv": outcomes.by_segment,
        "calibration_curve.csv": outcomes.curve,
        "uplift.csv": outcomes.uplift,
        "outcomes_summary.csv": outcomes.summary,
    }
    record = {"band": band, "adjust": adjust, "random_seed": random_seed, "segment": segment,
              "basis": scores.basis, "reproduced_gap": gap}  # fmt: skip
    inputs = {"study": study_file, "run_dir": run_dir, "results": results_csv,
              "customers": cust_path}  # fmt: skip
    with staged_output(out, force=force, owned=OUTCOMES.owned) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name)
        atomic_write_text(stage / "calibration.toml", _toml_header() + cal_out.to_toml())
        atomic_write_text(stage / "outcomes.txt", outcomes.report() + "\n")
        write_record(stage, "outcomes", record, study, paths=inputs)
    names_out = [*tables, "calibration.toml", "outcomes.txt"]
    return OutcomesRun(outcomes, out, tuple(out / n for n in names_out))


def _toml_header() -> str:
    return (
        "# The calibration a campaign's outcomes give (winback outcomes): real utilities are\n"
        "# the stated ones times `scale`, the none utility plus `none_shift`, with their\n"
        "# standard errors. Give this file to the next simulate / recommend / target\n"
        "# (--calibration FILE), or copy the table into a study or market file.\n"
    )
