"""Reading and writing responses: ``read_responses``, ``make_dataset``, ``write_responses``.

winback's canonical format (``format="winback"``) is a long ``responses.csv`` (one row per
alternative shown) plus a companion ``respondents.csv`` keyed by ``respondent_id``; see
``docs/responses.md``. Other formats are read by modules in ``surveys.formats`` into the same
layout, then validated the same way.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from surveys._csv import SEPARATORS, file_sha256, read_csv_text
from surveys._text import member
from surveys.dataset import EXCLUDE_REASON, NO_TASKS_REASON, ChoiceDataset, empty_exclusions
from surveys.validation.structure import warm_up
from surveys.validation.validate import validate_coded
from winback._io import check_outputs_free, write_csv
from winback.errors import WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

FORMATS = ("winback", "qualtrics", "sawtooth", "cbctools", "db")
log = logging.getLogger("winback")


def read_winback(
    path: str | Path, study: Study, respondents: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]:
    """Read winback's canonical ``responses.csv`` (and ``respondents.csv``) as raw text frames."""
    path = Path(path)
    start_warm_up()  # numba's set-up while Arrow parses
    choices = read_csv_text(path, categorical=True)
    sources = {str(path): choices.attrs.pop("sha256", None) or file_sha256(path)}
    people = None
    if respondents is None:
        sibling = path.with_name("respondents.csv")
        respondents = sibling if sibling.exists() and sibling != path else None
    if respondents is not None:
        people = read_csv_text(respondents)
        sources[str(respondents)] = people.attrs.pop("sha256", None) or file_sha256(respondents)
    return choices, people, sources


_warm_up_started = threading.Lock()


def start_warm_up() -> None:
    """Start loading numba and validation's compiled pass in a thread, once per process: about
    0.4 s, mostly outside the GIL, while the caller reads its inputs (``winback import`` calls
    it first thing, the reader of winback's files otherwise)."""
    if _warm_up_started.acquire(blocking=False):  # held for good: the first caller starts it
        threading.Thread(target=_warm_up, daemon=True, name="winback-warm-up").start()


def _warm_up() -> None:
    try:
        warm_up()
    except Exception:  # only a head start: the code loads (and says what is wrong) when used
        log.debug("warm-up of the compiled checks failed", exc_info=True)


def _reader(fmt: str) -> Callable[..., tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]]:
    if fmt == "winback":
        return read_winback
    if fmt == "db":  # winback's own web survey: a database file or URL
        # lazy: the db reader loads SQLAlchemy; `import surveys` and the file formats do without
        from surveys.web.importer import read as read_db

        return read_db
    if fmt in ("qualtrics", "sawtooth", "cbctools"):
        # the reader of another tool's format loads when that format is read: `winback import`
        # and `winback fit` of winback's own files start without them
        read: Callable[..., tuple[pd.DataFrame, pd.DataFrame | None, dict[str, str]]]
        read = importlib.import_module(f"surveys.formats.{fmt}").read
        return read
    raise WinbackError(f"unknown response format {fmt!r}. Valid: {list_valid(FORMATS)}.")


def read_responses(
    path: str | Path,
    study: Study,
    *,
    format: str = "winback",
    design: ChoiceDesign | None = None,
    respondents: str | Path | None = None,
    **options: object,
) -> ChoiceDataset:
    """Read a response file, validate it and return a :class:`ChoiceDataset`.

    Parameters
    ----------
    path : str or Path
        The response file (``responses.csv`` for winback's format).
    study : Study
    format : {"winback", "qualtrics", "sawtooth", "cbctools", "db"}
        ``db``: winback's web survey database (``path`` is the SQLite file or a URL).
    design : ChoiceDesign, optional
        Checks that every task shows what the design says (needed by formats that carry level
        codes rather than labels, such as Sawtooth's ``.cho``).
    respondents : str or Path, optional
        Companion respondent answers (winback: ``respondents.csv``, found beside the responses
        when not given).

    Returns
    -------
    ChoiceDataset

    Raises
    ------
    ResponseError
        Every problem in the file at once, with counts and the first rows of each kind.

    Examples
    --------
    >>> from surveys import read_responses
    >>> data = read_responses("responses.csv", study, design=design)  # doctest: +SKIP
    """
    reader = _reader(format)
    if format == "winback":
        choices, people, sources = reader(path, study, respondents=respondents)
    else:
        choices, people, sources = reader(
            path, study, design=design, respondents=respondents, **options
        )
    if respondents is not None:
        people_source = str(respondents)
    elif format == "winback":
        people_source = str(Path(path).with_name("respondents.csv"))
    else:  # the format's reader took the respondents from the response file itself
        people_source = str(path)
    notes = []
    for frame, name in ((choices, str(path)), (people, people_source)):
        sep = frame.attrs.get("separator", ",") if frame is not None else ","
        if sep != ",":
            notes.append(f"{name} read as {SEPARATORS[sep]}-separated ({sep!r})")
    return make_dataset(
        choices,
        study,
        design=design,
        respondents=people,
        source=str(path),
        respondents_source=people_source,
        sources=sources,
        notes=notes,
    )


