"""What each ``winback`` command does with its parsed options: call the pipeline, print
what was written, and return the exit status. The pipeline is imported by the command that
needs it, so that ``winback --version`` and ``--help`` answer at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from winback.cli.backend_options import check_backend
from winback.cli.latent_options import check_model_options
from winback.errors import ParameterError


def _print_written(files: tuple[Path, ...], out: Path) -> None:
    print(f"wrote {len(files)} files to {out}/: " + ", ".join(f.name for f in files))


def _progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


def fit_options(args: argparse.Namespace) -> dict[str, object]:
    """The keyword arguments of ``analysis.fit`` that ``winback fit`` / ``winback run`` pass,
    named as the function names them (``--seed`` is ``random_seed``, ``--constrain`` and
    ``--constraints`` are ``constraints``). ``progress``: True unless ``--no-progress`` (a bar
    on a terminal, plain log lines otherwise: see ``analysis._progress``)."""
    preset = None if args.constraints in (None, "none") else args.constraints
    return {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "random_seed": args.seed,
        "covariance": args.covariance,
        "covariates": args.covariates,
        "constraints": args.constrain or preset,
        "sampler": args.sampler,
        "backend": args.backend,
        "progress": args.progress is not False,
    }


def _cmd_design(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
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
        if run.maxdiff_diagnostics is not None:
            print(run.maxdiff_diagnostics.report())
            print()
        _print_written(run.files, run.out)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from conjoint.diagnostics import inspect_design
    from conjoint.export import read_design_csv, read_qualtrics_design, read_sawtooth_design
    from winback._io import write_json
    from winback.study import load_study

    study = load_study(args.study)
    if args.json:
        # lazy: each command loads only its own stage (`winback --version` at once)
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
    # lazy: each command loads only its own stage (`winback --version` at once)
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
        maxdiff=args.maxdiff,
    )
    if not args.quiet:
        print(run.dataset)
        print()
        if run.maxdiff is not None:
            print(run.maxdiff.report())
            print()
        if run.dataset.flags is not None:
            # lazy: each command loads only its own stage (`winback --version` at once)
            from surveys.quality import quality_report

            print(quality_report(run.dataset.flags))
            print()
        print(run.reasons.report())
        print()
        _print_written(run.files, run.out)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.pipeline import run_simulate

    run = run_simulate(
        args.study,
        args.fit,
        args.market,
        args.out,
        weights=args.weights,
        segment=args.segment,
        band=_band_option(args),
        random_seed=args.seed,
        force=args.force,
        calibration=args.calibration,
        calibration_file=args.calibration_file,
        classes_from=args.classes_from,
    )
    if not args.quiet:
        print(run.report())
        names = ", ".join(p.name for p in run.files)
        print(f"\nwrote {len(run.files)} files to {run.out}/: {names}")
    return 0


def _order_option(pairs: list[tuple[str, list[str]]] | None) -> dict[str, list[str]] | None:
    """``--order`` given several times: one feature each; a feature named twice is an error."""
    if not pairs:
        return None
    out: dict[str, list[str]] = {}
    for name, levels in pairs:
        if name in out:
            raise ParameterError(f"--order names '{name}' twice; give each feature once.")
        out[name] = levels
    return out


def _cmd_recommend(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
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
        band=_band_option(args),
        random_seed=args.seed,
        force=args.force,
        calibration=args.calibration,
        order=_order_option(args.order),
        calibration_file=args.calibration_file,
        classes_from=args.classes_from,
    )
    if not args.quiet:
        print(run.report())
        names = ", ".join(p.name for p in run.files)
        print(f"\nwrote {len(run.files)} files to {run.out}/: {names}")
    return 0


def _cmd_target(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.pipeline import run_target

    run = run_target(
        args.study,
        args.run_dir,
        args.customers,
        args.out,
        max_contacts=args.max_contacts,
        budget=args.budget,
        control_share=args.control_share,
        band=_band_option(args),
        seed=args.seed,
        calibration=args.calibration,
        calibration_file=args.calibration_file,
        segment=args.segment,
        n_draws=args.draws,
        force=args.force,
        classes_from=args.classes_from,
    )
    if not args.quiet:
        print(run.report())
        _print_written(run.files, run.out)
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    if args.model == "latent-class":
        return _cmd_fit_latent(args)
    check_model_options(args)
    check_backend(args)
    # lazy: each command loads only its own stage (`winback --version` at once)
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
        prior=args.prior,
        prior_widen=args.prior_widen,
        exclude_flags=args.exclude,
        validation=args.validation,
        force=args.force,
        **fit_options(args),  # type: ignore[arg-type]
    )
    if not args.quiet:
        md = run.maxdiff
        if md is not None:  # fitted first: its scores may be the CBC's covariates
            print(md.model)
            print()
            print(md.report())
            print()
            _print_written(md.files, md.out)
            print()
        print(run.model)
        print()
        print(run.report())
        print()
        _print_written(run.files, run.out)
    return 0 if run.verdict != "fail" else 4


def _cmd_fit_latent(args: argparse.Namespace) -> int:
    """``winback fit --model latent-class``: the output folder checked first, then the
    options, then the fits."""
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback._folders import check_output_dir
    from winback.pipeline.latent import DEFAULT_CLASSES, OWNED, run_latent_class
    from winback.study import load_study

    check_output_dir(args.out, force=args.force, owned=OWNED)
    check_model_options(args)
    study = load_study(args.study)
    run = run_latent_class(
        study,
        args.responses,
        args.out,
        classes=args.classes or DEFAULT_CLASSES,
        covariates=args.covariates,
        format=args.format,
        design=args.design,
        respondents=args.respondents,
        exclude_flags=args.exclude,
        starts=args.starts,
        random_seed=args.seed,
        force=args.force,
    )
    if not args.quiet:
        print(run.report())
        print()
        _print_written(run.files, run.out)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.pipeline import run_predict

    path = run_predict(args.fit, args.responses, args.out, force=args.force)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
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
            print(run.fit_run.report())
        if run.simulate_run is not None:
            print()
            print(run.simulate_run.report())
        if run.recommend_run is not None:
            print()
            print(run.recommend_run.report())
        if run.target_run is not None:
            print()
            print(run.target_run.report())
        print()
        print(
            f"demo written to {run.out}/: study.toml, design/ (design files, diagnostics, "
            "fielding exports), fieldwork/ (simulated answers), import/ (validated data, "
            "quality flags, reasons for leaving), maxdiff/ (the reasons ranked: MaxDiff "
            "scores), fit/ (HB part-worths, diagnostics), "
            "latent_class/ (segments: latent classes chosen by BIC), "
            "market.toml, simulate/ (shares with bands, source of volume, price curves, WTP), "
            "recommend/ (offers, tiers, unbundling and the one recommendation), crm/ (a "
            "simulated CRM list of lost customers), target/ (the campaign: each customer's "
            "action, a control group) and report/ (the leadership workbook "
            "winback_report.xlsx and its plots)"
        )
    return 0


# -- winback report (issue 6) -----------------------------------------------------------------


def _cmd_report(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.pipeline import run_report

    run = run_report(args.run_dir, args.out, force=args.force, pdf=args.pdf)
    if not args.quiet:
        print(run.data)
        _print_written(run.files, run.out)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.waves import WavesFailed, run_wave, run_waves

    check_backend(args)
    options = {
        "force": args.force,
        "prior_from": args.prior_from or args.prior,
        "prior_widen": args.prior_widen,
        "exclude_flags": args.exclude_flags,
        "segment": args.segment,
        "objective": args.objective,
        "product": args.product,
        "max_contacts": args.max_contacts,
        "budget": args.budget,
        "control_share": args.control_share,
        **fit_options(args),
    }
    if len(args.wave) == 1 and args.wave != ["all"] and args.scheduler is None:
        if args.workers is not None:
            raise ParameterError("--workers is the size of --scheduler local; add it.")
        run = run_wave(args.study_dir, args.wave[0], **options)
        if not args.quiet:
            print(run.convergence_report())
            print()
            print(run.report())
        return 0 if run.verdict != "fail" else 4
    try:
        runs = run_waves(
            args.study_dir,
            args.wave,
            scheduler=args.scheduler,
            workers=args.workers,
            **options,
        )
    except WavesFailed as exc:
        if not args.quiet:
            for run in exc.runs:
                print(run.report() + "\n")
        raise
    if not args.quiet:
        for run in runs:
            print(run.report() + "\n")
        print(f"{len(runs)} waves: " + ", ".join(f"{r.wave} {r.verdict}" for r in runs))
    return 0 if all(r.verdict != "fail" for r in runs) else 4


def _cmd_compare_waves(args: argparse.Namespace) -> int:
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.waves import compare_waves

    cmp = compare_waves(
        args.study_dir,
        args.waves,
        band=_band_option(args),
        force=args.force,
        random_seed=args.seed,
    )
    if not args.quiet:
        print(cmp.summary)
        names = ", ".join(p.name for p in cmp.files)
        print(f"\nwrote {len(cmp.files)} files to {cmp.out}/: {names}")
    return 0


def _band_option(args: argparse.Namespace) -> float:
    """``--band``, or the value given under its former name ``--interval`` (with a note)."""
    if args.interval is not None:
        print(
            f"winback {args.command}: --interval is now --band; the old name will go in a "
            "later version.",
            file=sys.stderr,
        )
        return float(args.interval)
    return float(args.band)


def _cmd_outcomes(args: argparse.Namespace) -> int:
    """``winback outcomes STUDY RUN_DIR results.csv --out DIR``."""
    # lazy: each command loads only its own stage (`winback --version` at once)
    from winback.pipeline import run_outcomes

    run = run_outcomes(
        args.study,
        args.run_dir,
        args.results,
        args.out,
        band=args.band,
        force=args.force,
        customers=args.customers,
        adjust=args.adjust,
    )
    if not args.quiet:
        print(run.report())
        _print_written(run.files, run.out)
    return 0
