"""Survey waves: one study folder, one results folder per wave, comparisons between waves.

Layout (see ``docs/waves.md``)::

    STUDY_DIR/
      study.toml              the study (a wave may carry its own: waves/<W>/study.toml)
      market.toml             optional: then every wave is simulated and offers recommended
      design/design.csv       optional: every task is checked against it (or waves/<W>/design.csv)
      level_map.toml          optional: [attribute] "old label" = "new label" across waves
      waves.toml              optional: order = ["first", "second", ...] (default: natural order)
      waves/<W>/responses.csv (+ respondents.csv)   the wave's answers (winback import format)
      waves/<W>/results/      written by run_wave: study.toml, market.toml, import/, fit/,
                              simulate/, recommend/, wave.json
      comparisons/<A>_vs_<B>/ written by compare_waves

A wave's ``results/`` is built in a hidden staging folder beside it and renamed into place only
when complete: an interrupted or failing run leaves no partial results and never touches
earlier ones; an existing ``results/`` is only replaced with ``force``, and only once the new
one is complete. :mod:`~winback.waves.folder` knows the layout, :mod:`~winback.waves.run`
runs a wave, :mod:`~winback.waves.parallel` runs several (in turn, or on a Dask cluster),
:mod:`~winback.waves.compare` compares two.

Examples
--------
>>> from winback.waves import compare_waves, run_wave, run_waves
>>> run_wave("broadband-study", "w1")  # doctest: +SKIP
>>> run_wave("broadband-study", "w2", prior_from="previous", prior_widen=2.0)  # doctest: +SKIP
>>> run_waves("broadband-study", "all", scheduler="local")  # doctest: +SKIP
>>> compare_waves("broadband-study")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from winback.waves.compare import WaveComparison, compare_waves
    from winback.waves.folder import (
        list_waves,
        read_level_map,
        wave_study_path,
        waves_with_results,
    )
    from winback.waves.parallel import WavesFailed, run_waves
    from winback.waves.run import WaveRun, run_wave

#: where each name lives; a name loads its module on first use, so that ``winback run`` does
#: not load the comparison of two waves (and ``compare-waves`` not the runs) before it starts
_MODULE_OF = {
    "WaveComparison": "winback.waves.compare",
    "compare_waves": "winback.waves.compare",
    "list_waves": "winback.waves.folder",
    "read_level_map": "winback.waves.folder",
    "wave_study_path": "winback.waves.folder",
    "waves_with_results": "winback.waves.folder",
    "WavesFailed": "winback.waves.parallel",
    "run_waves": "winback.waves.parallel",
    "WaveRun": "winback.waves.run",
    "run_wave": "winback.waves.run",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

__all__ = [
    "WaveComparison",
    "WaveRun",
    "WavesFailed",
    "compare_waves",
    "list_waves",
    "read_level_map",
    "run_wave",
    "run_waves",
    "wave_study_path",
    "waves_with_results",
]
