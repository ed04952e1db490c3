"""Survey waves: map levels across waves and contrast two waves' posteriors.

Two waves are independent samples of lost customers, fitted separately (the later one perhaps
with the earlier one's population posterior as its prior). How a quantity moved between wave A
and wave B is its **posterior contrast**: the draws of wave B minus the draws of wave A. The two
posteriors are independent, so any pairing of their draws is a draw of the joint posterior;
winback shuffles each wave's draws (seeded) and pairs them one to one, recycling the shorter
set when the waves have different numbers of draws. Each contrast is reported as the posterior
mean in each wave, the mean difference, its equal-tailed band, the posterior probability that
the quantity rose (``prob_increase``) and a verdict in words: "rose" or "fell" when the band
excludes zero, else "no clear change".

Everything here is pure: fitted models, tables and markets in, tidy DataFrames out. The study
folder, files and the command line are in :mod:`winback.waves`.

Examples
--------
>>> from analysis.waves import map_levels, partworth_contrasts
>>> mapping = map_levels(model_a.study, model_b.study, wave_a="w1", wave_b="w2")  # doctest: +SKIP
>>> partworth_contrasts(model_a, model_b, mapping)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from conjoint.encoding import parameter_names
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel
    from analysis.simulator import Market, PartWorthDraws

ROSE = "rose"
FELL = "fell"
NO_CHANGE = "no clear change"

#: the columns every contrast table ends with
CONTRAST_COLUMNS = (
    "estimate_a",
    "estimate_b",
    "difference",
    "lower",
    "upper",
    "prob_increase",
    "verdict",
)

#: how the level map says "this level was dropped in the later wave"
DROPPED = ""


# --------------------------------------------------------------------------------------------
# Level mapping
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelMapping:
    """How the levels of wave A's study correspond to wave B's.

    Attributes
    ----------
    wave_a, wave_b : str
    levels : mapping
        For every part-worth attribute: wave A's label -> wave B's label (``None``: the level
        was dropped in wave B).
    parameters : mapping
        Wave A's parameter name -> wave B's, for every parameter both waves have.
    renamed : tuple of (attribute, label in A, label in B)
    dropped : tuple of (attribute, label in A)
        Non-reference levels of wave A that wave B no longer has (left out of the contrasts).
    """

    wave_a: str
    wave_b: str
    levels: Mapping[str, Mapping[str, str | None]]
    parameters: Mapping[str, str]
    renamed: tuple[tuple[str, str, str], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()

    @property
    def complete(self) -> bool:
        """True when every parameter of either wave has a counterpart in the other."""
        return not self.dropped

    def label(self, attribute: str, label_a: str) -> str | None:
        """Wave B's label of wave A's level (unchanged for attributes without a mapping)."""
        table = self.levels.get(attribute)
        if table is None:
            return label_a
        return table.get(label_a, label_a)

    def __repr__(self) -> str:
        lines = [f"LevelMapping {self.wave_a} -> {self.wave_b}: {len(self.parameters)} parameters"]
        lines += [f"  renamed: {a} '{old}' -> '{new}'" for a, old, new in self.renamed]
        lines += [f"  dropped in {self.wave_b}: {a} '{old}'" for a, old in self.dropped]
        if not self.renamed and not self.dropped:
            lines.append("  the same levels in both waves")
        return "\n".join(lines)


def _follow(table: Mapping[str, str], label: str, targets: set[str]) -> str | None:
    """Follow a chain of renames (A -> B, B -> C, ...) until a label of ``targets``."""
    seen = {label}
    cur = label
    while cur in table:
        cur = table[cur]
        if cur == DROPPED or cur in targets:
            return cur
        if cur in seen:
            return None
        seen.add(cur)
    return None


def map_levels(
    study_a: Study,
    study_b: Study,
    level_map: Mapping[str, Mapping[str, str]] | None = None,
    *,
    wave_a: str = "A",
    wave_b: str = "B",
    source: str = "level_map.toml",
) -> LevelMapping:
    """Match wave A's levels to wave B's, by label, through an explicit map for renamed ones.

    A level with the same label in both waves is the same level. A level that only one wave
    has is an error unless ``level_map`` says what became of it: ``{attribute: {label in an
    earlier wave: label in a later wave}}`` (a chain of renames over several waves is
    followed), or ``""`` for a level dropped in the later wave (left out of comparisons). Both
    waves must have the same attributes, codings and reference levels (part-worths are
    relative to the reference level, so a changed reference changes every part-worth of the
    attribute). Linear attributes need no mapping (their tested values may change).

    Parameters
    ----------
    study_a, study_b : Study
        The earlier and the later wave's studies.
    level_map : mapping, optional
        ``{attribute: {old label: new label or ""}}`` (``level_map.toml``).
    wave_a, wave_b : str
        Wave names for messages.
    source : str
        Where the level map comes from, for messages.

    Returns
    -------
    LevelMapping

    Raises
    ------
    WinbackError
        Listing every unmatched level with the line to add to the level map.

    Examples
    --------
    >>> from analysis.waves import map_levels
    >>> m = map_levels(study_w1, study_w2, {"support": {"24/7": "24/7 priority"}})  # doctest: +SKIP
    >>> m.renamed  # doctest: +SKIP
    (('support', '24/7', '24/7 priority'),)
    """
    level_map = {str(k): dict(v) for k, v in (level_map or {}).items()}
    problems: list[str] = []
    names_a, names_b = study_a.attribute_names, study_b.attribute_names
    for name in level_map:
        if name not in names_a and name not in names_b:
            problems.append(
                f"{source}: [{name}] is not an attribute of wave {wave_a} or {wave_b}."
                + did_you_mean(name, names_b)
                + f" Attributes: {list_valid(names_b)}."
            )
    only_a = [n for n in names_a if n not in names_b]
    only_b = [n for n in names_b if n not in names_a]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"only wave {wave_a} has attribute(s) {list_valid(only_a)}")
        if only_b:
            parts.append(f"only wave {wave_b} has attribute(s) {list_valid(only_b)}")
        problems.append(
            "; ".join(parts) + ": waves can only be compared (or used as priors) over the same "
            "attributes; rename the attribute back in the later wave's study.toml."
        )
    levels: dict[str, dict[str, str | None]] = {}
    renamed: list[tuple[str, str, str]] = []
    dropped: list[tuple[str, str]] = []
    for name in [n for n in names_a if n in names_b]:
        a, b = study_a.attribute(name), study_b.attribute(name)
        if a.coding != b.coding:
            problems.append(
                f"attribute '{name}' is coded {a.coding} in wave {wave_a} and {b.coding} in wave "
                f"{wave_b}; use the same coding in both study files."
            )
            continue
        if a.coding == "linear":
            continue
        labels_a, labels_b = a.level_labels(), b.level_labels()
        targets = set(labels_b)
        table = {str(k): str(v) for k, v in level_map.get(name, {}).items()}
        own: dict[str, str | None] = {}
        for lab in labels_a:
            if lab in targets:
                own[lab] = lab
                continue
            new = _follow(table, lab, targets)
            if new is None:
                unmatched_b = [x for x in labels_b if x not in labels_a]
                hint = (
                    f'"{lab}" = "{unmatched_b[0]}"' if len(unmatched_b) == 1 else f'"{lab}" = "NEW"'
                )
                problems.append(
                    f"level '{lab}' of attribute '{name}' is in wave {wave_a} but not in wave "
                    f"{wave_b} (levels there: {list_valid(labels_b)}). If it was renamed, add "
                    f'to {source}: [{name}] {hint}; if it was dropped: [{name}] "{lab}" = "".'
                )
                continue
            if new == DROPPED:
                own[lab] = None
                dropped.append((name, lab))
            else:
                own[lab] = new
                renamed.append((name, lab, new))
        hit = {v for v in own.values() if v is not None}
        for lab in labels_b:
            if lab not in hit:
                missing_a = [x for x in labels_a if x not in own]
                old = missing_a[0] if len(missing_a) == 1 else "OLD"
                problems.append(
                    f"level '{lab}' of attribute '{name}' is in wave {wave_b} but not in wave "
                    f"{wave_a} (levels there: {list_valid(labels_a)}). If it is a renamed level, "
                    f'add to {source}: [{name}] "{old}" = "{lab}"; a new level cannot be '
                    "compared with an earlier wave."
                )
        counts: dict[str, list[str]] = {}
        for old, new in own.items():
            if new is not None:
                counts.setdefault(new, []).append(old)
        for new, olds in counts.items():
            if len(olds) > 1:
                problems.append(
                    f"levels {list_valid(olds)} of attribute '{name}' in wave {wave_a} all map "
                    f"to '{new}' in wave {wave_b}; a level can map to one level only."
                )
        if labels_a and labels_b and own.get(labels_a[0], labels_a[0]) != labels_b[0]:
            problems.append(
                f"the reference (first) level of attribute '{name}' is '{labels_a[0]}' in wave "
                f"{wave_a} but '{labels_b[0]}' in wave {wave_b}: part-worths are relative to "
                "the reference level, so list the same level first in both study files."
            )
        levels[name] = own
    for const, has_a, has_b in (
        ("none", study_a.has_none, study_b.has_none),
        ("status_quo", study_a.status_quo is not None, study_b.status_quo is not None),
    ):
        if has_a != has_b:
            problems.append(
                f"wave {wave_a} {'has' if has_a else 'has no'} {const} alternative, wave "
                f"{wave_b} {'has' if has_b else 'has no'}: the waves' choice tasks differ."
            )
    if problems:
        head = f"waves {wave_a} and {wave_b} do not map onto each other"
        raise WinbackError(head + ":\n" + "\n".join(f"  - {p}" for p in problems))
    params: dict[str, str] = {}
    pb = set(parameter_names(study_b))
    for p in parameter_names(study_a):
        if "[" in p and p.endswith("]"):
            attr, lab = p[:-1].split("[", 1)
            new = levels.get(attr, {}).get(lab, lab)
            if new is None:
                continue
            q = f"{attr}[{new}]"
        else:
            q = p
        if q in pb:
            params[p] = q
    return LevelMapping(wave_a, wave_b, levels, params, tuple(renamed), tuple(dropped))


def relabel_prior(model: HBModel, mapping: LevelMapping, study: Study) -> HBModel:
    """An earlier wave's fit in the later wave's labels and parameter order, to be passed as
    ``analysis.fit(..., prior=...)``.

    It carries what the prior needs (the posterior of the population mean and the scale of the
    design columns), not a complete fit: use it as a prior only.

    Raises
    ------
    WinbackError
        When a level was dropped or added: the prior then has other parameters than the fit.

    Examples
    --------
    >>> prior = relabel_prior(model_w1, map_levels(model_w1.study, study_w2), study_w2)  # doctest: +SKIP
    >>> fit(data_w2, prior=prior, prior_widen=2.0)  # doctest: +SKIP
    """
    names_b = parameter_names(study)
    inverse = {v: k for k, v in mapping.parameters.items()}
    missing = [n for n in names_b if n not in inverse]
    extra = [n for n in model.names if n not in mapping.parameters]
    if missing or extra:
        raise WinbackError(
            f"wave {mapping.wave_a}'s fit cannot be the prior of wave {mapping.wave_b}: the "
            "parameters differ"
            + (f"; only in {mapping.wave_b}: {list_valid(missing)}" if missing else "")
            + (f"; only in {mapping.wave_a}: {list_valid(extra)}" if extra else "")
            + ". Fit without a prior, or map every level in level_map.toml."
        )
    renamed = [k for k in model.settings.constraints if inverse.get(k, k) != k]
    if renamed:
        raise WinbackError(
            f"constrained parameter(s) {list_valid(renamed)} were renamed: fit without a prior."
        )
    if list(model.names) == names_b:
        return model
    order = [model.names.index(inverse[n]) for n in names_b]
    arrays = replace(model.arrays_, x=model.arrays_.x[..., order], names=tuple(names_b))
    post = model.idata_["posterior"].to_dataset()
    keep = {}
    for var in ("mu_scaled", "mu"):
        if var in post:
            da = post[var].isel(parameter=order)
            keep[var] = da.assign_coords(parameter=names_b)
    import xarray as xr

    idata = xr.DataTree.from_dict({"/posterior": xr.Dataset(keep)})
    return replace(model, study=study, arrays_=arrays, idata_=idata)


# --------------------------------------------------------------------------------------------
# Contrasts
# --------------------------------------------------------------------------------------------


def pair_draws(
    a: np.ndarray, b: np.ndarray, *, random_seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Pair the draws (first axis) of two independent posteriors.

    Each set is shuffled; the shorter one is recycled to the longer one's length. Any pairing
    of independent posteriors' draws is a draw of their joint posterior.

    Examples
    --------
    >>> a, b = pair_draws(np.zeros((100, 2)), np.ones((150, 2)))
    >>> a.shape, b.shape
    ((150, 2), (150, 2))
    """
    rng = np.random.default_rng(random_seed)
    n = max(len(a), len(b))
    ia = rng.permutation(np.resize(np.arange(len(a)), n))
    ib = rng.permutation(np.resize(np.arange(len(b)), n))
    return np.asarray(a)[ia], np.asarray(b)[ib]


