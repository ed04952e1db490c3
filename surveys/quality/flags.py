"""``flag_quality``: the data-quality flags of every respondent, attached to the dataset.

It holds the public function, its settings (the flag columns, the sources of simulated genuine
respondents, the default false-flag rate) and the typing of the flags table; the evidence comes
from :mod:`surveys.quality.answers` (durations, screen positions, repeated holdouts, duplicates)
and :mod:`surveys.quality.calibration` (RLH and its cutoff calibrated by simulation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from surveys._text import member
from surveys.dataset import ChoiceDataset
from surveys.quality.answers import _duplicates, _durations, _positions, _repeats
from surveys.quality.calibration import _check_design, _genuine_source, _rlh
from surveys.quality.tasks import _task_arrays
from winback.errors import WinbackError, did_you_mean, list_valid

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
          ``random_responder`` (RLH below the cutoff); RLH values within ``1e-9`` (relative)
          of each other count as equal (the same answers to the same tasks give the same RLH,
          whatever rounding separates two fits);
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

    duration, source, median = _durations(tasks, people, included)
    out["duration_seconds"] = duration.reindex(ids)
    out["duration_source"] = source.reindex(ids)
    speeder = pd.Series(pd.NA, index=ids, dtype="boolean")
    if median is not None:
        known = out["duration_seconds"].notna() & member(ids, tasks.ids)
        speeder[known] = out.loc[known, "duration_seconds"] < speeder_ratio * median
    out["speeder"] = speeder
    attrs["median_duration_seconds"] = median

    pos = _positions(tasks, dataset.study)
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

    dup = _duplicates(tasks, people, duplicate_ignore)
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
