"""Building CheckRecords: the verdict, the worst entry and a message that says what happened."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.results import FAIL, INCONCLUSIVE, KINK, NUMERICAL, PASS, CheckRecord, Entry

# A check whose tolerance exceeds this fraction of the gradient's scale could not have caught an
# error that large anywhere: its verdict is inconclusive, not pass.
POWER_FRACTION = 0.1


def fmt(value: float) -> str:
    """Six significant digits."""
    return f"{value:.6g}"


def fmt_pair(first: float, second: float, joiner: str = " then ") -> str:
    """``a then b`` with as many digits as it takes for the two to differ (up to 17).

    Args:
      first: one value.
      second: the other.
      joiner: the text between them.

    Returns:
      The text.
    """
    for digits in range(6, 18):
        a, b = f"{first:.{digits}g}", f"{second:.{digits}g}"
        if a != b:
            return f"{a}{joiner}{b}"
    return f"{first!r}{joiner}{second!r}"


def returned_kind(out: Any) -> str:
    """What a function returned, for messages: ``None``, ``a NumPy float32 array of shape (2,)``,
    ``a JAX array (jaxlib ArrayImpl) of shape (2,)``, ``a str``."""
    if out is None:
        return "None"
    kind = type(out)
    module = kind.__module__.split(".")[0]
    shape = getattr(out, "shape", None)
    dtype = getattr(out, "dtype", None)
    of = f"{dtype} " if dtype is not None else ""
    of_shape = f" of shape {tuple(shape)}" if shape is not None else ""
    if isinstance(out, np.ndarray):
        return f"a NumPy {of}array{of_shape}"
    if module in ("jax", "jaxlib"):
        return f"a JAX {of}array ({module} {kind.__name__}){of_shape}"
    return f"a {kind.__name__}" if module == "builtins" else f"a {module} {kind.__name__}"


def describe_exception(exc: BaseException) -> str:
    """``Type: first non-empty line of the message`` (a message may start with a newline)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    text = next((line for line in lines if line), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def first_non_finite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of an array's first non-finite entry (C order), or None when all are finite."""
    bad = np.argwhere(~np.isfinite(array))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


def judged_record(
    case: str,
    kind: str,
    arg: str,
    got: np.ndarray,
    expected: np.ndarray,
    error: np.ndarray,
    tolerance: np.ndarray,
    failed: np.ndarray,
    kink: np.ndarray,
    *,
    gradient_scale: float,
    jump: np.ndarray | None = None,
    **common: Any,
) -> CheckRecord:
    """A record from per-entry errors, tolerances and flags: verdict, worst entry, message.

    Args:
      case: the case name.
      kind: "numerical" or "analytic".
      arg: the argument's name.
      got: the gradient under test.
      expected: the exact gradient.
      error: per-entry absolute errors (flattened).
      tolerance: per-entry tolerances (flattened).
      failed: per-entry failure flags.
      kink: per-entry kink flags (kink entries are left out of the error figures).
      gradient_scale: the largest |exact gradient entry| over every differentiated argument:
        max_rel_error is relative to it, and it sets what the check must be able to catch.
      jump: per-entry flags of a discontinuity within the step (failed too).
      **common: further CheckRecord fields.

    Returns:
      The CheckRecord.
    """
    judged = ~kink
    ratio = np.where(judged, error / tolerance, -1.0)
    # A failing record names a failed entry: the passing entries' ratios can exceed a failed
    # entry's that is within its tolerance (failed by its second opinion).
    worst_flat = int(np.argmax(np.where(failed, ratio, -1.0) if failed.any() else ratio))
    index = tuple(int(i) for i in np.unravel_index(worst_flat, expected.shape))
    worst = Entry(arg, index, float(got.ravel()[worst_flat]), float(expected.ravel()[worst_flat]))
    max_abs = float(error[judged].max()) if judged.any() else 0.0
    n_failed, n_kinks = int(failed.sum()), int(kink.sum())
    tol_at_worst = float(tolerance[worst_flat])
    # The smallest error the check catches in every entry it judged.
    detectable = float(tolerance[judged].max()) if judged.any() else 0.0
    what = "numerical gradient" if kind == NUMERICAL else "hand-written gradient"
    details = dict(common.pop("details", {}) or {})
    details["detectable_error"] = detectable
    jumps = np.flatnonzero(jump) if jump is not None else np.zeros(0, dtype=int)
    if len(jumps):
        verdict = FAIL
        at = Entry(arg, tuple(int(i) for i in np.unravel_index(int(jumps[0]), expected.shape)))
        message = (
            f"fn is discontinuous at {at.describe()}: its one-sided difference quotients grow "
            f"like 1/h as the step shrinks (a jump, not a kink; {len(jumps)} such "
            f"entr{'y' if len(jumps) == 1 else 'ies'})"
        )
    elif n_failed:
        verdict = FAIL
        if error[worst_flat] > tol_at_worst:
            why = f"abs error {error[worst_flat]:.3g} > tolerance {tol_at_worst:.3g}"
        elif kind == NUMERICAL:  # the only way: a kink whose slopes miss the exact gradient
            why = (
                f"abs error {error[worst_flat]:.3g} is within the tolerance {tol_at_worst:.3g}, "
                "but fn kinks within the step and its one-sided slopes there do not bracket the "
                "expected value"
            )
        else:
            why = (
                f"abs error {error[worst_flat]:.3g} is within the tolerance {tol_at_worst:.3g}, "
                "but its second opinion failed"
            )
        message = (
            f"{what} disagrees with jax.grad at {worst.describe()}: got {fmt(worst.got)}, "
            f"expected {fmt(worst.expected)} ({why}); {n_failed} of {error.size} entries "
            "failed"
        )
    elif gradient_scale > 0 and detectable > POWER_FRACTION * gradient_scale:
        verdict = INCONCLUSIVE
        message = (
            f"the tolerance ({detectable:.3g}) is more than {POWER_FRACTION:g} of the gradient's "
            f"scale ({gradient_scale:.3g}), so this check could not have caught an error that "
            "size: make the step resolve the gradient (another h), check in float64, remove a "
            "large constant offset from the value, or scale the inputs"
        )
    elif n_kinks:
        verdict = KINK
        where = ", ".join(
            Entry(arg, tuple(int(i) for i in np.unravel_index(k, expected.shape))).describe()
            for k in np.flatnonzero(kink)[:5]
        )
        message = (
            f"{n_kinks} entr{'y' if n_kinks == 1 else 'ies'} at a kink ({where}"
            f"{', ...' if n_kinks > 5 else ''}): the gradient lies between the one-sided "
            f"slopes; every other entry within tolerance (worst {max_abs:.3g})"
        )
    else:
        verdict = PASS
        message = (
            f"max abs error {max_abs:.3g} at {worst.describe()} (tolerance {tol_at_worst:.3g})"
        )
    return CheckRecord(
        case=case,
        check=kind,
        arg=arg,
        verdict=verdict,
        message=message,
        max_abs_error=max_abs,
        max_rel_error=max_abs / gradient_scale if gradient_scale else max_abs,
        tolerance=tol_at_worst,
        worst=worst,
        kinks=n_kinks,
        details=details,
        error_ratio=float(ratio[worst_flat]) if judged.any() else None,
        **common,
    )
