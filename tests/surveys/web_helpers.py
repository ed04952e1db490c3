"""Shared helpers of the web-survey tests: a study on disk, a survey with invites, and
:func:`call`, which sends one raw HTTP request to the app in this process (no server, no httpx)."""

from __future__ import annotations

import asyncio
import html
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conjoint import make_design
from surveys.web import make_invites, open_survey
from surveys.web.survey import Survey
from winback.study import load_study

#: Debian's Chromium and the flags this sandboxed, offline machine needs
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: a short study for load and security tests: 3 tasks, a holdout-free design, none option
COMPACT_STUDY = """
[study]
name = "Web survey load test"
none_option = true
currency = "EUR"

[[attributes]]
name = "plan"
levels = ["Basic", "Standard", "Premium"]

[[attributes]]
name = "price"
unit = "EUR/month"
levels = [30.0, 40.0, 50.0]
coding = "linear"

[design]
method = "random"
alternatives = 2
tasks = 3
versions = 4
seed = 3

[questionnaire]
exclude = ["previous_plan", "price_paid", "tenure_months", "current_spend", "current_provider",
           "what_happened", "would_return", "bring_back", "satisfaction_before"]
"""

DUAL_STUDY = COMPACT_STUDY.replace(
    'name = "Web survey load test"\nnone_option = true',
    'name = "Web survey dual response"\ndual_response_none = true',
)


#: COMPACT_STUDY with a MaxDiff of five reasons: 4 sets of 3, 2 versions (pages maxdiff-1..4
#: after the reasons)
MAXDIFF_STUDY = (
    COMPACT_STUDY.replace('name = "Web survey load test"', 'name = "Web survey MaxDiff"')
    + """
[maxdiff]
items = ["price_rise", "outages", "support", "competitor_offer", "moved"]
per_set = 3
sets = 4
versions = 2
seed = 5
"""
)


def write_study(folder: Path, text: str) -> Path:
    path = folder / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def make_survey(
    folder: Path, text: str, n_invites: int, *, db: str | None = None, versions: int | None = None
) -> tuple[Path, Survey, list[str]]:
    """A study file, its survey database (design made here) and the invite tokens."""
    study_file = write_study(folder, text)
    study = load_study(study_file)
    design = make_design(study, versions=versions)
    survey = open_survey(db or str(folder / "survey.db"), study, design=design, create=True)
    tokens = make_invites(survey, n_invites)["token"].tolist()
    return study_file, survey, tokens


@dataclass(frozen=True)
class Reply:
    """One response of the app called in-process: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes
    raised: str = ""  # what the app raised after answering (Starlette re-raises a 500's error)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def title(self) -> str:
        m = re.search(r"<h1>(.*?)</h1>", self.text, re.S)
        return html.unescape(m.group(1)) if m else ""

    @property
    def message(self) -> str:
        """The words of the page (tags removed, entities decoded), for phrase checks."""
        return html.unescape(re.sub(r"<[^>]+>", " ", self.text))


def call(
    app: Any,
    method: str,
    target: str,
    *,
    headers: Sequence[tuple[str, str | bytes]] = (),
    body: bytes | Sequence[bytes] = b"",
    client: tuple[str, int] = ("203.0.113.7", 40000),
) -> Reply:
    """Send one HTTP request to an ASGI app in this process, as uvicorn would hand it over.

    ``target`` is the request target as on the wire (``/s/TOKEN?x=1``, %-escapes allowed).
    ``body`` as a list of byte strings arrives in that many chunks (``more_body``), as a chunked
    upload does; no Content-Length is added unless given in ``headers``.
    """
    path, _, query = target.partition("?")
    raw_headers = [
        (k.lower().encode("latin-1"), v if isinstance(v, bytes) else v.encode("latin-1"))
        for k, v in headers
    ]
    if not any(k == b"host" for k, _ in raw_headers):
        raw_headers.insert(0, (b"host", b"survey.test"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": "",
        "headers": raw_headers,
        "client": client,
        "server": ("survey.test", 80),
    }
    chunks = [body] if isinstance(body, bytes) else list(body)
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    raised: list[str] = []

    async def run() -> None:
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        try:
            await app(scope, receive, send)
        except Exception as exc:  # as a server would: logged once the answer has gone out
            if not sent:
                raise
            raised.append(repr(exc))

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    out: dict[str, str] = {}
    for k, v in start.get("headers", []):
        name = k.decode("latin-1").lower()
        out[name] = f"{out[name]}, {v.decode('latin-1')}" if name in out else v.decode("latin-1")
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], out, body_out, "; ".join(raised))


def take_in_process(
    app: Any,
    token: str,
    *,
    random_seed: int = 0,
    prefer: dict[str, str] | None = None,
    stop_at: str | None = None,
) -> Any:
    """A bot (:mod:`surveys.web.bot`) taking the survey through :func:`call` (no server): the
    same random answers and :class:`~surveys.web.bot.BotRecord`. ``stop_at`` leaves the survey
    when that page is shown (a respondent who stops part-way)."""
    import random
    import urllib.parse as up

    from surveys.web.bot import BotRecord, _Form, answer_page

    rng = random.Random(random_seed)
    want = {"was_customer": "1", **(prefer or {})}
    rec = BotRecord(token)
    for _ in range(100):
        reply = call(app, "GET", f"/s/{token}")
        assert reply.status == 200, (reply.status, reply.title)
        page = _Form()
        page.feed(reply.text)
        if "_csrf" not in page.hidden:
            rec.finished, rec.final_title = True, page.title.strip()
            return rec
        if page.hidden["_page"] == stop_at:
            return rec
        answers = answer_page(page, rng, want)
        if page.task:
            rec.tasks[int(page.task["task"])] = {**page.task, "chosen": answers["choice"][0]}
        elif page.maxdiff:
            rec.maxdiff[int(page.maxdiff["set"])] = {
                "version": int(page.maxdiff["version"]),
                "shown": list(page.maxdiff_items),
                "best": answers["best"][0],
                "worst": answers["worst"][0],
            }
        else:
            rec.answers.update(answers)
        body = up.urlencode({**page.hidden, **answers}, doseq=True).encode()
        form = ("content-type", "application/x-www-form-urlencoded")
        sent = call(app, "POST", f"/s/{token}", headers=[form], body=body)
        assert sent.status == 303, (sent.status, sent.title, sent.message[:300])
        rec.pages += 1
    raise AssertionError("more than 100 pages")
