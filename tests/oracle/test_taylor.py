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


def _branchy(v):
    # Python control flow on a value: cannot be traced under jax.jit.
    if v[0] > 0:
        return jnp.sum(jnp.exp(v))
    return jnp.sum(jnp.cos(v))


def _lazy(v):
    # jittable only by luck of the branch taken; with gradcheck_jit False it is never tried
    if v[0] > -10:
        return jnp.sum(v**4)
    return jnp.sum(v)


_lazy.gradcheck_jit = False


def test_reference_that_cannot_be_jitted_runs_eagerly():
    before = oracle.exact.cache_info()["fallbacks"]
    x = np.array([0.5, -0.2])
    directions = np.array([[1.0, 0.0], [0.6, 0.8]])
    got = oracle.taylor_coefficients(_branchy, [x], [0], [directions])
    # every derivative of exp is exp: d^n/dt^n sum exp(x + t u) at 0 = sum exp(x_i) u_i^n
    expected = np.array([[np.sum(np.exp(x) * u**n) for n in range(4)] for u in directions])
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert oracle.exact.cache_info()["fallbacks"] == before + 1
    # the other branch, at another point of the same signature: the cached entry stays eager
    y = np.array([-0.5, 0.3])
    got = oracle.taylor_coefficients(_branchy, [y], [0], [directions])
    cosines = [np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v), np.sin]
    expected = np.array([[np.sum(d(y) * u**n) for n, d in enumerate(cosines)] for u in directions])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_gradcheck_jit_false_is_honoured():
    before = oracle.exact.cache_info()["fallbacks"]
    x = np.array([0.5, -2.0])
    got = oracle.taylor_coefficients(_lazy, [x], [0], [np.eye(2)])
    # along e_i: x_i^4 + rest, then 4 x_i^3, 12 x_i^2, 24 x_i
    expected = np.array([[np.sum(x**4), 4 * xi**3, 12 * xi**2, 24 * xi] for xi in x])
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert oracle.exact.cache_info()["fallbacks"] == before  # jit was never tried
