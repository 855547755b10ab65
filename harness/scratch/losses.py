"""Loss functions: how far the network's output y is from the target t."""

import numpy as np


def sum_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """Sum of squared errors E = 1/2 * sum_k (y_k - t_k)^2 over all entries.

    Args:
      y: network output, any shape.
      t: target of the same shape as y (e.g. one-hot).

    Returns:
      E as a Python float (no averaging over a batch, as in the seed note).
    """
    y, t = np.asarray(y), np.asarray(t)
    if y.shape != t.shape:
        # Broadcasting would silently compare the wrong entries.
        raise ValueError(f"y and t must have the same shape, got {y.shape} and {t.shape}")
    return float(0.5 * np.sum((y - t) ** 2))


def cross_entropy_error(y: np.ndarray, t: np.ndarray, delta: float = 1e-7) -> float:
    """Cross-entropy E = -1/N * sum_n sum_k t_nk * log(y_nk + delta).

    Args:
      y: probabilities, shape (C,) or (N, C); a 1-D y is a batch of one.
      t: integer class labels (scalar for 1-D y, shape (N,) otherwise), or targets of
        the same shape as y (one-hot or soft; soft targets are used as they are).
      delta: added inside the log so that y = 0 gives a large loss instead of inf.

    Returns:
      E averaged over the batch, as a Python float.
    """
    y, t, labels = _batch_targets(y, t)
    batch_size = y.shape[0]
    if labels:
        # Only the probability of the correct class contributes: -log y[n, t_n].
        return float(-np.sum(np.log(y[np.arange(batch_size), t] + delta)) / batch_size)
    return float(-np.sum(t * np.log(y + delta)) / batch_size)


def batch_targets(y: np.ndarray, t: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Targets of a batch as (N, C) rows: integer labels become one-hot rows of dtype.

    Args:
      y: probabilities, shape (C,) or (N, C); a 1-D y is a batch of one.
      t: integer labels, or targets of y's shape (returned as they are, reshaped to a batch).
      dtype: dtype of the one-hot rows built from labels.

    Returns:
      The targets, shape (N, C).
    """
    y, t, labels = _batch_targets(y, t)
    if labels:
        return np.eye(y.shape[1], dtype=dtype)[t]
    return t


def _batch_targets(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bring (y, t) to a batch: y (N, C), t labels (N,) or targets (N, C).

    Returns:
      (y, t, labels) where labels says whether t holds class indices.
    """
    y, t = np.asarray(y), np.asarray(t)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must have shape (C,) or (N, C), got {y.shape}")
    if y.ndim == 1:
        # The seed's "no batch" case: treat a single example as a batch of one.
        if t.shape == y.shape:
            t = t.reshape(1, -1)
        elif t.ndim == 0:
            t = t.reshape(1)
        else:
            raise ValueError(
                f"for y of shape {y.shape}, t must be a scalar label or have shape "
                f"{y.shape}, got {t.shape}"
            )
        y = y.reshape(1, -1)
    batch_size, num_classes = y.shape
    if t.shape == y.shape:
        return y, t, False
    if t.shape != (batch_size,):
        raise ValueError(
            f"t must be labels of shape ({batch_size},) or targets of shape {y.shape}, "
            f"got {t.shape}"
        )
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {t.dtype}; pass t.astype(int)")
    # A negative label would silently index from the end of the row.
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got values from {t.min()} to {t.max()}"
        )
    return y, t, True
