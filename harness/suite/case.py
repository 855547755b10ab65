"""The Case model: one gradient check declared in a case file with ``case(...)``.

Declaring is recording: while `recording()` is active (collect.py imports a case file inside it),
every ``case(...)`` call is appended to its list, in order.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.judge.check import check
from harness.judge.tolerance import Tolerance
from harness.results import CheckResult

_collecting: list[Case] | None = None


@dataclass(frozen=True)
class Case:
    """One gradient check, declared in a case file.

    Attributes mirror `check`'s arguments; ``source`` is ``file:line`` of the declaration.
    """

    name: str
    fn: Callable[..., Any]
    reference: Callable[..., Any]
    args: tuple[Any, ...]
    wrt: tuple[int, ...] | None = None
    grad: Callable[..., Any] | None = None
    tol: Tolerance = None
    tags: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    scheme: str = "central"
    h: float | None = None
    batched: bool = False
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def run(self, **overrides: Any) -> CheckResult:
        """Check this case.

        Args:
          **overrides: keyword arguments of `check` that replace the case's own (e.g.
            ``mode="fast"``).

        Returns:
          The CheckResult, carrying the case's source.
        """
        kwargs: dict[str, Any] = {
            "wrt": self.wrt,
            "grad": self.grad,
            "scheme": self.scheme,
            "h": self.h,
            "tol": self.tol,
            "checks": self.checks,
            "name": self.name,
        }
        if self.batched:
            kwargs["batched"] = True
        kwargs.update(overrides)
        result = check(self.fn, self.reference, *self.args, **kwargs)
        return CheckResult(result.name, result.checks, result.seconds, self.source)


def case(
    name: str,
    *,
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    args: Sequence[Any] = (),
    wrt: Sequence[int] | int | None = None,
    grad: Callable[..., Any] | None = None,
    tol: Tolerance = None,
    tags: Iterable[str] = (),
    checks: Sequence[str] | None = None,
    scheme: str = "central",
    h: float | None = None,
    batched: bool = False,
) -> Case:
    """Declare a case (in a case file) or build one (anywhere else).

    Args:
      name: unique name, e.g. "loss/cee/seed-y-class-2".
      fn: the NumPy function under test; returns a scalar.
      reference: its independent JAX twin.
      args: concrete arguments for both, as a tuple (or list): ``args=(x,)`` for one.
      wrt: positions of the arguments to differentiate (default: every float array).
      grad: optional hand-written gradient returning one array per wrt argument.
      tol: absolute tolerance override, for every check or per check kind.
      tags: free-form labels, usable with pytest -m / gradcheck run -k.
      checks: subset of "value", "numerical", "analytic" to run.
      scheme: finite-difference scheme.
      h: unscaled step (default from the policy).
      batched: fn accepts each differentiated argument with a leading axis of copies and returns
        one value per copy, so the full numerical check evaluates blocks of perturbations at once.

    Returns:
      The Case; inside a case file it is also registered for collection.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("case() needs a non-empty name")
    if not isinstance(args, list | tuple):
        # tuple(array) would silently split an array into its rows, one argument each.
        raise TypeError(
            f"case {name!r}: args= must be a tuple of arguments, got {type(args).__name__}; "
            "for one argument write args=(x,)"
        )
    if isinstance(wrt, int):
        wrt = (wrt,)
    frame = sys._getframe(1)
    made = Case(
        name=name,
        fn=fn,
        reference=reference,
        args=tuple(args),
        wrt=None if wrt is None else tuple(wrt),
        grad=grad,
        tol=tol,
        tags=tuple(tags),
        checks=None if checks is None else tuple(checks),
        scheme=scheme,
        h=h,
        batched=bool(batched),
        source=f"{frame.f_code.co_filename}:{frame.f_lineno}",
    )
    if _collecting is not None:
        _collecting.append(made)
    return made


@contextlib.contextmanager
def recording() -> Iterator[list[Case]]:
    """Record every ``case(...)`` declared inside the block (nested blocks record their own).

    Yields:
      The list the declarations are appended to, in order.
    """
    global _collecting
    previous, _collecting = _collecting, []
    try:
        yield _collecting
    finally:
        _collecting = previous
