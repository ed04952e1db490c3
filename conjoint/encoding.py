"""The one place where levels become model columns.

Reference levels are decided here and only here: the first level listed in the study file is the
reference of a part-worth attribute (its column is omitted under dummy coding, it is coded -1 under
effects coding). A linear attribute contributes one column holding the level's value. Declared
``[[interactions]]`` follow the main effects: each column is the product of the two attributes'
codes (a part-worth attribute's column of one level, a linear attribute's value minus its
reference value), so a main effect is the effect at the reference level of the attributes it
interacts with. A labelled design (``[design] labels``) has a constant ``label[x]`` per label
but the first (the reference), set on the alternatives of that label; an alternative-specific
attribute (``applies_to``) is absent on the other labels' alternatives: its columns are zero there
(a level index -1 means absent). A none alternative has its own constant ``none``; a status-quo
alternative its constant ``status_quo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from winback.errors import WinbackError
from winback.study import Attribute, Study, format_level
from winback.study.labels import LABEL
from winback.study.model import n_main_columns

Coding = Literal["dummy", "effects"]


def parameter_names(study: Study, *, include_constants: bool = True) -> list[str]:
    """Names of the MNL parameters in canonical order.

    ``attribute[level]`` for each non-reference level of a part-worth attribute, ``attribute``
    for a linear attribute, then the declared interactions (``price x plan=Fibre``), then the
    label constants of a labelled design (``label[rival_a]``, every label but the first), then
    ``none`` and ``status_quo`` when the study has them.

    Examples
    --------
    >>> parameter_names(study)  # doctest: +SKIP
    ['plan[Standard]', 'plan[Premium]', 'price', 'none']
    """
    names: list[str] = []
    for a in study.attributes:
        if a.coding == "linear":
            names.append(a.name)
        else:
            names.extend(f"{a.name}[{format_level(v)}]" for v in a.levels[1:])
    by_name = {a.name: a for a in study.attributes}
    for inter in study.interactions:
        names.extend(inter.column_names(by_name))
    names.extend(label_parameter(lab) for lab in study.label_constants)
    if include_constants:
        if study.has_none:
            names.append("none")
        if study.status_quo is not None:
            names.append("status_quo")
    return names


def parameter_attribute(study: Study) -> list[str]:
    """The attribute (or constant) each parameter belongs to, aligned with parameter_names."""
    out: list[str] = []
    for a in study.attributes:
        out.extend([a.name] * (1 if a.coding == "linear" else a.n_levels - 1))
    by_name = {a.name: a for a in study.attributes}
    for inter in study.interactions:
        out.extend([inter.name] * len(inter.column_names(by_name)))
    out.extend([LABEL] * len(study.label_constants))
    if study.has_none:
        out.append("none")
    if study.status_quo is not None:
        out.append("status_quo")
    return out


def label_parameter(label: str) -> str:
    """The name of a label's constant: ``label[rival_a]``."""
    return f"{LABEL}[{label}]"


def _attribute_table(a: Attribute, coding: Coding) -> np.ndarray:
    """(n_levels, n_columns) contribution of each level to this attribute's columns."""
    if a.coding == "linear":
        return np.asarray(a.levels, dtype=float).reshape(-1, 1)
    n = a.n_levels
    table = np.zeros((n, n - 1))
    table[1:, :] = np.eye(n - 1)
    if coding == "effects":
        table[0, :] = -1.0
    return table


