"""Simulated respondents that take the web survey over HTTP, as a browser would without script.

Used by the load test and the benchmark (``benchmarks/web_load.py``): each bot opens its link,
reads every page's form, answers it (at random, or as told) and records what it clicked, so the
database can be checked against it (:mod:`surveys.web.botcheck`). Standard library only.
"""

from __future__ import annotations

import random
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

#: open-text answers a bot may give, hostile ones included (they must come back unchanged)
TEXTS = (
    "The price went up twice in a year.",
    '=HYPERLINK("http://evil.example","click")',
    "<script>alert('x')</script> & \"quotes\"",
    "+41 outages, -support, @everyone",
    "Ümlauts, emoji 😀 and a\nsecond line",
)


class _Form(HTMLParser):
    """The parts of a survey page a respondent acts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checkboxes: dict[str, list[str]] = {}
        self.texts: list[str] = []
        self.numbers: list[str] = []
        self.task: dict[str, str] = {}
        self.cells: dict[str, dict[str, str]] = {}
        self.maxdiff: dict[str, str] = {}
        self.maxdiff_items: list[str] = []
        self.title = ""
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "h1":
            self._in_h1 = True
        elif tag == "input":
            kind, name = a.get("type", "text"), a.get("name", "")
            if kind == "hidden":
                self.hidden[name] = a.get("value", "")
            elif kind == "radio":
                self.radios.setdefault(name, []).append(a.get("value", ""))
            elif kind == "checkbox":
                self.checkboxes.setdefault(name, []).append(a.get("value", ""))
            elif a.get("inputmode") == "decimal":
                self.numbers.append(name)
            else:
                self.texts.append(name)
        elif tag == "textarea":
            self.texts.append(a.get("name", ""))
        elif tag == "fieldset" and "data-task" in a:
            self.task = {k: a[f"data-{k}"] for k in ("task", "version", "position")}
        elif tag == "fieldset" and "data-maxdiff-set" in a:
            self.maxdiff = {"set": a["data-maxdiff-set"], "version": a["data-maxdiff-version"]}
        elif tag == "tr" and "data-item" in a:
            self.maxdiff_items.append(a["data-item"])
        elif tag == "td" and "data-alt" in a:
            self.cells.setdefault(a["data-alt"], {})[a["data-attribute"]] = a["data-level"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.title += data


@dataclass
class BotRecord:
    """What one bot did: its answers, per task what it saw and chose, per MaxDiff set the
    version, the reasons shown (in order) and the best and worst."""

    token: str
    answers: dict[str, list[str]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    maxdiff: dict[int, dict[str, Any]] = field(default_factory=dict)
    pages: int = 0
    finished: bool = False
    final_title: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: list[urllib.request.OpenerDirector] = []


def fetch(
    url: str,
    data: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """GET (or POST a form to) a URL without following redirects: (status, body or Location).

    ``headers`` are sent with the request (e.g. ``{"X-Winback-Admin-Secret": ...}``).
    """
    if not _OPENER:  # one opener: building one sets up TLS certificates (slow)
        _OPENER.append(urllib.request.build_opener(_NoRedirect))
    opener = _OPENER[0]
    body = None
    if data is not None:
        body = urllib.parse.urlencode(data, doseq=True).encode()
    req = urllib.request.Request(
        url, data=body, headers=dict(headers or {}), method="POST" if body is not None else "GET"
    )
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        text = err.headers.get("Location") or err.read().decode("utf-8", "replace")
        return err.code, text


def answer_page(page: _Form, rng: random.Random, prefer: Mapping[str, str]) -> dict[str, list[str]]:
    """Random answers to every field of a page (``prefer`` fixes some, e.g. the screener)."""
    out: dict[str, list[str]] = {}
    for name, values in page.radios.items():
        out[name] = [prefer[name] if name in prefer else rng.choice(values)]
    for name, values in page.checkboxes.items():
        k = rng.randint(1, min(3, len(values)))
        out[name] = sorted(rng.sample(values, k), key=values.index)
    for name in page.numbers:
        out[name] = [prefer.get(name, str(rng.randint(1, 90)))]
    for name in page.texts:
        out[name] = [prefer[name]] if name in prefer else [rng.choice(TEXTS)]
    if page.maxdiff and out.get("best") == out.get("worst"):  # a MaxDiff set: two reasons
        others = [v for v in page.radios["worst"] if v not in out["best"]]
        out["worst"] = [rng.choice(others)]
    return out


def take_survey(
    base_url: str,
    token: str,
    *,
    random_seed: int | None = None,
    prefer: Mapping[str, str] | None = None,
    max_pages: int = 200,
) -> BotRecord:
    """Take the whole survey behind one link; returns what was answered and seen.

    Examples
    --------
    >>> rec = take_survey("http://127.0.0.1:8000", token, random_seed=1)  # doctest: +SKIP
    >>> rec.finished  # doctest: +SKIP
    True
    """
    rng = random.Random(random_seed)
    prefer = {"was_customer": "1", **(prefer or {})}
    rec = BotRecord(token)
    url = f"{base_url}/s/{token}"
    status, html = fetch(url)
    for _ in range(max_pages):
        if status != 200:
            raise RuntimeError(f"{url}: HTTP {status}: {html[:200]}")
        page = _Form()
        page.feed(html)
        if "_csrf" not in page.hidden:
            rec.finished = True
            rec.final_title = page.title.strip()
            return rec
        answers = answer_page(page, rng, prefer)
        if page.task:
            t = int(page.task["task"])
            rec.tasks[t] = {
                **page.task,
                "chosen": answers["choice"][0],
                "would_buy": answers.get("would_buy", [""])[0],
                "shown": page.cells,
            }
        elif page.maxdiff:
            rec.maxdiff[int(page.maxdiff["set"])] = {
                "version": int(page.maxdiff["version"]),
                "shown": list(page.maxdiff_items),
                "best": answers["best"][0],
                "worst": answers["worst"][0],
            }
        else:
            rec.answers.update(answers)
        rec.pages += 1
        status, loc = fetch(url, {**page.hidden, **answers})
        if status != 303:
            raise RuntimeError(f"{url}: answer refused with HTTP {status}: {loc[:300]}")
        status, html = fetch(url)
    raise RuntimeError(f"{url}: more than {max_pages} pages")


def double_submit(base_url: str, token: str) -> list[int]:
    """Send the current page's answers twice at once (a double click): the HTTP statuses."""
    import threading

    url = f"{base_url}/s/{token}"
    status, html = fetch(url)
    page = _Form()
    page.feed(html)
    if "_csrf" not in page.hidden:
        return []
    data = {**page.hidden, **answer_page(page, random.Random(0), {"was_customer": "1"})}
    out: list[int] = []
    barrier = threading.Barrier(2)

    def send() -> None:
        barrier.wait()
        out.append(fetch(url, data)[0])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def take_surveys(
    base_url: str,
    tokens: list[str],
    *,
    random_seed: int = 0,
    double_click: bool = True,
) -> list[BotRecord | BaseException]:
    """Many bots at once, one thread each, released together; returns records or errors.

    With ``double_click``, each bot first sends its first page twice at the same moment.

    Examples
    --------
    >>> records = take_surveys(url, tokens)  # doctest: +SKIP
    """
    import threading

    results: list[BotRecord | BaseException] = [RuntimeError("not run")] * len(tokens)
    barrier = threading.Barrier(len(tokens))

    def run(i: int, token: str) -> None:
        try:
            barrier.wait(timeout=60)
            if double_click:
                double_submit(base_url, token)
            results[i] = take_survey(base_url, token, random_seed=random_seed + i)
        except BaseException as exc:  # reported to the caller, per bot
            results[i] = exc

    threads = [
        threading.Thread(target=run, args=(i, t), name=f"bot-{i}") for i, t in enumerate(tokens)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
