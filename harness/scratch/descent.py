"""Gradient descent: walk downhill along the numerical gradient, x <- x - lr * grad f(x)."""

from collections.abc import Callable

import numpy as np

from harness.scratch.numerical import numerical_gradient


def gradient_descent(
    f: Callable[[np.ndarray], float],
    init_x: np.ndarray,
    lr: float = 0.01,
    step_num: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise f by step_num steps of gradient descent from init_x.

    Args:
      f: function of x returning a scalar.
      init_x: starting point; not modified (the walk happens on a float copy).
      lr: learning rate; too large diverges, too small barely moves.
      step_num: number of steps.

    Returns:
      (x, history): the final point, and every point visited with shape
      (step_num + 1, *x.shape), from init_x to the final x.
    """
    x = np.array(init_x, copy=True)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    history = np.empty((step_num + 1, *x.shape), dtype=x.dtype)
    history[0] = x
    for step in range(step_num):
        x -= lr * numerical_gradient(f, x)
        history[step + 1] = x
    return x, history
