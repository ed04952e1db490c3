"""How good the evidence is: the ``Design & quality`` and ``Diagnostics`` sheets.

The survey design's diagnostics (verdict, D-errors, efficiency, level balance, respondents
needed), the data-quality flags and who was left out of the analysis, the convergence of
the estimation (the verdict in words, R-hat, effective sample sizes, divergences, the checks that
did not pass, the advice, the thresholds and the full convergence report) and how well the model
predicts choices it was not fitted to (hit rates and share errors against naive benchmarks).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from analysis.results import validation_words
from analysis.results.out_of_sample import display_rows
from reports.live_sheet import set_text
from reports.workbook.context import (
    _bool_series,
    _Ctx,
    _exclusion_counts,
    _flag_columns,
    _present,
    _verdict_words,
)
from reports.workbook.styles import INT, NUM1, NUM2, NUM3, PCT, _missing, _Sheet


def _sheet_design_quality(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Survey design and data quality",
        "How well the choice tasks can measure the part-worths, and which interviews look "
        "doubtful (flags) or were left out of the analysis (exclusions).",
    )
    dd = data.design_diagnostics
    if dd:
        s.heading("Design diagnostics")
        need = dd.get("min_respondents")
        # null (older files: -1) when the design does not identify every parameter
        if "min_respondents" in dd and (need is None or need < 0):
            need = dd.get("min_respondents_note") or (
                "not identified: some parameters cannot be estimated from this design, so no "
                "sample size reaches the target standard error"
            )
        rows: list[tuple[str, Any, str | None]] = [
            ("Verdict", dd.get("verdict"), None),
            ("Method", dd.get("method"), None),
            ("Versions", dd.get("n_versions"), INT),
            ("Tasks per respondent (holdouts)",
             f"{dd.get('n_tasks')} ({dd.get('n_holdout_tasks', 0)} holdout)", None),
            ("Alternatives per task", dd.get("n_alternatives"), INT),
            ("None option", "yes" if dd.get("none_option") else "no", None),
            ("Parameters", dd.get("n_parameters"), INT),
            ("D-error (null prior)", dd.get("d0_error"), "0.0000"),
            ("D-error (prior mean)", dd.get("dp_error"), "0.0000"),
            ("Bayesian D-error", dd.get("db_error"), "0.0000"),
            ("Street-Burgess efficiency", dd.get("sb_efficiency"), PCT),
            ("Level balance (worst attribute)", dd.get("worst_balance"), NUM2),
            ("Respondents planned", dd.get("n_respondents"), INT),
            ("Respondents needed for the target standard error", need, INT),
            ("Largest standard error", dd.get("max_se"), "0.000"),
        ]  # fmt: skip
        s.pairs([r for r in rows if r[1] is not None])
        for label, items in (("Reasons", dd.get("reasons")), ("Notes", dd.get("notes"))):
            if items:
                s.para(f"{label}:", bold=True)
                s.bullets([str(x) for x in items])
        s.blank()
        lb = data.level_balance
        if _present(lb) and lb is not None:
            s.heading("Level balance (how often each level is shown)")
            s.table(lb, formats={"count": INT, "share": PCT})
    else:
        _missing(s, "design diagnostics", "design/diagnostics.json")
    q = data.quality
    s.heading("Data-quality flags (flagged interviews are not left out automatically)")
    if _present(q) and q is not None:
        flags = _flag_columns(q)
        t = pd.DataFrame(
            {
                "flag": [f.replace("_", " ") for f in flags],
                "respondents": [int(_bool_series(q[f]).sum()) for f in flags],
                "share": [float(_bool_series(q[f]).mean()) for f in flags],
            }
        )
        s.table(t, formats={"respondents": INT, "share": PCT})
    else:
        _missing(s, "quality flags", "import/quality.csv")
    ex = data.exclusions
    s.heading("Left out of the analysis")
    if ex is not None:
        counts = _exclusion_counts(data)
        if counts is not None and len(counts):
            s.table(counts, formats={"respondents": INT})
            s.table(ex)
        else:
            s.note("Nobody was left out.")
    else:
        _missing(s, "exclusions list", "import/exclusions.csv")
    s.finish()


def _sheet_diagnostics(ws: Worksheet, ctx: _Ctx) -> None:
    data = ctx.data
    s = _Sheet(ws)
    s.title(
        "Convergence of the estimation",
        "Did the sampler explore the posterior well enough to trust the figures? R-hat near 1 "
        "(chains agree), large effective sample sizes (ESS: independent draws) and no "
        "divergences. And does the model predict choices it was not fitted to?",
    )
    fd = data.fit_diagnostics
    if not fd:
        _missing(s, "convergence report", "fit/diagnostics.json")
        s.finish()
        return
    s.heading("Verdict")
    verdict = str(fd.get("verdict", "unknown"))
    s.para(_verdict_words(verdict), bold=True)
    if verdict.lower() in ("warn", "fail") and fd.get("advice"):
        s.para(
            "Page one states this only as reduced confidence. What to do: "
            + "; ".join(str(x) for x in fd["advice"])
            + " Then rerun winback simulate, recommend and report on the new fit."
        )
    s.blank()
    rows: list[tuple[str, Any, str | None]] = [
        ("R-hat, largest (population)", fd.get("rhat_max"), NUM3),
        ("Bulk ESS, smallest (population)", fd.get("ess_bulk_min"), "0"),
        ("Tail ESS, smallest (population)", fd.get("ess_tail_min"), "0"),
        ("R-hat, largest (individual part-worths)", fd.get("beta_rhat_max"), NUM3),
        ("Bulk ESS, smallest (individual part-worths)", fd.get("beta_ess_bulk_min"), "0"),
        ("Tail ESS, smallest (individual part-worths)", fd.get("beta_ess_tail_min"), "0"),
        ("Divergent transitions", fd.get("divergences"), INT),
        ("E-BFMI, smallest chain", fd.get("ebfmi_min"), NUM2),
        ("Maximum tree depth hits", fd.get("treedepth_hits"), INT),
        ("Chains", fd.get("n_chains"), INT),
        ("Draws per chain", fd.get("n_draws"), INT),
        ("Sampler", fd.get("sampler"), None),
        ("Seconds", fd.get("seconds"), NUM1),
    ]
    s.pairs([r for r in rows if r[1] is not None])
    s.blank()
    for label, key in (("Checks that did not pass", "reasons"), ("What to do", "advice")):
        items = fd.get(key) or []
        s.heading(label)
        if items:
            s.bullets([str(x) for x in items])
        else:
            s.note("None.")
    _validation(s, ctx)
    th = fd.get("thresholds")
    if isinstance(th, dict) and th:
        s.heading("Thresholds of the verdict")
        s.pairs([(str(k).replace("_", " "), v, None) for k, v in th.items()])
    if data.convergence_text:
        s.heading("The convergence report")
        for line in data.convergence_text.splitlines():
            c = s.ws.cell(s.row, 1)
            set_text(c, line)
            c.font = Font(name="Consolas")
            s.row += 1
    s.finish()


#: the validation table's columns as the sheet shows them
_VALIDATION_LABELS = {
    "task": "held-out task",
    "n_tasks": "tasks",
    "hit_rate": "hit rate",
    "hit_rate_chance": "by chance",
    "hit_rate_most_popular": "most popular option",
    "most_popular": "(which)",
    "share_mae": "share error",
    "share_mae_equal": "equal shares' error",
}


def _validation(s: _Sheet, ctx: _Ctx) -> None:
    """How well the model predicts held-out choices, in words and figures."""
    data = ctx.data
    rec = data.validation_record or {}
    table = data.validation
    s.heading("Does the model predict choices it was not fitted to?")
    if table is None or table.empty:
        if rec:
            s.para(str(rec.get("note") or "Not validated."))
        else:
            _missing(s, "predictive validation", "fit/validation.csv")
        s.blank()
        return
    words = validation_words(table, str(rec.get("description") or ""), str(rec.get("note") or ""))
    s.para(words[0], bold=True)
    for w in words[1:]:
        s.para(w)
    table = display_rows(table)
    shown = table[[c for c in _VALIDATION_LABELS if c in table.columns]].copy()
    if "holdout" in table.columns:
        named = table["holdout"].astype(str)
        shown["task"] = [
            "all held-out tasks" if t == "all" else (f"{t} ({h})" if h else t)
            for t, h in zip(shown["task"].astype(str), named, strict=True)
        ]
    if "kind" in table.columns and (table["kind"] != "choice").any():
        shown.insert(1, "question", table["kind"].map({"choice": "choice", "dual": "would buy"}))
    s.table(
        shown,
        formats={
            "n_tasks": INT,
            "hit_rate": PCT,
            "hit_rate_chance": PCT,
            "hit_rate_most_popular": PCT,
            "share_mae": PCT,
            "share_mae_equal": PCT,
        },
        labels=_VALIDATION_LABELS,
    )
    s.note(
        "Hit rate: the share of held-out tasks in which the option with the highest utility "
        "(at each respondent's posterior mean part-worths) is the one chosen. By chance: a "
        "random guess. Most popular option: always predicting the option chosen most often "
        "(it knows the held-out answers' shares, so it is a demanding benchmark). Share "
        "error: the mean absolute difference between predicted and observed shares of the "
        "options; equal shares' error: that of predicting every option equally often."
    )
    s.blank()
