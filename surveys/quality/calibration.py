"""Data-quality flags: ``flag_quality`` marks speeders, straight-liners, always-none answers,
random responders (RLH), failed repeated holdouts and duplicate interviews.

Flags are evidence, not verdicts: nobody is excluded here. The researcher reads the flags and
excludes with :meth:`surveys.ChoiceDataset.exclude`, which records the reason.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from conjoint.encoding import Encoding, make_encoding
from conjoint.priors import prior_draws
from surveys.dataset import ChoiceDataset
from winback.errors import WinbackError, did_you_mean, list_valid
from winback.study import Study

if TYPE_CHECKING:
    from conjoint.design import ChoiceDesign

log = logging.getLogger("winback")

#: the boolean flag columns counted in ``n_flags``
FLAG_COLUMNS = (
    "speeder",
    "straight_liner",
    "always_none",
    "random_responder",
    "failed_repeat",
    "duplicate",
)
#: respondent columns that describe the interview rather than answer a question; two copies of
#: one interview may differ in them, so they are left out of the duplicate comparison
PARADATA_COLUMNS = ("duration_seconds",)

#: the RLH columns of the flags, in order
RLH_COLUMNS = (
    "rlh",
    "rlh_random_share",
    "rlh_genuine_share",
    "random_responder",
    "holdout_hit_rate",
)
#: sources of the simulated genuine respondents' part-worths (``flag_quality(genuine=...)``)
GENUINE_SOURCES = ("auto", "part_worths", "priors", "data")
#: the default largest share of genuine respondents flagged as random responders
DEFAULT_FALSE_FLAG = 0.05
#: below this detection rate the flags warn that the design cannot tell random from genuine
MIN_DETECTION = 0.5
#: fewest respondents with choice tasks for RLH (the shrinkage is estimated across them)
MIN_RESPONDENTS_RLH = 2

#: largest share of random responders the mixture fit may give the sample
MAX_RANDOM_SHARE = 0.9
#: range and grid of the data population's scale factor (see ``_data_scale``), its
#: golden-section refinements and the number of simulated respondents each try uses
SCALE_RANGE = (0.5, 4.0)
SCALE_GRID = 12
SCALE_REFINE = 6
N_SCALE_FIT = 500

#: empirical-Bayes updates of the shrinkage centre and spread (see ``_population``)
EB_UPDATES = 20
#: respondents the empirical-Bayes centre and spread are estimated from (a fixed random sample
#: of them when there are more): 2,000 pin both down to a few percent, and the cost of the
#: updates no longer grows with the file; every respondent's mode is then found once
EB_SAMPLE = 2_000

_SPECIAL_RANK = {"status_quo": 10_000, "none": 10_001}


# --------------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------------


def flag_quality(
    dataset: ChoiceDataset,
    *,
    design: ChoiceDesign | None = None,
    random_seed: int = 0,
    speeder_ratio: float = 0.4,
    false_flag: float | None = None,
    part_worths: pd.DataFrame | None = None,
    genuine: str = "auto",
    n_genuine: int = 2000,
    n_random: int = 2000,
    duplicate_ignore: Sequence[str] = PARADATA_COLUMNS,
    rlh_false_positive: float | None = None,
) -> ChoiceDataset:
    """Flag doubtful interviews; return the dataset with the flags attached (nobody excluded).

    Parameters
    ----------
    dataset : ChoiceDataset
    design : ChoiceDesign, optional
        When given, the simulated respondents that calibrate the random-responder cutoff (see
        Notes) are dealt the design's versions in turn, exactly as fielded; otherwise each one
        answers the tasks a real respondent saw (cycling through the respondents, so the mix of
        versions is the sample's).
    random_seed : int
        Seeds the simulated respondents: the same seed gives the same flags.
    speeder_ratio : float
        A respondent is a speeder when faster than ``speeder_ratio`` x the median duration (of
        the included respondents with choice tasks and a known duration).
    false_flag : float, default 0.05
        The largest share of genuine respondents the random-responder flag may catch: the cutoff
        is set so that at most this share of simulated genuine respondents fall below it.
    part_worths : DataFrame, optional
        Part-worths of genuine respondents to simulate from: one row per respondent (or
        posterior draw), one column per parameter (:func:`conjoint.parameter_names`), e.g.
        ``analysis.respondent_draws(model)`` for a fitted model's posterior. Rows are drawn
        with replacement.
    genuine : {"auto", "part_worths", "priors", "data"}
        Where the simulated genuine respondents' part-worths come from. ``"auto"``:
        ``part_worths`` when given, else the study's ``[priors]`` when informative (not
        ``kind = "null"``), else the data themselves (the population the shrinkage estimates).
        The source used is recorded in ``flags.attrs["rlh_genuine_source"]``.
    n_genuine, n_random : int
        Numbers of simulated genuine and random respondents (at least 100 each).
    duplicate_ignore : sequence of str
        Respondent columns left out of the duplicate comparison (interview paradata).
    rlh_false_positive : float, optional
        Deprecated name of ``false_flag`` (it used to bound the share of random responders let
        through; the value is now used as ``false_flag``, with a message in the log).

    Returns
    -------
    ChoiceDataset
        ``dataset.with_flags(flags)``; ``flags`` has one row per respondent (respondents without
        choice tasks included, with NA where nothing can be said) and the columns

        - ``duration_seconds``, ``duration_source`` ("respondents" when from
          ``respondents.duration_seconds``, "task seconds" when the sum of the per-task
          ``seconds``; NA when neither is known: durations are never guessed) and ``speeder``;
        - ``same_position_share`` (share of tasks answered at the most used screen position:
          ``alt_position`` when the file has it, else ``alt``) and ``straight_liner`` (the
          same position in every task; a none or status-quo answer has no screen position of
          its own, so always choosing none is ``always_none``, not straight-lining);
        - ``none_share`` and ``always_none`` (dual-response none: ``would_buy = 0``);
        - ``rlh``; ``rlh_random_share`` (share of simulated random respondents whose RLH is at
          least this high: a p-value for "answered at random"); ``rlh_genuine_share`` (share of
          simulated genuine respondents whose RLH is this high or lower: a p-value for
          "answered genuinely"; flagged respondents have at most ``false_flag``) and
          ``random_responder`` (RLH below the cutoff);
        - ``holdout_hit_rate`` (share of holdout tasks whose answer the respondent's own
          estimates predict: reported, not flagged), ``holdout_consistency`` (share of
          repeated holdout tasks, i.e. holdouts showing the same set of profiles, answered
          with the same profile as the first showing) and ``failed_repeat``;
        - ``duplicate_of`` (the first respondent, in dataset order, whose answers this one
          repeats) and ``duplicate`` (identical choices in every task and identical
          respondent answers, paradata aside; the first copy itself is not flagged);
        - ``n_flags``: how many of ``speeder, straight_liner, always_none, random_responder,
          failed_repeat, duplicate`` are true.

        Flags are nullable booleans: NA means "cannot be told" (no duration, no repeated
        holdout, no choice tasks). ``flags.attrs`` records the settings, the median duration
        and the random-responder calibration: ``rlh_cutoff``, ``rlh_false_flag`` (the
        setting), ``rlh_false_flag_simulated`` (the share of simulated genuine respondents
        below the cutoff), ``rlh_detection`` (the share of simulated random responders below
        it), ``rlh_genuine_source``, ``rlh_n_genuine``, ``rlh_n_random`` and ``rlh_warning``
        (text when the detection is below 50%, else None); :func:`quality_report` says it in
        words.

    Notes
    -----
    **RLH.** Each respondent's part-worths are estimated by a fast, deterministic
    individual-level MNL shrunk towards the sample: penalised maximum likelihood with a normal
    penalty, solved by vectorised Newton steps for all respondents at once. The penalty's
    centre starts at the aggregate MNL estimate and, with its per-parameter spread, is
    re-estimated from the respondents' own estimates (empirical Bayes: the mean of the
    estimates, and their variance plus the mean posterior variance), 20 times. With no tuning
    constant, the shrinkage adapts to how heterogeneous the sample is; an unshrunk individual
    MNL would fit 12 answers with 12 parameters perfectly, random or not. RLH (root
    likelihood) is the geometric mean of the probabilities of the chosen alternatives over the
    estimation tasks (holdouts excluded): 1 is a perfect fit, 1 / (number of alternatives) is
    what a model without information scores.

    **The cutoff is calibrated on this study's design.** ``n_genuine`` genuine respondents are
    simulated answering the same tasks as the real ones (an MNL with individual part-worths
    drawn from ``genuine``: the rows of ``part_worths``, the ``[priors]`` normal (or
    correlated, or sign) distribution, or the normal population with the centre and spread
    the shrinkage estimated from the data), and ``n_random`` random responders (uniform random
    choices; with dual-response none a uniform choice, then a coin for would-buy). Both are
    estimated by exactly the same procedure as the real respondents, with the same centre and
    spread and the same tasks, so their RLH is comparable like for like. The cutoff is the
    simulated genuine respondents' RLH order statistic number ``m = floor(false_flag *
    (n_genuine + 1))``; respondents below it are flagged. A respondent who answers like the
    simulated genuine ones is exchangeable with them, so is flagged with probability at most
    ``m / (n_genuine + 1) <= false_flag`` (the conformal quantile: the guarantee holds for any
    number of simulated respondents, not only in the limit). The share of simulated random responders below it is the detection rate on this
    design: how much of random answering the flag can catch at that false-flag rate. When it
    is below 50% the design cannot tell random answering from genuine answers well, and the
    flags say so (``rlh_warning``, and a warning in the log).

    The false-flag rate holds for respondents who answer like the simulated genuine ones: when
    ``genuine`` overstates how consistent real respondents are (priors stronger than the
    truth), more real respondents fall below the cutoff; when estimated from the data, random
    responders in the sample weaken the population a little and the cutoff errs on the lenient
    side. ``benchmarks/quality_flags.py`` measures both rates against known truth on the example
    study and on a weaker four-attribute study (``benchmarks/RESULTS.md``).

    Examples
    --------
    >>> from surveys.quality import flag_quality, quality_report
    >>> data = flag_quality(data, design=design)  # doctest: +SKIP
    >>> print(quality_report(data.flags))  # doctest: +SKIP
    >>> data.flags.query("random_responder | speeder")  # doctest: +SKIP
    >>> flagged = data.flags.query("random_responder").respondent_id  # doctest: +SKIP
    >>> clean = data.exclude(flagged, "random responder (RLH)")  # doctest: +SKIP
    """
    false_flag = _false_flag_setting(false_flag, rlh_false_positive)
    if not 0.0 < speeder_ratio <= 1.0:
        raise WinbackError(f"speeder_ratio must be in (0, 1], got {speeder_ratio}.")
    for name, value in (("n_genuine", n_genuine), ("n_random", n_random)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 100:
            raise WinbackError(
                f"{name} must be a whole number of at least 100 simulated respondents to set "
                f"a cutoff, got {value!r}."
            )
    if false_flag * (n_genuine + 1) < 1:
        raise WinbackError(
            f"false_flag={false_flag} with n_genuine={n_genuine} simulated genuine respondents "
            f"leaves no room for a single false flag; use n_genuine >= "
            f"{int(np.ceil(1 / false_flag)) - 1}."
        )
    if genuine not in GENUINE_SOURCES:
        raise WinbackError(
            f"genuine={genuine!r} is not a source of genuine part-worths."
            f"{did_you_mean(str(genuine), GENUINE_SOURCES)} Valid: {list_valid(GENUINE_SOURCES)}."
        )

    people = dataset.respondents
    ids = pd.Index(people["respondent_id"].astype("string"), name="respondent_id")
    tasks = _task_arrays(dataset)
    if design is not None:
        _check_design(tasks, design, dataset)
    source_pw = _genuine_source(genuine, part_worths, dataset.study, tasks.encoding)
    included = set(dataset.included_ids)

    out = pd.DataFrame(index=ids)
    attrs: dict[str, Any] = {
        "speeder_ratio": speeder_ratio,
        "false_flag": false_flag,
        "n_genuine": n_genuine,
        "n_random": n_random,
        "random_seed": random_seed,
    }

    duration, source, median = _durations(dataset, people, tasks.ids, included)
    out["duration_seconds"] = duration.reindex(ids)
    out["duration_source"] = source.reindex(ids)
    speeder = pd.Series(pd.NA, index=ids, dtype="boolean")
    if median is not None:
        known = out["duration_seconds"].notna() & ids.isin(tasks.ids)
        speeder[known] = out.loc[known, "duration_seconds"] < speeder_ratio * median
    out["speeder"] = speeder
    attrs["median_duration_seconds"] = median

    pos = _positions(dataset, tasks.ids)
    for c in ("same_position_share", "straight_liner", "none_share", "always_none"):
        out[c] = pos[c].reindex(ids)

    rlh, attrs_rlh = _rlh(
        tasks, dataset, design, source_pw, false_flag, n_genuine, n_random, random_seed
    )
    attrs.update(attrs_rlh)
    for c in RLH_COLUMNS:
        out[c] = rlh[c].reindex(ids)

    rep = _repeats(tasks)
    out["holdout_consistency"] = rep["holdout_consistency"].reindex(ids)
    out["failed_repeat"] = rep["failed_repeat"].reindex(ids)

    dup = _duplicates(dataset, people, tasks.ids, duplicate_ignore)
    out["duplicate_of"] = dup["duplicate_of"].reindex(ids)
    out["duplicate"] = dup["duplicate"].reindex(ids)

    out = _typed(out)
    out["n_flags"] = sum(out[c].fillna(False).astype(int) for c in FLAG_COLUMNS)
    flags = out.reset_index()
    flags.attrs = attrs
    log.info(
        "flag_quality: %s",
        ", ".join(f"{c} {int(flags[c].fillna(False).sum())}" for c in FLAG_COLUMNS),
    )
    if attrs.get("rlh_warning"):
        log.warning("flag_quality: %s", attrs["rlh_warning"])
    return dataset.with_flags(flags)


def _false_flag_setting(false_flag: float | None, old: float | None) -> float:
    """``false_flag``, or its deprecated name ``rlh_false_positive``; checked."""
    if old is not None:
        if false_flag is not None:
            raise WinbackError(
                "give false_flag only: rlh_false_positive is its deprecated name "
                f"(got false_flag={false_flag} and rlh_false_positive={old})."
            )
        log.warning(
            "flag_quality: rlh_false_positive is deprecated, use false_flag; it now bounds the "
            "share of genuine respondents flagged as random (it used to be the share of random "
            "responders let through). Using false_flag=%s.",
            old,
        )
        false_flag = old
    if false_flag is None:
        return DEFAULT_FALSE_FLAG
    name = "false_flag" if old is None else "rlh_false_positive (now false_flag)"
    if (
        isinstance(false_flag, bool)
        or not isinstance(false_flag, int | float | np.floating)
        or not 0.0 < float(false_flag) < 0.5
    ):
        raise WinbackError(
            f"{name} must be a share of genuine respondents between 0 and 0.5 (e.g. 0.05), got "
            f"{false_flag!r}."
        )
    return float(false_flag)


#: the keys of ``flags.attrs`` that describe the random-responder check
RLH_CHECK_KEYS = (
    "rlh_cutoff",
    "rlh_false_flag",
    "rlh_false_flag_simulated",
    "rlh_detection",
    "rlh_warning",
    "rlh_genuine_source",
    "rlh_n_genuine",
    "rlh_n_random",
    "rlh_simulated_answered",
    "rlh_flagged_share",
    "rlh_random_share_estimate",
    "rlh_note",
)


def rlh_calibration(flags: pd.DataFrame) -> dict[str, Any]:
    """The random-responder check of ``flags`` as a plain dict (for ``import.json``): the
    cutoff, the false-flag setting and its simulated rate, the detection rate, the warning,
    where the genuine part-worths came from and how many respondents were simulated.

    Examples
    --------
    >>> rlh_calibration(data.flags)["rlh_detection"]  # doctest: +SKIP
    0.961
    """
    _check_flags(flags, "rlh_calibration")
    return {k: flags.attrs[k] for k in RLH_CHECK_KEYS if k in flags.attrs}


def _check_flags(flags: Any, caller: str) -> None:
    if not isinstance(flags, pd.DataFrame) or "random_responder" not in flags.columns:
        raise WinbackError(
            f"{caller} needs the flags of surveys.flag_quality (dataset.flags), got "
            f"{type(flags).__name__}."
        )


def quality_report(flags: pd.DataFrame) -> str:
    """The quality flags in words: how many of each, and what the random-responder flag can do
    on this design (its cutoff, its false-flag rate, its detection rate, and a warning when the
    design cannot tell random answering from genuine answers).

    Parameters
    ----------
    flags : DataFrame
        ``dataset.flags`` from :func:`flag_quality`.

    Returns
    -------
    str

    Examples
    --------
    >>> print(quality_report(flag_quality(data).flags))  # doctest: +SKIP
    Random responders (RLH below 0.372): 31 of 600 respondents flagged.
      ...
    """
    _check_flags(flags, "quality_report")
    a = flags.attrs
    known = flags["random_responder"].notna()
    lines = []
    cutoff = a.get("rlh_cutoff")
    if cutoff is None:
        why = a.get("rlh_note") or "no respondent has estimation tasks"
        lines.append(f"Random responders (RLH): not checked: {why}.")
    else:
        n_flag = int(flags["random_responder"].fillna(False).sum())
        lines += [
            f"Random responders (RLH below {cutoff:.3f}): {n_flag} of {int(known.sum()):,} "
            "respondents flagged.",
            f"  The cutoff holds false flags at {a['rlh_false_flag']:.0%} or below: "
            f"{a['rlh_false_flag_simulated']:.1%} of {a['rlh_n_genuine']:,} simulated genuine "
            f"respondents fall below it (part-worths: {a['rlh_genuine_source']}).",
            f"  On this design it catches {a['rlh_detection']:.0%} of {a['rlh_n_random']:,} "
            "simulated random responders.",
        ]
        if a.get("rlh_warning"):
            lines.append(f"  Warning: {a['rlh_warning']}")
    others = [
        f"{c} {int(flags[c].fillna(False).sum())}" for c in FLAG_COLUMNS if c != "random_responder"
    ]
    lines.append("Other flags: " + ", ".join(others) + ".")
    return "\n".join(lines)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    floats = [
        "duration_seconds",
        "same_position_share",
        "none_share",
        "rlh",
        "rlh_random_share",
        "rlh_genuine_share",
        "holdout_hit_rate",
        "holdout_consistency",
    ]
    for c in floats:
        out[c] = pd.array(pd.to_numeric(out[c], errors="raise"), dtype="Float64")
    for c in FLAG_COLUMNS:
        out[c] = out[c].astype("boolean")
    for c in ("duration_source", "duplicate_of"):
        out[c] = out[c].astype("string")
    return out


# --------------------------------------------------------------------------------------------
# The choices as arrays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tasks:
    """Every respondent's tasks as arrays (respondents with choice tasks only).

    ``x``: (N, T, J, K) design rows of each task's alternatives in canonical order (designed
    alternatives, then status quo, then none); ``y``: (N, T) index of the chosen row; ``buy``:
    (N, T) would-buy answer under dual-response none, else None; ``holdout``: (N, T) bool;
    ``profile``: (N, T, J) integer key of each row's profile (level indices, or the special
    alternative's name); ``alt``: (J,) alt labels.
    """

    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    buy: np.ndarray | None
    holdout: np.ndarray
    profile: np.ndarray
    alt: list[str]
    encoding: Encoding

    @property
    def n(self) -> int:
        return len(self.ids)


def _level_indices(choices: pd.DataFrame, dataset: ChoiceDataset) -> np.ndarray:
    cols = []
    for a in dataset.study.attributes:
        codes, uniques = pd.factorize(choices[a.name])  # each distinct value looked up once
        lut = np.array([a.index_of(v) for v in uniques] + [-1], dtype=int)
        cols.append(lut[codes])  # code -1 (blank) takes the last entry, -1
    return np.column_stack(cols) if cols else np.zeros((len(choices), 0), dtype=int)


def _task_arrays(dataset: ChoiceDataset) -> _Tasks:
    study = dataset.study
    enc = make_encoding(study)
    ch = dataset.choices
    k = enc.n_parameters
    if ch.empty:
        empty = np.zeros((0, 0, 0, k))
        return _Tasks(
            [],
            empty,
            np.zeros((0, 0), int),
            None,
            np.zeros((0, 0), bool),
            np.zeros((0, 0, 0), object),
            [],
            enc,
        )
    # canonical order: respondents as they appear, tasks, designed alternatives, sq, none
    order = {r: i for i, r in enumerate(pd.unique(ch["respondent_id"]))}
    # each distinct alt label ranked once (a per-row map costs seconds on a 200 MB export)
    alt_codes, alt_labels = pd.factorize(ch["alt"])
    rank = np.array(
        [_SPECIAL_RANK.get(a, int(a) if str(a).isdigit() else 20_000) for a in alt_labels]
    )[alt_codes]
    ch = (
        ch.assign(_o=ch["respondent_id"].map(order), _a=rank)
        .sort_values(["_o", "task", "_a"], kind="stable")
        .reset_index(drop=True)
    )
    ids = list(order)
    n = len(ids)
    per_task = ch.groupby(["_o", "task"], sort=False).size()
    n_tasks = ch.groupby("_o")["task"].nunique()
    if per_task.nunique() != 1 or n_tasks.nunique() != 1:
        raise WinbackError(
            "every respondent needs the same number of tasks and of alternatives per task to "
            "flag quality; build the dataset with surveys.make_dataset or read_responses."
        )
    t, j = int(n_tasks.iloc[0]), int(per_task.iloc[0])
    alt = ch["alt"].astype(str).to_numpy()
    alts = list(alt[:j])
    if not (alt.reshape(n * t, j) == np.asarray(alts, dtype=object)).all():
        raise WinbackError(
            "tasks show different alternatives; flag_quality needs a complete dataset."
        )

    idx = _level_indices(ch, dataset)
    x = np.zeros((len(ch), k))
    for a, table in enumerate(enc.tables):
        padded = np.vstack([table, np.zeros((1, k))])  # index -1 (blank) adds nothing
        x += padded[idx[:, a]]
    if enc.none_index is not None:
        x[alt == "none", enc.none_index] = 1.0
    if enc.sq_index is not None:
        x[alt == "status_quo", enc.sq_index] = 1.0
    # one integer per distinct profile (none and status quo negative): equal profiles, equal
    # codes, without a Python tuple per row
    radix = [a.n_levels + 1 for a in study.attributes]  # level index + 1; 0 is blank
    if math.prod(radix) < 2**62:
        profile = np.zeros(len(ch), dtype=np.int64)
        for a, r in enumerate(radix):
            profile = profile * r + (idx[:, a] + 1)
    else:  # too many combinations for one integer: number the distinct rows instead
        profile = np.unique(idx, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    for code, name in enumerate(_SPECIAL_RANK, start=1):
        profile[alt == name] = -code

    chosen = ch["chosen"].to_numpy().reshape(n, t, j)
    y = chosen.argmax(axis=2)
    buy = None
    if study.dual_response_none:
        wb = ch["would_buy"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        wb = np.where(chosen.ravel() == 1, wb, np.nan).reshape(n, t, j)
        buy = np.nanmax(wb, axis=2).astype(int)
    holdout = ch["holdout"].to_numpy().reshape(n, t, j)[..., 0].astype(bool)
    return _Tasks(
        ids,
        x.reshape(n, t, j, k),
        y,
        buy,
        holdout,
        profile.reshape(n, t, j),
        alts,
        enc,
    )


# --------------------------------------------------------------------------------------------
# Durations, positions, repeats, duplicates
# --------------------------------------------------------------------------------------------


def _numeric_answers(people: pd.DataFrame, column: str) -> pd.Series:
    """A numeric respondent column; blanks become NA, anything else that is not a finite number
    >= 0 is an error naming the respondents."""
    raw = people[column]
    text = raw.astype("string").str.strip()
    blank = raw.isna() | (text == "")
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & (num.isna() | (num < 0) | np.isinf(num.astype(float)))
    if bad.any():
        shown = [
            f"{r} ({v!r})" for r, v in zip(people["respondent_id"][bad], raw[bad], strict=True)
        ]
        raise WinbackError(
            f"respondents column '{column}' must hold finite numbers >= 0; {int(bad.sum())} do "
            "not: "
            f"{list_valid(shown[:5])}" + (" ..." if bad.sum() > 5 else "") + "."
        )
    return pd.Series(num.to_numpy(dtype=float), index=people["respondent_id"].astype("string"))


def _durations(
    dataset: ChoiceDataset, people: pd.DataFrame, with_tasks: list[str], included: set[str]
) -> tuple[pd.Series, pd.Series, float | None]:
    ids = people["respondent_id"].astype("string")
    duration = pd.Series(np.nan, index=ids, dtype=float)
    source = pd.Series(pd.NA, index=ids, dtype="string")
    if "duration_seconds" in people.columns:
        d = _numeric_answers(people, "duration_seconds")
        duration[d.notna()] = d[d.notna()]
        source[d.notna()] = "respondents"
    ch = dataset.choices
    if "seconds" in ch.columns:
        # a task's time is the largest value on its rows (files repeat it on every row or put
        # it on one); a respondent's total is known only when every task's time is
        per_task = ch.groupby(["respondent_id", "task"])["seconds"].max()
        known = per_task.notna().groupby(level=0).all()
        total = per_task.groupby(level=0).sum()[known]
        fill = duration.isna() & ids.isin(total.index).to_numpy()
        duration[fill] = total.reindex(duration.index[fill]).to_numpy()
        source[fill] = "task seconds"
    pool = duration[duration.index.isin(with_tasks) & duration.notna()]
    if len(pool) and len(set(pool.index) & included):
        pool = pool[pool.index.isin(list(included))]
    median = float(pool.median()) if len(pool) else None
    return duration, source, median


def _positions(dataset: ChoiceDataset, with_tasks: list[str]) -> pd.DataFrame:
    ch = dataset.choices
    chosen = ch[ch["chosen"] == 1]
    study = dataset.study
    if "alt_position" in ch.columns:
        screen = chosen["alt_position"].astype("string")
    else:
        screen = chosen["alt"].astype("string")
    special = chosen["alt"].isin(list(_SPECIAL_RANK))
    screen = screen.where(~special, "<" + chosen["alt"].astype("string") + ">")
    g = pd.DataFrame({"respondent_id": chosen["respondent_id"], "pos": screen, "special": special})
    g["none"] = (chosen["alt"] == "none").to_numpy()
    if study.dual_response_none:
        g["none"] = (chosen["would_buy"] == 0).fillna(False).to_numpy()
    by = g.groupby("respondent_id", sort=False)
    n_tasks = by.size()
    top = g.groupby(["respondent_id", "pos"], sort=False).size().groupby(level=0).max()
    any_special = by["special"].any()
    one_position = g.groupby("respondent_id")["pos"].nunique() == 1
    out = pd.DataFrame(index=pd.Index(with_tasks, dtype="string", name="respondent_id"))
    out["same_position_share"] = (top / n_tasks).reindex(out.index)
    out["straight_liner"] = (one_position & ~any_special & (n_tasks >= 2)).reindex(out.index)
    out["none_share"] = by["none"].mean().reindex(out.index)
    out["always_none"] = by["none"].all().reindex(out.index) if study.has_none else False
    return out


def _repeats(tasks: _Tasks) -> pd.DataFrame:
    """Holdout tasks shown twice (the same set of profiles): is the same profile chosen?"""
    out = pd.DataFrame(
        {"holdout_consistency": np.nan, "failed_repeat": pd.NA},
        index=pd.Index(tasks.ids, dtype="string"),
    )
    if tasks.n == 0 or not tasks.holdout.any():
        return out
    cons = np.full(tasks.n, np.nan)
    for i in range(tasks.n):
        seen: dict[frozenset[Any], Any] = {}
        n_rep = n_same = 0
        for t in np.flatnonzero(tasks.holdout[i]):
            key = frozenset(tasks.profile[i, t])
            answer: Any = tasks.profile[i, t, tasks.y[i, t]]
            if tasks.buy is not None:
                answer = (answer, int(tasks.buy[i, t]))
            if key in seen:
                n_rep += 1
                n_same += int(seen[key] == answer)
            else:
                seen[key] = answer
        if n_rep:
            cons[i] = n_same / n_rep
    out["holdout_consistency"] = cons
    fail = pd.array([pd.NA if np.isnan(c) else bool(c < 1.0) for c in cons], dtype="boolean")
    out["failed_repeat"] = fail
    return out


def _duplicates(
    dataset: ChoiceDataset, people: pd.DataFrame, with_tasks: list[str], ignore: Sequence[str]
) -> pd.DataFrame:
    ch = dataset.choices
    chosen = ch[ch["chosen"] == 1].sort_values(["respondent_id", "task"], kind="stable")
    parts = [chosen["version"].astype(str), chosen["task"].astype(str), chosen["alt"].astype(str)]
    if "would_buy" in chosen.columns:
        parts.append(chosen["would_buy"].astype("string").fillna("<NA>"))
    cell = parts[0].str.cat(parts[1:], sep=":")
    resp = chosen["respondent_id"].to_numpy()
    r_codes, r_ids = pd.factorize(resp)
    counts = np.bincount(r_codes, minlength=len(r_ids))
    if len(r_ids) and (counts == counts[0]).all() and (np.diff(r_codes) >= 0).all():
        # the usual case: as many chosen rows per respondent, each respondent's rows together:
        # the choices as an integer matrix, one code per distinct row of it
        cells = pd.factorize(cell)[0].reshape(len(r_ids), counts[0])
        same = np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1)
        choice_key = pd.Series([f"c{c}" for c in same], index=r_ids)
    else:
        choice_key = cell.groupby(resp, sort=False).agg(";".join)
    answer_cols = [c for c in people.columns if c != "respondent_id" and c not in set(ignore)]
    pid = people["respondent_id"].astype("string")
    if answer_cols:
        ans = people[answer_cols].astype("string").fillna("<NA>")
        answer_key = ans[answer_cols[0]].str.cat([ans[c] for c in answer_cols[1:]], sep="\x1f")
        answer_key.index = pid
    else:
        answer_key = pd.Series("", index=pid)
    idx = pd.Index(with_tasks, dtype="string")
    key = choice_key.reindex(idx) + "\x1e" + answer_key.reindex(idx).fillna("<NA>")
    first_id = pd.Series(idx, index=idx).groupby(key.to_numpy(), sort=False).transform("first")
    is_dup = key.duplicated(keep="first")
    return pd.DataFrame(
        {
            "duplicate_of": first_id.where(is_dup.to_numpy(), pd.NA).to_numpy(),
            "duplicate": is_dup.to_numpy(),
        },
        index=idx,
    )


# --------------------------------------------------------------------------------------------
# Individual MNL shrunk towards the sample, RLH and the random-respondent cutoff
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Situations:
    """Choice situations for estimation: (n, S, J, K) rows, (n, S, J) availability,
    (n, S) chosen index, (n, S) weight (1 estimation, 0 holdout)."""

    x: np.ndarray
    avail: np.ndarray
    y: np.ndarray
    w: np.ndarray


def _situations(
    x: np.ndarray, y: np.ndarray, buy: np.ndarray | None, holdout: np.ndarray, enc: Encoding
) -> _Situations:
    n, t, j, _ = x.shape
    avail = np.ones((n, t, j), dtype=bool)
    w = (~holdout).astype(float)
    if buy is None:
        return _Situations(x, avail, y, w)
    # dual-response none: the forced choice, then "would you buy it?" as a choice between the
    # chosen alternative and none
    x2 = np.zeros_like(x)
    x2[:, :, 0] = np.take_along_axis(x, y[:, :, None, None], axis=2)[:, :, 0]
    x2[:, :, 1] = enc.none_row()
    avail2 = np.zeros_like(avail)
    avail2[:, :, :2] = True
    y2 = np.where(buy == 1, 0, 1)
    return _Situations(
        np.concatenate([x, x2], axis=1),
        np.concatenate([avail, avail2], axis=1),
        np.concatenate([y, y2], axis=1),
        np.concatenate([w, w], axis=1),
    )


def _log_probs(b: np.ndarray, s: _Situations) -> np.ndarray:
    u = np.einsum("nsjk,nk->nsj", s.x, b)
    u = np.where(s.avail, u, -np.inf)
    u = u - u.max(axis=2, keepdims=True)
    lp = u - np.log(np.exp(u).sum(axis=2, keepdims=True))
    return np.where(s.avail, lp, -np.inf)


def _chosen_lp(lp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.take_along_axis(lp, y[..., None], axis=2)[..., 0]


def _modes(
    s: _Situations,
    centre: np.ndarray,
    prec: np.ndarray,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised ML for every row of ``s`` at once: maximise
    sum_s w log p(y) - (b - centre)' diag(prec) (b - centre) / 2 by damped Newton steps.

    Returns the modes (n, K) and the negative Hessians at the modes (n, K, K).
    """
    n, _, _, k = s.x.shape
    b = np.tile(centre, (n, 1)) if start is None else start.copy()
    hess = np.zeros((n, k, k))
    eye = np.diag(prec)

    def objective(b: np.ndarray, s: _Situations) -> tuple[np.ndarray, np.ndarray]:
        lp = _log_probs(b, s)
        d = b - centre
        return (s.w * _chosen_lp(lp, s.y)).sum(axis=1) - 0.5 * (d * d * prec).sum(axis=1), lp

    # rows whose step fell below ``tol`` are done and leave the working set (most respondents
    # converge in a few steps; the slowest no longer keep the others computing)
    active = np.arange(n)
    sub = s
    ba = b
    f, lp = objective(ba, sub)
    for _ in range(max_iter):
        m = len(active)
        xf = sub.x.reshape(m, -1, k)
        p = np.exp(lp)  # 0 where unavailable
        y1 = np.zeros_like(p)
        np.put_along_axis(y1, sub.y[..., None], 1.0, axis=2)
        wr = sub.w[..., None]
        grad = np.einsum("nsj,nsjk->nk", wr * (y1 - p), sub.x) - prec * (ba - centre)
        xbar = np.einsum("nsj,nsjk->nsk", p, sub.x)
        pw = (p * wr).reshape(m, -1, 1)
        h = (
            np.matmul((xf * pw).transpose(0, 2, 1), xf)
            - np.matmul((xbar * sub.w[..., None]).transpose(0, 2, 1), xbar)
            + eye
        )
        hess[active] = h
        step = np.linalg.solve(h, grad[..., None])[..., 0]
        size = np.ones(m)
        for _ in range(30):  # halve the step where the objective would fall
            f_new, _ = objective(ba + size[:, None] * step, sub)
            worse = f_new < f - 1e-10 * np.abs(f)
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        ba = ba + size[:, None] * step
        b[active] = ba
        f, lp = objective(ba, sub)
        moving = np.abs(size[:, None] * step).max(axis=1, initial=0.0) >= tol
        if not moving.any():
            break
        if not moving.all():
            active, ba, f, lp = active[moving], ba[moving], f[moving], lp[moving]
            sub = _Situations(sub.x[moving], sub.avail[moving], sub.y[moving], sub.w[moving])
    return b, hess


