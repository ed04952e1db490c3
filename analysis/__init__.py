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

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
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
    from analysis.maxdiff_scores import add_maxdiff_covariates, maxdiff_covariates
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
        predict,
        respondent_draws,
        willingness_to_pay,
        zero_centered_diffs,
    )
    from analysis.results.population import population, population_covariance
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

#: where each name lives; a name loads its module on first use, so that a command's stage
#: (``import analysis.simulator``) does not load the HB sampler, the searches and their numba
#: kernels
_MODULE_OF = {
    "CalibratedDraws": "analysis.calibration",
    "calibrate": "analysis.calibration",
    "Campaign": "analysis.campaign",
    "CampaignScores": "analysis.campaign",
    "CustomerPreferences": "analysis.campaign",
    "Customers": "analysis.campaign",
    "customer_preferences": "analysis.campaign",
    "plan_campaign": "analysis.campaign",
    "read_customers": "analysis.campaign",
    "score_customers": "analysis.campaign",
    "ConvergenceReport": "analysis.convergence",
    "convergence_report": "analysis.convergence",
    "ChoiceArrays": "analysis.data",
    "arrays_from_long": "analysis.data",
    "prepare_choice_data": "analysis.data",
    "Action": "analysis.decision",
    "Decision": "analysis.decision",
    "decide": "analysis.decision",
    "HBSettings": "analysis.hb",
    "build_model": "analysis.hb",
    "fit_arrays": "analysis.hb",
    "load_model": "analysis.io",
    "save_model": "analysis.io",
    "ClassChoice": "analysis.latent_class",
    "LatentClassResult": "analysis.latent_class",
    "choose_classes": "analysis.latent_class",
    "fit_latent_class": "analysis.latent_class",
    "fit_latent_class_arrays": "analysis.latent_class",
    "load_latent_class": "analysis.latent_class_io",
    "save_latent_class": "analysis.latent_class_io",
    "ClassMembershipModel": "analysis.latent_covariates",
    "fit_class_covariates": "analysis.latent_covariates",
    "fit_class_covariates_arrays": "analysis.latent_covariates",
    "MaxDiffModel": "analysis.maxdiff",
    "fit_maxdiff": "analysis.maxdiff",
    "maxdiff_counts": "analysis.maxdiff",
    "prepare_maxdiff_data": "analysis.maxdiff",
    "probability_scores": "analysis.maxdiff",
    "add_maxdiff_covariates": "analysis.maxdiff_scores",
    "maxdiff_covariates": "analysis.maxdiff_scores",
    "MNLResult": "analysis.mnl",
    "compare_mnl_hb": "analysis.mnl",
    "fit_mnl": "analysis.mnl",
    "fit_mnl_arrays": "analysis.mnl",
    "HBModel": "analysis.model",
    "fit": "analysis.model",
    "partworth_table": "analysis.model",
    "money_draws": "analysis.money",
    "money_table": "analysis.money",
    "product_margin": "analysis.money",
    "OfferPairSearch": "analysis.offers",
    "OfferSearch": "analysis.offers",
    "optimize_offer": "analysis.offers",
    "optimize_offers": "analysis.offers",
    "own_product": "analysis.offers",
    "market_wtp": "analysis.pricing",
    "price_curve": "analysis.pricing",
    "price_elasticities": "analysis.pricing",
    "covariate_effects": "analysis.results",
    "fit_statistics": "analysis.results",
    "holdout_validation": "analysis.results",
    "importances": "analysis.results",
    "population": "analysis.results.population",
    "population_covariance": "analysis.results.population",
    "predict": "analysis.results",
    "respondent_draws": "analysis.results",
    "willingness_to_pay": "analysis.results",
    "zero_centered_diffs": "analysis.results",
    "Market": "analysis.simulator",
    "PartWorthDraws": "analysis.simulator",
    "Product": "analysis.simulator",
    "Simulation": "analysis.simulator",
    "read_market": "analysis.simulator",
    "simulate": "analysis.simulator",
    "source_of_volume": "analysis.simulator",
    "TierSearch": "analysis.tiers",
    "Unbundling": "analysis.tiers",
    "optimize_tiers": "analysis.tiers",
    "unbundle": "analysis.tiers",
    "counts": "surveys.counts",
}

__getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)


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
