"""Does the fit predict choices it was not fitted to? ``validate_fit(model)``.

The honest check of a choice model is how well it predicts answers it never saw. Two routes,
chosen by ``method``:

- ``"holdouts"``: the study's holdout tasks (fixed tasks everyone sees, kept out of
  estimation; Sawtooth's holdout hit rate), scored by :func:`holdout_validation`;
- ``"split"``: when there are none, one random estimation task per respondent is held out,
  the model is refitted on the remaining tasks with the same settings, and the refit predicts
  the held-out choices (Displayr's "questions left out for cross-validation"; Sawtooth's
  random-task holdout). Each held-out task is predicted from the respondent's own part-worths,
  as a holdout task is, so the figures read the same way.

``"auto"`` (the default) takes the holdouts when the study has them, else the split when the
data are small enough for a refit to be affordable (:data:`SPLIT_MAX_OBSERVATIONS`), else
nothing (with a note saying how to ask for it).

Every figure comes with its naive benchmarks: the hit rate of a random guess, of always
predicting the most popular alternative, and the share error of equal shares.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from analysis.data import ChoiceArrays
from analysis.hb import fit_arrays
from analysis.results._common import Interval, _band_args, _flat_beta, _respondent_index
from analysis.results.validation import (
    ALTERNATIVE_COLUMNS,
    DUAL_LABELS,
    _alt_labels,
    _holdout_arrays,
    _holdout_names,
    score_tasks,
)
from winback.errors import ParameterError, list_valid
from winback.settings import BAND

if TYPE_CHECKING:
    from analysis.model import HBModel

log = logging.getLogger("winback")

Method = Literal["auto", "holdouts", "split", "none"]
METHODS = ("auto", "holdouts", "split", "none")

#: ``method="auto"`` refits for the split only up to this many estimation choice tasks
#: (respondents x tasks, e.g. 1,000 respondents x 12 tasks): the refit takes about as long as
#: the fit itself
SPLIT_MAX_OBSERVATIONS = 12_000

#: columns of :attr:`FitValidation.table` (``validation.csv``)
COLUMNS = (
    "method",
    "task",
    "holdout",
    "kind",
    "n_respondents",
    "n_tasks",
    "n_alternatives",
    "hit_rate",
    "hit_rate_draws",
    "hit_rate_chance",
    "hit_rate_most_popular",
    "most_popular",
    "share_mae",
    "share_mae_equal",
)
#: the ``task`` of a row pooling every held-out task of its kind
ALL_TASKS = "all"


@dataclass(frozen=True, eq=False)
class FitValidation:
    """How well a fit predicts held-out choices, against naive benchmarks.

    Attributes
    ----------
    method : {"holdouts", "split", "none"}
        What was held out: the study's holdout tasks, random estimation tasks (refitted
        without them), or nothing (``note`` says why).
    requested : str
        The ``method`` asked for (``"auto"`` by default).
    table : DataFrame
        :data:`COLUMNS`: first one row per kind (``choice``, and ``dual`` for the
        dual-response follow-up) pooling every held-out task (``task`` = ``"all"``), then,
        for holdout tasks, one row per task. ``hit_rate``: share of held-out tasks whose
        chosen alternative has the highest utility at the posterior mean part-worths
        (``hit_rate_draws``: averaged over draws); ``hit_rate_chance``: a random guess;
        ``hit_rate_most_popular``: always predicting the alternative chosen most often
        (``most_popular``); ``share_mae``: mean absolute error of the predicted shares of the
        alternatives; ``share_mae_equal``: that of equal shares. Pooled rows average the
        tasks' share errors; with the split, alternatives are compared by their place in the
        task (1, 2, 3, none), the tasks themselves differing between respondents.
    shares : DataFrame
        Observed and predicted share of every alternative (``task, holdout, kind, alt,
        observed_share, predicted_share, lower, upper, abs_error``; without ``task`` and
        ``holdout`` for the split).
    held_out : DataFrame
        ``respondent_id, task``: the tasks held out by the split (empty otherwise).
    description : str
        What was held out, in words.
    tasks_per_respondent : int or None
        Tasks held out per respondent by the split.
    random_seed : int or None
        Seed of the split (which tasks) and of the refit.
    refit_seconds : float or None
        Time of the refit.
    note : str
        Why nothing was held out, or what to know about the figures.
    """

    method: Literal["holdouts", "split", "none"]
    requested: str
    table: pd.DataFrame = field(repr=False)
    shares: pd.DataFrame = field(repr=False)
    held_out: pd.DataFrame = field(repr=False)
    description: str = ""
    tasks_per_respondent: int | None = None
    random_seed: int | None = None
    refit_seconds: float | None = None
    note: str = ""

    def headline(self) -> pd.Series | None:
        """The pooled row of the choices (None when nothing was held out)."""
        return headline(self.table)

    def words(self) -> list[str]:
        """The figures in plain words (see :func:`validation_words`)."""
        return validation_words(self.table, self.description, self.note)

    def to_dict(self, *, figures: bool = True) -> dict[str, Any]:
        """JSON-ready: what was held out (``run.json``) and, with ``figures``, the pooled
        figures of the choices (``diagnostics.json``)."""
        row = self.headline()

        def num(key: str) -> float | None:
            if row is None:
                return None
            v = float(row[key])
            return None if math.isnan(v) else round(v, 6)

        out: dict[str, Any] = {
            "method": self.method,
            "requested": self.requested,
            "description": self.description,
            "n_tasks": None if row is None else int(row["n_tasks"]),
            "tasks_per_respondent": self.tasks_per_respondent,
            "random_seed": self.random_seed,
            "refit_seconds": None if self.refit_seconds is None else round(self.refit_seconds, 3),
            "note": self.note,
        }
        if figures:
            keys = ("hit_rate", "hit_rate_draws", "hit_rate_chance", "hit_rate_most_popular",
                    "share_mae", "share_mae_equal")  # fmt: skip
            out.update({k: num(k) for k in keys})
        return out

    def report(self) -> str:
        """The validation as text, with the table of pooled and per-task figures."""
        title = {
            "holdouts": "holdout tasks",
            "split": "random held-out tasks",
            "none": "not done",
        }[self.method]
        lines = [f"Predictive validation: {title}"]
        lines += [f"  {w}" for w in self.words()]
        if len(self.table):
            lines.append("")
            shown = display_rows(self.table).drop(columns=["method"])
            for c in ("hit_rate", "hit_rate_draws", "hit_rate_chance", "hit_rate_most_popular"):
                shown[c] = shown[c].map(lambda v: f"{v:.1%}")
            for c in ("share_mae", "share_mae_equal"):
                shown[c] = shown[c].map(lambda v: f"{100 * v:.1f} pt")
            lines += [f"  {line}" for line in shown.to_string(index=False).splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


def display_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows worth showing: a pooled row only when its kind has several task rows (with
    one holdout task, that task's own row says the same and names it)."""
    pooled = table["task"].astype(str) == ALL_TASKS
    per_kind = table.loc[~pooled, "kind"].value_counts()
    keep = ~pooled | table["kind"].map(lambda k: per_kind.get(k, 0) != 1)
    return table[keep.to_numpy()].reset_index(drop=True)


