"""Parsers of the study file's tables other than attributes: [design], [[prohibitions]],
[[holdouts]], [status_quo], [priors] and [costs]; each adds every problem it finds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from winback import limits
from winback.errors import did_you_mean, list_valid
from winback.study.checks import (
    _at_least,
    _check_keys,
    _choice,
    _get,
    _level_index,
    _Problems,
    _unknown_attribute,
)
from winback.study.labels import LABEL, parse_label_names, parse_labels
from winback.study.model import (
    ALGORITHMS,
    DESIGN_METHODS,
    PRIOR_KINDS,
    SIGNS,
    STATUS_QUO_PLAN_QUESTION,
    Attribute,
    Costs,
    DesignSettings,
    Holdout,
    Interaction,
    Priors,
    Prohibition,
    StatusQuo,
    format_level,
)


def _parse_design(raw: Any, by_name: Mapping[str, Attribute], p: _Problems) -> DesignSettings:
    where = "[design]"
    if not isinstance(raw, dict):
        p.add("[design] must be a table.")
        return DesignSettings()
    _check_keys(
        raw,
        (
            "method",
            "alternatives",
            "tasks",
            "versions",
            "seed",
            "algorithm",
            "starts",
            "max_seconds",
            "unique_levels",
            "no_dominated",
            "shuffle",
            "linear_as_partworth",
            "labels",
            "label_names",
        ),
        where,
        p,
    )
    labels = parse_labels(raw.get("labels"), where, p)
    label_names = parse_label_names(raw.get("label_names"), labels, where, p)
    # a labelled design shows one alternative per label unless it says otherwise (then checked)
    d = DesignSettings(alternatives=len(labels)) if labels else DesignSettings()
    unique = _get(raw, "unique_levels", (list, str), [], where, p)
    if isinstance(unique, str):
        unique = list(by_name) if unique == "all" else [unique]
    unique_ok = []
    for an in unique:
        if not isinstance(an, str) or an not in by_name:
            p.add(_unknown_attribute(str(an), by_name, f"{where} unique_levels"))
        else:
            unique_ok.append(an)
    return DesignSettings(
        method=_get(raw, "method", str, d.method, where, p, _choice(DESIGN_METHODS)),
        alternatives=_get(
            raw, "alternatives", int, d.alternatives, where, p, _at_least(2, limits.ALTERNATIVES)
        ),
        tasks=_get(raw, "tasks", int, d.tasks, where, p, _at_least(1, limits.TASKS)),
        versions=_get(raw, "versions", int, d.versions, where, p, _at_least(1, limits.VERSIONS)),
        seed=_get(raw, "seed", int, d.seed, where, p, _at_least(0)),
        algorithm=_get(raw, "algorithm", str, d.algorithm, where, p, _choice(ALGORITHMS)),
        starts=_get(raw, "starts", int, d.starts, where, p, _at_least(1)),
        max_seconds=_get(raw, "max_seconds", float, d.max_seconds, where, p, _at_least(0.01)),
        unique_levels=tuple(unique_ok),
        no_dominated=_get(raw, "no_dominated", bool, d.no_dominated, where, p),
        shuffle=_get(raw, "shuffle", bool, d.shuffle, where, p),
        linear_as_partworth=_get(raw, "linear_as_partworth", bool, d.linear_as_partworth, where, p),
        labels=labels,
        label_names=label_names,
    )


def _parse_prohibitions(
    raw: Any, by_name: Mapping[str, Attribute], p: _Problems
) -> list[Prohibition]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add("'prohibitions' must be an array of tables ([[prohibitions]]).")
        return []
    out = []
    for i, t in enumerate(raw, start=1):
        where = f"[[prohibitions]] #{i}"
        if len(t) < 2:
            p.add(
                f"{where}: a prohibition names levels of at least two attributes that may not "
                f'appear together, e.g. plan = "Basic", speed = ["1 Gbps"]; got {t!r}.'
            )
            continue
        entries: list[tuple[str, tuple[int, ...]]] = []
        for an, values in t.items():
            a = by_name.get(an)
            if a is None:
                p.add(_unknown_attribute(an, by_name, where))
                continue
            vals = values if isinstance(values, list) else [values]
            if not vals:
                p.add(f"{where}: no levels given for '{an}' (an empty list prohibits nothing).")
                continue
            idx = [_level_index(a, v, where, p) for v in vals]
            if any(j is None for j in idx):
                continue
            entries.append((an, tuple(sorted(set(int(j) for j in idx if j is not None)))))
        if len(entries) == len(t):
            out.append(Prohibition(tuple(entries)))
    return out


def _profile(
    t: Any, attrs: Sequence[Attribute], where: str, p: _Problems, omit: str | None = None
) -> tuple[int, ...] | None:
    """Level indices of a profile given as a table attribute = level.

    Every attribute is needed, except ``omit`` (filled later: -1 in its place), which may not
    be given.
    """
    if not isinstance(t, dict):
        p.add(f"{where}: a profile must be a table of attribute = level, got {t!r}.")
        return None
    by_name = {a.name: a for a in attrs}
    ok = True
    for key in t:
        if key not in by_name:
            p.add(_unknown_attribute(key, by_name, where))
            ok = False
    if omit is not None and omit in t:
        p.add(
            f"{where}: '{omit}' = {t[omit]!r} is not used: with price_from_paid = true the "
            f"price shown is the one each respondent paid. Remove '{omit}' from the profile, "
            "or set price_from_paid = false."
        )
        ok = False
    missing = [a.name for a in attrs if a.name not in t and a.name != omit]
    if missing:
        p.add(f"{where}: missing levels for {list_valid(missing)} (every attribute is needed).")
        ok = False
    if not ok:
        return None
    idx = [-1 if a.name == omit else _level_index(a, t[a.name], where, p) for a in attrs]
    if any(j is None for j in idx):
        return None
    return tuple(int(j) for j in idx if j is not None)


def _parse_holdouts(
    raw: Any, attrs: Sequence[Attribute], design: DesignSettings, p: _Problems
) -> list[Holdout]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        p.add("'holdouts' must be an array of tables ([[holdouts]]).")
        return []
    out = []
    for i, t in enumerate(raw, start=1):
        where = f"[[holdouts]] #{i}"
        _check_keys(t, ("name", "alternatives"), where, p)
        name = _get(t, "name", str, f"holdout{i}", where, p)
        alts = t.get("alternatives")
        if not isinstance(alts, list) or len(alts) != design.alternatives:
            p.add(
                f"{where}: 'alternatives' must list exactly {design.alternatives} alternatives "
                f"(the design's alternatives per task), got {alts!r}."
            )
            continue
        profiles = [
            _profile(a, attrs, f"{where} alternative {j}", p) for j, a in enumerate(alts, start=1)
        ]
        if all(pr is not None for pr in profiles):
            prof = tuple(pr for pr in profiles if pr is not None)
            if len(set(prof)) != len(prof):
                p.add(f"{where}: two alternatives are identical.")
            out.append(Holdout(name=name, alternatives=prof))
    names = [h.name for h in out]
    for n in sorted({n for n in names if names.count(n) > 1}):
        p.add(f"[[holdouts]]: the name '{n}' is used twice.")
    return out


STATUS_QUO_KEYS = ("enabled", "label", "levels", "plans", "price_from_paid")


def _parse_status_quo(
    raw: Any, attrs: Sequence[Attribute], price_attribute: str | None, p: _Problems
) -> StatusQuo | None:
    if raw is None:
        return None
    where = "[status_quo]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    _check_keys(raw, STATUS_QUO_KEYS, where, p)
    if not _get(raw, "enabled", bool, True, where, p):
        return None
    label = _get(raw, "label", str, StatusQuo.label, where, p)
    price_from_paid = _get(raw, "price_from_paid", bool, False, where, p)
    if "levels" in raw and "plans" in raw:
        p.add(
            f"{where}: give either 'levels' (one fixed profile for everyone) or 'plans' (each "
            "respondent's own previous plan), not both."
        )
        return None
    if "levels" in raw:
        if price_from_paid:
            p.add(
                f"{where}: price_from_paid = true fills the price of each respondent's own plan "
                "('plans'); a fixed 'levels' profile states its own price. Remove one of them."
            )
        levels = _profile(raw["levels"], attrs, f"{where} levels", p)
        return None if levels is None else StatusQuo(label=label, levels=levels)
    if "plans" not in raw:
        p.add(
            f"{where}: the status quo needs a profile to show, and neither 'levels' nor 'plans' "
            "is given. Give one of: levels = { attribute = level, ... } (one fixed profile, the "
            "same for every respondent); a [status_quo.plans] table mapping each answer to "
            f"'{STATUS_QUO_PLAN_QUESTION}' to the profile of that plan (each respondent sees "
            "their own; add price_from_paid = true to show the price they paid); or "
            "enabled = false to drop the status-quo alternative."
        )
        return None
    plans_raw = raw["plans"]
    if not isinstance(plans_raw, dict) or not plans_raw:
        p.add(
            f"{where}: 'plans' must be a table answer = {{ attribute = level, ... }} with one "
            f"entry per answer to '{STATUS_QUO_PLAN_QUESTION}', got {plans_raw!r}."
        )
        return None
    omit = None
    price_position = None
    price_levels: tuple[float, ...] = ()
    if price_from_paid:
        if price_attribute is None:
            p.add(
                f"{where}: price_from_paid = true needs a price attribute (an attribute named "
                "'price', or [study] price_attribute); this study has none. Give the price in "
                "each plan's profile instead."
            )
            return None
        omit = price_attribute
        price_position = [a.name for a in attrs].index(price_attribute)
        if not attrs[price_position].numeric:
            return None  # reported with [[attributes]]: the price needs numeric levels
        price_levels = tuple(float(v) for v in attrs[price_position].levels)
    plans: list[tuple[str, tuple[int, ...]]] = []
    for code, profile_raw in plans_raw.items():
        pw = f"{where} plans.{code}" if code.strip() else f"{where} plans"
        if not code.strip():
            p.add(f"{pw}: an empty answer code; use the codes of '{STATUS_QUO_PLAN_QUESTION}'.")
            continue
        prof = _profile(profile_raw, attrs, pw, p, omit=omit)
        if prof is not None:
            plans.append((code.strip(), prof))
    if len(plans) != len(plans_raw):
        return None
    return StatusQuo(
        label=label,
        plans=tuple(plans),
        price_from_paid=price_from_paid,
        price_position=price_position,
        price_levels=price_levels,
    )


def parameter_layout(
    attrs: Sequence[Attribute],
    has_none: bool,
    has_sq: bool,
    interactions: Sequence[Interaction] = (),
    labels: Sequence[str] = (),
) -> list[tuple[str, str | None]]:
    """(attribute, level) for every parameter in canonical order; level None for linear/ASCs.

    An interaction's parameters follow the main effects as (``price x plan``, the parameter's
    full name, e.g. ``price x plan=Fibre``); a labelled design's label constants follow as
    (``label``, the label), every label but the first (the reference).
    """
    out: list[tuple[str, str | None]] = []
    for a in attrs:
        if a.coding == "linear":
            out.append((a.name, None))
        else:
            out.extend((a.name, format_level(v)) for v in a.levels[1:])
    by_name = {a.name: a for a in attrs}
    for inter in interactions:
        out.extend((inter.name, col) for col in inter.column_names(by_name))
    out.extend((LABEL, lab) for lab in labels[1:])
    if has_none:
        out.append(("none", None))
    if has_sq:
        out.append(("status_quo", None))
    return out


def _parse_priors(
    raw: Any,
    attrs: Sequence[Attribute],
    has_none: bool,
    has_sq: bool,
    p: _Problems,
    interactions: Sequence[Interaction] = (),
    labels: Sequence[str] = (),
) -> Priors:
    where = "[priors]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return Priors()
    _check_keys(raw, ("kind", "draws", "mean", "sd", "correlation", "covariance", "sign"), where, p)
    # the kind follows from what is given when not stated; a stated kind must fit the keys
    if "sign" in raw:
        implied = "sign"
    elif "correlation" in raw or "covariance" in raw:
        implied = "correlated"
    elif "mean" in raw or "sd" in raw:
        implied = "normal"
    else:
        implied = "null"
    kind = _get(raw, "kind", str, implied, where, p, _choice(PRIOR_KINDS))
    if kind == "null" and implied != "null":
        p.add(
            f'{where}: kind = "null" ignores the {implied} prior settings given; remove them '
            f'or set kind = "{implied}".'
        )
    draws = _get(raw, "draws", int, 100, where, p, _at_least(1))
    layout = parameter_layout(attrs, has_none, has_sq, interactions, labels)
    k = len(layout)
    by_name = {a.name: a for a in attrs}
    extra_names = (
        ([LABEL] if len(labels) > 1 else [])
        + (["none"] if has_none else [])
        + (["status_quo"] if has_sq else [])
    )
    # an interaction is named as a whole (``price x plan``) or by one of its parameters
    inter_names = [i.name for i in interactions]
    inter_params = [lv for owner, lv in layout if owner in inter_names and lv is not None]

    def per_param(value: Any, key: str, default: float) -> tuple[float, ...]:
        """Accept a scalar for all, or a table attribute -> scalar | list | {level: value}."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (float(value),) * k
        vals = [default] * k
        if not isinstance(value, dict):
            p.add(f"{where}: '{key}' must be a number or a table of attribute = value.")
            return tuple(vals)
        valid = list(by_name) + extra_names + inter_names + inter_params
        for an, v in value.items():
            idxs = [i for i, (pa, _) in enumerate(layout) if pa == an]
            if not idxs and an in inter_params:
                idxs = [i for i, (pa, lv) in enumerate(layout) if pa in inter_names and lv == an]
            if not idxs:
                p.add(_unknown_attribute(an, {n: None for n in valid}, f"{where} {key}"))
                continue
            a = by_name.get(an)
            if isinstance(v, int | float) and not isinstance(v, bool):
                for i in idxs:
                    vals[i] = float(v)
            elif (
                isinstance(v, list)
                and len(v) == len(idxs)
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
            ):
                for i, x in zip(idxs, v, strict=True):
                    vals[i] = float(x)
            elif isinstance(v, dict) and a is not None and a.coding == "partworth":
                for lv, x in v.items():
                    j = _level_index(a, lv, f"{where} {key}.{an}", p)
                    if j is None:
                        continue
                    if j == 0:
                        p.add(
                            f"{where} {key}.{an}: '{lv}' is the reference level (fixed at 0); "
                            f"give values for {list_valid(a.level_labels()[1:])}."
                        )
                        continue
                    if not isinstance(x, int | float) or isinstance(x, bool):
                        p.add(f"{where} {key}.{an}.{lv}: must be a number, got {x!r}.")
                        continue
                    vals[idxs[j - 1]] = float(x)
            else:
                p.add(
                    f"{where} {key}.{an}: expected a number, a list of {len(idxs)} numbers "
                    f"(one per non-reference level) or a table level = number; got {v!r}."
                )
        return tuple(vals)

    mean = per_param(raw.get("mean", 0.0), "mean", 0.0)
    sd = per_param(raw.get("sd", 1.0), "sd", 1.0)
    param_labels = [_param_label(x) for x in layout]
    bad_mean = [
        f"{lab} = {m!r}" for lab, m in zip(param_labels, mean, strict=True) if not math.isfinite(m)
    ]
    if bad_mean:
        p.add(f"{where}: every mean must be a finite number, got {list_valid(bad_mean)}.")
    bad_sd = [
        f"{lab} = {x!r}"
        for lab, x in zip(param_labels, sd, strict=True)
        if not (math.isfinite(x) and x > 0)
    ]
    if bad_sd:
        p.add(f"{where}: every sd must be positive and finite, got {list_valid(bad_sd)}.")
    corr = None
    if kind == "correlated":
        key = "correlation" if "correlation" in raw else "covariance"
        m = raw.get(key)
        if m is None:
            p.add(
                f"{where}: kind = \"correlated\" needs 'correlation' (with 'sd') or "
                f"'covariance', a {k} x {k} matrix in parameter order: "
                f"{list_valid(_param_label(x) for x in layout)}."
            )
        elif (
            not isinstance(m, list)
            or len(m) != k
            or not all(isinstance(r, list) and len(r) == k for r in m)
        ):
            p.add(f"{where}: '{key}' must be a {k} x {k} matrix (list of {k} lists).")
        elif not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for r in m
            for x in r
        ):
            p.add(f"{where}: every entry of '{key}' must be a finite number, got {m!r}.")
        else:
            import numpy as np

            mat = np.asarray(m, dtype=float)
            if key == "covariance":
                var = np.diag(mat)
                if np.any(var <= 0):
                    p.add(f"{where}: covariance has a non-positive variance: {var.tolist()}.")
                    spread = np.ones(k)
                else:
                    spread = np.sqrt(var)
                sd = tuple(float(x) for x in spread)
                mat = mat / np.outer(spread, spread)
            if not np.allclose(mat, mat.T):
                p.add(f"{where}: '{key}' is not symmetric.")
            elif key == "correlation" and not np.allclose(np.diag(mat), 1.0):
                p.add(
                    f"{where}: 'correlation' must have 1 on its diagonal, got "
                    f"{np.diag(mat).tolist()}; give the spread in 'sd' or use 'covariance'."
                )
            elif np.min(np.linalg.eigvalsh(mat)) <= 0:
                p.add(f"{where}: '{key}' is not positive definite.")
            corr = tuple(tuple(float(x) for x in row) for row in mat)
    elif "correlation" in raw or "covariance" in raw:
        p.add(f"{where}: 'correlation'/'covariance' need kind = \"correlated\", not \"{kind}\".")
    sign: list[tuple[str, str]] = []
    if kind == "sign":
        s = raw.get("sign")
        if not isinstance(s, dict) or not s:
            p.add(
                f'{where}: kind = "sign" needs a [priors.sign] table, e.g. '
                'price = "negative", speed = "increasing".'
            )
        else:
            for an, v in s.items():
                if an not in by_name and an not in extra_names:
                    p.add(
                        _unknown_attribute(
                            an, {n: None for n in list(by_name) + extra_names}, f"{where} sign"
                        )
                    )
                elif v not in SIGNS:
                    p.add(
                        f"{where} sign.{an}: {v!r} is not valid.{did_you_mean(str(v), SIGNS)} "
                        f"Valid: {list_valid(SIGNS)}."
                    )
                else:
                    sign.append((an, v))
                    means = raw.get("mean")
                    if isinstance(means, dict) and an in means:
                        p.add(
                            f"{where}: mean.{an} would be ignored: a sign prior draws "
                            f"half-normal magnitudes with sd; remove mean.{an} or its sign."
                        )
    elif "sign" in raw:
        p.add(f'{where}: \'sign\' needs kind = "sign", not "{kind}".')
    return Priors(kind=kind, draws=draws, mean=mean, sd=sd, correlation=corr, sign=tuple(sign))


