"""Generated functions: rendering, independence of the two renderings, and a planted bug found."""

import math

import numpy as np
from hypothesis import given, settings

from harness.fuzz.properties import check_function_example
from harness.fuzz.tally import run_property
from harness.generate import (
    Node,
    formula,
    function_examples,
    inputs_used,
    jax_function,
    numpy_function,
)
from harness.scratch import numerical_gradient

X0 = Node("input", (), index=0)
X1 = Node("input", (), index=1)
TANH_LOG = Node("mul", (), (Node("tanh", (), (X0,)), Node("log", (), (X1,))))


def test_formula_reads_like_math():
    assert formula(TANH_LOG) == "tanh(x0) * log(1 + x1**2)"
    summed = Node("add", (), (X0, X1))
    assert formula(Node("square", (), (summed,))) == "(x0 + x1)**2"
    assert formula(Node("sub", (), (X0, summed))) == "x0 - (x0 + x1)"


def test_both_renderings_compute_the_closed_form():
    a, b = np.array(0.7), np.array(-1.3)
    expected = math.tanh(0.7) * math.log(1 + 1.3**2)
    assert math.isclose(numpy_function(TANH_LOG)(a, b), expected, rel_tol=1e-15)
    assert math.isclose(float(jax_function(TANH_LOG)(a, b)), expected, rel_tol=1e-15)


def test_matmul_and_dot_use_their_constants():
    vec = Node("input", (2,), index=0)
    tree = Node(
        "dot",
        (),
        (Node("matmul", (2,), (vec,), constant=((1.0, 2.0), (0.0, -1.0))),),
        constant=(3.0, 0.5),
    )
    x = np.array([1.5, -2.0])
    # [[1, 2], [0, -1]] @ (1.5, -2) = (-2.5, 2); dot with (3, 0.5): -7.5 + 1 = -6.5.
    expected = -6.5
    assert numpy_function(tree)(x) == expected
    assert math.isclose(float(jax_function(tree)(x)), expected, rel_tol=1e-15)
    assert formula(tree) == "dot([3, 0.5], [[1, 2], [0, -1]] @ x0)"


@settings(max_examples=25)
@given(function_examples())
def test_generated_trees_are_well_formed(example):
    assert np.shape(example.reference(*example.inputs)) == ()
    assert example.tree.depth <= 4
    assert inputs_used(example.tree) <= set(range(len(example.inputs)))
    for x in example.inputs:
        assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 4.0)


def gradient_with_wrong_denominator(f, x, h=1e-4, scheme="central"):
    """The planted bug: the central difference divided by h instead of 2h."""
    return 2.0 * numerical_gradient(f, x, h=h, scheme=scheme)


def test_wrong_denominator_is_caught_and_shrunk(ci_settings):
    tally = run_property(
        "functions",
        function_examples(max_inputs=2, max_depth=2),
        lambda ex: check_function_example(ex, numerical_gradient=gradient_with_wrong_denominator),
        ci_settings(30),
    )
    assert tally.failed == 1
    assert "numerical" in tally.failure and "disagrees with jax.grad" in tally.failure
    shrunk = tally.shrunk
    # Any function with a non-zero gradient exposes the bug, so the smallest is a lone input.
    assert shrunk.tree.size <= 2, shrunk.formula
    assert sum(x.size for x in shrunk.inputs) <= 2
    assert shrunk.formula in tally.failure


def test_correct_routine_passes_the_same_examples(ci_settings):
    tally = run_property("functions", function_examples(), check_function_example, ci_settings(10))
    assert tally.failed == 0 and tally.failure is None
    assert tally.passed + tally.rejected + tally.inconclusive == tally.tried > 0
    assert tally.passed > 0
