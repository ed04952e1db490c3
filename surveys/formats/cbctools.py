"""The cbcTools / logitr long format: one row per alternative, as CSV.

cbcTools (R; ``cbc_design()`` then ``cbc_choices()``) writes::

    profileID,respID,qID,altID,obsID,blockID,price,type,freshness,choice
    5,1,1,1,1,1,3.0,Fuji,Poor,0

- ``respID`` respondent, ``qID`` question (task) within the respondent, ``altID`` alternative
  within the question, ``obsID`` the question's running number over all respondents,
  ``blockID`` the design block (winback's version; only in blocked designs), ``profileID`` the
  profile's row in ``cbc_profiles()`` (not needed here), one column per attribute (the level
  label, or the value of numeric attributes), ``choice`` 1 on the chosen row, else 0.
- A no-choice option (``cbc_design(no_choice = TRUE)``) is an extra alternative per question
  with ``no_choice`` = 1 and its attributes ``NA`` (standard coding) or 0 (dummy coding).
- Dummy-coded designs (``cbc_encode(coding = "dummy")``) replace a categorical attribute by
  0/1 columns ``<attribute><level>`` for the levels after the reference (e.g. ``typeGala``;
  older cbcTools versions wrote ``type_Gala`` for every level): both are decoded.

logitr data are the same long layout with its own names; name the columns with the options
(``id_column="id"``, ...). Without a question column the task is the order of ``obsID`` within
the respondent; without an alternative column, the row order within the question.

What the format cannot hold (written with an error instead of silently dropped): dual-response
none, a status-quo alternative. Respondents without choice rows are not written (a warning names
them). Holdout tasks are ordinary questions; with ``design=`` they are marked from the design.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from surveys.formats._common import check_options, choice_columns, read_csv_source
from surveys.validation import ROW_COLUMN, ProblemReport
from winback._io import check_outputs_free, write_csv
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign
    from surveys.dataset import ChoiceDataset

log = logging.getLogger("winback")

OPTIONS = (
    "id_column",
    "task_column",
    "alt_column",
    "obs_column",
    "block_column",
    "choice_column",
    "no_choice_column",
    "ignore_columns",
)
#: columns cbcTools writes that winback does not need
KNOWN_UNUSED = ("profileID", "probs", "prob", "predicted_prob")
_MISSING = ("", "NA", "NaN", "nan", "<NA>")


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "", str(name).strip().lower())


def _dummy_columns(attr: Attribute, columns: Sequence[str]) -> dict[int, str] | None:
    """Level index -> dummy column, for ``<name><label>`` or ``<name>_<label>`` columns."""
    labels = attr.level_labels()
    for sep in ("", "_"):
        found = {k: f"{attr.name}{sep}{lab}" for k, lab in enumerate(labels)}
        found = {k: c for k, c in found.items() if c in columns}
        non_ref = [k for k in range(1, len(labels)) if k in found]
        if non_ref:
            return found
    return None


def read(
    path: str | Path,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read cbcTools / logitr choice data (CSV) into winback's canonical long layout (as text).

    Parameters
    ----------
    path : str or Path
        The CSV (e.g. ``write.csv(choices, "choices.csv", row.names = FALSE)`` in R).
    study : Study
    design : ChoiceDesign, optional
        Checks the levels shown and marks holdout tasks (validation).
    respondents : str or Path, optional
        A respondents.csv keyed by ``respondent_id`` = ``respID``.
    id_column, task_column, alt_column, obs_column, block_column, choice_column,
    no_choice_column : str
        Column names; defaults ``respID``, ``qID``, ``altID``, ``obsID``, ``blockID``,
        ``choice``, ``no_choice``.
    ignore_columns : sequence of str
        Further columns to leave out (other columns not listed here are reported).

    Returns
    -------
    (choices, respondents, sources)

    Raises
    ------
    ResponseError
        Naming file, line, column and value: missing or unknown columns, bad dummy codes,
        ``no_choice`` rows that show levels, questions with several ``obsID`` values.

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("choices.csv", study, format="cbctools",
    ...                       design=design)  # doctest: +SKIP
    """
    check_options(options, OPTIONS, "cbctools")
    path = Path(path)
    id_col = str(options.get("id_column", "respID"))
    task_col = str(options.get("task_column", "qID"))
    alt_col = str(options.get("alt_column", "altID"))
    obs_col = str(options.get("obs_column", "obsID"))
    block_col = str(options.get("block_column", "blockID"))
    choice_col = str(options.get("choice_column", "choice"))
    nc_col = str(options.get("no_choice_column", "no_choice"))
    ignore = [str(c) for c in options.get("ignore_columns") or ()]

    sources: dict[str, str] = {}
    df = read_csv_source(path, sources)
    rep = ProblemReport(str(path))
    cols = [c for c in df.columns if c != ROW_COLUMN]
    if study.dual_response_none:
        rep.add(
            "header",
            "the cbcTools format has no dual-response none (the study has dual_response_none "
            "= true); export the responses in winback's format",
        )
    if study.status_quo is not None:
        rep.add(
            "header",
            "the cbcTools format has no status-quo alternative (the study has [status_quo]); "
            "export the responses in winback's format",
        )
    rep.raise_if_any()

    used: set[str] = set()
    meta = {
        "id": id_col,
        "task": task_col,
        "alt": alt_col,
        "obs": obs_col,
        "block": block_col,
        "choice": choice_col,
        "no_choice": nc_col,
    }
    have = {k: (c if c in cols else None) for k, c in meta.items()}
    for k in ("id", "choice"):
        if have[k] is None:
            rep.add("header", f"missing column {meta[k]!r}.{did_you_mean(meta[k], cols)}")
    if have["task"] is None and have["obs"] is None:
        rep.add(
            "header",
            f"missing column {task_col!r} (or {obs_col!r} to number the questions)."
            f"{did_you_mean(task_col, cols)}",
        )
    if have["alt"] is None and have["obs"] is None:
        rep.add(
            "header",
            f"missing column {alt_col!r} (or {obs_col!r} to number the alternatives)."
            f"{did_you_mean(alt_col, cols)}",
        )
    if study.none_option and have["no_choice"] is None:
        rep.add(
            "header",
            f"missing column {nc_col!r}: the study has a none option (cbc_design(no_choice = "
            "TRUE) adds it)",
        )
    used |= {c for c in have.values() if c is not None}

    attr_source: dict[str, str | dict[int, str]] = {}
    for attr in study.attributes:
        if attr.name in cols:
            attr_source[attr.name] = attr.name
            used.add(attr.name)
            continue
        dummies = _dummy_columns(attr, cols)
        if dummies is None:
            labels = attr.level_labels()
            rep.add(
                "header",
                f"missing column for attribute {attr.name!r}: neither {attr.name!r} nor dummy "
                f"columns {list_valid(attr.name + lab for lab in labels[1:])}."
                f"{did_you_mean(attr.name, cols)}",
            )
            continue
        attr_source[attr.name] = dummies
        used |= set(dummies.values())

    unknown = [c for c in cols if c not in used and c not in KNOWN_UNUSED and c not in ignore]
    for c in unknown:
        targets = [*meta.values(), *study.attribute_names]
        near = [t for t in targets if _norm(t) == _norm(c)]
        if near:
            rep.add("header", f"column {c!r} looks like {near[0]!r}: fix the spelling")
        else:
            rep.add(
                "header",
                f"unknown column {c!r}.{did_you_mean(c, targets)} Expected "
                f"{list_valid(v for v in meta.values())}, the attributes "
                f"{list_valid(study.attribute_names)}; leave others out with ignore_columns=",
            )
    rep.raise_if_any()

    n = len(df)
    line = df[ROW_COLUMN].to_numpy()
    rid = df[id_col]  # ids kept exactly as written (validation reports blank ones)
    is_none = np.zeros(n, dtype=bool)
    if have["no_choice"] is not None:
        nc = df[nc_col].str.strip()
        ok = nc.isin(["0", "1", "0.0", "1.0"])
        for i in np.flatnonzero(~ok.to_numpy())[:50]:
            rep.add(
                "bad no_choice",
                f"line {line[i]}, column {nc_col!r}: {df[nc_col].iloc[i]!r}; valid: 0, 1",
            )
        is_none = nc.isin(["1", "1.0"]).to_numpy()
        if is_none.any() and not study.none_option:
            i = int(np.flatnonzero(is_none)[0])
            rep.add(
                "bad no_choice",
                f"line {line[i]}, column {nc_col!r}: a no-choice row, but the study has no none "
                "option (none_option = true)",
            )

    out = pd.DataFrame({"respondent_id": rid})
    if have["block"] is not None:
        out["version"] = df[block_col].str.strip()

    # tasks and alternatives, from qID / altID or from obsID and row order
    if have["obs"] is not None:
        obs = df[obs_col].str.strip()
        if have["task"] is not None:
            q = df[task_col].str.strip()
            pairs = pd.DataFrame({"r": rid, "q": q, "o": obs, "line": line})
            per_q = pairs.groupby(["r", "q"], sort=False)["o"].nunique()
            for (r, qq), k in per_q[per_q > 1].items():
                first = int(pairs.loc[(pairs["r"] == r) & (pairs["q"] == qq), "line"].min())
                rep.add(
                    "bad obsID",
                    f"line {first}: respondent {r!r} question {qq} has {k} different "
                    f"{obs_col} values (one question is one observation)",
                )
            per_o = pairs.groupby("o", sort=False)[["r", "q"]].nunique()
            for o in per_o[(per_o["r"] > 1) | (per_o["q"] > 1)].index:
                first = int(pairs.loc[pairs["o"] == o, "line"].min())
                rep.add(
                    "bad obsID",
                    f"line {first}: {obs_col} {o} is used by several questions or respondents",
                )
            out["task"] = q
        else:
            order = obs.groupby(rid, sort=False).transform(
                lambda s: pd.Series(pd.factorize(s)[0] + 1, index=s.index).astype(str)
            )
            out["task"] = order
        if have["alt"] is None:
            pos = pd.Series(np.ones(n, dtype=int)).where(~is_none, 0)
            out["alt"] = pos.groupby([rid.to_numpy(), obs.to_numpy()]).cumsum().astype(str)
    else:
        out["task"] = df[task_col].str.strip()
    if have["alt"] is not None:
        out["alt"] = df[alt_col].str.strip()
    out.loc[is_none, "alt"] = "none"

    for attr in study.attributes:
        src = attr_source[attr.name]
        if isinstance(src, str):
            values = df[src].str.strip()
            blank = values.isin(_MISSING)
            on_none = is_none & ~blank.to_numpy() & ~values.isin(["0", "0.0"]).to_numpy()
            for i in np.flatnonzero(on_none)[:20]:
                rep.add(
                    "no_choice row with levels",
                    f"line {line[i]}, column {src!r}: the no-choice alternative shows no levels, "
                    f"got {df[src].iloc[i]!r} (expected NA)",
                )
            values = values.where(~blank, "")
            out[attr.name] = values.where(~is_none, "")
        else:
            out[attr.name] = _decode_dummies(df, attr, src, is_none, line, rep)

    choice = df[choice_col].str.strip()
    out["chosen"] = choice.replace({"TRUE": "1", "FALSE": "0", "1.0": "1", "0.0": "0"})
    out[ROW_COLUMN] = line
    rep.raise_if_any()

    # no would_buy column: dual-response none was refused above
    cols_out = choice_columns(study, version="version" in out.columns)
    people = None
    if respondents is not None:
        people = read_csv_source(respondents, sources)
    return out[cols_out], people, sources


