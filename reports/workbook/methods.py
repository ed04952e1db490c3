"""The ``Methods`` sheet: what was done, with the formulas written out and references.

The survey, the hierarchical Bayes estimation (with this fit's sampler settings), its
predictive validation (what was held out), importances and willingness to pay, the market
simulation (with the probability of its bands), the searches, how the one recommendation is
chosen (the formulas of customers, money and calibration, the business settings and the
calibration this run used), the attributes with their reference levels, and the literature.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from analysis.results.out_of_sample import SPLIT_MAX_OBSERVATIONS
from reports.live_layout import SIMULATOR
from reports.workbook.basis import calibrated, calibration_words
from reports.workbook.context import _Ctx, _present
from reports.workbook.decision_sheet import calibration_format
from reports.workbook.facts import ReportData
from reports.workbook.styles import INT, NUM1, NUM2, PCT, _Sheet
from winback.settings import band_label


def _methods_text(data: ReportData, *, live: bool) -> list[tuple[str, list[str]]]:
    """The Methods sheet's sections (``live``: the workbook has the live simulator sheets)."""
    fs = data.fit_settings or {}
    cov = fs.get("covariance", "full")
    eta = fs.get("lkj_eta", 2.0)
    settings = ""
    if fs:
        settings = (
            f" This fit: {fs.get('chains')} chains x {fs.get('draws')} draws after "
            f"{fs.get('tune')} warm-up, sampler {fs.get('sampler')}, covariance {cov}, seed "
            f"{fs.get('random_seed')}."
        )
        if fs.get("constraints"):
            settings += f" Sign/order constraints: {fs['constraints']}."
    rule = "logit"
    validation = _validation_text(data)
    if data.market is not None:
        rule = str(getattr(data.market, "rule", "logit"))
    sections = [
        (
            "The survey",
            [
                "Lost customers answered a questionnaire (why they left, what they had and "
                "paid) and a choice-based conjoint: in each task they chose one of several "
                "offers described by features and price, or none of them.",
                "Reference levels: the first level listed in the study file is the reference "
                "of its attribute (utility 0); numeric attributes coded 'linear' have one "
                "slope.",
            ],
        ),
        (
            "Estimation: hierarchical Bayes multinomial logit (HB-MNL)",
            [
                "P(respondent i chooses alternative j in task t) = exp(x_jt' b_i) / "
                "sum_k exp(x_kt' b_i), the none alternative having utility b_i,none.",
                "Individual part-worths b_i ~ MVN(mu, Sigma); Sigma = diag(sd) Omega diag(sd) "
                f"with Omega ~ LKJ(eta = {eta}) and sd ~ HalfNormal"
                + (" (covariance: full)" if cov == "full" else f" (covariance: {cov})")
                + "; mu ~ Normal(0, prior scale). Columns are scaled for sampling and "
                "results are reported on the original scale.",
                "Sampled with NUTS (nutpie or PyMC); every reported figure is computed per "
                "posterior draw and then summarised (mean and equal-tailed interval)." + settings,
                "Convergence: rank-normalised split R-hat and bulk/tail effective sample sizes "
                "(Vehtari et al. 2021), divergences, E-BFMI; the verdict and thresholds are on "
                "the Diagnostics sheet.",
            ],
        ),
        ("Validation: predicting choices the model was not fitted to", validation),
        (
            "Results",
            [
                "Importance of attribute a for respondent i = (max_l u_ial - min_l u_ial) / "
                "sum_a' (max - min) x 100, per draw, averaged over respondents.",
                "Willingness to pay (ratio) = (u_new - u_old) / (-b_price), median over "
                "respondents per draw; compensating variation = change of "
                "ln(sum_k exp(U_k)) / (-b_price); simulated = the price change that restores "
                "the offer's share.",
            ],
        ),
        (
            "Market simulation",
            [
                "Stated preference share (logit rule): share_j = mean over respondents of "
                "exp(e U_ij) / sum_k exp(e U_ik), e the exponent (scale); computed for every "
                f"posterior draw, giving {band_label(data.simulate_band)}s. Rule of the "
                f"market file: {rule}.",
                "Randomized first choice (RFC, when the market file asks for it): first "
                "choice after adding normal error to every level's part-worth (and optionally "
                "Gumbel error per product), averaged over error draws; it corrects the logit "
                "rule's IIA for similar products (Orme 1998; Huber, Orme and Miller 1999).",
                "Source of volume: the market without the offer against the market with it, "
                "per draw: share taken from none (lost customers who would otherwise stay "
                "away), competitors and our own offers.",
                *(
                    [
                        f"The live {SIMULATOR} sheet uses the logit rule on a stored stratified "
                        "sample of posterior draws, calibrated as the decision's, recalculated "
                        "by Excel; it shows its own Monte Carlo error against the full "
                        "posterior."
                    ]
                    if live
                    else []
                ),
            ],
        ),
        (
            "Searches",
            [
                "Offer search: every combination of allowed levels and candidate prices "
                "(exhaustive up to 2,000,000 candidates; coordinate ascent with random starts "
                "beyond, graded against an upper bound), objective share, revenue (share x "
                "price) or profit (share x (price - unit cost)) per lost customer.",
                "Tiers: each tier better on some feature and worse on none at a strictly "
                "higher price; every such set x price ladder evaluated with one logit per "
                "respondent and posterior draw (100 draws), proven optimal over the grid, then "
                "simulated at every draw for bands. Unbundling: every set of components taken out of the bundle, entry "
                "price and add-on prices.",
            ],
        ),
        ("How the recommendation is chosen", _decision_text(data)),
        (
            "References",
            [
                "Train, K. (2009). Discrete Choice Methods with Simulation, 2nd ed. Cambridge "
                "University Press.",
                "Sawtooth Software (2009). The CBC/HB System for Hierarchical Bayes Estimation, "
                "Version 5.0 Technical Paper. Sawtooth Software, Sequim, WA.",
                "Allenby, G. M. and Rossi, P. E. (1998). Marketing models of consumer "
                "heterogeneity. Journal of Econometrics 89, 57-78; Rossi, P. E., Allenby, G. M. "
                "and McCulloch, R. (2005). Bayesian Statistics and Marketing. Wiley.",
                "Orme, B. K. (2020). Getting Started with Conjoint Analysis, 4th ed. Research "
                "Publishers; Orme, B. (1998). Reducing the IIA Problem with a Randomized First "
                "Choice Model. Sawtooth Software.",
                "Huber, J., Orme, B. and Miller, R. (1999). Dealing with Product Similarity in "
                "Conjoint Simulations. Sawtooth Software Conference.",
                "Lewandowski, D., Kurowicka, D. and Joe, H. (2009). Generating random "
                "correlation matrices based on vines and extended onion method. Journal of "
                "Multivariate Analysis 100, 1989-2001 (the LKJ prior).",
                "Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Buerkner, P.-C. "
                "(2021). Rank-normalization, folding, and localization: an improved R-hat. "
                "Bayesian Analysis 16, 667-718.",
            ],
        ),
    ]
    return sections


