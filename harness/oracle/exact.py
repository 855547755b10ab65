"""Exact values and gradients of JAX references, in float64, compiled once per signature.

The checker calls these with the same concrete arguments it hands to the NumPy code under
test. Arguments are normalised before JAX sees them:

* floating arrays (and Python floats) become float64 -- float32 inputs are upcast, so the
  oracle computes exactly at the float32 point instead of in float32 arithmetic;
* other arrays (integer labels, booleans) keep their dtype;
* Python ints, bools, strings and None are *static*: they are closed over, not traced, and
  their value is part of the cache key (so a reference may use them as shapes or flags).

One jitted ``jax.value_and_grad`` is cached per (reference, wrt, argument signature) in a
bounded LRU cache that holds the reference itself, so its id cannot be recycled while cached.
A reference whose ``gradcheck_jit`` attribute is False is always run eagerly: generated functions
are each evaluated at one point, and compiling them (~0.3 s) would cost far more than running them.
A reference that cannot be traced under ``jax.jit`` (Python control flow on values, ``float``
of an argument, ...) falls back once to the un-jitted transformation, and the key remembers it.

Errors raised by a reference, and non-finite values it returns, propagate unchanged: judging
them is the checker's job.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CACHE_SIZE = 256
# Evaluating a reference eagerly (gradcheck_jit False, or a jit fallback) makes JAX compile and
# keep executables per primitive and argument shape in its own caches: ~16 MB per new shape of a
# small network reference, 3.4 GB after 300 fuzzed networks. Emptying them (jax.clear_caches)
# costs recompiles of what is still in use, and the memory freed is reused rather than returned,
# so resident memory never falls back below the budget: emptying whenever it is over the budget
# would empty them every few networks (a fuzz run doing that ran ~3x slower). So: every
# EAGER_SIGNATURES_BEFORE_CLEAR new eager signatures the process's memory is read; the first
# time it is over the budget (MB; GRADCHECK_JAX_CACHE_MB overrides it) the caches are emptied,
# and from then on every time as many new signatures have been seen as it took to fill the
# budget. Where the memory cannot be read (not Linux), every EAGER_PERIOD_UNREAD signatures.
JAX_CACHE_BUDGET_MB = float(os.environ.get("GRADCHECK_JAX_CACHE_MB", "2048"))
EAGER_SIGNATURES_BEFORE_CLEAR = 32
EAGER_PERIOD_UNREAD = 128

# Raised when tracing under jit needs a concrete value; plain jax.grad may still work.
_NEEDS_CONCRETE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)
_STATIC_TYPES = (bool, int, str, type(None))
# A reference is compiled once per case shape and then called a handful of times, so its cold
# cost is XLA's compile, not its run (compiles were ~85% of the shipped suite's time). Three CPU
# options cut that compile for a run that is at most a few tenths of a millisecond slower:
# LLVM optimisation level 0, the older elemental emitters instead of the fusion emitters, and no
# XNNPACK rewrite. The last two took the shipped suite's XLA compile from 10.5 s to 2.8 s beside
# other work (benchmarks/COMPILE.md, by benchmarks/bench_compile.py). None of them allows fast
# math: results move by summation order only, and only the optimisation level moves them at all
# (within about 14 ulps of the largest gradient entry on a conv-pool loss, 2 on the seed network;
# the emitter and XNNPACK options changed no bit there). tests/oracle/test_exact.py compares them
# with XLA's default options.
_COMPILER_OPTIONS: dict[str, Any] = {
    "xla_backend_optimization_level": 0,
    "xla_cpu_use_fusion_emitters": False,
    "xla_cpu_use_xnnpack": False,
}
_options_checked = False


@dataclass
class _Entry:
    reference: Callable[..., Any]  # keeps id(reference) from being reused while cached
    jitted: Callable[..., Any]
    eager: Callable[..., Any]
    use_jit: bool = True


_cache: OrderedDict[tuple, _Entry] = OrderedDict()
_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0, "fallbacks": 0, "jax_cache_clears": 0}
_eager_signatures = 0  # new eager signatures since JAX's caches were last emptied
_eager_period: int | None = None  # how many fill the budget (None: not reached yet)


# --- argument handling -------------------------------------------------------------------------


def _require_x64() -> None:
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "harness.oracle needs jax_enable_x64; something turned it off after import "
            '(call jax.config.update("jax_enable_x64", True))'
        )


def _normalise(arg: Any) -> tuple[bool, Any, tuple]:
    """Returns (is_static, value, key part) for one argument."""
    if isinstance(arg, _STATIC_TYPES):
        return True, arg, ("static", type(arg).__name__, arg)
    array = np.asarray(arg)
    if array.dtype == object:
        raise TypeError(f"cannot pass an object of type {type(arg).__name__} to a JAX reference")
    if jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(np.float64)
    elif jnp.issubdtype(array.dtype, jnp.complexfloating):
        array = array.astype(np.complex128)
    return False, array, ("array", array.shape, array.dtype.str)


def _prepare(args: Sequence[Any]) -> tuple[list[bool], list[Any], tuple]:
    statics, values, key = [], [], []
    for arg in args:
        is_static, value, part = _normalise(arg)
        statics.append(is_static)
        values.append(value)
        key.append(part)
    return statics, values, tuple(key)


def _check_wrt(wrt: Sequence[int], statics: list[bool], values: list[Any]) -> tuple[int, ...]:
    count = len(values)
    if isinstance(wrt, int):
        wrt = (wrt,)
    indices = []
    for index in wrt:
        if not -count <= index < count:
            raise ValueError(f"wrt index {index} out of range for {count} arguments")
        index %= count
        if statics[index] or not jnp.issubdtype(values[index].dtype, jnp.floating):
            kind = type(values[index]).__name__ if statics[index] else values[index].dtype
            raise TypeError(f"cannot differentiate with respect to argument {index} ({kind})")
        indices.append(index)
    if not indices:
        raise ValueError("wrt must name at least one argument")
    if len(set(indices)) != len(indices):
        raise ValueError(f"wrt has repeated indices: {tuple(wrt)}")
    return tuple(indices)


def _scalar_output(reference: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps reference so its output is checked to be one number and reshaped to ()."""

    def scalar(*args: Any) -> jax.Array:
        out = jnp.asarray(reference(*args))
        if out.size != 1:
            name = getattr(reference, "__name__", repr(reference))
            raise ValueError(
                f"reference {name} must return a scalar (size 1), got shape {out.shape}"
            )
        return jnp.reshape(out, ())

    return scalar