def _decode_dummies(
    df: pd.DataFrame,
    attr: Attribute,
    columns: Mapping[int, str],
    is_none: np.ndarray,
    line: np.ndarray,
    rep: ProblemReport,
) -> pd.Series:
    """Level labels from 0/1 dummy columns (reference level = all zero)."""
    labels = attr.level_labels()
    n = len(df)
    ones = np.zeros((n, len(labels)), dtype=int)
    for k, c in columns.items():
        v = df[c].str.strip()
        good = v.isin(["0", "1", "0.0", "1.0"]) | (v.isin(_MISSING) & is_none)
        for i in np.flatnonzero(~good.to_numpy())[:20]:
            rep.add(
                "bad dummy",
                f"line {line[i]}, column {c!r}: {df[c].iloc[i]!r}; a dummy column holds 0 or 1",
            )
        ones[:, k] = v.isin(["1", "1.0"]).to_numpy()
    has_ref = 0 in columns
    count = ones.sum(axis=1)
    level = np.where(count == 1, ones.argmax(axis=1), -1)
    if not has_ref:
        level = np.where(count == 0, 0, level)
    bad = ~is_none & (level < 0)
    for i in np.flatnonzero(bad)[:20]:
        which = [columns[int(k)] for k in np.flatnonzero(ones[i])]
        rep.add(
            "bad dummy",
            f"line {line[i]}: attribute {attr.name!r} has {int(count[i])} dummy columns set"
            + (f" ({list_valid(which)})" if which else "")
            + f"; exactly one level applies. Levels: {list_valid(labels)}",
        )
    on_none = is_none & (count > 0)
    for i in np.flatnonzero(on_none)[:20]:
        rep.add(
            "no_choice row with levels",
            f"line {line[i]}: the no-choice alternative shows no levels, but a dummy column of "
            f"{attr.name!r} is 1",
        )
    text = np.asarray(labels, dtype=object)[np.maximum(level, 0)]
    text = np.where(is_none | (level < 0), "", text)
    return pd.Series(text, index=df.index, dtype=object)


