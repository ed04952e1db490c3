"""Checking the web survey's database against what the bots of :mod:`surveys.web.bot` did:
lost answers, duplicated rows and stored choices or levels other than what a bot saw and
clicked (the load test and ``benchmarks/web_load.py``). The bots talk HTTP only; this reads the
database.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from surveys.web import schema
from surveys.web.bot import BotRecord


def check_records(survey: Any, records: list[BotRecord | BaseException]) -> dict[str, Any]:
    """Compare the database with what the bots did: lost answers, duplicates, mismatches.

    Returns counts: ``respondents``, ``complete``, ``errors`` (bots that failed),
    ``task_answers``, ``page_answers`` and ``maxdiff_answers`` stored, ``duplicates`` (rows
    beyond one per invite and page, task or MaxDiff set), ``missing`` (task and MaxDiff answers
    a bot gave that are not stored) and ``mismatched`` (stored choice, levels, reasons shown,
    best or worst other than what the bot saw and clicked).
    """
    ok = [r for r in records if isinstance(r, BotRecord)]
    with survey.engine.begin() as conn:
        inv = {
            r.token: (r.id, r.outcome)
            for r in conn.execute(
                sa.select(schema.invites.c.token, schema.invites.c.id, schema.invites.c.outcome)
            )
        }
        tasks = conn.execute(sa.select(schema.task_answers)).mappings().all()
        pages = conn.execute(
            sa.select(schema.page_answers.c.invite_id, schema.page_answers.c.page)
        ).all()
        sets = conn.execute(sa.select(schema.maxdiff_answers)).mappings().all()
    by_key: dict[tuple[int, int], list[Any]] = {}
    for t in tasks:
        by_key.setdefault((t["invite_id"], t["task"]), []).append(t)
    dup_tasks = sum(len(v) - 1 for v in by_key.values())
    page_keys = [(p.invite_id, p.page) for p in pages]
    dup_pages = len(page_keys) - len(set(page_keys))
    by_set: dict[tuple[int, int], list[Any]] = {}
    for m in sets:
        by_set.setdefault((m["invite_id"], m["maxdiff_set"]), []).append(m)
    dup_sets = sum(len(v) - 1 for v in by_set.values())
    missing = mismatched = 0
    for rec in ok:
        inv_id, _ = inv[rec.token]
        for t, seen in rec.tasks.items():
            rows = by_key.get((inv_id, t))
            if not rows:
                missing += 1
                continue
            row = rows[0]
            shown = {a["alt"]: a["levels"] for a in json.loads(row["shown"])}
            same = row["chosen"] == seen["chosen"] and all(
                shown.get(alt) == levels for alt, levels in seen["shown"].items()
            )
            if survey.study.dual_response_none:
                same = same and str(row["would_buy"]) == seen["would_buy"]
            mismatched += not same
        for number, seen in rec.maxdiff.items():
            rows = by_set.get((inv_id, number))
            if not rows:
                missing += 1
                continue
            m = rows[0]
            mismatched += json.loads(m["shown"]) != seen["shown"] or (
                m["version"],
                m["best"],
                m["worst"],
            ) != (seen["version"], seen["best"], seen["worst"])
    return {
        "respondents": len(records),
        "errors": len(records) - len(ok),
        "complete": sum(inv[r.token][1] == "complete" for r in ok),
        "task_answers": len(tasks),
        "page_answers": len(pages),
        "maxdiff_answers": len(sets),
        "duplicates": dup_tasks + dup_pages + dup_sets,
        "missing": missing,
        "mismatched": mismatched,
    }
