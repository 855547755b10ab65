"""`gradcheck baseline` and `gradcheck gate`: make a baseline, and fail CI on regressions."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_case_selection,
    add_report_dir,
    check_report_dir,
    collect_cases,
    publish_outputs,
    stop_if_interrupted,
)
from harness.gate.baseline import DEFAULT_BASELINE

GATE_DESCRIPTION = """\
Run the cases under PATH (default: the paths recorded in the baseline, relative to the folder it
was made from, so the gate runs the same cases from any directory) and compare every check with
the baseline. A check regresses when:
  - it passed (or found a kink) in the baseline and now fails, errors or is non-deterministic;
  - its max abs error grew more than 10x its baseline value AND is above 0.1 of its tolerance
    (the smaller of the baseline's and today's; below that, growth is rounding noise);
  - it is in the baseline but gone (case deleted, check dropped, case file gone or broken);
  - it is in the baseline but was not run, its case file lying outside PATH (unless --partial:
    the gate never compares fewer checks than the baseline holds without saying so);
  - it is new and does not pass (and, with --strict, any new check).
Failures already in the baseline are reported as known failures, not regressions.

Prints a table of what changed, writes REPORT_DIR/results.json, --junit (one testcase per check)
and --summary (Markdown, also appended to $GITHUB_STEP_SUMMARY when set). The baseline is only
read, never written, and no output may be the baseline.

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
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no live display: one stderr line per case that does not pass",
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
    g.add_argument(
        "--partial",
        action="store_true",
        help="compare only the baseline's cases under PATH; without it, a baseline check that "
        "was not run (its case file outside PATH) is a regression",
    )
    add_report_dir(g, "where this run's results.json goes")
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no live display: one stderr line per case that does not pass",
    )
    g.set_defaults(handler=cmd_gate)


def _run(paths: Sequence[str], *, require_cases: bool, quiet: bool = False):
    """Collect and check the cases in a worker process, derandomized, as `gradcheck run` does,
    with its progress on stderr.

    Args:
      paths: case files or folders.
      require_cases: a usage error when there is no case at all (see `common.collect_cases`).
      quiet: progress lines only for cases that do not pass, never a live display.

    Returns:
      (results, collection errors, the environment).
    """
    from harness.cli.progress import open_progress
    from harness.fuzz.profiles import CI
    from harness.suite.run import CaseRunner

    # A case file that draws examples must draw the same ones every time, or the gate could flip.
    with CaseRunner(profile=CI) as runner:
        cases, errors = collect_cases(runner, paths, None, require_cases=require_cases)
        results = []
        with open_progress(len(cases), quiet) as display:
            for info in cases:
                display.started(info.name)
                result = runner.check(info, on_progress=display.update)
                display.result(result)
                results.append(result)
                stop_if_interrupted()
        return results, errors, runner.environment()


def cmd_baseline(args: argparse.Namespace) -> int:
    """`gradcheck baseline`."""
    from harness.files import check_output_file, dumps_json
    from harness.gate.baseline import BASELINE_KIND, baseline_payload

    output = check_output_file(args.output, BASELINE_KIND)
    paths = args.paths or ["cases"]
    results, errors, versions = _run(paths, require_cases=True, quiet=args.quiet)
    if errors:
        for err in errors:
            print(f"collection error: {err.describe()}", file=sys.stderr)
        print(f"no baseline written: fix the case file(s) first ({args.output} untouched)")
        return EXIT_FAILED
    payload = baseline_payload(results, paths, output, versions)
    publish_outputs(output.parent, {output.name: dumps_json(payload)}, {output.name: BASELINE_KIND})
    failing = [r.name for r in results if not r.ok]
    if failing:
        print(f"warning: recorded as known failures: {', '.join(failing)}", file=sys.stderr)
    checks = sum(len(r.checks) for r in results)
    print(f"baseline of {len(results)} cases ({checks} checks) written to {args.output}")
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    """`gradcheck gate`."""
    from harness.files import check_output_file, dumps_json, same_file
    from harness.gate.baseline import BaselineError, load_baseline, run_environment
    from harness.gate.compare import GateOutcome, compare, environment_notes
    from harness.gate.render import (
        JUNIT_KIND,
        SUMMARY_KIND,
        changes_table,
        junit_xml,
        markdown_summary,
        verdict_line,
    )
    from harness.results import RESULTS_KIND, results_payload

    started = time.time()
    try:
        baseline = load_baseline(args.baseline)
    except BaselineError as exc:
        print(f"gradcheck gate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Every output is checked before the run; none may be the baseline (an input).
    report_dir = check_report_dir(args.report_dir, report=False)
    junit = check_output_file(args.junit, JUNIT_KIND) if args.junit else None
    summary_file = check_output_file(args.summary, SUMMARY_KIND) if args.summary else None
    outputs = [report_dir / "results.json", junit, summary_file]
    named = [p for p in outputs if p is not None]
    for path in named:
        if same_file(path, args.baseline):
            raise UsageError(f"{path} is the baseline being compared against; write elsewhere")
    if len({os.path.normcase(p) for p in named}) < len(named):
        raise UsageError("two outputs (--report-dir, --junit, --summary) name the same file")
    # The baseline's paths are relative to its own root, not to where the gate runs.
    paths = args.paths or list(baseline.paths) or ["cases"]
    # A gate over zero cases is no usage error: every baseline case in scope is then gone.
    results, errors, versions = _run(paths, require_cases=False, quiet=args.quiet)
    command = ["gradcheck", "gate", *(args.paths or [])]
    compared = compare(
        baseline.results.values(),
        results,
        paths=[os.path.abspath(p) for p in paths],
        errors=errors,
        strict=args.strict,
        partial=args.partial,
    )
    outcome = GateOutcome(
        compared.changes,
        environment_notes(baseline.environment, run_environment(results, versions)),
    )
    table = changes_table(outcome)
    print(table if table else f"no check changed against {args.baseline}")
    for note in outcome.environment_notes:
        print(f"note: environment differs from the baseline: {note}")
    summary = markdown_summary(outcome, args.baseline)
    payload = results_payload(results, errors, command, started, versions)
    files: dict = {"results.json": dumps_json(payload)}
    kinds: dict = {"results.json": RESULTS_KIND}
    if junit is not None:
        xml = junit_xml(outcome, started, time.time() - started)
        files[junit], kinds[junit] = xml, JUNIT_KIND
    if summary_file is not None:
        files[summary_file], kinds[summary_file] = summary, SUMMARY_KIND
    publish_outputs(report_dir, files, kinds)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        # GitHub collects the file after the step; appending keeps other steps' summaries.
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    print(f"\n{verdict_line(outcome)} in {time.time() - started:.1f}s")
    return EXIT_OK if outcome.ok else EXIT_FAILED
