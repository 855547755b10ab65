"""The judge's own difference quotients: one-sided slopes along an entry, and the central slope
along a direction.

The judge measures fn with this code, never with `harness.scratch` (the code under test): a bug
in the scratch routines must not be able to confirm itself. Both functions perturb x in place,
because fn reads the argument through the case's own array, and put it back bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

# Threads a BLAS call may use while a finite-difference loop runs. A loop evaluates a small
# function thousands of times; on a busy 2-core machine OpenBLAS's default threads made one
# evaluation of the seed network's loss stall for 28-36 ms at the 90th percentile against
# 0.6-3 ms on one thread (docs/fast-mode.md, "BLAS threads").
LOOP_BLAS_THREADS = 1


@contextlib.contextmanager
def loop_blas_threads() -> Iterator[None]:
    """Run the block with BLAS limited to LOOP_BLAS_THREADS; the previous limits come back after.

    Yields:
      Nothing.
    """
    with threadpool_limits(limits=LOOP_BLAS_THREADS, user_api="blas"):
        yield


def evaluate(f: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    """f(x) as a Python float.

    Args:
      f: a function of x returning a scalar.
      x: its argument.

    Returns:
      The value.

    Raises:
      ValueError: f returned more than one number.
    """
    value = f(x)
    if isinstance(value, float):  # Python float and np.float64: the fast path
        return float(value)
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got shape {value.shape}")
    return float(value.reshape(()))


def one_sided_slopes(
    f: Callable[[np.ndarray], Any], x: np.ndarray, index: tuple[int, ...], step: float
) -> tuple[float, float]:
    """Forward and backward slopes of f along one entry.

    Args:
      f: a function of x returning a scalar.
      x: the argument; perturbed in place and restored.
      index: the entry's multi-index.
      step: the entry's step (`tolerance.entry_steps`).

    Returns:
      (forward slope, backward slope).
    """
    index = tuple(int(i) for i in index)
    saved = x.copy()
    original = saved[index]
    try:
        base = evaluate(f, x)
        x[index] = original + step
        f_plus = evaluate(f, x)
        x[index] = original - step
        f_minus = evaluate(f, x)
    finally:
        np.copyto(x, saved)
    return (f_plus - base) / step, (base - f_minus) / step


def central_slope(
    f: Callable[[np.ndarray], Any], x: np.ndarray, direction: np.ndarray, step: float
) -> float:
    """(f(x + s d) - f(x - s d)) / 2s: the slope of f along a direction.

    Args:
      f: a function of x returning a scalar.
      x: the argument; perturbed in place and restored.
      direction: an array of x's shape.
      step: s, the step along it.

    Returns:
      The slope.
    """
    saved = x.copy()
    try:
        x[...] = saved + step * direction
        f_plus = evaluate(f, x)
        x[...] = saved - step * direction
        f_minus = evaluate(f, x)
    finally:
        np.copyto(x, saved)
    return (f_plus - f_minus) / (2.0 * step)
