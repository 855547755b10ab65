"""Finite-difference routines with a step of their own, such as the book's
``numerical_gradient(f, x)`` (central differences, h = 1e-4 for every entry, no step scaling).

check() hands its ``numerical_gradient=`` routine a step and a scheme; a routine that ignores them
would be judged at a step it never used. `fixed_step` wraps it so check() knows the step it really
uses, and judges it there: its tolerance, second opinions and refinements are all computed at that
step and scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.judge.check import RoutineStep
from harness.judge.tolerance import SCHEMES

# The book's numerical_gradient: h = 1e-4, central, the same step for every entry.
BOOK_STEP = RoutineStep(1e-4, "central", False)


def routine_step(h: float, scheme: str, scaled: bool) -> RoutineStep:
    """A validated `RoutineStep`.

    Raises:
      ValueError: h is not a positive finite number, or the scheme is unknown.
    """
    if isinstance(h, bool) or not isinstance(h, int | float) or not (np.isfinite(h) and h > 0):
        raise ValueError(f"a routine's step must be a positive finite number, got {h!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    return RoutineStep(float(h), scheme, bool(scaled))


class FixedStepRoutine:
    """``routine(f, x)`` with check()'s routine signature and the step it really uses."""

    def __init__(self, routine: Callable[..., Any], step: RoutineStep) -> None:
        self.routine = routine
        self.gradcheck_step = step
        self.__name__ = getattr(routine, "__name__", "numerical_gradient")

    def __call__(self, f: Callable[[np.ndarray], Any], x: np.ndarray, **_: Any) -> np.ndarray:
        """The routine's gradient of f at x (check()'s own h and scheme are not passed on)."""
        return np.asarray(self.routine(f, x))


def fixed_step(
    routine: Callable[..., Any],
    h: float = 1e-4,
    scheme: str = "central",
    scaled: bool = False,
) -> FixedStepRoutine:
    """Wrap a ``numerical_gradient(f, x)`` that has its own step, for check(numerical_gradient=).

    Args:
      routine: called as routine(f, x); returns the gradient of f at x, x's shape.
      h: the step it uses (the book's: 1e-4).
      scheme: the difference it takes: "central" (the book's), "forward" or "backward".
      scaled: whether entry i's step is h * max(1, |x_i|) (False for the book: h itself).

    Returns:
      A routine check() calls as routine(f, x, h=..., scheme=...) and judges at (h, scheme).
    """
    return FixedStepRoutine(routine, routine_step(h, scheme, scaled))
