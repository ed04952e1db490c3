"""A simulated CRM population of lost customers for the example study, with known truth.

Tens of thousands of lost FibreHome customers, of whom a few hundred answered the survey. Every
customer has true *stated* part-worths (what they would answer in the conjoint) that depend on
why they left, the plan they had and how long they were customers, plus an individual spread
the covariates do not explain:

- left over a price rise: 60% more price sensitive, a contract-free offer worth more;
- left over outages: the automatic outage credit worth 1.5 more, priority support 0.5 more;
- left over support: priority support worth 1.5 more;
- moved home: the none alternative 1.5 more attractive (hard to win back);
- had broadband only: TV and mobile worth 0.9 less;
- tenure: each year beyond three makes none 0.25 less attractive (loyal customers return).

*Real* behaviour differs from stated in a known way: every utility times ``real_scale`` (0.6:
real choices noisier) and none ``real_none_shift`` (1.0) more attractive. The CRM list
(``customers``) carries what a CRM would: ids, the respondent id of those who answered, the
covariates, months since leaving, a margin for some, consent and do-not-contact flags. The
observed take-up of today's market under real behaviour is the calibration a researcher would
have. :func:`example_campaign_actions` are the candidate actions of the example's campaign.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.decision import Action, keep_action
from analysis.simulator import Market, PartWorthDraws, Product, encode_products
from conjoint import ChoiceDesign, make_design, simulate_choices
from conjoint.encoding import parameter_names
from surveys import make_dataset
from surveys.dataset import ChoiceDataset
from surveys.fieldwork import simulate_respondents, true_partworths
from winback._io import check_outputs_free, write_csv
from winback.example import TRUE_MEANS, make_example_study
from winback.study import Calibration, Study

__all__ = [
    "CRM_COVARIATES",
    "DEMO_COVARIATES",
    "ExampleCRM",
    "FieldworkCRM",
    "crm_from_fieldwork",
    "example_campaign_actions",
    "example_market",
    "make_example_crm",
    "write_example_crm",
]

#: the respondent columns the example's HB fit uses as covariates
CRM_COVARIATES = ("main_reason", "previous_plan", "tenure_years")

#: the CRM columns the demo's fit uses as covariates (what its fieldwork's truth depends on)
DEMO_COVARIATES = ("reason_price_rise", "reason_outages")

REASONS = ("price_rise", "outages", "support", "moved")
REASON_SHARES = (0.45, 0.25, 0.15, 0.15)
PLANS = ("bundle", "broadband_only")

# individual spread around the covariates' prediction (independent normal)
RESIDUAL_SD = {"level": 0.5, "price": 0.015, "none": 0.8}


def example_market(study: Study) -> Market:
    """Today's market of the example (``broadband_market.toml``)."""
    text = resources.files("winback.examples").joinpath("broadband_market.toml")
    return Market.from_dict(tomllib.loads(text.read_text(encoding="utf-8")), study)


@dataclass(frozen=True)
class ExampleCRM:
    """The simulated CRM population.

    Attributes
    ----------
    study : Study
    design : ChoiceDesign
        The design the respondents answered.
    market : Market
        Today's market.
    customers : DataFrame
        The CRM list (``lost_customers.csv``): ``customer_id, respondent_id, main_reason,
        previous_plan, tenure_years, months_since_leaving, monthly_margin, contact_consent,
        do_not_contact``.
    responses, respondents : DataFrame
        The respondents' conjoint answers (stated) and their answers to the questionnaire.
    stated : ndarray (customer, parameter)
        Every customer's true stated part-worths.
    names : tuple of str
    real_scale, real_none_shift : float
        Real utilities are stated ones times ``real_scale``, none plus ``real_none_shift``.
    calibration : Calibration
        Today's take-up under real behaviour (``take_up``, every alternative of the market).
    """

    study: Study
    design: ChoiceDesign = field(repr=False)
    market: Market = field(repr=False)
    customers: pd.DataFrame = field(repr=False)
    responses: pd.DataFrame = field(repr=False)
    respondents: pd.DataFrame = field(repr=False)
    stated: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    real_scale: float
    real_none_shift: float
    calibration: Calibration

    def real(self) -> np.ndarray:
        """Real part-worths (customer, parameter): stated x scale, none + shift."""
        out = self.stated * self.real_scale
        out[:, self.names.index("none")] += self.real_none_shift
        return out

    def real_draws(self) -> PartWorthDraws:
        """The real part-worths as one draw of every customer (what an oracle knows)."""
        return PartWorthDraws.from_array(
            self.study,
            self.real(),
            respondent_ids=self.customers["customer_id"].astype(str).tolist(),
        )

    def dataset(self) -> ChoiceDataset:
        """The survey's choice data with the respondents' answers (for ``analysis.fit``)."""
        return make_dataset(
            self.responses, self.study, design=self.design, respondents=self.respondents
        )


