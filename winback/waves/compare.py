"""Comparing two waves (``winback compare-waves``): posterior contrasts of part-worths,
importances, WTP, reasons for leaving and the recommended offers, with their summary in
words, written to ``comparisons/<A>_vs_<B>/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import load_model
from analysis.contrasts import (
    importance_contrasts,
    map_levels,
    map_offer,
    offer_contrasts,
    offer_from_row,
    partworth_contrasts,
    reason_contrasts,
    relabel_draws,
    wtp_contrasts,
)
from analysis.simulator import PartWorthDraws, read_market
from winback import __version__
from winback._folders import staged_output
from winback._io import atomic_write_text, unescape_frame, write_csv, write_json
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, band_label, resolve_band
from winback.waves.folder import (
    COMPARISONS_DIR,
    LEVEL_MAP_FILE,
    MARKET_FILE,
    WAVE_RECORD,
    _level_map,
    _rel,
    _results,
    _sha,
    _study_dir,
    _wave_dir,
    list_waves,
    log,
    waves_with_results,
)

# --------------------------------------------------------------------------------------------
# Comparing waves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveComparison:
    """How two waves differ: one contrast table per topic and a summary in words.

    ``tables``: ``partworths``, ``importances``, ``wtp``, ``reasons``, ``offers`` (those that
    apply), each as :func:`analysis.contrasts.contrast_table` returns it.
    """

    wave_a: str
    wave_b: str
    tables: dict[str, Any]
    mapping: Any
    band: float
    out: Path | None = None
    files: tuple[Path, ...] = ()
    summary: str = ""

    def __repr__(self) -> str:
        return self.summary


def _read_table(path: Path) -> Any:

    return unescape_frame(pd.read_csv(path, dtype=str, keep_default_na=False))


def _reasons(results: Path) -> Any:

    path = results / "import" / "reasons.csv"
    if not path.is_file():
        return None
    t = _read_table(path)
    for c in ("n_selected", "n"):
        t[c] = pd.to_numeric(t[c])
    return t


def _best_offer(results: Path, study: Any, name: str) -> Any:

    path = results / "recommend" / "offers.csv"
    if not path.is_file():
        return None
    t = _read_table(path)
    if t.empty:
        return None
    return offer_from_row(t.iloc[0].to_dict(), study, name)


def _fmt(x: float, pct: bool = False) -> str:

    if not math.isfinite(x):
        return "-"
    return f"{x:.1%}" if pct else f"{x:.3g}"


def _summary(
    wave_a: str,
    wave_b: str,
    tables: dict[str, Any],
    mapping: Any,
    band: float,
    notes: list[str],
) -> str:
    lines = [
        f"Wave {wave_b} against wave {wave_a}: posterior contrasts ({wave_b} minus {wave_a}), "
        f"{band_label(band)}s.",
        "The waves are independent samples: each difference pairs the two posteriors' draws.",
    ]
    titles = {
        "partworths": ("Part-worths (population means)", ("parameter",)),
        "importances": ("Importances (percent)", ("attribute",)),
        "wtp": ("Willingness to pay", ("attribute", "level")),
        "reasons": ("Reasons for leaving (share of customers)", ("label",)),
        "offers": ("Recommended offers", ("offer", "measure")),
    }
    for key, (title, cols) in titles.items():
        t = tables.get(key)
        if t is None:
            continue
        lines += ["", f"{title}:"]
        clear = t[t["verdict"].astype(str).str.startswith(("rose", "fell", "only"))]
        for _, r in clear.iterrows():
            name = " ".join(str(r[c]) for c in cols)
            p = key == "reasons" or (key == "offers" and r.get("measure") == "share")
            lines.append(
                f"  {name}: {_fmt(r['estimate_a'], p)} -> {_fmt(r['estimate_b'], p)}, "
                f"difference {_fmt(r['difference'], p)} [{_fmt(r['lower'], p)}, "
                f"{_fmt(r['upper'], p)}], P(rose) {_fmt(r['prob_increase'], True)}: "
                f"{r['verdict']}"
            )
        rest = len(t) - len(clear)
        if rest:
            lines.append(f"  no clear change: {rest} other{'s' if rest != 1 else ''}")
    if notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in notes]
    if mapping.renamed or mapping.dropped:
        lines += ["", repr(mapping)]
    return "\n".join(lines)


def _comparison_tables(
    study: Path,
    wave_a: str,
    wave_b: str,
    ra: Path,
    rb: Path,
    *,
    band: float,
    random_seed: int,
    prior_b_record: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Any, list[str]]:
    """The contrast tables of wave B against wave A from their results folders ``ra``, ``rb``
    (``rb`` may still be a wave's staging folder), the level mapping and notes in words."""

    model_a = load_model(ra / "fit" / "fit.nc")
    model_b = load_model(rb / "fit" / "fit.nc")
    level_map, map_path = _level_map(study)
    mapping = map_levels(
        model_a.study,
        model_b.study,
        level_map,
        wave_a=wave_a,
        wave_b=wave_b,
        source=str(map_path or study / LEVEL_MAP_FILE),
    )
    tables: dict[str, Any] = {
        "partworths": partworth_contrasts(
            model_a, model_b, mapping, band=band, random_seed=random_seed
        ),
        "importances": importance_contrasts(
            model_a, model_b, mapping, band=band, random_seed=random_seed
        ),
    }
    notes = []
    if model_b.study.price_attribute is not None:
        tables["wtp"] = wtp_contrasts(model_a, model_b, mapping, band=band, random_seed=random_seed)
    reasons_a, reasons_b = _reasons(ra), _reasons(rb)
    if reasons_a is not None and reasons_b is not None and len(reasons_a) and len(reasons_b):
        tables["reasons"] = reason_contrasts(
            reasons_a,
            reasons_b,
            wave_a=wave_a,
            wave_b=wave_b,
            band=band,
            random_seed=random_seed,
        )
    best_a = _best_offer(ra, model_a.study, f"best offer of {wave_a}")
    best_b = _best_offer(rb, model_b.study, f"best offer of {wave_b}")
    if best_a is not None and best_b is not None and (rb / MARKET_FILE).is_file():
        market = read_market(rb / MARKET_FILE, model_b.study)
        offers = [map_offer(best_a, mapping), best_b]
        if dict(offers[0].levels) == dict(best_b.levels):
            offers = [type(best_b)(f"best offer of {wave_a} and {wave_b}", best_b.levels)]
            notes.append(
                f"the recommended offer is the same in both waves: {best_b.describe(model_b.study)}."
            )
        else:
            notes.append(
                f"the recommended offer changed: {wave_a}: {offers[0].describe(model_b.study)}; "
                f"{wave_b}: {best_b.describe(model_b.study)}."
            )
        tables["offers"] = offer_contrasts(
            relabel_draws(model_a, mapping, model_b.study),
            PartWorthDraws.from_model(model_b),
            market,
            offers,
            wave_a=wave_a,
            wave_b=wave_b,
            band=band,
            random_seed=random_seed,
        )
        notes.append(
            f"offers are simulated in wave {wave_b}'s market ({rb / MARKET_FILE}) for both "
            "waves' customers, so only their preferences differ."
        )
    elif best_a is None or best_b is None:
        notes.append("no recommended offers to compare (a wave was run without market.toml).")
    record_b = rb / WAVE_RECORD
    prior_b = (
        json.loads(record_b.read_text(encoding="utf-8")).get("prior")
        if record_b.is_file()
        else prior_b_record
    )
    if prior_b:
        notes.append(
            f"wave {wave_b} was fitted with wave {prior_b['wave']}'s posterior as its prior "
            f"(widened x{prior_b['widen']:g}): its estimates borrow strength from that wave, so "
            "differences are shrunk toward zero, and the contrasts treat the waves as "
            f"independent, which they then are not. For a clean comparison, run {wave_b} "
            "without a prior."
        )
    notes.append(
        "part-worths are on the logit scale of each wave: if every part-worth moves by the same "
        "factor, the waves may differ in answer consistency rather than preferences; "
        "willingness to pay and importances do not depend on that scale."
    )
    return tables, mapping, notes


def compare_waves(
    study_dir: str | Path,
    waves: Sequence[str] | None = None,
    *,
    band: float = BAND,
    force: bool = False,
    random_seed: int = 1,
    write: bool = True,
    interval: float | None = None,
) -> WaveComparison:
    """How part-worths, importances, WTP, reasons for leaving and the recommended offer moved
    between two waves, as posterior contrasts with bands.

    Writes ``comparisons/<A>_vs_<B>/`` in the study folder (atomically, refusing to replace an
    earlier comparison unless ``force``): ``partworths.csv``, ``importances.csv``, ``wtp.csv``,
    ``reasons.csv``, ``offers.csv`` (those that apply), ``comparison.txt`` (the summary),
    ``comparison.xlsx`` (the ``Wave comparison`` sheet) and ``comparison.json``.

    Every table has ``estimate_a`` and ``estimate_b`` (posterior means in each wave),
    ``difference`` (B minus A), ``lower``/``upper`` (equal-tailed band at ``band``),
    ``prob_increase`` (posterior probability that B is higher) and ``verdict`` ("rose",
    "fell", "no clear change"). See :mod:`analysis.contrasts` for how each is computed.

    Parameters
    ----------
    study_dir : str or Path
    waves : (str, str), optional
        The earlier and the later wave (default: the last two waves with results).
    band : float
        Probability of the bands (``winback.settings.BAND``, 0.9; ``interval``: its former
        name, deprecated).
    force : bool
        Replace an earlier comparison of the same waves.
    random_seed : int
    write : bool
        Write the comparison folder (False: only return the tables).

    Returns
    -------
    WaveComparison

    Examples
    --------
    >>> from winback.waves import compare_waves
    >>> cmp = compare_waves("broadband-study", ["w1", "w2"])  # doctest: +SKIP
    >>> cmp.tables["partworths"].query("parameter == 'price'")  # doctest: +SKIP
    """

    study = _study_dir(study_dir)
    band = resolve_band(band, interval, where="compare_waves")
    done = waves_with_results(study)
    if waves is None:
        if len(done) < 2:
            raise WinbackError(
                f"comparing waves needs two waves with results; {study} has "
                f"{list_valid(done) or 'none'} (waves: {list_valid(list_waves(study)) or 'none'}). "
                "Run them with: winback run STUDY_DIR --wave W."
            )
        wave_a, wave_b = done[-2], done[-1]
    else:
        if len(waves) != 2:
            raise WinbackError(f"name two waves to compare, got {list_valid(waves)}.")
        wave_a, wave_b = waves
        for w in (wave_a, wave_b):
            _wave_dir(study, w)
            if w not in done:
                raise WinbackError(
                    f"wave '{w}' has no results in {_results(study, w)}; run it first "
                    f"(winback run {study} --wave {w}). Waves with results: "
                    f"{list_valid(done) or 'none'}."
                )
        if wave_a == wave_b:
            raise WinbackError(f"name two different waves, got '{wave_a}' twice.")
    out = study / COMPARISONS_DIR / f"{wave_a}_vs_{wave_b}"
    if write and out.exists() and not force:
        raise WinbackError(
            f"{out} exists; nothing was changed. Pass --force to replace that comparison."
        )
    ra, rb = _results(study, wave_a), _results(study, wave_b)
    tables, mapping, notes = _comparison_tables(
        study, wave_a, wave_b, ra, rb, band=band, random_seed=random_seed
    )
    summary = _summary(wave_a, wave_b, tables, mapping, band, notes)
    if not write:
        return WaveComparison(wave_a, wave_b, tables, mapping, band, None, (), summary)

    (study / COMPARISONS_DIR).mkdir(exist_ok=True)
    with staged_output(out, force=force) as stage:
        written = []
        for key, t in tables.items():
            write_csv(t, stage / f"{key}.csv")
            written.append(f"{key}.csv")
        atomic_write_text(stage / "comparison.txt", summary + "\n")
        # lazy: openpyxl and the sheet's writer load as the workbook is written, not when
        # `winback run` starts
        from openpyxl import Workbook

        from reports.waves_sheet import add_wave_comparison

        wb = Workbook()
        assert wb.active is not None
        wb.remove(wb.active)
        add_wave_comparison(wb, tables, band=band)
        wb.save(stage / "comparison.xlsx")
        meta = {
            "wave_a": wave_a,
            "wave_b": wave_b,
            "band": band,
            "interval": band,  # the former name of "band", kept for scripts that read it
            "random_seed": random_seed,
            "winback_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "fits": {
                w: {"path": _rel(r / "fit" / "fit.nc", study), "sha256": _sha(r / "fit" / "fit.nc")}
                for w, r in ((wave_a, ra), (wave_b, rb))
            },
            "renamed": [list(r) for r in mapping.renamed],
            "dropped": [list(r) for r in mapping.dropped],
            "tables": list(tables),
            "method": "difference of independent posterior draws (each wave's draws shuffled "
            "and paired), equal-tailed bands",
        }
        write_json(meta, stage / "comparison.json")
        written += ["comparison.txt", "comparison.xlsx", "comparison.json"]
    files = tuple(out / n for n in written)
    log.info("compared waves %s and %s: %s", wave_a, wave_b, out)
    return WaveComparison(wave_a, wave_b, tables, mapping, band, out, files, summary)
