"""What one survey wave's run did (:class:`WaveRun`, returned by
:func:`~winback.waves.run.run_wave`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from winback.waves.folder import WAVE_RECORD, waves_with_results


@dataclass(frozen=True)
class WaveRun:
    """What :func:`run_wave` did: the pipeline's runs and the complete results folder.

    ``record`` is the content of ``wave.json``. The runs' paths point into the staging folder
    the results were built in; ``results`` is where they are now.
    """

    wave: str
    study_dir: Path
    results: Path
    import_run: Any
    fit_run: Any
    simulate_run: Any = None
    recommend_run: Any = None
    prior_from: str | None = None
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    texts: dict[str, str] = field(default_factory=dict, repr=False)
    target_run: Any = None

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.results.rglob("*") if p.is_file())

    @property
    def verdict(self) -> str:
        """The fit's convergence verdict (``ok``, ``warn`` or ``fail``)."""
        if self.fit_run is not None:
            return str(self.fit_run.convergence.verdict)
        return str(self.record.get("convergence", ""))

    def convergence_report(self) -> str:
        """The fit's convergence report (as ``fit/convergence.txt``)."""
        if self.fit_run is not None:
            return str(self.fit_run.convergence.report())
        return self.texts.get("convergence", "")

    def detached(self) -> WaveRun:
        """This run without the pipeline's runs (the posterior draws, the datasets): the record,
        the results folder and the report's texts only, small enough to send between
        processes (what a Dask worker returns; load the fit with
        ``analysis.load_model(run.results / "fit" / "fit.nc")``)."""
        if self.fit_run is None:
            return self
        texts = {
            "model": repr(self.fit_run.model),
            "convergence": self.convergence_report(),
        }
        return WaveRun(
            self.wave,
            self.study_dir,
            self.results,
            None,
            None,
            prior_from=self.prior_from,
            record=self.record,
            texts=texts,
        )

    def report(self) -> str:
        lines = [
            f"wave {self.wave}: results in {self.results}/ "
            f"({len(self.files)} files, {self.record.get('seconds', 0):.0f} s)"
        ]
        prior = self.record.get("prior")
        if prior:
            lines.append(
                f"  prior: wave {prior['wave']}'s population posterior, widened x{prior['widen']:g}"
            )
        else:
            lines.append("  prior: none (winback's default weakly informative prior)")
        model = repr(self.fit_run.model) if self.fit_run is not None else self.texts["model"]
        lines.append(f"  {model}".replace("\n", "\n  "))
        lines.append(f"  convergence: {self.verdict}")
        if self.record.get("maxdiff_convergence"):
            lines.append(
                f"  the reasons' MaxDiff (maxdiff/): convergence {self.record['maxdiff_convergence']}"
            )
        stages = [f"{s}/" for s in self.record.get("stages", ["import", "fit"]) if s != "report"]
        rep = self.record.get("report") or {}
        if rep.get("workbook"):
            stages.append(str(rep["workbook"]))
            if rep.get("compared_with"):
                stages[-1] += f" (with a comparison against wave {rep['compared_with']})"
            elif rep.get("comparison_error"):
                stages[-1] += f" (no wave comparison: {rep['comparison_error']})"
        lines.append("  written: " + ", ".join(stages) + f", {WAVE_RECORD}")
        lines.append(
            f"  next: winback compare-waves {self.study_dir}"
            if len(waves_with_results(self.study_dir)) > 1
            else "  next: run the next wave, then winback compare-waves"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()
