"""`gradcheck baseline` and `gradcheck gate`: make a baseline, and fail CI on regressions."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_case_selection,
    add_report_dir,
    collect_cases,
)
from harness.gate.baseline import DEFAULT_BASELINE

GATE_DESCRIPTION = """\
Run the cases under PATH (default: the paths recorded in the baseline, else cases/) and compare
every check with the baseline. A check regresses when:
  - it passed (or found a kink) in the baseline and now fails, errors or is non-deterministic;
  - its max abs error grew more than 10x its baseline value AND is above 0.1 of its tolerance
    (the smaller of the baseline's and today's; below that, growth is rounding noise);
  - it is in the baseline but gone (case deleted, check dropped, case file gone or broken);
  - it is new and does not pass (and, with --strict, any new check).
Failures already in the baseline are reported as known failures, not regressions.

Prints a table of what changed, writes REPORT_DIR/results.json, --junit (one testcase per check)
and --summary (Markdown, also appended to $GITHUB_STEP_SUMMARY when set). The baseline is only
read, never written.

exit status: 0 no regression, 1 regression, 2 usage error or a missing, unreadable, corrupt or
wrong-version baseline (make one with: gradcheck baseline -o PATH)."""

BASELINE_DESCRIPTION = """\
Run the cases under PATH (default cases/) and write a baseline for `gradcheck gate`: per case and
check the verdict, errors, tolerance, step and scheme, plus the python, numpy and jax versions and
the dtypes checked. The file holds no timings, so remaking it on an unchanged tree gives the same
file; commit it. Refuses (exit 1, nothing written) when a case file does not import; cases that
fail are recorded as known failures, with a warning.

exit status: 0 written, 1 a case file did not import, 2 usage error."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `baseline` and `gate` subcommands.

    Args:
      sub: the subparsers of the `gradcheck` parser.
    """
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "baseline",
        help="run the cases and write the baseline the gate compares against",
        description=BASELINE_DESCRIPTION,
        formatter_class=fmt,
    )
    add_case_selection(p, None)
    p.add_argument(
        "-o",
        "--output",
        default=DEFAULT_BASELINE,
        metavar="FILE",
        help=f"where to write the baseline (default: {DEFAULT_BASELINE})",
    )
    p.set_defaults(handler=cmd_baseline)

    g = sub.add_parser(
        "gate",
        help="run the cases and fail on regressions against a baseline",
        description=GATE_DESCRIPTION,
        formatter_class=fmt,
    )
    g.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="case files or folders (default: the baseline's paths)",
    )
    g.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        metavar="FILE",
        help=f"the baseline to compare with (default: {DEFAULT_BASELINE})",
    )
    g.add_argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per check")
    g.add_argument("--summary", metavar="FILE", help="write a Markdown summary")
    g.add_argument(
        "--strict", action="store_true", help="a check not in the baseline is a regression"
    )
    add_report_dir(g, "where this run's results.json goes")
    g.set_defaults(handler=cmd_gate)


def _run(paths: Sequence[str], *, require_cases: bool):
    """Collect and check the cases, derandomized, as `gradcheck run` does.

    Args:
      paths: case files or folders.
      require_cases: a usage error when there is no case at all (see `common.collect_cases`).

    Returns:
      (results, collection errors).
    """
    from hypothesis import settings

    from harness.fuzz.profiles import CI, register_profiles
    from harness.suite.run import run_suite

    # A case file that draws examples must draw the same ones every time, or the gate could flip.
    register_profiles()
    previous = settings.get_current_profile_name()
    settings.load_profile(CI)
    try:
        cases, errors = collect_cases(paths, None, require_cases=require_cases)
        return run_suite(cases), errors
    finally:
        settings.load_profile(previous)


def cmd_baseline(args: argparse.Namespace) -> int:
    """`gradcheck baseline`."""
    from harness.files import write_json_atomic
    from harness.gate.baseline import baseline_payload

    paths = args.paths or ["cases"]
    results, errors = _run(paths, require_cases=True)
    if errors:
        for err in errors:
            print(f"collection error: {err.describe()}", file=sys.stderr)
        print(f"no baseline written: fix the case file(s) first ({args.output} untouched)")
        return EXIT_FAILED
    out = write_json_atomic(args.output, baseline_payload(results, paths))
    failing = [r.name for r in results if not r.ok]
    if failing:
        print(f"warning: recorded as known failures: {', '.join(failing)}", file=sys.stderr)
    checks = sum(len(r.checks) for r in results)
    print(f"baseline of {len(results)} cases ({checks} checks) written to {out}")
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    """`gradcheck gate`."""
    from harness.files import write_atomic, write_json_atomic
    from harness.gate.baseline import BaselineError, load_baseline, run_environment
    from harness.gate.compare import GateOutcome, compare, environment_notes
    from harness.gate.render import changes_table, junit_xml, markdown_summary, verdict_line
    from harness.results import environment, results_payload

    started = time.time()
    try:
        baseline = load_baseline(args.baseline)
    except BaselineError as exc:
        print(f"gradcheck gate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    paths = args.paths or list(baseline.paths) or ["cases"]
    # A gate over zero cases is no usage error: every baseline case in scope is then gone.
    results, errors = _run(paths, require_cases=False)
    versions = environment()
    command = ["gradcheck", "gate", *(args.paths or [])]
    write_json_atomic(
        Path(args.report_dir) / "results.json",
        results_payload(results, errors, command, started, versions),
    )
    compared = compare(
        baseline.results.values(), results, paths=paths, errors=errors, strict=args.strict
    )
    outcome = GateOutcome(
        compared.changes,
        environment_notes(baseline.environment, run_environment(results, versions)),
    )
    table = changes_table(outcome)
    print(table if table else f"no check changed against {args.baseline}")
    for note in outcome.environment_notes:
        print(f"note: environment differs from the baseline: {note}")
    if args.junit:
        write_atomic(args.junit, junit_xml(outcome))
    summary = markdown_summary(outcome, args.baseline)
    if args.summary:
        write_atomic(args.summary, summary)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        # GitHub collects the file after the step; appending keeps other steps' summaries.
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    print(f"\n{verdict_line(outcome)} in {time.time() - started:.1f}s")
    return EXIT_OK if outcome.ok else EXIT_FAILED