def _param_label(x: tuple[str, str | None]) -> str:
    if x[1] is not None and " x " in x[0]:
        return x[1]  # an interaction's parameter: its full name
    return x[0] if x[1] is None else f"{x[0]}[{x[1]}]"


def _parse_costs(raw: Any, by_name: Mapping[str, Attribute], p: _Problems) -> Costs | None:
    if raw is None:
        return None
    where = "[costs]"
    if not isinstance(raw, dict):
        p.add(f"{where} must be a table.")
        return None
    base = _get(raw, "base", float, 0.0, where, p)
    out: list[tuple[str, tuple[float, ...]]] = []
    for an, v in raw.items():
        if an == "base":
            continue
        a = by_name.get(an)
        if a is None:
            p.add(_unknown_attribute(an, by_name, where) + " ('base' is the fixed unit cost.)")
            continue
        if not isinstance(v, dict):
            p.add(f"{where} {an}: must be a table level = cost, got {v!r}.")
            continue
        costs = [0.0] * a.n_levels
        for lv, c in v.items():
            j = _level_index(a, lv, f"{where} {an}", p)
            if j is None:
                continue
            if not isinstance(c, int | float) or isinstance(c, bool):
                p.add(f"{where} {an}.{lv}: cost must be a number, got {c!r}.")
                continue
            costs[j] = float(c)
        out.append((an, tuple(costs)))
    return Costs(base=base, levels=tuple(out))
