"""Independent JAX references for the seed's functions (chapter 4 of *Deep Learning from Scratch*).

Every function here is written in ``jax.numpy`` (and ``jax.nn`` where it is the same
mathematical function), is pure, and is evaluated in float64 because the package enables
``jax_enable_x64`` on import. Nothing here is shared with ``harness.scratch``: the oracle is
what the from-scratch code is checked against, so it must not be built from it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

Array = jax.Array

_CROSS_ENTROPY_DELTA = 1e-7


# --- activations -------------------------------------------------------------------------------


def sigmoid(x: ArrayLike) -> Array:
    """Logistic function 1 / (1 + exp(-x)), elementwise.

    Args:
      x: input array.

    Returns:
      An array of x's shape with values in (0, 1).
    """
    return jax.nn.sigmoid(x)


def softmax(x: ArrayLike) -> Array:
    """Softmax over the last axis, exp(x_k) / sum_j exp(x_j).

    Args:
      x: logits of shape (..., C).

    Returns:
      An array of x's shape whose last-axis entries are positive and sum to one.
    """
    return jax.nn.softmax(x, axis=-1)


def relu(x: ArrayLike) -> Array:
    """Rectified linear unit max(0, x), elementwise.

    JAX defines the derivative at exactly 0 as 0 (the kink is the checker's business).

    Args:
      x: input array.

    Returns:
      An array of x's shape.
    """
    return jax.nn.relu(x)


def tanh(x: ArrayLike) -> Array:
    """Hyperbolic tangent, elementwise.

    Args:
      x: input array.

    Returns:
      An array of x's shape with values in (-1, 1).
    """
    return jnp.tanh(x)


# --- losses ------------------------------------------------------------------------------------


def sum_squared_error(y: ArrayLike, t: ArrayLike) -> Array:
    """Sum of squared errors 0.5 * sum((y - t)**2) over all entries.

    Args:
      y: predictions.
      t: targets, broadcastable against y.

    Returns:
      A scalar.
    """
    y = jnp.asarray(y)
    t = jnp.asarray(t)
    return 0.5 * jnp.sum(jnp.square(y - t))


def cross_entropy_error(y: ArrayLike, t: ArrayLike, delta: float = _CROSS_ENTROPY_DELTA) -> Array:
    """Mean cross-entropy -sum(t * log(y + delta)) / N over a batch of probability rows.

    ``t`` is read as targets (one-hot or soft) when it has y's shape, otherwise as integer
    class labels, one per row. A 1-D ``y`` is a batch of one. ``delta`` keeps log finite at
    y = 0, as in the seed.

    Args:
      y: probabilities of shape (C,) or (N, C).
      t: targets of y's shape, or integer labels of shape () / (1,) for 1-D y or (N,).
      delta: small constant added inside the logarithm.

    Returns:
      A scalar: the cross-entropy averaged over the N rows.

    Raises:
      ValueError: if t is neither y-shaped targets nor integer labels matching the batch.
    """
    y = jnp.asarray(y)
    t = jnp.asarray(t)
    if y.ndim not in (1, 2):
        raise ValueError(f"cross_entropy_error expects y of shape (C,) or (N, C), got {y.shape}")
    if t.shape == y.shape:
        targets = jnp.reshape(t, (-1, y.shape[-1])).astype(y.dtype)
        rows = jnp.reshape(y, targets.shape)
        return -jnp.sum(targets * jnp.log(rows + delta)) / rows.shape[0]
    if not jnp.issubdtype(t.dtype, jnp.integer):
        raise ValueError(
            f"cross_entropy_error: t of shape {t.shape} and dtype {t.dtype} is neither targets "
            f"of y's shape {y.shape} nor integer labels"
        )
    rows = jnp.reshape(y, (-1, y.shape[-1]))
    labels = jnp.reshape(t, (-1,))
    if labels.shape[0] != rows.shape[0]:
        raise ValueError(
            f"cross_entropy_error: {labels.shape[0]} labels for a batch of {rows.shape[0]} rows"
        )
    picked = jnp.take_along_axis(rows, labels[:, None], axis=1)[:, 0]
    return -jnp.sum(jnp.log(picked + delta)) / rows.shape[0]


# --- the seed's example functions --------------------------------------------------------------


def function_1(x: ArrayLike) -> Array:
    """The seed's 1-D example 0.01 * x**2 + 0.1 * x (derivative 0.02 * x + 0.1).

    Args:
      x: input array (usually a scalar).

    Returns:
      An array of x's shape.
    """
    x = jnp.asarray(x)
    return 0.01 * x**2 + 0.1 * x


def function_2(x: ArrayLike) -> Array:
    """The seed's 2-D example x0**2 + x1**2, i.e. the sum of squares over the last axis.

    Args:
      x: input of shape (..., D).

    Returns:
      An array of shape x.shape[:-1] (a scalar for a single point).
    """
    x = jnp.asarray(x)
    return jnp.sum(x**2, axis=-1)


# --- the two-layer network ---------------------------------------------------------------------


def two_layer_predict(
    W1: ArrayLike, b1: ArrayLike, W2: ArrayLike, b2: ArrayLike, x: ArrayLike
) -> Array:
    """Forward pass softmax(sigmoid(x @ W1 + b1) @ W2 + b2) of the seed's two-layer net.

    Args:
      W1: first-layer weights (D, H).
      b1: first-layer bias (H,).
      W2: second-layer weights (H, C).
      b2: second-layer bias (C,).
      x: inputs (N, D) or (D,).

    Returns:
      Class probabilities of shape (N, C) or (C,).
    """
    hidden = sigmoid(jnp.asarray(x) @ W1 + b1)
    return softmax(hidden @ W2 + b2)


def two_layer_loss(
    W1: ArrayLike, b1: ArrayLike, W2: ArrayLike, b2: ArrayLike, x: ArrayLike, t: ArrayLike
) -> Array:
    """Cross-entropy loss of the two-layer net, the function whose gradient the seed computes.

    Args:
      W1: first-layer weights (D, H).
      b1: first-layer bias (H,).
      W2: second-layer weights (H, C).
      b2: second-layer bias (C,).
      x: inputs (N, D).
      t: one-hot targets (N, C) or integer labels (N,).

    Returns:
      A scalar: cross_entropy_error(two_layer_predict(W1, b1, W2, b2, x), t).
    """
    return cross_entropy_error(two_layer_predict(W1, b1, W2, b2, x), t)


def two_layer_backprop_reference(
    W1: ArrayLike, b1: ArrayLike, W2: ArrayLike, b2: ArrayLike, x: ArrayLike, t: ArrayLike
) -> Array:
    """The loss whose gradient the textbook backprop computes: two_layer_loss with delta = 0.

    Backprop's (y - t) / N is the gradient of -sum t log(y) / N, not of -sum t log(y + 1e-7) / N:
    the two differ by the factor y / (y + 1e-7) per example, about 1e-6 relative for the seed
    network, far above backprop's rounding error. So backprop is checked against this delta-free
    loss, the one it actually differentiates.

    Args:
      W1: first-layer weights (D, H).
      b1: first-layer bias (H,).
      W2: second-layer weights (H, C).
      b2: second-layer bias (C,).
      x: inputs (N, D).
      t: one-hot or soft targets (N, C), or integer labels (N,).

    Returns:
      A scalar: cross_entropy_error(two_layer_predict(W1, b1, W2, b2, x), t, delta=0.0).
    """
    return cross_entropy_error(two_layer_predict(W1, b1, W2, b2, x), t, delta=0.0)


def accuracy(y: ArrayLike, t: ArrayLike) -> Array:
    """Fraction of rows whose argmax matches the label.

    Args:
      y: scores or probabilities (C,) or (N, C).
      t: integer labels (N,) / scalar, or one-hot targets of y's shape.

    Returns:
      A scalar in [0, 1].
    """
    y = jnp.asarray(y)
    t = jnp.asarray(t)
    rows = jnp.reshape(y, (-1, y.shape[-1]))
    if t.shape == y.shape:
        labels = jnp.argmax(jnp.reshape(t, rows.shape), axis=1)
    else:
        labels = jnp.reshape(t, (-1,))
    predicted = jnp.argmax(rows, axis=1)
    return jnp.mean((predicted == labels).astype(jnp.float64))
