"""A live layer or network bound to plain functions: what check() and case() take.

`BoundCheck` holds fn, reference, the arguments (copies, dtypes kept), which of them are
differentiated and which are data, the hand-written gradient, the second reference for it, and the
object's saved state. `run` checks it and puts the object's state back; `declare` makes it a
case. A layer or network that cannot even be set up (its forward pass raises, a parameter is
missing) becomes an `error` result, or a case whose check says so, never an exception.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.adapters.state import ObjectState
from harness.judge.check import check
from harness.results import ERROR, CheckRecord, CheckResult
from harness.suite.case import Case, case


class SetupError(Exception):
    """The layer or network cannot be checked as given; the message says why."""


@dataclass
class BoundCheck:
    """Everything check() needs for one layer or network."""

    fn: Callable[..., Any]
    reference: Callable[..., Any]
    args: tuple[np.ndarray, ...]
    wrt: tuple[str, ...]
    data: tuple[str, ...]
    grad: Callable[..., Any]
    backprop_reference: Callable[..., Any] | None
    state: ObjectState
    numerical_gradient: Callable[..., Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """The keyword arguments of check() and case() this binding sets."""
        options: dict[str, Any] = {
            "wrt": self.wrt,
            "data": self.data or None,
            "grad": self.grad,
            "backprop_reference": self.backprop_reference,
        }
        if self.numerical_gradient is not None:
            options["numerical_gradient"] = self.numerical_gradient
        return options

    def run(self, name: str, **options: Any) -> CheckResult:
        """check() this binding, then put the object's state back as it was handed in."""
        try:
            return check(
                self.fn, self.reference, *self.args, name=name, **self.options(), **options
            )
        finally:
            self.state.restore()

    def declare(self, name: str, **options: Any) -> Case:
        """Declare this binding as a case (registered when inside a case file). It is left out of
        the error-versus-h report unless ``sweep=True``: each would cost a compile of its Taylor
        terms and some 10^4 evaluations, for curves like the seed cases' own."""
        options.setdefault("sweep", False)
        return case(
            name, fn=self.fn, reference=self.reference, args=self.args, **self.options(), **options
        )


def named(fn: Callable[..., Any], names: Sequence[str]) -> Callable[..., Any]:
    """fn with a signature naming its positional arguments, so records say W1, not arg0."""
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    return fn


def unique_names(names: Sequence[str], what: str) -> list[str]:
    """The names, checked to be distinct.

    Raises:
      SetupError: two arguments would share a name.
    """
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise SetupError(f"{what} would have two arguments named {seen[0]!r}: {', '.join(names)}")
    return list(names)


def copied(value: Any, what: str) -> np.ndarray:
    """A copy of an input or parameter, dtype kept (a float32 array stays float32).

    Raises:
      SetupError: the value is not an array or a number.
    """
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, int | float | np.number | list | tuple) and not isinstance(value, bool):
        return np.array(value)
    raise SetupError(f"{what} is a {type(value).__name__}, not a NumPy array")


def hashable(value: Any) -> bool:
    """Whether value can key a cache (a layer's configuration may hold a list)."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def setup_failure(name: str, problem: SetupError) -> CheckResult:
    """The result of a check that could not be set up."""
    record = CheckRecord(case=name, check="input", arg=None, verdict=ERROR, message=str(problem))
    return CheckResult(name, (record,))


def broken_case(name: str, problem: SetupError, **options: Any) -> Case:
    """A case whose check reports why its layer or network could not be set up (an ``error``
    verdict in the run, instead of a case file that does not import)."""

    def cannot_set_up(_: np.ndarray) -> float:
        raise problem

    return case(
        name, fn=cannot_set_up, reference=cannot_set_up, args=(np.zeros(1),), wrt=0, **options
    )
