"""What every `gradcheck` subcommand shares: exit codes, the usage error, the parser class, option
types and the case-selection options.

The subcommand modules (run.py, report.py, gate.py, fuzz.py) import this module; it imports none
of them, and nothing outside cli/ imports cli/. Building the parser must not import JAX (it takes
seconds and `--help` should not wait for it), so a subcommand imports its heavy modules inside its
handler, not at the top.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_REPORT_DIR = "reports/latest"


class UsageError(Exception):
    """A command-line problem: exit 2 with a one-line reason."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help, and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def timeout_seconds(text: str) -> float:
    """argparse type: a time limit in seconds, not negative."""
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


def collect_cases(
    paths: Sequence[str], keywords: Sequence[str] | None, *, require_cases: bool = True
):
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
    from harness.suite.collect import collect, select

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
