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

from collections.abc import Mapping

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


def check_scheme(scheme: str) -> None:
    """Raise ValueError for an unknown scheme name."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def step_scale(x: np.ndarray) -> np.ndarray:
    """max(1, |x_i|) per entry: entry i is perturbed by h times this, so large entries are not
    perturbed below their ulp."""
    return np.maximum(1.0, np.abs(x.astype(np.float64)))


def direction_scale(x: np.ndarray) -> float:
    """max(1, max|x_i|): a step along a direction is h times this, the largest entry's scale."""
    return max(1.0, float(np.abs(x).max()))


def entry_steps(x: np.ndarray, h: float) -> np.ndarray:
    """Per-entry steps h * max(1, |x_i|) (`step_scale`)."""
    return h * step_scale(x)


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
        return {k: float(v) for k, v in tol.items()}
    return {kind: float(tol) for kind in CHECKS}


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
    expected: np.ndarray,
    dtype_eps: float,
    value: float,
    x_scale: float,
    override: float | None,
) -> np.ndarray:
    """A hand-written gradient's per-entry tolerance: `ulp_tolerance` at ANALYTIC_SAFETY, or the
    override.

    Args:
      expected: the exact gradient.
      dtype_eps: eps of the computation under test.
      value: |f| at the point.
      x_scale: the argument's largest |x_i|.
      override: the case's tol= for analytic checks, or None.

    Returns:
      Tolerances shaped like ``expected``, flattened.
    """
    if override is not None:
        return np.full(expected.size, float(override))
    return ulp_tolerance(expected, dtype_eps, ANALYTIC_SAFETY, value, x_scale).ravel()


def ulp_tolerance(
    expected: np.ndarray, dtype_eps: float, safety: float, value: float = 0.0, x_scale: float = 1.0
) -> np.ndarray:
    """Per-entry tolerance for comparing an eps-accurate gradient with the exact one.

    Each entry may be off by ``safety * eps`` relative to the largest of: itself, the array's
    largest entry (a backprop sums products whose size is set by the largest terms, not by the
    entry itself), and max(|f|, 1) / max(1, |x|_inf). The last is the resolution of a gradient
    computed from O(1) terms: backprop through a saturated tanh or softmax computes small entries
    as differences such as y - 1 or 1 - tanh^2, whose rounding is eps, not eps times the entry
    (and it stays put when x moves, so it cannot be measured by nudging x). A function whose
    every term is far below 1 is judged more loosely than it could be; give it a tol.

    Args:
      expected: exact values.
      dtype_eps: eps of the computation under test.
      safety: headroom multiplier.
      value: |f| at the point (the reference value).
      x_scale: the largest |x_i| of the argument.

    Returns:
      Tolerances shaped like ``expected``.
    """
    magnitude = np.abs(expected)
    scale = float(magnitude.max()) if magnitude.size else 0.0
    resolution = max(abs(value), 1.0) / max(1.0, x_scale)
    return safety * dtype_eps * (magnitude + scale + resolution) + np.finfo(np.float64).tiny


def value_scale(*values: float) -> float:
    """The |f| that sets an evaluation's rounding: the largest |value| seen, and at least 1.

    A value below 1 is usually a small difference of O(1) intermediates (log(1 + u) for small u,
    a cross-entropy whose probability is ~1, a loss of a saturated network), so it rounds by eps,
    not eps|f|, and moves in steps of eps: a finite difference cannot resolve a slope below
    eps / h there. A function whose every intermediate is tiny is judged more loosely than it
    could be; give it a tol.

    Args:
      values: |f| at the point from fn and from the reference.

    Returns:
      max(|values|..., 1).
    """
    return max([abs(v) for v in values] + [1.0])
