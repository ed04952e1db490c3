"""A latent class fit in one self-describing JSON file, and back.

``latent_class.json`` holds everything :class:`~analysis.LatentClassResult` is made of: the
part-worths of every class, their covariance with the share logits, the memberships, the
respondents' ids and answers, the study (as parsed), the fit statistics, and the covariate
model of the class shares when there is one. Numbers are written with Python's shortest exact
representation, so a loaded result gives the same shares, draws and class probabilities to
the last bit. A newer ``format_version`` is refused with a message to upgrade.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.latent_class import LatentClassResult
from analysis.latent_covariates import ClassMembershipModel
from conjoint.encoding import parameter_names
from winback import __version__
from winback._io import atomic_write_text
from winback.errors import WinbackError, list_valid
from winback.study import Study, study_from_dict

__all__ = ["load_latent_class", "save_latent_class"]

FORMAT = "winback-latent-class"
FORMAT_VERSION = 1


def _frame_to_json(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
            values: list[Any] = [bool(v) for v in s]
        elif pd.api.types.is_numeric_dtype(s.dtype):
            values = [float(v) for v in s.to_numpy(dtype=float, na_value=np.nan)]
        else:
            values = [None if pd.isna(v) else str(v) for v in s]
        cols.append({"name": str(name), "dtype": str(s.dtype), "values": values})
    return cols


def _frame_from_json(cols: list[dict[str, Any]]) -> pd.DataFrame:
    out = {}
    for c in cols:
        s = pd.Series(c["values"], dtype=object)
        try:
            s = s.astype(c["dtype"])
        except (TypeError, ValueError):
            pass
        out[c["name"]] = s
    return pd.DataFrame(out, columns=[c["name"] for c in cols])


def _class_model_json(m: ClassMembershipModel) -> dict[str, Any]:
    return {
        "covariate_names": list(m.covariate_names),
        "covariate_levels": {k: list(v) for k, v in m.covariate_levels.items()},
        "coef": m.coef,
        "cov": m.cov,
        "cov_fixed": m.cov_fixed,
        "log_likelihood": m.log_likelihood,
        "log_likelihood_without": m.log_likelihood_without,
        "n_respondents": m.n_respondents,
    }


def save_latent_class(result: LatentClassResult, path: str | Path) -> Path:
    """Write a latent class fit as JSON (atomically); the result must carry its study.

    Examples
    --------
    >>> save_latent_class(lc, "fit/latent_class.json")  # doctest: +SKIP
    """
    if result.study is None:
        raise WinbackError(
            "saving a latent class fit needs its study: fit with fit_latent_class(dataset)."
        )
    study = result.study
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "winback_version": __version__,
        "study": {
            "json": dict(study.raw),
            "source": study.source or "",
            "design": dataclasses.asdict(study.design),
        },
        "names": list(result.names),
        "coef": result.coef,
        "share_logits": result.share_logits,
        "cov": result.cov,
        "membership": result.membership,
        "respondent_ids": list(result.respondent_ids),
        "log_likelihood": result.log_likelihood,
        "n_obs": result.n_obs,
        "starts": [None if not np.isfinite(v) else float(v) for v in result.starts],
        "converged": result.converged,
        "gradient_max": result.gradient_max,
        "band": result.band,
        "labels": result.readable_labels,
        "respondents": None if result.respondents is None else _frame_to_json(result.respondents),
        "class_model": None
        if result.class_model is None
        else _class_model_json(result.class_model),
    }
    path = Path(path)
    atomic_write_text(path, json.dumps(doc, default=_plain, allow_nan=True, indent=1) + "\n")
    return path


def _plain(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.floating | np.integer | np.bool_):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _study_of(d: dict[str, Any]) -> Study:
    study = study_from_dict(d["json"], source=d.get("source") or None)
    design = d.get("design") or {}
    stored = {k: (tuple(v) if isinstance(v, list) else v) for k, v in design.items()}
    if stored and stored != dataclasses.asdict(study.design):
        study = study.replace_design(**stored)
    return study


def load_latent_class(path: str | Path) -> LatentClassResult:
    """Read a latent class fit written by :func:`save_latent_class` (a fit folder or its
    ``latent_class.json``).

    Examples
    --------
    >>> lc = load_latent_class("winback-demo/latent_class")  # doctest: +SKIP
    >>> simulate(lc.draws(), market, segment="latent_class")  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / "latent_class.json"
    if not path.is_file():
        raise WinbackError(f"no latent class fit at {path} (winback fit --model latent-class).")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WinbackError(f"{path} is not valid JSON ({exc}); refit.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise WinbackError(f"{path} is not a winback latent class fit (format {FORMAT!r}).")
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise WinbackError(
            f"{path} was written by a newer winback ({doc.get('winback_version')}); upgrade."
        )
    study = _study_of(doc["study"])
    names = tuple(doc["names"])
    if tuple(parameter_names(study)) != names:
        raise WinbackError(
            f"{path}: the stored study gives parameters {list_valid(parameter_names(study))}, "
            f"the fit has {list_valid(names)}; the file is inconsistent."
        )
    starts = np.array([np.nan if v is None else v for v in doc["starts"]], dtype=float)
    result = LatentClassResult(
        names=names,
        coef=np.asarray(doc["coef"], dtype=float),
        share_logits=np.asarray(doc["share_logits"], dtype=float),
        cov=np.asarray(doc["cov"], dtype=float),
        membership=np.asarray(doc["membership"], dtype=float),
        respondent_ids=tuple(str(r) for r in doc["respondent_ids"]),
        log_likelihood=float(doc["log_likelihood"]),
        n_obs=int(doc["n_obs"]),
        starts=starts,
        converged=bool(doc["converged"]),
        gradient_max=float(doc["gradient_max"]),
        band=float(doc["band"]),
        study=study,
        respondents=None
        if doc.get("respondents") is None
        else _frame_from_json(doc["respondents"]),
    )
    cm = doc.get("class_model")
    if cm is not None:
        model = ClassMembershipModel(
            classes=tuple(result.class_labels),
            labels=tuple(result.readable_labels),
            covariate_names=tuple(cm["covariate_names"]),
            covariate_levels={k: tuple(v) for k, v in cm["covariate_levels"].items()},
            coef=np.asarray(cm["coef"], dtype=float),
            cov=np.asarray(cm["cov"], dtype=float),
            cov_fixed=np.asarray(cm["cov_fixed"], dtype=float),
            log_likelihood=float(cm["log_likelihood"]),
            log_likelihood_without=float(cm["log_likelihood_without"]),
            n_respondents=int(cm["n_respondents"]),
            band=result.band,
        )
        result = dataclasses.replace(result, class_model=model)
    return result
