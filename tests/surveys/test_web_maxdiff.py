"""The MaxDiff in winback's own web survey: one page per set, versions dealt in turn, answers
checked on the server, kept on resume, exported as maxdiff.csv and imported (folder and db)."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from conjoint.maxdiff_io import make_study_maxdiff_design, write_maxdiff_design
from surveys import read_maxdiff_answers
from surveys.web import make_app, make_invites, open_survey, schema, survey_status
from surveys.web.bot import take_surveys
from surveys.web.botcheck import check_records
from surveys.web.maxdiff import DESIGN_KEY
from surveys.web.server import running
from tests.surveys.web_helpers import (
    COMPACT_STUDY,
    MAXDIFF_STUDY,
    call,
    make_survey,
    take_in_process,
)
from winback.cli import main
from winback.errors import WinbackError
from winback.study import load_study, parse_study

FORM = ("content-type", "application/x-www-form-urlencoded")
PAST_REASONS = [
    [("was_customer", "1"), ("status", "left")],
    [("reason", "price_rise")],  # one reason: no main_reason page
]


def _hidden(text: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_\w+)" value="([^"]*)"', text))


def _post(app, token: str, answers) -> object:
    fields = _hidden(call(app, "GET", f"/s/{token}").text)
    body = urllib.parse.urlencode([*fields.items(), *answers]).encode()
    return call(app, "POST", f"/s/{token}", headers=[FORM], body=body)


def _rows(survey) -> list[tuple]:
    with survey.engine.begin() as conn:
        t = schema.maxdiff_answers
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(t.c.invite_id, t.c.maxdiff_set, t.c.version, t.c.best, t.c.worst)
            )
        ]


@pytest.fixture
def md(tmp_path: Path):
    study_file, survey, tokens = make_survey(tmp_path, MAXDIFF_STUDY, 6)
    yield study_file, survey, tokens, make_app(survey, admin_secret="s" * 24)
    survey.close()


def test_one_page_per_set_after_the_reasons_and_versions_dealt_in_turn(md):
    _, survey, tokens, app = md
    keys = [p.key for p in survey.pages]
    assert keys == ["screener", "reasons", "reasons-2", "maxdiff-1", "maxdiff-2", "maxdiff-3",
                    "maxdiff-4", "consent", "task-1", "task-2", "task-3"]  # fmt: skip
    with survey.engine.begin() as conn:
        versions = conn.execute(
            sa.select(schema.invites.c.maxdiff_version).order_by(schema.invites.c.id)
        ).scalars()
        assert list(versions) == [1, 2, 1, 2, 1, 2]
    more = make_invites(survey, 3)  # continues the turn
    assert more["maxdiff_version"].tolist() == [1, 2, 1]
    assert more.columns.tolist() == ["respondent_id", "version", "token", "url", "maxdiff_version"]


def test_the_page_shows_the_set_in_the_designs_positions_with_labels(md):
    _, survey, tokens, app = md
    for r in PAST_REASONS:
        assert _post(app, tokens[1], r).status == 303
    page = call(app, "GET", f"/s/{tokens[1]}")
    assert page.status == 200 and page.title == "Reasons 1 of 4"
    shown = re.findall(r'<tr data-position="(\d)" data-item="(\w+)">', page.text)
    codes = [survey.maxdiff.items[i] for i in survey.maxdiff.sets[1, 0]]  # version 2, set 1
    assert shown == [(str(p), c) for p, c in enumerate(codes, start=1)], shown
    labels = dict(survey.questionnaire.question("reason").options)
    for p, code in enumerate(codes, start=1):
        for col, name in (("Mattered most", "best"), ("Mattered least", "worst")):
            # every radio button has a label naming its column and its reason
            assert (
                f'<label for="{name}-{p}"><input type="radio" name="{name}" id="{name}-{p}" '
                f'value="{code}"><span class="sr">{col}: {labels[code]}</span></label>'
            ) in page.text
    assert "<legend>Of these, which mattered MOST and which LEAST" in page.text
    assert "<script" not in page.text


def test_bad_answers_come_back_with_what_to_fix_and_nothing_is_stored(md):
    _, survey, tokens, app = md
    for r in PAST_REASONS:
        _post(app, tokens[0], r)
    codes = [survey.maxdiff.items[i] for i in survey.maxdiff.sets[0, 0]]
    other = next(x for x in survey.maxdiff.items if x not in codes)
    cases = {
        "nothing": (
            [],
            "Please choose one reason under “Mattered most”. Please choose one reason "
            "under “Mattered least”.",
        ),
        "same": (
            [("best", codes[0]), ("worst", codes[0])],
            "Please choose two different "
            "reasons: one that mattered most and another that mattered least.",
        ),
        "not shown": (
            [("best", other), ("worst", codes[0])],
            "Please choose a reason listed on this page under “Mattered most”.",
        ),
        "forged": (
            [("best", codes[0]), ("worst", "<b>x</b>")],
            "Please choose a reason listed on this page under “Mattered least”.",
        ),
    }
    for name, (answers, says) in cases.items():
        reply = _post(app, tokens[0], answers)
        assert reply.status == 422, f"{name}: {reply.status} {reply.title}"
        assert says in reply.message, f"{name}: {reply.message[:600]}"
        assert 'role="alert"' in reply.text and 'aria-describedby="err-maxdiff"' in reply.text
    # what was picked is picked again on the page shown back
    reply = _post(app, tokens[0], [("best", codes[1]), ("worst", codes[1])])
    assert f'id="best-2" value="{codes[1]}" checked' in reply.text
    assert f'id="worst-2" value="{codes[1]}" checked' in reply.text
    assert _rows(survey) == []
    assert _post(app, tokens[0], [("best", codes[1]), ("worst", codes[2])]).status == 303
    assert _rows(survey) == [(1, 1, 1, codes[1], codes[2])]


def test_resume_keeps_the_answers_and_the_back_button_changes_nothing(md, tmp_path):
    study_file, survey, tokens, app = md
    for r in PAST_REASONS:
        _post(app, tokens[2], r)
    first = call(app, "GET", f"/s/{tokens[2]}")
    codes = [survey.maxdiff.items[i] for i in survey.maxdiff.sets[0, 0]]
    answers = [("best", codes[2]), ("worst", codes[0])]
    body = urllib.parse.urlencode([*_hidden(first.text).items(), *answers]).encode()
    assert call(app, "POST", f"/s/{tokens[2]}", headers=[FORM], body=body).status == 303
    # the respondent closes the page; the server restarts: they resume at set 2
    survey.close()
    again = open_survey(str(tmp_path / "survey.db"), load_study(study_file))
    app2 = make_app(again)
    page = call(app2, "GET", f"/s/{tokens[2]}")
    assert page.title == "Reasons 2 of 4" and _hidden(page.text)["_page"] == "maxdiff-2"
    # back to set 1 and send it again (other answers): refused as stale, set 1 kept as given
    replay = urllib.parse.urlencode(
        [*_hidden(first.text).items(), ("best", codes[0]), ("worst", codes[1])]
    ).encode()
    reply = call(app2, "POST", f"/s/{tokens[2]}", headers=[FORM], body=replay)
    assert reply.status == 303 and reply.headers["location"] == f"/s/{tokens[2]}"
    assert _rows(again) == [(3, 1, 1, codes[2], codes[0])]
    status = survey_status(again).pages.set_index("page")
    assert status.loc["maxdiff-1", "answered"] == 1 and status.loc["maxdiff-2", "waiting"] == 1
    again.close()


def test_answer_export_import_the_whole_way(md, tmp_path):
    """Bots answer through the app; `winback field export`, `winback import` of the folder and
    of the database give back exactly what they clicked."""
    study_file, survey, tokens, app = md
    recs = [take_in_process(app, t, random_seed=i) for i, t in enumerate(tokens[:4])]
    assert all(r.finished and len(r.maxdiff) == 4 for r in recs)
    take_in_process(app, tokens[4], prefer={"was_customer": "0"})  # screened out: no MaxDiff
    part = take_in_process(app, tokens[5], random_seed=9, stop_at="task-1")  # stops part-way
    assert len(part.maxdiff) == 4 and not part.finished
    out = tmp_path / "export"
    assert main(["-q", "field", "export", str(study_file), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["exclusions.csv", "maxdiff.csv", "maxdiff_design.csv", "respondents.csv",
                     "responses.csv"]  # fmt: skip
    design = survey.maxdiff
    back = read_maxdiff_answers(out / "maxdiff.csv", design=design)
    expected = []
    for i, rec in enumerate(recs):
        for s, a in sorted(rec.maxdiff.items()):
            assert a["version"] == i % 2 + 1, (i, a)
            assert a["shown"] == [design.items[k] for k in design.sets[a["version"] - 1, s - 1]]
            expected.append((f"w{i + 1:05d}", a["version"], s, a["best"], a["worst"]))
    ans = back.answers
    got = [
        (r, int(v), int(s), g.loc[g.best == 1, "item"].item(), g.loc[g.worst == 1, "item"].item())
        for (r, v, s), g in ans.groupby(["respondent_id", "version", "set"], sort=True)
    ]
    assert got == sorted(expected), f"{got[:3]} != {sorted(expected)[:3]}"
    assert back.n_respondents == 4 and back.n_answers == 16
    # `winback import` of the export folder picks maxdiff.csv up; --format db reads the database
    folder, db = tmp_path / "imp-folder", tmp_path / "imp-db"
    assert main(["-q", "import", str(study_file), str(out / "responses.csv"), "--out",
                 str(folder)]) == 0  # fmt: skip
    assert main(["-q", "import", str(study_file), str(tmp_path / "survey.db"), "--format", "db",
                 "--out", str(db)]) == 0  # fmt: skip
    for imported in (folder, db):
        again = read_maxdiff_answers(imported / "maxdiff.csv", design=design)
        pd.testing.assert_frame_equal(again.answers, ans)
    # the admin export gives the same file
    reply = call(app, "GET", "/admin/export/maxdiff.csv", headers=[("x-winback-admin-secret",
                                                                     "s" * 24)])  # fmt: skip
    assert reply.status == 200
    assert reply.text.replace("\r\n", "\n") == (out / "maxdiff.csv").read_text(encoding="utf-8")


def test_a_study_without_maxdiff_is_as_before(tmp_path):
    study_file, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 2)
    app = make_app(survey)
    assert all(not p.is_maxdiff for p in survey.pages) and survey.maxdiff is None
    assert "maxdiff_version" not in make_invites(survey, 1).columns
    take_in_process(app, tokens[0])
    out = tmp_path / "export"
    assert main(["-q", "field", "export", str(study_file), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "exclusions.csv",
        "respondents.csv",
        "responses.csv",
    ]
    assert DESIGN_KEY not in schema.read_meta(survey.engine)
    survey.close()


def test_the_design_folders_maxdiff_design_is_the_one_shown(tmp_path):
    study_file = tmp_path / "study.toml"
    study_file.write_text(MAXDIFF_STUDY, encoding="utf-8")
    study = load_study(study_file)
    design_dir = tmp_path / "design"
    assert main(["-q", "design", str(study_file), "--out", str(design_dir)]) == 0
    own = make_study_maxdiff_design(study)
    # a design other than the study's (versions swapped) in the design folder
    from conjoint.maxdiff import MaxDiffDesign

    swapped = MaxDiffDesign(own.items, own.sets[::-1].copy(), own.random_seed)
    write_maxdiff_design(swapped, design_dir / "maxdiff_design.csv")
    invites = tmp_path / "invites.csv"
    assert main(["-q", "field", "invite", str(study_file), "--count", "2", "--out", str(invites),
                 "--design", str(design_dir)]) == 0  # fmt: skip
    survey = open_survey(str(tmp_path / "survey.db"), study)
    assert (survey.maxdiff.sets == swapped.sets).all()
    with pytest.raises(WinbackError, match="MaxDiff design given is not the one"):
        open_survey(str(tmp_path / "survey.db"), study, maxdiff_design=own)
    survey.close()


def test_opening_with_another_maxdiff_is_refused(md, tmp_path):
    _, survey, _, _ = md
    db = str(tmp_path / "survey.db")
    with pytest.raises(WinbackError, match=r"has no \[maxdiff\] table"):
        open_survey(db, parse_study(MAXDIFF_STUDY.split("[maxdiff]")[0]))
    fewer = MAXDIFF_STUDY.replace('"competitor_offer", ', "").replace("sets = 4", "sets = 3")
    with pytest.raises(WinbackError) as err:
        open_survey(db, parse_study(fewer))
    msg = str(err.value)
    assert "the study's [maxdiff] is not the MaxDiff this survey shows" in msg
    assert "shows 4 sets of 3, the study's [maxdiff] asks for 3 sets of 3" in msg


def test_a_schema_1_database_is_upgraded_and_keeps_its_answers(tmp_path):
    """A survey made before the MaxDiff (schema 1): opened, it gains the table and column and
    loses nothing; its study's new [maxdiff] is not asked (its respondents are under way)."""
    study_file, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 2)
    for r in PAST_REASONS:
        _post(make_app(survey), tokens[0], r)
    with survey.engine.begin() as conn:  # back to what schema 1 had
        conn.exec_driver_sql("DROP TABLE winback_maxdiff_answers")
        conn.exec_driver_sql("ALTER TABLE winback_invites DROP COLUMN maxdiff_version")
        conn.execute(
            sa.update(schema.meta).where(schema.meta.c.key == "schema_version").values(value="1")
        )
        before = conn.exec_driver_sql("SELECT * FROM winback_page_answers ORDER BY id").all()
    survey.close()
    with_md = parse_study(MAXDIFF_STUDY.replace("Web survey MaxDiff", "Web survey load test"))
    again = open_survey(str(tmp_path / "survey.db"), with_md)
    assert schema.read_meta(again.engine)["schema_version"] == schema.SCHEMA_VERSION == "2"
    assert again.maxdiff is None and all(not p.is_maxdiff for p in again.pages)
    with again.engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT * FROM winback_page_answers ORDER BY id").all() == (
            before
        )
    page = call(make_app(again), "GET", f"/s/{tokens[0]}")
    assert _hidden(page.text)["_page"] == "consent"
    again.close()


def test_respondents_at_once_over_http_lose_nothing(tmp_path):
    """20 bots at once over HTTP (each double-clicking its first page): every MaxDiff answer
    stored once, as clicked."""
    _, survey, tokens = make_survey(tmp_path, MAXDIFF_STUDY, 20)
    with running(make_app(survey)) as url:
        records = take_surveys(url, tokens, random_seed=3)
    errors = [r for r in records if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    result = check_records(survey, records)
    assert (result["complete"], result["maxdiff_answers"]) == (20, 20 * 4), result
    assert (result["duplicates"], result["missing"], result["mismatched"]) == (0, 0, 0), result
    survey.close()
