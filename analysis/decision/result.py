"""The result of a decision, :class:`Decision`: every candidate on one scale, the source of volume,
and the recommendation in words with bands and runners-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.calibration import CalibratedDraws
from winback.settings import band_label


@dataclass
class Decision:
    """Result of :func:`decide`.

    Attributes
    ----------
    table : DataFrame
        One row per candidate, best first: ``rank, action, kind, recommended, description,
        search, proven``, the like-for-like ``own_before`` / ``own_after`` (the own products'
        names) with ``share_before`` / ``share_after`` (all own products together), ``value``
        (the scale: ``profit_year`` or the objective per lost customer) with its band, the
        ``customers``, ``revenue_year`` and ``profit_year`` with bands (with ``[business]``),
        ``net_gain`` (value against today's offer) with its band, ``net_volume`` (customers,
        or share of lost customers, won back net of what the action takes from our own products)
        with its band, ``gap`` (the
        recommendation's value minus this one's) with its band and ``prob_recommended_better``.
    sources : DataFrame
        For each action: ``action, source, kind`` (``none``, ``competitor``, ``own``, ``net``,
        ``gross``), ``value, lower, upper`` in ``unit`` (customers with ``[business]``, share of
        lost customers otherwise): where its volume comes from against today's market.
    recommended : str
        The recommended action's name.
    basis : {"calibrated", "stated"}
    scale : str
        ``"profit_year"`` or the objective per lost customer.
    unit : str
        The scale's unit in words.
    """

    table: pd.DataFrame
    sources: pd.DataFrame
    recommended: str
    basis: str
    scale: str
    unit: str
    band: float
    calibration: CalibratedDraws | None = field(default=None, repr=False)
    currency: str = "EUR"
    lost_customers: int | None = None  # [business] lost_customers, with [business]
    reach: float = 1.0  # the calibration's availability

    @property
    def best(self) -> pd.Series:
        return self.table.iloc[0]

    @property
    def proven(self) -> bool:
        """Every search behind the candidates was exhaustive, so the recommendation is the best
        of everything searched (on the scale it was chosen by)."""
        return bool(self.table["proven"].all())

    def __repr__(self) -> str:
        return self.text()

    def text(self) -> str:
        """The decision in words: what, how much with bands, how sure, the runners-up."""
        b = self.best
        share_word = "calibrated share" if self.basis == "calibrated" else "stated preference share"
        bl = band_label(self.band)
        money = "customers" in self.table.columns
        lines = [f"RECOMMENDATION: {b['action']}: {b['description']}."]
        if money:
            basis = (
                "calibrated to " + self._source()
                if self.basis == "calibrated"
                else "from stated preference shares, not calibrated to behaviour"
            )
            lines.append(
                f"  Expected customers won back: {_n(b['customers'])} "
                f"[{_n(b['customers_lower'])}, {_n(b['customers_upper'])}]{self._of_whom()}; revenue "
                f"{self._money(b['revenue_year'])} a year; profit {self._money(b['profit_year'])} a year "
                f"[{self._money(b['profit_year_lower'])}, {self._money(b['profit_year_upper'])}], after "
                f"incentives and contact costs ({bl}s; {basis})."
            )
        else:
            lines.append(
                f"  {self.unit}: {b['value']:.4g} [{b['value_lower']:.4g}, "
                f"{b['value_upper']:.4g}] ({bl}s)."
            )
        lines.append(
            f"  Own products before: {b['own_before']} ({share_word} {b['share_before']:.1%}); "
            f"after: {b['own_after']} ({b['share_after']:.1%})."
        )
        if b["kind"] not in ("keep", "no campaign"):
            lines.append(
                f"  Net gain against today's offer: {self._fmt(b['net_gain'])} "
                f"[{self._fmt(b['net_gain_lower'])}, {self._fmt(b['net_gain_upper'])}]."
            )
            src = self.sources[self.sources["action"] == b["action"]].set_index("kind")
            if not src.empty:
                lines.append("  " + self._sources_text(src))
        rest = self.table.iloc[1:]
        if len(rest):
            p = float(rest["prob_recommended_better"].min())
            runner = rest.iloc[0]
            lines.append(
                f"  How sure: better than the runner-up ({runner['action']}) on {p:.0%} of the "
                f"posterior draws{'' if p >= 0.9 else ': not a clear winner'}; "
                + (
                    "the best of every candidate searched."
                    if self.proven
                    else "a search was not exhaustive, so better candidates may exist."
                )
            )
            lines.append(
                "  Runners-up (same scale, gap to the recommendation; the best of each kind, "
                "every candidate in decision.csv):"
            )
            shown = rest.drop_duplicates("kind").sort_values("rank")
            for r in shown.itertuples(index=False):
                d = r._asdict()
                lines.append(
                    f"    {d['rank']}. {d['action']}: {self._fmt(d['value'])}, gap "
                    f"{self._fmt(d['gap'])} [{self._fmt(d['gap_lower'])}, "
                    f"{self._fmt(d['gap_upper'])}], recommendation better on "
                    f"{d['prob_recommended_better']:.0%} of draws"
                )
        return "\n".join(lines)

    def _source(self) -> str:
        cal = self.calibration
        if cal is None:
            return "an observation"
        c = cal.calibration
        if c.kind == "outcomes":
            obs = (
                f"a past campaign's outcomes (scale {c.scale:.3f}, none shift "
                f"{c.none_shift:+.3f} fitted to what its contacted customers did)"
            )
        elif c.kind == "winback_rate":
            obs = f"a win-back rate of {c.observed[0][1]:.1%}"
        else:
            obs = "the observed take-up " + ", ".join(f"{n} {v:.1%}" for n, v in c.observed)
        src = f": {c.source}" if c.source else ""
        return f"{obs} (n = {c.n:,}){src}"

    def _of_whom(self) -> str:
        if self.lost_customers is None:
            return ""
        reached = f", {_n(self.lost_customers * self.reach)} reached" if self.reach < 1.0 else ""
        return f" of {_n(self.lost_customers)} lost customers{reached}"

    def _fmt(self, x: float) -> str:
        return self._money(x) + "/year" if self.scale == "profit_year" else f"{x:.4g}"

    def _money(self, x: float) -> str:
        return _money(x, self.currency)

    def _sources_text(self, src: pd.DataFrame) -> str:
        unit = "customers" if self.scale == "profit_year" else "share of lost customers"

        def f(k: str) -> str:
            v = float(src.loc[k, "value"])
            return _n(v) if self.scale == "profit_year" else f"{v:.1%}"

        return (
            f"Source of volume ({unit}): {f('gross')} take the new offer(s): {f('none')} from "
            f"none, {f('competitor')} from competitors, {f('own')} from our own products; net "
            f"{f('net')}."
        )


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _money(x: float, currency: str = "EUR") -> str:
    """``EUR 1.97m``, ``EUR 752k``, ``EUR 9,120``: the study's currency code first."""
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}{currency} {x / 1e6:.2f}m"
    if x >= 1e4:
        return f"{sign}{currency} {x / 1e3:.0f}k"
    return f"{sign}{currency} {x:,.0f}"
