"""Latent classes as segments everywhere: the one place the later stages read a fit's draws.

``simulate``, ``recommend`` and ``target`` read the fit through :func:`load_draws_for`. Where a
latent class fit is found (``--classes-from FIT_DIR``, else a ``latent_class/`` folder beside
the fit folder, i.e. in the run folder), each respondent's modal class becomes the respondent
column ``latent_class`` (readable names, ``class 2 (price-sensitive)``), joined on
``respondent_id``; the HB draws stay the simulator's model. A fit folder that holds a latent
class fit and no HB fit is itself the simulator (:meth:`analysis.LatentClassResult.draws`,
``"sample"``: parameters from their asymptotic normal and classes from the memberships).

For ``target``, :func:`customers_with_classes` gives every CRM customer a ``latent_class``:
survey respondents their modal class, everyone else the most probable class of the covariate
model (:meth:`analysis.LatentClassResult.class_probabilities`).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.campaign.customers import RESPONDENT, source_table
from analysis.io import load_model
from analysis.simulator import PartWorthDraws
from winback.errors import WinbackError
from winback.run_folder import LATENT_CLASS
from winback.study import Study, load_study

if TYPE_CHECKING:
    from analysis import HBModel, LatentClassResult

log = logging.getLogger("winback")

#: the respondent (and customer) column holding the latent class
SEGMENT = "latent_class"
#: the file that makes a folder a latent class fit
LATENT_FILE = "latent_class.json"
#: samples of a latent class simulator (parameters and classes drawn)
N_SAMPLES = 200


def is_latent_class_fit(folder: str | Path) -> bool:
    """Whether ``folder`` holds a latent class fit (and no HB fit)."""
    folder = Path(folder)
    return (folder / LATENT_FILE).is_file() and not (folder / "fit.nc").is_file()


def load_fit_for(study_path: str | Path, fit_dir: str | Path) -> HBModel:
    """The fitted model in ``fit_dir``, checked against the study file given.

    The decision tables of the study file given (``[costs]``, ``[business]``,
    ``[calibration]``) replace the fit's copies: they are not part of the estimation, and a
    researcher who edits them reruns ``simulate`` and ``recommend`` without refitting."""
    study = load_study(study_path)
    fit_dir = Path(fit_dir)
    model = load_model(fit_dir / "fit.nc" if fit_dir.is_dir() else fit_dir)
    mine = [(a.name, a.level_labels(), a.coding) for a in study.attributes]
    theirs = [(a.name, a.level_labels(), a.coding) for a in model.study.attributes]
    if mine != theirs:
        raise WinbackError(
            f"{study_path} does not match the study the fit in {fit_dir} was made with "
            f"(attributes, levels or coding differ): refit, or pass the study file of that fit."
        )
    model.study = dataclasses.replace(
        model.study, costs=study.costs, business=study.business, calibration=study.calibration
    )
    return model


def _load_latent_class(folder: str | Path) -> LatentClassResult:
    # lazy: the latent class model (scipy.special, the EM) loads only for a latent class fit
    from analysis.latent_class_io import load_latent_class

    return load_latent_class(folder)


def find_classes(
    fit_dir: str | Path, classes_from: str | Path | None = None
) -> LatentClassResult | None:
    """The latent class fit for the respondents of ``fit_dir``: ``classes_from`` when given
    (it must be one), else the run folder's ``latent_class/`` beside ``fit_dir``, else None."""
    if classes_from is not None:
        folder = Path(classes_from)
        if not (folder / LATENT_FILE).is_file() and not folder.is_file():
            raise WinbackError(
                f"--classes-from {folder}: no latent class fit there (no {LATENT_FILE}); write "
                f"one with winback fit STUDY RESPONSES --model latent-class --out {folder}."
            )
        return _load_latent_class(folder)
    beside = Path(fit_dir).parent / LATENT_CLASS.name
    if (beside / LATENT_FILE).is_file():
        return _load_latent_class(beside)
    return None


def _same_study(study: Study, stored: Study, study_path: str | Path, fit_dir: str | Path) -> Study:
    mine = [(a.name, a.level_labels(), a.coding) for a in study.attributes]
    theirs = [(a.name, a.level_labels(), a.coding) for a in stored.attributes]
    if mine != theirs:
        raise WinbackError(
            f"{study_path} does not match the study the latent classes in {fit_dir} were fitted "
            "with (attributes, levels or coding differ): refit, or pass the study file of that fit."
        )
    return dataclasses.replace(
        stored, costs=study.costs, business=study.business, calibration=study.calibration
    )