@dataclass(frozen=True)
class Encoding:
    """Level-index -> design-matrix map for one study.

    ``tables[a]`` has shape (n_levels[a], n_parameters) and holds the main-effect columns of
    attribute ``a`` (zeros elsewhere), so a profile's row is the sum of its levels' rows, then
    :meth:`complete` fills the interaction columns (a no-op without interactions).
    ``interactions`` holds, per declared interaction, the two attributes' column slices and
    code offsets and the first interaction column. A labelled design's ``label_index`` holds
    the column of each designed alternative's label constant (None for the reference label)
    and ``applies`` (alternatives, attributes) which attributes each alternative shows.
    """

    names: tuple[str, ...]
    tables: tuple[np.ndarray, ...]
    none_index: int | None
    sq_index: int | None
    coding: Coding
    interactions: tuple[_InteractionColumns, ...] = ()
    label_index: tuple[int | None, ...] = ()
    applies: np.ndarray | None = None

    @property
    def n_parameters(self) -> int:
        return len(self.names)

    @property
    def labelled(self) -> bool:
        return bool(self.label_index)

    def encode(self, levels: np.ndarray) -> np.ndarray:
        """Rows for profiles given as level indices, shape (..., n_attributes) -> (..., K).

        A level index -1 (an absent alternative-specific attribute) contributes nothing.
        """
        levels = np.asarray(levels)
        out = np.zeros((*levels.shape[:-1], self.n_parameters))
        for a, table in enumerate(self.tables):
            idx = levels[..., a]
            if self.applies is not None:
                absent = idx < 0
                out += np.where(absent[..., None], 0.0, table[np.where(absent, 0, idx)])
            else:
                out += table[idx]
        return self.complete(out)

    def encode_tasks(self, levels: np.ndarray) -> np.ndarray:
        """Rows of designed tasks, shape (..., J, n_attributes) -> (..., J, K).

        Alternative j is the j-th designed alternative: in a labelled design it gets its
        label's constant and its absent attributes' columns stay zero (whatever level the
        array holds there). Without labels the same as :meth:`encode`.
        """
        levels = np.asarray(levels)
        if not self.labelled:
            return self.encode(levels)
        if self.applies is not None:
            levels = np.where(self.applies, levels, -1)
        x = self.encode(levels)
        for j, col in enumerate(self.label_index):
            if col is not None:
                x[..., j, col] = 1.0
        return x

    def complete(self, x: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
        """Fill the interaction columns of rows whose main-effect columns are set, in place.

        Each interaction column is the product of the two attributes' codes, read from the
        row's own main-effect columns (a linear attribute's value less its reference value), so
        rows mixing levels with weights (an interpolated price) get the matching mixture.
        ``blank`` (a boolean mask over the rows) marks rows that are not a profile (a none
        row, a row with a level missing): their interaction columns stay 0. Returns ``x``.
        """
        if not self.interactions:
            return x
        for ic in self.interactions:
            u = x[..., ic.cols_a] - ic.offset_a
            v = x[..., ic.cols_b] - ic.offset_b
            prod = (u[..., :, None] * v[..., None, :]).reshape(*x.shape[:-1], -1)
            x[..., ic.start : ic.start + prod.shape[-1]] = prod
            if blank is not None:
                x[np.asarray(blank, dtype=bool), ic.start : ic.start + prod.shape[-1]] = 0.0
        return x

    def none_row(self) -> np.ndarray:
        row = np.zeros(self.n_parameters)
        if self.none_index is not None:
            row[self.none_index] = 1.0
        return row


@dataclass(frozen=True)
class _InteractionColumns:
    """Where one interaction reads its codes and writes its columns."""

    cols_a: slice
    offset_a: float
    cols_b: slice
    offset_b: float
    start: int


def make_encoding(study: Study, coding: Coding = "dummy") -> Encoding:
    """Build the :class:`Encoding` of a study (dummy coding by default)."""
    names = parameter_names(study)
    k = len(names)
    tables = []
    col = 0
    spans: dict[str, tuple[slice, float]] = {}
    for a in study.attributes:
        t = _attribute_table(a, coding)
        full = np.zeros((a.n_levels, k))
        full[:, col : col + t.shape[1]] = t
        # a linear attribute's code in an interaction is its value less the reference value
        offset = float(a.levels[0]) if a.coding == "linear" else 0.0
        spans[a.name] = (slice(col, col + t.shape[1]), offset)
        col += t.shape[1]
        tables.append(full)
    inters = []
    by_name = {a.name: a for a in study.attributes}
    for inter in study.interactions:
        (sa, oa), (sb, ob) = (spans[n] for n in inter.attributes)
        inters.append(_InteractionColumns(sa, oa, sb, ob, col))
        col += n_main_columns(by_name[inter.attributes[0]]) * n_main_columns(
            by_name[inter.attributes[1]]
        )
    none_index = names.index("none") if "none" in names else None
    sq_index = names.index("status_quo") if "status_quo" in names else None
    label_index: tuple[int | None, ...] = ()
    if study.labels:
        label_index = tuple(
            names.index(label_parameter(lab)) if i else None for i, lab in enumerate(study.labels)
        )
    applies = np.asarray(study.applies(), dtype=bool) if study.alternative_specific else None
    return Encoding(
        tuple(names),
        tuple(tables),
        none_index,
        sq_index,
        coding,
        tuple(inters),
        label_index,
        applies,
    )


def require_additive(study: Study, what: str) -> None:
    """Raise for a study with ``[[interactions]]`` where ``what`` adds attributes separately.

    The offer, tier and unbundling searches and the live spreadsheet simulator add each
    attribute's utility on its own (the price's apart from the rest); with a declared
    interaction a product's utility is not such a sum, so they would be wrong.
    """
    if study.interactions:
        names = ", ".join(i.name for i in study.interactions)
        raise WinbackError(
            f"{what} adds each attribute's utility separately and does not support declared "
            f"interactions yet (this study declares {names}). Compare candidate products "
            "with the simulator (analysis.simulate_shares), which uses the interactions, or "
            "remove [[interactions]] from the study file."
        )
    require_generic(study, what)


def require_generic(study: Study, what: str) -> None:
    """Raise for a labelled study (``[design] labels``) where ``what`` builds products without
    labels (every product is one generic alternative)."""
    if study.labels:
        specific = [a.name for a in study.attributes if a.applies_to]
        raise WinbackError(
            f"{what} does not support labelled designs yet (this study has [design] labels "
            f"{', '.join(study.labels)}"
            + (f" and alternative-specific attributes {', '.join(specific)}" if specific else "")
            + "): it builds products without a label, so it would leave out the label "
            "constants. Compare labelled products with the simulator "
            "(analysis.simulate_shares, products with a label)."
        )


def orthonormal_contrasts(n: int) -> np.ndarray:
    """(n, n-1) matrix whose columns are orthonormal and orthogonal to the ones vector."""
    # QR of [1 | I] gives an orthonormal basis whose first column spans the ones vector.
    m = np.column_stack([np.ones(n), np.eye(n)[:, : n - 1]])
    q, _ = np.linalg.qr(m)
    return q[:, 1:n]


def partworth_study(study: Study) -> Study:
    """A copy of the study with every attribute part-worth coded (for design search)."""
    from dataclasses import replace

    attrs = tuple(replace(a, coding="partworth") for a in study.attributes)
    return replace(study, attributes=attrs)


def linear_to_partworth(study: Study) -> np.ndarray:
    """Matrix T mapping the study's parameters to those of :func:`partworth_study`.

    A linear slope b becomes part-worths b * (x_l - x_ref) for each non-reference level l, so
    prior draws stated as slopes carry over exactly.
    """
    src = parameter_names(study)
    dst = parameter_names(partworth_study(study))
    t = np.zeros((len(dst), len(src)))
    i = j = 0
    maps: dict[str, np.ndarray] = {}  # per attribute: part-worth codes -> the study's codes
    for a in study.attributes:
        if a.coding == "linear":
            x = np.asarray(a.levels, dtype=float)
            t[i : i + a.n_levels - 1, j] = x[1:] - x[0]
            maps[a.name] = (x[1:] - x[0]).reshape(-1, 1)
            i += a.n_levels - 1
            j += 1
        else:
            maps[a.name] = np.eye(a.n_levels - 1)
            for _ in range(a.n_levels - 1):
                t[i, j] = 1.0
                i += 1
                j += 1
    # an interaction's codes are products of the attributes' codes (a linear one centred on
    # its reference value), so its map is the Kronecker product of theirs
    for inter in study.interactions:
        m = np.kron(*(maps[n] for n in inter.attributes))
        t[i : i + m.shape[0], j : j + m.shape[1]] = m
        i += m.shape[0]
        j += m.shape[1]
    while j < len(src):  # constants
        t[i, j] = 1.0
        i += 1
        j += 1
    return t
