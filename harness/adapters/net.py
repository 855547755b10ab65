"""check_net(): a network of the book's protocol, checked against JAX in one call.

The protocol: parameters in a ``params`` dict (W1, b1, ..., gamma1, beta1), ``loss(x, t)``,
``gradient(x, t)`` returning a dict keyed like ``params`` (backpropagation) and, when present,
``numerical_gradient(x, t)`` (the net's own finite differences). A network keeps the same
parameter arrays in several places -- the dict, and the layers that use them (``Affine.W``) --
and its methods read whichever they like (``loss`` the layers, weight decay the dict, ``gradient``
the layers' dW). So:

* the places that hold each parameter array are found by walking the network (attributes, dicts,
  lists), not assumed; a copy of the parameter is bound to every one of them (dtype kept), and a
  layer attribute that is a view of a parameter is an error, since a copy cannot be bound there;
* every evaluation starts from the network's state as it was handed in (caches, running means,
  dropout's random stream), including the evaluations inside the net's own numerical_gradient:
  ``net.loss`` is wrapped for the duration of the check;
* ``loss`` is called in training mode (``train_flg=True``) when it takes that flag: the mode its
  gradient differentiates;
* the reference is built from the twins of the layers (``net.layers`` in order, then
  ``net.last_layer`` or ``net.lastLayer``), with the dropout masks read after a forward pass
  passed as data arguments (the net draws the same ones at every evaluation), plus the
  book's weight decay 0.5 lambda sum W^2 over the parameters named W<number> when the net has a
  ``weight_decay_lambda``; ``reference=`` replaces it (a JAX function of (*params, x, t)).
  Backprop is judged against the same network with the loss layer's delta-free twin;
* net.numerical_gradient is judged at the step it really uses, the book's h = 1e-4 central and
  unscaled unless ``numerical_step=`` says otherwise (None: check with gradcheck's own routine).

Records are named after the parameters (W1, b1, gamma1, ...); x and t are data. The network's
state is put back bit for bit afterwards.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
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
from harness.adapters.numerical import BOOK_STEP, routine_step
from harness.adapters.state import ObjectState, set_slot, slots
from harness.judge.check import RoutineStep
from harness.judge.records import describe_exception
from harness.results import CheckResult
from harness.suite.case import Case

# The parameters the book's weight decay covers: the weight matrices W1, W2, ...
DECAYED = re.compile(r"W\d+")


def check_net(
    net: Any,
    x: Any,
    t: Any,
    reference: Callable[..., Any] | None = None,
    backprop_reference: Callable[..., Any] | None = None,
    loss_kwargs: dict[str, Any] | None = None,
    numerical_step: RoutineStep | tuple[float, str, bool] | None = BOOK_STEP,
    name: str | None = None,
    **options: Any,
) -> CheckResult:
    """Check a network's loss, its backprop and its numerical gradient against JAX.

    Args:
      net: an object with ``params``, ``loss(x, t)``, ``gradient(x, t)`` and optionally
        ``numerical_gradient(x, t)`` (the book's protocol).
      x: inputs; t: labels or one-hot targets (data: copies are used, dtypes kept).
      reference: a JAX function of (*params in the dict's order, x, t) returning the loss
        (default: built from the twins of the net's layers).
      backprop_reference: the function whose gradient net.gradient computes (default: the
        twin-built network with the loss layer's delta-free twin; with ``reference=``, the
        reference itself).
      loss_kwargs: keyword arguments for loss (default {"train_flg": True} when it takes one).
      numerical_step: (h, scheme, scaled) of net.numerical_gradient; None checks the net's loss
        with gradcheck's own numerical gradient instead.
      name: the result's name (default: the network's class name).
      **options: further keyword arguments of check() (checks, tol, mode, ...).

    Returns:
      The CheckResult, one record per check and parameter name.
    """
    name = name or type(net).__name__
    try:
        bound = bind_net(net, x, t, reference, backprop_reference, loss_kwargs, numerical_step)
    except SetupError as problem:
        return setup_failure(name, problem)
    return bound.run(name, **options)


def net_case(
    name: str,
    net: Any,
    x: Any,
    t: Any,
    reference: Callable[..., Any] | None = None,
    backprop_reference: Callable[..., Any] | None = None,
    loss_kwargs: dict[str, Any] | None = None,
    numerical_step: RoutineStep | tuple[float, str, bool] | None = BOOK_STEP,
    **options: Any,
) -> Case:
    """Declare `check_net` as a case (in a case file); arguments as for check_net, plus case()'s
    own (tags, tol, checks, scheme, h). Every evaluation starts from the network's state at the
    declaration and leaves it so."""
    try:
        bound = bind_net(net, x, t, reference, backprop_reference, loss_kwargs, numerical_step)
    except SetupError as problem:
        return broken_case(name, problem, **options)
    return bound.declare(name, **options)


def bind_net(
    net: Any,
    x: Any,
    t: Any,
    reference: Callable[..., Any] | None,
    backprop_reference: Callable[..., Any] | None,
    loss_kwargs: dict[str, Any] | None,
    numerical_step: RoutineStep | tuple[float, str, bool] | None,
) -> BoundCheck:
    """The network bound to check()'s arguments (see the module docstring).

    Raises:
      SetupError: the protocol is not met, a parameter is held as a view, a layer has no twin
        (and no reference is given), or the loss raises.
    """
    kind = type(net).__name__
    params = _params(net)
    names = list(params)
    if not isinstance(getattr(net, "__dict__", None), dict):
        raise SetupError(f"{kind} keeps no instance attributes (__slots__): it cannot be bound")
    for method in ("loss", "gradient"):
        if not callable(getattr(net, method, None)):
            raise SetupError(f"{kind} has no {method}(x, t) method (the book's network protocol)")
    inputs = (copied(x, f"x of {kind}"), copied(t, f"t of {kind}"))
    kwargs = _loss_kwargs(net, loss_kwargs)
    holders = _holders(net, params)
    state = ObjectState(net)
    originals = frozenset(id(p) for p in params.values())
    # A network still bound by an earlier case has our wrapper on it: take the loss it wraps.
    own_loss = getattr(net.loss, "gradcheck_wraps", net.loss)
    bound: list[tuple[np.ndarray, ...]] = [()]
    draws = [True]  # until the first loss shows whether the net draws from np.random

    def bind(arrays: tuple[np.ndarray, ...]) -> None:
        state.restore(skip=originals, global_rng=draws[0])
        vars(net)["loss"] = loss  # the restore took the wrapper off
        for param, value in zip(names, arrays, strict=True):
            for container, key in holders[param]:
                set_slot(container, key, value)

    def loss(*args: Any, **kw: Any) -> Any:
        # Every loss evaluation, the net's own included, starts from the state handed in.
        bind(bound[0])
        return own_loss(*args, **kw)

    loss.gradcheck_wraps = own_loss  # type: ignore[attr-defined]

    count = len(names)

    def release() -> None:
        # Each of our calls leaves the network as it was handed in: between evaluations (and
        # after a case ran) it holds its own parameters, not the judge's perturbed copies.
        state.restore(skip=originals, global_rng=draws[0])

    def fn(*args: np.ndarray) -> Any:
        bound[0] = args[:count]
        try:
            return loss(*args[count : count + 2], **kwargs)
        finally:
            release()

    def grad(*args: np.ndarray) -> tuple[np.ndarray, ...]:
        bound[0] = args[:count]
        try:
            bind(bound[0])
            return _in_order(net.gradient(*args[count : count + 2]), names, "net.gradient")
        finally:
            release()

    params_copies = tuple(copied(params[p], f"params[{p!r}]") for p in names)
    args = (*params_copies, *inputs)
    try:
        # A loss that raises is reported now; dropout masks are read for the twins.
        bound[0] = params_copies
        loss(*inputs, **kwargs)
        draws[0] = state.global_rng_moved()
        drawn = _drawn(net) if reference is None else []
    except Exception as exc:
        raise SetupError(f"{kind}.loss raised {describe_exception(exc)}") from exc
    finally:
        state.restore()
    if reference is None:
        structure = _twin_structure(net, names, params)
        build = twin_network if hashable(structure) else twin_network.__wrapped__
        reference = build(*structure, backprop=False)
        backprop_reference = backprop_reference or build(*structure, backprop=True)
        # What the layers drew (dropout's masks) goes to the twins as data arguments.
        args = (*args, *(value for _, value in drawn))
    routine = None
    if numerical_step is not None and callable(getattr(net, "numerical_gradient", None)):
        step = routine_step(*numerical_step)
        routine = _NetNumericalGradient(net, names, args, bind, release, bound, step)
    extra = [label for label, _ in drawn]
    return BoundCheck(
        fn=named(fn, unique_names([*names, "x", "t", *extra], f"the {kind} check")),
        reference=reference,
        args=args,
        wrt=tuple(names),
        data=("x", "t", *extra),
        grad=grad,
        backprop_reference=backprop_reference,
        state=state,
        numerical_gradient=routine,
    )


def _params(net: Any) -> dict[str, np.ndarray]:
    kind = type(net).__name__
    params = getattr(net, "params", None)
    if not isinstance(params, dict) or not params:
        raise SetupError(f"{kind} has no params dict (the book's protocol: net.params['W1'], ...)")
    seen: dict[int, str] = {}
    for key, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise SetupError(f"{kind}.params[{key!r}] is not a floating-point array")
        if id(value) in seen:
            raise SetupError(f"{kind}.params[{key!r}] and [{seen[id(value)]!r}] are one array")
        seen[id(value)] = key
    return params


def _loss_kwargs(net: Any, given: dict[str, Any] | None) -> dict[str, Any]:
    if given is not None:
        return dict(given)
    try:
        takes_flag = "train_flg" in inspect.signature(net.loss).parameters
    except (TypeError, ValueError):
        takes_flag = False
    return {"train_flg": True} if takes_flag else {}


def _describe(container: Any, key: Any) -> str:
    if isinstance(container, dict | list):
        return f"{type(container).__name__}[{key!r}]"
    return f"{type(container).__name__}.{key}"


def _holders(net: Any, params: dict[str, np.ndarray]) -> dict[str, list[tuple[Any, Any]]]:
    """Where the network holds each parameter array: every (container, key) whose value is it.

    Raises:
      SetupError: an array shares memory with a parameter without being it (a view or slice).
    """
    by_id = {id(p): name for name, p in params.items()}
    holders: dict[str, list[tuple[Any, Any]]] = {name: [] for name in params}
    for container, key, value in slots(net):
        if not isinstance(value, np.ndarray):
            continue
        if id(value) in by_id:
            holders[by_id[id(value)]].append((container, key))
            continue
        for name, param in params.items():
            if np.may_share_memory(value, param) and np.shares_memory(value, param):
                raise SetupError(
                    f"{_describe(container, key)} is a view of params[{name!r}], not the array "
                    "itself: gradcheck binds copies of the parameters and cannot bind one there"
                )
    return holders


def _layers(net: Any) -> list[tuple[str, Any]]:
    layers = getattr(net, "layers", None)
    if isinstance(layers, dict):
        return list(layers.items())
    if isinstance(layers, list | tuple):
        return [(f"layers[{i}]", layer) for i, layer in enumerate(layers)]
    raise SetupError(
        f"{type(net).__name__} has no layers dict or list to build a reference from: pass "
        "reference=, a JAX function of (*params, x, t) returning the loss"
    )


def _last_layer(net: Any) -> Any:
    for attribute in ("last_layer", "lastLayer"):
        layer = getattr(net, attribute, None)
        if layer is not None:
            return layer
    raise SetupError(
        f"{type(net).__name__} has no last_layer (or lastLayer) loss layer to build a reference "
        "from: pass reference="
    )


def _drawn(net: Any) -> list[tuple[str, np.ndarray]]:
    """What each layer drew in the last forward pass (dropout's mask), named after the layer and
    attribute (``Dropout1_mask``), in layer order."""
    from harness.oracle.layers import LAYER_TWINS

    found = []
    for key, layer in _layers_or_none(net):
        twin = LAYER_TWINS.get(type(layer).__name__)
        for attribute in twin.data if twin else ():
            label = re.sub(r"\W", "_", f"{key}_{attribute}")
            found.append((label, np.array(getattr(layer, attribute), copy=True)))
    return found


def _layers_or_none(net: Any) -> list[tuple[str, Any]]:
    try:
        return _layers(net)
    except SetupError:
        return []


def _twin_structure(net: Any, names: list[str], params: dict[str, np.ndarray]) -> tuple:
    """The network as its layers' twins: per layer (twin, parameter positions, arrays drawn,
    configuration), the loss layer's twin and backprop twin, the weight decay and the positions
    it covers. Plain hashable data, so one network shape compiles once."""
    from harness.oracle.layers import LAYER_TWINS

    position = {id(p): i for i, p in enumerate(params.values())}
    steps = []
    for key, layer in _layers(net):
        twin = LAYER_TWINS.get(type(layer).__name__)
        if twin is None:
            raise SetupError(
                f"layer {key} ({type(layer).__name__}) has no JAX twin (twins: "
                f"{', '.join(LAYER_TWINS)}): pass reference="
            )
        if twin.inputs != 1:
            raise SetupError(f"layer {key} ({type(layer).__name__}) is a loss layer inside layers")
        slots_of = []
        for attr in twin.params:
            value = getattr(layer, attr)
            if id(value) not in position:
                raise SetupError(
                    f"{key}.{attr} is not one of the arrays in net.params (a copy?): the layer "
                    "would not see changes to the parameters; hold params' arrays, or pass "
                    "reference="
                )
            slots_of.append(position[id(value)])
        config = tuple((c, getattr(layer, c)) for c in twin.config)
        steps.append((twin.forward, tuple(slots_of), len(twin.data), config))
    last = _last_layer(net)
    last_twin = LAYER_TWINS.get(type(last).__name__)
    if last_twin is None or last_twin.inputs != 2:
        raise SetupError(
            f"the loss layer {type(last).__name__} has no JAX twin of (scores, t): pass reference="
        )
    decay = float(getattr(net, "weight_decay_lambda", 0.0) or 0.0)
    decayed = tuple(i for i, n in enumerate(names) if DECAYED.fullmatch(n))
    losses = (last_twin.forward, last_twin.backprop or last_twin.forward)
    return tuple(steps), losses, decay, decayed, len(names)


@functools.lru_cache(maxsize=256)
def twin_network(
    steps: tuple,
    losses: tuple[Callable[..., Any], Callable[..., Any]],
    decay: float,
    decayed: tuple[int, ...],
    count: int,
    backprop: bool,
) -> Callable[..., Any]:
    """The network's loss as a JAX function of (*params, x, t, *drawn): the twins in order, the
    loss layer's twin (its backprop twin when ``backprop``), plus 0.5 decay sum W^2."""
    loss_twin = losses[1] if backprop else losses[0]

    def network(*args: Any) -> Any:
        import jax.numpy as jnp

        weights, (x, t), drawn = args[:count], args[count : count + 2], args[count + 2 :]
        h, used = x, 0
        for forward, slots_of, draws, config in steps:
            data = drawn[used : used + draws]
            used += draws
            h = forward(h, *[weights[s] for s in slots_of], *data, **dict(config))
        loss = loss_twin(h, t)
        if decay:
            loss = loss + 0.5 * decay * sum(jnp.sum(weights[i] ** 2) for i in decayed)
        return loss

    return network


def _in_order(grads: Any, names: list[str], who: str) -> tuple[np.ndarray, ...]:
    """A gradient dict as a tuple in the params order (copies: the net may reuse its arrays)."""
    if not isinstance(grads, dict):
        raise ValueError(f"{who} returned a {type(grads).__name__}, not a dict keyed like params")
    missing = [n for n in names if n not in grads]
    if missing:
        raise ValueError(f"{who} returned no gradient for {', '.join(missing)}")
    return tuple(np.array(grads[n], copy=True) for n in names)


class _NetNumericalGradient:
    """net.numerical_gradient(x, t) as check()'s routine for one parameter at a time.

    The net computes every parameter's gradient in one call; the result is kept while the
    parameters and data are unchanged, and the entry for the parameter asked about is returned.
    """

    def __init__(
        self,
        net: Any,
        names: list[str],
        args: tuple[np.ndarray, ...],
        bind: Callable[[tuple[np.ndarray, ...]], None],
        release: Callable[[], None],
        bound: list[tuple[np.ndarray, ...]],
        step: RoutineStep,
    ) -> None:
        self.net, self.names, self.args = net, names, args
        self.bind, self.release, self.bound = bind, release, bound
        self.gradcheck_step = step
        self.__name__ = f"{type(net).__name__}.numerical_gradient"
        self._cached: tuple[list[bytes], tuple[np.ndarray, ...]] | None = None

    def __call__(self, f: Callable[[np.ndarray], Any], x: np.ndarray, **_: Any) -> np.ndarray:
        """The net's numerical gradient of the parameter ``x`` (one of the check's arguments)."""
        position = next((i for i, a in enumerate(self.args[: len(self.names)]) if a is x), None)
        if position is None:
            raise ValueError("the net's numerical gradient is asked about an unknown array")
        fingerprint = [a.tobytes() for a in self.args]
        if self._cached is None or self._cached[0] != fingerprint:
            count = len(self.names)
            params, inputs = self.args[:count], self.args[count : count + 2]
            self.bound[0] = params
            try:
                self.bind(params)
                grads = self.net.numerical_gradient(*inputs)
                in_order = _in_order(grads, self.names, "net.numerical_gradient")
            finally:
                self.release()
            self._cached = (fingerprint, in_order)
        return self._cached[1][position]
