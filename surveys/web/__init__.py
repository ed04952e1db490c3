"""winback's own web survey: field the questionnaire and the choice tasks, answers in a database.

::

    from surveys.web import open_survey, make_invites, make_app, survey_status, read_survey
    survey = open_survey("study/survey.db", study, design=design, create=True)
    invites = make_invites(survey, 200, base_url="https://survey.example.org")
    app = make_app(survey, admin_secret="...")        # ASGI: uvicorn, or surveys.web.server.serve
    survey_status(survey)                              # completes, partials, drop-off per page
    data = read_survey(survey)                         # = read_responses(db, study, format="db")
    survey_maxdiff(survey)                             # the MaxDiff's maxdiff.csv (None: none)

See ``docs/web-survey.md``. The web stack (Starlette, uvicorn, Jinja2) is imported only by
:func:`make_app` and the server helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from winback._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from surveys.web.export import read_survey, write_export
    from surveys.web.importer import UNFINISHED_REASON, survey_frames, survey_maxdiff
    from surveys.web.limits import RateLimit, WebLimits
    from surveys.web.status import SurveyStatus, survey_status
    from surveys.web.survey import Survey, make_invites, open_survey, read_customer_list

#: where each name lives; a name loads its module on first use, so the ``winback`` command
#: (which registers ``winback field`` from :mod:`surveys.web.cli` for every command) does not
#: load SQLAlchemy (0.3 s) unless the survey's database is used
_MODULE_OF = {
    "read_survey": "export",
    "write_export": "export",
    "UNFINISHED_REASON": "importer",
    "survey_frames": "importer",
    "survey_maxdiff": "importer",
    "RateLimit": "limits",
    "WebLimits": "limits",
    "SurveyStatus": "status",
    "survey_status": "status",
    "Survey": "survey",
    "make_invites": "survey",
    "open_survey": "survey",
    "read_customer_list": "survey",
}

#: looked up in the module every time (``keep=False``): a name patched in its module (a test
#: replacing ``surveys.web.<module>.<name>``) is what ``surveys.web`` gives
__getattr__, __dir__ = _lazy_names(
    __name__, {name: f"surveys.web.{module}" for name, module in _MODULE_OF.items()}, keep=False
)


def make_app(
    survey: Survey, *, admin_secret: str | None = None, limits: WebLimits | None = None
) -> object:
    """The web survey as an ASGI application; see :func:`surveys.web.app.make_app`.

    Examples
    --------
    >>> app = make_app(open_survey("survey.db", study))  # doctest: +SKIP
    """
    # `winback import --format db` and `winback field invite/status/export` import surveys.web:
    # lazy: Starlette and Jinja2 (the web stack) load only when the survey is served
    from surveys.web.app import make_app as _make_app

    return _make_app(survey, admin_secret=admin_secret, limits=limits)


__all__ = [
    "UNFINISHED_REASON",
    "RateLimit",
    "Survey",
    "SurveyStatus",
    "WebLimits",
    "make_app",
    "make_invites",
    "open_survey",
    "read_customer_list",
    "read_survey",
    "survey_frames",
    "survey_maxdiff",
    "survey_status",
    "write_export",
]
