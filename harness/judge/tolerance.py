"""The tolerance policy, derived from the finite-difference error model (docs/design.md).

Every formula a verdict rests on lives here, and only here: the steps, the rounding bounds, the
numerical, analytic and value tolerances, and the rule for a case's ``tol=`` override (it
replaces the policy's tolerance of that check kind outright).

For a step h and a function evaluated with relative rounding error eps, a difference quotient of
order p (forward/backward p = 1, central p = 2) has error ~ C h^p (truncation) + c eps |f| / h
(rounding). The checker judges every entry against

    tol_i = SAFETY * rounding_i + 2 * truncation_i

where rounding_i is the model's rounding bound at that entry and truncation_i is measured from the
same entry at h/2 and h/4 (Richardson) only when the rounding bound alone is exceeded. SAFETY is
the headroom for functions whose rounding error exceeds eps |f| (sums, cancellation): a gradient
error must be SAFETY times larger than the model's rounding error before it is called a bug.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.results import CHECKS

# A case's tol=: one absolute tolerance for every check kind, or one per kind.
Tolerance = float | Mapping[str, float] | None

SCHEMES = ("central", "forward", "backward")
ORDER = {"central": 2, "forward": 1, "backward": 1}
# Rounding-error multiplier of each quotient: central divides 2 eps |f| by 2h, one-sided by h.
ROUNDING_FACTOR = {"central": 1.0, "forward": 2.0, "backward": 2.0}

NUMERICAL_SAFETY = 64.0
# Hand-written gradients and function values are compared with eps-scaled tolerances: the two
# sides compute the same math in a different order, which costs a few hundred ulps at most.
ANALYTIC_SAFETY = 256.0
VALUE_SAFETY = 256.0

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def eps(dtype: np.dtype | type) -> float:
    """Machine epsilon of a floating dtype.

    Args:
      dtype: float32 or float64.

    Returns:
      ``np.finfo(dtype).eps`` as a float.
    """
    return float(np.finfo(dtype).eps)


def default_step(dtype: np.dtype | type, scheme: str) -> float:
    """The step that minimises the model's total error for a well-scaled function.

    Central: eps^(1/3) (6.1e-6 in float64, 4.9e-3 in float32); forward/backward: eps^(1/2)
    (1.5e-8, 3.5e-4). Steps are then scaled per entry by max(1, |x_i|).

    Args:
      dtype: the dtype of the argument being perturbed.
      scheme: "central", "forward" or "backward".

    Returns:
      The unscaled step h.
    """
    check_scheme(scheme)
    power = 1.0 / 3.0 if scheme == "central" else 0.5
    return float(eps(dtype) ** power)


def step(h: float | None, dtype: np.dtype | type, scheme: str) -> float:
    """The unscaled step of a check: h when the case gives one, else `default_step`.

    Args:
      h: the case's step, or None.
      dtype: the dtype of the argument being perturbed.
      scheme: "central", "forward" or "backward".

    Returns:
      The unscaled step as a float.
    """
    return float(h) if h is not None else default_step(dtype, scheme)


def direction_step(x: np.ndarray, h: float) -> float:
    """The step along a random direction: h * `direction_scale` (the largest entry's own step)."""
    return h * direction_scale(x)


def unresolved_entry(x: np.ndarray, h: float) -> tuple[int, ...] | None:
    """The first entry whose step is below its resolution (x_i + s_i == x_i in x's dtype).

    Args:
      x: the argument.
      h: the unscaled step.

    Returns:
      The entry's index, or None when every entry moves.
    """
    moved = (x.astype(np.float64) + entry_steps(x, h)).astype(x.dtype)
    same = np.argwhere(moved == x)
    return tuple(int(i) for i in same[0]) if len(same) else None


def computation_dtype(args: Sequence[Any], returned: np.dtype) -> np.dtype:
    """The dtype a function computes in: the lowest precision among its floating array arguments
    and its return value (a float32 computation returned as float(...) is float32 arithmetic).

    Args:
      args: the function's arguments.
      returned: the dtype of what it returned.

    Returns:
      float32 or float64.
    """
    dtypes = [a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype in SUPPORTED_DTYPES]
    if returned.kind == "f":
        dtypes.append(returned)
    return np.dtype(np.float32) if any(d.itemsize <= 4 for d in dtypes) else np.dtype(np.float64)


def check_scheme(scheme: str) -> None:
    """Raise ValueError for an unknown scheme name."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def check_step(h: object) -> None:
    """Raise ValueError unless ``h`` is None (the default step) or a positive finite number."""
    if h is None:
        return
    number = isinstance(h, int | float | np.integer | np.floating) and not isinstance(h, bool)
    if not number or not (np.isfinite(h) and h > 0):
        raise ValueError(
            f"h must be a positive finite number (the unscaled step; leave it out for the "
            f"default), got {h!r}"
        )


def step_scale(x: np.ndarray) -> np.ndarray:
    """max(1, |x_i|) per entry: entry i is perturbed by h times this, so large entries are not
    perturbed below their ulp."""
    return np.maximum(1.0, np.abs(x.astype(np.float64)))


def direction_scale(x: np.ndarray) -> float:
    """max(1, max|x_i|): a step along a direction is h times this, the largest entry's scale."""
    return max(1.0, float(np.abs(x).max()))


def entry_steps(x: np.ndarray, h: float, scaled: bool = True) -> np.ndarray:
    """Per-entry steps h * max(1, |x_i|) (`step_scale`), or h for every entry when not scaled
    (a routine with a fixed step, such as the book's numerical_gradient)."""
    return h * step_scale(x) if scaled else np.full(x.shape, float(h))


def rounding_bound(
    scheme: str,
    steps: np.ndarray,
    value_scale: float | np.ndarray,
    value_eps: float,
    x: np.ndarray,
    arg_eps: float,
    expected: np.ndarray,
) -> np.ndarray:
    """The model's rounding error of each entry's difference quotient.

    Two sources: each evaluation of f is off by ~eps|f(x +- h)| <= eps(|f| + h|g_i|), and x + h is
    rounded to the argument's dtype, which misplaces the step by ~eps(|x_i| + h) and so the quotient
    by eps(|x_i| + h)|g_i|/h. The h|g_i| and + h terms matter where f(x) or x_i is (near) zero:
    there |f(x +- h)| and |x_i +- h| are set by the step, not by the point (generated functions such
    as 0.01 * x0 at x0 = 0 were false failures without them).

    Args:
      scheme: difference scheme.
      steps: per-entry steps.
      value_scale: |f| near the point (the largest of the values seen), scalar or per entry.
      value_eps: eps of the dtype f is computed in.
      x: the argument (for |x_i|).
      arg_eps: eps of the argument's dtype.
      expected: the exact gradient of that argument.

    Returns:
      An array of bounds shaped like x.
    """
    scale = np.abs(x.astype(np.float64))
    slope = np.abs(expected)
    per_entry = value_eps * (value_scale + steps * slope) + arg_eps * (scale + steps) * slope
    return ROUNDING_FACTOR[scheme] * per_entry / steps


def parse_overrides(tol: Tolerance) -> dict[str, float]:
    """A case's ``tol=`` as a mapping from check kind to the absolute tolerance that replaces the
    policy's for that kind.

    Args:
      tol: None, one number for every kind, or a mapping from kind ("value", "numerical",
        "analytic") to a number.

    Returns:
      kind -> tolerance, for the kinds the case overrides.

    Raises:
      ValueError: the mapping names an unknown check kind.
    """
    if tol is None:
        return {}
    if isinstance(tol, Mapping):
        unknown = set(tol) - set(CHECKS)
        if unknown:
            raise ValueError(f"tol has unknown check kind(s) {sorted(unknown)}")
        return {k: _tolerance_value(v, f"tol[{k!r}]") for k, v in tol.items()}
    value = _tolerance_value(tol, "tol")
    return {kind: value for kind in CHECKS}


def _tolerance_value(value: object, name: str) -> float:
    """A tolerance as a float: a real number, not negative and not NaN (inf never fails)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not number >= 0:  # also NaN
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return number


def numerical_tolerance(rounding: np.ndarray | float, override: float | None) -> np.ndarray:
    """A finite difference's tolerance: NUMERICAL_SAFETY times the model's rounding bound, or
    the case's override.

    Args:
      rounding: the model's rounding bound per entry (or direction).
      override: the case's tol= for numerical checks, or None.

    Returns:
      Tolerances shaped like ``rounding``.
    """
    rounding = np.asarray(rounding, dtype=np.float64)
    if override is not None:
        return np.full(rounding.shape, float(override))
    return NUMERICAL_SAFETY * rounding + np.finfo(np.float64).tiny


def value_tolerance(reference_value: float, value_eps: float, override: float | None) -> float:
    """The value check's tolerance: VALUE_SAFETY * eps * max(|reference|, 1), or the override.

    Args:
      reference_value: the reference's value at the point.
      value_eps: eps of the dtype fn computes in.
      override: the case's tol= for the value check, or None.

    Returns:
      The tolerance.
    """
    if override is not None:
        return float(override)
    return VALUE_SAFETY * value_eps * max(abs(reference_value), 1.0)


def analytic_tolerance(
    expected: np.ndarray, dtype_eps: float, gradient_scale: float, override: float | None
) -> np.ndarray:
    """A hand-written gradient's per-entry tolerance, from the error model alone.

    Entry i may be off by ANALYTIC_SAFETY * eps * (|g_i| + G), G the largest exact entry over
    every differentiated argument: a backprop sums products whose size is set by the largest
    terms, not by the entry itself, and its small entries are differences of terms of the
    gradient's scale (y - t through a softmax). Nothing measured from the code under test enters:
    a float32 computation's real rounding is measured by replaying it in float64 (analytic.py),
    which a bug cannot change.

    Args:
      expected: the exact gradient of this argument.
      dtype_eps: eps of the computation under test.
      gradient_scale: G.
      override: the case's tol= for analytic checks, or None.

    Returns:
      Tolerances shaped like ``expected``, flattened.
    """
    if override is not None:
        return np.full(expected.size, float(override))
    magnitude = np.abs(expected).ravel()
    return ANALYTIC_SAFETY * dtype_eps * (magnitude + gradient_scale) + np.finfo(np.float64).tiny


# float32 constants inside dtype-generic code (np.float32(0.5) * x) still round by eps32 in a
# float64 replay; the replay's tolerance allows this many float32 ulps of the scale for them.
REPLAY_FLOAT32_ULPS = 4.0


def replay_tolerance(
    expected: np.ndarray, gradient_scale: float, override: float | None
) -> np.ndarray:
    """The tolerance of a float32 gradient's float64 replay: `analytic_tolerance` in float64,
    plus REPLAY_FLOAT32_ULPS float32 ulps for float32 constants the code may hold.

    Args:
      expected: the exact gradient of this argument.
      gradient_scale: the largest exact entry over every differentiated argument.
      override: the case's tol= for analytic checks, or None.

    Returns:
      Tolerances shaped like ``expected``, flattened.
    """
    if override is not None:
        return np.full(expected.size, float(override))
    base = analytic_tolerance(expected, eps(np.float64), gradient_scale, None)
    constants = REPLAY_FLOAT32_ULPS * eps(np.float32) * (np.abs(expected).ravel() + gradient_scale)
    return base + constants


# A float64 gradient's rounding, measured against its long-double replay, widens its tolerance
# by this many times itself, up to REPLAY_CAP of the gradient's scale (the gap of a computation
# whose precision changes its result could otherwise hide anything).
REPLAY_SAFETY = 4.0
REPLAY_CAP = 2.0**-26  # about 1.5e-8


def replayed_rounding(gap: np.ndarray, gradient_scale: float) -> np.ndarray:
    """The tolerance a float64 gradient's measured rounding adds: REPLAY_SAFETY times the largest
    gap to its long-double replay over the argument (one realisation stands for every entry),
    capped at REPLAY_CAP of the gradient's scale.

    Args:
      gap: |grad in float64 - grad in long double| per entry.
      gradient_scale: the largest exact entry over every differentiated argument.

    Returns:
      The addition, shaped like ``gap``.
    """
    largest = float(gap.max(initial=0.0))
    return np.full(gap.shape, REPLAY_SAFETY * min(largest, REPLAY_CAP * gradient_scale))


def one_sided_noise(
    step: float, value_eps: float, value_scale: float, arg_eps: float, x_i: float, slope: float
) -> float:
    """The rounding error of one one-sided slope at a step: ~2 (fixed + s * moving) / s.

    f(x) and x_i round by eps|f| and eps|x_i|; f(x +- s) and x_i +- s by a further eps s|g| (see
    `rounding_bound`).

    Args:
      step: the step s.
      value_eps: eps of the dtype f computes in.
      value_scale: |f| near the point (`value_scale`).
      arg_eps: eps of the argument's dtype.
      x_i: the entry's value.
      slope: |g_i|.

    Returns:
      The bound.
    """
    fixed = value_eps * value_scale + arg_eps * abs(x_i) * slope
    moving = (value_eps + arg_eps) * slope
    return 2.0 * (fixed + step * moving) / step


def value_scale(*values: float, noise: float = 0.0, value_eps: float = 1.0) -> float:
    """The |f| that sets an evaluation's rounding: the largest |value| seen, and at least 1.

    A value below 1 is usually a small difference of O(1) intermediates (log(1 + u) for small u,
    a cross-entropy whose probability is ~1, a loss of a saturated network), so it rounds by eps,
    not eps|f|, and moves in steps of eps: a finite difference cannot resolve a slope below
    eps / h there. Where a float32 computation was replayed in float64, the gap between the two
    (``noise``, the rounding actually seen, which a bug cannot change: both runs share it) counts
    twice over, in units of eps.

    Args:
      values: |f| at the point from fn and from the reference.
      noise: |fn(x) - fn(x in float64)| for float32 code, else 0.
      value_eps: eps of the dtype fn computes in (to express the noise as a scale).

    Returns:
      max(|values|..., 1, 2 noise / eps).
    """
    return max([abs(v) for v in values] + [1.0, 2.0 * noise / value_eps])
