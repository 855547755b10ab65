"""Running collected cases under a per-case time limit.

`Case.run` checks one case; `run_limited` does that under the time limit and times it;
`run_suite` runs a list of cases that way, in order.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from harness.results import ERROR, CheckRecord, CheckResult
from harness.suite.case import Case

DEFAULT_TIMEOUT = 600.0  # seconds per case; the 39,760-parameter network takes ~20 s


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time limit.

    A BaseException, so that a case's own ``except Exception`` cannot swallow it; check()'s
    ``finally`` still restores the case's arrays on the way out.
    """


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in the block after ``seconds`` (no limit for None/0, or off the main
    thread, where signals cannot be delivered).

    Args:
      seconds: the limit.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_limited(
    case: Case, timeout: float | None = DEFAULT_TIMEOUT, **overrides: Any
) -> CheckResult:
    """Check one case under a time limit.

    Args:
      case: the case.
      timeout: seconds before the case is stopped and reported as an error (None: no limit).
      **overrides: keyword arguments for `check` that replace the case's own.

    Returns:
      Its CheckResult, with its wall time.
    """
    start = time.perf_counter()
    try:
        with time_limit(timeout):
            result = case.run(**overrides)
    except CaseTimeout:
        message = (
            f"stopped after {timeout:g} s (the per-case time limit): the case hangs or is slower "
            "than the limit; raise it with --timeout or check a smaller instance"
        )
        record = CheckRecord(
            case=case.name, check="timeout", arg=None, verdict=ERROR, message=message
        )
        result = CheckResult(case.name, (record,), source=case.source)
    return CheckResult(result.name, result.checks, time.perf_counter() - start, case.source)


def run_suite(
    cases: Sequence[Case], timeout: float | None = DEFAULT_TIMEOUT, **overrides: Any
) -> list[CheckResult]:
    """Check every case in order, each under the time limit.

    Args:
      cases: the cases.
      timeout: per-case time limit in seconds (None: no limit).
      **overrides: keyword arguments for `check` that replace each case's own.

    Returns:
      One CheckResult per case, with its wall time.
    """
    return [run_limited(c, timeout, **overrides) for c in cases]
