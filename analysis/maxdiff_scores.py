"""MaxDiff scores as respondent covariates of the CBC: ``maxdiff_<item>``.

Each respondent's covariate ``maxdiff_<item>`` is the posterior mean of their zero-centred
MaxDiff utility of the item (Sawtooth's zero-centred "raw" score, on the logit scale: the
respondent's utility of the item minus their average over the items), from a
:class:`analysis.maxdiff.MaxDiffModel`. Why the utility and not the probability score:

- it is on the scale the HB's covariate prior is built for (respondents differ by about one
  logit unit), where a score divided by 100 varies by a few hundredths and its effect would be
  shrunk towards zero by the same prior;
- it does not depend on a design choice: the probability score transforms the utility with the
  number of items per set (``exp(u) / (exp(u) + a - 1)``), so the same answers scored for sets
  of 4 or 5 items give different covariates;
- it is linear where the score saturates: a respondent's part-worths moving with how much a
  reason weighed is a straight line in the utility, a curve in the bounded score.

The probability scores stay what the report shows (``maxdiff/scores.csv``); the two order each
respondent's reasons the same way.

Errors in variables: the covariate is an estimate treated as known. The posterior mean is the
expected utility given the respondent's answers (regression calibration, Carroll et al.,
*Measurement Error in Nonlinear Models*, 2006, ch. 4): it is already shrunk towards the
population, which largely removes the attenuation a noisy covariate would cause, but the
uncertainty of each respondent's score is not carried into the CBC fit, so the covariate
effect's band is somewhat too narrow.
"""

from __future__ import annotations

import pandas as pd

from analysis.data import MAXDIFF_PREFIX
from analysis.maxdiff import MaxDiffModel
from surveys.dataset import ChoiceDataset

__all__ = ["MAXDIFF_PREFIX", "add_maxdiff_covariates", "maxdiff_covariates"]


def maxdiff_covariates(model: MaxDiffModel) -> pd.DataFrame:
    """Each respondent's MaxDiff covariates: ``respondent_id`` and ``maxdiff_<item>`` per item,
    the posterior mean of the zero-centred utility (see the module docstring).

    Examples
    --------
    >>> maxdiff_covariates(md_model).columns[:2].tolist()  # doctest: +SKIP
    ['respondent_id', 'maxdiff_price_rise']
    """
    u = model.utilities(centred=True)
    out = u.rename(columns={c: f"{MAXDIFF_PREFIX}{c}" for c in u.columns})
    return out.reset_index()


def add_maxdiff_covariates(dataset: ChoiceDataset, model: MaxDiffModel) -> ChoiceDataset:
    """The dataset with the MaxDiff covariates as respondent columns ``maxdiff_<item>``, to name
    in ``fit(..., covariates=["maxdiff_price_rise"])`` (respondents without MaxDiff answers have
    none: naming such a covariate while they are included is an error, never imputed).

    Examples
    --------
    >>> from analysis import fit
    >>> data = add_maxdiff_covariates(dataset, md_model)  # doctest: +SKIP
    >>> model = fit(data, covariates=["maxdiff_price_rise"])  # doctest: +SKIP
    """
    return dataset.with_respondent_columns(maxdiff_covariates(model))
