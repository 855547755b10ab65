"""Chapter 7's layers: convolution and max pooling by im2col, checked against
lax.conv_general_dilated and lax.reduce_window (no im2col on the JAX side)."""

import numpy as np

from harness import layer_case
from harness.scratch import layers

RNG = np.random.default_rng(7)

layer_case(
    "layer/Convolution/stride-2-pad-1",
    layers.Convolution(RNG.standard_normal((2, 2, 3, 3)), RNG.standard_normal(2), stride=2, pad=1),
    RNG.standard_normal((2, 2, 5, 5)),
    tags=("layer", "ch07"),
)
# Continuous random inputs: no two entries of a window tie for the maximum.
layer_case(
    "layer/Pooling/2x2-stride-2",
    layers.Pooling(2, 2, stride=2),
    RNG.standard_normal((2, 2, 4, 4)),
    tags=("layer", "ch07"),
)
