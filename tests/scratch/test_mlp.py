"""The from-scratch MLP: forward pass against closed forms, backprop against jax.grad."""

import math

import numpy as np
import pytest

from harness import oracle
from harness.oracle.mlp import mlp_backprop_reference
from harness.scratch.mlp import init_mlp_params, mlp_gradient, mlp_loss, mlp_predict


def test_one_unit_network_matches_hand_computation():
    # 1-1-2 tanh network, one example: every number by hand.
    W1, b1 = np.array([[0.5]]), np.array([0.1])
    W2, b2 = np.array([[1.0, -2.0]]), np.array([0.0, 0.3])
    x, t = np.array([[2.0]]), np.array([1])
    h = math.tanh(0.5 * 2.0 + 0.1)
    s0, s1 = h, -2.0 * h + 0.3
    p1 = math.exp(s1) / (math.exp(s0) + math.exp(s1))
    y = mlp_predict("tanh", x, W1, b1, W2, b2)
    assert math.isclose(y[0, 1], p1, rel_tol=1e-14)
    loss = mlp_loss("tanh", "cross_entropy", x, t, W1, b1, W2, b2)
    assert math.isclose(loss, -math.log(p1 + 1e-7), rel_tol=1e-14)
    sse = mlp_loss("tanh", "sse", x, t, W1, b1, W2, b2)
    assert math.isclose(sse, 0.5 * ((1 - p1) ** 2 + (p1 - 1) ** 2), rel_tol=1e-14)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["cross_entropy", "sse"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_backprop_matches_jax_grad(activation, loss, one_hot):
    sizes = (4, 5, 3, 3)
    params = init_mlp_params(sizes, init_scale=0.7, seed=2)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4))
    labels = rng.integers(0, 3, size=6)
    t = np.eye(3)[labels] if one_hot else labels
    args = (activation, loss, x, t, *params)
    got = mlp_gradient(*args)
    exact = oracle.gradient(mlp_backprop_reference, args, range(4, len(args)))
    assert len(got) == len(params)
    for g, e, p in zip(got, exact, params, strict=True):
        assert g.shape == p.shape
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-13)


def test_float32_network_reports_float32_loss_and_keeps_inputs():
    params = init_mlp_params((3, 2, 2), 0.5, seed=1, dtype=np.float32)
    x = np.ones((2, 3), dtype=np.float32)
    saved = [p.copy() for p in params]
    loss = mlp_loss("relu", "sse", x, np.array([0, 1]), *params)
    assert loss.dtype == np.float32
    for p, s in zip(params, saved, strict=True):
        assert p.dtype == np.float32 and p.tobytes() == s.tobytes()


def test_unknown_names_are_refused():
    params = init_mlp_params((2, 2, 2))
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        mlp_loss("elu", "sse", np.ones((1, 2)), np.array([0]), *params)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        mlp_gradient("relu", "hinge", np.ones((1, 2)), np.array([0]), *params)
