"""The `gradcheck` command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
gradcheck proves from-scratch NumPy gradients right or wrong: every case's function is compared
with an independent JAX reference (value), its finite-difference gradient with jax.grad (float64),
and its hand-written gradient, if it has one, with jax.grad too.

exit status: 0 every case passed, 1 a case failed or errored (or a case file did not import),
2 usage error (bad option, missing path, empty selection)."""


class UsageError(Exception):
    """A command-line problem: exit 2 with a one-line reason."""


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="check every case and print a table of verdicts",
        description=(
            "Collect the case files under PATH (default cases/), check every case, print a table "
            "(case, parameters, check, max abs error, max rel error, tolerance, verdict) and write "
            "REPORT_DIR/results.json."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="case files or folders (default: cases/)"
    )
    p.add_argument(
        "-k",
        dest="keywords",
        action="append",
        metavar="TEXT",
        help="run only cases whose name or tag contains TEXT (repeatable; any match selects)",
    )
    p.add_argument(
        "--scheme",
        choices=("central", "forward", "backward"),
        default=None,
        help="finite-difference scheme for every case (default: each case's own, usually central)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help=(
            "fast mode: check each argument's numerical gradient by its slopes along K seeded "
            "random unit directions (2K evaluations instead of 2 per entry); an argument whose "
            "slopes disagree gets the full per-entry check. Each result states the smallest "
            "gradient error it would catch (README: Fast mode)"
        ),
    )
    p.add_argument(
        "--directions",
        type=int,
        default=None,
        metavar="K",
        help="random directions per argument in fast mode (default 4)",
    )
    p.add_argument(
        "--report-dir",
        default="reports/latest",
        metavar="DIR",
        help="where results.json goes (default: reports/latest)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    p.set_defaults(handler=cmd_run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gradcheck",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registrations():
        register(sub)
    return parser


def _registrations() -> list:
    """Each subcommand's register function (one per module, so features stay in their home)."""
    return [_add_run]


def _collect(paths: Sequence[str], keywords: Sequence[str] | None):
    from harness.cases import collect
    from harness.runner import select

    try:
        cases, errors = collect(paths or ["cases"])
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    chosen = select(cases, keywords)
    if not chosen and not errors:
        what = f" matching -k {' '.join(keywords)}" if keywords else ""
        raise UsageError(f"no cases found{what} under {' '.join(paths or ['cases'])}")
    return chosen, errors


def cmd_run(args: argparse.Namespace) -> int:
    """`gradcheck run`."""
    from harness.check import format_failure
    from harness.report.files import write_json_atomic
    from harness.report.table import results_table
    from harness.runner import reproduce_command, results_payload, run_cases

    started = time.time()
    cases, errors = _collect(args.paths, args.keywords)
    overrides: dict = {"scheme": args.scheme} if args.scheme else {}
    if args.directions is not None and args.directions < 1:
        raise UsageError(f"--directions must be at least 1, got {args.directions}")
    if args.fast:
        overrides["mode"] = "fast"
    if args.directions is not None:
        overrides["directions"] = args.directions
    results = run_cases(cases, **overrides)
    shown = [r for r in results if not r.ok] if args.quiet else results
    if shown:
        print(results_table(shown))
    for err in errors:
        print(f"collection error: {err.describe()}", file=sys.stderr)
    for r in results:
        if not r.ok:
            print("\n" + format_failure(r, reproduce_command(r)), file=sys.stderr)
    payload = results_payload(results, errors, ["gradcheck", *sys.argv[1:]], started)
    out = write_json_atomic(Path(args.report_dir) / "results.json", payload)
    failed = sum(not r.ok for r in results)
    print(
        f"\n{len(results) - failed} passed, {failed} failed"
        + (f", {len(errors)} case file(s) did not import" if errors else "")
        + f" in {time.time() - started:.1f}s; results in {out}"
    )
    return EXIT_FAILED if failed or errors else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gradcheck` console script.

    Args:
      argv: arguments (default sys.argv[1:]).

    Returns:
      The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"gradcheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
