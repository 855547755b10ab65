"""Issue 14, items 19 and 24: a case's mistake gets a message naming the argument and the
reason, never one that blames a function that was not at fault ("fn raised", "jax.grad(reference)
raised") or shows only an exception's type."""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np
import pytest

from harness import case, check
from harness.results import ERROR
from harness.suite.run import run_limited


def square_sum(x):
    return float(np.sum(x**2))


def square_sum_jax(x):
    return jnp.sum(x**2)


X = np.array([3.0, 4.0])


@pytest.mark.parametrize("h", [0, 0.0, -1e-3, float("nan"), float("inf"), True, "1e-3"])
def test_an_invalid_step_is_named_as_such_before_fn_runs(h):
    calls = []

    def counting(x):
        calls.append(1)
        return square_sum(x)

    with pytest.raises(ValueError, match=r"^h must be a positive finite number") as raised:
        check(counting, square_sum_jax, X.copy(), h=h)
    assert f"got {h!r}" in str(raised.value)
    assert calls == []  # judged before anything ran: fn cannot be blamed


def test_an_invalid_step_in_a_case_is_that_cases_error_naming_h():
    result = run_limited(
        case("zero-step", fn=square_sum, reference=square_sum_jax, args=(X.copy(),), h=0),
        timeout=None,
    )
    (record,) = result.checks
    assert record.verdict == ERROR and record.case == "zero-step"
    assert record.message.startswith("the case cannot be checked as declared: ValueError: h must")
    assert "fn raised" not in record.message


@pytest.mark.parametrize("wrt", [(), []])
def test_an_empty_wrt_is_an_input_error_not_a_jax_failure(wrt):
    result = check(square_sum, square_sum_jax, X.copy(), wrt=wrt)
    (record,) = result.checks
    assert record.verdict == ERROR and record.check == "input"
    assert record.message.startswith(f"wrt={wrt!r} names no argument")
    assert "jax.grad" not in record.message


@pytest.mark.parametrize(
    ("returned", "needle"),
    [
        (lambda x: complex(np.sum(x**2)), "fn returned a complex value (complex128), not a real"),
        (lambda x: np.sum(x**2).astype(np.complex64), "fn returned a complex value (complex64)"),
        (lambda x: None, "fn returned None, not a real number (a missing return statement?)"),
        (lambda x: "25", "fn returned a str, not a real number"),
    ],
    ids=["complex", "complex64", "None", "str"],
)
def test_a_return_that_is_not_a_real_number_is_named(returned, needle):
    result = check(returned, square_sum_jax, X.copy())
    (record,) = result.failures()
    assert record.verdict == ERROR and record.check == "value"
    assert record.message.startswith(needle), record.message
    assert "raised" not in record.message


@pytest.mark.parametrize(
    ("grad", "came"),
    [
        (lambda x: jnp.asarray(2 * x), "a JAX float64 array (jaxlib ArrayImpl) of shape (2,)"),
        (lambda x: None, "None"),
        (lambda x: 2.0, "a float"),
        (lambda x: [2 * x, 2 * x], "a list of 2 item(s)"),
    ],
    ids=["jax-array", "None", "float", "list-of-2"],
)
def test_a_grad_returning_the_wrong_kind_says_what_was_expected_and_what_came(grad, came):
    result = check(square_sum, square_sum_jax, X.copy(), grad=grad)
    (record,) = result.failures()
    assert record.check == "analytic" and record.verdict == ERROR
    assert record.message == (
        f"grad must return a NumPy array for 'x' (or a tuple of one); it returned {came}"
    )


def _raises_with_a_leading_newline(x):
    raise ValueError("\n\n  the real reason\nmore detail")


@pytest.mark.parametrize("who", ["fn", "grad", "reference"])
def test_an_exception_message_starting_with_a_newline_shows_its_first_line(who):
    kwargs = {
        "fn": _raises_with_a_leading_newline if who == "fn" else square_sum,
        "reference": _raises_with_a_leading_newline if who == "reference" else square_sum_jax,
        "grad": _raises_with_a_leading_newline if who == "grad" else (lambda x: 2 * x),
    }
    result = check(kwargs["fn"], kwargs["reference"], X.copy(), grad=kwargs["grad"])
    messages = [r.message for r in result.failures()]
    assert any(f"{who} raised ValueError: the real reason" in m for m in messages), messages


def test_a_case_raising_a_message_starting_with_a_newline_shows_its_first_line():
    class Odd(BaseException):
        pass

    def fn(x):
        raise Odd("\n\nwhy it stopped")

    result = run_limited(
        case("odd", fn=fn, reference=square_sum_jax, args=(X.copy(),)), timeout=None
    )
    assert "Odd: why it stopped" in result.checks[0].message


def test_values_that_differ_in_the_last_bit_are_printed_with_digits_that_differ():
    # Item 18: "fn returned 14 then 14 at the same point".
    calls = []

    def drifting(x):
        calls.append(1)
        return 14.0 + (len(calls) - 1) * 2.0**-49  # 14, then one ulp (2^-49 at 14) more

    result = check(drifting, square_sum_jax, X.copy())
    (record,) = result.failures()
    match = re.search(r"fn returned (\S+) then (\S+) at the same point", record.message)
    assert match, record.message
    first, second = (float(g) for g in match.groups())
    assert first == 14.0 and second == 14.0 + 2.0**-49  # each printed back exactly


def _relu_sum(x):
    return float(np.sum(np.maximum(x, 0.0)))


def _steeper_relu_sum(x):
    return jnp.sum(1.05 * jnp.maximum(x, 0.0))


@pytest.mark.parametrize("tol", [None, 0.6, {"numerical": 0.6}])
def test_a_failing_entrys_message_never_contradicts_its_own_numbers(tol):
    # Item 19: "abs error 0.0474 > tolerance 0.157". x[0] sits within the step of fn's kink and
    # the reference's slope (1.05) lies outside fn's one-sided slopes (0 and 1): a failure even
    # where the central quotient (~0.5, error ~0.55) is within a 0.6 tolerance.
    x = np.array([1e-9, 2.0])
    result = check(_relu_sum, _steeper_relu_sum, x, tol=tol, checks=("numerical",))
    (record,) = result.failures()
    assert record.worst.index == (0,)
    numbers = re.search(r"abs error (\S+) (>|is within the) tolerance (\S+?)[,)]", record.message)
    assert numbers, record.message
    error, relation, tolerance = float(numbers[1]), numbers[2], float(numbers[3])
    assert error == pytest.approx(0.55, rel=1e-3)
    if relation == ">":
        assert error > tolerance
    else:
        assert error <= tolerance and tol is not None
        assert "kinks within the step" in record.message and "do not bracket" in record.message
