"""The workbook's live simulator agrees with the decision (issue 17, item 6).

The Simulator sheet is recalculated (the ``formulas`` package for small sheets, LibreOffice
headless for the workbook of a run folder) after its input cells are changed with openpyxl, and
its shares, customers and profit are compared with the Python simulator on the same stored
draws (``CalibratedDraws.share_draws``, ``analysis.decide``); the stored sample's figures are
compared with the full posterior's (the decision page) against the Monte Carlo error the sheet
documents.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from analysis.calibration import calibrate
from analysis.decision import Action, decide
from analysis.simulator import Market, PartWorthDraws, read_market
from reports.live_layout import SIMULATOR, LiveLayout
from reports.live_sample import (
    ALL,
    LiveSample,
    make_live_sample,
    mc_error,
    n_stored_draws,
    scenario_figures,
    stratified_draws,
)
from reports.live_sheet import add_live_simulator
from winback.example import make_example_study

SOFFICE = shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) is not installed: no headless recalculation"
)


def _market_path() -> Path:
    import winback

    return Path(winback.__file__).parent / "examples" / "broadband_market.toml"


def _draws(n_draws: int, n_resp: int, seed: int, *, people: bool = True) -> PartWorthDraws:
    """Synthetic posterior draws of the example study: respondents around the true means, and
    a common shift per draw (posterior uncertainty of the population, so shares vary by draw)."""
    from conjoint.encoding import parameter_names

    ex = make_example_study()
    names = parameter_names(ex.study)
    rng = np.random.default_rng(seed)
    mean = np.array([ex.true_means[n] for n in names])
    sd = np.array([ex.true_sd[n] for n in names])
    person = mean + rng.standard_normal((n_resp, len(names))) * sd
    beta = person[None] + 0.2 * sd * rng.standard_normal((n_draws, 1, len(names)))
    beta = beta + 0.1 * sd * rng.standard_normal((n_draws, n_resp, len(names)))
    ids = [f"r{i:03d}" for i in range(n_resp)]
    resp = None
    if people:
        reasons = np.array(["price_rise", "outages", "support"])[rng.integers(0, 3, n_resp)]
        resp = pd.DataFrame({"main_reason": reasons, "value": rng.uniform(1, 3, n_resp)}, index=ids)
    return PartWorthDraws.from_array(ex.study, beta, respondent_ids=ids, respondents=resp)


# -- recalculation ----------------------------------------------------------------------------


def _formulas_values(path: Path) -> dict[tuple[str, str], float]:
    formulas = pytest.importorskip("formulas")
    sol = formulas.ExcelModel().loads(str(path)).finish().calculate()
    out = {}
    for key, value in sol.items():
        k = str(key).upper()
        if "]" not in k or "!" not in k:
            continue
        sheet, ref = k.split("]", 1)[1].split("!", 1)
        v = value.value[0, 0] if hasattr(value, "value") else value
        out[(sheet.strip("'"), ref)] = v
    return out


def _libreoffice(path: Path, tmp: Path) -> Path:
    """``path`` recalculated by LibreOffice headless (it recalculates on load) and saved."""
    out = tmp / f"recalculated-{path.stem}"
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{tmp / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=900,
        env={**os.environ, "HOME": str(tmp)},
    )
    return out / path.name


class _Sheet:
    """The Simulator's results of a recalculated workbook."""

    def __init__(self, get, lay: LiveLayout) -> None:  # get(ref) -> value on the Simulator
        self.get = get
        self.lay = lay

    def own(self) -> float:
        return float(self.get(f"B{self.lay.total_rows['own']}"))

    def mc(self, key: str) -> float:
        return float(self.get(f"E{self.lay.total_rows[key]}"))

    def total(self, key: str) -> float:
        return float(self.get(f"B{self.lay.total_rows[key]}"))

    def share(self, p: int) -> float:
        return float(self.get(f"{chr(ord('A') + self.lay.product_col(p) - 1)}{self.lay.share_row}"))


def _from_libreoffice(path: Path, lay: LiveLayout) -> _Sheet:
    ws = load_workbook(path, data_only=True, read_only=True)[SIMULATOR]
    values = {}
    for row in ws.iter_rows(min_row=1, max_row=lay.notes_row, max_col=lay.none_col + 1):
        for c in row:
            if c.value is not None and hasattr(c, "coordinate"):
                values[c.coordinate] = c.value
    return _Sheet(values.__getitem__, lay)


def _edit(path: Path, out: Path, changes: dict[str, object]) -> Path:
    """The workbook with Simulator cells changed, as a reader would (openpyxl)."""
    wb = load_workbook(path)
    for ref, value in changes.items():
        wb[SIMULATOR][ref] = value
    wb.save(out)
    return out


