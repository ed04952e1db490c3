"""Hostile requests to the web survey: each gets a 4xx page that says what happened.

Every case sends a request (or a few) to the app in this process (:func:`tests.surveys.web_helpers.call`,
raw ASGI: any bytes, chunked bodies, odd headers) and checks the exact status, a phrase of the
page, the security headers, and that the database is exactly as before -- no answer lost, none
stored twice, none altered -- unless the case is one that must store. Five cases run against
``winback field serve`` over a real socket: chunked uploads, and requests so broken that uvicorn
answers them itself (they must carry the security headers too).

The survey of every case: respondent A is on the first page (screener), B on the second page
of reasons (open text and main reason), D on the first choice task, C never opened the link.
The MaxDiff cases (:data:`MAXDIFF_CASES`) use a survey with a MaxDiff: M is on its first set,
N on its second.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.web import respond, schema
from surveys.web.app import SECURITY_HEADERS, make_app
from surveys.web.limits import RateLimit, WebLimits
from surveys.web.server import serve_subprocess
from surveys.web.tokens import sign_form
from tests.surveys.web_helpers import COMPACT_STUDY, MAXDIFF_STUDY, Reply, call, make_survey

SECRET = "a-long-admin-secret-0123456789"
FORM = ("content-type", "application/x-www-form-urlencoded")
ALLOW_PAGE = "GET, HEAD, POST"
ALLOW_GET = "GET, HEAD"
#: COMPACT_STUDY's longest page has one open-text box: 16 KiB + 4000 characters x 12 bytes
MAX_BODY = 16 * 1024 + 4000 * 12


@dataclass
class Ctx:
    app: Any
    survey: Any
    token: dict[str, str]
    hidden: dict[str, dict[str, str]]
    clock: list[float]
    monkeypatch: pytest.MonkeyPatch
    notes: dict[str, Any] = field(default_factory=dict)


def hidden_of(reply: Reply) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_\w+)" value="([^"]*)"', reply.text))


def encode(pairs: Sequence[tuple[str, str]] | dict[str, str]) -> bytes:
    return urllib.parse.urlencode(pairs).encode("ascii")


def advance(app: Any, token: str, pages: Sequence[Sequence[tuple[str, str]]]) -> None:
    """Answer pages through the app, as a browser would (GET the form, POST it)."""
    for answers in pages:
        fields = hidden_of(call(app, "GET", f"/s/{token}"))
        reply = call(
            app, "POST", f"/s/{token}", headers=[FORM], body=encode([*fields.items(), *answers])
        )
        assert reply.status == 303, f"{reply.status} {reply.title}: {reply.message[:300]}"


SCREENER = [("was_customer", "1"), ("status", "left")]


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ctx:
    clock = [1000.0]
    monkeypatch.setattr("surveys.web.limits.monotonic", lambda: clock[0])
    _, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 4)
    app = make_app(survey, admin_secret=SECRET)
    token = dict(zip("ABCD", tokens, strict=True))
    advance(app, token["B"], [SCREENER, [("reason", "moved"), ("reason", "other")]])
    advance(app, token["D"], [SCREENER, [("reason", "price_rise")], [("contact_consent", "0")]])
    hidden = {k: hidden_of(call(app, "GET", f"/s/{token[k]}")) for k in "ABD"}
    assert [hidden[k]["_page"] for k in "ABD"] == ["screener", "reasons-2", "task-1"]
    yield Ctx(app, survey, token, hidden, clock, monkeypatch)
    survey.engine.dispose()


def snapshot(survey: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the answer and invite tables, in key order."""
    with survey.engine.begin() as conn:
        return {
            t.name.removeprefix("winback_"): [
                tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key))
            ]
            for t in (
                schema.invites,
                schema.page_answers,
                schema.task_answers,
                schema.maxdiff_answers,
            )
        }


def assert_secured(reply: Reply, cache: str = "no-store") -> None:
    for name, value in SECURITY_HEADERS.items():
        want = cache if name == "Cache-Control" else value
        got = reply.headers.get(name.lower())
        assert got == want, f"{name}: {got!r}, expected {want!r} (status {reply.status})"


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------


def post(
    ctx: Ctx,
    who: str,
    body: bytes | Sequence[bytes],
    headers: Sequence[tuple[str, str | bytes]] = (FORM,),
    **kw: Any,
) -> Reply:
    return call(ctx.app, "POST", f"/s/{ctx.token[who]}", headers=headers, body=body, **kw)


def signed(ctx: Ctx, who: str, *answers: tuple[str, str], **hidden: str) -> bytes:
    """A form of ``who``'s current page: its hidden fields (some replaced) and ``answers``."""
    return encode([*{**ctx.hidden[who], **hidden}.items(), *answers])


def raw_signed(ctx: Ctx, who: str, tail: bytes, **hidden: str) -> bytes:
    """The hidden fields, then raw bytes exactly as given (for broken encodings)."""
    return encode({**ctx.hidden[who], **hidden}) + b"&" + tail


