"""Bad input and faulty functions never give a wrong verdict and never lose the caller's data."""

import ml_dtypes  # installed with jax; gives NumPy its bfloat16
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import check, oracle, scratch
from harness.judge.tolerance import default_step
from harness.results import ERROR, FAIL, INCONCLUSIVE, KINK, NON_FINITE, NONDETERMINISTIC, PASS


def _sum_of_squares_jax(x):
    return oracle.function_2(x.ravel())


@given(fail_at=st.integers(min_value=0, max_value=23), shape=st.sampled_from([(12,), (3, 4)]))
def test_raise_mid_gradient_is_an_error_and_arrays_come_back_bit_identical(fail_at, shape):
    x = np.linspace(-1.5, 2.0, 12).reshape(shape)
    x[0] = -0.0  # a negative zero must survive too
    before = x.tobytes()
    calls = {"n": 0}

    def flaky(x):
        calls["n"] += 1
        # Calls 1-2 are the value check; the numerical gradient's calls follow.
        if calls["n"] == 3 + fail_at:
            raise RuntimeError("boom")
        return np.sum(x**2)

    result = check(flaky, _sum_of_squares_jax, x, name="flaky")
    assert x.tobytes() == before
    assert result.verdict == ERROR
    message = result.failures()[0].message
    entry = np.unravel_index(fail_at // 2, shape)
    assert "RuntimeError: boom" in message
    assert f"x[{', '.join(str(int(i)) for i in entry)}]" in message
    assert ("plus side" if fail_at % 2 == 0 else "minus side") in message


@pytest.mark.parametrize(
    ("fn", "reference", "grad", "needle", "whose"),
    [
        (lambda x: np.sum(x) * np.nan, _sum_of_squares_jax, None, "fn returned nan", "fn"),
        (
            scratch.function_2,
            lambda x: oracle.function_2(x) * np.inf,
            None,
            "reference returned inf",
            "reference",
        ),
        (
            scratch.function_2,
            lambda x: oracle.function_2(x) ** 0.5 * 0.0 + (x[0] - 3.0) ** 0.5,
            None,
            "jax.grad(reference) is",
            "gradient",
        ),
        (
            scratch.function_2,
            oracle.function_2,
            lambda x: np.array([np.nan, 1.0]),
            "grad returned nan at x[0]",
            None,
        ),
    ],
)
def test_non_finite_anywhere_is_an_error_naming_the_side(fn, reference, grad, needle, whose):
    result = check(fn, reference, np.array([3.0, 4.0]), grad=grad)
    assert result.verdict == ERROR
    assert any(needle in c.message for c in result.failures()), result.failures()
    # Non-finite values at the point are marked with whose they are (the fuzzer rejects those).
    marked = [c.details[NON_FINITE] for c in result.checks if NON_FINITE in c.details]
    assert marked == ([whose] if whose else [])


def test_non_finite_near_the_point_is_an_error_naming_the_entry():
    # log(x) at x = 1e-7 with a step of 6e-6: the minus side leaves the domain.
    def fn(x):
        return np.sum(np.log(x))

    def reference(x):
        return _jax().sum(_jax().log(x))

    with np.errstate(invalid="ignore"):
        result = check(fn, reference, np.array([1.0, 1e-7]))
    assert result.verdict == ERROR
    assert "x[1]" in result.failures()[0].message
    assert all(NON_FINITE not in c.details for c in result.checks)  # a failure, not off-domain


# Each bad input with the whole message it must give: what is wrong, where, and what to change.
_INTEGER_ADVICE = (
    "finite differences of integers or booleans are meaningless (x + h rounds back to x); "
    "pass x.astype(np.float64)"
)
_COARSE_ADVICE = (
    "whose eps is too coarse for any finite-difference step to resolve a gradient; check it as "
    "float32 (x.astype(np.float32)) or float64"
)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            (np.array([3, 4]),),
            {"wrt": 0},
            f"argument 'x' (position 0) has dtype int64: {_INTEGER_ADVICE}",
        ),
        (
            (np.array([True, False]),),
            {"wrt": 0},
            f"argument 'x' (position 0) has dtype bool: {_INTEGER_ADVICE}",
        ),
        (
            (np.array([3.0, 4.0], dtype=np.float16),),
            {"wrt": 0},
            f"argument 'x' (position 0) has dtype float16, {_COARSE_ADVICE}",
        ),
        (
            (np.array([3.0, 4.0]).astype(ml_dtypes.bfloat16),),
            {"wrt": 0},
            f"argument 'x' (position 0) has dtype bfloat16, {_COARSE_ADVICE}",
        ),
        (
            (np.zeros(0),),
            {"wrt": 0},
            "argument 'x' (position 0) has no entries (shape (0,)); drop it from wrt",
        ),
        (
            ([3.0, 4.0],),
            {"wrt": 0},
            "argument 'x' (position 0) is a list, not a NumPy array: pass "
            "np.asarray(value, dtype=np.float64)",
        ),
        (
            (np.array([3.0, 4.0]),),
            {"wrt": 3},
            "wrt position 3 is out of range: the case passes 1 argument(s)",
        ),
        (
            (np.array([3, 4]),),
            {},
            "no float32/float64 array among the arguments, so nothing to differentiate; pass "
            "wrt=(index, ...) or float arrays",
        ),
    ],
    ids=["int64", "bool", "float16", "bfloat16", "empty", "list", "wrt-out-of-range", "no-float"],
)
def test_bad_arguments_get_a_message_that_says_what_to_change(args, kwargs, message):
    result = check(scratch.function_2, oracle.function_2, *args, name="bad", **kwargs)
    assert result.verdict == ERROR
    assert len(result.checks) == 1
    assert result.checks[0].message == message


