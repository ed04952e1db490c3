# %% [markdown]
# # Survey wave report (parameterised)
#
# Runs one survey wave of a study folder through the whole winback pipeline and shows what
# changed since the previous wave. Run it for a study and wave with papermill:
#
# ```sh
# papermill notebooks/wave_template.ipynb wave-w2.ipynb -p STUDY_DIR my-study -p WAVE w2
# ```
#
# or open it in Jupyter and edit the parameters cell. The study folder holds `study.toml`,
# optionally `market.toml` and `design/`, and `waves/<wave>/responses.csv` (see
# `docs/waves.md`). A wave that already has results is shown, not rerun, unless `FORCE = True`:
# earlier results are never overwritten by accident.

# %% tags=parameters
STUDY_DIR = "winback-waves"  # the study folder
WAVE = ""  # the wave to run; "" = the last wave found under waves/
PRIOR_FROM = None  # None, "previous" or a wave id: that wave's population posterior as prior
PRIOR_WIDEN = 2.0  # widening of the prior's standard deviations
DRAWS, TUNE, CHAINS = 1000, 500, 4
SEED = 1
FORCE = False
MAKE_EXAMPLE = False  # write the simulated example study folder first (for a try-out)

# %%
from pathlib import Path

from winback.waves import compare_waves, list_waves, run_wave, waves_with_results

study_dir = Path(STUDY_DIR)
if MAKE_EXAMPLE and not (study_dir / "study.toml").exists():
    from winback.example import make_example_waves

    make_example_waves(study_dir, n_respondents=150)
waves = list_waves(study_dir)
wave = WAVE or waves[-1]
print(f"study folder {study_dir}: waves {waves}; this report: {wave}")

# %% [markdown]
# ## The wave's pipeline
#
# Import and quality flags, HB part-worths, the market simulator and the recommendations, into
# `waves/<wave>/results/` (built in a staging folder and renamed into place when complete).

# %%
results = study_dir / "waves" / wave / "results"
if FORCE or not results.exists():
    run = run_wave(
        study_dir,
        wave,
        force=FORCE,
        prior_from=PRIOR_FROM,
        prior_widen=PRIOR_WIDEN,
        draws=DRAWS,
        tune=TUNE,
        chains=CHAINS,
        random_seed=SEED,
    )
    print(run)
else:
    print(f"{results} exists: showing it (set FORCE = True to rerun)")

# %%
print((results / "import" / "reasons.txt").read_text("utf-8"))

# %%
print((results / "fit" / "convergence.txt").read_text("utf-8"))

# %%
import pandas as pd

pd.read_csv(results / "fit" / "importances.csv")

# %%
if (results / "recommend" / "recommend.txt").exists():
    print((results / "recommend" / "recommend.txt").read_text("utf-8"))

# %% [markdown]
# ## What changed since the previous wave
#
# Posterior contrasts (this wave minus the previous one) with 90% bands: part-worths,
# importances, willingness to pay, reasons for leaving and the recommended offer.

# %%
done = waves_with_results(study_dir)
earlier = [w for w in done if done.index(w) < done.index(wave)] if wave in done else []
if earlier:
    comparison = compare_waves(study_dir, [earlier[-1], wave], force=True)
    print(comparison)
else:
    comparison = None
    print("no earlier wave with results: nothing to compare yet")

# %%
comparison.tables["partworths"] if comparison is not None else None

# %% [markdown]
# ## The leadership workbook
#
# `waves/<wave>/results/report/winback_report.xlsx`: the summary for leadership, every table,
# native charts, a live simulator and, from the second wave on, the wave comparison.

# %%
sorted(p.name for p in (results / "report").glob("*")) if (results / "report").exists() else []
