"""The ``winback`` command line's parser: every command, option and help text (see
``docs/cli.md``), and the checks of option values.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from winback import __version__
from winback.cli._types import _number
from winback.cli.backend_options import add_sampler_options
from winback.cli.campaign_options import add_campaign_limits
from winback.cli.latent_options import add_classes_from, add_model_options
from winback.cli.parallel_options import add_parallel_options
from winback.settings import BAND

log = logging.getLogger("winback")


def _positive_int(text: str) -> int:
    v = _number(text, int)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _positive_float(text: str) -> float:
    v = _number(text, float)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {v}")
    return v


def _path_or_url(text: str) -> Path | str:
    """A file path, or a database URL (``postgresql://...``) kept as text for ``--format db``."""
    return text if "://" in text else Path(text)


def _order(text: str) -> tuple[str, list[str]]:
    """``NAME=LEVEL,LEVEL,...``: a tier feature's levels from least to most."""
    name, sep, rest = text.partition("=")
    levels = [t.strip() for t in rest.split(",") if t.strip()]
    if not sep or not name.strip() or len(levels) < 2:
        raise argparse.ArgumentTypeError(
            f"expected NAME=LEVEL,LEVEL,... (the levels from least to most), got {text!r}"
        )
    return name.strip(), levels


def _name_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated attribute names")
    return names


#: the kinds of constraint (analysis.model.CONSTRAINT_KINDS; a test keeps the two equal)
CONSTRAINT_KINDS = ("negative", "positive", "increasing", "decreasing")
#: the named sets of constraints (analysis.model.CONSTRAINT_PRESETS)
CONSTRAINT_PRESETS = ("none", "price", "preferences")


class _ConstrainAction(argparse.Action):
    """``--constrain NAME=KIND``, repeatable, into a ``{name: kind}`` mapping: the syntax and
    the kind are checked here (a usage error); the name against the study before any work."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        name, eq, kind = (t.strip() for t in text.rpartition("="))
        if not eq or not name or not kind:
            raise argparse.ArgumentError(
                self, f"expected NAME=KIND (e.g. price=negative, speed=increasing), got {text!r}"
            )
        if kind not in CONSTRAINT_KINDS:
            raise argparse.ArgumentError(
                self,
                f"'{name}': unknown kind {kind!r}; valid kinds: {', '.join(CONSTRAINT_KINDS)}",
            )
        got = dict(getattr(namespace, self.dest, None) or {})
        if name in got:
            raise argparse.ArgumentError(self, f"'{name}' is constrained twice")
        got[name] = kind
        setattr(namespace, self.dest, got)


def _add_hb_options(p: argparse.ArgumentParser) -> None:
    """The options of ``analysis.fit``, with its defaults (``winback fit`` and ``winback run``;
    tests/winback/test_cli.py compares them with the function's signature)."""
    hb = p.add_argument_group("HB estimation (the options of analysis.fit)")
    hb.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain (1000)")
    hb.add_argument("--tune", type=_positive_int, default=500, help="warm-up per chain (500)")
    hb.add_argument("--chains", type=_positive_int, default=4, help="chains (4)")
    hb.add_argument("--seed", type=int, default=1, help="random seed (1)")
    hb.add_argument(
        "--covariance",
        choices=["full", "diagonal"],
        default="full",
        help="population covariance of part-worths (full)",
    )
    hb.add_argument(
        "--covariates",
        type=_name_list,
        metavar="COL,COL",
        help="respondent columns in the population mean, comma-separated: numbers as they "
        "are, text as indicators of its values (the first in sorted order is the reference)",
    )
    which = hb.add_mutually_exclusive_group()
    which.add_argument(
        "--constraints",
        choices=list(CONSTRAINT_PRESETS),
        help="'price': the price slope can only be negative; 'preferences': also the study's "
        "preference orders (default none)",
    )
    which.add_argument(
        "--constrain",
        action=_ConstrainAction,
        metavar="NAME=KIND",
        help=f"constrain an attribute or parameter; KIND is {', '.join(CONSTRAINT_KINDS)}; "
        "repeatable, e.g. --constrain price=negative --constrain speed=increasing",
    )
    add_sampler_options(hb)
    hb.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the fit's progress: a bar on a terminal, plain log lines otherwise (default); "
        "--no-progress: none",
    )


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
    im.add_argument(
        "--maxdiff",
        type=Path,
        help="MaxDiff answers (long or per-set layout), checked and written as maxdiff.csv",
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
    f.add_argument(
        "--format",
        choices=["winback", "qualtrics", "sawtooth", "cbctools", "db"],
        default="winback",
    )
    f.add_argument("--design", type=Path, help="design.csv (or its folder) to check tasks against")
    f.add_argument("--respondents", type=Path, help="respondent answers")
    f.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FLAG",
        help="exclude respondents with this quality flag (e.g. random_responder); "
        "repeatable; recorded with the reason",
    )
    _add_hb_options(f)
    add_model_options(f)  # --model latent-class --classes 2..6
    f.add_argument(
        "--prior",
        type=Path,
        metavar="FIT_DIR",
        help="an earlier fit folder (or its fit.nc): its population posterior becomes the prior",
    )
    f.add_argument(
        "--prior-widen",
        type=_positive_float,
        default=2.0,
        help="widening factor of the prior's standard deviations (2.0)",
    )
    f.add_argument(
        "--validation",
        choices=["auto", "holdouts", "split", "none"],
        default="auto",
        help="predictive validation: the study's holdout tasks, or one task per respondent held "
        "out and the model refitted (auto: holdouts, else the split when the data are small)",
    )
    f.add_argument("--force", action="store_true", help="replace earlier files in --out")

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
    si.add_argument(
        "--segment", help="respondent column for shares by segment (latent_class: the classes)"
    )
    add_classes_from(si)
    _add_band(si, "every share")
    _add_calibration(si)
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
    add_classes_from(rc)
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
    rc.add_argument(
        "--order",
        type=_order,
        action="append",
        metavar="NAME=LEVEL,...",
        help="a tier feature's levels from least to most, for features without a preference "
        "order (repeatable), e.g. --order 'mobile=No mobile,SIM 20 GB,SIM Unlimited'",
    )
    rc.add_argument("--top", type=_positive_int, default=10, help="offers to list (10)")
    _add_band(rc, "every share, revenue and profit")
    _add_calibration(rc)
    rc.add_argument("--seed", type=int, default=1, help="random seed (1)")
    rc.add_argument("--force", action="store_true", help="replace earlier files in --out")

    _add_target_parser(sub)  # winback target: the campaign for the CRM list

    m = sub.add_parser("demo", help="run the whole pipeline on the embedded example study")
    m.add_argument(
        "--out",
        type=Path,
        default=Path("winback-demo"),
        help="output folder (default winback-demo/)",
    )
    m.add_argument("--force", action="store_true", help="replace an earlier demo run")
    m.add_argument("--draws", type=_positive_int, default=2000, help="HB draws per chain (2000)")
    m.add_argument("--tune", type=_positive_int, default=1500, help="HB warm-up per chain (1500)")
    m.add_argument("--chains", type=_positive_int, default=4, help="HB chains (4)")
    m.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    _add_report_parser(sub)  # winback report RUN_DIR: the leadership workbook
    _add_outcomes_parser(sub)  # winback outcomes: stated against revealed, the calibration
    _add_wave_parsers(sub)  # winback run, winback compare-waves

    # lazy: each command loads only its own stage (`winback --version` at once)
    # lazy: the web survey's options are added when the parser is built, not on import
    from surveys.web.cli import add_field_parser

    add_field_parser(sub)  # winback field serve|invite|status|export: the own web survey
    return p


def _add_target_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "target",
        help="the campaign for the CRM list: whom to win back with which offer, a control group",
    )
    t.add_argument("study", type=Path, help="the study file (study.toml, with [business])")
    t.add_argument(
        "run_dir", type=Path, help="the run folder (holding fit/, market.toml and recommend/)"
    )
    t.add_argument(
        "--customers",
        type=Path,
        required=True,
        help="the CRM list of lost customers (lost_customers.csv)",
    )
    t.add_argument("--out", type=Path, required=True, help="output folder (e.g. RUN_DIR/target)")
    add_campaign_limits(t)
    t.add_argument(
        "--segment",
        metavar="COL",
        help="a column of the CRM list: the control group's strata and the summary's rows "
        "(latent_class: each customer's latent class)",
    )
    add_classes_from(t)
    t.add_argument(
        "--draws",
        type=_positive_int,
        metavar="N",
        help="use N posterior draws, evenly thinned (default all)",
    )
    _add_band(t, "every probability and profit")
    _add_calibration(t)
    t.add_argument("--seed", type=int, default=1, help="random seed (1)")
    t.add_argument("--force", action="store_true", help="replace earlier files in --out")


