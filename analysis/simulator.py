"""The market simulator: shares of preference for a market of offers, with posterior bands.

A market is a list of products (one level per attribute, numeric attributes at any value
inside the tested range), optionally the lost customer's status quo and the none alternative.
For every posterior draw and every respondent the chosen rule turns utilities into choice
probabilities; weighted averages over respondents give one share per draw, so every share has a
posterior mean and an interval.

Rules (as in Sawtooth's simulator):

* ``logit`` (share of preference): ``exp(e * U) / sum exp(e * U)`` with exponent ``e``;
* ``first_choice``: each respondent takes the highest-utility alternative (ties split);
* ``rfc`` (randomized first choice): first choice after adding normal error to every level's
  part-worth (attribute variability, shared by all products with that level, which is what
  corrects for similarity) and optionally Gumbel error to every product (product variability),
  ``rfc_draws`` times per respondent and posterior draw, seeded.

Examples
--------
>>> from analysis.simulator import Market, simulate
>>> market = Market.from_dict({"products": [{"name": "Ours", "own": True, "speed": "1 Gbps"}]},
...                           study)  # doctest: +SKIP
>>> simulate(model, market).shares  # doctest: +SKIP
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from conjoint.encoding import make_encoding
from winback import limits
from winback.errors import WinbackError, list_valid
from winback.study import Attribute, Study, format_level

if TYPE_CHECKING:
    from analysis.model import HBModel

__all__ = [
    "Market",
    "PartWorthDraws",
    "Product",
    "Simulation",
    "as_draws",
    "encode_products",
    "level_positions",
    "posterior_band",
    "read_market",
    "respondent_weights",
    "simulate",
    "source_of_volume",
]

Rule = Literal["logit", "first_choice", "rfc"]
RULES: tuple[str, ...] = ("logit", "first_choice", "rfc")
NONE = "none"


# --------------------------------------------------------------------------------------------
# Part-worth draws: what every simulation runs on
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartWorthDraws:
    """Individual part-worths for simulation: (sample, respondent, parameter) on the original
    scale, the respondents' ids and (optionally) their answers for weights and segments.

    ``from_model`` takes every posterior draw (or an evenly thinned ``n_draws`` of them);
    ``point`` is the posterior mean (one sample), for searches at point estimates.
    """

    study: Study
    names: tuple[str, ...]
    beta: np.ndarray = field(repr=False)
    respondent_ids: tuple[str, ...]
    respondents: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.beta, dtype=float)
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
        b = np.asarray(beta, dtype=float)
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
        return replace(self, beta=self.beta.mean(axis=0, keepdims=True))

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


# --------------------------------------------------------------------------------------------
# Products and markets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One offer: a level (label, or a number for numeric attributes) for every attribute.

    ``own``: one of ours (searches replace it; source of volume calls its losses
    cannibalisation). ``status_quo``: carries the study's status-quo constant (the customer's
    previous plan).
    """

    name: str
    levels: Mapping[str, Any]
    own: bool = False
    status_quo: bool = False


@dataclass(frozen=True)
class Market:
    """Products and the simulation options (``market.toml``)."""

    products: tuple[Product, ...]
    rule: Rule = "logit"
    exponent: float = 1.0
    none: bool = True
    rfc_draws: int = 20
    attribute_variability: float = 1.0
    product_variability: float = 0.0
    extrapolate: bool = False

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.products]

    def product(self, name: str) -> Product:
        for p in self.products:
            if p.name == name:
                return p
        raise WinbackError(
            f"No product '{name}' in the market. Products: {list_valid(self.names)}."
        )

    def with_product(self, product: Product) -> Market:
        """The market with ``product`` added, or replacing the product of the same name."""
        if product.name in self.names:
            return replace(
                self,
                products=tuple(product if p.name == product.name else p for p in self.products),
            )
        return replace(self, products=(*self.products, product))

    def without(self, name: str) -> Market:
        self.product(name)
        return replace(self, products=tuple(p for p in self.products if p.name != name))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], study: Study, *, source: str = "market") -> Market:
        """Parse and check a market (``{"products": [...], "options": {...}}``)."""
        return _parse_market(data, study, source)

    def __repr__(self) -> str:
        own = [p.name for p in self.products if p.own]
        return (
            f"Market: {len(self.products)} products ({', '.join(self.names)}), own: "
            f"{', '.join(own) or 'none'}; rule {self.rule}"
            + (f" (exponent {self.exponent:g})" if self.rule == "logit" else "")
            + f"; none alternative {'on' if self.none else 'off'}"
        )


