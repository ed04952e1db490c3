# %% [markdown]
# # winback quickstart: a win-back study, end to end
#
# This notebook runs the embedded example study (a broadband provider surveying customers who
# left) through winback's Python API: the study and its choice design, the lost customers'
# answers (simulated here, with known truth, so every number can be checked), data quality,
# why they left, hierarchical Bayes part-worths, the market simulator, the best win-back offer,
# good / better / best tiers, an unbundled entry offer, and the leadership workbook.
#
# With your own study, replace the first cells by `load_study("study.toml")` and
# `read_responses("responses.csv", study, design=design)`.
#
# The fit below is deliberately small (a few hundred draws) so that the notebook runs in about a
# minute; for real work use the defaults of `fit` (4 chains x 1,000 draws) and read the
# convergence report.

# %% tags=parameters
DRAWS, TUNE, CHAINS = 200, 200, 2  # small for a quick run; fit's defaults are 1000, 500, 4
N_RESPONDENTS = 200
SEED = 1

# %%
import tempfile
from importlib.resources import files
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="winback-quickstart-"))

# %% [markdown]
# ## 1. The study and its design
#
# `make_example_study` returns the example study (its attributes, levels, prohibitions, the
# lost-customer questionnaire) together with the true population part-worths used to simulate
# answers. `make_design` builds the choice tasks; `inspect_design` says whether they can estimate
# what we need at the planned sample size.

# %%
from winback.example import make_example_study

ex = make_example_study()
study = ex.study
study

# %%
from conjoint import inspect_design, make_design

design = make_design(study)
inspect_design(design, n_respondents=N_RESPONDENTS)

# %% [markdown]
# ## 2. Fieldwork (simulated) and data quality
#
# `simulate_fieldwork` answers the questionnaire and the choice tasks as lost customers would:
# those who left over a price rise are more price sensitive, those who left over outages value
# the outage credit more. A few answer at random and a few speed through, as in real fieldwork.
# `make_dataset` validates the answers (every problem is reported at once, with the row) and
# `flag_quality` flags random responders, speeders, straight-liners and duplicates.

# %%
from surveys.fieldwork import simulate_fieldwork

choices, people, truth, planted = simulate_fieldwork(
    design, ex.true_means, ex.true_sd, N_RESPONDENTS, random_seed=SEED
)
choices.head(8)

# %%
from surveys import flag_quality, make_dataset, summarize_reasons

data = make_dataset(choices, study, design=design, respondents=people)
data = flag_quality(data, design=design)
data

# %% [markdown]
# Why did they leave? Shares of main and of all mentioned reasons, with the open answers.

# %%
reasons = summarize_reasons(data)
reasons

# %% [markdown]
# Leave out respondents whose choices are indistinguishable from random; the exclusion is
# recorded in the dataset (who, why, decided where), never silent.

# %%
flags = data.flags
random_ids = flags.loc[
    flags["random_responder"].fillna(False).astype(bool), "respondent_id"
].tolist()
data = data.exclude(
    random_ids, "random responder (RLH below the random cutoff)", source="quickstart"
)
print(f"{len(random_ids)} random responders left out; planted: {len(planted['random_responders'])}")

# %% [markdown]
# ## 3. Hierarchical Bayes part-worths
#
# `fit` estimates every respondent's part-worths with a hierarchical multinomial logit (full
# covariance, non-centred) using nutpie's NUTS sampler. The convergence report gives R-hat, ESS,
# divergences and E-BFMI with a verdict and advice in words.

# %%
from analysis import convergence_report, fit, importances, population, willingness_to_pay

model = fit(data, draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=SEED)
convergence_report(model)

# %%
importances(model)

# %%
population(model)

# %%
willingness_to_pay(model).head(10)

# %% [markdown]
# Check against the truth we simulated: the estimated population means next to the true ones.

# %%
import pandas as pd

pop = population(model).set_index("parameter")
check = pd.DataFrame({"true mean": pd.Series(ex.true_means), "estimated": pop["mean"]})
check

# %% [markdown]
# ## 4. The market simulator
#
# The market the lost customers face today: our current offer, two competitors and "none".
# Shares of preference come with posterior bands, here by main reason for leaving.

# %%
from analysis.simulator import read_market, simulate

market_path = workdir / "market.toml"
market_path.write_text(
    files("winback").joinpath("examples/broadband_market.toml").read_text("utf-8"), "utf-8"
)
print(market_path.read_text("utf-8"))
market = read_market(market_path, study)
sim = simulate(model, market, segment="main_reason")
sim.shares

# %%
from analysis import own_product
from analysis.pricing import price_curve

current = own_product(market, None)
price_curve(model, market, current.name).head(10)

# %% [markdown]
# ## 5. What should we offer them?
#
# The profit-best replacement for our current offer (every candidate evaluated, with bands and
# the probability that it beats the current offer), then good / better / best tiers (proven
# optimal over the price grid) and an unbundled entry offer with add-ons.

# %%
from analysis import optimize_offer, optimize_tiers, unbundle

offers = optimize_offer(model, market, product=current.name, objective="profit")
offers

# %%
features = [a.name for a in study.attributes if a.name != study.price_attribute]
tiers = optimize_tiers(model, market, features=features, objective="profit", replace=current.name)
tiers

# %%
from winback.pipeline import default_components

unbundling = unbundle(
    model,
    market,
    bundle=current.name,
    components=default_components(study, dict(current.levels)),
    objective="profit",
)
unbundling

# %% [markdown]
# ## 6. Hand it to leadership
#
# The command line and `winback run` keep every stage in a run folder; from a notebook, write
# the fit and let the pipeline add the simulations, the recommendations and the workbook
# (`report/winback_report.xlsx`: a summary page for leaders, every table with native charts,
# a live simulator sheet).

# %%
from winback.example import example_study_text
from winback.pipeline import run_recommend, run_report, run_simulate, write_fit

(workdir / "study.toml").write_text(example_study_text(), "utf-8")
write_fit(model, workdir / "fit")
run_simulate(workdir / "study.toml", workdir / "fit", market_path, workdir / "simulate")
run_recommend(workdir / "study.toml", workdir / "fit", market_path, workdir / "recommend")
report = run_report(workdir)
report.workbook

# %%
from openpyxl import load_workbook

load_workbook(report.workbook, read_only=True).sheetnames

# %%
from reports.plots import plot_importances

plot_importances(importances(model))
