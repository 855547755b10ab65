"""Directional Taylor coefficients against closed forms."""

import jax.numpy as jnp
import numpy as np
import pytest

from harness import oracle


def test_sin_sum_along_directions():
    x = np.array([0.3, -1.1, 2.0])
    directions = np.array([[1.0, 0.0, 0.0], [0.6, 0.0, 0.8], [0.2, -0.5, 0.3]])
    got = oracle.taylor_coefficients(lambda v: jnp.sum(jnp.sin(v)), [x], [0], [directions])
    # d^n/dt^n sum sin(x + t u) at 0 = sum sin^(n)(x_i) u_i^n
    derivatives = [np.sin, np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v)]
    expected = np.array(
        [[np.sum(d(x) * u**n) for n, d in enumerate(derivatives)] for u in directions]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_two_arguments_and_static_labels():
    a, b = np.array([0.5]), np.array([2.0])

    def ref(a, b, power):
        return jnp.sum(a * b**power)

    got = oracle.taylor_coefficients(ref, [a, b, 3], [0, 1], [np.array([[1.0]]), np.array([[1.0]])])
    # g(t) = (0.5 + t)(2 + t)^3
    t_poly = np.polynomial.Polynomial([0.5, 1]) * np.polynomial.Polynomial([2, 1]) ** 3
    expected = [t_poly.deriv(n)(0.0) if n else t_poly(0.0) for n in range(4)]
    np.testing.assert_allclose(got[0], expected, rtol=1e-14)


def test_mismatched_directions_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        oracle.taylor_coefficients(lambda v: jnp.sum(v), [np.ones(3)], [0], [np.ones((2, 4))])
