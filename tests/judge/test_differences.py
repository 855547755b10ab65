"""The judge's own difference quotients, against closed forms."""

import math

import numpy as np
import pytest

from harness.judge.differences import central_slope, one_sided_slopes


def test_one_sided_slopes_at_relu_kink():
    x = np.array([0.0, 2.0])

    def f(a):
        return float(np.sum(np.maximum(a, 0.0)))

    forward, backward = one_sided_slopes(f, x, (0,), 1e-4)
    # f(0 + h) = 1e-4 + 2 is rounded, so the forward slope is 1 only to about 1e-11.
    assert math.isclose(forward, 1.0, rel_tol=1e-9) and backward == 0.0
    forward, backward = one_sided_slopes(f, x, (1,), 2e-4)
    assert math.isclose(forward, 1.0, rel_tol=1e-9) and math.isclose(backward, 1.0, rel_tol=1e-9)


def test_one_sided_slopes_of_a_cube_bracket_the_derivative():
    # f = x^3 at x = 2 with step s: ((2 + s)^3 - 8) / s = 12 + 6 s + s^2, and the
    # backward slope is 12 - 6 s + s^2; they bracket f'(2) = 12.
    x = np.array([[1.0, 2.0]])
    step = 2e-3
    forward, backward = one_sided_slopes(lambda a: float(np.sum(a**3)), x, (0, 1), step)
    assert math.isclose(forward, 12 + 6 * step + step**2, rel_tol=1e-9)
    assert math.isclose(backward, 12 - 6 * step + step**2, rel_tol=1e-9)


def test_central_slope_of_a_quadratic_is_exact_along_any_direction():
    # f = sum(x^2): (f(x + s v) - f(x - s v)) / 2s = 2 x . v exactly, for any s.
    x = np.array([0.5, -1.5, 3.0])
    v = np.array([0.6, 0.0, -0.8])
    assert math.isclose(central_slope(lambda a: float(np.sum(a**2)), x, v, 1e-3), 2 * x @ v)


@pytest.mark.parametrize("which", ["one_sided", "central"])
def test_arguments_come_back_bit_identical_when_f_raises(which):
    x = np.asfortranarray(np.arange(6.0).reshape(2, 3) / 7.0)
    before = x.tobytes()
    calls = []

    def f(a):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(np.sum(a))

    with pytest.raises(RuntimeError):
        if which == "one_sided":
            one_sided_slopes(f, x, (1, 2), 1e-3)
        else:
            central_slope(f, x, np.ones_like(x), 1e-3)
    assert x.tobytes() == before
