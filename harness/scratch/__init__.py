"""From-scratch NumPy code of the seed note (chapter 4): the code under test.

This package never imports JAX, directly or indirectly: it is what gets verified,
and the JAX oracle must stay independent of it.
"""

from harness.scratch.activations import relu, sigmoid, softmax, tanh
from harness.scratch.descent import gradient_descent
from harness.scratch.functions import function_1, function_2
from harness.scratch.losses import cross_entropy_error, sum_squared_error
from harness.scratch.network import (
    TwoLayerNet,
    init_two_layer_params,
    two_layer_accuracy,
    two_layer_gradient,
    two_layer_loss,
    two_layer_predict,
)
from harness.scratch.numerical import (
    SCHEMES,
    numerical_diff,
    numerical_directional_derivative,
    numerical_gradient,
    numerical_gradient_batched,
)

__all__ = [
    "SCHEMES",
    "TwoLayerNet",
    "cross_entropy_error",
    "function_1",
    "function_2",
    "gradient_descent",
    "init_two_layer_params",
    "numerical_diff",
    "numerical_directional_derivative",
    "numerical_gradient",
    "numerical_gradient_batched",
    "relu",
    "sigmoid",
    "softmax",
    "sum_squared_error",
    "tanh",
    "two_layer_accuracy",
    "two_layer_gradient",
    "two_layer_loss",
    "two_layer_predict",
]
