import math

import numpy as np
import pytest

from harness import oracle
from harness.scratch import (
    TwoLayerNet,
    init_two_layer_params,
    numerical_gradient,
    softmax,
    two_layer_accuracy,
    two_layer_gradient,
    two_layer_loss,
    two_layer_predict,
)

NAMES = ("W1", "b1", "W2", "b2")


def small_problem(weight_init_std=0.5, seed=3):
    """A 5-4-3 network on a batch of 7, large enough weights to make gradients busy."""
    params = init_two_layer_params(5, 4, 3, weight_init_std=weight_init_std, seed=seed)
    rng = np.random.default_rng(seed + 100)
    params["b1"] = rng.normal(size=4)
    params["b2"] = rng.normal(size=3)
    x = rng.normal(size=(7, 5))
    labels = np.array([0, 2, 1, 1, 0, 2, 2])
    return params, x, labels


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)))


def test_full_size_net_has_39760_parameters():
    net = TwoLayerNet()
    assert net.num_params == 784 * 50 + 50 + 50 * 10 + 10 == 39_760
    assert net.params["W1"].shape == (784, 50)
    assert net.params["b2"].shape == (10,)


def test_init_is_seeded_and_scaled():
    a = init_two_layer_params(seed=1)
    b = init_two_layer_params(seed=1)
    for name in NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["W1"], init_two_layer_params(seed=2)["W1"])
    assert np.all(a["b1"] == 0) and np.all(a["b2"] == 0)
    assert 0.009 < a["W1"].std() < 0.011


def test_predict_matches_hand_computation():
    params, x, _ = small_problem()
    hidden = 1 / (1 + np.exp(-(x @ params["W1"] + params["b1"])))
    scores = hidden @ params["W2"] + params["b2"]
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    y = two_layer_predict(*(params[n] for n in NAMES), x)
    np.testing.assert_allclose(y, expected, rtol=1e-13)


def test_all_zero_network_closed_form():
    # Zero weights: hidden = sigmoid(0) = 1/2 and y = 1/C for every class, so
    # loss = -log(1/C + delta), db2_j = 1/C - (fraction of label j), dW2 = db2 / 2,
    # and no signal reaches the first layer (W2 = 0).
    C, N = 3, 7
    params = init_two_layer_params(5, 4, C, weight_init_std=0.0)
    _, x, labels = small_problem()
    args = tuple(params[n] for n in NAMES)
    assert math.isclose(two_layer_loss(*args, x, labels), -math.log(1 / C + 1e-7), rel_tol=1e-14)
    dW1, db1, dW2, db2 = two_layer_gradient(*args, x, labels)
    expected_db2 = 1 / C - np.bincount(labels, minlength=C) / N
    np.testing.assert_allclose(db2, expected_db2, atol=1e-15)
    np.testing.assert_allclose(dW2, np.tile(expected_db2 / 2, (4, 1)), atol=1e-15)
    np.testing.assert_array_equal(dW1, 0.0)
    np.testing.assert_array_equal(db1, 0.0)


def test_backprop_matches_jax_gradient_of_delta_free_loss():
    # Backprop is the gradient of -sum t log y / N (delta -> 0); against the oracle's exact
    # gradient of that loss it must agree to well below 1e-7.
    params, x, labels = small_problem()
    args = [params[n] for n in NAMES]
    exact = oracle.gradient(oracle.two_layer_backprop_reference, [*args, x, labels], [0, 1, 2, 3])
    backprop = two_layer_gradient(*args, x, labels)
    for name, grad, expected in zip(NAMES, backprop, exact, strict=True):
        assert relative_error(grad, expected) < 1e-7, name


def test_numerical_gradient_of_two_layer_loss_matches_jax_and_backprop_misses_only_delta():
    # Against jax.grad of the loss with log(y + 1e-7): the central difference at h = 1e-4 is off
    # by its truncation h^2 |f'''| / 6 (~1e-9 here) and rounding eps |f| / h (~1e-12), so 1e-7 is
    # ample. Backprop is the gradient of the delta-free loss: the delta's factor y / (y + 1e-7)
    # moves the exact gradient by a relative 1e-7 / y ~ 1e-6 here (y from JAX's forward pass).
    params, x, labels = small_problem()
    args = [params[n] for n in NAMES]
    exact = oracle.gradient(oracle.two_layer_loss, [*args, x, labels], [0, 1, 2, 3])
    backprop = two_layer_gradient(*args, x, labels)
    y_correct = np.asarray(oracle.two_layer_predict(*args, x))[np.arange(7), labels]
    allowed = 3 * 1e-7 / y_correct.min()
    for name, param, grad, expected in zip(NAMES, args, backprop, exact, strict=True):
        numeric = numerical_gradient(lambda _: two_layer_loss(*args, x, labels), param)
        assert relative_error(numeric, expected) < 1e-7, name
        assert relative_error(grad, expected) < allowed, name


