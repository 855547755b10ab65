"""`gradcheck fuzz`: generated functions and networks against JAX (the properties are in
harness/fuzz/, the score keeping in harness/fuzz/tally.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from harness.cli.common import EXIT_FAILED, EXIT_OK, positive_int

# The properties `--kind` chooses from (harness.fuzz.tally.KINDS; not imported here, since that
# imports hypothesis and `gradcheck --help` should not).
KINDS = ("functions", "networks")


def cmd_fuzz(args: argparse.Namespace) -> int:
    """`gradcheck fuzz`."""
    from hypothesis import Verbosity, settings

    from harness.cli.progress import open_progress
    from harness.fuzz.profiles import THOROUGH, register_profiles
    from harness.fuzz.tally import run_property, strategy_and_check, summary_table

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
        strategy, check_example = strategy_and_check(kind)
        with open_progress(count, args.quiet) as display:
            display.started(kind)
            watched = _watched(check_example, display, kind)
            tally = run_property(kind, strategy, watched, run_settings, seed=args.seed)
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


def _watched(check_example: Callable[[Any], Any], display: Any, kind: str) -> Callable[[Any], Any]:
    """``check_example`` that also counts each example on the display (a rejected one, outside
    the functions' domain, counts as neither passed nor failed)."""
    from harness.results import INCONCLUSIVE

    def watched(example: Any) -> Any:
        try:
            result = check_example(example)
        except BaseException:
            display.advance(None, kind)
            raise
        display.advance(result.ok or result.verdict == INCONCLUSIVE, kind)
        return result

    return watched


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gradcheck fuzz` to the command's subparsers."""
    p = sub.add_parser(
        "fuzz",
        help="check thousands of generated functions and networks against JAX",
        description=(
            "Draw random functions (expression trees over +, -, *, /, powers, sin, cos, tanh, exp, "
            "log, sqrt, sigmoid, softplus, sum, mean, dot, matmul, softmax, logsumexp, norm) and "
            "random networks (1-3 hidden layers, widths 1-64 or 784-50-10, batch 1-32, "
            "sigmoid/tanh/relu, SSE or cross-entropy, float64/float32) with hypothesis; check each "
            "one's value and numerical gradient (and a network's backprop) against JAX. Prints a "
            "summary (tried, passed, kinks, rejected, inconclusive, failed, worst error/tolerance, "
            "examples/s) "
            "on stdout, progress on stderr, "
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
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr (by default: live on a terminal, a count at every tenth of "
        "the examples otherwise)",
    )
    p.set_defaults(handler=cmd_fuzz)
