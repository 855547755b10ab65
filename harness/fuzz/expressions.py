"""Expression trees of scalar-valued functions, and their three renderings.

A tree is made of `Node`s: inputs (``x0``, ``x1``, ...), constants, and operations. Every node has a
shape, () or (k,). Each operation carries two implementations written separately -- NumPy (the
scratch side, checked) and jax.numpy (the oracle, built from the tree, never by running the NumPy
code through JAX) -- and a formula template, so one tree gives

* ``numpy_function(tree)``: a NumPy-only function of the inputs,
* ``jax_function(tree)``: its independent jax.numpy twin,
* ``formula(tree)``: readable text such as ``tanh(x0) * log(1 + x1**2)``.

Partial operations are made total by construction: log and sqrt take ``1 + a**2``, division divides
by ``1 + b**2``, so every generated tree is defined everywhere (though exp may still overflow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import harness.oracle  # noqa: F401  (turns on float64 in JAX before any constant array exists)
from harness.scratch.activations import sigmoid as np_sigmoid
from harness.scratch.activations import softmax as np_softmax


@dataclass(frozen=True)
class Op:
    """One operation: its arity, both implementations and how it prints."""

    arity: int
    numpy: Callable[..., Any]
    jax: Callable[..., Any]
    template: str  # {a}, {b} are the rendered children, {c} the constant array
    binary_infix: bool = False  # print children in parentheses when they are infix too


def _np_logsumexp(a: np.ndarray) -> np.ndarray:
    top = np.max(a)
    return top + np.log(np.sum(np.exp(a - top)))


def _np_softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


# Elementwise operations (shape-preserving, one child).
UNARY = {
    "sin": Op(1, np.sin, jnp.sin, "sin({a})"),
    "cos": Op(1, np.cos, jnp.cos, "cos({a})"),
    "tanh": Op(1, np.tanh, jnp.tanh, "tanh({a})"),
    "exp": Op(1, np.exp, jnp.exp, "exp({a})"),
    "sigmoid": Op(1, np_sigmoid, jax.nn.sigmoid, "sigmoid({a})"),
    "softplus": Op(1, _np_softplus, jax.nn.softplus, "softplus({a})"),
    "square": Op(1, lambda a: a**2, lambda a: a**2, "{a}**2"),
    "cube": Op(1, lambda a: a**3, lambda a: a**3, "{a}**3"),
    "log": Op(1, lambda a: np.log(1 + a**2), lambda a: jnp.log(1 + a**2), "log(1 + {a}**2)"),
    "sqrt": Op(1, lambda a: np.sqrt(1 + a**2), lambda a: jnp.sqrt(1 + a**2), "sqrt(1 + {a}**2)"),
}
# Elementwise binary operations (a scalar child broadcasts against a vector one).
BINARY = {
    "add": Op(2, np.add, jnp.add, "{a} + {b}", binary_infix=True),
    "sub": Op(2, np.subtract, jnp.subtract, "{a} - {b}", binary_infix=True),
    "mul": Op(2, np.multiply, jnp.multiply, "{a} * {b}", binary_infix=True),
    "div": Op(
        2, lambda a, b: a / (1 + b**2), lambda a, b: a / (1 + b**2), "{a} / (1 + {b}**2)", True
    ),
}
# Vector -> scalar.
REDUCE = {
    "sum": Op(1, np.sum, jnp.sum, "sum({a})"),
    "mean": Op(1, np.mean, jnp.mean, "mean({a})"),
    "logsumexp": Op(1, _np_logsumexp, jax.scipy.special.logsumexp, "logsumexp({a})"),
    "norm": Op(1, lambda a: np.sqrt(np.sum(a * a)), jnp.linalg.norm, "norm({a})"),
}
# Vector -> vector of the same length.
VECTOR = {"softmax": Op(1, np_softmax, jax.nn.softmax, "softmax({a})")}
# Operations with a constant array: dot(c, a) (vector -> scalar), C @ a (vector -> vector).
WITH_CONSTANT = {
    "dot": Op(1, lambda c, a: np.dot(c, a), lambda c, a: jnp.dot(c, a), "dot({c}, {a})"),
    "matmul": Op(1, lambda c, a: c @ a, lambda c, a: c @ a, "{c} @ {a}"),
}
OPS = {**UNARY, **BINARY, **REDUCE, **VECTOR, **WITH_CONSTANT}


@dataclass(frozen=True)
class Node:
    """A node of an expression tree.

    ``op`` is "input" (``index`` says which), "const" (``value``) or a key of OPS; ``constant`` is
    the nested-tuple constant array of dot/matmul; ``shape`` is the node's output shape.
    """

    op: str
    shape: tuple[int, ...]
    children: tuple[Node, ...] = ()
    index: int = 0
    value: float = 0.0
    constant: tuple = ()

    @property
    def size(self) -> int:
        """Number of nodes in the tree."""
        return 1 + sum(child.size for child in self.children)

    @property
    def depth(self) -> int:
        """Longest path from this node to a leaf (a leaf has depth 0)."""
        return 1 + max((child.depth for child in self.children), default=-1)


def inputs_used(tree: Node) -> set[int]:
    """Indices of the inputs that appear in the tree."""
    if tree.op == "input":
        return {tree.index}
    return set().union(*(inputs_used(child) for child in tree.children))


def _evaluate(tree: Node, inputs: tuple, side: str, as_array: Callable[[Any], Any]) -> Any:
    if tree.op == "input":
        return inputs[tree.index]
    if tree.op == "const":
        return tree.value
    op = OPS[tree.op]
    impl = op.numpy if side == "numpy" else op.jax
    children = [_evaluate(child, inputs, side, as_array) for child in tree.children]
    if tree.op in WITH_CONSTANT:
        return impl(as_array(tree.constant), *children)
    return impl(*children)


def numpy_function(tree: Node) -> Callable[..., float]:
    """The tree as a NumPy-only function of its inputs (the scratch side).

    Overflow warnings are silenced: a non-finite value is the checker's business, not an exception.

    Args:
      tree: the expression.

    Returns:
      fn(x0, x1, ...) returning a Python float.
    """

    def fn(*inputs: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(_evaluate(tree, inputs, "numpy", np.array))

    fn.__name__ = "generated"
    return fn


def jax_function(tree: Node) -> Callable[..., jax.Array]:
    """The tree as a jax.numpy function, built from the tree independently of the NumPy one.

    Args:
      tree: the expression.

    Returns:
      reference(x0, x1, ...) returning a JAX scalar.
    """

    def reference(*inputs: jax.Array) -> jax.Array:
        return jnp.asarray(_evaluate(tree, inputs, "jax", jnp.array))

    reference.__name__ = "generated_reference"
    # Each generated function is checked at one point: eager JAX is far cheaper than compiling.
    reference.gradcheck_jit = False  # type: ignore[attr-defined]
    return reference


def _constant_text(constant: tuple) -> str:
    if constant and isinstance(constant[0], tuple):
        return "[" + ", ".join(_constant_text(row) for row in constant) + "]"
    return "[" + ", ".join(f"{v:g}" for v in constant) + "]"


def formula(tree: Node) -> str:
    """Readable text of the tree, e.g. ``tanh(x0) * log(1 + x1**2)``.

    Args:
      tree: the expression.

    Returns:
      The formula.
    """
    if tree.op == "input":
        return f"x{tree.index}"
    if tree.op == "const":
        return f"{tree.value:g}" if tree.value >= 0 else f"({tree.value:g})"
    op = OPS[tree.op]
    texts = []
    for child in tree.children:
        text = formula(child)
        child_infix = child.op in BINARY
        # Parenthesise infix children of infix operators, powers and matmul ("(a + b)**2").
        if child_infix and (op.binary_infix or "**" in op.template or "@" in op.template):
            text = f"({text})"
        texts.append(text)
    fields = dict(zip("ab", texts, strict=False))
    if tree.op in WITH_CONSTANT:
        fields["c"] = _constant_text(tree.constant)
    return op.template.format(**fields)
