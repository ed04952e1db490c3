"""nutpie's numba model, compiled faster and cached: :func:`compile_model`, a version of
``nutpie.compile_pymc_model`` for the numba backend built on nutpie's own helpers.

nutpie hands its sampler two numba ``cfunc`` C callbacks that wrap the PyTensor log density
(with its gradient) and the expansion of a draw. nutpie 0.16 compiles them anew in every process
(they close over the model, and the shared data arrays are embedded in them as constants), and
it splits the flat parameter vector with the sizes of this data set, so nothing compiled serves
other data. The differences here, everything else being nutpie's code (MIT licence):

- the results are copied with an element loop instead of ``out[...] = grad``, whose
  shape-mismatch error path numba compiles from scratch in every process (about 3 s);
- the extraction function is built with one-element stand-ins of the shared arrays (it only
  needs their types; the real arrays are read through the user-data pointers at run time), so
  the data is not embedded in the compiled code, and the callbacks take their sizes at run time;
- the flat vector is split with sizes symbolic in the model's dimensions (the number of
  respondents is a shared variable), so PyTensor's functions depend on the study, not the data;
- the callbacks are generated from source and cached through PyTensor's numba cache, keyed by
  PyTensor's own key of the wrapped function, the shared arrays' types and the versions of
  nutpie, numba and this file.

A fit of new data of a study fitted before (the next wave, a rerun) compiles in about 2.5 s
instead of 11-16 s (benchmarks/RESULTS.md). The log density, gradient and expansion equal nutpie's
own to rounding (the graph is the same; tests/test_hb.py calls both compiled callbacks). It is
used only for the nutpie versions it was written against, with the private helpers it expects
(:func:`applicable`); otherwise :func:`analysis.hb.compile_nutpie` uses nutpie's own.
"""

from __future__ import annotations

import hashlib
import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from winback import _numba_cache

_TESTED = ("0.16.",)
_NEEDED = (
    "_wrap_with_lock",
    "_compute_shapes",
    "_rv_dict_to_flat_array_wrapper",
    "make_user_data",
    "make_extraction_fn",
    "_prepare_dims_and_coords",
    "CompiledPyMCModel",
)

_LOGP_SRC = """
def logp_numba(dim, x_, out_, logp_, user_data_):
    try:
        x = numba.carray(x_, (dim,))
        out = numba.carray(out_, (dim,))
        logp_val, grad = extract(x, user_data_)
        if grad.size != dim:
            return -1
        logp_[0] = logp_val
        finite = True
        for i in range(dim):
            g = grad[i]
            out[i] = g
            finite &= np.isfinite(g)
        if not finite:
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND_SRC = """
def expand_numba(dim, expanded, x_, out_, user_data_):
    try:
        x = numba.carray(x_, (dim,))
        out = numba.carray(out_, (expanded,))
        (values,) = extract(x, user_data_)
        if values.size != expanded:
            return -1
        for i in range(expanded):
            out[i] = values[i]
    except Exception:
        return -2
    return 0
"""


def applicable() -> bool:
    """Whether the installed nutpie is a version this was written against, with the private
    helpers it uses."""
    import nutpie
    import nutpie.compile_pymc as ncp

    if not str(getattr(nutpie, "__version__", "")).startswith(_TESTED):
        return False
    if not all(hasattr(ncp, name) for name in _NEEDED):
        return False
    params = list(inspect.signature(ncp.make_extraction_fn).parameters)
    return params == ["inner", "shared_data", "shared_var_keys", "record_dtype"]


def _placeholders(shared_data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One-element stand-ins of the shared arrays (same dtype, rank and flags)."""
    out = {}
    for key, val in shared_data.items():
        p = np.zeros((1,) * val.ndim, dtype=val.dtype)
        p.flags.writeable = val.flags.writeable
        out[key] = p
    return out


