"""``winback field ...``: serve the web survey, make invites, follow progress, export answers.

Registered on the ``winback`` command by :func:`add_field_parser`; kept here so the web survey
stays one package. The web stack is imported only by ``serve``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from winback.errors import WinbackError

if TYPE_CHECKING:
    import pandas as pd

    from surveys.web.survey import Survey

SUBCOMMANDS = ("serve", "invite", "status", "export")
ADMIN_ENV = "WINBACK_ADMIN_SECRET"


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help="the survey database: a SQLite file or a URL such as "
        "postgresql://user@host/dbname (default: survey.db beside the study file)",
    )


def add_field_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``field`` and its subcommands to the ``winback`` command's subparsers."""
    field = sub.add_parser(
        "field",
        help="field the questionnaire and choice tasks as winback's own web survey",
        description="winback's own web survey. `winback field STUDY` is `winback field serve "
        "STUDY`.",
    )
    fs = field.add_subparsers(dest="field_command", metavar="SUBCOMMAND")

    s = fs.add_parser("serve", help="serve the survey (personal links /s/TOKEN)")
    s.add_argument("study", type=Path, help="the study file (study.toml)")
    _db_arg(s)
    s.add_argument(
        "--design",
        type=Path,
        help="design.csv (or its folder) when creating the survey; a maxdiff_design.csv "
        "beside it is the MaxDiff shown",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (8000)")
    s.add_argument(
        "--admin-secret-file",
        type=Path,
        help=f"file holding the admin secret for /admin/... (or set {ADMIN_ENV}); "
        "without one the admin pages are off",
    )
    s.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a limit (repeatable): submit-per-token, submit-per-ip, admin-per-ip, "
        "admin-failures-per-ip take PER_MINUTE/BURST or off (defaults 60/30, 3000/3000, "
        "60/30, 1/10); max-body and max-url take bytes (default: derived from the longest "
        "page, 2048). See docs/web-survey.md",
    )

    i = fs.add_parser("invite", help="create personal links (one token per respondent)")
    i.add_argument("study", type=Path, help="the study file (study.toml)")
    who = i.add_mutually_exclusive_group(required=True)
    who.add_argument("--count", type=int, help="this many anonymous links")
    who.add_argument("--customers", type=Path, help="customer list CSV, one row per customer")
    i.add_argument("--id-column", default="respondent_id", help="id column of --customers")
    i.add_argument("--out", type=Path, required=True, help="invites CSV to write (links)")
    i.add_argument("--base-url", default="http://127.0.0.1:8000", help="address respondents open")
    _db_arg(i)
    i.add_argument(
        "--design",
        type=Path,
        help="design.csv (or its folder) when creating the survey; a maxdiff_design.csv "
        "beside it is the MaxDiff shown",
    )
    i.add_argument("--force", action="store_true", help="replace an existing --out file")

    st = fs.add_parser("status", help="completes, partials and drop-off per page")
    st.add_argument("study", type=Path, help="the study file (study.toml)")
    _db_arg(st)
    st.add_argument("--json", type=Path, help="also write the figures as JSON here")

    e = fs.add_parser(
        "export",
        help="write the canonical responses.csv and respondents.csv (and maxdiff.csv)",
    )
    e.add_argument("study", type=Path, help="the study file (study.toml)")
    e.add_argument("--out", type=Path, required=True, help="output folder")
    _db_arg(e)
    e.add_argument("--force", action="store_true", help="replace earlier files in --out")


def default_subcommand(argv: list[str]) -> list[str]:
    """``winback field STUDY ...`` means ``winback field serve STUDY ...``.

    Examples
    --------
    >>> default_subcommand(["field", "study.toml"])
    ['field', 'serve', 'study.toml']
    >>> default_subcommand(["field", "status", "study.toml"])
    ['field', 'status', 'study.toml']
    """
    args = list(argv)
    for k, a in enumerate(args):
        if a == "field":
            rest = args[k + 1 :]
            if rest and rest[0] not in SUBCOMMANDS and not rest[0].startswith("-"):
                return [*args[: k + 1], "serve", *rest]
            return args
        if not a.startswith("-"):
            return args
    return args


def _db(args: argparse.Namespace) -> str:
    if args.db:
        return str(args.db)
    return str(args.study.resolve().parent / "survey.db")


