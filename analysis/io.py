"""Save a fitted HB model to one netCDF file and load it back: ``save_model``, ``load_model``.

The file is the model's DataTree (``posterior``, ``sample_stats``) written with
``DataTree.to_netcdf`` (netCDF4/HDF5 through h5netcdf; no pickle), plus a ``winback`` group that
holds everything needed to rebuild the :class:`analysis.HBModel` exactly:

- ``winback/estimation``: the estimation arrays ``x``, ``y``, ``avail``, ``resp`` (and
  respondent covariates, centred, with the means they were centred by), ``winback/obs`` their
  observation table;
- ``winback/choices``, ``winback/respondents``, ``winback/exclusions`` (and
  ``winback/flags``): the ChoiceDataset's tables, one variable per column with its pandas dtype;
- root attributes: ``winback_version``, ``study_json`` (the parsed study file as JSON),
  ``study_toml`` (the study file's text when its source is a readable file), ``study_source``,
  ``study_design`` (design settings), ``settings`` (the HB settings, JSON), ``sources`` (the
  input files and their SHA-256), ``parameter_names``, ``respondent_ids``, ``seconds``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from analysis.data import ChoiceArrays
from conjoint.encoding import parameter_names
from surveys._csv import file_sha256
from surveys.dataset import ChoiceDataset
from winback import __version__
from winback.errors import WinbackError, list_valid
from winback.study import study_from_dict

if TYPE_CHECKING:
    import xarray as xr

    from analysis.model import HBModel

log = logging.getLogger("winback")

FORMAT = "winback-hb-fit"
FORMAT_VERSION = 1
_OWN_GROUP = "winback"
_TABLES = ("choices", "respondents", "exclusions", "flags")


def _engine() -> Literal["h5netcdf", "netcdf4"]:
    import importlib.util

    if importlib.util.find_spec("h5netcdf") is not None:
        return "h5netcdf"
    if importlib.util.find_spec("netCDF4") is not None:
        return "netcdf4"
    raise WinbackError(
        "saving or loading a fit needs a netCDF4 library: pip install h5netcdf h5py (or netCDF4)."
    )


# --------------------------------------------------------------------------------------------
# Tables <-> datasets
# --------------------------------------------------------------------------------------------


def _frame_to_dataset(df: pd.DataFrame) -> xr.Dataset:
    """One variable per column (dim ``row``), with the pandas dtype to restore it exactly.

    Text columns are stored as strings with a ``<name>__na`` mask for missing values (and,
    for object columns, which missing marker they held: None, NaN or pd.NA).
    """
    import xarray as xr

    data: dict[str, Any] = {}
    names: list[str] = []
    for i, col in enumerate(df.columns):
        s = df.iloc[:, i]
        name = str(col)
        if "/" in name or name in data or name.endswith("__na") or name == "index":
            name = f"column_{i}"
        names.append(name)
        dtype = s.dtype
        attrs = {
            "column": json.dumps(col if isinstance(col, str) else str(col)),
            "pandas_dtype": str(dtype),
        }
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            values = s.to_numpy()
        elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            values = s.to_numpy(dtype=float, na_value=np.nan)  # nullable Int64/Float64/boolean
        else:
            na = s.isna().to_numpy()
            values = np.array(["" if m else str(v) for v, m in zip(s, na, strict=True)], dtype=str)
            if na.any():
                data[f"{name}__na"] = ("row", na)
                first = s[na].iloc[0]
                attrs["na_value"] = "None" if first is None else ("NA" if first is pd.NA else "nan")
        data[name] = xr.Variable("row", values, attrs=attrs)
    index = df.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        data["index"] = ("row", np.asarray(index))
    return xr.Dataset(data, attrs={"columns": json.dumps(names), "n_rows": len(df)})


_NA = {"None": None, "nan": np.nan, "NA": pd.NA}


def _dataset_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    names = json.loads(ds.attrs["columns"])
    cols: dict[str, pd.Series] = {}
    order: list[str] = []
    for name in names:
        var = ds[name]
        col = json.loads(var.attrs["column"])
        dtype = str(var.attrs["pandas_dtype"])
        values = var.to_numpy()
        if f"{name}__na" in ds:
            obj = values.astype(object)
            obj[ds[f"{name}__na"].to_numpy().astype(bool)] = _NA[var.attrs.get("na_value", "None")]
            s = pd.Series(obj, dtype=object)
        else:
            s = pd.Series(values)
        cols[col] = s.astype(object) if dtype == "object" else _restore_dtype(s, dtype)
        order.append(col)
    out = pd.DataFrame(cols, columns=order)
    if "index" in ds:
        out.index = pd.Index(ds["index"].to_numpy())
    return out


def _restore_dtype(s: pd.Series, dtype: str) -> pd.Series:
    try:
        return s.astype(dtype)
    except (TypeError, ValueError):
        log.warning("could not restore a column's dtype %s; kept %s", dtype, s.dtype)
        return s


# --------------------------------------------------------------------------------------------
# Settings and study
# --------------------------------------------------------------------------------------------


def _settings_json(settings: Any) -> str:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        v = getattr(settings, f.name)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif f.name == "constraints":
            v = dict(v)
        out[f.name] = v
    return json.dumps(out)


def _settings_from_json(text: str) -> Any:
    # lazy: the estimation (and its sampler, nutpie) loads when a fit is read, not with this
    # module: the stages that import it (simulate, recommend, report, ...) start without them
    from analysis.hb import HBSettings

    d = json.loads(text)
    known = {f.name for f in dataclasses.fields(HBSettings)}
    unknown = sorted(set(d) - known)
    if unknown:
        log.warning("fit file: unknown HB settings %s ignored (a newer winback?)", unknown)
    for key in ("prior_mean", "prior_cov"):
        if d.get(key) is not None:
            d[key] = np.asarray(d[key], dtype=float)
    return HBSettings(**{k: v for k, v in d.items() if k in known})


def _study_toml(source: str | None) -> str:
    if not source:
        return ""
    p = Path(source)
    try:
        return p.read_text(encoding="utf-8") if p.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""


# --------------------------------------------------------------------------------------------
# Save
# --------------------------------------------------------------------------------------------


def _clean_group(ds: xr.Dataset) -> xr.Dataset:
    """Object variables holding None (nutpie's divergence messages) become text."""
    ds = ds.copy()
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            ds[name] = var.copy(
                data=np.vectorize(lambda v: "" if v is None else str(v), otypes=[str])(
                    var.to_numpy()
                )
                if var.size
                else var.to_numpy().astype(str)
            )
    return ds


#: part-worths whose size float32 holds (its largest finite value is about 3.4e38)
_FLOAT32_SAFE = 1e30


def _largest_magnitude(values: np.ndarray) -> float:
    """``nanmax(abs(values), initial=0)``, a block of rows at a time: no temporary of the
    size of the part-worth draws (1.3 GB at 2,000 respondents x 4,000 draws x 20)."""
    flat = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values.reshape(-1, 1)
    rows = max(1, (1 << 20) // max(1, flat.shape[1]))
    largest = 0.0
    for lo in range(0, flat.shape[0], rows):
        block = np.nanmax(np.abs(flat[lo : lo + rows]), initial=0.0)
        largest = max(largest, float(block))
    return largest


def _tree(model: HBModel) -> xr.DataTree:
    import xarray as xr

    groups: dict[str, xr.Dataset] = {}
    for name, node in model.idata_.children.items():
        if name == _OWN_GROUP:
            continue
        data = _clean_group(node.to_dataset())
        if (
            name == "posterior"
            and "beta" in data
            and data["beta"].dtype == np.float64
            and _largest_magnitude(data["beta"].to_numpy()) < _FLOAT32_SAFE
        ):
            # the individual part-worths, the bulk of the file, as float32: shares and WTP
            # from them agree with float64 ones to ~1e-7, far inside Monte Carlo error. A
            # diverged fit (part-worths beyond float32's range) is kept as float64, as sampled.
            data["beta"] = data["beta"].astype(np.float32)
        groups[f"/{name}"] = data
    a = model.arrays_
    est = xr.Dataset(
        {
            "x": (("obs", "alt", "parameter"), a.x),
            "y": ("obs", a.y.astype(np.int64)),
            "avail": (("obs", "alt"), a.avail),
            "resp": ("obs", a.resp.astype(np.int64)),
        },
        coords={"parameter": list(a.names), "respondent": list(a.respondent_ids)},
        attrs={"covariate_names": json.dumps(list(a.covariate_names))},
    )
    if a.covariates is not None:
        est["covariates"] = (("respondent", "covariate"), a.covariates)
    if a.covariate_means is not None:
        est["covariate_means"] = ("covariate", np.asarray(a.covariate_means, dtype=float))
    groups[f"/{_OWN_GROUP}/estimation"] = est
    groups[f"/{_OWN_GROUP}/obs"] = _frame_to_dataset(a.obs)
    ds = model.dataset_
    tables = {
        "choices": ds.choices,
        "respondents": ds.respondents,
        "exclusions": ds.exclusions,
        "flags": ds.flags,
    }
    for name, frame in tables.items():
        if frame is not None:
            groups[f"/{_OWN_GROUP}/{name}"] = _frame_to_dataset(frame)
    study = model.study
    sources = {str(k): str(v) for k, v in ds.sources.items()}
    paths = {k: str(Path(k).resolve()) for k in sources}
    attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "winback_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "study_name": study.name,
        "study_source": study.source or "",
        "study_json": json.dumps(dict(study.raw), default=str),
        "study_toml": _study_toml(study.source),
        "study_design": json.dumps(dataclasses.asdict(study.design)),
        "settings": _settings_json(model.settings),
        "sources": json.dumps(sources),
        "source_paths": json.dumps(paths),
        "parameter_names": json.dumps(list(model.names)),
        "respondent_ids": json.dumps(list(model.respondent_ids)),
        "seconds": float(model.seconds_),
    }
    root = xr.Dataset(attrs=attrs)
    return xr.DataTree.from_dict({"/": root, **groups})


def save_model(model: HBModel, path: str | Path) -> Path:
    """Write a fitted model to a netCDF file (atomically: a temporary file, then a rename).

    The posterior and sampler statistics, the estimation arrays, the dataset's tables, the
    study (as parsed JSON, and its TOML text when available), the HB settings, the input files'
    SHA-256 and the winback version: :func:`load_model` rebuilds the same model from it, its
    individual part-worth draws (the bulk of the file) stored as float32.

    Parameters
    ----------
    model : HBModel
    path : str or Path
        The file to write (``fit.nc``); replaced if it exists. Its folder is created.

    Returns
    -------
    Path

    Examples
    --------
    >>> from analysis.io import save_model, load_model
    >>> save_model(model, "fit.nc")  # doctest: +SKIP
    >>> back = load_model("fit.nc")  # doctest: +SKIP
    >>> np.allclose(back.beta_draws(), model.beta_draws(), rtol=1e-6)  # doctest: +SKIP
    True
    """
    path = Path(path)
    engine = _engine()
    tree = _tree(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        tree.to_netcdf(tmp, engine=engine)
        # the tree holds the float32 copy of the draws (0.6 GB at 2,000 respondents x 4,000
        # draws) in reference cycles (its nodes know their parents): free it now, before
        # the next output's arrays, not at the next garbage collection
        del tree
        gc.collect()
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's file is private; a fit file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("saved the fit to %s", path)
    return path


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


def _check_sources(sources: dict[str, str], paths: dict[str, str]) -> None:
    changed: list[str] = []
    for given, sha in sources.items():
        candidates = [Path(given)]
        if paths.get(given) and paths[given] != given:
            candidates.append(Path(paths[given]))
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            log.warning(
                "%s (an input of the fit) was not found: cannot check that it is unchanged", given
            )
            continue
        now = file_sha256(found)
        if now != sha:
            changed.append(
                f"{found.name} changed since the fit (sha256 {sha[:12]}... at the fit, "
                f"{now[:12]}... now: {found})"
            )
    if changed:
        raise WinbackError("; ".join(changed) + "; refit or pass check_sources=False.")


def load_model(path: str | Path, *, check_sources: bool = True) -> HBModel:
    """Rebuild an :class:`analysis.HBModel` from a file written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
    check_sources : bool
        Compare the SHA-256 of the fit's input files (``responses.csv``, ...) with the files
        now on disk: a changed file is an error (the fit no longer describes it); a missing file
        is only logged as a warning.

    Returns
    -------
    HBModel
        The same study, settings, dataset, arrays and posterior: the same part-worths.

    Raises
    ------
    WinbackError
        Not a winback fit file, or an input file changed since the fit.

    Examples
    --------
    >>> model = load_model("fit/fit.nc")  # doctest: +SKIP
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise WinbackError(f"no fit file at {path}.")
    try:
        tree = xr.load_datatree(path, engine=_engine())
    except (OSError, ValueError) as exc:
        raise WinbackError(f"{path} is not a readable netCDF fit file ({exc}).") from None
    attrs = dict(tree.attrs)
    if attrs.get("format") != FORMAT or _OWN_GROUP not in tree.children:
        raise WinbackError(
            f"{path} is not a winback fit file (written by analysis.save_model); it has groups "
            f"{list_valid(tree.children)}."
        )
    if int(attrs.get("format_version", 0)) > FORMAT_VERSION:
        raise WinbackError(
            f"{path} was written by a newer winback ({attrs.get('winback_version')}); upgrade."
        )
    sources = json.loads(attrs.get("sources", "{}"))
    if check_sources:
        _check_sources(sources, json.loads(attrs.get("source_paths", "{}")))

    source = attrs.get("study_source") or None
    study = study_from_dict(json.loads(attrs["study_json"]), source=source)
    design = json.loads(attrs.get("study_design", "{}"))
    if design:
        stored = {k: (tuple(v) if isinstance(v, list) else v) for k, v in design.items()}
        if stored != dataclasses.asdict(study.design):
            study = study.replace_design(**stored)
    names = json.loads(attrs["parameter_names"])
    if parameter_names(study) != names:
        raise WinbackError(
            f"{path}: the stored study gives parameters {list_valid(parameter_names(study))}, "
            f"the fit has {list_valid(names)}; the file is inconsistent."
        )
    own = tree[_OWN_GROUP]
    tables = {
        name: _dataset_to_frame(own[name].to_dataset()) if name in own.children else None
        for name in _TABLES
    }
    if tables["choices"] is None or tables["respondents"] is None or tables["exclusions"] is None:
        raise WinbackError(f"{path}: the fit file lacks the dataset's tables.")
    dataset = ChoiceDataset(
        study,
        tables["choices"],
        tables["respondents"],
        tables["exclusions"],
        tables["flags"],
        sources,
    )
    est = own["estimation"].to_dataset()
    cov = est["covariates"].to_numpy() if "covariates" in est else None
    # fits saved before the centring means were recorded have none (None)
    cov_means = est["covariate_means"].to_numpy() if "covariate_means" in est else None
    arrays = ChoiceArrays(
        est["x"].to_numpy(),
        est["y"].to_numpy().astype(int),
        est["avail"].to_numpy().astype(bool),
        est["resp"].to_numpy().astype(int),
        tuple(str(r) for r in json.loads(attrs["respondent_ids"])),
        tuple(names),
        _dataset_to_frame(own["obs"].to_dataset()),
        cov,
        tuple(json.loads(est.attrs.get("covariate_names", "[]"))),
        cov_means,
    )
    idata = xr.DataTree.from_dict(
        {
            f"/{name}": node.to_dataset()
            for name, node in tree.children.items()
            if name != _OWN_GROUP
        }
    )
    from analysis.model import HBModel  # lazy: as HBSettings, loads when a fit is read

    settings = _settings_from_json(attrs["settings"])
    return HBModel(study, settings, dataset, arrays, idata, float(attrs.get("seconds", 0.0)))