def headline(table: pd.DataFrame) -> pd.Series | None:
    """The row pooling every held-out choice task of a validation table (None if absent)."""
    if table is None or table.empty or "task" not in table.columns:
        return None
    hit = table[(table["task"].astype(str) == ALL_TASKS) & (table["kind"] == "choice")]
    return hit.iloc[0] if len(hit) else None


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _option(label: Any, method: str) -> str:
    """The most popular alternative in words: a holdout's option number, or (the split's
    tasks differing between respondents) the place in the task."""
    text = str(label)
    if text == "per task":
        return "each task's own"
    if text.isdigit():
        n = int(text)
        if method == "split" and 1 <= n <= len(_ORDINALS):
            return f"the one shown {_ORDINALS[n - 1]}"
        return f"option {text}"
    return {"status_quo": "the current plan", "none": "none of them"}.get(text, text)


def validation_words(table: pd.DataFrame, description: str = "", note: str = "") -> list[str]:
    """A validation table (``validation.csv``) in plain words.

    Examples
    --------
    >>> validation_words(validate_fit(model).table)  # doctest: +SKIP
    ['The model picks the chosen option in 62% of 120 held-out tasks, against 25% by chance
    and 41% by always picking the most popular option (option 2).', ...]
    """
    row = headline(table)
    if row is None:
        return [note or "Not validated: no choices were held out."]
    hit, chance, pop = (float(row[k]) for k in ("hit_rate", "hit_rate_chance",
                                                 "hit_rate_most_popular"))  # fmt: skip
    n = int(row["n_tasks"])
    out = [
        f"The model picks the chosen option in {hit:.0%} of {n} held-out tasks, against "
        f"{chance:.0%} by chance and {pop:.0%} by always picking the most popular option "
        f"({_option(row['most_popular'], str(row.get('method', '')))})."
    ]
    mae, equal = float(row["share_mae"]), float(row["share_mae_equal"])
    out.append(
        f"Its predicted shares of the options are off by {100 * mae:.1f} percentage points on "
        f"average, against {100 * equal:.1f} for equal shares."
    )
    best = max(chance, pop)
    # two binomial standard errors of the hit rate: a rough line between a real lead over
    # the naive rule and one the luck of n tasks could give
    noise = 2.0 * math.sqrt(max(hit * (1.0 - hit), 1e-12) / max(n, 1))
    if hit <= best:
        out.append(
            "Caution: on these tasks the model predicts individual choices no better than a "
            "naive rule; treat its individual-level figures with care (more tasks per "
            "respondent or a simpler model may help)."
        )
    elif hit - best < noise:
        out.append(
            f"That is only {100 * (hit - best):.0f} points better than the better naive rule, "
            f"within what luck gives with {n} tasks (about {100 * noise:.0f} points): weak "
            "evidence that the part-worths predict individual choices."
        )
    else:
        out.append(
            f"That is {100 * (hit - best):.0f} points better than the better naive rule (more "
            f"than luck gives with {n} tasks, about {100 * noise:.0f} points): the part-worths "
            "carry real information about individual choices."
        )
    dual = table[(table["task"].astype(str) == ALL_TASKS) & (table["kind"] == "dual")]
    if len(dual):
        d = dual.iloc[0]
        out.append(
            f"In the follow-up (would they really take the option they chose?) it predicts the "
            f"answer in {float(d['hit_rate']):.0%} of tasks, against "
            f"{float(d['hit_rate_most_popular']):.0%} by always giving the most common answer."
        )
    if description:
        out.append(f"Held out: {description}")
    if note:
        out.append(note)
    return out


