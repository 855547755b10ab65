"""check()'s options for real user code: wrt by name, data arguments, a second reference for the
analytic check, and routines with a step of their own (each with a planted mistake beside it)."""

import numpy as np
import pytest

from harness import case, check, oracle, scratch
from harness.data import mnist_like_batch
from harness.results import ERROR, FAIL, PASS

PARAMS = scratch.init_two_layer_params(20, 8, 10, weight_init_std=0.5, seed=1)
X, T = mnist_like_batch(batch_size=30, input_size=20, seed=1)
ARGS = (PARAMS["W1"], PARAMS["b1"], PARAMS["W2"], PARAMS["b2"], X, T)


def _args():
    return tuple(a.copy() for a in ARGS)


def test_wrt_by_name_and_mixed_with_positions():
    result = check(
        scratch.two_layer_loss,
        oracle.two_layer_loss,
        *_args(),
        wrt=("b2", 0),
        checks=("numerical",),
    )
    assert result.ok
    assert [c.arg for c in result.checks] == ["W1", "b2"]  # sorted by position
    single = check(scratch.two_layer_loss, oracle.two_layer_loss, *_args(), wrt="b1")
    assert [c.arg for c in single.checks if c.check == "numerical"] == ["b1"]


def test_data_arguments_are_left_out_of_the_default_wrt():
    everything = check(scratch.two_layer_loss, oracle.two_layer_loss, *_args(), checks=("value",))
    assert everything.ok
    result = check(
        scratch.two_layer_loss,
        oracle.two_layer_loss,
        *_args(),
        data=("x", "t"),
        checks=("numerical",),
    )
    assert [c.arg for c in result.checks] == ["W1", "b1", "W2", "b2"]
    # Without data=, the float input x is differentiated too.
    with_x = check(
        scratch.two_layer_loss, oracle.two_layer_loss, *_args(), wrt=None, checks=("numerical",)
    )
    assert "x" in [c.arg for c in with_x.checks]


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (
            {"wrt": True},
            "wrt must be an argument position, a name, or a sequence of them; got True",
        ),
        ({"wrt": 0.0}, "got 0.0 (float)"),
        ({"wrt": [0.0]}, "wrt must hold argument positions (ints) or names (strings), got 0.0"),
        ({"wrt": np.array([0])}, "(ndarray)"),
        ({"wrt": "W3"}, "wrt names 'W3', which is not an argument of fn (its arguments: W1, b1"),
        ({"wrt": ("W1", 0)}, "wrt names an argument twice"),
        ({"wrt": "x", "data": "x"}, "argument 'x' (position 4) is in both wrt and data"),
        ({"data": 7}, "data position 7 is out of range"),
        ({"data": (0, 1, 2, 3, 4)}, "no float32/float64 array among the arguments outside data="),
    ],
)
def test_bad_wrt_and_data_are_one_line_input_errors(options, needle):
    result = check(scratch.two_layer_loss, oracle.two_layer_loss, *_args(), **options)
    (record,) = result.checks
    assert record.verdict == ERROR and record.check == "input"
    assert needle in record.message
    assert "\n" not in record.message


def test_case_keeps_a_name_as_one_wrt_entry_and_defers_bad_wrt_to_the_check():
    made = case(
        "adhoc", fn=scratch.function_2, reference=oracle.function_2, args=(np.ones(2),), wrt="x"
    )
    assert made.wrt == ("x",) and made.run().ok
    bad = case(
        "adhoc", fn=scratch.function_2, reference=oracle.function_2, args=(np.ones(2),), wrt=0.0
    )
    assert "got 0.0 (float)" in bad.run().checks[0].message


def test_backprop_reference_judges_the_analytic_check_against_the_delta_free_loss():
    common = {"wrt": ("W1", "b1", "W2", "b2"), "grad": scratch.two_layer_gradient}
    # One reference for everything: backprop differs from the delta loss's gradient by ~1e-7/y.
    single = check(scratch.two_layer_loss, oracle.two_layer_loss, *_args(), **common)
    analytic = [c for c in single.checks if c.check == "analytic"]
    assert any(c.verdict == FAIL for c in analytic)
    both = check(
        scratch.two_layer_loss,
        oracle.two_layer_loss,
        *_args(),
        backprop_reference=oracle.two_layer_backprop_reference,
        **common,
    )
    assert both.ok, both
    assert [c.check for c in both.checks] == ["value"] + ["numerical"] * 4 + ["analytic"] * 4


def test_backprop_reference_still_fails_a_wrong_backprop():
    def flipped(*args):
        dW1, db1, dW2, db2 = scratch.two_layer_gradient(*args)
        db1 = db1.copy()
        db1[5] = -db1[5]
        return dW1, db1, dW2, db2

    result = check(
        scratch.two_layer_loss,
        oracle.two_layer_loss,
        *_args(),
        wrt=("W1", "b1", "W2", "b2"),
        grad=flipped,
        backprop_reference=oracle.two_layer_backprop_reference,
    )
    (failure,) = result.failures()
    assert failure.check == "analytic" and failure.arg == "b1" and failure.worst.index == (5,)


def test_a_backprop_reference_that_raises_is_named():
    def broken(*args):
        raise RuntimeError("no such loss")

    result = check(
        scratch.function_2,
        oracle.function_2,
        np.array([3.0, 4.0]),
        grad=lambda x: 2 * x,
        backprop_reference=broken,
    )
    assert [c.check for c in result.checks][:2] == ["value", "numerical"]
    last = result.checks[-1]
    assert last.check == "analytic" and last.verdict == ERROR
    assert last.message.startswith("backprop_reference raised RuntimeError: no such loss")


def test_a_routine_without_a_step_argument_is_told_to_say_its_step():
    def book_style(f, x):
        return scratch.numerical_gradient(f, x, h=1e-4, scale_step=False)

    result = check(
        scratch.function_2, oracle.function_2, np.array([3.0, 4.0]), numerical_gradient=book_style
    )
    numerical = [c for c in result.checks if c.check == "numerical"]
    assert len(numerical) == 1 and numerical[0].verdict == ERROR
    assert "harness.fixed_step" in numerical[0].message
    assert result.checks[0].verdict == PASS  # the value check still ran