def _decision_text(data: ReportData) -> list[str]:
    """How the one recommendation is chosen, the formulas in words, and the calibration."""
    bl = band_label(data.recommend_band)
    paras = [
        "Every candidate action (the offers the offer search listed, the good / better / best "
        "tiers, the entry offer with add-ons, today's offer and, with [business], no campaign) "
        "is simulated against today's market on every posterior draw and scored on one scale; "
        "the one with the highest expected value is recommended. With [business] the scale is "
        "expected profit per year: customers = N x share (N = lost customers in scope, share "
        "= the own products' share after the action); profit per year = (sum over our own "
        "products of customers x (monthly margin x months retained - incentive) - contact "
        "cost x N x reach) x 12 / horizon months, where months retained = (1 - (1 - c)^H) / c "
        "with c = 1 / retention months and H the horizon in months, the margin is [business] "
        "margin for a product named there or price - unit cost otherwise, and reach is the "
        "calibration's availability (1 without calibration); revenue per year = customers x "
        "price x months retained x 12 / H. Without [business] the scale is the search's "
        "objective per lost customer (share; revenue = share x price; profit = share x (price "
        "- unit cost)).",
        "Like for like: all of today's own products (named) against all own products after the "
        "action (named). Source of volume on every draw: from none = none's share today minus "
        "after; from competitors = the competitors' share today minus after; from our own "
        "products = today's own share minus the share of the own products the action keeps; "
        "net = from none + from competitors. Net gain = the action's value minus today's "
        "offer's, gap = the recommendation's value minus the candidate's, both per draw with "
        f"{bl}s; P(recommendation better) = the share of draws with a positive gap. The choice "
        "is proven best when every search behind the candidates was exhaustive.",
    ]
    words = calibration_words(data)
    if calibrated(data) and words:
        fitted = _fitted(data)
        paras.append(
            "Calibration: on every posterior draw d a shift of the none utility delta_d and/or "
            "a scale s_d is fitted so that today's market reproduces the observation: P_dij = "
            "exp(s_d u_dij + delta_d [j = none]) / sum_k exp(s_d u_dik + delta_d [k = none]); "
            "the target on each draw is the observed rate plus its binomial sampling error for "
            "the n customers observed, so the bands carry both uncertainties; the own "
            "products' calibrated shares are then multiplied by the availability. This run: "
            f"{words}{fitted}."
        )
    else:
        paras.append(
            "Calibration: none in this run, so every share is a stated preference share (what "
            "the lost customers surveyed chose). A [calibration] table in the study or market "
            "file (an observed win-back rate or take-up, with its sample size and the "
            "availability) fits a none shift and/or scale on every posterior draw so that "
            "today's market reproduces it."
        )
    return paras