def admin(ctx: Ctx, target: str, secret: str | bytes | None = SECRET, app: Any = None) -> Reply:
    headers = [] if secret is None else [("x-winback-admin-secret", secret)]
    return call(app or ctx.app, "GET", target, headers=headers)


def limited_app(ctx: Ctx, **limits: Any) -> Any:
    return make_app(ctx.survey, admin_secret=SECRET, limits=WebLimits(**limits))


def repeat(send: Callable[[], Reply], n: int) -> list[Reply]:
    return [send() for _ in range(n)]


# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    send: Callable[[Ctx], Reply]
    status: int
    says: str
    stores: bool = False  # True: the request is a valid answer and must be stored
    check: Callable[[Ctx, Reply], None] | None = None
    cache: str = "no-store"


def _allow(value: str) -> Callable[[Ctx, Reply], None]:
    def check(ctx: Ctx, reply: Reply) -> None:
        assert reply.headers.get("allow") == value, f"Allow {reply.headers.get('allow')!r}"

    return check


def _retry_after(value: str) -> Callable[[Ctx, Reply], None]:
    def check(ctx: Ctx, reply: Reply) -> None:
        got = reply.headers.get("retry-after")
        assert got == value, f"Retry-After {got!r}, expected {value!r}"
        if reply.status == 429:
            assert f"Please wait {value} seconds and try again" in reply.message, reply.message

    return check


def _not_echoed(text: str) -> Callable[[Ctx, Reply], None]:
    def check(ctx: Ctx, reply: Reply) -> None:
        assert text not in reply.text, f"the reply repeats {text[:20]!r}..."

    return check


def _stored_text(expected: str) -> Callable[[Ctx, Reply], None]:
    def check(ctx: Ctx, reply: Reply) -> None:
        with ctx.survey.engine.begin() as conn:
            rows = conn.execute(
                sa.select(schema.page_answers.c.answers).where(
                    schema.page_answers.c.page == "reasons-2"
                )
            ).scalars()
            got = [json.loads(r)["reason_other_text"] for r in rows]
        assert got == [expected], f"stored {[len(g) for g in got]} characters, sent {len(expected)}"

    return check


def _not_started(ctx: Ctx, reply: Reply) -> None:
    with ctx.survey.engine.begin() as conn:
        started = conn.execute(
            sa.select(schema.invites.c.started_at).where(schema.invites.c.token == ctx.token["C"])
        ).scalar_one()
    assert started is None, f"HEAD started the interview at {started}"


def _status_json(ctx: Ctx, reply: Reply) -> None:
    data = json.loads(reply.text)  # strict JSON: no NaN
    pages = {p["page"]: p for p in data["pages"]}
    assert pages["task-3"] == {
        "page": "task-3",
        "answered": 0,
        "waiting": 0,
        "median_seconds": None,
    }
    assert (data["invited"], data["partial"], data["not_started"]) == (4, 3, 1), data


def _page_limit_then_other_link(ctx: Ctx) -> Reply:
    app = limited_app(ctx, submit_per_token=RateLimit(per_minute=1, burst=2))
    body = signed(ctx, "A", _csrf="0" * 64)
    first = [call(app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=body) for _ in range(2)]
    assert [r.status for r in first] == [403, 403]
    other = call(
        app, "POST", f"/s/{ctx.token['B']}", headers=[FORM], body=signed(ctx, "B", _csrf="0" * 64)
    )
    assert other.status == 403, f"another link is limited too: {other.status}"
    # the right form for A, within the minute: refused without looking at it, nothing stored
    return call(
        app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=signed(ctx, "A", *SCREENER)
    )


def _address_limit(ctx: Ctx) -> Reply:
    app = limited_app(ctx, submit_per_ip=RateLimit(per_minute=2, burst=3))
    for who in "ABD":
        r = call(app, "POST", f"/s/{ctx.token[who]}", headers=[FORM], body=b"_csrf=x")
        assert r.status == 403, r.status
    other = call(
        app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=b"", client=("198.51.100.9", 1)
    )
    assert other.status == 403, f"another address is limited too: {other.status}"
    return call(
        app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=signed(ctx, "A", *SCREENER)
    )


def _limit_lifts(ctx: Ctx) -> Reply:
    app = limited_app(ctx, submit_per_token=RateLimit(per_minute=1, burst=1))
    form = signed(ctx, "A", *SCREENER)
    bad = call(app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=signed(ctx, "A", _csrf=""))
    refused = call(app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=form)
    assert (bad.status, refused.status) == (403, 429), (bad.status, refused.status)
    assert refused.headers["retry-after"] == "60"
    ctx.clock[0] += 60.0  # a minute later the same form goes through, stored once
    return call(app, "POST", f"/s/{ctx.token['A']}", headers=[FORM], body=form)


