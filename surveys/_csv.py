"""Reading CSV response files fast and exactly: encoding, separator, records and line numbers.

pandas' C parser is fast but forgiving in ways that would change data without a word: a row
with too few cells is padded with empty text, a row with one cell too many turns the first
column into the index (or is cut with ``index_col=False``), a ``;``-separated file becomes one
column. So before pandas parses anything, one vectorised pass over the bytes (numpy, in blocks)
finds every record, the file line it starts on (quoted line breaks and CR-only line ends
counted as an editor counts them) and how many cells it has. Ragged rows, an unclosed quote,
repeated column names and a separator other than the comma are then reported (or the separator
is used and recorded), and pandas parses a file known to be rectangular, every cell as text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from surveys._codes import ChunkCodes, text_column
from surveys._mapped import MappedText, open_text
from surveys.validation import ROW_COLUMN
from winback._io import unescape_cell
from winback.errors import ResponseError, WinbackError

log = logging.getLogger("winback")

#: separators recognised in a header; the comma is winback's
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_BLOCK = 1 << 24  # bytes per block of the scan: bounds its temporary arrays (~6 x 16 MB)
_QUOTE, _LF, _CR = 34, 10, 13
#: a CSV text: the bytes of a file, or the file mapped into memory
Text = bytes | MappedText


@dataclass(frozen=True)
class Records:
    """Where the records of a CSV text are: one entry per non-blank record, header included."""

    line: np.ndarray  # file line each record starts on (1-based)
    n_cells: np.ndarray  # cells in the record
    start: np.ndarray  # byte offset of the record
    end: np.ndarray  # byte offset just past the record (before its line break)
    open_quote_line: int | None  # line of a record whose quoted cell never closes
    #: quoting as RFC 4180 has it (a quote opens a cell only at its start, a closing quote
    #: ends it): every CSV reader parses such a text alike
    plain_quotes: bool = True
    quoted_breaks: bool = False  # a line break inside a quoted cell
    spaces_lines: bool = False  # a dropped blank record holds spaces or tabs


def check_encoding(raw: Text, path: str | Path, hint: str) -> Text:
    """The bytes of UTF-8 text without a byte-order mark; a clear error for anything else.

    ``hint`` says how to save the file as UTF-8 (it differs between sources). A mapped file
    stays mapped (its byte-order mark skipped, not copied).
    """
    source = str(path)
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if raw.startswith(bom):
            raise ResponseError(
                [
                    (
                        "encoding",
                        f"the file is {name} text (it starts with a {name} byte-order mark, as "
                        f"Excel's 'Unicode Text' does); {hint}",
                    )
                ],
                source=source,
            )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:] if isinstance(raw, bytes) else raw.after(3)
    nul = raw.find(b"\x00")
    if nul >= 0:
        if nul < 1 << 12:  # at the start: UTF-16, or not text at all
            problem = (
                f"byte {nul} is a NUL byte: this is not UTF-8 text (UTF-16 without a "
                f"byte-order mark, or a binary file such as .xlsx); {hint}"
            )
        else:  # a text file with a stray NUL: no text tool keeps it, so it is refused
            line = raw.count(b"\n", 0, nul) + 1
            problem = (
                f"line {line} holds a NUL byte (character 0, at byte {nul}); text values "
                "cannot hold it (spreadsheets and databases drop or cut at it), so remove it "
                "from the file and import again"
            )
        raise ResponseError([("encoding", problem)], source=source)
    if raw.isascii():
        return raw
    start = _utf8_error(raw)
    if start is not None:
        line = raw.count(b"\n", 0, start) + 1
        bad = raw[start : start + 4]
        lo = raw.rfind(b"\n", 0, start) + 1
        hi = raw.find(b"\n", start)
        snippet = raw[lo : hi if hi >= 0 else len(raw)].rstrip(b"\r")[:80]
        guess = snippet.decode("cp1252", errors="replace")
        raise ResponseError(
            [
                (
                    "encoding",
                    f"line {line}: not UTF-8 text at byte {start} ({bad!r}); read as "
                    f"Windows-1252/Latin-1 the line would be {guess!r}. {hint}",
                )
            ],
            source=source,
        )
    return raw


def _utf8_error(raw: Text) -> int | None:
    """Where a text stops being UTF-8, or None."""
    if isinstance(raw, MappedText):
        return raw.utf8_error()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def sniff_separator(raw: Text) -> str:
    """The separator of a CSV text, judged from its first line: ``,``, ``;`` or tab.

    A header without a comma outside quotes but with semicolons (Excel in many European
    locales) or tabs uses those; everything else is comma-separated.
    """
    first = raw[: raw.find(b"\n")] if b"\n" in raw[: 1 << 20] else raw[: 1 << 20]
    text = first.split(b"\r")[0].decode("utf-8", errors="replace")
    unquoted = "".join(text.split('"')[::2])
    if "," in unquoted:
        return ","
    counts = {s: unquoted.count(s) for s in (";", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def scan_records(raw: Text, sep: str) -> Records:
    """Find the records of a CSV text without parsing its cells (numpy, in blocks).

    Quotes follow RFC 4180 (``""`` inside a quoted cell is a quote): the parity of the quotes
    before a byte tells whether it is inside a quoted cell. A record ends at a line break
    (LF, CRLF or a lone CR) outside quotes. Blank records (nothing, or only spaces and tabs)
    are dropped, as pandas does.
    """
    buf = np.frombuffer(raw, dtype=np.uint8)
    n = len(buf)
    has_quotes = b'"' in raw
    sep_b = ord(sep)
    breaks_all: list[np.ndarray] = []  # every line break (for line numbers)
    ends: list[np.ndarray] = []  # record ends (line breaks outside quotes)
    delims: list[np.ndarray] = []  # separators in each record ending in a block
    carry_q = False  # inside quotes at the end of the previous block
    carry_d = 0  # separators of the record still open at the end of the previous block
    has_cr = b"\r" in raw
    plain, quoted_breaks = True, False
    for a in range(0, n, _BLOCK):
        c = buf[a : a + _BLOCK]
        br = np.flatnonzero(c == _LF)
        if has_cr:
            cr = np.flatnonzero(c == _CR)
            nxt = cr + a + 1
            lone = np.ones(len(cr), dtype=bool)
            inside = nxt < n
            lone[inside] = buf[nxt[inside]] != _LF
            if lone.any():  # CR-only line ends (old Mac files): rare, so sorting is cheap
                br = np.sort(np.concatenate((br, cr[lone])))
        is_d = c == sep_b
        if has_quotes:
            par = np.logical_xor.accumulate(c == _QUOTE)
            if carry_q:
                np.logical_not(par, out=par)
            carry_q = bool(par[-1])
            inside = par[br]
            quoted_breaks |= bool(inside.any())
            e = br[~inside]
            is_d &= ~par
            plain &= _plain_quotes(buf, np.flatnonzero(c == _QUOTE) + a, par[c == _QUOTE], sep_b)
        else:
            e = br
        breaks_all.append(br + a)
        # separators per record ending in this block (the first one began earlier)
        bounds = np.concatenate(([0], e + 1))
        closed = bounds[-1] >= len(c)  # the block ends with a record end
        if closed:
            bounds = bounds[:-1]
        seg = np.add.reduceat(is_d.view(np.uint8), bounds, dtype=np.int32).astype(np.int64)
        tail = 0 if closed else int(seg[-1])
        if not closed:
            seg = seg[:-1]
        if len(e):
            seg[0] += carry_d
            carry_d = tail
            ends.append(e + a)
            delims.append(seg)
        else:
            carry_d += tail
    all_breaks = np.concatenate(breaks_all) if breaks_all else np.zeros(0, dtype=np.int64)
    end = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    n_delim = np.concatenate(delims) if delims else np.zeros(0, dtype=np.int64)
    start = np.concatenate(([0], end + 1))[: len(end)]
    last_start = int(end[-1]) + 1 if len(end) else 0
    if last_start < n:  # a last record without a line break after it
        end = np.append(end, n)
        start = np.append(start, last_start)
        n_delim = np.append(n_delim, carry_d)
    # the line break itself is not part of the record; a CRLF's CR is not either
    stop = end.copy()
    crlf = (stop > start) & (stop < n)
    crlf[crlf] = buf[stop[crlf] - 1] == _CR
    crlf &= buf[np.minimum(stop, n - 1)] == _LF
    stop[crlf] -= 1
    if len(all_breaks) == len(end) or (len(all_breaks) == len(end) - 1 and last_start < n):
        line = np.arange(1, len(start) + 1)  # every line break ends a record
    else:
        line = np.searchsorted(all_breaks, start, side="left") + 1
    # blank records: no separator and nothing but spaces and tabs
    blank = np.zeros(len(start), dtype=bool)
    for i in np.flatnonzero(n_delim == 0):
        blank[i] = not raw[start[i] : stop[i]].strip(b" \t")
    keep = ~blank
    open_line = None
    if carry_q:
        open_line = int(line[keep][-1]) if keep.any() else 1
    return Records(
        line[keep],
        n_delim[keep] + 1,
        start[keep],
        stop[keep],
        open_line,
        plain_quotes=plain,
        quoted_breaks=quoted_breaks,
        spaces_lines=bool((blank & (stop > start)).any()),
    )


def _plain_quotes(buf: np.ndarray, at: np.ndarray, opens: np.ndarray, sep: int) -> bool:
    """Whether the quotes at byte offsets ``at`` quote as RFC 4180 says: an opening quote
    (``opens``: outside a quoted cell before it) starts a cell (after a separator, a line
    break, the file's start, or a closing quote: ``""``), and a closing quote ends one (before
    a separator, a line break, the file's end, or an opening quote)."""
    if not len(at):
        return True
    ends = np.array([sep, _LF, _CR, _QUOTE], dtype=np.uint8)
    o, c = at[opens], at[~opens]
    before = buf[np.maximum(o - 1, 0)]
    if not (np.isin(before, ends) | (o == 0)).all():
        return False
    after = buf[np.minimum(c + 1, len(buf) - 1)]
    return bool((np.isin(after, ends) | (c == len(buf) - 1)).all())


def _header_names(raw: Text, rec: Records, sep: str) -> list[str]:
    text = raw[rec.start[0] : rec.end[0]].decode("utf-8")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=sep), [])