def verdict(lower: float, upper: float) -> str:
    """Verdict in words: "rose" when the band of the difference is above zero, "fell" below, else no change."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return NO_CHANGE
    if lower > 0:
        return ROSE
    if upper < 0:
        return FELL
    return NO_CHANGE


def contrast_table(
    keys: pd.DataFrame,
    draws_a: np.ndarray,
    draws_b: np.ndarray,
    *,
    interval: float = 0.9,
    random_seed: int = 1,
    wave_a: str = "A",
    wave_b: str = "B",
) -> pd.DataFrame:
    """The contrast of every column of two draw arrays (sample, quantity).

    A column that is all NaN in one wave (the quantity only exists in the other) gets that
    wave's estimate only and the verdict "only in wave ...". NaN draws (e.g. a WTP draw with
    no negative price slope) are left out of that quantity's summaries.

    Parameters
    ----------
    keys : DataFrame
        One row per quantity (its labels); the contrast columns are added to a copy.
    draws_a, draws_b : ndarray, shape (sample, quantity)
    interval : float
        Probability of the equal-tailed band of the difference (0.9: 5% and 95% quantiles).
    random_seed : int
        For the pairing of draws (:func:`pair_draws`).

    Returns
    -------
    DataFrame
        ``wave_a, wave_b``, the key columns, then ``estimate_a, estimate_b, difference,
        lower, upper, prob_increase, verdict``.

    Examples
    --------
    >>> keys = pd.DataFrame({"parameter": ["price"]})
    >>> rng = np.random.default_rng(0)
    >>> t = contrast_table(keys, rng.normal(-1, 0.1, (500, 1)), rng.normal(-1.5, 0.1, (500, 1)))
    >>> t.loc[0, "verdict"]
    'fell'
    """
    if not 0 < interval < 1:
        raise WinbackError(f"interval must be between 0 and 1, got {interval}.")
    a = np.asarray(draws_a, dtype=float).reshape(len(draws_a), -1)
    b = np.asarray(draws_b, dtype=float).reshape(len(draws_b), -1)
    if a.shape[1] != len(keys) or b.shape[1] != len(keys):
        raise ValueError(f"draws {a.shape}, {b.shape} do not match {len(keys)} key rows")
    pa, pb = pair_draws(a, b, random_seed=random_seed)
    d = pb - pa
    q = (1 - interval) / 2
    rows: dict[str, list[Any]] = {c: [] for c in CONTRAST_COLUMNS}
    for j in range(len(keys)):
        has_a, has_b = bool(np.isfinite(a[:, j]).any()), bool(np.isfinite(b[:, j]).any())
        rows["estimate_a"].append(float(np.nanmean(a[:, j])) if has_a else np.nan)
        rows["estimate_b"].append(float(np.nanmean(b[:, j])) if has_b else np.nan)
        dj = d[:, j][np.isfinite(d[:, j])]
        if has_a and has_b and len(dj):
            lo, hi = np.quantile(dj, [q, 1 - q])
            rows["difference"].append(float(dj.mean()))
            rows["lower"].append(float(lo))
            rows["upper"].append(float(hi))
            rows["prob_increase"].append(float((dj > 0).mean()))
            rows["verdict"].append(verdict(lo, hi))
        else:
            for c in ("difference", "lower", "upper", "prob_increase"):
                rows[c].append(np.nan)
            rows["verdict"].append(
                f"only in wave {wave_a}" if has_a else (f"only in wave {wave_b}" if has_b else "")
            )
    out = keys.reset_index(drop=True).copy()
    out.insert(0, "wave_a", wave_a)
    out.insert(1, "wave_b", wave_b)
    for c in CONTRAST_COLUMNS:
        out[c] = rows[c]
    return out


def _split(name: str) -> tuple[str, str]:
    if "[" in name and name.endswith("]"):
        attr, lab = name[:-1].split("[", 1)
        return attr, lab
    return name, "slope per unit" if name not in ("none", "status_quo") else name


def _mu(model: HBModel) -> np.ndarray:
    post = model.idata_["posterior"]
    return post["mu"].to_numpy().reshape(-1, len(model.names))


def _sensitivity_note(table: pd.DataFrame, price: str | None) -> pd.DataFrame:
    """Say in words what a moved price slope means."""
    if price is None:
        return table
    rows = table["parameter"] == price
    table.loc[rows & (table["verdict"] == FELL), "verdict"] = "fell: more price-sensitive"
    table.loc[rows & (table["verdict"] == ROSE), "verdict"] = "rose: less price-sensitive"
    return table


def partworth_contrasts(
    model_a: HBModel,
    model_b: HBModel,
    mapping: LevelMapping,
    *,
    interval: float = 0.9,
    random_seed: int = 1,
) -> pd.DataFrame:
    """How the population mean part-worths moved from wave A to wave B.

    The population mean ``mu`` of every parameter (non-reference levels relative to their
    attribute's reference level, a linear attribute's slope per unit, the none constant), in
    wave B's labels. A level dropped in wave B is listed with wave A's estimate only.

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, parameter, attribute, level`` and the contrast columns
        (:func:`contrast_table`).

    Examples
    --------
    >>> partworth_contrasts(model_w1, model_w2, mapping)  # doctest: +SKIP
    """
    mu_a, mu_b = _mu(model_a), _mu(model_b)
    names_b = list(model_b.names)
    inverse = {v: k for k, v in mapping.parameters.items()}
    extra = [n for n in model_a.names if n not in mapping.parameters]
    rows = names_b + extra
    a = np.full((len(mu_a), len(rows)), np.nan)
    b = np.full((len(mu_b), len(rows)), np.nan)
    for j, n in enumerate(names_b):
        b[:, j] = mu_b[:, j]
        if n in inverse:
            a[:, j] = mu_a[:, model_a.names.index(inverse[n])]
    for j, n in enumerate(extra, start=len(names_b)):
        a[:, j] = mu_a[:, model_a.names.index(n)]
    attrs, levels = zip(*(_split(n) for n in rows), strict=True)
    labels = list(rows)
    for j, n in enumerate(extra, start=len(names_b)):
        labels[j] = n  # wave A's own name
    keys = pd.DataFrame({"parameter": labels, "attribute": attrs, "level": levels})
    out = contrast_table(
        keys,
        a,
        b,
        interval=interval,
        random_seed=random_seed,
        wave_a=mapping.wave_a,
        wave_b=mapping.wave_b,
    )
    return _sensitivity_note(out, model_b.study.price_attribute)


def importance_contrasts(
    model_a: HBModel,
    model_b: HBModel,
    mapping: LevelMapping,
    *,
    interval: float = 0.9,
    random_seed: int = 1,
) -> pd.DataFrame:
    """How attribute importances (percent) moved from wave A to wave B.

    Per posterior draw, the respondents' importances averaged (as in
    :func:`analysis.importances`), in each wave; then their contrast.

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, attribute`` and the contrast columns (percentage points).

    Examples
    --------
    >>> importance_contrasts(model_w1, model_w2, mapping)  # doctest: +SKIP
    """
    from analysis.results import importance_draws

    def avg(model: HBModel) -> np.ndarray:
        imp = importance_draws(model).to_numpy()
        return np.nanmean(imp.reshape(-1, imp.shape[2], imp.shape[3]), axis=1)

    ia, ib = avg(model_a), avg(model_b)
    names = model_b.study.attribute_names
    order_a = [model_a.study.attribute_names.index(n) for n in names]
    keys = pd.DataFrame({"attribute": names})
    return contrast_table(
        keys,
        ia[:, order_a],
        ib,
        interval=interval,
        random_seed=random_seed,
        wave_a=mapping.wave_a,
        wave_b=mapping.wave_b,
    )


def wtp_contrasts(
    model_a: HBModel,
    model_b: HBModel,
    mapping: LevelMapping,
    *,
    interval: float = 0.9,
    random_seed: int = 1,
) -> pd.DataFrame:
    """How willingness to pay moved from wave A to wave B.

    Per draw, the median across respondents of ``-(part-worth of the level - part-worth of
    the reference) / price slope`` (as :func:`analysis.willingness_to_pay`), in each wave;
    then their contrast, in price units. WTP is free of the logit scale, so unlike part-worths
    it cannot move merely because one wave answered more consistently. Levels are matched in
    wave B's labels; an empty table when the study has no linear price attribute.

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, attribute, level, reference, unit`` and the contrast columns.

    Examples
    --------
    >>> wtp_contrasts(model_w1, model_w2, mapping)  # doctest: +SKIP
    """
    from analysis.results import wtp_median_draws

    study = model_b.study
    pa = study.price_attribute
    if pa is None or study.attribute(pa).coding != "linear":
        return pd.DataFrame(
            columns=[
                "wave_a",
                "wave_b",
                "attribute",
                "level",
                "reference",
                "unit",
                *CONTRAST_COLUMNS,
            ]
        )
    da, db = wtp_median_draws(model_a), wtp_median_draws(model_b)
    va = da.to_numpy().reshape(-1, da.sizes["level"])
    vb = db.to_numpy().reshape(-1, db.sizes["level"])

    def keyed(d: Any, label: Any) -> dict[tuple[str, str, str], int]:
        out: dict[tuple[str, str, str], int] = {}
        triples = zip(
            d["attribute"].to_numpy(), d["label"].to_numpy(), d["reference"].to_numpy(), strict=True
        )
        for j, (attr, lab, ref) in enumerate(triples):
            new, new_ref = label(str(attr), str(lab)), label(str(attr), str(ref))
            if new is not None and new_ref is not None:
                out[(str(attr), new, new_ref)] = j
        return out

    kb = keyed(db, lambda attr, lab: lab)
    ka = keyed(da, mapping.label)
    rows = list(kb) + [k for k in ka if k not in kb]
    a = np.full((len(va), len(rows)), np.nan)
    b = np.full((len(vb), len(rows)), np.nan)
    for j, k in enumerate(rows):
        if k in kb:
            b[:, j] = vb[:, kb[k]]
        if k in ka:
            a[:, j] = va[:, ka[k]]
    keys = pd.DataFrame(
        {
            "attribute": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "reference": [r[2] for r in rows],
            "unit": study.attribute(pa).unit or study.currency,
        }
    )
    return contrast_table(
        keys,
        a,
        b,
        interval=interval,
        random_seed=random_seed,
        wave_a=mapping.wave_a,
        wave_b=mapping.wave_b,
    )


def reason_contrasts(
    reasons_a: pd.DataFrame,
    reasons_b: pd.DataFrame,
    *,
    interval: float = 0.9,
    n_draws: int = 4000,
    random_seed: int = 1,
    wave_a: str = "A",
    wave_b: str = "B",
) -> pd.DataFrame:
    """How the shares of reasons for leaving moved from wave A to wave B.

    Each wave's share of a reason (all that apply: ``n_selected`` of ``n`` respondents, as in
    ``import/reasons.csv``) has the Beta(n_selected + 1/2, n - n_selected + 1/2) posterior
    (Jeffreys prior); the contrast is the difference of independent draws. A reason asked in one
    wave only is listed with that wave's share.

    Parameters
    ----------
    reasons_a, reasons_b : DataFrame
        ``reason, label, n_selected, n`` (``surveys.summarize_reasons(...).shares``).

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, reason, label, n_a, n_b`` and the contrast columns (shares 0-1).

    Examples
    --------
    >>> reason_contrasts(why_w1.shares, why_w2.shares, wave_a="w1", wave_b="w2")  # doctest: +SKIP
    """
    need = ("reason", "label", "n_selected", "n")
    for name, t in ((wave_a, reasons_a), (wave_b, reasons_b)):
        missing = [c for c in need if c not in t.columns]
        if missing:
            raise WinbackError(
                f"the reasons table of wave {name} lacks column(s) {list_valid(missing)}; "
                f"expected {list_valid(need)} (import/reasons.csv)."
            )
    ta = reasons_a.set_index(reasons_a["reason"].astype(str))
    tb = reasons_b.set_index(reasons_b["reason"].astype(str))
    codes = list(tb.index) + [c for c in ta.index if c not in tb.index]
    rng = np.random.default_rng(random_seed)

    def beta(t: pd.DataFrame) -> np.ndarray:
        out = np.full((n_draws, len(codes)), np.nan)
        for j, c in enumerate(codes):
            if c in t.index:
                k, n = float(t.at[c, "n_selected"]), float(t.at[c, "n"])
                if n > 0:
                    out[:, j] = rng.beta(k + 0.5, n - k + 0.5, size=n_draws)
        return out

    da, db = beta(ta), beta(tb)
    label = [str(tb.at[c, "label"]) if c in tb.index else str(ta.at[c, "label"]) for c in codes]
    keys = pd.DataFrame(
        {
            "reason": codes,
            "label": label,
            "n_a": [int(ta.at[c, "n"]) if c in ta.index else 0 for c in codes],
            "n_b": [int(tb.at[c, "n"]) if c in tb.index else 0 for c in codes],
        }
    )
    out = contrast_table(
        keys, da, db, interval=interval, random_seed=random_seed, wave_a=wave_a, wave_b=wave_b
    )
    # the posterior mean of a share is (k + 1/2) / (n + 1); the observed share is clearer
    for col, t in (("estimate_a", ta), ("estimate_b", tb)):
        out[col] = [
            float(t.at[c, "n_selected"]) / float(t.at[c, "n"])
            if c in t.index and float(t.at[c, "n"]) > 0
            else np.nan
            for c in codes
        ]
    return out


# --------------------------------------------------------------------------------------------
# The recommended offer
# --------------------------------------------------------------------------------------------


def relabel_draws(model_a: HBModel, mapping: LevelMapping, study_b: Study) -> PartWorthDraws:
    """Wave A's individual part-worth draws in wave B's study (labels and parameter order), to
    simulate wave A's customers in wave B's market.

    A level new in wave B has no part-worth in wave A: an error (map it in level_map.toml).

    Examples
    --------
    >>> draws_w1 = relabel_draws(model_w1, mapping, model_w2.study)  # doctest: +SKIP
    """
    from analysis.simulator import PartWorthDraws

    names_b = parameter_names(study_b)
    inverse = {v: k for k, v in mapping.parameters.items()}
    missing = [n for n in names_b if n not in inverse]
    if missing:
        raise WinbackError(
            f"wave {mapping.wave_a} has no part-worths for {list_valid(missing)} of wave "
            f"{mapping.wave_b}; map them in level_map.toml."
        )
    b = model_a.beta_draws()
    flat = b.reshape(-1, b.shape[2], b.shape[3])
    order = [model_a.names.index(inverse[n]) for n in names_b]
    resp = model_a.dataset_.respondents
    respondents = None
    if resp is not None and "respondent_id" in resp.columns:
        respondents = resp.set_index(resp["respondent_id"].astype(str))
    return PartWorthDraws(
        study_b, tuple(names_b), flat[..., order], tuple(model_a.respondent_ids), respondents
    )


@dataclass(frozen=True)
class Offer:
    """A named offer: one level per attribute (wave B's labels)."""

    name: str
    levels: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, study: Study) -> str:
        return ", ".join(f"{a.name} {format_level(self.levels[a.name])}" for a in study.attributes)


