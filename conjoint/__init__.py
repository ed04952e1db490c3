"""Choice-based conjoint: study encoding, experimental designs, diagnostics, simulation, export;
MaxDiff (best-worst) designs, their diagnostics and simulated answers.

Examples
--------
>>> from winback import load_study
>>> from conjoint import make_design, inspect_design
>>> study = load_study("study.toml")  # doctest: +SKIP
>>> design = make_design(study)  # doctest: +SKIP
>>> inspect_design(design, n_respondents=300)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign, design_from_frame, make_assignments, make_design
    from conjoint.diagnostics import (
        DesignDiagnostics,
        inspect_design,
        street_burgess_efficiency,
    )
    from conjoint.encoding import make_encoding, parameter_names
    from conjoint.export import (
        read_design_csv,
        read_qualtrics_design,
        read_sawtooth_design,
        write_design_csv,
        write_qualtrics_design,
        write_sawtooth_design,
    )
    from conjoint.maxdiff import MaxDiffDesign, make_maxdiff_design, maxdiff_design_from_frame
    from conjoint.maxdiff_diagnostics import MaxDiffDiagnostics, inspect_maxdiff_design
    from conjoint.maxdiff_io import (
        make_study_maxdiff_design,
        read_maxdiff_design,
        write_maxdiff_design,
    )
    from conjoint.maxdiff_simulate import maxdiff_utilities, simulate_maxdiff
    from conjoint.priors import prior_draws, prior_mean
    from conjoint.simulate import simulate_choices

#: where each name lives; a name loads its module on first use, so that
#: ``import conjoint.encoding`` does not load the design search and scipy (the priors)
_MODULE_OF = {
    "ChoiceDesign": "conjoint.design",
    "design_from_frame": "conjoint.design",
    "make_assignments": "conjoint.design",
    "make_design": "conjoint.design",
    "DesignDiagnostics": "conjoint.diagnostics",
    "inspect_design": "conjoint.diagnostics",
    "street_burgess_efficiency": "conjoint.diagnostics",
    "make_encoding": "conjoint.encoding",
    "parameter_names": "conjoint.encoding",
    "read_design_csv": "conjoint.export",
    "read_qualtrics_design": "conjoint.export",
    "read_sawtooth_design": "conjoint.export",
    "write_design_csv": "conjoint.export",
    "write_qualtrics_design": "conjoint.export",
    "write_sawtooth_design": "conjoint.export",
    "MaxDiffDesign": "conjoint.maxdiff",
    "make_maxdiff_design": "conjoint.maxdiff",
    "maxdiff_design_from_frame": "conjoint.maxdiff",
    "MaxDiffDiagnostics": "conjoint.maxdiff_diagnostics",
    "inspect_maxdiff_design": "conjoint.maxdiff_diagnostics",
    "make_study_maxdiff_design": "conjoint.maxdiff_io",
    "read_maxdiff_design": "conjoint.maxdiff_io",
    "write_maxdiff_design": "conjoint.maxdiff_io",
    "maxdiff_utilities": "conjoint.maxdiff_simulate",
    "simulate_maxdiff": "conjoint.maxdiff_simulate",
    "prior_draws": "conjoint.priors",
    "prior_mean": "conjoint.priors",
    "simulate_choices": "conjoint.simulate",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)


__all__ = [
    "ChoiceDesign",
    "DesignDiagnostics",
    "MaxDiffDesign",
    "MaxDiffDiagnostics",
    "design_from_frame",
    "inspect_design",
    "inspect_maxdiff_design",
    "make_assignments",
    "make_design",
    "make_encoding",
    "make_maxdiff_design",
    "make_study_maxdiff_design",
    "maxdiff_design_from_frame",
    "maxdiff_utilities",
    "parameter_names",
    "prior_draws",
    "prior_mean",
    "read_design_csv",
    "read_maxdiff_design",
    "read_qualtrics_design",
    "read_sawtooth_design",
    "simulate_choices",
    "simulate_maxdiff",
    "street_burgess_efficiency",
    "write_design_csv",
    "write_maxdiff_design",
    "write_qualtrics_design",
    "write_sawtooth_design",
]
