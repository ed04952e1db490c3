"""Load test of winback's web survey on loopback: N respondents at once, nothing lost or doubled.

    python benchmarks/web_load.py                      # 200 respondents, SQLite, example study
    python benchmarks/web_load.py --db postgres        # a temporary PostgreSQL cluster
    python benchmarks/web_load.py --db postgresql://user@127.0.0.1/db --respondents 500

The server is `winback field serve` in a child process; every respondent is a thread that takes
the whole survey over HTTP (first sending its first page twice at the same moment, as a double
click would). Prints completions per second and checks the database against what was clicked:
every respondent complete, no answer missing, no duplicate, no mismatch. Exit status 1 if not.
Traffic goes to 127.0.0.1 only and every loop is bounded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

# the repository (tests.surveys.pg_server)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_load(study_file: Path, db: str, n: int, *, seed: int = 1) -> dict[str, object]:
    from surveys.web import make_invites, open_survey
    from surveys.web.bot import take_surveys
    from surveys.web.botcheck import check_records
    from surveys.web.server import serve_subprocess
    from winback.study import load_study

    study = load_study(study_file)
    survey = open_survey(db, study, create=True)
    tokens = make_invites(survey, n)["token"].tolist()
    # every bot sends from this machine's one address: lift the per-address limit for --respondents
    # beyond what 200 people behind one address could send (the per-link limit stays on)
    with serve_subprocess(str(study_file), db, extra_args=["--limit", "submit-per-ip=off"]) as url:
        t0 = time.perf_counter()
        records = take_surveys(url, tokens, random_seed=seed)
        seconds = time.perf_counter() - t0
    result = check_records(survey, records)
    result["seconds"] = round(seconds, 2)
    result["completions_per_second"] = round(int(result["complete"]) / seconds, 2)
    result["pages_per_respondent"] = len(survey.pages)
    errors = [r for r in records if isinstance(r, BaseException)]
    if errors:
        result["first_error"] = repr(errors[0])[:300]
    survey.engine.dispose()
    return result


def main() -> int:
    from winback.example import example_study_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="sqlite", help="sqlite, postgres (temporary) or a URL")
    ap.add_argument("--respondents", type=int, default=200)
    ap.add_argument("--study", type=Path, help="study file (default: the example study)")
    args = ap.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="winback-load-")))
        study_file = args.study
        if study_file is None:
            study_file = tmp / "study.toml"
            study_file.write_text(example_study_text(), encoding="utf-8")
        if args.db == "sqlite":
            db = str(tmp / "survey.db")
        elif args.db == "postgres":
            from tests.surveys.pg_server import temporary_postgres

            db = stack.enter_context(temporary_postgres())
        else:
            db = args.db
        r = run_load(study_file, db, args.respondents)
    kind = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    print(
        f"{kind}: {r['respondents']} respondents at once, {r['pages_per_respondent']} pages "
        f"each: {r['complete']} complete in {r['seconds']} s ({r['completions_per_second']} "
        f"completions/s); stored {r['task_answers']} task answers and {r['page_answers']} page "
        f"answers; duplicates {r['duplicates']}, missing {r['missing']}, mismatched "
        f"{r['mismatched']}, failed respondents {r['errors']}"
    )
    if "first_error" in r:
        print("first error:", r["first_error"])
    bad = r["errors"] or r["duplicates"] or r["missing"] or r["mismatched"]
    return 1 if bad or r["complete"] != r["respondents"] else 0


if __name__ == "__main__":
    sys.exit(main())
