"""save_model / load_model: a netCDF round trip rebuilds the same model; changed inputs are
caught; the write is atomic."""

from __future__ import annotations

import dataclasses
import hashlib
import logging

import numpy as np
import pandas as pd
import pytest

from analysis.io import load_model, save_model
from analysis.results import fit_statistics, holdout_validation, importances, willingness_to_pay
from winback.errors import WinbackError


def _with_source(model, path):
    """The model, its dataset now recording ``path`` (and its SHA-256) as its input file."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    data = dataclasses.replace(model.dataset_, sources={str(path): sha})
    return dataclasses.replace(model, dataset_=data)


@pytest.fixture(scope="module")
def saved(example_fit, tmp_path_factory):
    model, _, _ = example_fit
    folder = tmp_path_factory.mktemp("fit")
    responses = folder / "responses.csv"
    responses.write_text("respondent_id,task\nr001,1\n", encoding="utf-8")
    model = _with_source(model, responses)
    path = save_model(model, folder / "fit.nc")
    return model, path, responses


def test_round_trip_gives_the_same_model(saved):
    model, path, _ = saved
    back = load_model(path)
    pd.testing.assert_frame_equal(back.partworths(), model.partworths())
    a, b = model.beta_draws(), back.beta_draws()
    # the individual part-worths are stored as float32: equal to float32 rounding
    assert b.dtype == np.float32, f"beta stored as {b.dtype}, not float32"
    assert np.array_equal(a.astype(np.float32), b), f"beta differs by up to {np.abs(a - b).max()}"
    for var in ("mu", "sd", "corr"):
        x = model.idata_["posterior"][var].to_numpy()
        y = back.idata_["posterior"][var].to_numpy()
        assert np.array_equal(x, y), f"{var} differs after the round trip"
    # no covariates: the model's empty covariate dimension leaves nothing in the posterior
    assert not model.settings.covariates, model.settings.covariates
    variables = sorted(back.idata_["posterior"].variables)
    assert "gamma_scaled" not in variables and "covariate" not in variables, variables
    assert back.names == model.names and back.respondent_ids == model.respondent_ids
    assert back.settings == model.settings, f"{back.settings} != {model.settings}"
    assert back.seconds_ == pytest.approx(model.seconds_)
    assert back.study.name == model.study.name and back.study.attributes == model.study.attributes
    diff = back.dataset_.difference(model.dataset_)
    assert diff is None, f"the dataset differs after the round trip: {diff}"
    assert dict(back.dataset_.sources) == dict(model.dataset_.sources)
    for name in ("x", "y", "avail", "resp"):
        assert np.array_equal(getattr(back.arrays_, name), getattr(model.arrays_, name)), name
    pd.testing.assert_frame_equal(back.arrays_.obs, model.arrays_.obs)
    # dtypes of the dataset tables survive (nullable strings and floats, ints)
    pd.testing.assert_series_equal(back.dataset_.choices.dtypes, model.dataset_.choices.dtypes)
    pd.testing.assert_frame_equal(back.dataset_.choices, model.dataset_.choices)
    pd.testing.assert_frame_equal(back.dataset_.respondents, model.dataset_.respondents)
    assert int(back.idata_["sample_stats"]["diverging"].sum()) == int(
        model.idata_["sample_stats"]["diverging"].sum()
    )


def test_results_are_identical_after_loading(saved):
    model, path, _ = saved
    back = load_model(path)
    for f in (importances, willingness_to_pay, fit_statistics, holdout_validation):
        pd.testing.assert_frame_equal(f(back), f(model), obj=f.__name__)


def test_the_file_records_study_version_settings_and_sources(saved):
    import xarray as xr

    from winback import __version__

    model, path, responses = saved
    tree = xr.load_datatree(path, engine="h5netcdf")
    attrs = tree.attrs
    assert attrs["winback_version"] == __version__
    assert '"name": "Broadband win-back, wave 1"' in attrs["study_json"], attrs["study_json"][:200]
    assert str(responses) in attrs["sources"], attrs["sources"]
    assert '"draws": 300' in attrs["settings"], attrs["settings"]
    assert set(tree.children) >= {"posterior", "sample_stats", "winback"}, list(tree.children)
    est = tree["winback/estimation"]
    assert est["x"].shape == model.arrays_.x.shape, est["x"].shape


def test_saving_does_not_change_the_model(example_fit, tmp_path):
    model, _, _ = example_fit
    before = model.idata_["sample_stats"].to_dataset().copy(deep=True)
    save_model(model, tmp_path / "fit.nc")
    after = model.idata_["sample_stats"].to_dataset()
    assert after.identical(before), "save_model changed the model's sample stats"


def test_a_changed_source_file_is_an_error_naming_it(example_fit, tmp_path):
    model, _, _ = example_fit
    responses = tmp_path / "responses.csv"
    responses.write_text("respondent_id,task\nr001,1\n", encoding="utf-8")
    path = save_model(_with_source(model, responses), tmp_path / "fit.nc")
    responses.write_text("respondent_id,task\nr001,2\n", encoding="utf-8")
    with pytest.raises(WinbackError, match=r"responses\.csv changed since the fit \(sha256") as e:
        load_model(path)
    assert "check_sources=False" in str(e.value), str(e.value)
    back = load_model(path, check_sources=False)
    pd.testing.assert_frame_equal(back.partworths(), model.partworths())


def test_a_missing_source_file_is_only_a_warning(example_fit, tmp_path, caplog):
    model, _, _ = example_fit
    responses = tmp_path / "responses.csv"
    responses.write_text("x\n", encoding="utf-8")
    path = save_model(_with_source(model, responses), tmp_path / "fit.nc")
    responses.unlink()
    with caplog.at_level(logging.WARNING, logger="winback"):
        back = load_model(path)
    assert any("was not found" in r.getMessage() for r in caplog.records), caplog.text
    assert back.names == model.names


def test_the_write_is_atomic(example_fit, tmp_path, monkeypatch):
    import xarray as xr

    model, _, _ = example_fit
    path = save_model(model, tmp_path / "fit.nc")
    before = path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"], list(tmp_path.iterdir())

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, path)
    assert path.read_bytes() == before, "a failed save damaged the earlier file"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"], list(tmp_path.iterdir())


def test_the_study_file_text_is_kept_when_it_is_a_file(example_fit, tmp_path):
    import xarray as xr

    from winback.example import example_study_text
    from winback.study import load_study

    model, _, _ = example_fit
    toml = tmp_path / "study.toml"
    toml.write_text(example_study_text(), encoding="utf-8")
    study = load_study(toml)
    path = save_model(dataclasses.replace(model, study=study), tmp_path / "fit.nc")
    assert xr.load_datatree(path, engine="h5netcdf").attrs["study_toml"] == toml.read_text()
    assert load_model(path).study.source == str(toml)


def test_not_a_fit_file(tmp_path):
    import xarray as xr

    other = tmp_path / "other.nc"
    xr.DataTree.from_dict({"/posterior": xr.Dataset({"a": ("x", [1.0])})}).to_netcdf(
        other, engine="h5netcdf"
    )
    with pytest.raises(WinbackError, match="not a winback fit file"):
        load_model(other)
    with pytest.raises(WinbackError, match="no fit file"):
        load_model(tmp_path / "missing.nc")


def test_float32_draws_give_the_float64_shares_and_wtp(saved):
    """The fit file's float32 part-worths: shares (logit and randomized first choice) and WTP
    as the float64 draws give them, to well within Monte Carlo error (about 1e-2 here)."""
    from importlib.resources import files

    from analysis import market_wtp
    from analysis.simulator import PartWorthDraws, read_market, simulate

    model, path, _ = saved
    back = load_model(path)
    d64, d32 = PartWorthDraws.from_model(model), PartWorthDraws.from_model(back)
    assert d32.beta.dtype == np.float32 and d64.beta.dtype == np.float64
    market = read_market(
        str(files("winback").joinpath("examples/broadband_market.toml")), model.study
    )
    for rule in ("logit", "rfc"):
        mk = dataclasses.replace(market, rule=rule)
        s64 = simulate(d64, mk).share_draws
        s32 = simulate(d32, mk).share_draws
        gap = float(np.abs(s64 - s32).max())
        assert gap < 1e-5, f"{rule}: per-draw shares differ by up to {gap:.2e} (limit 1e-5)"
    own = next(p.name for p in market.products if p.own)
    w64 = market_wtp(d64, market, own)
    w32 = market_wtp(d32, market, own)
    num = w64.select_dtypes("number").columns
    gap = float(np.nanmax(np.abs(w64[num].to_numpy() - w32[num].to_numpy())))
    assert gap < 1e-3, f"WTP differs by up to {gap:.2e} currency units (limit 1e-3)"