def test_backprop_one_hot_labels_and_single_example_agree():
    params, x, labels = small_problem()
    args = [params[n] for n in NAMES]
    from_labels = two_layer_gradient(*args, x, labels)
    one_hot = np.eye(3)[labels]
    from_one_hot = two_layer_gradient(*args, x, one_hot)
    exact = oracle.gradient(oracle.two_layer_backprop_reference, [*args, x, one_hot], [0, 1, 2, 3])
    for name, a, b, expected in zip(NAMES, from_labels, from_one_hot, exact, strict=True):
        assert relative_error(b, expected) < 1e-12, name
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=1e-17)
    # A 1-D x is a batch of one, as in the loss.
    single = two_layer_gradient(*args, x[0], labels[0])
    batch_of_one = two_layer_gradient(*args, x[:1], labels[:1])
    exact_single = oracle.gradient(
        oracle.two_layer_backprop_reference, [*args, x[:1], labels[:1]], [0, 1, 2, 3]
    )
    for name, a, b, expected in zip(NAMES, single, batch_of_one, exact_single, strict=True):
        assert a.shape == expected.shape, name
        assert relative_error(a, expected) < 1e-12, name
        np.testing.assert_array_equal(a, b)


def test_backprop_soft_targets_match_jax_gradient():
    params, x, _ = small_problem()
    args = [params[n] for n in NAMES]
    targets = softmax(np.random.default_rng(9).normal(size=(7, 3))) * 0.8  # rows sum to 0.8
    exact = oracle.gradient(oracle.two_layer_backprop_reference, [*args, x, targets], [0, 1, 2, 3])
    backprop = two_layer_gradient(*args, x, targets)
    for name, grad, expected in zip(NAMES, backprop, exact, strict=True):
        assert relative_error(grad, expected) < 1e-7, name


def test_net_gradients_use_in_place_params_and_match_jax():
    net = TwoLayerNet(5, 4, 3, weight_init_std=0.5, seed=3)
    _, x, labels = small_problem()
    before = {name: p.tobytes() for name, p in net.params.items()}
    args = [net.params[n] for n in NAMES]
    with_delta = oracle.gradient(oracle.two_layer_loss, [*args, x, labels], [0, 1, 2, 3])
    delta_free = oracle.gradient(
        oracle.two_layer_backprop_reference, [*args, x, labels], [0, 1, 2, 3]
    )
    numeric = net.numerical_gradient(x, labels)
    backprop = net.gradient(x, labels)
    assert set(numeric) == set(backprop) == set(NAMES)
    for name, exact, exact_delta_free in zip(NAMES, with_delta, delta_free, strict=True):
        assert net.params[name].tobytes() == before[name]
        assert numeric[name].shape == backprop[name].shape == net.params[name].shape
        # Finite differences of the loss itself (with its delta): truncation ~1e-9 at h = 1e-4.
        assert relative_error(numeric[name], exact) < 1e-7, name
        # Backprop is the delta-free gradient, to rounding.
        assert relative_error(backprop[name], exact_delta_free) < 1e-12, name


def test_net_methods_match_jax():
    net = TwoLayerNet(5, 4, 3, weight_init_std=0.5, seed=3)
    _, x, labels = small_problem()
    args = [net.params[n] for n in NAMES]
    expected_y = np.asarray(oracle.two_layer_predict(*args, x))
    np.testing.assert_allclose(net.predict(x), expected_y, rtol=1e-13, atol=1e-16)
    expected_loss = oracle.value(oracle.two_layer_loss, [*args, x, labels])
    assert net.loss(x, labels) == pytest.approx(expected_loss, rel=1e-13)
    hits = np.argmax(expected_y, axis=1) == labels
    assert 0 < hits.sum() < len(labels)  # some right, some wrong: a fraction is being counted
    assert net.accuracy(x, labels) == hits.mean()
    # The methods read the dict on every call: a changed parameter is seen.
    net.params["b2"][:] = [0.0, 50.0, 0.0]
    assert net.accuracy(x, labels) == np.mean(labels == 1)


def test_accuracy_counts_argmax_hits():
    # W2 = 0 and b2 = (0, 5, 0): every example is predicted as class 1.
    params = init_two_layer_params(5, 4, 3, weight_init_std=0.0)
    params["b2"] = np.array([0.0, 5.0, 0.0])
    _, x, labels = small_problem()  # labels contain class 1 twice out of 7
    args = [params[n] for n in NAMES]
    assert two_layer_accuracy(*args, x, labels) == pytest.approx(2 / 7)
    assert two_layer_accuracy(*args, x, np.eye(3)[labels]) == pytest.approx(2 / 7)