def check_validation_method(method: object) -> None:
    """Raise a ParameterError naming the valid methods unless ``method`` is one of them."""
    if method not in METHODS:
        raise ParameterError(
            f"validation method must be one of {list_valid(METHODS)}, got {method!r}."
        )


def split_tasks(
    arrays: ChoiceArrays, *, tasks_per_respondent: int = 1, random_seed: int = 1
) -> pd.DataFrame:
    """The estimation tasks the split holds out: ``respondent_id, task``.

    ``tasks_per_respondent`` tasks drawn at random (seeded) from each respondent's choice
    tasks; a respondent with no more tasks than that keeps them all. A dual-response
    follow-up goes with its task.
    """
    if not isinstance(tasks_per_respondent, int) or tasks_per_respondent < 1:
        raise ParameterError(
            f"tasks_per_respondent must be a whole number >= 1, got {tasks_per_respondent!r}."
        )
    obs = arrays.obs
    choice = obs.loc[obs["kind"] == "choice", ["respondent_id", "task"]].drop_duplicates()
    rng = np.random.default_rng(random_seed)
    key = pd.Series(rng.random(len(choice)), index=choice.index)
    rank = key.groupby(choice["respondent_id"], sort=False).rank(method="first")
    size = choice.groupby("respondent_id", sort=False)["task"].transform("size")
    keep = (rank <= tasks_per_respondent) & (size > tasks_per_respondent)
    return choice[keep].reset_index(drop=True)


def _held_mask(arrays: ChoiceArrays, held: pd.DataFrame) -> np.ndarray:
    pairs = pd.MultiIndex.from_frame(held[["respondent_id", "task"]])
    mine = pd.MultiIndex.from_frame(arrays.obs[["respondent_id", "task"]])
    return np.asarray(mine.isin(pairs))


