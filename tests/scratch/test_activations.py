import warnings

import numpy as np
import pytest

from harness.scratch import relu, sigmoid, softmax, tanh


def test_sigmoid_known_values():
    assert sigmoid(0.0) == 0.5
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)


def test_sigmoid_extremes_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = sigmoid(np.array([-1000.0, 1000.0]))
    assert out[0] == 0.0
    assert out[1] == 1.0


def test_sigmoid_is_symmetric_and_keeps_shape():
    x = np.linspace(-30, 30, 24).reshape(2, 3, 4)
    out = sigmoid(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out + sigmoid(-x), 1.0, rtol=1e-15)


def test_sigmoid_keeps_float32():
    assert sigmoid(np.ones(3, dtype=np.float32)).dtype == np.float32


def test_softmax_matches_exp_over_sum_for_small_inputs():
    x = np.array([[0.3, 2.9, 4.0], [1.0, -1.0, 0.0]])
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(x), expected, rtol=1e-14)


def test_softmax_rows_sum_to_one_with_leading_axes():
    x = np.random.default_rng(0).normal(size=(2, 3, 5)) * 10
    out = softmax(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-14)
    # Each (i, j) row is softmax of that row alone: the axis is the last one.
    np.testing.assert_allclose(out[1, 2], softmax(x[1, 2]), rtol=1e-15)


def test_softmax_large_inputs_are_stable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = softmax(np.array([1010.0, 1000.0, 990.0]))
    e = np.exp([0.0, -10.0, -20.0])
    np.testing.assert_allclose(out, e / e.sum(), rtol=1e-14)


def test_softmax_is_shift_invariant():
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(softmax(x + 100.0), softmax(x), rtol=1e-13)


@pytest.mark.parametrize("x, expected", [(-2.0, 0.0), (0.0, 0.0), (3.5, 3.5)])
def test_relu(x, expected):
    assert relu(np.array([x]))[0] == expected


def test_tanh_matches_definition():
    x = np.array([-1.0, 0.0, 0.7])
    np.testing.assert_allclose(tanh(x), (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)))