def _stated(names: list[str], frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """True stated part-worths of every customer from their covariates and a spread."""
    n = len(frame)
    mean = np.array([TRUE_MEANS[k] for k in names])
    sd = np.array(
        [
            RESIDUAL_SD["price"]
            if k == "price"
            else RESIDUAL_SD["none"]
            if k == "none"
            else RESIDUAL_SD["level"]
            for k in names
        ]
    )
    beta = mean + rng.standard_normal((n, len(names))) * sd
    col = {k: i for i, k in enumerate(names)}
    reason = frame["main_reason"].to_numpy()
    price = reason == "price_rise"
    beta[price, col["price"]] *= 1.6
    beta[price, col["contract[No contract]"]] += 0.4
    out = reason == "outages"
    beta[out, col["outage_credit[Automatic credit]"]] += 1.5
    beta[out, col["support[24/7 priority]"]] += 0.5
    beta[reason == "support", col["support[24/7 priority]"]] += 1.5
    beta[reason == "moved", col["none"]] += 1.5
    bb = frame["previous_plan"].to_numpy() == "broadband_only"
    for k in ("tv[TV Essentials]", "tv[TV Essentials + Sports]", "mobile[SIM 20 GB]"):
        beta[bb, col[k]] -= 0.9
    beta[bb, col["mobile[SIM Unlimited]"]] -= 0.9
    beta[:, col["none"]] -= 0.25 * (frame["tenure_years"].to_numpy(dtype=float) - 3.0)
    return beta


def _take_up(real: np.ndarray, study: Study, market: Market) -> list[tuple[str, float]]:
    """Expected shares of today's alternatives (products, then none) under real behaviour."""
    names = parameter_names(study)
    x, _ = encode_products(study, market.products)
    none = np.zeros((1, x.shape[1]))
    none[0, names.index("none")] = 1.0
    u = real @ np.vstack([x, none]).T
    u -= u.max(axis=1, keepdims=True)
    p = np.exp(u)
    p /= p.sum(axis=1, keepdims=True)
    shares = p.mean(axis=0)
    labels = [*market.names, "none"]
    return [(a, float(s)) for a, s in zip(labels, shares, strict=True)]


def make_example_crm(
    n_customers: int = 20_000,
    n_respondents: int = 300,
    *,
    real_scale: float = 0.6,
    real_none_shift: float = 1.0,
    calibration_n: int = 3000,
    random_seed: int = 1,
) -> ExampleCRM:
    """Simulate the CRM population of the example study.

    Parameters
    ----------
    n_customers : int
        Lost customers in the CRM list.
    n_respondents : int
        Of them, how many answered the survey (a random sample).
    real_scale, real_none_shift : float
        The gap between stated and real behaviour.
    calibration_n : int
        Customers the observed take-up is based on (its sampling error).
    random_seed : int

    Returns
    -------
    ExampleCRM

    Examples
    --------
    >>> from winback.example_crm import make_example_crm
    >>> crm = make_example_crm(2000, 100)  # doctest: +SKIP
    >>> crm.customers["respondent_id"].notna().sum()  # doctest: +SKIP
    100
    """
    if not 0 < n_respondents <= n_customers:
        raise ValueError(
            f"n_respondents must be between 1 and n_customers ({n_customers}), got {n_respondents}."
        )
    rng = np.random.default_rng(random_seed)
    study = make_example_study().study
    names = parameter_names(study)
    n = n_customers
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:06d}" for i in range(n)],
            "main_reason": rng.choice(REASONS, size=n, p=REASON_SHARES),
            "previous_plan": rng.choice(PLANS, size=n, p=(0.65, 0.35)),
            "tenure_years": np.round(np.clip(rng.lognormal(np.log(2.5), 0.8, n), 0.1, 20.0), 1),
            "months_since_leaving": rng.integers(1, 25, size=n),
        }
    )
    stated = _stated(names, frame, rng)
    # a margin from the CRM for some (a legacy discount: lower), blank for the others
    margin = np.where(rng.random(n) < 0.05, np.round(rng.uniform(8.0, 16.0, n), 2), np.nan)
    frame["monthly_margin"] = pd.array(margin, dtype="Float64")
    frame["contact_consent"] = (rng.random(n) > 0.08).astype(int)
    frame["do_not_contact"] = (rng.random(n) < 0.03).astype(int)
    picked = np.sort(rng.choice(n, size=n_respondents, replace=False))
    resp_ids = [f"r{i + 1:04d}" for i in range(n_respondents)]
    rid = pd.array([None] * n, dtype="string")
    rid[picked] = resp_ids
    frame.insert(1, "respondent_id", rid)
    design = make_design(study, versions=10, random_seed=random_seed)
    truth = pd.DataFrame(
        stated[picked], index=pd.Index(resp_ids, name="respondent_id"), columns=names
    )
    responses = simulate_choices(design, truth, random_seed)
    assert isinstance(responses, pd.DataFrame)
    people = frame.iloc[picked][list(CRM_COVARIATES)].reset_index(drop=True)
    people.insert(0, "respondent_id", resp_ids)
    market = example_market(study)
    crm = ExampleCRM(
        study=study,
        design=design,
        market=market,
        customers=frame,
        responses=responses,
        respondents=people,
        stated=stated,
        names=tuple(names),
        real_scale=real_scale,
        real_none_shift=real_none_shift,
        calibration=Calibration("take_up", (), calibration_n),
    )
    observed = tuple(_take_up(crm.real(), study, market))
    return _with_calibration(crm, observed, calibration_n)


