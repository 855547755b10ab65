"""Networks of chapters 5-7 of *Deep Learning from Scratch*, built from the layers in layers.py.

Each follows the book's network protocol: parameters in a ``params`` dict (``W1``, ``b1``, ...,
``gamma1``, ``beta1``), the same arrays held by the layers that use them; ``loss(x, t)``;
``gradient(x, t)`` by backpropagation; ``numerical_gradient(x, t)`` by central differences with
the book's fixed, unscaled step h = 1e-4. Both gradients return a dict keyed like ``params``.

* `TwoLayerNet` (chapter 5): Affine - Relu - Affine - SoftmaxWithLoss.
* `MultiLayerNetExtend` (chapter 6): any number of hidden layers, each Affine - [BatchNorm] -
  Relu/Sigmoid - [Dropout], weight decay 0.5 lambda sum W^2 on the loss.
* `SimpleConvNet` (chapter 7): Convolution - Relu - Pooling - Affine - Relu - Affine.

Weights are drawn from a seeded Generator (not the global stream), so a network is reproducible
from its seed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.scratch.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    conv_output_size,
)
from harness.scratch.numerical import numerical_gradient

# The book's numerical gradient: central differences with h = 1e-4, the same for every entry.
BOOK_STEP = 1e-4


class _Net:
    """What the three networks share: predict through the layers, accuracy, and both gradients."""

    params: dict[str, np.ndarray]
    layers: OrderedDict[str, Any]
    last_layer: SoftmaxWithLoss

    def predict(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Scores (before the softmax) for x; ``train_flg`` reaches batch norm and dropout."""
        for layer in self.layers.values():
            if isinstance(layer, BatchNormalization | Dropout):
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, t: np.ndarray, train_flg: bool = False) -> np.floating:
        """The cross-entropy of the prediction (plus any regularisation of the subclass)."""
        return self.last_layer.forward(self.predict(x, train_flg), t) + self.regularisation()

    def regularisation(self) -> float:
        """A term added to the loss (none here)."""
        return 0.0

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        """Fraction of rows whose highest score is the target class (test mode)."""
        predicted = np.argmax(self.predict(x, train_flg=False), axis=1)
        labels = np.argmax(t, axis=1) if np.ndim(t) != 1 else t
        return float(np.mean(predicted == labels))

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Central differences of the training-mode loss, entry by entry, with the book's h = 1e-4
        unscaled. Each parameter is perturbed in place, so the layers holding it see the change."""

        def loss_of(_param: np.ndarray) -> np.floating:
            return self.loss(x, t, train_flg=True)

        return {
            name: numerical_gradient(loss_of, param, h=BOOK_STEP, scale_step=False)
            for name, param in self.params.items()
        }

    def backward(self, x: np.ndarray, t: np.ndarray) -> None:
        """Forward in training mode, then every layer's backward, last to first."""
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)


def _init_scale(weight_init_std: float | str, fan_in: int) -> float:
    """The book's choices: "relu"/"he" sqrt(2 / fan_in), "sigmoid"/"xavier" sqrt(1 / fan_in),
    else the number itself."""
    name = str(weight_init_std).lower()
    if name in ("relu", "he"):
        return float(np.sqrt(2.0 / fan_in))
    if name in ("sigmoid", "xavier"):
        return float(np.sqrt(1.0 / fan_in))
    return float(weight_init_std)


class TwoLayerNet(_Net):
    """Chapter 5's network: Affine1 - Relu1 - Affine2 - SoftmaxWithLoss.

    (harness.scratch.TwoLayerNet is chapter 4's sigmoid network over plain functions.)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        seed: int = 0,
        dtype: type = np.float64,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": (weight_init_std * rng.standard_normal((input_size, hidden_size))).astype(dtype),
            "b1": np.zeros(hidden_size, dtype=dtype),
            "W2": (weight_init_std * rng.standard_normal((hidden_size, output_size))).astype(dtype),
            "b2": np.zeros(output_size, dtype=dtype),
        }
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.last_layer = SoftmaxWithLoss()

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation: the affine layers' dW and db."""
        self.backward(x, t)
        first, second = self.layers["Affine1"], self.layers["Affine2"]
        return {"W1": first.dW, "b1": first.db, "W2": second.dW, "b2": second.db}


