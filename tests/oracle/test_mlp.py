"""The JAX MLP reference against closed forms."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from harness.oracle.mlp import mlp_backprop_reference, mlp_loss, mlp_predict

# A 1-1-2 sigmoid network on one example, small enough to write down.
W1, b1 = np.array([[0.5]]), np.array([-0.2])
W2, b2 = np.array([[1.5, -1.0]]), np.array([0.2, 0.0])
X = np.array([[1.0]])
HIDDEN = 1 / (1 + math.exp(-(0.5 - 0.2)))
SCORES = (1.5 * HIDDEN + 0.2, -HIDDEN)
P0 = math.exp(SCORES[0]) / (math.exp(SCORES[0]) + math.exp(SCORES[1]))


def test_predict_is_softmax_of_sigmoid_layer():
    y = mlp_predict("sigmoid", X, W1, b1, W2, b2)
    assert math.isclose(float(y[0, 0]), P0, rel_tol=1e-14)


@pytest.mark.parametrize("t", [np.array([0]), np.array([[1.0, 0.0]])])
def test_losses_with_labels_or_one_hot(t):
    ce = float(mlp_loss("sigmoid", "cross_entropy", X, t, W1, b1, W2, b2))
    assert math.isclose(ce, -math.log(P0 + 1e-7), rel_tol=1e-14)
    sse = float(mlp_loss("sigmoid", "sse", X, t, W1, b1, W2, b2))
    assert math.isclose(sse, (1 - P0) ** 2, rel_tol=1e-13)  # 0.5 * 2 * (1 - p0)^2
    exact_ce = float(mlp_backprop_reference("sigmoid", "cross_entropy", X, t, W1, b1, W2, b2))
    assert math.isclose(exact_ce, -math.log(P0), rel_tol=1e-14)


def test_relu_layers_stack():
    W = jnp.eye(2)
    y = mlp_predict(
        "relu", np.array([[1.0, -1.0]]), W, jnp.zeros(2), W, jnp.zeros(2), W, jnp.zeros(2)
    )
    # relu([1, -1]) = [1, 0] twice, then softmax([1, 0]).
    assert math.isclose(float(y[0, 0]), math.e / (math.e + 1), rel_tol=1e-14)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        mlp_loss("relu", "hinge", X, np.array([0]), W1, b1, W2, b2)