def read_table(
    path: str | Path,
    *,
    categorical: bool = False,
    hint: str = "save the file as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')",
    separators: tuple[str, ...] = (",", ";", "\t"),
) -> pd.DataFrame:
    """A CSV file as text cells, exactly as written (nothing trimmed, guessed or converted).

    The formula guard winback writes (an apostrophe before ``= + - @``, tab or CR) is undone;
    the file line of each data row is in ``_row``; ``frame.attrs["separator"]`` records the
    separator (``,``, or ``;`` / tab found in the header, logged) and ``frame.attrs["sha256"]``
    the SHA-256 of the bytes read (hashed in a thread while they are parsed). ``categorical`` gives
    categorical columns (one copy of each distinct text: a 200 MB export stays small). The file
    is read through a memory map (the page cache's pages, not a copy), or as bytes where it
    cannot be mapped.

    Raises
    ------
    ResponseError
        For what makes the cells untrustworthy, all at once: not UTF-8, empty, a quoted cell
        never closed, rows with more or fewer cells than the header, repeated column names.
    """
    path = Path(path)
    if not path.exists():
        raise WinbackError(f"file not found: {path}")
    if path.is_dir():
        raise WinbackError(f"{path} is a folder, not a CSV file.")
    source = str(path)
    with open_text(path) as data, ThreadPoolExecutor(1) as pool:
        # the file's SHA-256 while it is parsed (no GIL held)
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        frame = _read_text(data, path, source, hint, separators, categorical)
        frame.attrs["sha256"] = digest.result()
    return frame