class MultiLayerNetExtend(_Net):
    """Chapter 6's fully connected network with weight decay, dropout and batch normalization.

    Hidden layer i is Affine{i} - [BatchNorm{i}] - Activation_function{i} - [Dropout{i}]; then a
    last Affine and SoftmaxWithLoss. The loss adds 0.5 lambda sum W^2 over every weight matrix, and
    the weights' gradients add lambda W. ``loss`` is in test mode unless ``train_flg=True``; both
    gradients use training mode, as the book does.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: float | str = "relu",
        weight_decay_lambda: float = 0.0,
        use_dropout: bool = False,
        dropout_ratio: float = 0.5,
        use_batchnorm: bool = False,
        seed: int = 0,
    ) -> None:
        if activation not in ("relu", "sigmoid"):
            raise ValueError(f"unknown activation {activation!r}; use 'relu' or 'sigmoid'")
        self.hidden_layer_num = len(hidden_size_list)
        self.weight_decay_lambda = weight_decay_lambda
        self.use_batchnorm = use_batchnorm
        rng = np.random.default_rng(seed)
        sizes = [input_size, *hidden_size_list, output_size]
        self.params = {}
        for idx in range(1, len(sizes)):
            scale = _init_scale(weight_init_std, sizes[idx - 1])
            self.params[f"W{idx}"] = scale * rng.standard_normal((sizes[idx - 1], sizes[idx]))
            self.params[f"b{idx}"] = np.zeros(sizes[idx])
        activation_layer = {"relu": Relu, "sigmoid": Sigmoid}[activation]
        self.layers = OrderedDict()
        for idx, width in enumerate(hidden_size_list, start=1):
            self.layers[f"Affine{idx}"] = Affine(self.params[f"W{idx}"], self.params[f"b{idx}"])
            if use_batchnorm:
                self.params[f"gamma{idx}"] = np.ones(width)
                self.params[f"beta{idx}"] = np.zeros(width)
                self.layers[f"BatchNorm{idx}"] = BatchNormalization(
                    self.params[f"gamma{idx}"], self.params[f"beta{idx}"]
                )
            self.layers[f"Activation_function{idx}"] = activation_layer()
            if use_dropout:
                # One Generator for every dropout layer, carried on from the weights' draws.
                self.layers[f"Dropout{idx}"] = Dropout(dropout_ratio, rng=rng)
        last = self.hidden_layer_num + 1
        self.layers[f"Affine{last}"] = Affine(self.params[f"W{last}"], self.params[f"b{last}"])
        self.last_layer = SoftmaxWithLoss()

    def regularisation(self) -> float:
        """Weight decay: 0.5 lambda sum W^2 over every weight matrix."""
        total = 0.0
        for idx in range(1, self.hidden_layer_num + 2):
            total += 0.5 * self.weight_decay_lambda * np.sum(self.params[f"W{idx}"] ** 2)
        return total

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation: dW + lambda W and db of every affine layer, dgamma and dbeta of every
        batch-norm layer."""
        self.backward(x, t)
        grads = {}
        for idx in range(1, self.hidden_layer_num + 2):
            affine = self.layers[f"Affine{idx}"]
            grads[f"W{idx}"] = affine.dW + self.weight_decay_lambda * self.params[f"W{idx}"]
            grads[f"b{idx}"] = affine.db
            if self.use_batchnorm and idx <= self.hidden_layer_num:
                norm = self.layers[f"BatchNorm{idx}"]
                grads[f"gamma{idx}"], grads[f"beta{idx}"] = norm.dgamma, norm.dbeta
        # In the params dict's order, so both gradients list the parameters alike.
        return {name: grads[name] for name in self.params}


class SimpleConvNet(_Net):
    """Chapter 7's network: Conv1 - Relu1 - Pool1 (2 x 2, stride 2) - Affine1 - Relu2 - Affine2 -
    SoftmaxWithLoss, on (N, C, H, W) images."""

    def __init__(
        self,
        input_dim: tuple[int, int, int] = (1, 28, 28),
        filter_num: int = 30,
        filter_size: int = 5,
        pad: int = 0,
        stride: int = 1,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float = 0.01,
        seed: int = 0,
    ) -> None:
        channels, height, width = input_dim
        conv_h = conv_output_size(height, filter_size, stride, pad)
        conv_w = conv_output_size(width, filter_size, stride, pad)
        pooled = filter_num * conv_output_size(conv_h, 2, 2) * conv_output_size(conv_w, 2, 2)
        rng = np.random.default_rng(seed)
        std = weight_init_std
        self.params = {
            "W1": std * rng.standard_normal((filter_num, channels, filter_size, filter_size)),
            "b1": np.zeros(filter_num),
            "W2": std * rng.standard_normal((pooled, hidden_size)),
            "b2": np.zeros(hidden_size),
            "W3": std * rng.standard_normal((hidden_size, output_size)),
            "b3": np.zeros(output_size),
        }
        self.layers = OrderedDict()
        self.layers["Conv1"] = Convolution(self.params["W1"], self.params["b1"], stride, pad)
        self.layers["Relu1"] = Relu()
        self.layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = Affine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W3"], self.params["b3"])
        self.last_layer = SoftmaxWithLoss()

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation: the convolution's and the affine layers' dW and db."""
        self.backward(x, t)
        grads = {}
        for number, key in enumerate(("Conv1", "Affine1", "Affine2"), start=1):
            grads[f"W{number}"], grads[f"b{number}"] = self.layers[key].dW, self.layers[key].db
        return grads
