"""The blocked and directional finite differences, against closed-form gradients."""

import numpy as np
import pytest

from harness.scratch import (
    function_2,
    numerical_directional_derivative,
    numerical_gradient_batched,
)


def _quadratic(xs):
    # sum_i i * x_i^2 over the last axis: gradient 2 i x_i; accepts a leading axis of copies.
    weights = np.arange(1, xs.shape[-1] + 1)
    return np.sum(weights * xs**2, axis=-1)


@pytest.mark.parametrize("scheme", ["central", "forward", "backward"])
@pytest.mark.parametrize("block_bytes", [1, 64, 2**20])
def test_batched_gradient_matches_closed_form(scheme, block_bytes):
    x = np.random.default_rng(0).normal(size=37)
    before = x.copy()
    grad = numerical_gradient_batched(
        _quadratic,
        x,
        h=1e-6 if scheme == "central" else 1e-8,
        scheme=scheme,
        block_bytes=block_bytes,
    )
    exact = 2 * np.arange(1, 38) * x
    np.testing.assert_allclose(grad, exact, atol=1e-5 if scheme != "central" else 1e-7)
    assert x.tobytes() == before.tobytes()


def test_batched_gradient_of_float32_matrix():
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)

    def f(xs):
        return np.sum(xs.astype(np.float64) ** 2, axis=(-2, -1))

    grad = numerical_gradient_batched(f, x, h=1e-3)
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), atol=1e-3)


def test_batched_f_must_return_one_value_per_copy():
    with pytest.raises(ValueError, match="one value per copy"):
        numerical_gradient_batched(lambda xs: np.sum(xs), np.ones(4))


def test_directional_derivative_is_gradient_dot_direction():
    x = np.array([3.0, 4.0])
    v = np.array([0.6, 0.8])
    before = x.copy()
    slope = numerical_directional_derivative(function_2, x, v, h=1e-5)
    assert slope == pytest.approx(2 * 3.0 * 0.6 + 2 * 4.0 * 0.8, rel=1e-9)
    assert x.tobytes() == before.tobytes()
