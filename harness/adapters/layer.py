"""check_layer(): a layer of the book's protocol, checked against its JAX twin in one call.

The protocol: ``out = layer.forward(*inputs)``, ``dx = layer.backward(dout)`` returns the gradient
of the first input, and leaves the gradient of each parameter attribute ``name`` (W, b, gamma,
beta) in ``layer.d<name>``. The layer is stateful, so it is bound to plain functions:

* the output is projected to a scalar, ``sum(out * dout)`` with a seeded random ``dout`` of the
  output's shape and dtype (a scalar output, a loss, is taken as it is, and backward gets 1):
  the gradient of that scalar is exactly what ``backward(dout)`` computes. dout is passed as a
  data argument, as are arrays the layer draws (dropout's mask, read after a forward pass);
* fn(x, [t,] W, b) binds copies of the parameters to the layer's attributes, and starts every
  evaluation from the layer's state as it was handed in (caches, running means, random
  generators and the global ``np.random`` state, so dropout draws the same mask each time);
* grad(...) runs forward then backward(dout) and returns (dx, dW, db, ...);
* the reference is the twin (harness.oracle.layers.LAYER_TWINS, matched by class name) applied
  to the same arguments and projected with the same dout; ``reference=`` replaces it. A twin
  whose backward differentiates another function (SoftmaxWithLoss: the loss without its 1e-7
  delta) is the analytic check's ``backprop_reference``.

The first input and the parameters are differentiated; further inputs (labels t) are data. The
layer's state is put back bit for bit afterwards.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.adapters.bound import (
    BoundCheck,
    SetupError,
    broken_case,
    copied,
    hashable,
    named,
    setup_failure,
    unique_names,
)
from harness.adapters.state import ObjectState
from harness.judge.records import describe_exception
from harness.results import CheckResult
from harness.suite.case import Case

# Names for inputs whose forward() signature does not name them.
DEFAULT_INPUT_NAMES = ("x", "t")


def check_layer(
    layer: Any,
    *inputs: Any,
    params: Sequence[str] | None = None,
    reference: Callable[..., Any] | None = None,
    backprop_reference: Callable[..., Any] | None = None,
    forward_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    name: str | None = None,
    **options: Any,
) -> CheckResult:
    """Check a layer's forward pass, its finite differences and its backward pass against JAX.

    Args:
      layer: an object with forward(*inputs) and backward(dout) (the book's protocol).
      *inputs: its inputs (x, or x and t for a loss layer); copies are checked, dtypes kept.
      params: the parameter attributes to differentiate (default: all the twin's, or, without a
        twin, every float array attribute ``name`` for which backward left a ``d<name>`` of its
        shape); the others are still bound and given to the reference.
      reference: a JAX function of (*inputs, *params) returning the layer's output, replacing
        the twin matched by class name.
      backprop_reference: a JAX function of the same arguments whose gradient backward computes,
        when that is not the reference (default: the twin's, if it has one).
      forward_kwargs: keyword arguments for forward (e.g. {"train_flg": True}).
      seed: seed of the random dout (and of check()'s fast-mode directions).
      name: the result's name (default: the layer's class name).
      **options: further keyword arguments of check() (checks, tol, mode, h, scheme, ...).

    Returns:
      The CheckResult: value, numerical and analytic checks per input and parameter (named after
      forward's arguments and the attributes: x, W, b, gamma, ...).
    """
    name = name or type(layer).__name__
    try:
        bound = bind_layer(
            layer, inputs, params, reference, backprop_reference, forward_kwargs, seed
        )
    except SetupError as problem:
        return setup_failure(name, problem)
    return bound.run(name, seed=seed, **options)


def layer_case(
    name: str,
    layer: Any,
    *inputs: Any,
    params: Sequence[str] | None = None,
    reference: Callable[..., Any] | None = None,
    backprop_reference: Callable[..., Any] | None = None,
    forward_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    **options: Any,
) -> Case:
    """Declare `check_layer` as a case (in a case file); arguments as for check_layer, plus
    case()'s own (tags, tol, checks, scheme, h). Every evaluation starts from the layer's state
    at the declaration and leaves it so."""
    try:
        bound = bind_layer(
            layer, inputs, params, reference, backprop_reference, forward_kwargs, seed
        )
    except SetupError as problem:
        return broken_case(name, problem, **options)
    return bound.declare(name, **options)


def bind_layer(
    layer: Any,
    inputs: Sequence[Any],
    params: Sequence[str] | None,
    reference: Callable[..., Any] | None,
    backprop_reference: Callable[..., Any] | None,
    forward_kwargs: dict[str, Any] | None,
    seed: int,
) -> BoundCheck:
    """The layer bound to check()'s arguments (see the module docstring).

    Raises:
      SetupError: no forward/backward, no twin and no reference, a parameter that is missing or
        not a float array, or a forward or backward pass that raises.
    """
    kind = type(layer).__name__
    for method in ("forward", "backward"):
        if not callable(getattr(layer, method, None)):
            raise SetupError(
                f"{kind} has no {method}() method: check_layer checks layers of the "
                "book's protocol (forward(x), backward(dout), d<name> gradients)"
            )
    if not inputs:
        raise SetupError(f"check_layer needs the input(s) of the {kind} layer")
    values = [copied(x, f"input {i} of the {kind} layer") for i, x in enumerate(inputs)]
    kwargs = dict(forward_kwargs or {})
    twin = _twin(kind) if reference is None else None
    state = ObjectState(layer)
    try:
        out, gradients = _probe(layer, values, kwargs)
        draws = state.global_rng_moved()
        # The parameters the layer holds (all go to the reference) and those differentiated.
        names = list(twin.params) if twin else _parameters(layer, params, gradients)
        checked = _checked(kind, names, params)
        data_values = [np.array(getattr(layer, d), copy=True) for d in twin.data] if twin else []
    finally:
        state.restore()
    for param in names:
        value = getattr(layer, param, None)
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise SetupError(f"{kind}.{param} is not a floating-point array, so not a parameter")
    scalar = np.ndim(out) == 0
    count, used = len(values), len(values) + len(names)
    extra_names, extra_values = [], []
    if not scalar:
        # The projection's weights, an argument like the others (data): the reference is then a
        # function of its arguments alone, compiled once per layer kind and shape.
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
        extra_names.append("dout")
        extra_values.append(dout.astype(np.asarray(out).dtype))
    drawn = list(twin.data) if twin else []
    extra_names += drawn
    extra_values += data_values
    originals = frozenset(id(getattr(layer, p)) for p in names)

    def run_forward(args: tuple[np.ndarray, ...]) -> Any:
        state.restore(skip=originals, global_rng=draws)
        for param, value in zip(names, args[count:used], strict=True):
            setattr(layer, param, value)
        return layer.forward(*args[:count], **kwargs)

    # Each evaluation leaves the layer as it was handed in: between evaluations (and after a case
    # ran) it holds its own parameters, never the judge's perturbed or replayed copies.
    def fn(*args: np.ndarray) -> Any:
        try:
            out = run_forward(args)
            if scalar:
                return out
            out, dout = np.asarray(out), args[used]
            if out.shape != dout.shape:
                raise ValueError(f"forward returned shape {out.shape}, and {dout.shape} at first")
            return np.sum(out * dout)
        finally:
            state.restore(skip=originals, global_rng=draws)

    def grad(*args: np.ndarray) -> tuple[np.ndarray, ...]:
        try:
            run_forward(args)
            dx = layer.backward(1.0 if scalar else args[used].copy())
            found = [dx] + [getattr(layer, "d" + p, None) for p in checked]
            for label, g in zip(["dx", *("d" + p for p in checked)], found, strict=True):
                if not isinstance(g, np.ndarray):
                    raise ValueError(f"backward left {label} = {type(g).__name__}, not an array")
            return tuple(np.array(g, copy=True) for g in found)
        finally:
            state.restore(skip=originals, global_rng=draws)

    config = tuple((c, getattr(layer, c)) for c in twin.config) if twin else ()
    shape = (count, len(names), not scalar, len(drawn), config)
    forward = twin.forward if twin else reference
    backprop = backprop_reference or (twin.backprop if twin else None)
    input_names = _input_names(layer, count)
    all_names = unique_names(input_names + names + extra_names, f"the {kind} check")
    params_copies = tuple(copied(getattr(layer, p), f"{kind}.{p}") for p in names)
    build = projected if hashable(shape) else projected.__wrapped__
    return BoundCheck(
        fn=named(fn, all_names),
        reference=build(forward, *shape),
        args=(*values, *params_copies, *extra_values),
        wrt=(input_names[0], *checked),
        data=(*input_names[1:], *extra_names),
        grad=grad,
        backprop_reference=build(backprop, *shape) if backprop is not None else None,
        state=state,
    )


@functools.lru_cache(maxsize=256)
def projected(
    forward: Callable[..., Any],
    inputs: int,
    params: int,
    weighted: bool,
    drawn: int,
    config: tuple[tuple[str, Any], ...],
) -> Callable[..., Any]:
    """A layer function as the scalar check() compares: forward(*inputs, *params, *drawn,
    **config), summed against dout when ``weighted`` (then dout is the argument after the
    parameters). One function per layer kind and configuration, so the oracle compiles it once
    per shape however many layers are checked."""
    used = inputs + params

    def scalar_output(*args: Any) -> Any:
        import jax.numpy as jnp

        start = used + weighted
        out = forward(*args[:used], *args[start : start + drawn], **dict(config))
        return jnp.sum(out * args[used]) if weighted else out

    return scalar_output


def _twin(kind: str) -> Any:
    from harness.oracle.layers import LAYER_TWINS

    twin = LAYER_TWINS.get(kind)
    if twin is None:
        raise SetupError(
            f"no JAX twin for a layer of class {kind} (twins: {', '.join(LAYER_TWINS)}); pass "
            "reference=, a JAX function of (*inputs, *params) returning the layer's output"
        )
    return twin


def _probe(layer: Any, values: list[np.ndarray], kwargs: dict[str, Any]) -> tuple[Any, dict]:
    """One forward and backward pass: the output, and the d<name> arrays backward left."""
    kind = type(layer).__name__
    try:
        out = layer.forward(*[v.copy() for v in values], **kwargs)
    except Exception as exc:
        raise SetupError(f"{kind}.forward raised {describe_exception(exc)}") from exc
    dout = 1.0 if np.ndim(out) == 0 else np.ones(np.shape(out), dtype=np.asarray(out).dtype)
    try:
        layer.backward(dout)
    except Exception as exc:
        raise SetupError(f"{kind}.backward raised {describe_exception(exc)}") from exc
    gradients = {k: v for k, v in vars(layer).items() if isinstance(v, np.ndarray)}
    return out, gradients


def _parameters(
    layer: Any, params: Sequence[str] | None, after: dict[str, np.ndarray]
) -> list[str]:
    """The parameters: as given, or every float array attribute p with a d<p> of its shape."""
    if params is not None:
        if isinstance(params, str):
            params = [params]
        missing = [p for p in params if not hasattr(layer, p)]
        if missing:
            raise SetupError(f"{type(layer).__name__} has no attribute {missing[0]!r} (params=)")
        return list(params)
    return [
        p
        for p, value in vars(layer).items()
        if isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
        and isinstance(after.get("d" + p), np.ndarray)
        and after["d" + p].shape == value.shape
    ]


def _checked(kind: str, held: list[str], params: Sequence[str] | None) -> list[str]:
    """The parameters to differentiate: ``params=`` (a subset of those the layer holds), or all.

    Raises:
      SetupError: params= names one the layer's twin does not take.
    """
    if params is None:
        return held
    wanted = [params] if isinstance(params, str) else list(params)
    unknown = [p for p in wanted if p not in held]
    if unknown:
        raise SetupError(
            f"params= names {unknown[0]!r}, but the {kind} twin's parameters are "
            f"{', '.join(held) or 'none'}"
        )
    return wanted


def _input_names(layer: Any, count: int) -> list[str]:
    """forward()'s positional parameter names, then x, t, input2, ..."""
    try:
        parameters = inspect.signature(layer.forward).parameters.values()
        names = [
            p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    names = names[:count]
    defaults = [*DEFAULT_INPUT_NAMES, *(f"input{i}" for i in range(2, count))]
    return names + defaults[len(names) : count]
