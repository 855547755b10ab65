"""The Case model: one gradient check declared in a case file with ``case(...)``.

Declaring is recording: while `recording()` is active (collect.py imports a case file inside it),
every ``case(...)`` call is appended to its list, in order.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.judge.check import check
from harness.judge.inputs import ArgumentSpec
from harness.judge.tolerance import Tolerance
from harness.results import CheckResult

_collecting: list[Case] | None = None
# case() called from harness's own helpers (layer_case, net_case) names the caller's line.
_PACKAGE = str(Path(__file__).resolve().parents[1]) + os.sep


@dataclass(frozen=True)
class Case:
    """One gradient check, declared in a case file.

    Attributes mirror `check`'s arguments; ``source`` is ``file:line`` of the declaration;
    ``module`` is the name of the module whose top-level code declared it (collection keeps a case
    only in the file that declares it, not in files that import that one).
    """

    name: str
    fn: Callable[..., Any]
    reference: Callable[..., Any]
    args: tuple[Any, ...]
    wrt: ArgumentSpec = None
    grad: Callable[..., Any] | None = None
    tol: Tolerance = None
    tags: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    scheme: str = "central"
    h: float | None = None
    batched: bool = False
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    data: ArgumentSpec = None
    backprop_reference: Callable[..., Any] | None = None
    numerical_gradient: Callable[..., Any] | None = None
    module: str = ""
    sweep: bool = True

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
        for option in ("data", "backprop_reference", "numerical_gradient"):
            if getattr(self, option) is not None:
                kwargs[option] = getattr(self, option)
        kwargs.update(overrides)
        result = check(self.fn, self.reference, *self.args, **kwargs)
        return CheckResult(result.name, result.checks, result.seconds, self.source)


def case(
    name: str,
    *,
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    args: Sequence[Any] = (),
    wrt: ArgumentSpec = None,
    grad: Callable[..., Any] | None = None,
    tol: Tolerance = None,
    tags: Iterable[str] = (),
    checks: Sequence[str] | None = None,
    scheme: str = "central",
    h: float | None = None,
    batched: bool = False,
    data: ArgumentSpec = None,
    backprop_reference: Callable[..., Any] | None = None,
    numerical_gradient: Callable[..., Any] | None = None,
    sweep: bool = True,
) -> Case:
    """Declare a case (in a case file) or build one (anywhere else).

    Args:
      name: unique name, e.g. "loss/cee/seed-y-class-2".
      fn: the NumPy function under test; returns a scalar.
      reference: its independent JAX twin.
      args: concrete arguments for both, as a tuple (or list): ``args=(x,)`` for one.
      wrt: the arguments to differentiate, by position or by fn's parameter name (default: every
        float array not in ``data``).
      grad: optional hand-written gradient returning one array per wrt argument.
      tol: absolute tolerance override, for every check or per check kind.
      tags: free-form labels, usable with pytest -m / gradcheck run -k.
      checks: subset of "value", "numerical", "analytic" to run.
      scheme: finite-difference scheme.
      h: unscaled step (default from the policy).
      batched: fn accepts each differentiated argument with a leading axis of copies and returns
        one value per copy, so the full numerical check evaluates blocks of perturbations at once.
      data: arguments that are data (inputs, targets), by position or name: never differentiated
        by default.
      backprop_reference: a second reference for the analytic check (see `check`).
      numerical_gradient: the finite-difference routine under test (see `check`).
      sweep: include the case in the error-versus-h report (gradcheck report).

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
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    made = Case(
        name=name,
        fn=fn,
        reference=reference,
        args=tuple(args),
        wrt=_as_tuple(wrt),
        grad=grad,
        tol=tol,
        tags=tuple(tags),
        checks=None if checks is None else tuple(checks),
        scheme=scheme,
        h=h,
        batched=bool(batched),
        source=f"{frame.f_code.co_filename}:{frame.f_lineno}",
        data=_as_tuple(data),
        backprop_reference=backprop_reference,
        numerical_gradient=numerical_gradient,
        module=_declaring_module(frame),
        sweep=bool(sweep),
    )
    if _collecting is not None:
        _collecting.append(made)
    return made


def _as_tuple(spec: ArgumentSpec) -> ArgumentSpec:
    """wrt/data as a tuple: one position or name becomes a 1-tuple; anything that is not a
    sequence is kept as given, for check() to reject with a message naming the case."""
    if isinstance(spec, int | str) and not isinstance(spec, bool):
        return (spec,)
    return tuple(spec) if isinstance(spec, list | tuple) else spec


def _declaring_module(frame: Any) -> str:
    """The module whose top-level code runs the declaration: the innermost ``<module>`` frame,
    so a case declared by a helper function called from a case file belongs to that file."""
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


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
