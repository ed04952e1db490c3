"""Simulated respondents answering a design: for power checks, tests, docs and the demo."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign
from conjoint.encoding import make_encoding, parameter_names
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study


def _as_matrix(
    design: ChoiceDesign,
    part_worths: pd.DataFrame | pd.Series | Mapping[str, float] | np.ndarray,
    n_respondents: int | None,
    sd: float | Mapping[str, float] | None,
    rng: np.random.Generator,
) -> tuple[list[str], np.ndarray]:
    names = parameter_names(design.study)
    k = len(names)
    if isinstance(part_worths, pd.DataFrame):
        missing = [n for n in names if n not in part_worths.columns]
        if missing:
            raise WinbackError(
                f"part_worths lacks column(s) {list_valid(missing)}; needed: {list_valid(names)}."
            )
        extra = [c for c in part_worths.columns if c not in names]
        if extra:
            raise WinbackError(
                f"part_worths has unknown column(s) {list_valid(extra)}"
                f"{did_you_mean(extra[0], names)} Parameters: {list_valid(names)}."
            )
        if n_respondents is not None and n_respondents != len(part_worths):
            raise WinbackError(
                f"n_respondents={n_respondents} but part_worths has {len(part_worths)} rows "
                "(one per respondent); give one or the other."
            )
        ids = [str(i) for i in part_worths.index]
        return ids, part_worths[names].to_numpy(dtype=float)
    if isinstance(part_worths, np.ndarray):
        if part_worths.shape != (k,):
            raise WinbackError(f"part_worths array must have shape ({k},): {names}.")
        mean = part_worths.astype(float)
    else:
        pw = dict(part_worths)
        unknown = [n for n in pw if n not in names]
        if unknown:
            raise WinbackError(
                f"unknown parameter(s) {list_valid(unknown)}.{did_you_mean(unknown[0], names)} "
                f"Parameters: {list_valid(names)}."
            )
        missing = [n for n in names if n not in pw]
        if missing:
            raise WinbackError(
                f"part_worths lacks {list_valid(missing)}; give every parameter: "
                f"{list_valid(names)}."
            )
        mean = np.array([float(pw[n]) for n in names])
    if n_respondents is None or n_respondents < 1:
        raise WinbackError("n_respondents (>= 1) is needed with population-level part_worths.")
    if sd is None:
        sds = np.zeros(k)
    elif isinstance(sd, Mapping):
        unknown = [n for n in sd if n not in names]
        if unknown:
            raise WinbackError(f"sd: unknown parameter(s) {list_valid(unknown)}.")
        sds = np.array([float(sd.get(n, 0.0)) for n in names])
    else:
        sds = np.full(k, float(sd))
    betas = mean + rng.standard_normal((n_respondents, k)) * sds
    width = len(str(n_respondents))
    ids = [f"r{i + 1:0{width}d}" for i in range(n_respondents)]
    return ids, betas


def simulate_choices(
    design: ChoiceDesign,
    part_worths: pd.DataFrame | pd.Series | Mapping[str, float] | np.ndarray,
    random_seed: int | None = None,
    *,
    n_respondents: int | None = None,
    sd: float | Mapping[str, float] | None = None,
    return_part_worths: bool = False,
    respondents: pd.DataFrame | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate respondents answering a design under a multinomial logit.

    Parameters
    ----------
    design : ChoiceDesign
    part_worths : DataFrame, Series, mapping or array
        Either one row per respondent (DataFrame indexed by respondent id, one column per
        parameter as in :func:`conjoint.encoding.parameter_names`), or population values (one
        per parameter) with ``n_respondents`` and optional heterogeneity ``sd``.
    random_seed : int, optional
    n_respondents : int, optional
    sd : float or mapping, optional
        Standard deviation of individual part-worths around population values.
    return_part_worths : bool
        Also return the individual part-worths used (the truth).
    respondents : DataFrame, optional
        Only for a status quo filled per respondent (``[status_quo] plans``): each simulated
        respondent's ``previous_plan`` (and, with ``price_from_paid``, ``price_paid``) answer,
        with a ``respondent_id`` column matching the simulated ids (e.g.
        :func:`surveys.questionnaire.simulate_respondents`). Without it every respondent's
        plan is drawn uniformly from the plans (and the price from the tested prices), the mix
        the design diagnostics assume.

    Returns
    -------
    DataFrame
        The canonical long response table: ``respondent_id, version, task, alt``, one column
        per attribute, ``chosen``; a none alternative is its own row with ``alt = "none"`` and
        empty attribute cells; dual-response none adds ``would_buy`` on the chosen row;
        ``holdout`` marks holdout tasks. Versions are dealt in turn to respondents. A status
        quo is a row with ``alt = "status_quo"`` holding the profile that respondent saw.

    Examples
    --------
    >>> responses = simulate_choices(design, {"plan[Standard]": 0.5, ...}, 1,
    ...                              n_respondents=300, sd=0.5)  # doctest: +SKIP
    """
    rng = np.random.default_rng(random_seed)
    study = design.study
    ids, betas = _as_matrix(design, part_worths, n_respondents, sd, rng)
    enc = make_encoding(study)
    n = len(ids)
    nt, nj = design.n_tasks, design.n_alternatives
    version_idx = np.arange(n) % design.n_versions
    shown = design.levels[version_idx]  # (N, T, J, A)
    x = enc.encode_tasks(shown)  # (N, T, J, K)
    u = np.einsum("ntjk,nk->ntj", x, betas)
    alt_labels: list[str] = [str(i) for i in range(1, nj + 1)]
    sq = study.status_quo
    sq_levels = _status_quo_levels(study, ids, respondents, rng)  # (N, A) or None
    if sq is not None:
        assert sq_levels is not None and enc.sq_index is not None
        sq_rows = enc.encode(sq_levels)
        sq_rows[:, enc.sq_index] = 1.0
        u_sq = np.einsum("nk,nk->n", sq_rows, betas)
        u = np.concatenate([u, u_sq[:, None, None].repeat(nt, 1)], axis=2)
        alt_labels.append("status_quo")
    u_none = betas[:, enc.none_index] if enc.none_index is not None else None
    if study.none_option:
        assert u_none is not None
        u = np.concatenate([u, np.broadcast_to(u_none[:, None, None], (n, nt, 1))], axis=2)
        alt_labels.append("none")
    gumbel = rng.gumbel(size=u.shape)
    choice = np.argmax(u + gumbel, axis=2)  # (N, T)
    would_buy = None
    if study.dual_response_none:
        assert u_none is not None
        u_chosen = np.take_along_axis(u, choice[..., None], axis=2)[..., 0]
        p_buy = 1.0 / (1.0 + np.exp(-(u_chosen - u_none[:, None])))
        would_buy = (rng.random(p_buy.shape) < p_buy).astype(int)

    n_alt = len(alt_labels)
    rid = np.repeat(np.asarray(ids, dtype=object), nt * n_alt)
    ver = np.repeat(version_idx + 1, nt * n_alt)
    task = np.tile(np.repeat(np.arange(1, nt + 1), n_alt), n)
    alt = np.tile(np.asarray(alt_labels, dtype=object), n * nt)
    chosen = (np.arange(n_alt)[None, None, :] == choice[..., None]).astype(int).ravel()
    data: dict[str, object] = {"respondent_id": rid, "version": ver, "task": task, "alt": alt}
    for a, attr in enumerate(study.attributes):
        idx = shown[..., a]
        # an absent alternative-specific attribute (-1) is an empty cell
        vals = np.asarray(attr.levels, dtype=object)[np.maximum(idx, 0)]
        vals[idx < 0] = None
        extra = []
        if sq_levels is not None:
            shown_sq = np.asarray(attr.levels, dtype=object)[sq_levels[:, a]]  # (N,)
            extra.append(np.repeat(shown_sq[:, None, None], nt, axis=1))
        if study.none_option:
            extra.append(np.full((n, nt, 1), None, dtype=object))
        col = np.concatenate([vals, *extra], axis=2).ravel() if extra else vals.ravel()
        data[attr.name] = (
            pd.array(col, dtype="Float64") if attr.numeric else pd.array(col, dtype="string")
        )
    data["chosen"] = chosen
    if would_buy is not None:
        wb = pd.array(np.repeat(would_buy.ravel(), n_alt), dtype="Int64")
        wb[chosen == 0] = pd.NA
        data["would_buy"] = wb
    data["holdout"] = np.tile(np.repeat(design.holdout.astype(int), n_alt), n)
    responses = pd.DataFrame(data)
    if return_part_worths:
        truth = pd.DataFrame(
            betas, index=pd.Index(ids, name="respondent_id"), columns=parameter_names(study)
        )
        return responses, truth
    return responses


