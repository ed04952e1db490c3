"""The web survey on PostgreSQL: a temporary cluster on loopback, 200 respondents at once.

The MaxDiff's table and the schema upgrade run there too. Skipped, with the reason, where no PostgreSQL server can be started (binaries missing, no
``postgres`` user when running as root); ``benchmarks/web_load.py --db postgres`` runs the same.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from surveys import read_maxdiff_answers, read_responses
from surveys.web import make_app, open_survey, schema
from surveys.web.bot import take_surveys
from surveys.web.botcheck import check_records
from surveys.web.importer import survey_maxdiff
from surveys.web.server import serve_subprocess
from tests.surveys.pg_server import PostgresUnavailable, temporary_postgres
from tests.surveys.web_helpers import COMPACT_STUDY, MAXDIFF_STUDY, make_survey, take_in_process


@pytest.fixture(scope="module")
def pg_url():
    try:
        with temporary_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server here: {exc}")


def test_concurrent_respondents_on_postgres_lose_nothing(pg_url, tmp_path):
    study_file, survey, tokens = make_survey(tmp_path, COMPACT_STUDY, 200, db=pg_url)
    with serve_subprocess(str(study_file), pg_url) as url:
        records = take_surveys(url, tokens, random_seed=21)
    result = check_records(survey, records)
    errors = [r for r in records if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    assert result["complete"] == 200, result
    assert (result["duplicates"], result["missing"], result["mismatched"]) == (0, 0, 0), result
    data = read_responses(pg_url, survey.study, format="db")
    assert data.n_respondents == 200
    survey.engine.dispose()


def test_maxdiff_and_the_schema_upgrade_on_postgres(pg_url, tmp_path):
    """The MaxDiff's table and column on PostgreSQL: answers stored and exported as clicked;
    a schema-1 survey (made before the MaxDiff) upgraded in place, its answers kept."""
    pg = pg_url.rsplit("/", 1)[0]
    engine = sa.create_engine(schema.database_url(pg + "/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE maxdiff_web")
    engine.dispose()
    db = pg + "/maxdiff_web"
    _, survey, tokens = make_survey(tmp_path, MAXDIFF_STUDY, 2, db=db)
    recs = [take_in_process(make_app(survey), t, random_seed=i) for i, t in enumerate(tokens)]
    back = read_maxdiff_answers(survey_maxdiff(survey), design=survey.maxdiff).answers
    best = back.loc[back.best == 1].set_index(["respondent_id", "set"])["item"]
    assert [best[(f"w{i + 1:05d}", s)] for i, r in enumerate(recs) for s in sorted(r.maxdiff)] == [
        r.maxdiff[s]["best"] for r in recs for s in sorted(r.maxdiff)
    ]
    with survey.engine.begin() as conn:  # back to schema 1, then opened again
        conn.exec_driver_sql("DROP TABLE winback_maxdiff_answers")
        conn.exec_driver_sql("ALTER TABLE winback_invites DROP COLUMN maxdiff_version")
        conn.exec_driver_sql("UPDATE winback_meta SET value = '1' WHERE key = 'schema_version'")
        conn.exec_driver_sql("DELETE FROM winback_meta WHERE key = 'maxdiff_design'")
    survey.engine.dispose()
    again = open_survey(db, survey.study)
    assert schema.read_meta(again.engine)["schema_version"] == "2" and again.maxdiff is None
    assert read_responses(db, again.study, format="db").n_respondents == 2
    again.engine.dispose()
