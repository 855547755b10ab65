"""Building CheckRecords: the verdict, the worst entry and a message that says what happened."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.results import FAIL, KINK, NUMERICAL, PASS, CheckRecord, Entry


def fmt(value: float) -> str:
    """Six significant digits."""
    return f"{value:.6g}"


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(exc).splitlines()[0] if str(exc) else ""
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
      **common: further CheckRecord fields.

    Returns:
      The CheckRecord.
    """
    judged = ~kink
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    ratio = np.where(judged, error / tolerance, -1.0)
    worst_flat = int(np.argmax(ratio))
    index = tuple(int(i) for i in np.unravel_index(worst_flat, expected.shape))
    worst = Entry(arg, index, float(got.ravel()[worst_flat]), float(expected.ravel()[worst_flat]))
    max_abs = float(error[judged].max()) if judged.any() else 0.0
    n_failed, n_kinks = int(failed.sum()), int(kink.sum())
    tol_at_worst = float(tolerance[worst_flat])
    what = "numerical gradient" if kind == NUMERICAL else "hand-written gradient"
    if n_failed:
        verdict = FAIL
        message = (
            f"{what} disagrees with jax.grad at {worst.describe()}: got {fmt(worst.got)}, "
            f"expected {fmt(worst.expected)} (abs error {error[worst_flat]:.3g} > tolerance "
            f"{tol_at_worst:.3g}); {n_failed} of {error.size} entries outside tolerance"
        )
    elif n_kinks:
        verdict = KINK
        where = ", ".join(
            Entry(arg, tuple(int(i) for i in np.unravel_index(k, expected.shape))).describe()
            for k in np.flatnonzero(kink)[:5]
        )
        message = (
            f"{n_kinks} entr{'y' if n_kinks == 1 else 'ies'} at a kink ({where}"
            f"{', ...' if n_kinks > 5 else ''}): the exact gradient lies between the one-sided "
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
        max_rel_error=max_abs / scale if scale else max_abs,
        tolerance=tol_at_worst,
        worst=worst,
        kinks=n_kinks,
        **common,
    )
