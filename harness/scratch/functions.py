"""The two example functions of the seed note's numerical-differentiation section."""

import numpy as np


def function_1(x: np.ndarray | float) -> np.ndarray | float:
    """y = 0.01 x^2 + 0.1 x, whose derivative is 0.02 x + 0.1.

    Args:
      x: a number or an array (applied element-wise).

    Returns:
      f(x), same shape as x.
    """
    return 0.01 * x**2 + 0.1 * x


def function_2(x: np.ndarray) -> np.ndarray | float:
    """f(x0, x1) = x0^2 + x1^2, written as a sum of squares over the last axis.

    Args:
      x: array of shape (..., n); the seed uses a 1-D array of length 2.

    Returns:
      A scalar for 1-D x, otherwise an array of shape x.shape[:-1].
    """
    return np.sum(np.asarray(x) ** 2, axis=-1)
