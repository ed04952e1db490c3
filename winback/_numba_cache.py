"""Compiled-code cache entries that are checked before they are used.

numba's on-disk cache (which PyTensor's numba cache uses too) unpickles a data file
(``*.nbc``) and links the machine code in it without any check: a truncated or damaged file
stops the fit with an ``UnpicklingError``, or worse loads damaged code. :func:`install` makes
every cache entry this process writes carry a SHA-256 digest of its data file (a sidecar
``*.nbc.sha256``, so that other programs sharing the folder read the entries as before), and
every entry it reads count as missing, to be compiled and written anew, unless the digest
matches. An index (``*.nbi``) that cannot be read counts as empty. Entries written before, by
other programs or older versions (no digest), are compiled anew once.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = ["install"]

_INSTALLED = False


class CorruptCacheEntry(OSError):
    """A cache data file whose digest is missing or wrong (numba treats an OSError on loading
    as a missing entry)."""


def _digest_path(path: str) -> str:
    return path + ".sha256"


def install() -> None:
    """Check numba's cache entries in this process (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import pickle

    from numba.core import caching

    cls = caching.IndexDataCacheFile
    original_save = cls._save_data
    original_index = cls._load_index

    def _save_data(self: Any, name: str, data: Any) -> None:
        original_save(self, name, data)
        path = self._data_path(name)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with self._open_for_write(_digest_path(path)) as f:
            f.write(digest.encode())

    def _load_data(self: Any, name: str) -> Any:
        path = self._data_path(name)
        with open(path, "rb") as f:
            data = f.read()
        try:
            with open(_digest_path(path), "rb") as f:
                expected = f.read().decode().strip()
        except (OSError, UnicodeDecodeError):
            expected = ""
        if hashlib.sha256(data).hexdigest() != expected:
            for stale in (path, _digest_path(path)):
                try:
                    os.unlink(stale)
                except OSError:
                    pass
            raise CorruptCacheEntry(f"cache entry {path} has no valid digest; compiling anew")
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise CorruptCacheEntry(f"cache entry {path} cannot be read: {exc}") from exc

    def _load_index(self: Any) -> Any:
        try:
            return original_index(self)
        except FileNotFoundError:
            return {}
        except Exception:  # a damaged index: as if empty (it is rewritten on saving)
            return {}

    # numba has no hook for this: its cache file class is patched (for every cache)
    cls._save_data = _save_data  # type: ignore[method-assign]
    cls._load_data = _load_data  # type: ignore[method-assign]
    cls._load_index = _load_index  # type: ignore[method-assign]
    _INSTALLED = True