def _admin_lockout(ctx: Ctx) -> Reply:
    wrong = repeat(lambda: admin(ctx, "/admin/status.json", "wrong-secret-guess-000"), 10)
    assert [r.status for r in wrong] == [403] * 10
    return admin(ctx, "/admin/status.json")  # the right secret, but too many wrong ones before


def _admin_lockout_lifts(ctx: Ctx) -> Reply:
    repeat(lambda: admin(ctx, "/admin/status.json", None), 10)
    ctx.clock[0] += 60.0  # one more try a minute
    return admin(ctx, "/admin/status.json")


def _admin_per_address(ctx: Ctx) -> Reply:
    app = limited_app(ctx, admin_per_ip=RateLimit(per_minute=6, burst=2))
    ok = repeat(lambda: admin(ctx, "/admin/status.json", app=app), 2)
    assert [r.status for r in ok] == [200, 200]
    return admin(ctx, "/admin/status.json", app=app)


def _database_down(ctx: Ctx) -> Reply:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    ctx.monkeypatch.setattr(respond, "submit", down)
    return post(ctx, "A", signed(ctx, "A", *SCREENER))


def _bug(ctx: Ctx) -> Reply:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    ctx.monkeypatch.setattr(respond, "next_page", broken)
    return call(ctx.app, "GET", f"/s/{ctx.token['A']}")


LONG_OK = "長" * 3999 + "😀"  # 4000 characters, 12,004 UTF-8 bytes, 36,012 bytes as a form
TOO_LONG = "x" * 4001

