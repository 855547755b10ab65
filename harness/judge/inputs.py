"""Validation and safekeeping of a case's arguments: clear messages for bad input, and the
snapshot that guarantees every array passed in comes back bit-identical."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from harness.judge.tolerance import SUPPORTED_DTYPES


class CaseInputError(ValueError):
    """A case's arguments cannot be checked as given; the message says what to change."""


def argument_names(fn: Callable[..., Any], count: int) -> list[str]:
    """Names of fn's first ``count`` positional parameters (``arg3`` where fn does not say).

    Args:
      fn: the function under test.
      count: how many positional arguments the case passes.

    Returns:
      One name per argument.
    """
    names: list[str] = []
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            break
    names = names[:count]
    return names + [f"arg{i}" for i in range(len(names), count)]


def _dtype_problem(value: Any) -> str | None:
    if not isinstance(value, np.ndarray):
        kind = type(value).__name__
        return f"is a {kind}, not a NumPy array: pass np.asarray(value, dtype=np.float64)"
    if isinstance(value, np.matrix):
        return (
            "is an np.matrix, whose * and ** are matrix products and which stays 2-d under "
            "indexing; pass np.asarray(value)"
        )
    if isinstance(value, np.ma.MaskedArray):
        return (
            "is a masked array; finite differences would perturb the masked entries too: pass "
            "value.filled(fill) or np.asarray(value), with the mask as a separate argument"
        )
    if type(value) is not np.ndarray:
        return f"is a {type(value).__name__} (an ndarray subclass); pass np.asarray(value)"
    dt = value.dtype
    if dt in SUPPORTED_DTYPES:
        if value.size == 0:
            return f"has no entries (shape {value.shape}); drop it from wrt"
        return None
    if dt.kind == "f" and dt.newbyteorder("=") in SUPPORTED_DTYPES:
        order = "big" if dt.byteorder == ">" else "little"
        return (
            f"is a {order}-endian {dt.newbyteorder('=')} array (dtype {dt.str!r}), not in this "
            f"machine's byte order; pass x.astype(np.{dt.newbyteorder('=')})"
        )
    if dt.kind in "iub":
        return (
            f"has dtype {dt}: finite differences of integers or booleans are meaningless "
            "(x + h rounds back to x); pass x.astype(np.float64)"
        )
    if dt.kind == "c":
        return f"has complex dtype {dt}: gradcheck checks real gradients; split real and imaginary"
    if dt.kind == "f" and dt.itemsize > 8:
        return (
            f"has dtype {dt} (extended precision), which gradcheck does not check (its reference "
            "computes in float64); pass x.astype(np.float64)"
        )
    if dt.kind == "f" or dt.name == "bfloat16":
        return (
            f"has dtype {dt}, whose eps is too coarse for any finite-difference step to resolve a "
            "gradient; check it as float32 (x.astype(np.float32)) or float64"
        )
    return f"has dtype {dt}, not a floating-point dtype; pass a float64 array"


def _differentiable(value: Any) -> bool:
    return _dtype_problem(value) is None


# What wrt= and data= accept: one position or name, or a sequence of them.
ArgumentSpec = int | str | Sequence[int | str] | None


def resolve_wrt(
    args: Sequence[Any],
    names: Sequence[str],
    wrt: ArgumentSpec,
    data: ArgumentSpec = None,
) -> list[int]:
    """The argument positions to differentiate, validated.

    Args:
      args: the case's positional arguments.
      names: their names (fn's parameter names, for messages and for naming arguments).
      wrt: the arguments to differentiate, by position or by name; None means every
        float32/float64 array argument not in ``data``.
      data: arguments that are data (inputs, targets), by position or by name: never
        differentiated by default, and an error to name in wrt.

    Returns:
      Sorted, de-duplicated positions.

    Raises:
      CaseInputError: a position or name does not exist, an argument cannot be differentiated, or
        wrt/data is not a position, a name or a sequence of them.
    """
    fixed = _positions(args, names, data, "data") if data is not None else []
    if wrt is None:
        chosen = [i for i, a in enumerate(args) if i not in fixed and _differentiable(a)]
        if not chosen:
            # A float array that was passed over says more than "none found".
            for i, a in enumerate(args):
                if i not in fixed and isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size:
                    raise CaseInputError(
                        f"no float32/float64 array to differentiate: argument '{names[i]}' "
                        f"(position {i}) {_dtype_problem(a)}"
                    )
            rest = " outside data=" if fixed else ""
            raise CaseInputError(
                f"no float32/float64 array among the arguments{rest}, so nothing to "
                "differentiate; pass wrt=(index, ...) or float arrays"
            )
        return chosen
    chosen = _positions(args, names, wrt, "wrt")
    if not chosen:
        raise CaseInputError(
            f"wrt={wrt!r} names no argument, so nothing would be differentiated: name at least "
            "one argument (by position or name), or leave wrt out for every float array"
        )
    for i in chosen:
        if i in fixed:
            raise CaseInputError(f"argument '{names[i]}' (position {i}) is in both wrt and data")
        problem = _dtype_problem(args[i])
        if problem:
            raise CaseInputError(f"argument '{names[i]}' (position {i}) {problem}")
    return sorted(chosen)


