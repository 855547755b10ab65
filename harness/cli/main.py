"""The `gradcheck` command: the hub that lists the subcommands.

Each subcommand lives in its own module with a ``register(subparsers)`` function; they share
harness/cli/common.py and import nothing from this module.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from harness.cli import fuzz, gate, init, report, run
from harness.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    STATE,
    Parser,
    RunState,
    UsageError,
    on_signal,
)
from harness.files import OutputError

# The subcommands, in the order `gradcheck --help` lists them.
SUBCOMMANDS = (init, run, report, fuzz, gate)

DESCRIPTION = """\
gradcheck proves from-scratch NumPy gradients right or wrong: every case's function is compared
with an independent JAX reference (value), its finite-difference gradient with jax.grad (float64),
and its hand-written gradient, if it has one, with jax.grad too.

exit status: 0 every case passed, 1 a case failed or errored (or a case file did not import),
2 usage error (bad option, missing path, empty selection), 130 interrupted (Ctrl-C, SIGTERM)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="gradcheck",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print gradcheck's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def version() -> str:
    """The installed distribution's version (importlib.metadata), else harness.__version__."""
    from importlib import metadata

    try:
        return metadata.version("gradcheck")
    except metadata.PackageNotFoundError:  # a checkout on sys.path, not installed
        from harness import __version__

        return __version__


class _Version(argparse.Action):
    """``--version``: looked up only when asked for, so building the parser stays fast."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"gradcheck {version()}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gradcheck` console script.

    Args:
      argv: arguments (default sys.argv[1:]).

    Returns:
      The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    STATE.reset()
    # SIGTERM stops a run the way Ctrl-C does: cleanly, without writing half a report.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return args.handler(args)
    except (UsageError, OutputError) as exc:
        print(f"gradcheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"gradcheck {args.command}: {_interrupted(STATE)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupted(state: RunState) -> str:
    """What an interrupt left behind: every output of the run is written, or none is."""
    if state.published:
        return (
            f"interrupted after this run's outputs were written ({len(state.published)} "
            f"file(s) in {state.published[0].parent})"
        )
    return "interrupted; earlier reports left as they were"


if __name__ == "__main__":
    sys.exit(main())