def _callback(
    src: str,
    name: str,
    n_sizes: int,
    n_pointers: int,
    fn_pt: Any,
    shared_data: dict[str, np.ndarray],
    shared_var_keys: dict[Any, str],
    record_dtype: Any,
) -> Any:
    """The numba cfunc ``name`` of ``src`` wrapping the compiled PyTensor function ``fn_pt``;
    its C signature is ``int64(uint64 x n_sizes, double* x n_pointers, void*)``. Cached through
    PyTensor's numba cache when the wrapped function has a PyTensor cache key itself."""
    import numba
    import nutpie
    from nutpie.compile_pymc import make_extraction_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    t = numba.types
    c_sig = t.int64(*[t.uint64] * n_sizes, *[t.CPointer(t.double)] * n_pointers, t.voidptr)
    inner = fn_pt.vm.jit_fn
    keys = [shared_var_keys[v] for v in fn_pt.get_shared()]
    extract = make_extraction_fn(inner, _placeholders(shared_data), keys, record_dtype)
    py_func = getattr(inner, "py_func", None)
    inner_key = CACHED_SRC_FUNCTIONS.get(py_func) if py_func is not None else None
    cache_key = None
    if inner_key is not None:
        parts = [
            "winback-nutpie-callback-1",
            nutpie.__version__,
            version("numba"),
            hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
            src,
            inner_key,
            repr(record_dtype),
            repr([(shared_data[k].dtype.str, shared_data[k].ndim) for k in keys]),
            repr(c_sig),
        ]
        cache_key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    fn = compile_numba_function_src(
        src,
        name,
        global_env={"__name__": __name__, "numba": numba, "np": np, "extract": extract},
        cache_key=cache_key,
    )
    return numba.cfunc(c_sig, cache=cache_key is not None)(fn)


def _symbolic_shape(model: Any, rv: Any, shape: tuple[int, ...]) -> list[Any]:
    """``shape`` of a free variable's value with every axis that is a model dimension of
    (shared) variable length as that length, symbolically; other axes stay constants."""
    from pytensor.compile.sharedvalue import SharedVariable

    dims = model.named_vars_to_dims.get(rv.name) or ()
    out: list[Any] = list(shape)
    if len(dims) != len(shape):
        return out
    for i, d in enumerate(dims):
        length = model.dim_lengths.get(d) if d is not None else None
        if isinstance(length, SharedVariable) and int(length.get_value()) == shape[i]:
            out[i] = length
    return out


def _make_functions(model: Any, *, pymc_initial_point_fn: Any, var_names: Any) -> tuple[Any, ...]:
    """nutpie 0.16's ``_make_functions`` (numba, gradient, joined expansion) with the flat
    parameter vector of unknown length and each variable's slice and shape symbolic in the
    model's dimensions: the compiled functions then depend on the study, not on the number of
    respondents, and PyTensor's cache serves them to new data of the same study."""
    from math import prod

    import nutpie.compile_pymc as ncp
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as compile_pymc
    from pytensor.graph import clone_replace, rewrite_graph

    shapes = ncp._compute_shapes(model)
    value_vars = [model.rvs_to_values[var] for var in model.free_RVs]
    rewrites = ["canonicalize", "stabilize"]
    if not model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    logp: Any = rewrite_graph(model.logp(), include=rewrites)
    grads: Any = pt.grad(logp, value_vars)
    grad = pt.concatenate([pt.as_tensor(g, allow_xtensor_conversion=True).ravel() for g in grads])

    joined = pt.TensorType("float64", shape=(None,))(name="_unconstrained_point")
    names: list[str] = []
    slices: list[slice] = []
    conc_shapes: list[tuple[int, ...]] = []
    variables = []
    count = 0
    start: Any = 0
    for var in model.free_RVs:
        value_var = model.rvs_to_values[var]
        shape = tuple(shapes[value_var.name])
        names.append(value_var.name)
        conc_shapes.append(shape)
        slices.append(slice(count, count + prod(shape)))
        count += prod(shape)
        sym = _symbolic_shape(model, var, shape)
        if not sym:  # a scalar
            variables.append(joined[start])
            start = start + 1
            continue
        length = pt.prod(pt.stack([pt.as_tensor(v, dtype="int64") for v in sym]))
        variables.append(joined[start : start + length].reshape(sym, ndim=len(shape)))
        start = start + length
    num_free_vars = count
    initial_point_fn = ncp._rv_dict_to_flat_array_wrapper(
        pymc_initial_point_fn, names=names, shapes=conc_shapes
    )
    replacements = {
        model.rvs_to_values[var]: value.astype(var.dtype)
        for var, value in zip(model.free_RVs, variables, strict=True)
    }
    (logp, grad) = clone_replace([logp, grad], replacements)
    with model:
        logp_fn_pt = compile_pymc((joined,), (logp, grad), mode="NUMBA")

    reparameterized_names = [
        model.rvs_to_values[var].name
        for var in model.free_RVs
        if model.rvs_to_transforms.get(var) is not None
    ]
    remaining = [var for var in model.unobserved_value_vars if var.name not in names]
    if var_names is not None:
        wanted = set(var_names)
        remaining = [var for var in remaining if var.name in wanted]
    all_names, all_slices, all_shapes = names.copy(), slices.copy(), conc_shapes.copy()
    for var in remaining:
        shape = tuple(shapes[var.name])
        all_names.append(var.name)
        all_shapes.append(shape)
        all_slices.append(slice(count, count + prod(shape)))
        count += prod(shape)
    allvars = [
        pt.concatenate(
            [
                *[v.ravel() for v in variables],
                *[pt.as_tensor(var, allow_xtensor_conversion=True).ravel() for var in remaining],
            ]
        )
    ]
    with model:
        expand_fn_pt = compile_pymc(
            (joined,), allvars, givens=list(replacements.items()), mode="NUMBA"
        )
    return (
        num_free_vars,
        count,
        logp_fn_pt,
        expand_fn_pt,
        initial_point_fn,
        (all_names, all_slices, all_shapes),
        reparameterized_names,
    )


