"""The ``winback`` command line. See ``docs/cli.md``.

Exit codes: 0 success, 1 bad input or refused action (message on stderr), 2 bad usage,
3 ``inspect --strict`` on a design that is not OK, 4 ``fit`` or ``run`` whose convergence verdict
is "fail" (the files are written, so the report can be read).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from winback import __version__
from winback.errors import WinbackError

log = logging.getLogger("winback")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {v}")
    return v


def _path_or_url(text: str) -> Path | str:
    """A file path, or a database URL (``postgresql://...``) kept as text for ``--format db``."""
    return text if "://" in text else Path(text)


def _name_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated attribute names")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="winback",
        description="Lost-customer (win-back) research with choice-based conjoint.",
    )
    p.add_argument("--version", action="version", version=f"winback {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("design", help="make a choice design and its diagnostics from a study file")
    d.add_argument("study", type=Path, help="the study file (study.toml)")
    d.add_argument("--out", type=Path, required=True, help="output folder")
    d.add_argument(
        "--method",
        choices=["random", "shortcut", "balanced_overlap", "d_efficient"],
        help="override [design] method",
    )
    d.add_argument("--versions", type=_positive_int, help="override [design] versions")
    d.add_argument("--seed", type=int, help="override [design] seed")
    d.add_argument(
        "--max-seconds",
        type=_positive_float,
        help="time budget of a d_efficient search (override [design] max_seconds)",
    )
    d.add_argument(
        "--respondents",
        type=_positive_int,
        default=300,
        help="planned sample size for the diagnostics (default 300)",
    )
    d.add_argument(
        "--target-se",
        type=_positive_float,
        default=0.05,
        help="wanted part-worth standard error (default 0.05)",
    )
    d.add_argument(
        "--assign",
        type=_positive_int,
        metavar="N",
        help="also write assignments.csv: versions and shuffled order for N respondents",
    )
    d.add_argument("--force", action="store_true", help="replace earlier files in --out")
    d.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when the terminal is interactive)",
    )

    i = sub.add_parser("inspect", help="diagnose a design: efficiency, precision, balance, verdict")
    i.add_argument("study", type=Path, help="the study file (study.toml)")
    i.add_argument("design", type=Path, help="design.csv, or a folder holding design.csv")
    i.add_argument(
        "--format",
        choices=["winback", "sawtooth", "qualtrics"],
        default="winback",
        help="layout of the design file (default winback)",
    )
    i.add_argument("--respondents", type=_positive_int, default=300)
    i.add_argument("--target-se", type=_positive_float, default=0.05)
    i.add_argument("--json", type=Path, help="also write the diagnostics as JSON here")
    i.add_argument(
        "--strict", action="store_true", help="exit with status 3 unless the verdict is OK"
    )

    im = sub.add_parser(
        "import", help="read, validate and quality-check survey responses into canonical files"
    )
    im.add_argument("study", type=Path, help="the study file (study.toml)")
    im.add_argument(
        "responses", type=_path_or_url, help="the response file (format db: database file or URL)"
    )
    im.add_argument("--out", type=Path, required=True, help="output folder")
    im.add_argument(
        "--format",
        choices=["winback", "qualtrics", "sawtooth", "cbctools", "db"],
        default="winback",
        help="layout of the response file (default winback; db: winback's web survey)",
    )
    im.add_argument(
        "--design", type=Path, help="design.csv (or its folder): check every task against it"
    )
    im.add_argument(
        "--respondents",
        type=Path,
        help="respondent answers (winback format: respondents.csv beside the responses)",
    )
    im.add_argument("--force", action="store_true", help="replace earlier files in --out")

    f = sub.add_parser(
        "fit", help="estimate HB part-worths (hierarchical Bayes MNL) from responses"
    )
    f.add_argument("study", type=Path, help="the study file (study.toml)")
    f.add_argument(
        "responses", type=_path_or_url, help="the response file (winback format by default)"
    )
    f.add_argument("--out", type=Path, required=True, help="output folder")
    f.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain (1000)")
    f.add_argument("--tune", type=_positive_int, default=500, help="warm-up per chain (500)")
    f.add_argument("--chains", type=_positive_int, default=4, help="chains (4)")
    f.add_argument("--seed", type=int, default=1, help="random seed (1)")
    f.add_argument(
        "--format",
        choices=["winback", "qualtrics", "sawtooth", "cbctools", "db"],
        default="winback",
    )
    f.add_argument("--design", type=Path, help="design.csv (or its folder) to check tasks against")
    f.add_argument("--respondents", type=Path, help="respondent answers")
    f.add_argument(
        "--covariance",
        choices=["full", "diagonal"],
        default="full",
        help="population covariance of part-worths (full)",
    )
    f.add_argument(
        "--constraints",
        choices=["none", "price"],
        default="none",
        help="'price': the price slope can only be negative",
    )
    f.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FLAG",
        help="exclude respondents with this quality flag (e.g. random_responder); "
        "repeatable; recorded with the reason",
    )
    f.add_argument("--sampler", choices=["nutpie", "pymc"], default="nutpie")
    f.add_argument("--force", action="store_true", help="replace earlier files in --out")
    f.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    pr = sub.add_parser("predict", help="add predicted probabilities to responses from a fit")
    pr.add_argument("fit", type=Path, help="the fit folder (holding fit.nc)")
    pr.add_argument("responses", type=Path, help="responses (winback format)")
    pr.add_argument("--out", type=Path, required=True, help="output CSV (probs.csv)")
    pr.add_argument("--force", action="store_true", help="replace an existing output file")

    si = sub.add_parser(
        "simulate", help="market simulator: shares with bands, source of volume, price curves, WTP"
    )
    si.add_argument("study", type=Path, help="the study file (study.toml)")
    si.add_argument("fit", type=Path, help="the fit folder (holding fit.nc)")
    si.add_argument("--market", type=Path, required=True, help="market.toml: the offers")
    si.add_argument("--out", type=Path, required=True, help="output folder")
    si.add_argument("--weights", help="respondent column to weight by (customer value, ...)")
    si.add_argument("--segment", help="respondent column for shares by segment")
    si.add_argument(
        "--interval", type=_positive_float, default=0.9, help="posterior band of every share (0.9)"
    )
    si.add_argument("--seed", type=int, default=1, help="random seed (randomized first choice)")
    si.add_argument("--force", action="store_true", help="replace earlier files in --out")

    rc = sub.add_parser(
        "recommend", help="offer and price search, good/better/best tiers, unbundling"
    )
    rc.add_argument("study", type=Path, help="the study file (study.toml)")
    rc.add_argument("fit", type=Path, help="the fit folder (holding fit.nc)")
    rc.add_argument("--market", type=Path, required=True, help="market.toml: the offers")
    rc.add_argument("--out", type=Path, required=True, help="output folder")
    rc.add_argument(
        "--objective",
        choices=["share", "revenue", "profit"],
        help="what to maximise per lost customer (default: profit with [costs], else revenue)",
    )
    rc.add_argument("--product", help="the own product to replace (default: the only own one)")
    rc.add_argument("--weights", help="respondent column to weight by (customer value, ...)")
    rc.add_argument("--segment", help="respondent column: the best offer per segment too")
    rc.add_argument(
        "--tier-features",
        type=_name_list,
        help="attributes the tiers may differ on, comma-separated (default: all but price)",
    )
    rc.add_argument(
        "--components",
        type=_name_list,
        help="bundle components that may become add-ons, comma-separated "
        "(default: unordered attributes the bundle includes)",
    )
    rc.add_argument("--top", type=_positive_int, default=10, help="offers to list (10)")
    rc.add_argument("--seed", type=int, default=1, help="random seed (1)")
    rc.add_argument("--force", action="store_true", help="replace earlier files in --out")

    m = sub.add_parser("demo", help="run the whole pipeline on the embedded example study")
    m.add_argument(
        "--out",
        type=Path,
        default=Path("winback-demo"),
        help="output folder (default winback-demo/)",
    )
    m.add_argument("--force", action="store_true", help="replace an earlier demo run")
    m.add_argument("--draws", type=_positive_int, default=1000, help="HB draws per chain (1000)")
    m.add_argument("--tune", type=_positive_int, default=500, help="HB warm-up per chain (500)")
    m.add_argument("--chains", type=_positive_int, default=4, help="HB chains (4)")
    m.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    _add_report_parser(sub)  # winback report RUN_DIR: the leadership workbook
    _add_wave_parsers(sub)  # winback run, winback compare-waves

    from surveys.web.cli import add_field_parser

    add_field_parser(sub)  # winback field serve|invite|status|export: the own web survey
    return p


