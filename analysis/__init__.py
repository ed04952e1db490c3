"""HB multinomial logit estimation, diagnostics, part-worths and (later) the simulator.

Examples
--------
>>> from analysis import fit, convergence_report
>>> model = fit(dataset, random_seed=1)  # doctest: +SKIP
>>> convergence_report(model)  # doctest: +SKIP
"""

from analysis.data import ChoiceArrays, arrays_from_long, prepare_choice_data
from analysis.hb import HBSettings, build_model, fit_arrays
from analysis.model import HBModel, fit, partworth_table

__all__ = [
    "ChoiceArrays",
    "HBModel",
    "HBSettings",
    "arrays_from_long",
    "build_model",
    "fit",
    "fit_arrays",
    "partworth_table",
    "prepare_choice_data",
]
