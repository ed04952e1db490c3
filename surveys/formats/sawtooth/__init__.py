"""Sawtooth CBC data (moved into a package; split into modules in the next commit)."""

from surveys.formats.sawtooth.reading import OPTIONS, read, read_att, write

__all__ = ["OPTIONS", "read", "read_att", "write"]
