"""Independent JAX twins of the book's backprop layers (chapters 5-7 of *Deep Learning from
Scratch*), and the table that matches a layer class to its twin.

Each twin is the layer's forward pass as a pure function of (inputs, parameters): no state, no
cache, no randomness (dropout takes its mask as data). They are written from the math and from
JAX's own primitives -- convolution is ``lax.conv_general_dilated``, max pooling
``lax.reduce_window`` -- never from the im2col code they check, so a bug in that code cannot be
checked against itself.

`LAYER_TWINS` says, per layer class name, which twin computes it, which layer attributes are its
parameters (in the twin's order), which are its configuration (stride, pad, window size) and
which arrays the layer draws during its forward pass (dropout's mask).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from harness.oracle.functions import cross_entropy_error, relu, sigmoid, softmax, tanh

# The book's batch normalization adds 10e-7 (= 1e-6) to the variance before taking the root.
BATCH_NORM_EPS = 1e-6
CROSS_ENTROPY_DELTA = 1e-7


def affine(x: ArrayLike, W: ArrayLike, b: ArrayLike) -> jax.Array:
    """x W + b, with x of any rank read as (N, -1) rows.

    Args:
      x: (N, ...) inputs.
      W: (D, M) weights, D the product of x's trailing axes.
      b: (M,) bias.

    Returns:
      (N, M).
    """
    x = jnp.asarray(x)
    return jnp.reshape(x, (x.shape[0], -1)) @ W + b


def relu_layer(x: ArrayLike) -> jax.Array:
    """max(0, x), elementwise (jax.nn.relu: the slope at 0 is 0, as the book's mask x <= 0)."""
    return relu(x)


def sigmoid_layer(x: ArrayLike) -> jax.Array:
    """1 / (1 + exp(-x)), elementwise."""
    return sigmoid(x)


def tanh_layer(x: ArrayLike) -> jax.Array:
    """tanh(x), elementwise."""
    return tanh(x)


def softmax_with_loss(x: ArrayLike, t: ArrayLike, delta: float = CROSS_ENTROPY_DELTA) -> jax.Array:
    """Mean cross-entropy of softmax(x) against labels (N,) or one-hot rows (N, C).

    Args:
      x: scores (N, C).
      t: integer labels or targets of x's shape.
      delta: added inside the log (the book's 1e-7; 0 gives the loss whose gradient the
        textbook backward pass (y - t) / N is).

    Returns:
      A scalar.
    """
    return cross_entropy_error(softmax(x), t, delta)


def softmax_with_loss_without_delta(x: ArrayLike, t: ArrayLike) -> jax.Array:
    """`softmax_with_loss` with delta = 0: what backprop's (y - t) / N differentiates."""
    return softmax_with_loss(x, t, delta=0.0)


def convolution(
    x: ArrayLike, W: ArrayLike, b: ArrayLike, stride: int = 1, pad: int = 0
) -> jax.Array:
    """2-D cross-correlation of (N, C, H, W) images with (FN, C, FH, FW) filters, plus b per
    filter, by ``lax.conv_general_dilated``.

    Args:
      x: images.
      W: filters.
      b: (FN,) bias.
      stride: the same step along both axes.
      pad: zeros on every side.

    Returns:
      (N, FN, out_h, out_w).
    """
    out = lax.conv_general_dilated(
        jnp.asarray(x),
        jnp.asarray(W),
        window_strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        precision=lax.Precision.HIGHEST,
    )
    return out + jnp.reshape(b, (1, -1, 1, 1))


def max_pooling(x: ArrayLike, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> jax.Array:
    """Maximum over pool_h x pool_w windows of each channel, by ``lax.reduce_window``.

    Padding adds zeros (not -inf), as the book's im2col does, so a window of negative entries
    that overlaps the padding has maximum 0.

    Args:
      x: (N, C, H, W).
      pool_h, pool_w: window size.
      stride: the same step along both axes.
      pad: zeros on every side.

    Returns:
      (N, C, out_h, out_w).
    """
    padded = jnp.pad(jnp.asarray(x), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return lax.reduce_window(
        padded, -jnp.inf, lax.max, (1, 1, pool_h, pool_w), (1, 1, stride, stride), "VALID"
    )


def batch_norm_train(
    x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = BATCH_NORM_EPS
) -> jax.Array:
    """Training-mode batch normalization: each feature of the (N, -1) rows normalised by the
    batch's mean and (biased) variance, then scaled by gamma and shifted by beta.

    Args:
      x: (N, ...) inputs; an (N, C, H, W) feature map is normalised per flattened feature.
      gamma, beta: one entry per flattened feature.
      eps: added to the variance.

    Returns:
      x's shape.
    """
    x = jnp.asarray(x)
    rows = jnp.reshape(x, (x.shape[0], -1))
    mean = jnp.mean(rows, axis=0)
    var = jnp.mean(jnp.square(rows - mean), axis=0)
    normalised = (rows - mean) * lax.rsqrt(var + eps)
    return jnp.reshape(gamma * normalised + beta, x.shape)


def dropout(x: ArrayLike, mask: ArrayLike) -> jax.Array:
    """Training-mode dropout with the mask the layer drew, given as data: x * mask."""
    return jnp.asarray(x) * jnp.asarray(mask)


@dataclass(frozen=True)
class LayerTwin:
    """How to compute a layer class with its twin.

    Attributes:
      forward: the twin, called as forward(*inputs, *params, *data, **config).
      params: the layer's parameter attributes, in the twin's order.
      config: layer attributes passed to the twin by keyword (static: stride, pad, sizes).
      data: arrays the layer draws in its forward pass, read from it afterwards (dropout's mask).
      inputs: how many inputs forward takes (SoftmaxWithLoss: x and t).
      backprop: the function whose gradient the textbook backward pass computes, when that is not
        `forward` (SoftmaxWithLoss: the loss without its delta).
    """

    forward: Callable[..., jax.Array]
    params: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    inputs: int = 1
    backprop: Callable[..., jax.Array] | None = None


LAYER_TWINS: dict[str, LayerTwin] = {
    "Affine": LayerTwin(affine, params=("W", "b")),
    "Relu": LayerTwin(relu_layer),
    "Sigmoid": LayerTwin(sigmoid_layer),
    "Tanh": LayerTwin(tanh_layer),
    "SoftmaxWithLoss": LayerTwin(
        softmax_with_loss, inputs=2, backprop=softmax_with_loss_without_delta
    ),
    "Convolution": LayerTwin(convolution, params=("W", "b"), config=("stride", "pad")),
    "Pooling": LayerTwin(max_pooling, config=("pool_h", "pool_w", "stride", "pad")),
    "BatchNormalization": LayerTwin(batch_norm_train, params=("gamma", "beta")),
    "Dropout": LayerTwin(dropout, data=("mask",)),
}
