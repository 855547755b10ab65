"""`gradcheck run -n N`: the cases run on pytest-xdist workers through the pytest plugin.

There is no process pool here: pytest collects the case files with `harness.pytest_plugin`,
xdist spreads the items over N workers (or remote machines, with xdist's own options), and the
plugin merges the workers' results in collection order. This module only builds the pytest
command line and hands back what the plugin merged, so a parallel run prints and writes exactly
what a serial one does.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import Any

from harness.cli.common import UsageError, no_cases_error
from harness.results import CheckResult, CollectionError

# pytest's exit codes that still mean "the cases ran" (1: some failed; 5: none collected).
_RAN = (0, 1, 5)


def workers_arg(text: str) -> str:
    """argparse type for -n: a positive integer or "auto" (one worker per CPU)."""
    import argparse

    if text == "auto" or (text.isdigit() and int(text) > 0):
        return text
    raise argparse.ArgumentTypeError(
        f"expected a positive number of workers or 'auto', got {text!r}"
    )


def pytest_args(
    paths: Sequence[str],
    workers: str,
    keywords: Sequence[str] | None = None,
    scheme: str | None = None,
    timeout: float | None = None,
) -> list[str]:
    """The pytest command line that runs these cases on `workers` xdist workers.

    Args:
      paths: case files or folders.
      workers: the -n value.
      keywords: gradcheck run -k texts.
      scheme: a forced finite-difference scheme.
      timeout: the per-case time limit in seconds (None: no limit).

    Returns:
      Arguments for ``pytest.main``.
    """
    # "no:gradcheck" first: if the entry point is installed, the module must not be registered
    # twice under two names.
    args = ["-p", "no:gradcheck", "-p", "harness.pytest_plugin", "-p", "no:cacheprovider"]
    args += ["-p", "no:benchmark"]  # pytest-benchmark, if installed, warns under xdist
    args += ["-n", workers, "-q", "--tb=no", "--continue-on-collection-errors", "-p", "no:warnings"]
    for path in paths:
        args += ["--gradcheck-cases", str(path)]
    for keyword in keywords or ():
        args += ["--gradcheck-select", keyword]
    if scheme:
        args += ["--gradcheck-scheme", scheme]
    # Always: each case is then checked in a worker process of its xdist worker, killed at the
    # limit (0: no limit), exactly as the serial run checks it.
    args += ["--gradcheck-timeout", repr(float(timeout or 0))]
    return args + [str(p) for p in paths]


class _Collector:
    """A pytest plugin object that shows each case as its report reaches the controller, and
    picks up the merged results when pytest shuts down."""

    def __init__(self, display: Any = None) -> None:
        self.results: list[CheckResult] = []
        self.errors: list[CollectionError] = []
        self.display = display
        self.config: Any = None

    def pytest_configure(self, config: Any) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: Any) -> None:
        from harness.pytest_plugin import (
            failure_line,
            is_duplicate_report,
            missing_result,
            reported_result,
        )

        if self.display is None or is_duplicate_report(report):
            return  # a duplicate case is a collection error, listed after the run
        # Every phase's report carries the item's user_properties: the call's is the case's.
        carried = reported_result(report)
        if carried is not None and report.when == "call":
            self.display.result(CheckResult.from_dict(*carried))
        elif carried is None and report.failed:  # the case ended its worker, or it crashed
            self.display.result(missing_result(self.config, report.nodeid, failure_line(report)))

    def pytest_unconfigure(self, config: Any) -> None:
        from harness.pytest_plugin import session_results

        self.results, self.errors = session_results(config)


def run_parallel(
    paths: Sequence[str],
    workers: str,
    keywords: Sequence[str] | None = None,
    scheme: str | None = None,
    timeout: float | None = None,
    display: Any = None,
) -> tuple[list[CheckResult], list[CollectionError]]:
    """Check the cases under `paths` on pytest-xdist workers.

    A case whose worker crashed has an ``error`` result (the plugin makes one for every
    collected case that reported none), so the run never counts fewer cases than it collected.

    Args:
      paths: case files or folders.
      workers: number of workers, or "auto".
      keywords: gradcheck run -k texts.
      scheme: a forced finite-difference scheme.
      timeout: the per-case time limit in seconds (None: no limit); each xdist worker checks
        its cases in a worker process of its own (harness/suite/worker.py) that is killed at the
        limit, as in the serial run, so no case can defeat it.
      display: a `harness.cli.progress.Progress` told of each case as it ends, or None.

    Returns:
      (results in collection order, collection errors), as `run_suite` and `collect` give them.

    Raises:
      UsageError: pytest or pytest-xdist is not installed, nothing was selected (the caller has
        checked that the paths exist), or pytest could not run.
    """
    try:
        import pytest
        import xdist  # noqa: F401  (provides pytest's -n)
    except ImportError as exc:
        raise UsageError(
            f"-n needs pytest and pytest-xdist ({exc}); install them: pip install pytest "
            'pytest-xdist (in a checkout: pip install -e ".[test]")'
        ) from None
    collector = _Collector(display)
    argv = pytest_args(paths, workers, keywords, scheme, timeout)
    # pytest's own terminal output (dots, "bringing up nodes", its summary) is kept back: the
    # progress and the table are gradcheck's, as in a serial run. It is shown if pytest failed.
    own = io.StringIO()
    with contextlib.redirect_stdout(own):
        code = int(pytest.main(argv, plugins=[collector]))
    if code not in _RAN:
        sys.stderr.write(own.getvalue())
        raise UsageError(f"pytest-xdist run failed (pytest exit status {code}); see above")
    if not collector.results and not collector.errors:
        # Reachable though the caller found cases: pytest skips test modules and conftest.py.
        raise no_cases_error(paths, keywords)
    return collector.results, collector.errors
