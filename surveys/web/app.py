"""The web survey as a Starlette application: server-rendered pages, one per step.

Routes
------
``GET /s/{token}``
    The respondent's current page (resumes where they left off).
``POST /s/{token}``
    Saves one page (signed form, checked answers), then redirects to the next (POST/redirect/GET,
    so reloading never submits twice).
``GET /admin/status.json``, ``GET /admin/export/responses.csv``, ``/admin/export/respondents.csv``,
``/admin/export/maxdiff.csv``
    For the researcher, with the admin secret in the ``X-Winback-Admin-Secret`` header (never
    the address); disabled when no secret is set.

Every page is rendered by Jinja2 with autoescaping. Every response -- pages, redirects, JSON,
CSV, the stylesheet, and every error Starlette itself sends -- carries the security headers
(:data:`SECURITY_HEADERS`: a Content-Security-Policy without script, no referrer since the token
is in the address, no caching), added by one ASGI wrapper around the whole application. Every
request gets an answer that says what happened: a bad form 400, a foreign content type 415, a
body over the limit 413 (counted while it streams in), an unknown address 404, another method
405 with ``Allow``, too many requests 429 with ``Retry-After`` (:mod:`surveys.web.limits`), the
database unreachable 503; a 500 is left for bugs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from surveys.web import respond
from surveys.web.export import export_csv
from surveys.web.flow import MAX_TEXT, short
from surveys.web.forms import FormError, check_content_type, hidden_fields, parse_form
from surveys.web.limits import RateLimiter, WebLimits, needed_body, retry_after
from surveys.web.pages import HERE, Pages
from surveys.web.status import survey_status
from surveys.web.survey import Survey
from surveys.web.tokens import check_admin_secret, check_form, looks_like_token
from winback.errors import WinbackError

log = logging.getLogger("winback")

#: the header that carries the admin secret (never the address: it ends up in logs)
ADMIN_HEADER = "X-Winback-Admin-Secret"
_METHOD_ORDER = {"GET": 0, "HEAD": 1, "POST": 2}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def body_limit(survey: Survey, limits: WebLimits) -> int:
    """The largest request body the survey accepts (bytes): ``limits.max_body`` or derived.

    Derived from the page with the most open-text questions, each at its longest
    (:data:`surveys.web.flow.MAX_TEXT` characters, up to 12 bytes each once form-encoded), so a
    respondent who fills every box to the brim is never refused for size.

    Raises
    ------
    WinbackError
        If ``limits.max_body`` is below what that page can send.
    """
    most = max(
        (sum(q.type == "text" for q in p.questions) for p in survey.pages if p.is_questions),
        default=0,
    )
    needed = needed_body(most, MAX_TEXT)
    if limits.max_body is None:
        return needed
    if limits.max_body < needed:
        raise WinbackError(
            f"max_body {limits.max_body} bytes is too small for this survey: a page with {most} "
            f"open-text question(s) of up to {MAX_TEXT} characters can send {needed} bytes. "
            f"Give at least {needed}, or leave it out to use that."
        )
    return limits.max_body


def make_app(
    survey: Survey, *, admin_secret: str | None = None, limits: WebLimits | None = None
) -> Starlette:
    """The web survey application (ASGI), to run with uvicorn or any ASGI server.

    Parameters
    ----------
    survey : Survey
        From :func:`surveys.web.open_survey`.
    admin_secret : str, optional
        Enables ``/admin/...`` for requests that carry it in the ``X-Winback-Admin-Secret``
        header; without it they answer 404.
    limits : WebLimits, optional
        Body size, address length and rate limits (default :class:`WebLimits`()).

    Examples
    --------
    >>> import uvicorn
    >>> from surveys.web import make_app, open_survey
    >>> app = make_app(open_survey("survey.db", study), admin_secret="...")  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    limits = limits or WebLimits()
    max_body = body_limit(survey, limits)
    pages = Pages(survey)
    submit_per_ip = RateLimiter(limits.submit_per_ip)
    submit_per_token = RateLimiter(limits.submit_per_token)
    admin_per_ip = RateLimiter(limits.admin_per_ip)
    admin_failures = RateLimiter(limits.admin_failures_per_ip)

    async def home(request: Request) -> Response:
        return pages.message(
            "Survey", "Please open the personal link you were sent to take part.", 200
        )

    async def survey_page(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "POST":
            return await post(request, token)
        # HEAD (link checkers, mail scanners) shows the page but does not start the interview
        return await run_in_threadpool(_show, token, request.method == "GET")

    def _show(token: str, record_start: bool) -> Response:
        invite = respond.load_invite(survey, token)
        if invite is None:
            return _unknown(pages)
        if invite.completed_at is not None:
            return _finished(pages, invite.outcome)
        page = respond.next_page(survey, invite)
        if page is None:  # nothing left to show: cannot happen with a saved survey
            return _finished(pages, "complete")
        if invite.started_at is None and record_start:
            respond.start(survey, invite, page)
        return pages.page(token, invite, page)

    async def post(request: Request, token: str) -> Response:
        wait = submit_per_ip.take(_client(request))
        if wait:
            return _too_many(pages, wait, "from your network address")
        if not looks_like_token(token):
            return _unknown(pages)
        wait = submit_per_token.take(token)
        if wait:
            return _too_many(pages, wait, "through your survey link")
        try:
            body = await _read_body(request, max_body)
            check_content_type(request.headers.get("content-type"))
            form = parse_form(body)
            page_key, shown_at, signature = hidden_fields(form)
        except FormError as exc:
            return pages.message(exc.title, exc.text, exc.status)
        except ClientDisconnect:  # nobody reads this answer; nothing was stored
            return pages.message("Request incomplete", "The page was not sent in full.", 400)
        answers = {k: v for k, v in form.items() if not k.startswith("_")}
        return await run_in_threadpool(_post, token, page_key, shown_at, signature, answers)

    def _post(
        token: str, page_key: str, shown_at: str, signature: str, answers: dict[str, list[str]]
    ) -> Response:
        invite = respond.load_invite(survey, token)
        if invite is None:
            return _unknown(pages)
        if not check_form(survey.form_secret, token, page_key, shown_at, signature):
            return _forged(pages)
        if invite.completed_at is not None:
            return _finished(pages, invite.outcome, status=409)
        seconds = _seconds(shown_at)
        out = respond.submit(survey, token, page_key, answers, seconds=seconds)
        if out.status == "refused":
            return pages.message(
                "Form not accepted",
                f"The survey could not accept this page: {out.problem}. Nothing from it was "
                "saved. Please open your survey link again and answer the page there; your "
                "earlier answers are saved.",
                400,
            )
        if out.status == "invalid":
            fresh = respond.load_invite(survey, token)
            page = respond.next_page(survey, fresh) if fresh else None
            if fresh is None or page is None or page.key != page_key:
                return _see_current(token)
            return pages.page(token, fresh, page, out.result, status=422)
        if out.status == "unknown":
            return _unknown(pages)
        return _see_current(token)  # saved, stale or finished: show where they are now

    async def admin(request: Request) -> Response:
        if not admin_secret:
            return _nothing_here(pages)
        ip = _client(request)
        wait = admin_per_ip.take(ip)
        if wait:
            return _too_many(pages, wait, "to the admin pages from your address", respondent=False)
        if any(k.lower() == "secret" for k in request.query_params):
            return pages.message(
                "Secret not accepted in the address",
                "The admin pages take the secret in the X-Winback-Admin-Secret header only, "
                "never in the address (addresses end up in logs and browser history). Nothing "
                "was checked; if this was the real secret, replace it.",
                400,
            )
        wait = admin_failures.wait(ip)
        if wait:
            return _too_many(pages, wait, "with a missing or wrong admin secret", respondent=False)
        if not check_admin_secret(admin_secret, request.headers.get(ADMIN_HEADER)):
            admin_failures.take(ip)
            return pages.message(
                "Forbidden",
                f"The admin secret is missing or wrong. Send it in the {ADMIN_HEADER} header.",
                403,
            )
        what = request.path_params["what"]
        return await run_in_threadpool(_admin, what)

    def _admin(what: str) -> Response:
        if what == "status.json":
            return JSONResponse(survey_status(survey).to_dict())
        name = what.removeprefix("export/")
        names = ("responses.csv", "respondents.csv", "maxdiff.csv")
        if what.startswith("export/") and name in names:
            try:
                text = export_csv(survey, name)
            except WinbackError as exc:
                return pages.message("Nothing to export yet", str(exc), 409)
            return Response(
                text,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return _nothing_here(pages)

    css = (HERE / "static" / "survey.css").read_text(encoding="utf-8")

    async def stylesheet(request: Request) -> Response:
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            return _nothing_here(pages)
        if exc.status_code == 405:
            # Starlette lists the methods from a set: a stable order for people and caches
            given = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
            allowed = ", ".join(sorted(given, key=lambda m: (_METHOD_ORDER.get(m, 9), m)))
            headers["Allow"] = allowed
            return pages.message(
                "Method not allowed",
                f"This address does not take {short(request.method)} requests; it takes "
                f"{allowed}. To take part, open the personal link you were sent.",
                405,
                headers=headers,
            )
        return pages.message(
            "Request not accepted", f"{exc.status_code}: {exc.detail}", exc.status_code, headers
        )

    async def database_busy(request: Request, exc: Exception) -> Response:
        log.warning("web survey: database unavailable: %s", exc)
        return pages.message(
            "Survey busy",
            "The survey could not reach its database just now, so this page may not have been "
            "saved. Please open your survey link again in a minute: it shows the page you are "
            "on, and your earlier answers are saved.",
            503,
            headers={"Retry-After": "60"},
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        return pages.message(
            "Something went wrong",
            "Your answers so far are saved. Please open your link again in a minute.",
            500,
        )

    async def slash(request: Request) -> Response:
        # Starlette's own slash redirect builds the address from the Host header, which the
        # client chooses: send the token to the same host with a relative address instead
        return RedirectResponse(f"/s/{request.path_params['token']}", status_code=307)

    def refuse(status: int, title: str, text: str) -> Response:
        return pages.message(title, text, status)

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/s/{token}", survey_page, methods=["GET", "POST"]),
        Route("/s/{token}/", slash, methods=["GET"]),
        Route("/admin/{what:path}", admin, methods=["GET"]),
        Route("/static/survey.css", stylesheet, methods=["GET"]),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: http_error,
        sa.exc.OperationalError: database_busy,
        sa.exc.TimeoutError: database_busy,  # no free connection in the pool
        Exception: server_error,
    }
    app = _SurveyApp(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # see slash()
    app.guard = _Guard(limits.max_url, refuse)
    app.state.limits = limits
    app.state.max_body = max_body
    return app


class _SurveyApp(Starlette):
    """Starlette with :class:`_Guard` outside everything, its own error responses included."""

    guard: _Guard

    def build_middleware_stack(self) -> ASGIApp:
        return self.guard.around(super().build_middleware_stack())


class _Guard:
    """Pure ASGI: the security headers on every response start, whoever sends it (routes,
    Starlette's 404/405/500, redirects, the stylesheet), and a 414 for over-long addresses
    before any routing."""

    def __init__(self, max_url: int, refuse: Callable[[int, str, str], Response]) -> None:
        self.max_url = max_url
        self.refuse = refuse
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    def around(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_secured(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": self.secure(message.get("headers", []))}
                await send(message)

            path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
            size = len(path) + len(scope.get("query_string", b""))
            if size > self.max_url:
                response = self.refuse(
                    414,
                    "Address too long",
                    f"The address asked for is {size} bytes long; this survey's addresses are at "
                    f"most {self.max_url}. Please open the personal link you were sent.",
                )
                await response(scope, receive, send_secured)
                return
            await app(scope, receive, send_secured)

        return guarded

    def secure(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The response's headers with the security headers set (its own Cache-Control kept)."""
        own = list(headers)
        names = {k.lower() for k, _ in own}
        ours = [(k, v) for k, v in self.headers if k != b"cache-control" or k not in names]
        replaced = {k for k, _ in ours}
        return [(k, v) for k, v in own if k.lower() not in replaced] + ours


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, read with a running count: a body over ``limit`` bytes is refused
    (413) as soon as it passes the limit, whether or not it said its length in advance."""
    sizes = request.headers.getlist("content-length")
    if sizes:
        if len(set(sizes)) > 1 or not all(s.isascii() and s.isdigit() for s in sizes):
            raise FormError(
                400,
                "Bad request",
                f"The Content-Length header ({', '.join(short(s) for s in sizes)}) is not one "
                "number of bytes.",
            )
        if int(sizes[0]) > limit:
            raise _too_large(limit, int(sizes[0]))
    chunks: list[bytes] = []
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, declared: int | None = None) -> FormError:
    said = (
        f"The page sent was longer than {limit} bytes, the most this survey accepts."
        if declared is None
        else f"The page sent was {declared} bytes long; this survey accepts at most {limit}."
    )
    return FormError(
        413,
        "Answers too long",
        f"{said} If you typed a very long text, please shorten it and send the page again; "
        "your earlier answers are saved.",
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _seconds(shown_at: str) -> float | None:
    try:
        return round(max(time.time() - float(shown_at), 0.0), 1)
    except ValueError:
        return None


def _see_current(token: str) -> Response:
    return RedirectResponse(f"/s/{token}", status_code=303)


def _too_many(pages: Pages, wait: float, what: str, respondent: bool = True) -> Response:
    after = retry_after(wait)
    saved = "; your earlier answers are saved" if respondent else ""
    return pages.message(
        "Too many requests",
        f"The survey received more requests {what} than it accepts in a short time, so this "
        f"one was not processed. Please wait {after} second{'' if after == '1' else 's'} and "
        f"try again{saved}.",
        429,
        headers={"Retry-After": after},
    )


def _nothing_here(pages: Pages) -> Response:
    return pages.message(
        "Not found",
        "There is no page here. To take part, open the personal link you were sent.",
        404,
    )


def _unknown(pages: Pages) -> Response:
    return pages.message(
        "Link not recognised",
        "This survey link is not valid. Please check that you copied the whole link from your "
        "invitation.",
        404,
    )


def _forged(pages: Pages) -> Response:
    return pages.message(
        "Page expired",
        "We could not accept this form because it did not come from the survey page. Please "
        "open your survey link again; your earlier answers are saved.",
        403,
    )


def _finished(pages: Pages, outcome: str | None, status: int = 200) -> Response:
    if outcome == "screened_out":
        return pages.message(
            "Thank you",
            "Thank you for your time. This survey is for recent customers, so there are no "
            "more questions for you.",
            status,
        )
    return pages.message(
        "Thank you",
        "You have completed this survey. Thank you for your answers; nothing more is needed.",
        status,
    )
