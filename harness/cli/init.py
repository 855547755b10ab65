"""`gradcheck init`: write a starter case file, so a fresh install has something to run.

The starter checks a small NumPy loss of its own (a linear model's mean squared error): its
value against a jax.numpy twin, its finite differences and its hand-written gradient against
jax.grad of that twin. It needs nothing but gradcheck, NumPy and JAX, and passes as written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import EXIT_OK, UsageError

DEFAULT_PATH = "cases/test_example.py"
STARTER_NAME = "example/linear-mse"

DESCRIPTION = f"""\
Write a starter case file to PATH (default: {DEFAULT_PATH}; a folder gets test_example.py): one
case for a small NumPy loss of its own, with a hand-written gradient and an independent JAX
reference, commented line by line. `gradcheck run` checks it; edit it to check your own code.
An existing file is never overwritten.

exit status: 0 written, 2 the file exists or cannot be a case file."""

STARTER = '''\
"""A starter case file, written by `gradcheck init`.

`gradcheck run` imports every .py file under cases/ and checks each case(...) it declares;
`gradcheck run __PATH__` checks this file alone. Files named test_*.py are pytest test
modules too: `python -m pytest cases/` runs the same cases as test items.

Each case is checked three ways: fn's value against the reference's (value), fn's
finite-difference gradient against jax.grad of the reference in float64 (numerical), and the
hand-written gradient against jax.grad too (analytic).
"""

import jax.numpy as jnp
import numpy as np

from harness import case

# The code under test: plain NumPy. For your own project, import it instead, e.g.
#     from mymodel import loss, loss_gradient
# (the folder holding pyproject.toml, or else the one holding cases/, is on sys.path while
# this file is imported).


def loss(W, x, t):
    """Half the mean squared error of the linear model x @ W against the targets t."""
    residual = x @ W - t
    return 0.5 * np.sum(residual**2) / x.shape[0]


def loss_gradient(W, x, t):
    """The hand-written gradient (backprop): one array per differentiated argument, in order."""
    residual = x @ W - t
    return (x.T @ residual / x.shape[0],)


# The reference: the same math in jax.numpy, written again from the formula rather than
# translated from the NumPy code, so that a bug in one is not copied into the other.
def loss_reference(W, x, t):
    """The loss, independently: mean over the rows of half the squared distance."""
    return jnp.mean(0.5 * jnp.sum((jnp.dot(x, W) - t) ** 2, axis=1))


# A fixed point to check at: a seeded generator, so every run checks the same numbers.
rng = np.random.default_rng(0)
W = rng.normal(size=(3, 2))  # parameters: differentiated
x = rng.normal(size=(4, 3))  # inputs: data
t = rng.normal(size=(4, 2))  # targets: data

case(
    "__NAME__",  # unique: results, reports and the gate key on the name
    fn=loss,  # NumPy, under test
    reference=loss_reference,  # jax.numpy, independent
    args=(W, x, t),
    data=("x", "t"),  # not differentiated; by default every float array argument is
    grad=loss_gradient,  # optional; leave it out to check the value and finite differences only
    tags=("example",),  # -k example selects it
)
'''


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `init` subcommand.

    Args:
      sub: the subparsers of the `gradcheck` parser.
    """
    p = sub.add_parser(
        "init",
        help="write a starter case file (default: cases/test_example.py)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "path", nargs="?", default=DEFAULT_PATH, metavar="PATH", help=f"default: {DEFAULT_PATH}"
    )
    p.set_defaults(handler=cmd_init)


def starter_target(path: str) -> Path:
    """Where `gradcheck init PATH` writes: PATH, or PATH/test_example.py for a folder.

    Args:
      path: the PATH argument.

    Returns:
      The file to write.

    Raises:
      UsageError: the file exists, or would not be collected as a case file.
    """
    from harness.suite.collect import is_case_file

    target = Path(path)
    if target.is_dir() or path.endswith(("/", "\\")):
        target = target / Path(DEFAULT_PATH).name
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; not overwritten (name another PATH)")
    if not is_case_file(target):
        raise UsageError(
            f"{target} would not be collected as a case file: name a .py file that does not "
            "start with _ or ."
        )
    return target


def next_command(target: Path) -> str:
    """The command that runs the starter: plain `gradcheck run` when it is under ./cases."""
    inside_cases = Path("cases").resolve() in target.resolve().parents
    return "gradcheck run" if inside_cases else f"gradcheck run {target}"


def starter_text(target: Path) -> str:
    """The starter case file's text, naming its own path in the docstring."""
    return STARTER.replace("__PATH__", target.as_posix()).replace("__NAME__", STARTER_NAME)


def cmd_init(args: argparse.Namespace) -> int:
    """`gradcheck init`."""
    from harness.files import write_atomic

    target = starter_target(args.path)
    write_atomic(target, starter_text(target))
    print(f"wrote {target}: one case, {STARTER_NAME} (a NumPy loss, its gradient, a JAX twin)")
    print(f"next: {next_command(target)}    (then edit {target} to check your own function)")
    return EXIT_OK