def _profile_ids(study: Study, levels: np.ndarray) -> np.ndarray:
    """cbc_profiles() numbering: expand.grid order, the first attribute varying fastest."""
    sizes = [a.n_levels for a in study.attributes]
    stride = np.cumprod([1, *sizes[:-1]])
    return levels @ stride + 1


def write(
    dataset: ChoiceDataset,
    path: str | Path,
    *,
    design: ChoiceDesign | None = None,
    force: bool = False,
) -> list[Path]:
    """Write a dataset in the cbcTools layout (what ``cbc_choices()`` returns), as CSV.

    Columns ``profileID, respID, qID, altID, obsID, blockID``, the attributes (labels, or
    values of numeric attributes), ``no_choice`` (with a none option: the no-choice row is the
    last alternative, attributes ``NA``), ``choice``.

    Parameters
    ----------
    dataset : ChoiceDataset
    path : str or Path
    design : ChoiceDesign, optional
        Not needed (accepted for symmetry with the other formats).
    force : bool
        Replace an existing file.

    Returns
    -------
    list of Path

    Raises
    ------
    WinbackError
        For what the format cannot hold: dual-response none, a status-quo alternative.

    Examples
    --------
    >>> write(dataset, "choices.csv")  # doctest: +SKIP
    """
    path = Path(path)
    check_outputs_free([path], force)
    study = dataset.study
    if study.dual_response_none:
        raise WinbackError(
            "format='cbctools' has no dual-response none, so the would_buy answers cannot be "
            "written; use winback's format (surveys.write_responses) or Sawtooth's .cho."
        )
    if study.status_quo is not None:
        raise WinbackError(
            "format='cbctools' has no status-quo alternative; use winback's format "
            "(surveys.write_responses)."
        )
    ch = dataset.choices
    skipped = sorted(set(dataset.respondent_ids) - set(ch["respondent_id"]))
    if skipped:
        log.warning(
            "%s: %d respondent(s) without choice tasks not written: %s",
            path,
            len(skipped),
            ", ".join(skipped[:10]),
        )
    is_none = (ch["alt"] == "none").to_numpy()
    n_alts = study.design.alternatives
    idx = np.zeros((len(ch), len(study.attributes)), dtype=int)
    for a, attr in enumerate(study.attributes):
        idx[:, a] = [
            attr.index_of(v) if not none else 0
            for v, none in zip(ch[attr.name], is_none, strict=True)
        ]
    profile = _profile_ids(study, idx).astype(object)
    profile[is_none] = "NA"
    obs = ch.groupby(["respondent_id", "task"], sort=False).ngroup() + 1
    out = pd.DataFrame(
        {
            "profileID": profile,
            "respID": ch["respondent_id"].astype(str),
            "qID": ch["task"].astype(int),
            "altID": np.where(is_none, str(n_alts + 1), ch["alt"].astype(str)),
            "obsID": obs.to_numpy(),
            "blockID": ch["version"].astype(int),
        }
    )
    for attr in study.attributes:
        out[attr.name] = [
            "NA" if none or pd.isna(v) else format_level(v)
            for v, none in zip(ch[attr.name], is_none, strict=True)
        ]
    if study.none_option:
        out["no_choice"] = is_none.astype(int)
    out["choice"] = ch["chosen"].astype(int).to_numpy()
    write_csv(out, path)
    return [path]
