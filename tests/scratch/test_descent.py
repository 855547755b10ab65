import numpy as np
import pytest

from harness.scratch import function_2, gradient_descent

START = np.array([-3.0, 4.0])


def test_seed_example_reaches_the_minimum():
    x, _ = gradient_descent(function_2, START, lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [0.0, 0.0], atol=1e-8)


def test_history_follows_the_closed_form():
    # grad = 2x, so each step multiplies x by (1 - 2 lr) = 0.8: x_k = 0.8^k x_0.
    x, history = gradient_descent(function_2, START, lr=0.1, step_num=100)
    assert history.shape == (101, 2)
    np.testing.assert_array_equal(history[0], START)
    np.testing.assert_array_equal(history[-1], x)
    expected = 0.8 ** np.arange(101)[:, None] * START
    np.testing.assert_allclose(history, expected, rtol=1e-6, atol=1e-12)


def test_learning_rate_too_large_diverges():
    # Each step multiplies x by 1 - 2 * 10 = -19.
    x, _ = gradient_descent(function_2, START, lr=10.0, step_num=100)
    assert np.all(np.isfinite(x))
    assert np.abs(x).max() > 1e100


def test_learning_rate_too_small_barely_moves():
    x, _ = gradient_descent(function_2, START, lr=1e-10, step_num=100)
    # (1 - 2e-10)^100 is 1 - 2e-8: the point moved, but by less than 1e-7.
    np.testing.assert_allclose(x, START * (1 - 2e-10) ** 100, rtol=1e-12)
    assert not np.array_equal(x, START)
    np.testing.assert_allclose(x, START, atol=1e-7)


def test_init_x_is_not_modified_and_int_start_is_accepted():
    start = START.copy()
    gradient_descent(function_2, start, lr=0.1, step_num=5)
    np.testing.assert_array_equal(start, START)
    x, history = gradient_descent(function_2, np.array([-3, 4]), lr=0.1, step_num=1)
    np.testing.assert_allclose(x, [-2.4, 3.2], rtol=1e-9)
    assert history.dtype == np.float64


@pytest.mark.parametrize("shape", [(3,), (2, 2)])
def test_history_shape_follows_x(shape):
    _, history = gradient_descent(lambda a: np.sum(a**2), np.ones(shape), step_num=4)
    assert history.shape == (5, *shape)


def test_zero_steps_returns_the_start():
    x, history = gradient_descent(function_2, START, step_num=0)
    np.testing.assert_array_equal(x, START)
    assert history.shape == (1, 2)
