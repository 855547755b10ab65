import math

import numpy as np
import pytest

from harness.scratch import cross_entropy_error, sum_squared_error

# The seed note's example: the network says class 2 with probability 0.6.
Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])


def test_sse_seed_example():
    # 0.5 * (0.1^2 + 0.05^2 + 0.4^2 + 0.05^2 + 0.1^2 + 0.1^2) = 0.5 * 0.195
    assert math.isclose(sum_squared_error(Y, T), 0.0975, rel_tol=1e-14)
    assert isinstance(sum_squared_error(Y, T), float)


def test_sse_does_not_average_over_batch():
    y = np.stack([Y, Y])
    t = np.stack([T, T])
    assert math.isclose(sum_squared_error(y, t), 2 * 0.0975, rel_tol=1e-14)


def test_sse_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        sum_squared_error(Y, T[:5])


def test_cee_seed_example_one_hot_and_label():
    expected = -math.log(0.6 + 1e-7)
    assert math.isclose(cross_entropy_error(Y, T), expected, rel_tol=1e-14)
    assert math.isclose(cross_entropy_error(Y, 2), expected, rel_tol=1e-14)
    assert math.isclose(expected, 0.5108, abs_tol=1e-4)


def test_cee_wrong_class_is_large():
    # The right class has probability 0.0: -log(1e-7) = 7 log 10.
    assert math.isclose(cross_entropy_error(Y, 3), 7 * math.log(10), rel_tol=1e-6)


def test_cee_batch_labels_equal_one_hot():
    rng = np.random.default_rng(1)
    y = rng.dirichlet(np.ones(4), size=6)
    labels = np.array([0, 3, 1, 1, 2, 0])
    one_hot = np.eye(4)[labels]
    expected = -np.mean(np.log(y[np.arange(6), labels] + 1e-7))
    assert math.isclose(cross_entropy_error(y, labels), expected, rel_tol=1e-15)
    assert math.isclose(cross_entropy_error(y, one_hot), expected, rel_tol=1e-15)


def test_cee_honours_soft_targets():
    y = np.array([[0.2, 0.8], [0.5, 0.5]])
    t = np.array([[0.25, 0.75], [1.0, 0.0]])
    expected = (
        -(0.25 * math.log(0.2 + 1e-7) + 0.75 * math.log(0.8 + 1e-7) + math.log(0.5 + 1e-7)) / 2
    )
    assert math.isclose(cross_entropy_error(y, t), expected, rel_tol=1e-14)


def test_cee_delta_zero_is_plain_log():
    assert math.isclose(cross_entropy_error(np.array([0.5, 0.5]), 0, delta=0.0), math.log(2))


@pytest.mark.parametrize(
    "y, t, match",
    [
        (np.full((3, 4), 0.25), np.array([0, 1]), "labels of shape"),
        (np.full((3, 4), 0.25), np.zeros((3, 5)), "labels of shape"),
        (np.full(4, 0.25), np.array([0, 1]), "scalar label"),
        (np.full((3, 4), 0.25), np.array([0, 4, 1]), r"\[0, 4\)"),
        (np.full((3, 4), 0.25), np.array([0, -1, 1]), r"\[0, 4\)"),
        (np.full((3, 4), 0.25), np.array([0.0, 1.0, 2.0]), "integers"),
        (np.full((2, 3, 4), 0.25), np.zeros(2, dtype=int), r"\(C,\) or \(N, C\)"),
    ],
)
def test_cee_rejects_bad_inputs(y, t, match):
    with pytest.raises(ValueError, match=match):
        cross_entropy_error(y, t)
