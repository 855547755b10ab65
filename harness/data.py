"""Seeded stand-ins for the seed note's data: MNIST-shaped batches and network outputs.

No data set is downloaded: the checks need the shapes and value ranges of MNIST, not its pixels.
"""

from __future__ import annotations

import numpy as np


def mnist_like_batch(
    batch_size: int = 100, input_size: int = 784, classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1) shaped like flattened MNIST images, and integer labels.

    Args:
      batch_size: rows.
      input_size: pixels per row (784 = 28 x 28).
      classes: label range.
      seed: RNG seed.

    Returns:
      (x float64 (batch_size, input_size), t int64 (batch_size,)).
    """
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, input_size))
    t = rng.integers(0, classes, size=batch_size)
    return x, t


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """One-hot float64 rows for integer labels."""
    out = np.zeros((labels.size, classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def softmax_outputs(rows: int, classes: int = 10, seed: int = 0) -> np.ndarray:
    """Rows of probabilities like a network's softmax outputs, every one well above the step h."""
    rng = np.random.default_rng(seed)
    logits = 1.5 * rng.standard_normal((rows, classes))
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)