def _status_quo_levels(
    study: Study,
    ids: list[str],
    respondents: pd.DataFrame | None,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Each simulated respondent's status-quo profile, (N, n_attributes); None without one."""
    sq = study.status_quo
    if sq is None:
        if respondents is not None:
            raise WinbackError("respondents= is only used with a status quo ([status_quo] plans).")
        return None
    n = len(ids)
    if not sq.per_respondent:
        if respondents is not None:
            raise WinbackError(
                "respondents= is only used with a status quo filled per respondent "
                "([status_quo] plans); this study's status quo has fixed levels."
            )
        return np.broadcast_to(np.asarray(sq.levels), (n, len(study.attributes))).copy()
    if respondents is None:
        profiles = np.asarray([profile for _, profile in sq.plans])
        out = profiles[rng.integers(0, len(profiles), n)]
        if sq.price_from_paid:
            assert sq.price_position is not None
            out[:, sq.price_position] = rng.integers(0, len(sq.price_levels), n)
        return out
    need = ["respondent_id", "previous_plan"] + (["price_paid"] if sq.price_from_paid else [])
    missing = [c for c in need if c not in respondents.columns]
    if missing:
        raise WinbackError(
            f"respondents lacks column(s) {list_valid(missing)}; the status quo is filled from "
            f"{list_valid(need[1:])}."
        )
    table = respondents.assign(respondent_id=respondents["respondent_id"].astype(str))
    table = table.drop_duplicates("respondent_id").set_index("respondent_id")
    absent = [r for r in ids if r not in table.index]
    if absent:
        raise WinbackError(
            f"respondents has no row for {len(absent)} simulated respondent(s), e.g. "
            f"{list_valid(absent[:5])}; give one row per respondent id."
        )
    rows = []
    for r in ids:
        rec = table.loc[r]
        paid = rec["price_paid"] if sq.price_from_paid else None
        try:
            rows.append(sq.profile_for(rec["previous_plan"], None if pd.isna(paid) else paid))
        except WinbackError as exc:
            raise WinbackError(f"respondents, respondent {r!r}: {exc}") from None
    return np.asarray(rows, dtype=int)
