"""The web survey without a browser: pages, checks, tokens, CSRF, escaping, import, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from surveys import read_responses
from surveys.web import make_app, make_invites, open_survey, schema, survey_status
from surveys.web.bot import fetch, take_survey, take_surveys
from surveys.web.flow import check_page, plan_pages
from surveys.web.server import running
from surveys.web.tokens import check_form, new_token
from tests.surveys.web_helpers import COMPACT_STUDY, DUAL_STUDY, make_survey
from winback.cli import main
from winback.errors import WinbackError
from winback.study import load_study, parse_study

ADMIN = {"X-Winback-Admin-Secret": "s" * 24}


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_\w+)" value="([^"]*)"', html))


@pytest.fixture
def served(tmp_path: Path):
    study_file, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 6)
    with running(make_app(survey, admin_secret="s" * 24)) as url:
        yield study_file, survey, tokens, url


def test_pages_split_where_a_condition_looks_at_the_same_page(small_study):
    from surveys.questionnaire import default_questionnaire

    keys = [p.key for p in plan_pages(default_questionnaire(small_study), 3)]
    assert keys[:4] == ["screener", "previous", "reasons", "reasons-2"]
    assert keys[-3:] == ["task-1", "task-2", "task-3"]


def test_check_page_reports_every_missing_or_bad_answer():
    from surveys.questionnaire import Question

    qs = [
        Question("price_paid", "number", "Paid?", min=0.0),
        Question("reason", "multi", "Why?", options=(("a", "A"), ("b", "B"))),
        Question("note", "text", "Note?", required=False),
    ]
    res = check_page(qs, {"price_paid": ["-3"], "reason": ["c"]})
    assert set(res.errors) == {"price_paid", "reason"}
    ok = check_page(qs, {"price_paid": ["39,90"], "reason": ["b"], "note": [" =cmd "]})
    assert ok.errors == {}
    # open text is kept exactly as typed (spaces too): nothing is trimmed silently
    assert ok.answers == {"price_paid": "39.9", "reason_a": "0", "reason_b": "1", "note": " =cmd "}


def test_unknown_forged_and_used_tokens_get_clear_pages(served):
    _, survey, tokens, url = served
    status, html = fetch(f"{url}/s/{new_token()}")  # well-formed, never issued
    assert status == 404 and "not valid" in html
    status, html = fetch(f"{url}/s/<script>alert(1)</script>")
    assert status == 404 and "<script>alert" not in html
    status, html = fetch(f"{url}/s/{new_token()}", {"_page": "screener", "was_customer": "1"})
    assert status == 404
    rec = take_survey(url, tokens[0], random_seed=1)
    assert rec.finished and rec.final_title == "Thank you"
    n_before = _counts(survey)
    status, html = fetch(f"{url}/s/{tokens[0]}")  # the used link again
    assert status == 200 and "completed" in html
    # a replayed, correctly signed form of a page already answered: refused, nothing stored
    shown = "1700000000.000"
    from surveys.web.tokens import sign_form

    sig = sign_form(survey.form_secret, tokens[0], "task-1", shown)
    status, html = fetch(
        f"{url}/s/{tokens[0]}", {"_page": "task-1", "_shown": shown, "_csrf": sig, "choice": "1"}
    )
    assert status == 409 and "completed" in html
    assert _counts(survey) == n_before


def _counts(survey) -> tuple[int, int]:
    with survey.engine.begin() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(schema.page_answers)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(schema.task_answers)).scalar_one(),
        )


def test_missing_or_wrong_csrf_token_is_refused(served):
    _, survey, tokens, url = served
    token = tokens[1]
    status, html = fetch(f"{url}/s/{token}")
    fields = _hidden(html)
    answers = {"was_customer": "1", "status": "left"}
    for bad in (
        {k: v for k, v in fields.items() if k != "_csrf"},  # missing
        {**fields, "_csrf": "0" * 64},  # forged
        {**fields, "_csrf": _hidden(fetch(f"{url}/s/{tokens[2]}")[1])["_csrf"]},  # another's
        {**fields, "_shown": "1.0"},  # time changed
    ):
        status, html = fetch(f"{url}/s/{token}", {**bad, **answers})
        assert status == 403 and "did not come from the survey page" in html
    assert _counts(survey) == (0, 0)
    status, loc = fetch(f"{url}/s/{token}", {**fields, **answers})
    assert status == 303 and loc.endswith(f"/s/{token}")
    assert _counts(survey) == (1, 0)
    # the same form again (back button, double click): not stored twice
    status, _ = fetch(f"{url}/s/{token}", {**fields, **answers})
    assert status == 303 and _counts(survey) == (1, 0)
    assert not check_form(survey.form_secret, token, "screener", fields["_shown"], "")


def test_script_in_answers_is_escaped_and_formulas_neutralised(served, tmp_path):
    study_file, survey, tokens, url = served
    token = tokens[3]
    evil = "<script>alert('x')</script>"
    status, html = fetch(f"{url}/s/{token}")
    fetch(f"{url}/s/{token}", {**_hidden(html), "was_customer": "1", "status": "left"})
    status, html = fetch(f"{url}/s/{token}")
    fields = _hidden(html)
    # ticks "other" and "moved": the open text and the main reason follow on the next page
    fetch(f"{url}/s/{token}", {**fields, "reason": ["moved", "other"]})
    status, html = fetch(f"{url}/s/{token}")
    assert "reason_other_text" in html
    formula = '=HYPERLINK("http://evil.example","x")'
    status, html = fetch(
        f"{url}/s/{token}", {**_hidden(html), "reason_other_text": evil, "main_reason": "nope"}
    )
    assert status == 422  # not a reason they ticked: the page comes back with the text typed
    assert evil not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    fetch(
        f"{url}/s/{token}",
        {**_hidden(html), "reason_other_text": formula, "main_reason": "moved"},
    )
    take_survey(url, token, random_seed=2)
    people = read_responses(str(tmp_path / "survey.db"), survey.study, format="db").respondents
    assert people.set_index("respondent_id").loc["w00004", "reason_other_text"] == formula
    # the admin export and winback field export write it formula-safe
    status, text = fetch(f"{url}/admin/export/respondents.csv", headers=ADMIN)
    assert status == 200 and "'=HYPERLINK" in text
    out = tmp_path / "export"
    assert main(["-q", "field", "export", str(study_file), "--out", str(out)]) == 0
    assert "'=HYPERLINK" in (out / "respondents.csv").read_text(encoding="utf-8")
    back = read_responses(out / "responses.csv", survey.study)
    assert back.respondents.set_index("respondent_id").loc["w00004", "reason_other_text"] == (
        formula
    )


def test_admin_export_needs_the_secret(served):
    _, survey, tokens, url = served
    take_survey(url, tokens[0], random_seed=3)
    assert fetch(f"{url}/admin/status.json")[0] == 403
    assert fetch(f"{url}/admin/status.json", headers={"X-Winback-Admin-Secret": "wrong"})[0] == 403
    status, text = fetch(f"{url}/admin/status.json", headers=ADMIN)
    assert status == 200 and '"complete":1' in text.replace(" ", "")
    # the secret in the address is refused, right or wrong, and not repeated in the answer
    status, text = fetch(f"{url}/admin/status.json?secret={'s' * 24}")
    assert status == 400 and "X-Winback-Admin-Secret header" in text and "s" * 24 not in text
    status, text = fetch(f"{url}/admin/export/responses.csv", headers=ADMIN)
    assert status == 200 and text.startswith("respondent_id,version,task,alt,plan,price")


def test_admin_is_off_without_a_secret(tmp_path):
    (
        _,
        survey,
        _,
    ) = make_survey(tmp_path, COMPACT_STUDY, 1)
    with running(make_app(survey)) as url:
        assert fetch(f"{url}/admin/status.json", headers={"X-Winback-Admin-Secret": ""})[0] == 404


def test_dual_response_none_round_trip_and_status(tmp_path):
    _, survey, tokens = make_survey(tmp_path, DUAL_STUDY, 3)
    with running(make_app(survey)) as url:
        recs = [take_survey(url, t, random_seed=i) for i, t in enumerate(tokens[:2])]
        status, html = fetch(f"{url}/s/{tokens[2]}")
        fetch(f"{url}/s/{tokens[2]}", {**_hidden(html), "was_customer": "1", "status": "left"})
    data = read_responses(str(tmp_path / "survey.db"), survey.study, format="db")
    chosen = data.choices.query("chosen == 1")
    assert chosen["would_buy"].notna().all() and len(chosen) == 6
    for rec in recs:
        assert {int(t["would_buy"]) for t in rec.tasks.values()} <= {0, 1}
    st = survey_status(survey)
    assert (st.n_complete, st.n_partial, st.n_not_started) == (2, 1, 0)
    waiting = st.pages.set_index("page")["waiting"]
    assert waiting["reasons"] == 1 and waiting.sum() == 1
    assert "complete 2" in st.report()


def test_opening_with_another_study_or_no_survey_is_refused(tmp_path):
    _, survey, _ = make_survey(tmp_path, COMPACT_STUDY, 1)
    other = parse_study(COMPACT_STUDY.replace('"Premium"]', '"Premium", "Ultra"]'))
    with pytest.raises(WinbackError, match="differs from it"):
        open_survey(str(tmp_path / "survey.db"), other)
    with pytest.raises(WinbackError, match="holds no winback survey"):
        open_survey(str(tmp_path / "empty.db"), survey.study)


def test_customer_list_problems_are_listed_with_lines(tmp_path):
    _, survey, _ = make_survey(tmp_path, COMPACT_STUDY, 1)
    customers = pd.DataFrame(
        {"respondent_id": ["c1", "", "c1", "w00001"], "email": ["a@x", "b@x", "c@x", "d@x"]}
    )
    with pytest.raises(WinbackError) as err:
        make_invites(survey, customers, source="customers.csv")
    msg = str(err.value)
    assert "line 3: empty respondent_id" in msg
    assert "line 4: respondent_id 'c1' repeats line 2" in msg
    assert "line 5: respondent_id 'w00001' was invited before" in msg
    ok = make_invites(
        survey, pd.DataFrame({"respondent_id": ["c1", "c2"], "customer_value": ["1200", ""]})
    )
    assert ok["version"].tolist() == [2, 3]  # dealt in turn after the first invite


def test_cli_invite_status_import(tmp_path, capsys):
    study_file = tmp_path / "study.toml"
    study_file.write_text(COMPACT_STUDY, encoding="utf-8")
    customers = tmp_path / "customers.csv"
    customers.write_text("respondent_id,email,wave\nc1,a@example.org,2\nc2,=cmd,2\n")
    invites = tmp_path / "invites.csv"
    assert main(["field", "invite", str(study_file), "--customers", str(customers),
                 "--out", str(invites), "--base-url", "https://survey.example.org/"]) == 0  # fmt: skip
    inv = pd.read_csv(invites, dtype=str)
    assert inv.columns.tolist() == ["respondent_id", "version", "token", "url", "email", "wave"]
    assert inv["url"].str.startswith("https://survey.example.org/s/").all()
    assert inv.loc[1, "email"] == "'=cmd"  # formula-safe
    assert main(["field", "invite", str(study_file), "--count", "2", "--out", str(invites)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    survey = open_survey(str(tmp_path / "survey.db"), load_study(study_file))
    with running(make_app(survey)) as url:
        take_survey(url, inv.loc[0, "token"], random_seed=5)
    assert main(["field", "status", str(study_file)]) == 0
    out = capsys.readouterr().out
    assert "invited 2, not started 1, partial 0, complete 1" in out
    assert main(["import", str(study_file), str(tmp_path / "survey.db"), "--format", "db",
                 "--out", str(tmp_path / "imported")]) == 0  # fmt: skip
    people = pd.read_csv(tmp_path / "imported" / "respondents.csv", dtype=str)
    assert people["respondent_id"].tolist() == ["c1"] and people.loc[0, "wave"] == "2"
    assert main(["field", "status", str(tmp_path / "nope.toml")]) == 1


def test_bare_field_means_serve():
    from surveys.web.cli import default_subcommand

    assert default_subcommand(["-q", "field", "s.toml", "--port", "1"])[:3] == [
        "-q",
        "field",
        "serve",
    ]


def test_concurrent_respondents_on_sqlite_lose_nothing(tmp_path):
    """200 respondents at once against `winback field serve` (SQLite): nothing lost or doubled."""
    from surveys.web.botcheck import check_records
    from surveys.web.server import serve_subprocess

    study_file, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 200)
    with serve_subprocess(str(study_file), str(tmp_path / "survey.db")) as url:
        records = take_surveys(url, tokens, random_seed=11)
    result = check_records(survey, records)
    errors = [r for r in records if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    assert result["complete"] == 200, result
    assert result["task_answers"] == 200 * 3, result
    assert (result["duplicates"], result["missing"], result["mismatched"]) == (0, 0, 0), result
    data = read_responses(str(tmp_path / "survey.db"), survey.study, format="db")
    assert data.n_respondents == 200 and len(data.excluded_ids) == 0


def test_limits_options_report_every_problem_with_a_hint():
    from surveys.web.limits import RateLimit, WebLimits

    limits = WebLimits().with_options(["submit-per-ip=600/100", "admin_per_ip=off", "max-url=4096"])
    assert limits.submit_per_ip == RateLimit(600.0, 100)
    assert (limits.admin_per_ip, limits.max_url) == (None, 4096)
    assert limits.submit_per_token == RateLimit(60.0, 30)  # the others keep their defaults
    with pytest.raises(WinbackError) as err:
        WebLimits().with_options(["submit-per-tokn=1/1", "admin-per-ip=fast", "max-body=-5", "x"])
    msg = str(err.value)
    assert "unknown limit 'submit-per-tokn=1/1'. Did you mean 'submit-per-token'?" in msg
    assert "admin-per-ip: rate limit 'fast' is not PER_MINUTE/BURST (such as 60/30), or off" in msg
    assert "max-body: max-body='-5' is not a positive number of bytes" in msg
    assert "unknown limit 'x'." in msg and msg.count("\n  - ") == 4
    with pytest.raises(WinbackError, match="burst of at least 1 request, not 0"):
        RateLimit.parse("60/0")
    with pytest.raises(WinbackError, match="positive number of requests a minute, not inf"):
        RateLimit(float("inf"), 1)


def test_rate_limiter_refills_and_forgets_quiet_clients(monkeypatch):
    from surveys.web.limits import RateLimit, RateLimiter

    now = [0.0]
    monkeypatch.setattr("surveys.web.limits.monotonic", lambda: now[0])
    lim = RateLimiter(RateLimit(per_minute=30, burst=2), max_keys=3)
    assert [lim.take("a"), lim.take("a"), lim.take("a")] == [0.0, 0.0, 2.0]  # 30/min: 2 s each
    assert lim.wait("a") == 2.0  # waiting does not use a request up
    now[0] = 2.0
    assert lim.take("a") == 0.0 and lim.take("a") == 2.0
    lim.take("b"), lim.take("c")
    lim.take("d")  # a fourth client, none full yet: the least recently seen ("a") is forgotten
    assert ("a" in lim, len(lim)) == (False, 3)
    now[0] = 100.0  # "b", "c", "d" have refilled: forgotten when "e" comes
    lim.take("e")
    assert [k for k in "abcde" if k in lim] == ["e"]
    assert RateLimiter(None).take("anyone") == 0.0  # off


def test_body_limit_fits_the_longest_page_and_refuses_less(tmp_path):
    from surveys.web.app import body_limit
    from surveys.web.limits import WebLimits

    _, survey, _ = make_survey(tmp_path, COMPACT_STUDY, 1)
    assert body_limit(survey, WebLimits()) == 16 * 1024 + 4000 * 12  # one open-text box
    assert body_limit(survey, WebLimits(max_body=200_000)) == 200_000
    with pytest.raises(
        WinbackError, match=r"max_body 1000 bytes is too small .* Give at least 64384"
    ):
        make_app(survey, limits=WebLimits(max_body=1000))


def test_serve_refuses_a_bad_limit_before_serving(tmp_path, capsys):
    study_file, _, _ = make_survey(tmp_path, COMPACT_STUDY, 1)
    code = main(["field", "serve", str(study_file), "--limit", "submit-per-ip=lots"])
    assert code == 1
    assert "submit-per-ip: rate limit 'lots' is not PER_MINUTE/BURST" in capsys.readouterr().err
