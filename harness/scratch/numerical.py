"""Numerical differentiation: derivatives and gradients from finite differences.

Central difference (f(x+h) - f(x-h)) / 2h has truncation error O(h^2); the forward
and backward differences only O(h). Too small an h loses everything to rounding:
with h = 1e-50, x + h == x in float64 and the derivative comes out as 0.
"""

from collections.abc import Callable

import numpy as np

# The scratch code names its schemes itself: it never imports the judge (harness.judge.tolerance
# has the checker's own list, which a bug here cannot change).
SCHEMES = ("forward", "backward", "central")


def numerical_diff(
    f: Callable[[float], float], x: float, h: float = 1e-4, scheme: str = "central"
) -> float:
    """Derivative of a one-variable function at x by a finite difference.

    Args:
      f: function of one number.
      x: the point.
      h: the step; the quotient divides by this nominal h, even if x + h rounds to x.
      scheme: "forward", "backward" or "central".

    Returns:
      The slope estimate as a Python float.
    """
    _check_scheme(scheme)
    _check_step(h)
    if scheme == "forward":
        return float((f(x + h) - f(x)) / h)
    if scheme == "backward":
        return float((f(x) - f(x - h)) / h)
    return float((f(x + h) - f(x - h)) / (2 * h))


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    h: float = 1e-4,
    scheme: str = "central",
    scale_step: bool = True,
    evaluations: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Gradient of a scalar function by perturbing x in place, one entry at a time.

    f receives the same array object x each time, so f may ignore its argument and
    read x from elsewhere (the seed's TwoLayerNet does: f = lambda W: net.loss(x, t)).
    x comes back bit-identical, whether this returns or raises.

    Args:
      f: function of x returning a scalar.
      x: floating-point array of any shape; perturbed in place and restored.
      h: base step; entry i uses h * max(1, |x_i|) if scale_step, else h.
      scheme: "forward", "backward" or "central".
      scale_step: scale the step with |x_i| so large entries are not perturbed below
        their rounding unit.
      evaluations: if a dict is given, it receives float64 arrays "plus" and "minus" of
        f(x + h_i e_i) and f(x - h_i e_i), so the forward and backward slopes are known from
        the same evaluations (a kink shows as slopes that disagree).

    Returns:
      A float64 array of x.shape.
    """
    _check_float_array(x, "numerical_gradient")
    _check_scheme(scheme)
    _check_step(h)
    saved = x.copy()
    grad = np.empty(x.shape, dtype=np.float64)
    if evaluations is not None:
        plus = evaluations["plus"] = np.empty(x.shape, dtype=np.float64)
        minus = evaluations["minus"] = np.empty(x.shape, dtype=np.float64)
    try:
        # One-sided schemes share f(x) across all entries: evaluate it once.
        base = _evaluate(f, x, None, "base") if scheme != "central" else 0.0
        for idx in np.ndindex(x.shape):
            original = saved[idx]
            step = _step(h, original, scale_step)
            if scheme == "backward":
                f_plus = base
            else:
                x[idx] = original + step
                f_plus = _evaluate(f, x, idx, "plus")
            if scheme == "forward":
                f_minus = base
            else:
                x[idx] = original - step
                f_minus = _evaluate(f, x, idx, "minus")
            # Restore from the saved copy: original + step - step need not equal original.
            x[idx] = original
            width = 2.0 * step if scheme == "central" else step
            grad[idx] = (f_plus - f_minus) / width
            if evaluations is not None:
                plus[idx], minus[idx] = f_plus, f_minus
    finally:
        np.copyto(x, saved)
    return grad


def numerical_gradient_batched(
    f_batched: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    h: float = 1e-4,
    scheme: str = "central",
    scale_step: bool = True,
    block_bytes: int = 2**20,
) -> np.ndarray:
    """numerical_gradient for a function that takes a stack of copies of x at once.

    f_batched receives an array of shape (B, *x.shape) -- B perturbed copies of x --
    and returns B values. One call then covers a block of entries, so the Python and
    NumPy call overhead of the per-entry loop is paid once per block. x is never
    modified.

    Args:
      f_batched: function of a stack of copies of x returning one value per copy.
      x: floating-point array of any shape.
      h: base step, scaled as in numerical_gradient.
      scheme: "forward", "backward" or "central".
      scale_step: scale the step with |x_i|.
      block_bytes: memory budget for one block of copies (sets B); about 1 MB keeps a
        block in cache, which measured faster than larger blocks.

    Returns:
      A float64 array of x.shape.
    """
    _check_float_array(x, "numerical_gradient_batched")
    _check_scheme(scheme)
    _check_step(h)
    flat = x.reshape(-1)
    steps = (
        h * np.maximum(1.0, np.abs(flat.astype(np.float64)))
        if scale_step
        else np.full(flat.size, h)
    )
    # Each entry needs one copy per side it is perturbed on.
    sides = {"central": (1.0, -1.0), "forward": (1.0,), "backward": (-1.0,)}[scheme]
    per_block = max(1, min(flat.size, block_bytes // max(1, x.nbytes * len(sides))))
    base = None
    if scheme != "central":
        base = _values(f_batched, x[np.newaxis], 1, None)[0]
    grad = np.empty(flat.size, dtype=np.float64)
    for start in range(0, flat.size, per_block):
        entries = np.arange(start, min(start + per_block, flat.size))
        copies = np.repeat(flat[np.newaxis], len(sides) * len(entries), axis=0)
        for side_number, sign in enumerate(sides):
            rows = side_number * len(entries) + np.arange(len(entries))
            # The same rounding as x[idx] = original + step in numerical_gradient.
            copies[rows, entries] = flat[entries] + sign * steps[entries]
        values = _values(f_batched, copies.reshape((-1, *x.shape)), len(copies), start)
        values = values.reshape(len(sides), len(entries))
        if scheme == "central":
            grad[entries] = (values[0] - values[1]) / (2.0 * steps[entries])
        elif scheme == "forward":
            grad[entries] = (values[0] - base) / steps[entries]
        else:
            grad[entries] = (base - values[0]) / steps[entries]
    return grad.reshape(x.shape)


def numerical_directional_derivative(
    f: Callable[[np.ndarray], float], x: np.ndarray, direction: np.ndarray, h: float = 1e-4
) -> float:
    """Slope of f at x along a direction: (f(x + h d) - f(x - h d)) / 2h.

    The directional derivative is grad f . d, so a few random directions probe every
    entry of the gradient at the cost of two evaluations each. x is perturbed in place
    (as in numerical_gradient) and comes back bit-identical.

    Args:
      f: function of x returning a scalar.
      x: floating-point array; perturbed in place and restored.
      direction: array of x.shape (a unit vector gives the slope per unit length).
      h: the step along the direction.

    Returns:
      The slope estimate as a Python float.
    """
    _check_float_array(x, "numerical_directional_derivative")
    _check_step(h)
    saved = x.copy()
    try:
        x[...] = saved + h * direction
        f_plus = _evaluate(f, x, None, "plus")
        x[...] = saved - h * direction
        f_minus = _evaluate(f, x, None, "minus")
    finally:
        np.copyto(x, saved)
    return (f_plus - f_minus) / (2.0 * h)


def _step(h: float, value: float, scale_step: bool) -> float:
    """The step for one entry: h * max(1, |value|) if scale_step, else h.

    Python's max keeps 1 for a NaN entry (numerical_gradient_batched's np.maximum gives NaN).
    """
    return h * max(1.0, abs(float(value))) if scale_step else h


def _evaluate(f: Callable, x: np.ndarray, idx: tuple | None, side: str) -> float:
    """Call f(x) as a float; if f raises, tag the exception with where it happened."""
    try:
        value = f(x)
    except Exception as exc:
        # The same exception object goes up, now saying which entry broke f.
        exc.gradcheck_index = idx
        exc.gradcheck_side = side
        if idx is None:
            exc.add_note("numerical_gradient: f raised at the unperturbed x (base side)")
        else:
            exc.add_note(f"numerical_gradient: f raised while perturbing entry {idx} ({side} side)")
        raise
    if isinstance(value, float):  # Python float and np.float64: the fast path
        return float(value)
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got shape {value.shape}")
    return float(value.reshape(()))


def _values(f_batched: Callable, copies: np.ndarray, count: int, start: int | None) -> np.ndarray:
    """Call f_batched on a block of copies and check it returned one value per copy."""
    try:
        values = np.asarray(f_batched(copies), dtype=np.float64)
    except Exception as exc:
        where = "the unperturbed x" if start is None else f"the block from flat entry {start}"
        exc.add_note(f"numerical_gradient_batched: f raised on {where}")
        raise
    if values.shape != (count,):
        raise ValueError(
            f"a batched f must return one value per copy: got shape {values.shape} "
            f"for {count} copies"
        )
    return values


def _check_float_array(x: object, caller: str) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{caller} needs a NumPy array to perturb in place, got {type(x).__name__}; "
            "pass np.asarray(x, dtype=np.float64)"
        )
    if not np.issubdtype(x.dtype, np.floating):
        # An integer x + 1e-4 rounds back to x, which gives silently wrong gradients.
        raise TypeError(
            f"{caller} needs a floating-point array, got {x.dtype}; pass x.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError(f"{caller} perturbs x in place, but x is read-only; pass x.copy()")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def _check_step(h: float) -> None:
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
