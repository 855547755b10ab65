"""The seed note's examples, checked against closed forms (the shipped cases check them against
JAX; these tests pin the numbers the note states)."""

import numpy as np

from harness import oracle, scratch
from harness.data import mnist_like_batch
from harness.suite.collect import collect


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
