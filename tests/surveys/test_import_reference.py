"""The import gives the numbers it gave before it was made fast (issue 14 item 4).

``tests/data/import_reference/`` holds what the import computed on small simulated exports
before its reading, validation, quality fits and writing were rewritten for speed (written by
``python -m tests.surveys.test_import_reference`` at that revision): every quality flag and
fitted statistic of four cases (the example study through ``run_import``, with and without the
empirical-Bayes subsample; dual-response none and a status quo with the data's own population;
a repeated holdout), the calibration recorded in ``flags.attrs``, and the SHA-256 of every
file of the import folder except ``quality.csv`` (compared by value) and the run records. Flags,
counts and text must be identical; fitted statistics within 1e-9.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import surveys.quality.fit as quality_fit
from conjoint import make_design, simulate_choices
from surveys import make_dataset
from surveys.fieldwork import simulate_fieldwork
from surveys.quality import flag_quality
from tests.conftest import SMALL_HOLDOUT, SMALL_STUDY, SMALL_TRUTH, make_study
from winback._io import write_csv
from winback.example import example_study_text, make_example_study
from winback.pipeline import run_design, run_import
from winback.study import load_study

pytestmark = pytest.mark.integration

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "import_reference"
TOLERANCE = 1e-9
#: the import folder's files compared byte for byte (quality.csv by value; run.json and
#: import.json hold paths and times)
EXACT_FILES = ("responses.csv", "respondents.csv", "exclusions.csv", "reasons.csv", "reasons.txt")

SD = {**{k: 0.5 for k in SMALL_TRUTH}, "price": 0.01}
STATUS_QUO = """
[status_quo]
label = "Your previous plan"
levels = { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 50.0 }
"""
REPEATED_HOLDOUT = (
    SMALL_HOLDOUT
    + """
[[holdouts]]
name = "h1_again"
alternatives = [
  { plan = "Premium", speed = "1 Gbps", support = "Priority", price = 60.0 },
  { plan = "Standard", speed = "500 Mbps", support = "Standard", price = 40.0 },
  { plan = "Basic", speed = "100 Mbps", support = "Standard", price = 30.0 },
]
"""
)


def _example_import(tmp: Path, eb_sample: int | None) -> tuple[pd.DataFrame, dict, dict]:
    """The example study's export of 300 simulated lost customers through ``run_import``."""
    ex = make_example_study()
    (tmp / "study.toml").write_text(example_study_text(), encoding="utf-8")
    design = run_design(ex.study, tmp / "design", force=True).design
    choices, people, _, _ = simulate_fieldwork(
        design, ex.true_means, ex.true_sd, 300, random_seed=3
    )
    write_csv(choices, tmp / "responses.csv")
    write_csv(people, tmp / "respondents.csv")
    saved = quality_fit.EB_SAMPLE
    if eb_sample is not None:
        quality_fit.EB_SAMPLE = eb_sample
    try:
        run = run_import(
            load_study(tmp / "study.toml"),
            tmp / "responses.csv",
            tmp / "import",
            design=tmp / "design",
            force=True,
        )
    finally:
        quality_fit.EB_SAMPLE = saved
    files = {
        name: hashlib.sha256((tmp / "import" / name).read_bytes()).hexdigest()
        for name in EXACT_FILES
    }
    summary = json.loads((tmp / "import" / "import.json").read_text(encoding="utf-8"))
    summary.pop("sources")
    files["import.json"] = summary
    assert run.dataset.flags is not None
    return run.dataset.flags, run.dataset.flags.attrs, files


