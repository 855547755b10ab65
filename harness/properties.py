"""The properties the fuzzer checks: one generated example in, a CheckResult (or a rejection) out.

A generated function is checked like any case: its NumPy rendering's value and finite-difference
gradient against its jax.numpy rendering. A generated network is checked twice: its loss and
numerical gradient against the JAX loss, and its hand-written backprop against jax.grad of the loss
backprop actually differentiates (cross-entropy without the 1e-7 delta; see cases/seed_network.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from harness import oracle
from harness.check import check
from harness.generate import FunctionExample, NetworkConfig, build_network
from harness.oracle import mlp as oracle_mlp
from harness.scratch import mlp as scratch_mlp
from harness.types import CheckResult

NETWORK_DATA_ARGS = ("activation", "loss", "x", "t")


class Rejected(Exception):
    """The example is outside the functions' smooth, finite domain: neither a pass nor a failure."""


def check_function_example(
    example: FunctionExample, numerical_gradient: Callable[..., np.ndarray] | None = None
) -> CheckResult:
    """Check a generated function's value and numerical gradient against its JAX rendering.

    Args:
      example: the generated function and point.
      numerical_gradient: the finite-difference routine under test (default: the scratch one).

    Returns:
      The CheckResult, named by the formula.

    Raises:
      Rejected: when the exact value or gradient (or the NumPy value) is not finite there.
    """
    inputs = [x.copy() for x in example.inputs]
    positions = list(range(len(inputs)))
    reference = example.reference
    value, grads = oracle.value_and_gradient(reference, inputs, positions)
    if not np.isfinite(value) or not all(np.all(np.isfinite(g)) for g in grads):
        raise Rejected(f"exact value or gradient not finite: {example.formula}")
    fn = example.fn
    if not np.isfinite(fn(*inputs)):
        raise Rejected(f"NumPy value not finite: {example.formula}")
    return check(
        fn,
        reference,
        *inputs,
        wrt=positions,
        name=example.formula,
        numerical_gradient=numerical_gradient,
    )


def _named(fn: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    """fn under a signature naming each parameter, so records say W2 rather than arg6."""

    def named(*args: Any) -> Any:
        return fn(*args)

    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names]
    named.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    named.__name__ = fn.__name__
    return named


def _eager_mlp_loss(*args: Any) -> Any:
    return oracle_mlp.mlp_loss(*args)


def _eager_backprop_reference(*args: Any) -> Any:
    return oracle_mlp.mlp_backprop_reference(*args)


# Almost every generated network has a shape of its own: compiling its reference (~0.4 s per
# signature, three per network) would cost far more than running it eagerly once.
_eager_mlp_loss.gradcheck_jit = False  # type: ignore[attr-defined]
_eager_backprop_reference.gradcheck_jit = False  # type: ignore[attr-defined]


def _as_float64(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    )


def check_network(
    config: NetworkConfig,
    backprop: Callable[..., tuple[np.ndarray, ...]] | None = None,
    numerical_gradient: Callable[..., np.ndarray] | None = None,
    numerical: bool = True,
) -> CheckResult:
    """Check a generated network: loss value, numerical gradient and backprop of every parameter.

    Args:
      config: the network problem.
      backprop: the hand-written gradient under test (default harness.scratch.mlp.mlp_gradient).
      numerical_gradient: the finite-difference routine under test (default: the scratch one).
      numerical: run the value and numerical checks too (False: backprop only, for speed when
        only backprop is under test).

    Returns:
      One CheckResult holding the value, numerical and analytic records.

    Raises:
      Rejected: when the exact loss or gradient is not finite there.
    """
    args = build_network(config)
    names = NETWORK_DATA_ARGS + config.parameter_names
    positions = list(range(len(NETWORK_DATA_ARGS), len(args)))
    # The same domain rule as for generated functions: where the exact loss or its gradient is
    # not finite (a softmax probability underflows to 0 in the delta-free loss that backprop
    # differentiates), the example is outside the property, not a pass and not a failure.
    for reference, point in (
        (_eager_mlp_loss, args),
        (_eager_backprop_reference, _as_float64(args)),
    ):
        value, grads = oracle.value_and_gradient(reference, list(point), positions)
        if not np.isfinite(value) or not all(np.all(np.isfinite(g)) for g in grads):
            raise Rejected(f"exact loss or gradient not finite: {config.describe()}")
    fn = _named(scratch_mlp.mlp_loss, names)
    name = config.describe()
    first = (
        ()
        if not numerical
        else check(
            fn,
            _eager_mlp_loss,
            *args,
            wrt=positions,
            name=name,
            numerical_gradient=numerical_gradient,
        )
    )
    # Backprop is verified at the same point in float64: its math is then exact to float64
    # rounding. A float32 backprop's own rounding is amplified by cancellation across the batch
    # (sum_n (y_n - t_n) ... with terms of both signs) by factors the ulp policy cannot know.
    analytic = check(
        fn,
        _eager_backprop_reference,
        *_as_float64(args),
        wrt=positions,
        grad=backprop or scratch_mlp.mlp_gradient,
        checks=("analytic",),
        name=name,
    )
    return CheckResult(name, (first.checks if first else ()) + analytic.checks)
