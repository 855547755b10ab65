"""Independent JAX references and their exact float64 gradients.

Importing this package turns on ``jax_enable_x64`` before any array exists, so every
reference value and gradient is computed in float64. The oracle never imports
``harness.scratch``: it is what the from-scratch code is checked against.
"""

import jax

jax.config.update("jax_enable_x64", True)

from harness.oracle.exact import (  # noqa: E402
    cache_info,
    clear_cache,
    gradient,
    value,
    value_and_gradient,
)
from harness.oracle.functions import (  # noqa: E402
    accuracy,
    cross_entropy_error,
    function_1,
    function_2,
    relu,
    sigmoid,
    softmax,
    sum_squared_error,
    tanh,
    two_layer_backprop_reference,
    two_layer_loss,
    two_layer_predict,
)
from harness.oracle.taylor import taylor_coefficients  # noqa: E402

__all__ = [
    "accuracy",
    "cache_info",
    "clear_cache",
    "cross_entropy_error",
    "function_1",
    "function_2",
    "gradient",
    "relu",
    "sigmoid",
    "softmax",
    "sum_squared_error",
    "tanh",
    "taylor_coefficients",
    "two_layer_backprop_reference",
    "two_layer_loss",
    "two_layer_predict",
    "value",
    "value_and_gradient",
]
