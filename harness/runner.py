"""Running collected cases and turning the results into the results.json payload.

Deterministic content (verdicts, errors, tolerances) and run-dependent content (timings,
timestamps) live in separate blocks, so the same command twice gives the same ``results`` block.
"""

from __future__ import annotations

import contextlib
import platform
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from harness.cases import Case, CollectionError, relative_path, split_source
from harness.types import ERROR, VERDICTS, CheckRecord, CheckResult

RESULTS_FORMAT = "gradcheck-results"
RESULTS_VERSION = 1
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


def select(cases: Sequence[Case], keywords: Sequence[str] | None) -> list[Case]:
    """Cases whose name or tags contain any of the keywords (case-insensitive); all if none.

    Args:
      cases: collected cases.
      keywords: substrings.

    Returns:
      The selected cases, in order.
    """
    if not keywords:
        return list(cases)
    lowered = [k.lower() for k in keywords]
    return [
        c
        for c in cases
        if any(k in c.name.lower() or any(k in t.lower() for t in c.tags) for k in lowered)
    ]


def run_case(case: Case, timeout: float | None = DEFAULT_TIMEOUT, **overrides: Any) -> CheckResult:
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


def run_cases(
    cases: Sequence[Case],
    on_result: Callable[[CheckResult], None] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    **overrides: Any,
) -> list[CheckResult]:
    """Check every case in order.

    Args:
      cases: the cases.
      on_result: called with each result as it completes (progress output).
      timeout: per-case time limit in seconds (None: no limit).
      **overrides: keyword arguments for `check` that replace each case's own.

    Returns:
      One CheckResult per case, with its wall time.
    """
    results = []
    for c in cases:
        result = run_case(c, timeout, **overrides)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def reproduce_command(result: CheckResult) -> str:
    """The command that reruns just this case."""
    path = relative_path(split_source(result.source)[0] if result.source else "cases/")
    return f"gradcheck run {path} -k '{result.name}'"


def environment() -> dict[str, str]:
    """Versions that the numbers depend on."""
    import jax

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "platform": platform.platform(),
    }


def summary(
    results: Sequence[CheckResult], errors: Sequence[CollectionError] = ()
) -> dict[str, int]:
    """Counts of cases per verdict, plus collection errors."""
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        counts[r.verdict] += 1
    counts["cases"] = len(results)
    counts["collection_errors"] = len(errors)
    return counts


def results_payload(
    results: Sequence[CheckResult],
    errors: Sequence[CollectionError] = (),
    command: Sequence[str] = (),
    started: float | None = None,
    versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The results.json document.

    Args:
      results: case results.
      errors: collection errors.
      command: the argv that produced them.
      started: time.time() at the start of the run.
      versions: `environment()`, if already computed.

    Returns:
      A JSON-ready dict: ``results``, ``collection_errors``, ``summary`` and ``environment`` are
      deterministic; ``timings`` holds everything that changes from run to run.
    """
    return {
        "format": RESULTS_FORMAT,
        "version": RESULTS_VERSION,
        "command": list(command),
        "environment": environment() if versions is None else versions,
        "summary": summary(results, errors),
        "results": [r.to_dict() for r in results],
        "collection_errors": [
            {"path": e.path, "line": e.line, "message": e.message} for e in errors
        ],
        "timings": {
            "started": datetime.fromtimestamp(started or time.time(), UTC).isoformat(),
            "total_seconds": round(sum(r.seconds for r in results), 6),
            "cases": {r.name: round(r.seconds, 6) for r in results},
        },
    }
