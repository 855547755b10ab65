"""The hand-written gradient check on the textbook network: planted backprop bugs, against
jax.grad of the delta-free loss the textbook backprop differentiates."""

import numpy as np
import pytest

from harness import oracle, scratch
from harness.data import mnist_like_batch
from harness.judge.check import check
from harness.results import FAIL, PASS


def _small_net(hidden=10, classes=10, inputs=20, batch=8):
    params = scratch.init_two_layer_params(inputs, hidden, classes, weight_init_std=0.5, seed=3)
    x, t = mnist_like_batch(batch_size=batch, input_size=inputs, classes=classes, seed=3)
    params["b1"] = np.random.default_rng(4).normal(size=hidden) * 0.1
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def _backprop_loss(W1, b1, W2, b2, x, t):
    """The delta-free loss the textbook backprop differentiates (see cases/seed_network.py)."""
    return oracle.cross_entropy_error(oracle.two_layer_predict(W1, b1, W2, b2, x), t, delta=0.0)


@pytest.fixture(scope="module")
def seed_network():
    params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=100, seed=0)
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def _analytic_verdicts(args, backprop):
    """The analytic check of backprop on the two-layer net: verdict per parameter, and result."""
    result = check(
        scratch.two_layer_loss,
        _backprop_loss,
        *args,
        wrt=(0, 1, 2, 3),
        grad=backprop,
        checks=("analytic",),
    )
    return {c.arg: c.verdict for c in result.checks}, result


def test_analytic_catches_a_sign_flip_in_one_bias_entry_of_39760_parameter_backprop(
    seed_network,
):
    def backprop(*args):
        dW1, db1, dW2, db2 = scratch.two_layer_gradient(*args)
        db2 = db2.copy()
        db2[3] = -db2[3]
        return dW1, db1, dW2, db2

    verdicts, result = _analytic_verdicts(seed_network, backprop)
    assert sum(int(np.prod(a.shape)) for a in seed_network[:4]) == 39760
    assert verdicts == {"W1": PASS, "b1": PASS, "W2": PASS, "b2": FAIL}
    assert result.worst.describe() == "b2[3]"


def test_analytic_catches_a_transposed_weight_gradient():
    args = _small_net(hidden=10, classes=10)

    def backprop(*a):
        dW1, db1, dW2, db2 = scratch.two_layer_gradient(*a)
        return dW1, db1, dW2.T, db2  # square W2, so only the values can tell

    verdicts, _ = _analytic_verdicts(args, backprop)
    assert verdicts == {"W1": PASS, "b1": PASS, "W2": FAIL, "b2": PASS}


def _half_sse_reference(y, t):
    return 0.5 * ((y - t) ** 2).sum()


def test_a_missing_factor_one_half_is_caught_by_both_checks():
    y = np.random.default_rng(5).random(30)
    t = np.zeros(30)
    t[4] = 1.0

    def sse_without_half(y, t):
        return float(np.sum((y - t) ** 2))

    def grad_without_half(y, t):
        return (2.0 * (y - t),)  # d/dy of 0.5 |y - t|^2 is (y - t): the 1/2 was forgotten

    analytic = check(
        scratch.sum_squared_error,
        _half_sse_reference,
        y,
        t,
        wrt=(0,),
        grad=grad_without_half,
    )
    assert {c.check: c.verdict for c in analytic.checks} == {
        "value": PASS,
        "numerical": PASS,
        "analytic": FAIL,
    }
    numerical = check(sse_without_half, _half_sse_reference, y, t, wrt=(0,), checks=("numerical",))
    assert numerical.checks[0].verdict == FAIL


def test_check_traces_the_reference_once_per_shape():
    def fresh_reference(x):  # a new function object: nothing cached for it yet
        return oracle.function_2(x)

    before = oracle.cache_info()["misses"]
    check(scratch.function_2, fresh_reference, np.array([3.0, 4.0]))
    assert oracle.cache_info()["misses"] == before + 1  # value and gradient from one compile
    check(scratch.function_2, fresh_reference, np.array([1.0, 2.0]))
    assert oracle.cache_info()["misses"] == before + 1