def _small_flags(case: str) -> tuple[pd.DataFrame, dict, dict]:
    if case == "dual_data":
        study = make_study(SMALL_STUDY.replace("none_option = true", "dual_response_none = true"))
        truth = SMALL_TRUTH
        sd = SD
    elif case == "status_quo_data":
        study = make_study(SMALL_STUDY + STATUS_QUO)
        truth, sd = {**SMALL_TRUTH, "status_quo": 0.3}, {**SD, "status_quo": 0.5}
    else:  # repeated holdout, the design's tasks not given (the respondents' own)
        study = make_study(SMALL_STUDY + REPEATED_HOLDOUT)
        truth, sd = SMALL_TRUTH, SD
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, truth, 11, n_respondents=160, sd=sd)
    # a few random responders among them
    rng = np.random.default_rng(5)
    for rid in [f"r{i:03d}" for i in (3, 17, 40, 77, 120)]:
        rows = responses["respondent_id"] == rid
        for task in pd.unique(responses.loc[rows, "task"]):
            at = rows & (responses["task"] == task)
            pick = rng.integers(0, int(at.sum()))
            chosen = np.arange(int(at.sum())) == pick
            responses.loc[at, "chosen"] = chosen.astype(int)
            if "would_buy" in responses.columns:
                coin = float(rng.integers(0, 2))
                responses.loc[at, "would_buy"] = np.where(chosen, coin, np.nan)
    data = make_dataset(responses, study, design=design)
    if case == "repeated_holdout":
        flags = flag_quality(data, random_seed=2).flags
    else:
        flags = flag_quality(data, design=design, random_seed=2, genuine="data").flags
    return flags, flags.attrs, {}


CASES = {
    "example_eb_sample": lambda tmp: _example_import(tmp, 150),
    "example": lambda tmp: _example_import(tmp, None),
    "dual_data": lambda tmp: _small_flags("dual_data"),
    "status_quo_data": lambda tmp: _small_flags("status_quo_data"),
    "repeated_holdout": lambda tmp: _small_flags("repeated_holdout"),
}


def _plain(v: Any) -> Any:
    """A JSON-ready value: NA as None, numpy scalars as Python ones, dicts and lists inside."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return None if math.isnan(v) else float(v)
    return v


def _record(flags: pd.DataFrame, attrs: dict, files: dict) -> dict:
    return {
        "columns": {c: _plain(flags[c].astype(object).tolist()) for c in flags.columns},
        "dtypes": {c: str(flags[c].dtype) for c in flags.columns},
        "attrs": _plain(dict(attrs)),
        "files": files,
    }


def _differences(want: Any, got: Any, where: str) -> list[str]:
    """Where ``got`` differs from ``want``: floats beyond TOLERANCE, anything else at all."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = (
            [f"{where}: keys {sorted(set(want) ^ set(got))} differ"]
            if set(want) != set(got)
            else []
        )
        for k in set(want) & set(got):
            out += _differences(want[k], got[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(got)} values, the reference has {len(want)}"]
        out = []
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            out += _differences(a, b, f"{where}[{i}]")
        return out
    if isinstance(want, float) and isinstance(got, float) and not isinstance(want, bool):
        if abs(want - got) <= TOLERANCE * max(1.0, abs(want)):
            return []
        return [f"{where}: {got!r}, the reference {want!r} (difference {got - want:.3g})"]
    if want != got or type(want) is not type(got):
        return [f"{where}: {got!r}, the reference {want!r}"]
    return []


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_import_gives_the_reference_numbers(case, tmp_path):
    flags, attrs, files = CASES[case](tmp_path)
    got = json.loads(json.dumps(_record(flags, attrs, files)))
    want = json.loads((REFERENCE / f"{case}.json").read_text(encoding="utf-8"))
    diff = _differences(want, got, case)
    assert not diff, f"{len(diff)} difference(s) from the reference, first ones:\n" + "\n".join(
        diff[:20]
    )


def main() -> None:  # pragma: no cover - writes the reference (at the revision that defines it)
    import tempfile

    REFERENCE.mkdir(parents=True, exist_ok=True)
    for case, make in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            record = _record(*make(Path(tmp)))
        (REFERENCE / f"{case}.json").write_text(
            json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(case, file=sys.stderr)


if __name__ == "__main__":
    main()
