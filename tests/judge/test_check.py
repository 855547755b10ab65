"""check() and assert_check() against closed-form gradients and planted bugs."""

import jax.numpy as jnp
import numpy as np
import pytest

from harness import assert_check, check, oracle, scratch
from harness.results import FAIL, PASS


def test_seed_function_2_passes_with_small_error():
    x = np.array([3.0, 4.0])
    result = check(scratch.function_2, oracle.function_2, x)
    assert result.ok and result.verdict == PASS
    assert [c.check for c in result.checks] == ["value", "numerical"]
    # Exact gradient (6, 8): the central difference at the default step is good to ~1e-9.
    assert result.max_abs_error < 1e-8
    assert result.worst.arg == "x"
    assert result.tolerance is not None and result.tolerance > 0


def test_wrong_function_fails_and_names_the_entry():
    def almost_function_2(x):
        return x[0] ** 2 + x[1] ** 2 + 1e-4 * x[1]

    result = check(almost_function_2, oracle.function_2, np.array([3.0, 4.0]))
    assert result.verdict == FAIL
    numerical = [c for c in result.checks if c.check == "numerical"][0]
    assert numerical.verdict == FAIL
    assert numerical.worst.index == (1,)
    assert numerical.max_abs_error == pytest.approx(1e-4, rel=1e-3)


def test_planted_denominator_bug_in_numerical_gradient_is_caught():
    def h_instead_of_2h(f, x, h=1e-4, scheme="central"):
        return 2.0 * scratch.numerical_gradient(f, x, h=h, scheme=scheme)

    result = check(
        scratch.function_2,
        oracle.function_2,
        np.array([3.0, 4.0]),
        numerical_gradient=h_instead_of_2h,
    )
    assert result.verdict == FAIL
    assert "numerical gradient disagrees" in result.failures()[0].message


def test_analytic_gradient_sign_flip_is_caught_at_its_entry():
    def grad(x):
        g = 2.0 * x
        g[1] = -g[1]
        return g

    result = check(scratch.function_2, oracle.function_2, np.array([3.0, 4.0]), grad=grad)
    analytic = [c for c in result.checks if c.check == "analytic"][0]
    assert analytic.verdict == FAIL
    assert analytic.worst.index == (1,)
    assert analytic.worst.got == -8.0 and analytic.worst.expected == 8.0


def test_correct_analytic_gradient_passes():
    result = check(
        scratch.function_2, oracle.function_2, np.array([3.0, 4.0]), grad=lambda x: 2.0 * x
    )
    assert result.ok
    assert [c.check for c in result.checks] == ["value", "numerical", "analytic"]


def test_forward_scheme_is_judged_by_a_looser_model_tolerance():
    x = np.array([3.0, 4.0])
    central = check(scratch.function_2, oracle.function_2, x)
    forward = check(scratch.function_2, oracle.function_2, x, scheme="forward")
    assert central.ok and forward.ok
    # Forward rounding error ~ 2 eps|f| / sqrt(eps) vs central eps|f| / eps^(1/3).
    assert forward.tolerance > 100 * central.tolerance


def test_value_mismatch_fails_the_value_check():
    result = check(lambda x: np.sum(x**2) + 1.0, oracle.function_2, np.array([3.0, 4.0]))
    value = result.checks[0]
    assert value.check == "value" and value.verdict == FAIL
    assert value.max_abs_error == pytest.approx(1.0)


def test_tolerance_override_is_reported_and_used():
    def almost(x):
        return x[0] ** 2 + x[1] ** 2 + 1e-4 * x[1]

    result = check(
        almost, oracle.function_2, np.array([3.0, 4.0]), tol={"numerical": 1e-3, "value": 1e-2}
    )
    assert result.ok
    assert result.checks[1].tolerance == 1e-3


def test_assert_check_message_names_case_argument_and_entry():
    def grad(x):
        return np.array([6.0, -8.0])

    with pytest.raises(AssertionError) as info:
        assert_check(
            scratch.function_2, oracle.function_2, np.array([3.0, 4.0]), grad=grad, name="f2"
        )
    text = str(info.value)
    assert "'f2'" in text and "x[1]" in text and "analytic" in text


def test_assert_check_returns_the_result_when_it_passes():
    assert assert_check(scratch.function_1, oracle.function_1, np.array(5.0)).ok


def test_unknown_scheme_and_check_names_raise():
    with pytest.raises(ValueError, match="unknown scheme"):
        check(scratch.function_1, oracle.function_1, np.array(5.0), scheme="sideways")
    with pytest.raises(ValueError, match="unknown check"):
        check(scratch.function_1, oracle.function_1, np.array(5.0), checks=("values",))


def test_analytic_only_skips_fn_evaluation():
    calls = []

    def fn(x):
        calls.append(1)
        return np.sum(x**2)

    result = check(
        fn, oracle.function_2, np.array([1.0, 2.0]), grad=lambda x: 2 * x, checks=("analytic",)
    )
    assert result.ok and not calls


def test_float32_argument_uses_float32_model():
    x = np.array([3.0, 4.0], dtype=np.float32)
    result = check(scratch.function_2, oracle.function_2, x)
    assert result.ok, result
    numerical = result.checks[1]
    assert numerical.dtype == "float32"
    assert numerical.h == pytest.approx(np.finfo(np.float32).eps ** (1 / 3))


def _quadratic(xs):
    # sum_i i * x_i^2 over the last axis: gradient 2 i x_i; accepts a leading axis of copies.
    weights = np.arange(1, xs.shape[-1] + 1)
    return np.sum(weights * xs**2, axis=-1)


def test_check_batched_option_gives_the_full_check():
    x = np.random.default_rng(2).normal(size=50)

    def reference(x):
        return jnp.sum(jnp.arange(1, 51) * x**2)

    result = check(_quadratic, reference, x, batched=True, checks=("numerical",))
    assert result.ok, result
    assert result.checks[0].evaluations >= 100
