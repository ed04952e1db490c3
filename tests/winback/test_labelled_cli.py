"""A labelled study as a user runs it on the command line: `winback design`, the simulated
answers exported in every response format (winback's, Qualtrics, Sawtooth, cbcTools), `winback
import` of each (an absent attribute reads back absent; a level given for it is an error naming
the file, the line and the value, and nothing is written) and `winback inspect` of the Sawtooth
and Qualtrics design files."""

from __future__ import annotations

import csv
import io
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conjoint import read_design_csv, simulate_choices
from surveys import make_dataset, read_responses, write_responses
from surveys.formats import cbctools, qualtrics, sawtooth
from tests.conjoint.test_labelled import LABELLED
from winback.cli import main
from winback.errors import WinbackError
from winback.study import load_study

#: the own brand preferred to rival_a; TV Sports only on the own brand
TRUTH = {
    "speed[300 Mbps]": 0.5,
    "speed[1 Gbps]": 1.0,
    "tv[TV Sports]": 0.8,
    "price": -0.08,
    "label[rival_a]": -0.6,
    "label[rival_b]": 0.3,
    "none": -1.0,
}
STUDY = LABELLED.replace('method = "d_efficient"', 'method = "shortcut"')
FILES = {"qualtrics": "export.csv", "sawtooth": "study.cho", "cbctools": "choices.csv"}
MODULES = {"qualtrics": qualtrics, "sawtooth": sawtooth, "cbctools": cbctools}


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    """A labelled study designed by `winback design`, 12 simulated respondents answering it,
    their answers in every format; (folder, study, design, dataset, {format: file})."""
    folder = tmp_path_factory.mktemp("labelled")
    (folder / "study.toml").write_text(STUDY, encoding="utf-8")
    assert main(["-q", "design", str(folder / "study.toml"), "--out", str(folder / "design")]) == 0
    study = load_study(folder / "study.toml")
    design = read_design_csv(folder / "design" / "design.csv", study)
    choices = simulate_choices(design, TRUTH, 3, n_respondents=12, sd=0.5)
    choices["respondent_id"] = choices["respondent_id"].str[1:].astype(int).astype(str)
    data = make_dataset(choices, study, design=design)
    files = {"winback": write_responses(data, folder / "winback")[0]}
    for fmt, name in FILES.items():
        files[fmt] = MODULES[fmt].write(data, folder / name)[0]
    return folder, study, design, data, files


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["winback", "qualtrics", "sawtooth", "cbctools"])
def test_winback_import_reads_every_format_of_a_labelled_study(answered, fmt, tmp_path, capsys):
    folder, study, design, data, files = answered
    out = tmp_path / "import"
    argv = ["import", str(folder / "study.toml"), str(files[fmt]), "--out", str(out)]
    argv += ["--format", fmt, "--design", str(folder / "design")]
    assert main(argv) == 0, capsys.readouterr().err
    back = read_responses(out / "responses.csv", study, design=design)
    assert data.equals(back), data.difference(back)
    table = pd.read_csv(out / "responses.csv", dtype=str, keep_default_na=False)
    rivals = table[table["alt"].isin(["2", "3"])]
    assert (rivals["tv"] == "").all(), rivals["tv"].unique()
    own = table[table["alt"] == "1"]
    assert own["tv"].isin(["TV Essentials", "TV Sports"]).all(), own["tv"].unique()
    assert len(rivals) == 2 * 12 * 8, f"{len(rivals)} rival rows, expected 2 x 12 x 8"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines(keepends=True)


