"""Fast mode: directions, the detection bound, and the planted bugs it must still catch.

Every expected gradient comes from jax.grad (through check) or from closed forms; the bound is
checked against closed-form sphere probabilities and a Monte Carlo simulation.
"""

import json
import math

import numpy as np
import pytest

from harness import oracle, scratch
from harness.cli.main import main
from harness.data import mnist_like_batch
from harness.judge.check import check
from harness.judge.directions import (
    detectable_error_norm,
    random_directions,
    sphere_projection_cdf,
    unit_directions,
)
from harness.results import FAIL, NUMERICAL, PASS

# --- directions and the bound -------------------------------------------------------------------


def test_directions_are_unit_seeded_and_per_argument():
    v = random_directions((7, 3), 5, seed=1, position=0)
    assert v.shape == (5, 7, 3)
    np.testing.assert_allclose(np.linalg.norm(v.reshape(5, -1), axis=1), 1.0, rtol=1e-14)
    # The directions are cached: clear the cache so that the seed itself must reproduce them.
    unit_directions.cache_clear()
    again = random_directions((7, 3), 5, seed=1, position=0)
    assert again is not v
    assert np.array_equal(v, again)
    assert not np.allclose(v, random_directions((7, 3), 5, seed=2, position=0))
    assert not np.allclose(v, random_directions((7, 3), 5, seed=1, position=1))


@pytest.mark.parametrize("c", [0.05, 0.3, 0.7, 0.95])
def test_sphere_cdf_matches_closed_forms(c):
    # n = 2: u . v = cos of a uniform angle, P(|t| <= c) = (2 / pi) asin c.
    assert sphere_projection_cdf(2, c) == pytest.approx(2 / math.pi * math.asin(c), abs=1e-6)
    # n = 3 (Archimedes): t is uniform on [-1, 1], P(|t| <= c) = c.
    assert sphere_projection_cdf(3, c) == pytest.approx(c, abs=1e-6)


@pytest.mark.parametrize("n, k", [(50, 2), (400, 4)])
def test_detection_bound_holds_in_simulation(n, k):
    # An error of exactly the bound's norm must be missed with probability ~ miss_probability.
    miss = 0.1
    tolerance = 1.0
    norm = detectable_error_norm(n, k, tolerance, miss_probability=miss)
    rng = np.random.default_rng(0)
    error = rng.standard_normal(n)
    error *= norm / np.linalg.norm(error)
    trials = 20000
    v = rng.standard_normal((trials, k, n))
    v /= np.linalg.norm(v, axis=2, keepdims=True)
    missed = np.all(np.abs(v @ error) <= tolerance, axis=1).mean()
    assert abs(missed - miss) < 0.015
    # Larger errors are missed less often, and more directions catch smaller ones.
    assert detectable_error_norm(n, 2 * k, tolerance, miss) < norm


# --- check(mode="fast") --------------------------------------------------------------------------


def _small_net(hidden=10, classes=10, inputs=20, batch=8):
    params = scratch.init_two_layer_params(inputs, hidden, classes, weight_init_std=0.5, seed=3)
    x, t = mnist_like_batch(batch_size=batch, input_size=inputs, classes=classes, seed=3)
    params["b1"] = np.random.default_rng(4).normal(size=hidden) * 0.1
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def _backprop_loss(W1, b1, W2, b2, x, t):
    """The delta-free loss the textbook backprop differentiates (see cases/seed_network.py)."""
    return oracle.cross_entropy_error(oracle.two_layer_predict(W1, b1, W2, b2, x), t, delta=0.0)


def test_fast_mode_passes_on_a_correct_network_and_states_its_power():
    args = _small_net()
    result = check(
        scratch.two_layer_loss, oracle.two_layer_loss, *args, wrt=(0, 1, 2, 3), mode="fast"
    )
    assert result.ok, result
    numerical = [c for c in result.checks if c.check == NUMERICAL]
    assert [c.arg for c in numerical] == ["W1", "b1", "W2", "b2"]
    for rec in numerical:
        assert rec.verdict == PASS
        assert rec.details["mode"] == "fast" and rec.details["directions"] == 4
        assert rec.details["joint"] == "W1, b1, W2, b2"
        assert 0 < rec.details["detectable_error_norm"] < np.inf
        assert "catches gradient errors of norm >=" in rec.message
    # 2k evaluations for all four arguments together, against 2n for the full check.
    assert sum(rec.evaluations for rec in numerical) == 8


def test_fast_mode_is_deterministic():
    args = _small_net()
    one = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="fast", seed=7)
    unit_directions.cache_clear()  # the second check must redraw its directions from the seed
    two = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="fast", seed=7)
    other = check(scratch.two_layer_loss, oracle.two_layer_loss, *args, mode="fast", seed=8)
    assert json.dumps([r.to_dict() for r in one.checks]) == json.dumps(
        [r.to_dict() for r in two.checks]
    )
    errors = [c.details["directional_errors"] for c in one.checks if c.check == NUMERICAL]
    other_errors = [c.details["directional_errors"] for c in other.checks if c.check == NUMERICAL]
    assert errors != other_errors