def _cell(lay: LiveLayout, p: int, row: int) -> str:
    return f"{chr(ord('A') + lay.product_col(p) - 1)}{row}"


# -- unit: the sample -------------------------------------------------------------------------


def test_stored_draws_and_monte_carlo_error() -> None:
    assert n_stored_draws(4000, 460) == 108
    assert n_stored_draws(100, 10) == 100  # every draw when they fit
    assert n_stored_draws(4000, 10) == 200  # at most 200
    assert n_stored_draws(4000, 100_000) == 20  # never fewer than 20
    v = np.arange(100.0)[::-1]
    idx = stratified_draws(v, 10, random_seed=3)
    assert len(set(idx.tolist())) == 10
    strata = np.sort(v[idx])  # one draw from each tenth of the sorted values
    assert all(10 * h <= x < 10 * (h + 1) for h, x in enumerate(strata)), strata
    assert mc_error(np.ones(5), 10) == 0.0 and mc_error(np.arange(5.0), 5) == 0.0


def test_stratified_sample_is_within_its_monte_carlo_error_of_the_full_posterior() -> None:
    """4,000 synthetic posterior draws, 50 respondents, 100 stored (the demo's proportions):
    for the opening scenario and five changed ones, the stored sample's mean share and profit
    differ from all draws' by less than the Monte Carlo error the sheet shows."""
    draws = _draws(4000, 50, seed=5)
    study = draws.study
    today = read_market(_market_path(), study)
    sample = make_live_sample(draws, today, settings={"basis": "calibrated"}, budget=5_000)
    assert sample.n_draws == 100 and sample.n_posterior == 4000
    full_cal = calibrate(draws, today, study.calibration, random_seed=1)
    w = np.full(50, 1 / 50)
    rng = np.random.default_rng(2)
    own = today.products[0]
    markets = [sample.market()]
    for _ in range(5):
        levels = {
            a.name: (
                float(rng.uniform(35, 75)) if a.numeric else a.levels[rng.integers(a.n_levels)]
            )
            for a in study.attributes
        }
        markets.append(today.with_product(replace(own, levels=levels)))
    for i, m in enumerate(markets):
        full = scenario_figures(draws, full_cal, m, objective="profit", weights=w)
        stored = sample.figures(m)
        for key in ("own", "profit_year"):
            err = mc_error(stored[key], sample.n_posterior)  # two standard errors
            diff = abs(stored[key].mean() - full[key].mean())
            # the opening scenario within the error shown; any other within three s.e.
            limit = err if i == 0 else 1.5 * err
            assert diff < limit, (
                f"scenario {i}, {key}: stored {stored[key].mean():.6g} vs all draws "
                f"{full[key].mean():.6g}: {diff:.3g} beyond {limit:.3g} (MC error {err:.3g})"
            )
            if key == "own":
                assert diff < 0.005, f"scenario {i}: share off by {diff:.2%} (0.5 pp allowed)"


# -- unit: the sheet against Python, recalculated by the formulas package ---------------------


@pytest.mark.parametrize("basis", ["calibrated", "stated"])
def test_sheet_recalculates_to_the_python_simulator(tmp_path, basis) -> None:
    """A small sheet (20 stored draws x 12 respondents) recalculated by ``formulas`` after a
    price, a level, the segment and a product switched on change: shares, our products together
    and profit equal LiveSample.figures (the analysis simulator on the stored draws)."""
    draws = _draws(30, 12, seed=7)
    today = read_market(_market_path(), draws.study)
    sample = make_live_sample(draws, today, settings={"basis": basis}, budget=100)
    assert sample.n_draws == 20
    wb = Workbook()
    wb.remove(wb.active)
    lay = add_live_simulator(wb, sample)
    path = tmp_path / "live.xlsx"
    wb.save(path)
    segment = sorted(set(sample.segments))[1]
    price_row = lay.attr_row([a.name for a in draws.study.attributes].index("price"))
    speed_row = lay.attr_row(0)
    edited = _edit(
        path,
        tmp_path / "edited.xlsx",
        {
            _cell(lay, 0, price_row): 47.5,
            _cell(lay, 0, speed_row): "300 Mbps",
            f"B{lay.segment_row}": segment,
            _cell(lay, 1, lay.on_row): "No",
        },
    )
    values = _formulas_values(edited)
    sheet = _Sheet(lambda ref: values[(SIMULATOR.upper(), ref)], lay)
    first = sample.products[0]
    on = list(sample.on)
    on[1] = False
    market = sample.market(on, **{first.name: {"price": 47.5, "speed": "300 Mbps"}})
    want = sample.figures(market, segment)
    kept = [p for p, keep in enumerate(on) if keep]
    for j, p in enumerate(kept):
        got, exp = sheet.share(p), float(want["shares"][:, j].mean())
        assert got == pytest.approx(exp, abs=1e-5), f"{sample.products[p].name}: {got} vs {exp}"
    assert sheet.share(1) == 0.0
    assert sheet.own() == pytest.approx(want["own"].mean(), abs=1e-5)
    assert sheet.total("profit_year") == pytest.approx(want["profit_year"].mean(), rel=1e-4)
    assert sheet.mc("own") == pytest.approx(mc_error(want["own"], 30), rel=1e-4)


