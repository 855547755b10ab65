"""Independent jax.numpy reference for a multi-layer perceptron of any depth.

Same signature as harness.scratch.mlp.mlp_loss -- (activation, loss, x, t, *params) -- so a check
can hand both the same arguments; the strings are static for the oracle's cache, so every network
of one shape compiles once. Written from the math, never from the scratch code.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from harness.oracle.functions import (
    cross_entropy_error,
    relu,
    sigmoid,
    softmax,
    sum_squared_error,
    tanh,
)

_ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}


def mlp_predict(activation: str, x: ArrayLike, *params: ArrayLike) -> jax.Array:
    """Class probabilities softmax(... act(x W1 + b1) ... WL + bL).

    Args:
      activation: "sigmoid", "tanh" or "relu".
      x: inputs (N, D).
      *params: W1, b1, ..., WL, bL.

    Returns:
      Probabilities (N, C).
    """
    act = _ACTIVATIONS[activation]
    hidden = jnp.asarray(x)
    weights, biases = params[0::2], params[1::2]
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        hidden = act(hidden @ W + b)
    return softmax(hidden @ weights[-1] + biases[-1])  # over the last (class) axis


def _targets(t: jax.Array, classes: int, dtype: jnp.dtype) -> jax.Array:
    return t.astype(dtype) if t.ndim == 2 else jax.nn.one_hot(t, classes, dtype=dtype)


def mlp_loss(
    activation: str, loss: str, x: ArrayLike, t: ArrayLike, *params: ArrayLike
) -> jax.Array:
    """The network's loss: "sse" (0.5 sum (y - t)^2, not averaged) or "cross_entropy" (delta 1e-7).

    Args:
      activation: "sigmoid", "tanh" or "relu".
      loss: "sse" or "cross_entropy".
      x: inputs (N, D).
      t: integer labels (N,) or one-hot targets (N, C).
      *params: W1, b1, ..., WL, bL.

    Returns:
      A scalar.
    """
    y = mlp_predict(activation, x, *params)
    t = jnp.asarray(t)
    if loss == "cross_entropy":
        return cross_entropy_error(y, t)
    if loss == "sse":
        return sum_squared_error(y, _targets(t, y.shape[-1], y.dtype))
    raise ValueError(f"unknown loss {loss!r}")


def mlp_backprop_reference(
    activation: str, loss: str, x: ArrayLike, t: ArrayLike, *params: ArrayLike
) -> jax.Array:
    """The loss whose gradient the textbook backprop computes: cross-entropy without delta.

    Backprop's (y - t) / N is the gradient of -sum t log(y) / N; the delta 1e-7 inside the log
    changes the gradient by about 1e-7 / y relative, far above backprop's rounding. SSE has no
    delta, so it is its own reference.

    Args:
      activation, loss, x, t, *params: as for mlp_loss.

    Returns:
      A scalar.
    """
    if loss != "cross_entropy":
        return mlp_loss(activation, loss, x, t, *params)
    y = mlp_predict(activation, x, *params)
    return cross_entropy_error(y, jnp.asarray(t), delta=0.0)