def test_non_scalar_output_is_an_error():
    result = check(lambda x: x**2, lambda x: x**2, np.array([3.0, 4.0]))
    assert result.verdict == ERROR
    assert "must return a scalar" in result.failures()[0].message


def test_output_shapes_that_differ_between_fn_and_reference():
    result = check(scratch.function_2, lambda x: x**2, np.array([3.0, 4.0]))
    assert result.verdict == ERROR
    assert "shape (2,)" in result.failures()[0].message


@pytest.mark.parametrize(
    ("grad", "needle"),
    [
        (lambda a, b: (2 * a,), "must return a tuple or list of 2 NumPy arrays, one per "
         "argument in order (a, b); it returned a tuple of 1 item(s)"),
        (lambda a, b: (2 * a, 2 * b, 2 * b), "; it returned a tuple of 3 item(s)"),
        (lambda a, b: (2 * a, np.zeros(3)), "has shape (3,) but b has shape (2,)"),
        (lambda a, b: 2 * a, "; it returned a NumPy float64 array of shape (2,)"),
    ],
)  # fmt: skip
def test_grad_with_wrong_number_or_shape_of_arrays(grad, needle):
    def fn(a, b):
        return np.sum(a**2) + np.sum(b**2)

    def ref(a, b):
        return oracle.function_2(a) + oracle.function_2(b)

    result = check(fn, ref, np.array([1.0, 2.0]), np.array([3.0, 4.0]), grad=grad)
    assert result.verdict == ERROR
    assert any(needle in c.message for c in result.failures()), [c.message for c in result.checks]


def test_function_that_mutates_its_input_is_non_deterministic_and_restored():
    def mutating(x):
        x[1] += 1.0
        return np.sum(x**2)

    x = np.array([3.0, 4.0])
    result = check(mutating, oracle.function_2, x)
    assert result.verdict == NONDETERMINISTIC
    assert "x[1]" in result.failures()[0].message
    assert x.tolist() == [3.0, 4.0]


def test_function_with_hidden_state_is_non_deterministic_not_judged():
    state = {"calls": 0}

    def drifting(x):
        state["calls"] += 1
        return np.sum(x**2) + 1e-9 * state["calls"]

    result = check(drifting, oracle.function_2, np.array([3.0, 4.0]))
    assert result.verdict == NONDETERMINISTIC
    assert "hidden state" in result.failures()[0].message


def _jax():
    import jax.numpy as jnp

    return jnp


@pytest.mark.parametrize(
    ("fn", "reference"),
    [
        (lambda x: np.sum(np.maximum(x, 0.0)), lambda x: _jax().sum(_jax().maximum(x, 0.0))),
        (lambda x: np.sum(np.abs(x)), lambda x: _jax().sum(_jax().abs(x))),
        (lambda x: np.max(x), lambda x: _jax().max(x)),
    ],
    ids=["relu", "abs", "max-tie"],
)
def test_kinks_at_the_point_get_the_kink_verdict(fn, reference):
    x = np.array([0.0, 1.5, -2.0, 1.5])
    result = check(fn, reference, x)
    numerical = result.checks[1]
    assert numerical.verdict == KINK, numerical.message
    assert result.ok


def test_kink_with_wrong_exact_gradient_fails():
    # The reference claims slope 5 at relu's kink; the one-sided slopes are 0 and 1.
    import jax

    def reference(x):
        jnp = _jax()
        return jnp.sum(jnp.maximum(x, 0.0)) + 5.0 * x[0] - jax.lax.stop_gradient(5.0 * x[0])

    result = check(lambda x: np.sum(np.maximum(x, 0.0)), reference, np.array([0.0, 1.0]))
    assert result.checks[1].verdict == FAIL
    assert result.worst.index == (0,) and result.worst.expected == 5.5


@given(
    exponent=st.integers(min_value=-8, max_value=8),
    planted=st.booleans(),
)
def test_large_and_small_magnitudes_get_the_right_verdict(exponent, planted):
    # A scale-free function (a cubic) at parameters of magnitude 1e-8 .. 1e8: steps scale with
    # |x|, so the verdict must not depend on the magnitude.
    scale = 10.0**exponent
    x = scale * np.array([0.7, -1.3, 2.1])
    weights = np.array([1.0, 2.0, -0.5]) / scale**3

    def fn(x):
        # The planted bug makes the first entry's derivative 1% too large.
        bump = 1.01 if planted else 1.0
        return bump * weights[0] * x[0] ** 3 + np.sum(weights[1:] * x[1:] ** 3)

    def reference(x):
        return _jax().sum(weights * x**3)

    result = check(fn, reference, x, checks=("numerical",))
    # Steps are h * max(1, |x_i|): below |x| = h the step is coarser than x itself, the quotients
    # cannot resolve the slope, and a correct fn is inconclusive, never a pass or a fail.
    coarse = float(np.abs(x).min()) < default_step(np.float64, "central")
    correct = INCONCLUSIVE if coarse else PASS
    assert result.verdict == (FAIL if planted else correct), result.checks[0].message
    if planted:
        assert result.worst.index == (0,)