def _column_scale(s: _Situations) -> np.ndarray:
    """Range of each design column among the alternatives shown (1 when constant)."""
    k = s.x.shape[-1]
    rows = s.x[s.avail].reshape(-1, k)
    rng = rows.max(axis=0) - rows.min(axis=0) if len(rows) else np.ones(k)
    return np.where(rng > 0, rng, 1.0)


def _population(s: _Situations, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and precision of the penalty (empirical Bayes), and every respondent's mode."""
    scale = _column_scale(s)
    pooled = _Situations(
        s.x[pop].reshape(1, -1, *s.x.shape[2:]),
        s.avail[pop].reshape(1, -1, s.avail.shape[2]),
        s.y[pop].reshape(1, -1),
        s.w[pop].reshape(1, -1),
    )
    # aggregate MNL; a weak penalty (sd 10 per unit of column range) keeps it finite when a
    # level is never chosen
    k = s.x.shape[-1]
    agg, _ = _modes(pooled, np.zeros(k), (scale / 10.0) ** 2)
    centre = agg[0]
    var = (1.0 / scale) ** 2  # start: sd 1 per unit of column range
    floor = (0.01 / scale) ** 2
    full = s
    if pop.sum() > EB_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(np.flatnonzero(pop), EB_SAMPLE, False))
        s = _Situations(s.x[rows], s.avail[rows], s.y[rows], s.w[rows])
        pop = np.ones(EB_SAMPLE, dtype=bool)
    b = None
    # Empirical-Bayes (EM) updates of the centre and spread. EM for variance components
    # creeps towards its fixed point, but the ranking of respondents' RLH settles within a few
    # updates, so a fixed number keeps the run time predictable (and the result deterministic).
    for _ in range(EB_UPDATES):
        # a few Newton steps from the previous modes suffice between updates of the penalty
        b, hess = _modes(s, centre, 1.0 / var, start=b, max_iter=3)
        post_var = np.diagonal(np.linalg.inv(hess[pop]), axis1=1, axis2=2)
        centre = b[pop].mean(axis=0)
        var = np.maximum(((b[pop] - centre) ** 2).mean(axis=0) + post_var.mean(axis=0), floor)
    b, _ = _modes(full, centre, 1.0 / var, start=b if full is s else None)
    return centre, 1.0 / var, b


