"""Error versus h: finite differences of each case's NumPy function against jax.grad, over steps.

For every case that has a numerical check, every differentiated argument and both float64 and
float32, the forward, backward and central differences of the case's ``fn`` are measured over a
log-spaced grid of steps h and compared with the exact derivative from the oracle. All three
schemes come from the same evaluations f(x), f(x + s u), f(x - s u), where u is a coordinate
direction e_i (``entries`` mode: the full gradient, as `numerical_gradient` computes it) or a
seeded random unit direction v (``directions`` mode, for arguments too large to perturb entry by
entry: the directional derivative against the oracle's grad f . v). The step along u is
s = h * max(1, |x_i|) (`policy.entry_steps`), or `policy.direction_step` along v.

The error of one point is ``max_k |D_num_k - D_exact_k| / max_k |D_exact_k|`` over the entries
(or directions) k: the worst absolute error relative to the largest exact derivative, the same
measure as `CheckRecord.max_rel_error`. A point where any quotient is not finite (the step left
the function's domain, or fn raised) is kept as ``None`` and left out of every fit.

The curve fits and the error model live in `harness.sweep.model`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import oracle
from harness.judge import tolerance as policy
from harness.judge.differences import loop_blas_threads
from harness.judge.inputs import CaseInputError, argument_names, resolve_wrt
from harness.results import NUMERICAL
from harness.suite.case import Case

# CaseSweep lives with the model (no JAX there, for the plotting process).
from harness.sweep.model import (
    SEED_STEP,
    CaseSweep,
    Curve,
    analyse_curve,
    array_numbers,
)

STEP_MAX, STEP_MIN, POINTS_PER_DECADE = 1e-1, 1e-16, 4
# An argument with more entries than this is swept along random directions: entry by entry would
# cost 2n + 1 evaluations per h.
DIRECTIONAL_ABOVE_ENTRIES = 1000
# A case whose array arguments hold more numbers than this is expensive to evaluate (the
# 784-50-10 network takes ~1.5 ms per loss), so every argument of it is swept along directions.
LARGE_CASE_NUMBERS = 10_000
DIRECTION_COUNT = 2
DIRECTION_SEED = 0
DTYPES = ("float64", "float32")


def step_grid(per_decade: int = POINTS_PER_DECADE) -> np.ndarray:
    """The steps h, from STEP_MAX down to STEP_MIN, log-spaced and containing SEED_STEP exactly.

    Args:
      per_decade: points per decade (at least 4 for the report).

    Returns:
      A float64 array, decreasing.
    """
    top, bottom = round(np.log10(STEP_MAX) * per_decade), round(np.log10(STEP_MIN) * per_decade)
    exponents = np.arange(top, bottom - 1, -1) / per_decade
    grid = 10.0**exponents
    grid[np.isclose(grid, SEED_STEP, rtol=1e-12)] = SEED_STEP
    return grid


def _cast_floats(args: Sequence[Any], dtype: np.dtype) -> list[Any]:
    """Copies of the arguments with every float array cast to dtype (labels keep theirs)."""
    return [
        a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args
    ]


def _evaluate(fn: Callable[..., Any], args: Sequence[Any]) -> float:
    """fn(*args) as a float; nan when fn raises. Call it inside `_quiet`."""
    try:
        return float(np.asarray(fn(*args), dtype=np.float64).reshape(()))
    except Exception:  # a step outside the domain may raise; it is a non-finite point, not a crash
        return float("nan")


@contextmanager
def _quiet() -> Iterator[None]:
    """NumPy floating-point warnings off (log of a negative number is a non-finite point).

    Entered once per sweep of an argument, not per evaluation: the context managers cost more
    than a small case's function."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@functools.lru_cache(maxsize=8)
def unit_directions(shape: tuple[int, ...], k: int, seed: int) -> np.ndarray:
    """k seeded unit vectors of the given shape, uniform on the sphere (read-only, cached).

    Args:
      shape: the argument's shape.
      k: how many directions.
      seed: a seed for ``np.random.default_rng``.

    Returns:
      A float64 array of shape (k, *shape), each slice of unit Euclidean norm.
    """
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((k, int(np.prod(shape, dtype=np.int64))))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v.flags.writeable = False
    return v.reshape((k, *shape))


