"""Level mapping between survey waves: which level of wave A is which level of wave B.

Levels with the same label are the same level; a renamed or dropped level needs a line in the
study folder's ``level_map.toml`` (chains of renames over several waves are followed). The
mapping also relabels an earlier wave's fit so that it can be the prior of a later wave's fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from conjoint.encoding import parameter_names
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from analysis.model import HBModel

#: how the level map says "this level was dropped in the later wave"
DROPPED = ""


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
    >>> from analysis.contrasts import map_levels
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
