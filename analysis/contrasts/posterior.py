"""Posterior contrasts between two waves: part-worths, importances, WTP, reasons for leaving.

The draws of wave B minus the draws of wave A, paired at random (:func:`pair_draws`), summarised
by :func:`contrast_table` as each wave's estimate, the mean difference, its equal-tailed band,
the probability of a rise and a verdict in words; and that table for the population mean
part-worths, the attribute importances, the willingness to pay and the shares of reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.contrasts.levels import LevelMapping
from analysis.results import importance_draws, wtp_median_draws
from analysis.results._common import importance_names
from winback.errors import WinbackError, list_valid
from winback.settings import BAND, check_band

if TYPE_CHECKING:
    from analysis.model import HBModel

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
    band: float = BAND,
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
    band : float
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
    band = check_band(band)
    a = np.asarray(draws_a, dtype=float).reshape(len(draws_a), -1)
    b = np.asarray(draws_b, dtype=float).reshape(len(draws_b), -1)
    if a.shape[1] != len(keys) or b.shape[1] != len(keys):
        raise ValueError(f"draws {a.shape}, {b.shape} do not match {len(keys)} key rows")
    pa, pb = pair_draws(a, b, random_seed=random_seed)
    d = pb - pa
    q = (1 - band) / 2
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
    band: float = BAND,
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
        band=band,
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
    band: float = BAND,
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

    def avg(model: HBModel) -> np.ndarray:
        imp = importance_draws(model).to_numpy()
        return np.nanmean(imp.reshape(-1, imp.shape[2], imp.shape[3]), axis=1)

    ia, ib = avg(model_a), avg(model_b)
    in_a = importance_names(model_a.study)
    names = [n for n in importance_names(model_b.study) if n in in_a]  # labels: both labelled
    order_a = [in_a.index(n) for n in names]
    order_b = [importance_names(model_b.study).index(n) for n in names]
    keys = pd.DataFrame({"attribute": names})
    return contrast_table(
        keys,
        ia[:, order_a],
        ib[:, order_b],
        band=band,
        random_seed=random_seed,
        wave_a=mapping.wave_a,
        wave_b=mapping.wave_b,
    )


def wtp_contrasts(
    model_a: HBModel,
    model_b: HBModel,
    mapping: LevelMapping,
    *,
    band: float = BAND,
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
        band=band,
        random_seed=random_seed,
        wave_a=mapping.wave_a,
        wave_b=mapping.wave_b,
    )


def reason_contrasts(
    reasons_a: pd.DataFrame,
    reasons_b: pd.DataFrame,
    *,
    band: float = BAND,
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
        keys, da, db, band=band, random_seed=random_seed, wave_a=wave_a, wave_b=wave_b
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
