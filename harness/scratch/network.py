"""The seed's two-layer network: affine -> sigmoid -> affine -> softmax -> cross-entropy.

The functional forms take every parameter as a positional argument, so a gradient can
be asked for with respect to any of them; TwoLayerNet wraps them the way the book does.
"""

import numpy as np

from harness.scratch.activations import sigmoid, softmax
from harness.scratch.losses import batch_targets, cross_entropy_error
from harness.scratch.numerical import numerical_gradient

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def init_two_layer_params(
    input_size: int = 784,
    hidden_size: int = 50,
    output_size: int = 10,
    weight_init_std: float = 0.01,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Small Gaussian weights and zero biases, reproducible from seed.

    Args:
      input_size, hidden_size, output_size: layer widths (784-50-10 for MNIST).
      weight_init_std: standard deviation of the weights.
      seed: seed for np.random.default_rng.

    Returns:
      {"W1": (in, hid), "b1": (hid,), "W2": (hid, out), "b2": (out,)} in float64.
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": weight_init_std * rng.standard_normal((input_size, hidden_size)),
        "b1": np.zeros(hidden_size),
        "W2": weight_init_std * rng.standard_normal((hidden_size, output_size)),
        "b2": np.zeros(output_size),
    }


def two_layer_predict(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """Class probabilities softmax(sigmoid(x W1 + b1) W2 + b2).

    Args:
      W1, b1, W2, b2: the parameters.
      x: inputs, shape (N, in) or (in,).

    Returns:
      Probabilities, shape (N, out) or (out,).
    """
    hidden = sigmoid(x @ W1 + b1)
    return softmax(hidden @ W2 + b2)


def two_layer_loss(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, x: np.ndarray, t: np.ndarray
) -> float:
    """Cross-entropy of the network's prediction.

    Args:
      W1, b1, W2, b2: the parameters.
      x: inputs, shape (N, in) or (in,).
      t: integer labels (N,) or one-hot/soft targets (N, out).

    Returns:
      The mean cross-entropy over the batch, as a Python float.
    """
    return cross_entropy_error(two_layer_predict(W1, b1, W2, b2, x), t)


def two_layer_gradient(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, x: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation: the gradient of two_layer_loss with respect to each parameter.

    This is the textbook gradient of the delta -> 0 loss, -sum t log y / N. The loss
    itself uses log(y + 1e-7): for one-hot t its exact gradient is smaller by a factor
    y_c / (y_c + 1e-7) per example (y_c the probability of the correct class), i.e. a
    relative deviation of about 1e-7 / y_c -- tiny unless y_c itself is tiny.

    Args:
      W1, b1, W2, b2: the parameters.
      x: inputs, shape (N, in) or (in,).
      t: integer labels (N,) or one-hot/soft targets (N, out).

    Returns:
      (dW1, db1, dW2, db2), each of its parameter's shape.
    """
    if np.ndim(x) == 1:
        # A single example is a batch of one, as in the loss; its label gets a batch axis too.
        x, t = np.asarray(x)[np.newaxis], np.asarray(t)[np.newaxis]
    hidden = sigmoid(x @ W1 + b1)
    y = softmax(hidden @ W2 + b2)
    targets = batch_targets(y, t)  # one-hot rows are float64, as np.eye's default
    batch_size = x.shape[0]

    # Softmax + cross-entropy backward. With targets summing to 1 per row this is the
    # familiar (y - t) / N; the row sum keeps unnormalised soft targets exact too.
    d_scores = (y * targets.sum(axis=1, keepdims=True) - targets) / batch_size
    dW2 = hidden.T @ d_scores
    db2 = d_scores.sum(axis=0)
    # Sigmoid backward: d sigmoid(a) / da = sigmoid(a) * (1 - sigmoid(a)).
    d_pre_hidden = (d_scores @ W2.T) * hidden * (1.0 - hidden)
    dW1 = x.T @ d_pre_hidden
    db1 = d_pre_hidden.sum(axis=0)
    return dW1, db1, dW2, db2


def two_layer_accuracy(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, x: np.ndarray, t: np.ndarray
) -> float:
    """Fraction of examples whose most probable class is the target class.

    Args:
      W1, b1, W2, b2: the parameters.
      x: inputs, shape (N, in).
      t: integer labels (N,) or one-hot targets (N, out).

    Returns:
      Accuracy in [0, 1].
    """
    y = np.atleast_2d(two_layer_predict(W1, b1, W2, b2, x))
    predicted = np.argmax(y, axis=1)
    t = np.asarray(t)
    if t.ndim == y.ndim:
        t = np.argmax(np.atleast_2d(t), axis=1)
    return float(np.mean(predicted == t.reshape(-1)))


class TwoLayerNet:
    """The book's TwoLayerNet: parameters in a dict, methods over the functional forms."""

    def __init__(
        self,
        input_size: int = 784,
        hidden_size: int = 50,
        output_size: int = 10,
        weight_init_std: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.params = init_two_layer_params(
            input_size, hidden_size, output_size, weight_init_std, seed
        )

    @property
    def num_params(self) -> int:
        """Total number of scalar parameters (39,760 for 784-50-10)."""
        return sum(p.size for p in self.params.values())

    def _args(self) -> tuple[np.ndarray, ...]:
        # Read the dict on every call, so in-place perturbation is always seen.
        return tuple(self.params[name] for name in PARAM_NAMES)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for x."""
        return two_layer_predict(*self._args(), x)

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Cross-entropy loss on (x, t)."""
        return two_layer_loss(*self._args(), x, t)

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        """Classification accuracy on (x, t)."""
        return two_layer_accuracy(*self._args(), x, t)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradient of the loss by central differences, one parameter entry at a time.

        Args:
          x: inputs.
          t: labels or one-hot targets.

        Returns:
          {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.
        """

        def loss_of(_param: np.ndarray) -> float:
            # The argument is ignored: numerical_gradient perturbs self.params in place.
            return self.loss(x, t)

        return {name: numerical_gradient(loss_of, self.params[name]) for name in PARAM_NAMES}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradient of the loss by backpropagation (see two_layer_gradient).

        Args:
          x: inputs.
          t: labels or one-hot targets.

        Returns:
          {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.
        """
        return dict(zip(PARAM_NAMES, two_layer_gradient(*self._args(), x, t), strict=True))
