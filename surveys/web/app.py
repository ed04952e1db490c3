"""The web survey as a Starlette application: server-rendered pages, one per step.

Routes
------
``GET /s/{token}``
    The respondent's current page (resumes where they left off).
``POST /s/{token}``
    Saves one page (signed form, checked answers), then redirects to the next (POST/redirect/GET,
    so reloading never submits twice).
``GET /admin/status.json``, ``GET /admin/export/responses.csv``, ``/admin/export/respondents.csv``
    For the researcher, with the admin secret in the ``X-Winback-Admin-Secret`` header or the
    ``secret`` query parameter; disabled when no secret is set.

Every page is rendered by Jinja2 with autoescaping, sent with a strict Content-Security-Policy
(no script at all), no referrer (the token is in the address) and no caching.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from surveys.web import respond
from surveys.web.flow import Page, PageResult
from surveys.web.survey import Survey
from surveys.web.tokens import check_admin_secret, check_form, sign_form
from winback.errors import WinbackError

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024  # bytes: the longest page of answers is far shorter
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


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped unless marked safe (nothing is)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Pages:
    """Renders the templates for one survey."""

    def __init__(self, survey: Survey) -> None:
        self.survey = survey
        self.env = _environment()
        spec = survey.questionnaire.conjoint
        self.attributes = [
            {"name": a.name, "label": a.display, "unit": a.unit} for a in survey.study.attributes
        ]
        self.spec = spec
        self.n_pages = len(survey.pages)

    def html(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("study_name", self.survey.study.name)
        context.setdefault("progress", None)
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def message(self, title: str, text: str, status: int) -> HTMLResponse:
        return self.html("message.html", status, title=title, text=text)

    def form_fields(self, token: str, page: Page) -> dict[str, str]:
        shown_at = f"{time.time():.3f}"
        return {
            "_page": page.key,
            "_shown": shown_at,
            "_csrf": sign_form(self.survey.form_secret, token, page.key, shown_at),
        }

    def progress(self, page: Page) -> dict[str, int]:
        keys = [p.key for p in self.survey.pages]
        return {"value": keys.index(page.key), "max": len(keys)}

    def page(
        self,
        token: str,
        invite: respond.Invite,
        page: Page,
        result: PageResult | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        errors = result.errors if result else {}
        values = result.values if result else {}
        common = {
            "token": token,
            "fields": self.form_fields(token, page),
            "errors": errors,
            "values": values,
            "progress": self.progress(page),
        }
        if page.is_task:
            view = respond.task_view(self.survey, invite, page)
            spec = self.spec
            return self.html(
                "task.html",
                status,
                title=f"Choice {page.position} of {self.survey.n_tasks}",
                view=view,
                columns=[a for a in view.alternatives if a.position is not None],
                none_option=next((a for a in view.alternatives if a.alt == "none"), None),
                attributes=self.attributes,
                intro=spec and page.position == 1 and _cbc_text(self.survey),
                dual=self.survey.study.dual_response_none,
                dual_text=spec.dual_text if spec else "Would you really take the offer you chose?",
                dual_yes=spec.dual_yes if spec else "Yes",
                dual_no=spec.dual_no if spec else "No",
                n_tasks=self.survey.n_tasks,
                **common,
            )
        questions = respond.visible_questions(self.survey, invite, page)
        return self.html(
            "questions.html",
            status,
            title=_BLOCK_TITLES.get(page.questions[0].block, "Questions"),
            questions=questions,
            **common,
        )


_BLOCK_TITLES = {
    "screener": "About you",
    "previous": "Your previous service",
    "reasons": "Why you left",
    "return": "Coming back",
    "consent": "Contact",
}


def _cbc_text(survey: Survey) -> str:
    for q in survey.questionnaire.questions:
        if q.type == "conjoint":
            return q.text
    return ""


def make_app(survey: Survey, *, admin_secret: str | None = None) -> Starlette:
    """The web survey application (ASGI), to run with uvicorn or any ASGI server.

    Parameters
    ----------
    survey : Survey
        From :func:`surveys.web.open_survey`.
    admin_secret : str, optional
        Enables ``/admin/...`` for requests that carry it; without it they answer 404.

    Examples
    --------
    >>> import uvicorn
    >>> from surveys.web import make_app, open_survey
    >>> app = make_app(open_survey("survey.db", study), admin_secret="...")  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    pages = _Pages(survey)

    async def home(request: Request) -> Response:
        return pages.message(
            "Survey", "Please open the personal link you were sent to take part.", 200
        )

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        return await run_in_threadpool(_show, token)

    def _show(token: str) -> Response:
        invite = respond.load_invite(survey, token)
        if invite is None:
            return _unknown(pages)
        if invite.completed_at is not None:
            return _finished(pages, invite.outcome)
        page = respond.next_page(survey, invite)
        if page is None:  # nothing left to show: cannot happen with a saved survey
            return _finished(pages, "complete")
        if invite.started_at is None:
            respond.start(survey, invite, page)
        return pages.page(token, invite, page)

    async def post(request: Request) -> Response:
        token = request.path_params["token"]
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return pages.message("Too long", "The answers sent were too long.", 413)
        try:
            form = await request.form(max_files=0, max_fields=200)
        except Exception:  # malformed body: treat as a form that was not sent by our page
            return _forged(pages)
        data = {k: [str(v) for v in form.getlist(k)] for k in form.keys()}
        await form.close()
        return await run_in_threadpool(_post, token, data)

    def _post(token: str, data: dict[str, list[str]]) -> Response:
        page_key = (data.get("_page") or [""])[0]
        shown_at = (data.get("_shown") or [""])[0]
        signature = (data.get("_csrf") or [""])[0]
        invite = respond.load_invite(survey, token)
        if invite is None:
            return _unknown(pages)
        if not check_form(survey.form_secret, token, page_key, shown_at, signature):
            return _forged(pages)
        if invite.completed_at is not None:
            return _finished(pages, invite.outcome, status=409)
        seconds = _seconds(shown_at)
        answers = {k: v for k, v in data.items() if not k.startswith("_")}
        out = respond.submit(survey, token, page_key, answers, seconds=seconds)
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
        given = request.headers.get("x-winback-admin-secret") or request.query_params.get("secret")
        if not admin_secret:
            return pages.message("Not found", "There is no page here.", 404)
        if not check_admin_secret(admin_secret, given):
            return pages.message("Forbidden", "The admin secret is missing or wrong.", 403)
        what = request.path_params["what"]
        return await run_in_threadpool(_admin, what)

    def _admin(what: str) -> Response:
        from surveys.web.export import export_csv
        from surveys.web.status import survey_status

        if what == "status.json":
            return JSONResponse(survey_status(survey).to_dict(), headers=SECURITY_HEADERS)
        name = what.removeprefix("export/")
        if what.startswith("export/") and name in ("responses.csv", "respondents.csv"):
            try:
                text = export_csv(survey, name)
            except WinbackError as exc:
                return pages.message("Nothing to export yet", str(exc), 409)
            return Response(
                text,
                media_type="text/csv; charset=utf-8",
                headers={
                    **SECURITY_HEADERS,
                    "Content-Disposition": f'attachment; filename="{name}"',
                },
            )
        return pages.message("Not found", "There is no page here.", 404)

    css = (HERE / "static" / "survey.css").read_text(encoding="utf-8")

    async def stylesheet(request: Request) -> Response:
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return pages.message("Not found", "There is no page here.", 404)

    async def server_error(request: Request, exc: Exception) -> Response:
        return pages.message(
            "Something went wrong",
            "Your answers so far are saved. Please open your link again in a minute.",
            500,
        )

    routes = [
        Route("/", home),
        Route("/s/{token}", show, methods=["GET"]),
        Route("/s/{token}", post, methods=["POST"]),
        Route("/admin/{what:path}", admin, methods=["GET"]),
        Route("/static/survey.css", stylesheet),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found,
        500: server_error,
    }
    return Starlette(routes=routes, exception_handlers=handlers)


def _seconds(shown_at: str) -> float | None:
    try:
        return round(max(time.time() - float(shown_at), 0.0), 1)
    except ValueError:
        return None


def _see_current(token: str) -> Response:
    return RedirectResponse(f"/s/{token}", status_code=303, headers=SECURITY_HEADERS)


def _unknown(pages: _Pages) -> Response:
    return pages.message(
        "Link not recognised",
        "This survey link is not valid. Please check that you copied the whole link from your "
        "invitation.",
        404,
    )


def _forged(pages: _Pages) -> Response:
    return pages.message(
        "Page expired",
        "We could not accept this form because it did not come from the survey page. Please "
        "open your survey link again; your earlier answers are saved.",
        403,
    )


def _finished(pages: _Pages, outcome: str | None, status: int = 200) -> Response:
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
