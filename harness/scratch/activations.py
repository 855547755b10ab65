"""Activation functions: the non-linearities a network is built from.

Each one works element-wise (softmax along the last axis) on arrays of any shape.
"""

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), without overflow for large |x|.

    Args:
      x: array of any shape.

    Returns:
      An array of the same shape with values in [0, 1].
    """
    x = np.asarray(x)
    # exp(-|x|) is at most 1, so it never overflows; the two branches are the same
    # formula rewritten for positive and negative x.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax along the last axis: exp(x_k) / sum_j exp(x_j).

    Args:
      x: array of shape (..., C); every leading axis is treated as a batch axis.

    Returns:
      An array of the same shape whose last axis sums to 1.
    """
    x = np.asarray(x)
    # Subtracting the row maximum does not change the result but keeps exp() <= 1.
    shifted = x - np.max(x, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=-1, keepdims=True)


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(0, x).

    Args:
      x: array of any shape.

    Returns:
      An array of the same shape.
    """
    return np.maximum(0, x)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (np.tanh), kept here so every activation has one home.

    Args:
      x: array of any shape.

    Returns:
      An array of the same shape with values in [-1, 1].
    """
    return np.tanh(x)
