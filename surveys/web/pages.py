"""Rendering the web survey's pages: questionnaire pages, choice tasks, MaxDiff sets and
messages (Jinja2 templates in ``templates/``, every value autoescaped)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from surveys.web import respond
from surveys.web.flow import Page, PageResult
from surveys.web.survey import Survey
from surveys.web.tokens import sign_form
from winback.study.maxdiff import DEFAULT_BEST_LABEL, DEFAULT_QUESTION, DEFAULT_WORST_LABEL

HERE = Path(__file__).parent


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped unless marked safe (nothing is)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
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

    def html(
        self,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        /,
        **context: Any,
    ) -> HTMLResponse:
        context.setdefault("study_name", self.survey.study.name)
        context.setdefault("progress", None)
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers=headers)

    def message(
        self, title: str, text: str, status: int, headers: Mapping[str, str] | None = None
    ) -> HTMLResponse:
        return self.html("message.html", status, headers, title=title, text=text)

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
        if page.is_maxdiff:
            return self.maxdiff(invite, page, status, common)
        questions = respond.visible_questions(self.survey, invite, page)
        return self.html(
            "questions.html",
            status,
            title=_BLOCK_TITLES.get(page.questions[0].block, "Questions"),
            questions=questions,
            **common,
        )

    def maxdiff(
        self, invite: respond.Invite, page: Page, status: int, common: dict[str, Any]
    ) -> HTMLResponse:
        """A MaxDiff set: its reasons in rows, a "most" and a "least" radio button on each."""
        view = respond.maxdiff_view(self.survey, invite, page)
        settings = self.survey.questionnaire.maxdiff
        n_sets = self.survey.maxdiff.n_sets if self.survey.maxdiff is not None else 0
        return self.html(
            "maxdiff.html",
            status,
            title=f"Reasons {page.maxdiff_set} of {n_sets}",
            view=view,
            question=settings.question if settings else DEFAULT_QUESTION,
            best_label=settings.best_label if settings else DEFAULT_BEST_LABEL,
            worst_label=settings.worst_label if settings else DEFAULT_WORST_LABEL,
            n_sets=n_sets,
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
