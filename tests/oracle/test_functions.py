"""Oracle references against closed-form math from the seed note."""

import math

import numpy as np
import pytest

from harness import oracle

SEED_Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
SEED_T = np.eye(10)[2]


def test_sum_squared_error_on_seed_vector():
    assert oracle.value(oracle.sum_squared_error, [SEED_Y, SEED_T]) == pytest.approx(0.0975)


def test_cross_entropy_on_seed_vector():
    expected = -math.log(0.6 + 1e-7)
    assert oracle.value(oracle.cross_entropy_error, [SEED_Y, SEED_T]) == pytest.approx(
        expected, rel=1e-15
    )
    assert expected == pytest.approx(0.5108, abs=1e-4)


@pytest.mark.parametrize("label", [2, np.int64(2), np.array(2), np.array([2])])
def test_cross_entropy_labels_match_one_hot(label):
    one_hot = oracle.value(oracle.cross_entropy_error, [SEED_Y, SEED_T])
    assert oracle.value(oracle.cross_entropy_error, [SEED_Y, label]) == one_hot


def test_cross_entropy_batch_labels_match_one_hot_and_average():
    rng = np.random.default_rng(0)
    y = rng.dirichlet(np.ones(4), size=3)
    labels = np.array([0, 3, 1])
    one_hot = np.eye(4)[labels]
    expected = -np.mean(np.log(y[np.arange(3), labels] + 1e-7))
    by_labels = oracle.value(oracle.cross_entropy_error, [y, labels])
    by_one_hot = oracle.value(oracle.cross_entropy_error, [y, one_hot])
    assert by_labels == pytest.approx(expected, rel=1e-14)
    assert by_one_hot == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_soft_targets():
    y = np.array([[0.2, 0.8], [0.5, 0.5]])
    t = np.array([[0.25, 0.75], [1.0, 0.0]])
    expected = -(0.25 * math.log(0.2 + 1e-7) + 0.75 * math.log(0.8 + 1e-7) + math.log(0.5 + 1e-7))
    assert float(oracle.cross_entropy_error(y, t)) == pytest.approx(expected / 2, rel=1e-14)


def test_cross_entropy_rejects_float_non_target():
    with pytest.raises(ValueError, match="neither targets"):
        oracle.cross_entropy_error(SEED_Y, np.array([2.0]))


@pytest.mark.parametrize("x, slope", [(5.0, 0.2), (10.0, 0.3)])
def test_function_1_derivative(x, slope):
    (grad,) = oracle.gradient(oracle.function_1, [x], [0])
    assert grad.shape == ()
    assert float(grad) == pytest.approx(0.02 * x + 0.1, rel=1e-15)
    assert float(grad) == pytest.approx(slope, rel=1e-14)


def test_function_1_value():
    assert oracle.value(oracle.function_1, [10.0]) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "point, expected",
    [((3.0, 4.0), (6.0, 8.0)), ((0.0, 2.0), (0.0, 4.0)), ((3.0, 0.0), (6.0, 0.0))],
)
def test_function_2_gradient(point, expected):
    (grad,) = oracle.gradient(oracle.function_2, [np.array(point)], [0])
    np.testing.assert_array_equal(grad, np.array(expected))


def test_function_2_sums_over_last_axis():
    points = np.array([[3.0, 4.0], [1.0, 2.0]])
    np.testing.assert_allclose(np.asarray(oracle.function_2(points)), [25.0, 5.0])


def test_softmax_rows_sum_to_one_and_are_shift_invariant():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 7)) * 50
    probs = np.asarray(oracle.softmax(logits))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.asarray(oracle.softmax(logits + 1000.0)), probs, atol=1e-15)
    row = np.array([0.3, 2.9, 4.0])
    np.testing.assert_allclose(
        np.asarray(oracle.softmax(row)), np.exp(row) / np.exp(row).sum(), rtol=1e-15
    )


def test_activations_closed_form():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(np.asarray(oracle.sigmoid(x)), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_array_equal(np.asarray(oracle.relu(x)), np.maximum(0.0, x))
    np.testing.assert_allclose(np.asarray(oracle.tanh(x)), np.tanh(x), rtol=1e-15)


def test_accuracy_labels_and_one_hot():
    y = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 0, 0, 0])
    assert float(oracle.accuracy(y, labels)) == 0.75
    assert float(oracle.accuracy(y, np.eye(2)[labels])) == 0.75
    assert float(oracle.accuracy(SEED_Y, 2)) == 1.0


def test_two_layer_predict_rows_are_probabilities():
    rng = np.random.default_rng(2)
    W1, b1 = rng.normal(size=(6, 4)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=3)
    x = rng.normal(size=(5, 6))
    y = np.asarray(oracle.two_layer_predict(W1, b1, W2, b2, x))
    assert y.shape == (5, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-15)
    assert np.asarray(oracle.two_layer_predict(W1, b1, W2, b2, x[0])).shape == (3,)
