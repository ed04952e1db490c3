"""The pipeline that chains the stages; the command line and notebooks both call these.

One module per stage: :mod:`~winback.pipeline.design`, :mod:`~winback.pipeline.responses`
(import), :mod:`~winback.pipeline.fit` (and :mod:`~winback.pipeline.latent`, latent classes),
:mod:`~winback.pipeline.market` (simulate), :mod:`~winback.pipeline.recommend`,
:mod:`~winback.pipeline.target` (the campaign), :mod:`~winback.pipeline.outcomes`,
:mod:`~winback.pipeline.report`, and :mod:`~winback.pipeline.demo` (all of them on the example
study). Each writes its folder through :class:`winback.run_folder.RunFolder`'s names, with a
``run.json`` recording what made it.

The names below load their stage on first use, so that ``winback design`` does not import the
HB estimation and ``winback import`` does not import the workbook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from winback.pipeline.classes import load_draws_for
    from winback.pipeline.demo import DemoRun, run_demo
    from winback.pipeline.design import DesignRun, run_design
    from winback.pipeline.fit import FitRun, run_fit, run_predict, write_fit
    from winback.pipeline.latent import LatentClassRun, fit_latent_classes, run_latent_class
    from winback.pipeline.market import SimulateRun, run_simulate
    from winback.pipeline.outcomes import OutcomesRun, run_outcomes
    from winback.pipeline.recommend import RecommendRun, default_components, run_recommend
    from winback.pipeline.report import ReportRun, run_report
    from winback.pipeline.responses import (
        ImportRun,
        check_flag_names,
        exclude_flagged,
        run_import,
    )
    from winback.pipeline.target import TargetRun, run_target

_STAGE_OF = {
    "DemoRun": "demo",
    "run_demo": "demo",
    "DesignRun": "design",
    "run_design": "design",
    "FitRun": "fit",
    "run_fit": "fit",
    "run_predict": "fit",
    "write_fit": "fit",
    "load_draws_for": "classes",
    "LatentClassRun": "latent",
    "fit_latent_classes": "latent",
    "run_latent_class": "latent",
    "RecommendRun": "recommend",
    "SimulateRun": "market",
    "default_components": "recommend",
    "run_recommend": "recommend",
    "run_simulate": "market",
    "OutcomesRun": "outcomes",
    "run_outcomes": "outcomes",
    "ReportRun": "report",
    "run_report": "report",
    "ImportRun": "responses",
    "check_flag_names": "responses",
    "exclude_flagged": "responses",
    "run_import": "responses",
    "TargetRun": "target",
    "run_target": "target",
}

#: looked up in the module every time (``keep=False``): a name patched in its module (a test
#: replacing ``winback.pipeline.<module>.<name>``) is what ``winback.pipeline`` gives
__getattr__, __dir__ = _lazy_names(
    __name__, {name: f"winback.pipeline.{module}" for name, module in _STAGE_OF.items()}, keep=False
)


__all__ = [
    "DemoRun",
    "DesignRun",
    "FitRun",
    "ImportRun",
    "LatentClassRun",
    "OutcomesRun",
    "RecommendRun",
    "ReportRun",
    "SimulateRun",
    "TargetRun",
    "check_flag_names",
    "default_components",
    "exclude_flagged",
    "fit_latent_classes",
    "load_draws_for",
    "run_demo",
    "run_design",
    "run_fit",
    "run_import",
    "run_latent_class",
    "run_outcomes",
    "run_predict",
    "run_recommend",
    "run_report",
    "run_simulate",
    "run_target",
    "write_fit",
]
