"""The seed note's directional derivatives (방향 미분): the slope of f along a direction u at x
is grad f . u. Each case checks the one-variable function g(t) = function_2(x + t u) at t = 0: its
finite-difference slope against jax.grad, and the note's own formula grad f . u, with
grad f = 2x, as the hand-written gradient. The point and the direction are data (data=), so only
t is differentiated, and all cases share one reference."""

import numpy as np

from harness import case, oracle, scratch

X = np.array([2.0, 1.0])
GRAD = 2.0 * X  # (4, 2)
UNIT = GRAD / np.linalg.norm(GRAD)


def along(t, x, u):
    """function_2 on the line through x along u (NumPy, under test)."""
    return scratch.function_2(x + t * u)


def along_reference(t, x, u):
    """The same line through the JAX twin."""
    return oracle.function_2(x + t * u)


def note_slope(t, x, u):
    """The note's directional derivative: grad f . u, grad f = 2 x, at the point x + t u."""
    return np.array(np.dot(2.0 * (x + t * u), u))


# The note's example: (4, 2) . (1, 1) = 6 at (2, 1) (an unnormalised direction).
# Steepest descent: the slope is largest along grad f (|grad f| = sqrt(20)), smallest against it,
# and zero perpendicular to it (the contour's direction).
for label, direction in (
    ("u=(1,1)", np.array([1.0, 1.0])),
    ("u=+grad", UNIT),
    ("u=-grad", -UNIT),
    ("u=perpendicular", np.array([-UNIT[1], UNIT[0]])),
):
    case(
        f"function_2/directional/x=(2,1)/{label}",
        fn=along,
        reference=along_reference,
        args=(np.array(0.0), X.copy(), direction),
        data=("x", "u"),
        grad=note_slope,
        tags=("seed", "function", "directional"),
        # Across the gradient the exact slope is 0: the sweep's error relative to it has no scale.
        sweep=label != "u=perpendicular",
    )
