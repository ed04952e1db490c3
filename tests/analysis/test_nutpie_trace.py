"""nutpie's trace converted a chain at a time (analysis._nutpie_trace): the same DataTree as
nutpie's own conversion, from less memory (benchmarks/fit_memory.py measures the memory)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from analysis import _nutpie_trace

pytestmark = pytest.mark.skipif(
    not _nutpie_trace.applicable(), reason="a nutpie this conversion was not written against"
)


def _same_tree(mine, theirs) -> None:
    import xarray as xr

    assert sorted(mine.children) == sorted(theirs.children), (mine.groups, theirs.groups)
    for group in theirs.children:
        a, b = mine[group].to_dataset(), theirs[group].to_dataset()
        for ds in (a, b):
            ds.attrs.pop("created_at", None)  # a timestamp of each conversion
        xr.testing.assert_identical(a, b)
        for name in b.variables:
            assert a[name].dtype == b[name].dtype, (
                f"{group}/{name}: {a[name].dtype} vs {b[name].dtype}"
            )


def _batches(rng, tune: int, draws: list[int]):
    """Arrow record batches shaped as nutpie 0.16 stores a trace: per chain, warm-up rows then
    draws, each variable a list column with its dims and shape as field metadata."""
    import pyarrow as pa
    from arro3.core import RecordBatch

    def listcol(values: np.ndarray, dims: str) -> tuple[pa.Field, pa.Array]:
        n, *shape = values.shape
        arr = pa.LargeListArray.from_arrays(
            pa.array(np.arange(n + 1) * int(np.prod(shape)), type=pa.int64()),
            pa.array(values.reshape(-1)),
        )
        meta = {"dims": dims, "shape": ",".join(map(str, shape))}
        return pa.field("x", arr.type, metadata=meta), arr

    draw_batches, stat_batches = [], []
    for n_post in draws:
        n = tune + n_post
        fields, arrays = [], []
        for name, values, dims in (
            ("mu", rng.normal(size=(n, 2)), "parameter"),
            ("z", rng.normal(size=(n, 3, 2)), "respondent,parameter"),
        ):
            f, a = listcol(values, dims)
            fields.append(f.with_name(name))
            arrays.append(a)
        draw_batches.append(
            RecordBatch.from_arrow(pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)))
        )
        message = pa.array([None if i % 3 else f"diverged at {i}" for i in range(n)])
        stats = pa.RecordBatch.from_pydict(
            {
                "tuning": pa.array(np.arange(n) < tune),
                "diverging": pa.array(np.arange(n) % 3 == 0),
                "energy": pa.array(rng.normal(size=n)),
                "depth": pa.array(np.arange(n, dtype=np.uint64)),
                "divergence_message": message,
            }
        )
        stat_batches.append(RecordBatch.from_arrow(stats))
    return draw_batches, stat_batches


def test_chain_by_chain_conversion_builds_nutpies_own_tree_for_unequal_chains():
    # no sampling: record batches as nutpie stores them, the second chain cut short (an
    # interrupted fit), converted by nutpie's _arrow_to_arviz and chain by chain
    import nutpie
    import pandas as pd
    from nutpie.sample import _arrow_to_arviz

    rng = np.random.default_rng(3)
    coords = {"parameter": ["a", "b"], "respondent": ["r1", "r2", "r3"]}
    compiled = SimpleNamespace(coords=coords, reparameterized_names=[])
    settings = {"settings": {"store_gradient": False}}
    draws, stats = _batches(rng, tune=4, draws=[7, 5])
    theirs = _arrow_to_arviz(
        draws,
        stats,
        skip_vars=_nutpie_trace._skipped_stats(settings),
        reparameterized_names=[],
        coords={k: pd.Index(v) for k, v in coords.items()},
        save_warmup=False,
        attrs={
            "sample_stats": {
                "inference_library": "nutpie",
                "inference_library_version": nutpie.__version__,
                "inference_library_settings": json.dumps(settings),
            }
        },
    )
    mine = _nutpie_trace.trace_to_tree(list(draws), stats, settings, compiled)
    _same_tree(mine, theirs)
    z = mine["posterior"]["z"].to_numpy()
    assert z.shape == (2, 7, 3, 2), z.shape
    assert np.isnan(z[1, 5:]).all(), "the short chain's missing draws are not NaN"
    assert z.flags.writeable, "the posterior must be writeable (beta is built in its buffer)"


def test_chain_by_chain_sampling_gives_nutpies_draws_and_statistics(small_hb_compiled):
    import nutpie

    kw = {"draws": 25, "tune": 20, "chains": 2, "seed": 5, "progress_bar": False}
    theirs = nutpie.sample(small_hb_compiled, save_warmup=False, **kw)
    mine = _nutpie_trace.sample(small_hb_compiled, save_warmup=False, **kw)
    _same_tree(mine, theirs)
    # with the warm-up kept it is nutpie's own conversion
    kept = _nutpie_trace.sample(small_hb_compiled, save_warmup=True, **kw)
    assert "warmup_posterior" in kept.children, kept.groups


@pytest.fixture(scope="module")
def small_hb_compiled():
    from analysis import prepare_choice_data
    from analysis.hb import HBSettings, build_model, compile_nutpie, numba_mode
    from conjoint import make_design, simulate_choices
    from surveys import make_dataset
    from tests.conftest import SMALL_STUDY, SMALL_TRUTH, make_study

    study = make_study(SMALL_STUDY)
    design = make_design(study, method="balanced_overlap")
    responses = simulate_choices(design, SMALL_TRUTH, 4, n_respondents=12, sd=0.2)
    arrays = prepare_choice_data(make_dataset(responses, study, design=design))
    with numba_mode():
        model, _ = build_model(arrays, HBSettings())
        return compile_nutpie(model)