def _differences(
    fn: Callable[..., Any],
    args: list[Any],
    pos: int,
    steps: np.ndarray,
    directions: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Forward, backward and central quotients for every step row and entry/direction column.

    Args:
      fn: the NumPy function.
      args: arguments at the sweep's dtype (copies; args[pos] is replaced while measuring).
      pos: the argument perturbed.
      steps: (len(grid), k) actual step sizes s.
      directions: None for entries mode, else (k, *shape) unit directions.

    Returns:
      {scheme: (len(grid), k) float64 quotients}.
    """
    with _quiet():
        plus, minus, base = _evaluate_steps(fn, args, pos, steps, directions)
    with np.errstate(all="ignore"):
        return {
            "forward": (plus - base) / steps,
            "backward": (base - minus) / steps,
            "central": (plus - minus) / (2.0 * steps),
        }


def _evaluate_steps(
    fn: Callable[..., Any],
    args: list[Any],
    pos: int,
    steps: np.ndarray,
    directions: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """f(x + s u) and f(x - s u) for every step and entry/direction, and f(x)."""
    x = args[pos]
    work = list(args)
    base = _evaluate(fn, work)
    plus, minus = np.empty(steps.shape), np.empty(steps.shape)
    if directions is None:
        moving = x.copy()
        work[pos] = moving
        flat, original = moving.reshape(-1), x.reshape(-1)
        for row, row_steps in enumerate(steps):
            for k, step in enumerate(row_steps):
                # x + s in float64, rounded to the argument's dtype on assignment, as in
                # scratch.numerical_gradient; the quotient divides by the nominal s.
                flat[k] = float(original[k]) + step
                plus[row, k] = _evaluate(fn, work)
                flat[k] = float(original[k]) - step
                minus[row, k] = _evaluate(fn, work)
                flat[k] = original[k]
    else:
        x64 = x.astype(np.float64)
        for row, row_steps in enumerate(steps):
            for k, step in enumerate(row_steps):
                work[pos] = (x64 + step * directions[k]).astype(x.dtype)
                plus[row, k] = _evaluate(fn, work)
                work[pos] = (x64 - step * directions[k]).astype(x.dtype)
                minus[row, k] = _evaluate(fn, work)
    return plus, minus, base


@dataclass(frozen=True)
class _Target:
    """One swept argument: its unit vectors, exact derivatives and model inputs."""

    pos: int
    name: str
    mode: str
    directions: np.ndarray | None  # (k, *shape) or None for entries
    units: np.ndarray  # (k, *shape) unit vectors, for the Taylor coefficients
    coupling: np.ndarray  # (k,) sum_j |x_j g_j u_kj|: rounding of x + s u in the argument's dtype


def _targets(
    args: list[Any], positions: list[int], names: list[str], grads: list[np.ndarray]
) -> list[_Target]:
    total_numbers = array_numbers(args)
    targets = []
    for offset, (pos, grad) in enumerate(zip(positions, grads, strict=True)):
        x = args[pos]
        big = x.size > DIRECTIONAL_ABOVE_ENTRIES or total_numbers > LARGE_CASE_NUMBERS
        if big:
            directions = unit_directions(x.shape, DIRECTION_COUNT, DIRECTION_SEED + offset)
            units = directions
            coupling = np.abs(directions.reshape(DIRECTION_COUNT, -1)) @ np.abs(
                x.astype(np.float64).reshape(-1) * grad.reshape(-1)
            )
        else:
            directions = None
            units = np.eye(x.size).reshape((x.size, *x.shape))
            coupling = np.abs(x.astype(np.float64).reshape(-1) * grad.reshape(-1))
        mode = "directions" if big else "entries"
        targets.append(_Target(pos, names[pos], mode, directions, units, coupling))
    return targets


def _sweep_dtype(
    case: Case, positions: list[int], names: list[str], dtype: str, grid: np.ndarray
) -> list[Curve]:
    args = _cast_floats(case.args, np.dtype(dtype))
    exact_grads = oracle.gradient(case.reference, args, positions)
    grads = dict(zip(positions, exact_grads, strict=True))
    targets = _targets(args, positions, names, exact_grads)
    # One Taylor call for every argument: direction blocks are zero outside their own argument,
    # so the reference is compiled once per case.
    blocks = [
        np.concatenate(
            [
                t.units if t.pos == other.pos else np.zeros((len(t.units), *args[other.pos].shape))
                for t in targets
            ]
        )
        for other in targets
    ]
    taylor = oracle.taylor_coefficients(case.reference, args, positions, blocks)
    eps = policy.eps(np.dtype(dtype))
    curves, start = [], 0
    for target in targets:
        x = args[target.pos]
        k = len(target.units)
        coefficients = taylor[start : start + k]
        start += k
        if target.directions is None:
            exact = grads[target.pos].reshape(-1)
            scale = policy.step_scale(x).reshape(-1)
        else:
            # grad f . v: the oracle's gradient (above), so no second gradient call.
            exact = target.directions.reshape(k, -1) @ grads[target.pos].reshape(-1)
            scale = np.full(k, policy.direction_scale(x))
        steps = grid[:, None] * scale[None, :]
        quotients = _differences(case.fn, list(args), target.pos, steps, target.directions)
        for scheme in policy.SCHEMES:
            curves.append(
                analyse_curve(
                    case=case.name,
                    arg=target.name,
                    dtype=dtype,
                    scheme=scheme,
                    mode=target.mode,
                    size=int(x.size),
                    grid=grid,
                    quotients=quotients[scheme],
                    exact=exact,
                    step_scale=scale,
                    taylor=coefficients,
                    coupling=target.coupling,
                    eps=eps,
                    seed_step=SEED_STEP,
                )
            )
    return curves


def sweep_case(case: Case, per_decade: int = POINTS_PER_DECADE) -> CaseSweep:
    """Sweep one case over the step grid, in float64 and float32.

    Cases without the numerical check are skipped: their reference need not be the derivative of
    fn (the backprop case's reference drops the loss's delta), so finite differences of fn would
    be measured against the wrong target.

    Args:
      case: the case.
      per_decade: grid points per decade.

    Returns:
      The CaseSweep (its ``skipped`` says why when nothing was swept).
    """
    if case.checks is not None and NUMERICAL not in case.checks:
        return CaseSweep(case.name, case.source, skipped="no numerical check (analytic only)")
    if not case.sweep:
        return CaseSweep(case.name, case.source, skipped="left out of the sweep (sweep=False)")
    names = argument_names(case.fn, len(case.args))
    try:
        positions = resolve_wrt(list(case.args), names, case.wrt, case.data)
    except CaseInputError as exc:
        return CaseSweep(case.name, case.source, skipped=str(exc))
    grid = step_grid(per_decade)
    curves: list[Curve] = []
    with loop_blas_threads():
        for dtype in DTYPES:
            curves.extend(_sweep_dtype(case, positions, names, dtype, grid))
    return CaseSweep(case.name, case.source, tuple(curves))