def _flipped_bias_loss(index):
    def loss(W1, b1, W2, b2, x, t):
        # Planted bug: one bias entry enters with the wrong sign. At b1 = 0 the value is
        # unchanged, so only the gradient can tell.
        b1 = b1.copy()
        b1[..., index] = -b1[..., index]
        return scratch.two_layer_loss(W1, b1, W2, b2, x, t)

    return loss


@pytest.fixture(scope="module")
def seed_network():
    params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
    x, t = mnist_like_batch(batch_size=100, seed=0)
    return (params["W1"], params["b1"], params["W2"], params["b2"], x, t)


def test_fast_numerical_catches_a_sign_flip_in_one_bias_entry_of_the_seed_network(seed_network):
    b1_grad = oracle.gradient(oracle.two_layer_loss, seed_network, (1,))[0]
    index = int(np.argmax(np.abs(b1_grad)))
    fn = _flipped_bias_loss(index)
    result = check(fn, oracle.two_layer_loss, *seed_network, wrt=(0, 1, 2, 3), mode="fast")
    verdicts = {c.arg: c.verdict for c in result.checks if c.check == NUMERICAL}
    assert verdicts == {"W1": PASS, "b1": FAIL, "W2": PASS, "b2": PASS}
    b1 = next(c for c in result.checks if c.arg == "b1")
    # The disagreeing direction sent b1 to the full check, which names the planted entry.
    assert b1.details["full_check"] == "a direction disagreed"
    assert b1.worst.index == (index,)
    assert b1.worst.got == pytest.approx(-b1_grad[index], rel=1e-5)


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


def test_fast_numerical_catches_a_transposed_weight_in_fn():
    args = _small_net(hidden=10, classes=10)

    def transposed(W1, b1, W2, b2, x, t):
        return scratch.two_layer_loss(W1, b1, W2.T, b2, x, t)

    result = check(
        transposed, oracle.two_layer_loss, *args, wrt=(2,), checks=("numerical",), mode="fast"
    )
    (rec,) = result.checks
    assert rec.verdict == FAIL and rec.details["full_check"] == "a direction disagreed"


def _half_sse_reference(y, t):
    return 0.5 * ((y - t) ** 2).sum()


def test_fast_mode_catches_a_missing_factor_one_half():
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
        mode="fast",
    )
    assert {c.check: c.verdict for c in analytic.checks} == {
        "value": PASS,
        "numerical": PASS,
        "analytic": FAIL,
    }
    numerical = check(
        sse_without_half, _half_sse_reference, y, t, wrt=(0,), checks=("numerical",), mode="fast"
    )
    assert numerical.checks[0].verdict == FAIL


def test_small_arguments_get_the_full_check_in_fast_mode():
    result = check(scratch.function_2, oracle.function_2, np.array([3.0, 4.0]), mode="fast")
    rec = result.checks[-1]
    # 2n quotient evaluations, and one more at the base point to catch state that drifts late
    assert rec.verdict == PASS and rec.evaluations == 5
    assert rec.details["full_check"] == "argument has <= k entries"


def test_bad_mode_and_direction_count_are_rejected():
    x = np.array([3.0, 4.0])
    with pytest.raises(ValueError, match="full, fast"):
        check(scratch.function_2, oracle.function_2, x, mode="quick")
    with pytest.raises(ValueError, match="positive int"):
        check(scratch.function_2, oracle.function_2, x, mode="fast", directions=0)


def test_arguments_come_back_bit_identical_after_fast_mode():
    args = _small_net()
    before = [np.copy(a) for a in args]
    check(_flipped_bias_loss(2), oracle.two_layer_loss, *args, mode="fast")
    for a, b in zip(args, before, strict=True):
        assert a.tobytes() == b.tobytes()


def test_check_traces_the_reference_once_per_shape():
    def fresh_reference(x):  # a new function object: nothing cached for it yet
        return oracle.function_2(x)

    before = oracle.cache_info()["misses"]
    check(scratch.function_2, fresh_reference, np.array([3.0, 4.0]))
    assert oracle.cache_info()["misses"] == before + 1  # value and gradient from one compile
    check(scratch.function_2, fresh_reference, np.array([1.0, 2.0]), mode="fast")
    assert oracle.cache_info()["misses"] == before + 1


def test_cli_fast_flag(tmp_path, capsys):
    status = main(["run", "cases/seed_functions.py", "--fast", "--report-dir", str(tmp_path)])
    assert status == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    modes = {c["details"].get("mode") for r in payload["results"] for c in r["checks"]}
    assert "fast" in modes
    assert main(["run", "cases/seed_functions.py", "--fast", "--directions", "0"]) == 2
