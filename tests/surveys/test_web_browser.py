"""A real respondent in a real browser: Debian's Chromium, driven by Playwright.

Three lost customers take the example study's web survey: one completes it (and on the way
closes the page, the server restarts, and they resume where they left off), one stops halfway,
one is screened out. The dataset imported from the database must equal the dataset read from
the canonical CSV files built from what the browser clicked and saw, and the MaxDiff answers
exported must be the reasons clicked (half the sets answered with the keyboard).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from surveys import read_maxdiff_answers, read_responses
from surveys.responses import EXCLUDE_REASON
from surveys.web import UNFINISHED_REASON, make_app, open_survey, survey_maxdiff
from surveys.web.server import running
from tests.surveys.web_helpers import CHROMIUM, CHROMIUM_ARGS, make_survey
from winback._io import write_csv
from winback.example import example_study_text

playwright_api = pytest.importorskip("playwright.sync_api")

# What customer A answers, page by page (ids are respondents.csv columns; lists are ticks).
XSS = "<script>alert('xss')</script><img src=x onerror=alert(1)> Fibre 500"
ANSWERS_A: dict[str, dict[str, Any]] = {
    "screener": {"was_customer": "1", "status": "left"},
    "previous": {
        "previous_plan": XSS,
        "price_paid": "49.99",
        "tenure_months": "30",
        "current_spend": "39",
        "current_provider": "provider_b",
    },
    "reasons": {"reason": ["price_rise", "outages", "other"]},
    "reasons-2": {"reason_other_text": "=1+2 cmd|' /C calc'!A0", "main_reason": "price_rise"},
    # after the MaxDiff's sets (maxdiff-1 .. maxdiff-6)
    "reasons-3": {"what_happened": "Prices <b>rose</b> & the line kept dropping"},
    "return": {"would_return": "4", "bring_back": "@SUM(1,2)", "satisfaction_before": "6"},
    "consent": {"contact_consent": "0"},
}
ANSWERS_B = {
    "screener": {"was_customer": "1", "status": "leaving"},
    "previous": {"previous_plan": "TV bundle", "price_paid": "60", "tenure_months": "7"},
}
ANSWERS_C = {"screener": {"was_customer": "0", "status": "left"}}


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
            "(make install-test installs it with apt-get when run as root)."
        )
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser: Any, **kw: Any) -> Any:
    context = browser.new_context(**kw)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a script ran in the page: {d.message}"))
    return page


def _answer(page: Any, qid: str, value: Any) -> None:
    """Answer one question as a person would: click labels, type into boxes."""
    if isinstance(value, list):
        for code in value:
            page.click(f"label[for='{qid}-{code}']")
        return
    box = page.locator(f"#{qid}")
    if box.count():
        box.fill(value)
    else:
        page.click(f"label[for='{qid}-{value}']")


def _check_accessible(page: Any) -> None:
    problems = page.evaluate(
        """() => {
        const out = [];
        for (const el of document.querySelectorAll('input:not([type=hidden]), textarea')) {
            if (!el.labels || el.labels.length === 0) out.push('no label: ' + el.name);
        }
        for (const fs of document.querySelectorAll('fieldset')) {
            if (!fs.querySelector('legend')) out.push('fieldset without legend');
        }
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
            out.push('page wider than the screen: ' + document.documentElement.scrollWidth);
        if (!document.documentElement.lang) out.push('no lang');
        return out;
    }"""
    )
    assert problems == [], problems


def _questions_page(page: Any, answers: dict[str, dict[str, Any]]) -> str:
    key = page.locator("input[name=_page]").get_attribute("value")
    for qid, value in answers[key].items():
        _answer(page, qid, value)
    _submit(page)
    return key


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.click("button[type=submit]")


def _task_page(page: Any, pick: int, keyboard: bool) -> dict[str, Any]:
    """Choose the pick-th option of a task (mouse or keyboard); return what was seen and done."""
    fs = page.locator("fieldset[data-task]")
    seen = {k: int(fs.get_attribute(f"data-{k}")) for k in ("task", "version", "position")}
    columns = [
        h.get_attribute("id").removeprefix("col-")
        for h in page.locator("thead th[scope=col]").all()
    ]
    cells: dict[str, dict[str, str]] = {}
    for td in page.locator("td[data-alt]").all():
        cells.setdefault(td.get_attribute("data-alt"), {})[td.get_attribute("data-attribute")] = (
            td.get_attribute("data-level")
        )
    radios = [r.get_attribute("value") for r in page.locator("input[name=choice]").all()]
    choice = radios[pick % len(radios)]
    if keyboard:  # Space ticks the focused radio, arrows move within the group, Enter submits
        page.focus("input[name=choice] >> nth=0")
        page.keyboard.press("Space")
        for _ in range(pick % len(radios)):
            page.keyboard.press("ArrowRight")
        assert page.is_checked(f"#choice-{choice}")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.type") == "submit"
        with page.expect_navigation():
            page.keyboard.press("Enter")
    else:
        page.click(f"label[for='choice-{choice}']")
        _submit(page)
    return {**seen, "columns": columns, "cells": cells, "choice": choice}


def _maxdiff_page(page: Any, pick: int, keyboard: bool) -> dict[str, Any]:
    """Mark the pick-th reason "most" and the next one "least" (mouse or keyboard); return the
    set, version, reasons shown and the two picked."""
    fs = page.locator("fieldset[data-maxdiff-set]")
    seen = {k: int(fs.get_attribute(f"data-maxdiff-{k}")) for k in ("set", "version")}
    shown = [tr.get_attribute("data-item") for tr in page.locator("tr[data-item]").all()]
    b, w = pick % len(shown), (pick + 1) % len(shown)
    if keyboard:  # Space ticks, arrows move (and tick) within a column, wrapping round
        page.focus("#best-1")
        page.keyboard.press("Space")
        for _ in range(b):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")  # to the "least" button of the same row
        assert page.evaluate("document.activeElement.id") == f"worst-{b + 1}"
        for _ in range((w - b) % len(shown)):
            page.keyboard.press("ArrowDown")
        assert page.is_checked(f"#best-{b + 1}") and page.is_checked(f"#worst-{w + 1}")
        for _ in range(2):  # past the ticked "most" button when it comes later on the page
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.type") == "submit":
                break
        assert page.evaluate("document.activeElement.type") == "submit"
        with page.expect_navigation():
            page.keyboard.press("Enter")
    else:
        page.click(f"label[for='best-{b + 1}']")
        page.click(f"label[for='worst-{w + 1}']")
        _submit(page)
    return {**seen, "shown": shown, "best": shown[b], "worst": shown[w]}


def _title(page: Any) -> str:
    return page.locator("h1").inner_text()


def test_browser_completes_resumes_and_imports_what_was_clicked(browser, tmp_path: Path):
    study_file, survey, tokens = make_survey(tmp_path, example_study_text(), 3, versions=3)
    db = str(tmp_path / "survey.db")
    study = survey.study
    token_a, token_b, token_c = tokens
    tasks: list[dict[str, Any]] = []
    sets: list[dict[str, Any]] = []

    with running(make_app(survey)) as url:
        # A, on a phone-sized screen: the questionnaire, with one mistake on the way
        page = _page(browser, viewport={"width": 390, "height": 844}, has_touch=True)
        response = page.goto(f"{url}/s/{token_a}")
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert _title(page) == "About you"
        _check_accessible(page)
        _questions_page(page, ANSWERS_A)
        # a number that is not one: the page comes back with the error, the text kept escaped
        _answer(page, "previous_plan", XSS)
        _answer(page, "price_paid", "forty")
        _submit(page)
        assert (
            page.locator("#err-price_paid").inner_text() == "Please enter a number, such as 39.99."
        )
        assert page.input_value("#previous_plan") == XSS  # shown as text, not run
        assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
        _check_accessible(page)
        for key in ("previous", "reasons", "reasons-2"):
            assert _questions_page(page, ANSWERS_A) == key
        # the MaxDiff: a set answered with nothing ticked comes back with what to do
        assert _title(page) == "Reasons 1 of 6"
        _check_accessible(page)
        _submit(page)
        assert "Please choose one reason under" in page.locator("#err-maxdiff").inner_text()
        for i in range(6):
            assert _title(page) == f"Reasons {i + 1} of 6"
            sets.append(_maxdiff_page(page, i, keyboard=i % 2 == 1))
        for key in ("reasons-3", "return", "consent"):
            assert _questions_page(page, ANSWERS_A) == key
        # two choice tasks, then the respondent closes the page
        assert _title(page) == "Choice 1 of 13"
        _check_accessible(page)
        tasks.append(_task_page(page, 0, keyboard=False))
        tasks.append(_task_page(page, 3, keyboard=False))  # the none option
        assert _title(page) == "Choice 3 of 13"
        page.context.close()

    # the server restarts (new process state, same database)
    survey2 = open_survey(db, study)
    with running(make_app(survey2)) as url:
        page = _page(browser, viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/s/{token_a}")
        assert _title(page) == "Choice 3 of 13"  # resumed where they left off
        for i in range(3, 14):
            tasks.append(_task_page(page, i, keyboard=i % 2 == 1))
        assert _title(page) == "Thank you"
        assert "completed" in page.locator("main").inner_text()
        # the same link again: a clear page, no second record
        page.goto(f"{url}/s/{token_a}")
        assert _title(page) == "Thank you"
        page.context.close()

        # B stops after two pages; C is screened out
        page = _page(browser)
        page.goto(f"{url}/s/{token_b}")
        _questions_page(page, ANSWERS_B)
        _questions_page(page, ANSWERS_B)
        assert _title(page) == "Why you left"
        page.context.close()
        page = _page(browser)
        page.goto(f"{url}/s/{token_c}")
        _questions_page(page, ANSWERS_C)
        assert _title(page) == "Thank you"
        assert "no more questions" in page.locator("main").inner_text()
        page.context.close()

    from_db = read_responses(db, study, format="db")
    expected = _expected_files(tmp_path / "clicked", survey2, tasks, from_db)
    from_csv = read_responses(expected, study)
    assert from_db.difference(from_csv) is None, from_db.difference(from_csv)
    assert from_db.equals(from_csv)
    ex = from_db.exclusions.set_index("respondent_id")["reason"]
    ids = {t: r for t, r in zip(tokens, ["w00001", "w00002", "w00003"], strict=True)}
    assert ex[ids[token_b]] == UNFINISHED_REASON
    assert ex[ids[token_c]].startswith("no choice tasks")
    assert ids[token_a] not in ex.index
    people = from_db.respondents.set_index("respondent_id")
    assert people.loc["w00001", "previous_plan"] == XSS
    # the MaxDiff: only A completed; their answers are the reasons clicked, set by set
    md = read_maxdiff_answers(survey_maxdiff(survey2), design=survey2.maxdiff).answers
    assert set(md["respondent_id"]) == {"w00001"}
    for s in sets:
        rows = md[md["set"] == s["set"]].sort_values("position")
        assert rows["item"].tolist() == s["shown"] and (rows["version"] == s["version"]).all()
        assert rows.loc[rows.best == 1, "item"].item() == s["best"], s
        assert rows.loc[rows.worst == 1, "item"].item() == s["worst"], s
    assert people.loc["w00001", "reason_other_text"] == "=1+2 cmd|' /C calc'!A0"


def _expected_files(folder: Path, survey: Any, tasks: list[dict[str, Any]], from_db: Any) -> Path:
    """responses.csv and respondents.csv from what the browser clicked and saw.

    Times are the server's (seconds per task, interview length): they are copied from the
    database import, everything else comes from the browser.
    """
    study = survey.study
    holdout = survey.holdout_tasks
    seconds = from_db.choices.drop_duplicates(["respondent_id", "task"]).set_index("task")[
        "seconds"
    ]
    rows = []
    for t in tasks:
        alts = sorted(t["columns"], key=int) + (["none"] if study.none_option else [])
        for alt in alts:
            levels = t["cells"].get(alt, {})
            rows.append(
                {
                    "respondent_id": "w00001",
                    "version": t["version"],
                    "task": t["task"],
                    "alt": alt,
                    **{a: levels.get(a, "") for a in study.attribute_names},
                    "chosen": int(alt == t["choice"]),
                    "holdout": int(t["task"] in holdout),
                    "task_position": t["position"],
                    "alt_position": t["columns"].index(alt) + 1 if alt in t["columns"] else "",
                    "seconds": seconds[t["task"]],
                }
            )
    choices = pd.DataFrame(rows)
    q = survey.questionnaire
    durations = from_db.respondents.set_index("respondent_id")["duration_seconds"]
    people = []
    for rid, answers, reason in (
        ("w00001", ANSWERS_A, ""),
        ("w00002", ANSWERS_B, UNFINISHED_REASON),
        ("w00003", ANSWERS_C, ""),
    ):
        flat: dict[str, Any] = {}
        for page in answers.values():
            for qid, v in page.items():
                if isinstance(v, list):
                    for code, _ in q.question(qid).options:
                        flat[f"{qid}_{code}"] = int(code in v)
                else:
                    flat[qid] = v
        row = {c: flat.get(c, "") for c in q.columns()}
        row["respondent_id"] = rid
        d = durations[rid]
        row["duration_seconds"] = "" if pd.isna(d) else int(d)
        row[EXCLUDE_REASON] = reason  # how a reader records "did not finish"
        people.append(row)
    folder.mkdir()
    write_csv(choices, folder / "responses.csv")
    write_csv(pd.DataFrame(people), folder / "respondents.csv")
    return folder / "responses.csv"
