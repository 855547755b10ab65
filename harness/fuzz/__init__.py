"""Hypothesis strategies for generated functions and networks (importable by users).

    from hypothesis import given
    from harness.fuzz import function_examples, network_configs

``function_examples()`` draws a random scalar-valued function (an expression tree rendered to NumPy,
to jax.numpy and to a formula) with concrete inputs; ``network_configs()`` draws a network problem
that ``build_network`` turns into arguments for harness.scratch.mlp / harness.oracle.mlp.
"""

from harness.fuzz.expressions import (
    OPS,
    Node,
    formula,
    inputs_used,
    jax_function,
    numpy_function,
)
from harness.fuzz.functions import (
    FunctionExample,
    expressions,
    function_examples,
    input_arrays,
)
from harness.fuzz.networks import NetworkConfig, build_network, network_configs

__all__ = [
    "OPS",
    "FunctionExample",
    "NetworkConfig",
    "Node",
    "build_network",
    "expressions",
    "formula",
    "function_examples",
    "input_arrays",
    "inputs_used",
    "jax_function",
    "network_configs",
    "numpy_function",
]