def test_text_never_becomes_a_formula(tmp_path) -> None:
    from reports.live_sheet import set_text

    wb = Workbook()
    ws = wb.active
    set_text(ws["A1"], '=HYPERLINK("http://x","y")')
    set_text(ws["A2"], 12.5)
    path = tmp_path / "t.xlsx"
    wb.save(path)
    back = load_workbook(path)["Sheet"]
    assert back["A1"].data_type == "s" and back["A1"].value == '=HYPERLINK("http://x","y")'
    assert back["A2"].value == 12.5 and back["A2"].data_type == "n"


# -- integration: the workbook of a run folder, recalculated by LibreOffice -------------------


@pytest.fixture(scope="module")
def live(report, run_folder) -> tuple[LiveSample, LiveLayout]:
    from reports.workbook import read_run_folder

    sample = read_run_folder(run_folder).simulator_draws
    assert isinstance(sample, LiveSample), sample
    return sample, LiveLayout.of(sample)


def _decide(sample: LiveSample, market: Market, segment: str | None = None) -> dict[str, float]:
    """``analysis.decide`` on the stored draws: our products' share and the profit per year of
    ``market`` (the lost customers in view: a segment's part of N)."""
    w = sample.segment_weights(segment)
    action = Action(
        "scenario", "offer", market, tuple(p.name for p in market.products if p.own), ""
    )
    d = decide(
        sample.draws,
        sample.today,
        [action],
        business=sample.study.business,
        calibration=sample.calibration,
        weights=w,
    )
    row = d.table.set_index("action").loc["scenario"]
    return {"own": float(row["share_after"]), "profit_year": float(row["profit_year"]) * w.sum()}


@needs_libreoffice
def test_workbook_simulator_agrees_with_the_decision(live, report, run_folder, tmp_path) -> None:
    """The demo-like run's workbook, recalculated by LibreOffice: opening on the recommendation
    it equals analysis.decide on the stored draws and the decision page within 0.5 percentage
    points and within its Monte Carlo error; after a level and a price change, and after a
    segment filter with today's product back on the market, it still equals analysis.decide
    on the stored draws."""
    sample, lay = live
    assert sample.basis == "calibrated", "the example run is calibrated"
    decision = pd.read_csv(run_folder / "recommend" / "decision.csv")
    best = decision[decision["recommended"]].iloc[0]
    assert sample.scenario == best["action"], (sample.scenario, best["action"])
    opening = _from_libreoffice(_libreoffice(report, tmp_path), lay)
    want = _decide(sample, sample.market())
    got = {"own": opening.own(), "profit_year": opening.total("profit_year")}
    assert abs(got["own"] - want["own"]) < 1e-4, (
        f"sheet {got['own']:.4%} vs decide {want['own']:.4%}"
    )
    assert got["profit_year"] == pytest.approx(want["profit_year"], rel=1e-4)
    page = float(best["share_after"])
    gap = abs(got["own"] - page)
    assert gap < 0.005, f"sheet {got['own']:.2%} vs decision page {page:.2%}"
    assert gap <= opening.mc("own"), (
        f"{gap:.3%} beyond the Monte Carlo error {opening.mc('own'):.3%}"
    )
    profit_gap = abs(got["profit_year"] - float(best["profit_year"]))
    assert profit_gap <= opening.mc("profit_year"), (profit_gap, opening.mc("profit_year"))

    # another scenario: a level and a price of our first product changed
    study = sample.study
    names = [a.name for a in study.attributes]
    first = sample.products[0]
    attr = next(a for a in study.attributes if not a.numeric)
    level = next(v for v in attr.levels if v != first.levels[attr.name])
    price = 52.5
    changes = {
        _cell(lay, 0, lay.attr_row(names.index(attr.name))): str(level),
        _cell(lay, 0, lay.attr_row(names.index("price"))): price,
    }
    path = _edit(report, tmp_path / "changed.xlsx", changes)
    sheet = _from_libreoffice(_libreoffice(path, tmp_path), lay)
    market = sample.market(**{first.name: {attr.name: level, "price": price}})
    want = _decide(sample, market)
    assert abs(sheet.own() - want["own"]) < 1e-4, (sheet.own(), want["own"])
    assert sheet.total("profit_year") == pytest.approx(want["profit_year"], rel=1e-4)
    assert abs(sheet.own() - got["own"]) > 1e-4, "the change did not move the share"

    # a segment, today's product back on the market, a competitor's price changed
    segment = pd.Series(sample.segments).value_counts().index[0]
    on = [True] * len(sample.products)
    comp = next(p for p, prod in enumerate(sample.products) if not prod.own)
    changes = {
        f"B{lay.segment_row}": segment,
        _cell(lay, comp, lay.attr_row(names.index("price"))): 44.0,
    }
    for p, keep in enumerate(sample.on):
        if not keep:
            changes[_cell(lay, p, lay.on_row)] = "Yes"
    path = _edit(report, tmp_path / "segment.xlsx", changes)
    sheet = _from_libreoffice(_libreoffice(path, tmp_path), lay)
    market = sample.market(on, **{sample.products[comp].name: {"price": 44.0}})
    want = _decide(sample, market, segment)
    assert segment != ALL
    assert abs(sheet.own() - want["own"]) < 1e-4, (segment, sheet.own(), want["own"])
    assert sheet.total("profit_year") == pytest.approx(want["profit_year"], rel=1e-4)


