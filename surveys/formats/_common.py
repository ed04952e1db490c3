"""What the format readers share: option checks, text decoding, hashed inputs, column order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from surveys._csv import check_encoding, file_sha256, read_csv_text
from surveys.validation import ROW_COLUMN
from winback.errors import ResponseError, WinbackError, did_you_mean, list_valid
from winback.study import Study


def check_options(options: Mapping[str, object], valid: Sequence[str], fmt: str) -> None:
    """Raise for the first option a format does not take, with a hint and the valid ones."""
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise WinbackError(
            f"unknown option {unknown[0]!r} for format={fmt!r}.{did_you_mean(unknown[0], valid)} "
            f"Valid options: {list_valid(valid)}."
        )


def read_text(path: Path, what: str, bad_encoding: str, fallback: str | None = None) -> str:
    """A file's text as UTF-8 (byte-order mark tolerated), else as ``fallback`` if given.

    ``bad_encoding`` is the message when the bytes are not UTF-8 (and there is no fallback);
    ``{byte}`` in it becomes the offset of the first bad byte, and the file line and the text
    as Windows-1252 would read it are added. UTF-16/UTF-32 text (Excel's "Unicode Text") and
    binary files are named as such. A failed fallback decoding raises ``UnicodeDecodeError``
    for the caller to word.
    """
    if not path.exists():
        raise WinbackError(f"{what} not found: {path}")
    if path.is_dir():
        raise WinbackError(f"{path} is a folder, not a {what}.")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fallback is not None:
            return raw.decode(fallback, errors="strict")
        hint = bad_encoding.format(byte=exc.start)
        check_encoding(raw, path, hint.split("; ", 1)[-1])  # UTF-16, binary: named
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ResponseError([("encoding", f"line {line}: {hint}")], source=str(path)) from None


def read_csv_source(path: str | Path, sources: dict[str, str]) -> pd.DataFrame:
    """:func:`surveys._csv.read_csv_text`, recording the file's SHA-256 in ``sources``."""
    frame = read_csv_text(path)
    sources[str(path)] = frame.attrs.pop("sha256", None) or file_sha256(path)
    return frame


def choice_columns(study: Study, *, version: bool, seconds: bool = False) -> list[str]:
    """The canonical long layout's columns, in order, as the readers return them."""
    cols = ["respondent_id"]
    if version:
        cols.append("version")
    cols += ["task", "alt", *study.attribute_names, "chosen"]
    if study.dual_response_none:
        cols.append("would_buy")
    if seconds:
        cols.append("seconds")
    cols.append(ROW_COLUMN)
    return cols