def _add_outcomes_parser(sub: argparse._SubParsersAction) -> None:
    o = sub.add_parser(
        "outcomes",
        help="a campaign's outcomes against its plan: win-back, uplift, Brier score, and the "
        "calibration for the next run",
    )
    o.add_argument("study", type=Path, help="the study file (study.toml)")
    o.add_argument("run_dir", type=Path, help="the run folder with fit/ and target/")
    o.add_argument(
        "results",
        type=Path,
        help="results.csv: customer_id, action (blank or control: held out), contacted, returned",
    )
    o.add_argument("--out", type=Path, required=True, help="output folder (RUN_DIR/outcomes)")
    o.add_argument(
        "--band", type=_band, default=None, help="probability of every band (the plan's)"
    )
    o.add_argument(
        "--customers",
        type=Path,
        help="the CRM list the plan was made from (default: the one target recorded)",
    )
    o.add_argument(
        "--adjust",
        choices=["scale_and_none", "none_shift", "scale"],
        default="scale_and_none",
        help="what the outcomes calibrate: scale and none shift (default), or one of them",
    )
    o.add_argument("--force", action="store_true", help="replace earlier files in --out")


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
    rp.add_argument(
        "--pdf",
        action="store_true",
        help="also write the leadership pages as PDF beside the workbook (winback_report.pdf), "
        "rendered by LibreOffice (soffice), which must be installed",
    )


