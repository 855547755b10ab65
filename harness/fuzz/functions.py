"""Hypothesis strategies for random scalar-valued functions of one or more array inputs.

``function_examples()`` draws a `FunctionExample`: an expression tree (see expressions.py) together
with concrete inputs of bounded magnitude. Draws shrink towards small trees (a lone input or
constant) and small inputs (scalars, zeros), so a failing property hands back a small example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.fuzz.expressions import (
    BINARY,
    REDUCE,
    UNARY,
    Node,
    formula,
    jax_function,
    numpy_function,
)

INPUT_SHAPES = ((), (1,), (2,), (3,), (4,))


@dataclass(frozen=True)
class FunctionExample:
    """A generated function and the point to check it at."""

    tree: Node
    inputs: tuple[np.ndarray, ...]

    @property
    def formula(self) -> str:
        """Readable text of the function."""
        return formula(self.tree)

    @property
    def fn(self) -> Callable[..., float]:
        """The NumPy function (scratch side)."""
        return numpy_function(self.tree)

    @property
    def reference(self) -> Callable[..., Any]:
        """The independent jax.numpy function (oracle side)."""
        return jax_function(self.tree)

    def describe(self) -> str:
        """The formula and the inputs, for failure messages."""
        values = ", ".join(
            f"x{i} = {np.array2string(x, precision=17, separator=', ')} ({x.dtype})"
            for i, x in enumerate(self.inputs)
        )
        return f"f = {self.formula}  at  {values}"


def _constants() -> st.SearchStrategy[float]:
    # Hundredths in [-3, 3]: readable in formulas, and they shrink towards 0 and 1.
    return st.integers(-300, 300).map(lambda k: k / 100)


def _constant_array(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple:
    array = draw(hnp.arrays(np.float64, shape, elements=_constants()))
    rows = array.tolist()
    return tuple(tuple(row) for row in rows) if array.ndim == 2 else tuple(rows)


def _leaf(draw: st.DrawFn, shapes: Sequence[tuple[int, ...]], shape: tuple[int, ...]) -> Node:
    candidates = [i for i, s in enumerate(shapes) if s == shape]
    # Inputs come first, so shrinking prefers a leaf that the gradient can see.
    options = [("input", i) for i in candidates] + ([("const", 0)] if shape == () else [])
    kind, index = draw(st.sampled_from(options))
    if kind == "input":
        return Node("input", shape, index=index)
    return Node("const", (), value=draw(_constants()))


def _expression(
    draw: st.DrawFn, shapes: Sequence[tuple[int, ...]], shape: tuple[int, ...], depth: int
) -> Node:
    lengths = sorted({s[0] for s in shapes if s})
    kinds = ["leaf"]
    if depth > 0:
        kinds += ["unary", "binary"]
        if shape == () and lengths:
            kinds += ["reduce", "dot"]
        if shape != ():
            kinds += ["softmax", "matmul"]
    if shape == () and not any(s == () for s in shapes) and lengths and depth > 0:
        kinds.remove("leaf")  # a scalar leaf would be a constant: prefer reaching an input
    kind = draw(st.sampled_from(kinds))
    below = depth - 1
    if kind == "leaf":
        return _leaf(draw, shapes, shape)
    if kind == "unary":
        op = draw(st.sampled_from(sorted(UNARY)))
        return Node(op, shape, (_expression(draw, shapes, shape, below),))
    if kind == "binary":
        op = draw(st.sampled_from(sorted(BINARY)))
        left = _expression(draw, shapes, shape, below)
        right_shape = draw(st.sampled_from([shape, ()])) if shape else ()
        return Node(op, shape, (left, _expression(draw, shapes, right_shape, below)))
    if kind == "softmax":
        return Node("softmax", shape, (_expression(draw, shapes, shape, below),))
    inner = (draw(st.sampled_from(lengths)),)
    child = _expression(draw, shapes, inner, below)
    if kind == "reduce":
        return Node(draw(st.sampled_from(sorted(REDUCE))), (), (child,))
    if kind == "dot":
        return Node("dot", (), (child,), constant=_constant_array(draw, inner))
    return Node("matmul", shape, (child,), constant=_constant_array(draw, shape + inner))


@st.composite
def expressions(
    draw: st.DrawFn, input_shapes: Sequence[tuple[int, ...]], max_depth: int = 4
) -> Node:
    """A scalar-valued expression tree over inputs of the given shapes.

    Args:
      draw: supplied by hypothesis.
      input_shapes: shape of each input, () or (k,).
      max_depth: the deepest a tree may be.

    Returns:
      The root Node (shape ()).
    """
    return _expression(draw, list(input_shapes), (), max_depth)


def input_arrays(
    shapes: Sequence[tuple[int, ...]], dtype: Any = np.float64, magnitude: float = 4.0
) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """Arrays of the given shapes with finite entries in [-magnitude, magnitude], no subnormals.

    Args:
      shapes: one shape per input.
      dtype: float64 or float32.
      magnitude: bound on every entry.

    Returns:
      A strategy for a tuple of arrays.
    """
    width = np.finfo(dtype).bits
    elements = st.floats(
        -magnitude,
        magnitude,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=width,
    )
    return st.tuples(*(hnp.arrays(dtype, shape, elements=elements) for shape in shapes))


@st.composite
def function_examples(
    draw: st.DrawFn,
    max_inputs: int = 3,
    max_depth: int = 4,
    dtypes: Sequence[Any] = (np.float64,),
    magnitude: float = 4.0,
) -> FunctionExample:
    """A random differentiable function and a point: the unit of the functions property.

    Args:
      draw: supplied by hypothesis.
      max_inputs: at most this many array inputs x0, x1, ...
      max_depth: the deepest a tree may be.
      dtypes: the input dtypes to choose from (float64 and/or float32).
      magnitude: bound on every input entry.

    Returns:
      A FunctionExample.
    """
    count = draw(st.integers(1, max_inputs))
    shapes = [draw(st.sampled_from(INPUT_SHAPES)) for _ in range(count)]
    tree = draw(expressions(shapes, max_depth))
    dtype = draw(st.sampled_from([np.dtype(d) for d in dtypes]))
    inputs = draw(input_arrays(shapes, dtype, magnitude))
    return FunctionExample(tree, tuple(inputs))