def _with_calibration(
    crm: ExampleCRM, observed: tuple[tuple[str, float], ...], n: int
) -> ExampleCRM:
    cal = Calibration(
        "take_up",
        observed,
        n,
        source="simulated: today's take-up under the CRM population's real behaviour",
    )
    return replace(crm, calibration=cal)


def example_campaign_actions(study: Study, market: Market) -> list[Action]:
    """The example campaign's candidate actions (besides "Do not contact"): today's bundle, a
    loyalty price, a reliability promise, an entry offer and a good / better / best menu, each
    replacing the FibreHome bundle."""
    own = market.product("FibreHome bundle")
    lv = dict(own.levels)

    def offer(name: str, kind: str, text: str, **levels: object) -> Action:
        prod = Product("FibreHome bundle", {**lv, **levels}, own=True)
        return Action(name, kind, market.with_product(prod), (prod.name,), text, "example")

    tiers = market.without("FibreHome bundle")
    menu = (
        ("Good", {"speed": "300 Mbps", "tv": "No TV", "mobile": "SIM 20 GB", "price": 45.0}),
        (
            "Better",
            {"speed": "1 Gbps", "tv": "TV Essentials", "mobile": "SIM 20 GB", "price": 60.0},
        ),
        ("Best", {"support": "24/7 priority", "price": 75.0}),
    )
    for name, levels in menu:
        common = {"contract": "12 months", "outage_credit": "Automatic credit"}
        tiers = tiers.with_product(Product(name, {**lv, **common, **levels}, own=True))
    return [
        keep_action(market),
        offer(
            "Loyalty price",
            "offer",
            "FibreHome bundle at 62/month on a 12-month contract",
            price=62.0,
            contract="12 months",
        ),
        offer(
            "Reliability promise",
            "offer",
            "FibreHome bundle with automatic outage credit and 24/7 priority support at 75/month",
            outage_credit="Automatic credit",
            support="24/7 priority",
        ),
        offer(
            "Entry offer",
            "entry",
            "300 Mbps broadband only, no contract, outage credit, at 35/month",
            speed="300 Mbps",
            tv="No TV",
            mobile="No mobile",
            contract="No contract",
            outage_credit="Automatic credit",
            price=35.0,
        ),
        Action(
            "Good / better / best",
            "tiers",
            tiers,
            ("Good", "Better", "Best"),
            "Good 300 Mbps + SIM 20 GB at 45, Better 1 Gbps + TV Essentials + SIM 20 GB at 60, "
            "Best the full bundle with priority support at 75; 12 months, outage credit",
            "example",
        ),
    ]


def write_example_crm(folder: str | Path, crm: ExampleCRM, *, force: bool = False) -> Path:
    """Write the CRM list as ``lost_customers.csv`` in ``folder`` (returned)."""
    path = Path(folder) / "lost_customers.csv"
    check_outputs_free([path], force)
    write_csv(crm.customers, path)
    return path


