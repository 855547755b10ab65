"""The rest of the seed note's examples, checked against JAX (tests/scratch/ pins them to closed
forms): the directional derivative (4, 2) . (1, 1) = 6 at (2, 1), the steepest-descent facts over
sampled directions, and gradient descent on function_2 from (-3, 4) against the minimum JAX
finds."""

import jax
import jax.numpy as jnp
import jax.scipy.optimize
import numpy as np
import pytest

from harness import oracle, scratch
from harness.suite.collect import collect

X = np.array([2.0, 1.0])
START = np.array([-3.0, 4.0])


def jax_slope(point, direction):
    """grad f . u by forward-mode JAX (jvp), no finite differences."""
    return float(jax.jvp(oracle.function_2, (jnp.asarray(point),), (jnp.asarray(direction),))[1])


def test_the_notes_directional_derivative_is_six():
    assert jax_slope(X, np.array([1.0, 1.0])) == 6.0
    numeric = scratch.numerical_directional_derivative(
        scratch.function_2, X.copy(), np.array([1.0, 1.0])
    )
    # A quadratic's central difference has no truncation error: only rounding, eps |f| / h.
    assert numeric == pytest.approx(6.0, abs=1e-10)
    cases, errors = collect(["cases/seed_directions.py"])
    assert errors == [] and all(c.run().ok for c in cases) and len(cases) == 4


def test_steepest_descent_facts_over_sampled_directions():
    angles = np.linspace(0.0, 2 * np.pi, 720, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    exact = np.array([jax_slope(X, u) for u in directions])
    numeric = np.array(
        [
            scratch.numerical_directional_derivative(scratch.function_2, X.copy(), u)
            for u in directions
        ]
    )
    np.testing.assert_allclose(numeric, exact, atol=1e-10)
    grad = np.asarray(jax.grad(oracle.function_2)(jnp.asarray(X)))
    norm = float(np.linalg.norm(grad))
    unit = grad / norm
    # Largest along grad f, smallest against it, both |grad f| in size; zero perpendicular.
    assert jax_slope(X, unit) == pytest.approx(norm, rel=1e-15)
    assert jax_slope(X, -unit) == pytest.approx(-norm, rel=1e-15)
    assert abs(jax_slope(X, np.array([-unit[1], unit[0]]))) < 1e-15
    assert numeric.max() <= norm + 1e-10 and numeric.min() >= -norm - 1e-10
    assert directions[np.argmax(numeric)] @ unit > np.cos(2 * np.pi / 720)
    assert directions[np.argmin(numeric)] @ -unit > np.cos(2 * np.pi / 720)
    perpendicular = np.abs(directions @ unit) < 1e-2
    assert perpendicular.any() and np.abs(numeric[perpendicular]).max() < 2e-2 * norm


def jax_descent(lr, steps):
    """x <- x - lr jax.grad(f)(x), the same walk with the exact gradient."""
    grad = jax.grad(oracle.function_2)
    x = jnp.asarray(START)
    path = [x]
    for _ in range(steps):
        x = x - lr * grad(x)
        path.append(x)
    return np.asarray(jnp.stack(path))


@pytest.fixture(scope="module")
def jax_minimum():
    found = jax.scipy.optimize.minimize(oracle.function_2, jnp.asarray(START), method="BFGS")
    assert bool(found.success)
    return np.asarray(found.x), float(found.fun)


def test_learning_rate_0_1_reaches_the_minimum_jax_finds(jax_minimum):
    x_min, f_min = jax_minimum
    x, history = scratch.gradient_descent(scratch.function_2, START, lr=0.1, step_num=100)
    np.testing.assert_allclose(x, x_min, atol=1e-8)
    assert scratch.function_2(x) - f_min < 1e-15
    # Step by step it is JAX's walk: the numerical gradient of a quadratic is exact to rounding.
    np.testing.assert_allclose(history, jax_descent(0.1, 100), rtol=1e-7, atol=1e-12)


def test_learning_rate_10_diverges_as_jaxs_walk_does(jax_minimum):
    x, history = scratch.gradient_descent(scratch.function_2, START, lr=10.0, step_num=100)
    assert scratch.function_2(x) > 1e200 > jax_minimum[1]
    # Each step multiplies x by 1 - 2 * 10 = -19, with the exact gradient too.
    np.testing.assert_allclose(history[:30], jax_descent(10.0, 29), rtol=1e-6)


def test_learning_rate_1e_10_barely_moves(jax_minimum):
    x, history = scratch.gradient_descent(scratch.function_2, START, lr=1e-10, step_num=100)
    assert np.abs(x - START).max() < 1e-7
    assert np.abs(x - jax_minimum[0]).min() > 2.9  # nowhere near the minimum
    moved, moved_by_jax = x - START, jax_descent(1e-10, 100)[-1] - START
    np.testing.assert_allclose(moved, moved_by_jax, rtol=1e-6)
