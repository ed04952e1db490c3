"""The workbook's live simulator sheet, recalculated by the `formulas` package, against
analysis.simulator at the posterior means (issue 6 acceptance: within 1e-6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook, load_workbook

from analysis.simulator import Market, PartWorthDraws, simulate
from reports.live_sheet import add_live_simulator
from winback.example import make_example_study

formulas = pytest.importorskip("formulas")


def recalc(path: Path) -> dict[str, object]:
    model = formulas.ExcelModel().loads(str(path)).finish()
    sol = model.calculate()
    out = {}
    for key, value in sol.items():
        out[key.upper()] = value.value[0, 0] if hasattr(value, "value") else value
    return out


def cell(sol: dict[str, object], path: Path, sheet: str, ref: str) -> float:
    key = f"'[{path.name}]{sheet}'!{ref}".upper()
    return float(sol[key])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def setup():
    ex = make_example_study()
    rng = np.random.default_rng(4)
    from conjoint.encoding import parameter_names

    names = parameter_names(ex.study)
    mean = np.array([ex.true_means[n] for n in names])
    sd = np.array([ex.true_sd[n] for n in names])
    beta = mean + rng.standard_normal((3, 25, len(names))) * sd  # 3 "draws" x 25 respondents
    draws = PartWorthDraws.from_array(ex.study, beta)
    import winback

    market_path = Path(winback.__file__).parent / "examples" / "broadband_market.toml"
    from analysis.simulator import read_market

    return ex.study, draws, read_market(market_path, ex.study)


def test_live_sheet_matches_the_python_simulator(tmp_path, setup) -> None:
    study, draws, market = setup
    market = Market(market.products, exponent=0.8, none=True)
    wb = Workbook()
    wb.remove(wb.active)
    add_live_simulator(wb, draws.point(), market)
    path = tmp_path / "live.xlsx"
    wb.save(path)
    # a user edits the dropdowns: the first product gets 300 Mbps and EUR 47.5
    wb2 = load_workbook(path)
    ws = wb2["Simulator"]
    ws["B5"] = "300 Mbps"
    ws["B11"] = 47.5
    edited = tmp_path / "edited.xlsx"
    wb2.save(edited)
    sol = recalc(edited)
    changed = market.with_product(
        market.products[0].__class__(
            market.products[0].name,
            {**dict(market.products[0].levels), "speed": "300 Mbps", "price": 47.5},
            own=True,
        )
    )
    want = simulate(draws.point(), changed).shares.set_index("product")["share"]
    share_row = 5 + len(study.attributes) + 1 + 2 + len(study.attributes) + 1
    got = {
        p.name: cell(sol, edited, "SIMULATOR", f"{chr(ord('B') + i)}{share_row}")
        for i, p in enumerate(market.products)
    }
    got["none"] = cell(sol, edited, "SIMULATOR", f"B{share_row + 1}")
    for name, value in got.items():
        assert value == pytest.approx(want[name], abs=1e-6), (
            f"{name}: sheet {value} vs Python {want[name]}"
        )
    assert abs(sum(got.values()) - 1) < 1e-9


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