def _fitted(data: ReportData) -> str:
    cal = data.calibration if data.calibration is not None else data.simulate_calibration
    if cal is None or "measure" not in cal.columns:
        return ""
    parts = []
    for _, r in cal.iterrows():
        m = str(r["measure"])
        if m in ("scale", "none shift"):
            parts.append(f"{m} {float(r['value']):.2f} ({float(r['lower']):.2f} to "
                         f"{float(r['upper']):.2f})")  # fmt: skip
    return "; fitted " + " and ".join(parts) if parts else ""


def _business_rows(ctx: _Ctx) -> list[tuple[str, object, str | None]]:
    """The [business] settings the money figures use, label / value / format."""
    biz = ctx.data.study.get("business")
    if not biz:
        return []
    h = int(biz["horizon_months"])
    rows: list[tuple[str, object, str | None]] = [
        ("Lost customers in scope (N)", biz["lost_customers"], INT),
        ("Horizon (months)", h, INT),
        ("Retention: months a returning customer stays on average", biz["retention_months"], NUM1),
        ("Monthly churn (1 / retention months)", 1.0 / float(biz["retention_months"]), PCT),
        (f"Months paid within the {h}-month horizon", biz["months_retained"], NUM2),
        ("Contact cost per lost customer reached", biz["contact_cost"], ctx.money),
        ("Incentive per returning customer (once)", biz["incentive"], ctx.money),
    ]
    for product, margin in (biz.get("margin") or {}).items():
        rows.append((f"Monthly margin of {product}", margin, ctx.money))
    if not biz.get("margin"):
        rows.append(("Monthly margin", "price minus the study's [costs] for every product", None))
    return rows


def _validation_text(data: ReportData) -> list[str]:
    rec = data.validation_record or {}
    this = ""
    if rec.get("method") in ("holdouts", "split"):
        this = f" This fit held out {rec.get('description', '')}"
    elif rec.get("note"):
        this = f" This fit: {rec['note']}"
    elif data.validation is None:
        this = " This fit was written before validation was recorded."
    return [
        "Hit rate = share of held-out tasks in which the option with the highest utility at "
        "the respondent's posterior mean part-worths is the one chosen (Sawtooth's holdout "
        "hit rate); also averaged over posterior draws. Share error = mean over the options "
        "of |predicted share - observed share|, the predicted share being the average over "
        "respondents of the logit probabilities in each draw, then the posterior mean.",
        "Naive benchmarks: a random guess (1 / number of options); always predicting the "
        "option chosen most often in the held-out tasks (it knows their shares: the best any "
        "one-size-fits-all prediction can do); equal shares for the share error.",
        "What is held out: the study's holdout tasks (fixed tasks everyone saw, left out of "
        "estimation) when there are any; otherwise one random estimation task per respondent, "
        "the model refitted on the remaining tasks with the same settings and seed, and the "
        "held-out choices predicted from each respondent's own part-worths (as Displayr's "
        "cross-validation and Sawtooth's random-task holdouts do). Without holdouts, a "
        f"study larger than {SPLIT_MAX_OBSERVATIONS:,} estimation tasks is refitted only on "
        "request." + this,
    ]


