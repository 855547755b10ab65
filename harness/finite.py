"""Judging a finite-difference gradient against the exact one, entry by entry.

Every entry first meets the model's rounding bound (policy.rounding_bound times a safety factor).
An entry that exceeds it gets a second opinion from the one-sided slopes at h, h/2 and h/4:

* For a smooth function the gap between the forward and backward slopes is h f'' and halves with
  h. If it does not halve, the function has a kink within the step: the verdict is ``kink`` when
  the exact gradient lies between the one-sided slopes, ``fail`` when it does not.
* Otherwise the quotients at h and h/2 measure the truncation error (Richardson), and the entry
  passes when its error is within the rounding bound plus twice that truncation.

A wrong function or a wrong quotient (say h instead of 2h in the denominator) is consistent across
steps, so the second opinion cannot explain its error away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness import policy
from harness.scratch import one_sided_slopes

# Second opinions cost nine evaluations each; beyond this many suspicious entries the check is a
# failure whatever the rest say (kinks are isolated; thousands of misfits are a bug).
MAX_SECOND_OPINIONS = 2048


@dataclass
class EntryJudgement:
    """Per-entry outcome arrays of one numerical check (flattened)."""

    error: np.ndarray
    tolerance: np.ndarray
    failed: np.ndarray  # bool
    kink: np.ndarray  # bool
    evaluations: int
    unexamined: int = 0


def judge_entries(
    f: Callable[[np.ndarray], object],
    x: np.ndarray,
    numeric: np.ndarray,
    expected: np.ndarray,
    *,
    scheme: str,
    h: float,
    value_scale: float,
    value_eps: float,
    tol_override: float | None = None,
) -> EntryJudgement:
    """Compare a numerical gradient with the exact one under the tolerance policy.

    Args:
      f: the function of this argument alone; it is evaluated with x perturbed in place.
      x: the argument (restored bit-exactly after every second opinion).
      numeric: the finite-difference gradient under test, x's shape.
      expected: the exact gradient, x's shape.
      scheme: the scheme ``numeric`` was computed with.
      h: the unscaled step it used.
      value_scale: |f| near x.
      value_eps: eps of the dtype f returns.
      tol_override: an absolute tolerance that replaces the policy, if the case sets one.

    Returns:
      The per-entry errors, tolerances and flags.
    """
    steps = policy.entry_steps(x, h).ravel()
    exact = expected.ravel().astype(np.float64)
    error = np.abs(numeric.ravel().astype(np.float64) - exact)
    rounding = policy.rounding_bound(
        scheme, steps, value_scale, value_eps, x.ravel(), policy.eps(x.dtype), exact
    )
    if tol_override is None:
        tolerance = policy.NUMERICAL_SAFETY * rounding + np.finfo(np.float64).tiny
    else:
        tolerance = np.full(error.shape, float(tol_override))
    failed = np.zeros(error.shape, dtype=bool)
    kink = np.zeros(error.shape, dtype=bool)
    suspicious = np.flatnonzero(~(error <= tolerance))
    order = suspicious[np.argsort(-(error[suspicious] / tolerance[suspicious]))]
    examined, rest = order[:MAX_SECOND_OPINIONS], order[MAX_SECOND_OPINIONS:]
    failed[rest] = True
    evaluations = 0
    arg_eps = policy.eps(x.dtype)
    for flat in examined:
        index = np.unravel_index(flat, x.shape)
        slopes = [one_sided_slopes(f, x, index, h=h / d) for d in (1, 2, 4)]
        evaluations += 9
        (fw1, bw1), (fw2, bw2), (fw4, bw4) = slopes
        step = steps[flat]
        # Rounding of one one-sided slope at step s is ~2 (fixed + s * moving) / s: f(x) and x_i
        # round by eps|f| and eps|x_i|; f(x +- s) and x_i +- s by a further eps s|g| (see
        # policy.rounding_bound).
        slope = abs(exact[flat])
        fixed = value_eps * value_scale + arg_eps * abs(float(x.flat[flat])) * slope
        moving = (value_eps + arg_eps) * slope

        def slope_noise(s: float, fixed: float = fixed, moving: float = moving) -> float:
            return 2.0 * (fixed + s * moving) / s

        if _has_kink(fw1 - bw1, fw2 - bw2, fw4 - bw4, step, slope_noise):
            lo, hi = min(fw4, bw4), max(fw4, bw4)
            # A one-sided slope at h/4 is off the one-sided derivative by its truncation, which
            # the change from h/2 to h/4 measures (first order); without it an exact gradient on
            # the edge of the bracket (|x| seen through a curved function) was a false failure.
            truncation = abs(fw2 - fw4) + abs(bw2 - bw4)
            slack = policy.NUMERICAL_SAFETY * slope_noise(step / 4) + 2.0 * truncation
            if lo - slack <= exact[flat] <= hi + slack:
                kink[flat] = True
            else:
                failed[flat] = True
            continue
        if tol_override is None:
            d1, d2 = _quotients(scheme, fw1, bw1, fw2, bw2)
            richardson = 2.0 ** policy.ORDER[scheme] - 1.0
            truncation = 2.0 ** policy.ORDER[scheme] * abs(d1 - d2) / richardson
            # The rounding bound assumed |f'| = |g| across the step; with curvature the slope at
            # x +- h is |g| + h|f''| = |g| + |gap|, which the misplaced x + h multiplies too (this
            # is what dominates where g itself is tiny, e.g. x**2 at x = 1e-237).
            position = arg_eps * (abs(float(x.flat[flat])) + step) / step + value_eps
            curvature = policy.ROUNDING_FACTOR[scheme] * position * abs(fw1 - bw1)
            tolerance[flat] += 2.0 * truncation + policy.NUMERICAL_SAFETY * curvature
        failed[flat] = not error[flat] <= tolerance[flat]
    return EntryJudgement(error, tolerance, failed, kink, evaluations, unexamined=len(rest))


def _quotients(scheme: str, fw1: float, bw1: float, fw2: float, bw2: float) -> tuple[float, float]:
    if scheme == "central":
        return (fw1 + bw1) / 2.0, (fw2 + bw2) / 2.0
    if scheme == "forward":
        return fw1, fw2
    return bw1, bw2


def _has_kink(
    gap1: float, gap2: float, gap4: float, step: float, slope_noise: Callable[[float], float]
) -> bool:
    """True when the one-sided gap fails to halve with the step, beyond rounding noise.

    A smooth function's gap is h f''(x) + O(h^3); a kink's gap is the jump in slope, whatever h.
    Two halvings are tested because a kink at distance h/3 from x fools one of them.
    slope_noise(s) is the rounding error of one one-sided slope at step s; a gap holds two.
    """
    for wide, narrow, h_narrow in ((gap1, gap2, step / 2), (gap2, gap4, step / 4)):
        noise = policy.NUMERICAL_SAFETY * 2.0 * slope_noise(h_narrow)
        if abs(narrow - wide / 2.0) > max(0.25 * abs(wide), noise):
            return True
    return False
