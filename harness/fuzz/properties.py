"""The properties the fuzzer checks: one generated example in, a CheckResult (or a rejection) out.

A generated function is checked like any case: its NumPy rendering's value and finite-difference
gradient against its jax.numpy rendering. A generated network is checked twice: its loss and
numerical gradient against the JAX loss, and its hand-written backprop against jax.grad of the loss
backprop actually differentiates (cross-entropy without the 1e-7 delta; see cases/seed_network.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from harness import oracle
from harness.generate import FunctionExample, NetworkConfig, build_network
from harness.judge.check import check
from harness.oracle import mlp as oracle_mlp
from harness.results import NON_FINITE, CheckRecord, CheckResult
from harness.scratch import mlp as scratch_mlp

NETWORK_DATA_ARGS = ("activation", "loss", "x", "t")


class Rejected(Exception):
    """The example is outside the functions' smooth, finite domain: neither a pass nor a failure."""


def _non_finite(records: Iterable[CheckRecord]) -> set[str]:
    """Whose value or gradient check() found not finite at the point ("fn", "reference",
    "gradient"; see types.NON_FINITE)."""
    return {rec.details[NON_FINITE] for rec in records if NON_FINITE in rec.details}


def _exact_not_finite(
    reference: Callable[..., Any], args: Sequence[Any], positions: list[int]
) -> bool:
    """True when the exact value or gradient of reference is not finite at args.

    Asked only of a failing result that carries no non-finite marker: fn may have failed before
    check() looked at the reference, and the domain rule must not depend on which fails first.
    """
    value, grads = oracle.value_and_gradient(reference, list(args), positions)
    return not np.isfinite(value) or not all(np.all(np.isfinite(g)) for g in grads)


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
    # check() leaves the inputs bit-identical and reports non-finite values itself, so the
    # example's own arrays are checked directly and the domain rule read off its records.
    inputs, fn, reference = example.inputs, example.fn, example.reference
    positions = list(range(len(inputs)))
    result = check(
        fn,
        reference,
        *inputs,
        wrt=positions,
        name=example.formula,
        numerical_gradient=numerical_gradient,
    )
    whose = _non_finite(result.checks)
    if not whose and not result.ok:
        if _exact_not_finite(reference, inputs, positions):
            whose.add("reference")
        elif not np.isfinite(fn(*inputs)):
            whose.add("fn")
    if whose - {"fn"}:
        raise Rejected(f"exact value or gradient not finite: {example.formula}")
    if whose:
        raise Rejected(f"NumPy value not finite: {example.formula}")
    return result


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
    # differentiates), the example is outside the property, not a pass and not a failure. Only
    # the references count: a NumPy loss that is not finite where JAX's is finite is a failure.
    rejected = Rejected(f"exact loss or gradient not finite: {config.describe()}")
    fn = _named(scratch_mlp.mlp_loss, names)
    name = config.describe()
    loss_checks = (
        check(
            fn,
            _eager_mlp_loss,
            *args,
            wrt=positions,
            name=name,
            numerical_gradient=numerical_gradient,
        ).checks
        if numerical
        else ()
    )
    if _non_finite(loss_checks) - {"fn"}:
        raise rejected
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
    result = CheckResult(name, loss_checks + analytic.checks)
    if _non_finite(analytic.checks) - {"fn"}:
        raise rejected
    # The loss reference was not looked at (numerical=False), or fn failed before it could be:
    # ask it directly.
    if (not numerical or not result.ok) and _exact_not_finite(_eager_mlp_loss, args, positions):
        raise rejected
    return result
