"""Verdicts a bug cannot talk its way out of: each planted bug beside its correct twin.

Kinks, ties and jumps; float32 judged as float32 and replayed in float64; checks too weak to catch
an error of a tenth of the gradient's scale; steps below an argument's resolution; state that
drifts late. References are jax.numpy, written independently of the NumPy code under test.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from harness import check
from harness.results import (
    ANALYTIC,
    ERROR,
    FAIL,
    INCONCLUSIVE,
    KINK,
    NONDETERMINISTIC,
    NUMERICAL,
    OK_VERDICTS,
    PASS,
)


def _record(result, kind, arg=None):
    found = [c for c in result.checks if c.check == kind and (arg is None or c.arg == arg)]
    assert found, result.checks
    return found[0]


# --- max pooling on post-ReLU input: windows tied at 0 --------------------------------------------

DOUT = np.array([[0.7, -1.3], [2.0, 0.4]])
# 4x4 input, 2x2 windows: two windows all zero (ties at 0, as after a ReLU), two with one max.
POOL_X = np.array(
    [
        [0.0, 0.0, 0.3, 0.9],
        [0.0, 0.0, 0.1, 0.2],
        [0.5, 0.1, 0.0, 0.0],
        [0.2, 0.4, 0.0, 0.0],
    ]
)


def _windows(x):
    return x.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)


def pool_loss(x, dout):
    return float(np.sum(dout * _windows(x).max(axis=-1)))


def pool_reference(x, dout):
    windows = x.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    return jnp.sum(dout * jnp.max(windows, axis=-1))


def _pool_backward(x, dout, shift=0, transpose=False):
    """The book's pooling backward: dout goes to the first argmax of each window."""
    windows = _windows(x)
    arg = (windows.argmax(axis=-1) + shift) % 4
    upstream = dout.T if transpose else dout
    grad_windows = np.zeros_like(windows)
    rows, cols = np.indices(arg.shape)
    grad_windows[rows, cols, arg] = upstream
    return grad_windows.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)


@pytest.mark.parametrize(
    ("name", "grad", "ok"),
    [
        ("book's backward", lambda x, d: _pool_backward(x, d), True),
        ("off-by-one argmax", lambda x, d: _pool_backward(x, d, shift=1), False),
        ("untransposed dout", lambda x, d: _pool_backward(x, d, transpose=True), False),
        (
            "all ones at the ties",
            lambda x, d: _pool_backward(x, d) + (_windows_tied(x) * d_up(d)),
            False,
        ),
    ],
)
def test_max_pooling_at_ties(name, grad, ok):
    verdicts = set()
    for seed in range(4):
        result = check(pool_loss, pool_reference, POOL_X.copy(), DOUT, wrt=0, grad=grad, seed=seed)
        verdicts.add(_record(result, ANALYTIC).verdict)
    assert len(verdicts) == 1, f"{name}: the verdict depends on the seed: {verdicts}"
    verdict = verdicts.pop()
    if ok:
        # JAX splits a tie's gradient evenly, the book gives it to the first entry: both are
        # valid, the entries differ, so the verdict is kink.
        assert verdict == KINK, name
    else:
        assert verdict == FAIL, name


def _windows_tied(x):
    """1 on every entry of a window whose entries are all equal (a tie), 0 elsewhere."""
    windows = _windows(x)
    tied = (windows == windows.max(axis=-1, keepdims=True)).all(axis=-1, keepdims=True)
    full = np.broadcast_to(tied, windows.shape).astype(float)
    return full.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)


def d_up(dout):
    """dout upsampled to the input's shape (each window's entries get its dout)."""
    return np.kron(dout, np.ones((2, 2)))


# --- ReLU and leaky ReLU at their kinks -----------------------------------------------------------

RELU_X = np.array([0.0, 1e-3, 0.5, -0.2, 0.0])
RELU_W = np.array([0.9, -1.7, 0.4, 2.2, -0.6])