def make_dataset(
    choices: pd.DataFrame,
    study: Study,
    *,
    design: ChoiceDesign | None = None,
    respondents: pd.DataFrame | None = None,
    source: str = "responses",
    respondents_source: str = "respondents",
    sources: dict[str, str] | None = None,
    notes: Iterable[str] = (),
) -> ChoiceDataset:
    """Validate in-memory frames (canonical layout) and build a :class:`ChoiceDataset`.

    Respondents listed in ``respondents`` without any choice task (screened out, dropped out
    before the conjoint) are kept and recorded as excluded, never dropped silently. ``notes``
    records how the input was read (e.g. a semicolon separator), kept in
    :attr:`ChoiceDataset.notes` and the import summary.

    Examples
    --------
    >>> responses = conjoint.simulate_choices(design, truth, 1, n_respondents=300)  # doctest: +SKIP
    >>> data = make_dataset(responses, study, design=design)  # doctest: +SKIP
    """
    clean, people, codes = validate_coded(
        choices,
        study,
        design=design,
        respondents=respondents,
        source=source,
        respondents_source=respondents_source,
    )
    ids = people["respondent_id"]
    with_tasks = pd.Index(pd.unique(clean["respondent_id"]))
    given = pd.Series(pd.NA, index=people.index, dtype="string")
    if EXCLUDE_REASON in people.columns:
        col = people[EXCLUDE_REASON].astype("string")
        given = col.where(col.str.strip() != "")
        people = people.drop(columns=EXCLUDE_REASON)
    has_reason = given.notna().to_numpy()
    no_tasks = ~member(ids, with_tasks) & ~has_reason
    exclusions = empty_exclusions()
    if has_reason.any() or no_tasks.any():
        exclusions = pd.DataFrame(
            {
                "respondent_id": pd.concat([ids[has_reason], ids[no_tasks]], ignore_index=True),
                "reason": [*given[has_reason].tolist(), *[NO_TASKS_REASON] * int(no_tasks.sum())],
                "source": "import",
            }
        ).astype("string")
    # respondents in the order they appear in the choices, then those without tasks
    rank = with_tasks.get_indexer(ids.astype(object))
    rank = np.where(rank < 0, len(with_tasks), rank)
    people = people.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    people["respondent_id"] = people["respondent_id"].astype("string")
    return ChoiceDataset(
        study,
        clean,
        people,
        exclusions,
        None,
        dict(sources or {}),
        notes=tuple(notes),
        _codes=codes,
    )


def choices_for_csv(dataset: ChoiceDataset) -> pd.DataFrame:
    """The dataset's choices with their ids, alternatives and text levels as categoricals made
    from validation's codes: written as the same CSV (formula guard included), without the
    text being built and the writer hashing millions of texts again. The choices as they are
    when there are no codes."""
    codes = dataset._coded
    if codes is None:
        return dataset.choices
    if codes.text_columns:  # validation left the text columns as categories of its codes
        return dataset._choices.copy(deep=False)
    out = dataset._choices.copy(deep=False)

    def categorical(values: np.ndarray, texts: Iterable[object]) -> pd.Categorical:
        return pd.Categorical.from_codes(values, categories=pd.Index(list(texts), dtype=object))

    out["respondent_id"] = categorical(codes.respondent, codes.respondent_ids)
    out["alt"] = categorical(codes.alt, codes.alt_labels)
    for a in dataset.study.attributes:
        if not a.numeric:  # numeric levels are numbers in the table: left as they are
            out[a.name] = categorical(codes.levels[a.name], a.levels)
    return out


def write_responses(
    dataset: ChoiceDataset, folder: str | Path, *, force: bool = False
) -> tuple[Path, Path]:
    """Write ``responses.csv`` and ``respondents.csv`` (canonical format) into a folder.

    Text that a spreadsheet would run as a formula is escaped; writes are atomic; existing files
    are not replaced unless ``force``.
    """
    folder = Path(folder)
    paths = (folder / "responses.csv", folder / "respondents.csv")
    check_outputs_free(paths, force)
    write_csv(choices_for_csv(dataset), paths[0])
    write_csv(dataset.respondents, paths[1])
    return paths