def _position_labels(model: HBModel, n_alts: int) -> list[str]:
    """The alternatives' labels by their place in an estimation task (1..J, status quo, none)."""
    ch = model.dataset_.included_choices()
    if ch.empty:
        return [str(j + 1) for j in range(n_alts)]
    first = ch[(ch["respondent_id"] == ch["respondent_id"].iloc[0])]
    first = first[first["task"] == first["task"].iloc[0]]
    labels = [str(a) for a in first["alt"]]
    return labels + [str(j + 1) for j in range(len(labels), n_alts)]


_RATES = ("hit_rate", "hit_rate_draws", "hit_rate_chance", "hit_rate_most_popular")


def _pooled(tasks: pd.DataFrame, method: str) -> pd.DataFrame:
    """One row per kind over every task: hit rates weighted by tasks, share errors averaged."""
    rows = []
    for kind, g in tasks.groupby("kind", sort=False):
        w = g["n_tasks"].to_numpy(dtype=float)
        pop = g["most_popular"].astype(str)
        rows.append(
            {
                "method": method,
                "task": ALL_TASKS,
                "holdout": "",
                "kind": kind,
                "n_respondents": int(g["n_respondents"].max()),
                "n_tasks": int(w.sum()),
                "n_alternatives": int(g["n_alternatives"].max()),
                **{c: float(np.average(g[c].to_numpy(dtype=float), weights=w)) for c in _RATES},
                "most_popular": pop.iloc[0] if pop.nunique() == 1 else "per task",
                "share_mae": float(g["share_mae"].mean()),
                "share_mae_equal": float(g["share_mae_equal"].mean()),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _none(requested: str, note: str) -> FitValidation:
    log.info("validation: %s", note)
    return FitValidation(
        method="none",
        requested=requested,
        table=pd.DataFrame(columns=list(COLUMNS)),
        shares=pd.DataFrame(columns=list(ALTERNATIVE_COLUMNS)),
        held_out=pd.DataFrame(columns=["respondent_id", "task"]),
        note=note,
    )


def validate_fit(
    model: HBModel,
    *,
    method: Method | str = "auto",
    tasks_per_respondent: int = 1,
    random_seed: int | None = None,
    max_observations: int = SPLIT_MAX_OBSERVATIONS,
    band: float = BAND,
    band_kind: Interval = "eti",
) -> FitValidation:
    """How well the fit predicts choices it was not fitted to, against naive benchmarks.

    Parameters
    ----------
    model : HBModel
    method : {"auto", "holdouts", "split", "none"}
        ``"holdouts"``: the study's holdout tasks; ``"split"``: hold out
        ``tasks_per_respondent`` random estimation tasks per respondent, refit on the rest
        with the model's own settings (same draws, chains, priors, constraints and
        covariates) and predict them; ``"auto"``: the holdouts when there are any, else the
        split when the estimation has at most ``max_observations`` choice tasks, else none.
    tasks_per_respondent : int
        Tasks held out per respondent by the split (1; Sawtooth's and Displayr's examples
        hold out 1 or 2 of 10-15).
    random_seed : int, optional
        Which tasks the split holds out, and the refit's seed (default: the fit's seed).
    max_observations : int
        The largest estimation (respondents x tasks) ``"auto"`` refits.
    band, band_kind
        Probability and kind of the band of the predicted shares.

    Returns
    -------
    FitValidation

    Examples
    --------
    >>> v = validate_fit(model)  # doctest: +SKIP
    >>> print(v.report())  # doctest: +SKIP
    >>> v.table  # doctest: +SKIP
    """
    check_validation_method(method)
    band, band_kind = _band_args(band, band_kind, None, None, "validate_fit")
    seed = model.settings.random_seed if random_seed is None else int(random_seed)
    if method == "none":
        return _none(method, "Not validated: validation was switched off (method 'none').")
    holdouts = _holdout_arrays(model)
    if method == "holdouts" or (method == "auto" and holdouts is not None):
        if holdouts is None:
            return _none(
                method,
                "Not validated: the study has no holdout tasks among the included "
                "respondents; add [[holdouts]] to the study, or use method 'split'.",
            )
        return _from_holdouts(model, holdouts, method, band, band_kind)
    n_choice = int((model.arrays_.obs["kind"] == "choice").sum())
    if method == "auto" and n_choice > max_observations:
        return _none(
            method,
            f"Not validated: no holdout tasks, and a refit without held-out tasks was not run "
            f"automatically ({n_choice:,} estimation tasks > {max_observations:,}: it would "
            "take about as long as the fit). Ask for it with method 'split' (run_fit(..., "
            "validation='split')), or add [[holdouts]] to the study.",
        )
    return _from_split(model, method, tasks_per_respondent, seed, band, band_kind)


def _from_holdouts(
    model: HBModel, arrays: ChoiceArrays, requested: str, band: float, band_kind: Interval
) -> FitValidation:
    resp = _respondent_index(model, arrays.respondent_ids)[arrays.resp]
    names = _holdout_names(model, arrays)
    tasks, shares = score_tasks(
        arrays,
        _flat_beta(model),
        model.beta_mean().to_numpy(),
        resp,
        keys=("task", "kind"),
        labels=_alt_labels(model, arrays),
        names=names,
        band=band,
        band_kind=band_kind,
    )
    tasks.insert(0, "method", "holdouts")
    table = pd.concat([_pooled(tasks, "holdouts"), tasks[list(COLUMNS)]], ignore_index=True)
    table["task"] = table["task"].astype(str)
    n_task = int(pd.unique(arrays.obs["task"]).size)
    n_resp = len(np.unique(resp))
    which = f" ({', '.join(str(n) for n in names.values())})" if names else ""
    tasks_words = "holdout task" if n_task == 1 else f"{n_task} holdout tasks"
    description = (
        f"the study's {tasks_words}{which}, shown to {n_resp} respondents and not used in "
        "estimation."
    )
    return FitValidation(
        method="holdouts",
        requested=requested,
        table=table,
        shares=shares,
        held_out=pd.DataFrame(columns=["respondent_id", "task"]),
        description=description,
    )


def _from_split(
    model: HBModel,
    requested: str,
    tasks_per_respondent: int,
    seed: int,
    band: float,
    band_kind: Interval,
) -> FitValidation:
    arrays = model.arrays_
    held = split_tasks(arrays, tasks_per_respondent=tasks_per_respondent, random_seed=seed)
    if held.empty:
        return _none(
            requested,
            f"Not validated: every respondent has {tasks_per_respondent} estimation task(s) "
            "or fewer, so none can be held out.",
        )
    mask = _held_mask(arrays, held)
    log.info(
        "validation: refitting without %d random task(s) per respondent (%d tasks held out)",
        tasks_per_respondent,
        len(held),
    )
    t0 = time.perf_counter()
    refit = fit_arrays(arrays.subset(~mask), replace(model.settings, random_seed=seed))
    seconds = time.perf_counter() - t0
    test = arrays.subset(mask)
    draws = refit.individual_draws()
    beta = draws.reshape(-1, draws.shape[2], draws.shape[3])
    labels = {"choice": _position_labels(model, arrays.x.shape[1]), "dual": DUAL_LABELS}
    tasks, shares = score_tasks(
        test,
        beta,
        beta.mean(axis=0),
        test.resp,
        keys=("kind",),
        labels=labels,
        band=band,
        band_kind=band_kind,
    )
    table = _pooled(tasks, "split")
    per = (
        "one random estimation task"
        if tasks_per_respondent == 1
        else (f"{tasks_per_respondent} random estimation tasks")
    )
    description = (
        f"{per} per respondent ({len(held)} tasks "
        f"of {held['respondent_id'].nunique()} respondents, seed {seed}); the model was "
        f"refitted on the remaining tasks with the same settings ({seconds:.0f} s) and "
        "predicted the held-out choices from each respondent's own part-worths."
    )
    return FitValidation(
        method="split",
        requested=requested,
        table=table,
        shares=shares,
        held_out=held,
        description=description,
        tasks_per_respondent=tasks_per_respondent,
        random_seed=seed,
        refit_seconds=seconds,
        note=(
            "Shares are compared by the alternatives' place in the task (the held-out tasks "
            "differ between respondents)."
        ),
    )


__all__ = [
    "COLUMNS",
    "SPLIT_MAX_OBSERVATIONS",
    "FitValidation",
    "check_validation_method",
    "display_rows",
    "headline",
    "split_tasks",
    "validate_fit",
    "validation_words",
]