_OPTION_KEYS = (
    "rule",
    "exponent",
    "none",
    "rfc_draws",
    "attribute_variability",
    "product_variability",
    "extrapolate",
)
_PRODUCT_KEYS = ("name", "own", "status_quo")


def _parse_market(data: Mapping[str, Any], study: Study, source: str) -> Market:
    problems: list[str] = []
    unknown = [k for k in data if k not in ("products", "options")]
    if unknown:
        problems.append(
            f"{source}: unknown table(s) {list_valid(unknown)}; valid: [[products]], [options]."
        )
    raw_opts = data.get("options", {}) or {}
    if not isinstance(raw_opts, Mapping):
        problems.append(f"{source}: [options] must be a table, got {raw_opts!r}.")
        raw_opts = {}
    opts: dict[str, Any] = {}
    for k, v in raw_opts.items():
        if k not in _OPTION_KEYS:
            problems.append(
                f"{source}: unknown option '{k}'{_hint(k, _OPTION_KEYS)}. Valid: "
                f"{list_valid(list(_OPTION_KEYS))}."
            )
            continue
        opts[k] = v
    if "rule" in opts and opts["rule"] not in RULES:
        problems.append(
            f"{source}: rule {opts['rule']!r} is not valid; use {list_valid(list(RULES))}."
        )
    for k in ("exponent", "attribute_variability", "product_variability"):
        if k in opts and (
            not _is_number(opts[k])
            or float(opts[k]) < 0
            or (k == "exponent" and float(opts[k]) == 0)
        ):
            problems.append(f"{source}: {k} must be a positive number, got {opts[k]!r}.")
    if "rfc_draws" in opts and (not isinstance(opts["rfc_draws"], int) or opts["rfc_draws"] < 1):
        problems.append(
            f"{source}: rfc_draws must be a positive integer, got {opts['rfc_draws']!r}."
        )
    for k in ("none", "extrapolate"):
        if k in opts and not isinstance(opts[k], bool):
            problems.append(f"{source}: {k} must be true or false, got {opts[k]!r}.")
    if "none" in opts and opts["none"] and not study.has_none:
        problems.append(f"{source}: none = true but the study has no none alternative.")
    raw_products = data.get("products")
    products: list[Product] = []
    if not isinstance(raw_products, list) or not raw_products:
        problems.append(f"{source}: needs at least one [[products]] table.")
        raw_products = []
    names_seen: set[str] = set()
    attrs = {a.name: a for a in study.attributes}
    extrapolate = bool(opts.get("extrapolate", False))
    for i, raw in enumerate(raw_products, start=1):
        where = f"{source}: product {i}"
        if not isinstance(raw, Mapping):
            problems.append(f"{where} must be a table, got {raw!r}.")
            continue
        name = str(raw.get("name", "")).strip()
        if not name:
            problems.append(f"{where} has no name.")
            name = f"product {i}"
        where = f"{source}: product '{name}'"
        if name in names_seen:
            problems.append(f"{where}: the name is used twice.")
        if name == NONE:
            problems.append(f"{where}: 'none' is reserved for the none alternative.")
        names_seen.add(name)
        levels: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _PRODUCT_KEYS:
                continue
            if k not in attrs:
                problems.append(
                    f"{where}: unknown attribute '{k}'{_hint(k, list(attrs))}. Attributes: "
                    f"{list_valid(list(attrs))}."
                )
                continue
            err = _check_level(attrs[k], v, extrapolate)
            if err:
                problems.append(f"{where}: {err}")
            levels[k] = v
        missing = [a for a in attrs if a not in levels]
        if missing:
            problems.append(
                f"{where}: no level for {list_valid(missing)} (every attribute needs one)."
            )
        for flag in ("own", "status_quo"):
            if flag in raw and not isinstance(raw[flag], bool):
                problems.append(f"{where}: {flag} must be true or false, got {raw[flag]!r}.")
        if raw.get("status_quo") and study.status_quo is None:
            problems.append(f"{where}: status_quo = true but the study has no status quo.")
        products.append(
            Product(name, levels, bool(raw.get("own", False)), bool(raw.get("status_quo", False)))
        )
    if problems:
        raise WinbackError(
            f"{len(problems)} problem(s) in {source}:\n  - " + "\n  - ".join(problems)
        )
    kw: dict[str, Any] = {k: opts[k] for k in opts}
    kw.setdefault("none", study.has_none)
    for k in ("exponent", "attribute_variability", "product_variability"):
        if k in kw:
            kw[k] = float(kw[k])
    return Market(tuple(products), **kw)


