"""A multi-layer perceptron of any depth: forward pass and hand-written backprop, NumPy only.

The network is affine -> activation, repeated for every hidden layer, then affine -> softmax ->
loss. Parameters are passed flat, in order W1, b1, W2, b2, ..., so that a gradient can be asked for
with respect to each one. ``activation`` is "sigmoid", "tanh" or "relu"; ``loss`` is "sse" (the
seed's sum of squared errors on the softmax output, not averaged) or "cross_entropy" (the seed's
mean cross-entropy with delta 1e-7). Targets are integer labels (N,) or one-hot rows (N, C).
"""

import numpy as np

from harness.scratch.activations import relu, sigmoid, softmax, tanh
from harness.scratch.losses import batch_targets, cross_entropy_error, sum_squared_error

ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}
LOSSES = ("sse", "cross_entropy")


def init_mlp_params(
    sizes: tuple[int, ...], init_scale: float = 0.01, seed: int = 0, dtype: type = np.float64
) -> list[np.ndarray]:
    """Gaussian weights and biases of scale ``init_scale``, reproducible from ``seed``.

    Biases are drawn too (not zero as in the seed) so that a wrong bias gradient shows.

    Args:
      sizes: layer widths, input first, output last (at least two).
      init_scale: standard deviation of every weight and bias.
      seed: seed for np.random.default_rng.
      dtype: float32 or float64.

    Returns:
      [W1, b1, W2, b2, ...] with W_l of shape (sizes[l-1], sizes[l]).
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {sizes}")
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append((init_scale * rng.standard_normal((fan_in, fan_out))).astype(dtype))
        params.append((init_scale * rng.standard_normal(fan_out)).astype(dtype))
    return params


def _check_names(activation: str, loss: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")


def _forward(activation: str, x: np.ndarray, params: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Every layer's output: [x, h1, ..., h_last_hidden, probabilities]."""
    act = ACTIVATIONS[activation]
    outputs = [x]
    layers = len(params) // 2
    for layer in range(layers):
        W, b = params[2 * layer], params[2 * layer + 1]
        pre = outputs[-1] @ W + b
        outputs.append(softmax(pre) if layer == layers - 1 else act(pre))
    return outputs


def mlp_predict(activation: str, x: np.ndarray, *params: np.ndarray) -> np.ndarray:
    """Class probabilities of the network.

    Args:
      activation: hidden activation name.
      x: inputs (N, D).
      *params: W1, b1, ..., WL, bL.

    Returns:
      Probabilities (N, C).
    """
    return _forward(activation, x, params)[-1]


def mlp_loss(
    activation: str, loss: str, x: np.ndarray, t: np.ndarray, *params: np.ndarray
) -> float:
    """The network's loss on a batch.

    Args:
      activation: "sigmoid", "tanh" or "relu".
      loss: "sse" or "cross_entropy".
      x: inputs (N, D).
      t: integer labels (N,) or one-hot targets (N, C).
      *params: W1, b1, ..., WL, bL.

    Returns:
      The loss as a NumPy scalar of the network's dtype: a float32 network says so, and its
      checker judges it by float32 rounding (a Python float would claim float64 precision).
    """
    _check_names(activation, loss)
    y = mlp_predict(activation, x, *params)
    if loss == "cross_entropy":
        return y.dtype.type(cross_entropy_error(y, t))
    targets = batch_targets(y, t, dtype=y.dtype)
    return y.dtype.type(sum_squared_error(y, targets))


def mlp_gradient(
    activation: str, loss: str, x: np.ndarray, t: np.ndarray, *params: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Backpropagation through the network: one gradient per parameter, in order.

    For cross-entropy this is the textbook (y - t) / N, the gradient of the delta-free loss
    -sum t log y / N (see two_layer_gradient for why that differs from the delta loss).

    Args:
      activation, loss, x, t, *params: as for mlp_loss.

    Returns:
      (dW1, db1, ..., dWL, dbL), each shaped like its parameter.
    """
    _check_names(activation, loss)
    outputs = _forward(activation, x, params)
    y = outputs[-1]
    targets = batch_targets(y, t, dtype=y.dtype)
    if loss == "cross_entropy":
        # Softmax + cross-entropy together: (y * sum(t) - t) / N (sum(t) = 1 for one-hot rows).
        d_pre = (y * targets.sum(axis=1, keepdims=True) - targets) / y.shape[0]
    else:
        # dE/dy = y - t, then through the softmax Jacobian diag(y) - y y^T.
        d_y = y - targets
        d_pre = y * (d_y - np.sum(d_y * y, axis=1, keepdims=True))
    grads: list[np.ndarray] = []
    layers = len(params) // 2
    for layer in reversed(range(layers)):
        W = params[2 * layer]
        below = outputs[layer]
        grads[:0] = [below.T @ d_pre, d_pre.sum(axis=0)]
        if layer == 0:
            break
        d_below = d_pre @ W.T
        d_pre = d_below * _activation_slope(activation, below)
    return tuple(grads)


def _activation_slope(activation: str, out: np.ndarray) -> np.ndarray:
    """The activation's derivative, written in terms of its output."""
    if activation == "sigmoid":
        return out * (1.0 - out)
    if activation == "tanh":
        return 1.0 - out * out
    # relu: slope 1 where the unit is on, 0 where it is off (0 at the kink itself, as in JAX).
    return (out > 0).astype(out.dtype)