def _open(args: argparse.Namespace, *, create: bool) -> Survey:
    # lazy: `winback` builds this parser for every command; the web stack loads only here
    from conjoint.export import read_design_csv
    from conjoint.maxdiff_io import MAXDIFF_DESIGN_FILE, read_maxdiff_design
    from surveys.web.survey import open_survey
    from winback.study import load_study

    study = load_study(args.study)
    design_path = getattr(args, "design", None)
    design = None if design_path is None else read_design_csv(design_path, study)
    md_design = None
    if design_path is not None and study.maxdiff is not None:
        # the MaxDiff design `winback design` wrote beside design.csv, when there is one
        folder = design_path if design_path.is_dir() else design_path.parent
        if (folder / MAXDIFF_DESIGN_FILE).is_file():
            md_design = read_maxdiff_design(folder / MAXDIFF_DESIGN_FILE, study)
    return open_survey(_db(args), study, design=design, create=create, maxdiff_design=md_design)


def run_field(args: argparse.Namespace) -> int:
    """Run a ``winback field`` subcommand; returns the exit status."""
    cmd = args.field_command
    if cmd is None:
        print("winback field: give a subcommand: " + ", ".join(SUBCOMMANDS), file=sys.stderr)
        return 2
    return {"serve": _serve, "invite": _invite, "status": _status, "export": _export}[cmd](args)


def _serve(args: argparse.Namespace) -> int:
    # lazy: `winback` builds this parser for every command; the web stack loads only here
    from surveys.web.app import body_limit, make_app
    from surveys.web.limits import WebLimits
    from surveys.web.server import serve

    secret = os.environ.get(ADMIN_ENV) or None
    if args.admin_secret_file is not None:
        try:
            secret = args.admin_secret_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise WinbackError(f"cannot read the admin secret file: {exc}") from None
    if secret is not None and len(secret) < 16:
        raise WinbackError("the admin secret must be at least 16 characters long.")
    limits = WebLimits().with_options(args.limit)
    survey = _open(args, create=True)
    try:
        app = make_app(survey, admin_secret=secret, limits=limits)
        if not args.quiet:
            print(
                f"serving '{survey.study.name}' from {survey.db} on "
                f"http://{args.host}:{args.port}/ (links /s/TOKEN; admin pages "
                f"{'on' if secret else 'off'}); Ctrl+C stops\nlimits (--limit NAME=VALUE): "
                + limits.describe(body_limit(survey, limits)).replace("\n", "; ")
            )
        serve(app, host=args.host, port=args.port)
    finally:
        survey.close()
    return 0


def _invite(args: argparse.Namespace) -> int:
    # lazy: `winback` builds this parser for every command; the web stack loads only here
    from surveys.web.survey import make_invites, read_customer_list
    from winback._io import check_outputs_free, write_csv

    check_outputs_free([args.out], args.force)
    survey = _open(args, create=True)
    if args.customers is not None:
        who: int | pd.DataFrame = read_customer_list(args.customers)
        source = str(args.customers)
    else:
        who, source = args.count, "--count"
    try:
        invites = make_invites(
            survey, who, base_url=args.base_url, id_column=args.id_column, source=source
        )
    finally:
        survey.close()
    write_csv(invites, args.out)
    if not args.quiet:
        print(
            f"{len(invites)} personal links written to {args.out} (versions "
            f"{invites['version'].min()}..{invites['version'].max()}); survey database "
            f"{survey.db}"
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    # lazy: `winback` builds this parser for every command; the web stack loads only here
    from surveys.web.status import survey_status
    from winback._io import write_json

    survey = _open(args, create=False)
    try:
        status = survey_status(survey)
    finally:
        survey.close()
    if not args.quiet:
        print(status.report())
    if args.json:
        write_json(status.to_dict(), args.json)
    return 0


def _export(args: argparse.Namespace) -> int:
    # lazy: `winback` builds this parser for every command; the web stack loads only here
    from surveys.web.export import write_export

    survey = _open(args, create=False)
    try:
        paths = write_export(survey, args.out, force=args.force)
    finally:
        survey.close()
    if not args.quiet:
        print(f"wrote {len(paths)} files to {args.out}/: " + ", ".join(p.name for p in paths))
    return 0