def _put_tv_on_a_rival(fmt: str, path: Path) -> tuple[Path, int, str]:
    """The file with TV Sports given on respondent 1's first rival_a alternative; the file,
    the line changed and the value written."""
    bad = path.with_name("bad_" + path.name)
    if fmt == "sawtooth":  # level codes by attribute: speed tv price; rival_a is concept 2
        lines = _lines(path)
        i = 4  # header, extra line, task head, concept 1, concept 2
        codes = lines[i].split()
        assert codes[1] == "0", lines[:6]
        codes[1] = "2"
        lines[i] = " ".join(codes) + "\n"
        bad.write_text("".join(lines), encoding="utf-8")
        return bad, i + 1, "level code 2"
    raw = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(raw.splitlines(keepends=True)))
    header = rows[0]
    if fmt == "qualtrics":
        col = header.index("CBC_T1_A2_tv")
        r = 3  # two more header rows; the first respondent
        assert rows[r][col] == "", rows[r][col]
        rows[r][col] = "TV Sports"
    else:
        alt_col = "altID" if fmt == "cbctools" else "alt"
        r = next(k for k in range(1, len(rows)) if rows[k][header.index(alt_col)] == "2")
        col = header.index("tv")
        assert rows[r][col] in ("", "NA"), rows[r][col]
        rows[r][col] = "TV Sports"
    end = "\r\n" if fmt == "qualtrics" else "\n"
    with bad.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator=end).writerows(rows)
    # the line of that record (Qualtrics' header rows hold line breaks inside quotes)
    before = io.StringIO()
    csv.writer(before, lineterminator=end).writerows(rows[:r])
    return bad, before.getvalue().count("\n") + 1, "'TV Sports'"


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["winback", "qualtrics", "sawtooth", "cbctools"])
def test_a_level_for_an_absent_attribute_is_refused_naming_file_line_and_value(
    answered, fmt, tmp_path, capsys
):
    folder, _, _, _, files = answered
    source = files[fmt]
    if fmt == "winback":  # the respondents file beside it
        (tmp_path / "respondents.csv").write_bytes(source.with_name("respondents.csv").read_bytes())
        source = tmp_path / "responses.csv"
        source.write_bytes(files["winback"].read_bytes())
    bad, line, value = _put_tv_on_a_rival(fmt, source)
    if fmt == "winback":
        bad = bad.rename(tmp_path / "responses.csv")
    out = tmp_path / "import"
    argv = ["import", str(folder / "study.toml"), str(bad), "--out", str(out)]
    argv += ["--format", fmt, "--design", str(folder / "design")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "level of an absent attribute" in err, err
    assert bad.name in err, err
    assert value in err, err
    assert re.search(rf"\b(line|row) {line}\b", err), f"line {line} not named:\n{err}"
    assert "exists only on own" in err and "label 'rival_a'" in err, err
    assert not out.exists(), "an import folder was written"


@pytest.mark.unit
@pytest.mark.parametrize(("fmt", "name"), [("sawtooth", "sawtooth"), ("qualtrics", "qualtrics")])
def test_the_sawtooth_and_qualtrics_design_files_read_back_and_inspect(answered, fmt, name):
    """The design file written by `winback design` reads back as the same design (absent: code
    0), and `winback inspect` diagnoses it as `winback design` did."""
    from conjoint import read_qualtrics_design, read_sawtooth_design

    folder, study, design, _, _ = answered
    path = folder / "design" / f"design_{name}.csv"
    table = pd.read_csv(path)
    tv = table.columns[4] if fmt == "sawtooth" else "tv"
    rivals = table[table["Concept" if fmt == "sawtooth" else "choice"] > 1]
    assert (rivals[tv] == 0).all(), rivals[tv].unique()
    reader = read_sawtooth_design if fmt == "sawtooth" else read_qualtrics_design
    back = reader(path, study)
    assert (back.levels == design.levels).all(), "the design file does not read back"
    # a code given for an absent attribute is refused with the row and the attribute
    table.loc[rivals.index[0], tv] = 1
    table.to_csv(path.with_name("bad.csv"), index=False)
    with pytest.raises(Exception, match="'tv' exists only on own"):
        reader(path.with_name("bad.csv"), study)


@pytest.mark.integration
def test_winback_inspect_reads_the_labelled_export_layouts(answered, capsys):
    folder = answered[0]
    design_txt = (folder / "design" / "diagnostics.txt").read_text()
    d0 = re.search(r"D0-error \(null prior\): ([0-9.]+)", design_txt)
    assert d0, design_txt
    for fmt in ("sawtooth", "qualtrics"):
        path = folder / "design" / f"design_{fmt}.csv"
        assert main(["inspect", str(folder / "study.toml"), str(path), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert f"D0-error (null prior): {d0.group(1)}" in out, (fmt, out)
        assert "labelled design" in out, out


MARKET = """
[[products]]
name = "FibreHome + Sports"
label = "own"
own = true
speed = "1 Gbps"
tv = "TV Sports"
price = 45.0

[[products]]
name = "Rival A fibre"
label = "rival_a"
speed = "1 Gbps"
price = 40.0

[[products]]
name = "Rival B"
label = "rival_b"
speed = "300 Mbps"
price = 35.0
"""


@pytest.fixture(scope="module")
def reported(answered, tmp_path_factory):
    """A run folder of the labelled study made on the command line: import (Sawtooth), a tiny
    fit, simulate, recommend (refused) and report; (run, recommend's stderr)."""
    folder = answered[0]
    run = tmp_path_factory.mktemp("labelled_run")
    study = run / "study.toml"
    study.write_text(STUDY, encoding="utf-8")
    (run / "market.toml").write_text(MARKET, encoding="utf-8")
    design = str(folder / "design")
    shutil.copytree(folder / "design", run / "design")
    cho = str(answered[4]["sawtooth"])
    common = ["--format", "sawtooth", "--design", design]
    assert main(["-q", "import", str(study), cho, "--out", str(run / "import"), *common]) == 0
    hb = ["--draws", "40", "--tune", "40", "--chains", "1", "--validation", "none"]
    argv = ["-q", "fit", str(study), cho, "--out", str(run / "fit"), *common, *hb]
    assert main([*argv, "--no-progress"]) in (0, 4)
    market = ["--market", str(run / "market.toml")]
    argv = ["-q", "simulate", str(study), str(run / "fit"), *market, "--out", str(run / "simulate")]
    assert main(argv) == 0
    return run


@pytest.mark.integration
def test_winback_fit_gives_label_constants_and_a_label_importance(reported):
    run = reported
    pw = pd.read_csv(run / "fit" / "partworths.csv")
    labels = pw[pw["attribute"] == "label"]
    assert list(pd.unique(labels["level"])) == ["own", "rival_a", "rival_b"], labels
    assert (labels.loc[labels["level"] == "own", "utility"] == 0).all()
    imp = pd.read_csv(run / "fit" / "importances.csv").set_index("attribute")
    assert list(imp.index) == ["speed", "tv", "price", "label"], imp
    total = float(imp["mean"].sum())
    assert abs(total - 100) < 1e-9, f"importances add up to {total}, not 100"
    shares = pd.read_csv(run / "simulate" / "shares.csv")
    assert set(shares["product"]) >= {"FibreHome + Sports", "Rival A fibre", "Rival B", "none"}


@pytest.mark.integration
def test_winback_recommend_refuses_a_labelled_study_clearly(reported, capsys):
    run = reported
    out = run / "recommend"
    argv = ["recommend", str(run / "study.toml"), str(run / "fit")]
    argv += ["--market", str(run / "market.toml"), "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "does not support labelled designs yet" in err and "own, rival_a, rival_b" in err, err
    assert not out.exists()


def _text(ws) -> str:
    return "\n".join(
        " | ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True)
    )


@pytest.mark.integration
def test_winback_report_of_a_labelled_run(reported, capsys):
    """The workbook of a labelled run: level balance per label, the label constants and
    their importance, the searches' pages saying why they are empty, the live simulator
    sheets left out with the reason."""
    import openpyxl

    run = reported
    assert main(["report", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "this is a labelled study" in printed, printed
    wb = openpyxl.load_workbook(run / "report" / "winback_report.xlsx")
    assert "Simulator" not in wb.sheetnames, wb.sheetnames
    quality = _text(wb["Design & quality"])
    assert "label | attribute | level | count | share" in quality, quality
    assert "rival_a | speed | 100 Mbps" in quality and "own | tv | TV Essentials" in quality
    assert "rival_a | tv" not in quality, "tv balanced on a label that does not show it"
    pw = _text(wb["Part-worths"])
    assert "label (brand) | own | 0" in pw and "label (brand) | rival_b" in pw, pw
    assert "label[rival_a]" in pw, pw
    imp = _text(wb["Importances"])
    assert "label (brand) |" in imp and "as Sawtooth reports brand" in imp, imp
    for sheet in ("Offers", "Tiers", "Unbundling", "Decision"):
        text = _text(wb[sheet])
        assert "Not available: this is a labelled study (labels own, rival_a, rival_b)" in text, (
            sheet,
            text,
        )
    summary = _text(wb["Summary"])
    assert "What to offer: no offer search: this is a labelled study" in summary, summary
    assert "live simulator sheets are left out" in summary, summary
    assert "does not support labelled designs yet" in summary, summary


@pytest.mark.unit
def test_the_live_simulator_sheet_refuses_a_labelled_study(answered):
    import openpyxl

    from analysis.simulator import Market, PartWorthDraws
    from reports.live_sheet import add_live_simulator

    study = answered[1]
    draws = PartWorthDraws.from_array(study, np.array([list(TRUTH.values())] * 3))
    market = Market.from_dict(tomllib.loads(MARKET), study)
    wb = openpyxl.Workbook()
    with pytest.raises(WinbackError, match="live simulator sheet does not support labelled"):
        add_live_simulator(wb, draws, market)
    assert wb.sheetnames == ["Sheet"], wb.sheetnames