def _read_text(
    data: Text,
    path: Path,
    source: str,
    hint: str,
    separators: tuple[str, ...],
    categorical: bool,
) -> pd.DataFrame:
    raw = check_encoding(data, path, hint)
    if re.search(rb"[^ \t\r\n]", raw) is None:
        raise ResponseError([("empty", "the file is empty")], source=source)
    sep = sniff_separator(raw)
    if sep not in separators:
        raise ResponseError(
            [
                (
                    "separator",
                    f"line 1 is {SEPARATORS[sep]}-separated ({sep!r}), not comma-separated; "
                    "save the file as 'CSV UTF-8 (Comma delimited)'",
                )
            ],
            source=source,
        )
    quick = _quick_frame(raw, sep, categorical)
    if quick is not None:
        return _finish(quick, sep, source)
    rec = scan_records(raw, sep)
    problems: list[tuple[str, str]] = []
    if rec.open_quote_line is not None:
        problems.append(
            (
                "not a CSV table",
                f'line {rec.open_quote_line}: a quoted cell (starting with ") is never closed',
            )
        )
    names = _header_names(raw, rec, sep)
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        seen.setdefault(name, []).append(i + 1)
    for name, pos in seen.items():
        if len(pos) > 1:
            problems.append(
                (
                    "repeated column",
                    f"column {name!r} appears {len(pos)} times (columns "
                    f"{', '.join(f'#{p}' for p in pos)}); which one holds the data is ambiguous: "
                    "rename or delete the extra one",
                )
            )
    ragged = np.flatnonzero(rec.n_cells[1:] != len(names)) + 1
    if len(ragged) and rec.open_quote_line is None:
        for rec_i in ragged:
            k = int(rec.n_cells[rec_i])
            problems.append(
                (
                    "ragged row",
                    f"line {int(rec.line[rec_i])} has {k} cell{'s' if k != 1 else ''}, the header has "
                    f"{len(names)}"
                    + (
                        " (a separator inside a text that is not in quotes?)"
                        if k > len(names)
                        else ""
                    ),
                )
            )
    if problems:
        raise ResponseError(problems, source=source)
    frame = None
    if (
        rec.plain_quotes
        # Arrow 26 loses the LF of a quoted CRLF that straddles two of its blocks
        # (newlines_in_values): a text with line breaks inside cells goes to pandas
        and not rec.quoted_breaks
        and not rec.spaces_lines
        and len(rec.line) >= 2
    ):
        frame = _arrow_frame(raw, int(rec.start[1]), len(rec.line) - 1, sep, names, categorical)
    if frame is None:
        frame = _pandas_frame(raw, rec, sep, source, categorical)
    frame[ROW_COLUMN] = rec.line[1:].astype(np.int64)
    return _finish(frame, sep, source)


