"""Deliberately wrong backward passes of the book's layers, to see what a failure looks like:

    gradcheck run examples/broken_layers.py --no-report

exits 1; each failure names the layer's parameter and the entry (db[2] of the Affine layer, x of
the batch norm that forgets the mean's share of the gradient, x of the sigmoid that uses its
input instead of its output). Forward values and finite differences pass: only backward is wrong.
"""

import numpy as np

from harness import layer_case
from harness.scratch import layers

RNG = np.random.default_rng(3)


class Affine(layers.Affine):  # the class name picks the twin
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = self.db.copy()
        self.db[2] = dout[0, 2]  # entry 2 kept the first row, not the sum over the batch
        return dx


class BatchNormalization(layers.BatchNormalization):
    def backward(self, dout):
        super().backward(dout)
        # Only the direct path through (x - mean) / std: the mean's and the std's shares are lost.
        return (self.gamma * dout / self.std).reshape(self.input_shape)


class Sigmoid(layers.Sigmoid):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (1.0 - self.x) * self.x  # the slope written in x, not in the output


layer_case(
    "broken/Affine/db",
    Affine(RNG.standard_normal((5, 3)), RNG.standard_normal(3)),
    RNG.standard_normal((4, 5)),
)
layer_case(
    "broken/BatchNormalization/dx",
    BatchNormalization(np.ones(3), np.zeros(3)),
    RNG.standard_normal((6, 3)),
)
layer_case("broken/Sigmoid/dx", Sigmoid(), RNG.standard_normal((3, 4)))
