"""Hypothesis strategies for network configurations, and the concrete problem each one builds.

A `NetworkConfig` is plain data (sizes, batch, activation, loss, target form, init scale, dtype,
seed); `build_network` turns it into the arguments (activation, loss, x, t, W1, b1, ...) shared by
harness.scratch.mlp and harness.oracle.mlp. Parameters and data come from a seeded NumPy generator,
so the config alone reproduces the problem and shrinking works on the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.data import one_hot

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("cross_entropy", "sse")
TARGETS = ("labels", "one_hot")
SEED_SIZES = (784, 50, 10)  # the seed note's network


@dataclass(frozen=True)
class NetworkConfig:
    """One generated network problem."""

    sizes: tuple[int, ...]  # input, hidden..., output
    batch: int
    activation: str
    loss: str
    targets: str
    init_scale: float
    dtype: str
    seed: int

    @property
    def parameter_count(self) -> int:
        """Number of scalar parameters (weights and biases)."""
        return sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """W1, b1, W2, b2, ..."""
        layers = len(self.sizes) - 1
        return tuple(name for k in range(1, layers + 1) for name in (f"W{k}", f"b{k}"))

    def describe(self) -> str:
        """A one-line summary such as ``5-3-2 relu sse/labels batch 4 scale 0.5 float64 seed 1``."""
        return (
            f"{'-'.join(map(str, self.sizes))} {self.activation} {self.loss}/{self.targets} "
            f"batch {self.batch} scale {self.init_scale:g} {self.dtype} seed {self.seed} "
            f"({self.parameter_count} parameters)"
        )


def _width(draw: st.DrawFn, wide: bool, max_width: int) -> int:
    # Mostly small layers: the numerical gradient costs one forward pass per parameter.
    return draw(st.integers(1, 64 if wide else max_width))


@st.composite
def network_configs(
    draw: st.DrawFn,
    max_hidden_layers: int = 3,
    dtypes: tuple[str, ...] = ("float64", "float32"),
    wide_every: int = 8,
    seed_network_every: int = 200,
    max_width: int = 8,
    max_batch: int = 32,
) -> NetworkConfig:
    """A network configuration: depth 1-3 hidden layers, widths 1-64 (or the seed's 784-50-10),
    batch 1-32, sigmoid/tanh/relu, SSE or cross-entropy on labels or one-hot targets, init scale
    0.01-1, float64 or float32.

    Args:
      draw: supplied by hypothesis.
      max_hidden_layers: at most this many hidden layers.
      dtypes: dtypes to choose from.
      wide_every: about one draw in this many allows widths up to 64 (the rest stay <= 8).
      seed_network_every: about one draw in this many is the seed's 784-50-10 (0: never).
      max_width: the widest layer of the other draws.
      max_batch: the largest batch.

    Returns:
      A NetworkConfig.
    """
    # Shrinking drives this integer to 0, i.e. towards a small network.
    shape_roll = draw(st.integers(0, max(wide_every, seed_network_every, 1) * 10 - 1))
    if seed_network_every and shape_roll == seed_network_every * 10 - 1:
        sizes = SEED_SIZES
    else:
        wide = shape_roll % wide_every == wide_every - 1 if wide_every else False
        hidden = draw(st.integers(1, max_hidden_layers))
        sizes = tuple(_width(draw, wide, max_width) for _ in range(hidden + 2))
    batch = draw(st.integers(1, max_batch) | st.integers(1, min(4, max_batch)))
    activation = draw(st.sampled_from(ACTIVATIONS))
    loss = draw(st.sampled_from(LOSSES))
    targets = draw(st.sampled_from(TARGETS))
    # Log-uniform in [0.01, 1]: hundredths of a decade, shrinking towards 1.
    init_scale = float(10.0 ** (-draw(st.integers(0, 200)) / 100))
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**16))
    return NetworkConfig(sizes, batch, activation, loss, targets, init_scale, dtype, seed)


def build_network(config: NetworkConfig) -> tuple[Any, ...]:
    """The arguments (activation, loss, x, t, W1, b1, ...) of the config's problem.

    Args:
      config: the configuration.

    Returns:
      A tuple to hand to both harness.scratch.mlp.mlp_loss and harness.oracle.mlp.mlp_loss.
    """
    from harness.scratch.mlp import init_mlp_params

    dtype = np.dtype(config.dtype)
    params = init_mlp_params(config.sizes, config.init_scale, config.seed, dtype.type)
    rng = np.random.default_rng([config.seed, 1])
    x = rng.standard_normal((config.batch, config.sizes[0])).astype(dtype)
    labels = rng.integers(0, config.sizes[-1], size=config.batch)
    t = labels if config.targets == "labels" else one_hot(labels, config.sizes[-1]).astype(dtype)
    return (config.activation, config.loss, x, t, *params)