def _quick_frame(raw: Text, sep: str, categorical: bool) -> pd.DataFrame | None:
    """The frame of a text without quotes, read without the scan, or None.

    Without quotes each record is one line; when no line is blank (Arrow skips blank lines,
    so its rows are then as many as the lines) and no line ends in a lone CR, record ``i`` is
    on line ``i + 2``. A ragged row makes Arrow refuse the text; a line of spaces is a ragged
    row with two columns or more. Anything else is left to the scan, which says what is wrong.
    """
    if b'"' in raw:
        return None
    end = raw.find(b"\n")
    if end < 0:
        return None
    body = end + 1
    if b"\r" in raw and not _crlf_only(raw):  # every CR must end a CRLF
        return None
    names = raw[: end - (raw[end - 1 : end] == b"\r")].decode("utf-8").split(sep)
    if len(names) < 2 or len(set(names)) < len(names):  # repeated names: the scan says so
        return None
    n_lines = raw.count(b"\n", body) + (not raw.endswith(b"\n"))
    frame = _arrow_frame(raw, body, n_lines, sep, names, categorical)
    if frame is not None:
        frame[ROW_COLUMN] = np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame


def _crlf_only(raw: Text) -> bool:
    """Whether every CR of a text is followed by a LF (in blocks: no file-sized temporary)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    n = len(buf)
    if n and buf[-1] == _CR:
        return False
    scratch = np.empty(min(n, _BLOCK), dtype=bool)
    for a in range(0, n, _BLOCK):
        block = buf[a : a + _BLOCK]
        cr = np.flatnonzero(np.equal(block, _CR, out=scratch[: len(block)])) + a
        if (buf[cr + 1] != _LF).any():
            return False
    return True


def _finish(frame: pd.DataFrame, sep: str, source: str) -> pd.DataFrame:
    frame.attrs["separator"] = sep
    if sep != ",":
        log.warning(
            "%s: read as %s-separated (%r), as saved by Excel in many European locales",
            source,
            SEPARATORS[sep],
            sep,
        )
    return frame


def read_csv_text(path: str | Path, *, categorical: bool = False) -> pd.DataFrame:
    """Read a CSV as text cells, exactly as written, with file line numbers in ``_row``.

    Nothing is guessed, trimmed or converted; a UTF-8 byte-order mark is tolerated; a ``;`` or
    tab separator (Excel in many European locales) is recognised, used and recorded in
    ``frame.attrs["separator"]``; the formula guard winback writes is undone. See
    :func:`read_table` for what is refused (not UTF-8, ragged rows, repeated column names, an
    unclosed quote), all problems at once.
    """
    return read_table(path, categorical=categorical)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MB blocks: the inputs an import records."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pandas_frame(
    raw: Text, rec: Records, sep: str, source: str, categorical: bool
) -> pd.DataFrame:
    """The cells parsed by pandas' C parser (every cell as text), checked against the scan."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(
                io.BytesIO(raw),
                sep=sep,
                dtype=object,
                keep_default_na=False,
                na_values=[],
                index_col=False,
                quotechar='"',
                doublequote=True,
                skipinitialspace=False,
                encoding="utf-8",
                engine="c",
            )
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            raise ResponseError([("not a CSV table", str(exc).strip())], source=source) from None
    if len(df) != len(rec.line) - 1:  # pandas saw the records differently: trust neither
        raise ResponseError(
            [
                (
                    "not a CSV table",
                    f"{len(rec.line) - 1} records found but {len(df)} rows parsed; check the "
                    "quotes (a quote inside a cell must be doubled, and the cell quoted)",
                )
            ],
            source=source,
        )
    out = {}
    for c in df.columns:
        codes, uniques = pd.factorize(df[c].to_numpy(dtype=object), use_na_sentinel=True)
        out[unescape_cell(str(c))] = text_column(codes, uniques, categorical)
    return pd.DataFrame(out, index=df.index)


