"""The `gradcheck` command."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_REPORT_DIR = "reports/latest"

DESCRIPTION = """\
gradcheck proves from-scratch NumPy gradients right or wrong: every case's function is compared
with an independent JAX reference (value), its finite-difference gradient with jax.grad (float64),
and its hand-written gradient, if it has one, with jax.grad too.

exit status: 0 every case passed, 1 a case failed or errored (or a case file did not import),
2 usage error (bad option, missing path, empty selection), 130 interrupted (Ctrl-C, SIGTERM)."""


class UsageError(Exception):
    """A command-line problem: exit 2 with a one-line reason."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help, and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _timeout(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the time limit cannot be negative")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_case_selection(parser: argparse.ArgumentParser, verb: str | None) -> None:
    """The PATH arguments every case-running subcommand takes, and -k when ``verb`` is given.

    Args:
      parser: the subcommand's parser.
      verb: what the subcommand does to the selected cases ("run", "sweep"); None: no -k.
    """
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="case files or folders (default: cases/)"
    )
    if verb:
        parser.add_argument(
            "-k",
            dest="keywords",
            action="append",
            metavar="TEXT",
            help=f"{verb} only cases whose name or tag contains TEXT (repeatable; any match "
            "selects)",
        )


def add_report_dir(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The --report-dir option (default `DEFAULT_REPORT_DIR`).

    Args:
      parser: the subcommand's parser.
      help_text: what goes there, e.g. "where results.json goes"; the default is appended.
    """
    parser.add_argument(
        "--report-dir",
        default=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=f"{help_text} (default: {DEFAULT_REPORT_DIR})",
    )


def _add_run(sub: argparse._SubParsersAction) -> None:
    from harness.policy import SCHEMES
    from harness.runner import DEFAULT_TIMEOUT

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
    add_case_selection(p, "run")
    p.add_argument(
        "--scheme",
        choices=SCHEMES,
        default=None,
        help="finite-difference scheme for every case (default: each case's own, usually central)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help=(
            "fast mode: check the numerical gradient by its slopes along K seeded random unit "
            "directions through all arguments at once (2K evaluations instead of 2 per entry); "
            "if one disagrees, each argument by its own K directions, and an argument whose "
            "slopes still disagree gets the full per-entry check. Each result states the smallest "
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
    add_report_dir(p, "where results.json goes")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="stop a case that runs longer and report it as an error "
        f"(default {DEFAULT_TIMEOUT:g}; 0 = no limit)",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the error-versus-h report (report.md/.html, sweep.json, plots; see "
        "`gradcheck report --help`); --fast skips it",
    )
    p.add_argument(
        "-n",
        "--workers",
        type=_workers,
        metavar="N",
        help="run on N pytest-xdist workers ('auto': one per CPU); same verdicts and results.json",
    )
    p.set_defaults(handler=cmd_run)


def _workers(text: str) -> str:
    from harness.parallel import workers_arg

    return workers_arg(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="gradcheck",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for register in _registrations():
        register(sub)
    return parser


def _registrations() -> list:
    """Each subcommand's register function (one per module, so features stay in their home)."""
    from harness import gate_cli
    from harness.fuzz import register as register_fuzz
    from harness.report import analysis

    return [_add_run, analysis.register, register_fuzz, gate_cli.register]


def _collect(paths: Sequence[str], keywords: Sequence[str] | None, *, require_cases: bool = True):
    """Collect the cases under `paths` (default cases/) and keep those -k selects.

    Args:
      paths: case files or folders.
      keywords: -k texts.
      require_cases: raise when nothing was selected and no case file failed to import.

    Returns:
      (cases, collection errors).

    Raises:
      UsageError: a path does not exist, or (with `require_cases`) no case was found.
    """
    from harness.cases import collect
    from harness.runner import select

    try:
        cases, errors = collect(paths or ["cases"])
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    chosen = select(cases, keywords)
    if require_cases and not chosen and not errors:
        raise no_cases_error(paths or ["cases"], keywords)
    return chosen, errors


def no_cases_error(paths: Sequence[str], keywords: Sequence[str] | None) -> UsageError:
    """The usage error for a selection without a single case."""
    what = f" matching -k {' '.join(keywords)}" if keywords else ""
    return UsageError(f"no cases found{what} under {' '.join(paths)}")


def cmd_run(args: argparse.Namespace) -> int:
    """`gradcheck run`."""
    from harness.check import format_failure
    from harness.report.files import write_json_atomic
    from harness.report.table import results_table
    from harness.runner import reproduce_command, results_payload, run_cases

    started = time.time()
    command = ["gradcheck", *sys.argv[1:]]
    # Not type=positive_int: main() returns 2 here rather than raising SystemExit from argparse
    # (tests/test_directional.py::test_cli_fast_flag asserts the return value).
    if args.directions is not None and args.directions < 1:
        raise UsageError(f"--directions must be at least 1, got {args.directions}")
    cases, errors = _collect(args.paths, args.keywords)
    overrides: dict = {"scheme": args.scheme} if args.scheme else {}
    if args.fast:
        overrides["mode"] = "fast"
    if args.directions is not None:
        overrides["directions"] = args.directions
    if args.workers:
        from harness.parallel import run_parallel

        if args.fast or args.directions is not None:
            raise UsageError("-n does not combine with --fast/--directions yet; drop one")
        results, errors = run_parallel(
            args.paths or ["cases"], args.workers, args.keywords, args.scheme
        )
    else:
        results = run_cases(cases, timeout=args.timeout or None, **overrides)
    shown = [r for r in results if not r.ok] if args.quiet else results
    if shown:
        print(results_table(shown))
    for err in errors:
        print(f"collection error: {err.describe()}", file=sys.stderr)
    for r in results:
        if not r.ok:
            print("\n" + format_failure(r, reproduce_command(r)), file=sys.stderr)
    payload = results_payload(results, errors, command, started)
    out = write_json_atomic(Path(args.report_dir) / "results.json", payload)
    if args.fast and not args.no_report:
        print("error-versus-h report skipped with --fast (gradcheck report writes it)")
    elif not args.no_report:
        # Sequential on purpose: run alongside the checks in a second process it measured slower
        # on two cores (42 s against 34 s), the checks' BLAS already using both.
        from harness.report.analysis import write_report

        written = write_report(cases, args.report_dir, command, helper_process=True)
        print(f"error-versus-h report in {written['seconds']:.1f}s: {args.report_dir}/report.html")
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
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"gradcheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Reports are written atomically at the end, so the previous ones are still whole.
        print(
            f"gradcheck {args.command}: interrupted; earlier reports left as they were",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a run the way Ctrl-C does: cleanly, without writing half a report."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
