"""Judging a finite-difference gradient against the exact one, entry by entry.

Every entry first meets the model's rounding bound (policy.rounding_bound times a safety factor).
An entry that exceeds it gets a second opinion from the one-sided slopes at h, h/2 and h/4:

* For a smooth function the gap between the forward and backward slopes is h f'' and halves with
  h. If it does not halve, the function has a kink within the step: the verdict is ``kink`` when
  the exact gradient lies between the one-sided slopes, ``fail`` when it does not.
* Otherwise the quotients at h and h/2 measure the truncation error (Richardson), and the entry
  passes when its error is within the rounding bound plus twice that truncation.

When the finite differences come with their evaluations f(x ± h e_i) (central scheme), entries
whose forward and backward slopes disagree by more than a small fraction of the gradient's scale
get the same second opinion even when the central quotient happens to match -- relu at 0, where
both sides say 1/2, is still a kink.

A wrong function or a wrong quotient (say h instead of 2h in the denominator) is consistent across
steps, so the second opinion cannot explain its error away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.judge import kinks
from harness.judge import tolerance as policy
from harness.judge.differences import one_sided_slopes

# Second opinions cost nine evaluations each; beyond this many suspicious entries the check is a
# failure whatever the rest say (kinks are isolated; thousands of misfits are a bug).
MAX_SECOND_OPINIONS = 2048
# A smooth function's one-sided slopes differ by h f''. Gaps above this fraction of the largest
# exact gradient entry are screened for kinks (a kink's gap is the jump in slope, O(gradient)).
KINK_SCREEN = 1e-3
# A step too coarse for the function's scale is refined by halving, at most this many times.
MAX_HALVINGS = 40


@dataclass
class EntryJudgement:
    """Per-entry outcome arrays of one numerical check (flattened)."""

    error: np.ndarray
    tolerance: np.ndarray
    failed: np.ndarray  # bool
    kink: np.ndarray  # bool
    evaluations: int
    jump: np.ndarray  # bool: fn is discontinuous within the step (a quotient growing like 1/h)
    non_finite: tuple[int, ...] | None = None  # an entry whose second opinion met inf/nan


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
    evaluations: dict[str, np.ndarray] | None = None,
    base_value: float | None = None,
    scaled_steps: bool = True,
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
      evaluations: f(x + h_i e_i) and f(x - h_i e_i) as "plus"/"minus" arrays, if known.
      base_value: f(x), needed with evaluations.
      scaled_steps: the routine perturbed entry i by h * max(1, |x_i|) (the policy's steps);
        False when it perturbed every entry by h itself.

    Returns:
      The per-entry errors, tolerances and flags.
    """
    steps = policy.entry_steps(x, h, scaled_steps).ravel()
    exact = expected.ravel().astype(np.float64)
    error = np.abs(numeric.ravel().astype(np.float64) - exact)
    scale: float | np.ndarray = value_scale
    if evaluations is not None:
        # |f| at the perturbed points can be far larger than at x (a step that is large for
        # the function's scale); rounding follows the largest value each quotient subtracts.
        scale = np.maximum(
            value_scale,
            np.maximum(np.abs(evaluations["plus"]), np.abs(evaluations["minus"])).ravel(),
        )
    rounding = policy.rounding_bound(
        scheme, steps, scale, value_eps, x.ravel(), policy.eps(x.dtype), exact
    )
    tolerance = policy.numerical_tolerance(rounding, tol_override)
    failed = np.zeros(error.shape, dtype=bool)
    kink = np.zeros(error.shape, dtype=bool)
    jump = np.zeros(error.shape, dtype=bool)
    non_finite: tuple[int, ...] | None = None
    suspicious_mask = ~(error <= tolerance)
    suspicious = np.flatnonzero(suspicious_mask)
    order = suspicious[np.argsort(-(error[suspicious] / tolerance[suspicious]))]
    examined, rest = order[:MAX_SECOND_OPINIONS], order[MAX_SECOND_OPINIONS:]
    failed[rest] = True
    gap_noise_unit = 4.0 * value_eps * scale  # rounding of f(x+h) - 2 f(x) + f(x-h)
    if evaluations is not None and base_value is not None and scheme == "central":
        gap = np.abs(evaluations["plus"].ravel() - 2.0 * base_value + evaluations["minus"].ravel())
        gap /= steps
        screen = np.maximum(
            policy.NUMERICAL_SAFETY * gap_noise_unit / steps,
            KINK_SCREEN * float(np.abs(exact).max(initial=0.0)),
        )
        candidates = np.flatnonzero((gap > screen) & ~suspicious_mask)
        room = max(MAX_SECOND_OPINIONS - len(examined), 0)
        examined = np.concatenate([examined, candidates[:room]])
    evaluations_used = 0
    arg_eps = policy.eps(x.dtype)
    for flat in examined:
        index = np.unravel_index(flat, x.shape)
        # A Python float, so x_i + step rounds in x's dtype as the routine's own step does; halving
        # it is exact, so step / d is the policy's step for h / d.
        step = float(steps[flat])
        slopes = [one_sided_slopes(f, x, index, step / d) for d in (1, 2, 4)]
        evaluations_used += 9
        (fw1, bw1) = slopes[0]
        if not all(np.isfinite(v) for pair in slopes for v in pair):
            non_finite = tuple(int(i) for i in index)
            break
        at_point = float(scale[flat]) if isinstance(scale, np.ndarray) else scale
        noise_args = (value_eps, at_point, arg_eps, float(x.flat[flat]), abs(exact[flat]))

        def slope_noise(s: float, noise_args: tuple = noise_args) -> float:
            return policy.one_sided_noise(s, *noise_args)

        reading = kinks.classify(slopes, step, slope_noise)
        if reading.kind == kinks.JUMP:
            failed[flat] = jump[flat] = True
            continue
        if reading.kind == kinks.KINK:
            if reading.low - reading.slack <= exact[flat] <= reading.high + reading.slack:
                kink[flat] = True
            else:
                failed[flat] = True
            continue
        if not suspicious_mask[flat]:
            continue  # screened for a kink, found smooth, and already within tolerance
        if tol_override is not None:
            failed[flat] = not error[flat] <= tolerance[flat]
            continue
        # The rounding bound assumed |f'| = |g| across the step; with curvature the slope at
        # x +- h is |g| + h|f''| = |g| + |gap|, which the misplaced x + h multiplies too (this is
        # what dominates where g itself is tiny, e.g. x**2 at x = 1e-237).
        position = arg_eps * (abs(float(x.flat[flat])) + step) / step + value_eps
        curvature = policy.ROUNDING_FACTOR[scheme] * position * abs(fw1 - bw1)
        verdict = _refine(
            f,
            x,
            index,
            step,
            scheme,
            numeric.ravel()[flat],
            exact[flat],
            rounding[flat] + curvature,
            slopes,
        )
        evaluations_used += verdict.evaluations
        failed[flat] = not verdict.ok
        if verdict.ok:
            # What the entry passed by; a failing entry keeps the policy's bound, which a bug
            # cannot grow.
            tolerance[flat] = verdict.tolerance
    return EntryJudgement(error, tolerance, failed, kink, evaluations_used, jump, non_finite)