# fmt: off
CASES: dict[str, Case] = {
    # --- the form signature (CSRF) ---
    "csrf-non-ascii": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf="é" * 64)), 403, "did not come from the survey page"),
    "csrf-raw-latin1-bytes": Case(lambda c: post(c, "A", raw_signed(c, "A", b"_x=\xe9", _csrf="")), 400, "bytes above ASCII must be sent as %XX"),
    "csrf-emoji-and-control-chars": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf="😀\x00\r\n\x1b[31m")), 403, "did not come from the survey page"),
    "csrf-10k-characters": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf="a" * 10_000)), 403, "did not come from the survey page"),
    "csrf-empty": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf="")), 403, "did not come from the survey page"),
    "csrf-uppercase-hex": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf=c.hidden["A"]["_csrf"].upper())), 403, "did not come from the survey page"),
    "csrf-of-another-respondent": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _csrf=c.hidden["B"]["_csrf"])), 403, "did not come from the survey page"),
    "csrf-sent-twice": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER) + b"&_csrf=" + c.hidden["A"]["_csrf"].encode()), 400, "The form sent '_csrf' more than once"),
    "page-name-non-ascii": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _page="scréener☃")), 403, "did not come from the survey page"),
    "shown-time-not-a-number": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _shown="nan")), 403, "did not come from the survey page"),
    "unknown-hidden-field": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, _admin="1")), 400, "fields the survey does not use: '_admin'"),
    "no-fields-at-all": Case(lambda c: post(c, "A", b""), 403, "did not come from the survey page"),
    # --- the encoding of the form ---
    "invalid-utf8-in-answer": Case(lambda c: post(c, "A", raw_signed(c, "A", b"was_customer=1&status=%FFleft")), 400, "Field 'status' is not valid UTF-8"),
    "invalid-utf8-in-field-name": Case(lambda c: post(c, "A", raw_signed(c, "A", b"%C3%28=1")), 400, "A field name is not valid UTF-8"),
    "overlong-utf8-slash": Case(lambda c: post(c, "A", raw_signed(c, "A", b"status=%C0%AF")), 400, "Field 'status' is not valid UTF-8"),
    "utf8-lone-surrogate": Case(lambda c: post(c, "A", raw_signed(c, "A", b"status=%ED%A0%80")), 400, "Field 'status' is not valid UTF-8"),
    "broken-percent-escape": Case(lambda c: post(c, "A", raw_signed(c, "A", b"status=le%zzft")), 400, "broken %-escape ('%zz'"),
    "truncated-percent-escape": Case(lambda c: post(c, "A", raw_signed(c, "A", b"was_customer=1&status=left%4")), 400, "broken %-escape ('%4'"),
    "multipart-instead-of-form": Case(lambda c: post(c, "A", b'--x\r\nContent-Disposition: form-data; name="was_customer"\r\n\r\n1\r\n--x--\r\n', [("content-type", "multipart/form-data; boundary=x")]), 415, "but this request sent multipart/form-data"),
    "json-instead-of-form": Case(lambda c: post(c, "A", json.dumps(c.hidden["A"]).encode(), [("content-type", "application/json")]), 415, "but this request sent application/json"),
    "no-content-type": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER), []), 415, "did not say what it sent (no Content-Type)"),
    "form-in-latin1": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER), [("content-type", "application/x-www-form-urlencoded; charset=ISO-8859-1")]), 415, "sent application/x-www-form-urlencoded in iso-8859-1"),
    # --- the shape of the form ---
    "answer-sent-twice": Case(lambda c: post(c, "A", signed(c, "A", ("was_customer", "1"), ("was_customer", "0"), ("status", "left"))), 400, "more than one answer for 'was_customer'"),
    "field-the-page-does-not-ask": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, ("is_admin", "1"))), 400, "does not ask for: 'is_admin'"),
    "answer-for-a-later-page": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, ("contact_consent", "1"))), 400, "does not ask for: 'contact_consent'"),
    "choice-sent-twice": Case(lambda c: post(c, "D", signed(c, "D", ("choice", "1"), ("choice", "2"))), 400, "more than one answer for 'choice'"),
    "dual-answer-without-dual-response": Case(lambda c: post(c, "D", signed(c, "D", ("choice", "1"), ("would_buy", "1"))), 400, "does not ask for: 'would_buy'"),
    "choice-not-offered": Case(lambda c: post(c, "D", signed(c, "D", ("choice", "status_quo"))), 422, "Please choose one of the offers"),
    "a-thousand-and-one-fields": Case(lambda c: post(c, "A", b"&".join(b"f%d=1" % i for i in range(1001))), 413, "The form sent 1001 fields; a survey page has at most 1000"),
    # --- sizes ---
    "content-length-over-limit": Case(lambda c: post(c, "A", b"x=1", [FORM, ("content-length", "1000000000")]), 413, f"The page sent was 1000000000 bytes long; this survey accepts at most {MAX_BODY}"),
    "chunked-body-over-limit": Case(lambda c: post(c, "A", [signed(c, "A", *SCREENER)] + [b"&pad=" + b"a" * 8000] * 9), 413, f"The page sent was longer than {MAX_BODY} bytes"),
    "content-length-understated": Case(lambda c: post(c, "A", [b"a" * 40_000] * 3, [FORM, ("content-length", "10")]), 413, f"The page sent was longer than {MAX_BODY} bytes"),
    "content-length-not-a-number": Case(lambda c: post(c, "A", b"", [FORM, ("content-length", "12abc")]), 400, "The Content-Length header ('12abc') is not one number of bytes"),
    "content-length-negative": Case(lambda c: post(c, "A", b"", [FORM, ("content-length", "-1")]), 400, "The Content-Length header ('-1') is not one number of bytes"),
    "content-length-arabic-digits": Case(lambda c: post(c, "A", b"", [FORM, ("content-length", "١٢".encode())]), 400, "is not one number of bytes"),
    "content-length-twice-different": Case(lambda c: post(c, "A", b"", [FORM, ("content-length", "0"), ("content-length", "5")]), 400, "('0', '5') is not one number of bytes"),
    "longest-answer-is-kept-whole": Case(lambda c: post(c, "B", signed(c, "B", ("reason_other_text", LONG_OK), ("main_reason", "moved"))), 303, "", stores=True, check=_stored_text(LONG_OK)),
    "answer-over-4000-characters": Case(lambda c: post(c, "B", signed(c, "B", ("reason_other_text", TOO_LONG), ("main_reason", "moved"))), 422, "Please keep your answer under 4000 characters"),
    # --- methods ---
    **{
        f"{m.lower()}-on-a-survey-link": Case(lambda c, m=m: call(c.app, m, f"/s/{c.token['A']}"), 405, f"does not take '{m}' requests; it takes {ALLOW_PAGE}", check=_allow(ALLOW_PAGE))
        for m in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")
    },
    "post-to-the-home-page": Case(lambda c: call(c.app, "POST", "/", headers=[FORM], body=b"a=1"), 405, f"it takes {ALLOW_GET}", check=_allow(ALLOW_GET)),
    "post-to-the-stylesheet": Case(lambda c: call(c.app, "POST", "/static/survey.css"), 405, f"it takes {ALLOW_GET}", check=_allow(ALLOW_GET)),
    "delete-an-admin-export": Case(lambda c: call(c.app, "DELETE", "/admin/export/responses.csv", headers=[("x-winback-admin-secret", SECRET)]), 405, f"it takes {ALLOW_GET}", check=_allow(ALLOW_GET)),
    "made-up-method": Case(lambda c: call(c.app, "BREW", f"/s/{c.token['A']}"), 405, "does not take 'BREW' requests", check=_allow(ALLOW_PAGE)),
    "head-does-not-start-the-interview": Case(lambda c: call(c.app, "HEAD", f"/s/{c.token['C']}"), 200, "About you", check=_not_started),
    # --- addresses ---
    "unknown-path": Case(lambda c: call(c.app, "GET", "/wp-login.php"), 404, "There is no page here"),
    "empty-token": Case(lambda c: call(c.app, "GET", "/s/"), 404, "There is no page here"),
    "token-1000-characters": Case(lambda c: call(c.app, "GET", "/s/" + "A" * 1000), 404, "This survey link is not valid"),
    "token-with-nul-byte": Case(lambda c: call(c.app, "POST", "/s/%00" + c.token["A"][1:], headers=[FORM], body=signed(c, "A", *SCREENER)), 404, "This survey link is not valid"),
    "token-with-script": Case(lambda c: call(c.app, "GET", "/s/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 404, "There is no page here", check=_not_echoed("<script>")),
    "token-invalid-utf8": Case(lambda c: call(c.app, "GET", "/s/%FF%FE"), 404, "This survey link is not valid"),
    "address-too-long": Case(lambda c: call(c.app, "GET", "/s/" + "A" * 3000), 414, "The address asked for is 3003 bytes long; this survey's addresses are at most 2048"),
    "query-too-long": Case(lambda c: call(c.app, "GET", f"/s/{c.token['A']}?utm=" + "x" * 2100), 414, "at most 2048"),
    "path-traversal": Case(lambda c: call(c.app, "GET", "/static/../surveys/web/app.py"), 404, "There is no page here"),
    "other-static-file": Case(lambda c: call(c.app, "GET", "/static/survey.css.map"), 404, "There is no page here"),
    "stylesheet-keeps-its-caching": Case(lambda c: call(c.app, "GET", "/static/survey.css"), 200, "winback web survey", cache="public, max-age=3600"),
    "trailing-slash-with-forged-host": Case(lambda c: call(c.app, "GET", f"/s/{c.token['A']}/", headers=[("host", "evil.example")]), 307, "", check=lambda c, r: _location(r, f"/s/{c.token['A']}")),
    # --- headers ---
    "host-header-garbage": Case(lambda c: call(c.app, "GET", f"/s/{c.token['A']}", headers=[("host", "a b<>:99999")]), 200, "About you"),
    "host-header-non-ascii": Case(lambda c: call(c.app, "GET", f"/s/{c.token['A']}", headers=[("host", b"\xff\xfe.example")]), 200, "About you"),
    "huge-cookie-header": Case(lambda c: call(c.app, "GET", f"/s/{c.token['A']}", headers=[("cookie", "a=" + "b" * 8000)]), 200, "About you"),
    # --- the admin pages ---
    "admin-secret-in-query": Case(lambda c: admin(c, f"/admin/status.json?secret={SECRET}", None), 400, "take the secret in the X-Winback-Admin-Secret header only", check=_not_echoed(SECRET)),
    "admin-secret-in-query-and-header": Case(lambda c: admin(c, "/admin/export/responses.csv?Secret=guess"), 400, "X-Winback-Admin-Secret header only", check=_not_echoed("guess")),
    "admin-wrong-secret": Case(lambda c: admin(c, "/admin/status.json", SECRET[:-1]), 403, "The admin secret is missing or wrong"),
    "admin-secret-non-ascii": Case(lambda c: admin(c, "/admin/status.json", b"\xe9" * 30), 403, "The admin secret is missing or wrong"),
    "admin-no-secret": Case(lambda c: admin(c, "/admin/status.json", None), 403, "Send it in the X-Winback-Admin-Secret header"),
    "admin-off-with-query-secret": Case(lambda c: admin(c, f"/admin/status.json?secret={SECRET}", None, app=make_app(c.survey)), 404, "There is no page here"),
    "admin-unknown-page": Case(lambda c: admin(c, "/admin/../../etc/passwd"), 404, "There is no page here"),
    "admin-status-with-unanswered-pages": Case(lambda c: admin(c, "/admin/status.json"), 200, '"median_seconds":null', check=_status_json),
    "admin-locked-after-10-wrong-secrets": Case(_admin_lockout, 429, "with a missing or wrong admin secret than it accepts", check=_retry_after("60")),
    "admin-lockout-lifts-after-a-minute": Case(_admin_lockout_lifts, 200, '"study"'),
    "admin-requests-per-address": Case(_admin_per_address, 429, "to the admin pages from your address than it accepts", check=_retry_after("10")),
    # --- rate limits of submissions ---
    "submissions-per-link": Case(_page_limit_then_other_link, 429, "through your survey link than it accepts", check=_retry_after("60")),
    "submissions-per-address": Case(_address_limit, 429, "from your network address than it accepts", check=_retry_after("30")),
    "limited-form-goes-through-later": Case(_limit_lifts, 303, "", stores=True),
    # --- the server's own troubles ---
    "database-unreachable": Case(_database_down, 503, "could not reach its database", check=_retry_after("60")),
    "a-bug-still-gets-headers": Case(_bug, 500, "Your answers so far are saved", check=lambda c, r: _raised(r, "a bug")),
}
# fmt: on


def _raised(reply: Reply, text: str) -> None:
    assert text in reply.raised, f"the app raised {reply.raised!r} after answering"


def _location(reply: Reply, expected: str) -> None:
    assert reply.headers.get("location") == expected, f"Location {reply.headers.get('location')!r}"


@pytest.mark.hostile
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_request_gets_a_page_that_says_what_happened(ctx: Ctx, case: Case) -> None:
    before = snapshot(ctx.survey)
    reply = case.send(ctx)
    said = (
        reply.message
        if reply.headers.get("content-type", "").startswith("text/html")
        else reply.text
    )
    assert reply.status == case.status, (
        f"status {reply.status}, expected {case.status}: {reply.title}: {said[:300]}"
    )
    assert case.says in said, f"{case.says!r} not in the reply: {said[:400]}"
    assert_secured(reply, case.cache)
    if case.check is not None:
        case.check(ctx, reply)
    after = snapshot(ctx.survey)
    if case.stores:
        assert len(after["page_answers"]) == len(before["page_answers"]) + 1, after["page_answers"]
        assert after["page_answers"][: len(before["page_answers"])] == before["page_answers"]
        assert after["task_answers"] == before["task_answers"]
        assert after["maxdiff_answers"] == before["maxdiff_answers"]
    else:
        assert after == before, "the database changed"


def test_there_are_at_least_forty_hostile_cases() -> None:
    assert len(CASES) >= 40, len(CASES)
    assert len(MAXDIFF_CASES) >= 15, len(MAXDIFF_CASES)


# ------------------------------------------------------------------------------------------
# The MaxDiff pages
# ------------------------------------------------------------------------------------------


@pytest.fixture
def md_ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ctx:
    clock = [1000.0]
    monkeypatch.setattr("surveys.web.limits.monotonic", lambda: clock[0])
    _, survey, tokens = make_survey(tmp_path, MAXDIFF_STUDY, 3)
    app = make_app(survey, admin_secret=SECRET)
    token = dict(zip("MNA", tokens, strict=True))  # M: MaxDiff version 1, N: version 2
    past = [SCREENER, [("reason", "price_rise")]]
    advance(app, token["M"], past)
    advance(app, token["N"], past)
    hidden = {"N1": hidden_of(call(app, "GET", f"/s/{token['N']}"))}  # N's form of set 1
    codes = _set_codes(survey, 2, 1)
    advance(app, token["N"], [[("best", codes[0]), ("worst", codes[1])]])
    hidden |= {k: hidden_of(call(app, "GET", f"/s/{token[k]}")) for k in "AMN"}
    assert [hidden[k]["_page"] for k in "AMN"] == ["screener", "maxdiff-1", "maxdiff-2"]
    yield Ctx(app, survey, token, hidden, clock, monkeypatch)
    survey.engine.dispose()


def _set_codes(survey: Any, version: int, set_number: int) -> list[str]:
    d = survey.maxdiff
    return [d.items[i] for i in d.sets[version - 1, set_number - 1]]


def _m(c: Ctx, *answers: tuple[str, str], **hidden: str) -> Reply:
    """A form of M's first MaxDiff set (version 1)."""
    return post(c, "M", signed(c, "M", *answers, **hidden))


def _pick(c: Ctx, best: int | str, worst: int | str) -> tuple[tuple[str, str], ...]:
    """(best, worst) by position in M's set 1 (an int), or as given (a str)."""
    codes = _set_codes(c.survey, 1, 1)
    return tuple(
        (f, codes[v] if isinstance(v, int) else v) for f, v in (("best", best), ("worst", worst))
    )


def _not_shown(c: Ctx) -> str:
    return next(x for x in c.survey.maxdiff.items if x not in _set_codes(c.survey, 1, 1))


def _signed_for(c: Ctx, who: str, page: str, *answers: tuple[str, str]) -> Reply:
    """A correctly signed form of another page than ``who`` is on (a stale or made-up set)."""
    shown = c.hidden[who]["_shown"]
    sig = sign_form(c.survey.form_secret, c.token[who], page, shown)
    return post(c, who, signed(c, who, *answers, _page=page, _csrf=sig))


def _to_current(c: Ctx, reply: Reply) -> None:
    _location(reply, f"/s/{c.token['M']}")


# fmt: off
MAXDIFF_CASES: dict[str, Case] = {
    "maxdiff-answer-stored": Case(lambda c: _m(c, *_pick(c, 0, 2)), 303, "", stores=True),
    "maxdiff-nothing-chosen": Case(lambda c: _m(c), 422, "Please choose one reason under “Mattered most”. Please choose one reason under “Mattered least”."),
    "maxdiff-worst-missing": Case(lambda c: _m(c, _pick(c, 0, 1)[0]), 422, "Please choose one reason under “Mattered least”."),
    "maxdiff-empty-values": Case(lambda c: _m(c, *_pick(c, "", "")), 422, "Please choose one reason under “Mattered most”."),
    "maxdiff-best-and-worst-the-same": Case(lambda c: _m(c, *_pick(c, 1, 1)), 422, "Please choose two different reasons"),
    "maxdiff-reason-of-another-set": Case(lambda c: _m(c, *_pick(c, _not_shown(c), 0)), 422, "Please choose a reason listed on this page under “Mattered most”."),
    "maxdiff-forged-item-code": Case(lambda c: _m(c, *_pick(c, 0, "price_rise' OR 1=1 --")), 422, "Please choose a reason listed on this page under “Mattered least”."),
    "maxdiff-item-code-with-script": Case(lambda c: _m(c, *_pick(c, "<script>alert(1)</script>", 0)), 422, "listed on this page", check=_not_echoed("<script>alert")),
    "maxdiff-position-instead-of-code": Case(lambda c: _m(c, *_pick(c, "1", "2")), 422, "Please choose a reason listed on this page"),
    "maxdiff-label-instead-of-code": Case(lambda c: _m(c, *_pick(c, "The price went up", 0)), 422, "Please choose a reason listed on this page"),
    "maxdiff-best-sent-twice": Case(lambda c: _m(c, *_pick(c, 0, 1), _pick(c, 2, 1)[0]), 400, "more than one answer for 'best'"),
    "maxdiff-worst-sent-twice-same-value": Case(lambda c: _m(c, *_pick(c, 0, 1), _pick(c, 0, 1)[1]), 400, "more than one answer for 'worst'"),
    "maxdiff-set-number-field": Case(lambda c: _m(c, *_pick(c, 0, 1), ("set", "2")), 400, "does not ask for: 'set'"),
    "maxdiff-choice-field-of-a-task": Case(lambda c: _m(c, *_pick(c, 0, 1), ("choice", "1")), 400, "does not ask for: 'choice'"),
    "maxdiff-answer-on-a-questionnaire-page": Case(lambda c: post(c, "A", signed(c, "A", *SCREENER, *_pick(c, 0, 1))), 400, "does not ask for: 'best', 'worst'"),
    "maxdiff-set-renamed-without-signature": Case(lambda c: _m(c, *_pick(c, 0, 1), _page="maxdiff-2"), 403, "did not come from the survey page"),
    "maxdiff-later-set-signed": Case(lambda c: _signed_for(c, "M", "maxdiff-2", *_pick(c, 0, 1)), 303, "", check=_to_current),
    "maxdiff-set-99-signed": Case(lambda c: _signed_for(c, "M", "maxdiff-99", *_pick(c, 0, 1)), 303, "", check=_to_current),
    "maxdiff-answered-set-replayed": Case(lambda c: post(c, "N", signed(c, "N1", *_pick(c, 1, 2))), 303, "", check=lambda c, r: _location(r, f"/s/{c.token['N']}")),
}
# fmt: on


@pytest.mark.hostile
@pytest.mark.parametrize("case", list(MAXDIFF_CASES.values()), ids=list(MAXDIFF_CASES))
def test_hostile_maxdiff_answer_gets_a_page_that_says_what_happened(
    md_ctx: Ctx, case: Case
) -> None:
    before = snapshot(md_ctx.survey)
    reply = case.send(md_ctx)
    assert reply.status == case.status, (
        f"status {reply.status}, expected {case.status}: {reply.title}: {reply.message[:300]}"
    )
    assert case.says in reply.message, f"{case.says!r} not in the reply: {reply.message[:400]}"
    assert_secured(reply)
    if case.check is not None:
        case.check(md_ctx, reply)
    after = snapshot(md_ctx.survey)
    if case.stores:
        assert len(after["maxdiff_answers"]) == len(before["maxdiff_answers"]) + 1
        assert {k: v for k, v in after.items() if k not in ("maxdiff_answers", "invites")} == {
            k: v for k, v in before.items() if k not in ("maxdiff_answers", "invites")
        }
    else:
        assert after == before, "the database changed"


# ------------------------------------------------------------------------------------------
# Chunked uploads over a real socket (`winback field serve`)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("served")
    study_file, survey, tokens = make_survey(folder, COMPACT_STUDY, 2)
    with serve_subprocess(str(study_file), str(folder / "survey.db")) as url:
        yield url, survey, tokens
    survey.engine.dispose()


def _chunked_post(url: str, token: str, chunks: list[bytes]) -> tuple[int, dict[str, str], str]:
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", f"/s/{token}")
        page = conn.getresponse().read().decode()
        fields = dict(re.findall(r'<input type="hidden" name="(_\w+)" value="([^"]*)"', page))
        body = [encode([*fields.items(), *SCREENER]), *chunks]
        conn.request(
            "POST", f"/s/{token}", body=iter(body), headers=dict([FORM]), encode_chunked=True
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("chunks", "status", "says", "n_stored"),
    [
        pytest.param([b"&pad=" + b"a" * 8000] * 10, 413, f"longer than {MAX_BODY} bytes, the most this survey accepts", 0, id="chunked-over-limit-on-a-real-socket"),
        pytest.param([b""], 303, "", 1, id="chunked-within-limit-on-a-real-socket"),
    ],
)  # fmt: skip
def test_chunked_upload_to_the_real_server(server, chunks, status, says, n_stored) -> None:
    url, survey, tokens = server
    token = tokens[0] if status == 413 else tokens[1]
    got, headers, text = _chunked_post(url, token, chunks)
    assert got == status, f"status {got}, expected {status}: {text[:300]}"
    assert says in text, text[:300]
    assert_secured(Reply(got, headers, b""))
    with survey.engine.begin() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.page_answers.join(schema.invites))
            .where(schema.invites.c.token == token)
        ).scalar_one()
    assert n == n_stored, f"{n} pages stored for the link, expected {n_stored}"