def _print_written(files: tuple[Path, ...], out: Path) -> None:
    print(f"wrote {len(files)} files to {out}/: " + ", ".join(f.name for f in files))


def _progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


def _cmd_design(args: argparse.Namespace) -> int:
    from winback.pipeline import run_design
    from winback.study import load_study

    study = load_study(args.study)
    run = run_design(
        study,
        args.out,
        force=args.force,
        method=args.method,
        versions=args.versions,
        random_seed=args.seed,
        max_seconds=args.max_seconds,
        n_respondents=args.respondents,
        target_se=args.target_se,
        assign=args.assign,
        progress=_progress(args.progress),
        study_text=args.study.read_text(encoding="utf-8-sig"),
    )
    if not args.quiet:
        print(run.design)
        print()
        print(run.diagnostics.report())
        print()
        _print_written(run.files, run.out)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from conjoint.diagnostics import inspect_design
    from conjoint.export import read_design_csv, read_qualtrics_design, read_sawtooth_design
    from winback._io import write_json
    from winback.study import load_study

    study = load_study(args.study)
    if args.json:
        from winback._folders import check_output_file

        check_output_file(args.json, force=True, option="--json")
    path = args.design / "design.csv" if args.design.is_dir() else args.design
    reader = {
        "winback": read_design_csv,
        "sawtooth": read_sawtooth_design,
        "qualtrics": read_qualtrics_design,
    }[args.format]
    design = reader(path, study)
    diag = inspect_design(design, n_respondents=args.respondents, target_se=args.target_se)
    if not args.quiet:
        print(diag.report())
    if args.json:
        write_json(diag.to_dict(), args.json)
    if args.strict and diag.verdict != "OK":
        return 3
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from winback.pipeline import run_import
    from winback.study import load_study

    study = load_study(args.study)
    run = run_import(
        study,
        args.responses,
        args.out,
        format=args.format,
        design=args.design,
        respondents=args.respondents,
        force=args.force,
    )
    if not args.quiet:
        print(run.dataset)
        print()
        if run.dataset.flags is not None:
            from surveys.quality import quality_report

            print(quality_report(run.dataset.flags))
            print()
        print(run.reasons.report())
        print()
        _print_written(run.files, run.out)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from winback.pipeline import run_simulate

    run = run_simulate(
        args.study,
        args.fit,
        args.market,
        args.out,
        weights=args.weights,
        segment=args.segment,
        interval=args.interval,
        random_seed=args.seed,
        force=args.force,
    )
    if not args.quiet:
        print(run.simulation)
        names = ", ".join(p.name for p in run.files)
        print(f"\nwrote {len(run.files)} files to {run.out}/: {names}")
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    from winback.pipeline import run_recommend

    run = run_recommend(
        args.study,
        args.fit,
        args.market,
        args.out,
        objective=args.objective,
        product=args.product,
        weights=args.weights,
        segment=args.segment,
        tier_features=args.tier_features,
        components=args.components,
        top=args.top,
        random_seed=args.seed,
        force=args.force,
    )
    if not args.quiet:
        print(run.report())
        names = ", ".join(p.name for p in run.files)
        print(f"\nwrote {len(run.files)} files to {run.out}/: {names}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from winback.pipeline import run_fit
    from winback.study import load_study

    study = load_study(args.study)
    run = run_fit(
        study,
        args.responses,
        args.out,
        format=args.format,
        design=args.design,
        respondents=args.respondents,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        covariance=args.covariance,
        constraints=args.constraints,
        exclude_flags=args.exclude,
        sampler=args.sampler,
        force=args.force,
        progress=_progress(args.progress),
    )
    if not args.quiet:
        print(run.model)
        print()
        print(run.convergence.report())
        print()
        _print_written(run.files, run.out)
    return 0 if run.convergence.verdict != "fail" else 4


def _cmd_predict(args: argparse.Namespace) -> int:
    from winback.pipeline import run_predict

    path = run_predict(args.fit, args.responses, args.out, force=args.force)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from winback.pipeline import run_demo

    run = run_demo(
        args.out,
        force=args.force,
        progress=_progress(args.progress),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
    )
    if not args.quiet:
        d = run.design_run
        print(d.design.study)
        print()
        print(d.design)
        print()
        print(d.diagnostics.report())
        print()
        imp = run.import_run
        print(imp.dataset)
        planted = run.planted
        flags = imp.dataset.flags
        if flags is not None and "random_responder" in flags:
            found = set(flags.loc[flags["random_responder"], "respondent_id"])
            hit = len(found & set(planted["random_responders"]))
            print(
                f"  quality check: {hit} of {len(planted['random_responders'])} planted random "
                f"responders flagged; {len(found) - hit} other respondents flagged"
            )
        print()
        print(imp.reasons.report())
        if run.fit_run is not None:
            print()
            print(run.fit_run.model)
            print()
            print(run.fit_run.convergence.report())
        if run.simulate_run is not None:
            print()
            print(run.simulate_run.simulation)
        if run.recommend_run is not None:
            print()
            print(run.recommend_run.report())
        print()
        print(
            f"demo written to {run.out}/: study.toml, design/ (design files, diagnostics, "
            "fielding exports), fieldwork/ (simulated answers), import/ (validated data, "
            "quality flags, reasons for leaving), fit/ (HB part-worths, diagnostics), "
            "market.toml, simulate/ (shares with bands, source of volume, price curves, WTP), "
            "recommend/ (offers, tiers, unbundling) and report/ (the leadership workbook "
            "winback_report.xlsx and its plots)"
        )
    return 0


# -- winback report (issue 6) -----------------------------------------------------------------


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser(
        "report", help="the leadership workbook (.xlsx) and summary plots of a run folder"
    )
    rp.add_argument(
        "run_dir", type=Path, help="a run folder with fit/ (and design/, import/, simulate/, ...)"
    )
    rp.add_argument(
        "--out",
        type=Path,
        help="the workbook to write (default RUN_DIR/report/winback_report.xlsx); "
        "the plots go beside it",
    )
    rp.add_argument("--force", action="store_true", help="replace an earlier workbook and plots")


def _cmd_report(args: argparse.Namespace) -> int:
    from winback.pipeline import run_report

    run = run_report(args.run_dir, args.out, force=args.force)
    if not args.quiet:
        print(run.data)
        _print_written(run.files, run.out)
    return 0


# --------------------------------------------------------------------------------------------
# Survey waves: winback run, winback compare-waves (see docs/waves.md)
# --------------------------------------------------------------------------------------------


def _interval(text: str) -> float:
    v = _positive_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {v}")
    return v


def _add_wave_parsers(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="run the whole pipeline for one survey wave of a study folder")
    r.add_argument("study_dir", type=Path, help="the study folder (study.toml, waves/<W>/)")
    r.add_argument("--wave", required=True, help="the wave: a folder under STUDY_DIR/waves/")
    prior = r.add_mutually_exclusive_group()
    prior.add_argument(
        "--prior-from",
        metavar="WAVE",
        help="an earlier wave whose population posterior becomes the prior, or 'previous'",
    )
    prior.add_argument(
        "--prior",
        choices=["previous"],
        help="'previous': the latest earlier wave with results (= --prior-from previous)",
    )
    r.add_argument(
        "--prior-widen",
        type=_positive_float,
        default=2.0,
        help="widening factor of the prior's standard deviations (2.0)",
    )
    r.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain (1000)")
    r.add_argument("--tune", type=_positive_int, default=500, help="warm-up per chain (500)")
    r.add_argument("--chains", type=_positive_int, default=4, help="chains (4)")
    r.add_argument("--seed", type=int, default=1, help="random seed (1)")
    r.add_argument(
        "--exclude-flags",
        nargs="+",
        default=[],
        metavar="FLAG",
        help="leave out respondents with these quality flags (e.g. random_responder)",
    )
    r.add_argument("--segment", help="respondent column: shares and best offers by segment too")
    r.add_argument(
        "--objective",
        choices=["share", "revenue", "profit"],
        help="of the offer search (default: profit with [costs], else revenue)",
    )
    r.add_argument(
        "--product",
        help="the own product the offer replaces (needed when the market has several own products)",
    )
    r.add_argument(
        "--force", action="store_true", help="replace the wave's results (once the new are done)"
    )
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    c = sub.add_parser("compare-waves", help="how two waves differ: posterior contrasts with bands")
    c.add_argument("study_dir", type=Path, help="the study folder")
    c.add_argument(
        "--waves",
        nargs=2,
        metavar=("A", "B"),
        help="the earlier and the later wave (default: the last two with results)",
    )
    c.add_argument("--interval", type=_interval, default=0.9, help="probability of the bands (0.9)")
    c.add_argument("--seed", type=int, default=1, help="random seed of the draw pairing (1)")
    c.add_argument("--force", action="store_true", help="replace an earlier comparison")


def _cmd_run(args: argparse.Namespace) -> int:
    from winback.waves import run_wave

    run = run_wave(
        args.study_dir,
        args.wave,
        force=args.force,
        prior_from=args.prior_from or args.prior,
        prior_widen=args.prior_widen,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        exclude_flags=args.exclude_flags,
        segment=args.segment,
        objective=args.objective,
        product=args.product,
        progress=_progress(args.progress),
    )
    if not args.quiet:
        print(run.fit_run.convergence.report())
        print()
        print(run.report())
    return 0 if run.fit_run.convergence.verdict != "fail" else 4


def _cmd_compare_waves(args: argparse.Namespace) -> int:
    from winback.waves import compare_waves

    cmp = compare_waves(
        args.study_dir, args.waves, interval=args.interval, force=args.force, random_seed=args.seed
    )
    if not args.quiet:
        print(cmp.summary)
        names = ", ".join(p.name for p in cmp.files)
        print(f"\nwrote {len(cmp.files)} files to {cmp.out}/: {names}")
    return 0


def main(argv: list[str] | None = None) -> int:
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
        "demo": _cmd_demo,
        "report": _cmd_report,
        "run": _cmd_run,
        "compare-waves": _cmd_compare_waves,
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


if __name__ == "__main__":
    sys.exit(main())
