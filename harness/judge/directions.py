"""Fast mode: judging a gradient by its directional derivatives along seeded random directions.

For a unit direction v, the central difference (f(x + s v) - f(x - s v)) / 2s estimates g . v,
where g is the gradient of fn, at the cost of two evaluations however large x is. k directions
cost 2k evaluations instead of the 2n of the per-entry check. The slope is compared with the exact
g_exact . v from jax.grad, under the same error model as the per-entry check (tolerance.py):

    tol = SAFETY * eps_f |f| / s  (+ 2 * truncation, measured at s/2 when that bound is exceeded)

Power. An error e = g - g_exact is missed only if |e . v_j| <= tol for all k directions. For v
uniform on the unit sphere of R^n, whatever e is (it does not depend on the seed), the chance of
that is P(|t| <= tol / |e|)^k with t = u . v for a fixed unit u; `detectable_error_norm` inverts
this: errors of norm at least that are caught with probability at least 1 - MISS_PROBABILITY.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.judge import tolerance as policy
from harness.judge.differences import central_slope

DEFAULT_DIRECTIONS = 4
MISS_PROBABILITY = 1e-3
MODES = ("full", "fast")


def check_mode(mode: str, directions: int) -> None:
    """Raise ValueError for an unknown mode or a direction count below one."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive int, got {directions!r}")


@functools.lru_cache(maxsize=8)
def unit_directions(shape: tuple[int, ...], k: int, seed: int | tuple[int, ...]) -> np.ndarray:
    """k unit vectors of the given shape, uniform on the sphere, reproducible from the seed.

    The one source of random directions: the fast check draws from (its seed, the argument's
    position), the error-versus-h sweep from its own seed.

    Args:
      shape: the argument's shape.
      k: how many directions.
      seed: a seed for ``np.random.default_rng`` (an int, or a tuple of ints).

    Returns:
      A read-only float64 array of shape (k, *shape), each slice of unit Euclidean norm (cached:
      a warm check does not redraw them).
    """
    rng = np.random.default_rng(list(seed) if isinstance(seed, tuple) else seed)
    v = rng.standard_normal((k, int(np.prod(shape, dtype=np.int64))))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v.flags.writeable = False
    return v.reshape((k, *shape))


def random_directions(shape: tuple[int, ...], k: int, seed: int, position: int) -> np.ndarray:
    """The fast check's k directions for the argument at ``position``: `unit_directions` seeded
    by (seed, position), so each argument gets its own stream."""
    return unit_directions(shape, k, (int(seed), int(position)))


def sphere_projection_cdf(n: int, c: float) -> float:
    """P(|u . v| <= c) for a fixed unit u and v uniform on the unit sphere of R^n.

    With u . v = sin(theta), theta has density proportional to cos(theta)^(n-2) on
    [-pi/2, pi/2]; the integral is done on a grid (exact enough for a reported bound).

    Args:
      n: dimension.
      c: threshold in [0, 1].

    Returns:
      The probability.
    """
    theta, cdf = _theta_cdf(n)
    return float(np.interp(math.asin(min(max(c, 0.0), 1.0)), theta, cdf))


def detectable_error_norm(
    n: int, k: int, tolerance: float, miss_probability: float = MISS_PROBABILITY
) -> float:
    """The smallest gradient error (Euclidean norm) that k random directions catch w.p. >= 1 - p.

    An error e is missed when |e . v_j| <= tolerance for every direction j, which happens with
    probability P(|t| <= tolerance / |e|)^k (see `sphere_projection_cdf`).

    Args:
      n: entries of the argument.
      k: directions.
      tolerance: the directional tolerance.
      miss_probability: the accepted chance of missing an error of the returned norm.

    Returns:
      tolerance / c where P(|t| <= c) = miss_probability^(1/k).
    """
    if n == 1:
        return tolerance  # v = +-1: the directional check is the per-entry check
    theta, cdf = _theta_cdf(n)
    target = miss_probability ** (1.0 / k)
    c = math.sin(float(np.interp(target, cdf, theta)))
    return tolerance / c


@functools.lru_cache(maxsize=256)
def _theta_cdf(n: int) -> tuple[np.ndarray, np.ndarray]:
    power = n - 2
    # cos^m(theta) ~ exp(-m theta^2 / 2) is below exp(-72) beyond 12 / sqrt(m).
    top = math.pi / 2 if power <= 0 else min(math.pi / 2, 12.0 / math.sqrt(power))
    theta = np.linspace(0.0, top, 20001)
    if power == 0:
        density = np.ones_like(theta)
    else:
        with np.errstate(divide="ignore"):
            density = np.exp(power * np.log(np.cos(theta)))
    steps = np.diff(theta) * (density[1:] + density[:-1]) / 2.0
    cdf = np.concatenate([[0.0], np.cumsum(steps)])
    cdf /= cdf[-1]
    theta.flags.writeable = cdf.flags.writeable = False
    return theta, cdf


