"""A deliberately wrong network, to see what a failure looks like:

    gradcheck run examples/broken_network.py --no-report

exits 1. The network's gradient forgets the weight decay's lambda W (every W fails, the biases
pass), and its numerical_gradient divides by h instead of 2h (every parameter's numerical check
fails at the book's step h = 1e-4); the loss value itself is right.
"""

import numpy as np

from harness import net_case
from harness.scratch import nets

RNG = np.random.default_rng(4)


class ForgetfulNet(nets.MultiLayerNetExtend):
    def gradient(self, x, t):
        grads = super().gradient(x, t)
        for idx in range(1, self.hidden_layer_num + 2):
            grads[f"W{idx}"] = self.layers[f"Affine{idx}"].dW  # without + lambda W
        return grads

    def numerical_gradient(self, x, t):
        return {k: 2.0 * g for k, g in super().numerical_gradient(x, t).items()}  # h, not 2h


net_case(
    "broken/MultiLayerNetExtend",
    ForgetfulNet(5, [4], 3, weight_decay_lambda=0.1, seed=1),
    RNG.standard_normal((4, 5)),
    np.array([0, 2, 1, 2]),
)