def _rlh_of(b: np.ndarray, s: _Situations) -> np.ndarray:
    n_est = s.w.sum(axis=1)
    ll = (s.w * _chosen_lp(_log_probs(b, s), s.y)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_est > 0, np.exp(ll / np.maximum(n_est, 1)), np.nan)


def _check_design(tasks: _Tasks, design: ChoiceDesign, dataset: ChoiceDataset) -> None:
    """The design must be the one the respondents answered (same attributes and shape)."""
    study = dataset.study
    if design.study.attribute_names != study.attribute_names:
        raise WinbackError(
            f"the design's attributes {list_valid(design.study.attribute_names)} are not the "
            f"dataset's {list_valid(study.attribute_names)}."
        )
    if tasks.n == 0:
        return
    t = tasks.x.shape[1]
    j = sum(a.isdigit() for a in tasks.alt)
    if (design.n_tasks, design.n_alternatives) != (t, j):
        raise WinbackError(
            f"the design has {design.n_tasks} tasks of {design.n_alternatives} alternatives; "
            f"the respondents answered {t} tasks of {j}: is it the design they saw?"
        )


def _templates(
    tasks: _Tasks, design: ChoiceDesign | None, dataset: ChoiceDataset, n: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Task rows and holdout masks of ``n`` simulated respondents."""
    if design is None:
        pick = np.arange(n) % tasks.n
        return tasks.x[pick], tasks.holdout[pick], "the tasks the respondents saw"
    study = dataset.study
    sq = study.status_quo
    if sq is not None and sq.levels is None:
        pick = np.arange(n) % tasks.n
        return (
            tasks.x[pick],
            tasks.holdout[pick],
            "the tasks the respondents saw (the status quo differs by respondent)",
        )
    enc = tasks.encoding
    per_version = []
    for v in range(design.n_versions):
        rows = [enc.encode(np.asarray(design.levels[v]))]
        t_, k = rows[0].shape[0], enc.n_parameters
        if "status_quo" in tasks.alt and enc.sq_index is not None:
            sq_row = np.zeros(k)
            sq_row[enc.sq_index] = 1.0
            if sq is not None and sq.levels is not None:
                sq_row += enc.encode(np.asarray(sq.levels))
            rows.append(np.broadcast_to(sq_row, (t_, 1, k)))
        if "none" in tasks.alt:
            rows.append(np.broadcast_to(enc.none_row(), (t_, 1, k)))
        per_version.append(np.concatenate(rows, axis=1))
    pick = np.arange(n) % design.n_versions
    x = np.stack(per_version)[pick]
    holdout = np.broadcast_to(np.asarray(design.holdout, dtype=bool), (n, design.n_tasks)).copy()
    return x, holdout, "the design's versions, dealt in turn"


@dataclass(frozen=True)
class _Genuine:
    """Where the simulated genuine respondents' part-worths come from: ``kind`` is
    "part_worths", "priors" or "data"; ``rows`` the given part-worths (canonical column
    order) for "part_worths"; ``label`` says it in words."""

    kind: str
    label: str
    rows: np.ndarray | None = None


def _genuine_source(
    genuine: str, part_worths: pd.DataFrame | None, study: Study, enc: Encoding
) -> _Genuine:
    """Resolve ``genuine`` ("auto" included) and check ``part_worths``; never overrides."""
    informative = study.priors.kind != "null"
    if part_worths is not None and genuine not in ("auto", "part_worths"):
        raise WinbackError(
            f'part_worths were given but genuine="{genuine}"; use genuine="part_worths" (or '
            '"auto") to simulate from them, or leave part_worths out.'
        )
    kind = genuine
    if genuine == "auto":
        kind = "part_worths" if part_worths is not None else "priors" if informative else "data"
    if kind == "part_worths":
        if part_worths is None:
            raise WinbackError(
                'genuine="part_worths" needs part_worths: a DataFrame of genuine respondents\' '
                "part-worths, e.g. analysis.respondent_draws(model) for a fitted model."
            )
        return _Genuine(kind, "given part-worths", _part_worth_rows(part_worths, enc))
    if kind == "priors":
        if not informative:
            raise WinbackError(
                'genuine="priors" but the study\'s [priors] are kind = "null" (every part-worth '
                "0, i.e. random answering); give [priors] mean and sd in the study file, or use "
                'genuine="data".'
            )
        return _Genuine(kind, f'the study\'s [priors] (kind = "{study.priors.kind}")')
    return _Genuine(kind, "estimated from the data")


def _part_worth_rows(part_worths: Any, enc: Encoding) -> np.ndarray:
    names = list(enc.names)
    if not isinstance(part_worths, pd.DataFrame):
        raise WinbackError(
            "part_worths must be a DataFrame with one row per genuine respondent (or posterior "
            f"draw) and one column per parameter ({list_valid(names)}), e.g. "
            f"analysis.respondent_draws(model); got {type(part_worths).__name__}."
        )
    cols = [str(c) for c in part_worths.columns]
    missing = [n for n in names if n not in cols]
    extra = [c for c in cols if c not in names]
    if missing or extra:
        hint = did_you_mean(extra[0], names) if extra else ""
        raise WinbackError(
            "part_worths columns must be the study's parameters: "
            + (f"missing {list_valid(missing)}; " if missing else "")
            + (f"unknown {list_valid(extra)};{hint} " if extra else "")
            + f"parameters: {list_valid(names)}."
        )
    if len(part_worths) == 0:
        raise WinbackError("part_worths has no rows; give at least one respondent's part-worths.")
    frame = part_worths.set_axis(cols, axis=1)[names]
    try:
        rows = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise WinbackError(f"part_worths must hold numbers: {err}.") from None
    bad = ~np.isfinite(rows)
    if bad.any():
        where = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise WinbackError(
            f"part_worths must be finite numbers; {int(bad.sum())} value(s) are NaN or infinite "
            f"(in {list_valid(where)})."
        )
    return rows


def _genuine_betas(source: _Genuine, study: Study, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, K) part-worths of simulated genuine respondents from given rows or the priors."""
    if source.kind == "part_worths":
        assert source.rows is not None
        return source.rows[rng.integers(0, len(source.rows), size=n)]
    seed = int(rng.integers(0, 2**31 - 1))
    return prior_draws(study, replace(study.priors, draws=n), seed=seed)


def _mixture_fit(
    sample: np.ndarray, genuine: np.ndarray, random: np.ndarray
) -> tuple[float, float]:
    """How well ``(1 - share) G + share R`` fits the sample's RLH distribution.

    ``sample``, ``genuine`` and ``random`` are sorted RLH values; G and R the empirical CDFs of
    the last two. The share of random responders is the least-squares fit of the CDFs at the
    sample points (clipped to [0, MAX_RANDOM_SHARE]); returns (mean squared CDF distance,
    share).
    """
    f = np.arange(1, len(sample) + 1) / len(sample)
    g = np.searchsorted(genuine, sample, side="right") / len(genuine)
    d = np.searchsorted(random, sample, side="right") / len(random) - g
    dd = float((d * d).sum())
    share = float(np.clip(((f - g) * d).sum() / dd, 0.0, MAX_RANDOM_SHARE)) if dd > 0 else 0.0
    return float(np.mean((f - g - share * d) ** 2)), share


def _data_scale(
    sample: np.ndarray,
    random: np.ndarray,
    x: np.ndarray,
    holdout: np.ndarray,
    tasks: _Tasks,
    centre: np.ndarray,
    prec: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """The scale of the data's population (centre and spread) whose simulated genuine
    respondents, mixed with random ones, best fit the sample's RLH distribution.

    The shrinkage's population is attenuated (a Laplace-approximate empirical Bayes with few
    tasks per respondent understates both the mean part-worths and their spread, by about a
    quarter and a third on the example study) and pulled towards zero by random responders in
    the sample; simulating from it as it stands would set the cutoff too low. One scale factor
    on the centre and spread, fitted with common random numbers (the same respondents and
    Gumbel draws at every scale), corrects both. Returns (scale, share of random responders).
    """
    n = len(x)
    z = rng.standard_normal((n, len(centre)))
    sd = np.sqrt(1.0 / prec)
    seed = int(rng.integers(0, 2**31 - 1))
    cache: dict[float, tuple[float, float]] = {}

    def fit(log_scale: float) -> float:
        if log_scale not in cache:
            betas = np.exp(log_scale) * (centre + z * sd)
            g = _simulated_rlh(x, holdout, betas, tasks, centre, prec, np.random.default_rng(seed))
            cache[log_scale] = _mixture_fit(sample, g, random)
        return cache[log_scale][0]

    grid = np.linspace(np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1]), SCALE_GRID)
    best = int(np.argmin([fit(v) for v in grid]))
    # golden-section search between the best grid point's neighbours
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    for _ in range(SCALE_REFINE):
        if fit(a) <= fit(b):
            hi, b = b, a
            a = hi - ratio * (hi - lo)
        else:
            lo, a = a, b
            b = lo + ratio * (hi - lo)
    log_scale = min(cache, key=lambda v: cache[v][0])
    if log_scale in (grid[0], grid[-1]):
        log.info(
            "flag_quality: the data's population scale is at the edge of its range (%.2f)",
            np.exp(log_scale),
        )
    return float(np.exp(log_scale)), cache[log_scale][1]