def _bind_statics(
    fn: Callable[..., Any], statics: list[bool], values: list[Any]
) -> Callable[..., Any]:
    """Closes over the static arguments; the result takes only the array arguments."""
    template = [arg if is_static else None for arg, is_static in zip(values, statics, strict=True)]
    positions = [i for i, is_static in enumerate(statics) if not is_static]

    def bound(*arrays: Any) -> Any:
        full = list(template)
        for position, array in zip(positions, arrays, strict=True):
            full[position] = array
        return fn(*full)

    return bound


# --- the cache ---------------------------------------------------------------------------------


def _lookup(
    reference: Callable[..., Any],
    kind: tuple,
    statics: list[bool],
    values: list[Any],
    key: tuple,
    build: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> _Entry:
    full_key = (id(reference), kind, key)
    with _lock:
        entry = _cache.get(full_key)
        if entry is not None and entry.reference is reference:
            _cache.move_to_end(full_key)
            _stats["hits"] += 1
            return entry
        _stats["misses"] += 1
        transformed = build(_bind_statics(_scalar_output(reference), statics, values))
        entry = _Entry(
            reference=reference,
            jitted=_jit(transformed),
            eager=transformed,
            use_jit=getattr(reference, "gradcheck_jit", True),
        )
        if not entry.use_jit:
            _count_eager_signature()
        _cache[full_key] = entry
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return entry


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    _check_compiler_options()
    if not _COMPILER_OPTIONS:
        return jax.jit(fn)
    try:
        return jax.jit(fn, compiler_options=_COMPILER_OPTIONS)
    except TypeError:  # a JAX whose jit takes no compiler_options
        return jax.jit(fn)


def _check_compiler_options() -> None:
    """Keep only the compiler options this XLA knows: an unknown one fails every compile, and
    option names change between XLA versions (each is only a speed-up)."""
    global _options_checked
    if _options_checked:
        return
    _options_checked = True
    for name in list(_COMPILER_OPTIONS):
        try:
            jax.jit(lambda x: x + 1.0, compiler_options={name: _COMPILER_OPTIONS[name]})(0.0)
        except Exception:  # noqa: BLE001 - whatever this JAX raises for an option it lacks
            del _COMPILER_OPTIONS[name]


def _run(entry: _Entry, arrays: list[Any]) -> Any:
    if entry.use_jit:
        try:
            return entry.jitted(*arrays)
        except _NEEDS_CONCRETE:
            entry.use_jit = False
            with _lock:
                _stats["fallbacks"] += 1
                _count_eager_signature()
    return entry.eager(*arrays)


def _count_eager_signature() -> None:
    """Note one more eager signature; empty JAX's caches per the budget rule (hold `_lock`)."""
    global _eager_signatures, _eager_period
    _eager_signatures += 1
    if _eager_period is None:
        if _eager_signatures % EAGER_SIGNATURES_BEFORE_CLEAR:
            return
        rss = _resident_mb()
        if rss is None:
            _eager_period = EAGER_PERIOD_UNREAD
        elif rss > JAX_CACHE_BUDGET_MB:
            _eager_period = _eager_signatures
        else:
            return
    if _eager_signatures >= _eager_period:
        _eager_signatures = 0
        _stats["jax_cache_clears"] += 1
        jax.clear_caches()


def _resident_mb() -> float | None:
    """This process's resident memory in MB (None where it cannot be read: not Linux)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _dynamic(statics: list[bool], values: list[Any]) -> list[Any]:
    # device_put, not jnp.asarray: asarray compiles a conversion per shape (~25 ms each cold),
    # and the values are already float64 NumPy arrays.
    pairs = zip(values, statics, strict=True)
    return [jax.device_put(v) for v, is_static in pairs if not is_static]


def clear_cache() -> None:
    """Empties the compiled-function cache and resets its counters."""
    global _eager_signatures, _eager_period
    with _lock:
        _cache.clear()
        _eager_signatures, _eager_period = 0, None
        for name in _stats:
            _stats[name] = 0


def cache_info() -> dict[str, int]:
    """Returns the cache's size, capacity, hits, misses, jit fallbacks and how often JAX's own
    caches were emptied."""
    with _lock:
        return {"size": len(_cache), "maxsize": CACHE_SIZE, **_stats}


# --- public API --------------------------------------------------------------------------------


def value(reference: Callable[..., Any], args: Sequence[Any]) -> float:
    """Evaluates reference(*args) in float64.

    Args:
      reference: a JAX-traceable function returning one number.
      args: its arguments; floating ones are converted to float64.

    Returns:
      The value as a Python float (possibly nan or inf, which are not judged here).

    Raises:
      ValueError: if the output has more than one entry (the message names its shape).
    """
    _require_x64()
    statics, values, key = _prepare(args)
    entry = _lookup(reference, ("value",), statics, values, key, lambda fn: fn)
    return float(_run(entry, _dynamic(statics, values)))


def value_and_gradient(
    reference: Callable[..., Any], args: Sequence[Any], wrt: Sequence[int]
) -> tuple[float, list[np.ndarray]]:
    """Value and exact gradient of reference(*args), from one ``jax.value_and_grad`` call.

    Args:
      reference: a JAX-traceable function returning one number.
      args: its arguments; floating ones are converted to float64.
      wrt: indices of the (floating) arguments to differentiate with respect to.

    Returns:
      The value as a Python float, and one float64 array per index in wrt, each with that
      argument's shape.

    Raises:
      ValueError: on a non-scalar output, or wrt indices out of range, repeated or empty.
      TypeError: if wrt names a non-floating argument.
    """
    _require_x64()
    statics, values, key = _prepare(args)
    indices = _check_wrt(wrt, statics, values)
    # argnums count only the array arguments; statics are closed over.
    dynamic_positions = [i for i, is_static in enumerate(statics) if not is_static]
    argnums = tuple(dynamic_positions.index(i) for i in indices)
    entry = _lookup(
        reference,
        ("grad", indices),
        statics,
        values,
        key,
        lambda fn: jax.value_and_grad(fn, argnums=argnums),
    )
    out, grads = _run(entry, _dynamic(statics, values))
    gradients = [np.array(g, dtype=np.float64) for g in grads]
    return float(out), gradients


def gradient(
    reference: Callable[..., Any], args: Sequence[Any], wrt: Sequence[int]
) -> list[np.ndarray]:
    """Exact gradient of reference(*args) with respect to the arguments in wrt, in float64.

    Args:
      reference: a JAX-traceable function returning one number.
      args: its arguments; floating ones are converted to float64.
      wrt: indices of the (floating) arguments to differentiate with respect to.

    Returns:
      One float64 array per index in wrt, each with that argument's shape.
    """
    return value_and_gradient(reference, args, wrt)[1]
