"""The state of a live object graph (a layer, a network), saved so it can be put back bit for bit.

A stateful layer changes itself on every forward pass: caches (``self.x``, ``self.col``), masks,
running means, random generators. To check it as a function, each evaluation starts from the state
it was handed in with, and the check leaves it as it found it. `ObjectState` walks everything
reachable from the roots through attributes, dicts, lists and tuples and saves:

* every container's contents (attributes added by a forward pass are removed again, replaced ones
  put back: the same objects, not copies);
* every array's bytes (undoing in-place changes);
* every NumPy Generator's and RandomState's state, and the global ``np.random`` state, so that a
  dropout mask is drawn the same at every evaluation and the user's stream is left where it was.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

# Objects that are code or configuration, not state: never walked into.
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    str,
    bytes,
)
# A walk stops this deep: a layer graph is shallow, a reference to a data set need not be copied.
MAX_DEPTH = 8


def slots(root: Any) -> Iterator[tuple[Any, Any, Any]]:
    """Every (container, key, value) reachable from root: attributes (key a str, container the
    object), dict items, list items (key the index); each container once.

    Args:
      root: the object to start from.

    Yields:
      (container, key, value) triples, parents before children.
    """
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(obj))
        for key, value in _children(obj):
            yield obj, key, value
            if _walkable(value):
                stack.append((value, depth + 1))


def _children(obj: Any) -> list[tuple[Any, Any]]:
    if isinstance(obj, dict):
        return list(obj.items())
    if isinstance(obj, list | tuple):
        return list(enumerate(obj))
    attributes = getattr(obj, "__dict__", None)
    return list(attributes.items()) if isinstance(attributes, dict) else []


def _walkable(value: Any) -> bool:
    if isinstance(value, (np.ndarray, np.random.Generator, np.random.RandomState, *_OPAQUE)):
        return False
    return isinstance(value, dict | list | tuple) or isinstance(
        getattr(value, "__dict__", None), dict
    )


def set_slot(container: Any, key: Any, value: Any) -> None:
    """Put value at container[key] (an item) or container.key (an attribute)."""
    if isinstance(container, dict | list):
        container[key] = value
    else:
        setattr(container, key, value)


class ObjectState:
    """A saved state of everything reachable from some roots, and of the global NumPy RNG."""

    def __init__(self, *roots: Any) -> None:
        self._objects: list[tuple[Any, dict[str, Any]]] = []
        self._dicts: list[tuple[dict, list[tuple[Any, Any]]]] = []
        self._lists: list[tuple[list, list[Any]]] = []
        self._arrays: list[tuple[np.ndarray, np.ndarray]] = []
        self._generators: list[tuple[Any, Any]] = []
        self._saved: set[int] = set()
        self._global = np.random.get_state()
        for root in roots:
            self._save(root)
            for container, _, value in slots(root):
                self._save(container)
                self._save(value)

    def _save(self, value: Any) -> None:
        if id(value) in self._saved:
            return
        if isinstance(value, np.ndarray):
            self._arrays.append((value, value.copy()))
        elif isinstance(value, np.random.Generator):
            self._generators.append((value, copy.deepcopy(value.bit_generator.state)))
        elif isinstance(value, np.random.RandomState):
            self._generators.append((value, value.get_state()))
        elif isinstance(value, dict):
            self._dicts.append((value, list(value.items())))
        elif isinstance(value, list):
            self._lists.append((value, list(value)))
        elif _walkable(value) and not isinstance(value, tuple):
            self._objects.append((value, dict(vars(value))))
        else:
            return
        self._saved.add(id(value))

    def arrays(self) -> list[np.ndarray]:
        """Every array saved (the originals, not the copies)."""
        return [array for array, _ in self._arrays]

    def global_rng_moved(self) -> bool:
        """Whether the global ``np.random`` state differs from the saved one (the code under test
        draws from it, so every evaluation must start it afresh)."""
        now = np.random.get_state()
        return any(not np.array_equal(a, b) for a, b in zip(now, self._global, strict=True))

    def restore(self, skip: frozenset[int] = frozenset(), global_rng: bool = True) -> None:
        """Put everything back: container contents, array bytes, generator states.

        Args:
          skip: ids of arrays whose bytes need no copying back (arrays the caller never hands to
            the code, such as parameters it replaced with copies).
          global_rng: whether to reset the global ``np.random`` state too (about 40 us; code that
            never draws from it need not pay that per evaluation).
        """
        for obj, attributes in self._objects:
            current = vars(obj)
            for key in [k for k in current if k not in attributes]:
                del current[key]
            current.update(attributes)
        for mapping, items in self._dicts:
            mapping.clear()
            mapping.update(items)
        for sequence, items in self._lists:
            sequence[:] = items
        for array, saved in self._arrays:
            if id(array) in skip or not array.flags.writeable:
                continue
            if array.shape == saved.shape and array.dtype == saved.dtype:
                np.copyto(array, saved, casting="no")
        for generator, state in self._generators:
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = copy.deepcopy(state)
            else:
                generator.set_state(state)
        if global_rng:
            np.random.set_state(self._global)
