"""winback's own web survey: field the questionnaire and the choice tasks, answers in a database.

::

    from surveys.web import open_survey, make_invites, make_app, survey_status, read_survey
    survey = open_survey("study/survey.db", study, design=design, create=True)
    invites = make_invites(survey, 200, base_url="https://survey.example.org")
    app = make_app(survey, admin_secret="...")        # ASGI: uvicorn, or surveys.web.server.serve
    survey_status(survey)                              # completes, partials, drop-off per page
    data = read_survey(survey)                         # = read_responses(db, study, format="db")

See ``docs/web-survey.md``. The web stack (Starlette, uvicorn, Jinja2) is imported only by
:func:`make_app` and the server helpers.
"""

from surveys.web.export import read_survey, write_export
from surveys.web.importer import UNFINISHED_REASON, survey_frames
from surveys.web.limits import RateLimit, WebLimits
from surveys.web.status import SurveyStatus, survey_status
from surveys.web.survey import Survey, make_invites, open_survey, read_customer_list


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
    "survey_status",
    "write_export",
]
