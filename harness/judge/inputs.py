"""Validation and safekeeping of a case's arguments: clear messages for bad input, and the
snapshot that guarantees every array passed in comes back bit-identical."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
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
    dt = value.dtype
    if dt in SUPPORTED_DTYPES:
        if value.size == 0:
            return f"has no entries (shape {value.shape}); drop it from wrt"
        return None
    if dt.kind in "iub":
        return (
            f"has dtype {dt}: finite differences of integers or booleans are meaningless "
            "(x + h rounds back to x); pass x.astype(np.float64)"
        )
    if dt.kind == "c":
        return f"has complex dtype {dt}: gradcheck checks real gradients; split real and imaginary"
    if dt.kind == "f" or dt.name == "bfloat16":
        return (
            f"has dtype {dt}, whose eps is too coarse for any finite-difference step to resolve a "
            "gradient; check it as float32 (x.astype(np.float32)) or float64"
        )
    return f"has dtype {dt}, not a floating-point dtype; pass a float64 array"


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
        chosen = [
            i
            for i, a in enumerate(args)
            if i not in fixed
            and isinstance(a, np.ndarray)
            and a.dtype in SUPPORTED_DTYPES
            and a.size
        ]
        if not chosen:
            rest = " outside data=" if fixed else ""
            raise CaseInputError(
                f"no float32/float64 array among the arguments{rest}, so nothing to "
                "differentiate; pass wrt=(index, ...) or float arrays"
            )
        return chosen
    chosen = _positions(args, names, wrt, "wrt")
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


class Snapshot:
    """Bit-exact copies of the array arguments, to detect mutation and to restore them."""

    def __init__(self, args: Sequence[Any]) -> None:
        self._args = args
        self._copies = [np.copy(a) if isinstance(a, np.ndarray) else None for a in args]

    def changed(self) -> list[int]:
        """Positions of array arguments whose bytes differ from the snapshot."""
        return [
            i
            for i, (a, c) in enumerate(zip(self._args, self._copies, strict=True))
            if c is not None and (a.shape != c.shape or a.tobytes() != c.tobytes())
        ]

    def first_changed_entry(self, position: int) -> tuple[int, ...]:
        """The first entry of an argument that differs from its snapshot."""
        a, c = self._args[position], self._copies[position]
        differs = a.view(np.uint8).reshape(a.shape + (-1,)) != c.view(np.uint8).reshape(
            c.shape + (-1,)
        )
        where = np.argwhere(differs.any(axis=-1))
        return tuple(int(v) for v in where[0]) if len(where) else ()

    def restore(self) -> None:
        """Put every array argument back, bit for bit."""
        for a, c in zip(self._args, self._copies, strict=True):
            if c is not None and a.shape == c.shape:
                np.copyto(a, c, casting="no")
