"""HB multinomial logit estimation, diagnostics and part-worths; the aggregate MNL, latent
classes and counts; MaxDiff (best-worst) utilities and scores; the market simulator, price
curves and willingness to pay; the offer, tier and unbundling searches; the campaign (a
preference for every CRM customer, scoring, allocation, control group).

Examples
--------
>>> from analysis import fit, convergence_report
>>> model = fit(dataset, random_seed=1)  # doctest: +SKIP
>>> convergence_report(model)  # doctest: +SKIP
"""

from analysis.calibration import CalibratedDraws, calibrate
from analysis.campaign import (
    Campaign,
    CampaignScores,
    CustomerPreferences,
    Customers,
    customer_preferences,
    plan_campaign,
    read_customers,
    score_customers,
)
from analysis.convergence import ConvergenceReport, convergence_report
from analysis.data import ChoiceArrays, arrays_from_long, prepare_choice_data
from analysis.decision import Action, Decision, decide
from analysis.hb import HBSettings, build_model, fit_arrays
from analysis.io import load_model, save_model
from analysis.latent_class import (
    ClassChoice,
    LatentClassResult,
    choose_classes,
    fit_latent_class,
    fit_latent_class_arrays,
)
from analysis.latent_class_io import load_latent_class, save_latent_class
from analysis.latent_covariates import (
    ClassMembershipModel,
    fit_class_covariates,
    fit_class_covariates_arrays,
)
from analysis.maxdiff import (
    MaxDiffModel,
    fit_maxdiff,
    maxdiff_counts,
    prepare_maxdiff_data,
    probability_scores,
)
from analysis.maxdiff_covariates import add_maxdiff_covariates, maxdiff_covariates
from analysis.mnl import MNLResult, compare_mnl_hb, fit_mnl, fit_mnl_arrays
from analysis.model import HBModel, fit, partworth_table
from analysis.money import money_draws, money_table, product_margin
from analysis.offers import (
    OfferPairSearch,
    OfferSearch,
    optimize_offer,
    optimize_offers,
    own_product,
)
from analysis.pricing import market_wtp, price_curve, price_elasticities
from analysis.results import (
    covariate_effects,
    fit_statistics,
    holdout_validation,
    importances,
    population,
    population_covariance,
    predict,
    respondent_draws,
    willingness_to_pay,
    zero_centered_diffs,
)
from analysis.simulator import (
    Market,
    PartWorthDraws,
    Product,
    Simulation,
    read_market,
    simulate,
    source_of_volume,
)
from analysis.tiers import TierSearch, Unbundling, optimize_tiers, unbundle
from surveys.counts import counts

__all__ = [
    "Action",
    "CalibratedDraws",
    "Campaign",
    "CampaignScores",
    "ChoiceArrays",
    "ClassChoice",
    "ClassMembershipModel",
    "ConvergenceReport",
    "CustomerPreferences",
    "Customers",
    "Decision",
    "HBModel",
    "HBSettings",
    "LatentClassResult",
    "MNLResult",
    "Market",
    "MaxDiffModel",
    "OfferPairSearch",
    "OfferSearch",
    "PartWorthDraws",
    "Product",
    "Simulation",
    "TierSearch",
    "Unbundling",
    "add_maxdiff_covariates",
    "arrays_from_long",
    "build_model",
    "calibrate",
    "choose_classes",
    "compare_mnl_hb",
    "convergence_report",
    "counts",
    "covariate_effects",
    "customer_preferences",
    "decide",
    "fit",
    "fit_arrays",
    "fit_class_covariates",
    "fit_class_covariates_arrays",
    "fit_latent_class",
    "fit_latent_class_arrays",
    "fit_maxdiff",
    "fit_mnl",
    "fit_mnl_arrays",
    "fit_statistics",
    "holdout_validation",
    "importances",
    "load_latent_class",
    "load_model",
    "market_wtp",
    "maxdiff_counts",
    "maxdiff_covariates",
    "money_draws",
    "money_table",
    "optimize_offer",
    "optimize_offers",
    "optimize_tiers",
    "own_product",
    "partworth_table",
    "plan_campaign",
    "population",
    "population_covariance",
    "predict",
    "prepare_choice_data",
    "prepare_maxdiff_data",
    "price_curve",
    "price_elasticities",
    "probability_scores",
    "product_margin",
    "read_customers",
    "read_market",
    "respondent_draws",
    "save_latent_class",
    "save_model",
    "score_customers",
    "simulate",
    "source_of_volume",
    "unbundle",
    "willingness_to_pay",
    "zero_centered_diffs",
]