@dataclass
class _Refined:
    ok: bool
    tolerance: float
    evaluations: int


def _quotient(scheme: str, slopes: tuple[float, float]) -> float:
    forward, backward = slopes
    if scheme == "central":
        return (forward + backward) / 2.0
    return forward if scheme == "forward" else backward


def _refine(
    f: Callable[[np.ndarray], object],
    x: np.ndarray,
    index: tuple[int, ...],
    step: float,
    scheme: str,
    routine_value: float,
    exact: float,
    rounding: float,
    slopes: list[tuple[float, float]],
) -> _Refined:
    """Second opinion on a smooth entry whose error exceeds the rounding bound.

    Two questions, both of which must be answered yes:
    (a) does the quotient under test equal fn's own difference quotient at the same step, up to
        rounding? (a wrong quotient formula fails here);
    (b) does fn's derivative, refined by halving the step until successive quotients agree to
        within rounding, match the exact gradient within that rounding plus the measured
        truncation? (a wrong function fails here; a step too coarse for fn's scale does not).

    Returns:
      The verdict, the tolerance to report (the error bound that a passing entry meets), and the
      evaluations spent beyond the three slopes already measured.
    """
    safety = policy.NUMERICAL_SAFETY
    at_h = _quotient(scheme, slopes[0])
    consistent = abs(routine_value - at_h) <= safety * rounding
    previous, current, halvings = _quotient(scheme, slopes[1]), _quotient(scheme, slopes[2]), 2
    evaluations = 0
    while abs(current - previous) > safety * rounding * 2**halvings and halvings < MAX_HALVINGS:
        halvings += 1
        previous, current = (
            current,
            _quotient(scheme, one_sided_slopes(f, x, index, step / 2**halvings)),
        )
        evaluations += 3
    gain = 2.0 ** policy.ORDER[scheme]
    truncation = gain * abs(current - previous) / (gain - 1.0)
    # Judged at the rounding bound of the original step, not of the refined one: a refined step
    # rounds worse, and its looser bound would let an error of a few tolerances through (the
    # bug itself is what sent the entry here).
    refined_bound = safety * rounding + 2.0 * truncation
    matches = abs(current - exact) <= refined_bound
    tolerance = safety * rounding + abs(at_h - current) + refined_bound
    return _Refined(consistent and matches, tolerance, evaluations)