@dataclass
class DirectionalJudgement:
    """Outcome of the directional check of one argument (plain numbers, JSON-ready details)."""

    agreed: bool
    max_abs_error: float
    tolerance: float  # the tolerance of the direction that came closest to failing
    worst_direction: int
    got: float
    expected: float
    evaluations: int
    details: dict = field(default_factory=dict)
    non_finite: bool = False  # fn was not finite at some step along some direction


def judge_directions(
    f: Callable[[np.ndarray], object],
    x: np.ndarray,
    expected_gradient: np.ndarray,
    *,
    h: float,
    value_scale: float,
    value_eps: float,
    k: int,
    seed: int,
    position: int,
    tol_override: float | None = None,
) -> DirectionalJudgement:
    """Compare the slopes of f along k seeded random directions with the exact ones.

    Args:
      f: the function of this argument alone; it is evaluated with x perturbed in place.
      x: the argument (restored bit-exactly).
      expected_gradient: the exact gradient of f at x (float64, x's shape).
      h: unscaled step; the step along a direction is h * max(1, max|x_i|).
      value_scale: |f| near x.
      value_eps: eps of the dtype f returns.
      k: number of directions.
      seed: seed of the directions.
      position: the argument's position (seeds its own direction stream).
      tol_override: an absolute tolerance that replaces the policy, if the case sets one.

    Returns:
      The judgement; ``agreed`` is False when some direction disagrees beyond its tolerance.
    """
    step = policy.direction_step(x, h)
    saved = x.astype(np.float64)
    exact = expected_gradient.astype(np.float64)
    rounding = policy.ROUNDING_FACTOR["central"] * value_eps * value_scale / step
    errors, tolerances, got_all, expected_all = [], [], [], []
    evaluations = 0
    non_finite = False
    for v in random_directions(tuple(x.shape), k, int(seed), int(position)):
        got = central_slope(f, x, v, step)
        evaluations += 2
        expected, exact_rounding = _exact_slope(saved, x.dtype, v, step, exact)
        error = abs(got - expected)
        tolerance = float(policy.numerical_tolerance(rounding + exact_rounding, tol_override))
        if tol_override is None and not error <= tolerance:
            # Second opinion: Richardson's truncation estimate from the step halved.
            half = central_slope(f, x, v, step / 2)
            evaluations += 2
            expected_half, _ = _exact_slope(saved, x.dtype, v, step / 2, exact)
            truncation = 4.0 * abs((got - expected) - (half - expected_half)) / 3.0
            tolerance += 2.0 * truncation
            non_finite = non_finite or not np.isfinite(half)
        non_finite = non_finite or not np.isfinite(got)
        errors.append(error)
        tolerances.append(tolerance)
        got_all.append(got)
        expected_all.append(expected)
    ratios = np.asarray(errors) / np.asarray(tolerances)
    worst = int(np.argmax(ratios))
    bound = detectable_error_norm(x.size, k, max(tolerances))
    gradient_norm = float(np.linalg.norm(exact))
    details = {
        "mode": "fast",
        "directions": k,
        "seed": int(seed),
        "step": step,
        "directional_errors": [float(e) for e in errors],
        "directional_tolerances": [float(t) for t in tolerances],
        "miss_probability": MISS_PROBABILITY,
        "detectable_error_norm": bound,
        "detectable_error_rel": bound / gradient_norm if gradient_norm else None,
    }
    return DirectionalJudgement(
        agreed=bool(np.all(ratios <= 1.0)),
        max_abs_error=float(max(errors)),
        tolerance=float(tolerances[worst]),
        worst_direction=worst,
        got=float(got_all[worst]),
        expected=float(expected_all[worst]),
        evaluations=evaluations,
        details=details,
        non_finite=non_finite,
    )


def _exact_slope(
    saved: np.ndarray, dtype: np.dtype, v: np.ndarray, step: float, exact: np.ndarray
) -> tuple[float, float]:
    """g_exact . (x_plus - x_minus) / 2 step, using the perturbation fn actually received.

    x + s v is rounded to x's dtype, which in float32 moves each entry by up to eps|x_i|; taking
    the realised difference removes that error from the comparison instead of budgeting for it.

    Returns:
      The exact slope, and the rounding bound of computing it.
    """
    plus = (saved + step * v).astype(dtype).astype(np.float64)
    minus = (saved - step * v).astype(dtype).astype(np.float64)
    realised = (plus - minus) / (2.0 * step)
    terms = exact.ravel() * realised.ravel()
    return float(terms.sum()), policy.eps(np.float64) * float(np.abs(terms).sum()) * 4.0
