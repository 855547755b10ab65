"""The networks of chapters 5-7, each checked in one declaration: the loss against a JAX network
built from its layers' twins, backprop against the same network with the delta-free loss, and
the network's own numerical_gradient at the book's step (h = 1e-4, unscaled). Records name the
parameters: W1, b1, gamma1, beta1, ..."""

import numpy as np

from harness import net_case
from harness.scratch import nets

RNG = np.random.default_rng(8)
X, T = RNG.standard_normal((4, 5)), np.array([0, 2, 1, 2])

net_case(
    "net/TwoLayerNet",
    nets.TwoLayerNet(5, 4, 3, weight_init_std=0.5, seed=1),
    X,
    T,
    tags=("network", "ch05"),
)
net_case(
    "net/MultiLayerNetExtend/batchnorm-dropout-decay",
    nets.MultiLayerNetExtend(
        5,
        [4],
        3,
        weight_decay_lambda=0.1,
        use_dropout=True,
        dropout_ratio=0.3,
        use_batchnorm=True,
        seed=2,
    ),
    X,
    np.eye(3)[T],  # one-hot targets
    tags=("network", "ch06"),
)
net_case(
    "net/SimpleConvNet",
    nets.SimpleConvNet(
        (1, 4, 4), filter_num=2, filter_size=3, hidden_size=6, output_size=3, weight_init_std=0.5
    ),
    RNG.standard_normal((3, 1, 4, 4)),
    T[:3],
    tags=("network", "ch07"),
)