#: the words of the workbook and of statistics, in plain language (the Methods sheet's glossary)
GLOSSARY = (
    ("stated preference share", "The share of lost customers who would choose an offer in the "
     "survey's choice tasks: what they say, not yet what they do."),
    ("calibrated share", "A stated preference share adjusted so that today's market reproduces "
     "an observed win-back rate or take-up; customers and money rest on them when a run is "
     "calibrated."),
    ("band", "The range a figure lies in with the probability its label names, given the "
     "survey's answers (the uncertainty of the estimate)."),
    ("posterior draw", "One of the thousands of equally plausible sets of figures the "
     "estimation produces; every figure is computed on each and then summarised."),
    ("part-worth (utility)", "What a feature's level adds to an offer's appeal for one customer, "
     "on the logit scale; only differences within a feature matter."),
    ("importance", "How much a feature's range of levels moves the choice, as a share of all "
     "features' ranges."),
    ("willingness to pay (WTP)", "The price rise that leaves a customer as keen on the offer "
     "with a change as without it. Ratio: utility gained / price slope, median over "
     "respondents. Compensating variation: the change of the whole market's appeal in money. "
     "Simulated: the price change that keeps the offer's share. They answer different "
     "questions, so they differ."),
    ("none option", "'None of these': the customer stays where they are."),
    ("source of volume", "Where an offer's customers would otherwise be: staying away (none), "
     "with a competitor, or with another of our own products (cannibalisation)."),
    ("net gain / net volume", "What an action adds against today's offer, in money / in "
     "customers from none and competitors (what it takes from our own products deducted)."),
    ("reach (availability)", "The share of lost customers a campaign can contact."),
    ("HB-MNL", "Hierarchical Bayes multinomial logit: the model estimating every respondent's "
     "part-worths, borrowing strength from the others."),
    ("convergence: R-hat, ESS, divergences, E-BFMI", "Checks that the estimation explored its "
     "answer well: R-hat near 1 (chains agree), effective sample size (ESS) large enough, no "
     "divergent transitions, E-BFMI above 0.3. A verdict of WARNING or FAIL says what to rerun "
     "(Diagnostics sheet)."),
    ("hit rate / RLH", "Validation: how often the model picks the option a respondent chose in "
     "held-out tasks / the root likelihood, the geometric mean probability it gave their "
     "choices (random responders have an RLH near 1 / number of options)."),
    ("exhaustive search (proven)", "Every candidate offer, tier menu or unbundling was "
     "evaluated, so the best found is the best there is over the tested levels and prices."),
    ("D-error, efficiency", "Survey design quality: how precisely the choice tasks can measure "
     "the part-worths (lower D-error, higher efficiency is better)."),
)  # fmt: skip


def _sheet_methods(ws: Worksheet, ctx: _Ctx) -> None:
    ws.column_dimensions["A"].width = 120
    s = _Sheet(ws, span=1)
    s.title(
        "Methods",
        "What was done, with the formulas written out and references; a glossary of the "
        "workbook's words first.",
    )
    s.heading("Glossary")
    is_calibrated = calibrated(ctx.data)
    for term, meaning in GLOSSARY:
        if term == "calibrated share" and not is_calibrated:
            term, meaning = (
                "calibration",
                (
                    "Anchoring the survey's shares to an observed win-back rate or take-up (a "
                    "[calibration] table); none in this run, so every share is stated."
                ),
            )
        s.para(f"{term}: {meaning}")
    s.blank()
    for heading, paras in _methods_text(ctx.data, live=ctx.has_page(SIMULATOR)):
        s.heading(heading)
        for p in paras:
            s.para(p)
        s.blank()
    rows = _business_rows(ctx)
    if rows:
        s.heading("Business settings used ([business] of the study)")
        s.pairs(rows)
        s.blank()
    cal = ctx.data.calibration if _present(ctx.data.calibration) else None
    cal = cal if cal is not None else ctx.data.simulate_calibration
    if calibrated(ctx.data) and _present(cal) and cal is not None:
        s.heading("Calibration used: the observation and what was fitted")
        words = calibration_words(ctx.data)
        if words:
            s.para(words[0].upper() + words[1:] + ".")
        s.table(
            cal,
            labels={"lower": "band from", "upper": "band to"},
            row_format=(("value", "lower", "upper"), calibration_format),
        )
    if ctx.data.study.get("attributes"):
        s.heading("Attributes and reference levels")
        t = pd.DataFrame(
            [
                {
                    "attribute": a["label"],
                    "name": a["name"],
                    "coding": a["coding"],
                    "reference level": a["reference"],
                    "levels": ", ".join(a["levels"]),
                }
                for a in ctx.data.study["attributes"]
            ]
        )
        s.table(t)
        ws.column_dimensions["A"].width = 120
    s.finish()
