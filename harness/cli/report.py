"""`gradcheck report`: sweep h and write the error-versus-h report (harness/sweep/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_case_selection,
    add_report_dir,
    check_report_dir,
    collect_cases,
    publish_outputs,
)


def cmd_report(args: argparse.Namespace) -> int:
    """`gradcheck report`."""
    from harness.cli.progress import SWEEP_LABELS, open_progress, watched_sweeps
    from harness.suite.run import DEFAULT_TIMEOUT, CaseRunner
    from harness.sweep.report import report_files, report_kinds

    report_dir = check_report_dir(args.report_dir, report=True, results=False)
    command = ["gradcheck", *sys.argv[1:]]
    with CaseRunner(DEFAULT_TIMEOUT) as runner:
        cases, errors = collect_cases(runner, args.paths, args.keywords)
        for err in errors:
            print(f"collection error: {err.describe()}", file=sys.stderr)
        if not cases:  # every case file failed to import
            print("no error-versus-h report: no case was collected")
            return EXIT_FAILED
        names = [c.name for c in cases]
        with open_progress(len(cases), args.quiet, SWEEP_LABELS) as display:
            files, seconds, _ = report_files(
                names,
                [c.numbers for c in cases],
                any(c.descent for c in cases),
                watched_sweeps(lambda index: runner.start_sweep(cases[index]), names, display),
                command,
                settings=runner.sweep_settings(),
            )
    publish_outputs(report_dir, files, report_kinds(list(files)))
    print(
        f"error-versus-h report for {len(cases)} case(s) in {seconds:.1f}s: "
        f"{Path(args.report_dir) / 'report.html'}"
    )
    return EXIT_OK if not errors else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="sweep h and write the error-versus-h report (markdown, HTML, JSON, plots)",
        description=(
            "For every case with a numerical check and every differentiated argument, measure "
            "the error of the forward, backward and central differences of the case's NumPy "
            "function against jax.grad over h = 1e-1 ... 1e-16 (4 points per decade), in float64 "
            "and float32. Arguments with more than 1000 entries (and every argument of a case "
            "holding more than 10,000 numbers) are swept along 2 seeded random unit directions "
            "instead of entry by entry. Writes REPORT_DIR/report.md, report.html (self-contained), "
            "sweep.json and PNG plots. Cases are swept in a worker process, each under the "
            "per-case time limit, while this process draws the figures. Progress goes to "
            "stderr: live on a terminal, one line per swept case otherwise."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_case_selection(p, "sweep")
    add_report_dir(p, "where the report goes")
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no live display: one stderr line per case that was not swept",
    )
    p.set_defaults(handler=cmd_report)
