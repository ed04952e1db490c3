"""Sawtooth ``.att`` label files: reading them, and mapping the ``.cho`` file's attribute columns
and level codes to the study's attributes and levels (by position, checked against the labels,
or by the labels themselves).
"""

from __future__ import annotations

from pathlib import Path

from surveys.formats._common import read_text
from surveys.validation import ProblemReport
from winback.errors import ResponseError, list_valid
from winback.study import Attribute, Study


def _read_text(path: Path, what: str, fallback: str | None = None) -> str:
    return read_text(path, what, f"not text at byte {{byte}}: is this a {what}?", fallback)


def read_att(path: str | Path) -> list[tuple[str, list[str], int]]:
    """Parse an ``.att`` file: ``[(attribute label, [level labels], line), ...]``."""
    path = Path(path)
    try:
        # Sawtooth's Windows tools write labels in the Windows code page; a wrong guess
        # cannot pass unnoticed, since every label is checked against the study.
        text = _read_text(path, ".att label file", fallback="cp1252")
    except UnicodeDecodeError as exc:
        raise ResponseError(
            [("encoding", f"neither UTF-8 nor Windows-1252 text at byte {exc.start}")],
            source=str(path),
        ) from None
    blocks: list[tuple[str, list[str], int]] = []
    current: list[tuple[int, str]] = []
    for i, line in enumerate([*text.splitlines(), ""], start=1):
        if line.strip():
            current.append((i, line.strip()))
        elif current:
            blocks.append((current[0][1], [t for _, t in current[1:]], current[0][0]))
            current = []
    return blocks


def _level_matches(attr: Attribute, label: str, position: int) -> bool:
    return attr.index_of(label) == position or attr.level_labels()[position] == label


def _att_mapping(
    att: list[tuple[str, list[str], int]], study: Study, source: str, map_by_labels: bool
) -> tuple[list[int], list[list[int]]]:
    """For each .cho attribute column: the study attribute and, per code, the study level."""
    rep = ProblemReport(source)
    attrs = list(study.attributes)
    if len(att) != len(attrs):
        rep.add(
            "labels",
            f"{len(att)} attributes in the .att file ({list_valid(a for a, _, _ in att)}), the "
            f"study has {len(attrs)} ({list_valid(study.attribute_names)})",
        )
        rep.raise_if_any()
    positional = all(
        len(levels) == attr.n_levels
        and all(_level_matches(attr, lab, k) for k, lab in enumerate(levels))
        for (_, levels, _), attr in zip(att, attrs, strict=True)
    )
    identity = (list(range(len(attrs))), [list(range(a.n_levels)) for a in attrs])
    if positional and not map_by_labels:
        return identity

    shared = _shared_labels(att)
    if not map_by_labels:
        for a_i, ((name, levels, line), attr) in enumerate(zip(att, attrs, strict=True)):
            study_labels = attr.level_labels()
            if len(levels) != attr.n_levels or not all(
                _level_matches(attr, lab, k) for k, lab in enumerate(levels)
            ):
                rep.add(
                    "labels",
                    f"line {line}: attribute {a_i + 1} {name!r} has levels "
                    f"{list_valid(levels)}; the study's attribute {attr.name!r} has "
                    f"{list_valid(study_labels)} (level codes are read by position, so they "
                    "must be the same, in the same order; map_by_labels=True reads them by "
                    "label instead)",
                )
        rep.raise_if_any()

    # label-based mapping: each .att attribute to the study attribute with its labels
    by_name = {a.name.casefold(): i for i, a in enumerate(attrs)}
    by_name |= {a.display.casefold(): i for i, a in enumerate(attrs)}
    columns: list[int] = []
    levels_map: list[list[int]] = []
    for a_i, (name, levels, line) in enumerate(att):
        candidates = [
            i
            for i, attr in enumerate(attrs)
            if len(levels) == attr.n_levels and all(attr.index_of(lab) >= 0 for lab in levels)
        ]
        named = by_name.get(name.casefold())
        if named is not None and named in candidates:
            candidates = [named]
        if not candidates:
            rep.add(
                "labels",
                f"line {line}: attribute {a_i + 1} {name!r} with levels {list_valid(levels)} "
                "matches no attribute of the study "
                f"({'; '.join(f'{a.name}: ' + list_valid(a.level_labels()) for a in attrs)})",
            )
            continue
        if len(candidates) > 1:
            clash = [attrs[i].name for i in candidates]
            same = sorted(set(levels) & set(shared))
            rep.add(
                "ambiguous labels",
                f"line {line}: attribute {a_i + 1} {name!r} (levels {list_valid(levels)}) could "
                f"be any of the study's attributes {list_valid(clash)}"
                + (f"; labels used by several attributes: {list_valid(same)}" if same else "")
                + ". Name the attribute in the .att file as in the study, or map by position "
                "(map_by_labels=False)",
            )
            continue
        target = attrs[candidates[0]]
        columns.append(candidates[0])
        levels_map.append([target.index_of(lab) for lab in levels])
        if len(set(levels_map[-1])) != len(levels):
            rep.add(
                "ambiguous labels",
                f"line {line}: attribute {a_i + 1} {name!r} lists a level twice "
                f"({list_valid(levels)})",
            )
    if not rep and len(set(columns)) != len(columns):
        dup = sorted({attrs[c].name for c in columns if columns.count(c) > 1})
        rep.add(
            "ambiguous labels",
            f"several .att attributes map to the study attribute(s) {list_valid(dup)}",
        )
    rep.raise_if_any()
    return columns, levels_map


def _shared_labels(att: list[tuple[str, list[str], int]]) -> list[str]:
    seen: dict[str, int] = {}
    for _, levels, _ in att:
        for lab in set(levels):
            seen[lab] = seen.get(lab, 0) + 1
    return [lab for lab, n in seen.items() if n > 1]
