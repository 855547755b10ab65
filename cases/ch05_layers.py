"""Chapter 5's backprop layers (오차역전파법), each checked against its JAX twin in one
declaration: the forward value, the finite differences of every input and parameter, and the
backward pass (dx and every dW, db) at once. Small sizes: each layer compiles once."""

import numpy as np

from harness import layer_case
from harness.scratch import layers

RNG = np.random.default_rng(5)

# An affine layer after a convolution sees 4-D input: the book flattens it to (N, -1) rows.
layer_case(
    "layer/Affine/4-d-input",
    layers.Affine(RNG.standard_normal((12, 4)), RNG.standard_normal(4)),
    RNG.standard_normal((3, 3, 2, 2)),
    tags=("layer", "ch05"),
)
for activation in (layers.Relu, layers.Sigmoid, layers.Tanh):
    layer_case(
        f"layer/{activation.__name__}",
        activation(),
        RNG.standard_normal((4, 5)),
        tags=("layer", "ch05"),
    )
# The loss keeps the book's delta 1e-7; its backward pass (y - t) / N is the gradient of the loss
# without it, so the analytic check is judged against the delta-free twin (backprop_reference).
layer_case(
    "layer/SoftmaxWithLoss/labels",
    layers.SoftmaxWithLoss(),
    RNG.standard_normal((4, 5)),
    np.array([0, 3, 1, 4]),
    tags=("layer", "ch05", "loss"),
)
