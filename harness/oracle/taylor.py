"""Higher directional derivatives of a JAX reference, for the finite-difference error model.

The error model of docs/design.md needs |f''| along the step (truncation of the one-sided
differences) and |f'''| (truncation of the central one). Along a direction u the function
g(t) = f(x + t u) has g^(n)(0) = D^n f(x)[u, ..., u], computed here by nesting ``jax.jvp``
three times and vectorising over many directions with ``jax.vmap``: one compiled function per
(reference, wrt, argument signature), whatever the number of directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from harness.oracle.exact import _check_wrt, _lookup, _prepare, _require_x64, _run


def _derivatives_along(fn: Callable[..., Any], indices: tuple[int, ...]) -> Callable[..., Any]:
    """g(0), g'(0), g''(0), g'''(0) of g(t) = fn(arrays with arrays[indices] + t * tangents).

    The returned function takes (arrays, tangents) and is vectorised over the directions (the
    tangents' leading axis). It is not jitted here: `exact._lookup` compiles it, or runs it
    eagerly for a reference that cannot be traced under jit or asks not to be.
    """

    def along(arrays: tuple, tangents: tuple) -> jax.Array:
        def at(*moving: Any) -> jax.Array:
            full = list(arrays)
            for index, value in zip(indices, moving, strict=True):
                full[index] = value
            return fn(*full)

        def jvp_of(inner: Callable[..., Any]) -> Callable[..., Any]:
            return lambda *moving: jax.jvp(inner, moving, tangents)[1]

        start = tuple(arrays[i] for i in indices)
        first = jvp_of(at)
        second = jvp_of(first)
        third = jvp_of(second)
        return jnp.stack([at(*start), first(*start), second(*start), third(*start)])

    # Directions are batched; the point itself is shared.
    return jax.vmap(along, in_axes=(None, 0))


def taylor_coefficients(
    reference: Callable[..., Any],
    args: Sequence[Any],
    wrt: Sequence[int],
    directions: Sequence[Any],
) -> np.ndarray:
    """The value and first three directional derivatives of reference along k directions.

    Args:
      reference: a JAX-traceable function returning one number.
      args: its arguments; floating ones are converted to float64 (as in `exact`).
      wrt: indices of the arguments the directions move.
      directions: one array per wrt index, of shape (k, *argument shape); direction j moves
        every wrt argument by its j-th slice at once.

    Returns:
      A float64 array of shape (k, 4): f, D f[u], D^2 f[u, u], D^3 f[u, u, u] for each u.

    Raises:
      ValueError: if the directions do not match wrt or the argument shapes.
    """
    _require_x64()
    statics, values, key = _prepare(args)
    indices = _check_wrt(wrt, statics, values)
    if len(directions) != len(indices):
        raise ValueError(f"got {len(directions)} direction arrays for {len(indices)} wrt arguments")
    tangents = []
    for index, direction in zip(indices, directions, strict=True):
        direction = np.asarray(direction, dtype=np.float64)
        if direction.shape[1:] != values[index].shape:
            raise ValueError(
                f"directions for argument {index} must have shape (k, *{values[index].shape}), "
                f"got {direction.shape}"
            )
        tangents.append(jax.device_put(direction))
    if len({t.shape[0] for t in tangents}) != 1:
        raise ValueError("direction arrays disagree on k")
    dynamic = [i for i, is_static in enumerate(statics) if not is_static]
    local = tuple(dynamic.index(i) for i in indices)
    entry = _lookup(
        reference,
        ("taylor", local),
        statics,
        values,
        key,
        lambda fn: _derivatives_along(fn, local),
    )
    arrays = tuple(jax.device_put(values[i]) for i in dynamic)
    return np.array(_run(entry, [arrays, tuple(tangents)]), dtype=np.float64)