def _raw(url: str, request: bytes) -> bytes:
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("request_bytes", "status", "says"),
    [
        pytest.param(b"POST /s/x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400, "not valid HTTP", id="content-length-garbage-on-a-real-socket"),
        pytest.param(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "not valid HTTP", id="http11-without-host-on-a-real-socket"),
        pytest.param(b"GET /s/" + b"A" * 20_000 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 414, "this survey's addresses are at most 2048", id="20k-address-on-a-real-socket"),
    ],
)  # fmt: skip
def test_requests_uvicorn_refuses_itself_carry_the_headers(server, request_bytes, status, says):
    url, survey, _ = server
    before = snapshot(survey)
    raw = _raw(url, request_bytes)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    got = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    text = html.unescape(body.decode("utf-8", "replace"))
    assert got == status, f"status {got}, expected {status}: {text[:300]}"
    assert says in text, text[:300]
    assert_secured(Reply(got, headers, b""))
    assert snapshot(survey) == before


_NAMES = ["_page", "_shown", "_csrf", "was_customer", "status", "reason", "reason_other_text",
          "main_reason", "contact_consent", "choice", "would_buy", "", "_", "x"]  # fmt: skip


@pytest.mark.hostile
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    who=st.sampled_from("ABD"),
    keep_hidden=st.booleans(),
    pairs=st.lists(
        st.tuples(st.sampled_from(_NAMES) | st.text(max_size=8), st.text(max_size=30)), max_size=6
    ),
    raw=st.binary(max_size=40),
)
def test_no_form_makes_a_server_error(ctx: Ctx, who: str, keep_hidden: bool, pairs, raw) -> None:
    """Whatever a form holds -- right signature or not, any text, any bytes -- a 303 or 4xx."""
    app = ctx.notes.setdefault("app", limited_app(ctx, submit_per_token=None, submit_per_ip=None))
    hidden = list(ctx.hidden[who].items()) if keep_hidden else []
    body = encode([*hidden, *pairs]) + (b"&" + raw if raw else b"")
    reply = call(app, "POST", f"/s/{ctx.token[who]}", headers=[FORM], body=body)
    assert reply.status in (303, 400, 403, 409, 413, 415, 422), (
        f"status {reply.status} for {body[:200]!r}: {reply.message[:300]}"
    )
    assert_secured(reply)