#: the largest block of the file Arrow parses at once (blocks are parsed in threads)
_ARROW_BLOCK = 1 << 24
#: bytes of the file Arrow parses into one table (its codes taken, the table let go)
_ARROW_PART = 1 << 25


def _arrow_frame(
    raw: Text, body: int, n_rows: int, sep: str, names: list[str], categorical: bool
) -> pd.DataFrame | None:
    """The ``n_rows`` records from byte ``body`` on, parsed by Arrow's CSV reader in threads,
    or None when Arrow cannot read them as the other readers would (a header name pandas would
    rename, a row of another length, another number of rows).

    The caller makes sure the text is one every reader parses alike: quotes as RFC 4180 has
    them, no line break inside a cell (Arrow 26 loses the LF of a quoted CRLF that straddles
    two of its blocks), no blank line of spaces. Arrow reads each column dictionary-encoded
    (its distinct texts once, in order of first appearance, as :func:`pandas.factorize`
    numbers them); the header is parsed by the caller.
    """
    if "" in names or names[0].startswith("\ufeff"):  # "Unnamed: i"; a second BOM dropped
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    keys = [f"c{i}" for i in range(len(names))]
    text = pa.dictionary(pa.int32(), pa.string())
    size = len(raw) - body
    read_options = pacsv.ReadOptions(
        column_names=keys,
        use_threads=True,
        block_size=int(min(_ARROW_BLOCK, max(1 << 20, min(size, _ARROW_PART) // 8))),
    )
    parse_options = pacsv.ParseOptions(
        delimiter=sep,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=False,
        ignore_empty_lines=True,
    )
    convert_options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(keys, text),
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=False,  # checked already
    )
    columns = [ChunkCodes() for _ in keys]
    rows = 0
    view = memoryview(raw)
    a = body
    while a < len(raw):  # a part at a time: each line is a record (no line break in a cell)
        b = raw.find(b"\n", a + _ARROW_PART) + 1 if len(raw) - a > _ARROW_PART else 0
        b = b or len(raw)
        try:
            table = pacsv.read_csv(
                pa.py_buffer(view[a:b]),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # e.g. a cell longer than a block: pandas reads it
        rows += table.num_rows
        for key, column in zip(keys, columns, strict=True):
            for chunk in table.column(key).chunks:
                column.add(chunk)
        del table
        a = b
    if rows != n_rows:
        return None
    out = {}
    for name, column in zip(names, columns, strict=True):
        codes, uniques = column.finish()
        out[unescape_cell(name)] = text_column(codes, uniques, categorical)
    return pd.DataFrame(out, index=pd.RangeIndex(rows), copy=False)