def read_market(path: str | Path, study: Study) -> Market:
    """Read ``market.toml``: ``[[products]]`` (``name``, optional ``own``, one key per
    attribute) and optional ``[options]`` (``rule``, ``exponent``, ``none``, ...).

    Examples
    --------
    >>> market = read_market("market.toml", study)  # doctest: +SKIP
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WinbackError(f"Market file not found: {p}") from None
    except tomllib.TOMLDecodeError as e:
        raise WinbackError(f"{p} is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise WinbackError(
            f"{p}: not UTF-8 text at byte {e.start}; save the market file as UTF-8."
        ) from None
    except IsADirectoryError:
        raise WinbackError(f"{p} is a folder; give the market file (market.toml).") from None
    products = data.get("products")
    if isinstance(products, list) and limits.PRODUCTS.exceeded(len(products)):
        raise WinbackError(limits.PRODUCTS.message(len(products), f"{p} [[products]]"))
    return _parse_market(data, study, str(p))


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def _hint(word: str, valid: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_level(attr: Attribute, value: Any, extrapolate: bool) -> str | None:
    if attr.index_of(value) >= 0:
        return None
    if attr.numeric and _is_number(value):
        vals = [float(v) for v in attr.levels]
        lo, hi = min(vals), max(vals)
        if lo <= float(value) <= hi or extrapolate:
            return None
        return (
            f"{attr.name} = {value!r} lies outside the tested range {format_level(lo)} - "
            f"{format_level(hi)} (set extrapolate = true in [options] to allow it)."
        )
    return (
        f"unknown level {value!r} for attribute '{attr.name}'"
        f"{_hint(str(value), attr.level_labels())}. Valid levels: {list_valid(attr.level_labels())}"
        + (" (or any number in between)." if attr.numeric else ".")
    )


def level_positions(
    attr: Attribute, value: Any, *, extrapolate: bool = False
) -> list[tuple[int, float]]:
    """Level indices and weights that make ``value``: one level with weight 1, or two adjacent
    tested values of a numeric attribute (linear interpolation; beyond the range, the two
    nearest with a weight outside [0, 1] when ``extrapolate``)."""
    i = attr.index_of(value)
    if i >= 0:
        return [(i, 1.0)]
    err = _check_level(attr, value, extrapolate)
    if err:
        raise WinbackError(err)
    x = float(value)
    vals = np.asarray(attr.levels, dtype=float)
    order = np.argsort(vals)
    sv = vals[order]
    j = int(np.clip(np.searchsorted(sv, x) - 1, 0, len(sv) - 2))
    w = (x - sv[j]) / (sv[j + 1] - sv[j])
    return [(int(order[j]), 1.0 - w), (int(order[j + 1]), w)]


def encode_products(
    study: Study, products: Sequence[Product], *, extrapolate: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Design rows (product, parameter) and level memberships (product, all levels).

    The level membership matrix has one column per level of every attribute (in study order)
    holding the (interpolation) weight of that level in the product; randomized first choice
    uses it to share level errors between products.
    """
    enc = make_encoding(study)
    offsets = np.cumsum([0] + [a.n_levels for a in study.attributes])
    x = np.zeros((len(products), enc.n_parameters))
    member = np.zeros((len(products), int(offsets[-1])))
    for p, prod in enumerate(products):
        for a, attr in enumerate(study.attributes):
            if attr.name not in prod.levels:
                raise WinbackError(f"Product '{prod.name}' has no level for '{attr.name}'.")
            for i, w in level_positions(attr, prod.levels[attr.name], extrapolate=extrapolate):
                x[p] += w * enc.tables[a][i]
                member[p, offsets[a] + i] += w
        if prod.status_quo:
            if enc.sq_index is None:
                raise WinbackError(
                    f"Product '{prod.name}' is the status quo, but the study has none."
                )
            x[p, enc.sq_index] = 1.0
    return x, member


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


