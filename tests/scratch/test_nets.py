"""The chapter 5-7 networks' structure and closed-form facts (their gradients are checked against
JAX by the shipped cases, cases/ch05_nets.py and cases/ch07_conv.py)."""

import numpy as np
import pytest

from harness.scratch import nets

RNG = np.random.default_rng(0)


def _aliases(net):
    """(params name, layer key, attribute) for every layer attribute that is a params array."""
    found = []
    for key, layer in net.layers.items():
        for attr, value in vars(layer).items():
            for name, param in net.params.items():
                if value is param:
                    found.append((name, key, attr))
    return found


def test_layers_hold_the_params_arrays_by_reference():
    net = nets.MultiLayerNetExtend(4, [3, 3], 2, use_batchnorm=True)
    assert sorted(_aliases(net)) == sorted(
        [
            ("W1", "Affine1", "W"),
            ("b1", "Affine1", "b"),
            ("gamma1", "BatchNorm1", "gamma"),
            ("beta1", "BatchNorm1", "beta"),
            ("W2", "Affine2", "W"),
            ("b2", "Affine2", "b"),
            ("gamma2", "BatchNorm2", "gamma"),
            ("beta2", "BatchNorm2", "beta"),
            ("W3", "Affine3", "W"),
            ("b3", "Affine3", "b"),
        ]
    )
    conv = nets.SimpleConvNet((1, 6, 6), filter_num=2, filter_size=3, hidden_size=4)
    assert ("W1", "Conv1", "W") in _aliases(conv)
    assert conv.params["W2"].shape == (2 * 2 * 2, 4)  # 6 - 3 + 1 = 4, pooled to 2 x 2


def test_two_layer_net_loss_is_the_cross_entropy_of_its_affine_relu_affine():
    net = nets.TwoLayerNet(5, 4, 3, weight_init_std=0.5, seed=1)
    x, t = RNG.standard_normal((6, 5)), RNG.integers(0, 3, 6)
    p = net.params
    scores = np.maximum(0, x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    y = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert net.loss(x, t) == pytest.approx(-np.mean(np.log(y[np.arange(6), t] + 1e-7)), rel=1e-14)
    assert net.accuracy(x, t) == np.mean(np.argmax(scores, axis=1) == t)
    grads = net.gradient(x, t)
    assert list(grads) == ["W1", "b1", "W2", "b2"]
    # The output bias gradient is the mean of y - t over the batch.
    np.testing.assert_allclose(grads["b2"], (y - np.eye(3)[t]).mean(axis=0), rtol=1e-12)


def test_weight_decay_adds_half_lambda_w_squared_and_lambda_w():
    plain = nets.MultiLayerNetExtend(4, [3], 2, weight_init_std=0.5, seed=2)
    decayed = nets.MultiLayerNetExtend(
        4, [3], 2, weight_init_std=0.5, weight_decay_lambda=0.1, seed=2
    )
    x, t = RNG.standard_normal((5, 4)), RNG.integers(0, 2, 5)
    penalty = 0.05 * sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + penalty, rel=1e-14)
    g_plain, g_decayed = plain.gradient(x, t), decayed.gradient(x, t)
    np.testing.assert_allclose(g_decayed["W1"], g_plain["W1"] + 0.1 * plain.params["W1"])
    np.testing.assert_array_equal(g_decayed["b1"], g_plain["b1"])


def test_loss_is_test_mode_by_default_and_gradients_use_training_mode():
    net = nets.MultiLayerNetExtend(4, [3], 2, use_dropout=True, dropout_ratio=0.5, seed=3)
    x, t = RNG.standard_normal((5, 4)), RNG.integers(0, 2, 5)
    assert net.loss(x, t) == net.loss(x, t)  # test mode draws nothing
    net.gradient(x, t)
    assert net.layers["Dropout1"].mask is not None


def test_numerical_gradient_uses_the_books_unscaled_step(monkeypatch):
    net = nets.TwoLayerNet(3, 2, 2, weight_init_std=0.5, seed=4)
    x, t = RNG.standard_normal((4, 3)), np.array([0, 1, 0, 1])
    calls = []
    real = nets.numerical_gradient

    def spy(f, param, **kwargs):
        calls.append(kwargs)
        return real(f, param, **kwargs)

    monkeypatch.setattr(nets, "numerical_gradient", spy)
    before = {k: v.copy() for k, v in net.params.items()}
    numeric = net.numerical_gradient(x, t)
    assert calls == [{"h": 1e-4, "scale_step": False}] * 4
    assert list(numeric) == ["W1", "b1", "W2", "b2"]
    for name in before:
        np.testing.assert_array_equal(net.params[name], before[name])  # restored bit for bit
    # b2 enters the loss through a softmax: the central difference at 1e-4 is good to ~1e-8.
    backprop = net.gradient(x, t)
    np.testing.assert_allclose(numeric["b2"], backprop["b2"], atol=1e-6)


def test_nets_are_reproducible_from_their_seed():
    a, b = nets.SimpleConvNet((1, 6, 6), 2, 3, seed=5), nets.SimpleConvNet((1, 6, 6), 2, 3, seed=5)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    with pytest.raises(ValueError, match="unknown activation"):
        nets.MultiLayerNetExtend(3, [2], 2, activation="tanh")
