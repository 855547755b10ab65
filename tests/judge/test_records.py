"""A record's error figures (max abs error, max rel error) against planted errors of known size.

Each case plants an error ``delta`` at one entry of a gradient whose exact value is a closed form
(2x for a sum of squares), with the planted values chosen so that every difference is exact in
float64. So max abs error = |delta| exactly, and max rel error follows from its definition, kept
in one place: the ``expected_max_rel_error`` fixture (tests/conftest.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness import check
from harness.results import ANALYTIC, FAIL, KINK, NUMERICAL, PASS, VALUE


def _sum_of_squares(x):
    return float(np.sum(x**2))


def _sum_of_squares_jax(x):
    return jnp.sum(x**2)


def _plus_delta(exact, index, delta):
    """A copy of the exact gradient with delta added at one entry."""
    planted = np.array(exact, dtype=np.float64)
    planted[index] += delta
    return planted


def _planted_routine(index, delta):
    """A finite-difference routine under test that returns 2x, wrong by delta at ``index``."""

    def routine(f, x, h=1e-4, scheme="central"):
        return _plus_delta(2.0 * x, index, delta)

    return routine


# (x, planted index, delta, tol, verdict). The planted entry is never the largest exact entry, so
# the relative error's denominator (the largest |2x|) is not the planted entry's own. An override
# stays below a tenth of that scale (8), else the check could not catch such an error at all and
# its verdict is inconclusive, not pass.
PLANTS = {
    "fails at the smaller entry": (np.array([3.0, -4.0]), (0,), 0.5, None, FAIL),
    "fails below the exact value": (np.array([-3.0, 4.0]), (0,), -0.25, None, FAIL),
    "passes under an override": (np.array([3.0, -4.0]), (0,), 0.5, 0.75, PASS),
    "matrix entry": (np.array([[1.0, -2.5, 0.5], [2.0, 0.25, -1.5]]), (1, 2), 0.125, None, FAIL),
}


@pytest.mark.parametrize("plant", list(PLANTS), ids=list(PLANTS))
@pytest.mark.parametrize("kind", [NUMERICAL, ANALYTIC])
def test_record_reports_the_planted_error(plant, kind, expected_max_rel_error):
    x, index, delta, tol, verdict = PLANTS[plant]
    exact = 2.0 * x  # the gradient of sum(x**2), exact in float64
    if kind == NUMERICAL:
        kwargs = {"numerical_gradient": _planted_routine(index, delta), "checks": (NUMERICAL,)}
    else:
        kwargs = {"grad": lambda v: _plus_delta(2.0 * v, index, delta), "checks": (ANALYTIC,)}
    if tol is not None:
        kwargs["tol"] = {kind: tol}
    result = check(_sum_of_squares, _sum_of_squares_jax, x, name="planted", **kwargs)
    (record,) = result.checks
    assert record.check == kind and record.arg == "x" and record.verdict == verdict
    assert record.worst.index == index
    assert record.max_abs_error == abs(delta)
    assert record.max_rel_error == expected_max_rel_error(abs(delta), exact, [exact])
    if tol is not None:
        assert record.tolerance == tol


def test_relative_error_is_against_the_gradients_largest_entry(expected_max_rel_error):
    # The fixture's definition spelled out: 0.5 against max(|6|, |-8|) = 8 for one argument, and
    # against the largest entry of every argument's gradient (16) when another argument has it.
    # (Change these numbers with the fixture.)
    exact = np.array([6.0, -8.0])
    assert expected_max_rel_error(0.5, exact, [exact]) == 0.0625
    assert expected_max_rel_error(0.5, exact, [exact, np.array([16.0])]) == 0.03125


def test_numerical_check_of_a_function_with_a_planted_slope(expected_max_rel_error):
    # fn = sum(x**2) + c x0 against sum(x**2): the central quotient of a quadratic has no
    # truncation error, so entry 0 is off by c and entry 1 by rounding alone, eps |f| / h ~ 1e-10.
    c = 1e-3
    x = np.array([3.0, -4.0])
    result = check(
        lambda x: float(np.sum(x**2) + c * x[0]),
        _sum_of_squares_jax,
        x,
        checks=(NUMERICAL,),
    )
    (record,) = result.checks
    assert record.verdict == FAIL and record.worst.index == (0,)
    assert record.max_abs_error == pytest.approx(c, rel=1e-6)
    exact = 2.0 * x
    assert record.max_rel_error == pytest.approx(
        expected_max_rel_error(c, exact, [exact]), rel=1e-6
    )


def test_kink_entries_are_left_out_of_the_error_figures(expected_max_rel_error):
    # relu at 0: jax.grad says 0, the central quotient (s - 0) / 2s says 1/2, an error of 0.5 at
    # a kink. The other entries carry a planted 2^-30 (exact: 1 + 2^-30 is a float64), within the
    # policy's tolerance, and that is all the error figures may show.
    x = np.array([0.0, 2.0, -1.5])
    exact = np.array([0.0, 1.0, 0.0])
    delta = 2.0**-30

    def routine(f, x, h=1e-4, scheme="central"):
        return np.array([0.5, 1.0 + delta, 0.0])

    result = check(
        lambda v: float(np.sum(np.maximum(v, 0.0))),
        lambda v: jnp.sum(jax.nn.relu(v)),
        x,
        checks=(NUMERICAL,),
        numerical_gradient=routine,
    )
    (record,) = result.checks
    assert record.verdict == KINK and record.kinks == 1
    assert record.max_abs_error == delta
    assert record.max_rel_error == expected_max_rel_error(delta, exact, [exact])


def test_result_aggregates_the_gradient_checks_and_leaves_out_the_value(expected_max_rel_error):
    # f(a, b) = sum(a**2) + sum(b**2), exact gradients 2a and 2b, fn off by 1000 in value.
    # Planted gradient errors, in the order check() reports them (rel: over the largest |2a|,
    # 80, the gradient's scale; over the argument's own largest entry, as before issue 12):
    #   numerical a: +2 at a[0]      abs 2      rel 2 / 80     (2 / 80)
    #   numerical b: +0.75 at b[1]   abs 0.75   rel 0.75 / 80  (0.75 / 4, the largest then)
    #   analytic  a: +3 at a[1]      abs 3      rel 3 / 80     (3 / 80)   <- the largest abs
    #   analytic  b: +0.125 at b[0]  abs 0.125  rel 0.125 / 80 (0.125 / 4)
    # so neither largest figure is the first or the last record's, and the value check's error
    # (1000, relative 1000 / 2505.25) is larger than both.
    a = np.array([30.0, -40.0])
    b = np.array([0.5, 1.0, -2.0])
    exact_a, exact_b = 2.0 * a, 2.0 * b
    offset = 1000.0

    def fn(a, b):
        return float(np.sum(a**2) + np.sum(b**2)) + offset

    def routine(f, x, h=1e-4, scheme="central"):
        return (
            _plus_delta(2.0 * x, (0,), 2.0)
            if x.shape == a.shape
            else _plus_delta(2.0 * x, (1,), 0.75)
        )

    def grad(a, b):
        return _plus_delta(2.0 * a, (1,), 3.0), _plus_delta(2.0 * b, (0,), 0.125)

    result = check(
        fn,
        lambda a, b: jnp.sum(a**2) + jnp.sum(b**2),
        a,
        b,
        grad=grad,
        numerical_gradient=routine,
        tol={VALUE: 2 * offset},  # the value check passes, so every check runs and is reported
    )
    both = [exact_a, exact_b]
    expected = [
        ((VALUE, None), None, None),
        ((NUMERICAL, "a"), 2.0, expected_max_rel_error(2.0, exact_a, both)),
        ((NUMERICAL, "b"), 0.75, expected_max_rel_error(0.75, exact_b, both)),
        ((ANALYTIC, "a"), 3.0, expected_max_rel_error(3.0, exact_a, both)),
        ((ANALYTIC, "b"), 0.125, expected_max_rel_error(0.125, exact_b, both)),
    ]
    assert [(r.check, r.arg) for r in result.checks] == [key for key, _, _ in expected]
    for record, (key, abs_error, rel_error) in zip(result.checks[1:], expected[1:], strict=True):
        assert record.max_abs_error == abs_error, key
        assert record.max_rel_error == rel_error, key
    value = result.checks[0]
    reference_value = 900.0 + 1600.0 + 0.25 + 1.0 + 4.0
    assert value.max_abs_error == offset
    assert value.max_rel_error == pytest.approx(offset / reference_value, rel=1e-15)
    # The case's figures: the largest of each over the gradient checks, the value check left out.
    assert result.max_abs_error == 3.0
    assert result.max_rel_error == max(rel for _, _, rel in expected[1:])
    assert result.max_rel_error == expected_max_rel_error(3.0, exact_a, both)
