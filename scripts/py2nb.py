"""Turn a percent-format script (``# %%`` code cells, ``# %% [markdown]`` cells of ``# `` lines)
into a Jupyter notebook without outputs: ``python scripts/py2nb.py in.py out.ipynb``.

The notebooks under ``notebooks/`` are made from ``notebooks/src/*.py`` this way, so that their
source is reviewable as plain Python; ``tests/test_notebooks.py`` checks they are in sync.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def convert(text: str) -> dict:
    cells: list[dict] = []
    kind, lines = None, []
    tags: list[str] = []

    def flush() -> None:
        while lines and not lines[-1].strip():
            lines.pop()
        if kind is None or not lines:
            return
        if kind == "markdown":
            src = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
            cells.append({"cell_type": "markdown", "metadata": {}, "source": _join(src)})
        else:
            meta = {"tags": list(tags)} if tags else {}
            cells.append(
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": meta,
                    "outputs": [],
                    "source": _join(lines),
                }
            )

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            rest = line[4:].strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            tags = [t.strip() for t in rest.split("tags=")[1].split(",")] if "tags=" in rest else []
            lines = []
        elif kind is not None:
            if not lines and not line.strip():
                continue
            lines.append(line)
    flush()
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _join(lines: list[str]) -> list[str]:
    return [ln + "\n" for ln in lines[:-1]] + lines[-1:]


def main(argv: list[str]) -> int:
    src, dst = Path(argv[0]), Path(argv[1])
    nb = convert(src.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{src.stem}-{i}"
    dst.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
