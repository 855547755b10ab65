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
    collect_cases,
)


def cmd_report(args: argparse.Namespace) -> int:
    """`gradcheck report`."""
    from harness.sweep.report import write_report

    cases, errors = collect_cases(args.paths, args.keywords)
    for err in errors:
        print(f"collection error: {err.describe()}", file=sys.stderr)
    written = write_report(
        cases, args.report_dir, ["gradcheck", *sys.argv[1:]], helper_process=True
    )
    print(
        f"error-versus-h report for {len(cases)} case(s) in {written['seconds']:.1f}s: "
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
            "sweep.json and PNG plots. Figures are drawn in a spawned helper process while the "
            "next case is swept; GRADCHECK_REPORT_PROCESSES=0 draws them in this process."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_case_selection(p, "sweep")
    add_report_dir(p, "where the report goes")
    p.set_defaults(handler=cmd_report)