def _positions(
    args: Sequence[Any], names: Sequence[str], spec: ArgumentSpec, option: str
) -> list[int]:
    """Positions named by ``option`` (wrt or data): ints count from 0 (negative from the end),
    strings are fn's parameter names."""
    if isinstance(spec, str | int | np.integer) and not isinstance(spec, bool):
        spec = [spec]
    elif isinstance(spec, bool | float | np.ndarray) or not isinstance(spec, Sequence):
        raise CaseInputError(
            f"{option} must be an argument position, a name, or a sequence of them; "
            f"got {spec!r} ({type(spec).__name__})"
        )
    chosen = []
    for item in spec:
        if isinstance(item, str):
            if item not in names:
                raise CaseInputError(
                    f"{option} names '{item}', which is not an argument of fn "
                    f"(its arguments: {', '.join(names) or 'none'})"
                )
            chosen.append(list(names).index(item))
            continue
        if not isinstance(item, int | np.integer) or isinstance(item, bool):
            raise CaseInputError(
                f"{option} must hold argument positions (ints) or names (strings), "
                f"got {item!r} ({type(item).__name__})"
            )
        if not -len(args) <= item < len(args):
            raise CaseInputError(
                f"{option} position {item} is out of range: the case passes {len(args)} argument(s)"
            )
        chosen.append(int(item) % len(args))
    if len(set(chosen)) != len(chosen):
        raise CaseInputError(f"{option} names an argument twice: {list(spec)}")
    return chosen


def _arrays_in(value: Any, depth: int = 0) -> Iterator[np.ndarray]:
    """Every NumPy array in an argument: itself, or inside its lists, tuples and dict values."""
    if isinstance(value, np.ndarray):
        yield value
    elif depth < 20 and isinstance(value, list | tuple):
        for item in value:
            yield from _arrays_in(item, depth + 1)
    elif depth < 20 and isinstance(value, dict):
        for item in value.values():
            yield from _arrays_in(item, depth + 1)


def _plain(a: np.ndarray) -> np.ndarray:
    """The array's memory as a plain ndarray (np.matrix and masked arrays compare and restore by
    their data, not by their filled or matrix views)."""
    return a.view(np.ndarray)


class _Kept:
    """One array of the arguments and a bit-exact copy of it, with the shape and dtype it had."""

    def __init__(self, position: int, array: np.ndarray, top: bool) -> None:
        self.position, self.array, self.top = position, array, top
        self.shape, self.dtype = array.shape, array.dtype
        self.copy = np.array(_plain(array), copy=True, order="C")

    def changed(self) -> bool:
        a = self.array
        if a.shape != self.shape or a.dtype != self.dtype:
            return True
        return _plain(a).tobytes() != self.copy.tobytes()

    def first_changed_entry(self) -> tuple[int, ...]:
        a = self.array
        if not self.top or a.shape != self.shape or a.dtype != self.dtype:
            return ()  # the argument as a whole: an index into it would mislead
        now, then = _entry_bytes(_plain(a)), _entry_bytes(self.copy)
        where = np.argwhere((now != then).any(axis=-1))
        return tuple(int(v) for v in where[0]) if len(where) else ()

    def restore(self) -> None:
        if not self.changed():
            return  # also keeps read-only arrays, which cannot have changed, untouched
        a = self.array
        if a.dtype != self.dtype:
            a.dtype = self.dtype  # an in-place reinterpretation (x.dtype = ...), undone
        if a.size != self.copy.size:
            a.resize(self.shape, refcheck=False)
        if a.shape != self.shape:
            a.shape = self.shape  # an in-place reshape (x.shape = ...), undone
        writeable = a.flags.writeable
        if not writeable:
            a.flags.writeable = True  # fn made it writeable, wrote, and locked it again
        try:
            np.copyto(_plain(a), self.copy, casting="no")
        finally:
            a.flags.writeable = writeable


def _entry_bytes(a: np.ndarray) -> np.ndarray:
    """The bytes of every entry, as an array of shape ``a.shape + (itemsize,)`` (any layout,
    0-d included)."""
    flat = np.ascontiguousarray(a).reshape(-1)
    return flat.view(np.uint8).reshape(a.shape + (a.dtype.itemsize,))


class Snapshot:
    """Bit-exact copies of every array among the arguments (inside lists, tuples and dicts too),
    to detect mutation and to restore them: values, shape and dtype."""

    def __init__(self, args: Sequence[Any]) -> None:
        self._kept = [
            _Kept(i, array, array is arg) for i, arg in enumerate(args) for array in _arrays_in(arg)
        ]

    def changed(self) -> list[int]:
        """Positions of the arguments with an array whose bytes, shape or dtype changed."""
        return sorted({k.position for k in self._kept if k.changed()})

    def first_changed_entry(self, position: int) -> tuple[int, ...]:
        """The first entry of an argument that differs from its snapshot (``()`` when the
        argument changed as a whole: its shape or dtype, or an array inside a container)."""
        for k in self._kept:
            if k.position == position and k.changed():
                return k.first_changed_entry()
        return ()

    def restore(self) -> None:
        """Put every array argument back, bit for bit, with its shape and dtype."""
        for k in self._kept:
            k.restore()
