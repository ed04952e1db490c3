"""nutpie's sampling with its in-memory trace converted chain by chain: :func:`sample`.

nutpie 0.16 keeps the draws of every chain, warm-up included, in Arrow record batches while it
samples, and ``nutpie.sample`` then converts them all at once (``_arrow_to_arviz``): it fills
NumPy arrays of the warm-up and of the posterior for every variable while every chain's Arrow
data are still held. At the scale check (2,000 respondents x 20 parameters, 4 chains x (500 +
1,000) iterations) the Arrow data are 1.9 GB, the posterior ``z`` 1.3 GB and its warm-up copy
0.6 GB: the conversion, not the sampling, set the fit's peak (4.2 GB; benchmarks/RESULTS.md,
``benchmarks/fit_memory.py``).

:func:`sample` asks nutpie for the raw Arrow trace instead and converts it itself, a chain at a
time, letting go of each chain's Arrow data once its posterior rows are copied; the warm-up
rows, which the fit does not keep (``save_warmup=False``), are never copied. The posterior
arrays are allocated empty and filled by chain, so they take memory only as the Arrow data
give it back: the conversion's peak is the sampling's plus one chain's posterior. The result
is the DataTree nutpie's own conversion builds (the same groups, variables, dimensions,
coordinates, values and sampler attributes; ``tests/analysis/test_hb.py``), built with the same
``arviz.from_dict`` call.

It relies on nutpie's raw-trace interface and its private conversion helpers of the versions
it was written against (:func:`applicable`); with any other nutpie, or when the warm-up is
kept, ``nutpie.sample`` converts as it always did.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import numpy as np

_TESTED = ("0.16.",)
_NEEDED = ("_BackgroundSampler", "_add_arrow_data", "_arrow_to_arviz")

# sample statistics nutpie leaves out of the trace unless the setting is on (its _extract)
_OPTIONAL_STATS = {
    "store_gradient": ["gradient"],
    "store_unconstrained": ["unconstrained_draw"],
    "adapt_options.mass_matrix_options.store_mass_matrix": [
        "mass_matrix_inv",
        "mass_matrix_eigvals",
        "mass_matrix_stds",
    ],
    "store_divergences": [
        "divergence_start",
        "divergence_end",
        "divergence_momentum",
        "divergence_start_gradient",
    ],
    "store_transformed": [
        "transformed_position",
        "transformed_gradient",
        "transformation_mu",
    ],
}


def applicable() -> bool:
    """Whether this nutpie is one :func:`sample` was written against (raw trace, helpers)."""
    from importlib import import_module

    # the module, not the function nutpie's package exports under the same name
    ns = import_module("nutpie.sample")
    return version("nutpie").startswith(_TESTED) and all(hasattr(ns, n) for n in _NEEDED)


def sample(compiled: Any, **kwargs: Any) -> Any:
    """``nutpie.sample(compiled, **kwargs)``, its trace converted a chain at a time.

    The same arguments and the same DataTree as ``nutpie.sample``; with ``save_warmup=True``,
    ``return_raw_trace``, ``zarr_store`` or ``blocking=False``, or a nutpie this module does
    not know (:func:`applicable`), it is ``nutpie.sample`` itself."""
    import nutpie

    own = ("return_raw_trace", "zarr_store", "blocking", "store_unconstrained")
    if not applicable() or kwargs.get("save_warmup", True) or any(k in kwargs for k in own):
        return nutpie.sample(compiled, **kwargs)
    background = nutpie.sample(compiled, return_raw_trace=True, blocking=False, **kwargs)
    # as nutpie.sample waits: an interrupt keeps the draws so far, any other error stops it
    try:
        raw = background.wait()
    except KeyboardInterrupt:
        raw = background.abort()
    except BaseException:
        background.cancel()
        raise
    if not raw.is_arrow():  # pragma: no cover - an in-memory store is always Arrow
        raise RuntimeError("nutpie returned a trace that is not in memory (Arrow)")
    settings = background._settings.as_dict()
    model = background._compiled_model
    # the sampler holds the trace too: let go of it, and the raw trace gives its data up
    del background
    draw_batches, stat_batches = raw.get_arrow_trace()
    del raw
    return trace_to_tree(draw_batches, stat_batches, settings, model)


def _skipped_stats(settings: dict[str, Any]) -> list[str]:
    skip: list[str] = []
    for name, names in _OPTIONAL_STATS.items():
        node: Any = settings["settings"]
        for part in name.split("."):
            node = node.get(part, False) if isinstance(node, dict) else False
        if not node:
            skip.extend(names)
    return skip


def trace_to_tree(
    draw_batches: list[Any], stat_batches: list[Any], settings: dict[str, Any], compiled: Any
) -> Any:
    """The posterior and sample statistics of nutpie's raw Arrow trace (one record batch per
    chain), as ``nutpie.sample`` returns them with ``save_warmup=False``; ``draw_batches`` is
    emptied as it goes (each chain's Arrow data freed once copied)."""
    import arviz
    import pandas as pd
    from nutpie import __version__
    from nutpie.sample import _add_arrow_data

    n_chains = len(draw_batches)
    if n_chains != len(stat_batches):
        raise ValueError(f"{n_chains} chains of draws, {len(stat_batches)} of statistics")
    tuning = [int(stat.column("tuning").to_numpy().sum()) for stat in stat_batches]
    n_post = max(
        (draw.num_rows - t for draw, t in zip(draw_batches, tuning, strict=True)), default=0
    )
    posterior: dict[str, np.ndarray] = {}
    stats: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    for i in range(n_chains):
        draw = draw_batches[i]
        rows = draw.slice(tuning[i], draw.num_rows - tuning[i])
        _add_chain(posterior, n_chains, n_post, rows, i, dims)
        del rows
        draw_batches[i] = None  # this chain's Arrow data go now
        del draw
    skip = _skipped_stats(settings)
    for i, stat in enumerate(stat_batches):
        rows = stat.slice(tuning[i], stat.num_rows - tuning[i])
        _add_arrow_data(stats, n_post, rows, i, n_chains, dims, skip)
    for name in compiled.reparameterized_names or []:
        posterior.pop(name, None)  # nutpie keeps them only with store_unconstrained
    attrs = {
        "inference_library": "nutpie",
        "inference_library_version": __version__,
        "inference_library_settings": json.dumps(settings),
    }
    groups = {
        "posterior": posterior,
        "sample_stats": stats,
        "warmup_posterior": {},
        "warmup_sample_stats": {},
    }
    return arviz.from_dict(
        groups,
        dims=dims,
        coords={name: pd.Index(vals) for name, vals in compiled.coords.items()},
        save_warmup=False,
        attrs={"sample_stats": attrs},
    )


def _add_chain(
    data: dict[str, np.ndarray],
    n_chains: int,
    n_post: int,
    batch: Any,
    chain: int,
    dims: dict[str, list[str]],
) -> None:
    """nutpie's ``_add_arrow_data`` for one chain of draws, into arrays allocated empty
    (nutpie fills its own with NaN first, which makes them resident before any Arrow data
    are freed). The rows a chain lacks (an interrupted chain) and missing values are NaN
    (None for objects, 0 for other types), as in nutpie's."""
    import pyarrow

    num = batch.num_rows
    for name in batch.column_names:
        col = batch.column(name)
        meta = col.field.metadata
        item_shape = [int(s) for s in meta.get(b"shape", b"").decode().split(",") if s]
        arr = pyarrow.array(col)
        nulls = arr.null_count
        mask = arr.is_null().to_numpy(zero_copy_only=False) if nulls else None
        if hasattr(arr, "flatten"):
            arr = arr.flatten()
        dtype = np.dtype(arr.type.to_pandas_dtype())
        if name not in data:
            data[name] = np.empty((n_chains, n_post, *item_shape), dtype=dtype)
            item_dims = meta.get(b"dims", b"")
            dims[name] = item_dims.decode().split(",") if item_dims else []
        out = data[name][chain]
        fill: Any = np.nan if dtype.kind == "f" else (None if dtype.kind == "O" else 0)
        if num < n_post:
            out[num:] = fill
        values = arr.to_numpy(zero_copy_only=False)
        if mask is None:
            out[:num] = values.reshape((num, *item_shape))
        else:
            if values.shape[0] == num:
                values = values[~mask]
            out[:num] = fill
            out[:num][~mask] = values.reshape((int((~mask).sum()), *item_shape))
