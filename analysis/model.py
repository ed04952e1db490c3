"""``analysis.fit``: HB part-worths for a ChoiceDataset, and the fitted-model object."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis._progress import check_progress
from analysis.data import ChoiceArrays, _hint, prepare_choice_data, respondent_covariates
from analysis.hb import Constraint, HBFit, HBSettings, constraint_plan, fit_arrays, require_jax
from conjoint.encoding import label_parameter, parameter_names
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, list_valid
from winback.study import Study, format_level
from winback.study.labels import LABEL

log = logging.getLogger("winback")


@dataclass
class HBModel:
    """A fitted hierarchical Bayes MNL for a study.

    Attributes
    ----------
    study : Study
    settings : HBSettings
    dataset_ : ChoiceDataset
        The data it was fitted to (exclusions applied).
    arrays_ : ChoiceArrays
        The estimation observations.
    idata_ : xarray.DataTree
        Posterior with ``beta`` (chain, draw, respondent, parameter) on the original scale,
        ``mu``, ``sd``, ``corr``; sample statistics.
    seconds_ : float
        Build + compile + sampling time.
    """

    study: Study
    settings: HBSettings
    dataset_: ChoiceDataset
    arrays_: ChoiceArrays
    idata_: Any
    seconds_: float

    @property
    def names(self) -> list[str]:
        return list(self.arrays_.names)

    @property
    def respondent_ids(self) -> list[str]:
        return list(self.arrays_.respondent_ids)

    def beta_draws(self) -> np.ndarray:
        """Individual part-worth draws, (chain, draw, respondent, parameter), original scale.

        float64 after a fit, float32 after :func:`analysis.load_model` (fit files store them
        as float32 since 2026-12; older files as float64)."""
        return self.idata_["posterior"]["beta"].to_numpy()

    def beta_mean(self) -> pd.DataFrame:
        """Posterior mean part-worths: one row per respondent, one column per parameter."""
        b = self.beta_draws().mean(axis=(0, 1), dtype=np.float64)
        return pd.DataFrame(
            b, index=pd.Index(self.respondent_ids, name="respondent_id"), columns=self.names
        )

    def partworths(self) -> pd.DataFrame:
        """``respondent_id, attribute, level, utility`` (posterior mean) for every level.

        Part-worth attributes: the reference level is 0, others their coefficient. Numeric
        (linear) attributes: slope x value at each tested value, so that the utility of any
        profile is the sum of its levels' utilities. The none alternative is attribute ``none``,
        level ``none``; a status quo is attribute ``status_quo``, level ``status_quo``. A
        declared interaction adds one row per parameter (attribute ``price x plan``, level
        ``price x plan=Fibre``, its coefficient); the levels' utilities are then those at the
        reference level of the attributes they interact with, and a profile adds each
        interaction coefficient times the product of its two codes (see
        :mod:`conjoint.encoding`). A labelled design's constants are attribute ``label``, one
        row per label (the first, the reference, 0), before ``none``.
        """
        return partworth_table(self.study, self.beta_mean())

    def __repr__(self) -> str:
        post = self.idata_["posterior"]
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        stats = self.idata_["sample_stats"]
        div = int(stats["diverging"].sum()) if "diverging" in stats else 0
        st = self.settings
        extra = ""
        if st.constraints:
            extra += "  constraints: " + ", ".join(f"{k} {v}" for k, v in st.constraints.items())
            extra += "\n"
        if st.covariates:
            extra += f"  covariates: {list_valid(st.covariates)}\n"
        if st.prior_mean is not None:
            extra += "  prior: an earlier fit's population posterior\n"
        return (
            f"HBModel '{self.study.name}': {len(self.respondent_ids)} respondents, "
            f"{self.arrays_.n_obs} observations, {len(self.names)} parameters, "
            f"{st.covariance} covariance\n"
            f"  {n_chain} chains x {n_draw} draws ({st.sampler}), "
            f"{self.seconds_:.1f} s, {div} divergences\n"
            f"{extra}"
            "  next: analysis.convergence_report(model), model.partworths()"
        )


def partworth_table(study: Study, beta: pd.DataFrame) -> pd.DataFrame:
    """Long part-worth table from per-respondent coefficients (columns = parameter names)."""
    rows: list[pd.DataFrame] = []
    ids = beta.index.astype(str)
    for a in study.attributes:
        if a.coding == "linear":
            slope = beta[a.name].to_numpy()
            for v in a.levels:
                rows.append(
                    pd.DataFrame(
                        {
                            "respondent_id": ids,
                            "attribute": a.name,
                            "level": format_level(v),
                            "utility": slope * float(v),
                        }
                    )
                )
        else:
            for i, v in enumerate(a.levels):
                util = np.zeros(len(ids)) if i == 0 else beta[f"{a.name}[{format_level(v)}]"]
                rows.append(
                    pd.DataFrame(
                        {
                            "respondent_id": ids,
                            "attribute": a.name,
                            "level": format_level(v),
                            "utility": np.asarray(util, dtype=float),
                        }
                    )
                )
    by_name = {a.name: a for a in study.attributes}
    for inter in study.interactions:  # one row per interaction parameter, its coefficient
        for name in inter.column_names(by_name):
            rows.append(
                pd.DataFrame(
                    {
                        "respondent_id": ids,
                        "attribute": inter.name,
                        "level": name,
                        "utility": beta[name].to_numpy(dtype=float),
                    }
                )
            )
    for i, lab in enumerate(study.labels):  # a labelled design's constants; reference 0
        util = np.zeros(len(ids)) if i == 0 else beta[label_parameter(lab)].to_numpy(dtype=float)
        rows.append(
            pd.DataFrame({"respondent_id": ids, "attribute": LABEL, "level": lab, "utility": util})
        )
    for const in ("none", "status_quo"):
        if const in beta.columns:
            rows.append(
                pd.DataFrame(
                    {
                        "respondent_id": ids,
                        "attribute": const,
                        "level": const,
                        "utility": beta[const].to_numpy(dtype=float),
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    order = {r: i for i, r in enumerate(ids)}
    out = out.assign(_o=out["respondent_id"].map(order)).sort_values("_o", kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


#: the kinds of constraint ``fit(constraints={name: kind})`` and ``winback fit --constrain
#: name=kind`` take
CONSTRAINT_KINDS: tuple[Constraint, ...] = ("negative", "positive", "increasing", "decreasing")
#: the named sets ``fit(constraints=...)`` and ``winback fit --constraints`` take
CONSTRAINT_PRESETS = ("none", "price", "preferences")


def resolve_constraints(
    study: Study, constraints: str | Mapping[str, str] | None
) -> dict[str, Constraint]:
    """The exact constraints ``fit`` applies, checked against the study (no data needed).

    Parameters
    ----------
    study : Study
    constraints : None, "none", "price", "preferences" or mapping
        A mapping names an attribute or a parameter and its kind:

        - ``negative`` / ``positive``: one parameter: a linear attribute's slope
          (``price``), a constant (``none``), a level (``plan[Premium]``), or an attribute
          with one parameter (a two-level attribute).
        - ``increasing`` / ``decreasing``: an attribute's levels in the study file's order,
          each at least (at most) the one before, the reference included; on a linear
          attribute they mean a positive (negative) slope and are recorded so.

    Returns
    -------
    dict
        ``{parameter or attribute: kind}``, as ``model.settings.constraints`` records it.

    Raises
    ------
    WinbackError
        Every unknown name (with a "did you mean"), unknown kind, kind that does not apply
        and parameter constrained twice, in one message with the valid kinds and names.

    Examples
    --------
    >>> resolve_constraints(study, {"price": "negative", "speed": "increasing"})  # doctest: +SKIP
    {'price': 'negative', 'speed': 'increasing'}
    """
    if constraints is None or constraints == "none":
        return {}
    if isinstance(constraints, str):
        if constraints in ("price", "preferences"):
            return _preset(study, constraints)
        raise WinbackError(
            f"constraints must be None, {list_valid(repr(p) for p in CONSTRAINT_PRESETS)} or a "
            f"mapping {{attribute or parameter: kind}}, got {constraints!r}."
        )
    if not isinstance(constraints, Mapping):
        raise WinbackError(
            "constraints must be None, a name "
            f"({list_valid(CONSTRAINT_PRESETS)}) or a mapping {{attribute or parameter: kind}}, "
            f"got {type(constraints).__name__}."
        )
    names = parameter_names(study)
    attrs = {a.name: a for a in study.attributes}
    out: dict[str, Constraint] = {}
    problems: list[str] = []
    for raw_key, kind in constraints.items():
        key = str(raw_key)
        if kind not in CONSTRAINT_KINDS:
            problems.append(f"'{key}': unknown kind {kind!r}{_hint(str(kind), CONSTRAINT_KINDS)}")
            continue
        order = kind in ("increasing", "decreasing")
        target = key
        if key in attrs and attrs[key].coding == "linear":
            if order:  # the slope of a linear attribute: its values' order is its sign
                kind = "positive" if kind == "increasing" else "negative"
        elif key in attrs:
            params = [n for n in names if n.startswith(f"{key}[")]
            if not order and len(params) == 1:
                target = params[0]
            elif not order:
                problems.append(
                    f"'{key}': a sign constrains one parameter and '{key}' has {len(params)} "
                    f"({list_valid(params)}); name one (e.g. '{params[-1]}={kind}') or order "
                    "its levels (increasing, decreasing)"
                )
                continue
        elif key in names:
            if order:
                problems.append(
                    f"'{key}': increasing and decreasing order an attribute's levels; one "
                    "parameter takes negative or positive"
                )
                continue
        else:
            problems.append(
                f"'{key}': no such attribute or parameter{_hint(key, [*attrs, *names])}"
            )
            continue
        if target in out:
            problems.append(f"'{target}' is constrained twice")
            continue
        out[target] = kind  # type: ignore[assignment]
    if not problems:
        try:
            constraint_plan(names, out)
        except ValueError:
            problems.append(f"a parameter is constrained twice (by attribute and by level): {out}")
    if problems:
        raise WinbackError(
            "constraints: "
            + "; ".join(problems)
            + f". Valid kinds: {list_valid(CONSTRAINT_KINDS)}. Attributes: "
            + f"{list_valid(attrs)}; parameters: {list_valid(names)}."
        )
    return out


def _preset(study: Study, constraints: str) -> dict[str, Constraint]:
    out: dict[str, Constraint] = {}
    pa = study.price_attribute
    if constraints == "price" or pa is not None:
        if pa is None or study.attribute(pa).coding != "linear":
            raise WinbackError(
                f"constraints='{constraints}' needs a linear price attribute ([study] "
                "price_attribute)."
            )
        out[pa] = "negative"
    if constraints == "preferences":
        # the study's preference orders become exact order constraints
        for a in study.attributes:
            if a.preference is None or a.name == pa:
                continue
            if a.coding == "linear":
                out[a.name] = "positive" if a.preference == "increasing" else "negative"
            elif not a.numeric:
                out[a.name] = a.preference
    return out


def fit(
    dataset: ChoiceDataset,
    *,
    draws: int = 1000,
    tune: int = 500,
    chains: int = 4,
    random_seed: int = 1,
    covariance: str = "full",
    covariates: pd.DataFrame | Sequence[str] | None = None,
    constraints: str | Mapping[str, str] | None = None,
    prior: HBModel | None = None,
    prior_widen: float = 2.0,
    sampler: str = "nutpie",
    backend: str = "numba",
    progress: bool | str = False,
) -> HBModel:
    """Fit hierarchical Bayes part-worths (HB-MNL) to a ChoiceDataset.

    Parameters
    ----------
    dataset : ChoiceDataset
        Excluded respondents and holdout tasks are left out of estimation.
    draws, tune, chains : int
        Posterior draws and warm-up per chain (1000, 500, 4: the defaults of ``winback fit``
        too).
    random_seed : int
    covariance : {"full", "diagonal"}
        Full covariance of individual part-worths (LKJ-Cholesky) or independent normals.
    covariates : DataFrame or list of str, optional
        Respondent covariates in the population mean: a frame of numeric columns with
        ``respondent_id`` (e.g. ``surveys.reason_covariates(dataset)``), or names of
        respondent columns (numbers as they are, text as 0/1 indicators; see
        :func:`analysis.data.respondent_covariates`), as ``winback fit --covariates a,b``.
        ``model.settings.covariates`` records the columns used.
    constraints : None, "none", "price", "preferences" or mapping
        "price": the price slope can only be negative (exactly: -exp(theta));
        "preferences": also every attribute with a ``preference`` in the study file is ordered
        exactly (levels as cumulative sums of exp(theta)); a mapping ``{name: kind}`` for
        others, ``kind`` one of negative, positive (one parameter) or increasing, decreasing
        (an attribute's levels): see :func:`resolve_constraints`. As ``winback fit
        --constraints NAME`` or ``--constrain name=kind``.
    prior : HBModel, optional
        An earlier wave's fit: its population mean and covariance (widened by ``prior_widen``
        in standard deviation) become the prior of the population mean.
    sampler : {"nutpie", "pymc", "advi"}
        nutpie's NUTS (default), PyMC's own NUTS (fallback), or a quick ADVI preview
        (mean-field variational approximation: fast, but it understates uncertainty).
    backend : {"numba", "jax"}
        What nutpie compiles the model with: numba (default, fastest on a CPU) or JAX
        (``pip install "winback[jax]"``; for a GPU, see docs/analysis.md, "Backends"). The
        posterior is the same to Monte Carlo error. JAX needs ``sampler="nutpie"``.
    progress : bool or {"bar", "log"}
        False (default): nothing. True: the sampler's bar on a terminal or in a notebook,
        plain lines through the ``winback`` logger (INFO) otherwise, e.g. ``fit: chain 2 of 4,
        draw 500 of 1500 (warm-up), 12 s``; ``"bar"`` or ``"log"`` force either.

    Returns
    -------
    HBModel

    Examples
    --------
    >>> from analysis import fit
    >>> model = fit(dataset, random_seed=1)  # doctest: +SKIP
    >>> model.partworths().head()  # doctest: +SKIP
    """
    if covariance not in ("full", "diagonal"):
        raise WinbackError(f"covariance must be 'full' or 'diagonal', got {covariance!r}.")
    if sampler not in ("nutpie", "pymc", "advi"):
        raise WinbackError(f"sampler must be 'nutpie', 'pymc' or 'advi', got {sampler!r}.")
    if backend not in ("numba", "jax"):
        raise WinbackError(f"backend must be 'numba' or 'jax', got {backend!r}.")
    if backend == "jax":
        if sampler != "nutpie":
            raise WinbackError(
                f"backend 'jax' runs nutpie's sampler; sampler {sampler!r} needs backend 'numba'."
            )
        require_jax()
    for name, value, least in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise WinbackError(f"{name} must be a whole number of at least {least}, got {value!r}.")
    check_progress(progress)
    resolved = resolve_constraints(dataset.study, constraints)
    if isinstance(covariates, str):
        covariates = [covariates]
    if covariates is not None and not isinstance(covariates, pd.DataFrame):
        covariates = respondent_covariates(dataset, list(covariates)) if covariates else None
    arrays = prepare_choice_data(dataset, covariates=covariates)
    settings = HBSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=random_seed,
        covariance=covariance,  # type: ignore[arg-type]
        sampler=sampler,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        constraints=resolved,
        covariates=arrays.covariate_names,
        progress=progress,  # type: ignore[arg-type]
    )
    if prior is not None:
        if prior.names != list(arrays.names):
            raise WinbackError(
                f"the prior fit's parameters {list_valid(prior.names)} differ from this study's "
                f"{list_valid(arrays.names)}; map renamed levels first."
            )
        if dict(prior.settings.constraints) != dict(settings.constraints):
            raise WinbackError(
                f"the prior fit's constraints {dict(prior.settings.constraints)} differ from "
                f"this fit's {dict(settings.constraints)}; use the same constraints."
            )
        # the earlier population mean of theta, unscaled (constrained columns on the log
        # scale), and its posterior covariance widened by the stated factor
        post = prior.idata_["posterior"]
        prev_scale = prior.arrays_.column_scale()
        constrained = np.zeros(len(prev_scale), dtype=bool)
        for idx, _ in constraint_plan(prior.names, prior.settings.constraints):
            constrained[idx] = True
        theta = post["mu_scaled"].to_numpy().reshape(-1, len(prev_scale))
        theta = np.where(constrained, theta - np.log(prev_scale), theta / prev_scale)
        m0 = theta.mean(axis=0)
        c0 = np.atleast_2d(np.cov(theta, rowvar=False))
        settings = replace(settings, prior_mean=m0, prior_cov=c0 * prior_widen**2)
    log.info(
        "fitting HB-MNL: %d respondents, %d observations, %d parameters (%s covariance)",
        arrays.n_respondents,
        arrays.n_obs,
        arrays.n_parameters,
        covariance,
    )
    res: HBFit = fit_arrays(arrays, settings)
    return HBModel(dataset.study, settings, dataset, arrays, res.idata_, res.seconds_)