def relu_loss(x):
    return float(np.sum(RELU_W * np.maximum(x, 0.0)))


def relu_reference(x):
    return jnp.sum(RELU_W * jnp.maximum(x, 0.0))


def _relu_grad(x, flip=None):
    g = RELU_W * (x > 0)
    if flip is not None:
        g = g.copy()
        g[flip] = -g[flip]
    return g


@pytest.mark.parametrize(
    ("grad", "expected"),
    [
        # jax.grad of maximum(x, 0) at 0 is 1/2; the book's 0 and the x >= 0 convention's 1 are
        # valid subgradients too: kink
        (lambda x: _relu_grad(x), KINK),
        (lambda x: RELU_W * (x >= 0), KINK),
        (lambda x: _relu_grad(x, flip=1), FAIL),  # the sign flip next to the kink at x[0]
    ],
)
def test_relu_sign_flip_next_to_a_kink(grad, expected):
    result = check(relu_loss, relu_reference, RELU_X.copy(), grad=grad)
    assert _record(result, ANALYTIC).verdict == expected


ALPHA = 0.1


def leaky_loss(x):
    return float(np.sum(RELU_W * np.where(x > 0, x, ALPHA * x)))


def leaky_reference(x):
    return jnp.sum(RELU_W * jnp.where(x > 0, x, ALPHA * x))


@pytest.mark.parametrize(
    ("grad", "expected"),
    [
        (lambda x: RELU_W * np.where(x > 0, 1.0, ALPHA), PASS),
        (lambda x: RELU_W * np.where(x >= 0, 1.0, ALPHA), KINK),
        # a wrong subgradient at 0: 0 lies outside [alpha, 1]
        (lambda x: RELU_W * np.where(x > 0, 1.0, np.where(x < 0, ALPHA, 0.0)), FAIL),
    ],
)
def test_leaky_relu_subgradient(grad, expected):
    result = check(leaky_loss, leaky_reference, RELU_X.copy(), grad=grad)
    assert _record(result, ANALYTIC).verdict == expected


# --- float32 --------------------------------------------------------------------------------------

LEAF_X = np.array([0.5, -1.2, 3e5], dtype=np.float32)


def leaf_loss(x):
    return float(np.sum(np.sin(x[:2])) + np.float32(1e-6) * x[2] ** 2)


def leaf_reference(x):
    return jnp.sum(jnp.sin(x[:2])) + 1e-6 * x[2] ** 2


def _leaf_grad(x, drop=False):
    g = np.concatenate([np.cos(x[:2]), [2e-6 * x[2]]]).astype(x.dtype)
    if drop:
        g[2] = 0
    return g


@pytest.mark.parametrize(("drop", "expected"), [(False, PASS), (True, FAIL)])
def test_float32_dropped_large_leaf(drop, expected):
    result = check(leaf_loss, leaf_reference, LEAF_X.copy(), grad=lambda x: _leaf_grad(x, drop))
    record = _record(result, ANALYTIC)
    assert record.verdict == expected
    if drop:
        assert record.worst.index == (2,)


def _float32_net():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 6)).astype(np.float32)
    w = (0.4 * rng.normal(size=(6, 5))).astype(np.float32)
    y = rng.normal(size=(16, 5)).astype(np.float32)
    return x, w, y


def net_loss(w, x, y):
    return float(0.5 * np.sum((np.tanh(x @ w) - y) ** 2))  # the README's float(...) idiom


def net_reference(w, x, y):
    return 0.5 * jnp.sum((jnp.tanh(x @ w) - y) ** 2)


