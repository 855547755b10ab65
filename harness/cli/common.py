"""What every `gradcheck` subcommand shares: exit codes, the usage error, the parser class, option
types and the case-selection options.

The subcommand modules (run.py, report.py, gate.py, fuzz.py) import this module; it imports none
of them, and nothing outside cli/ imports cli/. Building the parser must not import JAX (it takes
seconds and `--help` should not wait for it), so a subcommand imports its heavy modules inside its
handler, not at the top.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from harness.files import OutputKind
    from harness.suite.run import CaseInfo, CaseRunner

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_REPORT_DIR = "reports/latest"


class RunState:
    """What `main` needs to know when a run is interrupted, and the interrupt itself.

    A Ctrl-C can arrive where Python code swallows KeyboardInterrupt (JAX's import-time
    callbacks, a case's ``except BaseException``); `on_signal` records it first, so
    `stop_if_interrupted` still stops the run before it writes anything. While outputs are being
    published the signal is held back until every file is in place, so a run's outputs are all
    new or all old, and the message says which.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the previous run (tests call `main` many times in one process)."""
        self.interrupted = False  # a SIGINT/SIGTERM arrived
        self.deferring = False  # inside publish_outputs: hold the interrupt back
        self.published: list[Path] = []  # this run's outputs, once written


STATE = RunState()


def on_signal(signum: int, frame: object) -> None:
    """The SIGINT and SIGTERM handler `main` installs: stop the run cleanly, without writing."""
    STATE.interrupted = True
    if not STATE.deferring:
        raise KeyboardInterrupt


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt if an interrupt arrived, even one that something swallowed.

    Raises:
      KeyboardInterrupt: the run was interrupted.
    """
    if STATE.interrupted:
        raise KeyboardInterrupt


def publish_outputs(
    folder: str | Path,
    files: dict[str | Path, bytes | str],
    kinds: dict[str | Path, OutputKind] | None = None,
) -> list[Path]:
    """`files.publish`, with interrupts held back until every file is in place.

    Args:
      folder: the report folder.
      files: destination -> content (see `files.publish`).
      kinds: destination -> what an existing file there must be.

    Returns:
      The written paths.

    Raises:
      KeyboardInterrupt: an interrupt arrived before (nothing written) or during (everything
        written) the publishing.
    """
    from harness.files import publish

    stop_if_interrupted()
    STATE.deferring = True
    try:
        paths = publish(folder, files, kinds)
    finally:
        STATE.deferring = False
    STATE.published = paths
    stop_if_interrupted()
    return paths


class UsageError(Exception):
    """A command-line problem: exit 2 with a one-line reason."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help, and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def timeout_seconds(text: str) -> float:
    """argparse type: a time limit in seconds, finite and not negative (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"expected a finite number of seconds, got {text!r} (0 means no limit)"
        )
    if value < 0:
        raise argparse.ArgumentTypeError(f"the time limit cannot be negative, got {text!r}")
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
    runner: CaseRunner,
    paths: Sequence[str],
    keywords: Sequence[str] | None,
    *,
    require_cases: bool = True,
) -> tuple[list[CaseInfo], list[Any]]:
    """Collect the cases under `paths` (default cases/) in the runner's worker and keep those -k
    selects.

    Args:
      runner: the CaseRunner that imports the case files.
      paths: case files or folders.
      keywords: -k texts.
      require_cases: raise when nothing was selected and no case file failed to import.

    Returns:
      (cases, collection errors).

    Raises:
      UsageError: a path does not exist (no PATH and no cases/ folder: say `gradcheck init`),
        or (with `require_cases`) no case was found.
    """
    from harness.suite.collect import select

    if not paths and not Path("cases").exists():  # a fresh install, outside any checkout
        raise UsageError(
            "no cases/ folder here: `gradcheck init` writes a starter case file, or name the "
            "case files or folders to run"
        )
    try:
        cases, errors = runner.collect(paths or ["cases"])
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    stop_if_interrupted()
    chosen = select(cases, keywords)
    if require_cases and not chosen and not errors:
        raise no_cases_error(paths or ["cases"], keywords)
    return chosen, errors


def no_cases_error(paths: Sequence[str], keywords: Sequence[str] | None) -> UsageError:
    """The usage error for a selection without a single case."""
    what = f" matching -k {' '.join(keywords)}" if keywords else ""
    return UsageError(f"no cases found{what} under {' '.join(paths)}")


def check_report_dir(folder: str | Path, report: bool, results: bool = True) -> Path:
    """Check the report folder before any work: exit 2 with one line if it cannot take this run's
    files, or holds a results.json (or report file) that gradcheck did not write.

    Args:
      folder: --report-dir.
      report: the error-versus-h report will be written.
      results: results.json will be written.

    Returns:
      The folder's absolute path (resolved once: a case's os.chdir cannot move it).

    Raises:
      OutputError: see `files.check_output_folder`.
    """
    from harness.files import check_output_folder
    from harness.results import RESULTS_KIND

    kinds = {"results.json": RESULTS_KIND} if results else {}
    if report:
        from harness.sweep.report import REPORT_KINDS

        kinds.update(REPORT_KINDS)
    return check_output_folder(folder, kinds)
