"""nutpie's C callbacks without their slowest line: a faster-compiling copy of two wrappers.

nutpie hands its sampler a numba ``cfunc`` that wraps the PyTensor log-density; numba cannot
cache that wrapper (it closes over the model's data), so it compiles on every fit. In nutpie
0.16 the wrappers copy the results with ``out[...] = grad``, and numba lowers that slice
assignment with a shape-mismatch error path whose message formatting it compiles from scratch:
about 3 s of every fit (6.3 s -> 3.4 s for the wrappers of the benchmark model). The copies
below are nutpie's own functions (MIT licence) with an element loop instead; the results are
identical (tests/test_hb.py samples with and without them).

They replace nutpie's private ``_make_c_logp_func`` / ``_make_c_expand_func`` only while
:func:`faster_wrappers` is active, and only for the nutpie versions they were written against
with the signatures they expect; otherwise nutpie runs unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_TESTED = ("0.16.",)
_LOGP_PARAMS = ["n_dim", "logp_fn", "user_data", "shared_keys", "shared_data"]
_EXPAND_PARAMS = [
    "n_dim",
    "n_expanded",
    "expand_fn",
    "user_data",
    "shared_var_keys",
    "shared_data",
]


def _make_c_logp_func(
    n_dim: int, logp_fn: Any, user_data: Any, shared_keys: Any, shared_data: Any
) -> Any:
    import numba
    from nutpie.compile_pymc import make_extraction_fn

    extract = make_extraction_fn(logp_fn, shared_data, shared_keys, user_data.dtype)
    c_sig = numba.types.int64(
        numba.types.uint64,
        numba.types.CPointer(numba.types.double),
        numba.types.CPointer(numba.types.double),
        numba.types.CPointer(numba.types.double),
        numba.types.voidptr,
    )

    def logp_numba(dim, x_, out_, logp_, user_data_):
        if dim != n_dim:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            out = numba.carray(out_, (n_dim,))
            logp_val, grad = extract(x, user_data_)
            logp_[0] = logp_val
            finite = True
            for i in range(n_dim):
                g = grad[i]
                out[i] = g
                finite &= np.isfinite(g)
            if not finite:
                return 3
            if not np.isfinite(logp_val):
                return 4
        except Exception:  # nutpie's convention: a status code
            return 1
        return 0

    return logp_numba, c_sig


def _make_c_expand_func(
    n_dim: int,
    n_expanded: int,
    expand_fn: Any,
    user_data: Any,
    shared_var_keys: Any,
    shared_data: Any,
) -> Any:
    import numba
    from nutpie.compile_pymc import make_extraction_fn

    extract = make_extraction_fn(expand_fn, shared_data, shared_var_keys, user_data.dtype)
    c_sig = numba.types.int64(
        numba.types.uint64,
        numba.types.uint64,
        numba.types.CPointer(numba.types.double),
        numba.types.CPointer(numba.types.double),
        numba.types.voidptr,
    )

    def expand_numba(dim, expanded, x_, out_, user_data_):
        if dim != n_dim:
            return -1
        if expanded != n_expanded:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            out = numba.carray(out_, (n_expanded,))
            (values,) = extract(x, user_data_)
            for i in range(n_expanded):
                out[i] = values[i]
        except Exception:  # nutpie's convention: a status code
            return -2
        return 0

    return expand_numba, c_sig


def applicable() -> bool:
    """Whether the installed nutpie has the wrappers these replace."""
    import nutpie
    import nutpie.compile_pymc as ncp

    if not str(getattr(nutpie, "__version__", "")).startswith(_TESTED):
        return False
    for name, params in (
        ("_make_c_logp_func", _LOGP_PARAMS),
        ("_make_c_expand_func", _EXPAND_PARAMS),
    ):
        fn = getattr(ncp, name, None)
        if fn is None or list(inspect.signature(fn).parameters) != params:
            return False
    return hasattr(ncp, "make_extraction_fn")


@contextmanager
def faster_wrappers(enabled: bool = True) -> Iterator[bool]:
    """Use the faster-compiling wrappers inside the block (yields whether they are used)."""
    if not enabled or not applicable():
        yield False
        return
    import nutpie.compile_pymc as ncp

    saved = ncp._make_c_logp_func, ncp._make_c_expand_func
    ncp._make_c_logp_func = _make_c_logp_func
    ncp._make_c_expand_func = _make_c_expand_func
    try:
        yield True
    finally:
        ncp._make_c_logp_func, ncp._make_c_expand_func = saved
