"""The ``winback`` command line. See ``docs/cli.md``.

Exit codes (the table in ``docs/cli.md``): 0 success, 1 bad input or refused action (message on
stderr), 2 bad usage, 3 ``inspect --strict`` on a design that is not OK, 4 ``fit`` or ``run``
whose convergence verdict is "fail" (the CBC's or, for ``fit``, the MaxDiff's; the files are
written, so the report can be read), 130 interrupted.
"""

from __future__ import annotations

import logging
import sys

from winback.cli.commands import (
    _cmd_compare_waves,
    _cmd_demo,
    _cmd_design,
    _cmd_fit,
    _cmd_import,
    _cmd_inspect,
    _cmd_outcomes,
    _cmd_predict,
    _cmd_recommend,
    _cmd_report,
    _cmd_run,
    _cmd_simulate,
    _cmd_target,
)
from winback.cli.parser import build_parser, log
from winback.errors import WinbackError


def main(argv: list[str] | None = None) -> int:
    """Run the ``winback`` command with ``argv`` (default: the process's); the exit status."""
    # lazy: the web survey's command line loads only when `winback` runs, not on import
    from surveys.web.cli import default_subcommand, run_field

    parser = build_parser()
    args = parser.parse_args(default_subcommand(sys.argv[1:] if argv is None else argv))
    # winback's own messages only: other libraries' loggers keep their own settings
    handler_ = logging.StreamHandler(sys.stderr)
    handler_.setFormatter(logging.Formatter("winback: %(message)s"))
    log.handlers[:] = [handler_]
    log.setLevel(logging.ERROR if args.quiet else logging.INFO)
    log.propagate = False
    if args.command is None:
        parser.print_help()
        return 2
    handler = {
        "design": _cmd_design,
        "inspect": _cmd_inspect,
        "import": _cmd_import,
        "fit": _cmd_fit,
        "predict": _cmd_predict,
        "simulate": _cmd_simulate,
        "recommend": _cmd_recommend,
        "target": _cmd_target,
        "demo": _cmd_demo,
        "report": _cmd_report,
        "run": _cmd_run,
        "compare-waves": _cmd_compare_waves,
        "outcomes": _cmd_outcomes,
        "field": run_field,
    }[args.command]
    try:
        return handler(args)
    except WinbackError as exc:
        print(f"winback {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the disk filled up, a file vanished, a permission changed
        what = exc.strerror or str(exc)
        where = f": {exc.filename}" if exc.filename else ""
        print(
            f"winback {args.command}: error: {what}{where}. Nothing was replaced: output "
            "folders are replaced whole or not at all.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(
            "winback: interrupted; files already written are complete (writes are atomic).",
            file=sys.stderr,
        )
        return 130


__all__ = ["build_parser", "main"]
