"""Running a fuzz property: hypothesis drives the function and network properties, and this
keeps score.

Each property runs under `run_property`, which counts what it saw (examples tried, passed, kinks,
rejected, failed, the worst error relative to its tolerance) and, on a failure, keeps the example
hypothesis shrank it to, with its formula and the failure report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from harness.results import INCONCLUSIVE, KINK, PASS, CheckResult


@dataclass
class Tally:
    """What one property run saw. Counts stop at the first failure (shrinking is not counted)."""

    kind: str
    tried: int = 0
    passed: int = 0
    kinks: int = 0
    rejected: int = 0
    # Correct code at a point where the check could not have caught a sizeable error (a gradient
    # of 1e-277, float32 at a tiny gradient): neither a pass nor a failure of the property.
    inconclusive: int = 0
    failed: int = 0
    worst_ratio: float = 0.0  # largest error / tolerance of any passing check
    worst_case: str = ""
    seconds: float = 0.0
    failure: str | None = None  # report of the shrunk failing example
    shrunk: Any = None  # the shrunk failing example itself
    error: str | None = None  # an exception outside the property (hypothesis gave up, ...)
    examples: int = 0  # the examples asked for (for the reproduce command)


def _worst_ratio(result: CheckResult) -> float:
    """The largest error / tolerance of the passing checks' worst entries (0.0 if none has one).

    Each worst entry's own error is divided by its own check's tolerance (max_abs_error may belong
    to another entry with a larger tolerance); a kink's entries are judged by the bracket, not by
    tolerance, so only PASS checks count.
    """
    largest = 0.0
    for record in result.checks:
        worst = record.worst
        if record.verdict != PASS or worst is None or worst.got is None or not record.tolerance:
            continue
        ratio = abs(worst.got - worst.expected) / record.tolerance
        if ratio > largest:
            largest = ratio
    return largest


def _describe(example: Any) -> str:
    return example.describe() if hasattr(example, "describe") else repr(example)


def run_property(
    kind: str,
    strategy: st.SearchStrategy[Any],
    check_example: Callable[[Any], CheckResult],
    run_settings: settings,
    seed: int | None = None,
) -> Tally:
    """Run one property: every drawn example is checked; rejections are neither passes nor fails.

    Args:
      kind: a label for the summary ("functions", "networks").
      strategy: draws examples.
      check_example: example -> CheckResult, raising properties.Rejected outside the domain.
      run_settings: hypothesis settings (max_examples, derandomize, ...).
      seed: hypothesis seed; the same seed gives the same examples.

    Returns:
      The Tally; ``failure`` holds the shrunk example's report when the property failed.
    """
    from harness.fuzz.properties import Rejected
    from harness.judge.check import format_failure

    tally = Tally(kind)

    def prop(example: Any) -> None:
        counting = not tally.failed
        tally.tried += counting
        try:
            result = check_example(example)
        except Rejected:
            tally.rejected += counting
            reject()
        if result.verdict == INCONCLUSIVE:
            tally.inconclusive += counting
            return
        if result.ok:
            if counting:
                tally.passed += 1
                tally.kinks += result.verdict == KINK
                ratio = _worst_ratio(result)
                if ratio > tally.worst_ratio:
                    tally.worst_ratio, tally.worst_case = ratio, result.name
            return
        tally.failed = 1
        # Hypothesis replays the shrunk example last, so the last failure kept is the smallest.
        tally.shrunk = example
        tally.failure = f"{_describe(example)}\n{format_failure(result)}"
        raise AssertionError(tally.failure)

    test = settings(run_settings)(given(strategy)(prop))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    started = time.perf_counter()
    try:
        test()
    except Exception as exc:
        if tally.failure is None:  # hypothesis gave up (Unsatisfiable) or the harness broke
            tally.failed = 1
            tally.error = f"{type(exc).__name__}: {exc}"
    tally.seconds = time.perf_counter() - started
    return tally


def strategy_and_check(kind: str) -> tuple[st.SearchStrategy[Any], Callable[[Any], CheckResult]]:
    from harness.fuzz import function_examples, network_configs
    from harness.fuzz.properties import check_function_example, check_network

    if kind == "functions":
        return function_examples(), check_function_example
    return network_configs(), check_network


def summary_table(tallies: list[Tally]) -> str:
    """The summary: one row per property."""
    from tabulate import tabulate

    rows = [
        [
            t.kind,
            t.tried,
            t.passed,
            t.kinks,
            t.rejected,
            t.inconclusive,
            t.failed,
            f"{t.worst_ratio:.3g}",
            f"{t.tried / t.seconds:.2f}" if t.seconds else "-",
        ]
        for t in tallies
    ]
    headers = ["property", "tried", "passed", "kinks", "rejected", "inconclusive", "failed"]
    headers += ["worst error/tolerance", "examples/s"]
    return tabulate(rows, headers=headers)