def test_stored_sample_within_the_documented_error_of_the_full_posterior(live, example_fit) -> None:
    """The run's stored sample against all its posterior draws (calibrated again with the
    run's seed), for the decision's scenario and two others: our products' share and profit
    differ by less than the Monte Carlo error documented on the sheet."""
    sample, _ = live
    model = example_fit[0]
    full = replace(PartWorthDraws.from_model(model), study=sample.study)
    cal = calibrate(full, sample.today, sample.study.calibration, random_seed=1)
    assert np.allclose(cal.scale[sample.draw_index], sample.calibration.scale)
    first = sample.products[0]
    markets = [
        sample.market(),
        sample.market(**{first.name: {"price": 50.0}}),
        sample.market([True] * len(sample.products)),
    ]
    for m in markets:
        stored = sample.figures(m)
        whole = scenario_figures(full, cal, m, objective=sample.objective, weights=sample.weights)
        for key in ("own", "profit_year"):
            err = mc_error(stored[key], sample.n_posterior)
            diff = abs(stored[key].mean() - whole[key].mean())
            assert diff < max(err, 1e-12), f"{key}: {diff:.4g} >= documented error {err:.4g}"
    assert (
        abs(
            sample.full["own"]
            - scenario_figures(
                full, cal, markets[0], objective=sample.objective, weights=sample.weights
            )["own"].mean()
        )
        < 1e-9  # the run's figures come from the fit file's float32 draws: ~1e-10 apart
    )


@pytest.mark.parametrize(
    "action", ["New offer", "Offer no. 2", "Good / better / best", "Entry offer + add-ons",
               "Today's offer", "No campaign"]
)  # fmt: skip
def test_every_kind_of_recommendation_opens_as_the_decision_scored_it(
    run_folder, example_fit, tmp_path, action
) -> None:
    """Whichever action is recommended (an offer, the tiers, the entry menu, today's offer, no
    campaign), the sheet's opening scenario rebuilt from the run's tables gives the decision's
    own value on the full posterior (no campaign: today's offer, its alternative)."""
    from reports.live_sample import read_live_sample
    from winback.run_folder import RunFolder

    run = tmp_path / "run"
    shutil.copytree(run_folder, run, ignore=shutil.ignore_patterns("report", "simulate"))
    path = run / "recommend" / "decision.csv"
    decision = pd.read_csv(path)
    if action not in set(decision["action"]):
        pytest.skip(f"the example run has no {action!r} candidate")
    decision["recommended"] = decision["action"] == action
    decision.to_csv(path, index=False)
    market = read_market(run / "market.toml", example_fit[0].study)
    sample = read_live_sample(RunFolder(run), example_fit[0], market, budget=2_000)
    assert not sample.notes, sample.notes
    row = decision.set_index("action")
    kind = row.loc[action, "kind"]
    shown = "Today's offer" if kind == "no campaign" else action
    assert sample.scenario == shown
    want = float(row.loc[shown, "value"])
    # the decision was scored on the fit file's float32 draws, the sample on the in-memory
    # fit's float64 ones: equal to float32 rounding (a part-worth's relative rounding is up to
    # 6e-8; the value differed by 1.3e-9 relative in one run, the share by about 1e-10)
    assert sample.full["value"] == pytest.approx(want, rel=1e-6), (sample.full["value"], want)
    assert sample.full["own"] == pytest.approx(float(row.loc[shown, "share_after"]), abs=1e-7)
    today = [p.name for p in market.products if p.own]
    switched_off = [p.name for p, on in zip(sample.products, sample.on, strict=True) if not on]
    if kind in ("offer", "tiers", "entry"):
        assert len(switched_off) == 1 and switched_off[0].startswith(today[0]), switched_off
    else:
        assert not switched_off
