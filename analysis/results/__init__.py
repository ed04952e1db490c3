"""Results of a fitted HB-MNL as tidy tables: part-worths, importances, WTP, fit and validation.

Every function takes an :class:`analysis.HBModel` and returns a tidy ``DataFrame`` (the view for
people and Excel); the ``*_draws`` functions return the posterior draws behind a table as a named
``xarray.DataArray`` (the view for rigour). Posterior summaries are the posterior **mean** and a
**equal-tailed band** of probability ``band`` (``winback.settings.BAND``, 0.9: the 5% and 95%
quantiles of the draws) unless ``band`` or ``band_kind="hdi"`` say otherwise. Nothing here changes the model.

Sawtooth Software's names are used where they exist: RLH (root likelihood), percent certainty,
zero-centred diffs, attribute importances.

The tables live in submodules by subject; every name is re-exported here:

- :mod:`analysis.results.partworths`: part-worths, zero-centred diffs, importances;
- :mod:`analysis.results.population`: population means, standard deviations, correlations;
- :mod:`analysis.results.wtp`: willingness to pay;
- :mod:`analysis.results.validation`: fit statistics, hit rates, holdout validation;
- :mod:`analysis.results.out_of_sample`: ``validate_fit``, the holdout tasks or a random-task
  split refitted, against naive benchmarks;
- :mod:`analysis.results.prediction`: predicted choice probabilities.
"""

from __future__ import annotations

from analysis.results._common import Interval
from analysis.results.out_of_sample import (
    FitValidation,
    validate_fit,
    validation_words,
)
from analysis.results.partworths import (
    importance_draws,
    importances,
    individual_draws,
    individual_partworths,
    level_utility_draws,
    respondent_draws,
    zero_centered_diffs,
)
from analysis.results.population import (
    covariate_effects,
    population,
    population_covariance,
    population_covariance_draws,
)
from analysis.results.prediction import predict
from analysis.results.validation import fit_statistics, holdout_validation
from analysis.results.wtp import willingness_to_pay, wtp_draws, wtp_median_draws

__all__ = [
    "FitValidation",
    "Interval",
    "covariate_effects",
    "fit_statistics",
    "holdout_validation",
    "importance_draws",
    "importances",
    "individual_draws",
    "individual_partworths",
    "level_utility_draws",
    "population",
    "population_covariance",
    "population_covariance_draws",
    "predict",
    "respondent_draws",
    "validate_fit",
    "validation_words",
    "willingness_to_pay",
    "wtp_draws",
    "wtp_median_draws",
    "zero_centered_diffs",
]
