"""Simulated fieldwork: lost customers answering the questionnaire (:func:`simulate_respondents`)
and the conjoint (:func:`simulate_fieldwork`), with realistic reasons, open answers, random
responders and speeders, for tests, the demo and users' first notebook.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from conjoint.design import ChoiceDesign
from conjoint.encoding import parameter_names
from conjoint.maxdiff import MaxDiffDesign
from conjoint.simulate import simulate_choices
from surveys.fieldwork_maxdiff import Fieldwork, with_maxdiff
from winback.errors import WinbackError, list_valid
from winback.study.model import Study
from winback.study.questionnaire_defaults import default_questionnaire
from winback.study.questionnaire_model import Questionnaire
from winback.study.questions import Question

# --------------------------------------------------------------------------------------------
# Simulated respondents
# --------------------------------------------------------------------------------------------

# Marginal shares the latent draw is calibrated to (before "at least one reason" is enforced,
# which lifts every share a little), and how often a ticked reason is named the main one.
_REASON_SHARE = {
    "price_rise": 0.48,
    "outages": 0.27,
    "support": 0.22,
    "competitor_offer": 0.18,
    "moved": 0.07,
    "contract_terms": 0.10,
    "other": 0.05,
}
_MAIN_WEIGHT = {
    "price_rise": 3.0,
    "outages": 2.5,
    "support": 1.5,
    "competitor_offer": 1.5,
    "moved": 5.0,
    "contract_terms": 1.0,
    "other": 1.0,
}
# Correlation of the latent reasons (order of _REASON_SHARE): price and competitor offers go
# together, outages and poor support go together, moving home is mostly a reason on its own.
_REASON_CORR = np.array(
    [
        [1.00, 0.00, -0.05, 0.35, -0.35, 0.15, -0.10],
        [0.00, 1.00, 0.45, 0.00, -0.30, 0.00, -0.05],
        [-0.05, 0.45, 1.00, 0.00, -0.30, 0.10, -0.05],
        [0.35, 0.00, 0.00, 1.00, -0.30, 0.05, -0.10],
        [-0.35, -0.30, -0.30, -0.30, 1.00, -0.10, -0.05],
        [0.15, 0.00, 0.10, 0.05, -0.10, 1.00, -0.05],
        [-0.10, -0.05, -0.05, -0.10, -0.05, -0.05, 1.00],
    ]
)

_WHAT_HAPPENED = {
    "price_rise": (
        "My bill went up by {rise} a month with no warning.",
        "The price rose twice in one year and nothing got better.",
        "After the discount ended the price almost doubled.",
        "I was paying {paid} a month and it kept going up.",
        "They raised the price again, so I looked around.",
    ),
    "outages": (
        "The internet dropped out almost every evening.",
        "We had {days} days without a connection in one month.",
        "Constant outages while working from home.",
        "The connection kept cutting out and nobody fixed it.",
    ),
    "support": (
        "I waited over an hour on the phone, three times.",
        "Support kept promising a call back that never came.",
        "Nobody could fix my problem, I was passed around.",
        "The engineer did not turn up twice.",
    ),
    "competitor_offer": (
        "Another provider offered the same for much less.",
        "I got a better deal with a free router elsewhere.",
        "A friend recommended a cheaper provider.",
        "The new provider gave me 6 months at half price.",
    ),
    "moved": (
        "I moved to an area you do not cover.",
        "We moved in together and kept my partner's provider.",
        "Moved house and the new flat already had a contract.",
    ),
    "contract_terms": (
        "I did not want another 24 month contract.",
        "The exit fee and the contract length put me off.",
        "They wanted me to sign up for two more years.",
    ),
    "other": (
        "Personal reasons, nothing to do with the service.",
        "I no longer needed the TV part.",
        "Just wanted a change.",
    ),
}
_OTHER_TEXT = (
    "I no longer needed TV",
    "Cutting costs after losing my job",
    "Switched to mobile data only",
    "The router was too slow for gaming",
    "Did not like the new app",
    "Wanted a greener provider",
)
_BRING_BACK = {
    "price_rise": (
        "A fair price that stays fixed.",
        "Go back to what I paid before.",
        "A price guarantee for two years.",
        "Around {target} a month and I would think about it.",
    ),
    "outages": (
        "A connection that actually works.",
        "Compensation when the service is down.",
        "Proof that the network has been fixed.",
    ),
    "support": (
        "Real people answering the phone.",
        "Faster support and someone who owns the problem.",
        "Priority support without waiting.",
    ),
    "competitor_offer": (
        "Match the offer I have now.",
        "A better deal than my current provider.",
        "A cheaper price and no setup fee.",
    ),
    "moved": (
        "Coverage at my new address.",
        "Nothing really, unless you cover my area.",
    ),
    "contract_terms": (
        "No long contract.",
        "A monthly rolling contract.",
        "No exit fees.",
    ),
    "other": (
        "A cheaper package without TV.",
        "Not sure, maybe a good offer.",
    ),
}
_NOTHING = (
    "Nothing, I am happy where I am.",
    "Nothing would bring me back.",
    "Not interested.",
)
_PLAN_TEXT = (
    "Broadband only",
    "Broadband and TV",
    "Broadband, TV and mobile",
    "The basic package",
    "The premium bundle",
)
_GENERIC_TEXT = ("Nothing to add.", "All fine.", "Not sure.", "No comment.")


def make_segments(
    tenure_months: Sequence[float] | np.ndarray | pd.Series,
    customer_value: Sequence[float] | np.ndarray | pd.Series,
    reference_price: float,
) -> np.ndarray:
    """Customer segment from tenure and value: ``"new"``, ``"established"`` or ``"loyal"``.

    - ``new``: tenure under 12 months;
    - ``loyal``: tenure of 36 months or more *and* customer value (lifetime revenue) of at
      least ``36 x reference_price`` (long-standing customers paying at least the reference
      price);
    - ``established``: everyone else (including long-standing low payers). Missing tenure
      gives ``established``.

    Parameters
    ----------
    tenure_months, customer_value : array-like
    reference_price : float
        A typical monthly price; :func:`simulate_respondents` uses the median price level of the
        study's price attribute.

    Examples
    --------
    >>> make_segments([6, 24, 48, 48], [300, 1200, 2400, 900], 40.0).tolist()
    ['new', 'established', 'loyal', 'established']
    """
    t = pd.to_numeric(pd.Series(np.asarray(tenure_months, dtype=object)), errors="coerce")
    v = pd.to_numeric(pd.Series(np.asarray(customer_value, dtype=object)), errors="coerce")
    out = np.full(len(t), "established", dtype=object)
    out[(t < 12).to_numpy()] = "new"
    out[((t >= 36) & (v >= 36 * reference_price)).to_numpy()] = "loyal"
    return out


def _respondent_ids(respondents: int | Sequence[str]) -> list[str]:
    if isinstance(respondents, bool) or not isinstance(respondents, int | Sequence):
        raise WinbackError(
            f"respondents must be a number (>= 1) or a list of respondent ids, got {respondents!r}."
        )
    if isinstance(respondents, int):
        if respondents < 1:
            raise WinbackError(f"respondents must be at least 1, got {respondents}.")
        width = len(str(respondents))  # the same ids as conjoint.simulate_choices
        return [f"r{i + 1:0{width}d}" for i in range(respondents)]
    if isinstance(respondents, str):
        raise WinbackError("respondents must be a list of ids, not one string.")
    ids = [str(r) for r in respondents]
    dups = sorted(r for r, k in Counter(ids).items() if k > 1)
    if dups:
        raise WinbackError(f"respondent ids must be unique; repeated: {list_valid(dups[:5])}.")
    if not ids:
        raise WinbackError("respondents is an empty list.")
    return ids


def _pick(rng: np.random.Generator, options: Sequence[str], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def simulate_respondents(
    study: Study,
    respondents: int | Sequence[str],
    random_seed: int | None = None,
    *,
    questionnaire: Questionnaire | None = None,
) -> pd.DataFrame:
    """Simulate realistic lost customers answering the questionnaire (respondents.csv).

    Parameters
    ----------
    study : Study
    respondents : int or sequence of str
        A number of respondents (ids ``r001``..., the same as
        :func:`conjoint.simulate_choices` gives, so the two tables join) or the ids to use.
    random_seed : int, optional
        Same seed, same frame.
    questionnaire : Questionnaire, optional
        Default: :func:`default_questionnaire` of the study. Its reason codes, providers and
        plans are used; excluded questions give no column; extra questions get plausible
        random answers.

    Returns
    -------
    DataFrame
        One row per respondent, columns ``questionnaire.columns()`` then ``customer_value``,
        ``wave``, ``duration_seconds`` and ``segment``. How the answers are drawn:

        - everyone qualifies (``was_customer = 1``); ``status`` is ``left`` for ~78%,
          ``leaving`` otherwise; ``current_provider`` / ``current_spend`` only for ``left``.
        - ``previous_plan``: a level of the plan attribute (middle plans most common) or a short
          text; ``price_paid``: within the study's price levels (higher plans pay more; a
          lognormal around 45 without a price attribute), e.g. 39.99; ``tenure_months``:
          right-skewed (median ~28, 1..240).
        - reasons (0/1): correlated (price rises with competitor offers, outages with poor
          support; moving home mostly alone), about 55% price_rise, 30% outages, 25% support,
          20% competitor_offer, 8% moved, 11% contract_terms, 6% other; at least one each.
          Long-standing and higher-paying customers cite price rises more often.
        - ``main_reason``: one of the ticked reasons. When only one reason is ticked the
          question is not shown and ``main_reason`` holds that reason (importers should fill it
          the same way).
        - open text (``what_happened`` ~85% answered, ``bring_back`` ~75%,
          ``reason_other_text`` when "other" is ticked): short answers from templates matching
          the main reason; never starting with = + - @.
        - ``satisfaction_before`` 0..10 (lower after outages / poor support), ``would_return``
          1..5 (lower after outages, support and moving, higher with satisfaction),
          ``contact_consent`` ~60% (more often for those who would return).
        - ``customer_value`` = ``price_paid x tenure_months`` (lifetime revenue), ``wave`` = 1,
          ``duration_seconds`` (median ~9 minutes; ~4% speeders at 90..200 seconds).
        - ``segment``: :func:`make_segments` of tenure and customer value with the median price
          level as reference price: ``new`` (< 12 months), ``loyal`` (>= 36 months at or above
          the reference price), ``established`` (the rest). A covariate for HB models.

        Answers to questions a respondent is not shown are missing (``<NA>``). Dtypes: text
        ``string``, 0/1 and scale answers ``Int64``, money ``Float64``, ``tenure_months`` and
        ``duration_seconds`` ``Int64``.

    Examples
    --------
    >>> from tests.conftest import SMALL_STUDY, make_study
    >>> people = simulate_respondents(make_study(SMALL_STUDY), 400, random_seed=1)
    >>> bool(people["reason_price_rise"].mean() > people["reason_moved"].mean())
    True
    """
    q = questionnaire if questionnaire is not None else default_questionnaire(study)
    ids = _respondent_ids(respondents)
    n = len(ids)
    rng = np.random.default_rng(random_seed)
    cols: dict[str, Any] = {}

    # -- screener ---------------------------------------------------------------------------
    cols["was_customer"] = np.ones(n, dtype=int)
    status = np.where(rng.random(n) < 0.78, "left", "leaving").astype(object)
    cols["status"] = status

    # -- what they had ----------------------------------------------------------------------
    plan_q = q._by_id.get("previous_plan")
    if plan_q is not None and plan_q.type == "single":
        k = len(plan_q.options)
        centre = (k - 1) / 2
        w = np.array([1.0 / (1.0 + abs(i - centre)) for i in range(k)])
        plan_idx = rng.choice(k, size=n, p=w / w.sum())
        cols["previous_plan"] = np.asarray(plan_q.codes, dtype=object)[plan_idx]
        plan_rank = plan_idx / max(k - 1, 1)
    else:
        plan_idx = rng.integers(0, len(_PLAN_TEXT), n)
        cols["previous_plan"] = np.asarray(_PLAN_TEXT, dtype=object)[plan_idx]
        plan_rank = plan_idx / (len(_PLAN_TEXT) - 1)

    if study.price_attribute is not None:
        levels = np.sort(np.asarray(study.attribute(study.price_attribute).levels, dtype=float))
        lo, hi = float(levels[0]), float(levels[-1])
        reference_price = float(np.median(levels))
        u = np.clip(0.55 * plan_rank + 0.45 * rng.random(n), 0.0, 1.0)
        base = lo + u * (hi - lo)
    else:
        reference_price = 45.0
        base = 45.0 * np.exp(0.3 * (plan_rank - 0.5) + 0.25 * rng.standard_normal(n))
    price = np.maximum(base * np.exp(0.06 * rng.standard_normal(n)), 1.0)
    price = np.where(rng.random(n) < 0.6, np.round(price) - 0.01, np.round(price, 0))
    price = np.round(price, 2)
    cols["price_paid"] = price

    tenure = np.clip(np.ceil(np.exp(np.log(28.0) + 0.9 * rng.standard_normal(n))), 1, 240)
    cols["tenure_months"] = tenure.astype(int)

    # -- reasons ----------------------------------------------------------------------------
    reason_q = q._by_id.get("reason")
    reason_codes = [str(c) for c in reason_q.codes] if reason_q is not None else []
    known = list(_REASON_SHARE)
    m = len(reason_codes)
    corr = np.eye(m)
    for i, a in enumerate(reason_codes):
        for j, b in enumerate(reason_codes):
            if a in known and b in known:
                corr[i, j] = _REASON_CORR[known.index(a), known.index(b)]
    latent = rng.standard_normal((n, m)) @ np.linalg.cholesky(corr).T if m else np.zeros((n, 0))
    z_price = (price - price.mean()) / (price.std() or 1.0)
    z_tenure = (np.log(tenure) - np.log(tenure).mean()) / (np.log(tenure).std() or 1.0)
    if "price_rise" in reason_codes:
        i = reason_codes.index("price_rise")
        latent[:, i] = (latent[:, i] + 0.25 * z_price + 0.25 * z_tenure) / math.sqrt(1.125)
    share = np.array([_REASON_SHARE.get(c, 0.10) for c in reason_codes])
    thresholds = np.array([NormalDist().inv_cdf(1.0 - s) for s in share])
    ticked = latent > thresholds if m else np.zeros((n, 0), dtype=bool)
    if m:
        empty = ~ticked.any(axis=1)
        fill = rng.choice(m, size=int(empty.sum()), p=share / share.sum())
        ticked[np.flatnonzero(empty), fill] = True
    for i, c in enumerate(reason_codes):
        cols[f"reason_{c}"] = ticked[:, i].astype(int)
    weights = np.array([_MAIN_WEIGHT.get(c, 1.0) for c in reason_codes])
    main = np.empty(n, dtype=object)
    if m:
        # Gumbel-max over log weights: a weighted draw among the ticked reasons, vectorised.
        score = np.where(ticked, np.log(weights) + rng.gumbel(size=(n, m)), -np.inf)
        main = np.asarray(reason_codes, dtype=object)[np.argmax(score, axis=1)]
    cols["main_reason"] = main
    has = {c: ticked[:, i] for i, c in enumerate(reason_codes)}

    def flag(code: str) -> np.ndarray:
        return has.get(code, np.zeros(n, dtype=bool)).astype(float)

    # -- what they have now -----------------------------------------------------------------
    prov_q = q._by_id.get("current_provider")
    if prov_q is not None and prov_q.type == "single":
        codes = list(prov_q.codes)
        named = np.array([0.0 if c == "other" else 0.6**i for i, c in enumerate(codes)])
        other = np.array([c == "other" for c in codes], dtype=float)
        # named providers take 88% (the first most often), "other" the rest
        w = 0.88 * named / (named.sum() or 1.0) + 0.12 * other / (other.sum() or 1.0)
        cols["current_provider"] = np.asarray(codes, dtype=object)[
            rng.choice(len(codes), size=n, p=w / w.sum())
        ]
    cheaper = 0.15 * flag("price_rise") + 0.15 * flag("competitor_offer")
    spend = price * np.exp(-cheaper + 0.15 * rng.standard_normal(n))
    cols["current_spend"] = np.round(np.round(spend) - np.where(rng.random(n) < 0.5, 0.01, 0), 2)

    # -- satisfaction and return ------------------------------------------------------------
    sat = (
        6.8
        - 1.8 * flag("outages")
        - 1.5 * flag("support")
        - 0.6 * flag("price_rise")
        + 0.3 * z_tenure
        + 1.7 * rng.standard_normal(n)
    )
    sat_i = np.clip(np.round(sat), 0, 10).astype(int)
    ret = (
        0.45 * (sat - 5.0) / 2.0
        + 0.35 * flag("price_rise")
        + 0.25 * flag("competitor_offer")
        - 0.9 * flag("moved")
        - 0.3 * flag("outages")
        + rng.standard_normal(n)
    )
    would_return = (np.searchsorted(np.array([-0.75, 0.0, 0.75, 1.5]), ret) + 1).astype(int)
    cols["satisfaction_before"] = sat_i
    cols["would_return"] = would_return
    p_consent = 1.0 / (1.0 + np.exp(-(0.45 + 0.45 * (would_return - 2.8))))
    cols["contact_consent"] = (rng.random(n) < p_consent).astype(int)

    # -- open text --------------------------------------------------------------------------
    money = study.currency
    rise = [f"{money} {int(x)}" for x in rng.integers(4, 16, n)]
    days = rng.integers(3, 12, n)
    what = np.empty(n, dtype=object)
    back = np.empty(n, dtype=object)
    other_text = np.empty(n, dtype=object)
    for r in range(n):
        key = str(main[r]) if str(main[r]) in _WHAT_HAPPENED else "other"
        tpl = _WHAT_HAPPENED[key][rng.integers(len(_WHAT_HAPPENED[key]))]
        what[r] = tpl.format(rise=rise[r], days=days[r], paid=f"{money} {price[r]:.2f}")
        if would_return[r] == 1 and rng.random() < 0.5:
            back[r] = _NOTHING[rng.integers(len(_NOTHING))]
        else:
            tpl = _BRING_BACK[key][rng.integers(len(_BRING_BACK[key]))]
            back[r] = tpl.format(target=f"{money} {max(int(price[r] * 0.8), 1)}")
        other_text[r] = _OTHER_TEXT[rng.integers(len(_OTHER_TEXT))]
    what[rng.random(n) >= 0.85] = None
    back[rng.random(n) >= 0.75] = None
    cols["what_happened"] = what
    cols["bring_back"] = back
    cols["reason_other_text"] = other_text

    # -- extra questions and the frame ------------------------------------------------------
    for qu in q.questions:
        if qu.type in ("conjoint", "maxdiff"):  # answered in responses.csv / maxdiff.csv
            continue
        if all(c in cols for c in qu.columns()) and _fits(cols[qu.columns()[0]], qu):
            continue
        cols.update(_simulate_extra(qu, n, rng))  # a new question, or a default one redefined
    ordered = q.columns()[1:]
    frame = pd.DataFrame({"respondent_id": pd.array(ids, dtype="string")})
    for c in ordered:
        frame[c] = cols[c]
    # blank what a respondent would not have been shown
    shown = q.shown(frame)
    for qu in q.questions:
        hide = ~shown[qu.id].to_numpy()
        for c in qu.columns():
            if hide.any():
                frame[c] = frame[c].astype(object)
                frame.loc[hide, c] = None
    if "main_reason" in frame.columns and reason_q is not None:
        frame["main_reason"] = main  # also when only one reason was ticked (not shown then)
    for qu in q.questions:
        for c in qu.columns():
            frame[c] = _typed(frame[c], qu, c)
    value = np.round(price * tenure, 2)
    frame["customer_value"] = pd.array(value, dtype="Float64")
    frame["wave"] = pd.array(np.ones(n, dtype=int), dtype="Int64")
    dur = np.exp(np.log(540.0) + 0.45 * rng.standard_normal(n))
    speed = rng.random(n) < 0.04
    dur[speed] = rng.uniform(90, 200, int(speed.sum()))
    frame["duration_seconds"] = pd.array(np.round(dur).astype(int), dtype="Int64")
    frame["segment"] = pd.array(make_segments(tenure, value, reference_price), dtype="string")
    return frame


def _fits(values: Any, q: Question) -> bool:
    """Whether simulated default answers are valid codes of (a possibly redefined) question."""
    if q.type not in ("single", "yes_no", "scale"):
        return True
    codes = {str(c) for c in q.codes}
    return all(v is None or str(v) in codes for v in np.asarray(values, dtype=object))


def _typed(col: pd.Series, q: Question, name: str) -> Any:
    if q.type in ("multi", "yes_no", "scale") or name == "tenure_months":
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64").astype("Int64")
    if q.type == "number":
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64")
    if q.type == "single" and all(isinstance(c, int) for c in q.codes):
        return pd.array(pd.to_numeric(col, errors="coerce"), dtype="Float64").astype("Int64")
    return pd.array(col.astype(object).where(col.notna(), None), dtype="string")


def _simulate_extra(q: Question, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Plausible random answers to a question winback knows nothing about."""
    if q.type == "multi":
        ticks = rng.random((n, len(q.options))) < 0.3
        empty = ~ticks.any(axis=1)
        ticks[np.flatnonzero(empty), rng.integers(0, len(q.options), int(empty.sum()))] = True
        return {col: ticks[:, i].astype(int) for i, col in enumerate(q.columns())}
    if q.type in ("single", "yes_no", "scale"):
        codes = np.asarray(q.codes, dtype=object)
        return {q.id: codes[rng.integers(0, len(codes), n)]}
    if q.type == "number":
        lo = q.min if q.min is not None else 0.0
        hi = q.max if q.max is not None else lo + 100.0
        return {q.id: np.round(rng.uniform(lo, hi, n))}
    text = _pick(rng, _GENERIC_TEXT, n)
    text[rng.random(n) < 0.5] = None
    return {q.id: text}