def _compile_pymc_model_numba(model: Any, pymc_initial_point_fn: Any, var_names: Any) -> Any:
    """nutpie 0.16's ``_compile_pymc_model_numba`` with the callbacks of :func:`_callback`."""
    import nutpie.compile_pymc as ncp

    (
        n_dim,
        n_expanded,
        logp_fn_pt,
        expand_fn_pt,
        initial_point_fn,
        shape_info,
        reparameterized_names,
    ) = _make_functions(model, pymc_initial_point_fn=pymc_initial_point_fn, var_names=var_names)
    shared_data: dict[str, np.ndarray] = {}
    shared_var_keys: dict[Any, str] = {}
    for val in [*logp_fn_pt.get_shared(), *expand_fn_pt.get_shared()]:
        if val in shared_var_keys:
            continue
        key = f"shared{len(shared_var_keys)}"  # nutpie: a random uuid; names only label fields
        shared_data[key] = np.array(val.get_value(), order="C", copy=True)
        shared_var_keys[val] = key
    for arr in shared_data.values():
        arr.flags.writeable = False
    user_data = ncp.make_user_data(shared_var_keys, shared_data)
    shared = (shared_data, shared_var_keys, user_data.dtype)
    # nutpie's signatures: logp(dim, x, grad, logp, user data), expand(dim, n, x, out, user data)
    logp_numba = _callback(_LOGP_SRC, "logp_numba", 1, 3, logp_fn_pt, *shared)
    expand_numba = _callback(_EXPAND_SRC, "expand_numba", 2, 2, expand_fn_pt, *shared)
    dims, coords = ncp._prepare_dims_and_coords(model, shape_info, reparameterized_names)
    return ncp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_numba,
        compiled_expand_func=expand_numba,
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn_pt,
        expand_func=expand_fn_pt,
        reparameterized_names=reparameterized_names,
    )


def compile_model(model: Any, var_names: Any = None) -> Any:
    """``nutpie.compile_pymc_model(model, var_names=var_names)`` with this module's
    compilation (check :func:`applicable` first): nutpie's defaults for the initial point
    (support point, jittered free variables), then :func:`_compile_pymc_model_numba`."""
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn

    _numba_cache.install()
    initial_point_fn = make_initial_point_fn(
        model=model,
        overrides=None,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    return _compile_pymc_model_numba(
        model, ncp._wrap_with_lock(initial_point_fn), var_names=var_names
    )
