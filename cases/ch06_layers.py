"""Chapter 6's training layers: batch normalization in training mode (its running statistics are
left as they were) and dropout (its mask, drawn from a seeded Generator, is the same at every
evaluation and goes to the JAX twin as data)."""

import numpy as np

from harness import layer_case
from harness.scratch import layers

RNG = np.random.default_rng(6)

layer_case(
    "layer/BatchNormalization",
    layers.BatchNormalization(1.0 + RNG.standard_normal(4), RNG.standard_normal(4)),
    2.0 + 3.0 * RNG.standard_normal((6, 4)),
    tags=("layer", "ch06"),
)
layer_case(
    "layer/Dropout",
    layers.Dropout(0.4, rng=np.random.default_rng(0)),
    RNG.standard_normal((4, 5)),
    tags=("layer", "ch06"),
)
