"""Part-worth draws: what every simulation and search runs on.

:class:`PartWorthDraws` holds individual part-worths (sample, respondent, parameter) on the
original scale with the respondents' ids and answers (for weights and segments), from a fitted
model's posterior draws, its posterior mean or an array; :func:`as_draws` is how every simulator
and search function reads its ``source`` argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from conjoint.encoding import make_encoding
from winback.errors import WinbackError, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = ["MEMORY_LIMIT", "PartWorthDraws", "as_draws", "sample_chunks"]

#: bytes the simulator's per-draw arrays may take at once; beyond, it streams over the draws
MEMORY_LIMIT = 2**28


def sample_chunks(n_samples: int, per_sample_bytes: float, limit: float) -> list[slice]:
    """Consecutive slices of ``n_samples`` draws, each taking at most ``limit`` bytes at
    ``per_sample_bytes`` a draw (at least one draw per slice).

    Examples
    --------
    >>> sample_chunks(5, 100.0, 250.0)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    size = max(1, int(limit // max(per_sample_bytes, 1.0)))
    return [slice(i, min(i + size, n_samples)) for i in range(0, n_samples, size)]


@dataclass(frozen=True)
class PartWorthDraws:
    """Individual part-worths for simulation: (sample, respondent, parameter) on the original
    scale, the respondents' ids and (optionally) their answers for weights and segments.

    ``from_model`` takes every posterior draw (or an evenly thinned ``n_draws`` of them);
    ``point`` is the posterior mean (one sample), for searches at point estimates.

    ``beta`` is float64, or float32 when given as float32 (the draws of a loaded fit file):
    half the memory, and every computation on it (utilities, shares, WTP) is done in float64.
    """

    study: Study
    names: tuple[str, ...]
    beta: np.ndarray = field(repr=False)
    respondent_ids: tuple[str, ...]
    respondents: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.beta)
        b = b if b.dtype == np.float32 else np.asarray(b, dtype=float)
        if b.ndim != 3 or b.shape[1] != len(self.respondent_ids) or b.shape[2] != len(self.names):
            raise WinbackError(
                f"part-worth draws need shape (sample, {len(self.respondent_ids)} respondents, "
                f"{len(self.names)} parameters); got {b.shape}."
            )
        object.__setattr__(self, "beta", b)

    @classmethod
    def from_model(
        cls, model: HBModel, n_draws: int | None = None, *, random_seed: int = 1
    ) -> PartWorthDraws:
        """All posterior draws of a fitted model (``n_draws``: evenly thinned to that many)."""
        b = model.beta_draws()
        flat = b.reshape(-1, b.shape[2], b.shape[3])
        if n_draws is not None and n_draws < flat.shape[0]:
            idx = np.linspace(0, flat.shape[0] - 1, n_draws).round().astype(int)
            flat = flat[idx]
        resp = model.dataset_.respondents
        respondents = None
        if resp is not None and "respondent_id" in resp.columns:
            respondents = resp.set_index(resp["respondent_id"].astype(str))
        return cls(model.study, tuple(model.names), flat, tuple(model.respondent_ids), respondents)

    @classmethod
    def from_array(
        cls,
        study: Study,
        beta: np.ndarray,
        *,
        respondent_ids: Sequence[str] | None = None,
        respondents: pd.DataFrame | None = None,
    ) -> PartWorthDraws:
        """From an array (respondent, parameter) or (sample, respondent, parameter), e.g. the
        true part-worths of a simulation, in :func:`conjoint.encoding.parameter_names` order."""
        names = tuple(make_encoding(study).names)
        b = np.asarray(beta)
        b = b if b.dtype == np.float32 else np.asarray(b, dtype=float)
        if b.ndim == 2:
            b = b[None]
        ids = (
            tuple(respondent_ids)
            if respondent_ids is not None
            else tuple(str(i + 1) for i in range(b.shape[1]))
        )
        return cls(study, names, b, ids, respondents)

    @property
    def n_samples(self) -> int:
        return int(self.beta.shape[0])

    @property
    def n_respondents(self) -> int:
        return int(self.beta.shape[1])

    def point(self) -> PartWorthDraws:
        """The posterior mean part-worths as a single sample."""
        return replace(self, beta=self.beta.mean(axis=0, keepdims=True, dtype=np.float64))

    def subset(self, mask: np.ndarray) -> PartWorthDraws:
        """Only the respondents where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        ids = tuple(np.asarray(self.respondent_ids)[mask])
        resp = self.respondents.loc[list(ids)] if self.respondents is not None else None
        return replace(self, beta=self.beta[:, mask], respondent_ids=ids, respondents=resp)

    def column(self, name: str) -> pd.Series:
        """A respondent answer (weights, segments) aligned with ``respondent_ids``."""
        if self.respondents is None or name not in self.respondents.columns:
            have = [] if self.respondents is None else list(self.respondents.columns)
            raise WinbackError(
                f"No respondent column '{name}' for weights or segments. "
                f"Available: {list_valid(have) if have else 'none (no respondent answers)'}."
            )
        return self.respondents[name].reindex(list(self.respondent_ids))


def as_draws(source: HBModel | PartWorthDraws) -> PartWorthDraws:
    """The part-worth draws of a fitted model (all posterior draws), or the draws as given.

    What every simulator and search function does first with its ``source`` argument.

    Examples
    --------
    >>> draws = as_draws(model)  # doctest: +SKIP
    >>> as_draws(draws) is draws  # doctest: +SKIP
    True
    """
    if isinstance(source, PartWorthDraws):
        return source
    return PartWorthDraws.from_model(source)