@dataclass(frozen=True)
class FieldworkCRM:
    """The CRM list around simulated fieldwork (:func:`crm_from_fieldwork`).

    Attributes
    ----------
    customers : DataFrame
        ``lost_customers.csv``: ``customer_id, respondent_id, previous_plan, price_paid,
        tenure_months, months_since_leaving, main_reason``, the ``reason_*`` flags,
        ``segment, monthly_margin, contact_consent, do_not_contact``.
    stated : DataFrame
        Every customer's true stated part-worths (index ``customer_id``): the respondents'
        those their answers were simulated from.
    """

    customers: pd.DataFrame = field(repr=False)
    stated: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        n_resp = int(self.customers["respondent_id"].notna().sum())
        return (
            f"FieldworkCRM: {len(self.customers):,} lost customers, {n_resp:,} of them "
            "survey respondents"
        )


_CRM_ANSWERS = ("previous_plan", "price_paid", "tenure_months", "main_reason")


def crm_from_fieldwork(
    study: Study,
    people: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    true_means: dict[str, float],
    true_sd: dict[str, float],
    n_customers: int = 20_000,
    random_seed: int = 1,
) -> FieldworkCRM:
    """A CRM list of lost customers in which simulated fieldwork's respondents are customers.

    The respondents (``people``, from :func:`surveys.fieldwork.simulate_fieldwork`) keep their
    answers (plan, price paid, tenure, reasons for leaving) and their ``respondent_id``; the
    other customers are drawn from the same population (:func:`surveys.fieldwork.
    simulate_respondents`) with part-worths by the same rule
    (:func:`surveys.fieldwork.true_partworths`: truth depends on why they left). Respondents
    sit at random places in the list. The CRM adds months since leaving, a monthly margin for
    about 5% (a legacy discount), contact consent (about 92%) and a do-not-contact flag
    (about 3%).

    Parameters
    ----------
    study : Study
    people, truth : DataFrame
        The fieldwork's respondents and their true part-worths (index ``respondent_id``).
    true_means, true_sd : dict
        The population the fieldwork was simulated from.
    n_customers : int
        Lost customers in the list (at least the respondents).
    random_seed : int

    Returns
    -------
    FieldworkCRM

    Examples
    --------
    >>> crm = crm_from_fieldwork(study, people, truth, true_means=ex.true_means,
    ...                          true_sd=ex.true_sd, n_customers=5000)  # doctest: +SKIP
    """
    n_resp = len(people)
    if n_customers < n_resp:
        raise ValueError(
            f"n_customers ({n_customers}) must be at least the respondents ({n_resp})."
        )
    rng = np.random.default_rng(random_seed)
    ids = [f"C{i + 1:06d}" for i in range(n_customers)]
    at = np.sort(rng.choice(n_customers, size=n_resp, replace=False))
    rest = np.setdiff1d(np.arange(n_customers), at)
    others = simulate_respondents(
        study, [ids[i] for i in rest], random_seed=int(rng.integers(2**31))
    )
    columns = [
        *_CRM_ANSWERS,
        *(c for c in people.columns if str(c).startswith("reason_") and c != "reason_other_text"),
        "segment",
    ]
    cols = [c for c in columns if c in people.columns and c in others.columns]
    frame = pd.DataFrame(index=range(n_customers))
    frame["customer_id"] = pd.array(ids, dtype="string")
    rid = pd.array([None] * n_customers, dtype="string")
    rid[at] = people["respondent_id"].astype(str).to_numpy()
    frame["respondent_id"] = rid
    for c in cols:
        values = np.empty(n_customers, dtype=object)
        values[at] = people[c].astype(object).to_numpy()
        values[rest] = others[c].astype(object).to_numpy()
        frame[c] = pd.Series(values).convert_dtypes()
        if c == "tenure_months":
            frame.insert(list(frame.columns).index(c) + 1, "months_since_leaving", 0)
    frame["months_since_leaving"] = rng.integers(1, 25, size=n_customers)
    margin = np.where(
        rng.random(n_customers) < 0.05, np.round(rng.uniform(8.0, 16.0, n_customers), 2), np.nan
    )
    frame["monthly_margin"] = pd.array(margin, dtype="Float64")
    frame["contact_consent"] = (rng.random(n_customers) > 0.08).astype(int)
    frame["do_not_contact"] = (rng.random(n_customers) < 0.03).astype(int)
    names = list(truth.columns)
    stated = np.empty((n_customers, len(names)))
    stated[at] = truth.loc[people["respondent_id"].astype(str)].to_numpy(dtype=float)
    stated[rest] = true_partworths(study, others, true_means, true_sd, rng)
    return FieldworkCRM(
        customers=frame,
        stated=pd.DataFrame(stated, index=pd.Index(ids, name="customer_id"), columns=names),
    )