# --------------------------------------------------------------------------------------------
# Survey waves: winback run, winback compare-waves (see docs/waves.md)
# --------------------------------------------------------------------------------------------


def _band(text: str) -> float:
    v = _positive_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {v}")
    return v


def _add_calibration(p: argparse.ArgumentParser) -> None:
    """``--no-calibration``: stated preference shares even where a [calibration] is given."""
    p.add_argument(
        "--no-calibration",
        dest="calibration",
        action="store_false",
        help="leave the [calibration] of the market or study file out: stated preference shares",
    )
    p.add_argument(
        "--calibration",
        dest="calibration_file",
        type=Path,
        metavar="FILE",
        help="the [calibration] of this TOML file instead of the market or study file's (e.g. "
        "the outcomes/calibration.toml winback outcomes wrote)",
    )


def _add_band(p: argparse.ArgumentParser, what: str) -> None:
    """``--band P`` (the probability of the posterior bands) and its former name ``--interval``."""
    p.add_argument(
        "--band", type=_band, default=BAND, help=f"probability of the band of {what} ({BAND})"
    )
    p.add_argument("--interval", type=_band, help="former name of --band (deprecated)")


def _add_wave_parsers(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="run the whole pipeline for survey waves of a study folder")
    r.add_argument("study_dir", type=Path, help="the study folder (study.toml, waves/<W>/)")
    r.add_argument(
        "--wave",
        required=True,
        action="append",
        help="a wave (a folder under STUDY_DIR/waves/); repeat for several, or 'all'",
    )
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
    _add_hb_options(r)
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
    add_campaign_limits(
        r.add_argument_group("the campaign (waves/<W>/lost_customers.csv, market, [business])")
    )
    r.add_argument(
        "--force", action="store_true", help="replace the wave's results (once the new are done)"
    )
    add_parallel_options(r)

    c = sub.add_parser("compare-waves", help="how two waves differ: posterior contrasts with bands")
    c.add_argument("study_dir", type=Path, help="the study folder")
    c.add_argument(
        "--waves",
        nargs=2,
        metavar=("A", "B"),
        help="the earlier and the later wave (default: the last two with results)",
    )
    _add_band(c, "every contrast")
    c.add_argument("--seed", type=int, default=1, help="random seed of the draw pairing (1)")
    c.add_argument("--force", action="store_true", help="replace an earlier comparison")