@dataclass
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    shares : DataFrame
        ``[segment,] product, own, share, lower, upper`` (fractions; none as product ``none``).
    share_draws : ndarray, shape (sample, alternative)
        The weighted share of every alternative (products, then none) in every sample.
    respondent_shares : DataFrame
        Each respondent's choice probabilities (posterior mean), one column per alternative.
    """

    market: Market
    alternatives: list[str]
    shares: pd.DataFrame
    share_draws: np.ndarray = field(repr=False)
    respondent_shares: pd.DataFrame = field(repr=False)
    probabilities: np.ndarray = field(repr=False)  # (sample, respondent, alternative)
    weights: np.ndarray = field(repr=False)
    interval: float = 0.9

    def __repr__(self) -> str:
        lines = [
            f"Simulation ({self.market.rule}, {self.share_draws.shape[0]} draws, "
            f"{len(self.weights)} respondents, {self.interval:.0%} bands):"
        ]
        for row in self.shares.itertuples():
            seg = f"[{row.segment}] " if "segment" in self.shares.columns else ""
            lines.append(
                f"  {seg}{row.product:<24} {row.share:6.1%}  [{row.lower:6.1%}, {row.upper:6.1%}]"
            )
        return "\n".join(lines)


def respondent_weights(
    draws: PartWorthDraws, weights: str | Sequence[float] | np.ndarray | None
) -> np.ndarray:
    """Respondent weights adding up to one, from a respondent column or one number each.

    Parameters
    ----------
    draws : PartWorthDraws
    weights : str, sequence of float or None
        A respondent column (customer value, tenure, ...), one non-negative weight per
        respondent, or None for equal weights.

    Returns
    -------
    np.ndarray
        (respondent,) weights that add up to one.

    Raises
    ------
    WinbackError
        For an unknown column, a missing or negative weight (naming the first respondent), a
        wrong count, or weights adding up to zero.

    Examples
    --------
    >>> w = respondent_weights(draws, "customer_value")  # doctest: +SKIP
    >>> float(w.sum())  # doctest: +SKIP
    1.0
    """
    n = draws.n_respondents
    if weights is None:
        return np.full(n, 1.0 / n)
    if isinstance(weights, str):
        col = draws.column(weights)
        w = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise WinbackError(
                f"Weight column '{weights}': {int(bad.sum())} respondent(s) without a valid "
                f"non-negative number (first: respondent {draws.respondent_ids[i]}, value "
                f"{col.iloc[i]!r})."
            )
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
            raise WinbackError(f"weights must be {n} non-negative numbers, one per respondent.")
    if w.sum() <= 0:
        raise WinbackError("weights add up to zero.")
    return w / w.sum()


def utilities(draws: PartWorthDraws, x: np.ndarray, *, none: bool) -> np.ndarray:
    """(sample, respondent, alternative) utilities of the rows ``x`` (then none, if asked)."""
    if none:
        names = list(draws.names)
        if NONE not in names:
            raise WinbackError("The market includes none, but the model has no none constant.")
        row = np.zeros((1, x.shape[1]))
        row[0, names.index(NONE)] = 1.0
        x = np.vstack([x, row])  # none as one more row: one matrix product, no copy after
    return np.matmul(draws.beta, x.T)


def _logit(u: np.ndarray, exponent: float) -> np.ndarray:
    """Logit probabilities over the last axis, in place on one copy.

    One global shift is exact and avoids the slow maximum over the short alternative axis (the
    simulator's bottleneck), as long as no row lies so far below the top that all its terms
    underflow; otherwise every row is shifted by its own maximum.
    """
    v = np.multiply(u, exponent)
    top = v.max(initial=-np.inf)
    if top - v.min(initial=np.inf) < 600:
        v -= top
    else:
        v -= v.max(axis=-1, keepdims=True)
    np.exp(v, out=v)
    v /= v.sum(axis=-1, keepdims=True)
    return v


def _first_choice(u: np.ndarray) -> np.ndarray:
    top = u >= u.max(axis=-1, keepdims=True) - 1e-12
    return top / top.sum(axis=-1, keepdims=True)


def _rfc(
    draws: PartWorthDraws,
    x: np.ndarray,
    member: np.ndarray,
    market: Market,
    rng: np.random.Generator,
) -> np.ndarray:
    """Randomized first choice: mean over ``rfc_draws`` error draws of first-choice shares."""
    base = utilities(draws, x, none=market.none)
    s, r, j = base.shape
    n_levels = member.shape[1]
    out = np.zeros_like(base)
    # level errors (sd = attribute_variability) enter a product through its level weights;
    # none has no levels, so it only gets product error
    mem = np.concatenate([member, np.zeros((1, n_levels))]) if market.none else member
    for _ in range(market.rfc_draws):
        u = base.copy()
        if market.attribute_variability > 0:
            eps = rng.normal(0.0, market.attribute_variability, size=(s, r, n_levels))
            u += eps @ mem.T
        if market.product_variability > 0:
            u += rng.gumbel(0.0, market.product_variability, size=(s, r, j))
        out += _first_choice(u)
    return out / market.rfc_draws


def choice_probabilities(
    draws: PartWorthDraws, market: Market, *, random_seed: int = 1
) -> np.ndarray:
    """(sample, respondent, alternative) choice probabilities: products, then none."""
    x, member = encode_products(draws.study, market.products, extrapolate=market.extrapolate)
    if market.rule == "rfc":
        return _rfc(draws, x, member, market, np.random.default_rng(random_seed))
    u = utilities(draws, x, none=market.none)
    if market.rule == "first_choice":
        return _first_choice(u)
    return _logit(u, market.exponent)


def posterior_band(values: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """The equal-tailed posterior interval over the draws (axis 0): (lower, upper).

    Examples
    --------
    >>> lo, hi = posterior_band(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 0.5)
    >>> float(lo), float(hi)
    (1.0, 3.0)
    """
    lo = (1 - interval) / 2
    return np.quantile(values, lo, axis=0), np.quantile(values, 1 - lo, axis=0)


#: the former private names, still imported by analysis.pricing
_as_draws = as_draws
_weights = respondent_weights
_band = posterior_band


def simulate(
    source: HBModel | PartWorthDraws,
    market: Market | Mapping[str, Any] | str | Path,
    *,
    weights: str | Sequence[float] | np.ndarray | None = None,
    segment: str | None = None,
    interval: float = 0.9,
    random_seed: int = 1,
) -> Simulation:
    """Shares of preference of a market, for every posterior draw, with bands.

    Parameters
    ----------
    source : HBModel or PartWorthDraws
        A fitted model (all posterior draws) or part-worth draws (``.point()`` for point
        estimates).
    market : Market, dict or path to ``market.toml``
    weights : str or array, optional
        A respondent column (customer value, tenure, ...) or one weight per respondent.
    segment : str, optional
        A respondent column (reason for leaving, plan, value tier): shares per segment too.
    interval : float
        The equal-tailed posterior interval of every share (0.9: 5% and 95% quantiles).
    random_seed : int
        For randomized first choice.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate(model, "market.toml")  # doctest: +SKIP
    >>> sim.shares  # doctest: +SKIP
    """
    draws = as_draws(source)
    if not isinstance(market, Market):
        market = (
            read_market(market, draws.study)
            if isinstance(market, str | Path)
            else Market.from_dict(market, draws.study)
        )
    if not 0 < interval < 1:
        raise WinbackError(f"interval must be between 0 and 1, got {interval}.")
    w = respondent_weights(draws, weights)
    probs = choice_probabilities(draws, market, random_seed=random_seed)
    alts = [*market.names, *([NONE] if market.none else [])]
    own = {p.name: p.own for p in market.products}
    share_draws = np.matmul(w, probs)  # (sample, alternative): weighted over respondents
    tables = [_share_table(share_draws, alts, own, interval)]
    if segment is not None:
        seg = draws.column(segment)
        for value in pd.unique(seg.dropna()):
            mask = (seg == value).to_numpy()
            ws = w * mask
            if ws.sum() <= 0:
                continue
            sd = np.einsum("srj,r->sj", probs, ws / ws.sum())
            t = _share_table(sd, alts, own, interval)
            t.insert(0, "segment", str(value))
            t.insert(1, "n_respondents", int(mask.sum()))
            tables.append(t)
        tables[0].insert(0, "segment", "all")
        tables[0].insert(1, "n_respondents", draws.n_respondents)
    shares = pd.concat(tables, ignore_index=True)
    resp = pd.DataFrame(
        probs.mean(axis=0),
        index=pd.Index(list(draws.respondent_ids), name="respondent_id"),
        columns=alts,
    )
    return Simulation(market, alts, shares, share_draws, resp, probs, w, interval)


def _share_table(
    share_draws: np.ndarray, alts: list[str], own: Mapping[str, bool], interval: float
) -> pd.DataFrame:
    lo, hi = posterior_band(share_draws, interval)
    return pd.DataFrame(
        {
            "product": alts,
            "own": [bool(own.get(a, False)) for a in alts],
            "share": share_draws.mean(axis=0),
            "lower": lo,
            "upper": hi,
        }
    )


def source_of_volume(before: Simulation, after: Simulation, product: str) -> pd.DataFrame:
    """Where ``product``'s volume in ``after`` comes from, relative to ``before``.

    For every draw, each alternative present in both markets loses (or gains) share; the
    losses are what ``product`` took: from none (won back), from competitors, or from our own
    other offers (cannibalised). ``product`` may be new in ``after`` or changed.

    Returns
    -------
    DataFrame
        ``source, kind (none | competitor | own), share_moved, lower, upper, fraction``;
        ``share_moved`` is the share the source lost (a fraction of all customers), ``fraction``
        its part of the product's gain.

    Examples
    --------
    >>> base = simulate(model, market)  # doctest: +SKIP
    >>> new = simulate(model, market.with_product(offer))  # doctest: +SKIP
    >>> source_of_volume(base, new, offer.name)  # doctest: +SKIP
    """
    if product not in after.alternatives:
        raise WinbackError(
            f"source_of_volume: '{product}' is not in the new market "
            f"({list_valid(after.alternatives)})."
        )
    if before.share_draws.shape[0] != after.share_draws.shape[0] or len(before.weights) != len(
        after.weights
    ):
        raise WinbackError(
            "source_of_volume: both simulations must use the same draws and respondents."
        )
    own = {p.name: p.own for p in after.market.products}
    gain_draws = after.share_draws[:, after.alternatives.index(product)]
    if product in before.alternatives:
        gain_draws = gain_draws - before.share_draws[:, before.alternatives.index(product)]
    rows = []
    total = float(gain_draws.mean())
    for alt in before.alternatives:
        if alt == product or alt not in after.alternatives:
            continue
        moved = (
            before.share_draws[:, before.alternatives.index(alt)]
            - after.share_draws[:, after.alternatives.index(alt)]
        )
        lo, hi = posterior_band(moved, after.interval)
        kind = "none" if alt == NONE else ("own" if own.get(alt) else "competitor")
        rows.append(
            {
                "source": alt,
                "kind": kind,
                "share_moved": float(moved.mean()),
                "lower": float(lo),
                "upper": float(hi),
                "fraction": float(moved.mean() / total) if abs(total) > 1e-12 else float("nan"),
            }
        )
    lo, hi = posterior_band(gain_draws, after.interval)
    rows.append(
        {
            "source": f"total gain of {product}",
            "kind": "total",
            "share_moved": total,
            "lower": float(lo),
            "upper": float(hi),
            "fraction": 1.0,
        }
    )
    return pd.DataFrame(rows)