def true_partworths(
    study: Study,
    people: pd.DataFrame,
    true_means: dict[str, float],
    true_sd: dict[str, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """True part-worths (person, parameter) of simulated lost customers, by why they left.

    Normal around ``true_means`` with ``true_sd``; those who ticked a price rise
    (``reason_price_rise``) are 40% more price sensitive, those who ticked outages
    (``reason_outages``) value the outage credit twice as much. The rule of
    :func:`simulate_fieldwork`, also used for the demo's CRM population.
    """
    names = parameter_names(study)
    mean = np.array([true_means[n] for n in names])
    sd = np.array([true_sd[n] for n in names])
    betas = mean + rng.standard_normal((len(people), len(names))) * sd
    if "price" in names and "reason_price_rise" in people:
        betas[people["reason_price_rise"].to_numpy(dtype=float) == 1, names.index("price")] *= 1.4
    credit = [n for n in names if n.startswith("outage_credit[")]
    if credit and "reason_outages" in people:
        rows = people["reason_outages"].to_numpy(dtype=float) == 1
        for c in credit:
            betas[rows, names.index(c)] *= 2.0
    return betas


def simulate_fieldwork(
    design: ChoiceDesign,
    true_means: dict[str, float],
    true_sd: dict[str, float],
    n_respondents: int,
    *,
    random_seed: int,
    random_share: float = 0.04,
    speeder_share: float = 0.02,
    maxdiff_design: MaxDiffDesign | None = None,
) -> Fieldwork:
    """Simulated lost customers answering the questionnaire and the conjoint.

    Part-worths differ by why people left (those who left over a price rise are 40% more price
    sensitive; those who left over outages value the outage guarantee twice as much), so
    segment analyses have something real to find. A share of respondents answer the conjoint at
    random and a share rush through the survey, as in real fieldwork; they are returned so that
    the quality flags can be checked against them.

    Returns (choices, respondents, true part-worths, planted). With a ``[maxdiff]`` table the
    result also carries ``.maxdiff`` (MaxDiff answers whose true utilities follow the reasons
    each respondent ticked: :mod:`surveys.fieldwork_maxdiff`), ``.maxdiff_truth`` and
    ``.maxdiff_design`` (``maxdiff_design``, else the study's); the other tables are the same
    as without it.
    """
    study = design.study
    rng = np.random.default_rng(random_seed)
    people = simulate_respondents(study, n_respondents, random_seed=random_seed)
    ids = people["respondent_id"].astype(str).tolist()
    names = parameter_names(study)
    betas = true_partworths(study, people, true_means, true_sd, rng)
    truth = pd.DataFrame(betas, index=pd.Index(ids, name="respondent_id"), columns=names)
    own_sq = study.status_quo is not None and study.status_quo.per_respondent
    choices = simulate_choices(design, truth, random_seed, respondents=people if own_sq else None)
    assert isinstance(choices, pd.DataFrame)
    # random responders: every task answered uniformly at random
    n_random = round(random_share * len(ids))
    random_ids = sorted(rng.choice(ids, size=n_random, replace=False).tolist())
    mask = choices["respondent_id"].isin(random_ids)
    sub = choices[mask]
    n_alt = sub.groupby(["respondent_id", "task"]).size().iloc[0] if len(sub) else 0
    if len(sub):
        picks = rng.integers(0, n_alt, size=len(sub) // n_alt)
        chosen = (np.arange(n_alt)[None, :] == picks[:, None]).astype(int).ravel()
        choices.loc[mask, "chosen"] = chosen
    # speeders: a fraction of the median interview length
    others = [r for r in ids if r not in set(random_ids)]
    n_speed = round(speeder_share * len(ids))
    speeder_ids = sorted(rng.choice(others, size=n_speed, replace=False).tolist())
    if "duration_seconds" in people:
        median = float(pd.to_numeric(people["duration_seconds"]).median())
        people = people.copy()
        people["duration_seconds"] = people["duration_seconds"].astype("Float64")
        sel = people["respondent_id"].isin(speeder_ids)
        people.loc[sel, "duration_seconds"] = np.round(
            rng.uniform(0.1, 0.25, size=int(sel.sum())) * median
        )
    planted = {"random_responders": random_ids, "speeders": speeder_ids}
    return with_maxdiff(study, (choices, people, truth, planted), maxdiff_design, random_seed)
