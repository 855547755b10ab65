"""The seed note's examples, checked against closed forms (the shipped cases check them against
JAX; these tests pin the numbers the note states)."""

import numpy as np
import pytest

from harness import oracle, scratch
from harness.cases import collect
from harness.data import mnist_like_batch, one_hot

NOTE_Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])


def test_note_loss_values():
    t = one_hot(np.array([2]))[0]
    assert scratch.sum_squared_error(NOTE_Y, t) == pytest.approx(0.0975)
    assert scratch.cross_entropy_error(NOTE_Y, t) == pytest.approx(0.5108, abs=1e-4)
    assert scratch.cross_entropy_error(NOTE_Y, t) == pytest.approx(-np.log(0.6 + 1e-7))


def test_batched_cross_entropy_labels_and_one_hot_agree():
    rng = np.random.default_rng(3)
    y = rng.dirichlet(np.ones(10), size=5)
    labels = rng.integers(0, 10, size=5)
    by_labels = scratch.cross_entropy_error(y, labels)
    by_one_hot = scratch.cross_entropy_error(y, one_hot(labels))
    closed_form = -np.mean(np.log(y[np.arange(5), labels] + 1e-7))
    assert by_labels == pytest.approx(closed_form, rel=1e-15)
    assert by_one_hot == pytest.approx(closed_form, rel=1e-15)


def test_gradient_descent_on_function_2_as_in_the_note():
    start = np.array([-3.0, 4.0])
    converged, history = scratch.gradient_descent(scratch.function_2, start, lr=0.1, step_num=100)
    assert np.all(np.abs(converged) < 1e-8)
    assert history.shape == (101, 2) and np.array_equal(history[0], start)
    assert start.tolist() == [-3.0, 4.0]  # init_x is not modified
    diverged, _ = scratch.gradient_descent(scratch.function_2, start, lr=10.0, step_num=100)
    assert np.linalg.norm(diverged) > 1e10
    stuck, _ = scratch.gradient_descent(scratch.function_2, start, lr=1e-10, step_num=100)
    assert np.allclose(stuck, start, atol=1e-6) and not np.array_equal(stuck, start)


def test_accuracy_has_zero_numerical_gradient_where_the_loss_does_not():
    """Why the note trains on a loss and not on accuracy: accuracy is a step function of the
    weights, so its numerical gradient is zero almost everywhere, while the loss gradient (here
    from JAX, independent of the scratch code) is not."""
    params = scratch.init_two_layer_params(20, 8, 10, weight_init_std=0.5, seed=1)
    x, t = mnist_like_batch(batch_size=30, input_size=20, seed=1)
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

    def accuracy_of_w2(w):
        return scratch.two_layer_accuracy(W1, b1, w, b2, x, t)

    accuracy_gradient = scratch.numerical_gradient(accuracy_of_w2, W2.copy(), h=1e-4)
    loss_gradient = oracle.gradient(oracle.two_layer_loss, [W1, b1, W2, b2, x, t], [2])[0]
    assert np.count_nonzero(accuracy_gradient) == 0
    assert np.count_nonzero(loss_gradient) == loss_gradient.size
    assert np.abs(loss_gradient).max() > 1e-3


def test_network_has_39760_parameters():
    net = scratch.TwoLayerNet(784, 50, 10)
    assert net.num_params == 784 * 50 + 50 + 50 * 10 + 10 == 39760


def test_shipped_cases_cover_the_note():
    cases, errors = collect(["cases"])
    assert errors == []
    names = {c.name for c in cases}
    for needed in (
        "function_1/x=5",
        "function_1/x=10",
        "function_2/x=(3,4)",
        "function_2/x=(0,2)",
        "function_2/x=(3,0)",
        "sse/seed-y/t=class-2",
        "cee/seed-y/label=2",
        "sse/seed-y/t=class-7",
        "cee/seed-y/label=7",
        "cee/mini-batch/labels",
        "cee/mini-batch/one-hot",
        "network/784-50-10/numerical",
        "network/784-50-10/backprop",
    ):
        assert needed in names
    network = next(c for c in cases if c.name == "network/784-50-10/numerical")
    assert sum(network.args[i].size for i in network.wrt) == 39760


def test_every_small_shipped_case_passes():
    # The 39,760-parameter finite-difference check is left to `gradcheck run` in .ci/run;
    # the network's backprop check is cheap and runs here.
    cases, _ = collect(["cases"])
    small = [c for c in cases if "network" not in c.tags or c.checks == ("analytic",)]
    assert len(small) >= 15
    failures = [(c.name, r.verdict) for c in small if not (r := c.run()).ok]
    assert failures == []
