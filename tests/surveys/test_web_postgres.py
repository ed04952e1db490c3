"""The web survey on PostgreSQL: a temporary cluster on loopback, 200 respondents at once.

Skipped, with the reason, where no PostgreSQL server can be started (binaries missing, no
``postgres`` user when running as root); ``benchmarks/web_load.py --db postgres`` runs the same.
"""

from __future__ import annotations

import pytest

from surveys import read_responses
from surveys.web.bot import take_surveys
from surveys.web.botcheck import check_records
from surveys.web.server import serve_subprocess
from tests.surveys.pg_server import PostgresUnavailable, temporary_postgres
from tests.surveys.web_helpers import COMPACT_STUDY, make_survey


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
