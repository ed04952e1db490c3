"""A file's bytes mapped into memory: the reader's text without a copy of the file.

``Path.read_bytes`` copies a file into fresh memory of the process (a 200 MB export: 200 MB
touched for the first time, which on a virtual machine costs more than the parsing). A
read-only memory map shows the page cache's own pages instead. :class:`MappedText` gives such a
map the few ``bytes`` methods the CSV reader uses (``find``, ``count``, slices, ...) and the
buffer protocol, so that numpy, ``re``, Arrow and ``hashlib`` read it in place. Scans over the
whole text run in blocks through one small scratch array (no temporary the size of the file).
:func:`open_text` falls back to the bytes where a file cannot be mapped.
"""

from __future__ import annotations

import codecs
import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: bytes per block of a scan (its scratch array stays in the processor's cache)
_SCAN = 1 << 20


class MappedText:
    """The bytes of a memory map from byte ``lo`` on, read like ``bytes`` (slices are
    ``bytes``)."""

    def __init__(self, mm: mmap.mmap, lo: int = 0) -> None:
        self._mm, self._lo = mm, lo

    def __len__(self) -> int:
        return len(self._mm) - self._lo

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._mm)[self._lo :]

    def __getitem__(self, item: slice) -> bytes:
        a, b, step = item.indices(len(self))
        if step != 1:
            raise ValueError("MappedText slices have step 1")
        return self._mm[self._lo + a : self._lo + max(a, b)]

    def __contains__(self, sub: bytes) -> bool:
        return self.find(sub) >= 0

    def after(self, skip: int) -> MappedText:
        """The text from byte ``skip`` on, without a copy (e.g. after a byte-order mark)."""
        return MappedText(self._mm, self._lo + skip)

    def _span(self, start: int | None, end: int | None) -> tuple[int, int]:
        a, b, _ = slice(start, end).indices(len(self))
        return self._lo + a, self._lo + max(a, b)

    def find(self, sub: bytes, start: int | None = None, end: int | None = None) -> int:
        """Like :meth:`bytes.find`."""
        at = self._mm.find(sub, *self._span(start, end))
        return at - self._lo if at >= 0 else -1

    def rfind(self, sub: bytes, start: int | None = None, end: int | None = None) -> int:
        """Like :meth:`bytes.rfind`."""
        at = self._mm.rfind(sub, *self._span(start, end))
        return at - self._lo if at >= 0 else -1

    def startswith(self, prefix: bytes) -> bool:
        """Like :meth:`bytes.startswith`."""
        return self[: len(prefix)] == prefix

    def endswith(self, suffix: bytes) -> bool:
        """Like :meth:`bytes.endswith`."""
        return len(self) >= len(suffix) and self[len(self) - len(suffix) :] == suffix

    def _blocks(self, start: int | None = None, end: int | None = None) -> Iterator[np.ndarray]:
        a, b = self._span(start, end)
        buf = np.frombuffer(self._mm, dtype=np.uint8)
        for lo in range(a, b, _SCAN):
            yield buf[lo : min(lo + _SCAN, b)]

    def count(self, sub: bytes, start: int | None = None, end: int | None = None) -> int:
        """Like :meth:`bytes.count`, for one byte."""
        if len(sub) != 1:
            raise ValueError("MappedText.count counts one byte")
        scratch = np.empty(_SCAN, dtype=bool)
        total = 0
        for block in self._blocks(start, end):
            total += int(np.count_nonzero(np.equal(block, sub[0], out=scratch[: len(block)])))
        return total

    def isascii(self) -> bool:
        """Like :meth:`bytes.isascii`."""
        return all(block.max() < 0x80 for block in self._blocks() if len(block))

    def utf8_error(self) -> int | None:
        """The offset where the text stops being UTF-8 (as ``bytes.decode`` finds it), or
        None."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        at = 0  # where the block starts
        for block in [*self._blocks(), None]:
            held = len(decoder.getstate()[0])  # the end of a character cut by the last block
            try:
                if block is None:
                    decoder.decode(b"", final=True)
                else:
                    decoder.decode(block.tobytes())
            except UnicodeDecodeError as exc:
                return at - held + exc.start
            at += 0 if block is None else len(block)
        return None

    def close(self) -> None:
        """Unmap the file, unless a view of it is still alive (then it goes with its last
        view)."""
        with contextlib.suppress(BufferError):
            self._mm.close()


@contextlib.contextmanager
def open_text(path: Path) -> Iterator[bytes | MappedText]:
    """The bytes of a file: mapped into memory, or read where it cannot be mapped (an empty
    file, a file system without memory maps)."""
    try:
        with open(path, "rb") as fh:
            text: bytes | MappedText = MappedText(
                mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            )
    except (OSError, ValueError):
        text = path.read_bytes()
    try:
        yield text
    finally:
        if isinstance(text, MappedText):
            text.close()