def _simulated_answers(
    x: np.ndarray, betas: np.ndarray | None, dual: bool, enc: Encoding, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """Choices (and dual-response would-buy answers) of simulated respondents on tasks ``x``.

    ``betas`` None: random answering (a uniform choice; with dual-response none, a coin for
    would-buy). Otherwise an MNL, as :func:`conjoint.simulate_choices`: a Gumbel draw per
    alternative, then, with dual-response none, "buy" with the logit probability of the chosen
    alternative against none.
    """
    n, t, j, _ = x.shape
    if betas is None:
        y = rng.integers(0, j, size=(n, t))
        return y, rng.integers(0, 2, size=(n, t)) if dual else None
    u = np.einsum("ntjk,nk->ntj", x, betas)
    y = np.argmax(u + rng.gumbel(size=u.shape), axis=2)
    if not dual:
        return y, None
    u_chosen = np.take_along_axis(u, y[..., None], axis=2)[..., 0]
    u_none = betas @ enc.none_row()
    with np.errstate(over="ignore"):
        p_buy = 1.0 / (1.0 + np.exp(-(u_chosen - u_none[:, None])))
    return y, (rng.random(p_buy.shape) < p_buy).astype(int)


def _simulated_rlh(
    x: np.ndarray,
    holdout: np.ndarray,
    betas: np.ndarray | None,
    tasks: _Tasks,
    centre: np.ndarray,
    prec: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """RLH of simulated respondents, estimated exactly as the real ones (same centre, spread,
    tasks); sorted, NaN (no estimation task) dropped."""
    y, buy = _simulated_answers(x, betas, tasks.buy is not None, tasks.encoding, rng)
    s = _situations(x, y, buy, holdout, tasks.encoding)
    b, _ = _modes(s, centre, prec)
    r = np.sort(_rlh_of(b, s))
    return r[~np.isnan(r)]


def _rlh(
    tasks: _Tasks,
    dataset: ChoiceDataset,
    design: ChoiceDesign | None,
    source: _Genuine,
    false_flag: float,
    n_genuine: int,
    n_random: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    idx = pd.Index(tasks.ids, dtype="string")
    out = pd.DataFrame(
        {
            "rlh": np.nan,
            "rlh_random_share": np.nan,
            "rlh_genuine_share": np.nan,
            "random_responder": pd.array([pd.NA] * tasks.n, dtype="boolean"),
            "holdout_hit_rate": np.nan,
        },
        index=idx,
    )
    info: dict[str, Any] = {
        "rlh_cutoff": None,
        "rlh_false_flag": false_flag,
        "rlh_genuine_source": source.label,
    }
    if tasks.n == 0 or not (~tasks.holdout).any():
        info["rlh_note"] = (
            "no respondent has choice tasks"
            if tasks.n == 0
            else "every task is a holdout task, so there is nothing to estimate from"
        )
        return out, info
    if tasks.n < MIN_RESPONDENTS_RLH:
        # the shrinkage's spread is estimated across respondents: one respondent has none
        info["rlh_note"] = (
            f"RLH needs at least {MIN_RESPONDENTS_RLH} respondents with choice tasks (the "
            f"shrinkage is estimated across respondents); there is {tasks.n}"
        )
        log.warning("flag_quality: random responders not checked: %s.", info["rlh_note"])
        return out, info
    s = _situations(tasks.x, tasks.y, tasks.buy, tasks.holdout, tasks.encoding)
    included = set(dataset.included_ids)
    pop = np.array([r in included for r in tasks.ids])
    if pop.sum() < MIN_RESPONDENTS_RLH:
        pop = np.ones(tasks.n, dtype=bool)
    centre, prec, b = _population(s, pop)
    rlh = _rlh_of(b, s)

    # independent streams: changing n_genuine leaves the random responders as they were
    rng_pw, rng_g, rng_r, rng_fit = np.random.default_rng(seed).spawn(4)
    x_r, h_r, what = _templates(tasks, design, dataset, n_random)
    rlh_r = _simulated_rlh(x_r, h_r, None, tasks, centre, prec, rng_r)
    sample = np.sort(rlh[pop & ~np.isnan(rlh)])
    scale = None
    if source.kind == "data":
        x_f, h_f, _ = _templates(tasks, design, dataset, min(n_genuine, N_SCALE_FIT))
        scale, _ = _data_scale(sample, rlh_r, x_f, h_f, tasks, centre, prec, rng_fit)
        z = rng_pw.standard_normal((n_genuine, len(centre)))
        betas = scale * (centre + z * np.sqrt(1.0 / prec))
        info["rlh_genuine_source"] = (
            f"estimated from the data: the shrinkage's population x {scale:.2f}, the scale "
            "that fits the sample's RLH"
        )
    else:
        betas = _genuine_betas(source, dataset.study, n_genuine, rng_pw)
    x_g, h_g, _ = _templates(tasks, design, dataset, n_genuine)
    rlh_g = _simulated_rlh(x_g, h_g, betas, tasks, centre, prec, rng_g)
    # with the data's population (fitted to the sample), how many of the sample answer like
    # the random ones (a least-squares mixture of the two RLH CDFs); other sources are not
    # fitted to the sample, so their misfit would pass for random responders
    fit_distance, random_share = _mixture_fit(sample, rlh_g, rlh_r)

    # the cutoff: the order statistic number m = floor(false_flag * (n + 1)) of the n simulated
    # genuine RLH values. A new respondent answering like them is exchangeable with them, so
    # falls below it with probability at most m / (n + 1) <= false_flag (the conformal
    # quantile; the plain floor(false_flag * n)-th would allow (m + 1) / (n + 1), 5.05% here)
    m = int(np.floor(false_flag * (len(rlh_g) + 1) + 1e-9))
    cutoff = float(rlh_g[m - 1])
    false_sim = float(np.mean(rlh_g < cutoff))
    detection = float(np.mean(rlh_r < cutoff))
    out["rlh"] = rlh
    out["rlh_random_share"] = 1.0 - np.searchsorted(rlh_r, rlh, side="left") / len(rlh_r)
    out["rlh_genuine_share"] = np.searchsorted(rlh_g, rlh, side="right") / len(rlh_g)
    out["random_responder"] = pd.array(rlh < cutoff, dtype="boolean")
    warning = None
    if detection < MIN_DETECTION:
        warning = (
            "this design cannot tell random answering from genuine answers: only "
            f"{detection:.0%} of simulated random responders would be caught (at "
            f"{false_flag:.0%} false flags); read rlh before excluding anyone, and field more "
            "tasks or less utility-balanced choice sets in the next wave"
        )

    # holdout tasks predicted by the respondent's own estimates (first choice; with
    # dual-response none, the would-buy answer too)
    if tasks.holdout.any():
        u = np.einsum("ntjk,nk->ntj", tasks.x, b)
        pred = u.argmax(axis=2)
        hit = pred == tasks.y
        if tasks.buy is not None:
            u_pred = np.take_along_axis(u, pred[..., None], axis=2)[..., 0]
            u_none = b @ tasks.encoding.none_row()
            hit &= (u_pred > u_none[:, None]).astype(int) == tasks.buy
        n_h = tasks.holdout.sum(axis=1)
        with np.errstate(invalid="ignore"):
            rate = np.where(n_h > 0, (hit & tasks.holdout).sum(axis=1) / np.maximum(n_h, 1), np.nan)
        out["holdout_hit_rate"] = rate
    info.update(
        rlh_cutoff=cutoff,
        rlh_false_flag_simulated=false_sim,
        rlh_detection=detection,
        rlh_warning=warning,
        rlh_n_genuine=len(rlh_g),
        rlh_n_random=len(rlh_r),
        rlh_genuine_median=float(np.median(rlh_g)),
        rlh_random_median=float(np.median(rlh_r)),
        rlh_sample_median=float(np.nanmedian(rlh)),
        rlh_flagged_share=float(np.mean(rlh < cutoff)),
        rlh_simulated_answered=what,
        rlh_data_scale=scale,
        rlh_random_share_estimate=random_share if source.kind == "data" else None,
        rlh_mixture_distance=fit_distance if source.kind == "data" else None,
        rlh_spread_updates=EB_UPDATES,
        rlh_centre=dict(zip(tasks.encoding.names, centre.round(6).tolist(), strict=True)),
        rlh_spread=dict(
            zip(tasks.encoding.names, np.sqrt(1.0 / prec).round(6).tolist(), strict=True)
        ),
    )
    return out, info
