"""`gradcheck fuzz`: hypothesis drives the function and network properties, and keeps score.

Each property runs under `run_property`, which counts what it saw (examples tried, passed, kinks,
rejected, failed, the worst error relative to its tolerance) and, on a failure, keeps the example
hypothesis shrank it to, with its formula and the failure report.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from harness.profiles import THOROUGH, register_profiles
from harness.types import KINK, PASS, CheckResult

KINDS = ("functions", "networks")


@dataclass
class Tally:
    """What one property run saw. Counts stop at the first failure (shrinking is not counted)."""

    kind: str
    tried: int = 0
    passed: int = 0
    kinks: int = 0
    rejected: int = 0
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
    from harness.check import format_failure
    from harness.properties import Rejected

    tally = Tally(kind)

    def prop(example: Any) -> None:
        counting = not tally.failed
        tally.tried += counting
        try:
            result = check_example(example)
        except Rejected:
            tally.rejected += counting
            reject()
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


def _strategy_and_check(kind: str) -> tuple[st.SearchStrategy[Any], Callable[[Any], CheckResult]]:
    from harness.generate import function_examples, network_configs
    from harness.properties import check_function_example, check_network

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
            t.failed,
            f"{t.worst_ratio:.3g}",
            f"{t.tried / t.seconds:.2f}" if t.seconds else "-",
        ]
        for t in tallies
    ]
    headers = ["property", "tried", "passed", "kinks", "rejected", "failed"]
    headers += ["worst error/tolerance", "examples/s"]
    return tabulate(rows, headers=headers)


def cmd_fuzz(args: argparse.Namespace) -> int:
    """`gradcheck fuzz`."""
    from harness.cli import EXIT_FAILED, EXIT_OK

    kinds = KINDS if args.kind == "all" else (args.kind,)
    register_profiles()
    tallies = []
    for index, kind in enumerate(kinds):
        # --examples is the total: split it between the properties.
        count = args.examples // len(kinds) + (index < args.examples % len(kinds))
        run_settings = settings(
            settings.get_profile(THOROUGH),
            max_examples=max(count, 1),
            database=None,  # the seed alone decides the examples
            derandomize=False,
            verbosity=Verbosity.quiet,
        )
        strategy, check_example = _strategy_and_check(kind)
        tally = run_property(kind, strategy, check_example, run_settings, seed=args.seed)
        tally.examples = count
        tallies.append(tally)
    print(summary_table(tallies))
    for t in tallies:
        if t.worst_case:
            print(
                f"\nworst {t.kind} example: {t.worst_case} (error {t.worst_ratio:.3g} x tolerance)"
            )
    bad = [t for t in tallies if t.failure or t.error]
    for t in bad:
        print(f"\n{t.kind} property FAILED; shrunk example:", file=sys.stderr)
        print(t.failure or t.error, file=sys.stderr)
        print(
            f"reproduce: python3 -m harness.cli fuzz --kind {t.kind} --seed {args.seed} "
            f"--examples {t.examples}",
            file=sys.stderr,
        )
    return EXIT_FAILED if bad else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gradcheck fuzz` to the command's subparsers."""
    from harness.cli import positive_int

    p = sub.add_parser(
        "fuzz",
        help="check thousands of generated functions and networks against JAX",
        description=(
            "Draw random functions (expression trees over +, -, *, /, powers, sin, cos, tanh, exp, "
            "log, sqrt, sigmoid, softplus, sum, mean, dot, matmul, softmax, logsumexp, norm) and "
            "random networks (1-3 hidden layers, widths 1-64 or 784-50-10, batch 1-32, "
            "sigmoid/tanh/relu, SSE or cross-entropy, float64/float32) with hypothesis; check each "
            "one's value and numerical gradient (and a network's backprop) against JAX. Prints a "
            "summary (tried, passed, kinks, rejected, failed, worst error/tolerance, examples/s) "
            "and, on a failure, the shrunk example with its formula and a command that reproduces "
            "it.\n\nexit status: 0 no failure, 1 a property failed, 2 usage error."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--examples",
        type=positive_int,
        default=2000,
        metavar="N",
        help="examples in total, split evenly between the properties run (default 2000)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="hypothesis seed: the same seed gives the same examples (default 0)",
    )
    p.add_argument(
        "--kind",
        choices=(*KINDS, "all"),
        default="all",
        help="which property to run (default all)",
    )
    p.set_defaults(handler=cmd_fuzz)