@pytest.mark.hostile
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "get", "X"]),
    prefix=st.sampled_from(["", "s/", "admin/", "static/", "admin/export/"]),
    path=st.text(max_size=40),
    query=st.text(max_size=20),
)
def test_no_address_makes_a_server_error(ctx: Ctx, method, prefix, path, query) -> None:
    """Any method, any path under any route, any query: never a 500, always the headers."""
    target = "/" + prefix + urllib.parse.quote(path, safe="/") + "?" + urllib.parse.quote(query)
    reply = call(ctx.app, method, target, headers=[FORM])
    assert reply.status in (200, 307, 400, 403, 404, 405, 414, 415, 429), (
        f"status {reply.status} for {method} {target!r}: {reply.message[:300]}"
    )
    assert_secured(reply, "public, max-age=3600" if reply.text.startswith("/*") else "no-store")


_MD_VALUES = ["price_rise", "outages", "support", "competitor_offer", "moved", "other", "", "1"]


@pytest.mark.hostile
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    who=st.sampled_from("MN"),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["best", "worst", "set", "_page"]) | st.text(max_size=6),
            st.sampled_from(_MD_VALUES) | st.text(max_size=20),
        ),
        max_size=5,
    ),
)
def test_no_maxdiff_form_makes_a_server_error(md_ctx: Ctx, who: str, pairs) -> None:
    """Whatever a signed MaxDiff form holds: a 303 or 4xx, and at most one answer per set."""
    app = md_ctx.notes.setdefault(
        "app", limited_app(md_ctx, submit_per_token=None, submit_per_ip=None)
    )
    body = encode([*md_ctx.hidden[who].items(), *pairs])
    reply = call(app, "POST", f"/s/{md_ctx.token[who]}", headers=[FORM], body=body)
    assert reply.status in (303, 400, 403, 422), (
        f"status {reply.status} for {body[:200]!r}: {reply.message[:300]}"
    )
    assert_secured(reply)
    rows = snapshot(md_ctx.survey)["maxdiff_answers"]
    keys = [(r[1], r[2]) for r in rows]  # (invite, set)
    assert len(keys) == len(set(keys)), rows