def offer_from_row(row: Mapping[str, Any], study: Study, name: str) -> Offer:
    """An offer from a row of ``recommend/offers.csv`` (one column per attribute)."""
    levels: dict[str, Any] = {}
    missing = [a.name for a in study.attributes if a.name not in row]
    if missing:
        raise WinbackError(
            f"the offers table lacks attribute column(s) {list_valid(missing)} (offers.csv)."
        )
    for a in study.attributes:
        v = row[a.name]
        levels[a.name] = float(v) if a.numeric else str(v)
    return Offer(name, levels)


def map_offer(offer: Offer, mapping: LevelMapping) -> Offer:
    """Wave A's offer in wave B's labels (an error if it uses a level dropped in wave B)."""
    out: dict[str, Any] = {}
    for attr, v in offer.levels.items():
        if isinstance(v, float):
            out[attr] = v
            continue
        new = mapping.label(attr, str(v))
        if new is None:
            raise WinbackError(
                f"{offer.name} has {attr} '{v}', a level wave {mapping.wave_b} no longer has: "
                "it cannot be simulated in the later wave."
            )
        out[attr] = new
    return Offer(offer.name, out)


def offer_contrasts(
    draws_a: PartWorthDraws,
    draws_b: PartWorthDraws,
    market: Market,
    offers: Sequence[Offer],
    *,
    product: str | None = None,
    interval: float = 0.9,
    random_seed: int = 1,
    wave_a: str = "A",
    wave_b: str = "B",
) -> pd.DataFrame:
    """Each offer's share, revenue and profit among wave A's and wave B's lost customers.

    The offer replaces our product in ``market`` (both waves in the same market, so that only
    the customers' preferences differ), and is simulated for every posterior draw of each
    wave; the contrast is the difference of the two waves' draws.

    Parameters
    ----------
    draws_a, draws_b : PartWorthDraws
        Both in the same study (wave B's: :func:`relabel_draws`).
    market : Market
    offers : sequence of Offer
    product : str, optional
        The own product the offers replace (default: the market's only own product).

    Returns
    -------
    DataFrame
        ``wave_a, wave_b, offer, levels, measure (share | revenue | profit)`` and the contrast
        columns.

    Examples
    --------
    >>> offer_contrasts(draws_w1, draws_w2, market, [best_w1, best_w2])  # doctest: +SKIP
    """
    from analysis.offers import own_product, simulation_objective
    from analysis.simulator import Product, simulate

    study = draws_b.study
    current = own_product(market, product)
    measures = ["share", "revenue", "profit"] if study.price_attribute is not None else ["share"]
    if study.costs is None and "profit" in measures:
        measures.remove("profit")
    keys: list[dict[str, Any]] = []
    cols_a: list[np.ndarray] = []
    cols_b: list[np.ndarray] = []
    for offer in offers:
        m = market.with_product(
            Product(current.name, dict(offer.levels), own=True, status_quo=current.status_quo)
        )
        res = []
        for draws in (draws_a, draws_b):
            sim = simulate(draws, m, interval=interval, random_seed=random_seed)
            res.append(simulation_objective(sim, study, m.extrapolate))
        for meas in measures:
            keys.append({"offer": offer.name, "levels": offer.describe(study), "measure": meas})
            cols_a.append(res[0][meas])
            cols_b.append(res[1][meas])
    return contrast_table(
        pd.DataFrame(keys, columns=["offer", "levels", "measure"]),
        np.column_stack(cols_a) if cols_a else np.empty((1, 0)),
        np.column_stack(cols_b) if cols_b else np.empty((1, 0)),
        interval=interval,
        random_seed=random_seed,
        wave_a=wave_a,
        wave_b=wave_b,
    )