def with_classes(draws: PartWorthDraws, classes: LatentClassResult) -> PartWorthDraws:
    """The draws with each respondent's modal class as the respondent column ``latent_class``
    (respondents the classes were not fitted to are left blank, with a warning)."""
    seg = classes.segments(SEGMENT).set_index("respondent_id")[SEGMENT]
    ids = list(draws.respondent_ids)
    resp = draws.respondents
    if resp is None:
        resp = pd.DataFrame({"respondent_id": ids}, index=pd.Index(ids))
    resp = resp.drop(columns=[SEGMENT], errors="ignore").copy()
    resp[SEGMENT] = seg.reindex(resp.index.astype(str)).to_numpy()
    have = resp[SEGMENT].reindex(ids).notna().to_numpy()
    if not have.any():
        raise WinbackError(
            "the latent class fit shares no respondent with the HB fit: fit both to the same "
            "responses."
        )
    if not have.all():
        log.warning(
            "%d of %d respondents of the HB fit have no latent class (not in the latent class "
            "fit): they count in 'all' only",
            int((~have).sum()),
            len(ids),
        )
    return dataclasses.replace(draws, respondents=resp)


def load_draws_for(
    study_path: str | Path,
    fit_dir: str | Path,
    *,
    classes_from: str | Path | None = None,
    n_draws: int | None = None,
    random_seed: int = 1,
) -> PartWorthDraws:
    """The simulator's part-worth draws from a fit folder, checked against the study file,
    with the latent classes as a segment where there are any (see the module notes).

    Examples
    --------
    >>> draws = load_draws_for("run/study.toml", "run/fit")  # doctest: +SKIP
    >>> simulate(draws, market, segment="latent_class")  # doctest: +SKIP
    """
    if is_latent_class_fit(fit_dir):
        lc = _load_latent_class(fit_dir)
        assert lc.study is not None  # saved with its study
        lc = dataclasses.replace(
            lc, study=_same_study(load_study(study_path), lc.study, study_path, fit_dir)
        )
        return lc.draws("sample", n_draws=n_draws or N_SAMPLES, random_seed=random_seed)
    model = load_fit_for(study_path, fit_dir)
    draws = PartWorthDraws.from_model(model, n_draws)
    classes = find_classes(fit_dir, classes_from)
    return draws if classes is None else with_classes(draws, classes)


def customers_with_classes(
    customers_csv: str | Path,
    classes: LatentClassResult | None,
    *,
    missing: str = "no latent class fit for the segment 'latent_class'",
) -> pd.DataFrame:
    """The CRM list (as text) with the column ``latent_class``: a survey respondent's modal
    class, every other customer's most probable class from the covariate model (without one,
    the largest class, with a warning). A list that has the column already is returned as is;
    without it and without ``classes``, the error says ``missing``."""
    frame, _, rows = source_table(customers_csv, None, what="customer file", table="customers")
    if SEGMENT in frame.columns:
        return frame
    if classes is None:
        raise WinbackError(missing)
    modal = classes.segments(SEGMENT).set_index("respondent_id")[SEGMENT]
    if RESPONDENT in frame.columns:
        rid = frame[RESPONDENT].astype("string").str.strip()
        known = rid.isin(set(modal.index)).fillna(False).to_numpy(dtype=bool)
    else:
        rid = pd.Series([""] * len(frame), index=frame.index)
        known = np.zeros(len(frame), dtype=bool)
    out = frame.copy()
    values = np.empty(len(frame), dtype=object)
    values[known] = modal.reindex(rid[known].astype(str)).to_numpy()
    others = ~known
    if others.any():
        if classes.class_model is not None:
            probs = classes.class_model.class_probabilities(
                frame[others], rows=rows[others], label=Path(customers_csv).name
            )
            values[others] = probs["label"].to_numpy()
        else:
            biggest = classes.readable_labels[int(np.argmax(classes.shares))]
            log.warning(
                "the latent class fit has no covariate model: the %d customers who were not "
                "surveyed get the largest class, %s (fit with --covariates to predict theirs)",
                int(others.sum()),
                biggest,
            )
            values[others] = biggest
    out[SEGMENT] = values
    return out
