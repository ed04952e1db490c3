"""A package's names that load their module on first use (issue 19 item 5: start-up time).

A package lists where each of its public names lives and hands the list to
:func:`lazy_names`, which gives the package its module-level ``__getattr__`` and ``__dir__``
(PEP 562)::

    from winback._lazy import lazy_names as _lazy_names  # private: not one of its names

    _MODULE_OF = {"fit": "analysis.model", "simulate": "analysis.simulator"}
    __getattr__, __dir__ = _lazy_names(__name__, _MODULE_OF)

``from analysis import fit`` then imports ``analysis.model`` only, so that a command's stage
loads what it uses and nothing else. A name, once loaded, is kept in the package (later
look-ups do not come back here), as an import at the package's top would have bound it; with
``keep=False`` every look-up asks the module again, so that a name patched in its module (a
test replacing ``winback.pipeline.fit.run_fit``) is what the package gives. ``dir(package)``
lists every name, loaded or not. The names stay visible to type checkers through
``if TYPE_CHECKING:`` imports in the package.

This module imports nothing from winback (it is the bottom of the layers), so every layer may
use it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, module_of: Mapping[str, str], *, keep: bool = True
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (it must be imported, i.e. call this from its
        ``__init__``).
    module_of : Mapping[str, str]
        Each lazy name -> the full name of the module that defines it.
    keep : bool
        Keep a name in the package once loaded (default); False: look it up in its module
        every time.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to bind at the package's module level.

    Examples
    --------
    >>> _MODULE_OF = {"fit": "analysis.model"}  # doctest: +SKIP
    >>> __getattr__, __dir__ = lazy_names(__name__, _MODULE_OF)  # doctest: +SKIP
    """
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        if keep:
            namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(module_of))

    return __getattr__, __dir__