def net_backprop(w, x, y, bump_median=False):
    hidden = np.tanh(x @ w)
    grad = x.T @ ((hidden - y) * (1 - hidden**2))  # dtype-generic: float32 in, float32 out
    if bump_median:
        flat = np.abs(grad).ravel()
        median = int(np.argsort(flat)[flat.size // 2])
        grad = grad.copy()
        grad.flat[median] *= 1.001  # a 0.1% error in a median entry
    return grad


def test_float64_replay_catches_what_float32_tolerances_cannot():
    # 0.1% of the entry nearest 1% of the gradient's scale: an error of ~1e-5 of the scale, below
    # the float32 tolerance (256 eps32 ~ 3e-5 of it) but far above the float64 replay's.
    x, w, y = _float32_net()
    exact = net_backprop(*(a.astype(np.float64) for a in (w, x, y)))
    target = int(np.argmin(np.abs(np.abs(exact).ravel() - 0.01 * np.abs(exact).max())))

    def grad(*args):
        g = net_backprop(*args).copy()
        g.flat[target] *= 1.001
        return g

    record = _record(check(net_loss, net_reference, w, x, y, wrt=0, grad=grad), ANALYTIC)
    assert record.verdict == FAIL and record.worst.index == np.unravel_index(target, w.shape)
    assert "float64 replay of grad disagrees" in record.message
    # The float32 run alone is within the float32 tolerance there: 256 eps32 (|g_i| + G).
    eps32, scale = float(np.finfo(np.float32).eps), float(np.abs(exact).max())
    float32_error = abs(grad(w, x, y).flat[target] - exact.flat[target])
    assert float32_error < 256 * eps32 * (abs(exact.flat[target]) + scale)
    assert record.error_ratio > 1 and record.details["float64_replay_error"] > 1e-6 * scale


@pytest.mark.parametrize(("bump", "expected"), [(False, PASS), (True, FAIL)])
def test_float32_backprop_is_replayed_in_float64(bump, expected):
    x, w, y = _float32_net()
    result = check(
        net_loss, net_reference, w, x, y, wrt=0, grad=lambda *a: net_backprop(*a, bump_median=bump)
    )
    value = _record(result, "value")
    assert value.verdict == PASS and value.dtype == "float32"  # float32 judged as float32
    record = _record(result, ANALYTIC)
    assert record.verdict == expected, record.message
    # The report shows the float32 rounding: the gap to the float64 replay, a few ulps of the
    # gradient's scale, far below the float32 tolerance.
    scale = float(np.abs(net_backprop(*(a.astype(np.float64) for a in (w, x, y)))).max())
    assert 0 < record.details["float32_rounding"] < 1e-4 * scale
    if not bump:
        assert record.details["float64_replay_error"] < 1e-12 * scale


# --- powerless checks and constant offsets --------------------------------------------------------

OFFSET_X = np.array([0.3, -0.7, 1.1])


def offset_loss(x):
    return 1e9 + float(np.sum(x**2))


def offset_reference(x):
    return 1e9 + jnp.sum(x**2)


@pytest.mark.parametrize(("bump", "expected"), [(1.0, PASS), (1.01, FAIL)])
def test_one_percent_error_under_a_large_offset(bump, expected):
    def grad(x):
        g = 2 * x
        g[0] *= bump
        return g

    result = check(offset_loss, offset_reference, OFFSET_X.copy(), grad=grad)
    assert _record(result, ANALYTIC).verdict == expected
    # The finite differences of a value of 1e9 cannot resolve a slope of ~1: not a pass.
    numerical = _record(result, NUMERICAL)
    assert numerical.verdict == INCONCLUSIVE
    assert numerical.details["detectable_error"] > 0.1 * 2.2
    assert not result.ok


def test_a_shifted_gradient_is_never_a_pass_where_the_check_is_powerless():
    # fn's every gradient entry shifted by half the largest: under the offset the numerical check
    # cannot see it, and says so instead of passing.
    shift = 0.5 * 2.2
    result = check(
        lambda x: offset_loss(x) + shift * float(np.sum(x)),
        lambda x: offset_reference(x) + shift * jnp.sum(x),
        OFFSET_X.copy(),
        checks=("numerical",),
    )
    assert result.verdict == INCONCLUSIVE and not result.ok


# --- jumps are not kinks --------------------------------------------------------------------------


def _huber(r, constant):
    a = np.abs(r)
    return float(np.sum(np.where(a <= 1.0, 0.5 * r**2, a - constant)))


def huber_reference(r):
    a = jnp.abs(r)
    return jnp.sum(jnp.where(a <= 1.0, 0.5 * r**2, a - 0.5))


@pytest.mark.parametrize(("constant", "expected"), [(0.5, PASS), (0.4, FAIL)])
def test_huber_branch_constant_at_its_breakpoint(constant, expected):
    r = np.array([1.0, -0.3, 2.5])  # r[0] sits on the breakpoint
    result = check(lambda v: _huber(v, constant), huber_reference, r)
    record = _record(result, NUMERICAL)
    assert record.verdict == expected, record.message
    if expected == FAIL:
        assert "discontinuous at v[0]" in record.message
        assert record.verdict not in OK_VERDICTS


def test_staircase_is_never_a_pass():
    x = np.array([0.3, 1.7])

    def staircase(v):
        return float(np.sum(np.floor(v * 1e4) / 1e4))

    result = check(staircase, lambda v: jnp.sum(v), x, checks=("numerical",))
    assert result.verdict not in OK_VERDICTS


# --- steps and state ------------------------------------------------------------------------------


@pytest.mark.parametrize(("h", "expected"), [(None, PASS), (1e-300, ERROR)])
def test_step_below_the_resolution_of_x(h, expected):
    x = np.array([3.0, 4.0])
    result = check(lambda v: float(np.sum(v**2)), lambda v: jnp.sum(v**2), x, h=h)
    record = _record(result, NUMERICAL)
    assert record.verdict == expected
    if expected == ERROR:
        assert "v[0]" in record.message and "x + h == x" in record.message


@pytest.mark.parametrize(("start", "expected"), [(None, PASS), (5, NONDETERMINISTIC)])
def test_state_that_starts_late(start, expected):
    calls = []

    def fn(x):
        calls.append(1)
        drift = 1e-3 if start is not None and len(calls) >= start else 0.0
        return float(np.sum(x**2)) + drift

    result = check(fn, lambda v: jnp.sum(v**2), np.array([0.5, -1.5]))
    assert result.verdict == expected
    if expected == NONDETERMINISTIC:
        assert "hidden state" in result.failures()[0].message


# --- messages -------------------------------------------------------------------------------------


def test_value_mismatch_prints_digits_that_differ_and_the_likely_cause():
    x = np.array([0.25, 0.5])
    near = check(
        lambda v: float(np.sum(v**2)) * (1 + 1e-9),  # a solver converged to 1e-9
        lambda v: jnp.sum(v**2),
        x,
        checks=("value",),
    )
    message = near.checks[0].message
    assert near.verdict == FAIL and "0.3125000003 but the reference gives 0.3125 " in message
    assert "approximation" in message and "cancellation" in message
    far = check(lambda v: float(np.sum(v**3)), lambda v: jnp.sum(v**2), x, checks=("value",))
    assert "different function" in far.checks[0].message


@pytest.mark.parametrize("tol", [float("nan"), -1.0, {"numerical": float("nan")}, "1e-3", True])
def test_a_tolerance_that_is_not_a_number_at_least_zero_is_refused(tol):
    with pytest.raises(ValueError, match="tol"):
        check(lambda v: float(np.sum(v**2)), lambda v: jnp.sum(v**2), np.ones(2), tol=tol)


def test_non_finite_in_the_second_opinion_is_an_error_never_a_nan_tolerance():
    x0 = np.array([0.5, -1.5])
    step = 6.055454452393343e-06 * 1.0  # the default central step at |x_0| <= 1

    def fn(x):
        # wrong slope in x[0] (so the entry gets a second opinion), and NaN at half the step
        if 0.3 * step < abs(x[0] - x0[0]) < 0.7 * step:
            return float("nan")
        return float(np.sum(x**2) + 0.1 * x[0])

    result = check(fn, lambda v: jnp.sum(v**2), x0.copy(), checks=("numerical",))
    record = _record(result, NUMERICAL, "x")
    assert record.verdict == ERROR and "non-finite" in record.message
    assert record.tolerance is None or np.isfinite(record.tolerance)


def test_a_float32_only_bug_cannot_widen_the_numerical_tolerance_past_the_value_check():
    # The float64 replay's gap counts as fn's float32 rounding; a planted float32-only offset
    # makes that gap large, but it counts no further than the value check's tolerance, and the
    # value check itself fails.
    x = np.array([0.5, -1.25, 2.0], dtype=np.float32)

    def fn(v, planted):
        value = float(np.sum(np.sin(v)))
        return value + (1e-3 if planted and v.dtype == np.float32 else 0.0)

    clean = check(lambda v: fn(v, False), lambda v: jnp.sum(jnp.sin(v)), x.copy())
    bugged = check(lambda v: fn(v, True), lambda v: jnp.sum(jnp.sin(v)), x.copy())
    assert clean.ok and _record(bugged, "value").verdict == FAIL and not bugged.ok
    widened = (
        _record(bugged, NUMERICAL).details["detectable_error"]
        / _record(clean, NUMERICAL).details["detectable_error"]
    )
    # Uncapped, the gap of 1e-3 would be a value scale of 2e-3 / eps32 = 16777; the cap is
    # 2 * 256 * max(|f|, 1) = 548 here, and the clean run's scale is at least 1.
    assert widened <= 2 * 256 * max(abs(fn(x.astype(np.float64), False)), 1.0)


# --- float64 code replayed in long double ---------------------------------------------------------


def _cancelling_net():
    from harness.fuzz.networks import NetworkConfig, build_network

    # Small weights and a batch of two: the last bias's gradient is (y - t) summed over the batch,
    # a difference of terms ~0.5 that cancels to ~7e-4, so it rounds by eps * 0.5, not eps * 7e-4.
    config = NetworkConfig((1, 1, 8, 2, 2), 2, "sigmoid", "cross_entropy", "labels", 0.0112202,
                           "float64", 208)  # fmt: skip
    return build_network(config)


def _mlp_check(grad):
    from harness.oracle import mlp as oracle_mlp
    from harness.scratch import mlp as scratch_mlp

    args = _cancelling_net()
    positions = tuple(range(4, len(args)))

    def fn(activation, loss, x, t, *params):
        return scratch_mlp.mlp_loss(activation, loss, x, t, *params)

    def reference(activation, loss, x, t, *params):
        return oracle_mlp.mlp_backprop_reference(activation, loss, x, t, *params)

    return check(fn, reference, *args, wrt=positions, grad=grad, checks=("analytic",))


def _mlp_grad(bump=0.0, precision_dependent=False):
    from harness.scratch import mlp as scratch_mlp

    def grad(activation, loss, x, t, *params):
        grads = list(scratch_mlp.mlp_gradient(activation, loss, x, t, *params))
        last = grads[-1].copy()
        if precision_dependent:
            # A planted bug that only float64 runs carry: the replay gap sees it, but the cap
            # keeps it from widening the tolerance past 4 * 2^-26 of the scale.
            last[0] += 1e-6 * float(np.abs(last).max()) if last.dtype == np.float64 else 0.0
        last[0] *= 1.0 + bump
        grads[-1] = last
        return tuple(grads)

    return grad


@pytest.mark.parametrize(
    ("grad", "expected"),
    [
        (_mlp_grad(), PASS),
        (_mlp_grad(bump=1e-3), FAIL),
        (_mlp_grad(precision_dependent=True), FAIL),
    ],
    ids=["correct", "0.1% in one entry", "a float64-only bug"],
)
def test_float64_backprop_with_cancellation_is_replayed_in_long_double(grad, expected):
    result = _mlp_check(grad)
    last = result.checks[-1]
    assert last.verdict == expected, last.message
    assert last.details["float64_rounding"] > 0  # the cancellation is measured, not assumed
